"""Seeded chart inputs for the report tests and scripts (not results of a real command yet).

The Gantt comes from the engine: a synthetic night traced by `mcqueue.engine.simulate.trace`,
so its lanes are a real replication's; the other inputs are drawn from fixed distributions.
"""

from __future__ import annotations

import numpy as np

from mcqueue.report.chart_data import (Backtest, ChartSet, DrainTimes, GanttNight, JobRisk,
                                       PlanChart, PlanSeries, QueueLength, ScoreNights)
from mcqueue.stats.intervals import wilson_bounds, z_quantile

HOSTILE_ID = "<script>alert(1)</script>"
HOSTILE_CLASS = "etl&<b>bold</b>"
BATCH_START = "22:00"
HORIZON = 480.0  # 22:00 -> 06:00


def _wilson(k: np.ndarray, n: int, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    z = z_quantile(confidence)
    lo, hi = zip(*(wilson_bounds(int(v), n, z) for v in k))
    return np.array(lo), np.array(hi)


def drain_times(replications: int = 2000, seed: int = 1) -> DrainTimes:
    rng = np.random.default_rng(seed)
    d = 400.0 + rng.gamma(9.0, 8.0, replications)  # centre near 472, the cutoff at 480
    return DrainTimes(drain_minutes=d, cutoff_minute=HORIZON, batch_start=BATCH_START)


def engine_gantt(n_jobs: int = 2000, workers: int = 8, rep: int = 0, seed: int = 3,
                 hostile: bool = True) -> GanttNight:
    """A replication of a synthetic night traced by the engine, exclusive jobs included."""
    from mcqueue.engine.perturbation import Perturbation
    from mcqueue.engine.simulate import trace
    from mcqueue.engine.synthetic import synthetic_night

    # about 90% of the pool's capacity until the cutoff: a few replications run late
    night = synthetic_night(n_jobs, seed=seed, spread_minutes=420.0, exclusive_share=0.01,
                            mean_runtime=0.9 * HORIZON * workers / n_jobs,
                            batch_start=BATCH_START, batch_end="06:00")
    tr = trace(night, workers, rep=rep, seed=seed,
               perturbation=Perturbation(runtime_cv=0.25, arrival_jitter=15.0))
    ids = list(night.job_id)
    classes = list(night.workload_class)
    if hostile:
        ids[0] = HOSTILE_ID
        classes[0] = HOSTILE_CLASS
    finish = tr["finish_minute"]
    return GanttNight(job_id=tuple(ids), workload_class=tuple(classes),
                      start_minute=tr["start_minute"], finish_minute=finish,
                      workers_used=np.where(night.exclusive, workers, 1),
                      exclusive=night.exclusive, late=finish > night.horizon_minutes,
                      workers=workers, cutoff_minute=night.horizon_minutes,
                      batch_start=BATCH_START, label=f"replication {rep}")


def queue_length(seed: int = 2) -> QueueLength:
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 541.0, 5.0)
    mean = 12.0 * np.exp(-((t - 200.0) / 110.0) ** 2) + 0.3 * rng.random(t.shape[0])
    spread = 0.5 + 0.35 * mean
    return QueueLength(minute=t, mean=mean, p10=np.maximum(0.0, mean - spread),
                       p90=mean + spread, cutoff_minute=HORIZON, batch_start=BATCH_START)


def job_risk(n_jobs: int = 2000, replications: int = 1000, seed: int = 4) -> JobRisk:
    rng = np.random.default_rng(seed)
    k = rng.binomial(replications, rng.beta(0.4, 3.0, n_jobs))
    lo, hi = _wilson(k, replications)
    crit = np.clip(k / replications * rng.uniform(0.3, 1.0, n_jobs), 0.0, 1.0)
    ids = [f"JOB-{i:04d}" for i in range(n_jobs)]
    classes = [("etl", "refresh", "backfill")[i % 3] for i in range(n_jobs)]
    top = int(np.argmax(k))
    ids[top], classes[top] = HOSTILE_ID, HOSTILE_CLASS
    return JobRisk(job_id=tuple(ids), workload_class=tuple(classes),
                   late_probability=k / replications, late_ci_low=lo, late_ci_high=hi,
                   criticality=crit)


def plan_chart(replications: int = 1000, seed: int = 5) -> PlanChart:
    rng = np.random.default_rng(seed)
    series = []
    for label, shift in (("fifo", 0.0), ("priority", -0.4)):
        w = np.arange(1, 9)
        p_true = 1.0 / (1.0 + np.exp(1.6 * (w - 3.5 + shift)))
        k = rng.binomial(replications, p_true)
        lo, hi = _wilson(k, replications)
        wait = 240.0 / w ** 1.3 + rng.normal(0, 1, w.shape[0])
        half = 0.05 * wait + 1.0
        p = k / replications
        rec = next((int(c) for c, h in zip(w, hi) if h <= 0.05), None)
        series.append(PlanSeries(label=label, workers=w, overflow_probability=p,
                                 overflow_ci_low=lo, overflow_ci_high=hi, p95_wait_mean=wait,
                                 p95_wait_ci_low=wait - half, p95_wait_ci_high=wait + half,
                                 recommended=rec))
    return PlanChart(series=tuple(series), max_overflow=0.05, max_p95_wait=60.0)


def score_nights(n_nights: int = 1000, replications: int = 1000, seed: int = 6) -> ScoreNights:
    rng = np.random.default_rng(seed)
    k = rng.binomial(replications, rng.beta(0.3, 4.0, n_nights))
    lo, hi = _wilson(k, replications)
    p = k / replications
    day0 = np.datetime64("2023-01-01")
    names = [str(day0 + np.timedelta64(i, "D")) for i in range(n_nights)]
    names[int(np.argmax(k))] = HOSTILE_ID
    p[3], lo[3], hi[3] = np.nan, np.nan, np.nan  # a night without jobs
    return ScoreNights(night=tuple(names), overflow_probability=p, ci_low=lo, ci_high=hi,
                       max_overflow=0.05)


def backtest(n_nights: int = 365, seed: int = 7) -> Backtest:
    rng = np.random.default_rng(seed)
    f = rng.beta(0.6, 2.5, n_nights)
    happened = rng.random(n_nights) < f
    return Backtest(forecast_probability=f, overflowed=happened, pit=rng.random(n_nights))


def full_set(n_jobs: int = 2000) -> ChartSet:
    return ChartSet(drain=drain_times(), gantts=(engine_gantt(n_jobs),),
                    queue=queue_length(), jobs=job_risk(n_jobs), plan=plan_chart(),
                    backtest=backtest())
