"""Zero noise reproduces the tutorial's two published results (docs/model.md), in the engine and in
the naive twin, and the queueing parameters follow the hand formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mcqueue.engine import simulate as engine
from mcqueue.engine.perturbation import Perturbation
from naive import METRICS, naive_of_night

# docs/model.md, section 5 "Worked examples": the tutorial's published results (batch 01:00-05:00)
PUBLISHED = {
    ("2026-05-13", 3): {"average_wait_minutes": "29.00", "p95_wait_minutes": 50,
                        "average_queue_length": "1.2083", "max_queue_length": 3,
                        "worker_utilization_percent": "61.11", "overflow_jobs": 0,
                        "overflow_risk_percent": "0", "queue_drained_minute": 160},
    ("2026-05-14", 2): {"average_wait_minutes": "246.67", "p95_wait_minutes": 390,
                        "average_queue_length": "7.3958", "max_queue_length": 10,
                        "worker_utilization_percent": "100", "overflow_jobs": 9,
                        "overflow_risk_percent": "75", "queue_drained_minute": 490},
}
# The same numbers as exact fractions (the night has whole-minute times, so every metric is a
# ratio of integers): total wait / n, queue area / H, busy area / (c H).
EXACT = {
    ("2026-05-13", 3): {"average_wait_minutes": 290 / 10, "p95_wait_minutes": 50.0,
                        "average_queue_length": 290 / 240, "max_queue_length": 3,
                        "worker_utilization": 440 / 720, "overflow_jobs": 0,
                        "overflow_risk": 0.0, "queue_drained_minute": 160.0},
    ("2026-05-14", 2): {"average_wait_minutes": 2960 / 12, "p95_wait_minutes": 390.0,
                        "average_queue_length": 1775 / 240, "max_queue_length": 10,
                        "worker_utilization": 1.0, "overflow_jobs": 9,
                        "overflow_risk": 9 / 12, "queue_drained_minute": 490.0},
}
CASES = sorted(PUBLISHED)


def _check_published(m: dict, key) -> None:
    pub = PUBLISHED[key]
    assert f"{m['average_wait_minutes']:.2f}" == pub["average_wait_minutes"]
    assert m["p95_wait_minutes"] == pub["p95_wait_minutes"]
    assert f"{m['average_queue_length']:.4f}" == pub["average_queue_length"]
    assert m["max_queue_length"] == pub["max_queue_length"]
    util = f"{100 * m['worker_utilization']:.2f}".rstrip("0").rstrip(".")
    assert util == pub["worker_utilization_percent"]
    assert m["overflow_jobs"] == pub["overflow_jobs"]
    assert f"{100 * m['overflow_risk']:g}" == pub["overflow_risk_percent"]
    assert m["queue_drained_minute"] == pub["queue_drained_minute"]


def _night(key, request):
    return request.getfixturevalue("night_13" if key[0] == "2026-05-13" else "night_14")


@pytest.mark.parametrize("key", CASES)
def test_engine_deterministic_reproduces_published(key, request):
    night = _night(key, request)
    m = engine.deterministic(night, key[1])
    _check_published(m, key)
    assert m == EXACT[key]  # bit for bit, ints for the two counts
    assert isinstance(m["max_queue_length"], int) and isinstance(m["overflow_jobs"], int)


@pytest.mark.parametrize("key", CASES)
def test_naive_twin_reproduces_published(key, request):
    night = _night(key, request)
    m = naive_of_night(night, key[1])["metrics"]
    _check_published(m, key)
    for name in METRICS:
        assert m[name] == EXACT[key][name], name


@pytest.mark.parametrize("key", CASES)
def test_zero_noise_every_replication_is_the_published_night(key, request):
    night = _night(key, request)
    res = engine.simulate(night, workers=key[1], replications=257, seed=123, runtime_cv=0.0,
                          arrival_jitter=0.0)
    expected = np.array([EXACT[key][m] for m in METRICS], dtype=float)
    assert res.samples.shape == (8, 257)
    assert np.array_equal(res.samples, np.repeat(expected[:, None], 257, axis=1))
    assert res.deterministic == EXACT[key]
    d = res.to_dict()
    assert d["deterministic"] == EXACT[key]
    for i, m in enumerate(METRICS):
        mc = d["monte_carlo"][m]
        assert mc["p50"] == mc["p90"] == mc["p99"] == expected[i]
        # the mean of 257 equal floats is only exact up to numpy's summation rounding
        # (relative error <= 257 * 2**-53 < 1e-13), and so is the (near) point interval
        for k in ("mean", "ci_low", "ci_high"):
            assert math.isclose(mc[k], expected[i], rel_tol=1e-13, abs_tol=0.0), (m, k)
    overflowed = EXACT[key]["queue_drained_minute"] > 240
    assert d["monte_carlo"]["overflow_probability"]["estimate"] == float(overflowed)


@pytest.mark.parametrize("key", CASES)
def test_zero_noise_trace_start_times_match_twin(key, request):
    night = _night(key, request)
    tr = engine.trace(night, key[1], rep=5, perturbation=Perturbation(0, 0), seed=9)
    assert np.array_equal(tr["arrival_minute"], night.arrival_minute)
    assert np.array_equal(tr["runtime_minutes"], night.runtime_minutes)
    twin = naive_of_night(night, key[1])
    assert np.array_equal(tr["start_minute"], np.array(twin["start_minute"]))
    assert tr["metrics"] == {k: float(v) for k, v in EXACT[key].items()}


@pytest.mark.parametrize("date, jobs, work", [("2026-05-11", 8, 210), ("2026-05-12", 9, 262),
                                              ("2026-05-13", 10, 270), ("2026-05-14", 12, 620)])
def test_queueing_parameters_from_the_nights_totals(date, jobs, work):
    """Jobs and runtime minutes per night counted from the sample file by hand; rho checked as
    the offered work over the pool's capacity, work / (c x 240 min), a different route to
    lambda / (c mu) (equal to the last bit or two: rel 1e-15)."""
    from mcqueue.io.sample import load_sample

    night = load_sample(date)
    assert (night.n_jobs, night.runtime_minutes.sum()) == (jobs, work)
    for c in (1, 2, 3, 5):
        q = engine.queueing(night, c)
        assert q["workers"] == c
        assert q["lambda_per_hour"] == jobs / 4  # jobs per hour over the 4-hour window
        assert math.isclose(q["mu_per_hour"] * work, 60 * jobs, rel_tol=1e-15)
        assert math.isclose(q["rho"], work / (c * 240), rel_tol=1e-15)


def test_queueing_published_values():
    # 2026-05-13: 10 jobs, 270 runtime minutes; 2026-05-14: 12 jobs, 620 runtime minutes
    from mcqueue.io.sample import load_sample

    q13 = engine.queueing(load_sample("2026-05-13"), 3)
    assert (q13["lambda_per_hour"], round(q13["mu_per_hour"], 4), round(q13["rho"], 4)) == (
        2.5, 2.2222, 0.375)
    q14 = engine.queueing(load_sample("2026-05-14"), 2)
    assert (q14["lambda_per_hour"], round(q14["mu_per_hour"], 4), round(q14["rho"], 4)) == (
        3.0, 1.1613, 1.2917)


def test_queueing_short_horizon_uses_at_least_one_hour():
    from mcqueue.io.schema import Night

    night = Night.from_arrays([0, 5, 10], [10, 20, 30], batch_start="01:00", batch_end="01:30")
    assert night.horizon_minutes == 30
    q = engine.queueing(night, 2)
    assert q["lambda_per_hour"] == 3.0  # n / max(0.5, 1)
    assert q["mu_per_hour"] == 3.0  # 60 / 20
    assert q["rho"] == 0.5
