"""Issue 12 in the kernel: dependencies, deadlines, the critical chain and per-job risk, against
independent values (the naive twin tests/naive_general.py, networkx's critical-path method, a
vectorised numpy longest-path sampler, closed forms and hand-worked nights).

Tolerances are stated where they are used; tests/general_helpers.py derives the ones of the
replication-by-replication comparison.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from general_helpers import canonical, compare_with_twin, to_night
from mcqueue.engine import simulate as engine
from mcqueue.engine.night import Night
from mcqueue.engine.perturbation import Perturbation
from mcqueue.errors import DataError
from oracles import (DagNight, cpm_schedule, per_job_summary, random_dag_night, run_naive,
                     sample_longest_path_mean)
from mcqueue.stats.intervals import wilson_bounds, z_quantile

POLICIES = ("tutorial", "priority", "fifo", "backfill")


# ------------------------------------------------------------ kernel vs twin, replication by rep
def _random_issue12_night(rng):
    """Few workers, exclusive jobs, priorities, deadlines, 1..18 jobs of a random DAG."""
    n = int(rng.integers(1, 19))
    d = random_dag_night(rng, n, k=float(rng.choice([0.5, 1.0, 2.0, 3.0])),
                         deadline_share=0.4, exclusive_share=float(rng.choice([0.0, 0.15, 0.3])),
                         priority_levels=int(rng.integers(1, 4)))
    return canonical(d), int(rng.integers(1, 4))


def test_kernel_matches_twin_on_random_dag_nights():
    """300 random DAG nights x 4 policies x 2 replications (zero noise, or runtime cv and
    arrival jitter drawn by the kernel and replayed by the twin): start, ready and finish of
    every job, late flags, the critical chain and the metrics agree (tolerances in
    tests/general_helpers.py)."""
    rng = np.random.default_rng(1201)
    chained = late = 0
    for i in range(300):
        d, workers = _random_issue12_night(rng)
        night = to_night(d)
        for policy in POLICIES:
            for rep, (cv, jitter) in enumerate([(0.0, 0.0), (0.4, 15.0)]):
                tr, tw = compare_with_twin(d, workers, policy, rep=1000 * i + rep, cv=cv,
                                           jitter=jitter, seed=i, night=night)
                chained += int(tr["on_chain"].sum() > 1)
                late += tr["late_jobs"]
    assert chained > 1000 and late > 500  # the comparison exercised chains and lateness


# ------------------------------------------------------------------- the critical-path method
@pytest.mark.parametrize("policy", POLICIES)
def test_ample_workers_start_every_job_at_its_cpm_earliest_start(policy):
    """500 random DAG nights (whole minutes or floats, up to 40 jobs, no exclusive job, one
    worker per job, cv 0, no jitter): every job starts at its earliest start by the critical-path
    method (networkx), finishes at its earliest finish, and the night drains at the longest
    path. Exact: both sides add the same floats in the same order along every path."""
    rng = np.random.default_rng(1202 + POLICIES.index(policy))
    for i in range(500 if policy == "tutorial" else 125):
        n = int(rng.integers(1, 41))
        d = canonical(random_dag_night(rng, n, k=float(rng.choice([0.5, 1.5, 3.0])),
                                       priority_levels=3))
        cpm = cpm_schedule(d)
        tr = engine.trace(to_night(d), max(1, n), policy=policy, detail=True)
        assert tr["start_minute"].tolist() == cpm["earliest_start"], i
        assert tr["finish_minute"].tolist() == cpm["earliest_finish"], i
        assert tr["metrics"]["queue_drained_minute"] == cpm["longest_path"], i
        assert tr["metrics"]["average_wait_minutes"] == 0.0
        np.testing.assert_array_equal(tr["ready_minute"], tr["start_minute"])


def test_mean_drain_with_ample_workers_matches_the_longest_path_sampler():
    """Three 30-job DAG nights, one worker per job, runtime cv 0.3 and 20 minutes of arrival
    jitter: the kernel's mean drain (20,000 replications) equals the mean longest path of an
    independent numpy sampler (its own random numbers, 20,000 replications) within 4 standard
    errors of the difference."""
    rng = np.random.default_rng(1203)
    for k in range(3):
        d = canonical(random_dag_night(rng, 30, k=2.0, integer_times=False))
        night = to_night(d)
        res = engine.simulate(night, 30, replications=20_000, seed=k, runtime_cv=0.3,
                              arrival_jitter=20.0)
        drain = res.samples[engine.METRICS.index("queue_drained_minute")]
        m_k, se_k = drain.mean(), drain.std(ddof=1) / math.sqrt(drain.size)
        m_s, se_s = sample_longest_path_mean(d.arrival, d.runtime, d.depends_on, 0.3, 20.0,
                                             20_000, seed=100 + k)
        assert abs(m_k - m_s) <= 4 * math.hypot(se_k, se_s), (k, m_k, m_s, se_k, se_s)


# ------------------------------------------------------------------------- criticality index
def _criticality(night, workers, **kw):
    res = engine.simulate(night, workers, replications=4000, seed=3, per_job=True, **kw)
    return {row["job_id"]: row["criticality"] for row in res.per_job}


def test_pure_chain_is_critical_in_every_replication():
    night = Night.from_arrays([0, 0, 0, 0], [30, 20, 40, 10], job_id=["A", "B", "C", "D"],
                              depends_on=[None, "A", "B", "C"])
    crit = _criticality(night, 2, runtime_cv=0.5, arrival_jitter=0.0)
    assert crit == {"A": 1.0, "B": 1.0, "C": 1.0, "D": 1.0}


def test_two_chains_the_longer_one_is_critical():
    """A1 -> A2 -> A3 (3 x 60 minutes) and B1 -> B2 -> B3 (3 x 10 minutes), cv 0.1: chain B
    would need runtime factors about 6x those of chain A to finish last (probability far below
    1e-30), so A is critical in every replication and B in none."""
    night = Night.from_arrays([0] * 6, [60, 60, 60, 10, 10, 10],
                              job_id=["A1", "A2", "A3", "B1", "B2", "B3"],
                              depends_on=[None, "A1", "A2", None, "B1", "B2"])
    crit = _criticality(night, 6, runtime_cv=0.1, arrival_jitter=0.0)
    assert crit == {"A1": 1.0, "A2": 1.0, "A3": 1.0, "B1": 0.0, "B2": 0.0, "B3": 0.0}


def test_two_identical_chains_share_the_criticality():
    """Two identical chains (3 x 30 minutes each, cv 0.3, ample workers): by symmetry each is
    critical with probability 1/2. In every replication exactly one chain is critical (the last
    finisher's), so the two shares add up to 1 exactly; 0.5 lies inside the Wilson interval of
    chain A's share at confidence 1 - 1e-4 (a fixed seed)."""
    night = Night.from_arrays([0] * 6, [30] * 6, job_id=["A1", "A2", "A3", "B1", "B2", "B3"],
                              depends_on=[None, "A1", "A2", None, "B1", "B2"])
    R = 4000
    res = engine.simulate(night, 6, replications=R, seed=3, per_job=True, runtime_cv=0.3,
                          arrival_jitter=0.0)
    crit = {row["job_id"]: row["criticality"] for row in res.per_job}
    assert crit["A1"] == crit["A2"] == crit["A3"]
    assert crit["B1"] == crit["B2"] == crit["B3"]
    assert crit["A1"] + crit["B1"] == 1.0
    lo, hi = wilson_bounds(round(crit["A1"] * R), R, z_quantile(1 - 1e-4))
    assert lo <= 0.5 <= hi, (crit, lo, hi)


def test_chain_follows_the_job_that_freed_the_workers():
    """One worker, no dependencies: A (0, 30), B (0, 20), C (5, 10). B waits for A, C for B:
    the chain of the last job C is C <- B (freed its worker) <- A (freed B's worker); with a
    second worker nothing waits and the chain is the last job alone."""
    night = Night.from_arrays([0, 0, 5], [30, 20, 10], job_id=["A", "B", "C"])
    tr = engine.trace(night, 1, detail=True)
    assert tr["start_minute"].tolist() == [0.0, 30.0, 50.0]
    assert tr["on_chain"].tolist() == [True, True, True]
    assert tr["freed_by"].tolist() == [-1, 0, 1]
    tr2 = engine.trace(night, 2, detail=True)
    assert tr2["on_chain"].tolist() == [True, False, False]  # A ends last (30), started at 0


# ------------------------------------------------------------------------ dependencies by hand
def test_ready_time_wait_and_dependency_delay_by_hand():
    """Two workers. E1 (0, 20), E2 (0, 30), T (arrives 10, needs E1 and E2, 15), L (arrives 50,
    needs T, 5, deadline 02:00 = 60 minutes after 01:00), X (5, 40).
    0: E1, E2 start; 5: X waits; 20: E1 ends, X starts (wait 15); 30: E2 ends, T ready at 30
    (dependency delay 20) and starts; 45: T ends, L not arrived; 50: L starts (ready 50, no
    delay); 55 L ends: not late (55 <= 60). X ends 60."""
    night = Night.from_arrays([0, 0, 10, 50, 5], [20, 30, 15, 5, 40],
                              job_id=["E1", "E2", "T", "L", "X"],
                              depends_on=[None, None, "E1;E2", ["T"], None],
                              deadline=[None, None, None, "02:00", None])
    order = list(night.job_id)  # canonical: E1, E2, L, T, X
    tr = engine.trace(night, 2)
    got = {j: (tr["ready_minute"][k], tr["start_minute"][k], tr["dependency_delay_minutes"][k],
               tr["wait_minutes"][k]) for k, j in enumerate(order)}
    assert got == {"E1": (0, 0, 0, 0), "E2": (0, 0, 0, 0), "T": (30, 30, 20, 0),
                   "L": (50, 50, 0, 0), "X": (5, 20, 0, 15)}
    assert tr["late"].tolist() == [False] * 5
    assert tr["late_jobs"] == 0
    # the chain: X ends last (60); it waited and E1's finish freed its worker; E1 started at
    # its arrival
    assert [order[k] for k in np.flatnonzero(tr["on_chain"])] == ["E1", "X"]
    assert tr["ready_set_by"][order.index("T")] == order.index("E2")
    assert tr["metrics"]["average_wait_minutes"] == 3.0  # 15 / 5


def test_a_night_with_deadlines_only_schedules_exactly_like_today():
    """Deadlines change no start: metrics equal today's kernel bit for bit; late_jobs counts
    jobs past their own deadline, and jobs without one past the cutoff."""
    base = Night.from_arrays([0, 0, 0, 10], [100, 150, 200, 90], job_id=["a", "b", "c", "d"])
    dl = Night.from_arrays([0, 0, 0, 10], [100, 150, 200, 90], job_id=["a", "b", "c", "d"],
                           deadline=[99, None, "04:30", 500])
    for w in (1, 2, 3):
        old = engine.trace(base, w)
        new = engine.trace(dl, w)
        assert new["metrics"] == old["metrics"]
        np.testing.assert_array_equal(new["start_minute"], old["start_minute"])
        finish = new["finish_minute"]
        due = np.array([99, 240, 210, 500])
        assert new["late_jobs"] == int(np.count_nonzero(finish > due))
        assert new["late"].tolist() == (finish > due).tolist()


# ------------------------------------------------------------------- per-job statistics vs twin
def test_per_job_statistics_match_the_twin_over_the_same_replications():
    """Per-job statistics streamed by the kernel against the twin's per_job_summary over the
    same 400 replications (the kernel's draws replayed by the twin), on random DAG nights:
    late share, criticality and any-late share exactly (counts); mean wait, mean dependency
    delay and mean late jobs within a relative 1e-12 (sums of R <= 400 non-negative terms in
    replication order vs math.fsum: error <= R * 2**-53); finish P50/P90 within the stated
    precision of the histogram (1/32 minute below 64 minutes, 2**-10 relative below 2**20)."""
    rng = np.random.default_rng(1204)
    R = 400
    for k in range(6):
        d, workers = _random_issue12_night(rng)
        night = to_night(d)
        policy = POLICIES[k % 4]
        pert = Perturbation(0.5, 10.0)
        res = engine.simulate(night, workers, replications=R, seed=k, runtime_cv=0.5,
                              arrival_jitter=10.0, per_job=True, policy=policy)
        twin = []
        for rep in range(R):
            tr = engine.trace(night, workers, rep, pert, k, policy=policy)
            twin.append(run_naive(d, workers, policy, arrival=tr["arrival_minute"].tolist(),
                                  runtime=tr["runtime_minutes"].tolist()))
        want = per_job_summary(twin, d.job_id)
        for got, exp in zip(res.per_job, want["per_job"]):
            assert got["job_id"] == exp["job_id"]
            assert got["late_probability"]["estimate"] == exp["late_share"]
            assert got["criticality"] == exp["criticality"]
            for key in ("mean_wait_minutes", "mean_dependency_delay_minutes"):
                assert math.isclose(got[key], exp[key], rel_tol=1e-12, abs_tol=0.0), key
            for key in ("finish_minute_p50", "finish_minute_p90"):
                x = exp[key]
                tol = 1 / 32 if x < 64 else x * 2.0 ** -10
                assert abs(got[key] - x) <= tol, (key, got[key], x)
        if night.has_deadlines:
            assert res.monte_carlo["any_late_probability"]["estimate"] == want["any_late_share"]
            assert math.isclose(res.monte_carlo["late_jobs"]["mean"], want["mean_late_jobs"],
                                rel_tol=1e-12)


def test_finish_quantiles_are_exact_when_every_replication_agrees():
    """Zero noise: every replication has the same finish, so P50 = P90 = the finish exactly
    (the histogram midpoint is clamped to the observed min and max)."""
    night = Night.from_arrays([0, 0, 3.3], [10.7, 200.123, 5.01], job_id=["a", "b", "c"],
                              depends_on=[None, None, "a"])
    res = engine.simulate(night, 1, replications=50, runtime_cv=0, arrival_jitter=0,
                          per_job=True)
    fin = engine.trace(night, 1)["finish_minute"]
    for row, f in zip(res.per_job, fin):
        assert row["finish_minute_p50"] == row["finish_minute_p90"] == f
        assert row["late_probability"]["estimate"] in (0.0, 1.0)


def test_per_job_keys_and_values_are_in_range():
    night = Night.from_arrays([0, 0, 0, 30], [60, 90, 120, 30], job_id=["a", "b", "c", "d"],
                              depends_on=[None, None, "a", "b;c"],
                              deadline=["02:00", None, None, "03:30"])
    res = engine.simulate(night, 2, replications=2000, per_job=True, seed=1)
    d = res.to_dict()
    assert [row["job_id"] for row in d["per_job"]] == ["a", "b", "c", "d"]
    for row in d["per_job"]:
        assert set(row) == {"job_id", "late_probability", "finish_minute_p50",
                            "finish_minute_p90", "mean_wait_minutes",
                            "mean_dependency_delay_minutes", "criticality"}
        lp = row["late_probability"]
        assert 0.0 <= lp["ci_low"] <= lp["estimate"] <= lp["ci_high"] <= 1.0
        assert 0.0 <= row["criticality"] <= 1.0
        assert row["mean_wait_minutes"] >= 0.0 and row["mean_dependency_delay_minutes"] >= 0.0
        assert row["finish_minute_p50"] <= row["finish_minute_p90"]
    assert set(d["monte_carlo"]["late_jobs"]) == {"mean", "ci_low", "ci_high", "p50", "p90",
                                                  "p99"}
    alp = d["monte_carlo"]["any_late_probability"]
    assert 0.0 <= alp["ci_low"] <= alp["estimate"] <= alp["ci_high"] <= 1.0
    assert isinstance(d["deterministic"]["late_jobs"], int)


def test_a_feature_free_run_adds_no_key():
    """Nothing is added to today's result unless a feature is used."""
    night = Night.from_arrays([0, 5, 10], [30, 20, 10])
    d = engine.simulate(night, 2, replications=100).to_dict()
    assert "per_job" not in d and "policy" not in d and "capacity" not in d
    assert "late_jobs" not in d["monte_carlo"] and "late_jobs" not in d["deterministic"]
    assert "any_late_probability" not in d["monte_carlo"]
    # a dependency alone adds no key either (no deadline: no late_jobs)
    dep = Night.from_arrays([0, 5, 10], [30, 20, 10], depends_on=[None, [0], None])
    assert set(engine.simulate(dep, 2, replications=100).to_dict()) == set(d)


# --------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("depends_on, message", [
    (["", "zz", ""], "row 2 (job_id B): field 'depends_on' names 'zz', which is not a job"),
    (["", "B", ""], "row 2 (job_id B): field 'depends_on' names the job itself ('B')"),
    (["", "A;A", ""], "row 2 (job_id B): field 'depends_on' repeats 'A'"),
    (["C", "A", "B"], "row 1 (job_id A): field 'depends_on' names 'C', which closes a cycle: "
                      "'A' -> 'C' -> 'B' -> 'A' (each job waits for the next)"),
    (["", ["A", ""], ""], "row 2 (job_id B): field 'depends_on' holds an empty job id"),
    (["", [5], ""], "row 2 (job_id B): field 'depends_on' names row index 5, outside 0..2"),
    (["", 3.5, ""], "row 2 (job_id B): field 'depends_on' must be job ids"),
])
def test_dependency_errors_name_row_job_and_offending_id(depends_on, message):
    with pytest.raises(DataError) as err:
        Night.from_arrays([0, 0, 0], [1, 1, 1], job_id=["A", "B", "C"], depends_on=depends_on)
    assert str(err.value).startswith(message), str(err.value)


def test_a_cycle_of_two_and_a_long_cycle_are_named():
    with pytest.raises(DataError, match=r"cycle: 'x' -> 'y' -> 'x'"):
        Night.from_arrays([0, 0, 0], [1, 1, 1], job_id=["x", "y", "z"],
                          depends_on=["y", "x", None])
    ids = [f"J{i}" for i in range(6)]
    with pytest.raises(DataError) as err:
        Night.from_arrays([0] * 6, [1] * 6, job_id=ids,
                          depends_on=[None, "J0;J5", "J1", "J2", "J3", "J4"])
    assert "'J1' -> 'J5' -> 'J4' -> 'J3' -> 'J2' -> 'J1'" in str(err.value)


@pytest.mark.parametrize("deadline, message", [
    ("25:00", "field 'deadline' must be HH:MM (00:00 to 23:59), got '25:00'"),
    ("7:5", "field 'deadline' must be HH:MM (00:00 to 23:59), got '7:5'"),
    (-1.0, "field 'deadline' must be HH:MM or minutes after the batch start"),
    (float("inf"), "field 'deadline' must be HH:MM or minutes after the batch start"),
    (True, "field 'deadline' must be HH:MM or minutes after the batch start"),
])
def test_malformed_deadline(deadline, message):
    with pytest.raises(DataError, match="row 1 \\(job_id A\\): " + message.replace("(", "\\(")
                       .replace(")", "\\)")):
        Night.from_arrays([0], [1], job_id=["A"], deadline=[deadline])


def test_deadline_clock_time_is_its_first_occurrence_after_the_batch_start():
    night = Night.from_arrays([0, 0, 0, 0], [1, 1, 1, 1], job_id=["a", "b", "c", "d"],
                              batch_start="22:00", batch_end="04:00",
                              deadline=["23:30", "03:00", "22:00", None])
    assert night.deadline_minute[:3].tolist() == [90.0, 300.0, 1440.0]
    assert math.isnan(night.deadline_minute[3])
    assert night.deadline_array().tolist() == [90.0, 300.0, 1440.0, 360.0]


def test_error_messages_escape_control_characters_in_ids():
    with pytest.raises(DataError) as err:
        Night.from_arrays([0, 0], [1, 1], job_id=["ok", "bad\nid"],
                          depends_on=[None, "nope\x1b[31m"])
    text = str(err.value)
    assert "\n" not in text and "\x1b" not in text
    assert "'bad\\nid'" in text and "'nope\\x1b[31m'" in text


def test_outside_predecessors_count_as_finished():
    """Predecessor ids of another window (``outside``) are dropped and counted."""
    from mcqueue.engine.night import night_features

    f = night_features(["a", "b"], depends_on=["x;y", "a;x"], outside={"x", "y"})
    assert f.preds == [[], [0]] and f.outside_references == 3
    with pytest.raises(DataError, match="'z', which is not a job"):
        night_features(["a"], depends_on=["z"], outside={"x"})


def test_twin_night_round_trip():
    """The helper that builds a Night from a twin night keeps every column (the comparison
    tests rely on it)."""
    d = canonical(random_dag_night(np.random.default_rng(5), 12, deadline_share=0.5,
                                   max_slots=3, n_locks=2))
    night = to_night(d)
    assert list(night.job_id) == d.job_id
    assert [list(night.pred_idx[night.pred_ptr[j]:night.pred_ptr[j + 1]])
            for j in range(d.n)] == d.depends_on
    assert night.slots.tolist() == d.slots
    assert [set(night.locks_of(j)) for j in range(d.n)] == [set(x) for x in d.locks]
    assert [None if math.isnan(x) else x for x in night.deadline_minute] == d.deadline
    assert isinstance(d, DagNight)
