"""What the charts draw: small dataclasses of numpy arrays, and the numbers derived from them.

This module is the input contract of `mcqueue.report.charts`: a result (simulate, score, plan,
backtest) is turned into these dataclasses, and the charts draw nothing that is not in them or
computed here. Everything here is plain numpy (no matplotlib, no polars, no click), so the
derived numbers (empirical CDF steps, confidence bands, Gantt lanes, reliability bins, PIT
counts) are tested without drawing.

Times are minutes after the batch start (``batch_start``, "HH:MM"), as in the engine; the
charts label them as clock times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from ..engine.night import MINUTES_PER_DAY, parse_hhmm
from ..stats.intervals import wilson_bounds, z_quantile

MAX_CDF_POINTS = 1000  # more distinct drain values than this: the CDF is drawn on a grid
DEFAULT_CONFIDENCE = 0.95


# ---------------------------------------------------------------- checks
def _show(value, limit: int = 60) -> str:
    """repr() of a value for an error line: control characters escaped, long values cut."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _floats(name: str, values, n: int | None = None, allow_nan: bool = False,
            lo: float | None = None, hi: float | None = None) -> np.ndarray:
    try:
        x = np.array(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numbers, got {_show(values)}") from None
    if n is not None and x.shape[0] != n:
        raise DataError(f"{name} has {x.shape[0]} values, expected {n} (one per row)")
    bad = np.isinf(x) if allow_nan else ~np.isfinite(x)
    if lo is not None:
        bad |= x < lo
    if hi is not None:
        bad |= x > hi
    if bad.any():
        i = int(np.argmax(bad))
        rng = ""
        if lo is not None and hi is not None:
            rng = f" in [{lo:g}, {hi:g}]"
        elif lo is not None:
            rng = f" >= {lo:g}"
        elif hi is not None:
            rng = f" <= {hi:g}"
        kind = "finite numbers or nan (missing)" if allow_nan else "finite numbers"
        raise DataError(f"{name}[{i}] must be {kind}{rng}, got {_show(float(x[i]))}")
    x.setflags(write=False)
    return x


def _bools(name: str, values, n: int) -> np.ndarray:
    x = np.asarray(values)
    if x.shape != (n,) or not (x.dtype == np.bool_ or np.isin(x, (0, 1)).all()):
        raise DataError(f"{name} must be {n} booleans, got {_show(values)}")
    x = x.astype(bool)
    x.setflags(write=False)
    return x


def _texts(name: str, values, n: int | None = None) -> tuple[str, ...]:
    t = tuple(values)
    if n is not None and len(t) != n:
        raise DataError(f"{name} has {len(t)} values, expected {n} (one per row)")
    for i, v in enumerate(t):
        if not isinstance(v, str):
            raise DataError(f"{name}[{i}] must be a string, got {_show(v)}")
    return t


def _confidence(value) -> float:
    if not (isinstance(value, (int, float)) and 0.0 < float(value) < 1.0):
        raise DataError(f"confidence must be in (0, 1), got {_show(value)}")
    return float(value)


def _interval_order(name: str, lo: np.ndarray, mid: np.ndarray, hi: np.ndarray) -> None:
    """lo <= mid <= hi wherever all three are known (nan: missing, not checked)."""
    known = ~(np.isnan(lo) | np.isnan(mid) | np.isnan(hi))
    bad = known & ~((lo <= mid) & (mid <= hi))
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{name}[{i}]: the interval [{lo[i]:g}, {hi[i]:g}] does not contain "
                        f"the estimate {mid[i]:g}")


def _check_clock(batch_start) -> str:
    parse_hhmm(batch_start, "batch_start")
    return batch_start


# ---------------------------------------------------------------- clock
def clock_label(minute: float, batch_start: str) -> str:
    """Minutes after the batch start as a clock time 'HH:MM' (rounded to the minute); a time a
    day or more after the batch start gets ' +Nd' (N whole days after the batch start)."""
    m = int(math.floor(float(minute) + 0.5))
    t = parse_hhmm(batch_start, "batch_start") + m
    days = m // MINUTES_PER_DAY
    hhmm = f"{(t % MINUTES_PER_DAY) // 60:02d}:{t % 60:02d}"
    return hhmm if days <= 0 else f"{hhmm} +{days}d"


_TICK_STEPS = (5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440)


def clock_ticks(lo: float, hi: float, batch_start: str, max_ticks: int = 9) -> np.ndarray:
    """Tick positions (minutes after the batch start) on whole clock steps (5 min .. 1 day):
    the smallest step from ``_TICK_STEPS`` giving at most ``max_ticks`` ticks in [lo, hi]."""
    start = parse_hhmm(batch_start, "batch_start")
    span = max(float(hi) - float(lo), 1.0)
    step = next((s for s in _TICK_STEPS if span / s <= max_ticks - 1), None)
    if step is None:  # longer than ~8 days: whole days
        step = MINUTES_PER_DAY * math.ceil(span / ((max_ticks - 1) * MINUTES_PER_DAY))
    first = math.ceil((lo + start) / step) * step - start
    return np.arange(first, hi + 1e-9, step, dtype=np.float64)


# ---------------------------------------------------------------- (a) drain-time S-curve
@dataclass(frozen=True, eq=False)
class DrainTimes:
    """When the whole night was done, per replication.

    drain_minutes: the minute (after batch start) each replication's last job finished, one per
        replication (the engine's ``queue_drained_minute`` samples).
    cutoff_minute: the cutoff (the night's horizon H); a replication overflows when its drain
        minute is > cutoff_minute.
    batch_start: "HH:MM" of minute 0.
    confidence: level of the pointwise band.
    """

    drain_minutes: np.ndarray
    cutoff_minute: float
    batch_start: str = "01:00"
    confidence: float = DEFAULT_CONFIDENCE

    def __post_init__(self):
        d = _floats("drain_minutes", self.drain_minutes, lo=0.0)
        if d.shape[0] == 0:
            raise DataError("drain_minutes is empty: the curve needs at least one replication")
        object.__setattr__(self, "drain_minutes", d)
        object.__setattr__(self, "cutoff_minute",
                           float(_floats("cutoff_minute", [self.cutoff_minute], lo=0.0)[0]))
        _check_clock(self.batch_start)
        object.__setattr__(self, "confidence", _confidence(self.confidence))

    @property
    def replications(self) -> int:
        return int(self.drain_minutes.shape[0])

    def quantile(self, q: float) -> float:
        """Nearest-rank quantile: the ceil(q n)-th smallest drain minute (the engine's rule for
        the P50/P90 it reports)."""
        s = np.sort(self.drain_minutes)
        return float(s[max(0, math.ceil(q * s.shape[0]) - 1)])

    def done_by(self, minute: float) -> dict[str, float]:
        """P(drain <= minute) across replications, with its Wilson interval."""
        n = self.replications
        k = int(np.count_nonzero(self.drain_minutes <= minute))
        lo, hi = wilson_bounds(k, n, z_quantile(self.confidence))
        return {"estimate": k / n, "ci_low": lo, "ci_high": hi}


@dataclass(frozen=True, eq=False)
class CdfCurve:
    """The empirical CDF as drawn: F(x) = share of replications with drain <= x, with a
    pointwise Wilson band, evaluated at ``x`` (a right-continuous step function: F holds from
    x[i] up to x[i+1])."""

    x: np.ndarray
    cdf: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    exact: bool  # True: x are the distinct drain values (every step); False: a regular grid
    # plus the cutoff and the P50/P90 drain times


def cdf_curve(d: DrainTimes, max_points: int = MAX_CDF_POINTS) -> CdfCurve:
    """Steps of the empirical CDF, with the Wilson score interval of each value.

    Up to ``max_points`` distinct drain values: every step, at the values themselves. More: the
    exact CDF evaluated on ``max_points`` evenly spaced minutes from the smallest to the largest
    value, plus the cutoff and the P50/P90 drain times (so the curve is exact where the chart
    reads it off, and elsewhere at most one grid cell, about a screen pixel, off horizontally);
    a 1,000,000-replication curve stays small. The band is the Wilson interval of k of n at each
    point, the same interval as the overflow probability's, so at the cutoff it is 1 minus that
    interval.
    """
    s = np.sort(d.drain_minutes)
    n = s.shape[0]
    values = np.unique(s)
    if values.shape[0] <= max_points:
        x, exact = values, True
    else:
        marks = np.array([d.cutoff_minute, d.quantile(0.5), d.quantile(0.9)])
        marks = marks[(marks >= s[0]) & (marks <= s[-1])]
        x, exact = np.union1d(np.linspace(s[0], s[-1], max_points), marks), False
    k = np.searchsorted(s, x, side="right")
    z = z_quantile(d.confidence)
    lo = np.empty(x.shape[0])
    hi = np.empty(x.shape[0])
    for i, ki in enumerate(k.tolist()):
        lo[i], hi[i] = wilson_bounds(ki, n, z)
    return CdfCurve(x=x, cdf=k / n, ci_low=lo, ci_high=hi, exact=exact)


# ---------------------------------------------------------------- (b) Gantt
@dataclass(frozen=True, eq=False)
class GanttNight:
    """One replication (or the deterministic replay) job by job.

    job_id, workload_class: per job (any text; the charts escape it).
    start_minute, finish_minute: per job, minutes after batch start (finish >= start).
    workers_used: per job, how many workers it held (1, its ``slots``; an exclusive job the
        whole pool at its start).
    exclusive: per job, True for an exclusive-lock job.
    late: per job, True when the job is late (finished after its deadline, or after the cutoff
        when it has none); the caller decides, the chart marks it.
    workers: the pool size c before any capacity step.
    cutoff_minute, batch_start: as in DrainTimes.
    label: what this replication is, e.g. "deterministic replay" or "replication 731 (P90)".
    capacity: the pool over the night as steps ((minute, size), ...) from minute 0 (issue 13);
        empty: ``workers`` all night. The chart has one lane per worker of the largest pool
        and greys the lanes above the pool of each step.
    deadline_minute: per job its own deadline (minutes after the batch start; NaN: none, the
        cutoff applies), marked on its bar (issue 12); None: no job has one.
    min_lanes: lanes the night needs at least: a re-forecast's started jobs are facts and may
        hold more workers than the pool (issue 15); the lanes above the pool are greyed.
    """

    job_id: tuple[str, ...]
    workload_class: tuple[str, ...]
    start_minute: np.ndarray
    finish_minute: np.ndarray
    workers_used: np.ndarray
    exclusive: np.ndarray
    late: np.ndarray
    workers: int
    cutoff_minute: float
    batch_start: str = "01:00"
    label: str = ""
    capacity: tuple[tuple[float, int], ...] = ()
    deadline_minute: np.ndarray | None = None
    # issue 15: the lanes a re-forecast's facts need (started jobs may hold more workers than
    # the pool; the lanes above the pool are greyed); 0: the pool's
    min_lanes: int = 0

    def __post_init__(self):
        ids = _texts("job_id", self.job_id)
        n = len(ids)
        object.__setattr__(self, "job_id", ids)
        object.__setattr__(self, "workload_class", _texts("workload_class",
                                                          self.workload_class, n))
        s = _floats("start_minute", self.start_minute, n)
        f = _floats("finish_minute", self.finish_minute, n)
        if (f < s).any():
            i = int(np.argmax(f < s))
            raise DataError(f"job {_show(ids[i])}: finish_minute {f[i]:g} is before "
                            f"start_minute {s[i]:g}")
        object.__setattr__(self, "start_minute", s)
        object.__setattr__(self, "finish_minute", f)
        if not (isinstance(self.workers, (int, np.integer)) and self.workers >= 1):
            raise DataError(f"workers must be an integer >= 1, got {_show(self.workers)}")
        object.__setattr__(self, "workers", int(self.workers))
        steps = []
        for item in self.capacity:
            try:
                m, size = item
            except (TypeError, ValueError):
                raise DataError(f"capacity steps must be (minute, size), got "
                                f"{_show(item)}") from None
            m = float(_floats("capacity minute", [m], lo=0.0)[0])
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
                raise DataError(f"capacity size must be an integer >= 0, got {_show(size)}")
            steps.append((m, int(size)))
        if any(b[0] <= a[0] for a, b in zip(steps, steps[1:])):
            raise DataError("capacity minutes must increase")
        object.__setattr__(self, "capacity", tuple(steps))
        ex = _bools("exclusive", self.exclusive, n)
        object.__setattr__(self, "exclusive", ex)
        object.__setattr__(self, "late", _bools("late", self.late, n))
        w = _floats("workers_used", self.workers_used, n, lo=1.0, hi=float(self.lanes))
        if (w != np.round(w)).any():
            i = int(np.argmax(w != np.round(w)))
            raise DataError(f"job {_show(ids[i])}: workers_used must be a whole number, "
                            f"got {w[i]:g}")
        if not steps:  # a constant pool: an exclusive job holds all of it
            w = np.where(ex, self.workers, w)
        w = w.astype(np.int64)
        w.setflags(write=False)
        object.__setattr__(self, "workers_used", w)
        if self.deadline_minute is not None:
            object.__setattr__(self, "deadline_minute",
                               _floats("deadline_minute", self.deadline_minute, n,
                                       allow_nan=True, lo=0.0))
        object.__setattr__(self, "cutoff_minute",
                           float(_floats("cutoff_minute", [self.cutoff_minute], lo=0.0)[0]))
        _check_clock(self.batch_start)
        object.__setattr__(self, "label", _texts("label", [self.label])[0])

    @property
    def n_jobs(self) -> int:
        return len(self.job_id)

    @property
    def lanes(self) -> int:
        """Lanes of the chart: the largest pool of the night."""
        return max([self.workers, int(self.min_lanes)] + [size for _, size in self.capacity])

    def pool_steps(self) -> list[tuple[float, int]]:
        """The pool as steps from minute 0 (``workers`` until the first capacity step)."""
        steps = list(self.capacity)
        if not steps or steps[0][0] > 0.0:
            steps.insert(0, (0.0, self.workers))
        return steps


def assign_lanes(g: GanttNight) -> list[tuple[int, ...]]:
    """The worker lanes each job is drawn in (lane 0 is "worker 1").

    Rule: jobs in order of start minute (ties: input order); each takes the ``workers_used``
    lowest-numbered lanes that are free at its start, a lane being free once the finish minute
    of the last job in it is <= this start (an exclusive job on a constant pool uses every
    lane). Started jobs never move, so a night the engine produced always fits: it never has
    more workers busy than the largest pool (``lanes``; with capacity steps the pool grows and
    shrinks, running jobs keep their lanes); input that needs more lanes is refused with the
    job named.
    """
    free_at = np.full(g.lanes, -np.inf)
    lanes: list[tuple[int, ...]] = [()] * g.n_jobs
    for i in np.argsort(g.start_minute, kind="stable").tolist():
        t = g.start_minute[i]
        need = int(g.workers_used[i])
        free = np.flatnonzero(free_at <= t)
        if free.shape[0] < need:
            busy = g.lanes - free.shape[0]
            raise DataError(
                f"job {_show(g.job_id[i])} starts at minute {t:g} needing {need} of "
                f"{g.lanes} workers while {busy} are still busy: the start/finish times use "
                f"more workers than the pool has")
        take = free[:need]
        free_at[take] = g.finish_minute[i]
        lanes[i] = tuple(int(v) for v in take)
    return lanes


# ---------------------------------------------------------------- (c) queue length
@dataclass(frozen=True, eq=False)
class QueueLength:
    """Jobs waiting (arrived, not started) over the night, across replications.

    minute: time grid, minutes after batch start, increasing.
    mean, p10, p90: per grid minute, the mean and the 10th/90th percentiles of the queue length
        across replications (p10 <= p90).
    traced, replications: when the curve comes from a subset of a run's replications replayed
        one by one, how many were replayed (``traced``) of how many (``replications``); the
        chart says so. None: not stated.
    """

    minute: np.ndarray
    mean: np.ndarray
    p10: np.ndarray
    p90: np.ndarray
    cutoff_minute: float
    batch_start: str = "01:00"
    traced: int | None = None
    replications: int | None = None

    def __post_init__(self):
        t = _floats("minute", self.minute)
        if t.shape[0] < 2 or (np.diff(t) <= 0).any():
            raise DataError("minute must hold at least two increasing grid points")
        n = t.shape[0]
        object.__setattr__(self, "minute", t)
        for name in ("mean", "p10", "p90"):
            object.__setattr__(self, name, _floats(name, getattr(self, name), n, lo=0.0))
        if (self.p10 > self.p90).any():
            i = int(np.argmax(self.p10 > self.p90))
            raise DataError(f"p10[{i}] = {self.p10[i]:g} is above p90[{i}] = {self.p90[i]:g}")
        object.__setattr__(self, "cutoff_minute",
                           float(_floats("cutoff_minute", [self.cutoff_minute], lo=0.0)[0]))
        _check_clock(self.batch_start)
        for name in ("traced", "replications"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))
                                  or v < 1):
                raise DataError(f"{name} must be an integer >= 1 or None, got {_show(v)}")
        if (self.traced is not None and self.replications is not None
                and self.traced > self.replications):
            raise DataError(f"traced ({self.traced}) must be at most replications "
                            f"({self.replications})")


# ---------------------------------------------------------------- (d) per-job risk
@dataclass(frozen=True, eq=False)
class JobRisk:
    """Per job: probability of finishing late, its interval, and the criticality index.

    late_probability, late_ci_low, late_ci_high: share of replications in which the job was
        late, and its confidence interval.
    criticality: share of replications in which the job was on the critical path (None when
        the night has no dependencies).
    """

    job_id: tuple[str, ...]
    workload_class: tuple[str, ...]
    late_probability: np.ndarray
    late_ci_low: np.ndarray
    late_ci_high: np.ndarray
    criticality: np.ndarray | None = None
    confidence: float = DEFAULT_CONFIDENCE

    def __post_init__(self):
        ids = _texts("job_id", self.job_id)
        n = len(ids)
        object.__setattr__(self, "job_id", ids)
        object.__setattr__(self, "workload_class", _texts("workload_class",
                                                          self.workload_class, n))
        for name in ("late_probability", "late_ci_low", "late_ci_high"):
            object.__setattr__(self, name, _floats(name, getattr(self, name), n, lo=0.0, hi=1.0))
        _interval_order("late_probability", self.late_ci_low, self.late_probability,
                        self.late_ci_high)
        if self.criticality is not None:
            object.__setattr__(self, "criticality",
                               _floats("criticality", self.criticality, n, lo=0.0, hi=1.0))
        object.__setattr__(self, "confidence", _confidence(self.confidence))

    def ranked(self) -> np.ndarray:
        """Job indices, highest late probability first (ties: higher criticality, then input
        order)."""
        crit = self.criticality if self.criticality is not None else np.zeros(len(self.job_id))
        return np.lexsort((np.arange(len(self.job_id)), -crit, -self.late_probability))


# ---------------------------------------------------------------- (e) plan
@dataclass(frozen=True, eq=False)
class PlanSeries:
    """One policy's worker sweep (the rows of a plan).

    workers: worker counts, increasing.
    overflow_probability, overflow_ci_low, overflow_ci_high: per count.
    p95_wait_mean, p95_wait_ci_low, p95_wait_ci_high: per count, minutes.
    recommended: the recommended worker count for this series, or None.
    """

    label: str
    workers: np.ndarray
    overflow_probability: np.ndarray
    overflow_ci_low: np.ndarray
    overflow_ci_high: np.ndarray
    p95_wait_mean: np.ndarray
    p95_wait_ci_low: np.ndarray
    p95_wait_ci_high: np.ndarray
    recommended: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "label", _texts("label", [self.label])[0])
        w = _floats("workers", self.workers, lo=1.0)
        if w.shape[0] == 0 or (np.diff(w) <= 0).any() or (w != np.round(w)).any():
            raise DataError(f"workers must be increasing whole numbers, got {_show(w.tolist())}")
        n = w.shape[0]
        object.__setattr__(self, "workers", w.astype(np.int64))
        for name in ("overflow_probability", "overflow_ci_low", "overflow_ci_high"):
            object.__setattr__(self, name, _floats(name, getattr(self, name), n, lo=0.0, hi=1.0))
        for name in ("p95_wait_mean", "p95_wait_ci_low", "p95_wait_ci_high"):
            # a Student-t bound may dip below 0 and has no interval with one replication (nan)
            object.__setattr__(self, name,
                               _floats(name, getattr(self, name), n, allow_nan=True))
        _interval_order("overflow_probability", self.overflow_ci_low, self.overflow_probability,
                        self.overflow_ci_high)
        _interval_order("p95_wait_mean", self.p95_wait_ci_low, self.p95_wait_mean,
                        self.p95_wait_ci_high)
        if self.recommended is not None and int(self.recommended) not in self.workers.tolist():
            raise DataError(f"recommended workers {_show(self.recommended)} is not among the "
                            f"workers of series {_show(self.label)}")


@dataclass(frozen=True, eq=False)
class PlanChart:
    """Worker sweeps (one series per policy) and the target they were judged against."""

    series: tuple[PlanSeries, ...]
    max_overflow: float
    max_p95_wait: float | None = None
    confidence: float = DEFAULT_CONFIDENCE

    def __post_init__(self):
        s = tuple(self.series)
        if not s or not all(isinstance(x, PlanSeries) for x in s):
            raise DataError("series must be one or more PlanSeries")
        object.__setattr__(self, "series", s)
        object.__setattr__(self, "max_overflow",
                           float(_floats("max_overflow", [self.max_overflow], lo=0.0, hi=1.0)[0]))
        if self.max_p95_wait is not None:
            object.__setattr__(self, "max_p95_wait",
                               float(_floats("max_p95_wait", [self.max_p95_wait], lo=0.0)[0]))
        object.__setattr__(self, "confidence", _confidence(self.confidence))


# ---------------------------------------------------------------- (f) score
@dataclass(frozen=True, eq=False)
class ScoreNights:
    """Nights and their overflow probability with intervals (the rows of a score).

    night: one label per row, e.g. "2026-05-13" or "2026-05-13 window 02:00 on 3 workers".
    overflow_probability, ci_low, ci_high: per row; nan for a night without jobs (no risk).
    max_overflow: an optional threshold line.
    """

    night: tuple[str, ...]
    overflow_probability: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    max_overflow: float | None = None
    confidence: float = DEFAULT_CONFIDENCE

    def __post_init__(self):
        names = _texts("night", self.night)
        n = len(names)
        if n == 0:
            raise DataError("night is empty: the chart needs at least one night")
        object.__setattr__(self, "night", names)
        for name in ("overflow_probability", "ci_low", "ci_high"):
            object.__setattr__(self, name, _floats(name, getattr(self, name), n, allow_nan=True,
                                                   lo=0.0, hi=1.0))
        _interval_order("overflow_probability", self.ci_low, self.overflow_probability,
                        self.ci_high)
        if self.max_overflow is not None:
            object.__setattr__(self, "max_overflow",
                               float(_floats("max_overflow", [self.max_overflow], lo=0.0,
                                             hi=1.0)[0]))
        object.__setattr__(self, "confidence", _confidence(self.confidence))

    def ranked(self) -> np.ndarray:
        """Row indices by risk: overflow probability descending, then the upper bound
        descending, then input order; nights without a risk (nan) last."""
        p = np.where(np.isnan(self.overflow_probability), -1.0, self.overflow_probability)
        hi = np.where(np.isnan(self.ci_high), -1.0, self.ci_high)
        return np.lexsort((np.arange(p.shape[0]), -hi, -p))


# ---------------------------------------------------------------- (g) backtest
@dataclass(frozen=True, eq=False)
class Backtest:
    """Forecasts against what happened, one row per past night.

    forecast_probability: the forecast overflow probability of each night.
    overflowed: whether that night actually overflowed.
    pit: the probability integral transform of each night's observed drain time under its
        forecast (the forecast CDF at the observed value), in [0, 1].
    bins: number of equal-width bins of the reliability diagram and of the PIT histogram.
    """

    forecast_probability: np.ndarray
    overflowed: np.ndarray
    pit: np.ndarray
    bins: int = 10
    confidence: float = DEFAULT_CONFIDENCE

    def __post_init__(self):
        p = _floats("forecast_probability", self.forecast_probability, lo=0.0, hi=1.0)
        if p.shape[0] == 0:
            raise DataError("forecast_probability is empty: the backtest needs past nights")
        object.__setattr__(self, "forecast_probability", p)
        object.__setattr__(self, "overflowed", _bools("overflowed", self.overflowed,
                                                      p.shape[0]))
        pit = _floats("pit", self.pit, lo=0.0, hi=1.0)
        if pit.shape[0] == 0:
            raise DataError("pit is empty: the backtest needs past nights")
        object.__setattr__(self, "pit", pit)
        if not (isinstance(self.bins, (int, np.integer)) and 2 <= self.bins <= 100):
            raise DataError(f"bins must be an integer in [2, 100], got {_show(self.bins)}")
        object.__setattr__(self, "confidence", _confidence(self.confidence))


@dataclass(frozen=True, eq=False)
class ReliabilityBins:
    """Per forecast bin [edges[i], edges[i+1]) (the last bin includes 1): nights, their mean
    forecast, the observed overflow share and its Wilson interval (nan for an empty bin)."""

    edges: np.ndarray
    count: np.ndarray
    mean_forecast: np.ndarray
    observed: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray


def _bin_index(x: np.ndarray, bins: int) -> np.ndarray:
    return np.minimum((x * bins).astype(np.int64), bins - 1)


def reliability_bins(b: Backtest) -> ReliabilityBins:
    k = b.bins
    idx = _bin_index(b.forecast_probability, k)
    count = np.bincount(idx, minlength=k)
    hits = np.bincount(idx, weights=b.overflowed.astype(np.float64), minlength=k)
    fsum = np.bincount(idx, weights=b.forecast_probability, minlength=k)
    z = z_quantile(b.confidence)
    nan = np.full(k, np.nan)
    mean_f, obs, lo, hi = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    for i in range(k):
        if count[i]:
            mean_f[i] = fsum[i] / count[i]
            obs[i] = hits[i] / count[i]
            lo[i], hi[i] = wilson_bounds(int(round(hits[i])), int(count[i]), z)
    return ReliabilityBins(edges=np.linspace(0.0, 1.0, k + 1), count=count,
                           mean_forecast=mean_f, observed=obs, ci_low=lo, ci_high=hi)


@dataclass(frozen=True, eq=False)
class PitHistogram:
    """PIT counts per equal-width bin, and the range a calibrated forecast would give: under
    uniform PIT each count is Binomial(n, 1/bins); ``band_low``/``band_high`` are that
    distribution's (1-confidence)/2 and (1+confidence)/2 quantiles (exact, per bin)."""

    edges: np.ndarray
    count: np.ndarray
    expected: float
    band_low: int
    band_high: int


def binomial_quantile(n: int, p: float, q: float) -> int:
    """Smallest k with P(Binomial(n, p) <= k) >= q (exact pmf summed in log space)."""
    if p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    ks = np.arange(n + 1, dtype=np.float64)
    lgam = np.array([math.lgamma(v + 1.0) for v in range(n + 1)])
    logpmf = lgam[n] - lgam - lgam[::-1] + ks * math.log(p) + (n - ks) * math.log1p(-p)
    cdf = np.cumsum(np.exp(logpmf - logpmf.max()))
    cdf /= cdf[-1]
    return int(np.searchsorted(cdf, q - 1e-12, side="left"))


def pit_histogram(b: Backtest) -> PitHistogram:
    k = b.bins
    n = b.pit.shape[0]
    count = np.bincount(_bin_index(b.pit, k), minlength=k)
    tail = (1.0 - b.confidence) / 2.0
    return PitHistogram(edges=np.linspace(0.0, 1.0, k + 1), count=count, expected=n / k,
                        band_low=binomial_quantile(n, 1.0 / k, tail),
                        band_high=binomial_quantile(n, 1.0 / k, 1.0 - tail))


# ---------------------------------------------------------------- the set a report shows
@dataclass(frozen=True, eq=False)
class ChartSet:
    """Whatever a report has to draw; None for a chart that does not apply."""

    drain: DrainTimes | None = None
    gantts: tuple[GanttNight, ...] = field(default=())
    queue: QueueLength | None = None
    jobs: JobRisk | None = None
    plan: PlanChart | None = None
    score: ScoreNights | None = None
    backtest: Backtest | None = None
