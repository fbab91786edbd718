"""The numbers the charts draw (mcqueue.report.chart_data), checked against independent values:
brute-force counts, numpy's inverted-CDF quantile, scipy's Wilson interval and binomial
quantiles, hand-worked clock times and lane assignments, and a naive list scheduler."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from mcqueue.errors import DataError
from mcqueue.report.chart_data import (Backtest, DrainTimes, GanttNight, JobRisk, PlanSeries,
                                       QueueLength, ScoreNights, assign_lanes,
                                       binomial_quantile, cdf_curve, clock_label, clock_ticks,
                                       pit_histogram, reliability_bins)

import report_data


def _wilson_scipy(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    ci = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=confidence,
                                                   method="wilson")
    return ci.low, ci.high


def _clock(batch_start: str, minute: float) -> str:
    h, m = map(int, batch_start.split(":"))
    t = dt.datetime(2000, 1, 1, h, m) + dt.timedelta(minutes=round(minute))
    return t.strftime("%H:%M")


# ---------------------------------------------------------------- drain-time CDF
def test_cdf_steps_are_the_empirical_cdf_of_the_drain_times():
    rng = np.random.default_rng(11)
    drain = np.round(rng.gamma(9.0, 25.0, 700))  # whole minutes: ties
    d = DrainTimes(drain, cutoff_minute=240.0)
    c = cdf_curve(d)
    assert c.exact
    assert np.array_equal(c.x, sorted(set(drain.tolist())))  # every step, at the data
    brute = np.array([np.count_nonzero(drain <= x) / drain.size for x in c.x])
    assert np.array_equal(c.cdf, brute)
    for x, lo, hi in zip(c.x[::37], c.ci_low[::37], c.ci_high[::37]):
        want = _wilson_scipy(int(np.count_nonzero(drain <= x)), drain.size)
        assert (lo, hi) == pytest.approx(want, abs=1e-12)  # double rounding only


def test_cdf_on_a_grid_when_there_are_more_distinct_values_than_points():
    drain = np.random.default_rng(12).gamma(9.0, 25.0, 5000)  # 5,000 distinct values
    c = cdf_curve(DrainTimes(drain, cutoff_minute=240.0), max_points=300)
    grid = np.linspace(drain.min(), drain.max(), 300)
    marks = {240.0, *(np.quantile(drain, q, method="inverted_cdf") for q in (0.5, 0.9))}
    # a 300-point grid, plus the points the chart reads off: the cutoff, P50 and P90
    assert not c.exact and set(c.x.tolist()) == set(grid.tolist()) | marks
    assert np.all(np.diff(c.x) > 0)
    brute = np.array([np.count_nonzero(drain <= x) / drain.size for x in c.x])
    assert np.array_equal(c.cdf, brute)
    assert c.cdf[-1] == 1.0


def test_drain_quantiles_are_nearest_rank_and_done_by_is_one_minus_overflow():
    drain = np.random.default_rng(13).gamma(4.0, 60.0, 1001)
    d = DrainTimes(drain, cutoff_minute=240.0)
    for q in (0.5, 0.8, 0.9, 0.99):  # nearest rank = numpy's inverted_cdf definition
        assert d.quantile(q) == np.quantile(drain, q, method="inverted_cdf")
    over = np.count_nonzero(drain > 240.0)
    done = d.done_by(240.0)
    # (n - over) / n and 1 - over / n: the same fraction, rounded differently (1 ulp)
    assert done["estimate"] == pytest.approx(1.0 - over / drain.size, abs=1e-15)
    lo_over, hi_over = _wilson_scipy(int(over), drain.size)
    assert (done["ci_low"], done["ci_high"]) == pytest.approx((1 - hi_over, 1 - lo_over),
                                                              abs=1e-12)


def test_clock_labels_cross_midnight_and_mark_later_days():
    assert clock_label(0, "22:00") == "22:00"
    assert clock_label(480, "22:00") == "06:00"
    assert clock_label(59.6, "22:00") == "23:00"  # rounded to the minute
    assert clock_label(1500, "22:00") == "23:00 +1d"  # 25 hours after 22:00
    assert clock_label(2 * 1440, "01:00") == "01:00 +2d"
    for m in (0.0, 17.0, 333.4, 1379.0):
        assert clock_label(m, "01:30") == _clock("01:30", m)


def test_clock_ticks_sit_on_whole_clock_steps():
    ticks = clock_ticks(0.0, 480.0, "22:30")  # 8 h: hourly ticks at hh:00
    assert 2 <= ticks.size <= 9
    assert [clock_label(t, "22:30") for t in ticks[:3]] == ["23:00", "00:00", "01:00"]
    assert np.all(np.diff(ticks) == 60.0)
    short = clock_ticks(0.0, 50.0, "01:07")  # under an hour: 10-minute steps at hh:10, ...
    assert all(clock_label(t, "01:07")[-1] == "0" for t in short)


# ---------------------------------------------------------------- Gantt lanes
def _gantt(start, finish, used, exclusive, workers, ids=None):
    n = len(start)
    return GanttNight(job_id=tuple(ids or [f"j{i}" for i in range(n)]),
                      workload_class=("etl",) * n, start_minute=start, finish_minute=finish,
                      workers_used=used, exclusive=exclusive, late=[False] * n,
                      workers=workers, cutoff_minute=100.0)


def test_lanes_by_hand():
    # A [0,10) and B [0,5) start together: A lane 0, B lane 1 (input order). C at 5 takes the
    # lowest free lane, 1 (B left it at 5; A still busy). X (exclusive) at 10 takes both; D at
    # 12 (after X) lane 0; E uses 2 workers from 20: lanes 0 and 1.
    g = _gantt(start=[0, 0, 5, 10, 12, 20], finish=[10, 5, 8, 12, 15, 30],
               used=[1, 1, 1, 2, 1, 2], exclusive=[0, 0, 0, 1, 0, 0], workers=2)
    assert assign_lanes(g) == [(0,), (1,), (1,), (0, 1), (0,), (0, 1)]


def test_lanes_refuse_more_jobs_than_workers():
    g = _gantt(start=[0, 1, 2], finish=[10, 10, 10], used=[1, 1, 1], exclusive=[0, 0, 0],
               workers=2, ids=["a", "b", "c\x1b[31m"])
    with pytest.raises(DataError, match=r"job 'c\\x1b\[31m' starts at minute 2 needing 1 of "
                                        r"2 workers while 2 are still busy"):
        assign_lanes(g)


def _naive_schedule(jobs, workers):
    """List scheduling in input order: a job starts at its arrival or when enough workers are
    free (all of them for an exclusive job), whichever is later."""
    free = [0.0] * workers
    out = []
    for arrival, dur, k, excl in jobs:
        need = workers if excl else k
        order = sorted(range(workers), key=lambda w: free[w])
        start = max(arrival, max(free) if excl else free[order[need - 1]])
        take = range(workers) if excl else order[:need]
        for w in take:
            free[w] = start + dur
        if excl:  # nothing else may run beside it
            free = [start + dur] * workers
        out.append((start, start + dur, need, excl))
    return out


@settings(max_examples=150, deadline=None, derandomize=True,
          phases=(Phase.explicit, Phase.generate))
@given(workers=st.integers(1, 5),
       jobs=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 20), st.integers(1, 5),
                               st.booleans()), min_size=1, max_size=40))
def test_lanes_never_overlap_on_feasible_schedules(workers, jobs):
    jobs = [(a, d, min(k, workers), e) for a, d, k, e in jobs]
    sched = _naive_schedule(jobs, workers)
    g = _gantt(start=[s for s, *_ in sched], finish=[f for _, f, *_ in sched],
               used=[k for _, _, k, _ in sched], exclusive=[e for *_, e in sched],
               workers=workers)
    lanes = assign_lanes(g)
    per_lane = {w: [] for w in range(workers)}
    for (s, f, k, e), ln in zip(sched, lanes):
        assert len(set(ln)) == len(ln) == (workers if e else k)
        for w in ln:
            per_lane[w].append((s, f))
    for w, spans in per_lane.items():
        spans.sort()
        for (s1, f1), (s2, f2) in zip(spans, spans[1:]):
            assert s2 >= f1, f"lane {w}: [{s1}, {f1}) overlaps [{s2}, {f2})"


def test_lanes_of_an_engine_replication_with_exclusive_jobs():
    g = report_data.engine_gantt(n_jobs=600, workers=4, hostile=False)
    assert g.exclusive.any()
    lanes = assign_lanes(g)
    for w in range(4):
        spans = sorted((g.start_minute[i], g.finish_minute[i])
                       for i, ln in enumerate(lanes) if w in ln)
        assert all(b[0] >= a[1] for a, b in zip(spans, spans[1:]))


# ---------------------------------------------------------------- backtest
def test_reliability_bins_against_a_loop():
    b = report_data.backtest(n_nights=500)
    r = reliability_bins(b)
    for i in range(b.bins):
        lo, hi = i / b.bins, (i + 1) / b.bins
        m = (b.forecast_probability >= lo) & ((b.forecast_probability < hi) | (
            (i == b.bins - 1) & (b.forecast_probability <= 1.0)))
        assert r.count[i] == m.sum()
        if m.any():
            assert r.mean_forecast[i] == pytest.approx(b.forecast_probability[m].mean(),
                                                       rel=1e-12)
            assert r.observed[i] == b.overflowed[m].mean()
            assert (r.ci_low[i], r.ci_high[i]) == pytest.approx(
                _wilson_scipy(int(b.overflowed[m].sum()), int(m.sum())), abs=1e-12)
        else:
            assert np.isnan(r.observed[i])


def test_pit_counts_and_calibrated_range():
    b = report_data.backtest(n_nights=365)
    h = pit_histogram(b)
    assert np.array_equal(h.count, np.histogram(b.pit, bins=np.linspace(0, 1, 11))[0])
    assert h.expected == 36.5
    assert h.band_low == scipy.stats.binom.ppf(0.025, 365, 0.1)
    assert h.band_high == scipy.stats.binom.ppf(0.975, 365, 0.1)


@pytest.mark.parametrize("n,p,q", [(10, 0.5, 0.5), (365, 0.1, 0.025), (2000, 0.05, 0.975),
                                   (7, 0.9, 0.001), (50, 0.0, 0.5), (50, 1.0, 0.5)])
def test_binomial_quantile_matches_scipy(n, p, q):
    assert binomial_quantile(n, p, q) == scipy.stats.binom.ppf(q, n, p)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("make, message", [
    (lambda: DrainTimes([1.0, float("nan")], 10.0),
     r"drain_minutes\[1\] must be finite numbers >= 0, got nan"),
    (lambda: DrainTimes([], 10.0), r"drain_minutes is empty"),
    (lambda: DrainTimes([1.0], 10.0, batch_start="25:00"),
     r"batch_start must be HH:MM \(00:00 to 23:59\), got '25:00'"),
    (lambda: DrainTimes([1.0], 10.0, confidence=1.0), r"confidence must be in \(0, 1\)"),
    (lambda: _gantt([0, 5], [4, 3], [1, 1], [0, 0], 2, ids=["a", "b"]),
     r"job 'b': finish_minute 3 is before start_minute 5"),
    (lambda: _gantt([0], [4], [3], [0], 2), r"workers_used\[0\] must be finite numbers in "
                                            r"\[1, 2\], got 3.0"),
    (lambda: _gantt([0], [4, 5], [1], [0], 2), r"finish_minute has 2 values, expected 1"),
    (lambda: QueueLength([0, 1], [1, 1], [2, 0], [1, 1], 10.0),
     r"p10\[0\] = 2 is above p90\[0\] = 1"),
    (lambda: JobRisk(("a",), ("etl",), [0.5], [0.6], [0.7]),
     r"late_probability\[0\]: the interval \[0.6, 0.7\] does not contain the estimate 0.5"),
    (lambda: PlanSeries("x", [1, 2], [0.5, 0.4], [0.4, 0.3], [0.6, 0.5], [1, 1], [0, 0],
                        [2, 2], recommended=3),
     r"recommended workers 3 is not among the workers of series 'x'"),
    (lambda: ScoreNights(("a",), [1.5], [1.0], [1.0]),
     r"overflow_probability\[0\] must be finite numbers or nan \(missing\) in \[0, 1\]"),
    (lambda: Backtest([0.5], [True], [0.5], bins=1), r"bins must be an integer in \[2, 100\]"),
])
def test_bad_input_names_the_field_and_value(make, message):
    with pytest.raises(DataError, match=message):
        make()


def test_chart_data_loads_no_matplotlib_polars_numba_or_click():
    code = ("import sys, mcqueue, mcqueue.report.chart_data, mcqueue.report.html, "
            "mcqueue.report.extra; "
            "print(sorted(m for m in ('matplotlib', 'polars', 'numba', 'click') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_the_command_line_loads_no_matplotlib():
    code = "import sys, mcqueue.cli.main; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
