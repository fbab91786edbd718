"""The mcqueue night model written in SimPy: one process per job, a dispatcher per event time.

This is the peer the benchmarks compare the numba engine against. It follows docs/model.md's event
loop exactly, using SimPy's own event ordering to get the "retire, admit, then dispatch" rule:

- every job is a process: ``timeout(arrival)``, join the waiting line, wait for its start event,
  ``timeout(runtime)``, free its worker(s);
- the first arrival or finish at a time t schedules one dispatcher ``timeout(0)`` at t. All the
  arrivals and finishes at t are already in SimPy's event heap at that point (arrivals were
  scheduled at time 0, finishes when the job started, strictly earlier), and SimPy processes
  same-time events first-in first-out, so the dispatcher runs after every retire and admit at t;
- waiting jobs sit in two heaps keyed (priority desc, arrival asc, job index asc): one for
  exclusive-lock jobs, one for the rest. Jobs are indexed in canonical order (sorted by job_id),
  so "index asc" is "job_id asc".

Float sums are accumulated in the same order as the engine (queue area per event time, busy
area and waits in dispatch order), so the metrics agree bit for bit.

Requires the ``bench`` extra (``pip install mcqueue[bench]``), which pulls in SimPy.
"""

from __future__ import annotations

import heapq
import math
from typing import Sequence

import simpy

METRIC_NAMES = (
    "average_wait_minutes",
    "p95_wait_minutes",
    "average_queue_length",
    "max_queue_length",
    "worker_utilization",
    "overflow_jobs",
    "overflow_risk",
    "queue_drained_minute",
)


class _Night:
    """State of one replayed night inside a SimPy environment."""

    def __init__(self, env: simpy.Environment, arrival, runtime, priority, exclusive,
                 workers: int, horizon: float):
        self.env = env
        self.arrival = arrival
        self.runtime = runtime
        self.priority = priority
        self.exclusive = exclusive
        self.workers = workers
        self.horizon = horizon
        self.excl_heap: list = []
        self.plain_heap: list = []
        self.start_event: dict[int, simpy.Event] = {}
        self.busy = 0
        self.excl_running = False
        self.dispatch_pending = False
        self.t_prev = 0.0
        self.q_area = 0.0
        self.busy_area = 0.0
        self.max_q = 0
        self.waits: list[float] = []
        self.sum_wait = 0.0
        self.overflow = 0
        self.drained = 0.0

    @property
    def waiting(self) -> int:
        return len(self.excl_heap) + len(self.plain_heap)

    def _event_time(self) -> None:
        """Bookkeeping at the first event of a new time: queue area, then schedule a dispatch."""
        t = self.env.now
        if t != self.t_prev:
            h = self.horizon
            self.q_area += self.waiting * (min(t, h) - min(self.t_prev, h))
            self.t_prev = t
        if not self.dispatch_pending:
            self.dispatch_pending = True
            self.env.timeout(0).callbacks.append(self._dispatch)

    def job(self, j: int):
        env = self.env
        yield env.timeout(self.arrival[j])
        self._event_time()
        key = (-self.priority[j], self.arrival[j], j)
        started = env.event()
        self.start_event[j] = started
        heapq.heappush(self.excl_heap if self.exclusive[j] else self.plain_heap, key)
        used = yield started
        yield env.timeout(self.runtime[j])
        self._event_time()
        self.busy -= used
        if self.exclusive[j]:
            self.excl_running = False

    def _dispatch(self, _event) -> None:
        self.dispatch_pending = False
        t = self.env.now
        h = self.horizon
        while self.waiting and self.busy < self.workers and not self.excl_running:
            if self.excl_heap:
                if self.busy > 0:
                    break
                _, _, j = heapq.heappop(self.excl_heap)
                used = self.workers
                self.excl_running = True
            else:
                _, _, j = heapq.heappop(self.plain_heap)
                used = 1
            self.busy += used
            w = t - self.arrival[j]
            self.waits.append(w)
            self.sum_wait += w
            fin = t + self.runtime[j]
            self.busy_area += (min(fin, h) - min(t, h)) * used
            if fin > h:
                self.overflow += 1
            if fin > self.drained:
                self.drained = fin
            self.start_event.pop(j).succeed(used)
        if self.waiting > self.max_q:
            self.max_q = self.waiting

    def metrics(self) -> tuple[float, ...]:
        n = len(self.arrival)
        if n == 0:
            return (0.0,) * 8
        h = self.horizon
        waits = sorted(self.waits)
        p95 = waits[max(0, math.ceil(0.95 * n) - 1)]
        return (self.sum_wait / n, p95, self.q_area / h, float(self.max_q),
                self.busy_area / (self.workers * h), float(self.overflow), self.overflow / n,
                self.drained)


def simulate_night(arrival: Sequence[float], runtime: Sequence[float],
                   priority: Sequence[int], exclusive: Sequence[bool], workers: int,
                   horizon: float) -> tuple[float, ...]:
    """Replay one drawn night in SimPy; the eight metrics in ``METRIC_NAMES`` order.

    Jobs must be given in canonical order (sorted by job_id): ties in priority and arrival go
    to the lower index. Runtimes must be > 0.
    """
    arrival = [float(x) for x in arrival]
    runtime = [float(x) for x in runtime]
    priority = [int(x) for x in priority]
    exclusive = [bool(x) for x in exclusive]
    env = simpy.Environment()
    night = _Night(env, arrival, runtime, priority, exclusive, int(workers), float(horizon))
    for j in range(len(arrival)):
        env.process(night.job(j))
    env.run()
    if night.waiting:  # cannot happen with workers >= 1
        raise RuntimeError("SimPy night ended with jobs still waiting")
    return night.metrics()


def simulate_replications(arrivals, runtimes, priority, exclusive, workers: int,
                          horizon: float):
    """One night replayed once per row of ``arrivals``/``runtimes`` (R x n arrays, the same
    draws the engine made): a list of R metric tuples."""
    return [simulate_night(a, r, priority, exclusive, workers, horizon)
            for a, r in zip(arrivals, runtimes)]
