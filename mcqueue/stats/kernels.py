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


BLOCK = 16384  # values of a column counted and then copied while they are in cache


@kernel
def _flag3(xs, low, high, use, flags, counts):
    """For each value of xs, flags[i] has bit q set (for q with use[q] set) when
    low[q] <= v <= high[q]; counts[q] gains the values below low[q] and counts[3 + q] those at
    most high[q] (NaN neither). Written with whole-number arithmetic on a slice so that the
    compiler vectorises it."""
    l0 = low[0]
    l1 = low[1]
    l2 = low[2]
    h0 = high[0]
    h1 = high[1]
    h2 = high[2]
    u0 = 1 if use[0] else 0
    u1 = 2 if use[1] else 0
    u2 = 4 if use[2] else 0
    a0 = a1 = a2 = b0 = b1 = b2 = 0
    for i in range(xs.shape[0]):
        v = xs[i]
        p0 = np.int64(v < l0)
        p1 = np.int64(v < l1)
        p2 = np.int64(v < l2)
        q0 = np.int64(v <= h0)
        q1 = np.int64(v <= h1)
        q2 = np.int64(v <= h2)
        a0 += p0
        a1 += p1
        a2 += p2
        b0 += q0
        b1 += q1
        b2 += q2
        flags[i] = np.uint8((q0 & ~p0 & u0) | (((q1 & ~p1) << 1) & u1)
                            | (((q2 & ~p2) << 2) & u2))
    counts[0] += a0
    counts[1] += a1
    counts[2] += a2
    counts[3] += b0
    counts[4] += b1
    counts[5] += b2


@kernel
def _bracket_pass(x, low, high, use, buf0, buf1, buf2, mean, below, upto, got):
    """One read of x from memory, in blocks of BLOCK values: ``_flag3`` counts a block (for
    q = 0, 1, 2 the values below low[q] into below[q], at most high[q] into upto[q]) and flags
    its values inside each bracket with use[q] set; then, while the block is in cache, the
    squared deviations from ``mean`` are added (the loop of ``sum_sq_dev``, same order:
    returned) and the flagged values copied in order into buf_q (up to its size; got[q] is how
    many there were, all of them even past the size). Eight flags are read as one word, so
    the copy looks at a value only in the fifth of the words that hold a flag."""
    c0 = buf0.shape[0]
    c1 = buf1.shape[0]
    c2 = buf2.shape[0]
    words = np.zeros(BLOCK // 8, np.uint64)
    flags = words.view(np.uint8)
    counts = np.zeros(6, np.int64)
    m0 = m1 = m2 = 0
    acc = 0.0
    n = x.shape[0]
    for start in range(0, n, BLOCK):
        xs = x[start:min(n, start + BLOCK)]
        nb = xs.shape[0]
        _flag3(xs, low, high, use, flags, counts)
        full = nb >> 3
        ahead = start + BLOCK  # the next block, asked for while this one is summed
        for w in range(full):  # eight values at a time (a loop the compiler unrolls)
            base = w << 3
            if ahead + base < n:  # one line of the next block each time
                _prefetch(x, ahead + base)
            for i in range(base, base + 8):
                d = xs[i] - mean
                acc += d * d
            if words[w] != 0:
                for i in range(base, base + 8):
                    f = flags[i]
                    if f & 1:
                        if m0 < c0:
                            buf0[m0] = xs[i]
                        m0 += 1
                    if f & 2:
                        if m1 < c1:
                            buf1[m1] = xs[i]
                        m1 += 1
                    if f & 4:
                        if m2 < c2:
                            buf2[m2] = xs[i]
                        m2 += 1
        for i in range(full << 3, nb):  # the last few values of the column
            d = xs[i] - mean
            acc += d * d
            f = flags[i]
            if f & 1:
                if m0 < c0:
                    buf0[m0] = xs[i]
                m0 += 1
            if f & 2:
                if m1 < c1:
                    buf1[m1] = xs[i]
                m1 += 1
            if f & 4:
                if m2 < c2:
                    buf2[m2] = xs[i]
                m2 += 1
    for q in range(3):
        below[q] = counts[q]
        upto[q] = counts[3 + q]
    got[0] = m0
    got[1] = m1
    got[2] = m2
    return acc


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
    the exact fallback: never a wrong answer. ``_column_stats`` uses it to copy again a
    bracket that held more values than the room its sample share suggested (ties)."""
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
        a = x[np.uint64(lo)]  # unsigned indices (all >= 0 where read): numba tests
        b = x[np.uint64((lo + hi) >> 1)]  # none for a negative index
        c = x[np.uint64(hi)]
        if a < b:
            pivot = b if b < c else (c if a < c else a)
        else:
            pivot = a if a < c else (c if b < c else b)
        i = lo
        j = hi
        while i <= j:
            while x[np.uint64(i)] < pivot:
                i += 1
            while x[np.uint64(j)] > pivot:
                j -= 1
            if i <= j:
                t = x[np.uint64(i)]
                x[np.uint64(i)] = x[np.uint64(j)]
                x[np.uint64(j)] = t
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
    deviations of the sample rank either side, picked by quickselect); one pass
    (``_bracket_pass``) counts the values below and inside every bracket, copies out the
    values inside (nothing for a bracket of a single value, as for counts) and sums the
    squares (a bracket holding more values than the room its share of the sample suggested,
    as with many ties, is copied again by a second pass, ``_inside3``), and each rank is
    selected among the copies of a bracket that holds it (quickselect). A bracket that misses
    its rank, non-finite bounds, NaN in a short column or another number
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
    # one pass counts every bracket, copies out the values of those worth copying (finite
    # and more than one value wide) and sums the squares (the loop of ``sum_sq_dev``). Room
    # for each copy: the bracket's share of the sample, ties included, times n / s, with a
    # quarter and 4,096 to spare; a bracket that holds more is copied again at its size
    use = np.zeros(3, np.bool_)
    for q in range(3):
        use[q] = np.isfinite(low[q]) and np.isfinite(high[q]) and low[q] < high[q]
    room = np.zeros(3, np.int64)
    for i in range(s):
        v = sample[i]
        for q in range(3):
            if use[q] and low[q] <= v and v <= high[q]:
                room[q] += 1
    for q in range(3):
        if use[q]:
            room[q] = room[q] * (n // s + 1) * 5 // 4 + 4096
    buf0 = np.empty(room[0], np.float64)
    buf1 = np.empty(room[1], np.float64)
    buf2 = np.empty(room[2], np.float64)
    below = np.empty(3, np.int64)
    upto = np.empty(3, np.int64)
    got = np.zeros(3, np.int64)
    acc = _bracket_pass(x, low, high, use, buf0, buf1, buf2, mean, below, upto, got)
    again = np.zeros(3, np.bool_)
    for q in range(3):
        k = ks[q]
        if not (below[q] <= k < upto[q]) or not (np.isfinite(low[q]) and np.isfinite(high[q])):
            missed[q] = True
        elif low[q] == high[q]:
            q_out[q] = low[q]
        elif got[q] != upto[q] - below[q]:  # the same comparisons: not expected
            missed[q] = True
        elif got[q] > room[q]:
            again[q] = True
    if again[0] or again[1] or again[2]:  # rare: many ties inside a bracket
        # a second pass copies only those brackets, into buffers of their size; the other
        # brackets keep their copies (their buffers stay, the pass writes nothing to them)
        if again[0]:
            buf0 = np.empty(got[0], np.float64)
        if again[1]:
            buf1 = np.empty(got[1], np.float64)
        if again[2]:
            buf2 = np.empty(got[2], np.float64)
        more = np.zeros(3, np.int64)
        _inside3(x, low, high, again, buf0, buf1, buf2, mean, more)
        for q in range(3):
            if again[q] and more[q] != got[q]:
                missed[q] = True
    for q in range(3):
        if use[q] and not missed[q]:  # use: finite and low < high
            k = ks[q] - below[q]
            if q == 0:
                q_out[q] = _select_in_place(buf0[:got[0]], k)
            elif q == 1:
                q_out[q] = _select_in_place(buf1[:got[1]], k)
            else:
                q_out[q] = _select_in_place(buf2[:got[2]], k)
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
            res += table[np.uint64(x[np.uint64(i)])]
        return res
    r0 = table[np.uint64(x[np.uint64(start)])]
    r1 = table[np.uint64(x[np.uint64(start + 1)])]
    r2 = table[np.uint64(x[np.uint64(start + 2)])]
    r3 = table[np.uint64(x[np.uint64(start + 3)])]
    r4 = table[np.uint64(x[np.uint64(start + 4)])]
    r5 = table[np.uint64(x[np.uint64(start + 5)])]
    r6 = table[np.uint64(x[np.uint64(start + 6)])]
    r7 = table[np.uint64(x[np.uint64(start + 7)])]
    i = 8
    whole = n - n % 8
    while i < whole:
        b = start + i
        r0 += table[np.uint64(x[np.uint64(b)])]
        r1 += table[np.uint64(x[np.uint64(b + 1)])]
        r2 += table[np.uint64(x[np.uint64(b + 2)])]
        r3 += table[np.uint64(x[np.uint64(b + 3)])]
        r4 += table[np.uint64(x[np.uint64(b + 4)])]
        r5 += table[np.uint64(x[np.uint64(b + 5)])]
        r6 += table[np.uint64(x[np.uint64(b + 6)])]
        r7 += table[np.uint64(x[np.uint64(b + 7)])]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += table[np.uint64(x[np.uint64(start + i)])]
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
    nb = np.uint64(hx.shape[1])
    rows = np.uint64(hx.shape[0] - 1)
    fx = hx.reshape(hx.size)  # row r, value v at r * nb + v
    fy = hy.reshape(hy.size)
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
            u = np.uint64(i)  # unsigned indices: numba tests none for a negative value
            a = np.uint64(x[u])  # a negative count (of any width) becomes 2**64 - k: outside
            b = np.uint64(y[u])  # 0..nb - 1 too, as any count too large for 32 bits stays
            if a >= nb or b >= nb:
                return i
            r = (u & rows) * nb
            fx[r + a] += 1
            fy[r + b] += 1
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
        a = np.uint64(x[i])  # unsigned: no test for a negative index
        b = np.uint64(y[i])
        a0 += tx[a]
        a1 += ty[b]
        a2 += ts[a]
    acc[0] = a0
    acc[1] = a1
    acc[2] = a2
