"""Issue 15 in the engine: re-forecasting a night from ``now`` (``Night.at_now``).

Checks, each against an independent value:
- ``now`` at the batch start with every job queued is the plain forecast, bit for bit;
- a running job's total runtime, drawn by the log-space inverse transform, has the lognormal
  conditional mean E[X | X > e] (a closed form computed with scipy's ``norm.logsf``) within 4
  standard errors (the standard error from the closed-form conditional variance) for several
  e, up to 100 times the estimate, and its conditional distribution passes a KS test;
- a night whose running job is already 2x over its estimate forecasts a higher overflow
  probability than the same night at its start (Wilson intervals apart);
- the event loop's semantics (facts, no dispatch before now, window rule, dependencies) agree
  with the naive twin replication by replication (the twin takes the drawn runtimes as inputs,
  so only the loop is checked; tolerances of tests/general_helpers.py);
- hand-worked nights, bit-identity for threads and blocks, every inconsistency error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from general_helpers import EXACT, REL_TOL, SUMMED, area_tolerance, canonical
from mcqueue.engine import simulate as engine
from mcqueue.engine.night import Night
from mcqueue.engine.perturbation import Perturbation
from mcqueue.engine.synthetic import synthetic_dag_night
from mcqueue.errors import DataError, ScenarioError
from naive import METRICS
from oracles import DagNight, random_capacity, random_dag_night, run_naive

ALPHA = 0.001
POLICIES = ("tutorial", "priority", "fifo", "backfill")


# ---------------------------------------------------------------- now at the start = plain
def test_now_at_the_start_with_every_job_queued_is_the_plain_forecast(night_13, night_14):
    """Bit for bit: per-replication metrics, the deterministic column, per-job statistics,
    on today's kernel's nights and on a DAG night under every policy."""
    for night, w in ((night_13, 3), (night_14, 2)):
        plain = engine.simulate(night, w, replications=4000, seed=5)
        for status in (None, ["queued"] * night.n_jobs, ["QUEUED"] * night.n_jobs):
            at0 = engine.simulate(night.at_now(0.0, status), w, replications=4000, seed=5)
            assert np.array_equal(plain.samples, at0.samples)
            assert plain.deterministic == at0.deterministic
            assert plain.monte_carlo == at0.monte_carlo
    dag = synthetic_dag_night(60, seed=3, deadline_share=0.3, exclusive_share=0.05)
    batch0 = engine.prepare([dag], Perturbation(0.3, 20.0), 9)
    batch1 = engine.prepare([dag.at_now(0.0)], Perturbation(0.3, 20.0), 9)
    for policy in POLICIES:
        a = engine.replicate_detailed(batch0, [0], [5], 1500, policy=policy, per_job=True)
        b = engine.replicate_detailed(batch1, [0], [5], 1500, policy=policy, per_job=True)
        assert np.array_equal(a.samples, b.samples) and np.array_equal(a.extra, b.extra)
        for name in ("late", "on_chain", "sum_wait", "sum_dep", "fmin", "fmax", "hist"):
            assert np.array_equal(getattr(a.per_job, name), getattr(b.per_job, name)), name


# ---------------------------------------------------------------- a running job's runtime
def conditional_moments(est, sigma, e):
    """E[X | X > e] and Var[X | X > e] for X = est exp(sigma Z - sigma^2 / 2), Z ~ N(0, 1):
    with z_e = (ln(e / est) + sigma^2 / 2) / sigma, E[X^k 1{X > e}] = est^k exp(k(k-1)
    sigma^2 / 2) Q(z_e - k sigma), Q the normal upper tail (logs from scipy's norm.logsf, so e
    far in the tail is exact)."""
    ze = -math.inf if e <= 0 else (math.log(e / est) + sigma * sigma / 2) / sigma
    lq = sps.norm.logsf(ze)
    m1 = est * math.exp(sps.norm.logsf(ze - sigma) - lq)
    m2 = est * est * math.exp(sigma * sigma + sps.norm.logsf(ze - 2 * sigma) - lq)
    return m1, m2 - m1 * m1


def running_totals(est, cv, e, reps=200_000, night_cv=0.0, seed=3):
    """The drawn total runtime of one job running for e minutes (now = e, started at 0)."""
    night = Night.from_arrays([0.0], [est]).at_now(e, ["running"], [0.0])
    if night_cv:
        night = night.with_runtime_draws(night_cv=night_cv)
    batch = engine.prepare([night], Perturbation(cv, 0.0), seed)
    return engine.draw_replications(batch, 0, reps)[1][:, 0]


@pytest.mark.parametrize("cv, factors", [(0.25, (0.0, 0.5, 1.0, 2.0, 5.0, 20.0)),
                                         (1.0, (0.3, 3.0, 30.0)),
                                         (0.1, (1.5, 100.0))])
def test_a_running_jobs_mean_total_is_the_lognormal_conditional_mean(cv, factors):
    """e = factor x estimate (30 minutes), R = 200,000 each. At cv 0.25, e = 5x the estimate
    is z_e = 6.7 (1 - F(e) = 1.5e-11: 1 - F computed directly would keep 5 digits); at cv 0.1,
    100x is z_e = 46 (Q(z_e) ~ 1e-465, below the smallest double): the asymptotic and Newton
    branches of the log-space tail."""
    est = 30.0
    sigma = math.sqrt(math.log1p(cv * cv))
    for f in factors:
        e = f * est
        x = running_totals(est, cv, e)
        assert (x >= e).all()
        mean, var = conditional_moments(est, sigma, e)
        se = math.sqrt(var / x.size)
        assert abs(x.mean() - mean) <= 4 * se, (cv, f, x.mean(), mean, se)
        assert mean > e


def test_the_normal_tail_helpers_match_scipy():
    """kernel.log_upper_tail against scipy's norm.logsf from z = -40 to 1,000 (erfc branch,
    series branch and the switch at 30: relative 1e-13), and upper_tail_inverse as its inverse
    against scipy's norm.isf (where Q is a double) and through logsf everywhere (relative
    1e-12: AS 241 and the Newton steps)."""
    from mcqueue.engine import kernel as K

    for z in np.concatenate([np.linspace(-40, 40, 321), [29.999, 30.0, 30.001],
                             np.geomspace(40, 1000, 30)]):
        want = float(sps.norm.logsf(z))
        assert K.log_upper_tail(float(z)) == pytest.approx(want, rel=1e-13, abs=1e-15), z
    for lq in np.concatenate([-np.geomspace(1e-12, 700, 200), [-0.6931471805599453],
                              -np.geomspace(700.5, 5e5, 50)]):
        z = K.upper_tail_inverse(float(lq))
        if -700 < lq < -1e-3:  # (nearer 0, exp(lq) itself has lost the digits isf needs)
            assert z == pytest.approx(float(sps.norm.isf(math.exp(lq))), rel=1e-12, abs=1e-12)
        assert float(sps.norm.logsf(z)) == pytest.approx(float(lq), rel=1e-12), lq


@pytest.mark.parametrize("s", [0.3, 1e-2, 1e-3, 1e-4, 1e-5, 1e-7, 1e-9, 1e-12])
def test_the_conditional_inverse_matches_high_precision_arithmetic(s):
    """kernel.conditional_lognormal(est, s, e, u) against the inverse transform solved in
    80-digit arithmetic (mpmath: Q(z) = (1 - u) Q(z_e), x = est exp(s z - s^2/2)) for log-sds
    from 0.3 down to 1e-12 at e = 2x the estimate: relative 1e-13 (double rounding of a few
    operations). Tiny log-sds put z_e near 1e12, where log Q itself cancels to 0 or infinity
    in double precision: the far-tail branch must stay exact there, never infinite."""
    import mpmath as mp  # a test dependency (pyproject [test])
    from mcqueue.engine import kernel as K

    mp.mp.dps = 80
    est, e = 10.0, 20.0
    for u in (0.0, 0.01, 0.5, 0.99, 0.999999):
        ss = mp.mpf(s)
        ze = (mp.log(mp.mpf(e) / est) + ss ** 2 / 2) / ss
        target = mp.log(1 - mp.mpf(u)) + mp.log(mp.ncdf(-ze))
        z = mp.findroot(lambda t: mp.log(mp.ncdf(-t)) - target, ze + 1 / ze)
        want = float(est * mp.exp(ss * z - ss ** 2 / 2))
        got = K.conditional_lognormal(est, s, e, u)
        assert math.isfinite(got) and got >= e
        assert got == pytest.approx(want, rel=1e-13), (s, u)


def test_the_conditional_distribution_far_in_the_tail_passes_ks():
    """At 5x the estimate (cv 0.25) the drawn totals follow P(X <= x | X > e) = 1 -
    Q(z_x) / Q(z_e) (scipy logsf): KS at alpha 0.001, and the excess over e is not rounded
    away (thousands of distinct values)."""
    est, cv, e = 30.0, 0.25, 150.0
    sigma = math.sqrt(math.log1p(cv * cv))
    x = running_totals(est, cv, e, reps=50_000)

    def cdf(v):
        zx = (np.log(v / est) + sigma * sigma / 2) / sigma
        ze = (math.log(e / est) + sigma * sigma / 2) / sigma
        return -np.expm1(sps.norm.logsf(zx) - sps.norm.logsf(ze))

    assert sps.kstest(x, cdf).pvalue > ALPHA
    assert np.unique(x).size > 40_000


def test_a_running_job_with_a_night_factor_is_conditioned_on_its_marginal_law():
    """With a night cv the running job's law is est x LN(cv) x LN(night cv): a lognormal with
    log-variance ln(1 + cv^2) + ln(1 + night cv^2), conditioned as above."""
    est, e = 30.0, 45.0
    x = running_totals(est, 0.25, e, night_cv=0.2)
    sigma = math.sqrt(math.log(1.0625) + math.log(1.04))
    mean, var = conditional_moments(est, sigma, e)
    assert abs(x.mean() - mean) <= 4 * math.sqrt(var / x.size)


def test_cv_zero_a_job_past_its_estimate_finishes_at_now():
    night = Night.from_arrays([0.0, 0.0], [30.0, 30.0])
    for e, total in ((10.0, 30.0), (30.0, 30.0), (45.0, 45.0)):
        nt = night.at_now(e, ["running", "queued"], [0.0, None])
        tr = engine.trace(nt, 1, 0, Perturbation(0.0, 0.0), 0)
        assert tr["runtime_minutes"][0] == total
        assert tr["finish_minute"][0] == max(30.0, e)
        assert tr["start_minute"][1] == max(30.0, e)  # one worker: the queued job waits


def test_an_empirical_running_job_draws_among_its_runs_longer_than_e():
    """Runs 10, 20, 30, 40: at e = 25 the total is 30 or 40, equally likely (chi-square); at
    e = 50 no run is that long and the job finishes at now."""
    night = Night.from_arrays([0.0], [25.0]).with_runtime_draws(recent=([0, 4],
                                                                        [10., 20., 30., 40.]))
    for e, values in ((25.0, [30.0, 40.0]), (50.0, [50.0])):
        batch = engine.prepare([night.at_now(e, ["running"], [0.0])], Perturbation(0.3, 0), 1)
        x = engine.draw_replications(batch, 0, 20_000)[1][:, 0]
        got, counts = np.unique(x, return_counts=True)
        assert got.tolist() == values
        if len(values) > 1:
            assert sps.chisquare(counts).pvalue > ALPHA


# ---------------------------------------------------------------- a night running late
def snapshot(night, actual_runtime, now, workers):
    """Status and facts at ``now`` of the night as it really ran: a zero-noise replay (the twin)
    with ``actual_runtime`` instead of the estimates."""
    tw = run_naive(DagNight(arrival=night.arrival_minute.tolist(), runtime=list(actual_runtime),
                            priority=night.priority.tolist(),
                            exclusive=night.exclusive.tolist(), job_id=list(night.job_id),
                            horizon=night.horizon_minutes), workers)
    status, started, finished = [], [], []
    for s, f in zip(tw["start_minute"], tw["finish_minute"]):
        if f <= now:
            status.append("completed"), started.append(s), finished.append(f)
        elif s <= now:
            status.append("running"), started.append(s), finished.append(None)
        else:
            status.append("queued"), started.append(None), finished.append(None)
    return status, started, finished


def test_a_job_running_2x_over_its_estimate_raises_the_overflow_probability(night_13):
    """The sample night of 2026-05-13 on 2 workers, at 02:40 (now = 100): its 50-minute job
    started at 01:00 and is still running (2x its estimate; the other jobs ran as planned).
    The re-forecast's overflow probability is above the plain forecast's (Wilson intervals
    at 99 % apart, 20,000 replications each, runtime cv 0.25, jitter 15)."""
    j = int(np.flatnonzero(night_13.runtime_minutes == 50.0)[0])
    actual = night_13.runtime_minutes.copy()
    actual[j] = 1000.0  # not finished by now
    status, started, finished = snapshot(night_13, actual, 100.0, 2)
    assert status[j] == "running" and started[j] == 0.0
    late = night_13.at_now(100.0, status, started, finished)
    plain = engine.simulate(night_13, 2, replications=20_000, seed=1, confidence=0.99)
    now = engine.simulate(late, 2, replications=20_000, seed=1, confidence=0.99)
    p0, p1 = plain.overflow_probability, now.overflow_probability
    assert p1["ci_low"] > p0["ci_high"], (p0, p1)
    assert now.deterministic["queue_drained_minute"] > plain.deterministic[
        "queue_drained_minute"]


# ---------------------------------------------------------------- hand-worked nights
def test_a_night_of_facts_only_gives_its_metrics_every_replication():
    """Two workers, H = 60: A ran 0-30, B 0-20, C (window 0) 20-50: every job completed. Waits
    0, 0, 20 (C waited for a worker); queue area 20 (C, 0-20) / 60; max queue 1; busy
    30 + 20 + 30 over 2 x 60; drained at 50; nothing overflowed."""
    night = Night.from_arrays([0, 0, 0], [25.0, 25.0, 25.0], job_id=["A", "B", "C"],
                              batch_end="02:00")
    nt = night.at_now(55.0, ["completed"] * 3, [0, 0, 20], [30, 20, 50])
    res = engine.simulate(nt, 2, replications=50, runtime_cv=0.5, arrival_jitter=30)
    expect = {"average_wait_minutes": 20 / 3, "p95_wait_minutes": 20.0,
              "average_queue_length": 20 / 60, "max_queue_length": 1.0,
              "worker_utilization": 80 / 120, "overflow_jobs": 0.0, "overflow_risk": 0.0,
              "queue_drained_minute": 50.0}
    for k, v in expect.items():
        col = res.samples[engine.METRICS.index(k)]
        assert np.all(col == col[0]) and col[0] == pytest.approx(v, rel=1e-15), k


def test_hand_worked_reforecast_with_dependencies_and_the_window_rule():
    """One worker, cv 0, now = 40. A (window 0) completed 0-15; B depends on A, running since
    15 (estimate 20: 25 minutes elapsed, past it: finishes at now = 40); C (window 10, queued)
    arrives at its window 10 and waits for the worker until now... until B's finish at 40;
    D (window 60, queued, jitter 20) arrives at 60 + its jitter draw; E depends on B (window
    0): ready at 40 behind C, starts at 40 + 5 (C's estimate)."""
    night = Night.from_arrays([0, 0, 10, 60, 0], [15, 20, 5, 5, 5], [5, 4, 3, 2, 1],
                              job_id=["A", "B", "C", "D", "E"],
                              depends_on=[None, ["A"], None, None, ["B"]])
    nt = night.at_now(40.0, ["completed", "running", "queued", "queued", "queued"],
                      [0, 15, None, None, None], [15, None, None, None, None])
    tr = engine.trace(nt, 1, 0, Perturbation(0.0, 20.0), 0)
    raw = engine.trace(night, 1, 0, Perturbation(0.0, 20.0), 0)
    assert tr["arrival_minute"].tolist()[:3] == [0.0, 0.0, 10.0]
    assert tr["arrival_minute"][3] == raw["arrival_minute"][3] > 60.0  # jitter as usual
    assert tr["ready_minute"].tolist()[:3] == [0.0, 15.0, 10.0]
    assert tr["start_minute"].tolist()[:3] == [0.0, 15.0, 40.0]
    assert tr["finish_minute"].tolist()[:3] == [15.0, 40.0, 45.0]
    assert tr["ready_minute"][4] == 40.0 and tr["start_minute"][4] == 45.0
    assert tr["wait_minutes"][2] == 30.0  # C's wait counts from its window, before now too
    assert tr["dependency_delay_minutes"][1] == 15.0  # B was ready when A finished
    assert tr["ready_set_by"][1] == 0 and tr["ready_set_by"][4] == 1


def test_facts_win_over_the_pool_and_predecessors():
    """Operators started three jobs on a two-worker pool, one of them (C) before its
    predecessor A finished: all three run (busy 3 > 2), C's ready time is its start, and the
    queued job D waits until two of them have finished and now has passed."""
    night = Night.from_arrays([0, 0, 0, 0], [30, 30, 30, 10], job_id=["A", "B", "C", "D"],
                              depends_on=[None, None, ["A"], None])
    nt = night.at_now(5.0, ["running", "running", "running", "queued"], [0, 0, 5, None])
    tr = engine.trace(nt, 2, 0, Perturbation(0.0, 0.0), 0)
    assert tr["start_minute"].tolist() == [0.0, 0.0, 5.0, 30.0]
    assert tr["ready_minute"][2] == 5.0 and tr["wait_minutes"][2] == 0.0
    assert tr["workers_used"].tolist() == [1, 1, 1, 1]
    assert tr["metrics"]["queue_drained_minute"] == 40.0


# ---------------------------------------------------------------- the loop against the twin
def random_snapshot(rng, d: DagNight, workers):
    """Status and facts from a zero-noise twin replay with runtimes off by up to 2x, cut at a
    random now; sometimes a job is started by hand (queued -> running, started at a random
    time before now, whatever its predecessors and the pool)."""
    actual = [r * float(rng.uniform(0.5, 2.0)) for r in d.runtime]
    tw = run_naive(DagNight(**{**d.__dict__, "runtime": actual}), workers)
    drain = max(tw["finish_minute"]) if d.n else 0.0
    now = float(rng.choice([0.0, rng.uniform(0, drain), drain + 1.0, rng.integers(0, 60)]))
    status, started, finished = [], [], []
    for s, f in zip(tw["start_minute"], tw["finish_minute"]):
        if f <= now:
            status.append("completed"), started.append(s), finished.append(f)
        elif s <= now:
            status.append("running"), started.append(s), finished.append(None)
        else:
            status.append("queued"), started.append(None), finished.append(None)
    for j in range(d.n):
        if status[j] == "queued" and rng.random() < 0.1:
            status[j], started[j] = "running", float(rng.uniform(0, now))
        elif status[j] == "completed" and rng.random() < 0.1:
            started[j] = None  # a completed job without its start
    return now, status, started, finished


def compare_now_with_twin(d: DagNight, workers, policy, now, status, started, finished, *,
                          rep=0, cv=0.0, jitter=0.0, seed=0, backfill_depth=64):
    """Kernel trace of the re-forecast night vs the twin fed with the raw draws of the plain
    night (arrivals and runtimes of queued jobs) and the kernel's drawn totals of running
    jobs."""
    from general_helpers import kernel_trace, to_night

    night = to_night(d)
    nt = night.at_now(now, status, started, finished)
    tr = kernel_trace(nt, workers, policy, rep, cv, jitter, seed, backfill_depth)
    a_raw, r_raw = engine.draw_replications(engine.prepare([night], Perturbation(cv, jitter),
                                                           seed), 0, 1, rep)
    queued = np.array([s == "queued" for s in status], dtype=bool)
    # a re-forecast does not move the draws of queued jobs
    np.testing.assert_array_equal(tr["runtime_minutes"][queued], r_raw[0][queued])
    later = queued & (np.array(d.arrival) >= now)
    np.testing.assert_array_equal(tr["arrival_minute"][later], a_raw[0][later])
    runtime = np.where(queued, r_raw[0], tr["runtime_minutes"]).tolist()
    est = d.estimated_runtime if d.estimated_runtime is not None else d.runtime
    tw = run_naive(DagNight(**{**d.__dict__, "estimated_runtime": list(est)}), workers, policy,
                   arrival=a_raw[0].tolist(), runtime=runtime, backfill_depth=backfill_depth,
                   now=now, status=status, started=started, finished=finished,
                   window=list(d.arrival))
    ctx = f"policy={policy} workers={workers} now={now} rep={rep} status={status}"
    for key in ("start_minute", "ready_minute", "finish_minute", "wait_minutes",
                "dependency_delay_minutes"):
        assert np.array_equal(tr[key], np.array(tw[key], dtype=float)), (
            f"{key}: {ctx}\nkernel {tr[key]}\ntwin   {np.array(tw[key])}")
    assert tr["workers_used"].tolist() == tw["workers_used"], ctx
    assert tr["late"].tolist() == tw["late"] and tr["late_jobs"] == tw["late_jobs"], ctx
    assert tr["on_chain"].tolist() == tw["on_chain"], (
        f"chain: {ctx}\nkernel {np.flatnonzero(tr['on_chain'])}\ntwin {tw['chain']}")
    km, tm = tr["metrics"], tw["metrics"]
    assert set(km) == set(METRICS)
    for m in EXACT:
        assert km[m] == tm[m], f"{m}: kernel {km[m]!r} twin {tm[m]!r} {ctx}"
    for m in SUMMED:
        assert math.isclose(km[m], tm[m], rel_tol=REL_TOL, abs_tol=0.0), (m, ctx)
    tol_above, tol_util = area_tolerance(d, workers)
    assert math.isclose(km["worker_utilization"], tm["worker_utilization"], rel_tol=REL_TOL,
                        abs_tol=tol_util), ctx
    assert math.isclose(tr["worker_minutes_above_capacity"], tw["worker_minutes_above_capacity"],
                        rel_tol=REL_TOL, abs_tol=tol_above), ctx


def test_kernel_matches_twin_on_random_reforecasts():
    """250 random nights (dependencies, slots, locks, exclusive jobs, deadlines; a constant
    pool or capacity steps) cut at a random now, x 4 policies x 2 replications (zero noise;
    cv 0.5 with 15 minutes of jitter)."""
    rng = np.random.default_rng(1501)
    running = completed = 0
    for i in range(250):
        n = int(rng.integers(1, 16))
        max_slots = int(rng.integers(1, 3))
        d = canonical(random_dag_night(rng, n, k=float(rng.choice([0.0, 1.0, 2.0])),
                                       max_slots=max_slots, n_locks=int(rng.integers(0, 3)),
                                       exclusive_share=float(rng.choice([0.0, 0.15])),
                                       deadline_share=0.3))
        base = int(rng.integers(max_slots, max_slots + 3))
        now, status, started, finished = random_snapshot(rng, d, base)
        running += status.count("running")
        completed += status.count("completed")
        workers = base if rng.random() < 0.6 else random_capacity(
            rng, base, max_slots, changes=int(rng.integers(1, 3)))
        for policy in POLICIES:
            for rep, (cv, jitter) in enumerate([(0.0, 0.0), (0.5, 15.0)]):
                compare_now_with_twin(d, workers, policy, now, status, started, finished,
                                      rep=rep, cv=cv, jitter=jitter, seed=i)
    assert running > 100 and completed > 200  # the snapshots really hold facts


# ---------------------------------------------------------------- determinism
def test_reforecasts_are_bit_identical_for_threads_and_blocks(restore_threads):
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:  # pragma: no cover - the CI machine has 2 cores
        pytest.fail("needs numba with at least 2 threads to compare")
    night = synthetic_dag_night(120, seed=6, deadline_share=0.2, spread_minutes=120)
    rng = np.random.default_rng(12)
    d = DagNight(arrival=night.arrival_minute.tolist(), runtime=night.runtime_minutes.tolist(),
                 priority=night.priority.tolist(), exclusive=night.exclusive.tolist(),
                 job_id=list(night.job_id), horizon=night.horizon_minutes,
                 depends_on=[night.pred_idx[night.pred_ptr[j]:night.pred_ptr[j + 1]].tolist()
                             for j in range(night.n_jobs)])
    for _ in range(50):  # a snapshot holding all three statuses
        now, status, started, finished = random_snapshot(rng, d, 6)
        if status.count("running") and status.count("completed") and status.count("queued"):
            break
    assert status.count("running") and status.count("completed") and status.count("queued")
    nt = night.at_now(now, status, started, finished)
    batch = engine.prepare([nt], Perturbation(0.3, 20.0), 4)

    def run(block):
        return engine.replicate_detailed(batch, [0] * 2, [6, 6], 1500, block=block,
                                         policy=["tutorial", "backfill"], per_job=True)

    runs = {}
    for threads in (1, 2):
        restore_threads(threads)
        runs[threads] = run(64)
    runs["b7"] = run(7)
    for other in (runs[2], runs["b7"]):
        assert np.array_equal(runs[1].samples, other.samples)
        for name in ("late", "on_chain", "sum_wait", "sum_dep", "fmin", "fmax", "hist"):
            assert np.array_equal(getattr(runs[1].per_job, name), getattr(other.per_job, name))


# ---------------------------------------------------------------- errors
def test_every_inconsistency_is_one_error_naming_the_job_and_field():
    night = Night.from_arrays([0, 0], [10.0, 10.0], job_id=["A", "B"])
    cases = [
        (dict(status=["done", "queued"]),
         "job_id A: field 'status' must be queued, running or completed with a re-forecast "
         "time (now), got 'done'"),
        (dict(status=["running", "queued"]),
         "job_id A: field 'started_at' is missing; a running job needs its start"),
        (dict(status=["queued", "completed"], started_at=[None, 5.0]),
         "job_id B: field 'finished_at' is missing; a completed job needs its finish"),
        (dict(status=["completed", "queued"], started_at=[5.0, None], finished_at=[4.0, None]),
         "job_id A: field 'finished_at' (4) is before its started_at (5)"),
        (dict(status=["running", "queued"], started_at=[25.0, None]),
         "job_id A: field 'started_at' (25) is after now (20): a running job started before "
         "now"),
        (dict(status=["completed", "queued"], started_at=[5.0, None], finished_at=[21.0, None]),
         "job_id A: field 'finished_at' (21) is after now (20): a completed job finished "
         "before now"),
        (dict(status=["running", "queued"], started_at=[-3.0, None]),
         "job_id A: field 'started_at' must be a time at or after the batch start (minutes 0 "
         "to 1,000,000,000), got -3.0"),
        (dict(status=["running", "queued"], started_at=["01:30", None]),
         "job_id A: field 'started_at' must be a time at or after the batch start (minutes 0 "
         "to 1,000,000,000), got '01:30'"),
        (dict(status=["queued"]), "field 'status' has 1 values for 2 jobs"),
    ]
    for kw, message in cases:
        with pytest.raises(DataError) as err:
            night.at_now(20.0, **kw)
        assert str(err.value) == message
    with pytest.raises(DataError) as err:
        night.at_now(20.0, ["queued", "running"], rows=[7, 3])
    assert str(err.value) == ("row 3 (job_id B): field 'started_at' is missing; a running job "
                              "needs its start")
    for bad in (-1.0, math.nan, math.inf, "02:40", True):
        with pytest.raises(ScenarioError, match="now must be a number of minutes after the "
                                                "batch start"):
            night.at_now(bad)
    # a queued job's times are not used (a previous attempt's, say): no error
    assert night.at_now(20.0, ["queued", "queued"], [50.0, None], [40.0, None]).has_now


def test_a_reforecast_needs_no_other_input_and_without_now_status_is_ignored(night_13):
    """Status columns on a night without ``now`` change nothing (informational, as today)."""
    import dataclasses

    st = np.full(night_13.n_jobs, 1, np.int8)
    informational = dataclasses.replace(night_13, status=st)
    assert not informational.needs_general_loop
    a = engine.simulate(informational, 3, replications=500)
    b = engine.simulate(night_13, 3, replications=500)
    assert np.array_equal(a.samples, b.samples)

