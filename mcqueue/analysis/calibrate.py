"""Runtime distributions learned from run history (`calibrate`) and the model file they live in.

docs/history.md states every estimator with its formula; in short:

- Every successful run gives ``y = log(duration)`` (``scale="absolute"``), or
  ``y = log(duration / estimated_runtime_minutes)`` (``scale="ratio"``, chosen when every
  successful run carries the estimate it was planned with): the model then learns how wrong the
  estimates are, and tonight's estimate stays the input (see `RuntimeFit.mean_minutes`).
- A job's runs are weighted ``w = 2 ** (-age_days / half_life_days)`` (age relative to the newest
  night of the history; all weights 1 without a half-life). Its lognormal fit is the weighted mean
  ``mu`` and the weighted variance ``s2`` of y with reliability weights
  (``sum w (y - mu)^2 / (W - W2 / W)``), Kish's effective size ``n_eff = W^2 / W2``; mean
  ``exp(mu + s2 / 2)``, cv ``sqrt(exp(s2) - 1)``.
- Jobs with fewer than ``min_runs`` successful runs are pulled toward their class by empirical
  Bayes: the log-variance with weight ``omega2 / (omega2 + trigamma(nu / 2))``, the log-mean with
  weight ``n_eff / (n_eff + k)``, ``k = s2 / tau2``, both spreads estimated by the method of
  moments from the class's jobs with at least two runs.
- A one-way random-effects ANOVA on ``y - mean_job(y)`` splits the log variance into a night-wide
  component shared by every job of a night and the rest.

No Python loop runs over history rows: group-bys in polars, then numpy over jobs and classes.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import DataError, ScenarioError, first_line, quote

MODEL_VERSION = 1
MODEL_KIND = "mcqueue-calibration-model"
_META_KEY = "mcqueue_model"

DEFAULT_MIN_RUNS = 10
RECENT_RUNS = 25  # per job, like Automic's runtime statistics (the last 25 runs)
RECENT_RUNS_POOLED = 100  # per class and for the whole history
MIN_DURATION_MINUTES = 1 / 120  # half a second: sysjobhistory writes 0 for sub-second runs
LOG_VAR_FLOOR = 1e-8  # runs with identical durations have s2 = 0; log needs a floor
MULTIMODAL_MIN_RUNS = 20
BIMODALITY_THRESHOLD = 5 / 9  # the coefficient of a uniform distribution
MONTH_END_Z = 4.0  # month-end runs this many standard errors away from the others
LATENESS_WRAP_MINUTES = 1440.0
LEVELS = ("job", "class", "global")
FITS = ("own", "pooled", "unpooled", "none")
SCALES = ("auto", "ratio", "absolute")
BY = (None, "weekday")

_REQUIRED = ("job_name", "batch_date", "duration_minutes", "success")
# the order of runs ("recent", "most recent class"): night, then finish, start (missing times
# last), then the row in the file
_ORDER = ["batch_date", "__finish_order", "__start_order", "source_row"]
_NEVER = _dt.datetime(9999, 12, 31, tzinfo=_dt.timezone.utc)


# ---------------------------------------------------------------- special functions
def digamma(x: np.ndarray) -> np.ndarray:
    """psi(x) for x > 0: recurrence up to x >= 10, then the asymptotic series (error < 1e-13)."""
    x = np.asarray(x, dtype=np.float64).copy()
    acc = np.zeros_like(x)
    for _ in range(10):
        small = x < 10.0
        acc = np.where(small, acc - 1.0 / np.where(small, x, 1.0), acc)
        x = np.where(small, x + 1.0, x)
    inv2 = 1.0 / (x * x)
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240
                                                                         - inv2 * (1 / 132)))))
    return acc + np.log(x) - 0.5 / x - series


def trigamma(x: np.ndarray) -> np.ndarray:
    """psi'(x) for x > 0: recurrence up to x >= 10, then the asymptotic series (error < 1e-12)."""
    x = np.asarray(x, dtype=np.float64).copy()
    acc = np.zeros_like(x)
    for _ in range(10):
        small = x < 10.0
        acc = np.where(small, acc + 1.0 / np.where(small, x * x, 1.0), acc)
        x = np.where(small, x + 1.0, x)
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv + inv2 / 2 + inv * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42
                                                                             - inv2 / 30)))
    return acc + series


# ---------------------------------------------------------------- small helpers
def _lognormal_mean(mu, var):
    return np.exp(mu + var / 2.0)


def _cv(var):
    return np.sqrt(np.expm1(var))


def _mean_se(mean, var, n_eff):
    """Delta method: var(log mean) = s2 / n_eff + s2^2 / (2 (n_eff - 1)) (normal y)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return mean * np.sqrt(var / n_eff + var * var / (2.0 * (n_eff - 1.0)))


def _cv_se(var, n_eff):
    """Delta method on cv = sqrt(exp(s2) - 1) with se(s2) = s2 sqrt(2 / (n_eff - 1))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = _cv(var)
        return np.exp(var) / (2.0 * cv) * var * np.sqrt(2.0 / (n_eff - 1.0))


def _bimodality(n, m2, m3, m4):
    """Sarle's bimodality coefficient from the sample skewness and excess kurtosis (both with
    the small-sample corrections, as scipy.stats skew/kurtosis with bias=False)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g1 = m3 / m2 ** 1.5
        g2 = m4 / (m2 * m2) - 3.0
        skew = g1 * np.sqrt(n * (n - 1.0)) / (n - 2.0)
        kurt = ((n + 1.0) * g2 + 6.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0))
        bc = (skew * skew + 1.0) / (kurt + 3.0 * (n - 1.0) ** 2 / ((n - 2.0) * (n - 3.0)))
    return np.where((n >= 4) & (m2 > 0), bc, np.nan)


def _month_end_test(stats: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Month-end runs against the others, on log durations: the ratio of their geometric means
    and z = (mean_me - mean_rest) / (s_rest sqrt(1 / n_me + 1 / n_rest)), s_rest the standard
    deviation of the other runs; NaN below 2 month-end runs or 10 other runs."""
    n = stats["runs"].fill_null(0).to_numpy().astype(np.float64)
    n_me = stats["month_end_runs"].fill_null(0).to_numpy().astype(np.float64)
    s1, s2 = (stats[c].fill_null(np.nan).to_numpy() for c in ("S1", "S2"))
    s1_me, s2_me = (stats[c].fill_null(0.0).to_numpy() for c in ("S1_me", "S2_me"))
    n_r = n - n_me
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = s1_me / n_me - (s1 - s1_me) / n_r
        var_r = np.maximum((s2 - s2_me) - (s1 - s1_me) ** 2 / n_r, 0.0) / (n_r - 1)
        z = diff / np.sqrt(var_r * (1 / n_me + 1 / n_r))
    ok = (n_me >= 2) & (n_r >= 10) & np.isfinite(diff)
    return np.where(ok, np.exp(diff), np.nan), np.where(ok & np.isfinite(z), z, np.nan)


# ---------------------------------------------------------------- input
def _check_options(half_life_days, min_runs, by, scale) -> None:
    if half_life_days is not None:
        if (isinstance(half_life_days, bool) or not isinstance(half_life_days, (int, float))
                or not math.isfinite(half_life_days) or half_life_days <= 0):
            raise ScenarioError(f"half-life must be a number of days > 0, got "
                                f"{quote(half_life_days)}")
    if isinstance(min_runs, bool) or not isinstance(min_runs, int) or min_runs < 2:
        raise ScenarioError(f"min-runs must be an integer >= 2, got {quote(min_runs)}")
    if by not in BY:
        raise ScenarioError(f"by must be 'weekday' or None, got {quote(by)}")
    if scale not in SCALES:
        raise ScenarioError(f"scale must be one of {', '.join(SCALES)}, got {quote(scale)}")


def _prepare(history: pl.DataFrame, half_life_days, scale: str) -> tuple[pl.DataFrame, str,
                                                                           _dt.date]:
    if not isinstance(history, pl.DataFrame):
        raise DataError("calibrate needs the history frame of mcqueue.io.history.read_history")
    missing = [c for c in _REQUIRED if c not in history.columns]
    if missing:
        raise DataError(f"history lacks column {quote(missing[0])} (read it with "
                        f"mcqueue.io.history.read_history)")
    for name, want in (("duration_minutes", "numeric"), ("success", "boolean")):
        dtype = history.schema[name]
        if not (dtype.is_numeric() if want == "numeric" else dtype == pl.Boolean):
            raise DataError(f"history column {quote(name)} must be {want}, got type {dtype} "
                            f"(read the history with mcqueue.io.history.read_history)")
    h = history
    bd = h.schema["batch_date"]
    if isinstance(bd, pl.Datetime):
        h = h.with_columns(pl.col("batch_date").dt.date())
    elif bd == pl.String:
        h = h.with_columns(pl.col("batch_date").str.strptime(pl.Date, "%Y-%m-%d", strict=False))
    elif bd != pl.Date:
        raise DataError(f"history column 'batch_date' must hold dates, got type {bd}")
    if h["batch_date"].null_count():
        raise DataError("history column 'batch_date' has a missing or unreadable date (read "
                        "the history with mcqueue.io.history.read_history, which names the row)")
    for name, dtype in (("workload_class", pl.String()),
                        ("estimated_runtime_minutes", pl.Float64()),
                        ("attempt", pl.Int64()), ("source_row", pl.Int64())):
        if name not in h.columns:
            h = h.with_columns(pl.lit(None, dtype).alias(name))
    for name in ("ready_at", "finished_at", "started_at"):
        if name not in h.columns:
            h = h.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias(name))
    if "requested_window" not in h.columns:
        h = h.with_columns(pl.lit(None, pl.String).alias("requested_window"))
    h = h.with_columns(pl.col("duration_minutes", "estimated_runtime_minutes")
                       .cast(pl.Float64).fill_nan(None))
    ok = pl.col("success") & pl.col("duration_minutes").is_not_null()
    n_ok = h.select(ok.sum()).item()
    if not n_ok:
        raise DataError("the history has no successful run with a duration: nothing to "
                        "calibrate")
    if scale == "auto":
        has_est = h.filter(ok)["estimated_runtime_minutes"].null_count() == 0
        scale = "ratio" if has_est else "absolute"
    elif scale == "ratio":
        lacking = h.with_row_index("__i", 1).filter(
            ok & pl.col("estimated_runtime_minutes").is_null()).head(1)
        if lacking.height:
            row = lacking["source_row"][0] or lacking["__i"][0]
            raise DataError(f"row {row} (job {quote(lacking['job_name'][0])}): column "
                            f"'estimated_runtime_minutes' is missing, and scale 'ratio' needs "
                            f"it on every successful run, got null")
    newest = h["batch_date"].max()
    assert isinstance(newest, _dt.date)  # a Date column without nulls, checked above
    age = (pl.lit(newest) - pl.col("batch_date")).dt.total_days().cast(pl.Float64)
    weight = (pl.lit(0.5) ** (age / float(half_life_days)) if half_life_days is not None
              else pl.lit(1.0))
    d = pl.col("duration_minutes").clip(lower_bound=MIN_DURATION_MINUTES)
    factor = d / pl.col("estimated_runtime_minutes") if scale == "ratio" else d
    h = h.with_columns(
        ok.alias("__ok"),
        weight.alias("__w"),
        factor.log().alias("__y"),
        factor.alias("__v"),
        pl.col("batch_date").dt.weekday().cast(pl.Int8).alias("weekday"),
        (pl.col("batch_date").dt.offset_by("1d").dt.day() == 1).alias("__me"),
        pl.col("finished_at").fill_null(_NEVER).alias("__finish_order"),
        pl.col("started_at").fill_null(_NEVER).alias("__start_order"),
        pl.col("source_row").fill_null(0).alias("source_row"),
        pl.when(pl.col("ready_at").is_not_null() & pl.col("requested_window").is_not_null())
        .then(_lateness_expr()).alias("__late"),
    )
    # the job's class: its most recent non-null workload_class
    classes = (h.filter(pl.col("workload_class").is_not_null())
               .group_by("job_name")
               .agg(pl.col("workload_class").sort_by(_ORDER).last().alias("__class")))
    h = h.select("job_name", "batch_date", "duration_minutes", "success", "attempt", "__late",
                 "__ok", "__w", "__y", "__v", "weekday", "__me", *_ORDER[1:]) \
        .join(classes, on="job_name", how="left") \
        .rename({"__class": "workload_class"})
    return h, scale, newest


# ---------------------------------------------------------------- per-unit statistics
# Fits use power sums per group (sum w, w^2, w y, w y^2, y .. y^4 with y shifted by the history's
# mean log): one pass of plain sums in polars, the moments in closed form afterwards. Log
# durations are bounded (|y| < 25), so the sums lose no precision that matters.
def _recent(col: str, k: int) -> pl.Expr:
    """The last k values of a group in run order (oldest first); the column has no nulls."""
    return pl.col(col).sort_by(_ORDER).tail(k)


def _sum_exprs() -> list[pl.Expr]:
    w, y = pl.col("__w"), pl.col("__yc")
    return [pl.len().alias("runs"), w.sum().alias("W"), (w * w).sum().alias("W2"),
            (w * y).sum().alias("Swy"), (w * y * y).sum().alias("Swy2"),
            y.sum().alias("S1"), (y ** 2).sum().alias("S2"), (y ** 3).sum().alias("S3"),
            (y ** 4).sum().alias("S4"),
            pl.col("__me").sum().cast(pl.Int64).alias("month_end_runs"),
            y.filter(pl.col("__me")).sum().alias("S1_me"),
            (y ** 2).filter(pl.col("__me")).sum().alias("S2_me")]


def _moments(shift: float) -> list[pl.Expr]:
    """Weighted log-mean and sum of squares, unweighted mean and central moments, from sums."""
    W, Swy, Swy2 = pl.col("W"), pl.col("Swy"), pl.col("Swy2")
    n = pl.col("runs").cast(pl.Float64)
    a1, a2, a3, a4 = (pl.col(f"S{k}") / n for k in (1, 2, 3, 4))
    return [
        (Swy / W + shift).alias("log_mean_own"),
        (Swy2 - Swy * Swy / W).clip(lower_bound=0.0).alias("ss"),
        (a1 + shift).alias("y_mean"),
        (a2 - a1 * a1).clip(lower_bound=0.0).alias("m2"),
        (a3 - 3 * a1 * a2 + 2 * a1 ** 3).alias("m3"),
        (a4 - 4 * a1 * a3 + 6 * a1 * a1 * a2 - 3 * a1 ** 4).clip(lower_bound=0.0).alias("m4"),
    ]


def _unit_stats(h: pl.DataFrame, ok: pl.DataFrame, keys: list[str], shift: float
                ) -> pl.DataFrame:
    """One row per unit (job, or job x weekday): runs, sums and moments, recent runs,
    failures, reruns and lateness."""
    fits = ok.group_by(keys).agg(
        *_sum_exprs(),
        _recent("duration_minutes", RECENT_RUNS).alias("recent_minutes"),
        _recent("__v", RECENT_RUNS).alias("recent_values"),
    ).with_columns(_moments(shift))
    tries = h.group_by(keys).agg(
        pl.col("workload_class").first(),
        pl.len().alias("attempts"),
        (~pl.col("success")).sum().cast(pl.Int64).alias("failed_runs"),
        pl.col("batch_date").n_unique().cast(pl.Int64).alias("nights"),
    )
    if int(tries["nights"].sum()) == h.height:  # one row per unit and night: attempts decide
        reran = h.group_by(keys).agg((pl.col("attempt") > 1).fill_null(False).sum()
                                     .cast(pl.Int64).alias("rerun_nights"))
    else:
        per_night = h.group_by(keys + ["batch_date"]).agg(
            pl.len().alias("__rows"), pl.col("attempt").max().alias("__att"))
        reran = per_night.group_by(keys).agg(
            pl.when(pl.col("__att").is_not_null()).then(pl.col("__att") > 1)
            .otherwise(pl.col("__rows") > 1).sum().cast(pl.Int64).alias("rerun_nights"))
    out = tries.join(fits, on=keys, how="left").join(reran, on=keys, how="left")
    out = out.join(_lateness(h, keys), on=keys, how="left")
    return out.sort(keys, nulls_last=True)


def _lateness_expr() -> pl.Expr:
    window = pl.col("requested_window")
    req = (pl.col("batch_date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
           + pl.duration(hours=window.str.slice(0, 2).cast(pl.Int64, strict=False),
                         minutes=window.str.slice(3, 2).cast(pl.Int64, strict=False)))
    raw = (pl.col("ready_at") - req).dt.total_microseconds() / 60e6
    half = LATENESS_WRAP_MINUTES / 2
    return (raw + half) % LATENESS_WRAP_MINUTES - half


def _lateness(h: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    lat = h.filter(pl.col("__late").is_not_null())
    x = pl.col("__late")
    return lat.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("lateness_runs"),
        x.mean().alias("lateness_mean_minutes"),
        x.quantile(0.5, interpolation="linear").alias("lateness_p50_minutes"),
        x.quantile(0.9, interpolation="linear").alias("lateness_p90_minutes"),
    )


# ---------------------------------------------------------------- pooling
@dataclass(frozen=True)
class Hyper:
    """A class's (or the whole history's) spreads between jobs, for partial pooling."""

    units: int          # jobs (or job x weekday units) with >= 2 runs that estimated them
    log_mean: float     # m: mean of their log-means
    tau2: float         # between-job variance of true log-means (MoM, clipped at 0)
    log_var: float      # lambda: mean of their bias-corrected log-variances
    omega2: float       # between-job variance of true log-variances (MoM, clipped at 0)


def _hyper(mu, s2, m_eff, nu) -> Hyper | None:
    """Method-of-moments spreads from units with nu > 0 (at least two runs); None below two."""
    keep = nu > 0
    if keep.sum() < 2:
        return None
    mu, s2, m_eff, nu = mu[keep], s2[keep], m_eff[keep], nu[keep]
    ell = np.log(np.maximum(s2, LOG_VAR_FLOOR)) - (digamma(nu / 2) - np.log(nu / 2))
    v = trigamma(nu / 2)
    lam = float(ell.mean())
    omega2 = max(0.0, float(ell.var(ddof=1) - v.mean()))
    m = float(mu.mean())
    tau2 = max(0.0, float(mu.var(ddof=1) - (s2 / m_eff).mean()))
    return Hyper(int(keep.sum()), m, tau2, lam, omega2)


def _fit_units(stats: pl.DataFrame, min_runs: int, night_var: float | None
               ) -> tuple[pl.DataFrame, dict[str | None, Hyper | None]]:
    """Own fits, then partial pooling toward the class (or all jobs) for units under min_runs."""
    n = stats["runs"].fill_null(0).to_numpy().astype(np.float64)
    W = stats["W"].fill_null(0.0).to_numpy()
    W2 = stats["W2"].fill_null(0.0).to_numpy()
    mu = stats["log_mean_own"].fill_null(np.nan).to_numpy()
    ss = stats["ss"].fill_null(np.nan).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        m_eff = np.where(W2 > 0, W * W / W2, 0.0)
        denom = W - np.where(W > 0, W2 / W, 0.0)
        s2 = np.where((n >= 2) & (denom > 0), ss / denom, np.nan)
    nu = np.where(n >= 2, m_eff - 1.0, 0.0)
    nu = np.where(nu > 1e-9, nu, 0.0)
    hyper_all = _hyper(mu, s2, m_eff, nu)
    hypers: dict[str | None, Hyper | None] = {None: hyper_all}
    # each unit's pooling target: its class's spreads, else (no class, or a class with fewer
    # than two units of >= 2 runs) those of all units; one loop over classes, not over units
    codes = (stats["workload_class"].cast(pl.Categorical).to_physical().cast(pl.Int64)
             .fill_null(-1).to_numpy())
    names = stats["workload_class"].to_list()
    target = np.full((n.size, 4), np.nan)  # m, tau2, lambda, omega2
    valid = np.zeros(n.size, dtype=bool)
    if hyper_all is not None:
        target[:] = (hyper_all.log_mean, hyper_all.tau2, hyper_all.log_var, hyper_all.omega2)
        valid[:] = True
    order = np.argsort(codes, kind="stable")
    for idx in np.split(order, np.flatnonzero(np.diff(codes[order])) + 1):
        if idx.size == 0 or codes[idx[0]] < 0:
            continue
        hc = _hyper(mu[idx], s2[idx], m_eff[idx], nu[idx])
        hypers[names[idx[0]]] = hc
        if hc is not None:
            target[idx] = (hc.log_mean, hc.tau2, hc.log_var, hc.omega2)
            valid[idx] = True
    t_m, t_tau2, t_lam, t_omega2 = target.T

    fit = np.where(n >= min_runs, "own", np.where(n >= 1, "unpooled", "none")).astype(object)
    small = (n >= 1) & (n < min_runs)
    pool = small & valid
    alone = small & ~valid & (n < 2)  # one run and nothing to pool with: no variance, no fit
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(nu > 0, nu / 2, 1.0)
        ell = np.log(np.maximum(np.nan_to_num(s2, nan=1.0), LOG_VAR_FLOOR)) - (
            digamma(x) - np.log(x))
        v = trigamma(x)
        b_var = np.where((nu > 0) & (t_omega2 > 0), t_omega2 / (t_omega2 + v), 0.0)
        lv = t_lam + b_var * (np.where(nu > 0, ell, t_lam) - t_lam)
        var_p = np.exp(lv)
        b_mean = np.where(t_tau2 > 0, t_tau2 / (t_tau2 + var_p / m_eff), 0.0)
        mu_p = t_m + b_mean * (mu - t_m)
    log_mean = np.where(pool, mu_p, np.where(alone, np.nan, mu))
    log_var = np.where(pool, var_p, np.where(alone, np.nan, s2))
    w_mean = np.where(pool, b_mean, np.nan)
    w_var = np.where(pool, b_var, np.nan)
    fit[pool] = "pooled"
    fit[alone] = "none"

    has = np.isfinite(log_mean) & np.isfinite(log_var)
    mean = np.where(has, _lognormal_mean(log_mean, np.where(has, log_var, 0.0)), np.nan)
    cv = np.where(has, _cv(np.where(has, log_var, 0.0)), np.nan)
    nv = 0.0 if night_var is None else night_var
    cv_within = np.where(has, _cv(np.maximum(np.where(has, log_var, 0.0) - nv, 0.0)), np.nan)
    own = fit == "own"
    mean_se = np.where(own | ((fit == "unpooled") & (n >= 2)),
                       _mean_se(mean, log_var, m_eff), np.nan)
    cv_se = np.where(own | ((fit == "unpooled") & (n >= 2)), _cv_se(log_var, m_eff), np.nan)
    nn = stats["runs"].fill_null(0).to_numpy().astype(np.float64)
    bc = _bimodality(nn, stats["m2"].fill_null(np.nan).to_numpy(),
                     stats["m3"].fill_null(np.nan).to_numpy(),
                     stats["m4"].fill_null(np.nan).to_numpy())
    me_ratio, me_z = _month_end_test(stats)
    multimodal = (nn >= MULTIMODAL_MIN_RUNS) & (
        (bc > BIMODALITY_THRESHOLD) | (np.abs(np.nan_to_num(me_z)) > MONTH_END_Z))
    out = stats.with_columns(
        pl.Series("fit", fit.astype(str), dtype=pl.String),
        pl.Series("n_eff", m_eff),
        pl.Series("log_mean", log_mean).fill_nan(None),
        pl.Series("log_var", log_var).fill_nan(None),
        pl.Series("mean", mean).fill_nan(None),
        pl.Series("cv", cv).fill_nan(None),
        pl.Series("cv_within", cv_within).fill_nan(None),
        pl.Series("mean_se", mean_se).fill_nan(None),
        pl.Series("cv_se", cv_se).fill_nan(None),
        pl.Series("pool_weight_mean", w_mean).fill_nan(None),
        pl.Series("pool_weight_var", w_var).fill_nan(None),
        pl.Series("bimodality", bc).fill_nan(None),
        pl.Series("month_end_ratio", me_ratio).fill_nan(None),
        pl.Series("month_end_z", me_z).fill_nan(None),
        pl.Series("flag_multimodal", multimodal),
        pl.Series("flag_little_history", n < min_runs),
    )
    return out, hypers


# ---------------------------------------------------------------- night-wide component
@dataclass(frozen=True)
class NightComponent:
    """The one-way random-effects split of log-runtime variance (method of moments)."""

    nights: int
    runs: int
    night_var: float       # sigma2_night, clipped at 0
    night_var_se: float
    within_var: float      # MSW: the per-job part
    n0: float

    @property
    def night_cv(self) -> float:
        return math.sqrt(math.expm1(self.night_var))


def night_component(ok: pl.DataFrame, jobs: pl.DataFrame) -> NightComponent | None:
    """ANOVA on r = y - mean_job(y) over successful runs of jobs with >= 2 of them, grouped by
    night. ``jobs`` holds each job's unweighted ``y_mean`` and ``runs``. None when fewer than
    two nights or no error degrees of freedom."""
    means = jobs.filter(pl.col("runs") >= 2).select("job_name", "y_mean")
    r = ok.select("job_name", "batch_date", "__y").join(means, on="job_name", how="inner") \
        .with_columns((pl.col("__y") - pl.col("y_mean")).alias("__r"))
    per = r.group_by("batch_date").agg(pl.len().alias("n"), pl.col("__r").sum().alias("s1"),
                                       (pl.col("__r") ** 2).sum().alias("s2"))
    a = per.height
    n_jobs = means.height
    n_i = per["n"].to_numpy().astype(np.float64)
    N = float(n_i.sum())
    df_w = N - a - n_jobs + 1  # the error degrees of freedom of the additive job + night model
    if a < 2 or df_w <= 0:
        return None
    s1 = per["s1"].to_numpy()
    mean_i = s1 / n_i
    grand = float(s1.sum() / N)
    ssb = float((n_i * (mean_i - grand) ** 2).sum())
    ssw = float(np.maximum(per["s2"].to_numpy() - s1 * mean_i, 0.0).sum())
    msb = ssb / (a - 1)
    msw = ssw / df_w
    n0 = (N - float((n_i * n_i).sum()) / N) / (a - 1)
    night_var = max(0.0, (msb - msw) / n0)
    se = math.sqrt(2.0 / (n0 * n0) * (msb * msb / (a - 1) + msw * msw / df_w))
    return NightComponent(a, int(N), night_var, se, msw, n0)


# ---------------------------------------------------------------- class and global levels
def _pooled_level(h: pl.DataFrame, ok: pl.DataFrame, keys: list[str], scale: str,
                  jobs: pl.DataFrame, shift: float, night_var: float | None) -> pl.DataFrame:
    """Class rows (keys = [workload_class]) or the one global row (keys = []), from the jobs'
    sums (no pass over the runs) plus the recent factors and lateness (one pass each)."""
    if not keys:
        h = h.with_columns(pl.lit(0).alias("__g"))
        ok = ok.with_columns(pl.lit(0).alias("__g"))
        jobs = jobs.with_columns(pl.lit(0).alias("__g"))
    gkeys = keys or ["__g"]
    jobs = jobs.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in gkeys))
    fitted = pl.col("runs").fill_null(0) > 0
    fit = jobs.group_by(gkeys).agg(
        pl.col("runs").fill_null(0).sum().alias("runs"),
        pl.col("W").fill_null(0).sum().alias("W"),
        pl.col("W2").fill_null(0).sum().alias("W2"),
        pl.col("Swy").fill_null(0).sum().alias("Swy"),
        pl.col("Swy2").fill_null(0).sum().alias("Swy2"),
        pl.col("ss").fill_null(0).sum().alias("ss_within"),
        (pl.col("W2") / pl.col("W")).filter(fitted).sum().alias("lost"),
        pl.col("attempts").sum().alias("attempts"),
        pl.col("failed_runs").sum().alias("failed_runs"),
        pl.col("nights").sum().alias("nights"),
        pl.col("rerun_nights").fill_null(0).sum().alias("rerun_nights"),
        fitted.sum().cast(pl.Int64).alias("jobs"),
    )
    if scale == "ratio":
        rec = pl.col("__v")
        src = ok
    else:  # relative to each job's fitted mean: the class's shape with mean about 1
        src = ok.join(jobs.select("job_name", pl.col("mean").alias("__jmean")), on="job_name",
                      how="left")
        rec = pl.col("duration_minutes") / pl.col("__jmean")
    recent = src.with_columns(rec.alias("__rec")).filter(pl.col("__rec").is_not_null()) \
        .group_by(gkeys).agg(
        _recent("__rec", RECENT_RUNS_POOLED).alias("recent_factors"))
    fit = fit.join(recent, on=gkeys, how="left").join(_lateness(h, gkeys), on=gkeys, how="left")
    if keys:
        fit = fit.sort(keys)
    else:
        fit = fit.drop("__g")
    W = fit["W"].to_numpy()
    W2 = fit["W2"].to_numpy()
    Swy = fit["Swy"].to_numpy()
    Swy2 = fit["Swy2"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        m_eff = W * W / W2
        if scale == "ratio":  # all runs of the class: within- and between-job spread
            dof = W - W2 / W
            var = np.where(dof > 1e-9, np.maximum(Swy2 - Swy * Swy / W, 0.0) / dof, np.nan)
            mu = Swy / W + shift
            mean = _lognormal_mean(mu, var)
        else:  # pooled within-job variance; tonight's estimate is the mean
            dof = W - fit["lost"].to_numpy()
            var = np.where(dof > 1e-9, fit["ss_within"].to_numpy() / dof, np.nan)
            mu = np.zeros_like(W)
            mean = np.where(np.isfinite(var), 1.0, np.nan)
    nv = 0.0 if night_var is None else night_var
    has = np.isfinite(var)
    v0 = np.where(has, var, 0.0)
    return fit.with_columns(
        pl.lit("class" if keys else "global").alias("level"),
        pl.lit("ratio").alias("scale"),
        pl.Series("fit", np.where(has, "own", "none"), dtype=pl.String),
        pl.Series("n_eff", m_eff),
        pl.Series("log_mean", np.where(has, mu, np.nan)).fill_nan(None),
        pl.Series("log_var", var).fill_nan(None),
        pl.Series("mean", np.where(has, mean, np.nan)).fill_nan(None),
        pl.Series("cv", np.where(has, _cv(v0), np.nan)).fill_nan(None),
        pl.Series("cv_within", np.where(has, _cv(np.maximum(v0 - nv, 0.0)), np.nan))
        .fill_nan(None),
        pl.Series("mean_se", np.where(has & (scale == "ratio"), _mean_se(mean, v0, m_eff),
                                      np.nan)).fill_nan(None),
        pl.Series("cv_se", np.where(has, _cv_se(v0, m_eff), np.nan)).fill_nan(None),
        (pl.col("failed_runs") / pl.col("attempts")).alias("failed_share"),
        (pl.col("rerun_nights") / pl.col("nights")).alias("rerun_share"),
        pl.lit(False).alias("flag_multimodal"),
        pl.lit(None, pl.Boolean).alias("flag_little_history"),
    )


# ---------------------------------------------------------------- the model
MODEL_COLUMNS = (
    "level", "job_name", "weekday", "workload_class", "fit", "scale",
    "runs", "n_eff", "attempts", "failed_runs", "failed_share", "nights", "rerun_nights",
    "rerun_share", "log_mean", "log_var", "mean", "cv", "cv_within", "mean_se", "cv_se",
    "pool_weight_mean", "pool_weight_var", "bimodality", "month_end_runs", "month_end_ratio",
    "month_end_z", "flag_multimodal",
    "flag_little_history", "lateness_runs", "lateness_mean_minutes", "lateness_p50_minutes",
    "lateness_p90_minutes", "recent_minutes", "recent_factors", "jobs", "hyper_units",
    "hyper_log_mean", "tau2", "hyper_log_var", "omega2",
)
MODEL_SCHEMA: dict[str, pl.DataType] = {
    "level": pl.String(), "job_name": pl.String(), "weekday": pl.Int8(),
    "workload_class": pl.String(), "fit": pl.String(), "scale": pl.String(),
    "runs": pl.Int64(), "n_eff": pl.Float64(), "attempts": pl.Int64(),
    "failed_runs": pl.Int64(), "failed_share": pl.Float64(), "nights": pl.Int64(),
    "rerun_nights": pl.Int64(), "rerun_share": pl.Float64(), "log_mean": pl.Float64(),
    "log_var": pl.Float64(), "mean": pl.Float64(), "cv": pl.Float64(),
    "cv_within": pl.Float64(), "mean_se": pl.Float64(), "cv_se": pl.Float64(),
    "pool_weight_mean": pl.Float64(), "pool_weight_var": pl.Float64(),
    "bimodality": pl.Float64(), "month_end_runs": pl.Int64(), "month_end_ratio": pl.Float64(),
    "month_end_z": pl.Float64(), "flag_multimodal": pl.Boolean(),
    "flag_little_history": pl.Boolean(), "lateness_runs": pl.Int64(),
    "lateness_mean_minutes": pl.Float64(), "lateness_p50_minutes": pl.Float64(),
    "lateness_p90_minutes": pl.Float64(), "recent_minutes": pl.List(pl.Float64()),
    "recent_factors": pl.List(pl.Float64()), "jobs": pl.Int64(), "hyper_units": pl.Int64(),
    "hyper_log_mean": pl.Float64(), "tau2": pl.Float64(), "hyper_log_var": pl.Float64(),
    "omega2": pl.Float64(),
}
assert tuple(MODEL_SCHEMA) == MODEL_COLUMNS


@dataclass(frozen=True)
class RuntimeFit:
    """What the model says about one job tonight (`CalibrationModel.lookup`).

    ``scale == "ratio"``: ``mean`` is a factor on tonight's ``estimated_runtime_minutes`` and
    ``recent`` are past durations divided by the estimate they were planned with (class and
    global levels are always on this scale). ``scale == "absolute"``: ``mean`` and ``recent`` are
    minutes and tonight's estimate is not used. ``cv`` is the whole spread of a run (use it when
    the night-wide factor is not simulated); ``cv_within`` is the spread left once the fitted
    night-wide component is taken out (use it with ``night_cv``).
    """

    level: str
    scale: str
    mean: float
    cv: float
    cv_within: float
    runs: int
    fit: str
    recent: tuple[float, ...]
    rerun_share: float | None = None
    weekday: int | None = None
    flags: tuple[str, ...] = ()

    def mean_minutes(self, estimate_minutes: float) -> float:
        """Tonight's mean runtime for a job whose record says ``estimate_minutes``."""
        return self.mean * estimate_minutes if self.scale == "ratio" else self.mean

    def recent_minutes(self, estimate_minutes: float) -> tuple[float, ...]:
        """The recent runs as tonight's runtimes (scaled by tonight's estimate on ``ratio``)."""
        if self.scale == "ratio":
            return tuple(v * estimate_minutes for v in self.recent)
        return self.recent


@dataclass(frozen=True)
class ResolvedRuntimes:
    """`CalibrationModel.resolve` for a whole night, as numpy arrays in the jobs' order.

    ``level`` indexes ``LEVEL_NAMES`` (0: none, the caller's defaults apply). ``mean_minutes`` is
    tonight's mean runtime (the estimate itself where level is 0), ``cv``/``cv_within`` are NaN
    where level is 0, ``rerun_share`` is NaN where unknown. The recent runs of job i, in minutes
    for tonight, are ``recent_minutes[recent_offsets[i]:recent_offsets[i + 1]]`` (oldest first).
    """

    LEVEL_NAMES = ("none", "job", "class", "global")
    level: np.ndarray
    mean_minutes: np.ndarray
    cv: np.ndarray
    cv_within: np.ndarray
    rerun_share: np.ndarray
    recent_offsets: np.ndarray
    recent_minutes: np.ndarray

    def counts(self) -> dict[str, int]:
        """How many jobs took their parameters from each level."""
        c = np.bincount(self.level, minlength=len(self.LEVEL_NAMES))
        return {name: int(c[i]) for i, name in enumerate(self.LEVEL_NAMES)}


@dataclass(frozen=True)
class CalibrationModel:
    """Fitted runtimes per job (and job x weekday), per class and for the whole history.

    ``table`` has one row per unit (`MODEL_COLUMNS`); ``settings`` holds the model-wide values:
    version, scale, half_life_days, min_runs, by, newest_batch_date, nights, runs, the night-wide
    component (night_var, night_var_se, night_cv, within_var; None when it could not be fitted).
    """

    table: pl.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ accessors
    @property
    def scale(self) -> str:
        return self.settings["scale"]

    @property
    def night_cv(self) -> float | None:
        return self.settings.get("night_cv")

    def to_frame(self) -> pl.DataFrame:
        """The model as one frame, one row per job / job x weekday / class / global level."""
        return self.table

    # ------------------------------------------------------------ files
    def write(self, path: str | os.PathLike) -> None:
        """Write the model as Parquet atomically (a temp file in the same folder + os.replace):
        a failed write leaves any file already at ``path`` as it was."""
        import io

        from ..io.files import write_atomic

        meta = json.dumps({"kind": MODEL_KIND, **self.settings}, sort_keys=True)
        buf = io.BytesIO()
        self.table.write_parquet(buf, metadata={_META_KEY: meta})
        try:
            write_atomic(path, buf.getvalue())
        except OSError as exc:
            raise DataError(f"cannot write {quote(str(path))}: {exc.strerror or exc}") from None

    @classmethod
    def read(cls, path: str | os.PathLike) -> CalibrationModel:
        """Read a model written by `write`; one DataError for anything that is not one."""
        name = quote(str(path))
        try:
            meta = pl.read_parquet_metadata(Path(path))
        except FileNotFoundError:
            raise DataError(f"cannot read {name}: no such file") from None
        except OSError as exc:
            raise DataError(f"cannot read {name}: {exc.strerror or exc}") from None
        except Exception as exc:  # polars' own errors for a file that is not Parquet
            raise DataError(f"{name} is not an mcqueue calibration model (not a Parquet file: "
                            f"{first_line(exc)})") from None
        raw = meta.get(_META_KEY)
        if raw is None:
            raise DataError(f"{name} is not an mcqueue calibration model (a Parquet file "
                            f"without the {_META_KEY!r} metadata that calibrate writes)")
        try:
            settings = json.loads(raw)
        except ValueError:
            settings = None
        if not isinstance(settings, dict) or settings.get("kind") != MODEL_KIND:
            raise DataError(f"{name} is not an mcqueue calibration model (its "
                            f"{_META_KEY!r} metadata is not a model header)")
        version = settings.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise DataError(f"{name}: model version is not an integer, got {quote(version)}")
        if version > MODEL_VERSION:
            raise DataError(f"{name} is a version {version} model; this mcqueue reads up to "
                            f"version {MODEL_VERSION}: upgrade mcqueue or calibrate again")
        try:
            table = pl.read_parquet(Path(path))
        except Exception as exc:
            raise DataError(f"cannot read {name} as Parquet: {first_line(exc)}") from None
        missing = [c for c in MODEL_COLUMNS if c not in table.columns]
        if missing:
            raise DataError(f"{name} is not a complete calibration model: column "
                            f"{quote(missing[0])} is missing")
        settings.pop("kind")
        try:
            table = table.select(MODEL_COLUMNS).cast(MODEL_SCHEMA)  # type: ignore[arg-type]
        except Exception as exc:
            raise DataError(f"{name}: model columns have the wrong types "
                            f"({first_line(exc)})") from None
        return cls(table, settings)

    # ------------------------------------------------------------ lookups
    def _usable(self) -> pl.DataFrame:
        return self.table.filter(pl.col("mean").is_not_null() & pl.col("cv").is_not_null())

    @cached_property
    def _index(self) -> dict[tuple, int]:
        """(level, job_name, weekday, workload_class) of every usable row -> its row number."""
        t = self.table.with_row_index("__i").filter(pl.col("mean").is_not_null()
                                                     & pl.col("cv").is_not_null())
        keys = zip(t["level"], t["job_name"], t["weekday"], t["workload_class"], t["__i"])
        index: dict[tuple, int] = {}
        for level, job, wd, cls, i in keys:  # one entry per model row, built once
            key = (level, job, wd) if level == "job" else (level, cls)
            index.setdefault(key, i)
        return index

    def lookup(self, job_name: str, workload_class: str | None = None,
               batch_date: _dt.date | str | None = None) -> RuntimeFit | None:
        """The fit tonight's job takes: its own (by weekday first when the model has weekday
        rows and ``batch_date`` is given), else its class's, else the whole history's; None when
        the model has none of them (the caller's own defaults apply)."""
        keys: list[tuple] = []
        if self.settings.get("by") == "weekday" and batch_date is not None:
            keys.append(("job", job_name, _weekday(batch_date)))
        keys.append(("job", job_name, None))
        if workload_class is not None:
            keys.append(("class", workload_class))
        keys.append(("global", None))
        for key in keys:
            i = self._index.get(key)
            if i is not None:
                return self._fit_of(self.table.row(i, named=True))
        return None

    def _fit_of(self, r: dict) -> RuntimeFit:
        level = r["level"]
        scale = self.scale if level == "job" else "ratio"
        if level == "job" and scale == "absolute":
            recent = r["recent_minutes"] or []
        else:
            recent = r["recent_factors"] or []
        flags = tuple(f for f, on in (("little_history", r["flag_little_history"]),
                                      ("multimodal", r["flag_multimodal"])) if on)
        return RuntimeFit(level=level, scale=scale, mean=r["mean"], cv=r["cv"],
                          cv_within=r["cv_within"], runs=r["runs"], fit=r["fit"],
                          recent=tuple(recent), rerun_share=r["rerun_share"],
                          weekday=r["weekday"], flags=flags)

    def resolve(self, job_names: Sequence[str], workload_classes: Sequence[str | None],
                estimates: Sequence[float] | np.ndarray,
                batch_dates: Sequence[_dt.date | str] | None = None) -> ResolvedRuntimes:
        """`lookup` for every job of a night at once (polars joins, no loop over jobs)."""
        n = len(job_names)
        est = np.asarray(estimates, dtype=np.float64)
        if len(workload_classes) != n or est.shape != (n,) or (
                batch_dates is not None and len(batch_dates) != n):
            raise DataError("resolve needs one workload_class, estimate (and batch date) per job")
        night = pl.DataFrame({
            "__i": np.arange(n, dtype=np.int64),
            "job_name": pl.Series(list(job_names), dtype=pl.String),
            "workload_class": pl.Series(list(workload_classes), dtype=pl.String),
            "__est": est,
        })
        if self.settings.get("by") == "weekday" and batch_dates is not None:
            night = night.with_columns(pl.Series("weekday", [_weekday(d) for d in batch_dates],
                                                 dtype=pl.Int8))
        else:
            night = night.with_columns(pl.lit(None, pl.Int8).alias("weekday"))
        usable = self._usable()
        job_scale = self.scale
        values = ["mean", "cv", "cv_within", "rerun_share", "recent"]

        def level_frame(keys: list[str], cond: pl.Expr, recent_col: str,
                        code: int) -> pl.DataFrame:
            frame = usable.filter(cond).select(
                *keys, pl.col("mean"), pl.col("cv"), pl.col("cv_within"),
                pl.col("rerun_share"), pl.col(recent_col).alias("recent"),
                pl.lit(code, pl.Int8).alias("level_code"))
            return frame.unique(keys, keep="first", maintain_order=True) if keys else frame.head(1)

        job_recent = "recent_minutes" if job_scale == "absolute" else "recent_factors"
        tiers = [
            (level_frame(["job_name", "weekday"],
                         (pl.col("level") == "job") & pl.col("weekday").is_not_null(),
                         job_recent, 1), ["job_name", "weekday"], job_scale),
            (level_frame(["job_name"], (pl.col("level") == "job")
                         & pl.col("weekday").is_null(), job_recent, 1), ["job_name"], job_scale),
            (level_frame(["workload_class"], pl.col("level") == "class",
                         "recent_factors", 2), ["workload_class"], "ratio"),
        ]
        out = night
        for t, (frame, keys, sc) in enumerate(tiers):
            frame = frame.with_columns(pl.lit(sc == "ratio").alias("ratio"))
            out = out.join(frame.rename({c: f"{c}_{t}" for c in frame.columns if c not in keys}),
                           on=keys, how="left")
        g = level_frame([], pl.col("level") == "global", "recent_factors", 3)
        t = len(tiers)
        if g.height == 0:  # no global fit: an all-null row keeps the columns
            g = pl.DataFrame(schema=g.schema).vstack(
                pl.DataFrame([[None]] * len(g.columns), schema=g.schema))
        out = out.join(g.with_columns(pl.lit(True).alias("ratio"))
                       .rename({c: f"{c}_{t}" for c in g.columns + ["ratio"]}), how="cross")
        tiers_n = t + 1
        out = out.sort("__i")
        pick = pl.coalesce([pl.when(pl.col(f"level_code_{k}").is_not_null()).then(pl.lit(k))
                            for k in range(tiers_n)])
        out = out.with_columns(pick.alias("__tier"))

        def chosen(name: str) -> pl.Expr:
            expr = pl.lit(None)
            for k in reversed(range(tiers_n)):
                expr = pl.when(pl.col("__tier") == k).then(pl.col(f"{name}_{k}")).otherwise(expr)
            return expr

        out = out.with_columns(*(chosen(c).alias(c) for c in values + ["level_code", "ratio"]))
        scale_by = pl.when(pl.col("ratio")).then(pl.col("__est")).otherwise(1.0)
        out = out.with_columns(
            pl.when(pl.col("__tier").is_null()).then(pl.col("__est"))
            .otherwise(pl.col("mean") * scale_by).alias("mean_minutes"),
            pl.col("recent").fill_null(pl.lit([], pl.List(pl.Float64))).alias("recent_list"),
        )
        lengths = out["recent_list"].list.len().to_numpy().astype(np.int64)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        factor = np.repeat(np.where(out["ratio"].fill_null(False).to_numpy(), est, 1.0), lengths)
        flat = out["recent_list"].explode().drop_nulls().to_numpy().astype(np.float64)
        return ResolvedRuntimes(
            level=out["level_code"].fill_null(0).to_numpy().astype(np.int64),
            mean_minutes=out["mean_minutes"].to_numpy().astype(np.float64),
            cv=out["cv"].fill_null(np.nan).to_numpy().astype(np.float64),
            cv_within=out["cv_within"].fill_null(np.nan).to_numpy().astype(np.float64),
            rerun_share=out["rerun_share"].fill_null(np.nan).to_numpy().astype(np.float64),
            recent_offsets=offsets,
            recent_minutes=flat * factor,
        )


def _weekday(d: _dt.date | str) -> int:
    if isinstance(d, str):
        try:
            d = _dt.date.fromisoformat(d)
        except ValueError:
            raise DataError(f"batch date must be YYYY-MM-DD, got {quote(d)}") from None
    return d.isoweekday()


# ---------------------------------------------------------------- calibrate
def calibrate(history: pl.DataFrame, half_life_days: float | None = None,
              min_runs: int = DEFAULT_MIN_RUNS, by: str | None = None,
              scale: str = "auto") -> CalibrationModel:
    """Fit a runtime model from a normalised history frame (`mcqueue.io.history.read_history`).

    ``half_life_days``: a run ``D`` days older than the newest night weighs ``2 ** (-D / h)``
    (None: all runs weigh the same). ``min_runs``: jobs with fewer successful runs are flagged
    and pulled toward their class. ``by="weekday"``: also fit each job per weekday of its
    batch_date. ``scale``: "ratio" fits duration / estimate, "absolute" fits minutes, "auto"
    takes ratio when every successful run carries its estimate.
    """
    _check_options(half_life_days, min_runs, by, scale)
    h, scale, newest = _prepare(history, half_life_days, scale)
    ok = h.filter(pl.col("__ok"))
    shift = float(ok.select(pl.col("__y").mean()).item())
    ok = ok.with_columns((pl.col("__y") - shift).alias("__yc"))

    job_stats = _unit_stats(h, ok, ["job_name"], shift)
    night = night_component(ok, job_stats)
    nv = night.night_var if night is not None else None
    jobs, hypers = _fit_units(job_stats, min_runs, nv)
    frames = [_finish_units(jobs, scale, weekday=False)]
    if by == "weekday":
        wk, _ = _fit_units(_unit_stats(h, ok, ["job_name", "weekday"], shift), min_runs, nv)
        frames.append(_finish_units(wk, scale, weekday=True))
    if jobs["workload_class"].null_count() < jobs.height:
        cls = _pooled_level(h, ok, ["workload_class"], scale, jobs, shift, nv)
        frames.append(cls.with_columns(*_hyper_columns(cls["workload_class"].to_list(),
                                                       hypers)))
    glob = _pooled_level(h, ok, [], scale, jobs, shift, nv)
    frames.append(glob.with_columns(*_hyper_columns([None], hypers)))

    table = pl.concat([f.select([pl.col(c).cast(t) if c in f.columns
                                 else pl.lit(None, t).alias(c)
                                 for c, t in MODEL_SCHEMA.items()]) for f in frames],
                      how="vertical")
    settings = {
        "version": MODEL_VERSION,
        "scale": scale,
        "half_life_days": half_life_days,
        "min_runs": min_runs,
        "by": by,
        "recent_runs": RECENT_RUNS,
        "newest_batch_date": newest.isoformat(),
        "oldest_batch_date": h.select(pl.col("batch_date").min().dt.to_string("%Y-%m-%d"))
        .item(),
        "nights": int(h["batch_date"].n_unique()),
        "runs": int(ok.height),
        "attempts": int(h.height),
        "night_var": None if night is None else night.night_var,
        "night_var_se": None if night is None else night.night_var_se,
        "night_cv": None if night is None else night.night_cv,
        "within_var": None if night is None else night.within_var,
        "night_nights": None if night is None else night.nights,
        "night_runs": None if night is None else night.runs,
    }
    return CalibrationModel(table, settings)


def _hyper_columns(classes: list[str | None], hypers: dict[str | None, Hyper | None]
                   ) -> list[pl.Series]:
    hs = [hypers.get(c) for c in classes]
    return [
        pl.Series("hyper_units", [h.units if h else None for h in hs], dtype=pl.Int64),
        pl.Series("hyper_log_mean", [h.log_mean if h else None for h in hs], dtype=pl.Float64),
        pl.Series("tau2", [h.tau2 if h else None for h in hs], dtype=pl.Float64),
        pl.Series("hyper_log_var", [h.log_var if h else None for h in hs], dtype=pl.Float64),
        pl.Series("omega2", [h.omega2 if h else None for h in hs], dtype=pl.Float64),
    ]


def _finish_units(units: pl.DataFrame, scale: str, weekday: bool) -> pl.DataFrame:
    return units.with_columns(
        pl.lit("job").alias("level"),
        pl.lit(scale).alias("scale"),
        (pl.col("failed_runs") / pl.col("attempts")).alias("failed_share"),
        (pl.col("rerun_nights").fill_null(0) / pl.col("nights")).alias("rerun_share"),
        (pl.col("recent_values") if scale == "ratio"
         else pl.lit(None, pl.List(pl.Float64))).alias("recent_factors"),
        *(() if weekday else (pl.lit(None, pl.Int8).alias("weekday"),)),
        pl.col("runs").fill_null(0),
    )
