"""Scores of probabilistic forecasts against what happened (pure numpy).

A forecast is a sample (the Monte Carlo replications of one night); the observation is one
number (the drain time that night) or one event (the night overflowed). Every function works on
many forecasts at once: ``samples`` of shape (N, R), ``observed`` of shape (N,).

- `pit`: the probability integral transform of each observation under its forecast sample,
  randomised for ties: ``F(y-) + v (F(y) - F(y-))`` with F the sample's empirical CDF and v
  uniform on [0, 1) given by the caller (so a run is reproducible). Under a correct forecast
  the PIT is uniform on [0, 1]; a PIT piling up near 0 or 1 means the observations fall outside
  the forecast too often (too narrow), near 0.5 too seldom (too wide). Randomising is what
  keeps the PIT uniform when the observation equals sample values (a drain time of exactly 0,
  or a sample with repeated values): a plain ``F(y)`` would not be (Czado, Gneiting and Held
  2009).
- `central_interval` / `covered`: the central interval of level L has the nearest-rank
  quantiles (1 - L) / 2 and (1 + L) / 2 of the sample as ends (both included).
- `brier`: mean squared difference between a forecast probability and the 0/1 outcome;
  `reliability`: the forecasts in equal-width probability bins with their counts, mean
  forecast and observed frequency, and Murphy's (1973) decomposition.
- `crps_samples`: the continuous ranked probability score of the empirical distribution of
  the sample, in the energy form ``E|X - y| - E|X - X'| / 2`` (X, X' independent draws from
  the sample, so pairs i = j included): exact for the empirical distribution (it is the integral
  of (F_n(x) - 1{x >= y})^2), computed in O(R log R) per forecast from the sorted sample.
  Lower is better; it has the unit of y and reduces to |x - y| for a one-point forecast.
- `ks_uniform`: the Kolmogorov-Smirnov statistic of PIT values against the uniform law and its
  asymptotic p-value (Kolmogorov's series with Stephens' 1970 small-sample correction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _as_2d(samples, observed) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    y = np.asarray(observed, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[1] == 0:
        raise ValueError(f"samples must be (N, R) with R >= 1 and observed (N,), got "
                         f"{x.shape} and {y.shape}")
    return x, y


def pit(samples, observed, v=None) -> np.ndarray:
    """Randomised PIT of each observation under its sample: F(y-) + v (F(y) - F(y-)).

    ``v``: uniform numbers in [0, 1), one per forecast (default 0.5: the mid-PIT, not
    randomised). Rows of ``samples`` need not be sorted.
    """
    x, y = _as_2d(samples, observed)
    r = x.shape[1]
    below = np.count_nonzero(x < y[:, None], axis=1)
    at_or_below = np.count_nonzero(x <= y[:, None], axis=1)
    v = np.full(y.shape, 0.5) if v is None else np.asarray(v, dtype=np.float64).reshape(-1)
    return (below + v * (at_or_below - below)) / r


def nearest_rank(sorted_rows: np.ndarray, q: float) -> np.ndarray:
    """The ceil(q R)-th smallest value of each sorted row (q in (0, 1]; q = 0 gives the min)."""
    r = sorted_rows.shape[1]
    k = min(r - 1, max(0, math.ceil(q * r) - 1))
    return sorted_rows[:, k]


def central_interval(samples, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Ends of the central ``level`` interval of each sample: nearest-rank quantiles
    (1 - level) / 2 and (1 + level) / 2."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    x = np.sort(np.asarray(samples, dtype=np.float64), axis=-1)
    if x.ndim == 1:
        x = x[None, :]
    return nearest_rank(x, (1 - level) / 2), nearest_rank(x, (1 + level) / 2)


def covered(samples, observed, level: float) -> np.ndarray:
    """Whether each observation lies in its sample's central ``level`` interval (ends
    included)."""
    x, y = _as_2d(samples, observed)
    lo, hi = central_interval(x, level)
    return (y >= lo) & (y <= hi)


def brier(prob, outcome) -> float:
    """Mean of (p - o)^2 over forecasts p in [0, 1] of events o in {0, 1}."""
    p = np.asarray(prob, dtype=np.float64).reshape(-1)
    o = np.asarray(outcome, dtype=np.float64).reshape(-1)
    if p.shape != o.shape or p.size == 0:
        raise ValueError("brier needs one outcome per forecast and at least one forecast")
    return float(np.mean((p - o) ** 2))


@dataclass(frozen=True)
class Reliability:
    """Forecast probabilities in ``bins`` equal-width bins of [0, 1] (the last closed).

    Per bin: ``count``, ``mean_forecast`` and ``observed_rate`` (NaN for an empty bin).
    Murphy's decomposition ``brier = reliability - resolution + uncertainty`` holds exactly
    when every forecast in a bin is the same value; otherwise up to the spread within bins
    (``within``, so that ``brier = reliability - resolution + uncertainty + within``).
    """

    edges: np.ndarray
    count: np.ndarray
    mean_forecast: np.ndarray
    observed_rate: np.ndarray
    brier: float
    reliability: float
    resolution: float
    uncertainty: float
    within: float


def reliability(prob, outcome, bins: int = 10) -> Reliability:
    p = np.asarray(prob, dtype=np.float64).reshape(-1)
    o = np.asarray(outcome, dtype=np.float64).reshape(-1)
    if p.shape != o.shape or p.size == 0:
        raise ValueError("reliability needs one outcome per forecast and at least one forecast")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins!r}")
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.minimum((p * bins).astype(np.int64), bins - 1)
    count = np.bincount(idx, minlength=bins).astype(np.int64)
    sum_p = np.bincount(idx, weights=p, minlength=bins)
    sum_o = np.bincount(idx, weights=o, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(count > 0, sum_p / count, np.nan)
        rate = np.where(count > 0, sum_o / count, np.nan)
    n = p.size
    base = float(o.mean())
    has = count > 0
    rel = float(np.sum(count[has] * (mean_p[has] - rate[has]) ** 2) / n)
    res = float(np.sum(count[has] * (rate[has] - base) ** 2) / n)
    unc = base * (1.0 - base)
    b = brier(p, o)
    return Reliability(edges, count, mean_p, rate, b, rel, res, unc, b - (rel - res + unc))


def crps_samples(samples, observed) -> np.ndarray:
    """CRPS of each observation under the empirical distribution of its sample (energy form,
    exact for that distribution): mean|x_i - y| - sum_i sum_j |x_i - x_j| / (2 R^2)."""
    x, y = _as_2d(samples, observed)
    r = x.shape[1]
    xs = np.sort(x, axis=1)
    term1 = np.mean(np.abs(xs - y[:, None]), axis=1)
    # sum_{i,j} |x_i - x_j| = 2 sum_k (2k - R - 1) x_(k), k = 1..R over the sorted sample
    w = 2.0 * np.arange(1, r + 1) - r - 1.0
    pairs = 2.0 * np.sum(xs * w, axis=1)  # row by row (a matmul's blocking depends on N)
    return term1 - pairs / (2.0 * r * r)


def ks_uniform(values) -> tuple[float, float]:
    """(D, p-value) of the one-sample Kolmogorov-Smirnov test of ``values`` against U(0, 1).

    D = sup |F_n(u) - u|; p from the Kolmogorov distribution at (sqrt(n) + 0.12 +
    0.11 / sqrt(n)) D (Stephens 1970; within about 0.01 of the exact p for n >= 5 where
    p < 0.5, conservative at the few-percent level for small n).
    """
    u = np.sort(np.asarray(values, dtype=np.float64).reshape(-1))
    n = u.size
    if n == 0:
        raise ValueError("ks_uniform needs at least one value")
    i = np.arange(1, n + 1)
    d = float(max(np.max(i / n - u), np.max(u - (i - 1) / n)))
    t = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d
    return d, kolmogorov_sf(t)


def kolmogorov_sf(t: float) -> float:
    """P(K > t) for Kolmogorov's limiting distribution: 2 sum_{k>=1} (-1)^(k-1) e^(-2 k^2 t^2)
    (for small t the complementary theta series, which converges there)."""
    if t <= 0:
        return 1.0
    if t < 1.0:  # Jacobi form of the CDF: sqrt(2 pi) / t sum_{k>=1} e^(-(2k-1)^2 pi^2 / (8 t^2))
        s = sum(math.exp(-((2 * k - 1) ** 2) * math.pi ** 2 / (8 * t * t)) for k in range(1, 50))
        return float(min(1.0, max(0.0, 1.0 - math.sqrt(2 * math.pi) / t * s)))
    s = sum((-1) ** (k - 1) * math.exp(-2 * k * k * t * t) for k in range(1, 101))
    return float(min(1.0, max(0.0, 2.0 * s)))
