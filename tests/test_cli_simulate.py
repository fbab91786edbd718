"""`mcqueue simulate` in-process through click's CliRunner: options, formats, contract, errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import types

import pytest
from click.testing import CliRunner
from conftest import cli_error, cli_run

from mcqueue.cli.main import cli

R = ["--replications", "200"]  # small runs keep the file fast; the kernel is the same
METRIC_NAMES = ("average_wait_minutes", "p95_wait_minutes", "average_queue_length",
                "max_queue_length", "worker_utilization", "overflow_jobs", "overflow_risk",
                "queue_drained_minute")
SUMMARY_KEYS = {"mean", "ci_low", "ci_high", "p50", "p90", "p99"}


def run(*args, ok=True):
    res = cli_run("simulate", *args, ok=ok)
    if ok:
        assert res.stderr == ""
    return res


def run_json(*args):
    return json.loads(run(*args, "--format", "json").stdout)


def error_of(*args):
    return cli_error("simulate", *args)


# ---------------------------------------------------------------- the default run
def test_default_run_is_the_tutorials_two_scenarios():
    res = run()
    out = res.stdout
    assert out.startswith("2026-05-13 on 3 workers\n")
    assert "\n2026-05-14 on 2 workers\n" in out
    # the deterministic column reproduces the tutorial's published numbers
    assert "average wait (min)        29.00" in out
    assert "average wait (min)       246.67" in out
    assert "10,000 replications, seed 0, runtime cv 0.25, jitter 15 min, 95% confidence" in out
    assert max(len(ln) for ln in out.splitlines()) <= 80


def test_default_run_json_and_one_engine_call(monkeypatch):
    from mcqueue.engine import simulate as engine

    calls = []
    real = engine.simulate_scenarios

    def spy(scenarios, *a, **k):
        calls.append([(sc.night.batch_date, sc.workers) for sc in scenarios])
        return real(scenarios, *a, **k)

    monkeypatch.setattr(engine, "simulate_scenarios", spy)
    data = run_json()
    assert calls == [[("2026-05-13", 3), ("2026-05-14", 2)]]
    assert [(d["batch_date"], d["workers"]) for d in data] == [("2026-05-13", 3),
                                                              ("2026-05-14", 2)]
    assert [d["replications"] for d in data] == [10_000, 10_000]
    assert data[0]["deterministic"]["p95_wait_minutes"] == 50
    assert data[1]["deterministic"]["overflow_jobs"] == 9
    assert data[1]["deterministic"]["queue_drained_minute"] == 490


def test_json_contract_keys_and_types():
    (d,) = run_json("--batch-date", "2026-05-13", *R)
    assert isinstance(d["scenario"], str) and d["scenario"] == "2026-05-13 on 3 workers"
    assert d["batch_date"] == "2026-05-13" and d["window"] is None
    assert type(d["workers"]) is int and d["workers"] == 3
    assert (d["batch_start"], d["batch_end"], d["horizon_minutes"]) == ("01:00", "05:00", 240)
    assert type(d["jobs"]) is int and d["jobs"] == 10
    assert (d["replications"], d["seed"], d["confidence"]) == (200, 0, 0.95)
    assert (d["runtime_cv"], d["arrival_jitter_minutes"]) == (0.25, 15)
    assert set(d["queueing"]) == {"lambda_per_hour", "mu_per_hour", "workers", "rho"}
    assert d["queueing"]["rho"] == pytest.approx(0.375)
    assert set(d["deterministic"]) == set(METRIC_NAMES)
    assert all(isinstance(v, (int, float)) for v in d["deterministic"].values())
    assert set(d["monte_carlo"]) == set(METRIC_NAMES) | {"overflow_probability"}
    for m in METRIC_NAMES:
        s = d["monte_carlo"][m]
        assert set(s) == SUMMARY_KEYS
        assert all(isinstance(v, (int, float)) for v in s.values())
        assert s["ci_low"] <= s["mean"] <= s["ci_high"]
        assert s["p50"] <= s["p90"] <= s["p99"]
    op = d["monte_carlo"]["overflow_probability"]
    assert set(op) == {"estimate", "ci_low", "ci_high"}
    assert 0 <= op["ci_low"] <= op["estimate"] <= op["ci_high"] <= 1


def test_csv_one_row_per_scenario_and_metric():
    out = run("--format", "csv", *R).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert out.splitlines()[0] == ("scenario,metric,deterministic,mean,ci_low,ci_high,p50,p90,"
                                   "p99")
    assert len(rows) == 2 * 9
    assert [r["metric"] for r in rows[:9]] == [*METRIC_NAMES, "overflow_probability"]
    data = run_json(*R)
    for r in rows:
        d = data[0] if r["scenario"] == "2026-05-13 on 3 workers" else data[1]
        if r["metric"] == "overflow_probability":
            op = d["monte_carlo"]["overflow_probability"]
            assert float(r["mean"]) == op["estimate"]
            assert (r["p50"], r["p90"], r["p99"]) == ("", "", "")
            assert r["deterministic"] == str(int(d["deterministic"]["queue_drained_minute"]
                                                  > d["horizon_minutes"]))
        else:
            s = d["monte_carlo"][r["metric"]]
            assert {k: float(r[k]) for k in SUMMARY_KEYS} == s
            assert float(r["deterministic"]) == d["deterministic"][r["metric"]]


# ---------------------------------------------------------------- every option
def test_batch_date_and_several_worker_counts_share_random_nights():
    data = run_json("--batch-date", "2026-05-14", "--batch-date", "2026-05-13",
                    "--workers", "2", "--workers", "4", *R)
    assert [(d["batch_date"], d["workers"]) for d in data] == [
        ("2026-05-14", 2), ("2026-05-14", 4), ("2026-05-13", 2), ("2026-05-13", 4)]
    # more workers on the same random nights never wait longer on average
    assert (data[1]["monte_carlo"]["average_wait_minutes"]["mean"]
            <= data[0]["monte_carlo"]["average_wait_minutes"]["mean"])


def test_repeated_values_give_one_scenario_each():
    data = run_json("--batch-date", "2026-05-13", "--batch-date", "2026-05-13",
                    "--workers", "3", "--workers", "3", *R)
    assert [d["scenario"] for d in data] == ["2026-05-13 on 3 workers"]


def test_workers_without_batch_date_apply_to_both_tutorial_nights():
    data = run_json("--workers", "5", *R)
    assert [(d["batch_date"], d["workers"]) for d in data] == [("2026-05-13", 5),
                                                              ("2026-05-14", 5)]


def test_batch_date_without_workers_uses_three():
    (d,) = run_json("--batch-date", "2026-05-14", *R)
    assert d["workers"] == 3 and d["scenario"] == "2026-05-14 on 3 workers"


def test_window_selects_one_requested_window():
    (d,) = run_json("--batch-date", "2026-05-13", "--window", "02:00", *R)
    assert d["window"] == "02:00" and d["jobs"] == 3
    assert d["scenario"] == "2026-05-13 window 02:00 on 3 workers"


def test_batch_start_and_end_set_the_horizon():
    (d,) = run_json("--batch-date", "2026-05-13", "--batch-start", "00:30", "--batch-end",
                    "06:00", *R)
    assert (d["batch_start"], d["batch_end"], d["horizon_minutes"]) == ("00:30", "06:00", 330)
    (d,) = run_json("--batch-date", "2026-05-13", "--batch-start", "22:00", "--batch-end",
                    "04:00", *R)
    assert d["horizon_minutes"] == 360  # crosses midnight


def test_replications_and_seed():
    a = run_json("--replications", "300", "--seed", "7")
    b = run_json("--replications", "300", "--seed", "7")
    c = run_json("--replications", "300", "--seed", "8")
    assert a == b
    assert a[0]["replications"] == 300 and a[0]["seed"] == 7
    assert (a[0]["monte_carlo"]["average_wait_minutes"]["mean"]
            != c[0]["monte_carlo"]["average_wait_minutes"]["mean"])


def test_zero_noise_gives_the_deterministic_night_every_time():
    data = run_json("--runtime-cv", "0", "--arrival-jitter", "0", *R)
    for d in data:
        assert (d["runtime_cv"], d["arrival_jitter_minutes"]) == (0, 0)
        for m in METRIC_NAMES:
            s = d["monte_carlo"][m]
            assert s["mean"] == pytest.approx(d["deterministic"][m], rel=1e-12, abs=1e-12)
            assert s["p50"] == s["p99"] == d["deterministic"][m]


def test_runtime_cv_and_class_cv_are_used_and_echoed():
    base = run_json("--batch-date", "2026-05-13", *R)[0]
    wide = run_json("--batch-date", "2026-05-13", "--runtime-cv", "0.8", *R)[0]
    per = run_json("--batch-date", "2026-05-13", "--class-cv", "backfill=0.9",
                   "--class-cv", "etl=0", *R)[0]
    assert wide["runtime_cv"] == 0.8 and per["class_cv"] == {"backfill": 0.9, "etl": 0.0}
    key = "queue_drained_minute"
    assert wide["monte_carlo"][key] != base["monte_carlo"][key]
    assert per["monte_carlo"][key] != base["monte_carlo"][key]
    table = run("--batch-date", "2026-05-13", "--class-cv", "backfill=0.9", *R).stdout
    assert "runtime cv 0.25 (backfill 0.9)" in table


def test_class_cv_for_an_absent_class_is_noted_on_stderr():
    res = CliRunner().invoke(cli, ["simulate", "--batch-date", "2026-05-13",
                                   "--class-cv", "reporting=0.5", *R])
    assert res.exit_code == 0
    assert res.stderr == ("mcqueue: note: --class-cv reporting=...: no job of class "
                          "'reporting' in the simulated nights (classes: backfill, etl, "
                          "index_maintenance, refresh)\n")


def test_arrival_jitter_is_used():
    a = run_json("--batch-date", "2026-05-13", "--runtime-cv", "0", "--arrival-jitter", "0",
                 *R)[0]
    b = run_json("--batch-date", "2026-05-13", "--runtime-cv", "0", "--arrival-jitter", "30",
                 *R)[0]
    assert b["arrival_jitter_minutes"] == 30
    # every arrival is late by U[0, 30): the queue drains later on average
    assert (b["monte_carlo"]["queue_drained_minute"]["mean"]
            > a["monte_carlo"]["queue_drained_minute"]["mean"])


def test_confidence_narrows_the_interval():
    hi = run_json("--batch-date", "2026-05-13", "--confidence", "0.99", *R)[0]
    lo = run_json("--batch-date", "2026-05-13", "--confidence", "0.8", *R)[0]
    assert (hi["confidence"], lo["confidence"]) == (0.99, 0.8)
    w = {k: d["monte_carlo"]["average_wait_minutes"] for k, d in (("hi", hi), ("lo", lo))}
    assert w["hi"]["mean"] == w["lo"]["mean"]
    assert (w["lo"]["ci_high"] - w["lo"]["ci_low"]) < (w["hi"]["ci_high"] - w["hi"]["ci_low"])
    assert "80% interval" in run("--confidence", "0.8", *R).stdout


def test_output_writes_the_report_and_leaves_stdout_empty(tmp_path):
    path = tmp_path / "report.json"
    res = run("--format", "json", "--output", str(path), *R)
    assert res.stdout == ""
    assert json.loads(path.read_text()) == run_json(*R)


def test_output_to_an_unwritable_place(tmp_path):
    code, line = error_of("--output", str(tmp_path / "no" / "dir" / "r.txt"), *R)
    assert code == 1
    assert line.startswith(f"Error: cannot write --output '{tmp_path}/no/dir/r.txt': ")


def test_source_local_file_with_one_night_needs_no_batch_date(tmp_path):
    path = tmp_path / "one.csv"
    from mcqueue.io.sample import sample_frame

    sample_frame().filter(sample_frame()["batch_date"] == "2026-05-14").write_csv(path)
    (d,) = run_json("--source", "local", "--file", str(path), "--workers", "2", *R)
    (ref,) = run_json("--batch-date", "2026-05-14", "--workers", "2", *R)
    assert d == ref


def test_table_lists_job_summary_and_queueing_parameters():
    out = run("--batch-date", "2026-05-14", "--workers", "2", *R).stdout
    assert "jobs 12   mean runtime 51.7 min   exclusive 5   priority >= 3: 5" in out
    assert "demand by window: 01:00 5 jobs/260 min, 02:00 4 jobs/215 min," in out
    assert "workload mix: etl 4, backfill 3, refresh 3, index_maintenance 2" in out
    assert "lambda 3.00 jobs/h   mu 1.16 jobs/h per worker   c 2   rho 1.292" in out
    assert "overflow probability        yes" in out


def test_dynamodb_source_uses_query_jobs_and_reports_cost(monkeypatch):
    from mcqueue.io.sample import sample_frame

    seen = {}

    def query_jobs(batch_date, window, *, table, session, region, profile, endpoint_url,
                   max_attempts, timeout, cancel):
        seen.update(batch_date=batch_date, window=window, table=table, region=region,
                    profile=profile, endpoint_url=endpoint_url, max_attempts=max_attempts,
                    timeout=timeout)
        f = sample_frame()
        return types.SimpleNamespace(frame=f.filter(f["batch_date"] == batch_date),
                                     consumed_read_units=1.5, cost_usd=0.0000004, pages=1,
                                     items=10)

    monkeypatch.setitem(sys.modules, "mcqueue.io.dynamo",
                        types.SimpleNamespace(query_jobs=query_jobs))
    (d,) = run_json("--source", "dynamodb", "--batch-date", "2026-05-13", "--table", "t1",
                    "--region", "eu-west-1", "--endpoint-url", "http://127.0.0.1:1",
                    "--max-attempts", "3", "--timeout", "7.5", *R)
    assert seen == {"batch_date": "2026-05-13", "window": None, "table": "t1",
                    "region": "eu-west-1", "profile": None,
                    "endpoint_url": "http://127.0.0.1:1", "max_attempts": 3, "timeout": 7.5}
    assert d["dynamodb"] == {"table": "t1", "items": 10, "pages": 1,
                             "consumed_read_units": 1.5, "cost_usd": 0.0000004}
    (ref,) = run_json("--batch-date", "2026-05-13", *R)
    assert d["monte_carlo"] == ref["monte_carlo"]
    table = run("--source", "dynamodb", "--batch-date", "2026-05-13", *R).stdout
    assert "DynamoDB: 10 items in 1 page, 1.5 read units, about $0.0000004" in table


# ---------------------------------------------------------------- progress and notices
def test_no_progress_when_stderr_is_not_a_terminal():
    res = run("--replications", "300")
    assert res.stderr == ""


def test_progress_bar_counts_every_replication(monkeypatch):
    from cli import progress as P

    monkeypatch.setattr(P, "stderr_is_tty", lambda: True)
    seen = []
    with P.progress(600) as advance:
        assert advance is not None
        from mcqueue.engine import simulate as engine
        from mcqueue.io.sample import load_sample

        n = load_sample("2026-05-13")
        engine.simulate_scenarios([engine.Scenario(n, 2), engine.Scenario(n, 3)],
                                  replications=300, progress=lambda k: (seen.append(k),
                                                                        advance(k)))
    assert sum(seen) == 600
    monkeypatch.setattr(P, "stderr_is_tty", lambda: False)
    with P.progress(600) as advance:
        assert advance is None


def test_compiling_notice_goes_to_stderr(monkeypatch):
    from mcqueue.engine import simulate as engine

    monkeypatch.setattr(engine, "kernel_cache_ready", lambda: False)
    res = CliRunner().invoke(cli, ["simulate", "--format", "json", *R])
    assert res.exit_code == 0
    assert res.stderr == ("mcqueue: compiling the simulation engine (first run only, 5-10 "
                          "seconds on 2 cores; Ctrl-C takes effect only when the compile is "
                          "done)...\n")
    assert len(json.loads(res.stdout)) == 2


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("args,line", [
    (["--workers", "0"], "Error: Invalid value for '--workers': 0 is not in the range x>=1."),
    (["--replications", "0"],
     "Error: Invalid value for '--replications': 0 is not in the range x>=1."),
    (["--runtime-cv", "-0.1"],
     "Error: Invalid value for '--runtime-cv': must be a finite number >= 0, got -0.1"),
    (["--runtime-cv", "nan"],
     "Error: Invalid value for '--runtime-cv': must be a finite number >= 0, got nan"),
    (["--arrival-jitter", "-5"],
     "Error: Invalid value for '--arrival-jitter': must be a finite number >= 0, got -5.0"),
    (["--arrival-jitter", "inf"],
     "Error: Invalid value for '--arrival-jitter': must be a finite number >= 0, got inf"),
    (["--confidence", "1"],
     "Error: Invalid value for '--confidence': must be strictly between 0 and 1, got 1.0"),
    (["--confidence", "0"],
     "Error: Invalid value for '--confidence': must be strictly between 0 and 1, got 0.0"),
    (["--confidence", "-2"],
     "Error: Invalid value for '--confidence': must be strictly between 0 and 1, got -2.0"),
    (["--class-cv", "backfill"], "Error: Invalid value for '--class-cv': must be CLASS=CV with "
                                 "CV a finite number >= 0, got 'backfill'"),
    (["--class-cv", "backfill=-1"], "Error: Invalid value for '--class-cv': must be CLASS=CV "
                                    "with CV a finite number >= 0, got 'backfill=-1'"),
    (["--window", "2:00"],
     "Error: Invalid value for '--window': must be HH:MM (00:00 to 23:59), got '2:00'"),
    (["--batch-start", "24:00"],
     "Error: Invalid value for '--batch-start': must be HH:MM (00:00 to 23:59), got '24:00'"),
    (["--batch-end", "5pm"],
     "Error: Invalid value for '--batch-end': must be HH:MM (00:00 to 23:59), got '5pm'"),
    (["--batch-date", "13/05/2026"],
     "Error: Invalid value for '--batch-date': must be a date YYYY-MM-DD, got '13/05/2026'"),
    (["--seed", "-1"],
     "Error: Invalid value for '--seed': -1 is not in the range 0<=x<=18446744073709551615."),
    (["--format", "xml"], "Error: Invalid value for '--format': 'xml' is not one of 'table', "
                          "'json', 'csv', 'html'."),
    (["--source", "dynamodb"],
     "Error: --source dynamodb needs --batch-date (the partition key to query)"),
])
def test_usage_errors_exit_2(args, line):
    assert error_of(*R, *args) == (2, line)


def test_missing_and_unsupported_files_are_usage_errors(tmp_path):
    assert error_of("--file", str(tmp_path / "nope.csv")) == (
        2, f"Error: Invalid value for '--file': File '{tmp_path}/nope.csv' does not exist.")
    (tmp_path / "jobs.txt").write_text("x")
    assert error_of("--file", str(tmp_path / "jobs.txt")) == (
        2, f"Error: Invalid value for '--file': unsupported file type '{tmp_path}/jobs.txt': "
           "use .csv, .parquet, .ndjson/.jsonl, .json or .ddb.json (DynamoDB JSON lines); "
           ".gz is allowed on text formats")
    assert error_of("--file", str(tmp_path)) == (
        2, f"Error: Invalid value for '--file': File '{tmp_path}' is a directory.")
    (tmp_path / "j.csv").write_text("x")
    assert error_of("--source", "dynamodb", "--batch-date", "2026-05-13", "--file",
                    str(tmp_path / "j.csv")) == (
        2, "Error: --file is for --source local; DynamoDB reads the table given by --table")


def _csv(tmp_path, body, name="jobs.csv"):
    head = ("batch_date,job_id,requested_window,workload_class,estimated_runtime_minutes,"
            "priority,requires_exclusive_lock\n")
    path = tmp_path / name
    path.write_text(head + body)
    return str(path)


def test_data_errors_exit_1(tmp_path):
    cases = [
        (_csv(tmp_path, "2026-05-13,J1,01:00,etl,-5,1,false\n", "a.csv"),
         "Error: row 1 (job_id J1): field 'estimated_runtime_minutes' must be a finite number "
         "> 0, got '-5'"),
        (_csv(tmp_path, "2026-05-13,J1,01:00,etl,5,1,maybe\n", "b.csv"),
         "Error: row 1 (job_id J1): field 'requires_exclusive_lock' must be true/false (or "
         "1/0), got 'maybe'"),
        (_csv(tmp_path, "2026-05-13,J1,1am,etl,5,1,false\n", "c.csv"),
         "Error: row 1 (job_id J1): field 'requested_window' must be HH:MM (00:00 to 23:59), "
         "got '1am'"),
        (_csv(tmp_path, ""), f"Error: '{tmp_path}/jobs.csv' holds no job records"),
    ]
    for path, line in cases:
        assert error_of("--file", path, "--batch-date", "2026-05-13") == (1, line)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    code, line = error_of("--file", str(bad), "--batch-date", "2026-05-13")
    assert code == 1 and line.startswith(f"Error: cannot read '{bad}' as Parquet: ")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2, 3]")
    assert error_of("--file", str(bad), "--batch-date", "2026-05-13") == (
        1, f"Error: cannot read '{bad}' as a JSON array of objects: element 1 is integer 1")


def test_missing_batch_date_lists_the_dates_present():
    assert error_of("--batch-date", "2026-06-01", *R) == (
        1, "Error: batch date '2026-06-01' has no jobs; dates present: 2026-05-11, 2026-05-12, "
           "2026-05-13, 2026-05-14, 2026-05-15")


def test_empty_night_is_a_plain_error():
    assert error_of("--batch-date", "2026-05-13", "--window", "02:30", *R) == (
        1, "Error: night 2026-05-13 has no jobs in window 02:30 (windows present: 01:00, "
           "02:00, 03:00): nothing to simulate")


def test_file_with_several_nights_needs_a_batch_date(tmp_path):
    from mcqueue.io.sample import sample_frame

    path = tmp_path / "all.csv"
    sample_frame().write_csv(path)
    assert error_of("--file", str(path)) == (
        2, f"Error: '{path}' holds 5 nights (2026-05-11, 2026-05-12, 2026-05-13, 2026-05-14, "
           "2026-05-15); choose with --batch-date")


# ---------------------------------------------------------------- help and start-up
@pytest.mark.parametrize("command", ["simulate", "sample"])
def test_help_has_a_summary_and_an_example(command):
    res = CliRunner().invoke(cli, [command, "--help"], prog_name="mcqueue")
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert lines[0] == f"Usage: mcqueue {command} [OPTIONS]"
    assert lines[2].strip()  # the one-line summary
    assert "Example" in res.stdout and f"mcqueue {command}" in res.stdout.split("Example")[1]


def test_help_shows_defaults():
    out = CliRunner().invoke(cli, ["simulate", "--help"]).stdout
    for default in ("[default: local]", "[default: table]", "[default: 10000; x>=1]", "[default: 0.25]", "[default: 15.0]",
                    "[default: 0.95]", "[default: 01:00]", "[default: 05:00]"):
        assert default in " ".join(out.split())


def test_help_imports_no_heavy_module_and_python_m_works():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom cli.main import cli\n"
            "r = CliRunner().invoke(cli, ['simulate', '--help'])\nassert r.exit_code == 0\n"
            "heavy = [m for m in ('numba', 'polars', 'boto3', 'scipy', 'numpy') "
            "if m in sys.modules]\nprint(heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
    res = subprocess.run([sys.executable, "-m", "mcqueue", "--help"], capture_output=True,
                         text=True)
    assert res.returncode == 0 and "simulate" in res.stdout and "sample" in res.stdout


def test_version():
    res = CliRunner().invoke(cli, ["--version"], prog_name="mcqueue")
    from mcqueue import __version__

    assert res.exit_code == 0 and res.stdout == f"mcqueue, version {__version__}\n"


# ---------------------------------------------------------------- precision-targeted runs
def test_target_halfwidths_stop_when_met_and_say_so():
    (d,) = run_json("--batch-date", "2026-05-13", "--target-halfwidth-p95", "1.0",
                    "--target-halfwidth-overflow", "0.01")
    prec = d["precision"]
    assert prec["stopped"] == "target met"
    assert d["replications"] == prec["replications_used"] >= 1000
    mc = d["monte_carlo"]
    assert (mc["p95_wait_minutes"]["ci_high"] - mc["p95_wait_minutes"]["ci_low"]) / 2 <= 1.0
    op = mc["overflow_probability"]
    assert (op["ci_high"] - op["ci_low"]) / 2 <= 0.01


def test_target_halfwidth_cap_is_reported_in_json_and_table():
    args = ("--batch-date", "2026-05-13", "--target-halfwidth-p95", "0.001",
            "--max-replications", "3000")
    (d,) = run_json(*args)
    assert d["replications"] == 3000
    assert d["precision"]["stopped"] == "max replications reached"
    assert d["precision"]["achieved_halfwidth_p95"] > 0.001
    table = " ".join(run(*args).stdout.split())  # the line wraps at 80 columns
    assert ("Precision-targeted: p95 +/-0.001 min (reached +/-" in table
            and "3,000 replications, stopped: max replications reached" in table)


def test_targeted_run_equals_fixed_run_of_the_same_length():
    (t,) = run_json("--batch-date", "2026-05-14", "--workers", "2", "--target-halfwidth-p95",
                    "0.001", "--max-replications", "2500")
    (f,) = run_json("--batch-date", "2026-05-14", "--workers", "2", "--replications", "2500")
    assert t["monte_carlo"] == f["monte_carlo"]


def test_max_replications_without_a_target_is_a_usage_error():
    assert error_of("--max-replications", "10") == (
        2, "Error: --max-replications caps a precision-targeted run: give "
           "--target-halfwidth-p95 and/or --target-halfwidth-overflow")
    assert error_of("--target-halfwidth-overflow", "0") == (
        2, "Error: Invalid value for '--target-halfwidth-overflow': 0.0 is not in the range "
           "0<x<=1.")


# ---------------------------------------------------------------- extreme values
@pytest.mark.parametrize("args, line", [
    (("--runtime-cv", "1e308"), "Error: Invalid value for '--runtime-cv': must be at most 100, "
                                "got 1e+308"),
    (("--class-cv", "etl=1e200"), "Error: Invalid value for '--class-cv': must be at most 100, "
                                  "got 1e+200"),
    (("--arrival-jitter", "1e9"), "Error: Invalid value for '--arrival-jitter': must be at most "
                                  "10080, got 1000000000.0"),
    (("--batch-date", "2026-13-45"), "Error: Invalid value for '--batch-date': must be a date "
                                     "YYYY-MM-DD, got '2026-13-45'"),
])
def test_values_past_the_finite_range_are_usage_errors(args, line):
    # a cv of 1e308 made sigma infinite and the event loop spin forever on NaN runtimes
    assert error_of(*args) == (2, line)


def test_replications_that_cannot_fit_in_memory_are_refused_up_front():
    code, line = error_of("--replications", "1000000000000")
    assert code == 1
    # 2e12 replications x 48 bytes (the compact metrics: 5 floats, 2 counts up to int32)
    # = 9.6e13 bytes = 89,406.97 GiB
    assert line.startswith("Error: 1,000,000,000,000 replications x 2 scenario(s) need "
                           "89,407.0 GiB for the per-replication metrics (48 bytes each)")


def test_a_billion_workers_runs_in_small_memory():
    # the running-job heap holds at most min(workers, jobs) entries; with at least as many
    # workers as jobs (10) every start time is the same, so every wait and finish metric is
    # (utilisation differs: an exclusive job holds the whole pool)
    args = ("--batch-date", "2026-05-13", "--replications", "50")
    (big,) = run_json(*args, "--workers", "1000000000")
    (ten,) = run_json(*args, "--workers", "10")
    assert big["workers"] == 1_000_000_000
    for m, v in ten["deterministic"].items():
        if m != "worker_utilization":
            assert big["deterministic"][m] == v, m
            assert big["monte_carlo"][m] == ten["monte_carlo"][m], m
    assert 0 < big["deterministic"]["worker_utilization"] < 1


def test_confidence_next_to_one_gives_finite_intervals():
    (d,) = run_json("--batch-date", "2026-05-13", "--confidence", "0.9999999999999999", *R)
    p95 = d["monte_carlo"]["p95_wait_minutes"]
    assert p95["ci_low"] < p95["mean"] < p95["ci_high"]
