"""Compiled statistics kernels: exact order statistics and sums over metric columns.

They take numpy arrays only and call nothing in the engine's kernel module, so they live with the
statistics (mcqueue/engine/kernel.py keeps everything the event loop calls, because numba's cache
does not notice changes in functions imported from other files).
"""

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .._jit import kernel

# A pass over a column that does more per value than numba can vectorise (a sequential sum, a
# copy under a condition) keeps only a few cache lines in flight, and the hardware prefetcher
# of the machine we measure on does not run ahead of it: from memory such a pass took 5 ns a
# value, from cache 1.3 ns. Those passes ask for the line AHEAD bytes on themselves, once per
# line (docs/benchmarks.md, issue 17, "Third pass").
LINE = 64
AHEAD = 2048


@intrinsic
def _prefetch(typingctx, arr, index):
    """Hint that arr[index] (a C-contiguous 1-d array) will be read soon: llvm.prefetch (read,
    keep in all cache levels, data). A hint only: nothing is loaded into a register, no
    result changes, and the callers ask only for indices inside the array. Any other array
    (another layout, more dimensions) is refused when the caller is compiled."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C"):
        return None
    sig = types.void(arr, index)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = builder.module.declare_intrinsic(
            "llvm.prefetch", fnty=ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]))
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), i8p)
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@kernel(inline="always")
def _lines(x):
    """(values in a cache line, values in AHEAD bytes) of x, taken once before a loop (the item
    size is read from the array at run time). The loops then ask, at the start of each line
    (i & (line - 1) == 0), for the value ``ahead`` on if it is inside the array; those two
    lines are written out in each loop (an inlined helper holding them measured up to ten
    times slower in table_sums3)."""
    return LINE // x.itemsize, AHEAD // x.itemsize


@kernel
def sum_sq_dev(x, mean):
    """Sum of squared deviations from ``mean``, without a temporary array."""
    acc = 0.0
    n = x.shape[0]
    line, ahead = _lines(x)
    for i in range(n):
        if i & (line - 1) == 0 and i + ahead < n:
            _prefetch(x, i + ahead)
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


SAMPLE = 65536  # sample that brackets each rank in ``column_stats``
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
def count_above(x, t):
    """How many values of x are greater than t (NaN is not): one pass the compiler vectorises,
    without numpy's temporary boolean array."""
    c = 0
    for i in range(x.shape[0]):
        c += x[i] > t
    return c


@kernel
def _inside3(x, low, high, use, buf0, buf1, buf2, mean, got):
    """One pass over x: the sum of squared deviations from ``mean`` (the loop of
    ``sum_sq_dev``, same order), returned, and for each q = 0, 1, 2 with use[q] set the values
    of x in [low[q], high[q]] (finite bounds) copied in order into buf_q (up to its size);
    got[q] is how many there were (the caller compares it with the count it expects). One
    rarely taken branch per value and bracket: the sign of (v - lo) (hi - v) is a superset
    test (rounding is monotone, so both factors keep their signs for v in the bracket, and
    a product of two numbers >= 0 is >= 0 even when it underflows or overflows), the exact
    test follows. A value the quick test missed would show in got[q] and send the rank to
    the exact fallback: never a wrong answer."""
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
    n = x.shape[0]
    line, ahead = _lines(x)
    for i in range(n):
        if i & (line - 1) == 0 and i + ahead < n:
            _prefetch(x, i + ahead)
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
    """k-th smallest (0-based) of x, reordering x (x holds no NaN): ``_select_range`` over all
    of x."""
    return _select_range(x, 0, x.shape[0] - 1, k)


@kernel
def _select_range(x, lo, hi, k):
    """The value of rank k of x[lo..hi] (lo <= k <= hi, inclusive bounds, ranks counted from
    the start of x), reordering x[lo..hi] so that nothing after k is smaller and nothing
    before k (from lo) is larger (Hoare quickselect, median of three; no NaN). Written out
    rather than np.partition, whose compile took 6 s of a first run. After x[k] is selected
    over lo..hi, a larger rank can be selected over k..hi alone."""
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

    Each rank is bracketed by two values of an evenly spread sample of the column (4 standard
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
    sample = np.empty(s, np.float64)
    for i in range(s):  # evenly spread (n > DIRECT >= SAMPLE: s is SAMPLE, a power of two)
        sample[i] = x[(i * n) // SAMPLE]
    low = np.empty(3, np.float64)
    high = np.empty(3, np.float64)
    ranks = np.empty(6, np.int64)  # sample ranks of low[0], high[0], low[1], ...
    for q in range(3):
        p = (ks[q] + 0.5) / n
        c = np.int64(p * s)
        d = np.int64(4.0 * math.sqrt(s * p * (1.0 - p))) + 8
        ranks[2 * q] = max(0, c - d)
        ranks[2 * q + 1] = min(s - 1, c + d)
    order = np.arange(6)  # ascending ranks (insertion sort: numba's argsort compiles 1 s)
    for t in range(1, 6):
        u = t
        while u > 0 and ranks[order[u - 1]] > ranks[order[u]]:
            w = order[u - 1]
            order[u - 1] = order[u]
            order[u] = w
            u -= 1
    start = 0
    for t in range(6):
        r = ranks[order[t]]
        v = _select_range(sample, start, s - 1, r)
        start = r
        if order[t] % 2 == 0:
            low[order[t] // 2] = v
        else:
            high[order[t] // 2] = v
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
def _pairwise_plan(n, starts, lens, ops):
    """numpy's pairwise summation tree over n values (``np.add.reduce`` of a contiguous float64
    array, numpy's loops_utils.h: blocks of up to 128 values, a longer run cut in two halves,
    the first rounded down to a multiple of eight, left before right), walked once with an
    explicit stack: the blocks' starts and lengths in order into starts/lens, and a post-order
    program into ops (op >= 0: block op's sum; -1: the two last sums added, left + right) for
    ``_pairwise_combine``. Returns (blocks, len(program)). Blocks hold at least 64 values
    when there are two or more, so n // 32 + 2 entries (twice that for ops) suffice
    (``_plan_arrays``; checked all the same)."""
    f_start = np.empty(64, np.int64)
    f_len = np.empty(64, np.int64)
    f_phase = np.empty(64, np.int64)
    top = 1
    f_start[0] = 0
    f_len[0] = n
    f_phase[0] = 0
    nb = 0
    nops = 0
    while top > 0:
        k = top - 1
        st = f_start[k]
        m = f_len[k]
        if m <= 128:  # a block
            if nb >= starts.shape[0] or nops + 1 >= ops.shape[0]:
                raise ValueError("pairwise plan: arrays too short")
            starts[nb] = st
            lens[nb] = m
            ops[nops] = nb
            nb += 1
            nops += 1
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
            ops[nops] = -1
            nops += 1
            top -= 1
    return nb, nops


@kernel
def _pairwise_combine(ops, nops, sums):
    """The blocks' sums combined by ``_pairwise_plan``'s program, added to numpy's starting
    value 0.0 (which turns a sum of -0.0 into 0.0, as numpy's does)."""
    stack = np.empty(64, np.float64)
    top = 0
    for k in range(nops):
        op = ops[k]
        if op >= 0:
            stack[top] = sums[op]
            top += 1
        else:
            stack[top - 2] = stack[top - 2] + stack[top - 1]
            top -= 1
    return 0.0 + stack[0]


@kernel(inline="always")
def _pairwise_leaf(x, table, start, n):
    """numpy's pairwise sum of a block of at most 128 values of table[x[start:start + n]]
    (table[v] = v / div for every count v: the same bits as dividing each value): eight
    accumulators over whole groups of eight, combined as ((0+1)+(2+3))+((4+5)+(6+7)), then
    the rest in order; fewer than eight values in order from -0.0 (numpy's start there)."""
    if n < 8:
        res = -0.0
        for i in range(start, start + n):
            res += table[x[i]]
        return res
    r0 = table[x[start]]
    r1 = table[x[start + 1]]
    r2 = table[x[start + 2]]
    r3 = table[x[start + 3]]
    r4 = table[x[start + 4]]
    r5 = table[x[start + 5]]
    r6 = table[x[start + 6]]
    r7 = table[x[start + 7]]
    i = 8
    whole = n - n % 8
    while i < whole:
        b = start + i
        r0 += table[x[b]]
        r1 += table[x[b + 1]]
        r2 += table[x[b + 2]]
        r3 += table[x[b + 3]]
        r4 += table[x[b + 4]]
        r5 += table[x[b + 5]]
        r6 += table[x[b + 6]]
        r7 += table[x[b + 7]]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += table[x[start + i]]
        i += 1
    return res


@kernel(inline="always")
def _plan_arrays(n):
    """Room for ``_pairwise_plan`` of n values."""
    return (np.empty(n // 32 + 2, np.int64), np.empty(n // 32 + 2, np.int64),
            np.empty(2 * (n // 32 + 2), np.int64))


@kernel
def count_pair_pass(x, y, table, hx, hy, out):
    """One pass over the integer columns x and y (one length): hx[., v] += 1 for every value v
    of x, hy likewise for y (interleaved sub-histograms, value i in row i % rows for a power
    of two of rows, so that a run of equal values does not wait on one counter), and into
    out[0] the sum of table[x[i]] (table of hx's width, table[v] = v / div: the share's
    values) in exactly numpy's order for a contiguous float64 array (``_pairwise_plan``), so
    that the mean of a column derived on the fly is the mean numpy gives of the stored
    column, to the bit. Returns the first index where x or y is outside [0, nb), or -1 (the
    blocks are visited left to right; nothing is read from the table for a value outside
    it). tests/test_count_columns.py checks all of it against numpy."""
    n = x.shape[0]
    nb = hx.shape[1]
    rows = hx.shape[0] - 1
    line, ahead = _lines(x)
    starts, lens, ops = _plan_arrays(n)
    blocks, nops = _pairwise_plan(n, starts, lens, ops)
    sums = np.empty(blocks, np.float64)
    out[0] = 0.0
    for j in range(blocks):
        st = starts[j]
        end = st + lens[j]
        for p in range(st + ahead, min(n, end + ahead), line):
            _prefetch(x, p)
            _prefetch(y, p)
        for i in range(st, end):
            a = x[i]
            b = y[i]
            if a < 0 or a >= nb or b < 0 or b >= nb:
                return i
            hx[i & rows, a] += 1
            hy[i & rows, b] += 1
        sums[j] = _pairwise_leaf(x, table, st, end - st)
    out[0] = _pairwise_combine(ops, nops, sums)
    return -1


@kernel
def table_sums3(x, y, tx, ty, ts, acc):
    """In index order from acc's values, acc[0] += tx[x[i]], acc[1] += ty[y[i]] and
    acc[2] += ts[x[i]]: three sums of squared deviations at once (tx[v] = (v - mean)**2
    computed as in ``sum_sq_dev``, so each sum has the bits of ``sum_sq_dev`` of the float
    column; three independent chains of additions instead of one pass each). Every value of
    x and y must index the tables (``count_pair_pass`` has checked them)."""
    a0 = acc[0]
    a1 = acc[1]
    a2 = acc[2]
    n = x.shape[0]
    line, ahead = _lines(x)  # x and y have one dtype
    for i in range(n):
        if i & (line - 1) == 0 and i + ahead < n:
            _prefetch(x, i + ahead)
            _prefetch(y, i + ahead)
        a = x[i]
        b = y[i]
        a0 += tx[a]
        a1 += ty[b]
        a2 += ts[a]
    acc[0] = a0
    acc[1] = a1
    acc[2] = a2
