"""The general event loop against today's kernel, and its determinism.

- On nights without any optional column, under the tutorial policy with a constant pool, the
  general loop (used for per-job statistics and detailed traces) gives today's kernel's results
  bit for bit, so asking for per-job statistics never moves a metric.
- Per-replication results and per-job statistics are bit-identical for 1 and 2 threads, any
  block size and any split of the replications (rep_start).
- Memory of per-job statistics does not grow with replications (slow: a subprocess measures
  2,000 jobs x 100,000 replications).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from mcqueue.engine import simulate as engine
from mcqueue.engine.night import Night
from mcqueue.engine.perturbation import Perturbation
from mcqueue.engine.synthetic import synthetic_dag_night, synthetic_night

NOISE = dict(runtime_cv=0.4, arrival_jitter=20.0)
POLICIES = ("tutorial", "priority", "fifo", "backfill")


def _random_plain_night(rng):
    n = int(rng.integers(1, 40))
    if rng.random() < 0.5:
        arrival = rng.integers(0, 60, n).astype(float)
        runtime = rng.integers(1, 60, n).astype(float)
    else:
        arrival = rng.uniform(0, 120, n)
        runtime = rng.uniform(0.05, 90, n)
    return Night.from_arrays(arrival, runtime, rng.integers(0, 4, n), rng.random(n) < 0.2,
                             batch_end=str(rng.choice(["02:00", "03:00", "05:00"])))


def test_general_loop_equals_todays_kernel_on_feature_free_nights():
    """200 random feature-free nights, 1-5 workers, noisy: the detailed trace (general loop)
    and today's trace give the same start times and metrics, and a per-job run gives the same
    per-replication metrics as a plain run, bit for bit."""
    rng = np.random.default_rng(1401)
    for i in range(200):
        night = _random_plain_night(rng)
        workers = int(rng.integers(1, 6))
        pert = Perturbation(float(rng.choice([0.0, 0.5])), float(rng.choice([0.0, 15.0])))
        old = engine.trace(night, workers, i, pert, seed=i)
        new = engine.trace(night, workers, i, pert, seed=i, detail=True)
        assert new["metrics"] == old["metrics"], i
        np.testing.assert_array_equal(new["start_minute"], old["start_minute"])
        np.testing.assert_array_equal(new["runtime_minutes"], old["runtime_minutes"])
        if i % 10 == 0:
            batch = engine.prepare([night], pert, seed=i)
            plain = engine.replicate(batch, [0], [workers], 500)
            detailed = engine.replicate_detailed(batch, [0], [workers], 500, per_job=True)
            assert np.array_equal(plain, detailed.samples), i
            assert detailed.general.all() and detailed.per_job.replications == 500


def test_per_job_statistics_do_not_move_the_metrics_of_the_sample(night_13, night_14):
    for night, w in ((night_13, 3), (night_14, 2)):
        a = engine.simulate(night, w, replications=3000, seed=4)
        b = engine.simulate(night, w, replications=3000, seed=4, per_job=True)
        assert np.array_equal(a.samples, b.samples)
        assert a.monte_carlo == b.monte_carlo and a.deterministic == b.deterministic


@pytest.fixture(scope="module")
def dag_night():
    return synthetic_dag_night(120, seed=2, exclusive_share=0.05, deadline_share=0.2,
                               spread_minutes=120)


def _run(night, threads=None, block=None, reps=3001, **kw):
    batch = engine.prepare([night], Perturbation(**NOISE), seed=11)
    return engine.replicate_detailed(batch, [0] * 4, [6] * 4, reps, block=block,
                                     policy=list(POLICIES), capacity=[None, [(60, 4)], None,
                                                                      [(30, 8), (90, 5)]],
                                     per_job=True, **kw)


def _same(a, b):
    assert np.array_equal(a.samples, b.samples)
    assert np.array_equal(a.extra, b.extra)
    pa, pb = a.per_job, b.per_job
    for name in ("late", "on_chain", "sum_wait", "sum_dep", "fmin", "fmax", "hist"):
        assert np.array_equal(getattr(pa, name), getattr(pb, name)), name
    assert pa.replications == pb.replications


def test_one_and_two_threads_are_bit_identical_with_per_job_statistics(dag_night,
                                                                      restore_threads):
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:  # pragma: no cover - the CI machine has 2 cores
        pytest.fail("needs numba with at least 2 threads to compare")
    runs = {}
    for threads in (1, 2):
        restore_threads(threads)
        runs[threads] = _run(dag_night, block=64)
    _same(runs[1], runs[2])
    assert np.unique(runs[1].per_job.sum_wait).size > 50  # real, varied statistics


def test_block_size_and_chunking_do_not_change_per_job_statistics(dag_night, monkeypatch):
    a = _run(dag_night, block=7)
    b = _run(dag_night, block=1000)
    _same(a, b)
    # per-job calls of 97 replications instead of the default: the same totals
    monkeypatch.setattr(engine, "PER_JOB_BUFFER", 97 * 120 * 4)
    _same(a, _run(dag_night))


def test_a_run_split_with_rep_start_extends_exactly(dag_night):
    batch = engine.prepare([dag_night], Perturbation(**NOISE), seed=11)
    kw = dict(policy="backfill", capacity=[[(45, 3)]])
    whole = engine.replicate_detailed(batch, [0], [6], 900, per_job=True, **kw)
    first = engine.replicate_detailed(batch, [0], [6], 250, per_job=True, **kw)
    rest = engine.replicate_detailed(batch, [0], [6], 650, rep_start=250, block=5,
                                     per_job=first.per_job, **kw)
    assert rest.per_job is first.per_job and first.per_job.replications == 900
    assert np.array_equal(whole.samples, np.concatenate([first.samples, rest.samples], axis=2))
    for name in ("late", "on_chain", "sum_wait", "sum_dep", "fmin", "fmax", "hist"):
        assert np.array_equal(getattr(whole.per_job, name), getattr(first.per_job, name))


def test_histogram_bins_cover_every_finish_time():
    """The bin of a value lies between its edges (kernel.finish_bin vs hist_edges), over the
    fine linear range, the 2**-9 relative range and the coarse tail."""
    from mcqueue.engine import kernel as K

    edges = K.hist_edges()
    values = np.concatenate([np.linspace(0, 70, 2001), np.geomspace(60, 2e6, 4000),
                             [1048575.999, 1048576.0, 3e6, 1e9, 1e18, 1e300]])
    for lo in range(0, values.size, 500):
        v = values[lo:lo + 500]
        m = v.size
        hist = np.zeros((m, K.HIST_BINS), np.uint32)
        K.fold_per_job(v[None, :].copy(), np.zeros((1, m)), np.zeros((1, m)),
                       np.zeros((1, m), np.uint8), np.full(m, np.inf), 1,
                       np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m), np.zeros(m),
                       np.full(m, np.inf), np.full(m, -np.inf), hist)
        assert np.array_equal(hist.sum(axis=1), np.ones(m))
        b = hist.argmax(axis=1)
        last = b == K.HIST_BINS - 1
        assert np.all((edges[b] <= v) & ((v < edges[b + 1]) | last))
        fine = v < 64
        assert np.all(edges[b + 1][fine] - edges[b][fine] == 1 / 16)
        rel = (v >= 64) & (v < 2**20)
        assert np.all((edges[b + 1][rel] - edges[b][rel]) / edges[b][rel] <= 2.0 ** -9)


MEMORY_SCRIPT = """
import json, resource, sys
from mcqueue.engine import simulate as engine
from mcqueue.engine.perturbation import Perturbation
from mcqueue.engine.synthetic import synthetic_dag_night
night = synthetic_dag_night(2000, seed=0, deadline_share=0.1)
batch = engine.prepare([night], Perturbation(0.25, 15.0), 0)
run = engine.replicate_detailed(batch, [0], [16], 100_000, per_job=sys.argv[1] == "1")
print(json.dumps({"maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "rows": run.per_job.rows if run.per_job else 0,
                  "reps": run.samples.shape[2]}))
"""


@pytest.mark.slow
def test_per_job_statistics_of_2000_jobs_and_100000_replications_stay_under_300_mb():
    """Peak resident memory of the same 2,000-job DAG night run for 100,000 replications with
    and without per-job statistics, each in a fresh process: the difference stays under
    300 MB (the buffers are bounded per call, the histogram is jobs x 8,232 x 4 bytes)."""
    out = {}
    for flag in ("0", "1"):
        proc = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, flag], capture_output=True,
                              text=True, timeout=3000, check=True)
        out[flag] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["1"]["rows"] == 2000 and out["1"]["reps"] == out["0"]["reps"] == 100_000
    extra_mib = (out["1"]["maxrss_kib"] - out["0"]["maxrss_kib"]) / 1024
    assert extra_mib < 300, out


def test_synthetic_dag_night_has_about_two_predecessors_a_job():
    night = synthetic_dag_night(2000, seed=0)
    assert night.n_jobs == 2000 and night.has_dependencies
    assert 1.95 < night.pred_idx.shape[0] / night.n_jobs <= 2.0
    # every predecessor comes earlier in job_id order (a topological order), within the window
    for j in range(night.n_jobs):
        preds = night.pred_idx[night.pred_ptr[j]:night.pred_ptr[j + 1]]
        assert np.all(preds < j) and np.all(preds >= j - 64)
    same = synthetic_night(2000, seed=0)
    np.testing.assert_array_equal(night.runtime_minutes, same.runtime_minutes)


def test_an_empty_night_gives_zeros_under_every_policy():
    night = Night(batch_date="empty", job_id=(), workload_class=(),
                  arrival_minute=np.empty(0), runtime_minutes=np.empty(0),
                  priority=np.empty(0, np.int64), exclusive=np.empty(0, bool))
    for policy in POLICIES:
        tr = engine.trace(night, 2, policy=policy, capacity=[(30, 0), (60, 1)], detail=True)
        assert tr["metrics"] == dict.fromkeys(engine.METRICS, 0.0)
        assert tr["late_jobs"] == 0 and tr["worker_minutes_above_capacity"] == 0.0
        run = engine.replicate_detailed(engine.prepare([night]), [0], [2], 5, policy=policy,
                                        per_job=True)
        assert not run.samples.any() and run.per_job.rows == 0


COMPILES_SCRIPT = """
import json
from mcqueue.engine import kernel as K, simulate as engine
from mcqueue.engine.synthetic import synthetic_dag_night
batch = engine.prepare([synthetic_dag_night(50, seed=1)])
engine.replicate(batch, [0], [4], 10, policy="fifo")
print(json.dumps({name: len(getattr(K, name).signatures) for name in
                  ("batch_range", "general_tutorial", "general_strict", "general_backfill",
                   "fold_per_job_range")}))
"""


def test_a_run_loads_only_the_kernel_of_its_policy():
    """A fifo run on a night with dependencies loads (or compiles) the strict loop only: not
    today's kernel, not the other policies' loops, not the per-job fold."""
    proc = subprocess.run([sys.executable, "-c", COMPILES_SCRIPT], capture_output=True,
                          text=True, timeout=900, check=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "batch_range": 0, "general_tutorial": 0, "general_strict": 1, "general_backfill": 0,
        "fold_per_job_range": 0}
