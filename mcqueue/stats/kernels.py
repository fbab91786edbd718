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
def _inside3(x, low, high, use, buf0, buf1, buf2, mean, got):
    """One pass over x: the sum of squared deviations from ``mean`` (the loop of
    ``sum_sq_dev``, same order), returned, and for each q = 0, 1, 2 with use[q] set the values
    of x in [low[q], high[q]] (finite bounds) copied in order into buf_q (up to its size);
    got[q] is how many there were (the caller compares it with the count it expects). One
    rarely taken branch per value and bracket: the sign of (v - lo) (hi - v) is a superset
    test, the exact test follows."""
    l0 = low[0]
    l1 = low[1]
    l2 = low[2]
    h0 = high[0]
    h1 = high[1]
    h2 = high[2]
    u0 = use[0]
    u1 = use[1]
    u2 = use[2]
    c0 = buf0.shape[0]
    c1 = buf1.shape[0]
    c2 = buf2.shape[0]
    m0 = m1 = m2 = 0
    acc = 0.0
    for i in range(x.shape[0]):
        v = x[i]
        d = v - mean
        acc += d * d
        if u0 and (v - l0) * (h0 - v) >= 0.0:
            if v >= l0 and v <= h0:
                if m0 < c0:
                    buf0[m0] = v
                m0 += 1
        if u1 and (v - l1) * (h1 - v) >= 0.0:
            if v >= l1 and v <= h1:
                if m1 < c1:
                    buf1[m1] = v
                m1 += 1
        if u2 and (v - l2) * (h2 - v) >= 0.0:
            if v >= l2 and v <= h2:
                if m2 < c2:
                    buf2[m2] = v
                m2 += 1
    got[0] = m0
    got[1] = m1
    got[2] = m2
    return acc


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
    out (all in one pass, which also sums the squares; nothing is copied for a bracket of a
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
    # the brackets that hold their rank are copied out in one pass, which also sums the
    # squares (the same sequential loop as ``sum_sq_dev``)
    use = np.zeros(3, np.bool_)
    size = np.zeros(3, np.int64)
    for q in range(3):
        k = ks[q]
        if not (below[q] <= k < upto[q]) or not (np.isfinite(low[q]) and np.isfinite(high[q])):
            missed[q] = True
        elif low[q] == high[q]:
            q_out[q] = low[q]
        else:
            use[q] = True
            size[q] = upto[q] - below[q]
    buf0 = np.empty(size[0], np.float64)
    buf1 = np.empty(size[1], np.float64)
    buf2 = np.empty(size[2], np.float64)
    got = np.zeros(3, np.int64)
    acc = _inside3(x, low, high, use, buf0, buf1, buf2, mean, got)
    for q in range(3):
        if use[q]:
            if got[q] != size[q]:
                missed[q] = True
            elif q == 0:
                q_out[q] = _select_in_place(buf0, ks[q] - below[q])
            elif q == 1:
                q_out[q] = _select_in_place(buf1, ks[q] - below[q])
            else:
                q_out[q] = _select_in_place(buf2, ks[q] - below[q])
    return acc


# ---- integer count columns (max_queue_length, overflow_jobs) and shares derived from them


@kernel
def histogram2(x, y, hx, hy):
    """hx[., v] += 1 for every value v of the integer column x, hy likewise for y (x and y of
    one length; four interleaved sub-histograms each, rows i % 4, so that a run of equal
    values does not wait on one counter); returns the first index where x or y is outside
    [0, nb), or -1."""
    nb = hx.shape[1]
    for i in range(x.shape[0]):
        a = x[i]
        b = y[i]
        if a < 0 or a >= nb or b < 0 or b >= nb:
            return i
        hx[i & 3, a] += 1
        hy[i & 3, b] += 1
    return -1


@kernel(inline="always")
def _pairwise_leaf(x, div, start, n):
    """numpy's pairwise sum of a block of at most 128 values (x[start:start + n] / div):
    eight accumulators over whole groups of eight, combined as ((0+1)+(2+3))+((4+5)+(6+7)),
    then the rest in order; fewer than eight values in order from 0."""
    if n < 8:
        res = 0.0
        for i in range(start, start + n):
            res += x[i] / div
        return res
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


@kernel
def pairwise_ratio_sumsq(x, div, dx, mx, y, my, acc):
    """Sum of x / div (div 1: the values as floats) in exactly numpy's order for a contiguous
    float64 array (``np.add.reduce``: the pairwise summation of numpy's loops_utils.h, blocks
    of up to 128 values, halves cut down to a multiple of eight; walked here with an explicit
    stack, left before right), so that the mean of a column derived on the fly is the mean
    numpy gives of the stored column, to the bit. On the way, in index order (the blocks are
    visited left to right), the sums of squared deviations of x / dx from mx into acc[0] and
    of y from my into acc[1] (the loop of ``sum_sq_dev``, same order). x and y have one
    length; tests/test_count_columns.py checks all of it against numpy."""
    n = x.shape[0]
    ax = acc[0]
    ay = acc[1]
    f_start = np.empty(64, np.int64)
    f_len = np.empty(64, np.int64)
    f_phase = np.empty(64, np.int64)
    vals = np.empty(64, np.float64)
    top = 1
    f_start[0] = 0
    f_len[0] = n
    f_phase[0] = 0
    nv = 0
    while top > 0:
        k = top - 1
        st = f_start[k]
        m = f_len[k]
        if m <= 128:  # a block: its squares in order, then numpy's block sum
            for i in range(st, st + m):
                d = x[i] / dx - mx
                ax += d * d
                e = y[i] - my
                ay += e * e
            vals[nv] = _pairwise_leaf(x, div, st, m)
            nv += 1
            top -= 1
            continue
        half = m // 2
        half -= half % 8
        if f_phase[k] == 0:  # left half first
            f_phase[k] = 1
            f_start[top] = st
            f_len[top] = half
            f_phase[top] = 0
            top += 1
        elif f_phase[k] == 1:  # then the right half
            f_phase[k] = 2
            f_start[top] = st + half
            f_len[top] = m - half
            f_phase[top] = 0
            top += 1
        else:  # both halves done: left + right
            vals[nv - 2] = vals[nv - 2] + vals[nv - 1]
            nv -= 1
            top -= 1
    acc[0] = ax
    acc[1] = ay
    return vals[0]
