"""Throughput of the general event loop (issues 12 and 13): the synthetic 2,000-job DAG night
with and without per-job statistics, and every policy on the 10-job sample night and on the
2,000-job synthetic night, at 2 numba threads. The DAG night with per-job statistics also runs
with each runtime draw of issue 14 (night-wide factor, empirical runs, reruns) and re-forecast
from now (issue 15), to show what each adds (``test_dag_night_features``).

Targets of the issues on the 2-core machine (recorded in extra_info and the summary, never
asserted): DAG night >= 10,000,000 jobs/s with 2 threads, per-job statistics adding at most
30 % to its run time; every policy >= 1,500,000 replications/s on the sample night; on the
2,000-job synthetic night >= 15,000,000 jobs/s for tutorial, priority and fifo and
>= 8,000,000 for backfill. "tutorial" there is today's kernel (a night without optional
columns on the tutorial policy takes it); "tutorial (general loop)" forces the general loop
with a constant pool given as a capacity schedule, to show its own speed.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SEED, night_of, record, workers_of

FEATURE_TARGETS = {
    "dag_jobs_per_second_2_threads": 10_000_000,
    "per_job_overhead": 0.30,
    "policy_replications_per_second_10_jobs": 1_500_000,
    "policy_jobs_per_second_2000_jobs": 15_000_000,
    "backfill_jobs_per_second_2000_jobs": 8_000_000,
}
ROUNDS = 5
POLICIES = ("tutorial", "priority", "fifo", "backfill")
_DAG: dict = {}


def dag_night():
    if "night" not in _DAG:
        from mcqueue.engine.synthetic import synthetic_dag_night

        _DAG["night"] = synthetic_dag_night(2000, seed=SEED, deadline_share=0.1)
    return _DAG["night"]


def _check(out, night, reps):
    samples = out.samples if hasattr(out, "samples") else out
    assert samples.shape[2] == reps and np.isfinite(samples).all()
    u = samples[:, 4]
    assert ((u >= 0) & (u <= 1)).all()
    assert (samples[:, 7] > 0).all() if night.n_jobs else True


@pytest.mark.parametrize("threads", [2], indirect=True, ids=lambda k: f"{k}thr")
@pytest.mark.parametrize("per_job", [False, True], ids=["plain", "per_job"])
@pytest.mark.parametrize("reps", [1_000, 10_000], ids=lambda r: f"{r}reps")
def test_dag_night(benchmark, threads, per_job, reps, perturbation):
    """1,000 replications a round (2,000,000 simulated jobs, as bench_engine.py does for the
    2,000-job night) and 10,000 (the default run): a per-job run has fixed costs per call
    (zeroing the 2,000 x 8,232 histogram counts, first touch of its buffers) that a longer run
    spreads out."""
    from mcqueue.engine import simulate as engine

    night = dag_night()
    batch = engine.prepare([night], perturbation, SEED)
    engine.replicate_detailed(batch, [0], [16], 8, per_job=per_job)  # compile or load
    group = f"2000-job DAG night (about 2 predecessors a job, 16 workers), {reps:,} reps"
    benchmark.group = group
    out = benchmark.pedantic(engine.replicate_detailed, args=(batch, [0], [16], reps),
                             kwargs={"per_job": per_job}, rounds=ROUNDS, warmup_rounds=1,
                             iterations=1)
    _check(out, night, reps)
    assert (out.per_job is not None) == per_job
    row = record(benchmark, group=group,
                 implementation=f"mcqueue {threads} thr" + (" per-job" if per_job else ""),
                 replications=reps, jobs=night.n_jobs, threads=threads)
    row["target_ratio"] = row["jobs_per_second"] / FEATURE_TARGETS["dag_jobs_per_second_2_threads"]
    _DAG[(reps, per_job)] = row["median_seconds"]
    if (reps, True) in _DAG and (reps, False) in _DAG:
        row["per_job_overhead"] = _DAG[(reps, True)] / _DAG[(reps, False)] - 1.0
    benchmark.extra_info.update(row)


CASES = [(p, None) for p in POLICIES] + [("tutorial", "general")]


@pytest.mark.parametrize("threads", [2], indirect=True, ids=lambda k: f"{k}thr")
@pytest.mark.parametrize("size", [10, 2000], ids=lambda n: f"{n}jobs")
@pytest.mark.parametrize("policy, route", CASES,
                         ids=[p if r is None else f"{p}-{r}" for p, r in CASES])
def test_policy(benchmark, threads, size, policy, route, perturbation):
    from mcqueue.engine import simulate as engine

    night = night_of(size)
    workers = workers_of(size)
    reps = {10: 200_000, 2000: 1_000}[size]
    batch = engine.prepare([night], perturbation, SEED)
    kw = {"policy": policy}
    if route == "general":
        kw["capacity"] = [[(0.0, workers)]]  # a constant pool, but through the general loop
    engine.replicate(batch, [0], [workers], 8, **kw)
    group = f"policies: {night.n_jobs} jobs ({night.batch_date}, {workers} workers)"
    benchmark.group = group
    out = benchmark.pedantic(engine.replicate, args=(batch, [0], [workers], reps), kwargs=kw,
                             rounds=ROUNDS, warmup_rounds=1, iterations=1)
    _check(out, night, reps)
    name = policy + (" (general loop)" if route == "general" else "")
    row = record(benchmark, group=group, implementation=f"mcqueue {name} {threads} thr",
                 replications=reps, jobs=night.n_jobs, threads=threads)
    if size == 10:
        row["target_ratio"] = (row["replications_per_second"]
                               / FEATURE_TARGETS["policy_replications_per_second_10_jobs"])
    else:
        key = ("backfill_jobs_per_second_2000_jobs" if policy == "backfill"
               else "policy_jobs_per_second_2000_jobs")
        row["target_ratio"] = row["jobs_per_second"] / FEATURE_TARGETS[key]
    benchmark.extra_info.update(row)


# ---------------------------------------------------------------- issues 14 and 15
FEATURES = ("none", "night_cv", "empirical", "reruns", "all_draws", "now")


def feature_night(feature):
    """The DAG night with one feature: a night cv of 0.1; 25 recent runs a job (estimate x a
    lognormal factor, cv 0.25); a 3 % rerun share a job, 1 rerun at most; all three; or a
    snapshot at minute 120 of the zero-noise schedule on 16 workers (completed, running and
    queued jobs)."""
    key = ("feature", feature)
    if key in _DAG:
        return _DAG[key]
    night = dag_night()
    n = night.n_jobs
    rng = np.random.default_rng(SEED)
    ptr = np.arange(n + 1, dtype=np.int64) * 25
    runs = (np.repeat(night.runtime_minutes, 25)
            * np.exp(rng.normal(-0.5 * np.log1p(0.0625), np.sqrt(np.log1p(0.0625)), n * 25)))
    if feature == "none":
        out = night
    elif feature == "night_cv":
        out = night.with_runtime_draws(night_cv=0.1)
    elif feature == "empirical":
        out = night.with_runtime_draws(recent=(ptr, runs))
    elif feature == "reruns":
        out = night.with_runtime_draws(rerun_share=np.full(n, 0.03), retries=1)
    elif feature == "all_draws":
        out = night.with_runtime_draws(recent=(ptr, runs), rerun_share=np.full(n, 0.03),
                                       retries=1, night_cv=0.1)
    else:
        from mcqueue.engine import simulate as engine
        from mcqueue.engine.perturbation import Perturbation

        tr = engine.trace(night, 16, 0, Perturbation(0.0, 0.0), SEED)
        now = 120.0
        start, finish = tr["start_minute"], tr["finish_minute"]
        status = np.where(finish <= now, "completed", np.where(start <= now, "running",
                                                                "queued"))
        out = night.at_now(now, status.tolist(), np.where(start <= now, start, np.nan),
                           np.where(finish <= now, finish, np.nan))
    _DAG[key] = out
    return out


@pytest.mark.parametrize("threads", [2], indirect=True, ids=lambda k: f"{k}thr")
@pytest.mark.parametrize("feature", FEATURES)
def test_dag_night_features(benchmark, threads, feature, perturbation):
    """The 2,000-job DAG night with per-job statistics, 1,000 replications a round, with one
    feature of issues 14/15 (``none``: the same run without any, for the ratio)."""
    from mcqueue.engine import simulate as engine

    night = feature_night(feature)
    batch = engine.prepare([night], perturbation, SEED)
    engine.replicate_detailed(batch, [0], [16], 8, per_job=True)  # compile or load
    group = "2000-job DAG night, per-job statistics, 1,000 reps: runtime draws and now"
    benchmark.group = group
    out = benchmark.pedantic(engine.replicate_detailed, args=(batch, [0], [16], 1_000),
                             kwargs={"per_job": True}, rounds=ROUNDS, warmup_rounds=1,
                             iterations=1)
    _check(out, night, 1_000)
    row = record(benchmark, group=group, implementation=f"mcqueue {feature} {threads} thr",
                 replications=1_000, jobs=night.n_jobs, threads=threads)
    _DAG[("feature_seconds", feature)] = row["median_seconds"]
    if ("feature_seconds", "none") in _DAG:
        row["ratio_to_none"] = row["median_seconds"] / _DAG[("feature_seconds", "none")]
    benchmark.extra_info.update(row)
