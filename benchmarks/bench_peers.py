"""mcqueue against its peers on identical nights and identical noise.

For each night the engine draws R replications' arrivals and runtimes (``engine.trace``, keyed on
seed, replication and job_id); SimPy (benchmarks/peers/simpy_model.py) and the naive pure-Python
twin (tests/naive.py) replay exactly those draws, and the engine replays the same R replications
with ``engine.replicate`` (drawing them itself, inside the kernel: that work is counted for the
engine only). Every implementation's timed output is checked against the engine's, replication by
replication, so the ratio compares the same computation. The summary prints mcqueue's speed as a
ratio to each peer.

The engine's rounds replay replications 0 .. R_engine - 1 with R_engine the size of the engine
benchmarks (bench_engine.REPLICATIONS, a fraction of a second per round) instead of the peers' R:
a round of a few milliseconds would measure thread start-up and scheduling noise on a shared
machine, not throughput. Its first R replications are exactly the peers' replications (checked).
"""

from __future__ import annotations

import numpy as np
import pytest

from bench_engine import REPLICATIONS as ENGINE_REPLICATIONS
from conftest import SEED, describe, night_of, record, workers_of

# replications per round, per night size: the same R for every implementation of a group
PEER_REPLICATIONS = {10: 2_000, 100: 100, 2000: 2}
PEER_ROUNDS = {10: 5, 100: 5, 2000: 3}


def group_of(size):
    return f"peers: {describe(size)} x {PEER_REPLICATIONS[size]} replications"


_DRAWS: dict = {}


def draws(size, perturbation):
    """The engine's arrivals/runtimes for replications 0..R-1 and its metrics for them."""
    if size not in _DRAWS:
        from mcqueue.engine import simulate as engine

        night = night_of(size)
        workers = workers_of(size)
        reps = PEER_REPLICATIONS[size]
        traces = [engine.trace(night, workers, rep, perturbation, SEED) for rep in range(reps)]
        arrivals = np.array([t["arrival_minute"] for t in traces])
        runtimes = np.array([t["runtime_minutes"] for t in traces])
        batch = engine.prepare([night], perturbation, SEED)
        expected = engine.replicate(batch, [0], [workers], reps)[0]
        for rep, t in enumerate(traces):
            assert [t["metrics"][m] for m in engine.METRICS] == expected[:, rep].tolist()
        _DRAWS[size] = (arrivals, runtimes, expected, batch)
    return _DRAWS[size]


SIZES = sorted(PEER_REPLICATIONS)


@pytest.mark.parametrize("threads", [1, 2], indirect=True, ids=lambda k: f"{k}thr")
@pytest.mark.parametrize("size", SIZES, ids=lambda n: f"{n}jobs")
def test_peer_mcqueue(benchmark, size, threads, perturbation):
    from mcqueue.engine import simulate as engine

    _, _, expected, batch = draws(size, perturbation)
    reps = ENGINE_REPLICATIONS[size]
    benchmark.group = group_of(size)
    out = benchmark.pedantic(engine.replicate, args=(batch, [0], [workers_of(size)], reps),
                             rounds=5, warmup_rounds=1, iterations=1)
    assert out.shape == (1, len(engine.METRICS), reps)
    assert np.array_equal(out[0][:, :PEER_REPLICATIONS[size]], expected)
    record(benchmark, group=group_of(size), implementation=f"mcqueue {threads} thr",
           replications=reps, jobs=night_of(size).n_jobs, threads=threads)


def _simpy_all(arrivals, runtimes, night, workers):
    from benchmarks.peers.simpy_model import simulate_replications

    return simulate_replications(arrivals, runtimes, night.priority, night.exclusive, workers,
                                 night.horizon_minutes)


@pytest.mark.parametrize("size", SIZES, ids=lambda n: f"{n}jobs")
def test_peer_simpy(benchmark, size, perturbation):
    arrivals, runtimes, expected, _ = draws(size, perturbation)
    night = night_of(size)
    benchmark.group = group_of(size)
    got = benchmark.pedantic(_simpy_all, args=(arrivals, runtimes, night, workers_of(size)),
                             rounds=PEER_ROUNDS[size], iterations=1)
    # same draws, same summation order: the SimPy peer agrees with the engine exactly
    assert np.array_equal(np.array(got).T, expected)
    record(benchmark, group=group_of(size), implementation="SimPy",
           replications=PEER_REPLICATIONS[size], jobs=night.n_jobs)


def _naive_all(arrivals, runtimes, night, workers):
    from tests.naive import naive_night

    return [naive_night(a, r, night.priority, night.exclusive, night.job_id, workers,
                        night.horizon_minutes)["metrics"] for a, r in zip(arrivals, runtimes)]


@pytest.mark.parametrize("size", SIZES, ids=lambda n: f"{n}jobs")
def test_peer_naive_python(benchmark, size, perturbation):
    from mcqueue.engine import simulate as engine
    from tests.naive import assert_metrics_match

    arrivals, runtimes, expected, _ = draws(size, perturbation)
    night = night_of(size)
    benchmark.group = group_of(size)
    got = benchmark.pedantic(_naive_all, args=(arrivals, runtimes, night, workers_of(size)),
                             rounds=PEER_ROUNDS[size], iterations=1)
    assert len(got) == PEER_REPLICATIONS[size]
    for rep, metrics in enumerate(got):
        # the twin sums with math.fsum: float metrics agree to 1e-12 relative (tests/naive.py)
        assert_metrics_match(dict(zip(engine.METRICS, expected[:, rep].tolist())), metrics,
                             f"replication {rep}")
    record(benchmark, group=group_of(size), implementation="naive Python",
           replications=PEER_REPLICATIONS[size], jobs=night.n_jobs)
