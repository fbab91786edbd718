"""``whatif`` against independent expectations.

Each change type is checked against a night built another way (the records edited and loaded
again, ``Night.from_arrays`` with the column, or the plain engine call with the setting) and
simulated by ``engine.simulate``: the scenario's per-replication p95 waits and drain minutes
must equal that simulation's bit for bit (same seed: the draws are keyed by job_id, so both
replay the same random nights). Then pairing (a scenario without changes is the baseline bit
for bit; paired intervals are narrower than unpaired ones on the sample), the effect order, and
the statistics against their definitions on the kept vectors.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mcqueue.analysis.planning import Settings, paired_interval, unpaired_interval
from mcqueue.analysis.whatif import run_whatif, whatif
from mcqueue.analysis.whatif_file import parse_scenarios
from mcqueue.engine import simulate as engine
from mcqueue.engine.night import Night
from mcqueue.io.loading import Clock, Source
from mcqueue.io.sample import sample_frame
from mcqueue.io.schema import night_from_frame, validate_jobs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "whatif.toml"
R = 2000
SEED = 11
SETTINGS = Settings(replications=R, seed=SEED)
DATE = "2026-05-13"
J = "JOB-20260513-"


@pytest.fixture(scope="module")
def frame():
    return validate_jobs(sample_frame())


@pytest.fixture(scope="module")
def base(frame):
    return night_from_frame(frame, DATE)


def run(base, toml: str, workers: int = 3, **kw):
    return whatif(base, parse_scenarios(toml), workers, SETTINGS, **kw)


def only(result):
    (row,) = result.scenarios
    return row


def expected(night: Night, workers: int = 3, **kw):
    """The plain engine on ``night``: per-replication p95 waits, drain minutes, late jobs."""
    r = engine.simulate(night, workers, replications=R, seed=SEED, **kw)
    return r


def assert_same_nights(row, r, night: Night | None = None):
    """The scenario replayed exactly what the independent simulation replayed."""
    night = night or r.night
    assert np.array_equal(row.outcome.p95, r.samples[engine.METRICS.index("p95_wait_minutes")])
    drain = r.samples[engine.METRICS.index("queue_drained_minute")]
    assert np.array_equal(row.outcome.drain, drain)
    assert np.array_equal(row.outcome.overflow, drain > night.horizon_minutes)


def edited(frame, job: str | None = None, **columns):
    """The sample's records with ``columns`` changed (for ``job``, or every record)."""
    mask = pl.col("job_id") == job if job is not None else pl.lit(True)
    return frame.with_columns(*(pl.when(mask).then(v).otherwise(pl.col(k)).alias(k)
                                for k, v in columns.items()))


# ---------------------------------------------------------------- each change type
def test_runtime_multiplier_on_one_job_is_the_night_with_that_estimate(frame, base):
    row = only(run(base, f'[[scenario]]\nname = "a"\nchanges = [{{ runtime = 1.5, job = '
                         f'"{J}003" }}]\n'))
    night = night_from_frame(edited(frame, f"{J}003", estimated_runtime_minutes=pl.lit(75.0)),
                             DATE)
    assert_same_nights(row, expected(night))


def test_runtime_multiplier_on_a_class_and_on_every_job(frame, base):
    row = only(run(base, '[[scenario]]\nname = "a"\nchanges = [{ runtime = 1.2, class = '
                         '"etl" }]\n'))
    etl = edited(frame, None, estimated_runtime_minutes=pl.when(
        pl.col("workload_class") == "etl").then(pl.col("estimated_runtime_minutes") * 1.2)
        .otherwise(pl.col("estimated_runtime_minutes")))
    assert_same_nights(row, expected(night_from_frame(etl, DATE)))
    row = only(run(base, '[[scenario]]\nname = "a"\nchanges = [{ runtime = 0.8 }]\n'))
    every = edited(frame, None, estimated_runtime_minutes=pl.col("estimated_runtime_minutes")
                   * 0.8)
    assert_same_nights(row, expected(night_from_frame(every, DATE)))


def test_delay_of_a_window_and_of_a_job_is_the_night_with_those_arrivals(frame, base):
    row = only(run(base, '[[scenario]]\nname = "a"\nchanges = [{ delay = 30, window = '
                         '"02:00" }, { delay = 7.5, job = "JOB-20260513-009" }]\n'))
    # the records with explicit arrivals: 02:00 is minute 60 of a 01:00 batch, 03:00 minute 120
    f = frame.with_columns(
        pl.when(pl.col("requested_window") == "02:00").then(90.0)
        .when(pl.col("job_id") == f"{J}009").then(127.5)
        .otherwise(None).alias("arrival_minute"))
    assert_same_nights(row, expected(night_from_frame(f, DATE)))


def test_skip_is_the_night_without_that_job(frame, base):
    row = only(run(base, f'[[scenario]]\nname = "a"\nchanges = [{{ skip = "{J}007" }}]\n'))
    night = night_from_frame(frame.filter(pl.col("job_id") != f"{J}007"), DATE)
    assert night.n_jobs == 9
    assert_same_nights(row, expected(night))


def test_add_is_the_night_with_that_record(frame, base):
    record = {"batch_date": DATE, "job_id": f"{J}011", "requested_window": "02:30",
              "workload_class": "refresh", "estimated_runtime_minutes": "30", "priority": "2",
              "requires_exclusive_lock": "false"}
    row = only(run(base, f'[[scenario]]\nname = "a"\n[[scenario.changes]]\nadd = {{ job_id = '
                         f'"{J}011", requested_window = "02:30", workload_class = "refresh", '
                         f'estimated_runtime_minutes = 30, priority = 2, '
                         f'requires_exclusive_lock = false }}\n'))
    raw = pl.concat([sample_frame(), pl.DataFrame([record])], how="diagonal")
    night = night_from_frame(validate_jobs(raw), DATE)
    assert night.n_jobs == 11
    assert_same_nights(row, expected(night))
    # the added job draws by its own job_id: its runtime and arrival are not a copy of another
    # job's, so the added job changes the nights of the others only through the queue
    assert not np.array_equal(row.outcome.drain, run(base, '[[scenario]]\nname = "b"\n'
                                                           'changes = []\n').scenarios[0]
                              .outcome.drain)


def _columns(night: Night) -> dict:
    return dict(arrival_minute=night.arrival_minute, runtime_minutes=night.runtime_minutes,
                priority=night.priority.copy(), exclusive=night.exclusive,
                job_id=list(night.job_id), workload_class=list(night.workload_class),
                batch_date=night.batch_date)


def test_priority_slots_deadline_and_dependencies_are_the_night_with_those_columns(base):
    row = only(run(base, f'[[scenario]]\nname = "a"\nchanges = [\n'
                         f'  {{ priority = 9, job = "{J}010" }},\n'
                         f'  {{ slots = 2, job = "{J}008" }},\n'
                         f'  {{ deadline = "03:30", job = "{J}009" }},\n'
                         f'  {{ depends_on = ["{J}001", "{J}002"], job = "{J}005" }},\n]\n'))
    cols = _columns(base)
    ids = cols["job_id"]
    cols["priority"][ids.index(f"{J}010")] = 9
    slots = [2 if j == f"{J}008" else 1 for j in ids]
    deadline = ["03:30" if j == f"{J}009" else None for j in ids]
    deps = [[f"{J}001", f"{J}002"] if j == f"{J}005" else [] for j in ids]
    night = Night.from_arrays(cols.pop("arrival_minute"), cols.pop("runtime_minutes"),
                              **cols, slots=slots, deadline=deadline, depends_on=deps)
    r = expected(night)
    assert_same_nights(row, r)
    assert np.array_equal(row.outcome.late, r.late_jobs > 0)
    assert row.stats["any_late_probability"]["estimate"] == r.monte_carlo[
        "any_late_probability"]["estimate"]


def test_workers_capacity_cutoff_and_policy_are_the_plain_simulation_with_that_setting(
        frame, base):
    res = run(base, '[[scenario]]\nname = "w"\nchanges = [{ workers = 5 }]\n'
                    '[[scenario]]\nname = "c"\nchanges = [{ capacity = ["03:00=-1", '
                    '"04:00=4"] }]\n'
                    '[[scenario]]\nname = "e"\nchanges = [{ cutoff = "04:30" }]\n'
                    '[[scenario]]\nname = "p"\nchanges = [{ policy = "backfill", '
                    'backfill_depth = 2 }]\n'
                    '[[scenario]]\nname = "f"\nchanges = [{ policy = "fifo" }, '
                    '{ workers = 2 }]\n')
    by = {r.name: r for r in res.scenarios}
    assert_same_nights(by["w"], expected(base, 5))
    assert_same_nights(by["c"], expected(base, 3, capacity=((120.0, 2), (180.0, 4))))
    cut = night_from_frame(frame, DATE, batch_end="04:30")
    assert cut.horizon_minutes == 210
    assert_same_nights(by["e"], expected(cut), cut)
    assert_same_nights(by["p"], expected(base, 3, policy="backfill", backfill_depth=2))
    assert_same_nights(by["f"], expected(base, 2, policy="fifo"))


def test_a_cutoff_across_midnight_reads_the_night_again(tmp_path):
    """A job whose window is before the batch start waits at the start while the batch does
    not cross midnight, and arrives the next day once the cutoff makes it cross: the night is
    read again from the records with the new clock (exactly ``--batch-end``'s night)."""
    f = tmp_path / "jobs.csv"
    f.write_text("batch_date,job_id,requested_window,workload_class,estimated_runtime_minutes,"
                 "priority,requires_exclusive_lock\n"
                 "2026-06-01,A,22:00,etl,60,1,false\n2026-06-01,B,00:30,etl,45,1,false\n"
                 "2026-06-01,C,23:00,refresh,30,2,false\n", encoding="utf-8")
    toml = tmp_path / "s.toml"
    toml.write_text('[[scenario]]\nname = "later"\nchanges = [{ cutoff = "01:30" }]\n',
                    encoding="utf-8")
    clock = Clock(batch_start="22:00", batch_end="23:30")
    res = run_whatif(Source(file=str(f)), str(toml), None, 2, clock, SETTINGS)
    row = only(res)
    assert res.night.arrival_minute.tolist() == [0.0, 0.0, 60.0]  # B waits at the start
    crossing = night_from_frame(validate_jobs(pl.read_csv(f, infer_schema=False)),
                                "2026-06-01", None, "22:00", "01:30")
    assert crossing.arrival_minute.tolist() == [0.0, 150.0, 60.0]  # B: 00:30 the next day
    assert_same_nights(row, expected(crossing, 2), crossing)
    # without the records (the library call on a Night) such a cutoff is refused
    with pytest.raises(Exception, match="crosses midnight"):
        whatif(res.night, parse_scenarios(toml.read_text()), 2, SETTINGS)


def test_skip_of_a_predecessor_releases_its_successors(base):
    """Skipping a job others depend on: they no longer wait for it (as a predecessor in
    another window: finished at the batch start)."""
    row = only(run(base, f'[[scenario]]\nname = "a"\nchanges = [\n'
                         f'  {{ depends_on = ["{J}003"], job = "{J}001" }},\n'
                         f'  {{ skip = "{J}003" }},\n]\n'))
    assert "1 job no longer wait" in row.built.changes[1]["description"]
    cols = _columns(base)
    keep = [i for i, j in enumerate(cols["job_id"]) if j != f"{J}003"]
    night = Night.from_arrays(cols["arrival_minute"][keep], cols["runtime_minutes"][keep],
                              cols["priority"][keep], cols["exclusive"][keep],
                              [cols["job_id"][i] for i in keep],
                              [cols["workload_class"][i] for i in keep], DATE,
                              depends_on=[[] for _ in keep])
    assert_same_nights(row, expected(night))


def test_an_added_job_may_carry_and_receive_dependencies(base):
    row = only(run(base, f'[[scenario]]\nname = "a"\n[[scenario.changes]]\n'
                         f'add = {{ job_id = "X", arrival_minute = 10, workload_class = "etl", '
                         f'estimated_runtime_minutes = 20, priority = 5, requires_exclusive_lock'
                         f' = false, depends_on = ["{J}002"], deadline = "02:00", slots = 2 }}\n'
                         f'[[scenario.changes]]\ndepends_on = "X; {J}001"\njob = "{J}004"\n'))
    cols = _columns(base)
    n = len(cols["job_id"])
    deps = [["X", f"{J}001"] if j == f"{J}004" else [] for j in cols["job_id"]] + [[f"{J}002"]]
    night = Night.from_arrays(
        np.append(cols["arrival_minute"], 10.0), np.append(cols["runtime_minutes"], 20.0),
        np.append(cols["priority"], 5), np.append(cols["exclusive"], False),
        cols["job_id"] + ["X"], cols["workload_class"] + ["etl"], DATE,
        depends_on=deps, deadline=[None] * n + ["02:00"], slots=[1] * n + [2])
    r = expected(night)
    assert_same_nights(row, r)
    assert np.array_equal(row.outcome.late, r.late_jobs > 0)


# ---------------------------------------------------------------- pairing
def test_a_scenario_without_changes_is_the_baseline_bit_for_bit(base):
    res = run(base, '[[scenario]]\nname = "same"\nchanges = []\n'
                    '[[scenario]]\nname = "also same"\n')
    for row in res.scenarios:
        for attr in ("overflow", "late", "p95", "drain"):
            assert np.array_equal(getattr(row.outcome, attr),
                                  getattr(res.baseline.outcome, attr))
        d, b = row.to_dict(), res.baseline.to_dict()
        for k in ("overflow_probability", "p95_wait_minutes", "queue_drained_minute"):
            assert d[k] == b[k]  # values, intervals, and differences exactly 0
            assert d[k]["difference"] == {"estimate": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    # and the baseline is the plain simulation of the night
    assert_same_nights(res.baseline, expected(base))


def test_the_baseline_of_a_run_with_deadlines_is_the_plain_simulation(base):
    """A scenario that adds deadlines makes every row report any-late; the baseline (no
    deadline) reports the overflow indicator, its late_jobs being its overflow jobs."""
    res = run(base, f'[[scenario]]\nname = "d"\nchanges = [{{ deadline = "02:00", job = '
                    f'"{J}001" }}]\n')
    assert res.any_late
    b = res.baseline
    assert np.array_equal(b.outcome.late, b.outcome.overflow)
    assert b.stats["any_late_probability"]["estimate"] == b.stats["overflow_probability"][
        "estimate"]


def test_paired_intervals_are_narrower_than_unpaired_ones_on_the_sample(base):
    res = run(base, '[[scenario]]\nname = "a"\nchanges = [{ runtime = 1.3, class = '
                    '"backfill" }]\n')
    row, b = only(res), res.baseline
    for attr in ("p95", "overflow"):
        x, y = getattr(b.outcome, attr).astype(float), getattr(row.outcome, attr).astype(float)
        p, u = paired_interval(x, y, 0.95), unpaired_interval(x, y, 0.95)
        assert p["estimate"] == pytest.approx(u["estimate"], abs=1e-12)
        assert p["ci_high"] - p["ci_low"] < u["ci_high"] - u["ci_low"], attr
    # the p95 wait: paired at least 3x narrower on this night (measured about 10x)
    x, y = b.outcome.p95, row.outcome.p95
    p, u = paired_interval(x, y, 0.95), unpaired_interval(x, y, 0.95)
    assert 3 * (p["ci_high"] - p["ci_low"]) < u["ci_high"] - u["ci_low"]


def test_statistics_follow_their_definitions_on_the_kept_vectors(base):
    res = run(base, '[[scenario]]\nname = "a"\nchanges = [{ runtime = 1.5, class = '
                    '"backfill" }]\n')
    row, b = only(res), res.baseline
    st = row.stats
    o = row.outcome
    assert st["overflow_probability"]["estimate"] == np.count_nonzero(o.overflow) / R
    d = o.overflow.astype(float) - b.outcome.overflow.astype(float)
    assert st["overflow_probability"]["difference"]["estimate"] == pytest.approx(d.mean(),
                                                                                 abs=1e-15)
    assert st["p95_wait_minutes"]["mean"] == pytest.approx(o.p95.mean(), rel=1e-12)
    k = math.ceil(0.9 * R) - 1
    p90 = float(np.sort(o.drain)[k])
    assert st["queue_drained_minute"]["p90"] == p90
    assert st["queue_drained_minute"]["difference"]["estimate"] == p90 - float(
        np.sort(b.outcome.drain)[k])


# ---------------------------------------------------------------- order and reporting
def test_scenarios_are_sorted_by_effect_ties_in_file_order(base):
    res = run(base, f'[[scenario]]\nname = "none 1"\n'
                    f'[[scenario]]\nname = "skip"\nchanges = [{{ skip = "{J}007" }}]\n'
                    f'[[scenario]]\nname = "longer"\nchanges = [{{ runtime = 1.5, class = '
                    f'"backfill" }}]\n'
                    f'[[scenario]]\nname = "none 2"\n'
                    f'[[scenario]]\nname = "backfill"\nchanges = [{{ policy = "backfill" }}]\n')
    by = {r.name: r.stats for r in res.scenarios}
    over = {k: v["overflow_probability"]["difference"]["estimate"] for k, v in by.items()}
    p95 = {k: v["p95_wait_minutes"]["difference"]["estimate"] for k, v in by.items()}
    # the facts the order rests on (measured on these random nights)
    assert over["longer"] > 0 > over["skip"]
    assert over["backfill"] == over["none 1"] == over["none 2"] == 0
    assert p95["backfill"] < 0 == p95["none 1"]
    assert [r.name for r in res.scenarios] == ["longer", "none 1", "none 2", "backfill",
                                               "skip"]
    assert [r.built.position for r in res.scenarios] == [3, 1, 4, 5, 2]


def test_the_example_file_runs_on_the_built_in_sample():
    res = run_whatif(Source(), str(EXAMPLE), DATE, 3, Clock(), SETTINGS)
    names = [r.name for r in res.scenarios]
    assert len(names) == 8 and res.any_late
    by = {r.name: r for r in res.scenarios}
    # directions any reader expects
    assert by["skip the reindex"].stats["p95_wait_minutes"]["difference"]["ci_high"] < 0
    assert by["the backfill runs 50% longer"].stats["overflow_probability"]["difference"][
        "ci_low"] > 0
    assert by["the cutoff moves to 04:30"].stats["overflow_probability"]["difference"][
        "estimate"] >= 0
    cap = by["a backup takes a worker from 03:00"].built
    assert cap.capacity == ((120.0, 2),)


def test_every_scenario_is_built_before_anything_is_simulated(base, monkeypatch):
    calls = []
    monkeypatch.setattr(engine, "simulate_scenarios", lambda *a, **k: calls.append(1))
    with pytest.raises(Exception, match="scenario 'bad'"):
        run(base, '[[scenario]]\nname = "fine"\nchanges = [{ workers = 4 }]\n'
                  '[[scenario]]\nname = "bad"\nchanges = [{ skip = "nope" }]\n')
    assert calls == []


def test_the_readme_example_is_the_real_output():
    """The what-if output quoted in README.md is what the command prints (up to the '...'
    that ends the quote)."""
    from conftest import cli_run

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    cmd = "$ mcqueue whatif --batch-date 2026-05-13 --scenarios docs/examples/whatif.toml\n"
    quoted = readme.split(cmd, 1)[1].split("\n...\n", 1)[0].splitlines()
    out = cli_run("whatif", "--batch-date", DATE, "--scenarios", EXAMPLE).stdout.splitlines()
    assert len(quoted) > 20
    assert out[:len(quoted)] == quoted


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    from conftest import cli_run

    path = tmp_path_factory.mktemp("model") / "model.parquet"
    cli_run("calibrate", "--output", path)
    return str(path)


def test_with_a_model_the_changes_apply_to_the_fitted_runtimes(frame, model_file):
    """--model: the baseline takes the fitted means and cvs; a runtime multiplier scales the
    fitted mean; an added job is resolved by the model like any job (here by its job_name,
    a job of the shipped history)."""
    import dataclasses

    from mcqueue.analysis.runtime_model import apply_model, load_options

    options = load_options(model_file)
    toml = (f'[[scenario]]\nname = "a"\nchanges = [{{ runtime = 2, job = "{J}002" }}]\n'
            f'[[scenario]]\nname = "b"\n[[scenario.changes]]\nadd = {{ job_id = "{J}011", '
            f'job_name = "refresh_0200", requested_window = "02:30", workload_class = '
            f'"refresh", estimated_runtime_minutes = 5, priority = 2, '
            f'requires_exclusive_lock = false }}\n')
    res = run_whatif(Source(), parse_scenarios(toml), DATE, 3, Clock(), SETTINGS,
                     runtime=options)
    assert res.to_dict()["runtime_model"]["levels"]["job"] == 10
    (fitted,) = apply_model([night_from_frame(frame, DATE)], options).nights
    assert_same_nights(res.baseline, expected(fitted))
    by = {r.name: r for r in res.scenarios}
    k = fitted.job_id.index(f"{J}002")
    rt = fitted.runtime_minutes.copy()
    rt[k] *= 2
    assert_same_nights(by["a"], expected(dataclasses.replace(fitted, runtime_minutes=rt)))
    record = {"batch_date": DATE, "job_id": f"{J}011", "job_name": "refresh_0200",
              "requested_window": "02:30", "workload_class": "refresh",
              "estimated_runtime_minutes": "5", "priority": "2",
              "requires_exclusive_lock": "false"}
    raw = pl.concat([sample_frame(), pl.DataFrame([record])], how="diagonal")
    (with_added,) = apply_model([night_from_frame(validate_jobs(raw), DATE)], options).nights
    j = with_added.job_id.index(f"{J}011")
    assert with_added.runtime_minutes[j] != 5  # the model's mean, not the record's estimate
    assert_same_nights(by["b"], expected(with_added))


def test_csv_and_html_carry_the_json_numbers(tmp_path):
    import csv
    import io
    import json

    from conftest import cli_run

    f = tmp_path / "s.toml"
    f.write_text('[[scenario]]\nname = "<b>more & faster</b>"\nchanges = [{ workers = 4 }]\n'
                 f'[[scenario]]\nname = "late"\nchanges = [{{ deadline = "03:00", job = '
                 f'"{J}005" }}]\n', encoding="utf-8")
    args = ("whatif", "--batch-date", DATE, "--scenarios", f, "--replications", "500")
    doc = json.loads(cli_run(*args, "--format", "json").stdout)
    rows = list(csv.DictReader(io.StringIO(cli_run(*args, "--format", "csv").stdout)))
    assert [r["scenario"] for r in rows] == ["baseline"] + [s["scenario"]
                                                            for s in doc["scenarios"]]
    for r, d in zip(rows, [doc["baseline"], *doc["scenarios"]]):
        assert float(r["overflow_diff_ci_high"]) == d["overflow_probability"]["difference"][
            "ci_high"]
        assert float(r["any_late_probability"]) == d["any_late_probability"]["estimate"]
        assert float(r["p95_wait_diff"]) == d["p95_wait_minutes"]["difference"]["estimate"]
        assert float(r["drained_p90_minute"]) == d["queue_drained_minute"]["p90"]
        assert float(r["drained_p90_diff_ci_low"]) == d["queue_drained_minute"]["difference"][
            "ci_low"]
        assert int(r["workers"]) == d["workers"]
    page = tmp_path / "w.html"
    cli_run(*args, "--format", "html", "--output", page)
    text = page.read_text(encoding="utf-8")
    assert "&lt;b&gt;more &amp; faster&lt;/b&gt;" in text and "<b>more" not in text
    assert "<script" not in text and "deadline of JOB-20260513-005 none -&gt; 03:00" in text


def test_no_changes_rebuild_a_night_with_every_optional_column_exactly():
    """Dependencies, deadlines, slots, locks, per-job cvs and job names survive the rebuild
    column for column, and the scenario replays the baseline bit for bit."""
    import dataclasses

    ids = ["e1", "e2", "t1", "t2", "l1", "ix"]
    night = Night.from_arrays([0, 5, 10, 10, 30, 60], [20, 25, 15, 30, 40, 10],
                              [2, 2, 1, 3, 1, 5], [False, False, False, False, False, True],
                              ids, ["etl", "etl", "transform", "transform", "load", "index"],
                              DATE, depends_on=[None, None, "e1", ["e1", "e2"], "t1;t2", "l1"],
                              deadline=[None, "02:00", None, "03:30", 200.0, None],
                              slots=[1, 2, 1, 1, 2, 1], locks=[None, "a", "a;b", None, "b", None])
    night = dataclasses.replace(night, runtime_cv=np.array([0.1, np.nan, 0.5, np.nan, 0.2, 0.0]),
                                job_name=tuple(f"name_{j}" for j in night.job_id))
    res = whatif(night, parse_scenarios('[[scenario]]\nname = "same"\n'), 3, SETTINGS)
    row = only(res)
    rebuilt = row.built.night
    assert rebuilt is not night
    for col in ("job_id", "workload_class", "job_name", "lock_names", "batch_start",
                "batch_end", "requested_window"):
        assert getattr(rebuilt, col) == getattr(night, col), col
    for col in ("arrival_minute", "runtime_minutes", "priority", "exclusive", "pred_ptr",
                "pred_idx", "slots", "lock_ptr", "lock_idx"):
        assert np.array_equal(getattr(rebuilt, col), getattr(night, col)), col
    for col in ("deadline_minute", "runtime_cv"):
        assert np.array_equal(getattr(rebuilt, col), getattr(night, col), equal_nan=True), col
    for attr in ("overflow", "late", "p95", "drain"):
        assert np.array_equal(getattr(row.outcome, attr), getattr(res.baseline.outcome, attr))
    assert res.any_late


def test_the_baseline_scheduling_is_kept_unless_a_scenario_changes_it(base):
    """A baseline on backfill with a capacity step: a scenario without changes is that
    simulation, one that changes the policy keeps the capacity, one that sets a capacity
    keeps the policy."""
    cap = ((90.0, 2),)
    res = whatif(base, parse_scenarios(
        '[[scenario]]\nname = "same"\n'
        '[[scenario]]\nname = "fifo"\nchanges = [{ policy = "fifo" }]\n'
        '[[scenario]]\nname = "cap"\nchanges = [{ capacity = "02:00=+1" }]\n'), 3, SETTINGS,
        policy="backfill", capacity=cap, backfill_depth=4)
    assert_same_nights(res.baseline, expected(base, 3, policy="backfill", capacity=cap,
                                              backfill_depth=4))
    by = {r.name: r for r in res.scenarios}
    assert_same_nights(by["same"], expected(base, 3, policy="backfill", capacity=cap,
                                            backfill_depth=4))
    assert_same_nights(by["fifo"], expected(base, 3, policy="fifo", capacity=cap))
    assert by["fifo"].built.changes[0]["description"] == "policy backfill -> fifo"
    assert_same_nights(by["cap"], expected(base, 3, policy="backfill", capacity=((60.0, 4),),
                                           backfill_depth=4))
    assert res.baseline.to_dict()["capacity"] == [{"minute": 90.0, "workers": 2}]
