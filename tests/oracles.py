"""Independent oracles for nights with dependencies, slots, locks, capacity and policies
(issues 12 and 13), for the tests of the engine and of tests/naive_general.py.

- ``cpm_schedule``: earliest starts and finishes by the critical-path method, computed by
  networkx on a node-split graph (source -> job start: the arrival; job start -> job end: the
  runtime; predecessor end -> job start: 0).
- ``sample_longest_path_mean``: a vectorised numpy Monte Carlo of the drain time with ample
  workers (numpy arrays over replications, jobs in topological order).
- ``random_dag_night`` / ``random_capacity``: seeded random nights and capacity step functions.
- ``check_*``: the invariants of issue 13's "Checks", read from start/finish/workers-used
  columns only, so they apply to the kernel's output as well as to the twin's.
"""

from __future__ import annotations

import graphlib
import math
from dataclasses import dataclass

import networkx as nx
import numpy as np

from naive_general import capacity_at, capacity_steps, naive_general_night


@dataclass
class DagNight:
    """One night as plain lists (indices, not job_ids, in ``depends_on``)."""

    arrival: list
    runtime: list
    priority: list
    exclusive: list
    job_id: list
    horizon: float
    depends_on: list = None
    deadline: list = None
    slots: list = None
    locks: list = None
    estimated_runtime: list = None

    @property
    def n(self):
        return len(self.arrival)

    def preds(self):
        return [list(d) for d in self.depends_on] if self.depends_on else [[] for _ in
                                                                          range(self.n)]


def run_naive(night: DagNight, workers, policy="tutorial", *, arrival=None, runtime=None,
              backfill_depth=64, chain_rule="issue", **now_state):
    """naive_general_night on a DagNight (optionally with drawn arrivals/runtimes; the
    estimates stay the night's; ``now_state``: window, now, status, started, finished)."""
    return naive_general_night(
        night.arrival if arrival is None else arrival,
        night.runtime if runtime is None else runtime,
        night.priority, night.exclusive, night.job_id, workers, night.horizon,
        estimated_runtime=night.estimated_runtime, depends_on=night.depends_on,
        deadline=night.deadline, slots=night.slots, locks=night.locks, policy=policy,
        backfill_depth=backfill_depth, chain_rule=chain_rule, **now_state)


# ------------------------------------------------------------------------- critical path
def cpm_graph(night: DagNight) -> nx.DiGraph:
    """Node-split DAG: "src" -> ("s", j) weight arrival_j; ("s", j) -> ("f", j) weight
    runtime_j; ("f", p) -> ("s", j) weight 0 for each predecessor p of j."""
    g = nx.DiGraph()
    g.add_node("src")
    for j in range(night.n):
        g.add_edge("src", ("s", j), weight=float(night.arrival[j]))
        g.add_edge(("s", j), ("f", j), weight=float(night.runtime[j]))
    for j, ps in enumerate(night.preds()):
        for p in ps:
            g.add_edge(("f", p), ("s", j), weight=0.0)
    return g


def cpm_schedule(night: DagNight) -> dict:
    """Earliest start/finish of every job (release times = arrivals) and the longest path.

    Longest distances from "src" are the negated shortest distances with negated weights
    (Bellman-Ford is exact on a DAG: no cycles at all). Both sides add the same floats in the
    same order along a path (x + -0.0 == x), so a simulation with ample workers must match
    bit for bit.
    """
    g = cpm_graph(night)
    neg = nx.DiGraph()
    neg.add_nodes_from(g)
    neg.add_weighted_edges_from((u, v, -d["weight"]) for u, v, d in g.edges(data=True))
    dist = nx.single_source_bellman_ford_path_length(neg, "src")
    es = [-dist[("s", j)] + 0.0 for j in range(night.n)]  # + 0.0: no negative zero
    ef = [-dist[("f", j)] + 0.0 for j in range(night.n)]
    longest = nx.dag_longest_path_length(g) if night.n else 0.0
    return {"earliest_start": es, "earliest_finish": ef, "longest_path": float(longest)}


# ------------------------------------------------------------------- longest-path sampler
def sample_longest_path(arrival, runtime, depends_on, runtime_cv, arrival_jitter,
                        replications, seed, block=20_000):
    """Drain times of ``replications`` nights with ample workers, as a numpy array.

    Each replication: runtime_j x exp(N(-s^2/2, s)) with s^2 = ln(1 + cv^2) (lognormal, mean 1,
    coefficient of variation cv; ``runtime_cv`` a number or one per job) and arrival_j +
    U[0, J); then finish_j = max(arrival_j, finish of the predecessors) + runtime_j, vectorised
    over replications in topological order.
    """
    arrival = np.asarray(arrival, dtype=float)
    runtime = np.asarray(runtime, dtype=float)
    n = arrival.shape[0]
    preds = [list(d) for d in depends_on] if depends_on else [[] for _ in range(n)]
    order = list(graphlib.TopologicalSorter({j: preds[j] for j in range(n)}).static_order())
    rng = np.random.default_rng(seed)
    cv = np.broadcast_to(np.asarray(runtime_cv, dtype=float), (n,))
    s = np.sqrt(np.log1p(cv * cv))
    out = np.empty(replications)
    done = 0
    while done < replications:
        m = min(block, replications - done)
        factor = np.exp(rng.standard_normal((m, n)) * s - s * s / 2.0)
        delay = (rng.uniform(0.0, arrival_jitter, (m, n)) if arrival_jitter > 0
                 else np.zeros((m, n)))
        finish = np.empty((m, n))
        for j in order:
            begin = arrival[j] + delay[:, j]
            for p in preds[j]:
                begin = np.maximum(begin, finish[:, p])
            finish[:, j] = begin + runtime[j] * factor[:, j]
        out[done:done + m] = finish.max(axis=1) if n else 0.0
        done += m
    return out


def sample_longest_path_mean(arrival, runtime, depends_on, runtime_cv, arrival_jitter,
                             replications, seed):
    """(mean drain time, its standard error s / sqrt(R)) from ``sample_longest_path``."""
    x = sample_longest_path(arrival, runtime, depends_on, runtime_cv, arrival_jitter,
                            replications, seed)
    se = float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
    return float(x.mean()), se


# ---------------------------------------------------------------------- random nights
def random_dag_night(rng: np.random.Generator, n: int, *, k=2.0, integer_times=None,
                     horizon=None, deadline_share=0.0, max_slots=1, n_locks=0,
                     lock_share=0.3, exclusive_share=0.0, priority_levels=3,
                     estimate_error=0.0, arrival_span=60.0) -> DagNight:
    """A random night: jobs in a random topological order, each taking min(position,
    Poisson(k)) distinct predecessors among the jobs before it.

    integer_times: whole minutes (ties) when True, floats when False, a coin when None.
    deadline_share: share of jobs with a deadline (uniform in [0, 1.5 H]). max_slots: slots
    uniform in 1..max_slots. n_locks: lock names "L0".."L{n-1}"; a job takes one or two of
    them with probability lock_share. estimate_error: estimate = runtime x exp(N(0, e)).
    """
    if integer_times is None:
        integer_times = bool(rng.random() < 0.5)
    if integer_times:
        arrival = [float(x) for x in rng.integers(0, int(arrival_span) + 1, n)]
        runtime = [float(x) for x in rng.integers(1, 41, n)]
    else:
        arrival = [float(x) for x in rng.uniform(0, arrival_span, n)]
        runtime = [float(x) for x in rng.uniform(0.05, 40.0, n)]
    H = float(horizon if horizon is not None else rng.choice([60.0, 120.0, 240.0]))
    position = rng.permutation(n)  # job at position i may only depend on earlier positions
    job_at = np.argsort(position)
    depends_on = []
    for j in range(n):
        i = int(position[j])
        m = min(i, int(rng.poisson(k)))
        depends_on.append(sorted(int(job_at[q]) for q in rng.choice(i, m, replace=False))
                          if m else [])
    priority = [int(x) for x in rng.integers(0, priority_levels, n)]
    exclusive = [bool(x) for x in rng.random(n) < exclusive_share]
    ids = [f"{'ab'[int(rng.integers(2))]}{x:03d}" for x in rng.permutation(n)]
    deadline = [float(rng.uniform(0, 1.5 * H)) if rng.random() < deadline_share else None
                for _ in range(n)]
    slots = [int(x) for x in rng.integers(1, max_slots + 1, n)]
    names = [f"L{i}" for i in range(n_locks)]
    locks = []
    for _ in range(n):
        if names and rng.random() < lock_share:
            locks.append(frozenset(rng.choice(names, int(rng.integers(1, min(2, len(names)) + 1)),
                                              replace=False).tolist()))
        else:
            locks.append(frozenset())
    if estimate_error > 0:
        estimated = [r * float(np.exp(rng.normal(0.0, estimate_error))) for r in runtime]
    else:
        estimated = list(runtime)
    return DagNight(arrival, runtime, priority, exclusive, ids, H, depends_on, deadline, slots,
                    locks, estimated)


def random_capacity(rng: np.random.Generator, base: int, max_slots: int, *, changes=3,
                    span=120.0, integer_times=True):
    """[(0, base), (m1, s1), ...]: up to ``changes`` changes in (0, span), sizes 0..base+2, the
    last one >= max(1, max_slots)."""
    minutes = sorted(set(float(x) for x in (rng.integers(1, int(span), changes)
                                           if integer_times else rng.uniform(0.5, span,
                                                                             changes))))
    steps = [(0.0, int(base))] + [(m, int(rng.integers(0, base + 3))) for m in minutes]
    last_m, last_s = steps[-1]
    steps[-1] = (last_m, max(last_s, 1, max_slots))
    return capacity_steps(steps)


# ------------------------------------------------------------------------- invariants
def running_at(t, start, finish, used):
    """Workers held at time t (a job holds its workers on [start, finish))."""
    return sum(u for s, f, u in zip(start, finish, used) if s <= t < f)


def check_capacity(start, finish, used, steps):
    """Busy workers never exceed the capacity at any start: at every start time t, the jobs
    running at t (those started at t included) hold at most capacity(t) workers. Together with
    check_slots this also means no job started with fewer free workers than its slots."""
    steps = capacity_steps(steps)
    bad = []
    for t in sorted(set(start)):
        b = running_at(t, start, finish, used)
        if b > capacity_at(steps, t):
            bad.append((t, b, capacity_at(steps, t)))
    return bad


def check_slots(start, used, slots, exclusive, steps):
    """A non-exclusive job holds exactly its slots; an exclusive one the whole pool at its
    start, which is at least max(1, slots)."""
    steps = capacity_steps(steps)
    bad = []
    for j, (s, u) in enumerate(zip(start, used)):
        want = capacity_at(steps, s) if exclusive[j] else slots[j]
        if u != want or u < max(1, slots[j]):
            bad.append((j, u, want))
    return bad


def _overlap(j, k, start, finish):
    return start[j] < finish[k] and start[k] < finish[j]


def check_locks(start, finish, locks):
    """Two jobs that share a lock name never run at the same time."""
    n = len(start)
    return [(j, k) for j in range(n) for k in range(j + 1, n)
            if set(locks[j]) & set(locks[k]) and _overlap(j, k, start, finish)]


def check_exclusive(start, finish, exclusive):
    """Nothing else runs while an exclusive job runs."""
    n = len(start)
    return [(j, k) for j in range(n) if exclusive[j] for k in range(n)
            if k != j and _overlap(j, k, start, finish)]


def order_key(policy, priority, ready, job_id):
    if policy == "fifo":
        return lambda j: (ready[j], job_id[j])
    return lambda j: (-priority[j], ready[j], job_id[j])


def check_strict_order(start, ready, priority, job_id, policy):
    """priority / fifo: no job starts while an earlier job in the order is waiting, i.e. for
    every j and every k ready by start_j and started after start_j, k comes after j."""
    key = order_key(policy, priority, ready, job_id)
    n = len(start)
    return [(j, k) for j in range(n) for k in range(n)
            if ready[k] <= start[j] < start[k] and key(k) < key(j)]


def check_reservations(result):
    """backfill: a head given reservation R at t0 that stays the head at every event of
    (t0, R] before it starts never starts later than R. Returns the violations
    (t0, head, R, start)."""
    start = result["start_minute"]
    bad = []
    for t0, h, R, _ in result["reservations"]:
        if start[h] <= R:
            continue
        later = [head for t, head in result["heads"] if t0 < t <= R]
        if all(head == h for head in later):
            bad.append((t0, h, R, start[h]))
    return bad


# ------------------------------------------------------------------- per-job statistics
def nearest_rank(values, p):
    """The ceil(p R)-th smallest of R values (at least the first): the rule of the per-night
    p95 and of the Monte Carlo quantiles (docs/engine.md)."""
    v = sorted(values)
    return v[max(0, math.ceil(p * len(v)) - 1)]


def per_job_summary(results, job_id):
    """Issue 12's per-job and night statistics over replications, from a list of
    naive_general_night results (one per replication): per job the late share, the P50/P90
    of its finish (nearest rank, exact), the mean wait and dependency delay (math.fsum / R) and
    the criticality index (share of replications on the chain); for the night the share of
    replications with a late job and the mean number of late jobs."""
    R = len(results)
    jobs = []
    for j, jid in enumerate(job_id):
        finishes = [r["finish_minute"][j] for r in results]
        jobs.append({
            "job_id": jid,
            "late_share": sum(r["late"][j] for r in results) / R,
            "finish_minute_p50": nearest_rank(finishes, 0.5),
            "finish_minute_p90": nearest_rank(finishes, 0.9),
            "mean_wait_minutes": math.fsum(r["wait_minutes"][j] for r in results) / R,
            "mean_dependency_delay_minutes":
                math.fsum(r["dependency_delay_minutes"][j] for r in results) / R,
            "criticality": sum(r["on_chain"][j] for r in results) / R,
        })
    return {"per_job": jobs,
            "any_late_share": sum(r["late_jobs"] > 0 for r in results) / R,
            "mean_late_jobs": math.fsum(r["late_jobs"] for r in results) / R}
