"""mcqueue.analysis.planning: score many nights, plan worker counts, paired intervals, drain bounds."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import polars as pl
import pytest

from mcqueue.engine import simulate as engine
from mcqueue.analysis import planning as planning
from mcqueue.errors import DataError, ScenarioError
from mcqueue.io.sample import SAMPLE_DATES, load_sample, sample_frame
from mcqueue.engine.synthetic import synthetic_night
from mcqueue.io.schema import Night, nights_from_frame, validate_jobs
from mcqueue.report import render

R = 2000
SETTINGS = planning.Settings(replications=R, seed=7)


@pytest.fixture(scope="module")
def jobs():
    return validate_jobs(sample_frame())


@pytest.fixture(scope="module")
def sample_nights(jobs):
    return nights_from_frame(jobs)


def same_night(a: Night, b: Night) -> None:
    for f in ("batch_date", "job_id", "workload_class", "batch_start", "batch_end", "window",
              "requested_window"):
        assert getattr(a, f) == getattr(b, f), f
    for f in ("arrival_minute", "runtime_minutes", "priority", "exclusive"):
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and np.array_equal(x, y), f


# ---------------------------------------------------------------- nights
def expected_night(validated, date, window=None, start="01:00", end="05:00"):
    """The night a validated frame holds for ``date``, record by record in plain Python from
    the documented rules (docs/model.md, "The clock"): sorted by job_id; arrival_minute when
    given, else window - start, where a window before the start is the next day (crossing
    batch) or already waiting (minute 0)."""
    def minutes(hhmm):
        return int(hhmm[:2]) * 60 + int(hhmm[3:])

    s, e = minutes(start), minutes(end)
    recs = sorted((r for r in validated.to_dicts() if r["batch_date"] == date
                   and (window is None or r["requested_window"] == window)),
                  key=lambda r: r["job_id"])
    arrival = []
    for r in recs:
        if r["arrival_minute"] is not None:
            arrival.append(float(r["arrival_minute"]))
            continue
        w = minutes(r["requested_window"])
        arrival.append(float(w - s) if w >= s else (float(1440 - s + w) if e <= s else 0.0))
    return Night(batch_date=date, job_id=tuple(r["job_id"] for r in recs),
                 workload_class=tuple(r["workload_class"] for r in recs),
                 arrival_minute=np.array(arrival, np.float64),
                 runtime_minutes=np.array([r["estimated_runtime_minutes"] for r in recs],
                                          np.float64),
                 priority=np.array([r["priority"] for r in recs], np.int64),
                 exclusive=np.array([r["requires_exclusive_lock"] for r in recs], bool),
                 batch_start=start, batch_end=end, window=window,
                 requested_window=tuple(r["requested_window"] for r in recs))


@pytest.mark.parametrize("window, start, end", [(None, "01:00", "05:00"),
                                                ("02:00", "01:00", "05:00"),
                                                (None, "02:00", "01:30"),  # crosses midnight
                                                (None, "23:00", "04:00")])
def test_nights_from_frame_follow_the_clock_rules(jobs, window, start, end):
    got = nights_from_frame(jobs, window, start, end)
    assert [n.batch_date for n in got] == list(SAMPLE_DATES)
    for n in got:
        same_night(n, expected_night(jobs, n.batch_date, window, start, end))


def test_nights_from_frame_explicit_arrivals_and_subset():
    frame = pl.DataFrame({
        "batch_date": ["2026-01-02", "2026-01-01", "2026-01-02", "2026-01-01"],
        "job_id": ["b", "z", "a", "y"], "requested_window": ["01:00", "03:00", "04:00", "00:30"],
        "workload_class": ["etl"] * 4, "estimated_runtime_minutes": ["10", "20.5", "30", "5"],
        "priority": ["1", "2", "3", "1"], "requires_exclusive_lock": ["0", "1", "false", "true"],
        "arrival_minute": [None, "7.5", None, None]})
    v = validate_jobs(frame)
    got = nights_from_frame(v, dates=["2026-01-02", "2026-01-01"])
    assert [n.batch_date for n in got] == ["2026-01-02", "2026-01-01"]
    for n in got:
        same_night(n, expected_night(v, n.batch_date))
    # by hand: z has arrival_minute 7.5, y's window 00:30 is before the 01:00 start
    assert got[1].job_id == ("y", "z") and got[1].arrival_minute.tolist() == [0.0, 7.5]


def test_nights_from_frame_missing_date_and_empty_window(jobs):
    with pytest.raises(DataError, match="2026-06-01.*dates present: 2026-05-11"):
        nights_from_frame(jobs, dates=["2026-05-11", "2026-06-01"])
    (n,) = nights_from_frame(jobs, window="23:59", dates=["2026-05-11"])
    assert n.n_jobs == 0 and n.window == "23:59"


# ---------------------------------------------------------------- score
def test_score_rows_match_engine_summaries(sample_nights):
    """Every number of a score row is what simulate_scenarios reports for that scenario."""
    workers = (2, 3)
    rows = [r.to_dict() for r in planning.score_chunk(sample_nights, workers, SETTINGS)]
    scen = [engine.Scenario(n, c) for n in sample_nights for c in workers]
    results = engine.simulate_scenarios(scen, replications=R, seed=7)
    assert len(rows) == len(results) == 10  # the sample's five nights on two counts
    for row, res in zip(rows, results):
        mc = res.monte_carlo
        assert (row["batch_date"], row["workers"], row["jobs"]) == (
            res.night.batch_date, res.workers, res.night.n_jobs)
        assert row["rho"] == res.queueing["rho"]
        op = mc["overflow_probability"]
        assert (row["overflow_probability"], row["overflow_ci_low"],
                row["overflow_ci_high"]) == (op["estimate"], op["ci_low"], op["ci_high"])
        p95 = mc["p95_wait_minutes"]
        # the row mean is numpy's pairwise sum along a row of (S, R), the engine's over the
        # same R values: equal up to rounding of a few ulps
        assert row["p95_wait_mean"] == pytest.approx(p95["mean"], rel=1e-13, abs=1e-13)
        assert row["p95_wait_ci_low"] == pytest.approx(p95["ci_low"], rel=1e-13, abs=1e-13)
        assert row["p95_wait_ci_high"] == pytest.approx(p95["ci_high"], rel=1e-13, abs=1e-13)
        assert row["drained_p90_minute"] == mc["queue_drained_minute"]["p90"]
        assert row["deterministic_overflow_jobs"] == res.deterministic["overflow_jobs"]
        assert row["horizon_minutes"] == res.night.horizon_minutes


def test_score_is_independent_of_grouping_and_night_order(sample_nights):
    a = planning.score(sample_nights, [1, 3], SETTINGS, group=1)
    b = planning.score(sample_nights[::-1], [3, 1], SETTINGS, group=512)
    assert a.rows == b.rows


def test_score_sorted_by_risk_with_tutorial_nights(sample_nights):
    rows = planning.score(sample_nights, [2, 3], SETTINGS).to_dicts()
    keys = [(-r["overflow_probability"], -r["p95_wait_mean"]) for r in rows]
    assert keys == sorted(keys)
    # 2026-05-14 overflows in the zero-noise replay on 2 workers (the tutorial: 9 jobs)
    top = [r for r in rows if r["batch_date"] == "2026-05-14" and r["workers"] == 2][0]
    assert top["deterministic_overflow_jobs"] == 9
    assert rows[0]["batch_date"] == "2026-05-14"


def test_score_progress_counts_nights(sample_nights):
    seen = []
    planning.score(sample_nights, [2, 3, 4], SETTINGS, group=6, progress=seen.append)
    assert seen == [2, 2, 1] and sum(seen) == len(sample_nights)


def test_empty_nights_sort_last_and_render(sample_nights):
    empty = Night.from_arrays([], [], batch_date="2026-05-20")
    result = planning.score(sample_nights + [empty], [3], SETTINGS)
    assert result.rows[-1].batch_date == "2026-05-20" and result.rows[-1].jobs == 0
    table = render(result, "table")
    (last,) = [ln for ln in table.splitlines() if ln.startswith("2026-05-20")]
    assert last.split()[:6] == ["2026-05-20", "-", "3", "0", "-", "no"]
    assert table.splitlines()[-3] == last  # the last row, before the any-late note
    data = json.loads(render(result, "json"))
    assert data[-1]["overflow_probability"] is None and data[-1]["jobs"] == 0


def test_render_formats_round_trip(sample_nights):
    result = planning.score(sample_nights, [3], SETTINGS)
    rows = result.to_dicts()
    from_csv = pl.read_csv(io.StringIO(render(result, "csv")))
    from_parquet = pl.read_parquet(io.BytesIO(render(result, "parquet")))
    # the ETL night has deadlines: the any-late columns follow the overflow interval
    assert result.any_late
    assert from_csv.columns == from_parquet.columns == list(result.columns) == list(
        planning.score_columns(any_late=True))
    assert from_parquet.drop("window").to_dicts() == [
        {k: v for k, v in r.items() if k != "window"} for r in rows]
    assert from_csv["overflow_probability"].to_list() == [r["overflow_probability"]
                                                          for r in rows]
    assert json.loads(render(result, "json")) == rows


def test_settings_validate():
    with pytest.raises(ScenarioError, match="replications must be an integer >= 1, got 0"):
        planning.Settings(replications=0)
    with pytest.raises(ScenarioError, match="confidence .* got 1.5"):
        planning.Settings(confidence=1.5)
    with pytest.raises(ScenarioError, match="runtime cv"):
        planning.Settings(runtime_cv=-1)
    with pytest.raises(ScenarioError, match="workers must be an integer >= 1, got 0"):
        planning.score([load_sample()], [0])


# ---------------------------------------------------------------- intervals
def test_paired_and_unpaired_intervals_match_scipy():
    from scipy import stats

    rng = np.random.default_rng(3)
    a = rng.normal(10, 2, 500)
    b = a + rng.normal(1, 0.5, 500)
    p = planning.paired_interval(a, b, 0.9)
    ci = stats.ttest_rel(b, a).confidence_interval(0.9)
    assert p["estimate"] == pytest.approx(float(np.mean(b - a)), rel=1e-12)
    assert (p["ci_low"], p["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-10)
    u = planning.unpaired_interval(a, b, 0.9)
    ci = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.9)
    assert (u["ci_low"], u["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert p["ci_high"] - p["ci_low"] < (u["ci_high"] - u["ci_low"]) / 3


def test_vectorised_wilson_and_quantiles_against_scipy_and_sorting():
    """wilson_rows against scipy's Wilson score interval (tolerance: 1e-12 relative, two
    independent float computations of the same closed form); nearest-rank quantiles against
    the ceil(q n)-th value of the sorted row."""
    from scipy import stats

    k = np.array([1, 17, 500, 999])
    p, lo, hi = planning.wilson_rows(k, 1000, 0.95)
    for i, kk in enumerate(k):
        ci = stats.binomtest(int(kk), 1000).proportion_ci(0.95, method="wilson")
        assert p[i] == kk / 1000
        assert (lo[i], hi[i]) == pytest.approx((ci.low, ci.high), rel=1e-12)
    # at 0 and n successes the bound on that side is exactly 0 or 1
    p, lo, hi = planning.wilson_rows(np.array([0, 1000]), 1000, 0.95)
    assert (lo[0], hi[1]) == (0.0, 1.0)
    x = np.random.default_rng(1).normal(size=(3, 101))
    k90 = math.ceil(0.9 * 101) - 1
    assert planning.nearest_rank_rows(x, 0.9).tolist() == [sorted(r)[k90] for r in x]


# ---------------------------------------------------------------- plan
def test_plan_recommends_fewest_workers_meeting_target(night_13):
    p = planning.plan(night_13, SETTINGS, 1, 6, max_overflow=0.05)
    counts = [r.workers for r in p.rows]
    assert counts == [1, 2, 3, 4, 5, 6] and len(p.steps) == 5
    # independently: simulate each count on its own (same seed => the same random nights)
    ok = [engine.simulate(night_13, c, R, seed=7).overflow_probability["ci_high"] <= 0.05
          for c in counts]
    assert [r.meets_target for r in p.rows] == ok
    assert p.recommended == counts[ok.index(True)] == 2
    assert "2 workers is the fewest" in p.reason


def test_plan_p95_target_can_raise_the_answer(night_13):
    p = planning.plan(night_13, SETTINGS, 1, 6, max_overflow=0.05, max_p95_wait=80.0)
    rec = p.rows[p.recommended - 1]
    assert rec.p95_wait_ci_high <= 80 and rec.overflow_ci_high <= 0.05
    below = p.rows[p.recommended - 2]
    assert below.p95_wait_ci_high > 80 or below.overflow_ci_high > 0.05
    assert p.recommended == 3


def test_plan_none_when_exclusive_work_exceeds_window(night_14):
    p = planning.plan(night_14, SETTINGS, 1, 16)
    assert p.recommended is None
    assert all(r.overflow_probability == 1.0 for r in p.rows)
    assert p.bounds["exclusive_work_minutes"] == float(
        night_14.runtime_minutes[night_14.exclusive].sum()) == 355.0
    assert p.reason == ("no worker count meets the target: the exclusive-lock jobs alone run 355 "
                        "minutes (they hold the whole pool, whatever its size), longer than the "
                        "240-minute window")
    text = render(p)
    assert "Recommendation: none: no worker count meets the target" in text
    assert json.loads(render(p, "json"))["recommended_workers"] is None


def test_plan_none_explanations_for_work_and_late_jobs():
    busy = Night.from_arrays(np.zeros(20), np.full(20, 100.0))  # 2,000 min of work, no locks
    p = planning.plan(busy, planning.Settings(replications=200), 1, 4)
    assert p.recommended is None
    assert "even on 4 workers the work needs at least 0 + (2000 - 0) / 4 = 500 minutes" \
        in p.reason
    late = Night.from_arrays([0.0, 230.0], [10.0, 30.0], job_id=["early", "late"])
    p = planning.plan(late, planning.Settings(replications=200, arrival_jitter=0), 1, 3)
    assert p.recommended is None
    assert "job late cannot finish before minute 260" in p.reason


def test_plan_reports_the_best_count_when_noise_is_the_problem():
    # drains in 200 of 240 minutes on average but the runtime noise overflows it often
    nt = Night.from_arrays(np.zeros(4), np.full(4, 200.0))
    p = planning.plan(nt, planning.Settings(replications=500, runtime_cv=0.3), 4, 5)
    assert p.recommended is None
    assert "the best, 4 workers, has overflow probability upper bound" in p.reason


@pytest.mark.parametrize("night", [load_sample(d) for d in SAMPLE_DATES]
                         + [synthetic_night(15, seed=s, exclusive_share=0.3) for s in range(4)],
                         ids=lambda n: n.batch_date + str(n.n_jobs))
def test_drain_lower_bound_holds_for_every_worker_count(night):
    for c in range(1, 9):
        b = planning.drain_bounds(night, c)
        assert engine.deterministic(night, c)["queue_drained_minute"] >= \
            b["drain_lower_bound_minutes"] - 1e-9


def test_paired_steps_are_narrower_than_unpaired(night_13):
    """Common random numbers: neighbouring counts see the same nights, so the paired interval
    of the p95-wait difference is far narrower than independent runs would give."""
    p = planning.plan(night_13, planning.Settings(replications=R, seed=7), 1, 5)
    for st in p.steps:
        pw = st.p95_wait_paired_ci_high - st.p95_wait_paired_ci_low
        uw = st.p95_wait_unpaired_ci_high - st.p95_wait_unpaired_ci_low
        assert pw < uw
        assert st.p95_wait_paired_ci_low <= st.p95_wait_diff <= \
            st.p95_wait_paired_ci_high
    step = p.steps[2]  # 3 -> 4 workers: most nights are identical, the rest differ a little
    assert (step.p95_wait_paired_ci_high - step.p95_wait_paired_ci_low) < 0.2 * (
        step.p95_wait_unpaired_ci_high - step.p95_wait_unpaired_ci_low)
    # the step equals the difference of the per-count means (same replications)
    rows = {r.workers: r for r in p.rows}
    assert step.p95_wait_diff == pytest.approx(rows[4].p95_wait_mean
                                                  - rows[3].p95_wait_mean, abs=1e-9)
    assert step.overflow_diff == pytest.approx(rows[4].overflow_probability
                                                  - rows[3].overflow_probability, abs=1e-12)


def test_paired_interval_covers_the_difference_of_a_much_longer_run(night_13):
    """Statistical check of the paired interval: the 2 -> 3 step's p95 difference from 2,000
    replications lies inside its 99.9% interval around the 40,000-replication estimate's value.
    The longer run's own standard error is sqrt(2000/40000) = 0.22 of the short one's, so the
    short 99.9% half-width (3.29 se) comfortably includes the truth up to a 1e-3 chance."""
    short = planning.plan(night_13, planning.Settings(replications=2000, seed=11,
                                                      confidence=0.999), 2, 3).steps[0]
    long = planning.plan(night_13, planning.Settings(replications=40000, seed=12), 2, 3).steps[0]
    assert short.p95_wait_paired_ci_low <= long.p95_wait_diff <= \
        short.p95_wait_paired_ci_high
    assert short.overflow_paired_ci_low <= long.overflow_diff <= \
        short.overflow_paired_ci_high


def test_plan_rejects_bad_parameters(night_13):
    with pytest.raises(ScenarioError, match=r"max workers \(2\) must be >= min workers \(3\)"):
        planning.plan(night_13, SETTINGS, 3, 2)
    with pytest.raises(ScenarioError, match="max overflow must be a probability"):
        planning.plan(night_13, SETTINGS, max_overflow=1.5)


def test_plan_csv_has_one_row_per_count(night_13):
    p = planning.plan(night_13, SETTINGS, 1, 4)
    df = pl.read_csv(io.StringIO(render(p, "csv")))
    assert df["workers"].to_list() == [1, 2, 3, 4]
    assert df["recommended"].to_list() == [False, True, False, False]
    assert df["p95_wait_diff"][0] is None
    assert math.isclose(df["p95_wait_diff"][1], p.steps[0].p95_wait_diff, rel_tol=1e-15)
