"""Across-replication statistics: Student-t means, nearest-rank quantiles, Wilson proportions.

Each replication is one night; every statistic is over replications (one value per night), never
over jobs pooled across replications, because waits within a night are correlated.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from functools import lru_cache, partial
from statistics import NormalDist

import numpy as np

QUANTILES = (0.5, 0.9, 0.99)


def z_quantile(confidence: float) -> float:
    """Two-sided normal quantile z for a confidence level (statistics.NormalDist: Wichura's
    AS 241, accurate to about 1e-16)."""
    return -NormalDist().inv_cdf((1.0 - confidence) / 2.0)  # exact tail even for q near 1


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
           + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def _t_upper_tail(t: float, df: float) -> float:
    """P(T > t) for t >= 0."""
    return 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))


def _t_central(t: float, df: float) -> float:
    """P(|T| < t) for t >= 0 (no cancellation when t is small)."""
    return _betainc(0.5, df / 2.0, t * t / (df + t * t))


@lru_cache(maxsize=1024)
def t_quantile(confidence: float, df: int) -> float:
    """Two-sided Student-t quantile with ``df`` degrees of freedom.

    df >= 1000: the Cornish-Fisher expansion to 1/df^4 (Abramowitz & Stegun 26.7.5; relative
    error below 2e-13 there). Smaller df: Newton's method on the upper tail (incomplete beta)
    from the normal quantile (about 1e-13). tests/test_stats.py checks both against scipy.
    Written out so the command line need not load scipy: numba imports scipy.linalg whenever
    scipy is installed, 0.3 s of start-up.
    """
    if df >= 1000:
        z = z_quantile(confidence)
        z2 = z * z
        g1 = z * (z2 + 1.0) / 4.0
        g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0
        g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0
        g4 = z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0
        nu = float(df)
        return z + (g1 + (g2 + (g3 + g4 / nu) / nu) / nu) / nu
    if df < 1:
        raise ValueError(f"df must be >= 1, got {df!r}")
    tail = (1.0 - confidence) / 2.0
    if df == 1:  # Cauchy
        return 1.0 / math.tan(math.pi * tail)
    if df == 2:
        return (1.0 - 2.0 * tail) / math.sqrt(2.0 * tail * (1.0 - tail))
    nu = float(df)
    logc = (math.lgamma((nu + 1.0) / 2.0) - math.lgamma(nu / 2.0)
            - 0.5 * math.log(nu * math.pi))
    t = z_quantile(confidence)
    for _ in range(100):
        pdf = math.exp(logc - (nu + 1.0) / 2.0 * math.log1p(t * t / nu))
        if confidence >= 0.5:  # solve on the tail: accurate for confidence near 1
            step = (_t_upper_tail(t, nu) - tail) / pdf
        else:  # solve on the centre: accurate for confidence near 0
            step = (confidence - _t_central(t, nu)) / (2.0 * pdf)
        t += step
        if abs(step) <= 1e-15 * t:
            break
    return t


def t_interval(mean: float, sd: float, n: int, confidence: float,
               lower: float = -math.inf, upper: float = math.inf) -> tuple[float, float]:
    """Student-t interval for a mean; (nan, nan) when n < 2 (no spread to estimate).

    ``lower``/``upper`` are the bounds every value (hence the mean) obeys, e.g. 0 and 1 for a
    share: the interval is cut to them. The cut part cannot hold the mean, so coverage is
    unchanged and a reported interval never leaves the metric's own range.
    """
    if n < 2:
        return (math.nan, math.nan)
    half = t_quantile(confidence, n - 1) * sd / math.sqrt(n)
    return (max(lower, mean - half), min(upper, mean + half))


def nearest_rank(x: np.ndarray, q: float) -> float:
    """The ceil(q n)-th smallest value (nearest rank, the same rule as the per-night p95),
    found without copying x (10 M replications must fit in 1 GiB)."""
    from .kernels import select_rank

    n = x.shape[0]
    return float(select_rank(x, max(0, math.ceil(q * n) - 1)))


def summarize(x: np.ndarray, confidence: float, lower: float = -math.inf,
              upper: float = math.inf) -> dict[str, float]:
    """mean, Student-t interval (cut to [lower, upper], the metric's own range), and the
    P50/P90/P99 (nearest rank) of one metric."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    return summarize_columns(x.reshape(1, -1), confidence, [(lower, upper)])[0]


def threads() -> int:
    """numba's thread count (the statistics use as many threads)."""
    from numba import get_num_threads

    return get_num_threads()


NUMPY_ROWS = 65_536  # up to this many values a row's statistics are taken by numpy


def _sequential_sum_sq(x: np.ndarray, mean: float) -> float:
    """Sum of (x - mean)**2 added in index order from 0.0: the loop of
    ``kernels.sum_sq_dev``, by numpy (``np.add.accumulate`` adds strictly left to right)."""
    if x.shape[0] == 0:
        return 0.0
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, as in the kernel
        d = x.astype(np.float64) - mean
        d *= d
        return float(np.add.accumulate(d)[-1])


def run_all(tasks: list[Callable[[], None]], workers: int) -> None:
    """Run every task once, in order of the list, on the calling thread and ``workers`` - 1
    helper threads taking the next task as each finishes (the statistics kernels release the
    GIL). The calling thread starts at once: a helper woken while the other core is busy
    started up to 4 ms late on the 2-core machine we measure on (docs/benchmarks.md, issue 17),
    so a pool of ``workers`` threads, with the caller waiting, lost that much of every call.
    A task that fails, or Ctrl-C, stops the taking of further tasks; the helpers finish the
    task in hand before the error is raised."""
    if workers <= 1:
        for task in tasks:
            task()
        return
    from concurrent.futures import ThreadPoolExecutor

    order = iter(range(len(tasks)))
    lock = threading.Lock()  # one taker at a time (also without a GIL)
    stop: list[bool] = []

    def drain() -> None:
        try:
            while True:
                with lock:
                    k = next(order, -1)
                if k < 0 or stop:
                    return
                tasks[k]()
        except BaseException:
            stop.append(True)
            raise

    helpers = []
    with ThreadPoolExecutor(workers - 1) as pool:  # leaving it waits for the helpers
        try:
            for _ in range(workers - 1):
                helpers.append(pool.submit(drain))
            drain()
        except BaseException:  # also Ctrl-C while the helpers were being started
            stop.append(True)
            raise
    for h in helpers:
        h.result()


def summarize_columns(cols: np.ndarray, confidence: float,
                      bounds: list[tuple[float, float]],
                      beside: Callable[[], None] | None = None) -> list[dict[str, float]]:
    """``summarize`` of every row of ``cols`` (one metric per row, float64): numpy's mean, then
    a few passes per row for the sum of squared deviations and the three nearest-rank
    quantiles together (``stats.kernels._column_stats``), the rows on numba's thread count of
    threads (the kernel releases the GIL; a thread pool rather than prange, whose compile
    took 3 s of a first run).

    Up to ``NUMPY_ROWS`` values a row is summarised by numpy alone (the same sequential sum of
    squares as ``np.add.accumulate``, the exact order statistics of ``np.partition``): the
    same numbers, and a run of the default 10,000 replications compiles no statistics kernel
    (1.5 s of a first run).

    ``beside``, if given, is one more task, started first on the same threads as the rows
    (the counts' summary, as long as a row's; the caller keeps its result)."""
    from .kernels import _column_stats

    m, n = cols.shape
    means = np.full(m, math.nan)
    ks = np.array([max(0, math.ceil(q * n) - 1) for q in QUANTILES], dtype=np.int64)
    sumsq = np.empty(m, np.float64)
    qs = np.empty((m, len(QUANTILES)), np.float64)

    def one(i: int) -> None:
        x = np.ascontiguousarray(cols[i])
        means[i] = float(x.mean())  # numpy's pairwise sum (releases the GIL)
        if n <= NUMPY_ROWS:
            sumsq[i] = _sequential_sum_sq(x, means[i])
            qs[i] = np.partition(x, ks)[ks]  # NaN sorts last, as np.sort
            return
        missed = np.zeros(len(QUANTILES), dtype=np.bool_)
        sumsq[i] = _column_stats(x, means[i], ks, qs[i], missed)
        for q in np.flatnonzero(missed):  # rare: non-finite values, a missed bracket
            from .kernels import select_rank

            qs[i, q] = select_rank(x, ks[q])

    tasks: list[Callable[[], None]] = [beside] if beside is not None else []
    if n > 0:
        tasks += [partial(one, i) for i in range(m)]
    run_all(tasks, min(len(tasks), threads()) if n >= 100_000 else 1)
    out = []
    for i in range(m):
        mean = float(means[i])
        sd = math.sqrt(sumsq[i] / (n - 1)) if n > 1 else math.nan
        lo, hi = t_interval(mean, sd, n, confidence, *bounds[i])
        p50, p90, p99 = (float(v) for v in qs[i])
        out.append({"mean": mean, "ci_low": lo, "ci_high": hi, "p50": p50, "p90": p90,
                    "p99": p99})
    return out


def count_above(x: np.ndarray, threshold: float) -> int:
    """``np.count_nonzero(x > threshold)`` of a float64 row: numpy up to ``NUMPY_ROWS``
    values (no kernel to compile), a compiled pass above (no temporary array)."""
    if x.shape[0] <= NUMPY_ROWS:
        return int(np.count_nonzero(x > threshold))
    from .kernels import count_above as above

    return int(above(np.ascontiguousarray(x, dtype=np.float64), float(threshold)))


def summarize_count_pair(counts: np.ndarray, top: int, confidence: float,
                         share_bounds: tuple[float, float] = (0.0, 1.0)
                         ) -> list[dict[str, float]]:
    """``summarize`` of the two integer rows of ``counts`` (values 0 .. top; the second the
    numerator of a share) as floats, and of the share counts[1] / top (top 0: every share 0,
    as the kernel writes for a night without jobs), cut to ``share_bounds``: the numbers
    ``summarize_columns`` gives of the three float columns, to the bit, without a float copy
    of a long column.

    The values are whole numbers from 0 to top, so every value's share v / top and squared
    deviation (v - mean)**2 is computed once, into a table of top + 1 entries (the same bits as
    computing it per value). One pass (``kernels.count_pair_pass``) builds both histograms,
    the quantiles and exact totals are read off them (the share is monotone in the count, so its
    k-th value is the k-th count over top; below 2**53 every partial sum of whole numbers is
    exact, whatever the order, so the mean is numpy's), and on the way sums the share in
    numpy's pairwise order (its mean is numpy's mean of the float share). A second pass
    (``kernels.table_sums3``) adds the three sums of squares in index order, as
    ``sum_sq_dev`` does. Up to ``NUMPY_ROWS`` values numpy does the same (``np.bincount``,
    ``np.add.reduce`` of the share, ``np.add.accumulate``): no kernel to compile. Counts are
    never negative: their rows have bounds (0, inf)."""
    x, y = counts[1], counts[0]
    n = x.shape[0]
    if n == 0:
        return [{k: math.nan for k in ("mean", "ci_low", "ci_high", "p50", "p90", "p99")}
                for _ in range(3)]
    nb = max(0, top) + 1
    div = top if top > 0 else 1
    values = np.arange(nb, dtype=np.int64)
    share_of = values.astype(np.float64) / div  # share_of[v]: the bits of v / div
    if n <= NUMPY_ROWS:
        outside = np.flatnonzero((x < 0) | (x >= nb) | (y < 0) | (y >= nb))
        at = int(outside[0]) if outside.shape[0] else -1
    else:
        from .kernels import count_pair_pass

        lanes = 8 if nb <= 4096 else 4  # interleaved rows: 8 measured faster than 4 on small
        hx = np.zeros((lanes, nb), np.int64)  # nights; 4 above (64 bytes a job in all)
        hy = np.zeros((lanes, nb), np.int64)
        total_share = np.zeros(1, np.float64)
        x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
        at = int(count_pair_pass(x, y, share_of, hx, hy, total_share))
    if at >= 0:
        bad = x[at] if not 0 <= x[at] < nb else y[at]
        raise ValueError(f"count column: value {bad} at {at} outside 0..{top}")
    if n <= NUMPY_ROWS:
        hists = (np.bincount(y, minlength=nb), np.bincount(x, minlength=nb))
    else:
        hists = (hy.sum(axis=0), hx.sum(axis=0))
    ks = [max(0, math.ceil(q * n) - 1) for q in QUANTILES]
    stats = []
    for h in hists:
        total = int(np.dot(h, values))
        if total >= 2**53:  # not reachable: R x jobs that large cannot be held in memory
            raise ValueError(f"count column: total {total} is not exact in float64")
        cum = np.cumsum(h)
        stats.append((total / n, [int(np.searchsorted(cum, k, side="right")) for k in ks]))
    (my, ry), (mx, rx) = stats
    if n <= NUMPY_ROWS:  # numpy alone, the same numbers (no kernel to compile)
        share = x / div
        share_sum = float(np.add.reduce(share))
        ms = share_sum / n
        sq_x, sq_y = _sequential_sum_sq(x, mx), _sequential_sum_sq(y, my)
        sq_share = _sequential_sum_sq(share, ms) if top > 0 else 0.0
    else:
        from .kernels import table_sums3

        share_sum = float(total_share[0])
        ms = share_sum / n

        def squares(v: np.ndarray, mean: float) -> np.ndarray:  # (v - mean)**2 as sum_sq_dev
            d = v - mean
            return d * d

        acc = np.zeros(3, np.float64)
        as_float = values.astype(np.float64)
        table_sums3(x, y, squares(as_float, mx), squares(as_float, my),
                    squares(share_of, ms), acc)
        sq_x, sq_y, sq_share = (float(v) for v in acc)
    rows = [(my, sq_y, [float(v) for v in ry], (0.0, math.inf)),
            (mx, sq_x, [float(v) for v in rx], (0.0, math.inf))]
    if top > 0:
        rows.append((ms, sq_share, [v / top for v in rx], share_bounds))
    else:
        rows.append((0.0, 0.0, [0.0] * len(ks), share_bounds))
    out = []
    for mean, sumsq, qs, (lower, upper) in rows:
        sd = math.sqrt(sumsq / (n - 1)) if n > 1 else math.nan
        lo, hi = t_interval(mean, sd, n, confidence, lower, upper)
        p50, p90, p99 = qs
        out.append({"mean": mean, "ci_low": lo, "ci_high": hi, "p50": p50, "p90": p90,
                    "p99": p99})
    return out


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
