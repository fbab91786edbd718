"""Chart data from results: the engine's own numbers as `chart_data` inputs.

Nothing here is estimated anew or smoothed: every number a chart draws is one the engine
produced for the result, or a replication the engine replays exactly.

- The drain-time curve takes the ``queue_drained_minute`` samples of a `SimulationResult`
  (the per-replication metrics its overflow probability and drain quantiles come from).
- The Gantts are `mcqueue.engine.simulate.trace` of the deterministic replay (no noise) and of
  the replication at the nearest-rank P90 drain time (``p90_replication``), re-run from its
  keyed random numbers: its drain time is the sample's, to the last bit.
- The queue length over the night comes from replications replayed one by one with ``trace``:
  the first ``queue_traces(...)`` replications (200 for nights up to 2,500 jobs), each counted
  exactly on a time grid; the chart and its caption say how many of how many.
- The per-job chart appears only when the result holds per-job statistics (``per_job``, issue
  12); without them it is left out.
- Score and plan charts take their rows as they are.

This module does not import matplotlib: the data are tested without drawing.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..analysis.planning import Plan, ScoreResult
from ..engine.perturbation import Perturbation
from ..engine.simulate import METRICS, SimulationResult, trace
from .chart_data import (ChartSet, DrainTimes, GanttNight, JobRisk, PlanChart, PlanSeries,
                         QueueLength, ScoreNights)

I_DRAIN = METRICS.index("queue_drained_minute")
QUEUE_TRACES = 200  # replications replayed for the queue-length chart (at most)
QUEUE_JOB_REPLAYS = 500_000  # ... and at most this many job replays in all (big nights)
QUEUE_MIN_TRACES = 10
QUEUE_GRID_POINTS = 600  # whole-minute grid steps: about this many points at most


# ---------------------------------------------------------------- simulate
def drain_samples(r: SimulationResult) -> np.ndarray | None:
    """The result's per-replication drain minutes, or None when it kept no samples."""
    s = getattr(r, "samples", None)
    if s is None or s.ndim != 2 or s.shape[1] == 0:
        return None
    return s[I_DRAIN]


def drain_times(r: SimulationResult) -> DrainTimes | None:
    d = drain_samples(r)
    if d is None:
        return None
    nt = r.night
    return DrainTimes(drain_minutes=d, cutoff_minute=nt.horizon_minutes,
                      batch_start=nt.batch_start, confidence=r.confidence)


def p90_replication(drain: np.ndarray) -> int:
    """Index of the replication whose drain time is the nearest-rank P90 (the ceil(0.9 R)-th
    smallest, the engine's quantile rule); among equal drain times, the smallest index."""
    d = np.asarray(drain, dtype=np.float64)
    k = max(0, math.ceil(0.9 * d.shape[0]) - 1)
    value = np.partition(d, k)[k]
    return int(np.flatnonzero(d == value)[0])


def _trace_options(r: SimulationResult) -> dict[str, Any]:
    """Scenario options a result may carry (policy, capacity, backfill depth: issue 13) that a
    replay must repeat; none on a result without them."""
    return {k: v for k in ("policy", "capacity", "backfill_depth")
            if (v := getattr(r, k, None)) is not None}


def replay(r: SimulationResult, rep: int | None) -> dict[str, Any]:
    """`trace` of replication ``rep`` of the result (same seed and noise), or of the
    deterministic replay (no noise) when ``rep`` is None."""
    pert = Perturbation() if rep is None else r.perturbation
    return trace(r.night, r.workers, 0 if rep is None else rep, pert, r.seed,
                 **_trace_options(r))


def gantt_of(r: SimulationResult, tr: dict[str, Any], label: str) -> GanttNight:
    """A traced replication as a Gantt. Late: the trace's own ``late`` when it has one
    (finished after the job's deadline, issue 12), else finished after the cutoff."""
    nt = r.night
    finish = np.asarray(tr["finish_minute"], dtype=np.float64)
    late = tr.get("late")
    if late is None:
        late = finish > nt.horizon_minutes
    used = tr.get("workers_used")
    if used is None:
        used = np.where(nt.exclusive, r.workers, 1)
    capacity = tuple(tr["capacity"]) if getattr(r, "capacity", None) is not None else ()
    start = np.asarray(tr["start_minute"], dtype=np.float64)
    extra = {"min_lanes": peak_workers(start, finish, np.where(nt.exclusive, r.workers, used))
             } if nt.has_now else {}
    return GanttNight(job_id=tuple(nt.job_id), workload_class=tuple(nt.workload_class),
                      start_minute=tr["start_minute"], finish_minute=finish,
                      workers_used=used, exclusive=nt.exclusive, late=np.asarray(late),
                      workers=r.workers, cutoff_minute=nt.horizon_minutes,
                      batch_start=nt.batch_start, label=label, capacity=capacity,
                      deadline_minute=(nt.deadline_minute if nt.has_deadlines else None),
                      **extra)


def peak_workers(start: np.ndarray, finish: np.ndarray, used: np.ndarray) -> int:
    """The most workers busy at once, each job holding ``used`` over [start, finish) (a
    finish frees its workers before a start at the same minute, as the lanes do)."""
    if start.shape[0] == 0:
        return 0
    t = np.concatenate([start, finish])
    d = np.concatenate([used, -np.asarray(used)]).astype(np.int64)
    order = np.lexsort((d, t))  # at one minute, finishes (negative) first
    return int(max(0, np.cumsum(d[order]).max()))


def queue_traces(replications: int, n_jobs: int) -> int:
    """How many replications the queue-length chart replays: ``QUEUE_TRACES``, fewer for big
    nights (at most ``QUEUE_JOB_REPLAYS`` job replays, at least ``QUEUE_MIN_TRACES``), never
    more than the run has."""
    per_budget = QUEUE_JOB_REPLAYS // max(n_jobs, 1)
    return int(min(replications, QUEUE_TRACES, max(QUEUE_MIN_TRACES, per_budget)))


def queue_grid(end: float) -> np.ndarray:
    """Whole minutes 0, s, 2s, ... up to the first step at or past ``end`` (s the smallest
    whole number of minutes giving at most ``QUEUE_GRID_POINTS`` steps); two points at least."""
    end = max(float(end), 1.0)
    step = max(1, math.ceil(end / QUEUE_GRID_POINTS))
    return np.arange(0.0, step * math.ceil(end / step) + 0.5 * step, step, dtype=np.float64)


def queue_counts(ready: np.ndarray, start: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Jobs waiting at each grid minute t: ready (arrived, and with issue 12 its predecessors
    done) at or before t and not started at or before t, the engine's count after it has
    admitted and dispatched everything at t."""
    a = np.sort(np.asarray(ready, dtype=np.float64))
    s = np.sort(np.asarray(start, dtype=np.float64))
    return (np.searchsorted(a, grid, side="right")
            - np.searchsorted(s, grid, side="right")).astype(np.float64)


def nearest_rank_columns(x: np.ndarray, q: float) -> np.ndarray:
    """Per column, the ceil(q n)-th smallest of the n rows."""
    k = max(0, math.ceil(q * x.shape[0]) - 1)
    return np.partition(x, k, axis=0)[k]


def queue_length(r: SimulationResult, traces: int | None = None) -> QueueLength:
    """Queue length over the night from the first ``traces`` replications of the result
    (default ``queue_traces``), each replayed exactly: mean and nearest-rank P10/P90 across
    them on a whole-minute grid from the batch start to the later of the cutoff and the last
    replayed drain time."""
    nt = r.night
    k = queue_traces(r.replications, nt.n_jobs) if traces is None else int(traces)
    runs = []  # (ready, start) of each replayed replication
    end = nt.horizon_minutes
    for i in range(k):
        t = replay(r, i)
        runs.append((t.get("ready_minute", t["arrival_minute"]), t["start_minute"]))
        if nt.n_jobs:
            end = max(end, float(np.max(t["finish_minute"])))
    grid = queue_grid(end)
    counts = np.empty((k, grid.shape[0]))
    for i, (ready, start) in enumerate(runs):
        counts[i] = queue_counts(ready, start, grid)
    return QueueLength(minute=grid, mean=counts.mean(axis=0),
                       p10=nearest_rank_columns(counts, 0.1),
                       p90=nearest_rank_columns(counts, 0.9), cutoff_minute=nt.horizon_minutes,
                       batch_start=nt.batch_start, traced=k, replications=r.replications)


def _col(values: Sequence[Any]) -> np.ndarray:
    """One column of rows as float64 (None, a missing value, as nan)."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def job_risk(r: SimulationResult) -> JobRisk | None:
    """Per-job late probability and criticality when the result has per-job statistics
    (``per_job``, issue 12), else None."""
    rows = getattr(r, "per_job", None)
    if not rows:
        return None
    cls = dict(zip(r.night.job_id, r.night.workload_class))
    lp = [row["late_probability"] for row in rows]
    crit = [row.get("criticality") for row in rows]
    return JobRisk(job_id=tuple(row["job_id"] for row in rows),
                   workload_class=tuple(cls.get(row["job_id"], "") for row in rows),
                   late_probability=_col([p["estimate"] for p in lp]),
                   late_ci_low=_col([p["ci_low"] for p in lp]),
                   late_ci_high=_col([p["ci_high"] for p in lp]),
                   criticality=None if any(c is None for c in crit) else _col(crit),
                   confidence=r.confidence)


class ScenarioCharts:
    """Everything the report shows for one scenario: the chart set and the traced
    replications behind it (for the tables beside the charts)."""

    def __init__(self, result: SimulationResult, charts: ChartSet,
                 p90_rep: int | None, p90_trace: dict | None, det_trace: dict):
        self.result = result
        self.charts = charts
        self.p90_rep = p90_rep
        self.p90_trace = p90_trace
        self.det_trace = det_trace


def scenario_charts(r: SimulationResult, traces: int | None = None) -> ScenarioCharts:
    """The drain-time curve (when the result kept its samples), the Gantts of the deterministic
    replay and of the P90 replication (that one needs the samples too), the queue length and,
    when present, the per-job risk."""
    from .chart_data import clock_label

    det = replay(r, None)
    gantts = [gantt_of(r, det, "the deterministic replay")]
    d = drain_times(r)
    rep = tr = None
    if d is not None:
        rep = p90_replication(d.drain_minutes)
        tr = replay(r, rep)
        gantts.append(gantt_of(r, tr, f"replication {rep}, the P90 drain time "
                                      f"{clock_label(d.quantile(0.9), d.batch_start)}"))
    cs = ChartSet(drain=d, gantts=tuple(gantts), queue=queue_length(r, traces), jobs=job_risk(r))
    return ScenarioCharts(r, cs, rep, tr, det)


# ---------------------------------------------------------------- score and plan
def night_label(batch_date: str, window: str | None, workers: int, several_workers: bool,
                several_windows: bool) -> str:
    label = batch_date
    if several_windows and window:
        label += f" window {window}"
    if several_workers:
        label += f" on {workers} workers"
    return label


def score_nights(result: ScoreResult) -> ScoreNights | None:
    """The score rows in their order (riskiest first); labels are the batch date, with the
    worker count when the score has several and the policy with --policy. None for a score
    without rows."""
    rows = result.rows
    if not rows:
        return None
    several = len({r.workers for r in rows}) > 1
    windows = len({r.window for r in rows}) > 1
    pol = bool(getattr(result, "policies", ()))
    return ScoreNights(
        night=tuple(night_label(r.batch_date, r.window, r.workers, several, windows)
                    + (f", {r.policy}" if pol and r.policy else "") for r in rows),
        overflow_probability=_col([r.overflow_probability for r in rows]),
        ci_low=_col([r.overflow_ci_low for r in rows]),
        ci_high=_col([r.overflow_ci_high for r in rows]),
        confidence=result.settings.confidence)


def plan_chart(p: Plan, label: str = "plan") -> PlanChart | None:
    """The sweep's rows as one series (one per policy with --policy, labelled by it), the
    recommendation on its policy's series and the targets. Infeasible worker counts (issue
    13: the night cannot run on that pool) have no numbers and are left out."""
    series = []
    for pol in (p.policies or (None,)):
        rows = [r for r in p.rows if r.infeasible is None and r.policy == pol]
        if not rows:
            continue
        rec = p.recommended if pol == p.recommended_policy else None
        series.append(PlanSeries(
            label=label if pol is None else pol, workers=_col([r.workers for r in rows]),
            overflow_probability=_col([r.overflow_probability for r in rows]),
            overflow_ci_low=_col([r.overflow_ci_low for r in rows]),
            overflow_ci_high=_col([r.overflow_ci_high for r in rows]),
            p95_wait_mean=_col([r.p95_wait_mean for r in rows]),
            p95_wait_ci_low=_col([r.p95_wait_ci_low for r in rows]),
            p95_wait_ci_high=_col([r.p95_wait_ci_high for r in rows]), recommended=rec))
    if not series:  # every count infeasible: nothing to draw
        return None
    return PlanChart(series=tuple(series), max_overflow=p.max_overflow,
                     max_p95_wait=p.max_p95_wait, confidence=p.settings.confidence)


def simulate_sets(results: Sequence[SimulationResult]) -> list[ScenarioCharts]:
    return [scenario_charts(r) for r in results]
