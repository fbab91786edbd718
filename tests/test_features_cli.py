"""Issues 12 and 13 end to end: the record fields in every format, the --window rule, seed's
lists, the options of simulate/score/plan and what their reports hold, checked against the
engine called directly (an independent path through the library) and hand-worked values."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import polars as pl
import pytest

from conftest import cli_run
from mcqueue.analysis import planning
from mcqueue.analysis.scheduling import Scheduling, capacity_minute
from mcqueue.engine import simulate as engine
from mcqueue.io.sample import ETL_DATE, load_sample, sample_frame
from mcqueue.io.schema import night_from_frame, validate_jobs
from mcqueue.io.sources import read_jobs, render_jobs

R = ("--replications", "400", "--seed", "5")
ETL = ("--batch-date", ETL_DATE)


def run_json(*args):
    return json.loads(cli_run("simulate", *args, "--format", "json").stdout)


def features(night):
    """The optional columns of a night, comparable with == (NaN deadlines as None)."""
    out = {k: (None if getattr(night, k) is None else
               [None if v != v else v for v in getattr(night, k).tolist()])
           for k in ("pred_ptr", "pred_idx", "deadline_minute", "slots", "lock_ptr",
                     "lock_idx")}
    return out | {"lock_names": night.lock_names}


# ------------------------------------------------------------------ the fields in every form
ROWS = [
    {"job_id": "A"}, {"job_id": "B", "depends_on": ["A"], "deadline": "02:30", "slots": 2},
    {"job_id": "C", "depends_on": ["A", "B"], "locks": ["fact", "dim"]},
    {"job_id": "D", "locks": ["fact"], "deadline": "01:00"},
]


def _records():
    base = {"batch_date": "2026-06-01", "requested_window": "01:00", "workload_class": "etl",
            "estimated_runtime_minutes": 10, "priority": 1, "requires_exclusive_lock": False}
    return [{**base, **r} for r in ROWS]


def _ddb_line(rec, form):
    item = {}
    for k, v in rec.items():
        if isinstance(v, bool):
            item[k] = {"BOOL": v}
        elif isinstance(v, (int, float)):
            item[k] = {"N": str(v)}
        elif isinstance(v, list):
            item[k] = ({"L": [{"S": e} for e in v]} if form == "L" else {"SS": v}
                       if form == "SS" else {"S": ";".join(v)})
        else:
            item[k] = {"S": v}
    return json.dumps({"Item": item})


@pytest.mark.parametrize("form", ["csv", "json list", "json string", "ndjson", "parquet",
                                  "ddb L", "ddb SS", "ddb S"])
def test_every_form_gives_the_same_night(tmp_path, form):
    """A ';'-string, a list of strings and DynamoDB's L, SS and S all give the same Night
    (predecessors, deadlines, slots and locks), as Night.from_arrays builds it directly."""
    recs = _records()
    if form == "csv":
        path = tmp_path / "j.csv"
        cols = list(recs[0]) + ["depends_on", "deadline", "slots", "locks"]
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for r in recs:
                w.writerow([";".join(r[c]) if isinstance(r.get(c), list) else
                            str(r.get(c, "")).lower() if isinstance(r.get(c), bool) else
                            r.get(c, "") for c in cols])
    elif form in ("json list", "json string"):
        path = tmp_path / "j.json"
        if form == "json string":
            recs = [{k: ";".join(v) if isinstance(v, list) else v for k, v in r.items()}
                    for r in recs]
        path.write_text(json.dumps(recs))
    elif form == "ndjson":
        path = tmp_path / "j.ndjson"
        path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    elif form == "parquet":
        path = tmp_path / "j.parquet"
        pl.DataFrame(recs, schema_overrides={"depends_on": pl.List(pl.String),
                                             "locks": pl.List(pl.String)}).write_parquet(path)
    else:
        path = tmp_path / "j.ddb.json"
        path.write_text("\n".join(_ddb_line(r, form.split()[1]) for r in recs) + "\n")
    night = night_from_frame(validate_jobs(read_jobs(path)), "2026-06-01")
    direct = engine.Night.from_arrays(
        [0] * 4, [10] * 4, [1] * 4, [False] * 4, ["A", "B", "C", "D"],
        batch_date="2026-06-01", depends_on=[r.get("depends_on") for r in ROWS],
        deadline=[r.get("deadline") for r in ROWS], slots=[r.get("slots") for r in ROWS],
        locks=[r.get("locks") for r in ROWS])
    assert features(night) == features(direct)
    # by hand: B waits for A, C for A and B; B due 02:30 (90 min), D 01:00 = the batch start,
    # so a day later (1440); C holds the locks dim and fact
    assert night.predecessors(2) == ("A", "B") and night.deadline_minute[3] == 1440.0
    assert night.locks_of(2) == ("dim", "fact") and night.slots.tolist() == [1, 2, 1, 1]


def test_sample_round_trips_its_lists_through_every_writer(tmp_path):
    """`mcqueue sample` writes depends_on as a list (JSON, Parquet, DynamoDB L) or the
    ';'-string (CSV); reading any of them back gives the ETL night as the built-in sample."""
    ref = load_sample(ETL_DATE)
    for fmt, name in (("csv", "s.csv"), ("json", "s.json"), ("ndjson", "s.ndjson"),
                      ("parquet", "s.parquet"), ("ddb", "s.ddb.json")):
        path = tmp_path / name
        path.write_bytes(render_jobs(sample_frame(), fmt))
        night = night_from_frame(validate_jobs(read_jobs(path)), ETL_DATE)
        assert features(night) == features(ref), fmt
    doc = json.loads(render_jobs(sample_frame(), "json"))
    last = [r for r in doc if r["job_id"] == "JOB-20260515-019"][0]
    assert last["depends_on"] == ["JOB-20260515-015", "JOB-20260515-016", "JOB-20260515-017"]
    line = render_jobs(sample_frame(), "ddb").decode().splitlines()[-2]
    assert '"depends_on":{"L":[{"S":"JOB-20260515-015"}' in line


@pytest.mark.parametrize("start,end,clock,minute", [
    ("01:00", "05:00", "03:00", 120.0), ("01:00", "05:00", "00:30", 0.0),
    ("22:00", "06:00", "23:00", 60.0), ("22:00", "06:00", "00:30", 150.0),
    ("22:00", "06:00", "21:00", 1380.0)])
def test_capacity_times_follow_the_window_rule(start, end, clock, minute):
    assert capacity_minute(clock, start, end) == minute


def test_deadlines_are_the_first_occurrence_after_the_start():
    night = engine.Night.from_arrays([0, 0, 0], [5, 5, 5], job_id=["a", "b", "c"],
                                     batch_start="22:00", batch_end="06:00",
                                     deadline=["23:00", "01:00", "22:00"])
    assert night.deadline_minute.tolist() == [60.0, 180.0, 1440.0]


# ------------------------------------------------------------------ --window
def test_window_counts_other_windows_predecessors_as_finished(invoke):
    """Window 02:00 of the ETL night: its jobs depend on five 01:00 jobs (005-009), which
    count as finished at the batch start; one note line says so, and with no noise the
    window's first jobs start at 02:00 with no dependency delay (a shorter run than the whole
    night, where they wait for the transforms)."""
    res = invoke("simulate", *ETL, "--window", "02:00", "--runtime-cv", "0",
                 "--arrival-jitter", "0", "--replications", "5", "--per-job", "--format",
                 "json")
    assert res.exit_code == 0, res.stderr
    notes = [ln for ln in res.stderr.splitlines() if ln.startswith("mcqueue: note:")]
    assert notes == ["mcqueue: note: 5 predecessor jobs outside window 02:00 of 2026-05-15 "
                     "treated as finished at the batch start (01:00)"]
    (doc,) = json.loads(res.stdout)
    assert doc["jobs"] == 7 and doc["window"] == "02:00"
    delay = {r["job_id"]: r["mean_dependency_delay_minutes"] for r in doc["per_job"]}
    for j in ("010", "011", "012", "013"):  # only outside predecessors: ready at 02:00
        assert delay[f"JOB-20260515-{j}"] == 0.0
    # 015 waits for 011 (02:00-02:30) and 012 (02:00-02:15): ready at 02:30
    assert delay["JOB-20260515-015"] == 30.0
    # in the whole night, 010 waits for the web-log extract 005, which starts at 01:55 on the
    # busy pool and ends at 02:30: 30 minutes of dependency delay the window run does not see
    whole = engine.trace(load_sample(ETL_DATE), 3, detail=True)
    assert whole["dependency_delay_minutes"][list(load_sample(ETL_DATE).job_id).index(
        "JOB-20260515-010")] == 30.0


def test_no_note_without_outside_predecessors(invoke):
    res = invoke("simulate", *ETL, "--window", "01:00", *R)
    assert res.exit_code == 0 and "note" not in res.stderr


@pytest.mark.dynamodb
def test_dynamodb_window_reads_the_night_for_outside_predecessors(monkeypatch, tmp_path):
    """From the catalog: the window's Query finds predecessors it does not hold, so the whole
    night is read too (one more Query, in the read stats); the night and the note are the
    file's."""
    import uuid

    import dynamo_server
    from hostile import set_aws_env
    from mcqueue.io import dynamo
    from mcqueue.io.loading import Clock, Source, load_nights

    set_aws_env(monkeypatch, tmp_path)
    with dynamo_server.dynamodb_endpoint() as url:
        table = f"wire_{uuid.uuid4().hex[:8]}"
        dynamo.seed_table(sample_frame(), table, endpoint_url=url)
        calls = []
        real = dynamo.query_jobs

        def spy(date, window=None, **kw):
            calls.append((date, window))
            return real(date, window, **kw)

        monkeypatch.setattr(dynamo, "query_jobs", spy)
        clock = Clock(window="02:00")
        got = load_nights(Source("dynamodb", table=table, endpoint_url=url), [ETL_DATE], clock)
        local = load_nights(Source(), [ETL_DATE], clock)
        assert calls == [(ETL_DATE, "02:00"), (ETL_DATE, None)]
        assert features(got.nights[0]) == features(local.nights[0])
        assert got.outside == local.outside == {ETL_DATE: 5}
        assert got.query_stats[ETL_DATE]["items"] == 7 + 20
        # the items are stored as lists: depends_on an L of S, the deadline a string
        client = dynamo.make_client(endpoint_url=url)
        item = client.get_item(TableName=table, Key={
            "batch_date": {"S": ETL_DATE}, "window_job_id": {"S": "03:00#JOB-20260515-019"}})
        assert item["Item"]["depends_on"] == {"L": [{"S": f"JOB-20260515-0{k}"}
                                                    for k in (15, 16, 17)]}
        assert item["Item"]["deadline"] == {"S": "04:15"}
        # a string set (SS) reads the same
        client.put_item(TableName=table, Item={**item["Item"], "depends_on": {
            "SS": ["JOB-20260515-015", "JOB-20260515-016", "JOB-20260515-017"]}})
        again = load_nights(Source("dynamodb", table=table, endpoint_url=url), [ETL_DATE])
        assert features(again.nights[0]) == features(load_sample(ETL_DATE))
        client.delete_table(TableName=table)


# ------------------------------------------------------------------ --per-job outputs
@pytest.fixture(scope="module")
def per_job_run():
    args = (*ETL, "--per-job", *R)
    doc = run_json(*args)
    table = cli_run("simulate", *args).stdout
    rows = list(csv.DictReader(io.StringIO(cli_run("simulate", *args, "--format",
                                                   "csv").stdout)))
    return doc, table, rows


def test_per_job_json_is_the_engines(per_job_run):
    doc, _, _ = per_job_run
    res = engine.simulate(load_sample(ETL_DATE), 3, replications=400, seed=5, per_job=True)
    assert doc[0]["per_job"] == json.loads(json.dumps(res.per_job))
    assert doc[0]["monte_carlo"]["any_late_probability"] == res.monte_carlo[
        "any_late_probability"]
    assert [r["job_id"] for r in doc[0]["per_job"]] == sorted(load_sample(ETL_DATE).job_id)


def test_per_job_csv_rows_hold_the_json_values(per_job_run):
    """CSV: the scenario's rows (with late_jobs and any_late_probability), then five rows per
    job with job_id set; every value is the JSON's."""
    doc, _, rows = per_job_run
    assert list(rows[0]) == ["scenario", "metric", "deterministic", "mean", "ci_low", "ci_high",
                             "p50", "p90", "p99", "job_id"]
    head = [r["metric"] for r in rows if not r["job_id"]]
    assert head == [*engine.METRICS, "late_jobs", "overflow_probability",
                    "any_late_probability"]
    by = {(r["job_id"], r["metric"]): r for r in rows if r["job_id"]}
    assert len(by) == 5 * 20
    for j in doc[0]["per_job"]:
        lp = by[(j["job_id"], "late_probability")]
        assert (float(lp["mean"]), float(lp["ci_low"]), float(lp["ci_high"])) == (
            j["late_probability"]["estimate"], j["late_probability"]["ci_low"],
            j["late_probability"]["ci_high"])
        fin = by[(j["job_id"], "finish_minute")]
        assert (float(fin["p50"]), float(fin["p90"])) == (j["finish_minute_p50"],
                                                          j["finish_minute_p90"])
        assert float(by[(j["job_id"], "wait_minutes")]["mean"]) == j["mean_wait_minutes"]
        assert float(by[(j["job_id"], "dependency_delay_minutes")]["mean"]) == j[
            "mean_dependency_delay_minutes"]
        assert float(by[(j["job_id"], "criticality")]["mean"]) == j["criticality"]


def test_jobs_table_is_sorted_by_late_probability_and_fits_80_columns(per_job_run):
    doc, table, _ = per_job_run
    lines = table.splitlines()
    assert max(len(ln) for ln in lines) <= 80
    start = lines.index("Jobs by late probability (20 jobs):")
    body = lines[start + 3:start + 3 + 20]
    ids = [ln.split()[0] for ln in body]
    expected = sorted(doc[0]["per_job"], key=lambda r: (-r["late_probability"]["estimate"],
                                                        -r["criticality"], r["job_id"]))
    assert ids == [r["job_id"] for r in expected]
    top = body[0].split()
    assert top[1] == "04:15"  # the dashboard's deadline, its P50/P90 as clock times
    assert all(":" in c for c in top[5:7])
    assert "any job late" in table and "late jobs" in table


def test_to_polars_per_job_is_the_json(per_job_run):
    doc, _, _ = per_job_run
    res = engine.simulate(load_sample(ETL_DATE), 3, replications=400, seed=5, per_job=True)
    frame = res.to_polars("per_job")
    assert frame["job_id"].to_list() == [r["job_id"] for r in doc[0]["per_job"]]
    assert frame["late_probability"].to_list() == [r["late_probability"]["estimate"]
                                                   for r in doc[0]["per_job"]]
    assert frame["criticality"].to_list() == [r["criticality"] for r in doc[0]["per_job"]]
    assert "job_id" in res.to_polars().columns  # the CSV's shape
    from mcqueue.errors import FormatError

    with pytest.raises(FormatError, match="no per-job statistics"):
        engine.simulate(load_sample("2026-05-13"), 3, replications=10).to_polars("per_job")


def test_per_job_on_a_tutorial_night_moves_no_metric():
    """--per-job runs the general loop; on a feature-free night it gives today's metrics."""
    plain = run_json("--batch-date", "2026-05-13", *R)
    with_jobs = run_json("--batch-date", "2026-05-13", *R, "--per-job")
    assert {k: v for k, v in with_jobs[0].items() if k != "per_job"} == plain[0]
    # without a deadline a job is late when it ends after the cutoff: the share of
    # replications in which some job is late is the overflow probability
    assert max(r["late_probability"]["estimate"] for r in with_jobs[0]["per_job"]) <= \
        plain[0]["monte_carlo"]["overflow_probability"]["estimate"]


# ------------------------------------------------------------------ --policy and --capacity
def test_policies_multiply_scenarios_on_the_same_random_nights():
    doc = run_json(*ETL, "--batch-date", "2026-05-13", "--workers", "2", "--workers", "3",
                   "--policy", "fifo", "--policy", "backfill", *R)
    assert [d["scenario"] for d in doc] == [
        f"{d} on {c} workers, {p}" for d in (ETL_DATE, "2026-05-13") for c in (2, 3)
        for p in ("fifo", "backfill")]
    # each scenario equals the same scenario run alone (common random numbers)
    alone = run_json("--batch-date", "2026-05-13", "--workers", "3", "--policy", "backfill",
                     *R)
    assert doc[-1] == alone[0]
    plain = run_json(*ETL, *R)
    assert "policy" not in plain[0] and plain[0]["scenario"] == f"{ETL_DATE} on 3 workers"
    tutorial = run_json(*ETL, "--policy", "tutorial", *R)
    assert {k: v for k, v in tutorial[0].items() if k not in ("policy", "scenario")} == {
        k: v for k, v in plain[0].items() if k != "scenario"}


def test_relative_capacity_follows_the_worker_count():
    doc = run_json(*ETL, "--workers", "3", "--workers", "5", "--capacity", "03:00=-1",
                   "--capacity", "04:00=+2", *R)
    assert [d["capacity"] for d in doc] == [
        [{"minute": 120.0, "workers": 2}, {"minute": 180.0, "workers": 5}],
        [{"minute": 120.0, "workers": 4}, {"minute": 180.0, "workers": 7}]]
    night = load_sample(ETL_DATE)
    direct = engine.simulate(night, 3, replications=400, seed=5,
                             capacity=((120.0, 2), (180.0, 5)))
    assert doc[0]["monte_carlo"] == json.loads(json.dumps(direct.to_dict()["monte_carlo"]))
    assert "worker_minutes_above_capacity" in doc[0]["deterministic"]


def test_precision_targeted_run_keeps_policy_capacity_and_per_job():
    """A precision-targeted run reports exactly what a fixed run of the replications it used
    reports (replication i is replication i of the seed; per-job totals extended batch by
    batch)."""
    doc = run_json(*ETL, "--policy", "backfill", "--capacity", "03:00=-1", "--per-job",
                   "--target-halfwidth-overflow", "0.02", "--seed", "5")
    used = doc[0]["precision"]["replications_used"]
    fixed = run_json(*ETL, "--policy", "backfill", "--capacity", "03:00=-1", "--per-job",
                     "--replications", str(used), "--seed", "5")
    assert {k: v for k, v in doc[0].items() if k != "precision"} == fixed[0]


# ------------------------------------------------------------------ score and plan
def test_score_any_late_is_the_overflow_on_nights_without_deadlines():
    rows = json.loads(cli_run("score", "--workers", "3", *R, "--format", "json").stdout)
    for r in rows:
        if r["batch_date"] != ETL_DATE:
            assert (r["any_late_probability"], r["any_late_ci_low"], r["any_late_ci_high"]) \
                == (r["overflow_probability"], r["overflow_ci_low"], r["overflow_ci_high"])
    (etl,) = [r for r in rows if r["batch_date"] == ETL_DATE]
    res = engine.simulate(load_sample(ETL_DATE), 3, replications=400, seed=5)
    al = res.monte_carlo["any_late_probability"]
    assert (etl["any_late_probability"], etl["any_late_ci_low"], etl["any_late_ci_high"]) == (
        al["estimate"], al["ci_low"], al["ci_high"])
    assert etl["any_late_probability"] > etl["overflow_probability"]


def test_score_with_policies_equals_simulate():
    rows = json.loads(cli_run("score", "--workers", "2,3", "--policy", "priority", "--policy",
                              "fifo", *R, "--format", "json").stdout)
    assert len(rows) == 5 * 2 * 2
    doc = run_json(*ETL, "--workers", "2", "--workers", "3", "--policy", "priority",
                   "--policy", "fifo", *R)
    for d in doc:
        (row,) = [r for r in rows if r["batch_date"] == ETL_DATE and
                  r["workers"] == d["workers"] and r["policy"] == d["policy"]]
        op = d["monte_carlo"]["overflow_probability"]
        assert (row["overflow_probability"], row["overflow_ci_high"]) == (op["estimate"],
                                                                          op["ci_high"])
        assert row["drained_p90_minute"] == d["monte_carlo"]["queue_drained_minute"]["p90"]


@pytest.fixture(scope="module")
def policy_plan():
    night = load_sample(ETL_DATE)
    sched = Scheduling(("tutorial", "backfill", "fifo"))
    settings = planning.Settings(replications=600, seed=11)
    return night, settings, planning.plan(night, settings, 2, 5, scheduling=sched)


def test_plan_policy_differences_are_paired_on_the_same_replications(policy_plan):
    """Each policy step's paired difference equals the difference of the two policies'
    means (the mean of the per-replication differences is the difference of the means, up to
    rounding: 1e-12 relative to the larger mean) and the difference recomputed from the
    engine's own samples of each policy run on its own."""
    night, settings, p = policy_plan
    row = {(r.policy, r.workers): r for r in p.rows}
    batch = engine.prepare([night], settings.perturbation(), settings.seed)
    assert len(p.policy_steps) == 4 * 2
    for st in p.policy_steps:
        a, b = row[(st.from_policy, st.workers)], row[(st.to_policy, st.workers)]
        assert math.isclose(st.overflow_diff, b.overflow_probability - a.overflow_probability,
                            rel_tol=0, abs_tol=1e-12)
        scale = max(abs(a.p95_wait_mean), abs(b.p95_wait_mean))
        assert math.isclose(st.p95_wait_diff, b.p95_wait_mean - a.p95_wait_mean, rel_tol=0,
                            abs_tol=1e-12 * scale)
        own = {}
        for pol in (st.from_policy, st.to_policy):
            own[pol] = engine.replicate(batch, [0], [st.workers], settings.replications,
                                        policy=pol)[0]
        i_p95 = engine.METRICS.index("p95_wait_minutes")
        i_dr = engine.METRICS.index("queue_drained_minute")
        d95 = own[st.to_policy][i_p95] - own[st.from_policy][i_p95]
        dov = ((own[st.to_policy][i_dr] > night.horizon_minutes).astype(float)
               - (own[st.from_policy][i_dr] > night.horizon_minutes).astype(float))
        assert st.p95_wait_diff == pytest.approx(d95.mean(), rel=1e-12, abs=1e-12)
        assert st.overflow_diff == pytest.approx(dov.mean(), rel=1e-12, abs=1e-12)
        # paired: the interval is the t interval of those differences
        half = (st.p95_wait_paired_ci_high - st.p95_wait_paired_ci_low) / 2
        se = d95.std(ddof=1) / math.sqrt(d95.size)
        assert half == pytest.approx(1.9639 * se, rel=1e-3)  # t(0.975, 599) = 1.96394


def test_plan_recommends_the_fewest_workers_then_the_best_policy(policy_plan):
    """The documented rule, recomputed from the rows: the fewest workers with a row meeting
    the target; among the policies meeting it there, the smallest overflow upper bound, then
    the smallest p95-wait upper bound, then the order given."""
    _, _, p = policy_plan
    good = [r for r in p.rows if r.meets_target]
    assert good
    fewest = min(r.workers for r in good)
    order = ["tutorial", "backfill", "fifo"]
    best = sorted((r for r in good if r.workers == fewest),
                  key=lambda r: (r.overflow_ci_high, r.p95_wait_ci_high, order.index(r.policy)))
    assert (p.recommended, p.recommended_policy) == (fewest, best[0].policy)
    assert p.reason.startswith(f"{fewest} workers with policy {best[0].policy} is the fewest")
    d = p.to_dict()
    assert d["policies"] == order and d["recommended_policy"] == best[0].policy
    assert [s["policy"] for s in d["steps"]] == [pol for pol in order for _ in range(3)]


def test_plan_table_and_csv_with_policies(invoke):
    res = invoke("plan", *ETL, "--max-workers", "4", "--policy", "tutorial", "--policy",
                 "backfill", *R)
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    assert "Policies at equal worker counts (paired differences from tutorial" in out
    assert "tutorial -> backfill" in out
    csv_out = invoke("plan", *ETL, "--max-workers", "4", "--policy", "tutorial", "--policy",
                     "backfill", *R, "--format", "csv").stdout
    df = pl.read_csv(io.StringIO(csv_out))
    assert df["policy"].to_list() == ["tutorial", "backfill"] * 4
    assert df.filter(pl.col("policy") == "tutorial")["vs_policy"].null_count() == 4
    back = df.filter(pl.col("policy") == "backfill")
    assert back["vs_policy"].to_list() == ["tutorial"] * 4
    assert int(df["recommended"].sum()) == 1
    assert "any_late_probability" in df.columns


def test_plan_without_policy_is_todays_plan():
    """No --policy: the same rows and keys as before (the goldens hold the text)."""
    night = load_sample("2026-05-13")
    p = planning.plan(night, planning.Settings(replications=300), 1, 4)
    d = p.to_dict()
    assert "policies" not in d and "policy_steps" not in d and "recommended_policy" not in d
    assert all("policy" not in r and "infeasible" not in r for r in d["sweep"])
    assert np.all([r.policy is None for r in p.rows])


# ------------------------------------------------------------------ whatif's baseline
def test_whatif_baseline_takes_the_scheduling_options(invoke, tmp_path):
    """`mcqueue whatif --policy backfill --capacity 03:00=-1` gives the baseline the policy and
    the pool the library's run_whatif takes (capacity resolved on --workers), and equals that
    call; a second --policy is a usage error (a scenario changes the policy instead)."""
    from mcqueue.analysis.whatif import run_whatif
    from mcqueue.analysis.whatif_file import read_scenarios
    from mcqueue.io.loading import Source

    scen = tmp_path / "s.toml"
    scen.write_text('[[scenario]]\nname = "fifo"\nchanges = [{ policy = "fifo" }]\n')
    args = ("whatif", "--batch-date", ETL_DATE, "--scenarios", scen, "--replications", "300",
            "--policy", "backfill", "--capacity", "03:00=-1", "--format", "json")
    res = invoke(*args)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    b = doc["baseline"]
    assert (b["policy"], b["backfill_depth"], b["capacity"]) == (
        "backfill", 64, [{"minute": 120.0, "workers": 2}])
    lib = run_whatif(Source(), read_scenarios(str(scen)), ETL_DATE, 3,
                     settings=planning.Settings(replications=300),
                     policy="backfill", capacity=((120.0, 2),))
    assert json.loads(json.dumps(lib.to_dict())) == doc
    bad = invoke(*args, "--policy", "fifo")
    assert bad.exit_code == 2 and "whatif takes one policy for the baseline" in bad.stderr
