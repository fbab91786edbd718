"""Issue 15's re-forecast from now through the records and the command line: ``status``,
``started_at`` and ``finished_at`` in every job-file format and in DynamoDB, ``--now`` and
``--timezone`` on simulate, score and whatif (mcqueue/io/snapshot.py, analysis/runs.py).

Expected values are independent of the code: the plain forecast (no --now) for a night at its
start, clock minutes worked by hand (including the two daylight-saving days of 2026 in
Europe/Berlin), the exact error lines, the items as written by hand.
"""

from __future__ import annotations

import json
import uuid

import boto3
import polars as pl
import pytest

from hostile import check
from mcqueue.io.snapshot import NowTime, instant_minute, parse_now
from mcqueue.errors import UsageError

FEW = ("--replications", "2000")


def run_json(invoke, *args):
    res = invoke(*args)
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def without_now(doc):
    """The document with every ``now`` key removed (a list of records or one record)."""
    recs = doc if isinstance(doc, list) else [doc]
    for r in recs:
        r.pop("now", None)
    return doc


# ------------------------------------------------------------------ now at the batch start
@pytest.mark.parametrize("date", ["2026-05-13", "2026-05-15"])
def test_now_at_the_batch_start_with_every_job_queued_is_the_plain_forecast(invoke, date):
    """The sample's jobs are all queued: --now 01:00 (the batch start) gives the plain
    forecast's JSON bit for bit apart from the now key (2026-05-15: dependencies, deadlines
    and --per-job)."""
    args = ("simulate", "--batch-date", date, "--workers", "2", "--workers", "3", *FEW,
            "--format", "json", *(["--per-job"] if date == "2026-05-15" else []))
    plain = run_json(invoke, *args)
    now = run_json(invoke, *args, "--now", "01:00")
    assert [d["now"] for d in now] == [{"given": "01:00", "clock": "01:00", "minute": 0.0,
                                        "queued": d["jobs"], "running": 0, "completed": 0}
                                       for d in plain]
    assert without_now(now) == plain
    assert "now" not in json.dumps(plain)  # no key without --now


def test_score_now_at_the_start_of_every_night_is_the_plain_score(invoke):
    """All five sample nights (the tutorial's kernel and the ETL night's general loop)."""
    plain = run_json(invoke, "score", "--workers", "2,3", *FEW, "--format", "json")
    now = run_json(invoke, "score", "--workers", "2,3", *FEW, "--format", "json", "--now",
                   "01:00")
    assert len(now) == 10 and all(r["now"]["minute"] == 0.0 for r in now)
    assert without_now(now) == plain
    csv_plain = invoke("score", "--workers", "2", *FEW, "--format", "csv").stdout
    csv_now = invoke("score", "--workers", "2", *FEW, "--format", "csv", "--now",
                     "01:00").stdout
    rows_plain = [ln.split(",") for ln in csv_plain.splitlines()]
    rows_now = [ln.split(",") for ln in csv_now.splitlines()]
    assert rows_now[0][-1] == "now" and all(r[-1] == "01:00" for r in rows_now[1:])
    assert [r[:-1] for r in rows_now] == rows_plain


def test_whatif_now_at_the_start_is_the_plain_whatif(invoke, tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[[scenario]]\nname = "more"\nchanges = [{ workers = 3 }]\n')
    args = ("whatif", "--batch-date", "2026-05-13", "--workers", "2", "--scenarios", f, *FEW,
            "--format", "json")
    assert without_now(run_json(invoke, *args, "--now", "01:00")) == run_json(invoke, *args)


# ------------------------------------------------------------------ a job running 2x long
def _night_13(tmp_path, status: dict[str, tuple]) -> str:
    """The sample night of 2026-05-13 as a CSV with status, started_at, finished_at."""
    from mcqueue.io.sample import sample_frame

    frame = sample_frame().filter(pl.col("batch_date") == "2026-05-13")
    ids = frame["job_id"].to_list()
    st = [status.get(j, ("queued", None, None)) for j in ids]
    frame = frame.with_columns(pl.Series("status", [s[0] for s in st]),
                               pl.Series("started_at", [s[1] for s in st], dtype=pl.String),
                               pl.Series("finished_at", [s[2] for s in st], dtype=pl.String))
    path = tmp_path / "night13.csv"
    frame.write_csv(path)
    return str(path)


def test_a_job_running_2x_over_its_estimate_raises_the_overflow_probability(invoke, tmp_path):
    """2 workers at 02:40: the 50-minute exclusive backfill started at 01:00 and still runs
    (100 minutes, 2x its estimate), every other job queued. Its overflow probability is above
    the plain forecast's: the 99 % Wilson intervals of 20,000 replications each are apart."""
    path = _night_13(tmp_path, {"JOB-20260513-003": ("running", "01:00", None)})
    args = ("simulate", "--file", path, "--workers", "2", "--replications", "20000",
            "--confidence", "0.99", "--format", "json")
    (plain,) = run_json(invoke, *args)
    (late,) = run_json(invoke, *args, "--now", "02:40")
    p0, p1 = (d["monte_carlo"]["overflow_probability"] for d in (plain, late))
    assert p1["ci_low"] > p0["ci_high"], (p0, p1)
    assert late["now"] == {"given": "02:40", "clock": "02:40", "minute": 100.0, "queued": 9,
                           "running": 1, "completed": 0}
    # the status is informational without --now: the file's plain run is the sample's
    (sample,) = run_json(invoke, "simulate", "--batch-date", "2026-05-13", "--workers", "2",
                         "--replications", "20000", "--confidence", "0.99", "--format", "json")
    assert plain == sample


def test_table_names_the_re_forecast(invoke):
    res = invoke("simulate", "--batch-date", "2026-05-13", "--workers", "2", *FEW, "--now",
                 "01:00")
    assert res.exit_code == 0, res.stderr
    assert ("Re-forecast from now 01:00 (0 min after the batch start): 0 jobs completed, 0 "
            "running, 10 queued.") in " ".join(res.stdout.split())
    assert "Re-forecast" not in invoke("simulate", "--batch-date", "2026-05-13",
                                       *FEW).stdout


# ------------------------------------------------------------------ inconsistent records
BASE = [  # a night from 01:00 of three jobs; each case edits one row
    {"batch_date": "2026-06-01", "job_id": "A", "requested_window": "01:00",
     "workload_class": "etl", "estimated_runtime_minutes": 30, "priority": 2,
     "requires_exclusive_lock": False, "status": "completed", "started_at": "01:00",
     "finished_at": "01:30"},
    {"batch_date": "2026-06-01", "job_id": "B", "requested_window": "01:00",
     "workload_class": "etl", "estimated_runtime_minutes": 20, "priority": 1,
     "requires_exclusive_lock": False, "status": "Running", "started_at": "01:30",
     "finished_at": None},
    {"batch_date": "2026-06-01", "job_id": "C", "requested_window": "02:00",
     "workload_class": "refresh", "estimated_runtime_minutes": 10, "priority": 1,
     "requires_exclusive_lock": False, "status": "QUEUED", "started_at": None,
     "finished_at": None},
]
FIELDS = list(BASE[0])
NOW = "02:00"
CASES = [
    ("finish before the batch start", {0: {"finished_at": "00:55", "started_at": "01:10"}},
     "row 1 (job_id A): field 'finished_at' is before the batch start (2026-06-01 01:00), "
     "got '00:55'"),
    ("finished before its start", {0: {"started_at": "01:10", "finished_at": "01:05"}},
     "row 1 (job_id A): field 'finished_at' is before its started_at ('01:10'), got '01:05'"),
    ("running without started_at", {1: {"started_at": None}},
     "row 2 (job_id B): field 'started_at' is missing; a running job needs its start"),
    ("completed without finished_at", {0: {"finished_at": None}},
     "row 1 (job_id A): field 'finished_at' is missing; a completed job needs its finish"),
    ("started after now", {1: {"started_at": "02:30"}},
     "row 2 (job_id B): field 'started_at' is after now (02:00): a running job started "
     "before now, got '02:30'"),
    ("finished after now", {0: {"finished_at": "02:10"}},
     "row 1 (job_id A): field 'finished_at' is after now (02:00): a completed job finished "
     "before now, got '02:10'"),
    ("bad status", {2: {"status": "paused"}},
     "row 3 (job_id C): field 'status' must be queued, running or completed with a "
     "re-forecast time (now), got 'paused'"),
    ("ISO without offset", {1: {"started_at": "2026-06-01T01:30:00"}},
     "row 2 (job_id B): field 'started_at' must be a clock time HH:MM or an ISO-8601 "
     "timestamp with an offset, got '2026-06-01T01:30:00'"),
    ("bad ISO", {0: {"started_at": "2026-06-31T01:00:00Z"}},
     "row 1 (job_id A): field 'started_at' must be a clock time HH:MM or an ISO-8601 "
     "timestamp with an offset, got '2026-06-31T01:00:00Z'"),
    ("hour 24", {0: {"finished_at": "24:10"}},
     "row 1 (job_id A): field 'finished_at' must be a clock time HH:MM or an ISO-8601 "
     "timestamp with an offset, got '24:10'"),
    ("before the batch start", {1: {"started_at": "00:59"}},
     "row 2 (job_id B): field 'started_at' is before the batch start (2026-06-01 01:00), "
     "got '00:59'"),
    ("ISO after now", {1: {"started_at": "2026-06-01T02:00:01+00:00"}},
     "row 2 (job_id B): field 'started_at' is after now (02:00): a running job started "
     "before now, got '2026-06-01T02:00:01+00:00'"),
]
FORMATS = ("csv", "json", "parquet", "ddb")


def records(edits) -> list[dict]:
    out = [dict(r) for r in BASE]
    for i, change in edits.items():
        out[i].update(change)
    return out


def write(path_base, fmt: str, recs: list[dict]):
    if fmt == "csv":
        path = path_base.with_suffix(".csv")
        lines = [",".join(FIELDS)]
        for r in recs:
            lines.append(",".join("" if r.get(c) is None else str(r[c]).lower()
                                  if isinstance(r[c], bool) else str(r[c]) for c in FIELDS))
        path.write_text("\n".join(lines) + "\n")
    elif fmt == "json":
        path = path_base.with_suffix(".json")
        path.write_text(json.dumps(recs))
    elif fmt == "parquet":
        path = path_base.with_suffix(".parquet")
        pl.DataFrame(recs, schema={c: (pl.Int64 if c in ("estimated_runtime_minutes",
                                                           "priority")
                                       else pl.Boolean if c == "requires_exclusive_lock"
                                       else pl.String) for c in FIELDS}).write_parquet(path)
    else:
        path = path_base.with_suffix(".ddb.json")

        def attr(v):
            if isinstance(v, bool):
                return {"BOOL": v}
            if isinstance(v, (int, float)):
                return {"N": str(v)}
            return {"S": v}

        path.write_text("\n".join(json.dumps({"Item": {k: attr(v) for k, v in r.items()
                                                       if v is not None}}) for r in recs)
                        + "\n")
    return path


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case,edits,message", CASES, ids=[c[0] for c in CASES])
def test_an_inconsistent_record_is_one_error_naming_row_and_field(invoke, tmp_path, fmt, case,
                                                                  edits, message):
    path = write(tmp_path / "jobs", fmt, records(edits))
    out = tmp_path / "report.json"
    res = invoke("simulate", "--file", path, "--replications", "20", "--now", NOW,
                 "--format", "json", "--output", out)
    assert check(res, (1,)) == "Error: " + message
    assert not out.exists()
    # without --now the fields are informational: the same file runs
    res = invoke("simulate", "--file", path, "--replications", "20", "--format", "json")
    assert res.exit_code == 0, res.stderr


@pytest.mark.parametrize("command", ["score", "whatif"])
def test_score_and_whatif_name_the_row_too(invoke, tmp_path, command):
    path = write(tmp_path / "jobs", "csv", records({1: {"started_at": None}}))
    extra = ()
    if command == "whatif":
        f = tmp_path / "s.toml"
        f.write_text('[[scenario]]\nname = "x"\nchanges = [{ workers = 3 }]\n')
        extra = ("--scenarios", f)
    res = invoke(command, "--file", path, "--replications", "20", "--now", NOW, *extra)
    assert check(res, (1,)) == ("Error: row 2 (job_id B): field 'started_at' is missing; a "
                                "running job needs its start")


def test_the_consistent_night_runs_in_every_format(invoke, tmp_path):
    """The three formats give the same report (B running since 01:30, A done 01:00-01:30)."""
    docs = []
    for fmt in FORMATS:
        path = write(tmp_path / f"ok_{fmt}", fmt, BASE)
        docs.append(run_json(invoke, "simulate", "--file", path, "--replications", "200",
                             "--now", NOW, "--format", "json"))
    assert all(d == docs[0] for d in docs)
    assert docs[0][0]["now"] == {"given": "02:00", "clock": "02:00", "minute": 60.0,
                                 "queued": 1, "running": 1, "completed": 1}


@pytest.mark.parametrize("args,message", [
    (("--now", "25:00"), "Invalid value for '--now': must be a clock time HH:MM or an "
                         "ISO-8601 timestamp with an offset"),
    (("--now", "2026-06-01T02:00"), "Invalid value for '--now'"),
    (("--now", "soon"), "got 'soon'"),
    (("--now", "02:00", "--timezone", "Europe/Nowhere"),
     "Invalid value for '--timezone': 'Europe/Nowhere' is not a known IANA time zone"),
    (("--now", "02:00", "--timezone", "../../etc/passwd"), "Invalid value for '--timezone'"),
    (("--timezone", "UTC"), "--timezone 'UTC' converts the re-forecast time"),
    (("--now", "00:30"), "--now 00:30 is before the batch start (01:00)"),
    (("--now", "2026-06-02T02:00:00Z"), "--now '2026-06-02T02:00:00Z' is not within night "
                                        "2026-06-01"),
])
def test_bad_now_or_timezone_is_a_usage_error(invoke, tmp_path, args, message):
    path = write(tmp_path / "jobs", "csv", BASE)
    res = invoke("simulate", "--file", path, "--replications", "20", *args)
    assert message in check(res, (2,))


# ------------------------------------------------------------------ clocks and time zones
def test_clock_times_follow_the_midnight_rule_of_windows():
    from mcqueue.engine.night import Night

    night = Night.from_arrays([0.0], [10.0], batch_date="2026-06-01", batch_start="22:00",
                              batch_end="06:00")
    assert parse_now("01:30").minute(night) == 210.0  # the next day: 2 h + 1 h 30
    assert parse_now("22:00").minute(night) == 0.0
    assert parse_now("2026-06-02T01:30:00+02:00").minute(night) == 90.0  # 23:30 UTC


@pytest.mark.parametrize("instant,minute", [
    # 2026-03-29: Berlin goes from 02:00 CET (UTC+1) to 03:00 CEST (UTC+2) at 01:00 UTC
    ("2026-03-29T00:00:00Z", 0.0),      # 01:00 CET
    ("2026-03-29T00:59:00Z", 59.0),     # 01:59 CET
    ("2026-03-29T01:00:00Z", 120.0),    # 03:00 CEST: the wall clock jumps an hour
    ("2026-03-29T01:30:00Z", 150.0),    # 03:30 CEST
    ("2026-03-29T03:30:00+02:00", 150.0),
    # 2026-10-25: from 03:00 CEST back to 02:00 CET at 01:00 UTC; 02:30 happens twice
    ("2026-10-25T00:30:00Z", 90.0),     # 02:30 CEST
    ("2026-10-25T01:30:00Z", 90.0),     # 02:30 CET
    ("2026-10-25T02:00:00Z", 120.0),    # 03:00 CET
])
def test_iso_times_are_wall_clock_minutes_in_the_zone(instant, minute):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    date = instant[:10]
    got = instant_minute(datetime.fromisoformat(instant), ZoneInfo("Europe/Berlin"), date,
                         "01:00")
    assert got == minute


def test_dst_night_through_the_command_line(invoke, tmp_path):
    """The night of 2026-03-29 in Europe/Berlin from 01:00: A ran 00:00Z-01:10Z (01:00 CET to
    03:10 CEST: minutes 0 to 130 on the wall clock), B runs since 03:20+02:00 (01:20Z, minute
    140); now 01:30Z is 03:30 CEST, minute 150. The same night written with clock times gives
    the same report."""
    iso = [dict(BASE[0], batch_date="2026-03-29", started_at="2026-03-29T00:00:00Z",
                finished_at="2026-03-29T01:10:00Z"),
           dict(BASE[1], batch_date="2026-03-29", started_at="2026-03-29T03:20:00+02:00"),
           dict(BASE[2], batch_date="2026-03-29")]
    hhmm = [dict(iso[0], started_at="01:00", finished_at="03:10"),
            dict(iso[1], started_at="03:20"), iso[2]]
    a = run_json(invoke, "simulate", "--file", write(tmp_path / "iso", "json", iso),
                 "--replications", "500", "--now", "2026-03-29T01:30:00Z", "--timezone",
                 "Europe/Berlin", "--format", "json")
    b = run_json(invoke, "simulate", "--file", write(tmp_path / "hhmm", "csv", hhmm),
                 "--replications", "500", "--now", "03:30", "--format", "json")
    assert a[0]["now"] == {"given": "2026-03-29T01:30:00Z", "clock": "03:30", "minute": 150.0,
                           "timezone": "Europe/Berlin", "queued": 1, "running": 1,
                           "completed": 1}
    assert without_now(a) == without_now(b)
    # read in UTC (the default) the same instants are other clock times: A's start 00:00Z
    # is an hour before the batch start
    res = invoke("simulate", "--file", tmp_path / "iso.json", "--replications", "20",
                 "--now", "2026-03-29T01:30:00Z")
    assert check(res, (1,)) == ("Error: row 1 (job_id A): field 'started_at' is before the "
                                "batch start (2026-03-29 01:00), got '2026-03-29T00:00:00Z'")


def test_fall_back_hour_snapshot_is_read_in_the_instants_order(invoke, tmp_path):
    """The night of 2026-10-25 in Europe/Berlin from 01:00 (00:00 CEST is 22:00Z the day
    before). At 01:00Z the clock falls back from 03:00 CEST to 02:00 CET, so 02:00-03:00
    happens twice. A finished 00:10Z-00:50Z (02:10-02:50 CEST: wall minutes 70-110), B runs
    since 00:55Z (02:55 CEST, wall minute 115), now is 01:10Z (02:10 CET, wall minute 70).
    By the instants every time is before now, so the snapshot is consistent and must run;
    on the wall clock, by hand: the times later than now's minute 70 are put at minute 70
    (A ran 70-70, B started at 70), which is the same night written with clock times
    02:10 for all three. A start after now by the instants is still refused."""
    iso = [dict(BASE[0], batch_date="2026-10-25", started_at="2026-10-25T00:10:00Z",
                finished_at="2026-10-25T00:50:00Z"),
           dict(BASE[1], batch_date="2026-10-25", started_at="2026-10-25T00:55:00Z"),
           dict(BASE[2], batch_date="2026-10-25")]
    hhmm = [dict(iso[0], started_at="02:10", finished_at="02:10"),
            dict(iso[1], started_at="02:10"), iso[2]]
    a = run_json(invoke, "simulate", "--file", write(tmp_path / "iso", "json", iso),
                 "--replications", "500", "--now", "2026-10-25T01:10:00Z", "--timezone",
                 "Europe/Berlin", "--format", "json")
    b = run_json(invoke, "simulate", "--file", write(tmp_path / "hhmm", "csv", hhmm),
                 "--replications", "500", "--now", "02:10", "--format", "json")
    assert a[0]["now"]["minute"] == 70.0 and a[0]["now"]["clock"] == "02:10"
    assert without_now(a) == without_now(b)
    late = [iso[0], dict(iso[1], started_at="2026-10-25T01:20:00Z"), iso[2]]
    res = invoke("simulate", "--file", write(tmp_path / "late", "json", late),
                 "--replications", "20", "--now", "2026-10-25T01:10:00Z", "--timezone",
                 "Europe/Berlin")
    assert check(res, (1,)) == ("Error: row 2 (job_id B): field 'started_at' is after now "
                                "(2026-10-25T01:10:00Z): a running job started before now, "
                                "got '2026-10-25T01:20:00Z'")


def test_a_tiny_cv_running_job_past_its_estimate_finishes_just_after_now(invoke, tmp_path):
    """A running job 2x past its estimate with --runtime-cv 1e-8: its conditional total is
    within a hair of its elapsed time (the lognormal's tail beyond e is ~1e-8 of e wide), so
    the forecast equals the cv-0 forecast (where it finishes at now) to 1e-6 minutes in every
    mean, and no value is infinite (it was, before the far-tail branch of
    kernel.conditional_lognormal)."""
    recs = [dict(BASE[0]), dict(BASE[1], started_at="01:30"), dict(BASE[2])]
    f = write(tmp_path / "tiny", "json", recs)
    base = ("simulate", "--file", f, "--replications", "500", "--now", "02:10",
            "--arrival-jitter", "0", "--format", "json")
    tiny = run_json(invoke, *base, "--runtime-cv", "1e-8")
    zero = run_json(invoke, *base, "--runtime-cv", "0")
    assert "Infinity" not in json.dumps(tiny) and "inf" not in json.dumps(tiny)
    mt, mz = tiny[0]["monte_carlo"], zero[0]["monte_carlo"]
    for key, val in mz.items():
        if isinstance(val, dict) and isinstance(val.get("mean"), (int, float)):
            assert abs(mt[key]["mean"] - val["mean"]) <= 1e-6, key
    res = invoke(*base, "--runtime-cv", "1e-8", "--per-job")
    assert res.exit_code == 0, res.stderr


def test_timezones_that_follow_the_machine_are_refused_and_case_gets_a_hint():
    """Results never depend on the machine: 'localtime' (whatever /etc/localtime says) is
    refused like a bad zone; a zone in the wrong case names the right spelling; the zone as
    reported is the name as looked up (surrounding blanks stripped)."""
    for name in ("localtime", "LocalTime", "/etc/localtime", "Factory"):
        with pytest.raises(UsageError, match="names no place"):
            parse_now("02:40", name)
    with pytest.raises(UsageError, match=r"did you mean Europe/Berlin\?"):
        parse_now("02:40", "europe/berlin")
    with pytest.raises(UsageError, match=r"did you mean UTC\?"):
        parse_now("02:40", "utc")
    assert parse_now("2026-05-13T02:40:00Z", " UTC\n").timezone == "UTC"


def test_a_now_at_or_past_the_cutoff_gets_a_note(invoke, tmp_path):
    """On a 22:00-04:00 night --now 21:59 is the next evening by the midnight rule (1,439
    minutes in; likely meant the start): the run goes on, with one note saying so; --now
    03:59 (359 minutes, before the 360-minute cutoff) gets none."""
    recs = [dict(r, status="queued", started_at=None, finished_at=None) for r in BASE]
    f = write(tmp_path / "n", "json", recs)
    args = ("simulate", "--file", f, "--replications", "50", "--batch-start", "22:00",
            "--batch-end", "04:00", "--format", "json")
    late = invoke(*args, "--now", "21:59")
    assert late.exit_code == 0, late.stderr
    assert ("--now 21:59 is 1,439 minutes after the batch start of night 2026-06-01 (22:00), "
            "at or past its cutoff (04:00)") in late.stderr
    ok = invoke(*args, "--now", "03:59")
    assert ok.exit_code == 0 and "cutoff" not in ok.stderr


def test_whatif_error_from_the_night_read_again_names_the_scenario(invoke, tmp_path):
    """A scenario moving the cutoff of a 22:00-04:00 night to 23:00 makes the night stop
    crossing midnight: read again on that clock, --now 03:30 is before the batch start. The
    one error line names the scenario and the change, not only the option."""
    recs = [dict(BASE[0], requested_window="22:00", started_at="22:00", finished_at="22:30"),
            dict(BASE[1], requested_window="23:00", started_at="23:00"),
            dict(BASE[2], requested_window="02:00")]
    f = write(tmp_path / "x", "csv", recs)
    toml = tmp_path / "s.toml"
    toml.write_text('[[scenario]]\nname = "uncross"\nchanges = [{ cutoff = "23:00" }]\n')
    res = invoke("whatif", "--file", f, "--batch-start", "22:00", "--batch-end", "04:00",
                 "--now", "03:30", "--scenarios", toml, "--replications", "50")
    assert check(res, (1,)) == ("Error: scenario 'uncross' (#1), change 1 (cutoff): with "
                                "cutoff 23:00: --now 03:30 is before the batch start (22:00) "
                                "and the batch does not cross midnight")


def test_parse_now_refuses_what_it_cannot_read():
    for bad in ("", "2:40", "02:60", "2026-05-13", "2026-05-13T02:40", "x" * 500, None, 240):
        with pytest.raises(UsageError):
            parse_now(bad)
    assert isinstance(parse_now(" 02:40 "), NowTime)


# ------------------------------------------------------------------ DynamoDB
@pytest.fixture(scope="module")
def endpoint():
    from dynamo_server import dynamodb_endpoint

    with dynamodb_endpoint() as url:
        yield url


@pytest.mark.dynamodb
def test_seed_and_query_carry_the_snapshot_fields(invoke, endpoint, monkeypatch, tmp_path):
    """The built-in snapshot seeded into DynamoDB: started_at/finished_at are attributes only
    of the jobs that have them (status of all), and a re-forecast from the table equals the
    one from the file."""
    from hostile import KEY_ID, SECRET, set_aws_env

    set_aws_env(monkeypatch, tmp_path)
    table = f"now_{uuid.uuid4().hex[:12]}"
    snap = tmp_path / "snapshot.csv"
    assert invoke("sample", "--snapshot", "--output", snap).exit_code == 0
    client = boto3.session.Session(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                                   region_name="us-east-1").client("dynamodb",
                                                                   endpoint_url=endpoint)
    try:
        res = invoke("seed", "--file", snap, "--endpoint-url", endpoint, "--table", table)
        assert res.exit_code == 0, res.stderr
        items = {i["job_id"]["S"]: i for i in client.scan(TableName=table)["Items"]}
        assert len(items) == 10
        want = {"JOB-20260513-001": ("completed", "01:50", "02:17"),
                "JOB-20260513-003": ("completed", "01:00", "01:50"),
                "JOB-20260513-007": ("running", "2026-05-13T02:17:00Z", None),
                "JOB-20260513-005": ("queued", None, None)}
        for job, (status, start, finish) in want.items():
            item = items[job]
            assert item["status"] == {"S": status}
            assert item.get("started_at") == (None if start is None else {"S": start})
            assert item.get("finished_at") == (None if finish is None else {"S": finish})
        args = ("--batch-date", "2026-05-13", "--workers", "2", "--now", "03:30",
                "--replications", "1000", "--format", "json")
        from_table = run_json(invoke, "simulate", "--source", "dynamodb", "--endpoint-url",
                              endpoint, "--table", table, *args)
        from_file = run_json(invoke, "simulate", "--file", snap, *args)
        assert from_table[0].pop("dynamodb")["items"] == 10
        assert from_table == from_file
        assert from_file[0]["now"]["running"] == 1
        rows = run_json(invoke, "score", "--source", "dynamodb", "--endpoint-url", endpoint,
                        "--table", table, "--from", "2026-05-13", "--workers", "2", "--now",
                        "03:30", "--replications", "1000", "--format", "json")
        assert rows[0]["now"] == from_file[0]["now"]
    finally:
        client.delete_table(TableName=table)


# ------------------------------------------------------------------ the README's example
def test_the_readme_example_is_the_real_output(invoke, tmp_path):
    """README.md quotes `mcqueue simulate --file snapshot.csv --workers 2 --now 03:30` (its
    head, then from the metric table on) and the plain forecast's overflow line."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    cmd = "$ mcqueue simulate --file snapshot.csv --workers 2 --now 03:30\n"
    quoted = readme.split(cmd, 1)[1].split("\n```", 1)[0]
    head, tail = quoted.split("\n...\n")
    snap = tmp_path / "snapshot.csv"
    assert invoke("sample", "--snapshot", "--output", snap).exit_code == 0
    out = invoke("simulate", "--file", snap, "--workers", "2", "--now", "03:30").stdout
    assert out.startswith(head + "\n")
    assert ("\n" + tail + "\n") in out and len(tail.splitlines()) > 10
    plain = invoke("simulate", "--file", snap, "--workers", "2").stdout
    assert "overflow probability         no      1.3%  [1.1%, 1.5%]" in plain
    assert "1.3 % [1.1 %, 1.5 %]" in readme and "raises it to 4.5 %" in readme
    assert "overflow probability         no      4.5%  [4.1%, 4.9%]" in tail


# ------------------------------------------------------------------ formats and the library
@pytest.mark.parametrize("ext", ["parquet", "ndjson", "json", "ddb.json.gz"])
def test_the_snapshot_survives_every_format(invoke, tmp_path, ext):
    """`mcqueue sample --snapshot` in each format re-forecasts like the CSV."""
    csv = tmp_path / "snapshot.csv"
    other = tmp_path / f"snapshot.{ext}"
    for path in (csv, other):
        assert invoke("sample", "--snapshot", "--output", path).exit_code == 0
    args = ("--workers", "2", "--now", "03:30", "--replications", "500", "--format", "json")
    a = run_json(invoke, "simulate", "--file", csv, *args)
    assert run_json(invoke, "simulate", "--file", other, *args) == a
    assert a[0]["now"]["completed"] == 4


def test_library_calls_take_now_and_timezone(tmp_path):
    """run_simulate, run_score and run_whatif: the keywords now= and timezone=."""
    from mcqueue.analysis.planning import Settings
    from mcqueue.analysis.runs import run_score, run_simulate
    from mcqueue.analysis.whatif import ScenarioSpec, run_whatif
    from mcqueue.io.loading import Source
    from mcqueue.io.sample import snapshot_frame

    path = tmp_path / "snap.csv"
    snapshot_frame().write_csv(path)
    src = Source(file=str(path))
    s = Settings(replications=300)
    rep = run_simulate(src, workers=[2], settings=s, now="2026-05-13T05:30:00+02:00",
                       timezone="UTC")
    (r,) = rep.results
    assert r.night.has_now and r.night.now_minute == 150.0
    assert r.extra["now"]["timezone"] == "UTC"
    sc = run_score(src, workers=(2,), settings=s, now="03:30")
    assert sc.now["2026-05-13"]["running"] == 1
    w = run_whatif(src, [ScenarioSpec("none", 1, ())], workers=2, settings=s, now="03:30")
    assert w.extra["now"]["minute"] == 150.0 and w.night.has_now
    with pytest.raises(UsageError):
        run_simulate(src, workers=[2], settings=s, timezone="UTC")
    plain = run_simulate(src, workers=[2], settings=s)
    assert "now" not in plain.results[0].extra and not plain.results[0].night.has_now


# ------------------------------------------------------------------ charts of facts above the pool
def test_peak_workers_against_a_minute_by_minute_count():
    """Random whole-minute intervals: the peak of a minute-by-minute count (a job holds its
    workers in [start, finish))."""
    import numpy as np

    from mcqueue.report.result_charts import peak_workers

    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        s = rng.integers(0, 50, n).astype(float)
        f = s + rng.integers(0, 30, n)
        used = rng.integers(1, 4, n)
        busy = np.zeros(100, np.int64)
        for a, b, u in zip(s.astype(int), f.astype(int), used):
            busy[a:b] += u
        assert peak_workers(s, f, used) == busy.max()


def test_html_and_plots_draw_facts_above_the_pool(invoke, tmp_path):
    """The snapshot on 2 workers: three jobs started at 01:50 (operators' facts above the
    pool). The page and the Gantt images are written (a lane above the pool, greyed)."""
    pytest.importorskip("matplotlib")
    snap = tmp_path / "snapshot.csv"
    assert invoke("sample", "--snapshot", "--output", snap).exit_code == 0
    page = tmp_path / "r.html"
    res = invoke("simulate", "--file", snap, "--workers", "2", "--now", "03:30",
                 "--replications", "300", "--format", "html", "--output", page,
                 "--plot", tmp_path / "charts")
    assert res.exit_code == 0, res.stderr
    assert "Re-forecast from now 03:30" in page.read_text("utf-8")
    assert (tmp_path / "charts" / "chart-gantt-1.png").stat().st_size > 1000


# ------------------------------------------------------------------ the compile notice
def test_the_compile_notice_covers_the_general_loop_of_a_re_forecast(tmp_path, monkeypatch):
    """A tutorial night needs only today's kernel; re-forecast from now it runs on the general
    loop, so the hook names that loop's policy (and the notice asks kernel_cache_ready about
    it); whatif too."""
    from mcqueue.analysis.planning import Settings
    from mcqueue.analysis.runs import Hooks, run_simulate
    from mcqueue.analysis.whatif import ScenarioSpec, run_whatif
    from mcqueue.cli import progress
    from mcqueue.engine import simulate as engine
    from mcqueue.io.loading import Source

    seen = []
    hooks = Hooks(starting=lambda **kw: seen.append(kw))
    s = Settings(replications=50)
    run_simulate(Source(), ["2026-05-13"], [2], settings=s, hooks=hooks)
    run_simulate(Source(), ["2026-05-13"], [2], settings=s, hooks=hooks, now="01:00")
    run_whatif(Source(), [ScenarioSpec("none", 1, ())], "2026-05-13", 2, settings=s,
               hooks=hooks, now="01:00")
    assert [kw["policies"] for kw in seen] == [(), ("tutorial",), ("tutorial",)]
    asked = []
    monkeypatch.setattr(engine, "kernel_cache_ready",
                        lambda policies=(), per_job=False: asked.append(policies) or True)
    progress.compiling_notice(policies=("tutorial",))
    assert asked == [("tutorial",)]


def test_an_iso_now_with_several_nights_names_the_night_it_is_not_within(invoke):
    """score over the five sample nights: an ISO --now is one instant, within 2026-05-13 only
    (the first night, 2026-05-11, is named); --from/--to on that night runs."""
    res = invoke("score", "--replications", "20", "--now", "2026-05-13T01:00:00Z")
    assert check(res, (2,)) == (
        "Error: --now '2026-05-13T01:00:00Z' is not within night 2026-05-11 (the 24 hours "
        "from 2026-05-11 01:00 in UTC); choose only the night it falls within, or give --now "
        "HH:MM for the same clock time on every night")
    rows = run_json(invoke, "score", "--replications", "20", "--from", "2026-05-13",
                    "--now", "2026-05-13T01:00:00Z", "--format", "json")
    assert rows[0]["now"]["minute"] == 0.0 and rows[0]["now"]["timezone"] == "UTC"
