"""The general twin (tests/naive_general.py) and the oracles (tests/oracles.py) against
independent values: the tutorial twin tests/naive.py, the critical-path method in networkx,
closed forms, hand-worked nights and the invariants of issue 13's "Checks".

Every night here has whole-minute or float times built so that each asserted number is either a
count, a single float operation on the same inputs, or a correctly rounded sum (math.fsum) of
the same terms on both sides: equalities are exact unless a tolerance is stated.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from naive import METRICS, naive_night
from naive_general import naive_general_night
from oracles import (DagNight, check_capacity, check_exclusive, check_locks,
                     check_reservations, check_slots, check_strict_order, cpm_schedule,
                     per_job_summary, random_capacity, random_dag_night, run_naive,
                     sample_longest_path, sample_longest_path_mean)

POLICIES = ("tutorial", "priority", "fifo", "backfill")


def night_of(rows, horizon=120.0, workers=None):
    """rows: dicts with job_id, arrival, runtime and optional priority, exclusive, deps (job
    ids), deadline, slots, locks, estimate. Returns a DagNight."""
    ids = [r["job_id"] for r in rows]
    return DagNight(
        arrival=[float(r["arrival"]) for r in rows],
        runtime=[float(r["runtime"]) for r in rows],
        priority=[r.get("priority", 0) for r in rows],
        exclusive=[r.get("exclusive", False) for r in rows],
        job_id=ids,
        horizon=float(horizon),
        depends_on=[[ids.index(d) for d in r.get("deps", ())] for r in rows],
        deadline=[r.get("deadline") for r in rows],
        slots=[r.get("slots", 1) for r in rows],
        locks=[frozenset(r.get("locks", ())) for r in rows],
        estimated_runtime=[float(r.get("estimate", r["runtime"])) for r in rows],
    )


def starts(result, night):
    return dict(zip(night.job_id, result["start_minute"]))


# ------------------------------------------------------------------ 1. reduction to naive.py
def _random_plain_night(rng):
    n = int(rng.integers(0, 13))
    if rng.random() < 0.5:  # whole minutes: equal arrivals and equal finishes are common
        arrival = rng.integers(0, 10, n).astype(float)
        runtime = rng.integers(1, 40, n).astype(float)
    else:
        arrival = rng.uniform(0, 90, n)
        runtime = rng.uniform(0.01, 120, n)
    priority = rng.integers(-1, 3, n)  # 4 levels among <= 12 jobs: ties
    exclusive = rng.random(n) < 0.25
    ids = [f"J{k}" for k in rng.permutation(n)]
    workers = int(rng.integers(1, 5))
    horizon = float(rng.choice([30.0, 60.0, 240.0, 1440.0]))
    return arrival, runtime, priority, exclusive, ids, workers, horizon


def test_reduces_to_naive_night_exactly():
    """No dependencies, deadlines, slots, locks or capacity changes, policy tutorial: the
    general twin is naive_night, start by start and metric by metric (==, not approx)."""
    rng = np.random.default_rng(20260512)
    exclusive_nights = tie_nights = 0
    for i in range(400):
        args = _random_plain_night(rng)
        a = naive_night(*args)
        b = naive_general_night(*args)
        assert set(b["metrics"]) == set(METRICS)
        assert a["metrics"] == b["metrics"], i
        for key in ("start_minute", "finish_minute", "workers_used"):
            assert np.array_equal(a[key], b[key], equal_nan=True), (i, key)
        assert b["late_jobs"] == b["metrics"]["overflow_jobs"]  # deadline = horizon
        assert b["worker_minutes_above_capacity"] == 0.0
        exclusive_nights += any(args[3])
        tie_nights += len(set(args[0])) < len(args[0])
    # the sample really exercised exclusive jobs and equal arrivals
    assert exclusive_nights > 100 and tie_nights > 100


def test_reduces_on_the_tutorial_nights(night_13, night_14):
    """The two tutorial nights (whose published results tests/test_reference.py checks on
    naive.py) with 1 to 4 workers."""
    for night in (night_13, night_14):
        args = (night.arrival_minute, night.runtime_minutes, night.priority, night.exclusive,
                night.job_id)
        for c in (1, 2, 3, 4):
            a = naive_night(*args, c, night.horizon_minutes)
            b = naive_general_night(*args, c, night.horizon_minutes)
            assert a["metrics"] == b["metrics"]
            assert a["start_minute"] == b["start_minute"]


# --------------------------------------------------------------- 2. critical-path agreement
@pytest.mark.parametrize("policy", POLICIES)
def test_ample_workers_follow_the_critical_path_method(policy):
    """Workers >= jobs x max slots, no exclusive job, no lock, no noise: every job starts at its
    CPM earliest start and the night drains at the longest path, both from networkx, exactly
    (the same float additions in the same order on both sides; see oracles.cpm_schedule)."""
    rng = np.random.default_rng(12)
    for i in range(500):
        n = int(rng.integers(1, 30))
        max_slots = int(rng.integers(1, 4))
        night = random_dag_night(rng, n, k=float(rng.choice([0.5, 2.0, 4.0])),
                                 max_slots=max_slots, deadline_share=0.3, priority_levels=3,
                                 estimate_error=0.5)
        cpm = cpm_schedule(night)
        r = run_naive(night, n * max_slots, policy)
        assert r["start_minute"] == cpm["earliest_start"], i
        assert r["finish_minute"] == cpm["earliest_finish"], i
        assert r["metrics"]["queue_drained_minute"] == cpm["longest_path"], i
        assert r["wait_minutes"] == [0.0] * n
        # dependency delay = earliest start - arrival (ready time = CPM earliest start)
        assert r["dependency_delay_minutes"] == [s - a for s, a in
                                                 zip(cpm["earliest_start"], night.arrival)]


def test_cpm_on_a_hand_built_graph():
    """A (0, 10) and B (5, 20) feed C (arrival 0, 5); D (40, 1) after C: ES(C) = max(0, 10, 25)
    = 25, EF(C) = 30, ES(D) = max(40, 30) = 40, longest path 41."""
    night = night_of([dict(job_id="A", arrival=0, runtime=10),
                      dict(job_id="B", arrival=5, runtime=20),
                      dict(job_id="C", arrival=0, runtime=5, deps=["A", "B"]),
                      dict(job_id="D", arrival=40, runtime=1, deps=["C"])])
    cpm = cpm_schedule(night)
    assert cpm["earliest_start"] == [0.0, 5.0, 25.0, 40.0]
    assert cpm["earliest_finish"] == [10.0, 25.0, 30.0, 41.0]
    assert cpm["longest_path"] == 41.0


# ----------------------------------------------------------- 3. dependencies and the chain
def test_dependencies_deadlines_and_chain_by_hand():
    """One worker, H = 60. X (prio 1) runs 0-15; E waits for it and runs 15-35; T (arrival 5,
    after E) is ready at 35 and runs 35-45; R (arrival 40, after T) is ready at 45 and runs
    45-55. R's arrival at 40 is no event (its predecessor is running).
    waits X 0, E 15, T 0, R 0 -> mean 3.75, p95 (index ceil(3.8)-1 = 3) 15; dependency delays
    T 35-5 = 30, R 45-40 = 5; queue: E waits on [0, 15) -> area 15, 15/60 = 0.25, max 1;
    utilization 55/60. Deadlines T 25 (finish 45: late), R 55 (finish 55: not late, strict).
    Chain: R (last) -> T (finish 45 set R's ready) -> E (35 set T's ready) -> X (E waited and
    X's finish at 15 freed the worker) -> X started at its arrival: stop.
    fifo ignores X's priority: E 0-20, then X (ready 0) before T (ready 20): X 20-35, T 35-45,
    R 45-55. The literal chain is R, T, E (E's finish set T's ready time, although T then
    waited for X); the "binding" chain is R, T, X (its finish at 35 freed T's worker), E."""
    night = night_of([dict(job_id="X", arrival=0, runtime=15, priority=1),
                      dict(job_id="E", arrival=0, runtime=20),
                      dict(job_id="T", arrival=5, runtime=10, deps=["E"], deadline=25),
                      dict(job_id="R", arrival=40, runtime=10, deps=["T"], deadline=55)],
                     horizon=60)
    for policy in ("tutorial", "priority", "backfill"):
        r = run_naive(night, 1, policy)
        assert r["start_minute"] == [0.0, 15.0, 35.0, 45.0], policy
        assert r["ready_minute"] == [0.0, 0.0, 35.0, 45.0]
        assert r["wait_minutes"] == [0.0, 15.0, 0.0, 0.0]
        assert r["dependency_delay_minutes"] == [0.0, 0.0, 30.0, 5.0]
        assert r["late"] == [False, False, True, False]
        assert r["late_jobs"] == 1
        assert r["metrics"] == {"average_wait_minutes": 3.75, "p95_wait_minutes": 15.0,
                                "average_queue_length": 0.25, "max_queue_length": 1,
                                "worker_utilization": 55 / 60, "overflow_jobs": 0,
                                "overflow_risk": 0.0, "queue_drained_minute": 55.0}
        assert [night.job_id[j] for j in r["chain"]] == ["R", "T", "E", "X"]
        assert r["on_chain"] == [True] * 4
    r = run_naive(night, 1, "fifo")
    assert r["start_minute"] == [20.0, 0.0, 35.0, 45.0]
    assert r["wait_minutes"] == [20.0, 0.0, 15.0, 0.0]
    assert r["dependency_delay_minutes"] == [0.0, 0.0, 15.0, 5.0]
    assert [night.job_id[j] for j in r["chain"]] == ["R", "T", "E"]
    r = run_naive(night, 1, "fifo", chain_rule="binding")
    assert [night.job_id[j] for j in r["chain"]] == ["R", "T", "X", "E"]


def test_pure_chain_is_all_critical():
    """A -> B -> C -> D with noise-free runtimes, on 1 worker and on 8: every job is on the
    chain (each one's ready time is its predecessor's finish)."""
    night = night_of([dict(job_id=x, arrival=0, runtime=5 + i,
                           deps=[] if i == 0 else ["ABCD"[i - 1]])
                      for i, x in enumerate("ABCD")])
    for workers in (1, 8):
        for policy in POLICIES:
            r = run_naive(night, workers, policy)
            assert r["on_chain"] == [True] * 4
            assert [night.job_id[j] for j in r["chain"]] == ["D", "C", "B", "A"]


def test_two_parallel_chains_longer_one_is_critical():
    """A1 -> A2 -> A3 (30 minutes in all) and B1 -> B2 (12), ample workers: the chain is A3, A2,
    A1; no B job is on it."""
    night = night_of([dict(job_id="A1", arrival=0, runtime=10),
                      dict(job_id="A2", arrival=0, runtime=10, deps=["A1"]),
                      dict(job_id="A3", arrival=0, runtime=10, deps=["A2"]),
                      dict(job_id="B1", arrival=0, runtime=6),
                      dict(job_id="B2", arrival=0, runtime=6, deps=["B1"])])
    r = run_naive(night, 5, "tutorial")
    assert r["on_chain"] == [True, True, True, False, False]


def test_two_identical_chains_share_criticality():
    """Two identical 3-job chains, ample workers, runtime cv 0.3 (the twin's own lognormal
    draws): the share of 1,000 replications in which A1 is on the chain is 0.5 within 4
    binomial standard errors (4 x sqrt(0.25 / 1000) = 0.063); A and B are never both on it."""
    night = night_of([dict(job_id=f"{c}{i}", arrival=0, runtime=10,
                           deps=[] if i == 1 else [f"{c}{i - 1}"])
                      for c in "AB" for i in (1, 2, 3)])
    rng = np.random.default_rng(5)
    s = math.sqrt(math.log1p(0.3 ** 2))
    reps = 1000
    results = []
    for _ in range(reps):
        runtime = [10.0 * math.exp(x) for x in rng.normal(-s * s / 2, s, 6)]
        r = run_naive(night, 6, "tutorial", runtime=runtime)
        on = r["on_chain"]
        assert on[:3] in ([True] * 3, [False] * 3) and on[3:] == [not x for x in on[:3]]
        results.append(r)
    crit = [job["criticality"] for job in per_job_summary(results, night.job_id)["per_job"]]
    assert abs(crit[0] - 0.5) <= 4 * math.sqrt(0.25 / reps)
    assert crit[0] == crit[1] == crit[2] and crit[3] == 1 - crit[0]


def test_chain_rules_differ_when_a_ready_job_waits_for_workers():
    """One worker. P (prio 5) runs 0-10; U (ready 0) then runs 10-110, ahead of T (ready 10, after
    P) by ready time; T runs 110-120. The issue's literal rule follows T's predecessor P (its
    finish set T's ready time) and never sees U; the "binding" rule follows what set T's start:
    U's finish at 110, then P's finish at 10 (U waited for it)."""
    night = night_of([dict(job_id="P", arrival=0, runtime=10, priority=5),
                      dict(job_id="U", arrival=0, runtime=100),
                      dict(job_id="T", arrival=0, runtime=10, deps=["P"])], horizon=240)
    issue = run_naive(night, 1, "tutorial")
    binding = run_naive(night, 1, "tutorial", chain_rule="binding")
    assert issue["start_minute"] == [0.0, 10.0, 110.0]
    assert [night.job_id[j] for j in issue["chain"]] == ["T", "P"]
    assert [night.job_id[j] for j in binding["chain"]] == ["T", "U", "P"]


def test_chain_ties():
    """Ties: B and A both finish last at 10 -> the chain starts at A (smallest job_id). Two
    workers: X and W run 0-5; C (arrival 1, 2 slots) starts at 5 when both end: its freer is W
    (smallest job_id). Q's predecessor P ends at 5, Q's arrival: the predecessor set the ready
    time."""
    # ties at the end
    night = night_of([dict(job_id="B", arrival=0, runtime=10),
                      dict(job_id="A", arrival=0, runtime=10)])
    assert run_naive(night, 2, "tutorial")["chain"] == [1]
    # ties among the jobs that freed the workers
    night = night_of([dict(job_id="X", arrival=0, runtime=5),
                      dict(job_id="W", arrival=0, runtime=5),
                      dict(job_id="C", arrival=1, runtime=5, slots=2)])
    r = run_naive(night, 2, "tutorial")
    assert r["start_minute"] == [0.0, 0.0, 5.0]
    assert [night.job_id[j] for j in r["chain"]] == ["C", "W"]
    # predecessor finish == arrival: the predecessor set the ready time
    night = night_of([dict(job_id="P", arrival=0, runtime=5),
                      dict(job_id="Q", arrival=5, runtime=5, deps=["P"])])
    assert run_naive(night, 2, "tutorial")["chain"] == [1, 0]


def test_chain_stops_when_the_pool_grew():
    """Pool 1 then 2 from minute 10. A runs 0-30; B (arrival 0) starts at 10 when the pool grows:
    no job finished at 10, so B's chain link is no job and the chain (from B, last at 40)
    stops at B."""
    night = night_of([dict(job_id="A", arrival=0, runtime=30),
                      dict(job_id="B", arrival=0, runtime=30)])
    r = run_naive(night, [(0, 1), (10, 2)], "tutorial")
    assert r["start_minute"] == [0.0, 10.0]
    assert r["chain"] == [1]


def test_per_job_summary_by_hand():
    """Three replications of the night of test_dependencies_deadlines_and_chain_by_hand, with
    E's runtime 20, 5 and 40: T finishes 45, 30, 65 (late when > 25: all three); R finishes 55,
    50, 75 (late when > 55: only the third); P50 of R's finish = 2nd smallest = 55, P90 = 3rd
    = 75; T's dependency delays 30, 15, 50 -> mean 95/3. In the second replication R is ready
    at its own arrival 40 (T ended at 30) and starts then: the chain is R alone; otherwise it is
    R, T, E, X: criticality 2/3 for X, E, T and 1 for R. Late jobs 1, 1, 2: any late 3/3, mean
    4/3."""
    night = night_of([dict(job_id="X", arrival=0, runtime=15, priority=1),
                      dict(job_id="E", arrival=0, runtime=20),
                      dict(job_id="T", arrival=5, runtime=10, deps=["E"], deadline=25),
                      dict(job_id="R", arrival=40, runtime=10, deps=["T"], deadline=55)],
                     horizon=60)
    results = [run_naive(night, 1, "tutorial", runtime=[15, e, 10, 10]) for e in (20, 5, 40)]
    assert [r["finish_minute"][2:] for r in results] == [[45.0, 55.0], [30.0, 50.0],
                                                         [65.0, 75.0]]
    summary = per_job_summary(results, night.job_id)
    t, r = summary["per_job"][2], summary["per_job"][3]
    assert t["late_share"] == 1.0 and r["late_share"] == 1 / 3
    assert (r["finish_minute_p50"], r["finish_minute_p90"]) == (55.0, 75.0)
    assert t["mean_dependency_delay_minutes"] == 95 / 3
    assert [job["criticality"] for job in summary["per_job"]] == [2 / 3, 2 / 3, 2 / 3, 1.0]
    assert summary["any_late_share"] == 1.0 and summary["mean_late_jobs"] == 4 / 3


# ----------------------------------------------------------------- 4. hand-worked policies
def test_four_policies_on_one_night():
    """Two workers, H = 120. L (0, 30 min), then at 5: E (exclusive, 10), H (prio 5, 10),
    S (15).
    tutorial: at 5 the exclusive E waits and L runs -> nothing starts (H waits with a worker
      idle); 30: E on both workers; 40: H and S.        starts L 0, E 30, H 40, S 40
    priority: at 5 H (first in order) starts; E is the head, needs the pool drained: S waits
      behind it; 30: E; 40: S.                          starts L 0, H 5, E 30, S 40
    fifo: order (ready, job_id) = E, H, S: E blocks from 5 to 30.
                                                        starts L 0, E 30, H 40, S 40
    backfill: at 5 H starts; E's reservation: all planned finishes (L 30, H 15) passed -> 30.
      S does not fit at 5 (no free worker); at 15 it fits and its planned finish 15 + 15 = 30
      <= 30: it backfills.                              starts L 0, H 5, S 15, E 30"""
    night = night_of([dict(job_id="L", arrival=0, runtime=30),
                      dict(job_id="E", arrival=5, runtime=10, exclusive=True),
                      dict(job_id="H", arrival=5, runtime=10, priority=5),
                      dict(job_id="S", arrival=5, runtime=15)])
    want = {"tutorial": dict(L=0, E=30, H=40, S=40), "priority": dict(L=0, H=5, E=30, S=40),
            "fifo": dict(L=0, E=30, H=40, S=40), "backfill": dict(L=0, H=5, S=15, E=30)}
    for policy, expected in want.items():
        r = run_naive(night, 2, policy)
        assert starts(r, night) == expected, policy
        assert r["workers_used"][1] == 2  # the exclusive job holds the whole pool
    r = run_naive(night, 2, "backfill")
    assert (5.0, 1, 30.0, 0) in r["reservations"]  # (t, head E, R = 30, no surplus)


def test_fifo_ignores_priority():
    """One worker: A (0, 10), B (1, 5), C (2, 5, prio 9). priority/tutorial: C before B;
    fifo: B before C."""
    night = night_of([dict(job_id="A", arrival=0, runtime=10),
                      dict(job_id="B", arrival=1, runtime=5),
                      dict(job_id="C", arrival=2, runtime=5, priority=9)])
    assert starts(run_naive(night, 1, "priority"), night) == dict(A=0, B=15, C=10)
    assert starts(run_naive(night, 1, "tutorial"), night) == dict(A=0, B=15, C=10)
    assert starts(run_naive(night, 1, "fifo"), night) == dict(A=0, B=10, C=15)


def test_backfill_lowers_the_p95_wait():
    """Two workers, all at 0: A (prio 3, 10 min), B (prio 2, 10 min, 2 slots), C1..C4 (prio 1,
    5 min each).
    priority: A 0-10; B needs both workers, C1..C4 wait behind it; B 10-20; C1, C2 20-25;
      C3, C4 25-30. Waits 0, 10, 20, 20, 25, 25: mean 100/6, p95 (index ceil(5.7)-1 = 5) 25.
    backfill: A 0-10; B reserved at 10 (A's planned finish), surplus 0; C1 fits and ends at
      5 <= 10: 0-5; at 5 C2 ends at 10 <= 10: 5-10; at 10 B 10-20; C3, C4 20-25.
      Waits 0, 10, 0, 5, 20, 20: mean 55/6, p95 20; drains at 25 instead of 30."""
    rows = [dict(job_id="A", arrival=0, runtime=10, priority=3),
            dict(job_id="B", arrival=0, runtime=10, priority=2, slots=2)]
    rows += [dict(job_id=f"C{i}", arrival=0, runtime=5, priority=1) for i in range(1, 5)]
    night = night_of(rows)
    pri = run_naive(night, 2, "priority")
    bf = run_naive(night, 2, "backfill")
    assert pri["wait_minutes"] == [0.0, 10.0, 20.0, 20.0, 25.0, 25.0]
    assert bf["wait_minutes"] == [0.0, 10.0, 0.0, 5.0, 20.0, 20.0]
    assert pri["metrics"]["p95_wait_minutes"] == 25.0
    assert bf["metrics"]["p95_wait_minutes"] == 20.0
    assert pri["metrics"]["average_wait_minutes"] == 100 / 6
    assert bf["metrics"]["average_wait_minutes"] == 55 / 6
    assert (pri["metrics"]["queue_drained_minute"], bf["metrics"]["queue_drained_minute"]) == (
        30.0, 25.0)
    assert run_naive(night, 2, "tutorial")["start_minute"] == pri["start_minute"]
    # with depth 0 nothing may backfill: the priority schedule
    assert run_naive(night, 2, "backfill", backfill_depth=0)["start_minute"] == (
        pri["start_minute"])


def test_backfill_delays_the_exclusive_job_when_estimates_overrun():
    """Two workers, all at 0: X (prio 5, 10 min), E (prio 4, exclusive, 10 min), S (prio 1,
    estimated 5 min, actually 15).
    backfill: X 0-10; E needs the pool drained: reserved at 10 (X's planned finish); S fits
      and plans to end at 5 <= 10: it starts at 0 but runs to 15; at 10 E (still the head)
      cannot start; it starts at 15, after its reservation.
    priority: X 0-10, E 10-20, S 20-35 (S waits behind E).
    with S's estimate right (5 min): S 0-5, E 10: the reservation holds."""
    rows = [dict(job_id="X", arrival=0, runtime=10, priority=5),
            dict(job_id="E", arrival=0, runtime=10, priority=4, exclusive=True),
            dict(job_id="S", arrival=0, runtime=15, priority=1, estimate=5)]
    night = night_of(rows)
    bf = run_naive(night, 2, "backfill")
    assert starts(bf, night) == dict(X=0, E=15, S=0)
    assert (0.0, 1, 10.0, 0) in bf["reservations"]
    # the checker sees the delay, for the reservation given at 0 and the one renewed at 10
    # (S's planned finish max(0 + 5, 10) = 10 counts as passed at 10)
    assert check_reservations(bf) == [(0.0, 1, 10.0, 15.0), (10.0, 1, 10.0, 15.0)]
    assert starts(run_naive(night, 2, "priority"), night) == dict(X=0, E=10, S=20)
    exact = night_of([dict(r, runtime=r.get("estimate", r["runtime"])) for r in rows])
    bf_exact = run_naive(exact, 2, "backfill")
    assert starts(bf_exact, exact) == dict(X=0, E=10, S=0)
    assert check_reservations(bf_exact) == []


def test_backfill_surplus_job_may_not_take_the_heads_lock():
    """Three workers, all at 0: A (prio 5, 2 slots, 10 min); H (prio 4, 2 slots, lock T,
    10 min); C (prio 1, lock T, 30 min); D (prio 0, 30 min).
    At 0 A starts; H does not fit (1 free): reserved at 10 with surplus 3 - 2 = 1. C fits and
    would use the surplus, but it shares H's lock and runs past 10: refused (else H would find
    T held at 10). D takes the surplus. At 10 H starts; at 20 C."""
    night = night_of([dict(job_id="A", arrival=0, runtime=10, priority=5, slots=2),
                      dict(job_id="H", arrival=0, runtime=10, priority=4, slots=2,
                           locks=["T"]),
                      dict(job_id="C", arrival=0, runtime=30, priority=1, locks=["T"]),
                      dict(job_id="D", arrival=0, runtime=30)])
    r = run_naive(night, 3, "backfill")
    assert starts(r, night) == dict(A=0, H=10, C=20, D=0)
    assert (0.0, 1, 10.0, 1) in r["reservations"]
    assert check_reservations(r) == []


def test_locks_block_only_under_strict_policies():
    """Two workers: A (prio 3, lock T), B (prio 2, lock T), C (prio 1), 10 min each.
    tutorial and backfill skip B (its lock is held by A): C starts at 0, B at 10.
    priority and fifo: B is the head and blocks: B and C at 10."""
    night = night_of([dict(job_id="A", arrival=0, runtime=10, priority=3, locks=["T"]),
                      dict(job_id="B", arrival=0, runtime=10, priority=2, locks=["T"]),
                      dict(job_id="C", arrival=0, runtime=10, priority=1)])
    for policy in ("tutorial", "backfill"):
        assert starts(run_naive(night, 2, policy), night) == dict(A=0, B=10, C=0), policy
    for policy in ("priority", "fifo"):
        assert starts(run_naive(night, 2, policy), night) == dict(A=0, B=10, C=10), policy


def test_slots_tutorial_blocks_backfill_does_not():
    """Three workers: A (prio 2, 2 slots), B (prio 1, 2 slots), C (1 slot), 10 min each.
    tutorial: A at 0; B does not fit (1 free) -> nothing starts (C waits); 10: B and C.
    backfill: B reserved at 10, C ends at 10 <= 10: C at 0."""
    night = night_of([dict(job_id="A", arrival=0, runtime=10, priority=2, slots=2),
                      dict(job_id="B", arrival=0, runtime=10, priority=1, slots=2),
                      dict(job_id="C", arrival=0, runtime=10)])
    assert starts(run_naive(night, 3, "tutorial"), night) == dict(A=0, B=10, C=10)
    assert starts(run_naive(night, 3, "backfill"), night) == dict(A=0, B=10, C=0)
    assert run_naive(night, 3, "tutorial")["workers_used"] == [2, 2, 1]


def test_capacity_changes_by_hand():
    """Pool 3, then 1 from minute 10, then 2 from 30; H = 60. J1..J3 (0, 20 min), J4 (0, 5),
    E (exclusive, 25, 10), J5 (26, 5).
    0: J1-J3 start, J4 waits. 10: the pool shrinks to 1, the three keep running. 20: they end;
    J4 20-25. 25: E starts on the pool of 1 (used 1). 26: J5 waits. 30: the pool grows to 2,
    but nothing starts while E runs. 35: J5 35-40.
    Busy within capacity: 30 (0-10) + 10 (10-20: 1 of 3) + 5 + 5 + 5 + 5 = 60; above the pool
    2 x 10 = 20 (10-20); capacity-minutes 3x10 + 1x20 + 2x30 = 110 -> utilization 60/110.
    Waits J4 20, J5 9: mean 29/6; queue area 20 + 9 = 29 -> 29/60; max queue 1."""
    night = night_of([dict(job_id=f"J{i}", arrival=0, runtime=20) for i in (1, 2, 3)]
                     + [dict(job_id="J4", arrival=0, runtime=5),
                        dict(job_id="E", arrival=25, runtime=10, exclusive=True),
                        dict(job_id="J5", arrival=26, runtime=5)], horizon=60)
    steps = [(0, 3), (10, 1), (30, 2)]
    for policy in POLICIES:
        r = run_naive(night, steps, policy)
        assert r["start_minute"] == [0.0, 0.0, 0.0, 20.0, 25.0, 35.0], policy
        assert r["workers_used"] == [1, 1, 1, 1, 1, 1]
        assert r["worker_minutes_above_capacity"] == 20.0
        m = r["metrics"]
        assert m["worker_utilization"] == 60 / 110
        assert m["average_wait_minutes"] == 29 / 6
        assert m["average_queue_length"] == 29 / 60
        assert m["max_queue_length"] == 1
        assert m["queue_drained_minute"] == 40.0


def test_exclusive_job_slots_are_a_minimum_pool_size():
    """Pool 2, then 3 from minute 20. An exclusive job with 3 slots waits for the pool of 3 and
    then holds all 3; with slots 1 it starts at once on the pool of 2."""
    for slots, start, used in ((3, 20.0, 3), (1, 0.0, 2)):
        night = night_of([dict(job_id="E", arrival=0, runtime=10, exclusive=True,
                               slots=slots)])
        for policy in POLICIES:
            r = run_naive(night, [(0, 2), (20, 3)], policy)
            assert (r["start_minute"], r["workers_used"]) == ([start], [used]), policy


# ---------------------------------------------------------- 5. invariants on random nights
def _random_general_night(rng, *, estimate_error):
    n = int(rng.integers(1, 20))
    max_slots = int(rng.integers(1, 4))
    integer_times = bool(rng.random() < 0.6)
    night = random_dag_night(rng, n, k=float(rng.choice([0.0, 1.0, 2.0])),
                             integer_times=integer_times, deadline_share=0.3,
                             max_slots=max_slots, n_locks=int(rng.integers(0, 4)),
                             exclusive_share=float(rng.choice([0.0, 0.1, 0.25])),
                             priority_levels=int(rng.integers(1, 4)),
                             estimate_error=estimate_error)
    if rng.random() < 0.5:
        workers = int(rng.integers(max_slots, max_slots + 3))
    else:
        workers = random_capacity(rng, int(rng.integers(0, 5)), max_slots,
                                  changes=int(rng.integers(1, 4)), integer_times=integer_times)
    return night, workers


@pytest.mark.parametrize("policy", POLICIES)
def test_invariants_on_random_nights(policy):
    """Issue 13's checks on 300 random nights per policy (dependencies, slots, locks, exclusive
    jobs, priorities, capacity steps, estimates off by a lognormal factor): busy <= capacity at
    every start, workers held = slots (exclusive: the pool), no lock shared while overlapping,
    nothing beside an exclusive job; priority/fifo: strict order; every job starts at or after
    its ready time, which is at or after its arrival and its predecessors' finishes."""
    rng = np.random.default_rng(13)
    for i in range(300):
        night, workers = _random_general_night(rng, estimate_error=0.5)
        r = run_naive(night, workers, policy)
        start, finish, used = r["start_minute"], r["finish_minute"], r["workers_used"]
        assert check_capacity(start, finish, used, workers) == [], i
        assert check_slots(start, used, night.slots, night.exclusive, workers) == [], i
        assert check_locks(start, finish, night.locks) == [], i
        assert check_exclusive(start, finish, night.exclusive) == [], i
        if policy in ("priority", "fifo"):
            assert check_strict_order(start, r["ready_minute"], night.priority, night.job_id,
                                      policy) == [], i
        for j, ps in enumerate(night.preds()):
            assert r["ready_minute"][j] == max([night.arrival[j]] + [finish[p] for p in ps])
            assert start[j] >= r["ready_minute"][j]
        assert r["late_jobs"] == sum(f > (d if d is not None else night.horizon)
                                     for f, d in zip(finish, night.deadline))


def test_backfill_reservations_hold_with_exact_estimates():
    """Backfill with estimates equal to runtimes (cv 0): a head never starts after the
    reservation it was given while it stays the head, on 400 random nights; and the
    reservations are really exercised (many heads were given one and backfilling happened)."""
    rng = np.random.default_rng(14)
    given = backfilled = 0
    for i in range(400):
        night, workers = _random_general_night(rng, estimate_error=0.0)
        r = run_naive(night, workers, "backfill")
        assert check_reservations(r) == [], i
        given += len(r["reservations"])
        pri = run_naive(night, workers, "priority")
        backfilled += r["start_minute"] != pri["start_minute"]
    assert given > 300 and backfilled > 50


def test_policies_coincide_where_the_issue_says_they_must():
    """On random nights: without exclusive jobs and locks, tutorial == priority; with equal
    priorities, fifo == priority; without locks, backfill with depth 0 == priority."""
    rng = np.random.default_rng(15)
    for i in range(200):
        night, workers = _random_general_night(rng, estimate_error=0.3)
        plain = DagNight(**{**night.__dict__, "exclusive": [False] * night.n,
                            "locks": [frozenset()] * night.n})
        assert (run_naive(plain, workers, "tutorial")["start_minute"]
                == run_naive(plain, workers, "priority")["start_minute"]), i
        flat = DagNight(**{**night.__dict__, "priority": [0] * night.n})
        assert (run_naive(flat, workers, "fifo")["start_minute"]
                == run_naive(flat, workers, "priority")["start_minute"]), i
        unlocked = DagNight(**{**night.__dict__, "locks": [frozenset()] * night.n})
        assert (run_naive(unlocked, workers, "backfill", backfill_depth=0)["start_minute"]
                == run_naive(unlocked, workers, "priority")["start_minute"]), i


def test_checkers_catch_violations():
    """The invariant checkers are not vacuous: a schedule that breaks each rule is reported."""
    steps = [(0, 2)]
    assert check_capacity([0.0, 0.0, 0.0], [5.0, 5.0, 5.0], [1, 1, 1], steps) == [(0.0, 3, 2)]
    assert check_slots([0.0], [1], [2], [False], steps) == [(0, 1, 2)]
    assert check_locks([0.0, 4.0], [5.0, 6.0], [{"T"}, {"T"}]) == [(0, 1)]
    assert check_locks([0.0, 5.0], [5.0, 6.0], [{"T"}, {"T"}]) == []
    assert check_exclusive([0.0, 4.0], [5.0, 6.0], [True, False]) == [(0, 1)]
    # B (prio 1) ready at 0 still waits when A (prio 0) starts at 2
    assert check_strict_order([2.0, 3.0], [0.0, 0.0], [0, 1], ["A", "B"], "priority") == [
        (0, 1)]
    assert check_strict_order([2.0, 3.0], [0.0, 0.0], [0, 1], ["A", "B"], "fifo") == []


# ------------------------------------------------------------------------- 6. the sampler
def test_sampler_without_noise_is_the_longest_path():
    rng = np.random.default_rng(16)
    for _ in range(50):
        night = random_dag_night(rng, int(rng.integers(1, 30)))
        x = sample_longest_path(night.arrival, night.runtime, night.depends_on, 0.0, 0.0, 7, 1)
        assert np.all(x == cpm_schedule(night)["longest_path"])


def test_sampler_mean_of_a_chain_is_the_sum_of_runtimes():
    """A chain from arrival 0: drain = sum of runtime x factor, each factor of mean 1 -> mean =
    sum of runtimes (within 4 SE), and SE = sqrt(sum (r cv)^2) / sqrt(R) within 5 %: the
    relative error of a sample sd is about sqrt((kurtosis - 1) / 4R), under 1.1 % here (the
    kurtosis of a lognormal with cv 0.8 is below 20; R = 100,000). Also with one cv per job."""
    runtime = [10.0, 20.0, 5.0, 40.0]
    deps = [[], [0], [1], [2]]
    reps = 100_000
    for cv in ([0.5] * 4, [0.5, 0.3, 0.0, 0.8]):
        arg = cv[0] if len(set(cv)) == 1 else cv
        mean, se = sample_longest_path_mean([0.0] * 4, runtime, deps, arg, 0.0, reps, 3)
        assert abs(mean - sum(runtime)) <= 4 * se
        want_se = math.sqrt(sum((r * c) ** 2 for r, c in zip(runtime, cv))) / math.sqrt(reps)
        assert abs(se / want_se - 1) < 0.05


def test_sampler_single_job_with_jitter():
    """One job: drain = a + U[0, J) + r x factor: mean a + J/2 + r (within 4 SE)."""
    mean, se = sample_longest_path_mean([30.0], [12.0], [[]], 0.4, 20.0, 100_000, 4)
    assert abs(mean - (30.0 + 10.0 + 12.0)) <= 4 * se


def test_sampler_agrees_with_the_twin_on_a_dag():
    """A random 12-job DAG night, ample workers, cv 0.5 and jitter 10: the sampler's mean drain
    (100,000 replications) and the twin's (1,500 replications with its own draws) agree within
    4 standard errors of their difference."""
    rng = np.random.default_rng(17)
    night = random_dag_night(rng, 12, k=2.0, integer_times=False)
    cv, jitter = 0.5, 10.0
    mean_s, se_s = sample_longest_path_mean(night.arrival, night.runtime, night.depends_on, cv,
                                            jitter, 100_000, 8)
    draws = np.random.default_rng(9)
    s = math.sqrt(math.log1p(cv * cv))
    drains = []
    for _ in range(1500):
        runtime = np.asarray(night.runtime) * np.exp(draws.normal(-s * s / 2, s, night.n))
        arrival = np.asarray(night.arrival) + draws.uniform(0, jitter, night.n)
        r = run_naive(night, night.n, "priority", arrival=arrival.tolist(),
                      runtime=runtime.tolist())
        drains.append(r["metrics"]["queue_drained_minute"])
    mean_t = float(np.mean(drains))
    se_t = float(np.std(drains, ddof=1) / math.sqrt(len(drains)))
    assert abs(mean_s - mean_t) <= 4 * math.hypot(se_s, se_t)


# ------------------------------------------------------------------------- 7. bad input
@pytest.mark.parametrize("deps, message", [
    ([[1], [0]], "cycle"),
    ([[0], []], "itself"),
    ([[1, 1], []], "repeated"),
    ([["Z"], []], "not in the night"),
    ([[2], []], "not in the night"),
])
def test_bad_dependencies_are_refused(deps, message):
    with pytest.raises(ValueError, match=message):
        naive_general_night([0, 0], [1, 1], [0, 0], [False, False], ["A", "B"], 1, 60,
                            depends_on=deps)


def test_depends_on_accepts_job_ids():
    by_id = naive_general_night([0, 0], [5, 5], [0, 0], [False, False], ["A", "B"], 2, 60,
                                depends_on=[["B"], []])
    by_index = naive_general_night([0, 0], [5, 5], [0, 0], [False, False], ["A", "B"], 2, 60,
                                   depends_on=[[1], []])
    assert by_id["start_minute"] == by_index["start_minute"] == [5.0, 0.0]
