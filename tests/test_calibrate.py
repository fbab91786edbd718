"""calibrate: fits against known truths, naive twins of every estimator, and the model file.

Tolerances: a fitted value is compared with the truth it was drawn from within 4 standard errors,
the standard errors taken from the truth (lognormal y = log duration with variance s2 over n runs:
se(mean) = mean sqrt(s2 / n + s2^2 / (2 (n - 1))), se(cv) = exp(s2) / (2 cv) s2 sqrt(2 / (n - 1)),
the delta method on the normal-theory variances of the sample mean and variance). Deterministic
estimators are compared with a plain-Python twin written from the formulas in docs/history.md,
to 1e-9 relative.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
import os
import statistics
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import special, stats

from mcqueue.analysis import calibrate as cal
from mcqueue.analysis.calibrate import CalibrationModel, calibrate
from mcqueue.errors import DataError, ScenarioError
from mcqueue.io.history import read_history, sample_history_path

ROOT = Path(__file__).resolve().parents[1]
DAY0 = dt.date(2026, 1, 1)


def make_history(job, night, minutes, cls=None, estimate=None, success=None, attempt=None,
                 ready=None, window=None):
    """A normalised-looking history frame from columns (night: day index from DAY0)."""
    n = len(job)
    data = {
        "job_name": pl.Series(list(job), dtype=pl.String),
        "batch_date": pl.Series([DAY0 + dt.timedelta(days=int(i)) for i in night],
                                dtype=pl.Date),
        "workload_class": pl.Series(list(cls) if cls is not None else [None] * n,
                                    dtype=pl.String),
        "duration_minutes": pl.Series(np.asarray(minutes, dtype=np.float64)),
        "success": pl.Series(list(success) if success is not None else [True] * n,
                             dtype=pl.Boolean),
        "estimated_runtime_minutes": pl.Series(
            [None if e is None else float(e) for e in estimate] if estimate is not None
            else [None] * n, dtype=pl.Float64),
        "attempt": pl.Series(list(attempt) if attempt is not None else [None] * n,
                             dtype=pl.Int64),
        "ready_at": pl.Series(list(ready) if ready is not None else [None] * n,
                              dtype=pl.Datetime("us", "UTC")),
        "requested_window": pl.Series(list(window) if window is not None else [None] * n,
                                      dtype=pl.String),
        "source_row": pl.Series(np.arange(1, n + 1)),
    }
    return pl.DataFrame(data)


def lognormal_runs(rng, mean, cv, n):
    s2 = math.log1p(cv * cv)
    return np.exp(rng.normal(math.log(mean) - s2 / 2, math.sqrt(s2), n))


def se_mean(mean, cv, n):
    s2 = math.log1p(cv * cv)
    return mean * math.sqrt(s2 / n + s2 * s2 / (2 * (n - 1)))


def se_cv(cv, n):
    s2 = math.log1p(cv * cv)
    return math.exp(s2) / (2 * cv) * s2 * math.sqrt(2 / (n - 1))


def row(model, **keys):
    t = model.table
    for k, v in keys.items():
        t = t.filter(pl.col(k).is_null() if v is None else pl.col(k) == v)
    assert t.height == 1, keys
    return t.row(0, named=True)


# ---------------------------------------------------------------- special functions
@pytest.mark.parametrize("x", [1e-3, 0.05, 0.5, 1.0, 2.5, 5.999, 9.999, 10.0, 123.4, 1e5])
def test_digamma_trigamma_match_scipy(x):
    assert cal.digamma(np.array([x]))[0] == pytest.approx(special.digamma(x), rel=1e-10,
                                                          abs=1e-12)
    assert cal.trigamma(np.array([x]))[0] == pytest.approx(special.polygamma(1, x), rel=1e-10)


# ---------------------------------------------------------------- fits against the truth
MEANS = [5.0, 12.0, 30.0, 60.0, 90.0, 150.0, 240.0, 400.0]
CVS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5]


def test_fitted_means_and_cvs_within_four_standard_errors():
    rng = np.random.default_rng(11)
    n = 400
    jobs, nights, minutes = [], [], []
    for j, (m, cv) in enumerate(zip(MEANS, CVS)):
        jobs += [f"j{j}"] * n
        nights += list(range(n))
        minutes += list(lognormal_runs(rng, m, cv, n))
    model = calibrate(make_history(jobs, nights, minutes))
    assert model.scale == "absolute"
    for j, (m, cv) in enumerate(zip(MEANS, CVS)):
        r = row(model, level="job", job_name=f"j{j}")
        assert r["fit"] == "own" and r["runs"] == n
        assert abs(r["mean"] - m) <= 4 * se_mean(m, cv, n), (j, r["mean"], m)
        assert abs(r["cv"] - cv) <= 4 * se_cv(cv, n), (j, r["cv"], cv)
        # the reported standard errors estimate the true ones (their own error is ~7 % here)
        assert r["mean_se"] == pytest.approx(se_mean(m, cv, n), rel=0.25)
        assert r["cv_se"] == pytest.approx(se_cv(cv, n), rel=0.25)


def test_weighted_fit_matches_naive_twin():
    rng = np.random.default_rng(3)
    n = 40
    night = rng.choice(90, size=n, replace=False)
    minutes = lognormal_runs(rng, 30, 0.4, n)
    success = rng.random(n) > 0.15
    est = rng.choice([20.0, 25.0, 40.0], size=n)
    h = make_history(["a"] * n, night, minutes, estimate=est, success=success)
    half_life = 9.0
    model = calibrate(h, half_life_days=half_life, min_runs=2)
    r = row(model, level="job", job_name="a")
    # twin: docs/history.md, weighted lognormal fit of y = log(duration / estimate)
    newest = max(night)
    ys, ws = [], []
    for i in range(n):
        if success[i]:
            ys.append(math.log(minutes[i] / est[i]))
            ws.append(0.5 ** ((newest - night[i]) / half_life))
    W, W2 = sum(ws), sum(w * w for w in ws)
    mu = sum(w * y for w, y in zip(ws, ys)) / W
    s2 = sum(w * (y - mu) ** 2 for w, y in zip(ws, ys)) / (W - W2 / W)
    assert r["runs"] == len(ys)
    assert r["n_eff"] == pytest.approx(W * W / W2, rel=1e-9)
    assert r["log_mean"] == pytest.approx(mu, rel=1e-9)
    assert r["log_var"] == pytest.approx(s2, rel=1e-9)
    assert r["mean"] == pytest.approx(math.exp(mu + s2 / 2), rel=1e-9)
    assert r["cv"] == pytest.approx(math.sqrt(math.exp(s2) - 1), rel=1e-9)
    assert r["failed_runs"] == int((~success).sum()) and r["attempts"] == n
    # recent runs: the last 25 successful ones by night, oldest first, as duration / estimate
    order = sorted((night[i], i) for i in range(n) if success[i])
    expect = [minutes[i] / est[i] for _, i in order][-25:]
    assert r["recent_factors"] == pytest.approx(expect, rel=1e-12)
    assert r["recent_minutes"] == pytest.approx([minutes[i] for _, i in order][-25:], rel=1e-12)


def test_half_life_weights_recent_runs_more_regime_change():
    rng = np.random.default_rng(5)
    sigma = 0.1
    nights = np.arange(90)
    medians = np.where(nights < 60, 20.0, 40.0)
    minutes = medians * np.exp(rng.normal(0, sigma, 90))
    h = make_history(["r"] * 90, nights, minutes)
    plain = row(calibrate(h), level="job", job_name="r")
    recent = row(calibrate(h, half_life_days=7), level="job", job_name="r")
    # expected log-means: weighted averages of the two regimes' log medians (closed form)
    for r, w in ((plain, np.ones(90)), (recent, 0.5 ** ((89 - nights) / 7))):
        expect = float((w * np.log(medians)).sum() / w.sum())
        sd = sigma * math.sqrt((w * w).sum()) / w.sum()
        assert abs(r["log_mean"] - expect) <= 4 * sd
    assert math.exp(plain["log_mean"]) < 30 < 35 < math.exp(recent["log_mean"])
    assert recent["n_eff"] < 25 < plain["n_eff"] == 90


# ---------------------------------------------------------------- partial pooling
def _pooling_history():
    rng = np.random.default_rng(21)
    jobs, nights, minutes, classes = [], [], [], []
    for j in range(8):
        mu = 3.0 + rng.normal(0, 0.2)
        sd = 0.3 * math.exp(rng.normal(0, 0.3))
        jobs += [f"etl{j}"] * 60
        nights += list(range(60))
        minutes += list(np.exp(rng.normal(mu, sd, 60)))
        classes += ["etl"] * 60
    # a new job with two runs far above the class, and one with a single run
    jobs += ["tiny", "tiny", "single"]
    nights += [58, 59, 59]
    minutes += [math.exp(3.9), math.exp(3.7), math.exp(2.0)]
    classes += ["etl"] * 3
    return make_history(jobs, nights, minutes, cls=classes)


def test_partial_pooling_moves_a_two_run_job_toward_its_class():
    h = _pooling_history()
    model = calibrate(h, min_runs=10)
    tiny = row(model, level="job", job_name="tiny")
    own_mu = (3.9 + 3.7) / 2
    # twin of the class's method-of-moments spreads (units with >= 2 runs, tiny included)
    units = {}
    for name, y in zip(h["job_name"], np.log(h["duration_minutes"].to_numpy())):
        units.setdefault(name, []).append(float(y))
    ref = {k: v for k, v in units.items() if len(v) >= 2}
    mus = [statistics.fmean(v) for v in ref.values()]
    s2s = [statistics.variance(v) for v in ref.values()]
    nus = [len(v) - 1 for v in ref.values()]
    m = statistics.fmean(mus)
    tau2 = max(0.0, statistics.variance(mus) - statistics.fmean(
        s2 / len(v) for s2, v in zip(s2s, ref.values())))
    ells = [math.log(s2) - (special.digamma(nu / 2) - math.log(nu / 2))
            for s2, nu in zip(s2s, nus)]
    vs = [special.polygamma(1, nu / 2) for nu in nus]
    lam = statistics.fmean(ells)
    omega2 = max(0.0, statistics.variance(ells) - statistics.fmean(vs))
    ell_t = math.log(statistics.variance(units["tiny"])) - (special.digamma(0.5)
                                                            - math.log(0.5))
    b_var = omega2 / (omega2 + special.polygamma(1, 0.5))
    var_t = math.exp(lam + b_var * (ell_t - lam))
    b_mean = tau2 / (tau2 + var_t / 2)
    cls = row(model, level="class", workload_class="etl")
    assert cls["hyper_units"] == 9
    assert cls["hyper_log_mean"] == pytest.approx(m, rel=1e-9)
    assert cls["tau2"] == pytest.approx(tau2, rel=1e-9)
    assert cls["hyper_log_var"] == pytest.approx(lam, rel=1e-9)
    assert cls["omega2"] == pytest.approx(omega2, rel=1e-9, abs=1e-12)
    assert tiny["fit"] == "pooled" and tiny["flag_little_history"]
    assert tiny["pool_weight_mean"] == pytest.approx(b_mean, rel=1e-9)
    assert tiny["log_var"] == pytest.approx(var_t, rel=1e-9)
    assert tiny["log_mean"] == pytest.approx(m + b_mean * (own_mu - m), rel=1e-9)
    # toward the class: strictly between its own mean and the class centre
    assert 0 < b_mean < 1
    assert m < tiny["log_mean"] < own_mu
    # one run has no variance of its own: it takes the class's lambda, and its mean is pooled
    single = row(model, level="job", job_name="single")
    assert single["fit"] == "pooled"
    assert single["log_var"] == pytest.approx(math.exp(lam), rel=1e-9)
    assert single["cv"] == pytest.approx(math.sqrt(math.expm1(math.exp(lam))), rel=1e-9)
    assert m > single["log_mean"] > 2.0


def test_a_fit_that_cannot_be_made_is_not_reported():
    h = make_history(["solo", "pair", "pair"], [0, 0, 1], [10.0, 20.0, 22.0],
                     cls=["x", "y", "y"])
    model = calibrate(h)
    solo = row(model, level="job", job_name="solo")
    assert solo["fit"] == "none" and solo["runs"] == 1
    assert solo["mean"] is None and solo["cv"] is None and solo["log_var"] is None
    assert row(model, level="class", workload_class="x")["cv"] is None  # one run, no spread
    pair = row(model, level="job", job_name="pair")
    assert pair["fit"] == "unpooled" and pair["cv"] is not None  # nothing to pool with
    assert row(model, level="job", job_name="pair")["flag_little_history"]
    fit = model.lookup("solo", "x")
    assert fit is not None and fit.level == "global"  # the class has no cv: global level
    failed = make_history(["f"], [0], [5.0], success=[False])
    with pytest.raises(DataError, match="no successful run with a duration"):
        calibrate(failed)


# ---------------------------------------------------------------- night-wide component
def _night_history(rng, night_sd, jobs=20, nights=120):
    mus = np.log(np.linspace(5, 120, jobs))
    sds = np.linspace(0.1, 0.4, jobs)
    eta = rng.normal(0, night_sd, nights)
    y = mus[None, :] + eta[:, None] + rng.normal(0, 1, (nights, jobs)) * sds[None, :]
    names = np.tile([f"j{k}" for k in range(jobs)], nights)
    return make_history(names, np.repeat(np.arange(nights), jobs), np.exp(y).ravel())


def test_night_variance_recovered_within_its_standard_error():
    model = calibrate(_night_history(np.random.default_rng(8), 0.15))
    s = model.settings
    assert abs(s["night_var"] - 0.0225) <= 4 * s["night_var_se"]
    assert s["night_cv"] == pytest.approx(math.sqrt(math.expm1(s["night_var"])))
    r = row(model, level="job", job_name="j0")
    assert r["cv_within"] < r["cv"]


def test_night_variance_is_about_zero_without_a_night_effect():
    model = calibrate(_night_history(np.random.default_rng(9), 0.0))
    s = model.settings
    assert 0.0 <= s["night_var"] <= 4 * s["night_var_se"]
    assert s["night_var_se"] < 0.002


@pytest.mark.slow
def test_night_variance_standard_error_is_calibrated():
    # 100 histories: the estimates average the truth (within 4 standard errors of their mean)
    # and their spread matches the reported standard error (the ratio of an sd estimated from
    # 100 draws has a relative error of about 7 %, so [0.7, 1.3] is about 4 of them)
    rng = np.random.default_rng(99)
    est, se = [], []
    for _ in range(100):
        s = calibrate(_night_history(rng, 0.15, jobs=10, nights=90)).settings
        est.append(s["night_var"])
        se.append(s["night_var_se"])
    sd = float(np.std(est, ddof=1))
    assert abs(float(np.mean(est)) - 0.0225) <= 4 * sd / 10
    assert 0.7 <= sd / float(np.mean(se)) <= 1.3


def test_night_component_matches_naive_anova():
    # unbalanced: jobs missing on some nights, one job with a single run (left out)
    rng = np.random.default_rng(4)
    jobs, nights, minutes = [], [], []
    for j in range(5):
        for n in range(12):
            if (j + n) % 4 == 0 and j > 0:
                continue
            jobs.append(f"j{j}")
            nights.append(n)
            minutes.append(float(np.exp(rng.normal(1 + j, 0.3) + 0.2 * math.sin(n))))
    jobs.append("once")
    nights.append(3)
    minutes.append(7.0)
    model = calibrate(make_history(jobs, nights, minutes))
    # twin: residuals from each job's plain mean log, then one-way ANOVA by night
    by_job = {}
    for j, y in zip(jobs, np.log(minutes)):
        by_job.setdefault(j, []).append(y)
    keep = {j for j, v in by_job.items() if len(v) >= 2}
    res = {}
    for j, n, y in zip(jobs, nights, np.log(minutes)):
        if j in keep:
            res.setdefault(n, []).append(y - statistics.fmean(by_job[j]))
    N = sum(len(v) for v in res.values())
    a = len(res)
    grand = sum(sum(v) for v in res.values()) / N
    ssb = sum(len(v) * (statistics.fmean(v) - grand) ** 2 for v in res.values())
    ssw = sum(sum((x - statistics.fmean(v)) ** 2 for x in v) for v in res.values())
    dfw = N - a - len(keep) + 1
    msb, msw = ssb / (a - 1), ssw / dfw
    n0 = (N - sum(len(v) ** 2 for v in res.values()) / N) / (a - 1)
    s = model.settings
    assert s["night_runs"] == N and s["night_nights"] == a
    assert s["within_var"] == pytest.approx(msw, rel=1e-9)
    assert s["night_var"] == pytest.approx(max(0.0, (msb - msw) / n0), rel=1e-9)
    assert s["night_var_se"] == pytest.approx(
        math.sqrt(2 / n0 ** 2 * (msb ** 2 / (a - 1) + msw ** 2 / dfw)), rel=1e-9)


# ---------------------------------------------------------------- multi-modal flags
def test_multimodal_flags():
    rng = np.random.default_rng(13)
    two = np.concatenate([20 * np.exp(rng.normal(0, 0.1, 30)), 60 * np.exp(rng.normal(0, 0.1,
                                                                                       30))])
    one = lognormal_runs(rng, 30, 0.3, 90)
    short = two[::4]  # 15 runs: too few to judge
    days = np.arange(90)
    month_end = np.array([(DAY0 + dt.timedelta(days=int(d + 1))).day == 1 for d in days])
    me = 40 * np.exp(rng.normal(0, 0.15, 90)) * np.where(month_end, 2.0, 1.0)
    h = make_history(["two"] * 60 + ["one"] * 90 + ["short"] * 15 + ["me"] * 90,
                     list(range(60)) + list(days) + list(range(15)) + list(days),
                     np.concatenate([two, one, short, me]))
    model = calibrate(h)
    r_two, r_one = row(model, job_name="two"), row(model, job_name="one")
    assert r_two["flag_multimodal"] and r_two["bimodality"] > 5 / 9
    assert not r_one["flag_multimodal"] and r_one["bimodality"] < 5 / 9
    assert not row(model, job_name="short")["flag_multimodal"]
    # twin: Sarle's coefficient from scipy's bias-corrected skewness and kurtosis
    y = np.log(one)
    g, k = stats.skew(y, bias=False), stats.kurtosis(y, bias=False)
    n = len(y)
    assert r_one["bimodality"] == pytest.approx(
        (g * g + 1) / (k + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))), rel=1e-9)
    # month ends (3 of 90 nights: 2026-01-31, 02-28, 03-31) at twice the runtime
    r_me = row(model, job_name="me")
    assert r_me["month_end_runs"] == int(month_end.sum()) == 3
    assert r_me["flag_multimodal"] and r_me["month_end_z"] > 4
    se_log = 0.15 * math.sqrt(1 / 3 + 1 / 87)
    assert abs(math.log(r_me["month_end_ratio"]) - math.log(2.0)) <= 4 * se_log


# ---------------------------------------------------------------- failures, reruns, lateness
def test_failed_share_and_rerun_share():
    # 10 nights; nights 2 and 7 had a failed first attempt and a successful rerun
    jobs, nights, success, attempt = [], [], [], []
    for n in range(10):
        if n in (2, 7):
            jobs += ["a", "a"]
            nights += [n, n]
            success += [False, True]
            attempt += [1, 2]
        else:
            jobs.append("a")
            nights.append(n)
            success.append(True)
            attempt.append(1)
    minutes = [10.0 + i for i in range(len(jobs))]
    for att in (attempt, None):  # with attempt numbers, and from rows per night without them
        r = row(calibrate(make_history(jobs, nights, minutes, success=success, attempt=att)),
                level="job", job_name="a")
        assert (r["attempts"], r["failed_runs"], r["nights"], r["rerun_nights"]) == (12, 2, 10, 2)
        assert r["failed_share"] == pytest.approx(2 / 12)
        assert r["rerun_share"] == pytest.approx(2 / 10)
    # Airflow keeps one row per run: try_number 2 on a success is a rerun
    r = row(calibrate(make_history(["b"] * 4, range(4), [5.0] * 4, attempt=[1, 2, 1, 1])),
            level="job", job_name="b")
    assert r["rerun_share"] == pytest.approx(1 / 4) and r["failed_share"] == 0


def test_lateness_from_ready_times():
    offsets = [-2.0, 0.0, 3.0, 5.0, 10.0, 40.0]
    windows = ["01:00"] * 5 + ["23:30"]
    ready = []
    for i, (off, w) in enumerate(zip(offsets, windows)):
        base = dt.datetime.combine(DAY0 + dt.timedelta(days=i), dt.time(int(w[:2]), int(w[3:])),
                                   tzinfo=dt.timezone.utc)
        ready.append(base + dt.timedelta(minutes=off))  # 23:30 + 40 min is 00:10 next day
    h = make_history(["a"] * 6, range(6), [10.0] * 6, ready=ready, window=windows)
    r = row(calibrate(h), level="job", job_name="a")
    assert r["lateness_runs"] == 6
    assert r["lateness_mean_minutes"] == pytest.approx(np.mean(offsets))
    assert r["lateness_p50_minutes"] == pytest.approx(np.percentile(offsets, 50))
    assert r["lateness_p90_minutes"] == pytest.approx(np.percentile(offsets, 90))


# ---------------------------------------------------------------- scales and lookups
def _class_history(with_estimates: bool, seed=17):
    rng = np.random.default_rng(seed)
    jobs, nights, minutes, classes, est = [], [], [], [], []
    for j, (e, ratio) in enumerate([(20, 1.2), (40, 0.9), (30, 1.0)]):
        jobs += [f"e{j}"] * 50
        nights += list(range(50))
        minutes += list(lognormal_runs(rng, e * ratio, 0.2, 50))
        classes += ["etl"] * 50
        est += [e] * 50
    jobs += ["r0"] * 50
    nights += list(range(50))
    minutes += list(lognormal_runs(rng, 10, 0.1, 50))
    classes += ["refresh"] * 50
    est += [10] * 50
    return make_history(jobs, nights, minutes, cls=classes,
                        estimate=est if with_estimates else None), minutes


def test_ratio_scale_lookup_levels():
    h, _ = _class_history(True)
    model = calibrate(h)
    assert model.scale == "ratio"
    fit = model.lookup("e0", "etl")
    assert (fit.level, fit.scale, fit.fit) == ("job", "ratio", "own")
    assert abs(fit.mean - 1.2) <= 4 * se_mean(1.2, 0.2, 50)
    assert fit.mean_minutes(30.0) == pytest.approx(30.0 * fit.mean)
    assert len(fit.recent) == cal.RECENT_RUNS
    assert fit.recent_minutes(30.0) == pytest.approx([30.0 * v for v in fit.recent])
    new = model.lookup("brand_new", "etl")
    assert new.level == "class" and new.scale == "ratio" and new.runs == 150
    assert model.lookup("brand_new", "unknown_class").level == "global"
    assert model.lookup("brand_new", None).level == "global"


def test_absolute_scale_class_level_is_a_shape_on_tonight_estimate():
    h, minutes = _class_history(False)
    model = calibrate(h)
    assert model.scale == "absolute"
    job = model.lookup("e1", "etl")
    assert job.scale == "absolute" and abs(job.mean - 36.0) <= 4 * se_mean(36.0, 0.2, 50)
    assert job.mean_minutes(999.0) == job.mean  # tonight's estimate is not used
    cls = model.lookup("brand_new", "etl")
    assert cls.level == "class" and cls.scale == "ratio" and cls.mean == 1.0
    # twin: the pooled within-job variance of log durations, sum (y - mean_j)^2 / (N - J)
    ys = {}
    for j, c, m in zip(h["job_name"], h["workload_class"], minutes):
        if c == "etl":
            ys.setdefault(j, []).append(math.log(m))
    ss = sum(sum((y - statistics.fmean(v)) ** 2 for y in v) for v in ys.values())
    pooled = ss / (sum(len(v) for v in ys.values()) - len(ys))
    assert cls.cv == pytest.approx(math.sqrt(math.expm1(pooled)), rel=1e-9)
    assert cls.mean_minutes(25.0) == 25.0


def test_scale_ratio_needs_every_estimate():
    h = make_history(["a", "a"], [0, 1], [5.0, 6.0], estimate=[5.0, None])
    assert calibrate(h).scale == "absolute"
    with pytest.raises(DataError, match=r"row 2 \(job 'a'\): column 'estimated_runtime_minutes' "
                                        r"is missing, and scale 'ratio' needs it"):
        calibrate(h, scale="ratio")


def test_by_weekday():
    rng = np.random.default_rng(23)
    days = np.arange(84)
    weekday = np.array([(DAY0 + dt.timedelta(days=int(d))).isoweekday() for d in days])
    minutes = np.where(weekday == 1, 60.0, 30.0) * np.exp(rng.normal(0, 0.1, 84))
    model = calibrate(make_history(["w"] * 84, days, minutes, cls=["etl"] * 84), by="weekday")
    monday = next(DAY0 + dt.timedelta(days=int(d)) for d in days if weekday[d] == 1)
    mon = model.lookup("w", "etl", batch_date=monday)
    tue = model.lookup("w", "etl", batch_date=(monday + dt.timedelta(days=1)).isoformat())
    allday = model.lookup("w", "etl")
    assert (mon.weekday, tue.weekday, allday.weekday) == (1, 2, None)
    assert mon.runs == tue.runs == 12 and allday.runs == 84
    assert abs(mon.mean - 60.0 * math.exp(0.005)) <= 4 * se_mean(60, 0.1, 12)
    assert abs(tue.mean - 30.0 * math.exp(0.005)) <= 4 * se_mean(30, 0.1, 12)
    assert calibrate(make_history(["w"] * 84, days, minutes)).table.height == 2  # job, global


def test_resolve_matches_lookup_for_every_job():
    model = calibrate(_pooling_history())
    names = ["etl3", "tiny", "single", "unknown", "unknown", "etl5"]
    classes = ["etl", "etl", "etl", "etl", None, "other"]
    est = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    res = model.resolve(names, classes, est)
    assert res.counts() == {"none": 0, "job": 4, "class": 1, "global": 1}
    for i, (name, c, e) in enumerate(zip(names, classes, est)):
        fit = model.lookup(name, c)
        assert cal.ResolvedRuntimes.LEVEL_NAMES[res.level[i]] == fit.level
        assert res.mean_minutes[i] == pytest.approx(fit.mean_minutes(e), rel=1e-12)
        assert res.cv[i] == pytest.approx(fit.cv, rel=1e-12)
        assert res.cv_within[i] == pytest.approx(fit.cv_within, rel=1e-12)
        recent = res.recent_minutes[res.recent_offsets[i]:res.recent_offsets[i + 1]]
        assert list(recent) == pytest.approx(list(fit.recent_minutes(e)), rel=1e-12)


def test_resolve_without_any_fit_uses_the_estimate():
    model = calibrate(make_history(["solo"], [0], [10.0], cls=["x"]))
    res = model.resolve(["solo", "other"], ["x", None], [12.0, 7.0])
    assert res.counts()["none"] == 2
    assert res.mean_minutes.tolist() == [12.0, 7.0]
    assert np.isnan(res.cv).all() and res.recent_offsets.tolist() == [0, 0, 0]
    assert model.lookup("solo", "x") is None


# ---------------------------------------------------------------- options
@pytest.mark.parametrize("kwargs,message", [
    ({"half_life_days": 0}, "half-life must be a number of days > 0, got 0"),
    ({"half_life_days": float("nan")}, "half-life must be a number of days > 0, got nan"),
    ({"half_life_days": True}, "half-life must be a number of days > 0, got True"),
    ({"min_runs": 1}, "min-runs must be an integer >= 2, got 1"),
    ({"min_runs": 2.5}, "min-runs must be an integer >= 2, got 2.5"),
    ({"by": "month"}, "by must be 'weekday' or None, got 'month'"),
    ({"scale": "log"}, "scale must be one of auto, ratio, absolute, got 'log'"),
])
def test_option_errors(kwargs, message):
    h = make_history(["a", "a"], [0, 1], [5.0, 6.0])
    with pytest.raises(ScenarioError) as e:
        calibrate(h, **kwargs)
    assert str(e.value) == message


# ---------------------------------------------------------------- the model file
def test_model_file_round_trip(tmp_path):
    model = calibrate(_pooling_history(), half_life_days=30, by="weekday")
    path = tmp_path / "model.parquet"
    model.write(path)
    back = CalibrationModel.read(path)
    assert back.settings == model.settings
    assert back.table.equals(model.table)
    assert back.lookup("tiny", "etl") == model.lookup("tiny", "etl")
    assert [p.name for p in tmp_path.iterdir()] == ["model.parquet"]


def test_read_rejects_files_that_are_not_models(tmp_path):
    text = tmp_path / "notes.parquet"
    text.write_text("hello")
    with pytest.raises(DataError, match=r"notes.parquet' is not an mcqueue calibration model "
                                        r"\(not a Parquet file"):
        CalibrationModel.read(text)
    plain = tmp_path / "plain.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(plain)
    with pytest.raises(DataError, match="plain.parquet' is not an mcqueue calibration model "
                                        r"\(a Parquet file without the 'mcqueue_model' metadata"):
        CalibrationModel.read(plain)
    future = tmp_path / "future.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(
        future, metadata={"mcqueue_model": '{"kind": "mcqueue-calibration-model", '
                                           '"version": 99}'})
    with pytest.raises(DataError, match="future.parquet' is a version 99 model; this mcqueue "
                                        "reads up to version 1"):
        CalibrationModel.read(future)
    partial = tmp_path / "partial.parquet"
    pl.DataFrame({"level": ["job"]}).write_parquet(
        partial, metadata={"mcqueue_model": '{"kind": "mcqueue-calibration-model", '
                                            '"version": 1}'})
    with pytest.raises(DataError, match="not a complete calibration model: column 'job_name' "
                                        "is missing"):
        CalibrationModel.read(partial)
    with pytest.raises(DataError, match="missing.parquet': no such file"):
        CalibrationModel.read(tmp_path / "missing.parquet")


def test_failed_write_leaves_the_existing_model_untouched(tmp_path, monkeypatch):
    path = tmp_path / "model.parquet"
    calibrate(make_history(["a", "a"], [0, 1], [5.0, 6.0])).write(path)
    before = path.read_bytes()
    model = calibrate(_pooling_history())

    def half_written(self, fh, **kwargs):
        fh.write(b"PAR1 partial")
        raise RuntimeError("disk went away")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", half_written)
    with pytest.raises(RuntimeError, match="disk went away"):
        model.write(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.parquet"]
    monkeypatch.undo()

    def no_rename(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(DataError, match="cannot write .*model.parquet': No space left on device"):
        model.write(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.parquet"]


# ---------------------------------------------------------------- the shipped sample history
def _make_history_module():
    spec = importlib.util.spec_from_file_location("make_history",
                                                  ROOT / "scripts" / "make_history.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sample_history_is_the_generator_output():
    mh = _make_history_module()
    shipped = ROOT / "mcqueue" / "data" / "sample_history.csv.gz"
    assert sample_history_path().read_bytes() == shipped.read_bytes()
    data = mh.render(mh.generate())
    assert shipped.read_bytes() == data
    assert len(data) < 200_000


def test_sample_history_recovers_its_stated_truth():
    mh = _make_history_module()
    h = read_history(ROOT / "mcqueue" / "data" / "sample_history.csv.gz")
    model = calibrate(h)
    assert model.scale == "ratio" and model.settings["nights"] == mh.NIGHTS
    lognormal = [j for j, spec in mh.JOBS.items()
                 if spec[0] in ("etl", "refresh") and spec[2] == "night"]
    for job in lognormal:
        r = row(model, level="job", job_name=job)
        ratio, cv, n = mh.JOBS[job][4], mh.true_cv(job), r["runs"]
        assert abs(r["mean"] - ratio) <= 4 * se_mean(ratio, cv, n), job
        assert abs(r["cv"] - cv) <= 4 * se_cv(cv, n), job
    s = model.settings
    assert abs(s["night_var"] - math.log1p(mh.NIGHT_CV ** 2)) <= 4 * s["night_var_se"]
    idx = row(model, level="job", job_name="index_maintenance_0200")
    assert idx["flag_multimodal"] and idx["month_end_runs"] == 3
    new = row(model, level="job", job_name="backfill_0200")
    assert new["fit"] == "pooled" and new["runs"] == 2
    # the share of nights with a rerun, over all jobs: binomial, 4 standard errors
    g = row(model, level="global")
    p, nights = mh.FAIL_PROBABILITY, g["nights"]
    assert abs(g["rerun_share"] - p) <= 4 * math.sqrt(p * (1 - p) / nights)
    # every job of the tutorial's four nights finds its history under the derived names (the
    # ETL night 2026-05-15, added later, has 14 names without history: they take their
    # class's fit, tests/test_runtime_model.py)
    sample = pl.read_csv(ROOT / "mcqueue" / "data" / "sample_jobs.csv", infer_schema=False)
    names = _make_history_module().sample_job_names(
        sample.filter(pl.col("batch_date") != "2026-05-15").to_dicts())
    assert set(names.values()) <= set(model.table["job_name"].drop_nulls())


def test_history_frames_with_wrong_types_are_refused():
    h = make_history(["a", "a"], [0, 1], [5.0, 6.0])
    with pytest.raises(DataError, match="history column 'duration_minutes' must be numeric, "
                                        "got type String"):
        calibrate(h.with_columns(pl.col("duration_minutes").cast(pl.String)))
    with pytest.raises(DataError, match="history lacks column 'success'"):
        calibrate(h.drop("success"))
