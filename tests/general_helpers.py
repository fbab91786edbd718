"""Helpers for comparing the general event loop of the kernel (issues 12 and 13) with the naive
twin (tests/naive_general.py) and the oracles (tests/oracles.py).

The twin takes plain lists in any job order; the kernel takes a ``Night`` in canonical order
(sorted by job_id). ``canonical`` reorders a twin night so that both sides use the same indices,
``to_night`` builds the Night, ``kernel_trace`` replays one replication through the kernel and
``compare_with_twin`` replays the kernel's own draws through the twin and compares.

Tolerances (derived, not tuned):
- start, ready and finish times, workers used, late flags, the chain, the counts and the
  single-operation metrics (p95 wait, max queue, overflow jobs and share, drained minute) are
  the same floating-point operations on the same inputs on both sides: exact.
- average wait and average queue length are sums of the same non-negative terms, added in event
  order by the kernel and correctly rounded (math.fsum) by the twin: relative error at most
  n * 2**-53 for n <= 200 terms, so a relative 1e-12 (as in tests/test_twin.py).
- utilisation and worker-minutes above capacity with a changing pool: the kernel integrates
  min(busy, capacity) over event intervals, the twin sums job areas minus the area above the
  pool; the two decompositions round differently. Each interval length or job area carries an
  absolute error of at most 2**-52 * H * (largest pool) and there are at most T = 3 n + 3 s + 4
  terms (n jobs, s capacity steps) on each side, so they agree within T * pool * H * 2**-50
  (absolute, before dividing by the capacity-minutes).
"""

from __future__ import annotations

import math

import numpy as np

from mcqueue.engine import simulate as engine
from mcqueue.engine.night import Night
from mcqueue.engine.perturbation import Perturbation
from naive import METRICS
from naive_general import capacity_steps
from oracles import DagNight, run_naive

EXACT = ("p95_wait_minutes", "max_queue_length", "overflow_jobs", "overflow_risk",
         "queue_drained_minute")
SUMMED = ("average_wait_minutes", "average_queue_length")
REL_TOL = 1e-12


def hhmm(minute_of_day: float) -> str:
    m = int(minute_of_day) % 1440
    return f"{m // 60:02d}:{m % 60:02d}"


def canonical(d: DagNight) -> DagNight:
    """The same night with its jobs sorted by job_id (the kernel's order), predecessor indices
    remapped; estimates default to the runtimes."""
    order = sorted(range(d.n), key=lambda j: d.job_id[j])
    pos = {j: k for k, j in enumerate(order)}

    def pick(col):
        return None if col is None else [col[j] for j in order]

    preds = d.preds()
    return DagNight(
        arrival=pick(d.arrival), runtime=pick(d.runtime), priority=pick(d.priority),
        exclusive=pick(d.exclusive), job_id=pick(d.job_id), horizon=d.horizon,
        depends_on=[sorted(pos[p] for p in preds[j]) for j in order],
        deadline=pick(d.deadline) if d.deadline is not None else [None] * d.n,
        slots=pick(d.slots) if d.slots is not None else [1] * d.n,
        locks=pick(d.locks) if d.locks is not None else [frozenset()] * d.n,
        estimated_runtime=pick(d.estimated_runtime) if d.estimated_runtime is not None
        else pick(d.runtime))


def to_night(d: DagNight) -> Night:
    """A Night with the twin night's columns (runtime_minutes = the estimates: the kernel's
    base runtimes are what backfill plans with). Batch 01:00, cutoff 01:00 + H."""
    assert float(d.horizon).is_integer() and 0 < d.horizon <= 1440
    ids = list(d.job_id)
    preds = d.preds()
    est = d.estimated_runtime if d.estimated_runtime is not None else d.runtime
    return Night.from_arrays(
        d.arrival, est, d.priority, d.exclusive, ids, batch_start="01:00",
        batch_end=hhmm(60 + d.horizon),
        depends_on=[[ids[p] for p in preds[j]] for j in range(d.n)],
        deadline=[x if x is not None else float("nan") for x in
                  (d.deadline or [None] * d.n)],
        slots=d.slots, locks=[sorted(x) for x in (d.locks or [()] * d.n)])


def pool_args(workers):
    """Twin ``workers`` (int or steps) -> (workers, capacity) for the engine."""
    if isinstance(workers, (list, tuple)):
        steps = capacity_steps(workers)
        biggest_first = max(1, int(steps[0][1]))
        return biggest_first, tuple((float(m), int(s)) for m, s in steps)
    return int(workers), None


def kernel_trace(night: Night, workers, policy, rep=0, cv=0.0, jitter=0.0, seed=0,
                 backfill_depth=None):
    w, cap = pool_args(workers)
    # the engine requires slots <= workers: give it the largest slots if the pool at 0 is less
    # (the capacity steps, which start at minute 0, decide the pool anyway)
    w = max(w, night.max_slots)
    return engine.trace(night, w, rep, Perturbation(cv, jitter), seed, policy=policy,
                        capacity=cap, backfill_depth=backfill_depth, detail=True)


def area_tolerance(d: DagNight, workers) -> tuple[float, float]:
    """(absolute tolerance of worker-minutes above capacity, of utilisation): see the module
    docstring."""
    steps = capacity_steps(workers) if isinstance(workers, (list, tuple)) else [(0.0, workers)]
    pool = max(s for _, s in steps)
    terms = 3 * d.n + 3 * len(steps) + 4
    above = terms * max(pool, 1) * d.horizon * 2.0 ** -50
    area = math.fsum(s * (min(steps[i + 1][0] if i + 1 < len(steps) else math.inf, d.horizon)
                          - min(m, d.horizon)) for i, (m, s) in enumerate(steps))
    return above, (above / area if area > 0 else 0.0)


def compare_with_twin(d: DagNight, workers, policy, rep=0, cv=0.0, jitter=0.0, seed=0,
                      backfill_depth=64, night: Night | None = None):
    """Replay replication ``rep`` through the kernel, then the kernel's draws through the twin
    (estimates: the night's runtimes), and assert they agree. Returns (kernel, twin)."""
    night = night or to_night(d)
    tr = kernel_trace(night, workers, policy, rep, cv, jitter, seed, backfill_depth)
    est = d.estimated_runtime if d.estimated_runtime is not None else d.runtime
    twin_night = DagNight(**{**d.__dict__, "estimated_runtime": list(est)})
    tw = run_naive(twin_night, workers, policy, arrival=tr["arrival_minute"].tolist(),
                   runtime=tr["runtime_minutes"].tolist(), backfill_depth=backfill_depth)
    ctx = f"policy={policy} workers={workers} rep={rep} cv={cv} jitter={jitter} seed={seed}"
    for key in ("start_minute", "ready_minute", "finish_minute", "wait_minutes",
                "dependency_delay_minutes"):
        assert np.array_equal(tr[key], np.array(tw[key], dtype=float)), (
            f"{key}: {ctx}\nkernel {tr[key]}\ntwin   {np.array(tw[key])}")
    assert tr["workers_used"].tolist() == tw["workers_used"], ctx
    assert tr["late"].tolist() == tw["late"], ctx
    assert tr["late_jobs"] == tw["late_jobs"], ctx
    assert tr["on_chain"].tolist() == tw["on_chain"], (
        f"chain: {ctx}\nkernel {np.flatnonzero(tr['on_chain'])}\ntwin {tw['chain']}")
    km, tm = tr["metrics"], tw["metrics"]
    assert set(km) == set(METRICS)
    for m in EXACT:
        assert km[m] == tm[m], f"{m}: kernel {km[m]!r} twin {tm[m]!r} {ctx}"
    for m in SUMMED:
        assert math.isclose(km[m], tm[m], rel_tol=REL_TOL, abs_tol=0.0), (
            f"{m}: kernel {km[m]!r} twin {tm[m]!r} {ctx}")
    tol_above, tol_util = area_tolerance(d, workers)
    assert math.isclose(km["worker_utilization"], tm["worker_utilization"], rel_tol=REL_TOL,
                        abs_tol=tol_util), (
        f"utilisation: kernel {km['worker_utilization']!r} twin {tm['worker_utilization']!r} "
        f"{ctx}")
    assert math.isclose(tr["worker_minutes_above_capacity"], tw["worker_minutes_above_capacity"],
                        rel_tol=REL_TOL, abs_tol=tol_above), ctx
    return tr, tw
