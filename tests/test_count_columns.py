"""Compact per-replication metrics (issue 17): counts kept as integers, the overflow share derived.

Every check is exact (bit for bit), because the point of the change is that no number moves:
- ``count_pair_pass`` against numpy's own ``np.add.reduce`` of the float share column and
  ``np.bincount``, and ``table_sums3`` against ``sum_sq_dev`` of the float copies, for
  every length up to 300 and a few long ones (numpy's pairwise blocks are 128 values, halves
  cut to multiples of 8, so these lengths cover every branch and several levels of recursion);
- ``summarize_count_pair`` against ``summarize_columns`` of the float copies (the code that
  summarised these columns before), compared through their JSON text (repr of every float);
- ``simulate`` / ``simulate_scenarios`` against the engine's one-call float64 metrics
  (``replicate_detailed``, the array the kernels write) and against ``summarize_samples`` of
  that array, on the sample nights and on a night with dependencies, deadlines, locks,
  policies, capacity schedules and per-job statistics, with the run cut into many chunks.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcqueue.engine import simulate as engine
from mcqueue.engine.night import Night
from mcqueue.engine.perturbation import Perturbation
from mcqueue.engine.samples import MetricSamples
from mcqueue.engine.synthetic import synthetic_dag_night
from mcqueue.stats import intervals
from mcqueue.stats.intervals import summarize_columns, summarize_count_pair
from mcqueue.stats.kernels import count_pair_pass, sum_sq_dev, table_sums3

LENGTHS = list(range(1, 301)) + [1000, 4097, 8191, 8192, 8193, 65_537, 262_145, 1_000_003]


@pytest.mark.parametrize("div", [1, 3, 7, 10, 120, 2001])
def test_pairwise_sum_is_numpys_sum_to_the_bit(div):
    rng = np.random.default_rng(div)
    values = np.arange(div + 1, dtype=np.float64)
    for n in LENGTHS:
        dtype = np.int16 if n % 2 else np.int32
        x = rng.integers(0, div + 1, n).astype(dtype)
        y = rng.integers(0, div + 1, n).astype(dtype)
        expected = float(np.add.reduce(x / div))  # numpy's sum of the float column
        nb = div + 1
        for rows in (1, 4, 8):
            hx = np.zeros((rows, nb), np.int64)
            hy = np.zeros((rows, nb), np.int64)
            out = np.full(1, np.nan)
            assert count_pair_pass(x, y, values / div, hx, hy, out) == -1
            assert float(out[0]) == expected, (div, n)
            assert float(np.mean(x / div)) == float(out[0]) / n
            assert np.array_equal(hx.sum(axis=0), np.bincount(x, minlength=nb))
            assert np.array_equal(hy.sum(axis=0), np.bincount(y, minlength=nb))
        mx, my = float(np.mean(x)), float(np.mean(y))
        share_mean = float(np.mean(x / div))
        acc = np.zeros(3)
        table_sums3(x, y, (values - mx) ** 2, (values - my) ** 2,
                    (values / div - share_mean) ** 2, acc)
        assert acc[0] == sum_sq_dev(x.astype(np.float64), mx), (div, n)
        assert acc[1] == sum_sq_dev(y.astype(np.float64), my), (div, n)
        assert acc[2] == sum_sq_dev(x / div, share_mean), (div, n)


def test_the_count_pass_reports_the_first_value_outside_its_table():
    """A value outside 0..nb-1 anywhere (first block, a later block, in x or in y) is
    reported by its index, the first one, and nothing past it is counted into a histogram."""
    n = 10_000
    for at, column, bad in ((0, 0, 11), (5_000, 1, -1), (9_999, 0, -3), (129, 1, 11)):
        x = np.full(n, 2, np.int16)
        y = np.full(n, 3, np.int16)
        (x if column == 0 else y)[at] = bad
        (y if column == 0 else x)[min(n - 1, at + 7)] = 99  # a later bad value
        hx = np.zeros((8, 11), np.int64)
        hy = np.zeros((8, 11), np.int64)
        out = np.zeros(1)
        assert count_pair_pass(x, y, np.arange(11) / 10.0, hx, hy, out) == at
        assert hx.sum() == at and hy.sum() == at  # all before it, nothing from it on


def _as_json(rows):
    return json.dumps(rows)


def _kernel_summary(rows, confidence, bounds):
    """``summarize_columns`` through the compiled kernels whatever the length (the code that
    summarised every row before numpy took the short ones)."""
    saved = intervals.NUMPY_ROWS
    intervals.NUMPY_ROWS = -1  # every length above: the kernels
    try:
        return summarize_columns(rows, confidence, bounds)
    finally:
        intervals.NUMPY_ROWS = saved


def _float_path(y, x, jobs, confidence):
    """What summarised these columns before: the kernels over the kernel's float rows."""
    share = x / jobs if jobs else np.zeros(x.shape[0])
    return _kernel_summary(np.vstack([y.astype(np.float64), x.astype(np.float64), share]),
                           confidence, [(0.0, math.inf), (0.0, math.inf), (0.0, 1.0)])


@pytest.fixture(params=["numpy", "kernels"])
def path(request, monkeypatch):
    """Both ways of summarising: numpy up to NUMPY_ROWS values (the default run), the
    compiled kernels above."""
    if request.param == "kernels":
        monkeypatch.setattr(intervals, "NUMPY_ROWS", -1)
    return request.param


@settings(max_examples=150,  # ``path`` only sets NUMPY_ROWS: the same for every input
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=1,
                      max_size=400),
       extra_top=st.integers(0, 60), confidence=st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_count_summary_equals_the_float_column_summary(path, pairs, extra_top, confidence):
    y = np.array([p[0] for p in pairs], np.int16)
    x = np.array([p[1] for p in pairs], np.int16)
    top = max(int(y.max()), int(x.max())) + extra_top
    got = summarize_count_pair(np.vstack([y, x]), top, confidence)
    assert _as_json(got) == _as_json(_float_path(y, x, top, confidence))


def test_count_summary_on_long_columns_with_ties(path):
    """Long columns go through the bracketing path of the kernels; counts tie massively, the
    case where a histogram and a selection must agree exactly."""
    rng = np.random.default_rng(17)
    for n, top in ((65_536, 3), (65_537, 3), (300_000, 10), (1_000_000, 2000),
                   (200_000, 40_000)):
        dtype = np.int16 if top < 2**15 else np.int32
        x = np.minimum(rng.geometric(0.3, n) - 1, top).astype(dtype)
        y = np.minimum(rng.geometric(0.05, n) - 1, top).astype(dtype)
        got = summarize_count_pair(np.vstack([y, x]), top, 0.95)
        assert _as_json(got) == _as_json(_float_path(y, x, top, 0.95)), n


@settings(max_examples=150)
@given(values=st.lists(st.one_of(st.floats(0, 1e6), st.sampled_from([0.0, 1.0, 2.5])),
                       min_size=1, max_size=300),
       special=st.sampled_from([None, math.inf, math.nan]),
       confidence=st.sampled_from([0.9, 0.95]))
def test_numpy_summary_of_short_rows_equals_the_kernels(values, special, confidence):
    """Short rows (the default 10,000 replications) are summarised by numpy: the same JSON
    as the kernels, ties, infinities and NaN included."""
    x = np.array(values + ([special] if special is not None else []), np.float64)
    rows = np.vstack([x, x[::-1].copy()])
    bounds = [(0.0, math.inf), (0.0, math.inf)]
    assert _as_json(summarize_columns(rows, confidence, bounds)) == \
        _as_json(_kernel_summary(rows, confidence, bounds))


def test_numpy_summary_at_the_switch_length():
    rng = np.random.default_rng(5)
    for n in (intervals.NUMPY_ROWS - 1, intervals.NUMPY_ROWS):
        rows = rng.gamma(2.0, 10.0, (2, n))
        rows[1] = np.round(rows[1])  # ties
        bounds = [(0.0, math.inf)] * 2
        assert _as_json(summarize_columns(rows, 0.95, bounds)) == \
            _as_json(_kernel_summary(rows, 0.95, bounds)), n


def test_a_count_outside_its_range_is_an_error_not_a_wrong_quantile(path):
    with pytest.raises(ValueError, match="value 11 at 2 outside 0..10"):
        summarize_count_pair(np.array([[0, 3, 11], [0, 0, 0]], np.int32), 10, 0.95)
    with pytest.raises(ValueError, match="value -1 at 1 outside 0..10"):
        summarize_count_pair(np.array([[0, 3, 1], [0, -1, 0]], np.int32), 10, 0.95)


@pytest.mark.parametrize("n", [1_000, 70_000])  # numpy's path, the kernels' (> NUMPY_ROWS)
@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64])
def test_a_count_outside_its_range_is_found_whatever_the_integer_width(n, dtype):
    """The kernels read counts through unsigned integers: a negative count, and (int64) one
    that differs from an in-range count only above its low 32 bits, are still outside 0..10."""
    assert intervals.NUMPY_ROWS < 70_000
    bad_values = [-1, -32768] + ([2**32 + 3, -(2**32) + 3, 2**63 - 1] if dtype == np.int64
                                 else [])
    for bad in bad_values:
        counts = np.zeros((2, n), dtype)
        counts[1, 123] = bad
        with pytest.raises(ValueError, match=f"value {bad} at 123 outside 0..10"):
            summarize_count_pair(counts, 10, 0.95)


def test_metric_samples_read_back_the_kernels_array():
    rng = np.random.default_rng(3)
    R, jobs = 1000, 12
    block = np.empty((8, R))
    block[[0, 1, 2, 4, 7]] = rng.random((5, R)) * 100
    block[3] = rng.integers(0, jobs + 1, R)
    block[5] = rng.integers(0, jobs + 1, R)
    block[6] = block[5] / jobs
    s = MetricSamples.from_array(block, jobs)
    assert s.shape == (8, R) and len(s) == 8
    assert s.nbytes == 44 * R and s.counts.dtype == np.int16
    assert np.array_equal(np.asarray(s), block)
    for i in range(8):
        assert np.array_equal(s[i], block[i]) and s[i].dtype == np.float64
        assert np.array_equal(s.column(engine.METRICS[i]), block[i])
    assert s[5, 17] == block[5, 17] and np.array_equal(s[-1], block[7])
    assert np.array_equal(s[:, 3:9], block[:, 3:9])
    with pytest.raises(ValueError):  # a float column is a read-only view
        s[0][0] = 1.0
    empty = MetricSamples.from_array(np.zeros((8, 4)), 0)  # a night without jobs: all zeros
    assert np.array_equal(np.asarray(empty), np.zeros((8, 4)))


def _single_call(nights, scen_night, workers, R, seed=0, per_job=False, **kw):
    """The metrics as the kernels write them in one call, and their summaries (the path
    simulate took before the compact store)."""
    pert = Perturbation(runtime_cv=0.3, arrival_jitter=12.0)
    batch = engine.prepare(nights, pert, seed)
    return engine.replicate_detailed(batch, scen_night, workers, R, per_job=per_job, **kw)


def _check(results, run, nights, scen_night, confidence=0.95):
    for s, r in enumerate(results):
        nt = nights[scen_night[s]]
        assert np.array_equal(np.asarray(r.samples), run.samples[s]), s
        assert _as_json(r.monte_carlo) == _as_json(
            _expected_mc(run, s, nt, r.capacity is not None, confidence)), s


def _expected_mc(run, s, nt, capacity, confidence):
    mc = engine.summarize_samples(run.samples[s], nt.horizon_minutes, confidence)
    engine.feature_summaries(mc, nt, None if run.extra is None else run.extra[s], capacity,
                             confidence)
    return mc


@pytest.mark.parametrize("chunks", [None, 1200])
def test_simulate_equals_the_kernels_array_on_the_sample_nights(night_13, night_14, chunks,
                                                                 monkeypatch):
    if chunks:  # chunks of 300 replications of the four scenarios
        monkeypatch.setattr(engine, "CHUNK_CELLS", chunks)
    nights = [night_13, night_14]
    scen = [engine.Scenario(night_13, 2), engine.Scenario(night_13, 3),
            engine.Scenario(night_14, 1), engine.Scenario(night_14, 4)]
    res = engine.simulate_scenarios(scen, replications=5003, seed=9, runtime_cv=0.3,
                                    arrival_jitter=12.0)
    run = _single_call(nights, [0, 0, 1, 1], [2, 3, 1, 4], 5003, seed=9)
    _check(res, run, nights, [0, 0, 1, 1])
    assert any(r.monte_carlo["overflow_jobs"]["mean"] > 0 for r in res)  # counts not all 0


def test_simulate_in_chunks_equals_one_call_with_every_feature(monkeypatch):
    """Dependencies, deadlines, locks, four policies, capacity schedules and per-job
    statistics; the run cut into chunks of 331 replications (4 scenarios x 331 = 1324)."""
    night = synthetic_dag_night(80, seed=5, exclusive_share=0.05, deadline_share=0.3,
                                spread_minutes=100)
    policies = ["tutorial", "priority", "fifo", "backfill"]
    caps = [None, [(60.0, 4)], None, [(30.0, 8), (90.0, 5)]]
    scen = [engine.Scenario(night, 6, policy=p, capacity=c) for p, c in zip(policies, caps)]
    whole = engine.simulate_scenarios(scen, replications=2000, seed=3, runtime_cv=0.3,
                                      arrival_jitter=12.0, per_job=True)
    monkeypatch.setattr(engine, "CHUNK_CELLS", 1324)
    cut = engine.simulate_scenarios(scen, replications=2000, seed=3, runtime_cv=0.3,
                                    arrival_jitter=12.0, per_job=True)
    run = _single_call([night], [0] * 4, [6] * 4, 2000, seed=3, per_job=True,
                       policy=policies, capacity=caps)
    _check(cut, run, [night], [0] * 4)
    _check(whole, run, [night], [0] * 4)
    for s in range(4):
        assert np.array_equal(cut[s].late_jobs, run.extra[s, 0])
        assert _as_json(cut[s].per_job) == _as_json(whole[s].per_job)
        assert _as_json(cut[s].per_job) == _as_json(run.per_job.summary(s, night, 0.95))
        if caps[s] is not None:
            assert np.array_equal(cut[s].above_capacity, run.extra[s, 1])
    assert cut[0].monte_carlo["any_late_probability"]["estimate"] > 0


def test_an_empty_window_of_zero_jobs_summarises_as_before():
    night = Night.from_arrays(np.zeros(0), np.zeros(0), np.zeros(0, np.int64),
                              np.zeros(0, bool))
    r = engine.simulate(night, 2, replications=50)
    run = _single_call([night], [0], [2], 50)
    assert np.array_equal(np.asarray(r.samples), run.samples[0])


def test_counts_of_a_night_of_32768_jobs_or_more_are_int32():
    jobs = 40_000
    block = np.zeros((8, 3))
    block[3] = [0, 32_767, 40_000]
    block[5] = [40_000, 32_768, 1]
    block[6] = block[5] / jobs
    s = MetricSamples.from_array(block, jobs)
    assert s.counts.dtype == np.int32 and np.array_equal(np.asarray(s), block)
    assert MetricSamples.empty(3, 32_767).counts.dtype == np.int16


def test_metric_samples_refuse_an_array_that_is_not_the_kernels():
    block = np.zeros((8, 3))
    block[5] = [0, 1, 40_000]  # more overflowing jobs than the night has: would wrap in int16
    block[6] = block[5] / 100
    with pytest.raises(ValueError, match="overflow_jobs outside the whole numbers 0..100"):
        MetricSamples.from_array(block, 100)
    block[5] = [0, 1, 2]
    block[6] = [0, 0.5, 0.02]
    with pytest.raises(ValueError, match="overflow_risk is not overflow_jobs / 100"):
        MetricSamples.from_array(block, 100)
    block[6] = block[5] / 100
    s = MetricSamples.from_array(block, 100)
    with pytest.raises(ValueError, match="a copy is needed"):
        np.asarray(s, copy=False)


def test_the_threaded_compact_summary_equals_the_float_path(night_14, restore_threads):
    """From 100,000 replications on more than one thread the float rows and the counts are
    summarised on separate threads (and from 65,537 by the kernels): the same JSON."""
    restore_threads(2)
    r = engine.simulate(night_14, 1, replications=150_001, seed=2, runtime_cv=0.3,
                        arrival_jitter=12.0)
    run = _single_call([night_14], [0], [1], 150_001, seed=2)
    assert r.monte_carlo["overflow_jobs"]["mean"] > 0
    _check([r], run, [night_14], [0])


def test_a_night_of_33000_jobs_keeps_int32_counts_to_the_bit():
    """A night of 32,768 jobs or more keeps its counts as int32: on one worker its queue holds
    far more than int16 could (max queue length above 32,767)."""
    from mcqueue.engine.synthetic import synthetic_night

    night = synthetic_night(33_000, seed=4, spread_minutes=60.0)
    r = engine.simulate(night, 1, replications=20, seed=1, runtime_cv=0.3, arrival_jitter=12.0)
    run = _single_call([night], [0], [1], 20, seed=1)
    assert r.samples.counts.dtype == np.int32
    assert r.monte_carlo["max_queue_length"]["p50"] > 32_767
    _check([r], run, [night], [0])
