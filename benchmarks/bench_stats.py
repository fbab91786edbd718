"""Statistics over 10,000,000 replications: ``engine.summarize_samples`` on the per-replication
metrics of the sample night (8 x 10,000,000 float64, 640 MB), drawn once by the engine."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SAMPLE_WORKERS, SEED, night_of, record

REPLICATIONS = 10_000_000


@pytest.fixture(scope="module")
def samples(perturbation):
    from mcqueue.engine import simulate as engine

    batch = engine.prepare([night_of(10)], perturbation, SEED)
    return engine.replicate(batch, [0], [SAMPLE_WORKERS], REPLICATIONS)[0]


def test_summarize_10m_replications(benchmark, samples):
    from mcqueue.engine import simulate as engine

    horizon = night_of(10).horizon_minutes
    benchmark.group = "statistics: 10,000,000 replications"
    mc = benchmark.pedantic(engine.summarize_samples, args=(samples, horizon, 0.95), rounds=3,
                            warmup_rounds=1, iterations=1)
    assert set(mc) == set(engine.METRICS) | {"overflow_probability"}
    wait = samples[engine.METRICS.index("average_wait_minutes")]
    assert mc["average_wait_minutes"]["mean"] == pytest.approx(float(np.mean(wait)), rel=1e-12)
    assert mc["average_wait_minutes"]["ci_low"] < mc["average_wait_minutes"]["ci_high"]
    drained = samples[engine.METRICS.index("queue_drained_minute")]
    assert mc["overflow_probability"]["estimate"] == np.count_nonzero(drained > horizon) / REPLICATIONS
    record(benchmark, group=benchmark.group, implementation="mcqueue summarize_samples",
           replications=REPLICATIONS)
