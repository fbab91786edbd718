"""Across-replication statistics: Wilson score interval, Student-t interval, nearest rank."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mcqueue.stats.intervals import nearest_rank, summarize, t_interval, wilson

Z95 = 1.959963984540054  # standard normal 0.975 quantile


def test_wilson_against_hand_computation():
    # 7 successes in 20, 95%: p = 0.35, z^2 = 3.841459,
    # centre = (0.35 + z^2/40) / (1 + z^2/20) = 0.446036 / 1.192073 = 0.374168
    # half = z sqrt(0.35 * 0.65 / 20 + z^2 / 1600) / 1.192073 = 0.192977
    # -> (0.181192, 0.567146), the textbook value (0.1812, 0.5671)
    w = wilson(7, 20, 0.95)
    assert w["estimate"] == 0.35
    assert w["ci_low"] == pytest.approx(0.181192, abs=1e-6)
    assert w["ci_high"] == pytest.approx(0.567146, abs=1e-6)


def test_wilson_closed_forms_at_zero_and_n():
    n = 50
    zero, full = wilson(0, n, 0.95), wilson(n, n, 0.95)
    # at the boundary: upper(0) = z^2 / (n + z^2), lower(n) = n / (n + z^2)
    assert zero["estimate"] == 0.0 and full["estimate"] == 1.0
    assert zero["ci_high"] == pytest.approx(Z95**2 / (n + Z95**2), rel=1e-12)
    assert full["ci_low"] == pytest.approx(n / (n + Z95**2), rel=1e-12)
    assert full["ci_high"] == 1.0


def test_wilson_stays_in_unit_interval_and_contains_the_estimate():
    """At k = 0 the lower end is exactly 0 (and at k = n the upper end exactly 1): the interval
    must contain the estimate, not start a rounding error above it."""
    for n in (1, 2, 10, 50, 1000, 10**7):
        for k in sorted({0, 1, n // 2, n - 1, n}):
            w = wilson(k, n, 0.99)
            assert 0.0 <= w["ci_low"] <= w["estimate"] <= w["ci_high"] <= 1.0, (k, n, w)
        assert wilson(0, n, 0.95)["ci_low"] == 0.0, n
        assert wilson(n, n, 0.95)["ci_high"] == 1.0, n


def test_wilson_confidence_widens_interval():
    w90, w99 = wilson(30, 100, 0.90), wilson(30, 100, 0.99)
    assert w99["ci_low"] < w90["ci_low"] < 0.3 < w90["ci_high"] < w99["ci_high"]


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
@pytest.mark.parametrize("n", [2, 3, 30, 1000])
def test_t_interval_against_scipy(confidence, n):
    x = np.random.default_rng(n).gamma(2.0, 3.0, n)
    s = summarize(x, confidence)
    lo, hi = scipy.stats.t.interval(confidence, n - 1, loc=x.mean(), scale=scipy.stats.sem(x))
    assert s["mean"] == pytest.approx(x.mean(), rel=1e-14)
    assert s["ci_low"] == pytest.approx(lo, rel=1e-12)
    assert s["ci_high"] == pytest.approx(hi, rel=1e-12)
    lo2, hi2 = t_interval(x.mean(), x.std(ddof=1), n, confidence)
    assert (lo2, hi2) == pytest.approx((lo, hi), rel=1e-12)


def test_t_interval_needs_two_values():
    assert all(math.isnan(v) for v in t_interval(1.0, 0.0, 1, 0.95))
    s = summarize(np.array([4.0]), 0.95)
    assert s["mean"] == 4.0 and s["p50"] == s["p99"] == 4.0
    assert math.isnan(s["ci_low"]) and math.isnan(s["ci_high"])


def hand_nearest_rank(x, q):
    return sorted(x)[max(0, math.ceil(q * len(x)) - 1)]


def test_nearest_rank_small_cases_by_hand():
    x = np.arange(1.0, 11.0)[::-1].copy()  # 10 .. 1
    s = summarize(x, 0.95)
    assert (s["p50"], s["p90"], s["p99"]) == (5.0, 9.0, 10.0)  # ranks 5, 9, 10 of 10
    x = np.array([3.0, 1.0, 2.0])
    assert [nearest_rank(x, q) for q in (0.0, 0.33, 0.34, 0.5, 0.67, 1.0)] == [
        1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    assert x.tolist() == [3.0, 1.0, 2.0]  # the input is not reordered


def test_summarize_leaves_input_untouched_and_matches_sorting_on_large_samples():
    rng = np.random.default_rng(0)
    # many ties and a huge spread: exercises the histogram refinement
    x = np.concatenate([np.full(5000, 7.0), np.nextafter(7.0, 8.0) * np.ones(3000),
                        rng.lognormal(0, 3, 20000), np.zeros(4000), -rng.random(100)])
    rng.shuffle(x)
    before = x.copy()
    s = summarize(x, 0.95)
    assert np.array_equal(x, before)
    for q, key in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
        assert s[key] == hand_nearest_rank(x.tolist(), q)
    for q in (0.0, 0.001, 0.1, 0.13, 0.2, 0.25, 0.75, 0.999, 1.0):
        assert nearest_rank(x, q) == hand_nearest_rank(x.tolist(), q), q


@settings(max_examples=300, deadline=None, derandomize=True)
@given(x=st.lists(st.one_of(st.integers(-5, 5).map(float),
                            st.floats(-1e9, 1e9, allow_nan=False)), min_size=1, max_size=3000),
       q=st.floats(0, 1))
def test_nearest_rank_equals_sorting(x, q):
    arr = np.array(x)
    assert nearest_rank(arr, q) == hand_nearest_rank(x, q)


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_t_quantile_matches_scipy_on_both_branches(confidence):
    # stats.t_quantile avoids scipy at run time (Newton on the incomplete beta below df 1000,
    # Cornish-Fisher to 1/df^4 from 1000 up); scipy's stdtrit is the independent truth.
    # 1e-11 relative: both branches measured at <= 2.2e-12 over df 1..10^7.
    from scipy.special import ndtri, stdtrit

    from mcqueue.stats.intervals import t_quantile, z_quantile

    for df in [1, 2, 3, 4, 7, 30, 99, 100, 500, 998, 999, 1000, 1001, 9999, 10**6]:
        want = float(stdtrit(df, 0.5 + confidence / 2.0))
        assert t_quantile(confidence, df) == pytest.approx(want, rel=1e-11), df
    assert z_quantile(confidence) == pytest.approx(float(ndtri(0.5 + confidence / 2)), rel=1e-14)


@pytest.mark.parametrize("confidence", [1e-6, 0.01, 0.3, 0.9999999, 0.9999999999999999])
def test_t_and_z_quantiles_at_extreme_confidence(confidence):
    # the tail is computed as (1 - q) / 2, exact for q near 1 (0.5 + q/2 rounded to 1.0 and the
    # normal quantile raised); near 0 Newton runs on the central probability. scipy's isf takes
    # the tail itself, so it is an exact reference at both ends.
    import scipy.stats

    from mcqueue.stats.intervals import t_quantile, z_quantile

    tail = (1.0 - confidence) / 2.0
    for df in [1, 2, 3, 30, 999, 1000, 10**6]:
        want = float(scipy.stats.t.isf(tail, df))
        assert t_quantile(confidence, df) == pytest.approx(want, rel=1e-9), df
    assert z_quantile(confidence) == pytest.approx(float(scipy.stats.norm.isf(tail)), rel=1e-12)


def test_nearest_rank_with_non_finite_values_matches_sorting():
    from mcqueue.stats.intervals import nearest_rank

    x = np.array([3.0, np.inf, 1.0, -np.inf, 2.0, 5.0])
    for q in (0.1, 0.5, 0.9, 1.0):
        k = max(0, math.ceil(q * x.size) - 1)
        assert nearest_rank(x, q) == np.sort(x)[k]
    assert x[1] == np.inf  # the input is not reordered


def _columns_for_summaries(n=200_003):
    """Columns past the direct-sort size (65,536), where ``summarize`` brackets each rank with
    a sample: continuous, skewed, sorted both ways, a few integer values (ties at every rank),
    one constant, a point mass at 0, and non-finite values (inf, -inf, nan)."""
    rng = np.random.default_rng(17)
    cols = [rng.normal(size=n), rng.lognormal(size=n), np.sort(rng.normal(size=n)),
            np.sort(rng.normal(size=n))[::-1], rng.integers(0, 5, n).astype(float),
            np.full(n, 3.5), np.where(rng.random(n) < 0.6, 0.0, rng.exponential(size=n))]
    x = rng.normal(size=n)
    x[::7] = np.inf
    cols.append(x)
    x = rng.normal(size=n)
    x[::3] = -np.inf
    cols.append(x)
    x = rng.normal(size=n)
    x[11] = np.nan
    cols.append(x)
    return cols


@pytest.mark.parametrize("which", range(10))
def test_summarize_of_a_large_column_against_sorting_and_numpy(which):
    """The quantiles are the exact nearest-rank order statistics (np.sort, NaN last), the mean
    is numpy's, and the interval's half-width is z sd / sqrt(n) with numpy's sd (ddof 1) to
    1e-4 relative (the t quantile at 200,002 degrees of freedom exceeds z by about 1e-5)."""
    x = _columns_for_summaries()[which]
    s = summarize(x, 0.95)
    srt = np.sort(x)
    n = x.size
    for key, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        want = srt[max(0, math.ceil(q * n) - 1)]
        assert s[key] == want or (math.isnan(s[key]) and math.isnan(want)), key
    assert s["mean"] == float(np.mean(x)) or math.isnan(s["mean"])
    if np.isfinite(x).all():
        half = s["ci_high"] - s["mean"]
        want_half = Z95 * float(np.std(x, ddof=1)) / math.sqrt(n)
        assert half == pytest.approx(want_half, rel=1e-4)  # t vs z at df = 200,002: 1e-5


@pytest.mark.parametrize("n", [100_001, 200_003])  # sample of every value, of every third
@pytest.mark.parametrize("which", range(10))
def test_the_kernels_summary_of_a_large_column_is_numpys_to_the_bit(which, n, monkeypatch):
    """Above NUMPY_ROWS the compiled passes (prefetching, brackets from a sample, quickselect
    over shrinking ranges) give, to the bit, what numpy's path gives of the same column:
    ``np.mean``, the sum of squares added left to right by ``np.add.accumulate``, the order
    statistics of ``np.partition``."""
    from mcqueue.stats import intervals

    x = _columns_for_summaries(n)[which]
    bounds = [(-math.inf, math.inf)]
    compiled = intervals.summarize_columns(x.reshape(1, -1), 0.95, bounds)
    monkeypatch.setattr(intervals, "NUMPY_ROWS", 10**9)
    by_numpy = intervals.summarize_columns(x.reshape(1, -1), 0.95, bounds)
    assert repr(compiled) == repr(by_numpy)


ONE = float(np.nextafter(1.0, 2.0))
# short columns of any float (NaN, infinities, -0.0, subnormal), and three use flags
COLUMN_VALUES = st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                   st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 1.0, 2.0])),
                         min_size=1, max_size=400)
THREE_FLAGS = st.lists(st.booleans(), min_size=3, max_size=3)
BIG = float(np.nextafter(1e300, np.inf))


@settings(max_examples=200, deadline=None, derandomize=True)
@example(values=[1.0, ONE, 1.0, ONE, 0.5], bounds=[(1.0, ONE), (1e300, BIG), (-5.0, -4.0)],
         use=[True, True, True])  # brackets one unit in the last place wide
@example(values=[1e300, BIG, -5.0, -4.0, 1e300], bounds=[(1e300, BIG), (1.0, ONE), (-5.0, -4.0)],
         use=[True, False, True])
@given(values=COLUMN_VALUES,
       bounds=st.lists(st.tuples(st.floats(allow_nan=False, allow_infinity=False),
                                 st.floats(allow_nan=False, allow_infinity=False)),
                       min_size=3, max_size=3),
       use=THREE_FLAGS)
def test_the_bracket_copy_is_exact_whatever_the_bracket(values, bounds, use):
    """``_inside3``'s quick test ((v - lo)(hi - v) >= 0) only decides whether
    the exact test runs: whatever the brackets (subnormal, huge, of one value, around zero)
    and values (NaN, infinities, -0.0), each copy holds exactly the values v with
    lo <= v <= hi, in order, and the sum of squares is ``np.add.accumulate``'s."""
    from mcqueue.stats.kernels import _inside3

    x = np.array(values, dtype=np.float64)
    low = np.array([min(b) for b in bounds])
    high = np.array([max(b) for b in bounds])
    inside = [(x >= low[q]) & (x <= high[q]) for q in range(3)]
    bufs = [np.full(int(inside[q].sum()) + 1, np.nan) for q in range(3)]
    got = np.zeros(3, np.int64)
    with np.errstate(all="ignore"):  # overflow to inf and inf - inf are part of the test
        mean = float(np.mean(x[np.isfinite(x)])) if np.isfinite(x).any() else 0.0
        d = x - mean
        want_sq = np.add.accumulate(d * d)[-1]
    acc = _inside3(x, low, high, np.array(use), bufs[0], bufs[1], bufs[2], mean, got)
    assert acc == want_sq or (math.isnan(acc) and math.isnan(want_sq))
    for q in range(3):
        if use[q]:
            assert got[q] == inside[q].sum()
            assert np.array_equal(bufs[q][:got[q]], x[inside[q]])
        else:
            assert got[q] == 0


@settings(max_examples=100, deadline=None, derandomize=True)
@given(x=st.lists(st.one_of(st.integers(-3, 3).map(float), st.floats(-1e6, 1e6)),
                  min_size=1, max_size=500),
       fractions=st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_ranks_selected_in_turn_over_shrinking_ranges_are_sorting(x, fractions):
    """``_select_range`` picks ascending ranks one after another, each over the range from the
    one before (as the sample brackets are picked): every value is np.sort's."""
    from mcqueue.stats.kernels import _select_range

    arr = np.array(x)
    want = np.sort(arr)
    ranks = sorted(min(len(x) - 1, int(f * len(x))) for f in fractions)
    start = 0
    for r in ranks:
        assert _select_range(arr, start, len(x) - 1, r) == want[r]
        start = r
    assert np.array_equal(np.sort(arr), want)  # reordered, nothing lost


def test_count_above_is_numpys_count():
    from mcqueue.stats.intervals import count_above

    rng = np.random.default_rng(3)
    for n in (10, 65_536, 65_537, 300_001):
        x = rng.exponential(100.0, n)
        x[::97] = np.nan
        x[::89] = np.inf
        x[::83] = -np.inf
        for t in (-1.0, 0.0, 100.0, 1e9, math.inf):
            assert count_above(x, t) == np.count_nonzero(x > t), (n, t)


def test_brackets_a_few_units_in_the_last_place_wide_lose_no_value():
    """The quick test of ``_inside3`` lets through every value of brackets 1 to 50 units in
    the last place wide, at magnitudes from 1e-300 to 1e300 (a quick test whose slack covered
    only the rounding of a half-width lost half of these values)."""
    from mcqueue.stats.kernels import _inside3

    rng = np.random.default_rng(5)
    for _ in range(2000):
        lo = float(10.0 ** rng.uniform(-300, 300)) * rng.choice([-1.0, 1.0])
        hi = lo
        for _ in range(int(rng.integers(1, 51))):
            hi = float(np.nextafter(hi, np.inf))
        x = np.array([lo, hi, lo, hi, float(np.nextafter(lo, -np.inf)),
                      float(np.nextafter(hi, np.inf))])
        bufs = [np.empty(4), np.empty(4), np.empty(4)]
        got = np.zeros(3, np.int64)
        _inside3(x, np.array([lo, lo, lo]), np.array([hi, hi, hi]),
                 np.array([True, False, False]), bufs[0], bufs[1], bufs[2], 0.0, got)
        assert got[0] == 4 and list(bufs[0]) == [lo, hi, lo, hi], (lo, hi)


def test_a_saturated_utilisation_column_takes_no_fallback():
    """A column like worker_utilization on saturated nights (half exactly 1.0, three tenths one
    unit below, the P50 on that boundary): every rank found by its bracket (no ``missed``)
    and equal to np.sort's."""
    from mcqueue.stats.kernels import _column_stats

    rng = np.random.default_rng(6)
    n = 400_000
    x = rng.uniform(0.5, 1.0, n)
    pick = rng.random(n)
    x[pick < 0.5] = 1.0
    x[(pick >= 0.5) & (pick < 0.8)] = float(np.nextafter(1.0, 0.0))
    ks = np.array([max(0, math.ceil(q * n) - 1) for q in (0.5, 0.9, 0.99)], dtype=np.int64)
    q_out = np.empty(3)
    missed = np.zeros(3, np.bool_)
    _column_stats(x, float(np.mean(x)), ks, q_out, missed)
    assert not missed.any()
    assert np.array_equal(q_out, np.sort(x)[ks])


def _bracket_pass_against_numpy(x, low, high, use, room):
    """Run ``_bracket_pass`` with buffers of ``room`` values each and compare everything it
    gives with numpy: the counts below and up to each bracket, the copies (in order, up to the
    room; got counts them all), and the sum of squares added left to right."""
    from mcqueue.stats.kernels import _bracket_pass

    inside = [(x >= low[q]) & (x <= high[q]) for q in range(3)]
    bufs = [np.full(room[q], np.nan) for q in range(3)]
    below = np.zeros(3, np.int64)
    upto = np.zeros(3, np.int64)
    got = np.zeros(3, np.int64)
    with np.errstate(all="ignore"):  # overflow to inf and inf - inf are part of the test
        finite = x[np.isfinite(x)]
        mean = float(np.mean(finite)) if finite.size else 0.0
        d = x - mean
        want_sq = np.add.accumulate(d * d)[-1]
    acc = _bracket_pass(x, low, high, np.array(use), bufs[0], bufs[1], bufs[2], mean, below,
                        upto, got)
    assert acc == want_sq or (math.isnan(acc) and math.isnan(want_sq))
    for q in range(3):
        assert below[q] == np.count_nonzero(x < low[q])
        assert upto[q] == np.count_nonzero(x <= high[q])
        if use[q]:
            want = x[inside[q]]
            assert got[q] == want.size
            kept = min(room[q], want.size)
            assert np.array_equal(bufs[q][:kept], want[:kept])
            assert np.isnan(bufs[q][kept:]).all()  # nothing written past what it copied
        else:
            assert got[q] == 0 and np.isnan(bufs[q]).all()


@settings(max_examples=200, deadline=None, derandomize=True)
@example(values=[1.0, ONE, 1.0, ONE, 0.5], bounds=[(1.0, ONE), (1e300, BIG), (-5.0, -4.0)],
         use=[True, True, True], short=[0, 0, 0])  # brackets one unit in the last place wide
@example(values=[2.0] * 9, bounds=[(2.0, 2.0), (1.0, 2.0), (2.0, 3.0)], use=[True, True, True],
         short=[0, 1, 2])  # nine equal values, every bracket holds them; rooms too small
@given(values=COLUMN_VALUES,
       bounds=st.lists(st.tuples(st.floats(allow_nan=False, allow_infinity=True),
                                 st.floats(allow_nan=False, allow_infinity=True)),
                       min_size=3, max_size=3),
       use=THREE_FLAGS,
       short=st.lists(st.integers(0, 3), min_size=3, max_size=3))
def test_the_counting_and_copying_pass_is_numpys_whatever_the_bracket(values, bounds, use,
                                                                      short):
    """``_bracket_pass`` (counts, flags eight values to a word, copies what is flagged and
    sums the squares in one pass over blocks) against numpy for any values (NaN,
    infinities, -0.0, subnormal) and brackets (of one value, one unit in the last place,
    infinite ends), with rooms from exact to three values too small."""
    x = np.array(values, dtype=np.float64)
    low = np.array([min(b) for b in bounds])
    high = np.array([max(b) for b in bounds])
    room = [max(0, int(((x >= low[q]) & (x <= high[q])).sum()) - short[q]) for q in range(3)]
    _bracket_pass_against_numpy(x, low, high, use, room)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 16_383, 16_384, 16_385, 16_392, 32_771, 100_003])
def test_the_counting_and_copying_pass_across_blocks(n):
    """Lengths around the pass's block (16,384 values) and its words of eight flags: the
    counts, copies and sum of squares are numpy's, with NaN and infinities in the column."""
    from mcqueue.stats.kernels import BLOCK

    assert BLOCK == 16_384  # the lengths above are chosen around it
    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.01] = np.nan
    x[rng.random(n) < 0.01] = np.inf
    x[rng.random(n) < 0.01] = -np.inf
    low = np.array([-0.05, 1.2, 2.3])
    high = np.array([0.05, 1.3, 2.4])
    exact = [int(((x >= low[q]) & (x <= high[q])).sum()) for q in range(3)]
    _bracket_pass_against_numpy(x, low, high, [True, True, True], exact)
    _bracket_pass_against_numpy(x, low, high, [True, False, True],
                                [max(0, v - 5) for v in exact])


def test_a_bracket_with_more_ties_than_its_sample_suggests_is_copied_again():
    """n = 4 x 65,536, so the evenly spread sample takes every fourth value: those are
    normal draws, the other three quarters are 0.0. The sample's P50 bracket (around 0 among
    the draws) then holds 0.0, which fills three quarters of the column: far more than the
    room the sample suggests, so the bracket is copied again at its size, and the P50 is
    found by it (not ``missed``). The sample misplaces the P90 and P99 (it sees only the
    draws): those two may be left to the caller's exact fallback; ``summarize`` gives
    np.sort's values for all three."""
    from mcqueue.stats.kernels import _column_stats

    n = 4 * 65_536
    x = np.zeros(n)
    x[::4] = np.random.default_rng(8).normal(size=n // 4)
    ks = np.array([max(0, math.ceil(q * n) - 1) for q in (0.5, 0.9, 0.99)], dtype=np.int64)
    q_out = np.empty(3)
    missed = np.zeros(3, np.bool_)
    acc = _column_stats(x, float(np.mean(x)), ks, q_out, missed)
    srt = np.sort(x)
    assert not missed[0] and q_out[0] == srt[ks[0]] == 0.0
    for q in range(3):
        assert missed[q] or q_out[q] == srt[ks[q]]
    d = x - float(np.mean(x))
    assert acc == np.add.accumulate(d * d)[-1]
    s = summarize(x, 0.95)
    assert [s["p50"], s["p90"], s["p99"]] == [float(v) for v in srt[ks]]


def test_a_second_copy_of_one_bracket_keeps_the_others():
    """n = 8 x 65,536: the sample takes every eighth value (a uniform grid); the other values
    are the same grid except that those from 0.95 up are all 0.99, so the P99 bracket holds
    far more values than the sample suggests and is copied again, while the P50 and P90
    brackets keep their first copies: all three ranks are found by their brackets and equal
    np.sort's (a second copy that replaced every bracket's buffer gave 0.0 for the P50 and
    P90)."""
    from mcqueue.stats.intervals import summarize_columns
    from mcqueue.stats.kernels import _column_stats

    s, m = 65_536, 8
    n = s * m
    x = np.empty(n)
    sampled = np.arange(n) % m == 0
    x[sampled] = (np.arange(s) + 0.5) / s
    others = ((np.arange(n) + 0.5) / n)[~sampled]
    x[~sampled] = np.where(others >= 0.95, 0.99, others)
    ks = np.array([max(0, math.ceil(q * n) - 1) for q in (0.5, 0.9, 0.99)], dtype=np.int64)
    want = np.sort(x)[ks]
    q_out = np.empty(3)
    missed = np.zeros(3, np.bool_)
    _column_stats(x, float(np.mean(x)), ks, q_out, missed)
    assert not missed.any()
    assert np.array_equal(q_out, want)
    r = summarize_columns(x[None, :], 0.95, [(-math.inf, math.inf)])[0]
    assert [r["p50"], r["p90"], r["p99"]] == want.tolist()
