"""The yardstick of issue 17: a minimal hand-written numba kernel of a small night.

Plain and honest: the same night, the same semantics (docs/model.md, the tutorial's event loop)
and the same noise (the engine's splitmix64 streams, its ziggurat normal and lognormal factor,
drawn from the engine's stream keys) as ``kernel.simulate_batch``, and the same eight
per-replication metrics written into an (8, R) array, but nothing else: no general layout of
several nights, no FIFO buckets, no running-job heap, no bucket sort, no statistics across
replications. Waiting jobs (a list in admission order) and running jobs (a list of finish times) are
scanned linearly (fine for a handful of jobs), the
admission order is an insertion sort of the planned order, the p95 wait an insertion sort of the waits.

It gives the engine's metrics bit for bit (``bench_yardstick.py`` checks it on every timed run),
so the comparison is the cost of the same work. Compiled with the engine's options (cache=True,
error_model="numpy", no fastmath).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from mcqueue.engine.kernel import _ZFN, _ZKN, _ZR, _ZWN  # the ziggurat's tables (data only)

_OPTS = dict(cache=True, error_model="numpy", nogil=True, fastmath=False)

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
INV53 = 1.0 / 9007199254740992.0


@njit(inline="always", **_OPTS)
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * M1
    z = (z ^ (z >> np.uint64(27))) * M2
    return z ^ (z >> np.uint64(31))


@njit(inline="always", **_OPTS)
def _u01(x):
    return (np.float64(np.int64(x >> np.uint64(11))) + 0.5) * INV53


@njit(**_OPTS)
def _normal_tail(x, hz, iz, kn, wn, fn):
    while True:
        v = hz * wn[iz]
        if iz == 0:
            while True:
                x = _mix(x + GOLDEN)
                xx = -math.log(_u01(x)) / _ZR
                x = _mix(x + GOLDEN)
                yy = -math.log(_u01(x))
                if yy + yy >= xx * xx:
                    break
            return _ZR + xx if hz > 0 else -_ZR - xx
        x = _mix(x + GOLDEN)
        if fn[iz] + _u01(x) * (fn[iz - 1] - fn[iz]) < math.exp(-0.5 * v * v):
            return v
        x = _mix(x + GOLDEN)
        iz = np.int64(x & np.uint64(127))
        hz = np.int64(x >> np.uint64(32)) - 2147483648
        if abs(hz) < kn[iz]:
            return hz * wn[iz]


@njit(parallel=True, **_OPTS)
def yardstick(base_a, base_r, sigma, level, excl, key_a, key_r, base_order, workers, horizon,
              jitter, rep_start, block, kn, wn, fn, stage, out):
    """Replications rep_start .. rep_start + R - 1 of one night into out[8, R].

    ``stage`` < 2 stops early for the profile: 0 after the draws, 1 after the admission sort
    (writing one value per replication so nothing is optimised away); 2 is the whole kernel."""
    n = base_a.shape[0]
    R = out.shape[1]
    nblocks = (R + block - 1) // block
    for blk in prange(nblocks):
        a = np.empty(n)
        r = np.empty(n)
        order = np.empty(n, np.int64)
        wq = np.empty(n, np.int64)  # waiting jobs in admission order
        fin = np.empty(n)  # finish times of the running jobs (the first ``running``)
        held = np.empty(n, np.int64)  # workers each running job holds
        waits = np.empty(n)
        for i in range(blk * block, min(R, (blk + 1) * block)):
            rep = np.uint64(rep_start + i + 1)
            # draws: arrival delay jitter * U(0, 1); runtime factor exp(s z - s^2 / 2)
            for j in range(n):
                a[j] = base_a[j] + jitter * _u01(_mix(key_a[j] + rep * GOLDEN)) \
                    if jitter > 0.0 else base_a[j]
                s = sigma[j]
                if s > 0.0:
                    x = _mix(key_r[j] + rep * GOLDEN)
                    iz = np.int64(x & np.uint64(127))
                    hz = np.int64(x >> np.uint64(32)) - 2147483648
                    z = hz * wn[iz] if abs(hz) < kn[iz] else _normal_tail(x, hz, iz, kn, wn, fn)
                    r[j] = base_r[j] * math.exp(s * z - 0.5 * s * s)
                else:
                    r[j] = base_r[j]
            if stage == 0:
                out[0, i] = a[n - 1] + r[n - 1]
                continue
            # admission order: (arrival, index), insertion sort of the planned order
            for k in range(n):
                order[k] = base_order[k]
            for k in range(1, n):
                x = order[k]
                m = k - 1
                while m >= 0 and (a[x] < a[order[m]] or (a[x] == a[order[m]] and x < order[m])):
                    order[m + 1] = order[m]
                    m -= 1
                order[m + 1] = x
            if stage == 1:
                out[0, i] = order[n - 1]
                continue
            nxt = 0
            n_wait = 0
            n_excl = 0
            busy = 0
            running = 0
            started = 0
            t_prev = 0.0
            q_area = 0.0
            busy_area = 0.0
            sum_wait = 0.0
            max_q = 0
            overflow = 0
            drained = 0.0
            while nxt < n or running > 0:
                t = a[order[nxt]] if nxt < n else np.inf
                for k in range(running):
                    if fin[k] < t:
                        t = fin[k]
                q_area += n_wait * (min(t, horizon) - min(t_prev, horizon))
                t_prev = t
                k = 0
                while k < running:  # retire: swap the last running job into the slot
                    if fin[k] <= t:
                        busy -= held[k]
                        running -= 1
                        fin[k] = fin[running]
                        held[k] = held[running]
                    else:
                        k += 1
                while nxt < n and a[order[nxt]] <= t:  # admit, in (arrival, index) order
                    j = order[nxt]
                    wq[n_wait] = j
                    n_wait += 1
                    if excl[j]:
                        n_excl += 1
                    nxt += 1
                while n_wait > 0 and busy < workers:  # dispatch
                    if n_excl > 0 and busy > 0:
                        break
                    # the first of the highest priority in admission order (of the exclusive
                    # jobs while one waits)
                    bk = -1
                    for k in range(n_wait):
                        j = wq[k]
                        if (n_excl == 0 or excl[j]) and (bk < 0 or level[j] < level[wq[bk]]):
                            bk = k
                    best = wq[bk]
                    for k in range(bk, n_wait - 1):
                        wq[k] = wq[k + 1]
                    n_wait -= 1
                    used = 1
                    if excl[best]:
                        used = workers
                        n_excl -= 1
                    busy += used
                    w = t - a[best]
                    waits[started] = w
                    started += 1
                    sum_wait += w
                    f = t + r[best]
                    busy_area += (min(f, horizon) - min(t, horizon)) * used
                    if f > horizon:
                        overflow += 1
                    if f > drained:
                        drained = f
                    fin[running] = f
                    held[running] = used
                    running += 1
                if n_wait > max_q:
                    max_q = n_wait
            # p95 wait: the ceil(0.95 n)-th smallest, by sorting the top of the waits
            k95 = max(0, math.ceil(0.95 * n) - 1)
            for k in range(1, n):
                x = waits[k]
                m = k - 1
                while m >= 0 and waits[m] > x:
                    waits[m + 1] = waits[m]
                    m -= 1
                waits[m + 1] = x
            out[0, i] = sum_wait / n
            out[1, i] = waits[k95]
            out[2, i] = q_area / horizon
            out[3, i] = max_q
            out[4, i] = min(1.0, busy_area / (workers * horizon))
            out[5, i] = overflow
            out[6, i] = overflow / n
            out[7, i] = drained


def run(batch, workers: int, replications: int, rep_start: int = 0, block: int = 4096):
    """The yardstick on night 0 of an ``engine.prepare`` batch: (8, R) metrics."""
    lo, hi = int(batch.night_start[0]), int(batch.night_start[1])
    out = np.empty((8, replications))
    yardstick(batch.base_a[lo:hi], batch.base_r[lo:hi], batch.sigma[lo:hi], batch.level[lo:hi],
              batch.excl[lo:hi], batch.key_arr[lo:hi], batch.key_rt[lo:hi],
              batch.base_order[lo:hi], workers, float(batch.night_horizon[0]),
              float(batch.night_jitter[0]), rep_start, block, _ZKN, _ZWN, _ZFN, 2, out)
    return out
