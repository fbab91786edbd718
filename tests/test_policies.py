"""Issue 13 in the kernel: slots, named locks, capacity over the night and the four policies,
against the naive twin (tests/naive_general.py) replication by replication, the invariant
checkers of tests/oracles.py, hand-worked nights and closed forms.

Tolerances: see tests/general_helpers.py (the twin comparison) and each test's docstring.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from general_helpers import canonical, compare_with_twin, kernel_trace, pool_args, to_night
from mcqueue.engine import simulate as engine
from mcqueue.engine.night import Night
from mcqueue.engine.perturbation import Perturbation
from mcqueue.errors import DataError, ScenarioError
from naive_general import capacity_steps
from oracles import (check_capacity, check_exclusive, check_locks, check_reservations,
                     check_slots, check_strict_order, random_capacity, random_dag_night,
                     run_naive)

POLICIES = ("tutorial", "priority", "fifo", "backfill")
M = {m: i for i, m in enumerate(engine.METRICS)}


def _random_issue13_night(rng):
    """Slots, exclusive jobs, priorities, named locks, deadlines, dependencies (sometimes
    none) and either a constant pool or capacity steps that shrink below what is busy, close
    for a while (size 0) or grow."""
    n = int(rng.integers(1, 19))
    max_slots = int(rng.integers(1, 4))
    integer_times = bool(rng.random() < 0.6)
    d = canonical(random_dag_night(
        rng, n, k=float(rng.choice([0.0, 0.0, 1.0, 2.0])), integer_times=integer_times,
        deadline_share=0.3, max_slots=max_slots, n_locks=int(rng.integers(0, 4)),
        exclusive_share=float(rng.choice([0.0, 0.1, 0.25])),
        priority_levels=int(rng.integers(1, 4))))
    if rng.random() < 0.5:
        workers = int(rng.integers(max_slots, max_slots + 3))
    else:
        workers = random_capacity(rng, int(rng.integers(0, 5)), max_slots,
                                  changes=int(rng.integers(1, 4)), integer_times=integer_times)
    return d, workers


# ------------------------------------------------------------ kernel vs twin, replication by rep
def test_kernel_matches_twin_on_random_nights_with_slots_locks_and_capacity():
    """400 random nights x 4 policies x 2 replications (zero noise; runtime cv 0.6 with 10
    minutes of jitter, so actual runtimes overrun or undercut the estimates backfill plans
    with), backfill depth 0, 1, 2 or 64: every start time, workers used, late flag, the chain
    and the metrics agree with the twin."""
    rng = np.random.default_rng(1301)
    varied = backfilled = 0
    for i in range(400):
        d, workers = _random_issue13_night(rng)
        night = to_night(d)
        depth = int(rng.choice([0, 1, 2, 64]))
        starts = {}
        for policy in POLICIES:
            for rep, (cv, jitter) in enumerate([(0.0, 0.0), (0.6, 10.0)]):
                tr, _ = compare_with_twin(d, workers, policy, rep=rep, cv=cv, jitter=jitter,
                                          seed=i, backfill_depth=depth, night=night)
                if rep == 0:
                    starts[policy] = tr["start_minute"].tolist()
        varied += len({tuple(v) for v in starts.values()}) > 1
        backfilled += starts["backfill"] != starts["priority"]
    assert varied > 100 and backfilled > 30  # the policies really differ on these nights


def test_every_policy_sees_the_same_random_nights():
    """Common random numbers: for each replication the four policies (and any capacity) replay
    the same drawn arrivals and runtimes; a multi-policy run equals separate runs."""
    d, workers = _random_issue13_night(np.random.default_rng(7))
    night = to_night(d)
    for rep in (0, 17, 123456):
        draws = [kernel_trace(night, workers, p, rep, 0.5, 20.0, seed=3) for p in POLICIES]
        for tr in draws[1:]:
            np.testing.assert_array_equal(tr["arrival_minute"], draws[0]["arrival_minute"])
            np.testing.assert_array_equal(tr["runtime_minutes"], draws[0]["runtime_minutes"])
    w, cap = pool_args(workers)
    w = max(w, night.max_slots)
    together = engine.simulate_scenarios(
        [engine.Scenario(night, w, policy=p, capacity=cap) for p in POLICIES],
        replications=700, seed=5, runtime_cv=0.4, arrival_jitter=10.0)
    for res, p in zip(together, POLICIES):
        alone = engine.simulate(night, w, replications=700, seed=5, runtime_cv=0.4,
                                arrival_jitter=10.0, policy=p, capacity=cap)
        np.testing.assert_array_equal(res.samples, alone.samples)
        assert res.to_dict() == alone.to_dict()


# ------------------------------------------------------------------------------- invariants
def _check_invariants(d, workers, policy, tr):
    start, finish, used = tr["start_minute"], tr["finish_minute"], tr["workers_used"]
    steps = capacity_steps(workers) if isinstance(workers, (list, tuple)) else [(0.0, workers)]
    s, f, u = start.tolist(), finish.tolist(), used.tolist()
    assert check_capacity(s, f, u, steps) == []
    assert check_slots(s, u, d.slots, d.exclusive, steps) == []
    assert check_locks(s, f, d.locks) == []
    assert check_exclusive(s, f, d.exclusive) == []
    if policy in ("priority", "fifo"):
        assert check_strict_order(s, tr["ready_minute"].tolist(), d.priority, d.job_id,
                                  policy) == []
    for j, ps in enumerate(d.preds()):
        assert tr["ready_minute"][j] == max([tr["arrival_minute"][j]] + [f[p] for p in ps])
        assert start[j] >= tr["ready_minute"][j]
    m = tr["metrics"]
    assert 0.0 <= m["worker_utilization"] <= 1.0
    assert 0.0 <= m["overflow_risk"] <= 1.0
    assert m["average_queue_length"] >= 0.0 and m["max_queue_length"] >= 0
    assert tr["worker_minutes_above_capacity"] >= 0.0


@pytest.mark.parametrize("policy", POLICIES)
def test_invariants_on_every_replication_of_random_nights(policy):
    """Issue 13's checks on the kernel's own schedules, 150 random nights x 8 noisy
    replications per policy: busy workers never exceed the capacity at any start, a job holds
    its slots (an exclusive job the whole pool), jobs sharing a lock never overlap, nothing runs
    beside an exclusive job, priority/fifo never start a job while an earlier one in the order
    waits, every job starts at or after its ready time = max(arrival, predecessors' finish);
    utilisation and shares in [0, 1], queue lengths >= 0."""
    rng = np.random.default_rng(1302 + POLICIES.index(policy))
    for i in range(150):
        d, workers = _random_issue13_night(rng)
        night = to_night(d)
        for rep in range(8):
            tr = kernel_trace(night, workers, policy, rep, 0.7, 15.0, seed=i)
            _check_invariants(d, workers, policy, tr)


def test_backfill_heads_never_start_after_their_reservation_with_exact_estimates():
    """cv 0 (estimates exact): on 400 random nights the kernel's backfill schedule equals the
    twin's start for start, and against the twin's log of reservations (t, head, R) a head that
    stays the head never starts later than R."""
    rng = np.random.default_rng(1303)
    given = 0
    for i in range(400):
        d, workers = _random_issue13_night(rng)
        tr = kernel_trace(to_night(d), workers, "backfill")
        tw = run_naive(d, workers, "backfill")
        assert tr["start_minute"].tolist() == tw["start_minute"], i
        assert check_reservations({**tw, "start_minute": tr["start_minute"].tolist()}) == [], i
        given += len(tw["reservations"])
    assert given > 300


def test_every_replication_of_a_batch_run_keeps_its_invariants():
    """The parallel driver on random nights (3,000 replications each, every policy): per
    replication utilisation and shares in [0, 1], queue lengths and worker-minutes above the pool
    >= 0, counts are integers, late jobs between 0 and n and overflow > 0 exactly when the
    night drained after the cutoff."""
    rng = np.random.default_rng(1304)
    for i in range(12):
        d, workers = _random_issue13_night(rng)
        night = to_night(d)
        w, cap = pool_args(workers)
        w = max(w, night.max_slots)
        batch = engine.prepare([night], Perturbation(0.6, 20.0), seed=i)
        run = engine.replicate_detailed(batch, [0] * 4, [w] * 4, 3000, policy=list(POLICIES),
                                        capacity=[cap] * 4)
        x, extra = run.samples, run.extra
        assert np.all((x[:, M["worker_utilization"]] >= 0) & (x[:, M["worker_utilization"]] <= 1))
        assert np.all((x[:, M["overflow_risk"]] >= 0) & (x[:, M["overflow_risk"]] <= 1))
        for k in ("average_queue_length", "max_queue_length", "average_wait_minutes",
                  "p95_wait_minutes"):
            assert np.all(x[:, M[k]] >= 0), k
        for k in ("max_queue_length", "overflow_jobs"):
            assert np.array_equal(x[:, M[k]], np.round(x[:, M[k]])), k
        late = extra[:, 0]
        assert np.array_equal(late, np.round(late)) and np.all((late >= 0) & (late <= d.n))
        assert np.all(extra[:, 1] >= 0)
        assert np.array_equal(x[:, M["overflow_jobs"]] > 0,
                              x[:, M["queue_drained_minute"]] > night.horizon_minutes)


@st.composite
def hypothesis_nights(draw):
    n = draw(st.integers(1, 10))
    arrival = draw(st.lists(st.integers(0, 40).map(float), min_size=n, max_size=n))
    runtime = draw(st.lists(st.one_of(st.integers(1, 30).map(float), st.floats(0.1, 30)),
                            min_size=n, max_size=n))
    priority = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    exclusive = draw(st.lists(st.sampled_from([False] * 5 + [True]), min_size=n, max_size=n))
    slots = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    locks = draw(st.lists(st.sets(st.sampled_from(["T", "U"]), max_size=2), min_size=n,
                          max_size=n))
    preds = [sorted(draw(st.sets(st.integers(0, j - 1), max_size=2))) if j else []
             for j in range(n)]
    ids = [f"J{j}" for j in range(n)]
    night = Night.from_arrays(arrival, runtime, priority, exclusive, ids,
                              depends_on=[[ids[p] for p in ps] for ps in preds], slots=slots,
                              locks=[sorted(x) for x in locks], batch_end="02:00")
    base = draw(st.integers(max(slots), max(slots) + 2))
    steps = draw(st.lists(st.tuples(st.integers(1, 90).map(float), st.integers(0, 5)),
                          max_size=3, unique_by=lambda x: x[0]))
    steps = sorted(steps)
    if steps:
        steps[-1] = (steps[-1][0], max(steps[-1][1], max(slots)))
    return night, base, tuple(steps) or None


@settings(max_examples=150, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: bounded time
          suppress_health_check=[HealthCheck.too_slow])
@given(case=hypothesis_nights(), policy=st.sampled_from(POLICIES),
       noise=st.sampled_from([(0.0, 0.0), (0.5, 5.0)]), rep=st.integers(0, 10**6))
def test_invariants_property(case, policy, noise, rep):
    night, base, steps = case
    tr = engine.trace(night, base, rep, Perturbation(*noise), 1, policy=policy,
                      capacity=steps, detail=True)
    pool = capacity_steps([(0.0, base)] + list(steps or ()))
    s, f, u = (tr["start_minute"].tolist(), tr["finish_minute"].tolist(),
               tr["workers_used"].tolist())
    locks = [set(night.locks_of(j)) for j in range(night.n_jobs)]
    assert check_capacity(s, f, u, pool) == []
    assert check_slots(s, u, night.slots.tolist(), night.exclusive.tolist(), pool) == []
    assert check_locks(s, f, locks) == []
    assert check_exclusive(s, f, night.exclusive.tolist()) == []
    m = tr["metrics"]
    assert 0.0 <= m["worker_utilization"] <= 1.0 and 0.0 <= m["overflow_risk"] <= 1.0


# --------------------------------------------------------------------- hand-worked nights
def test_capacity_changes_by_hand():
    """Pool 3, then 1 from minute 10, then 2 from 30; cutoff 60 minutes. J1..J3 (0, 20 min),
    J4 (0, 5), E (exclusive, 25, 10), J5 (26, 5).
    0: J1-J3 start, J4 waits. 10: the pool shrinks to 1, the three keep running. 20: they end;
    J4 20-25. 25: E starts on the pool of 1 (holds 1). 26: J5 waits. 30: the pool grows to 2
    but nothing starts beside E. 35: J5 35-40.
    Busy within capacity: 30 + 10 + 5 + 5 + 5 + 5 = 60 worker-minutes; above the pool 2 x 10
    = 20 (10-20); capacity-minutes 3 x 10 + 1 x 20 + 2 x 30 = 110: utilisation 60/110.
    Waits J4 20, J5 9: mean 29/6; queue area 29, over 60 minutes; max queue 1."""
    night = Night.from_arrays([0, 0, 0, 0, 25, 26], [20, 20, 20, 5, 10, 5],
                              exclusive=[False] * 4 + [True, False],
                              job_id=["J1", "J2", "J3", "J4", "JE", "J5"], batch_end="02:00")
    for policy in POLICIES:
        tr = engine.trace(night, 3, policy=policy, capacity=[(10, 1), (30, 2)])
        got = dict(zip(night.job_id, tr["start_minute"].tolist()))
        assert got == {"J1": 0, "J2": 0, "J3": 0, "J4": 20, "JE": 25, "J5": 35}, policy
        assert tr["workers_used"].tolist() == [1] * 6
        assert tr["worker_minutes_above_capacity"] == 20.0
        m = tr["metrics"]
        assert m["worker_utilization"] == 60 / 110
        assert m["average_wait_minutes"] == 29 / 6
        assert m["average_queue_length"] == 29 / 60
        assert m["max_queue_length"] == 1
        assert m["queue_drained_minute"] == 40.0
        assert tr["capacity"] == [(0.0, 3), (10.0, 1), (30.0, 2)]


def test_the_four_policies_on_one_night():
    """Two workers, cutoff 120. L (0, 30), then at 5: E (exclusive, 10), H (priority 5, 10),
    S (15). tutorial: E goes ahead and blocks H with a worker idle (L 0, E 30, H 40, S 40);
    priority: H first, E heads the queue and S waits behind it (L 0, H 5, E 30, S 40); fifo:
    (ready, job_id) = E, H, S (L 0, E 30, H 40, S 40); backfill: E reserved at 30, S fits at 15
    and ends by 30 (L 0, H 5, S 15, E 30)."""
    night = Night.from_arrays([0, 5, 5, 5], [30, 10, 10, 15], [0, 0, 5, 0],
                              [False, True, False, False], ["L", "E", "H", "S"],
                              batch_end="03:00")
    want = {"tutorial": dict(L=0, E=30, H=40, S=40), "priority": dict(L=0, H=5, E=30, S=40),
            "fifo": dict(L=0, E=30, H=40, S=40), "backfill": dict(L=0, H=5, S=15, E=30)}
    for policy, expected in want.items():
        tr = engine.trace(night, 2, policy=policy, detail=True)
        assert dict(zip(night.job_id, tr["start_minute"].tolist())) == expected, policy
        assert tr["workers_used"][night.job_id.index("E")] == 2


def test_locks_skip_or_block_by_policy():
    """Two workers: A (priority 3, lock T), B (priority 2, lock T), C (priority 1), 10 minutes
    each. tutorial and backfill skip B while A holds T (C at 0, B at 10); priority and fifo
    block behind B (B and C at 10)."""
    night = Night.from_arrays([0, 0, 0], [10, 10, 10], [3, 2, 1], job_id=["A", "B", "C"],
                              locks=["T", "T", None])
    for policy, c_start in (("tutorial", 0), ("backfill", 0), ("priority", 10), ("fifo", 10)):
        tr = engine.trace(night, 2, policy=policy)
        assert tr["start_minute"].tolist() == [0, 10, c_start], policy


def test_exclusive_job_slots_are_a_minimum_pool_size():
    """Pool 2, then 3 from minute 20: an exclusive job with 3 slots waits for the pool of 3
    and holds all 3; with 1 slot it starts at once on both workers."""
    for slots, start, used in ((3, 20.0, 3), (1, 0.0, 2)):
        night = Night.from_arrays([0], [10], exclusive=[True], job_id=["E"], slots=[slots])
        for policy in POLICIES:
            tr = engine.trace(night, 3, policy=policy, capacity=[(0, 2), (20, 3)])
            assert (tr["start_minute"].tolist(), tr["workers_used"].tolist()) == (
                [start], [used]), policy


# ------------------------------------------------------------------------- worked examples
def backfill_p95_night() -> Night:
    """docs/model.md, section 14.7, example 1: two workers, everything at 01:00. A (priority 3,
    10 min), B (priority 2, 10 min, 2 slots), C1..C4 (priority 1, 5 min each)."""
    return Night.from_arrays([0] * 6, [10, 10, 5, 5, 5, 5], [3, 2, 1, 1, 1, 1],
                             job_id=["A", "B", "C1", "C2", "C3", "C4"],
                             slots=[1, 2, 1, 1, 1, 1])


def test_worked_example_backfill_lowers_the_p95_wait():
    """priority: A 0-10; B needs both workers, C1..C4 wait behind it; B 10-20; C1, C2 20-25; C3,
    C4 25-30: waits 0, 10, 20, 20, 25, 25 (p95 25, mean 100/6, drained at 30).
    backfill: B reserved at 10 (A's planned finish), surplus 0; C1 ends at 5 <= 10: 0-5; at 5
    C2 ends at 10: 5-10; B 10-20; C3, C4 20-25: waits 0, 10, 0, 5, 20, 20 (p95 20, mean 55/6,
    drained at 25). With noise (runtime cv 0.25, 20,000 replications on the same random
    nights) backfill's mean p95 wait is lower: the paired difference is negative by more than
    4 standard errors."""
    night = backfill_p95_night()
    pri = engine.trace(night, 2, policy="priority")
    bf = engine.trace(night, 2, policy="backfill")
    assert pri["wait_minutes"].tolist() == [0, 10, 20, 20, 25, 25]
    assert bf["wait_minutes"].tolist() == [0, 10, 0, 5, 20, 20]
    assert (pri["metrics"]["p95_wait_minutes"], bf["metrics"]["p95_wait_minutes"]) == (25, 20)
    assert pri["metrics"]["average_wait_minutes"] == 100 / 6
    assert bf["metrics"]["average_wait_minutes"] == 55 / 6
    assert (pri["metrics"]["queue_drained_minute"], bf["metrics"]["queue_drained_minute"]) == (
        30, 25)
    res = engine.simulate_scenarios([engine.Scenario(night, 2, policy=p)
                                     for p in ("priority", "backfill")],
                                    replications=20_000, seed=1, runtime_cv=0.25,
                                    arrival_jitter=0.0)
    diff = (res[1].samples[M["p95_wait_minutes"]] - res[0].samples[M["p95_wait_minutes"]])
    se = diff.std(ddof=1) / math.sqrt(diff.size)
    assert diff.mean() < -4 * se, (diff.mean(), se)


def overrun_night() -> Night:
    """docs/model.md, section 14.7, example 2: two workers, everything at 01:00. X (priority 5,
    10 min), E (priority 4, exclusive, 10 min, deadline 01:20), S (priority 1, estimated 5
    min, workload class 'backfill' whose runtimes vary with cv 1)."""
    return Night.from_arrays([0, 0, 0], [10, 10, 5], [5, 4, 1], [False, True, False],
                             job_id=["X", "E", "S"], workload_class=["etl", "etl", "backfill"],
                             deadline=[None, "01:20", None])


def test_worked_example_backfill_delays_the_exclusive_job_when_runtimes_overrun():
    """backfill: X 0-10; E needs the whole pool: reserved at 10 (X's planned finish); S plans
    to end at 5 <= 10 and backfills at 0. When S really runs longer than 10 minutes (its
    runtime factor > 2), E cannot start at 10: it starts when S ends and finishes after its
    deadline 01:20. With cv 1 for S's class, P(factor > 2) = 1 - Phi((ln 2 + s^2/2) / s),
    s^2 = ln 2, = 0.1059; E's late probability under backfill matches it within 4 binomial
    standard errors (20,000 replications); under priority S waits behind E, which always
    starts at 10 and is never late."""
    night = overrun_night()
    R = 20_000
    kw = dict(replications=R, seed=2, runtime_cv=0.0, arrival_jitter=0.0,
              class_cv={"backfill": 1.0}, per_job=True)
    bf = engine.simulate(night, 2, policy="backfill", **kw)
    pri = engine.simulate(night, 2, policy="priority", **kw)
    late_bf = {r["job_id"]: r["late_probability"]["estimate"] for r in bf.per_job}["E"]
    late_pri = {r["job_id"]: r["late_probability"]["estimate"] for r in pri.per_job}["E"]
    s = math.sqrt(math.log(2.0))
    p = 1.0 - NormalDist().cdf((math.log(2.0) + s * s / 2) / s)
    assert abs(p - 0.1059) < 5e-4
    assert abs(late_bf - p) <= 4 * math.sqrt(p * (1 - p) / R), (late_bf, p)
    assert late_pri == 0.0
    # one such replication in full: S overran, E started at S's finish
    pert = Perturbation(0.0, 0.0, {"backfill": 1.0})
    e, x, s_ = (night.job_id.index(j) for j in ("E", "X", "S"))
    for rep in range(200):
        tr = engine.trace(night, 2, rep, pert, 2, policy="backfill")
        if tr["runtime_minutes"][s_] > 10:
            break
    else:  # pragma: no cover - P(no overrun in 200) = 0.894**200 < 1e-9
        pytest.fail("no overrun found")
    assert (tr["start_minute"][x], tr["start_minute"][s_]) == (0.0, 0.0)
    assert tr["start_minute"][e] == tr["finish_minute"][s_] > 10.0
    assert tr["late"][e] and not tr["late"][x] and not tr["late"][s_]


# ----------------------------------------------------------------------------------- errors
def test_slots_larger_than_the_pool_is_a_scenario_error():
    night = Night.from_arrays([0, 0], [10, 10], job_id=["small", "wide"], slots=[1, 3])
    with pytest.raises(ScenarioError, match=r"job 'wide' needs 3 workers \(slots\), more than "
                                            r"the pool of 2 workers"):
        engine.simulate(night, 2, replications=10)
    with pytest.raises(ScenarioError, match="needs 3 workers"):
        engine.trace(night, 2)
    assert engine.infeasible(night, 2) is not None and engine.infeasible(night, 3) is None


@pytest.mark.parametrize("capacity, message", [
    ([(60, 0)], r"the last capacity step \(minute 60: 0 workers\) is below 1: the night could "
                r"never drain"),
    ([(60, 1)], r"the last capacity step \(minute 60: 1 workers\) is below the largest slots "
                r"\(2\): the night could never drain"),
    ([(-5, 2)], "capacity minute must be a number of minutes after the batch start"),
    ([(float("nan"), 2)], "capacity minute must be"),
    ([(True, 2)], "capacity minute must be"),
    ([(30, -1)], r"capacity at minute 30 must be an integer number of workers >= 0, got -1"),
    ([(30, 2.5)], "capacity at minute 30 must be an integer number of workers >= 0, got 2.5"),
    ([(30, 2), (30, 3)], "capacity minute 30 is given twice"),
    ([(30,)], r"capacity step must be \(minute, size\), got \(30,\)"),
    (5, "capacity must be a list of \\(minute, size\\) steps, got 5"),
])
def test_capacity_errors(capacity, message):
    night = Night.from_arrays([0, 0], [10, 10], slots=[1, 2])
    with pytest.raises(ScenarioError, match=message):
        engine.simulate(night, 3, replications=10, capacity=capacity)


@pytest.mark.parametrize("kwargs, message", [
    (dict(policy="lifo"), "policy must be one of tutorial, priority, fifo, backfill, got 'lifo'"),
    (dict(policy=3), "policy must be one of"),
    (dict(policy="backfill", backfill_depth=-1), "backfill depth must be an integer >= 0"),
    (dict(policy="backfill", backfill_depth=2.0), "backfill depth must be an integer >= 0"),
    (dict(policy="backfill", backfill_depth=True), "backfill depth must be an integer >= 0"),
])
def test_policy_errors(kwargs, message):
    night = Night.from_arrays([0], [10])
    with pytest.raises(ScenarioError, match=message):
        engine.simulate(night, 1, replications=10, **kwargs)


@pytest.mark.parametrize("slots, message", [
    ([0], "must be an integer >= 1, got 0"), ([-2], "must be an integer >= 1, got -2"),
    ([1.5], "must be an integer >= 1, got 1.5"), ([True], "must be an integer >= 1, got True"),
    (["2"], "must be an integer >= 1, got '2'"), ([float("nan")], "must be an integer >= 1"),
])
def test_slot_errors(slots, message):
    with pytest.raises(DataError, match=r"row 1 \(job_id A\): field 'slots' " + message):
        Night.from_arrays([0], [1], job_id=["A"], slots=slots)


@pytest.mark.parametrize("locks, message", [
    ([[""]], "field 'locks' holds an empty lock name"),
    ([["T", "  "]], "field 'locks' holds an empty lock name"),
    ([[3]], "field 'locks' must hold lock names, got 3"),
    ([7], "field 'locks' must be lock names"),
])
def test_lock_errors(locks, message):
    with pytest.raises(DataError, match=r"row 1 \(job_id A\): " + message):
        Night.from_arrays([0], [1], job_id=["A"], locks=locks)


def test_lock_strings_are_split_like_depends_on():
    night = Night.from_arrays([0, 0], [1, 1], job_id=["a", "b"], locks=[" T ; U;;", "U;U"])
    assert night.locks_of(0) == ("T", "U") and night.locks_of(1) == ("U",)
    assert night.lock_names == ("T", "U")
