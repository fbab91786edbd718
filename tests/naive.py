"""A slow, obviously-correct twin of the engine's model of one night.

Written straight from docs/model.md, section 3 "The event loop", without looking at the kernel's data
structures: the waiting jobs are a plain list that is re-sorted before every dispatch decision,
the running jobs a plain list scanned for the earliest finish. Clarity over speed. The tests
compare the numba kernel with this function replication by replication (tests/test_twin.py) and
give it an independent Monte Carlo driver (tests/test_montecarlo.py).

Sums are taken with ``math.fsum`` (correctly rounded), so a float metric may differ from the
kernel's running sum in the last bits; every term is >= 0, so the relative difference is at most
about n * 2**-53 (see test_twin.py).
"""

from __future__ import annotations

import math

import numpy as np

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


def naive_night(arrival, runtime, priority, exclusive, job_id, workers, horizon):
    """Replay one night; return ``{"metrics": {8 metrics}, "start_minute": [...],
    "finish_minute": [...], "workers_used": [...]}`` (lists indexed like the inputs).

    arrival: minutes after batch start at which each job is ready; runtime: minutes (> 0);
    priority: integers, higher runs first; exclusive: needs the whole pool; job_id: strings,
    the last tie-break; workers: c >= 1; horizon: H, the cutoff in minutes after batch start.
    """
    n = len(arrival)
    arrival = [float(x) for x in arrival]
    runtime = [float(x) for x in runtime]
    priority = [int(x) for x in priority]
    exclusive = [bool(x) for x in exclusive]
    job_id = [str(x) for x in job_id]
    H = float(horizon)
    c = int(workers)

    not_arrived = sorted(range(n), key=lambda j: arrival[j])
    waiting: list[int] = []
    running: list[tuple[float, int, int]] = []  # (finish, job, workers used)
    start = [math.nan] * n
    finish = [math.nan] * n
    used_by = [0] * n

    def dispatch_order(j):
        return (-priority[j], arrival[j], job_id[j])

    queue_area_terms = []
    max_queue = 0
    t_prev = 0.0
    while not_arrived or running:
        next_arrival = arrival[not_arrived[0]] if not_arrived else math.inf
        earliest_finish = min(f for f, _, _ in running) if running else math.inf
        t = min(next_arrival, earliest_finish)
        # queue length was constant on (t_prev, t]: count it up to the cutoff only
        queue_area_terms.append(len(waiting) * (min(t, H) - min(t_prev, H)))
        t_prev = t
        # 1. retire every running job with finish <= t
        running = [x for x in running if x[0] > t]
        # 2. admit every arrival with a <= t
        while not_arrived and arrival[not_arrived[0]] <= t:
            waiting.append(not_arrived.pop(0))
        # 3. dispatch until something stops us
        while waiting:
            waiting.sort(key=dispatch_order)
            busy = sum(u for _, _, u in running)
            if busy >= c:
                break
            if any(exclusive[j] for _, j, _ in running):
                break
            exclusive_waiting = [j for j in waiting if exclusive[j]]  # keeps the sort order
            if exclusive_waiting:
                if running:
                    break
                job, used = exclusive_waiting[0], c
            else:
                job, used = waiting[0], 1
            waiting.remove(job)
            start[job] = t
            finish[job] = t + runtime[job]
            used_by[job] = used
            running.append((finish[job], job, used))
        max_queue = max(max_queue, len(waiting))
    if waiting and t_prev < H:  # as docs/model.md says; unreachable with c >= 1
        queue_area_terms.append(len(waiting) * (H - t_prev))

    if n == 0:
        # the kernel's documented sentinel for an empty night: every metric 0
        metrics = dict.fromkeys(METRICS, 0.0)
        metrics["max_queue_length"] = 0
        metrics["overflow_jobs"] = 0
    else:
        waits = [start[j] - arrival[j] for j in range(n)]
        overflow = sum(1 for j in range(n) if finish[j] > H)
        busy_area = math.fsum((min(finish[j], H) - min(start[j], H)) * used_by[j]
                              for j in range(n))
        metrics = {
            "average_wait_minutes": math.fsum(waits) / n,
            "p95_wait_minutes": sorted(waits)[max(0, math.ceil(0.95 * n) - 1)],
            "average_queue_length": math.fsum(queue_area_terms) / H,
            "max_queue_length": max_queue,
            "worker_utilization": busy_area / (c * H),
            "overflow_jobs": overflow,
            "overflow_risk": overflow / n,
            "queue_drained_minute": max(finish),
        }
    return {"metrics": metrics, "start_minute": start, "finish_minute": finish,
            "workers_used": used_by}


def naive_monte_carlo(arrival, runtime, priority, exclusive, job_id, workers, horizon,
                      runtime_cv, arrival_jitter, replications, seed):
    """The twin's own Monte Carlo, independent of the engine's random numbers.

    numpy's default_rng: each job's runtime times exp(N(-s^2/2, s)) with s^2 = ln(1 + cv^2)
    (lognormal, mean 1, coefficient of variation cv); each arrival delayed by U[0, J).
    Returns a dict of per-replication arrays, one per metric.
    """
    rng = np.random.default_rng(seed)
    arrival = np.asarray(arrival, dtype=float)
    runtime = np.asarray(runtime, dtype=float)
    n = arrival.shape[0]
    s = math.sqrt(math.log(1.0 + runtime_cv * runtime_cv))
    out = {m: np.empty(replications) for m in METRICS}
    for i in range(replications):
        factor = np.exp(rng.normal(-s * s / 2.0, s, n)) if s > 0 else np.ones(n)
        delay = rng.uniform(0.0, arrival_jitter, n) if arrival_jitter > 0 else np.zeros(n)
        res = naive_night(arrival + delay, runtime * factor, priority, exclusive, job_id,
                          workers, horizon)["metrics"]
        for m in METRICS:
            out[m][i] = res[m]
    return out


# ---------------------------------------------------------------- comparison helpers for tests
def naive_of_night(night, workers, arrival=None, runtime=None):
    """Run the naive twin on a Night (optionally with drawn arrivals/runtimes)."""
    return naive_night(night.arrival_minute if arrival is None else arrival,
                       night.runtime_minutes if runtime is None else runtime,
                       night.priority, night.exclusive, night.job_id, workers,
                       night.horizon_minutes)


# Integer-valued metrics are compared exactly; the float ones may differ in the last bits
# because the kernel sums in event order and the twin with math.fsum (see test_twin.py).
EXACT = ("p95_wait_minutes", "max_queue_length", "overflow_jobs", "overflow_risk",
         "queue_drained_minute")
SUMMED = ("average_wait_minutes", "average_queue_length", "worker_utilization")
REL_TOL = 1e-12


def assert_metrics_match(kernel: dict, twin: dict, context=""):
    assert set(kernel) == set(METRICS), context
    for m in EXACT:
        assert kernel[m] == twin[m], f"{m}: kernel {kernel[m]!r} twin {twin[m]!r} {context}"
    for m in SUMMED:
        assert math.isclose(kernel[m], twin[m], rel_tol=REL_TOL, abs_tol=0.0), (
            f"{m}: kernel {kernel[m]!r} twin {twin[m]!r} {context}")


def assert_same_array(a, b, context=""):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape, context
    assert np.array_equal(a, b, equal_nan=True), f"{context}\n{a}\n{b}"
