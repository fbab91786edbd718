"""Compiled statistics kernels: exact order statistics and sums over one metric column.

They take numpy arrays only and call nothing in the engine's kernel module, so they live with the
statistics (mcqueue/engine/kernel.py keeps everything the event loop calls, because numba's cache
does not notice changes in functions imported from other files).
"""

import numpy as np

from .._jit import kernel


@kernel
def sum_sq_dev(x, mean):
    """Sum of squared deviations from ``mean``, without a temporary array."""
    acc = 0.0
    for i in range(x.shape[0]):
        d = x[i] - mean
        acc += d * d
    return acc


@kernel
def select_rank(x, k):
    """The k-th smallest value (0-based) of x, exactly, without copying or reordering x.

    Histogram refinement: count the values of the current range [lo, hi] into 4096 equal bins,
    keep the bin holding rank k, shrink the range to the smallest and largest value in that bin
    (the bin map is monotone, so those bounds enclose exactly the bin's values) and repeat;
    a bin of at most 2048 values is copied out and sorted. Memory O(1) in len(x).
    """
    n = x.shape[0]
    nb = 4096
    lo = x[0]
    hi = x[0]
    finite = True
    for i in range(n):
        if x[i] < lo:
            lo = x[i]
        if x[i] > hi:
            hi = x[i]
        if not np.isfinite(x[i]):
            finite = False
    if not finite:  # inf or nan (not produced by valid nights): binning is meaningless
        return np.sort(x)[k]
    below = 0
    counts = np.zeros(nb, np.int64)
    for _ in range(200):
        if not hi > lo:
            return lo
        width = (hi - lo) / nb
        for b in range(nb):
            counts[b] = 0
        for i in range(n):
            v = x[i]
            if v >= lo and v <= hi:
                b = min(np.int64((v - lo) / width), nb - 1)
                counts[b] += 1
        target = k - below
        b = 0
        cum = 0
        while cum + counts[b] <= target:
            cum += counts[b]
            b += 1
        below += cum
        m = counts[b]
        new_lo = np.inf
        new_hi = -np.inf
        small = np.empty(m if m <= 2048 else 0, np.float64)
        j = 0
        for i in range(n):
            v = x[i]
            if v >= lo and v <= hi and min(np.int64((v - lo) / width), nb - 1) == b:
                if v < new_lo:
                    new_lo = v
                if v > new_hi:
                    new_hi = v
                if m <= 2048:
                    small[j] = v
                    j += 1
        if m <= 2048:
            small.sort()
            return small[k - below]
        lo = new_lo
        hi = new_hi
    return lo
