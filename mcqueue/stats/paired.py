"""Intervals for a quantile and for the paired difference of two quantiles (``whatif``'s drain
P90).

Both use the nearest-rank quantile of the rest of mcqueue (the ceil(q n)-th smallest value).

- ``quantile_interval``: the distribution-free order-statistic interval (Conover, "Practical
  Nonparametric Statistics", section 3.2). With n iid values of a continuous law,
  B = #{x_i <= xi_q} is Binomial(n, q), and [x_(l), x_(u)] holds xi_q exactly when
  l <= B <= u - 1. l is the largest rank with P(B <= l - 1) <= alpha/2 and u the smallest with
  P(B >= u) <= alpha/2 (alpha = 1 - confidence), found from the normal approximation and
  corrected with the exact binomial CDF (the regularised incomplete beta): coverage at least
  the confidence, each tail at most alpha/2 (ties in the data only raise it). A rank outside
  1..n means that bound cannot be given at this confidence with n values: it is NaN (null in
  JSON).
- ``paired_quantile_difference``: sectioning (Nakayama 2014, "Confidence intervals for
  quantiles using sectioning when applying variance-reduction techniques", ACM TOMACS 24(4)).
  The n pairs (a_i, b_i) are cut into K batches of consecutive pairs (``numpy.array_split``);
  in each batch the difference of the two nearest-rank quantiles is computed on the same
  pairs; the interval is the whole-sample difference +- t_{K-1} s_K / sqrt(K), s_K the standard
  deviation of the K batch differences. Pairs are iid across replications, so the batch
  differences are iid and the pairing (common random numbers) is kept inside each batch; the
  interval is asymptotically valid for fixed K as n grows. K = min(20, n // 100): fewer than 200
  pairs give no interval (NaN). Its coverage is measured in tests/test_whatif_stats.py.
"""

from __future__ import annotations

import math

import numpy as np

from .intervals import _betainc, t_quantile, z_quantile

SECTIONS = 20  # batches of the sectioning interval
MIN_SECTION = 100  # pairs per batch at least


def nearest_rank_value(x: np.ndarray, q: float) -> float:
    """The ceil(q n)-th smallest value of x (n >= 1)."""
    n = x.shape[0]
    k = max(0, math.ceil(q * n) - 1)
    return float(np.partition(x, k)[k])


def binomial_cdf(k: int, n: int, q: float) -> float:
    """P(B <= k) for B ~ Binomial(n, q), 0 < q < 1 (regularised incomplete beta)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return _betainc(n - k, k + 1, 1.0 - q)


def order_statistic_ranks(n: int, q: float, confidence: float) -> tuple[int, int]:
    """(l, u), 1-based: the largest l with P(B <= l - 1) <= alpha/2 and the smallest u with
    P(B >= u) <= alpha/2, B ~ Binomial(n, q); l may be < 1 and u > n (no such bound)."""
    tail = (1.0 - confidence) / 2.0
    z = z_quantile(confidence)
    sigma = math.sqrt(n * q * (1.0 - q))
    lo = max(0, math.floor(n * q - z * sigma))
    while lo >= 1 and binomial_cdf(lo - 1, n, q) > tail:
        lo -= 1
    while lo + 1 <= n and binomial_cdf(lo, n, q) <= tail:
        lo += 1
    hi = min(n + 1, math.ceil(n * q + z * sigma) + 1)
    while hi <= n and 1.0 - binomial_cdf(hi - 1, n, q) > tail:
        hi += 1
    while hi - 1 >= 1 and 1.0 - binomial_cdf(hi - 2, n, q) <= tail:
        hi -= 1
    return lo, hi


def quantile_interval(x: np.ndarray, q: float, confidence: float) -> dict[str, float]:
    """Nearest-rank quantile q of x with its order-statistic interval (module docstring):
    ``{"estimate", "ci_low", "ci_high"}``, a bound NaN when its rank falls outside 1..n."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n == 0:
        return {"estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    lo_rank, hi_rank = order_statistic_ranks(n, q, confidence)
    k = max(0, math.ceil(q * n) - 1)
    ranks = sorted({k} | {r - 1 for r in (lo_rank, hi_rank) if 1 <= r <= n})
    part = np.partition(x, ranks)
    return {"estimate": float(part[k]),
            "ci_low": float(part[lo_rank - 1]) if 1 <= lo_rank <= n else math.nan,
            "ci_high": float(part[hi_rank - 1]) if 1 <= hi_rank <= n else math.nan}


def sections(n: int) -> int:
    """Batches of the sectioning interval for n pairs: min(20, n // 100) (< 2: no interval)."""
    return min(SECTIONS, n // MIN_SECTION)


def paired_quantile_difference(a: np.ndarray, b: np.ndarray, q: float,
                               confidence: float) -> dict[str, float]:
    """Quantile q of b minus quantile q of a (nearest rank; a_i and b_i from the same
    replication) with the sectioning interval of the module docstring:
    ``{"estimate", "ci_low", "ci_high"}`` (the bounds NaN with fewer than 200 pairs)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("paired samples must be two vectors of one length")
    n = a.shape[0]
    if n == 0:
        return {"estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    d = nearest_rank_value(b, q) - nearest_rank_value(a, q)
    k = sections(n)
    if k < 2:
        return {"estimate": d, "ci_low": math.nan, "ci_high": math.nan}
    parts = [nearest_rank_value(bb, q) - nearest_rank_value(aa, q)
             for aa, bb in zip(np.array_split(a, k), np.array_split(b, k))]
    s = float(np.std(parts, ddof=1))
    half = t_quantile(confidence, k - 1) * s / math.sqrt(k)
    return {"estimate": d, "ci_low": d - half, "ci_high": d + half}
