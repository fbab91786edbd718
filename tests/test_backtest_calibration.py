"""Is the forecast calibrated? Backtests on synthetic histories whose truth is known.

Every history here is drawn with numpy alone (no engine code): 1,060 consecutive nights of 10
jobs, all requested at 01:00 (the batch start), each starting 10 u minutes late (u uniform, the
engine's --arrival-jitter 10) on a pool with more workers than jobs, so the night's drain time is
max_j (start_j + runtime_j). The backtest fits each night on the 60 nights before it (ratio
scale: every run carries its estimate) and forecasts with 2,000 replications, over the last
1,000 nights.

Truths:
- lognormal: runtime = estimate x ratio_j x LN(mean 1, cv_j): the model family itself. The
  central 90 % interval must cover 87-93 % of the 1,000 nights (binomial se 0.95 pp; the fitted
  parameters, from 60 runs, widen the truth a little: the plug-in interval of a single lognormal
  with n = 60 covers about 89.5 %), and the PIT must be uniform (KS test, alpha = 0.01).
- log-t: log runtime = log(30 minutes) + 0.2 t_3 for every job, no jitter: heavier tails than
  any lognormal. The fitted lognormal (log sd 0.2 sqrt(3)) puts the 90 % interval of a maximum
  of 10 jobs in the wrong place: at the population parameters it covers F_T(hi) - F_T(lo) =
  0.748 (computed below with scipy: 15.1 % of nights fall below it, 10.1 % above), a drop of
  about 15 percentage points.
- night-wide: runtime = estimate x ratio_j x N_n x E_jn, N_n a lognormal factor (cv 0.3) shared
  by the night's jobs, E_jn per job (cv 0.1): a model of independent jobs (each with the whole
  fitted cv) under-covers badly (64 % measured with seed 303).

Two checks use the engine's runtime draws of issue 14 (docs/engine-features.md, section 12):
the empirical runtime model under the heavy-tailed truth and the fitted night-wide factor under
the night-wide truth must each bring the 90 % coverage back within 5 pp of nominal.

The truths have no failed runs, so every fitted rerun share is 0 and the default rerun
(``--retries 1`` with a model) changes nothing here.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from scipy import optimize, stats as sps

from mcqueue.analysis.backtest import BacktestSettings, backtest, queues_from_history
from mcqueue.analysis.planning import Settings
from mcqueue.io.history import normalise_history

pytestmark = pytest.mark.slow

TRAIN, TEST, JOBS = 60, 1000, 10
FIRST = dt.date(2023, 1, 1)
EST = np.array([20.0 + 2 * j for j in range(JOBS)])
RATIO = np.array([1.0, 1.1, 0.9, 1.05, 0.95, 1.2, 0.85, 1.0, 1.15, 0.9])
CV = np.array([0.2, 0.3, 0.25, 0.35, 0.2, 0.3, 0.4, 0.25, 0.3, 0.2])
JITTER = 10.0


def lognormal(rng, cv, size):
    s = np.sqrt(np.log1p(cv * cv))
    return np.exp(rng.normal(-s * s / 2, s, size=size))


def truth_history(kind: str, seed: int, jitter: float = JITTER) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = TRAIN + TEST
    if kind == "lognormal":
        factor = lognormal(rng, CV, (n, JOBS))
    elif kind == "log_t":  # every job the same median, 30 minutes (EST x RATIO x factor)
        factor = 30.0 / (EST * RATIO) * np.exp(0.2 * rng.standard_t(3, size=(n, JOBS)))
    elif kind == "night":
        factor = lognormal(rng, 0.3, (n, 1)) * lognormal(rng, 0.1, (n, JOBS))
    else:
        raise ValueError(kind)
    minutes = EST * RATIO * factor
    late = jitter * rng.random((n, JOBS))
    nights = [FIRST + dt.timedelta(days=i) for i in range(n)]
    start0 = np.array([np.datetime64(dt.datetime(d.year, d.month, d.day, 1, 0), "us")
                       for d in nights])
    start = start0[:, None] + (late * 60e6).astype("timedelta64[us]")
    finish = start + (minutes * 60e6).astype("timedelta64[us]")
    raw = pl.DataFrame({
        "job_name": np.tile([f"job{j}" for j in range(JOBS)], n),
        "batch_date": np.repeat(np.array(nights, dtype="datetime64[D]"), JOBS),
        "workload_class": "etl",
        "requested_window": "01:00",
        "estimated_runtime_minutes": np.tile(EST, n),
        "started_at": start.reshape(-1),
        "finished_at": finish.reshape(-1),
    })
    return normalise_history(raw, "generic", f"truth-{kind}")


def run(kind: str, seed: int, jitter: float = JITTER, **kw):
    h = truth_history(kind, seed, jitter)
    dates = [(FIRST + dt.timedelta(days=TRAIN + i)).isoformat() for i in range(TEST)]
    q = queues_from_history(h, dates, "01:00", "01:45")
    bt = BacktestSettings(workers=16, window_days=TRAIN, job_replications=0,
                          simulation=Settings(replications=2000, seed=seed, arrival_jitter=jitter),
                          **kw)
    res = backtest(h, q, dates[0], dates[-1], bt)
    assert len(res.rows) == TEST and not res.skipped
    return res


def coverage(res) -> float:
    return float(np.mean([r.in_p90 for r in res.rows]))


# ---------------------------------------------------------------- the model family itself
def test_a_lognormal_truth_is_covered_and_its_pit_uniform():
    res = run("lognormal", seed=101)
    cov = coverage(res)
    assert 0.87 <= cov <= 0.93, cov
    pits = np.array([r.pit for r in res.rows])
    assert sps.kstest(pits, "uniform").pvalue > 0.01  # alpha = 0.01
    # the central 50 % interval too: binomial se 1.6 pp, 4 se
    cov50 = np.mean([r.in_p50 for r in res.rows])
    assert abs(cov50 - 0.5) <= 4 * math.sqrt(0.25 / TEST) + 0.02
    # calibration in the large of the overflow probability: mean forecast vs observed rate,
    # 4 binomial standard errors
    p = np.array([r.overflow_probability for r in res.rows])
    o = np.array([r.observed_overflow for r in res.rows], dtype=float)
    assert 0.1 < o.mean() < 0.9  # the cutoff 01:45 makes overflow a real question
    assert abs(p.mean() - o.mean()) <= 4 * math.sqrt(o.mean() * (1 - o.mean()) / TEST)
    # every night is drawn from the same law, so no forecast can resolve between them: the
    # Brier score is the base rate's p (1 - p) plus the (small) miscalibration term
    s = res.summary()["overflow"]
    assert s["brier_resolution"] < 0.01 and s["brier_reliability"] < 0.01


# ---------------------------------------------------------------- heavier tails
def expected_log_t_coverage() -> float:
    """Coverage of the fitted lognormal's central 90 % interval of max_j runtime_j when the
    truth is log-t_3 (scale 0.2), at the population parameters: the model's log sd is
    0.2 sqrt(3) (the t_3 variance), its log median each job's log(30)."""
    m = np.full(JOBS, math.log(30.0))
    sig = 0.2 * math.sqrt(3.0)

    def f_model(x):
        return float(np.prod(sps.norm.cdf((math.log(x) - m) / sig)))

    def f_true(x):
        return float(np.prod(sps.t.cdf((math.log(x) - m) / 0.2, 3)))

    lo = optimize.brentq(lambda x: f_model(x) - 0.05, 1.0, 1e4)
    hi = optimize.brentq(lambda x: f_model(x) - 0.95, 1.0, 1e4)
    return f_true(hi) - f_true(lo)


def test_a_heavier_tailed_truth_lowers_the_lognormal_coverage():
    expected = expected_log_t_coverage()
    assert 0.70 < expected < 0.80  # the size of the drop the test measures
    cov = coverage(run("log_t", seed=202, jitter=0.0))
    # measurably below the band a calibrated forecast meets (87-93 %); the fitted log sd
    # from 60 heavy-tailed runs is usually below the population value (the sample variance
    # of t_3 is right-skewed), which only narrows the interval further: so an upper bound
    # of expected + 5 pp (binomial 4 se is 5.5 pp)
    assert cov < 0.85 and cov < expected + 0.05, (cov, expected)


def test_the_empirical_model_restores_coverage_under_heavy_tails():
    """Drawing each job's runtime from its recent runs assumes no shape: the same truth is
    covered within 5 pp of the nominal 90 %."""
    cov = coverage(run("log_t", seed=202, jitter=0.0, runtime_model="empirical"))
    assert 0.85 <= cov <= 0.95, cov


# ---------------------------------------------------------------- a night-wide factor
def test_a_night_wide_truth_is_under_covered_by_independent_jobs():
    """Log drain ~ log N + log max_j E_j: the truth spreads with the night factor (log sd
    0.29), the independent-jobs model only with the spread of a maximum of 10 independent
    factors, so its 90 % interval is too narrow (64 % measured; asserted below 75 %, more than
    7 binomial standard errors under the 87 % a calibrated forecast reaches)."""
    cov = coverage(run("night", seed=303))
    assert cov < 0.75, cov


def test_the_fitted_night_cv_restores_coverage_under_a_night_wide_truth():
    cov = coverage(run("night", seed=303, night_cv="fitted"))
    assert 0.85 <= cov <= 0.95, cov
