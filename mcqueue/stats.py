"""Across-replication statistics: Student-t means, nearest-rank quantiles, Wilson proportions.

Each replication is one night; every statistic is over replications (one value per night), never
over jobs pooled across replications, because waits within a night are correlated.
"""

from __future__ import annotations

import math

import numpy as np

QUANTILES = (0.5, 0.9, 0.99)


def z_quantile(confidence: float) -> float:
    """Two-sided normal quantile z for a confidence level (scipy.special: no per-call
    overhead of scipy.stats)."""
    from scipy.special import ndtri

    return float(ndtri(0.5 + confidence / 2.0))


def t_quantile(confidence: float, df: int) -> float:
    """Two-sided Student-t quantile with ``df`` degrees of freedom."""
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.5 + confidence / 2.0))


def t_interval(mean: float, sd: float, n: int, confidence: float) -> tuple[float, float]:
    """Student-t interval for a mean; (nan, nan) when n < 2 (no spread to estimate)."""
    if n < 2:
        return (math.nan, math.nan)
    half = t_quantile(confidence, n - 1) * sd / math.sqrt(n)
    return (mean - half, mean + half)


def nearest_rank(x: np.ndarray, q: float) -> float:
    """The ceil(q n)-th smallest value (nearest rank, the same rule as the per-night p95),
    found without copying x (10 M replications must fit in 1 GiB)."""
    from .kernel import select_rank

    n = x.shape[0]
    return float(select_rank(x, max(0, math.ceil(q * n) - 1)))


def summarize(x: np.ndarray, confidence: float) -> dict[str, float]:
    """mean, Student-t interval, and the P50/P90/P99 (nearest rank) of one metric."""
    from .kernel import sum_sq_dev

    x = np.ascontiguousarray(x, dtype=np.float64)
    n = x.shape[0]
    mean = float(x.mean())
    sd = math.sqrt(sum_sq_dev(x, mean) / (n - 1)) if n > 1 else math.nan
    lo, hi = t_interval(mean, sd, n, confidence)
    p50, p90, p99 = (nearest_rank(x, q) for q in QUANTILES)
    return {"mean": mean, "ci_low": lo, "ci_high": hi, "p50": p50, "p90": p90, "p99": p99}


def wilson(successes: int, n: int, confidence: float) -> dict[str, float]:
    """Share with a Wilson score interval: stays inside [0, 1] and honest at 0 and n."""
    if n == 0:
        return {"estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    lo, hi = wilson_bounds(successes, n, z_quantile(confidence))
    return {"estimate": successes / n, "ci_low": lo, "ci_high": hi}


def wilson_bounds(successes: int, n: int, z: float) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` of ``n`` at normal quantile ``z``."""
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at 0 and n the bound on that side is exactly 0 or 1 (rounding would leave 1e-19 or
    # 0.9999999999999998, an interval that no longer contains the estimate)
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi
