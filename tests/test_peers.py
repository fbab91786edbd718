"""The benchmark peers model the same night as the engine, so the speed comparison is fair.

The SimPy peer (benchmarks/peers/simpy_model.py) must reproduce the two published
reference results at zero noise, and match the engine replication by replication on noisy nights
when it is fed the very arrivals and runtimes the engine drew (``engine.trace``).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.peers import simpy_model  # noqa: E402
from mcqueue.engine import simulate as engine  # noqa: E402
from mcqueue.engine.perturbation import Perturbation  # noqa: E402
from mcqueue.io.sample import load_sample  # noqa: E402
from mcqueue.engine.synthetic import synthetic_night  # noqa: E402

REFERENCE = {
    ("2026-05-13", 3): dict(average_wait_minutes=29.00, p95_wait_minutes=50,
                            average_queue_length=1.2083, max_queue_length=3,
                            worker_utilization=0.6111, overflow_jobs=0, overflow_risk=0.0,
                            queue_drained_minute=160),
    ("2026-05-14", 2): dict(average_wait_minutes=246.67, p95_wait_minutes=390,
                            average_queue_length=7.3958, max_queue_length=10,
                            worker_utilization=1.0, overflow_jobs=9, overflow_risk=0.75,
                            queue_drained_minute=490),
}


def _simpy(night, workers, arrival=None, runtime=None):
    arrival = night.arrival_minute if arrival is None else arrival
    runtime = night.runtime_minutes if runtime is None else runtime
    return simpy_model.simulate_night(arrival, runtime, night.priority, night.exclusive,
                                      workers, night.horizon_minutes)


def test_metric_names_are_the_engines():
    assert simpy_model.METRIC_NAMES == engine.METRICS


@pytest.mark.parametrize("date,workers", sorted(REFERENCE))
def test_simpy_reproduces_the_published_reference_at_zero_noise(date, workers):
    got = dict(zip(engine.METRICS, _simpy(load_sample(date), workers)))
    for name, want in REFERENCE[(date, workers)].items():
        # published figures are rounded to the digits shown (2 or 4 decimals, integers exact)
        digits = 2 if name == "average_wait_minutes" else 4
        assert round(got[name], digits) == want, (name, got[name], want)


@pytest.mark.parametrize("date,workers", sorted(REFERENCE))
def test_simpy_equals_the_engine_deterministic_replay(date, workers):
    night = load_sample(date)
    want = engine.deterministic(night, workers)
    assert list(_simpy(night, workers)) == [float(want[m]) for m in engine.METRICS]


# (night, workers, perturbation, seed): the sample nights and synthetic ones with ties at the
# same minute, several priority levels, exclusive jobs, overloaded and idle worker pools
CASES = [
    ("2026-05-13", 3, Perturbation(0.25, 15.0), 0),
    ("2026-05-14", 2, Perturbation(0.25, 15.0), 7),
    ("2026-05-11", 1, Perturbation(0.6, 40.0), 3),
    ("syn-40", 4, Perturbation(0.25, 15.0), 11),
    ("syn-60", 2, Perturbation(0.4, 5.0, {"etl": 0.8}), 5),
    ("syn-25", 8, Perturbation(0.0, 30.0), 2),
]


def _night(name):
    if name.startswith("syn-"):
        n = int(name[4:])
        return synthetic_night(n, seed=n, spread_minutes=60, exclusive_share=0.15)
    return load_sample(name)


@pytest.mark.parametrize("name,workers,pert,seed", CASES)
def test_simpy_matches_engine_replication_by_replication(name, workers, pert, seed):
    night = _night(name)
    reps = 12
    samples = engine.replicate(engine.prepare([night], pert, seed), [0], [workers], reps)[0]
    assert np.unique(samples[engine.METRICS.index("average_wait_minutes")]).size > 1  # noisy
    for rep in range(reps):
        tr = engine.trace(night, workers, rep=rep, perturbation=pert, seed=seed)
        got = _simpy(night, workers, tr["arrival_minute"], tr["runtime_minutes"])
        # identical draws, identical summation order: the metrics agree exactly
        assert list(got) == samples[:, rep].tolist(), (name, rep)


def test_simpy_empty_and_single_job_nights():
    assert simpy_model.simulate_night([], [], [], [], 2, 240.0) == (0.0,) * 8
    got = simpy_model.simulate_night([10.0], [300.0], [1], [True], 2, 240.0)
    assert got == (0.0, 0.0, 0.0, 0.0, 230.0 * 2 / (2 * 240.0), 1.0, 1.0, 310.0)
    assert not math.isnan(got[0])
