"""The engine's own thread pool (``kernel.run_tasks``, issue 17): results do not depend on it.

Calls below ``SMALL_WORK`` job-replications run on the calling thread, so the thread-count tests
elsewhere may never reach the pool with their small nights; here ``SMALL_WORK`` is 0, every call
with more than one task is cut into ranges on 2 threads, and the metrics (today's kernel, every
policy of the general loop, per-job statistics) must equal a 1-thread run bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from mcqueue.engine import kernel as K
from mcqueue.engine import simulate as engine
from mcqueue.engine.perturbation import Perturbation
from mcqueue.engine.synthetic import synthetic_dag_night, synthetic_night

NOISE = Perturbation(runtime_cv=0.3, arrival_jitter=10.0)


@pytest.fixture
def pooled(monkeypatch, restore_threads):
    if numba.config.NUMBA_NUM_THREADS < 2:  # pragma: no cover - the CI machine has 2 cores
        pytest.fail("needs numba with at least 2 threads")
    monkeypatch.setattr(K, "SMALL_WORK", 0)
    return restore_threads


def test_todays_kernel_on_the_pool_equals_one_thread(pooled):
    nights = [synthetic_night(30, seed=1), synthetic_night(7, seed=2)]
    batch = engine.prepare(nights, NOISE, seed=4)
    runs = {}
    for threads in (1, 2):
        pooled(threads)
        runs[threads] = engine.replicate(batch, [0, 1, 0], [3, 2, 5], 3001, block=37)
    assert np.array_equal(runs[1], runs[2])
    assert np.unique(runs[1][:, 0, :]).size > 1000  # real, varied metrics


def test_general_loop_and_per_job_on_the_pool_equal_one_thread(pooled):
    night = synthetic_dag_night(60, seed=3, exclusive_share=0.05, deadline_share=0.3)
    batch = engine.prepare([night], NOISE, seed=5)
    runs = {}
    for threads in (1, 2):
        pooled(threads)
        runs[threads] = engine.replicate_detailed(
            batch, [0] * 4, [5] * 4, 1501, block=29,
            policy=["tutorial", "priority", "fifo", "backfill"],
            capacity=[None, [(40.0, 3)], None, None], per_job=True)
    a, b = runs[1], runs[2]
    assert np.array_equal(a.samples, b.samples) and np.array_equal(a.extra, b.extra)
    for name in ("late", "on_chain", "sum_wait", "sum_dep", "fmin", "fmax", "hist"):
        assert np.array_equal(getattr(a.per_job, name), getattr(b.per_job, name)), name


def test_an_error_in_a_range_is_raised_after_every_range_stopped(pooled):
    """A failing range surfaces as the call's exception, and only once every other range has
    finished (they write into the caller's arrays)."""
    import time

    pooled(2)
    ended = []

    def fn(x, t0, t1):
        if t0 == 0:
            raise ValueError("range 0 failed")
        time.sleep(0.02)
        ended.append((t0, t1, time.perf_counter()))

    with pytest.raises(ValueError, match="range 0 failed"):
        K.run_tasks(fn, (None,), 16, 1)
    raised = time.perf_counter()
    assert len(ended) == 7  # 8 ranges of 2 tasks on 2 threads, range 0 failed
    assert max(t for _, _, t in ended) <= raised
    assert sorted(t1 for _, t1, _ in ended)[-1] == 16


def test_calls_from_several_threads_at_once_share_the_pool(pooled):
    """Four caller threads (a notebook, Dask's local threads) at once: each gets its own
    results, equal to a run alone."""
    from concurrent.futures import ThreadPoolExecutor

    pooled(2)
    batch = engine.prepare([synthetic_night(25, seed=7)], NOISE, seed=8)
    alone = [engine.replicate(batch, [0], [w], 2001, rep_start=100 * w, block=50)
             for w in (1, 2, 3, 4)]
    with ThreadPoolExecutor(4) as callers:
        together = list(callers.map(
            lambda w: engine.replicate(batch, [0], [w], 2001, rep_start=100 * w, block=50),
            (1, 2, 3, 4)))
    for a, b in zip(alone, together):
        assert np.array_equal(a, b)


FORK_SCRIPT = """
import multiprocessing as mp, sys
import numpy as np
from mcqueue.engine import kernel as K, simulate as engine
from mcqueue.engine.synthetic import synthetic_night
K.SMALL_WORK = 0
batch = engine.prepare([synthetic_night(25, seed=7)], seed=8)
parent = engine.replicate(batch, [0], [3], 3001, block=50)  # the parent's pool has run
def child(q):
    q.put(engine.replicate(batch, [0], [3], 3001, block=50).tolist())
ctx = mp.get_context("fork")
q = ctx.Queue()
p = ctx.Process(target=child, args=(q,))
p.start()
got = np.array(q.get(timeout=120))
p.join(timeout=60)
print("same" if np.array_equal(got, parent) and p.exitcode == 0 else "different")
"""


def test_a_forked_child_runs_the_pool_afresh():
    """After fork the child has the parent's pool objects but not their threads; the engine
    forgets them in the child (os.register_at_fork), so the child's run completes (it used to
    wait forever) with the parent's numbers."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True,
                          timeout=600, env={**__import__("os").environ,
                                            "NUMBA_NUM_THREADS": "2"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "same"


def test_the_per_job_fold_on_the_pool_equals_numpy(pooled):
    """``fold_per_job`` cut into column blocks on two threads gives, column by column, what
    numpy gives: late and chain counts, the wait and dependency sums added in replication
    order (``np.add.accumulate`` down each column), min, max and the histogram (bins found by
    ``np.searchsorted`` on ``hist_edges``, not by ``finish_bin``)."""
    pooled(2)
    rng = np.random.default_rng(8)
    rows, cols, m = 700, 1300, 650  # 6 blocks of 256 columns; rows past m are not folded
    fin = rng.exponential(200.0, (rows, cols)) * rng.integers(0, 2, (rows, cols))
    wait = rng.exponential(5.0, (rows, cols))
    dep = rng.exponential(3.0, (rows, cols))
    chain = rng.integers(0, 2, (rows, cols)).astype(np.uint8)
    deadline = rng.uniform(0.0, 400.0, cols)
    late = np.zeros(cols, np.int64)
    on_chain = np.zeros(cols, np.int64)
    sum_wait, sum_dep = np.zeros(cols), np.zeros(cols)
    fmin, fmax = np.full(cols, np.inf), np.full(cols, -np.inf)
    hist = np.zeros((cols, K.HIST_BINS), np.uint32)
    K.fold_per_job(fin, wait, dep, chain, deadline, m, late, on_chain, sum_wait, sum_dep, fmin,
                   fmax, hist)
    f = fin[:m]
    assert np.array_equal(late, (f > deadline).sum(axis=0))
    assert np.array_equal(on_chain, chain[:m].sum(axis=0))
    assert np.array_equal(sum_wait, np.add.accumulate(wait[:m], axis=0)[-1])
    assert np.array_equal(sum_dep, np.add.accumulate(dep[:m], axis=0)[-1])
    assert np.array_equal(fmin, f.min(axis=0)) and np.array_equal(fmax, f.max(axis=0))
    bins = np.minimum(np.searchsorted(K.hist_edges(), f, side="right") - 1, K.HIST_BINS - 1)
    want = np.zeros((cols, K.HIST_BINS), np.int64)
    np.add.at(want, (np.broadcast_to(np.arange(cols), f.shape), bins), 1)
    assert np.array_equal(hist, want)


# ---- the statistics' tasks (``stats.intervals.run_all``): the caller works too


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_run_all_runs_every_task_once_and_the_caller_takes_part(workers):
    import threading
    import time

    from mcqueue.stats.intervals import run_all

    ran: list[tuple[int, int]] = []

    def task(k):
        time.sleep(0.002)  # long enough for a helper to start and take some
        ran.append((k, threading.get_ident()))

    run_all([lambda k=k: task(k) for k in range(12)], workers)
    assert sorted(k for k, _ in ran) == list(range(12))
    assert threading.get_ident() in {t for _, t in ran}  # the calling thread ran tasks
    if workers == 1:
        assert [k for k, _ in ran] == list(range(12))  # in order, on the caller alone


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
@pytest.mark.parametrize("workers", [1, 2])
def test_run_all_stops_taking_tasks_after_an_error(workers, error):
    """The first task fails: the error reaches the caller, and of 40 tasks of 20 ms at most
    the one each other thread had in hand also ran (nothing is taken after the error; 20 ms
    a task is four of Python's 5 ms thread switches, so the failing thread sets its stop in
    time)."""
    import time

    from mcqueue.stats.intervals import run_all

    ran: list[int] = []

    def task(k):
        if k == 0:
            raise error("task 0")
        time.sleep(0.02)
        ran.append(k)

    with pytest.raises(error):
        run_all([lambda k=k: task(k) for k in range(40)], workers)
    assert len(ran) <= workers - 1
