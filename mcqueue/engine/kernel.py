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

import numpy as np
from numba import prange

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
        if _ZFN[iz] + _bits_uniform(x) * (_ZFN[iz - 1] - _ZFN[iz]) < math.exp(-0.5 * v * v):
            return v
        x = mix64(x + _GOLDEN)
        iz = np.int64(x & np.uint64(127))
        hz = np.int64(x >> np.uint64(32)) - _TWO31
        if abs(hz) < _ZKN[iz]:
            return hz * _ZWN[iz]


@kernel(inline="always")
def normal_draw(key, rep):
    """Standard normal draw number ``rep`` of the stream at ``key`` (ziggurat: the layer from the
    low 7 bits, the value from the high 32 bits of one 64-bit hash; about 99% take one table
    look-up and one multiply)."""
    x = mix64(key + np.uint64(rep + 1) * _GOLDEN)
    iz = np.int64(x & np.uint64(127))
    hz = np.int64(x >> np.uint64(32)) - _TWO31
    if abs(hz) < _ZKN[iz]:
        return hz * _ZWN[iz]
    return _ziggurat_tail(x, hz, iz)


@kernel(inline="always")
def _less(a, i, j):
    """Order of the admission sequence: arrival asc, then local index (job_id) asc."""
    return a[i] < a[j] or (a[i] == a[j] and i < j)


@kernel(inline="always")
def _insertion_sort(a, order, lo, hi):
    """Insertion sort of order[lo:hi] by (a, index): linear on nearly sorted input."""
    for i in range(lo + 1, hi):
        x = order[i]
        k = i - 1
        while k >= lo and _less(a, x, order[k]):
            order[k + 1] = order[k]
            k -= 1
        order[k + 1] = x


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
        b = np.int64((a[j] - lo) * scale)
        if b >= n:
            b = n - 1
        bkt[j] = b
        counts[b + 1] += 1
    for b in range(n):
        counts[b + 1] += counts[b]
    for j in range(n):
        b = bkt[j]
        tmp[counts[b]] = j
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
        a = x[lo]
        b = x[mid]
        c = x[hi]
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


@kernel(inline="always")
def _heap_push(ht, hw, size, t, w):
    """Min-heap of finish times ``ht`` carrying the workers ``hw`` each running job holds.
    Which of two jobs finishing at the same minute retires first changes no metric (both
    retire before anything is admitted or dispatched), so ties need no ordering."""
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if ht[p] <= t:
            break
        ht[i] = ht[p]
        hw[i] = hw[p]
        i = p
    ht[i] = t
    hw[i] = w


@kernel(inline="always")
def _heap_pop(ht, hw, size):
    """Remove the root of a heap of ``size`` entries; the freed slot is padded with +inf."""
    last = size - 1
    t = ht[last]
    w = hw[last]
    ht[last] = np.inf
    n = last
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and ht[c + 1] < ht[c]:
            c += 1
        if t <= ht[c]:
            break
        ht[i] = ht[c]
        hw[i] = hw[c]
        i = c
    if n > 0:
        ht[i] = t
        hw[i] = w


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
        t_arr = a[order[nxt]] if nxt < n else np.inf
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
        while nxt < n and a[order[nxt]] <= t:
            j = order[nxt]
            b = 2 * level[j] + (1 if excl[j] else 0)
            queue[bucket_tail[b]] = j
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
                b = 1
                while bucket_head[b] == bucket_tail[b]:
                    b += 2
                used = workers
                excl_waiting -= 1
            else:
                b = 0
                while bucket_head[b] == bucket_tail[b]:
                    b += 2
                used = 1
            j = queue[bucket_head[b]]
            bucket_head[b] += 1
            waiting -= 1
            busy += used
            w = t - a[j]
            waits[started] = w
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


@kernel(parallel=True)
def simulate_batch(night_start, base_a, base_r, sigma, level, excl, key_arr, key_rt,
                   base_order, night_levels, night_jitter, night_horizon,
                   scen_night, scen_workers, rep_start, block, out):
    """Replications rep_start .. rep_start + R - 1 of every scenario into out[S, 8, R].

    Scenario s replays night scen_night[s] on scen_workers[s] workers. Work is split into
    (scenario, block of replications) tasks run with prange; each task allocates its scratch
    once, so memory is O(threads x jobs) whatever R is.
    """
    n_scen = scen_night.shape[0]
    n_rep = out.shape[2]
    n_blocks = (n_rep + block - 1) // block
    for task in prange(n_scen * n_blocks):
        s = task // n_blocks
        b0 = (task % n_blocks) * block
        b1 = min(b0 + block, n_rep)
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
        for i in range(b0, b1):
            rep = rep_start + i
            draw_night(rep, ba, br, sg, ka, kr, jit, a, r)
            for k in range(n):
                order[k] = bo[k]
            if jit > 0.0:
                bucket_sort_by_arrival(a, order, tmp, bkt, counts)
            run_night(a, r, order, lv, ex, L, c, H, off, head, tail, queue, waits, ht, hj,
                      no_trace, metrics)
            for k in range(8):
                out[s, k, i] = metrics[k]


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


@kernel
def stream_keys(job_hash, seed, purpose, out):
    """Start of job j's random stream for one purpose: mix(mix(seed ^ purpose) ^ hash(job_id))."""
    base = mix64(seed ^ mix64(purpose))
    for j in range(job_hash.shape[0]):
        out[j] = mix64(base ^ job_hash[j])
