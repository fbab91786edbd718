"""The intervals of ``whatif``: the order-statistic interval of a P90 (exact binomial coverage
of its ranks), the sectioning interval of a paired P90 difference, and their coverage on a
night whose drain-time law is known in closed form.

The coverage night: two jobs at minute 0 on two workers, lognormal runtimes (cv 0.3, mean 30
minutes), no arrival jitter, cutoff 50 minutes after the start. The drain minute is the larger
of the two runtimes, so its CDF is the product of two lognormal CDFs and every quantile and
probability below is computed from ``statistics.NormalDist`` (bisection for quantiles), not by
simulation. Scenarios: job A 1.5x longer; job A 10 minutes late. One run of N x R replications
is cut into N consecutive chunks of R (replications are iid, so the chunks are N independent
experiments), and each chunk's statistics come from ``row_statistics``, the function the
command uses.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from mcqueue.analysis.planning import Settings
from mcqueue.analysis.whatif import Outcome, row_statistics, whatif
from mcqueue.analysis.whatif_file import parse_scenarios
from mcqueue.engine.night import Night
from mcqueue.stats.paired import (nearest_rank_value, paired_quantile_difference,
                                  quantile_interval, sections)

CV = 0.3
S2 = math.log(1 + CV * CV)
S = math.sqrt(S2)
PHI = NormalDist().cdf


def lognormal_cdf(x: float, mean: float) -> float:
    """P(mean x F <= x), F lognormal with mean 1 and cv CV."""
    if x <= 0:
        return 0.0
    return PHI((math.log(x / mean) + S2 / 2) / S)


def drain_cdf(x: float, scale_a: float = 1.0, delay_a: float = 0.0) -> float:
    return lognormal_cdf(x - delay_a, 30 * scale_a) * lognormal_cdf(x, 30)


def quantile(cdf, q: float) -> float:
    lo, hi = 0.0, 1000.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < q else (lo, mid)
    return (lo + hi) / 2


# ---------------------------------------------------------------- the intervals themselves
def _binom_coverage(n: int, q: float, lo_rank: int, hi_rank: int) -> float:
    """P(lo_rank <= B <= hi_rank - 1) for B ~ Binomial(n, q), summed exactly in log space."""
    total = 0.0
    for k in range(max(0, lo_rank), min(n, hi_rank - 1) + 1):
        total += math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                          + k * math.log(q) + (n - k) * math.log1p(-q))
    return total


@pytest.mark.parametrize("n", [60, 100, 137, 251, 500, 1000, 2000, 10_000, 100_000])
def test_order_statistic_ranks_are_the_exact_binomial_tails(n):
    """For continuous data [x_(l), x_(u)] holds the true P90 with probability
    P(l <= B <= u - 1), B ~ Binomial(n, 0.9). Summed term by term (lgamma, not the incomplete
    beta the code uses): each tail is at most 2.5%, so the coverage is at least 95%, and
    moving either rank inward puts more than 2.5% in its tail (the tightest equal-tailed
    ranks)."""
    x = np.arange(1.0, n + 1)  # value = rank: the interval's ends are its ranks
    iv = quantile_interval(x, 0.9, 0.95)
    assert iv["estimate"] == math.ceil(0.9 * n)
    lo, hi = int(iv["ci_low"]), int(iv["ci_high"])
    below = _binom_coverage(n, 0.9, 0, lo)  # P(B <= lo - 1)
    above = _binom_coverage(n, 0.9, hi, n + 1)  # P(B >= hi)
    assert below <= 0.025 and above <= 0.025, (below, above)
    assert _binom_coverage(n, 0.9, 0, lo + 1) > 0.025
    assert _binom_coverage(n, 0.9, hi - 1, n + 1) > 0.025
    assert _binom_coverage(n, 0.9, lo, hi) >= 0.95


def test_quantile_interval_small_samples_and_ties():
    iv = quantile_interval(np.array([5.0, 1.0, 3.0]), 0.9, 0.95)
    assert iv["estimate"] == 5.0 and math.isnan(iv["ci_high"])  # no rank above the 3rd
    assert math.isnan(quantile_interval(np.zeros(0), 0.9, 0.95)["estimate"])
    same = quantile_interval(np.full(1000, 7.0), 0.9, 0.95)
    assert same == {"estimate": 7.0, "ci_low": 7.0, "ci_high": 7.0}


def test_paired_difference_estimate_and_sections():
    rng = np.random.default_rng(3)
    a = rng.exponential(size=1000)
    b = a + rng.normal(size=1000)
    d = paired_quantile_difference(a, b, 0.9, 0.95)
    k = math.ceil(900) - 1
    assert d["estimate"] == np.sort(b)[k] - np.sort(a)[k]
    assert d["ci_low"] < d["estimate"] < d["ci_high"]
    assert [sections(n) for n in (199, 200, 299, 300, 1999, 2000, 10 ** 6)] == [1, 2, 2, 3, 19,
                                                                                20, 20]
    small = paired_quantile_difference(a[:199], b[:199], 0.9, 0.95)
    assert math.isnan(small["ci_low"]) and small["estimate"] == (
        nearest_rank_value(b[:199], 0.9) - nearest_rank_value(a[:199], 0.9))
    same = paired_quantile_difference(a, a + 2.0, 0.9, 0.95)
    assert same["estimate"] == pytest.approx(2.0) and same["ci_high"] - same["ci_low"] < 1e-9
    with pytest.raises(ValueError):
        paired_quantile_difference(a, b[:10], 0.9, 0.95)


# ---------------------------------------------------------------- coverage on a known law
def _chunks(o: Outcome, n: int, r: int):
    for i in range(n):
        s = slice(i * r, (i + 1) * r)
        yield Outcome(o.overflow[s], o.late[s], o.p95[s], o.drain[s])


@pytest.mark.slow
@pytest.mark.parametrize("r", [1000, 4000])
def test_coverage_of_the_drain_p90_and_overflow_intervals(r):
    """N = 2,000 independent experiments of R replications each: the share of intervals that
    hold the closed-form truth must be 95% within 4 standard errors of a binomial share
    (sqrt(0.95 x 0.05 / 2000) = 0.49%: [93.05%, 96.95%]) for the paired intervals (drain-P90
    difference by sectioning, overflow difference by paired t), and at least 93.05% (at most
    99%) for the order-statistic interval of the P90, whose exact binomial ranks cover at least
    95% by construction (exactly 95.49% at R = 1,000 and 95.48% at R = 4,000 for continuous
    data)."""
    n = 2000
    night = Night.from_arrays([0, 0], [30, 30], [1, 1], [False, False], ["A", "B"],
                              ["etl", "etl"], batch_end="01:50")
    specs = parse_scenarios('[[scenario]]\nname = "longer"\nchanges = [{ runtime = 1.5, job '
                            '= "A" }]\n[[scenario]]\nname = "late"\nchanges = [{ delay = 10, '
                            'job = "A" }]\n')
    res = whatif(night, specs, 2, Settings(replications=n * r, seed=20260513, runtime_cv=CV,
                                           arrival_jitter=0.0))
    by = {row.name: row.outcome for row in res.scenarios}
    base_p90 = quantile(drain_cdf, 0.9)
    truth = {"longer": (quantile(lambda x: drain_cdf(x, scale_a=1.5), 0.9),
                        1 - drain_cdf(50, scale_a=1.5)),
             "late": (quantile(lambda x: drain_cdf(x, delay_a=10), 0.9),
                      1 - drain_cdf(50, delay_a=10))}
    base_over = 1 - drain_cdf(50)
    tol = 4 * math.sqrt(0.95 * 0.05 / n)
    measured = {}
    for name, (p90, over) in truth.items():
        hits = {"diff": 0, "value": 0, "base value": 0, "overflow diff": 0}
        for base, o in zip(_chunks(res.baseline.outcome, n, r), _chunks(by[name], n, r)):
            st = row_statistics(o, base, 0.95, False)
            q = st["queue_drained_minute"]
            d = q["difference"]
            hits["diff"] += d["ci_low"] <= p90 - base_p90 <= d["ci_high"]
            hits["value"] += q["ci_low"] <= p90 <= q["ci_high"]
            b = row_statistics(base, None, 0.95, False)["queue_drained_minute"]
            hits["base value"] += b["ci_low"] <= base_p90 <= b["ci_high"]
            od = st["overflow_probability"]["difference"]
            hits["overflow diff"] += od["ci_low"] <= over - base_over <= od["ci_high"]
        share = {k: v / n for k, v in hits.items()}
        measured[name] = share
        assert abs(share["diff"] - 0.95) <= tol, (name, share)
        assert abs(share["overflow diff"] - 0.95) <= tol, (name, share)
        for k in ("value", "base value"):
            assert 0.95 - tol <= share[k] <= 0.99, (name, k, share)
    print(f"R={r}: {measured}")
