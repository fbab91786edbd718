"""Compiled statistics kernels: exact order statistics and sums over metric columns.

They take numpy arrays only and call nothing in the engine's kernel module, so they live with the
statistics (mcqueue/engine/kernel.py keeps everything the event loop calls, because numba's cache
does not notice changes in functions imported from other files).
"""

import math

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


SAMPLE = 16384  # sample that brackets each rank in ``column_stats``
DIRECT = 65536  # up to this many values a column is copied and sorted


@kernel
def _counts3(x, low, high, below, upto):
    """For q = 0, 1, 2 the number of values of x below low[q] and at most high[q] (written out
    for three, and without the sum of squares, so that the compiler vectorises it)."""
    l0 = low[0]
    l1 = low[1]
    l2 = low[2]
    h0 = high[0]
    h1 = high[1]
    h2 = high[2]
    a0 = a1 = a2 = b0 = b1 = b2 = 0
    for i in range(x.shape[0]):
        v = x[i]
        a0 += v < l0
        a1 += v < l1
        a2 += v < l2
        b0 += v <= h0
        b1 += v <= h1
        b2 += v <= h2
    below[0] = a0
    below[1] = a1
    below[2] = a2
    upto[0] = b0
    upto[1] = b1
    upto[2] = b2


@kernel
def _inside(x, lo, hi, buf, mean, acc_out):
    """Copy the values of x in [lo, hi] (finite bounds) into buf; returns how many there were
    (the caller compares it with the count it expects). One rarely taken branch per value:
    the sign of (v - lo) (hi - v) is a superset test, the exact test follows. When acc_out
    has an element, acc_out[0] is the sum of squared deviations from ``mean`` (the loop of
    ``sum_sq_dev``, same order), taken in the same pass."""
    m = 0
    cap = buf.shape[0]
    acc = 0.0
    with_acc = acc_out.shape[0] > 0
    for i in range(x.shape[0]):
        v = x[i]
        if with_acc:
            d = v - mean
            acc += d * d
        if (v - lo) * (hi - v) >= 0.0:
            if v >= lo and v <= hi:
                if m < cap:
                    buf[m] = v
                m += 1
    if with_acc:
        acc_out[0] = acc
    return m


@kernel
def _select_in_place(x, k):
    """k-th smallest (0-based) of x, reordering x (Hoare quickselect, median of three; x holds
    no NaN). Written out rather than np.partition, whose compile took 6 s of a first run."""
    lo = 0
    hi = x.shape[0] - 1
    while lo < hi:
        a = x[lo]
        b = x[(lo + hi) >> 1]
        c = x[hi]
        if a < b:
            pivot = b if b < c else (c if a < c else a)
        else:
            pivot = a if a < c else (c if b < c else b)
        i = lo
        j = hi
        while i <= j:
            while x[i] < pivot:
                i += 1
            while x[j] > pivot:
                j -= 1
            if i <= j:
                t = x[i]
                x[i] = x[j]
                x[j] = t
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return x[k]
    return x[k]


@kernel
def _column_stats(x, mean, ks, q_out, missed):
    """Sum of squared deviations from ``mean`` (the loop of ``sum_sq_dev``, same order) and the
    ks[q]-th smallest values (0-based, exact; three ranks) of one column into q_out; where
    missed[q] is set the caller must take rank q from ``select_rank`` instead (kept out of
    this kernel so that a run compiles it, and numba's sort, only when it is needed).

    Each rank is bracketed by two values of an evenly strided sample of the column (4 standard
    deviations of the sample rank either side, picked by quickselect); one pass counts the
    values below and inside every bracket, and a bracket that holds its rank is then copied
    out (one pass each, the first one also summing the squares; none when the bracket is a
    single value, as for counts) and the rank selected among the copies (quickselect). A
    bracket that misses its rank, non-finite bounds, NaN in a short column or another number
    of ranks than three set ``missed``: the answers are always exact order statistics (NaN
    sorts last, as np.sort).
    """
    n = x.shape[0]
    nq = ks.shape[0]
    for q in range(nq):
        missed[q] = False
    if n <= DIRECT:
        acc = 0.0
        nan = False
        for i in range(n):
            d = x[i] - mean
            acc += d * d
            if x[i] != x[i]:
                nan = True
        if n > 0:
            work = x.copy()
            for q in range(nq):
                if nan:
                    missed[q] = True
                else:
                    q_out[q] = _select_in_place(work, ks[q])
        return acc
    if nq != 3:  # the bracketing below is written out for three ranks
        for q in range(nq):
            missed[q] = True
        return sum_sq_dev(x, mean)
    s = SAMPLE
    step = n // s
    sample = np.empty(s, np.float64)
    for i in range(s):
        sample[i] = x[i * step]
    low = np.empty(3, np.float64)
    high = np.empty(3, np.float64)
    for q in range(3):
        p = (ks[q] + 0.5) / n
        c = np.int64(p * s)
        d = np.int64(4.0 * math.sqrt(s * p * (1.0 - p))) + 8
        low[q] = _select_in_place(sample, max(0, c - d))
        high[q] = _select_in_place(sample, min(s - 1, c + d))
    below = np.empty(3, np.int64)
    upto = np.empty(3, np.int64)
    _counts3(x, low, high, below, upto)
    acc_out = np.empty(1, np.float64)  # the first copying pass also sums the squares
    no_acc = np.empty(0, np.float64)
    have_acc = False
    for q in range(3):
        k = ks[q]
        m = upto[q] - below[q]
        if not (below[q] <= k < upto[q]) or not (np.isfinite(low[q]) and np.isfinite(high[q])):
            missed[q] = True
        elif low[q] == high[q]:
            q_out[q] = low[q]
        else:
            buf = np.empty(m, np.float64)
            got = _inside(x, low[q], high[q], buf, mean, no_acc if have_acc else acc_out)
            have_acc = True
            if got == m:
                q_out[q] = _select_in_place(buf, k - below[q])
            else:
                missed[q] = True
    if have_acc:
        return acc_out[0]
    return sum_sq_dev(x, mean)


# ---- integer count columns (max_queue_length, overflow_jobs) and shares derived from them


@kernel
def count_histogram(x, counts):
    """counts[v] += 1 for every value v of the integer column x; returns the first value
    outside [0, len(counts)) (its index and value), or (-1, 0) when there is none."""
    nb = counts.shape[0]
    for i in range(x.shape[0]):
        v = x[i]
        if v < 0 or v >= nb:
            return i, np.int64(v)
        counts[v] += 1
    return -1, np.int64(0)


@kernel
def pairwise_ratio_sum(x, div, start, n):
    """Sum of x[start:start + n] / div (div 1: the values as floats) in exactly numpy's order
    for a contiguous float64 array (``np.add.reduce``: the pairwise summation of numpy's
    loops_utils.h, blocks of up to 128 values on eight accumulators, halves rounded down to a
    multiple of eight), so that the mean of a column derived on the fly is the mean numpy
    would give of the stored column, to the bit (tests/test_count_columns.py checks it
    against numpy for every length up to 300 and some long ones)."""
    if n < 8:
        res = 0.0
        for i in range(start, start + n):
            res += x[i] / div
        return res
    if n <= 128:
        r0 = x[start] / div
        r1 = x[start + 1] / div
        r2 = x[start + 2] / div
        r3 = x[start + 3] / div
        r4 = x[start + 4] / div
        r5 = x[start + 5] / div
        r6 = x[start + 6] / div
        r7 = x[start + 7] / div
        i = 8
        whole = n - n % 8
        while i < whole:
            b = start + i
            r0 += x[b] / div
            r1 += x[b + 1] / div
            r2 += x[b + 2] / div
            r3 += x[b + 3] / div
            r4 += x[b + 4] / div
            r5 += x[b + 5] / div
            r6 += x[b + 6] / div
            r7 += x[b + 7] / div
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += x[start + i] / div
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return pairwise_ratio_sum(x, div, start, n2) + pairwise_ratio_sum(x, div, start + n2, n - n2)


@kernel
def sum_sq_dev_ratio(x, div, mean):
    """``sum_sq_dev`` of the values x[i] / div (div 1: the values as floats), same order."""
    acc = 0.0
    for i in range(x.shape[0]):
        d = x[i] / div - mean
        acc += d * d
    return acc
