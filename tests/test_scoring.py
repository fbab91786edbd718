"""mcqueue/stats/scoring.py against closed forms and independent implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from mcqueue.stats import scoring as S


def crps_normal(mu: float, sigma: float, y: float) -> float:
    """Gneiting and Raftery (2007), eq. (5): sigma [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)]."""
    z = (y - mu) / sigma
    phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    return sigma * (z * (2 * cdf - 1) + 2 * phi - 1 / math.sqrt(math.pi))


@pytest.mark.parametrize("y", [-2.0, 0.0, 0.7, 3.5])
def test_crps_of_a_normal_sample_matches_the_closed_form(y):
    """R = 200,000 draws of N(1, 2). The sample CRPS converges to the closed form; its standard
    error over repeated samples, measured below on 20 independent samples, is about 0.002 at
    this R, so 0.015 (more than 6 se plus the O(1/R) bias of the pair term, sigma/(R sqrt(pi)))
    is the tolerance."""
    rng = np.random.default_rng(7)
    x = rng.normal(1.0, 2.0, size=(1, 200_000))
    got = S.crps_samples(x, [y])[0]
    assert got == pytest.approx(crps_normal(1.0, 2.0, y), abs=0.015)


def test_crps_standard_error_justifies_the_tolerance():
    rng = np.random.default_rng(8)
    vals = [S.crps_samples(rng.normal(1.0, 2.0, size=(1, 200_000)), [0.7])[0]
            for _ in range(20)]
    assert np.std(vals, ddof=1) < 0.004


def test_crps_is_the_integral_of_the_squared_cdf_difference():
    """Exact for the empirical distribution: the energy form equals the integral of
    (F_n(x) - 1{x >= y})^2 dx, computed here piecewise on the sorted points, and the
    brute-force double sum over all pairs."""
    rng = np.random.default_rng(3)
    for r in (1, 2, 5, 37):
        x = rng.gamma(2.0, 3.0, size=r)
        for y in (x.min() - 1, np.median(x), x.max() + 2, x[0]):
            pts = np.sort(np.concatenate([x, [y]]))
            integral = 0.0
            for a, b in zip(pts[:-1], pts[1:]):
                mid = (a + b) / 2
                f = np.mean(x <= mid)
                integral += (f - (1.0 if mid >= y else 0.0)) ** 2 * (b - a)
            brute = np.mean(np.abs(x - y)) - np.abs(x[:, None] - x[None, :]).sum() / (2 * r * r)
            got = S.crps_samples(x[None, :], [y])[0]
            assert got == pytest.approx(integral, rel=1e-12, abs=1e-12)
            assert got == pytest.approx(brute, rel=1e-12, abs=1e-12)


def test_crps_of_a_point_forecast_is_the_absolute_error():
    assert S.crps_samples([[3.0, 3.0, 3.0]], [5.5])[0] == pytest.approx(2.5)


def test_brier_of_known_cases():
    assert S.brier([1.0, 0.0], [1, 0]) == 0.0
    assert S.brier([0.0, 1.0], [1, 0]) == 1.0
    assert S.brier([0.5] * 4, [1, 0, 1, 0]) == 0.25
    # 0.8 for an event that happens 3 times in 4: ((0.2)^2 * 3 + 0.8^2) / 4
    assert S.brier([0.8] * 4, [1, 1, 1, 0]) == pytest.approx((3 * 0.04 + 0.64) / 4)


def test_reliability_table_and_murphy_decomposition():
    p = np.array([0.05, 0.05, 0.05, 0.05, 0.95, 0.95, 0.55, 0.55])
    o = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    rel = S.reliability(p, o, bins=10)
    assert rel.count.sum() == 8 and rel.count[0] == 4 and rel.count[9] == 2 and rel.count[5] == 2
    assert rel.observed_rate[0] == 0.25 and rel.observed_rate[9] == 1.0
    assert rel.mean_forecast[5] == pytest.approx(0.55)
    assert np.isnan(rel.observed_rate[3])
    # one forecast value per bin: the decomposition is exact (Murphy 1973), worked by hand:
    # base rate 4/8; REL = (4 (0.05-0.25)^2 + 2 (0.95-1)^2 + 2 (0.55-0.5)^2) / 8
    assert rel.reliability == pytest.approx((4 * 0.04 + 2 * 0.0025 + 2 * 0.0025) / 8)
    assert rel.resolution == pytest.approx((4 * 0.0625 + 2 * 0.25 + 0) / 8)
    assert rel.uncertainty == 0.25
    assert rel.within == pytest.approx(0.0, abs=1e-15)
    assert rel.brier == pytest.approx(rel.reliability - rel.resolution + rel.uncertainty)


def test_pit_with_ties_is_randomised_between_the_cdf_limits():
    x = np.array([[1.0, 2.0, 2.0, 2.0, 3.0]])
    assert S.pit(x, [2.0], [0.0])[0] == pytest.approx(0.2)   # F(y-) = 1/5
    assert S.pit(x, [2.0], [0.999999])[0] == pytest.approx(0.8, abs=1e-6)  # F(y) = 4/5
    assert S.pit(x, [2.5], [0.3])[0] == pytest.approx(0.8)   # no tie: F(y)
    assert S.pit(x, [0.0])[0] == 0.0 and S.pit(x, [9.0])[0] == 1.0


def test_pit_is_uniform_under_a_correct_forecast_even_with_ties():
    """2,000 forecasts, each 500 draws of a discrete law (ties everywhere) and one observation
    from the same law: the randomised PIT passes a KS test against U(0, 1) at alpha = 0.01,
    while the plain F(y) fails it (its values are not uniform)."""
    rng = np.random.default_rng(11)
    n, r = 2000, 500
    x = rng.poisson(3.0, size=(n, r)).astype(float)
    y = rng.poisson(3.0, size=n).astype(float)
    u = S.pit(x, y, rng.random(n))
    assert sps.kstest(u, "uniform").pvalue > 0.01
    plain = S.pit(x, y, np.ones(n) - 1e-12)
    assert sps.kstest(plain, "uniform").pvalue < 1e-6


def test_central_interval_coverage_of_a_correct_forecast():
    """4,000 normal forecasts of 1,000 draws: the 90% interval covers 90% of observations
    from the same law; binomial se sqrt(0.09 / 4000) = 0.0047, tolerance 4 se; the nearest-rank
    ends add at most 2/1000 of coverage."""
    rng = np.random.default_rng(12)
    x = rng.normal(size=(4000, 1000))
    y = rng.normal(size=4000)
    for level in (0.5, 0.9):
        cov = S.covered(x, y, level).mean()
        se = math.sqrt(level * (1 - level) / 4000)
        assert abs(cov - level) <= 4 * se + 0.002


def test_central_interval_ends_are_nearest_rank():
    x = np.arange(1.0, 101.0)[None, :]  # 1..100
    lo, hi = S.central_interval(x, 0.9)
    assert (lo[0], hi[0]) == (5.0, 95.0)   # ceil(0.05 * 100) = 5th, ceil(0.95 * 100) = 95th
    lo, hi = S.central_interval(x, 0.5)
    assert (lo[0], hi[0]) == (25.0, 75.0)


@pytest.mark.parametrize("n", [5, 20, 200, 5000])
def test_ks_uniform_matches_scipy(n):
    """D exactly; the p-value within 0.02 of scipy's exact one (Stephens' approximation)."""
    rng = np.random.default_rng(n)
    for u in (rng.random(n), rng.random(n) ** 1.3):
        d, p = S.ks_uniform(u)
        ref = sps.kstest(u, "uniform", method="exact" if n <= 200 else "asymp")
        assert d == pytest.approx(ref.statistic, rel=1e-12)
        assert p == pytest.approx(ref.pvalue, abs=0.02)


def test_kolmogorov_series_meet_where_they_switch():
    below = S.kolmogorov_sf(1.0 - 1e-9)
    above = S.kolmogorov_sf(1.0 + 1e-9)
    assert below == pytest.approx(above, abs=1e-8)
    assert S.kolmogorov_sf(1.358) == pytest.approx(0.05, abs=5e-4)  # the 5 % critical value


def test_shapes_are_checked():
    with pytest.raises(ValueError):
        S.pit(np.ones((2, 3)), [1.0])
    with pytest.raises(ValueError):
        S.brier([], [])
    with pytest.raises(ValueError):
        S.crps_samples(np.ones((1, 0)), [1.0])
