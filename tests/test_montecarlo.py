"""The engine's Monte Carlo against the naive twin's own, independent Monte Carlo, and the
coverage of the engine's confidence intervals.

The night: sample 2026-05-13 on 3 workers with the cutoff moved to 04:00 (H = 180) and the
default noise (runtime cv 0.25, arrival jitter 15): it overflows in about 29% of the
replications, far from 0 and 1, where the overflow estimate is informative.

Agreement tolerance. The engine (R1 replications) and the twin (R2, numpy's default_rng, a
different generator) estimate the same expectation independently, so their difference has mean
0 and variance se1^2 + se2^2, with se_i = sd_i / sqrt(R_i) for a mean and
sqrt(p_i (1 - p_i) / R_i) for a probability. By the central limit theorem the difference is
about normal; we accept |diff| <= 4 sqrt(se1^2 + se2^2), which a correct pair of simulators
misses with probability 6e-5 (the seeds are fixed, so the outcome does not vary between runs).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mcqueue.engine import simulate as engine
from mcqueue.io.sample import load_sample
from naive import naive_monte_carlo

WORKERS = 3
CV = engine.DEFAULT_RUNTIME_CV
JITTER = engine.DEFAULT_ARRIVAL_JITTER
SMALL = 1000  # replications of one small run
SEEDS = 400  # independent small runs for the coverage check


@pytest.fixture(scope="module")
def night():
    return load_sample("2026-05-13", batch_end="04:00")


@pytest.fixture(scope="module")
def truth(night):
    """One engine run 100 times larger than a small run, on a seed no small run uses."""
    res = engine.simulate(night, WORKERS, replications=100 * SMALL, seed=10**9,
                          runtime_cv=CV, arrival_jitter=JITTER)
    return {"p95_mean": res.monte_carlo["p95_wait_minutes"]["mean"],
            "overflow": res.overflow_probability["estimate"]}


def test_the_night_is_informative(night, truth):
    assert night.horizon_minutes == 180.0
    assert 0.1 < truth["overflow"] < 0.9


def se_mean(x):
    return float(np.std(x, ddof=1)) / math.sqrt(x.shape[0])


def se_prop(p, n):
    return math.sqrt(p * (1 - p) / n)


def test_engine_agrees_with_the_twins_independent_monte_carlo(night):
    r1, r2 = 40_000, 10_000
    eng = engine.simulate(night, WORKERS, replications=r1, seed=31, runtime_cv=CV,
                          arrival_jitter=JITTER)
    twin = naive_monte_carlo(night.arrival_minute, night.runtime_minutes, night.priority,
                             night.exclusive, night.job_id, WORKERS, night.horizon_minutes,
                             CV, JITTER, r2, seed=32)
    H = night.horizon_minutes
    for metric in ("p95_wait_minutes", "average_wait_minutes", "worker_utilization",
                   "average_queue_length"):
        x1 = eng.samples[engine.METRICS.index(metric)]
        x2 = twin[metric]
        tol = 4 * math.hypot(se_mean(x1), se_mean(x2))
        assert abs(x1.mean() - x2.mean()) <= tol, (metric, x1.mean(), x2.mean(), tol)
    p1 = eng.overflow_probability["estimate"]
    p2 = float(np.mean(twin["queue_drained_minute"] > H))
    assert 0.1 < p2 < 0.9
    tol = 4 * math.hypot(se_prop(p1, r1), se_prop(p2, r2))
    assert abs(p1 - p2) <= tol, (p1, p2, tol)


def test_confidence_intervals_cover_the_truth(night, truth):
    """Over 400 independent seeds, the 95% intervals of a 1,000-replication run (Student t for
    the mean p95 wait, Wilson for the overflow probability) cover the truth 92-98% of the time.

    If the intervals are right, the number of covers is Binomial(400, 0.95): sd = 4.4 covers
    (1.1 points), so 92-98% is +-2.7 sd (passes with probability 0.993). The truth has its own
    error, sd_small / 10, which lowers the expected coverage only to about 94.9%. Intervals half
    as wide would cover about 68%, twice as wide 99.99%: both fail.
    """
    cover_mean = cover_prob = 0
    for seed in range(SEEDS):
        res = engine.simulate(night, WORKERS, replications=SMALL, seed=seed, runtime_cv=CV,
                              arrival_jitter=JITTER)
        m = res.monte_carlo["p95_wait_minutes"]
        cover_mean += m["ci_low"] <= truth["p95_mean"] <= m["ci_high"]
        p = res.overflow_probability
        cover_prob += p["ci_low"] <= truth["overflow"] <= p["ci_high"]
    assert 0.92 <= cover_mean / SEEDS <= 0.98, cover_mean
    assert 0.92 <= cover_prob / SEEDS <= 0.98, cover_prob
