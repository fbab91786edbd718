"""How a replication perturbs a night: lognormal runtime factors and uniform arrival delays."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..errors import ScenarioError


# Upper bounds keep every drawn runtime and arrival finite (cv 100 already makes a job's
# runtime range over eleven orders of magnitude; a week of jitter is no longer "lateness").
MAX_RUNTIME_CV = 100.0
MAX_ARRIVAL_JITTER = 10_080.0


def _check_nonneg(name: str, value: float, most: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{name} must be a number >= 0, got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ScenarioError(f"{name} must be a finite number >= 0, got {value!r}")
    if v > most:
        raise ScenarioError(f"{name} must be at most {most:g}, got {value!r}")
    return v


@dataclass(frozen=True)
class LognormalFactor:
    """Runtime multiplier exp(N(-sigma^2/2, sigma)) with mean 1 and coefficient of variation cv:
    sigma^2 = ln(1 + cv^2)."""

    cv: float

    def __post_init__(self):
        object.__setattr__(self, "cv", _check_nonneg("runtime cv", self.cv, MAX_RUNTIME_CV))

    @property
    def sigma(self) -> float:
        return math.sqrt(math.log1p(self.cv * self.cv))

    @property
    def mean(self) -> float:
        return 1.0

    @property
    def variance(self) -> float:
        return self.cv * self.cv

    def __repr__(self) -> str:
        return f"LognormalFactor(cv={self.cv!r})"


@dataclass(frozen=True)
class UniformDelay:
    """Arrival delay U[0, jitter) minutes (upstream lateness)."""

    jitter: float

    def __post_init__(self):
        object.__setattr__(self, "jitter", _check_nonneg("arrival jitter", self.jitter,
                                                         MAX_ARRIVAL_JITTER))

    @property
    def mean(self) -> float:
        return self.jitter / 2.0

    @property
    def variance(self) -> float:
        return self.jitter * self.jitter / 12.0

    def __repr__(self) -> str:
        return f"UniformDelay(jitter={self.jitter!r})"


@dataclass(frozen=True)
class Perturbation:
    """Noise of a scenario: a global runtime cv, per-workload-class overrides, arrival jitter.

    Perturbation(runtime_cv=0, arrival_jitter=0) replays the deterministic night every time.
    """

    runtime_cv: float = 0.0
    arrival_jitter: float = 0.0
    class_cv: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "runtime_cv", _check_nonneg("runtime cv", self.runtime_cv,
                                                             MAX_RUNTIME_CV))
        object.__setattr__(self, "arrival_jitter",
                           _check_nonneg("arrival jitter", self.arrival_jitter,
                                         MAX_ARRIVAL_JITTER))
        cls = {}
        for k, v in dict(self.class_cv).items():
            if not isinstance(k, str) or not k:
                raise ScenarioError(f"class cv needs a workload class name, got {k!r}")
            cls[k] = _check_nonneg(f"runtime cv for class {k!r}", v, MAX_RUNTIME_CV)
        object.__setattr__(self, "class_cv", dict(sorted(cls.items())))

    def factor(self, workload_class: str) -> LognormalFactor:
        return LognormalFactor(self.class_cv.get(workload_class, self.runtime_cv))

    def delay(self) -> UniformDelay:
        return UniformDelay(self.arrival_jitter)

    def sigmas(self, workload_classes, job_cv: np.ndarray | None = None) -> np.ndarray:
        """Per-job lognormal sigma for a night's workload classes; ``job_cv`` (a night's
        ``runtime_cv`` column: a job's own cv, NaN where it has none) overrides the class and
        global cv job by job (values checked by the record validation: finite, 0..MAX)."""
        cache: dict[str, float] = {}
        out = np.empty(len(workload_classes), dtype=np.float64)
        for i, c in enumerate(workload_classes):
            if c not in cache:
                cache[c] = self.factor(c).sigma
            out[i] = cache[c]
        if job_cv is not None:
            own = ~np.isnan(job_cv)
            out[own] = np.sqrt(np.log1p(job_cv[own] * job_cv[own]))
        return out

    @property
    def is_deterministic(self) -> bool:
        return (self.runtime_cv == 0 and self.arrival_jitter == 0
                and all(v == 0 for v in self.class_cv.values()))

    def __repr__(self) -> str:
        return (f"Perturbation(runtime_cv={self.runtime_cv!r}, "
                f"arrival_jitter={self.arrival_jitter!r}, class_cv={self.class_cv!r})")
