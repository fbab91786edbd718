"""Precision-targeted runs: the stopping rule, its bookkeeping, and its coverage."""

import math

import numpy as np
import pytest

from mcqueue.engine import simulate as E
from mcqueue.analysis import validation as V
from mcqueue.errors import ScenarioError
from mcqueue.io.sample import load_sample
from mcqueue.analysis.sequential import STOP_CAP, STOP_TARGET, simulate_to_precision


@pytest.fixture(scope="module")
def night():
    return load_sample("2026-05-12", batch_end="04:00")  # P(overflow) about 1/3 on 3 workers


def test_stopped_run_equals_a_fixed_run_of_the_same_length(night):
    r = simulate_to_precision(night, 3, target_halfwidth_p95=1.5, target_halfwidth_overflow=0.02,
                              batch=700, seed=5)
    n = r.replications
    assert r.extra["precision"]["stopped"] == STOP_TARGET
    assert n > 1000 and (n - 1000) % 700 == 0  # first batch 1,000, then +700 at a time
    fixed = E.simulate(night, 3, replications=n, seed=5)
    assert np.array_equal(r.samples, fixed.samples)
    assert r.monte_carlo == fixed.monte_carlo
    assert r.deterministic == fixed.deterministic and r.queueing == fixed.queueing


def test_achieved_halfwidths_are_the_reported_intervals(night):
    r = simulate_to_precision(night, 3, target_halfwidth_p95=1.2, target_halfwidth_overflow=0.015,
                              batch=500, seed=9)
    p = r.extra["precision"]
    q = r.monte_carlo["p95_wait_minutes"]
    o = r.overflow_probability
    assert p["achieved_halfwidth_p95"] == pytest.approx((q["ci_high"] - q["ci_low"]) / 2, rel=1e-9)
    assert p["achieved_halfwidth_overflow"] == pytest.approx((o["ci_high"] - o["ci_low"]) / 2,
                                                             rel=1e-9)
    assert p["achieved_halfwidth_p95"] <= 1.2 and p["achieved_halfwidth_overflow"] <= 0.015
    # one batch fewer would not have met both targets
    short = E.simulate(night, 3, replications=r.replications - 500, seed=9).monte_carlo
    assert ((short["p95_wait_minutes"]["ci_high"] - short["p95_wait_minutes"]["ci_low"]) / 2 > 1.2
            or (short["overflow_probability"]["ci_high"]
                - short["overflow_probability"]["ci_low"]) / 2 > 0.015)
    d = r.to_dict()
    assert d["replications"] == r.replications
    assert d["precision"]["replications_used"] == r.replications


@pytest.mark.parametrize("n", [2, 10, 1000, 3333])
def test_running_wilson_halfwidth_is_stats_wilson(n):
    from mcqueue.analysis.sequential import _Running
    from mcqueue.stats.intervals import wilson

    run = _Running(100.0, 0.95)
    for k in sorted({0, 1, n // 3, n - 1, n}):
        run.n, run.overflowed = n, k
        w = wilson(k, n, 0.95)
        assert run.halfwidth_overflow() == pytest.approx((w["ci_high"] - w["ci_low"]) / 2,
                                                         rel=1e-14, abs=1e-17)


def test_cap_is_reported(night):
    r = simulate_to_precision(night, 3, target_halfwidth_p95=0.01, max_replications=2500,
                              batch=1000, seed=1)
    p = r.extra["precision"]
    assert p["stopped"] == STOP_CAP
    assert r.replications == p["replications_used"] == 2500 == r.samples.shape[1]
    assert p["achieved_halfwidth_p95"] > 0.01
    assert p["target_halfwidth_overflow"] is None


def test_first_batch_is_at_least_the_minimum(night):
    r = simulate_to_precision(night, 3, target_halfwidth_overflow=0.5, batch=10, seed=2)
    assert r.replications == 1000  # a loose target is met by the first batch of 1,000
    r = simulate_to_precision(night, 3, target_halfwidth_overflow=0.5, batch=10, seed=2,
                              max_replications=300)
    assert r.replications == 300  # the cap wins over the minimum


def test_zero_noise_night_stops_at_once(night):
    r = simulate_to_precision(night, 3, target_halfwidth_p95=0.1, runtime_cv=0, arrival_jitter=0,
                              batch=10)
    assert r.replications == 1000 and r.extra["precision"]["achieved_halfwidth_p95"] == 0.0


@pytest.mark.parametrize("kwargs, message", [
    ({}, "give at least one target"),
    ({"target_halfwidth_p95": -1}, "target half-width of the p95 wait must be a number > 0, "
                                   "got -1"),
    ({"target_halfwidth_overflow": float("nan")}, "overflow probability must be a number > 0, "
                                                  "got nan"),
    ({"target_halfwidth_p95": "x"}, "got 'x'"),
    ({"target_halfwidth_p95": 1, "batch": 0}, "batch must be an integer >= 1, got 0"),
    ({"target_halfwidth_p95": 1, "min_replications": 1},
     "min_replications must be an integer >= 2, got 1"),
    ({"target_halfwidth_p95": 1, "max_replications": 0},
     "replications must be an integer >= 1, got 0"),
])
def test_bad_parameters(night, kwargs, message):
    with pytest.raises(ScenarioError) as exc:
        simulate_to_precision(night, 3, **kwargs)
    assert message in str(exc.value)


@pytest.mark.slow
@pytest.mark.parametrize("spec, t_p95, t_ovf", V.SEQUENTIAL_SCENARIOS)
def test_sequential_rule_keeps_coverage(spec, t_p95, t_ovf):
    """1,000 independent precision-targeted runs (first batch 1,000, then +100 until both
    half-widths meet the targets). Each 95% interval must still cover the truth (1,000,000
    replications) in 93%-97% of runs: with true coverage 0.95 the count is binomial with
    sd sqrt(0.95 * 0.05 / 1000) = 0.0069, so 0.93-0.97 is +-2.9 sd."""
    checks, summary = V.sequential_coverage_checks(V.CoverageScenario(*spec), t_p95, t_ovf)
    for c in checks:
        assert c.passed, c.as_row()
    # the rule really is sequential: the stopping time varies with the data, never hits the cap
    assert summary["distinct"] >= 3 and summary["stopped_at_cap"] == 0
    # The point estimates carry no bias that matters next to the precision asked for: the mean
    # of the 1,000 estimates is within 0.2 target half-widths of the truth. (Its noise is
    # sqrt(sd_est^2 / 1000 + truth_se^2), about 0.03 min and 0.0006 here, i.e. < 0.04 target
    # half-widths, so this bound could fail if stopping biased the estimate.)
    tru = summary["truth"]
    noise_p95 = math.sqrt(summary["sd_estimate_p95"] ** 2 / 1000 + tru["p95_se"] ** 2)
    assert noise_p95 < 0.04 * t_p95
    assert abs(summary["mean_estimate_p95"] - tru["p95_mean"]) <= 0.2 * t_p95
    assert abs(summary["mean_estimate_overflow"] - tru["overflow_probability"]) <= 0.2 * t_ovf
