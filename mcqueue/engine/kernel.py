"""numba kernels: the only module with compiled code.

Kernels take numpy arrays and scalars only, write into arrays the caller allocated, never
validate and never raise for data reasons (the Python layer in ``engine.py`` validates).

Model (docs/model.md, the tutorial's semantics): the event loop takes t = min(next arrival, earliest
finish); retires every running job with finish <= t, admits every arrival with a <= t, then
dispatches by (priority desc, arrival asc, job_id asc) with the exclusive-lock rule.

Data layout. Jobs of every night are concatenated; within a night they are in canonical order
(sorted by job_id), so a job's local index is its job_id rank and the tie-break "job_id asc" is
"index asc". ``level`` is the dense priority rank inside the night (0 = highest priority).

Randomness is addressed, not streamed: draw(j, rep) = splitmix64 output at position ``rep`` of a
stream whose start ``key[j]`` the Python layer derived from (seed, job_id, purpose). A draw
therefore depends only on (seed, replication, job_id, purpose): never on thread count, block
size, row order or worker count.
"""

import math
import os
import threading

import numpy as np

from .._jit import kernel

# metric columns of the per-replication output, in this order
METRICS = (
    "average_wait_minutes",
    "p95_wait_minutes",
    "average_queue_length",
    "max_queue_length",
    "worker_utilization",
    "overflow_jobs",
    "overflow_risk",
    "queue_drained_minute",
)
N_METRICS = len(METRICS)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@kernel(inline="always")
def mix64(z):
    """splitmix64 finaliser (Steele, Lea & Flood 2014)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@kernel(inline="always")
def uniform01(key, rep):
    """Uniform in the open interval (0, 1): draw number ``rep`` of the stream starting at ``key``."""
    x = mix64(key + np.uint64(rep + 1) * _GOLDEN)
    return (np.float64(np.int64(x >> _S11)) + 0.5) * _INV53


def _ziggurat_tables():
    """Marsaglia & Tsang (2000) 128-layer ziggurat tables for the standard normal."""
    m1 = 2147483648.0
    dn = 3.442619855899
    tn = dn
    vn = 9.91256303526217e-3
    kn = np.zeros(128, np.int64)
    wn = np.zeros(128, np.float64)
    fn = np.zeros(128, np.float64)
    q = vn / math.exp(-0.5 * dn * dn)
    kn[0] = int((dn / q) * m1)
    kn[1] = 0
    wn[0] = q / m1
    wn[127] = dn / m1
    fn[0] = 1.0
    fn[127] = math.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = int((dn / tn) * m1)
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    return kn, wn, fn


_ZKN, _ZWN, _ZFN = _ziggurat_tables()
_ZR = 3.442619855899
_TWO31 = 2147483648


@kernel(inline="always")
def _bits_uniform(x):
    return (np.float64(np.int64(x >> _S11)) + 0.5) * _INV53


@kernel
def _ziggurat_tail(x, hz, iz):
    """The rare (about 1%) slow path of the ziggurat; further bits continue the stream."""
    while True:
        v = hz * _ZWN[iz]
        if iz == 0:
            while True:
                x = mix64(x + _GOLDEN)
                xx = -math.log(_bits_uniform(x)) / _ZR
                x = mix64(x + _GOLDEN)
                yy = -math.log(_bits_uniform(x))
                if yy + yy >= xx * xx:
                    break
            return _ZR + xx if hz > 0 else -_ZR - xx
        x = mix64(x + _GOLDEN)
        below = _ZFN[iz - np.uint64(1)]  # iz > 0 here
        if _ZFN[iz] + _bits_uniform(x) * (below - _ZFN[iz]) < math.exp(-0.5 * v * v):
            return v
        x = mix64(x + _GOLDEN)
        iz = x & np.uint64(127)
        hz = np.int64(x >> np.uint64(32)) - _TWO31
        if abs(hz) < _ZKN[iz]:
            return hz * _ZWN[iz]


@kernel(inline="always")
def normal_draw(key, rep):
    """Standard normal draw number ``rep`` of the stream at ``key`` (ziggurat: the layer from the
    low 7 bits, the value from the high 32 bits of one 64-bit hash; about 99% take one table
    look-up and one multiply)."""
    x = mix64(key + np.uint64(rep + 1) * _GOLDEN)
    iz = x & np.uint64(127)  # unsigned: numba tests no index for a negative value
    hz = np.int64(x >> np.uint64(32)) - _TWO31
    if abs(hz) < _ZKN[iz]:
        return hz * _ZWN[iz]
    return _ziggurat_tail(x, hz, iz)


@kernel(inline="always")
def _less(a, i, j):
    """Order of the admission sequence: arrival asc, then local index (job_id) asc."""
    ai = a[np.uint64(i)]  # unsigned: numba tests no index for a negative value
    aj = a[np.uint64(j)]
    return ai < aj or (ai == aj and i < j)


@kernel(inline="always")
def _insertion_sort(a, order, lo, hi):
    """Insertion sort of order[lo:hi] by (a, index): linear on nearly sorted input."""
    for i in range(lo + 1, hi):
        x = order[np.uint64(i)]
        k = i - 1
        while k >= lo and _less(a, x, order[np.uint64(k)]):
            order[np.uint64(k + 1)] = order[np.uint64(k)]
            k -= 1
        order[np.uint64(k + 1)] = x


@kernel
def sort_by_arrival(a, order, tmp):
    """Sort ``order`` (local indices) by (a, index) in place: insertion-sorted runs of 32, then
    bottom-up merges that skip already ordered pairs (jittered arrivals are nearly sorted)."""
    n = order.shape[0]
    run = 32
    for lo in range(0, n, run):
        _insertion_sort(a, order, lo, min(lo + run, n))
    width = run
    src = order
    dst = tmp
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            if mid >= hi or not _less(a, src[mid], src[mid - 1]):
                for k in range(lo, hi):
                    dst[k] = src[k]
                continue
            i = lo
            j = mid
            for k in range(lo, hi):
                if i < mid and (j >= hi or not _less(a, src[j], src[i])):
                    dst[k] = src[i]
                    i += 1
                else:
                    dst[k] = src[j]
                    j += 1
        src, dst = dst, src
        width *= 2
    if src is not order:
        for k in range(n):
            order[k] = src[k]


@kernel(inline="always")
def bucket_sort_by_arrival(a, order, tmp, bkt, counts):
    """Sort ``order`` by (a, index) in O(n) expected time: a counting pass into n equal-width
    buckets over [min a, max a] (jobs placed in index order, so each bucket starts stable),
    then insertion sort inside each bucket; a crowded bucket (> 64 jobs, e.g. one far outlier)
    falls back to the merge sort, so the worst case stays O(n log n).
    ``tmp`` and ``bkt`` have length n, ``counts`` n + 1."""
    n = a.shape[0]
    if n <= 64:  # small night: insertion sort of the (nearly sorted) base order
        _insertion_sort(a, order, 0, n)
        return
    lo = a[0]
    hi = a[0]
    for j in range(1, n):
        if a[j] < lo:
            lo = a[j]
        elif a[j] > hi:
            hi = a[j]
    if not hi > lo:
        for j in range(n):
            order[j] = j
        return
    scale = n / (hi - lo)
    for b in range(n + 1):
        counts[b] = 0
    for j in range(n):
        b = np.int64((a[j] - lo) * scale)  # >= 0: a[j] >= lo
        if b >= n:
            b = n - 1
        bkt[j] = b
        counts[np.uint64(b + 1)] += 1  # unsigned: numba tests no index for a negative value
    for b in range(n):
        counts[b + 1] += counts[b]
    for j in range(n):
        b = np.uint64(bkt[j])
        tmp[np.uint64(counts[b])] = j
        counts[b] += 1
    # counts[b] is now the end of bucket b; bucket b starts where bucket b - 1 ends
    start = 0
    for b in range(n):
        end = counts[b]
        if end - start > 64:
            sort_by_arrival(a, tmp[start:end], order[start:end])
        else:
            _insertion_sort(a, tmp, start, end)
        start = end
    for j in range(n):
        order[j] = tmp[j]


@kernel(inline="always")
def select_kth(x, n, k):
    """k-th smallest of x[:n] (0-based), reordering x in place (Hoare quickselect, median of 3)."""
    lo = 0
    hi = n - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        # median of three as pivot
        a = x[np.uint64(lo)]
        b = x[np.uint64(mid)]
        c = x[np.uint64(hi)]
        if a < b:
            if b < c:
                pivot = b
            elif a < c:
                pivot = c
            else:
                pivot = a
        else:
            if a < c:
                pivot = a
            elif b < c:
                pivot = c
            else:
                pivot = b
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


@kernel(inline="always")
def _heap_push(ht, hw, size, t, w):
    """Min-heap of finish times ``ht`` carrying the workers ``hw`` each running job holds.
    Which of two jobs finishing at the same minute retires first changes no metric (both
    retire before anything is admitted or dispatched), so ties need no ordering."""
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if ht[np.uint64(p)] <= t:
            break
        ht[np.uint64(i)] = ht[np.uint64(p)]
        hw[np.uint64(i)] = hw[np.uint64(p)]
        i = p
    ht[np.uint64(i)] = t
    hw[np.uint64(i)] = w


@kernel(inline="always")
def _heap_pop(ht, hw, size):
    """Remove the root of a heap of ``size`` entries; the freed slot is padded with +inf."""
    last = size - 1
    t = ht[np.uint64(last)]
    w = hw[np.uint64(last)]
    ht[np.uint64(last)] = np.inf
    n = last
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and ht[np.uint64(c + 1)] < ht[np.uint64(c)]:
            c += 1
        if t <= ht[np.uint64(c)]:
            break
        ht[np.uint64(i)] = ht[np.uint64(c)]
        hw[np.uint64(i)] = hw[np.uint64(c)]
        i = c
    if n > 0:
        ht[np.uint64(i)] = t
        hw[np.uint64(i)] = w


@kernel(inline="always")
def run_night(a, r, order, level, excl, n_levels, workers, horizon,
              bucket_off, bucket_head, bucket_tail, queue, waits, ht, hj, start_out, out):
    """Replay one night whose arrivals ``a`` and runtimes ``r`` are already drawn.

    ``order`` is the admission order (local indices sorted by arrival, then index).
    ``bucket_off`` (length 2 * n_levels + 1) holds the fixed offsets of the FIFO buckets in
    ``queue``: bucket ``2 * level + exclusive``. ``ht``/``hj`` (the running-job heap) have
    length max(1, min(workers, n)): no more jobs than that can run at once.
    If ``start_out`` has length n, start times are written there (tests); else it is ignored.
    Writes the eight metrics (kernel.METRICS order) into ``out``.

    Sentinels: an empty night gives all metrics 0.
    """
    n = a.shape[0]
    nb = 2 * n_levels
    for b in range(nb):
        bucket_head[b] = bucket_off[b]
        bucket_tail[b] = bucket_off[b]
    for k in range(ht.shape[0]):
        ht[k] = np.inf
        hj[k] = 0
    record = start_out.shape[0] == n
    running = 0  # entries in the heap
    busy = 0  # workers in use
    waiting = 0
    excl_waiting = 0
    nxt = 0
    t_prev = 0.0
    q_area = 0.0
    busy_area = 0.0
    max_q = 0
    sum_wait = 0.0
    overflow = 0
    drained = 0.0
    started = 0
    while nxt < n or running > 0:
        t_arr = a[np.uint64(order[np.uint64(nxt)])] if nxt < n else np.inf
        t = ht[0] if ht[0] < t_arr else t_arr
        q_area += waiting * (min(t, horizon) - min(t_prev, horizon))
        t_prev = t
        # retire every running job with finish <= t
        while running > 0 and ht[0] <= t:
            used = hj[0]
            _heap_pop(ht, hj, running)
            running -= 1
            busy -= used
        # admit every arrival with a <= t
        while nxt < n and a[np.uint64(order[np.uint64(nxt)])] <= t:
            j = np.uint64(order[np.uint64(nxt)])
            b = np.uint64(2 * level[j] + (1 if excl[j] else 0))
            queue[np.uint64(bucket_tail[b])] = j
            bucket_tail[b] += 1
            waiting += 1
            if excl[j]:
                excl_waiting += 1
            nxt += 1
        # dispatch
        # an exclusive job holds every worker, so 'busy < workers' also covers 'stop while an
        # exclusive job runs'
        while waiting > 0 and busy < workers:
            if excl_waiting > 0:
                if busy > 0:
                    break
                b = np.uint64(1)
                while bucket_head[b] == bucket_tail[b]:
                    b += np.uint64(2)
                used = workers
                excl_waiting -= 1
            else:
                b = np.uint64(0)
                while bucket_head[b] == bucket_tail[b]:
                    b += np.uint64(2)
                used = 1
            j = np.uint64(queue[np.uint64(bucket_head[b])])
            bucket_head[b] += 1
            waiting -= 1
            busy += used
            w = t - a[j]
            waits[np.uint64(started)] = w
            started += 1
            sum_wait += w
            fin = t + r[j]
            busy_area += (min(fin, horizon) - min(t, horizon)) * used
            if fin > horizon:
                overflow += 1
            if fin > drained:
                drained = fin
            if record:
                start_out[j] = t
            _heap_push(ht, hj, running, fin, used)
            running += 1
        if waiting > max_q:
            max_q = waiting
    if waiting > 0 and t_prev < horizon:  # cannot happen with workers >= 1; kept for the spec
        q_area += waiting * (horizon - t_prev)
    if n == 0:
        for k in range(8):
            out[k] = 0.0
        return
    out[0] = sum_wait / n
    out[1] = select_kth(waits, n, max(0, math.ceil(0.95 * n) - 1))
    out[2] = q_area / horizon
    out[3] = max_q
    # busy_area <= workers * horizon exactly; its running sum can round past it by an ulp
    out[4] = min(1.0, busy_area / (workers * horizon))
    out[5] = overflow
    out[6] = overflow / n
    out[7] = drained


@kernel(inline="always")
def draw_night(rep, base_a, base_r, sigma, key_arr, key_rt, jitter, a, r):
    """Replication ``rep``'s arrivals and runtimes: lognormal runtime factor with mean 1
    (exp(N(-sigma^2/2, sigma))) and a uniform arrival delay in [0, jitter)."""
    n = base_a.shape[0]
    for j in range(n):
        if jitter > 0.0:
            a[j] = base_a[j] + jitter * uniform01(key_arr[j], rep)
        else:
            a[j] = base_a[j]
        s = sigma[j]
        if s > 0.0:
            z = normal_draw(key_rt[j], rep)
            r[j] = base_r[j] * math.exp(s * z - 0.5 * s * s)
        else:
            r[j] = base_r[j]


@kernel
def _bucket_offsets(level, excl, n_levels, off):
    nb = 2 * n_levels
    for b in range(nb + 1):
        off[b] = 0
    for j in range(level.shape[0]):
        off[2 * level[j] + (1 if excl[j] else 0) + 1] += 1
    for b in range(nb):
        off[b + 1] += off[b]


from numba import types  # noqa: E402
from numba.core import cgutils  # noqa: E402
from numba.extending import intrinsic, overload  # noqa: E402


@intrinsic
def _borrow(typingctx, arr):
    """The same array without its reference count (meminfo and parent null), for passing to
    an inlined function inside the event loop: numba increments and decrements the count of
    every array argument of an inlined call that its pruning pass cannot pair up, and those
    atomic operations took 80 % of the loop's time (measured with perf; 1.4 M against 7.6 M
    jobs/s). The caller keeps the original alive (it is used after the call)."""
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        src = context.make_array(aryty)(context, builder, value=args[0])
        dst = context.make_array(aryty)(context, builder)
        dst.meminfo = cgutils.get_null_value(dst.meminfo.type)
        dst.parent = cgutils.get_null_value(dst.parent.type)
        dst.nitems = src.nitems
        dst.itemsize = src.itemsize
        dst.data = src.data
        dst.shape = src.shape
        dst.strides = src.strides
        return dst._getvalue()

    return arr(arr), codegen


@kernel
def _batch_task(night_start, base_a, base_r, sigma, level, excl, key_arr, key_rt, base_order,
                night_levels, night_jitter, night_horizon, scen_night, scen_workers, rep_start,
                col0, out, s, b0, b1):
    """One task of ``simulate_batch``: replications b0 .. b1 - 1 (of this call) of scenario s.
    A function of its own, called by ``batch_range``."""
    g = scen_night[s]
    lo = night_start[g]
    hi = night_start[g + 1]
    n = hi - lo
    c = scen_workers[s]
    L = night_levels[g]
    jit = night_jitter[g]
    H = night_horizon[g]
    lv = level[lo:hi]
    ex = excl[lo:hi]
    a = np.empty(n, np.float64)
    r = np.empty(n, np.float64)
    order = np.empty(n, np.int64)
    tmp = np.empty(n, np.int64)
    bkt = np.empty(n, np.int64)
    counts = np.empty(n + 1, np.int64)
    queue = np.empty(n, np.int64)
    waits = np.empty(n, np.float64)
    # at most min(c, n) jobs run at once (an exclusive job is one entry)
    ht = np.empty(max(1, min(c, n)), np.float64)
    hj = np.empty(max(1, min(c, n)), np.int64)
    off = np.empty(2 * L + 1, np.int64)
    head = np.empty(2 * L, np.int64)
    tail = np.empty(2 * L, np.int64)
    no_trace = np.empty(0, np.float64)
    metrics = np.empty(8, np.float64)
    ba = base_a[lo:hi]
    br = base_r[lo:hi]
    sg = sigma[lo:hi]
    ka = key_arr[lo:hi]
    kr = key_rt[lo:hi]
    bo = base_order[lo:hi]
    _bucket_offsets(lv, ex, L, off)
    # borrowed views (no reference counting) for the inlined calls in the loop; the owners
    # above stay alive until the function returns (used again after the loop)
    a_ = _borrow(a)
    r_ = _borrow(r)
    order_ = _borrow(order)
    tmp_ = _borrow(tmp)
    bkt_ = _borrow(bkt)
    counts_ = _borrow(counts)
    queue_ = _borrow(queue)
    waits_ = _borrow(waits)
    ht_ = _borrow(ht)
    hj_ = _borrow(hj)
    off_ = _borrow(off)
    head_ = _borrow(head)
    tail_ = _borrow(tail)
    nt_ = _borrow(no_trace)
    m_ = _borrow(metrics)
    lv_ = _borrow(lv)
    ex_ = _borrow(ex)
    ba_ = _borrow(ba)
    br_ = _borrow(br)
    sg_ = _borrow(sg)
    ka_ = _borrow(ka)
    kr_ = _borrow(kr)
    for i in range(b0, b1):
        rep = rep_start + i
        draw_night(rep, ba_, br_, sg_, ka_, kr_, jit, a_, r_)
        for k in range(n):
            order_[k] = bo[k]
        if jit > 0.0:
            bucket_sort_by_arrival(a_, order_, tmp_, bkt_, counts_)
        run_night(a_, r_, order_, lv_, ex_, L, c, H, off_, head_, tail_, queue_, waits_, ht_,
                  hj_, nt_, m_)
        for k in range(8):
            out[s, k, col0 + i] = m_[k]
    return (a.shape[0] + r.shape[0] + order.shape[0] + tmp.shape[0] + bkt.shape[0]
            + counts.shape[0] + queue.shape[0] + waits.shape[0] + ht.shape[0] + hj.shape[0]
            + off.shape[0] + head.shape[0] + tail.shape[0] + no_trace.shape[0]
            + metrics.shape[0] + lv.shape[0] + ex.shape[0] + ba.shape[0] + br.shape[0]
            + sg.shape[0] + ka.shape[0] + kr.shape[0])


@kernel
def batch_range(night_start, base_a, base_r, sigma, level, excl, key_arr, key_rt,
                base_order, night_levels, night_jitter, night_horizon,
                scen_night, scen_workers, rep_start, block, col0, n_rep, out, t0, t1):
    """Tasks t0 .. t1 - 1 of ``simulate_batch`` one after another (a thread's share): task t
    is scenario t // n_blocks, replications (t % n_blocks) * block .. + block - 1 of the call."""
    n_blocks = (n_rep + block - 1) // block
    for task in range(t0, t1):
        s = task // n_blocks
        b0 = (task % n_blocks) * block
        b1 = min(b0 + block, n_rep)
        _batch_task(night_start, base_a, base_r, sigma, level, excl, key_arr, key_rt,
                    base_order, night_levels, night_jitter, night_horizon, scen_night,
                    scen_workers, rep_start, col0, out, s, b0, b1)


_POOLS: dict = {}  # thread count -> ThreadPoolExecutor, made on first use and kept (idle
_POOLS_LOCK = [threading.Lock()]  # threads cost nothing; several callers may share a pool)


def _forget_pools_in_child() -> None:
    """After fork the child has the parent's pools but none of their threads (a submit would
    wait forever): start afresh."""
    _POOLS.clear()
    _POOLS_LOCK[0] = threading.Lock()


os.register_at_fork(after_in_child=_forget_pools_in_child)


def simulate_batch(night_start, base_a, base_r, sigma, level, excl, key_arr, key_rt,
                   base_order, night_levels, night_jitter, night_horizon,
                   scen_night, scen_workers, rep_start, block, col0, n_rep, out):
    """Replications rep_start .. rep_start + n_rep - 1 of every scenario into
    out[S, 8, col0:col0 + n_rep] (the caller's whole array: no copy after the call).

    Scenario s replays night scen_night[s] on scen_workers[s] workers. Work is split into
    (scenario, block of replications) tasks; each task allocates its scratch once, so memory
    is O(threads x jobs) whatever R is. The tasks run on numba's thread count of Python
    threads, a few contiguous ranges per thread (``batch_range``, compiled without numba's
    parallel passes, which took 2 s of a first run; every kernel releases the GIL). Results
    do not depend on the split: replications are keyed.
    """
    n_blocks = (n_rep + block - 1) // block
    tasks = scen_night.shape[0] * n_blocks
    work = (n_rep * int(np.sum(night_start[scen_night + 1] - night_start[scen_night]))
            if tasks > 1 else 0)
    run_tasks(batch_range, (night_start, base_a, base_r, sigma, level, excl, key_arr, key_rt,
                            base_order, night_levels, night_jitter, night_horizon, scen_night,
                            scen_workers, rep_start, block, col0, n_rep, out), tasks, work)


SMALL_WORK = 1 << 16  # job-replications below which a call runs on the calling thread


def run_tasks(fn, args, tasks, work):
    """fn(*args, t0, t1) for the tasks 0 .. tasks - 1 of a call: on the calling thread when
    there is one thread, one task or little work (``work`` job-replications below
    ``SMALL_WORK``: handing it to threads would cost more than it saves), else a few
    contiguous ranges per thread on a pool of numba's thread count of Python threads (every
    kernel releases the GIL). Returns when every range has stopped writing."""
    from concurrent.futures import wait

    from numba import get_num_threads

    threads = get_num_threads()
    if threads <= 1 or tasks <= 1 or work < SMALL_WORK:
        fn(*args, 0, tasks)
        return
    with _POOLS_LOCK[0]:  # callers on several threads (a notebook, Dask) share the pools
        pool = _POOLS.get(threads)
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            pool = _POOLS[threads] = ThreadPoolExecutor(threads,
                                                        thread_name_prefix="mcqueue-kernel")
    parts = min(tasks, 4 * threads)  # a few ranges per thread: a busy core slows one range
    cuts = [tasks * k // parts for k in range(parts + 1)]
    futures = [pool.submit(fn, *args, cuts[k], cuts[k + 1]) for k in range(parts)]
    try:
        wait(futures)
    except BaseException:  # Ctrl-C while waiting: drop the ranges not started, let the
        for f in futures:  # running ones finish (they write into the caller's arrays)
            f.cancel()
        wait(futures)
        raise
    for f in futures:
        f.result()


@kernel
def trace_night(rep, base_a, base_r, sigma, level, excl, key_arr, key_rt, base_order,
                n_levels, jitter, horizon, workers, a, r, start_out, out):
    """One replication of one night with its draws (a, r) and start times written out (tests)."""
    n = base_a.shape[0]
    draw_night(rep, base_a, base_r, sigma, key_arr, key_rt, jitter, a, r)
    order = base_order.copy()
    if jitter > 0.0:
        bucket_sort_by_arrival(a, order, np.empty(n, np.int64), np.empty(n, np.int64),
                               np.empty(n + 1, np.int64))
    off = np.empty(2 * n_levels + 1, np.int64)
    _bucket_offsets(level, excl, n_levels, off)
    run_night(a, r, order, level, excl, n_levels, workers, horizon, off,
              np.empty(2 * n_levels, np.int64), np.empty(2 * n_levels, np.int64),
              np.empty(n, np.int64), np.empty(n, np.float64),
              np.empty(max(1, min(workers, n)), np.float64),
              np.empty(max(1, min(workers, n)), np.int64), start_out, out)


# ====================================================================================
# The general event loop (issues 12 and 13): dependencies, deadlines, slots, named locks,
# capacity over the night and four scheduling policies. Nights and scenarios that use none of
# these run through ``simulate_batch`` above, unchanged; this loop is compiled only when a run
# uses it, and a policy's dispatch code only when a run uses that policy: the three parallel
# entry points (tutorial, strict = priority/fifo, backfill) each call their own task function,
# which inlines the one loop (``_general_task``) with the policy as a literal, and ``_dispatch``
# is an overload that resolves to that policy's code at typing time.
# ====================================================================================
@kernel
def _alive(i_own, f_own, u_own):
    """A use of the scratch owners after the replication loop: numba releases an array after
    its last use, and the loop only uses borrowed views of these."""
    return i_own.shape[0] + f_own.shape[0] + u_own.shape[0]


TUTORIAL = 0
STRICT = 1  # priority, and fifo (fifo: every job on one priority level)
BACKFILL = 2

# extra per-replication columns of the general loop, in this order
EXTRA = ("late_jobs", "worker_minutes_above_capacity")
N_EXTRA = len(EXTRA)

# Finish-time histogram of the per-job statistics (see docs/model.md, section 13.4):
# 1/16-minute bins below 64 minutes, 512 bins per power of two from 64 to 2**20 minutes
# (relative width <= 2**-9), then one bin per power of two from 2**20 minutes (the last bin
# takes everything from 2**59 on).
HIST_UNIT = 16.0
HIST_LINEAR = 1024
HIST_SUB_BITS = 9
HIST_FINE_TOP = 24  # fine bins for finish * 16 < 2**24, i.e. finish < 2**20 minutes
HIST_FINE = HIST_LINEAR + (HIST_FINE_TOP - 10) * (1 << HIST_SUB_BITS)
HIST_COARSE = 40
HIST_BINS = HIST_FINE + HIST_COARSE


def hist_edges() -> np.ndarray:
    """Bin edges in minutes (HIST_BINS + 1 values; the last is +inf)."""
    edges = np.empty(HIST_BINS + 1)
    edges[:HIST_LINEAR] = np.arange(HIST_LINEAR) / HIST_UNIT
    sub = 1 << HIST_SUB_BITS
    k = HIST_LINEAR
    for e in range(10, HIST_FINE_TOP):
        width = 2 ** (e - HIST_SUB_BITS)
        edges[k:k + sub] = (2 ** e + width * np.arange(sub)) / HIST_UNIT
        k += sub
    for m in range(HIST_COARSE):
        edges[k + m] = 2.0 ** (HIST_FINE_TOP - 4 + m)
    edges[HIST_BINS] = np.inf
    return edges


@intrinsic
def _float_bits(typingctx, x):
    """The IEEE-754 bits of a float64 as an int64 (a bit cast, no memory)."""
    if not isinstance(x, types.Float) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(x), codegen


@kernel(inline="always")
def finish_bin(v):
    """Histogram bin of a finish time v >= 0 (minutes): floor(16 v) below 64 minutes; from 64
    minutes to 2**20 the power of two and the top 9 bits of the mantissa (relative width
    <= 2**-9); above, one bin per power of two (the last takes everything from 2**59 on)."""
    if v < 64.0:
        return np.int64(v * HIST_UNIT)
    bits = _float_bits(v)
    e = (bits >> 52) - 1023  # floor(log2 v), >= 6
    if e < HIST_FINE_TOP - 4:
        return HIST_LINEAR + (e - 6) * (1 << HIST_SUB_BITS) + ((bits >> (52 - HIST_SUB_BITS))
                                                                & ((1 << HIST_SUB_BITS) - 1))
    m = e - (HIST_FINE_TOP - 4)
    if m >= HIST_COARSE:
        m = HIST_COARSE - 1
    return HIST_FINE + m


@kernel(inline="always")
def _ll_append(bq, nb, nxt, prv, b, j):
    """Append job j to the doubly linked list of bucket b (head bq[b], tail bq[nb + b])."""
    t = bq[nb + b]
    prv[j] = t
    nxt[j] = -1
    if t >= 0:
        nxt[t] = j
    else:
        bq[b] = j
    bq[nb + b] = j


@kernel(inline="always")
def _ll_remove(bq, nb, nxt, prv, b, j):
    p = prv[j]
    q = nxt[j]
    if p >= 0:
        nxt[p] = q
    else:
        bq[b] = q
    if q >= 0:
        prv[q] = p
    else:
        bq[nb + b] = p


@kernel(inline="always")
def _aheap_push(at, aj, size, t, j):
    """Min-heap on times ``at`` carrying jobs ``aj`` (jobs whose predecessors finished before
    their arrival; released at the arrival)."""
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if at[p] <= t:
            break
        at[i] = at[p]
        aj[i] = aj[p]
        i = p
    at[i] = t
    aj[i] = j


@kernel(inline="always")
def _aheap_pop(at, aj, size):
    last = size - 1
    t = at[last]
    j = aj[last]
    n = last
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and at[c + 1] < at[c]:
            c += 1
        if t <= at[c]:
            break
        at[i] = at[c]
        aj[i] = aj[c]
        i = c
    if n > 0:
        at[i] = t
        aj[i] = j


@kernel(inline="always")
def _locks_free(j, lptr, lidx, held):
    for q in range(lptr[j], lptr[j + 1]):
        if held[lidx[q]] >= 0:
            return False
    return True


@kernel(inline="always")
def _share_lock(i, j, lptr, lidx):
    for p in range(lptr[i], lptr[i + 1]):
        for q in range(lptr[j], lptr[j + 1]):
            if lidx[p] == lidx[q]:
                return True
    return False


@kernel(inline="always")
def _fits(j, busy, cap, excl_run, excl, slots, lptr, lidx, held):
    """Job j can start now: no exclusive job runs; an exclusive job needs an empty pool of at
    least max(1, slots) workers; any other job its slots free and its locks not held."""
    if excl_run:
        return False
    if excl[j]:
        need = slots[j] if slots[j] > 1 else 1
        return busy == 0 and cap >= need
    return busy + slots[j] <= cap and _locks_free(j, lptr, lidx, held)


@kernel(inline="always")
def _take(j, u, bkt_of, bq, nb, nxt, prv, lptr, lidx, held, used, sbuf, k):
    """Start job j on u workers: out of its bucket, its locks held, listed in sbuf[k]."""
    _ll_remove(bq, nb, nxt, prv, bkt_of[j], j)
    used[j] = u
    for q in range(lptr[j], lptr[j + 1]):
        held[lidx[q]] = j
    sbuf[k] = j


# The dispatch functions take at most 29 arguments (30 with the policy): CPython compiles a call
# with more than 30 arguments to CALL_FUNCTION_EX, which numba cannot inline; and arrays passed
# in tuples cost reference counting at every call (measured: 6x slower).
@kernel(inline="always")
def _dispatch_tutorial(t, cap, busy, excl_run, excl_wait, waiting, running, nb, depth, bq, nxt,
                       prv, bkt_of, excl, slots, lptr, lidx, held, used, sbuf, hj, start, est,
                       ctime, csize, pf, pu, bfs):
    """Today's rule (buckets 2 * level + exclusive): the first waiting exclusive job goes ahead
    of everything once the pool is empty; otherwise the first waiting job whose locks are free
    starts if its slots fit, else nothing starts."""
    k = 0
    while k < waiting:
        if excl_run or busy >= cap:
            break
        if excl_wait > 0:
            if busy > 0:
                break
            b = 1
            while bq[b] < 0:
                b += 2
            j = bq[b]
            need = slots[j] if slots[j] > 1 else 1
            if cap < need:
                break
            _take(j, cap, bkt_of, bq, nb, nxt, prv, lptr, lidx, held, used, sbuf, k)
            busy += cap
            excl_run = 1
            k += 1
            continue
        j = -1
        b = 0
        while b < nb:
            q = bq[b]
            while q >= 0:
                if _locks_free(q, lptr, lidx, held):
                    j = q
                    break
                q = nxt[q]
            if j >= 0:
                break
            b += 2
        if j < 0 or busy + slots[j] > cap:
            break
        _take(j, slots[j], bkt_of, bq, nb, nxt, prv, lptr, lidx, held, used, sbuf, k)
        busy += slots[j]
        k += 1
    return k, busy, excl_run


@kernel(inline="always")
def _dispatch_strict(t, cap, busy, excl_run, excl_wait, waiting, running, nb, depth, bq, nxt, prv,
                     bkt_of, excl, slots, lptr, lidx, held, used, sbuf, hj, start, est, ctime,
                     csize, pf, pu, bfs):
    """priority / fifo (buckets = levels; fifo has one level): the head of the order starts if
    it fits, else nothing starts (head-of-line blocking, also by a held lock)."""
    k = 0
    while k < waiting:
        if excl_run:
            break
        b = 0
        while bq[b] < 0:
            b += 1
        j = bq[b]
        if not _fits(j, busy, cap, excl_run, excl, slots, lptr, lidx, held):
            break
        u = cap if excl[j] else slots[j]
        _take(j, u, bkt_of, bq, nb, nxt, prv, lptr, lidx, held, used, sbuf, k)
        busy += u
        if excl[j]:
            excl_run = 1
        k += 1
    return k, busy, excl_run


@kernel(inline="always")
def _reservation(h, t, excl, slots, used, hj, running, sbuf, k, start, est, ctime, csize, pf,
                 pu):
    """EASY reservation of head h at time t: the smallest T in {t} U {planned finishes > t} U
    {capacity changes > t} at which capacity(T) minus the workers of the jobs still running at
    T (planned finish max(start + estimate, t) > T) covers h's slots (an exclusive head: no job
    still running and capacity(T) >= max(1, slots)). Returns (T, surplus).
    The running jobs are the heap's ``running`` entries and the ``k`` jobs this dispatch pass
    already started at t (sbuf[:k], not in the heap yet; planned finish t + estimate). The
    capacity steps from the current one on are ctime/csize (ctime[0] <= t)."""
    c1 = ctime.shape[0]
    m = running + k
    need = slots[h] if slots[h] > 1 else 1
    if excl[h]:
        # every running job must have finished by plan: T = max(t, planned finishes), then the
        # first capacity step from T on that is large enough (no sort needed)
        T = t
        for q in range(m):
            if q < running:
                kk = hj[q]
                p = start[kk] + est[kk]
            else:
                p = t + est[sbuf[q - running]]
            if p > T:
                T = p
        c = 0
        while c + 1 < c1 and ctime[c + 1] <= T:
            c += 1
        while csize[c] < need:
            if c + 1 >= c1:  # cannot happen: the last capacity covers every job (checked)
                return np.inf, 0
            c += 1
            T = ctime[c]
        return T, 0
    rem = 0
    for q in range(m):
        if q < running:
            kk = hj[q]
            p = start[kk] + est[kk]
        else:
            kk = sbuf[q - running]
            p = t + est[kk]
        if p < t:
            p = t
        x = used[kk]
        rem += x
        i = q - 1
        while i >= 0 and pf[i] > p:
            pf[i + 1] = pf[i]
            pu[i + 1] = pu[i]
            i -= 1
        pf[i + 1] = p
        pu[i + 1] = x
    q = 0
    c = 0
    T = t
    while True:
        while q < m and pf[q] <= T:
            rem -= pu[q]
            q += 1
        while c + 1 < c1 and ctime[c + 1] <= T:
            c += 1
        cap_t = csize[c]
        if cap_t - rem >= slots[h]:
            return T, cap_t - rem - slots[h]
        nt = np.inf
        if q < m:
            nt = pf[q]
        if c + 1 < c1 and ctime[c + 1] < nt:
            nt = ctime[c + 1]
        if nt == np.inf:  # cannot happen: the last capacity covers every job (checked above)
            return np.inf, 0
        T = nt


@kernel(inline="always")
def _dispatch_backfill(t, cap, busy, excl_run, excl_wait, waiting, running, nb, depth, bq, nxt,
                       prv, bkt_of, excl, slots, lptr, lidx, held, used, sbuf, hj, start, est,
                       ctime, csize, pf, pu, bfs):
    """EASY backfilling on the priority order: the head (first waiting job whose locks are free)
    starts while it fits; when it does not, it gets a reservation (R, surplus) and at most
    ``depth`` jobs behind it may start now if they fit and either t + estimate <= R or they use
    only surplus workers (not exclusive, no lock shared with the head). One pass per event."""
    k = 0
    while k < waiting:
        if excl_run:
            break
        h = -1
        b = 0
        while b < nb:
            q = bq[b]
            while q >= 0:
                if _locks_free(q, lptr, lidx, held):
                    h = q
                    break
                q = nxt[q]
            if h >= 0:
                break
            b += 1
        if h < 0:
            break
        if _fits(h, busy, cap, excl_run, excl, slots, lptr, lidx, held):
            u = cap if excl[h] else slots[h]
            _take(h, u, bkt_of, bq, nb, nxt, prv, lptr, lidx, held, used, sbuf, k)
            busy += u
            if excl[h]:
                excl_run = 1
            k += 1
            continue
        if busy >= cap:  # no job behind the head can fit now: nothing to backfill
            break
        R, surplus = _reservation(h, t, excl, slots, used, hj, running, sbuf, k, start, est,
                                  ctime, csize, pf, pu)
        # An exclusive head has no surplus: a candidate starts only if t + estimate <= R. When
        # the last pass for this head scanned the whole window and started nothing, and no job
        # was released or started since (bfs[0], a version counter), the window holds the same
        # jobs: if even the smallest estimate there (pf[-1]) misses R, nothing can start.
        last = pf.shape[0] - 1
        if excl[h] and bfs[1] == bfs[0] and bfs[2] == h and t + pf[last] > R:
            break
        k0 = k
        min_est = np.inf
        c = nxt[h]
        bb = b
        seen = 0
        # stop early once nothing can fit any more (no free worker, or an exclusive job
        # started): the jobs left behind would fail ``_fits`` anyway
        while seen < depth and busy < cap and not excl_run:
            while c < 0:
                bb += 1
                if bb >= nb:
                    break
                c = bq[bb]
            if c < 0:
                break
            nc = nxt[c]
            seen += 1
            if t + est[c] <= R:
                if _fits(c, busy, cap, excl_run, excl, slots, lptr, lidx, held):
                    u = cap if excl[c] else slots[c]
                    _take(c, u, bkt_of, bq, nb, nxt, prv, lptr, lidx, held, used, sbuf, k)
                    busy += u
                    if excl[c]:
                        excl_run = 1
                    k += 1
            elif ((not excl[c]) and slots[c] <= surplus
                  and _fits(c, busy, cap, excl_run, excl, slots, lptr, lidx, held)
                  and not _share_lock(c, h, lptr, lidx)):
                _take(c, slots[c], bkt_of, bq, nb, nxt, prv, lptr, lidx, held, used, sbuf, k)
                busy += slots[c]
                surplus -= slots[c]
                k += 1
            if est[c] < min_est:
                min_est = est[c]
            c = nc
        if excl[h] and k == k0 and busy < cap and not excl_run:  # the whole window, no start
            bfs[1] = bfs[0]
            bfs[2] = h
            pf[last] = min_est
        else:
            bfs[1] = -1
        break
    return k, busy, excl_run


def _dispatch(policy, t, cap, busy, excl_run, excl_wait, waiting, running, nb, depth, bq, nxt, prv,
              bkt_of, excl, slots, lptr, lidx, held, used, sbuf, hj, start, est, ctime, csize, pf,
              pu, bfs):
    """Typing-time switch on the literal ``policy`` (see the overload below); never called from
    Python. Returns (jobs started, busy, exclusive running); the started jobs are sbuf[:k]."""
    raise NotImplementedError


def _dispatch_tutorial_impl(policy, t, cap, busy, excl_run, excl_wait, waiting, running, nb, depth,
                            bq, nxt, prv, bkt_of, excl, slots, lptr, lidx, held, used, sbuf, hj,
                            start, est, ctime, csize, pf, pu, bfs):
    return _dispatch_tutorial(t, cap, busy, excl_run, excl_wait, waiting, running, nb, depth, bq,
        nxt, prv, bkt_of, excl, slots, lptr, lidx, held, used, sbuf, hj, start, est, ctime, csize,
        pf, pu, bfs)


def _dispatch_strict_impl(policy, t, cap, busy, excl_run, excl_wait, waiting, running, nb, depth,
                          bq, nxt, prv, bkt_of, excl, slots, lptr, lidx, held, used, sbuf, hj,
                          start, est, ctime, csize, pf, pu, bfs):
    return _dispatch_strict(t, cap, busy, excl_run, excl_wait, waiting, running, nb, depth, bq,
        nxt, prv, bkt_of, excl, slots, lptr, lidx, held, used, sbuf, hj, start, est, ctime, csize,
        pf, pu, bfs)


def _dispatch_backfill_impl(policy, t, cap, busy, excl_run, excl_wait, waiting, running, nb, depth,
                            bq, nxt, prv, bkt_of, excl, slots, lptr, lidx, held, used, sbuf, hj,
                            start, est, ctime, csize, pf, pu, bfs):
    return _dispatch_backfill(t, cap, busy, excl_run, excl_wait, waiting, running, nb, depth, bq,
        nxt, prv, bkt_of, excl, slots, lptr, lidx, held, used, sbuf, hj, start, est, ctime, csize,
        pf, pu, bfs)


@overload(_dispatch, inline="always", prefer_literal=True)
def _dispatch_overload(policy, t, cap, busy, excl_run, excl_wait, waiting, running, nb, depth, bq,
                       nxt, prv, bkt_of, excl, slots, lptr, lidx, held, used, sbuf, hj, start, est,
                       ctime, csize, pf, pu, bfs):
    """Resolve ``_dispatch`` to one policy's code: only that policy's dispatch is typed and
    compiled into an entry point."""
    if not isinstance(policy, types.IntegerLiteral):
        return None
    return {TUTORIAL: _dispatch_tutorial_impl, STRICT: _dispatch_strict_impl,
            BACKFILL: _dispatch_backfill_impl}[policy.literal_value]


# ====================================================================================
# Runtime draws of issue 14 (empirical runs, reruns, a night-wide factor) and the state of a
# night re-forecast from "now" (issue 15). Used only by the general loop (a night that needs
# any of them runs there) and by ``draw_block`` (tests); today's kernel never calls them.
# ====================================================================================
EXT_EMPIRICAL = 1  # some job draws its runtime from its recent runs
EXT_RERUN = 2  # some job may run again (retries > 0 and a share > 0)
EXT_NIGHT = 4  # a night-wide lognormal factor (night cv > 0)
EXT_NOW = 8  # the night is re-forecast from ``now``
QUEUED = 0
RUNNING = 1
COMPLETED = 2

_ATTEMPT = np.uint64(0xD1B54A32D192ED03)  # odd: attempt a's key is mix(key + a * _ATTEMPT)
_INV_SQRT2 = 0.7071067811865476
_LOG_SQRT_2PI = 0.9189385332046728  # log(sqrt(2 pi))


@kernel(inline="always")
def attempt_key(key, att):
    """The stream of attempt ``att`` >= 1 of a job's draw for one purpose (attempt 0, the first
    run, uses ``key`` itself): a draw depends on (seed, replication, job_id, purpose, attempt)."""
    return mix64(key + np.uint64(att) * _ATTEMPT)


@kernel(inline="always")
def log_upper_tail(z):
    """log Q(z) = log P(Z > z) for a standard normal Z, accurate for every z: erfc up to z = 30
    (Q(30) ~ 5e-198), then the asymptotic series of the Mills ratio (9 terms: relative error
    below 1e-19 from z = 30 on)."""
    if z < 30.0:
        return math.log(0.5 * math.erfc(z * _INV_SQRT2))
    t = 1.0 / (z * z)
    s = 1.0 - t * (1.0 - 3.0 * t * (1.0 - 5.0 * t * (1.0 - 7.0 * t * (1.0 - 9.0 * t * (
        1.0 - 11.0 * t * (1.0 - 13.0 * t * (1.0 - 15.0 * t)))))))
    return -0.5 * z * z - math.log(z) - _LOG_SQRT_2PI + math.log(s)


@kernel(inline="always")
def _ndtri_lower(p, lp):
    """Phi^-1(p) for 0 < p <= 0.5 given p and lp = log p (Wichura's AS 241, PPND16: relative
    accuracy about 1e-16; the tails from r = sqrt(-lp), so p itself may underflow)."""
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        num = (((((((2509.0809287301226727 * r + 33430.575583588128105) * r
                    + 67265.770927008700853) * r + 45921.953931549871457) * r
                  + 13731.693765509461125) * r + 1971.5909503065514427) * r
                + 133.14166789178437745) * r + 3.387132872796366608)
        den = (((((((5226.495278852545925 * r + 28729.085735721942674) * r
                    + 39307.89580009271061) * r + 21213.794301586595867) * r
                  + 5394.1960214247511077) * r + 687.1870074920579083) * r
                + 42.313330701600911252) * r + 1.0)
        return q * num / den
    r = math.sqrt(-lp)
    if r <= 5.0:
        r -= 1.6
        num = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r
                    + 0.24178072517745061177) * r + 1.27045825245236838258) * r
                  + 3.64784832476320460504) * r + 5.7694972214606914055) * r
                + 4.6303378461565452959) * r + 1.42343711074968357734)
        den = (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r
                    + 0.0151986665636164571966) * r + 0.14810397642748007459) * r
                  + 0.68976733498510000455) * r + 1.6763848301838038494) * r
                + 2.05319162663775882187) * r + 1.0)
    else:
        r -= 5.0
        num = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
                    + 0.0012426609473880784386) * r + 0.026532189526576123093) * r
                  + 0.29656057182850489123) * r + 1.7848265399172913358) * r
                + 5.4637849111641143699) * r + 6.6579046435011037772)
        den = (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r
                    + 1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r
                  + 0.0148753612908506148525) * r + 0.13692988092273580531) * r
                + 0.59983220655588793769) * r + 1.0)
    return -num / den


@kernel(inline="always")
def upper_tail_inverse(lq):
    """The z with log Q(z) = lq (lq <= 0): AS 241 on the smaller of the two tails; below
    lq = -700 (Q < 1e-304, where AS 241 was not fitted) three Newton steps on log Q refine it
    (log Q is concave and smooth: each step doubles the correct digits)."""
    if lq < -0.6931471805599453:  # Q < 1/2: z > 0
        z = -_ndtri_lower(math.exp(lq), lq)
        if lq < -700.0:
            for _ in range(3):
                lz = log_upper_tail(z)
                # d log Q / dz = -phi(z) / Q(z)
                z += (lz - lq) / math.exp(-0.5 * z * z - _LOG_SQRT_2PI - lz)
        return z
    p = -math.expm1(lq)  # 1 - Q <= 1/2: z <= 0
    return _ndtri_lower(p, math.log(p))


@kernel(inline="always")
def conditional_lognormal(est, s, e, u):
    """A lognormal runtime (mean ``est``, log-sd ``s``) given that it exceeds ``e``, by inverse
    transform from the uniform u: F^-1(F(e) + u (1 - F(e))), computed in log space through the
    upper tail, Q(z) = (1 - u) Q(z_e), so e far in the tail stays exact. s = 0: max(est, e)
    (a job past its estimate finishes at once). The result is never below e (a rounding
    guard)."""
    if s <= 0.0:
        return est if est > e else e
    if e > 0.0:
        ze = (math.log(e / est) + 0.5 * s * s) / s
        if ze >= 1e4:
            # far tail (a tiny cv, or e thousands of sds past the estimate): log Q(ze + d) -
            # log Q(ze) = -(ze d + d^2 / 2) up to a relative 1/ze^2, so the excess d solves
            # ze d + d^2 / 2 = -log(1 - u); in log Q itself both sides would cancel to 0 or inf
            t = -math.log1p(-u)
            d = 2.0 * t / (ze + math.sqrt(ze * ze + 2.0 * t))
            x = e * math.exp(s * d)
            return x if e < x < math.inf else e
        lq = log_upper_tail(ze) + math.log1p(-u)
    else:
        lq = math.log1p(-u)
    x = est * math.exp(s * upper_tail_inverse(lq) - 0.5 * s * s)
    return x if e < x < math.inf else e


@kernel(inline="always")
def empirical_pick(vals, lo, m, key, rep):
    """One of the m runs vals[lo:lo + m], each with probability 1/m, from draw ``rep`` of the
    stream at ``key``: k = floor(u m)."""
    k = np.int64(uniform01(key, rep) * m)
    if k >= m:  # u * m rounds up to m with probability ~2**-54
        k = m - 1
    return vals[lo + k]


@kernel(inline="always")
def _attempt_runtime(j, att, rep, est, sg, kr, eptr, evals, kemp):
    """Attempt ``att`` >= 1 of job j (a rerun): a fresh draw from its recent runs, or from its
    lognormal when it has none."""
    m = eptr[j + 1] - eptr[j]
    if m > 0:
        return empirical_pick(evals, eptr[j], m, attempt_key(kemp[j], att), rep)
    s = sg[j]
    if s > 0.0:
        z = normal_draw(attempt_key(kr[j], att), rep)
        return est[j] * math.exp(s * z - 0.5 * s * s)
    return est[j]


@kernel(inline="always")
def draw_ext(rep, flags, ba, est, sg, kr, a, r, arel, eptr, evals, kemp, krr, rp, retries, nkey,
             nsig, now, stat, ts, tf, trd, krem):
    """Replication ``rep``'s draws beyond ``draw_night`` (which drew a and r first), job by job:

    - empirical (``eptr``/``evals``: job j's recent runs in tonight's minutes): a job with runs
      takes one of them, equally likely (stream ``kemp``), instead of its lognormal;
    - the night-wide factor exp(nsig z - nsig^2 / 2), z from the night's stream ``nkey``,
      multiplies every drawn runtime of the replication (reruns too);
    - reruns: after attempt a - 1 (a = 1 .. retries), the job fails with probability rp[j]
      (stream ``krr`` at attempt a) and runs again from the start: a fresh draw (attempt a of
      its runtime streams) is added to its runtime;
    - now (``stat``, ``ts``/``tf``: start/finish facts, ``trd``: the static ready time of a
      started job): a queued job whose window opened before now arrives at its window (no
      jitter); a completed job runs from ts to tf; a running job's first attempt is its
      lognormal (log-sd sqrt(sg^2 + nsig^2), the marginal law of factor x own draw, no factor
      applied on top) or its recent runs, conditioned on exceeding e = now - ts (stream
      ``krem``); it can still fail and rerun. ``arel`` gets each job's release time: its
      arrival, or the static ready time of a started job (whose arrival becomes the earlier
      of its window and that ready time).
    """
    n = ba.shape[0]
    f = 1.0
    if flags & EXT_NIGHT:
        f = math.exp(nsig * normal_draw(nkey, rep) - 0.5 * nsig * nsig)
    nowmode = (flags & EXT_NOW) != 0
    for j in range(n):
        st = stat[j] if nowmode else QUEUED
        if st == QUEUED:
            if nowmode:
                if ba[j] < now:
                    a[j] = ba[j]
                arel[j] = a[j]
            x = r[j]
            m = eptr[j + 1] - eptr[j]
            if m > 0:
                x = empirical_pick(evals, eptr[j], m, kemp[j], rep)
            if flags & EXT_NIGHT:
                x *= f
        else:
            a[j] = ba[j] if ba[j] < trd[j] else trd[j]
            arel[j] = trd[j]
            if st == COMPLETED:
                r[j] = tf[j] - ts[j]
                continue
            e = now - ts[j]
            u = uniform01(krem[j], rep)
            m = eptr[j + 1] - eptr[j]
            if m > 0:
                lo = eptr[j]
                cnt = 0
                for k in range(lo, lo + m):
                    if evals[k] > e:
                        cnt += 1
                if cnt == 0:
                    x = e
                else:
                    pick = np.int64(u * cnt)
                    if pick >= cnt:
                        pick = cnt - 1
                    x = e
                    for k in range(lo, lo + m):
                        if evals[k] > e:
                            if pick == 0:
                                x = evals[k]
                                break
                            pick -= 1
            else:
                x = conditional_lognormal(est[j], math.sqrt(sg[j] * sg[j] + nsig * nsig), e, u)
        p = rp[j]
        if p > 0.0:
            for att in range(1, retries + 1):
                if uniform01(attempt_key(krr[j], att), rep) >= p:
                    break
                y = _attempt_runtime(j, att, rep, est, sg, kr, eptr, evals, kemp)
                if flags & EXT_NIGHT:
                    y *= f
                x += y
        r[j] = x


@kernel(inline="always")
def _general_task(policy, NL, SC, EX, rep_start, col0, n_rep, OUT, TR, s, b0, b1):
    """One task of ``general_*``: replications rep_start + b0 .. rep_start + b1 - 1 of
    scenario s under one policy into out[s, :, col0 + i] (8 metrics) and extra[s, :, col0 + i]
    (EXTRA) (whole output arrays and an offset: one array layout, one compilation).

    NL: the nights (``Batch.kernel_layout``); SC: the scenarios (ids of this call, night,
    fifo flag, backfill depth, capacity steps cap_lo..cap_hi, capacity-minutes to H). The task
    unpacks them and allocates its scratch once (the replication loop passes no tuple: arrays
    in tuples cost reference counting at every use).

    One replication, the event loop of issues 12 and 13: ``order[:n0]`` are the jobs without
    predecessors sorted by (arrival, index). At an event time t (a finish, a ready time, a
    capacity change): retire every finish <= t (a successor whose last predecessor finished
    becomes ready at max(arrival, t)); the pool takes its size at t; release every job whose
    ready time is <= t in (ready, index) order; dispatch by the policy. Waits count from the
    ready time. With ``track`` (per-job statistics, trace) the chain bookkeeping is kept:
    ``psetter``/``pmax`` (the predecessor whose finish set the ready time, ties smallest
    index), ``freed`` (smallest index retired at the event where a job that had waited
    started) and ``chain`` (1 on the critical chain of issue 12).

    Per-job statistics (``pj_fin.shape[1] > 0``): job j of scenario s writes column
    job_off[s] + j, row i of pj_fin (finish), pj_wait (start - ready), pj_dep (ready -
    arrival) and pj_chain (on the critical chain): one replication's jobs side by side, so the
    writes are contiguous; ``fold_per_job`` reduces them. Trace (one
    scenario, one replication, ``tr_start`` of the night's length): every job's draws, ready,
    start, workers used, the predecessor that set its ready time (-1: its arrival), the job
    whose finish freed its workers (-1: none) and its chain membership.

    EX (``Batch.kernel_extensions``): per night the flags EXT_* of ``draw_ext``, and the data
    of the runtime draws of issue 14 and of a re-forecast from now (issue 15). With EXT_NOW the
    night is replayed from its facts: a started job (running or completed) is released at its
    static ready time ``trd`` (its ``left`` count is -1: predecessors never release it) and
    starts at its fact ``ts`` (a forced start, an event, whatever the policy and the pool: it
    holds its slots, an exclusive job the pool at ts); a completed job finishes at ``tf``; no
    job is dispatched by the policy before ``now`` (an event). Without any flag the loop is
    exactly the one of issues 12 and 13.
    """
    (night_start, base_a, base_r, sigma, level, excl_all, slots_all, key_arr, key_rt,
     base_order, npred_all, succ_ptr, sidx, lock_ptr, lidx, deadline, night_levels,
     night_locks, night_jitter, night_horizon) = NL
    (scen_ids, scen_night, scen_fifo, scen_depth, cap_lo, cap_hi, cap_time, cap_size,
     cap_area) = SC
    out, extra, job_off, pj_fin, pj_wait, pj_dep, pj_chain = OUT
    tr_a, tr_r, tr_ready, tr_start, tr_used, tr_setter, tr_freed, tr_chain = TR
    (night_flags, night_sigma, night_key, night_retries, night_now, fs_ptr, fs_idx_all, emp_ptr,
     emp_val, key_emp, key_rerun, key_rem, rerun_p, status, t_start, t_finish, t_ready) = EX
    per_job = pj_fin.shape[1] > 0
    g = scen_night[s]
    lo = night_start[g]
    hi = night_start[g + 1]
    n = hi - lo
    fifo = scen_fifo[s]
    L = 1 if fifo else night_levels[g]
    nb = 2 * L if policy == TUTORIAL else L
    jit = night_jitter[g]
    H = night_horizon[g]
    c0 = cap_lo[s]
    c1 = cap_hi[s]
    area = cap_area[s]
    depth = scen_depth[s]
    maxcap = 0
    for c in range(c0, c1):
        if cap_size[c] > maxcap:
            maxcap = cap_size[c]
    trace = tr_start.shape[0] == n
    track = per_job or trace
    flags = night_flags[g]
    nowmode = (flags & EXT_NOW) != 0
    now_t = night_now[g] if nowmode else -np.inf
    nkey = night_key[g]
    nsig = night_sigma[g]
    retries = night_retries[g]
    fs0 = fs_ptr[g]
    fs1 = fs_ptr[g + 1]
    # utilisation integrated over the events (busy within the pool) with capacity steps, and
    # when started jobs (facts) may run above a constant pool
    varcap = c1 - c0 > 1 or fs1 > fs0
    # every array the loop touches is a borrowed view (``_borrow``): the inputs' owners live in
    # the caller, the scratch's owners (``*_own``) are kept alive to the end by ``_alive``
    excl = _borrow(excl_all[lo:hi])
    slots = _borrow(slots_all[lo:hi])
    npred = _borrow(npred_all[lo:hi])
    sptr = _borrow(succ_ptr[lo:hi + 1])
    sidx = _borrow(sidx)
    lptr = _borrow(lock_ptr[lo:hi + 1])
    lidx = _borrow(lidx)
    dl = _borrow(deadline[lo:hi])
    est = _borrow(base_r[lo:hi])
    sg = _borrow(sigma[lo:hi])
    ba = _borrow(base_a[lo:hi])
    ka = _borrow(key_arr[lo:hi])
    kr = _borrow(key_rt[lo:hi])
    bo = _borrow(base_order[lo:hi])
    cap_time = _borrow(cap_time)
    cap_size = _borrow(cap_size)
    eptr = _borrow(emp_ptr[lo:hi + 1])
    evals = _borrow(emp_val)
    kemp = _borrow(key_emp[lo:hi])
    krr = _borrow(key_rerun[lo:hi])
    krem = _borrow(key_rem[lo:hi])
    rp = _borrow(rerun_p[lo:hi])
    stat = _borrow(status[lo:hi])
    ts = _borrow(t_start[lo:hi])
    tf = _borrow(t_finish[lo:hi])
    trd = _borrow(t_ready[lo:hi])
    fsi = _borrow(fs_idx_all)
    # started jobs run whatever the pool: at most min(capacity, n) started by the policy plus
    # the started ones (forced) run at once
    hsize = max(1, min(maxcap + (fs1 - fs0), n))
    i_own = np.empty(2 * nb + 14 * n + 3 * hsize + 4 + max(1, night_locks[g]), np.int64)
    f_own = np.empty(9 * n + 3 * hsize + 1, np.float64)
    u_own = np.empty(n, np.uint8)
    iv = _borrow(i_own)
    fv = _borrow(f_own)
    chain = _borrow(u_own)
    o = 0
    bq = iv[o:o + 2 * nb]
    o += 2 * nb
    bkt_of = iv[o:o + n]
    nxt = iv[o + n:o + 2 * n]
    prv = iv[o + 2 * n:o + 3 * n]
    lh_j = iv[o + 3 * n:o + 4 * n]
    rel = iv[o + 4 * n:o + 5 * n]
    sbuf = iv[o + 5 * n:o + 6 * n]
    used = iv[o + 6 * n:o + 7 * n]
    left = iv[o + 7 * n:o + 8 * n]
    psetter = iv[o + 8 * n:o + 9 * n]
    freed = iv[o + 9 * n:o + 10 * n]
    order = iv[o + 10 * n:o + 11 * n]
    tmp = iv[o + 11 * n:o + 12 * n]
    bkt = iv[o + 12 * n:o + 13 * n]
    o += 13 * n
    counts = iv[o:o + n + 1]
    o += n + 1
    hj = iv[o:o + hsize]
    pu = iv[o + hsize:o + 2 * hsize]
    o += 3 * hsize
    held = iv[o:o + max(1, night_locks[g])]
    o += max(1, night_locks[g])
    bfs = iv[o:o + 3]  # backfill: version counter, version and head of the last full scan
    ht = fv[0:hsize]
    pf = fv[hsize:2 * hsize + 1]  # planned finishes (reservation); the last: smallest estimate
    lh_t = fv[3 * hsize + 1:3 * hsize + 1 + n]
    o = 3 * hsize + 1 + n
    waits = fv[o:o + n]
    ready = fv[o + n:o + 2 * n]
    start = fv[o + 2 * n:o + 3 * n]
    pmax = fv[o + 3 * n:o + 4 * n]
    a = fv[o + 4 * n:o + 5 * n]
    r = fv[o + 5 * n:o + 6 * n]
    # release times: the arrivals, or (now) with the static ready times of started jobs
    ar = fv[o + 6 * n:o + 7 * n] if nowmode else a
    for j in range(n):
        lv = 0 if fifo else level[lo + j]
        bkt_of[j] = 2 * lv + (1 if excl[j] else 0) if policy == TUTORIAL else lv
        used[j] = 0
    for i in range(b0, b1):
        rep = rep_start + i
        draw_night(rep, ba, est, sg, ka, kr, jit, a, r)
        if flags != 0:
            draw_ext(rep, flags, ba, est, sg, kr, a, r, ar, eptr, evals, kemp, krr, rp, retries,
                     nkey, nsig, now_t, stat, ts, tf, trd, krem)
        for k in range(n):
            order[k] = bo[k]
        if jit > 0.0 or nowmode:
            bucket_sort_by_arrival(ar, order, tmp, bkt, counts)
        n0 = 0
        for k in range(n):
            j = order[k]
            if npred[j] == 0 or (nowmode and stat[j] != QUEUED):
                order[n0] = j
                n0 += 1
        # ---- one replication
        for b in range(2 * nb):
            bq[b] = -1
        for k in range(hsize):
            ht[k] = np.inf
            hj[k] = 0
        for q in range(held.shape[0]):
            held[q] = -1
        bfs[0] = 0
        bfs[1] = -1
        bfs[2] = -1
        for j in range(n):
            left[j] = npred[j]
        if nowmode:
            for j in range(n):
                if stat[j] != QUEUED:
                    left[j] = -1  # released at its static ready time, never by predecessors
        fs_k = fs0
        next_now = now_t if nowmode else np.inf
        if track:
            for j in range(n):
                pmax[j] = -np.inf
                psetter[j] = -1
                freed[j] = -1
        running = 0
        busy = 0
        waiting = 0
        excl_wait = 0
        excl_run = 0
        lh = 0
        nxt_s = 0
        t_prev = 0.0
        q_area = 0.0
        busy_area = 0.0
        within = 0.0
        above = 0.0
        max_q = 0
        sum_wait = 0.0
        overflow = 0
        drained = 0.0
        started = 0
        ci = c0
        cap = cap_size[c0]
        next_cap = cap_time[c0 + 1] if c0 + 1 < c1 else np.inf
        while nxt_s < n0 or lh > 0 or running > 0 or (waiting > 0 and (next_cap < np.inf
                                                                    or next_now < np.inf)):
            t = ht[0]
            if nxt_s < n0 and ar[order[nxt_s]] < t:
                t = ar[order[nxt_s]]
            if lh > 0 and lh_t[0] < t:
                t = lh_t[0]
            if next_cap < t:
                t = next_cap
            if next_now < t:
                t = next_now
            if fs_k < fs1 and ts[fsi[fs_k]] < t:
                t = ts[fsi[fs_k]]
            if t == np.inf:  # cannot happen: the last capacity covers every job (checked)
                break
            d = min(t, H) - min(t_prev, H)
            q_area += waiting * d
            if varcap:
                if busy > cap:
                    within += cap * d
                    above += (busy - cap) * d
                else:
                    within += busy * d
            t_prev = t
            # retire every finish <= t; successors whose last predecessor finished get ready
            minret = -1
            nrel = 0
            while running > 0 and ht[0] <= t:
                fk = ht[0]
                k = hj[0]
                _heap_pop(ht, hj, running)
                running -= 1
                busy -= used[k]
                if excl[k]:
                    excl_run -= 1  # a count: facts of a re-forecast may overlap
                for q in range(lptr[k], lptr[k + 1]):
                    if held[lidx[q]] == k:
                        held[lidx[q]] = -1
                if track and (minret < 0 or k < minret):
                    minret = k
                for q in range(sptr[k], sptr[k + 1]):
                    s2 = sidx[q]
                    # (now: a started job counts only predecessors done by its ready time)
                    if track and (fk > pmax[s2] or (fk == pmax[s2] and k < psetter[s2])) and (
                            left[s2] > 0 or not nowmode or fk <= trd[s2]):
                        pmax[s2] = fk
                        psetter[s2] = k
                    left[s2] -= 1
                    if left[s2] == 0:
                        if ar[s2] <= t:
                            rel[nrel] = s2
                            nrel += 1
                        else:
                            _aheap_push(lh_t, lh_j, lh, ar[s2], s2)
                            lh += 1
            # the pool size at t
            while ci + 1 < c1 and cap_time[ci + 1] <= t:
                ci += 1
            cap = cap_size[ci]
            next_cap = cap_time[ci + 1] if ci + 1 < c1 else np.inf
            # release every job ready at t, in index order (all have ready time t)
            while nxt_s < n0 and ar[order[nxt_s]] <= t:
                rel[nrel] = order[nxt_s]
                nrel += 1
                nxt_s += 1
            while lh > 0 and lh_t[0] <= t:
                rel[nrel] = lh_j[0]
                nrel += 1
                _aheap_pop(lh_t, lh_j, lh)
                lh -= 1
            for m in range(1, nrel):
                x = rel[m]
                q = m - 1
                while q >= 0 and rel[q] > x:
                    rel[q + 1] = rel[q]
                    q -= 1
                rel[q + 1] = x
            for m in range(nrel):
                j = rel[m]
                ready[j] = t
                _ll_append(bq, nb, nxt, prv, bkt_of[j], j)
                if excl[j]:
                    excl_wait += 1
            waiting += nrel
            if nrel > 0:
                bfs[0] += 1
            # now: started jobs start at their facts (released at their ready time <= start)
            while fs_k < fs1 and ts[fsi[fs_k]] <= t:
                j = fsi[fs_k]
                fs_k += 1
                u = cap if excl[j] else slots[j]
                _take(j, u, bkt_of, bq, nb, nxt, prv, lptr, lidx, held, used, sbuf, 0)
                busy += u
                if excl[j]:
                    excl_run += 1
                    excl_wait -= 1
                waiting -= 1
                bfs[0] += 1
                w = t - ready[j]
                waits[started] = w
                started += 1
                sum_wait += w
                fin = t + r[j]
                if not varcap:
                    busy_area += (min(fin, H) - min(t, H)) * u
                if fin > H:
                    overflow += 1
                if fin > drained:
                    drained = fin
                start[j] = t
                if track and t > ready[j]:
                    freed[j] = minret
                _heap_push(ht, hj, running, fin, j)
                running += 1
            if next_now <= t:
                next_now = np.inf
            # dispatch (never before now)
            if waiting > 0 and t >= now_t:
                ks, busy, excl_run = _dispatch(policy, t, cap, busy, excl_run, excl_wait,
                                               waiting, running, nb, depth, bq, nxt, prv,
                                               bkt_of, excl, slots, lptr, lidx, held, used,
                                               sbuf, hj, start, est, cap_time[ci:c1],
                                               cap_size[ci:c1], pf, pu, bfs)
                for m in range(ks):
                    j = sbuf[m]
                    w = t - ready[j]
                    waits[started] = w
                    started += 1
                    sum_wait += w
                    fin = t + r[j]
                    if not varcap:
                        busy_area += (min(fin, H) - min(t, H)) * used[j]
                    if fin > H:
                        overflow += 1
                    if fin > drained:
                        drained = fin
                    start[j] = t
                    if excl[j]:
                        excl_wait -= 1
                    if track and t > ready[j]:
                        freed[j] = minret
                    _heap_push(ht, hj, running, fin, j)
                    running += 1
                waiting -= ks
                if ks > 0:
                    bfs[0] += 1
            if waiting > max_q:
                max_q = waiting
        if waiting > 0 and t_prev < H:  # unreachable: every job starts (as in run_night)
            q_area += waiting * (H - t_prev)
        # ---- metrics
        col = col0 + i
        if n == 0:
            for k in range(8):
                out[s, k, col] = 0.0
            for k in range(N_EXTRA):
                extra[s, k, col] = 0.0
            continue
        out[s, 0, col] = sum_wait / n
        out[s, 1, col] = select_kth(waits, n, max(0, math.ceil(0.95 * n) - 1))
        out[s, 2, col] = q_area / H
        out[s, 3, col] = max_q
        if varcap:
            util = within / area if area > 0.0 else 0.0
        else:
            util = busy_area / (cap_size[c0] * H)
        out[s, 4, col] = min(util, 1.0)
        out[s, 5, col] = overflow
        out[s, 6, col] = overflow / n
        out[s, 7, col] = drained
        late = 0
        for j in range(n):
            if start[j] + r[j] > dl[j]:
                late += 1
        extra[s, 0, col] = late
        extra[s, 1, col] = above
        if track:
            last = 0
            best = -np.inf
            for j in range(n):
                chain[j] = 0
                f = start[j] + r[j]
                if f > best:
                    best = f
                    last = j
            j = last
            while j >= 0:
                chain[j] = 1
                # rule 1: a predecessor's finish set the ready time (pmax >= arrival: then
                # ready = max(arrival, pmax) = pmax; a started job's ready may be its start)
                if npred[j] > 0 and pmax[j] == ready[j]:
                    j = psetter[j]
                else:
                    j = freed[j]
        if per_job:
            row = job_off[s]
            for j in range(n):
                pj_fin[i, row + j] = start[j] + r[j]
                pj_wait[i, row + j] = start[j] - ready[j]
                pj_dep[i, row + j] = ready[j] - a[j]
                pj_chain[i, row + j] = chain[j]
        if trace:
            for j in range(n):
                tr_a[j] = a[j]
                tr_r[j] = r[j]
                tr_ready[j] = ready[j]
                tr_start[j] = start[j]
                tr_used[j] = used[j]
                tr_setter[j] = psetter[j] if npred[j] > 0 and pmax[j] == ready[j] else -1
                tr_freed[j] = freed[j]
                tr_chain[j] = chain[j]
    _alive(i_own, f_own, u_own)


@kernel
def _task_tutorial(NL, SC, EX, rep_start, col0, n_rep, OUT, TR, s, b0, b1):
    _general_task(0, NL, SC, EX, rep_start, col0, n_rep, OUT, TR, s, b0, b1)


@kernel
def _task_strict(NL, SC, EX, rep_start, col0, n_rep, OUT, TR, s, b0, b1):
    _general_task(1, NL, SC, EX, rep_start, col0, n_rep, OUT, TR, s, b0, b1)


@kernel
def _task_backfill(NL, SC, EX, rep_start, col0, n_rep, OUT, TR, s, b0, b1):
    _general_task(2, NL, SC, EX, rep_start, col0, n_rep, OUT, TR, s, b0, b1)


# The drivers: tasks are (scenario, block of replications), as in simulate_batch; each compiled
# range runs tasks t0 .. t1 - 1 one after another and ``run_tasks`` spreads the ranges over
# threads (numba's parallel passes are not used: they took seconds of each first compile).
@kernel
def general_tutorial(NL, SC, EX, rep_start, block, col0, n_rep, OUT, TR, t0, t1):
    """Tasks t0 .. t1 - 1 of replications rep_start .. rep_start + n_rep - 1 of the
    scenarios SC[0] under the tutorial policy (see ``_general_task``)."""
    scen_ids = SC[0]
    n_blocks = (n_rep + block - 1) // block
    for task in range(t0, t1):
        b0 = (task % n_blocks) * block
        _task_tutorial(NL, SC, EX, rep_start, col0, n_rep, OUT, TR, scen_ids[task // n_blocks],
                       b0, min(b0 + block, n_rep))


@kernel
def general_strict(NL, SC, EX, rep_start, block, col0, n_rep, OUT, TR, t0, t1):
    """As ``general_tutorial`` under the priority policy (fifo: one priority level)."""
    scen_ids = SC[0]
    n_blocks = (n_rep + block - 1) // block
    for task in range(t0, t1):
        b0 = (task % n_blocks) * block
        _task_strict(NL, SC, EX, rep_start, col0, n_rep, OUT, TR, scen_ids[task // n_blocks],
                     b0, min(b0 + block, n_rep))


@kernel
def general_backfill(NL, SC, EX, rep_start, block, col0, n_rep, OUT, TR, t0, t1):
    """As ``general_tutorial`` under EASY backfilling."""
    scen_ids = SC[0]
    n_blocks = (n_rep + block - 1) // block
    for task in range(t0, t1):
        b0 = (task % n_blocks) * block
        _task_backfill(NL, SC, EX, rep_start, col0, n_rep, OUT, TR, scen_ids[task // n_blocks],
                       b0, min(b0 + block, n_rep))


GENERAL_RANGE = {TUTORIAL: general_tutorial, STRICT: general_strict, BACKFILL: general_backfill}


def _general_driver(fn):
    def run(NL, SC, EX, rep_start, block, col0, n_rep, OUT, TR):
        """Replications rep_start .. rep_start + n_rep - 1 of the scenarios SC[0] (every task
        of the call, spread over threads by ``run_tasks``)."""
        tasks = SC[0].shape[0] * ((n_rep + block - 1) // block)
        run_tasks(fn, (NL, SC, EX, rep_start, block, col0, n_rep, OUT, TR), tasks,
                  n_rep * int(np.sum(np.diff(NL[0])[SC[1][SC[0]]])) if tasks > 1 else 0)

    run.__name__ = fn.__name__
    return run


GENERAL = {code: _general_driver(fn) for code, fn in GENERAL_RANGE.items()}


@kernel
def draw_block(NL, EX, g, rep_start, a_out, r_out):
    """The arrivals and runtimes the general loop draws for night g in replications rep_start ..
    rep_start + R - 1, into a_out[R, n] and r_out[R, n]: the same inlined ``draw_night`` and
    ``draw_ext`` (tests check the draws apart from the event loop; for a started job of a
    re-forecast the arrival is the earlier of its window and its ready time)."""
    (night_start, base_a, base_r, sigma, level, excl_all, slots_all, key_arr, key_rt,
     base_order, npred_all, succ_ptr, sidx, lock_ptr, lidx, deadline, night_levels,
     night_locks, night_jitter, night_horizon) = NL
    (night_flags, night_sigma, night_key, night_retries, night_now, fs_ptr, fs_idx_all, emp_ptr,
     emp_val, key_emp, key_rerun, key_rem, rerun_p, status, t_start, t_finish, t_ready) = EX
    lo = night_start[g]
    hi = night_start[g + 1]
    n = hi - lo
    flags = night_flags[g]
    now_t = night_now[g] if (flags & EXT_NOW) != 0 else -np.inf
    a = np.empty(n, np.float64)
    r = np.empty(n, np.float64)
    ar = np.empty(n, np.float64)
    for i in range(a_out.shape[0]):
        rep = rep_start + i
        draw_night(rep, base_a[lo:hi], base_r[lo:hi], sigma[lo:hi], key_arr[lo:hi],
                   key_rt[lo:hi], night_jitter[g], a, r)
        if flags != 0:
            draw_ext(rep, flags, base_a[lo:hi], base_r[lo:hi], sigma[lo:hi], key_rt[lo:hi], a, r,
                     ar, emp_ptr[lo:hi + 1], emp_val, key_emp[lo:hi], key_rerun[lo:hi],
                     rerun_p[lo:hi], night_retries[g], night_key[g], night_sigma[g], now_t,
                     status[lo:hi], t_start[lo:hi], t_finish[lo:hi], t_ready[lo:hi],
                     key_rem[lo:hi])
        for j in range(n):
            a_out[i, j] = a[j]
            r_out[i, j] = r[j]


def fold_per_job(pj_fin, pj_wait, pj_dep, pj_chain, deadline_rows, m, late, on_chain, sum_wait,
                 sum_dep, fmin, fmax, hist):
    """Add rows 0 .. m - 1 of the per-job buffers (one row per replication, in replication
    order; one column per job and scenario) to each column's totals: late count (finish >
    deadline), chain count, wait and dependency-delay sums (added in replication order, so the
    totals do not depend on block size, chunking or threads), finish min/max and histogram
    (``finish_bin``). Blocks of 256 columns are the tasks of ``run_tasks`` (each column is
    one task's, read row by row, contiguous): no numba parallel loop to compile."""
    cols = pj_fin.shape[1]
    run_tasks(fold_per_job_range, (pj_fin, pj_wait, pj_dep, pj_chain, deadline_rows, m, late,
                                   on_chain, sum_wait, sum_dep, fmin, fmax, hist),
              (cols + 255) // 256, m * cols)


@kernel
def fold_per_job_range(pj_fin, pj_wait, pj_dep, pj_chain, deadline_rows, m, late, on_chain,
                       sum_wait, sum_dep, fmin, fmax, hist, b0, b1):
    """``fold_per_job`` of the column blocks b0 .. b1 - 1."""
    cols = pj_fin.shape[1]
    for blk in range(b0, b1):
        j0 = blk * 256
        j1 = min(j0 + 256, cols)
        for i in range(m):
            for col in range(j0, j1):
                f = pj_fin[i, col]
                if f > deadline_rows[col]:
                    late[col] += 1
                on_chain[col] += pj_chain[i, col]
                sum_wait[col] += pj_wait[i, col]
                sum_dep[col] += pj_dep[i, col]
                if f < fmin[col]:
                    fmin[col] = f
                if f > fmax[col]:
                    fmax[col] = f
                hist[col, finish_bin(f)] += 1
