"""Calibrated runtimes for tonight's jobs: a model file (``mcqueue calibrate``) applied to nights.

``--model model.parquet`` (simulate, score, plan, backtest): each job takes its fitted runtime
distribution by ``job_name``, then by ``workload_class``, then the model's whole-history fit, and
only a job the model knows nothing about keeps the options' cv (``--class-cv``, ``--runtime-cv``).
The fitted lognormal is simulated through the engine's existing runtime factor, so no kernel
change is needed: the night's ``runtime_minutes`` become the fitted means (a copy of the night)
and its ``runtime_cv`` the fitted cvs (the factor has mean 1 and that cv). A record's own
``runtime_cv`` field still wins over the fitted cv of its job (it is tonight's input; the fitted
mean is kept).

Three parts of issue 14 are drawn by the engine's general loop (docs/history.md, "Engine
interface"; docs/engine-features.md, section 12), set on the nights here through
``Night.with_runtime_draws``: ``--runtime-model empirical`` (each fitted job draws its runtime
from its recent runs), a night-wide lognormal factor (``--night-cv`` > 0, or ``fitted``: the
model's) and reruns (``--retries``; with a model reruns are on by default, at most one, with
each job's fitted rerun share).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..engine.night import MAX_MINUTES, MAX_RETRIES, Night
from ..engine.perturbation import MAX_RUNTIME_CV
from ..errors import ScenarioError, UsageError, quote
from .calibrate import CalibrationModel, ResolvedRuntimes

RUNTIME_MODELS = ("lognormal", "empirical")
# where a job's runtime distribution came from, in the order they are tried
LEVELS = ("job", "class", "global", "options")
# reruns at most when a model is given and --retries is not: the issue's "at most one rerun by
# default, off unless a model or option turns it on"
DEFAULT_RETRIES_WITH_MODEL = 1


@dataclass(frozen=True)
class RuntimeOptions:
    """How runtimes are drawn: an optional calibration model and the three kernel-level
    options of issue 14.

    ``night_cv``: a number 0..MAX_RUNTIME_CV, or ``"fitted"`` (the model's ``night_cv``; needs
    a model). ``retries``: reruns per job at most (0: off); None (the default): 1 with a model
    (each job reruns with its fitted share), 0 without. Reruns need a model's shares, so
    retries > 0 without one is a usage error. ``model_path`` only labels reports.
    """

    model: CalibrationModel | None = None
    model_path: str | None = None
    runtime_model: str = "lognormal"
    night_cv: float | str = 0.0
    retries: int | None = None

    def __post_init__(self) -> None:
        if self.runtime_model not in RUNTIME_MODELS:
            raise ScenarioError(f"runtime model must be one of {', '.join(RUNTIME_MODELS)}, "
                                f"got {quote(self.runtime_model)}")
        nc = self.night_cv
        if isinstance(nc, str):
            if nc != "fitted":
                try:
                    nc = float(nc)
                except ValueError:
                    raise ScenarioError(f"night cv must be a number >= 0 or 'fitted', got "
                                        f"{quote(self.night_cv)}") from None
        if not isinstance(nc, str):
            if isinstance(nc, bool) or not isinstance(nc, (int, float)) or not math.isfinite(
                    nc) or nc < 0:
                raise ScenarioError(f"night cv must be a finite number >= 0 or 'fitted', got "
                                    f"{quote(self.night_cv)}")
            if nc > MAX_RUNTIME_CV:
                raise ScenarioError(f"night cv must be at most {MAX_RUNTIME_CV:g}, got "
                                    f"{quote(self.night_cv)}")
            nc = float(nc)
        object.__setattr__(self, "night_cv", nc)
        if nc == "fitted" and self.model is None:
            raise UsageError("--night-cv fitted takes the night-wide cv of a calibration "
                             "model: give --model")
        if self.runtime_model == "empirical" and self.model is None:
            raise UsageError("--runtime-model empirical draws from the recent runs of a "
                             "calibration model: give --model")
        r = self.retries
        if r is None:
            r = DEFAULT_RETRIES_WITH_MODEL if self.model is not None else 0
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not (
                0 <= r <= MAX_RETRIES):
            raise ScenarioError(f"retries must be an integer 0 to {MAX_RETRIES}, got "
                                f"{quote(r)}")
        if r > 0 and self.model is None:
            raise UsageError(f"--retries {r} reruns failed jobs with the rerun shares of a "
                             f"calibration model: give --model")
        object.__setattr__(self, "retries", int(r))

    @property
    def used(self) -> bool:
        """False for the defaults: nothing changes, no report key appears."""
        return self.model is not None or self.needs() != ()

    @property
    def reruns(self) -> int:
        """Reruns at most (``retries`` resolved: never None after construction)."""
        return int(self.retries or 0)

    def night_cv_value(self) -> float:
        """The night-wide cv this run asks for (0 when none)."""
        if self.night_cv == "fitted":
            assert self.model is not None  # checked in __post_init__
            return float(self.model.night_cv or 0.0)
        return float(self.night_cv)

    def needs(self) -> tuple[str, ...]:
        """The kernel-level draws of issue 14 this run asks for: "empirical", "night_cv",
        "retries" (each runs through the engine's general loop)."""
        out = []
        if self.runtime_model == "empirical":
            out.append("empirical")
        if self.night_cv_value() > 0:
            out.append("night_cv")
        if self.reruns > 0:
            out.append("retries")
        return tuple(out)


# ---------------------------------------------------------------- applying a model
@dataclass
class AppliedModel:
    """Nights with their calibrated runtimes, and where each job's parameters came from."""

    nights: list[Night]
    options: RuntimeOptions
    levels: dict[str, dict[str, int]] = field(default_factory=dict)  # batch_date -> counts
    record_cv: dict[str, int] = field(default_factory=dict)  # batch_date -> jobs

    def report(self, batch_date: str) -> dict:
        """The ``runtime_model`` key of one night's report (only when the options are used)."""
        o = self.options
        return {
            "model": o.model_path,
            "runtime_model": o.runtime_model,
            "night_cv": o.night_cv_value(),
            "retries": o.retries,
            "levels": dict(self.levels.get(batch_date, dict.fromkeys(LEVELS, 0))),
            "record_cv": int(self.record_cv.get(batch_date, 0)),
        }


def resolve_nights(model: CalibrationModel, nights: Sequence[Night]) -> ResolvedRuntimes:
    """`CalibrationModel.resolve` for the jobs of all ``nights`` at once (one set of joins)."""
    names: list[str] = []
    classes: list[str] = []
    dates: list[str] = []
    for nt in nights:
        names += nt.job_names
        classes += nt.workload_class
        dates += [nt.batch_date] * nt.n_jobs
    est = (np.concatenate([nt.runtime_minutes for nt in nights]) if nights
           else np.zeros(0))
    return model.resolve(names, classes, est, dates if model.settings.get("by") else None)


def apply_model(nights: Sequence[Night], options: RuntimeOptions) -> AppliedModel:
    """Copies of ``nights`` whose jobs carry their calibrated means (``runtime_minutes``) and
    cvs (``runtime_cv``), and the runtime draws of issue 14 (``Night.with_runtime_draws``):
    with ``empirical`` each fitted job's recent runs (a job whose record gives its own
    ``runtime_cv`` keeps its lognormal), with reruns each fitted job's rerun share, and the
    night cv. Without a model only a night cv can apply (to every job)."""
    nights = list(nights)
    model = options.model
    night_cv = options.night_cv_value()
    if model is None:
        if night_cv > 0:
            nights = [nt.with_runtime_draws(night_cv=night_cv) for nt in nights]
        return AppliedModel(nights, options)
    res = resolve_nights(model, nights)
    within = options.night_cv_value() > 0  # the night factor drawn apart: per-job cv_within
    cv_all = res.cv_within if within else res.cv
    out: list[Night] = []
    levels: dict[str, dict[str, int]] = {}
    record: dict[str, int] = {}
    lo = 0
    for nt in nights:
        hi = lo + nt.n_jobs
        lv = res.level[lo:hi]
        fitted = lv > 0
        mean = np.where(fitted, res.mean_minutes[lo:hi], nt.runtime_minutes)
        cv = np.where(fitted, cv_all[lo:hi], np.nan)
        own = (nt.runtime_cv if nt.runtime_cv is not None
               else np.full(nt.n_jobs, np.nan))
        has_own = ~np.isnan(own)
        cv = np.where(has_own, own, cv)  # a record's own cv wins over the fitted one
        _check_fitted(nt, mean, cv)
        counts = np.bincount(lv, minlength=4)
        levels[nt.batch_date] = {"job": int(counts[1]), "class": int(counts[2]),
                                 "global": int(counts[3]), "options": int(counts[0])}
        record[nt.batch_date] = int(has_own.sum())
        applied = dataclasses.replace(nt, runtime_minutes=mean.astype(np.float64),
                                      runtime_cv=cv.astype(np.float64))
        recent = None
        if options.runtime_model == "empirical":
            recent = _recent_runs(res, lo, hi, fitted & ~has_own)
        share = None
        if options.reruns > 0:
            share = np.where(fitted, res.rerun_share[lo:hi], np.nan)
        out.append(applied.with_runtime_draws(recent=recent, rerun_share=share,
                                              retries=options.reruns, night_cv=night_cv))
        lo = hi
    return AppliedModel(out, options, levels, record)


def _recent_runs(res: ResolvedRuntimes, lo: int, hi: int, keep: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Jobs lo..hi - 1's recent runs (tonight's minutes) as a CSR, empty where not ``keep``."""
    off = res.recent_offsets
    lengths = np.where(keep, off[lo + 1:hi + 1] - off[lo:hi], 0)
    ptr = np.zeros(hi - lo + 1, np.int64)
    np.cumsum(lengths, out=ptr[1:])
    parts = [res.recent_minutes[off[lo + j]:off[lo + j + 1]] for j in np.flatnonzero(keep)]
    vals = np.concatenate(parts) if parts else np.zeros(0)
    return ptr, vals.astype(np.float64)


def _check_fitted(nt: Night, mean: np.ndarray, cv: np.ndarray) -> None:
    """The engine's bounds (finite draws): a fitted mean above MAX_MINUTES or cv above
    MAX_RUNTIME_CV is refused naming the job, never clipped."""
    with np.errstate(invalid="ignore"):
        bad_mean = np.flatnonzero(~(mean <= MAX_MINUTES))
        bad_cv = np.flatnonzero(cv > MAX_RUNTIME_CV)
    if bad_mean.size:
        j = int(bad_mean[0])
        raise ScenarioError(f"night {nt.batch_date} job {quote(nt.job_names[j])}: the model's "
                            f"mean runtime {mean[j]:.6g} minutes is above the engine's "
                            f"{MAX_MINUTES:,.0f}")
    if bad_cv.size:
        j = int(bad_cv[0])
        raise ScenarioError(f"night {nt.batch_date} job {quote(nt.job_names[j])}: the model's "
                            f"runtime cv {cv[j]:.6g} is above the engine's {MAX_RUNTIME_CV:g} "
                            f"(a wildly spread history: check its durations)")


def load_options(model_path: str | None = None, runtime_model: str = "lognormal",
                 night_cv: float | str = 0.0, retries: int | None = None) -> RuntimeOptions:
    """`RuntimeOptions` from command-line values, reading the model file when one is given."""
    model = CalibrationModel.read(model_path) if model_path is not None else None
    return RuntimeOptions(model=model, model_path=model_path, runtime_model=runtime_model,
                          night_cv=night_cv, retries=retries)
