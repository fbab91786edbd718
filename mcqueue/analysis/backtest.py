"""``mcqueue backtest``: how well would the calibrated forecast have done on past nights?

For each night D of the range, with no look-ahead:

1. **Fit** the runtime model (`calibrate`) on the history rows of the nights before D inside the
   model window: ``D - window_days <= batch_date < D``. Nothing of night D or later is used.
2. **Forecast** D's queue as it was queued (its job records, `queues_from_history` or a job
   file) with that model through the engine (the fitted lognormal per job, or its recent runs,
   the night-wide factor and reruns: `runtime_model`), ``replications`` times.
3. **Compare** with what happened on D (the history's runs of D, matched by ``job_name``): the
   drain time (the last finish of the queue's jobs, minutes after the batch start), whether it
   overflowed (drain > horizon), and each job's finish.

Scores (mcqueue/stats/scoring.py): the randomised PIT of the drain time (keyed on the seed and
the night, so reproducible), whether it falls in the forecast's central 50 % and 90 % intervals,
the CRPS of the drain time, and the Brier score and a reliability table of the overflow
probability; per job, the share of job-nights whose finish falls in its central 50 % / 90 %
interval (from the first ``job_replications`` replications: every job's finishes from
`engine.finish_samples`, the numbers `engine.trace` gives one replication at a time).

Nights are forecast in groups (one `engine.prepare` + `engine.replicate` per group), so memory
stays bounded; with a Dask scheduler the nights go to the cluster in chunks
(`backtest_chunk`), each task fitting and simulating its own nights: the same numbers as
in-process (every draw is keyed on seed, replication and job_id).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import polars as pl

from .._plain import plain
from ..engine import simulate as engine
from ..engine.night import DEFAULT_BATCH_END, DEFAULT_BATCH_START, Night, parse_hhmm
from ..errors import DataError, ScenarioError, UsageError, quote
from ..stats import scoring
from ..stats.intervals import wilson
from .calibrate import DEFAULT_MIN_RUNS, calibrate
from .planning import Settings
from .runtime_model import (DEFAULT_RETRIES_WITH_MODEL, MAX_RETRIES, RUNTIME_MODELS,
                            RuntimeOptions, apply_model)

DEFAULT_WINDOW_DAYS = 60
DEFAULT_JOB_REPLICATIONS = 200
DEFAULT_BINS = 10
GROUP_NIGHTS = 64  # nights per engine call: (64, 8, 10,000) float64 = 41 MB
FINISH_SAMPLES = 1 << 23  # job finishes held at once for the per-job scores (64 MB)
I_DRAIN = engine.METRICS.index("queue_drained_minute")
LEVELS = (0.5, 0.9)

NIGHT_COLUMNS = (
    "batch_date", "jobs", "training_nights", "training_runs", "levels_job", "levels_class",
    "levels_global", "levels_options", "horizon_minutes", "observed_drain_minute",
    "observed_overflow", "forecast_mean", "forecast_p05", "forecast_p25", "forecast_p50",
    "forecast_p75", "forecast_p95", "overflow_probability", "pit", "in_p50", "in_p90", "crps",
    "job_nights", "jobs_in_p50", "jobs_in_p90",
)


@dataclass(frozen=True)
class BacktestSettings:
    """Everything a backtest run needs besides its data (validated here)."""

    workers: int = 3
    window_days: int = DEFAULT_WINDOW_DAYS
    half_life_days: float | None = None
    min_runs: int = DEFAULT_MIN_RUNS
    simulation: Settings = field(default_factory=Settings)
    runtime_model: str = "lognormal"
    night_cv: float | str = 0.0
    retries: int | None = None  # None: DEFAULT_RETRIES_WITH_MODEL (every night has a model)
    job_replications: int = DEFAULT_JOB_REPLICATIONS
    bins: int = DEFAULT_BINS

    def __post_init__(self) -> None:
        engine.check_workers(self.workers)
        if isinstance(self.window_days, bool) or not isinstance(self.window_days, int) \
                or self.window_days < 1:
            raise ScenarioError(f"model window must be a whole number of days >= 1, got "
                                f"{quote(self.window_days)}")
        if isinstance(self.job_replications, bool) or not isinstance(
                self.job_replications, int) or self.job_replications < 0:
            raise ScenarioError(f"job replications must be an integer >= 0, got "
                                f"{quote(self.job_replications)}")
        if self.runtime_model not in RUNTIME_MODELS:
            raise ScenarioError(f"runtime model must be one of {', '.join(RUNTIME_MODELS)}, "
                                f"got {quote(self.runtime_model)}")
        if not isinstance(self.bins, int) or self.bins < 1:
            raise ScenarioError(f"bins must be an integer >= 1, got {quote(self.bins)}")
        # the kernel-level options, checked before any fit (every night's model gives the
        # rerun shares, and its night cv when 'fitted')
        if self.night_cv != "fitted":
            RuntimeOptions(night_cv=self.night_cv)  # validates it
            object.__setattr__(self, "night_cv", float(self.night_cv))
        r = DEFAULT_RETRIES_WITH_MODEL if self.retries is None else self.retries
        if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r <= MAX_RETRIES:
            raise ScenarioError(f"retries must be an integer 0 to {MAX_RETRIES}, got "
                                f"{quote(r)}")
        object.__setattr__(self, "retries", r)

    def runtime(self, model) -> RuntimeOptions:
        return RuntimeOptions(model=model, runtime_model=self.runtime_model,
                              night_cv=self.night_cv, retries=self.retries)


# ---------------------------------------------------------------- data
def _require(history: pl.DataFrame, columns: Sequence[str], why: str) -> None:
    for c in columns:
        if c not in history.columns or history[c].null_count() == history.height:
            raise DataError(f"the history has no {c!r} values: {why}")


def queues_from_history(history: pl.DataFrame, dates: Sequence[str],
                        batch_start: str = DEFAULT_BATCH_START,
                        batch_end: str = DEFAULT_BATCH_END) -> dict[str, Night]:
    """Each night's queue rebuilt from its own history rows: one job per ``job_name`` that ran
    that night, with the ``requested_window``, ``workload_class`` and
    ``estimated_runtime_minutes`` of its first attempt; ``job_id`` is ``<job_name>@<date>``
    (so nights do not share random numbers), priority 0 and no exclusive lock (history does
    not record them; give the job records with a job file when they matter)."""
    from ..io.schema import nights_from_frame, validate_jobs

    _require(history, ("requested_window",), "a queue rebuilt from history needs each job's "
             "requested window (or give the job records with --file)")
    want = [_dt.date.fromisoformat(d) for d in dates]
    rows = (history.filter(pl.col("batch_date").is_in(want))
            .sort("batch_date", "job_name", "attempt", "source_row", nulls_last=True)
            .group_by("batch_date", "job_name", maintain_order=True).first())
    if rows.height == 0:
        return {}
    bad = rows.filter(pl.col("requested_window").is_null() | pl.col("workload_class").is_null()
                      | pl.col("estimated_runtime_minutes").is_null()).head(1)
    if bad.height:
        r = bad.row(0, named=True)
        col = next(c for c in ("requested_window", "workload_class",
                               "estimated_runtime_minutes") if r[c] is None)
        raise DataError(f"{quote(r['source'])} row {r['source_row']} (job "
                        f"{quote(r['job_name'])}): column {quote(col)} is missing; a queue "
                        f"rebuilt from history needs it (or give the job records with --file)")
    records = rows.select(
        pl.col("batch_date").dt.to_string("%Y-%m-%d"),
        (pl.col("job_name") + "@" + pl.col("batch_date").dt.to_string("%Y-%m-%d"))
        .alias("job_id"),
        "requested_window", "workload_class", "estimated_runtime_minutes",
        pl.lit(0).alias("priority"), pl.lit(False).alias("requires_exclusive_lock"),
        "job_name")
    present = sorted(set(records["batch_date"].to_list()))
    nights = nights_from_frame(validate_jobs(records), None, batch_start, batch_end, present)
    return {nt.batch_date: nt for nt in nights}


@dataclass(frozen=True)
class Outcome:
    """What happened on one night: each queue job's last finish (minutes after the batch
    start; NaN when the history has no run of it that night) and the drain time."""

    finish: np.ndarray
    drain: float
    missing: tuple[str, ...]


def outcomes(history: pl.DataFrame, nights: Sequence[Night]) -> dict[str, Outcome]:
    """Observed finishes of every night's jobs, matched on (batch_date, job_name)."""
    _require(history, ("finished_at",), "a backtest compares forecasts with finish times "
             "(started_at/finished_at columns, or the catalog's finished_at)")
    if not nights:
        return {}
    last = (history.filter(pl.col("finished_at").is_not_null())
            .group_by("batch_date", "job_name")
            .agg(pl.col("finished_at").max().alias("__finish")))
    keys = pl.DataFrame({
        "batch_date": pl.Series([_dt.date.fromisoformat(nt.batch_date) for nt in nights
                                 for _ in range(nt.n_jobs)], dtype=pl.Date),
        "job_name": pl.Series([n for nt in nights for n in nt.job_names], dtype=pl.String),
        "__start": pl.Series([_start_instant(nt) for nt in nights for _ in range(nt.n_jobs)],
                             dtype=pl.Datetime("us", "UTC")),
    }).with_row_index("__i")
    got = keys.join(last, on=["batch_date", "job_name"], how="left").sort("__i")
    minutes = got.select((pl.col("__finish") - pl.col("__start")).dt.total_microseconds()
                         / 60e6).to_series().fill_null(np.nan).to_numpy().astype(np.float64)
    out = {}
    lo = 0
    for nt in nights:
        f = minutes[lo:lo + nt.n_jobs]
        miss = tuple(n for n, v in zip(nt.job_names, f) if np.isnan(v))
        out[nt.batch_date] = Outcome(f, float(np.max(f)) if nt.n_jobs and not miss
                                     else math.nan, miss)
        lo += nt.n_jobs
    return out


def _start_instant(nt: Night) -> _dt.datetime:
    d = _dt.date.fromisoformat(nt.batch_date)
    m = parse_hhmm(nt.batch_start, "batch start")
    return _dt.datetime(d.year, d.month, d.day, tzinfo=_dt.timezone.utc) + _dt.timedelta(
        minutes=m)


# ---------------------------------------------------------------- one chunk of nights
@dataclass
class NightRow:
    """One backtested night (fields ``NIGHT_COLUMNS``); NaN where a score could not be made."""

    batch_date: str
    jobs: int
    training_nights: int
    training_runs: int
    levels_job: int
    levels_class: int
    levels_global: int
    levels_options: int
    horizon_minutes: float
    observed_drain_minute: float
    observed_overflow: bool
    forecast_mean: float
    forecast_p05: float
    forecast_p25: float
    forecast_p50: float
    forecast_p75: float
    forecast_p95: float
    overflow_probability: float
    pit: float
    in_p50: bool
    in_p90: bool
    crps: float
    job_nights: int
    jobs_in_p50: int
    jobs_in_p90: int

    def to_dict(self) -> dict:
        return plain({c: getattr(self, c) for c in NIGHT_COLUMNS})


def _pit_uniform(seed: int, batch_date: str) -> float:
    """The PIT's tie-breaking uniform for one night: keyed on (seed, night), reproducible and
    independent of which other nights are in the run."""
    ordinal = _dt.date.fromisoformat(batch_date).toordinal()
    return float(np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, ordinal, 0x9B]).random())


def fit_before(history: pl.DataFrame, batch_date: str, bt: BacktestSettings):
    """The model of night D: calibrated on the rows of D - window .. D - 1 (None: no run)."""
    d = _dt.date.fromisoformat(batch_date)
    train = history.filter((pl.col("batch_date") < d)
                           & (pl.col("batch_date") >= d - _dt.timedelta(days=bt.window_days)))
    ok = train.filter(pl.col("success") & pl.col("duration_minutes").is_not_null())
    if ok.height == 0:
        return None, train
    return calibrate(train, half_life_days=bt.half_life_days, min_runs=bt.min_runs), train


def backtest_chunk(nights: Sequence[Night], history: pl.DataFrame,
                   observed: Mapping[str, Outcome], bt: BacktestSettings,
                   progress: Callable[[int], None] | None = None
                   ) -> tuple[list[NightRow], list[dict]]:
    """Fit, forecast and score ``nights`` (the unit of work of a Dask task): (rows, skipped)."""
    rows: list[NightRow] = []
    skipped: list[dict] = []
    ready: list[tuple[Night, dict, int, int]] = []
    for nt in nights:
        out = observed.get(nt.batch_date)
        if out is None or out.missing:
            miss = out.missing if out is not None else ()
            skipped.append({"batch_date": nt.batch_date, "reason": (
                f"no finished run of {len(miss)} of its {nt.n_jobs} jobs in the history "
                f"(e.g. {miss[0]!r})" if miss else "no outcome in the history")})
            continue
        model, train = fit_before(history, nt.batch_date, bt)
        if model is None:
            skipped.append({"batch_date": nt.batch_date, "reason": (
                f"no successful run in the {bt.window_days} days before it")})
            continue
        applied = apply_model([nt], bt.runtime(model))
        ready.append((applied.nights[0], applied.levels[nt.batch_date],
                      int(train["batch_date"].n_unique()),
                      int(train.filter(pl.col("success")).height)))
    for g0 in range(0, len(ready), GROUP_NIGHTS):
        group = ready[g0:g0 + GROUP_NIGHTS]
        rows += _forecast_group(group, observed, bt)
        if progress is not None:
            progress(len(group))
    if progress is not None and len(nights) > len(ready):
        progress(len(nights) - len(ready))
    return rows, skipped


def _forecast_group(group, observed: Mapping[str, Outcome], bt: BacktestSettings
                    ) -> list[NightRow]:
    sim = bt.simulation
    nights = [g[0] for g in group]
    batch = engine.prepare(nights, sim.perturbation(), sim.seed)
    idx = np.arange(len(nights), dtype=np.int64)
    samples = engine.replicate(batch, idx, np.full(len(nights), bt.workers, np.int64),
                               sim.replications)
    drain = samples[:, I_DRAIN, :]
    del samples
    obs = np.array([observed[nt.batch_date].drain for nt in nights])
    horizon = np.array([nt.horizon_minutes for nt in nights])
    v = np.array([_pit_uniform(sim.seed, nt.batch_date) for nt in nights])
    pits = scoring.pit(drain, obs, v)
    ins = {lv: scoring.covered(drain, obs, lv) for lv in LEVELS}
    crps = scoring.crps_samples(drain, obs)
    srt = np.sort(drain, axis=1)
    q = {p: scoring.nearest_rank(srt, p) for p in (0.05, 0.25, 0.5, 0.75, 0.95)}
    p_over = np.count_nonzero(drain > horizon[:, None], axis=1) / drain.shape[1]
    reps = min(bt.job_replications, sim.replications)
    finishes: list = [None] * len(nights)
    if reps:  # nights in chunks of at most FINISH_SAMPLES job-replications (bounded memory)
        k0 = 0
        while k0 < len(nights):
            k1, size = k0, 0
            while k1 < len(nights) and (k1 == k0 or size + nights[k1].n_jobs * reps
                                        <= FINISH_SAMPLES):
                size += nights[k1].n_jobs * reps
                k1 += 1
            finishes[k0:k1] = engine.finish_samples(
                batch, idx[k0:k1], np.full(k1 - k0, bt.workers, np.int64), reps)
            k0 = k1
    rows = []
    for k, (nt, levels, n_train, runs_train) in enumerate(group):
        jn, j50, j90 = _job_coverage(finishes[k], observed[nt.batch_date].finish)
        rows.append(NightRow(
            batch_date=nt.batch_date, jobs=nt.n_jobs, training_nights=n_train,
            training_runs=runs_train, levels_job=levels["job"], levels_class=levels["class"],
            levels_global=levels["global"], levels_options=levels["options"],
            horizon_minutes=float(horizon[k]), observed_drain_minute=float(obs[k]),
            observed_overflow=bool(obs[k] > horizon[k]),
            forecast_mean=float(drain[k].mean()), forecast_p05=float(q[0.05][k]),
            forecast_p25=float(q[0.25][k]), forecast_p50=float(q[0.5][k]),
            forecast_p75=float(q[0.75][k]), forecast_p95=float(q[0.95][k]),
            overflow_probability=float(p_over[k]), pit=float(pits[k]),
            in_p50=bool(ins[0.5][k]), in_p90=bool(ins[0.9][k]), crps=float(crps[k]),
            job_nights=jn, jobs_in_p50=j50, jobs_in_p90=j90))
    return rows


def _job_coverage(fin: np.ndarray | None, finish: np.ndarray) -> tuple[int, int, int]:
    """(jobs compared, jobs whose observed finish lies in their central 50 % / 90 % forecast
    interval), the forecast from replications 0 .. job_replications - 1 (``fin``: their
    (R, jobs) finish times, `engine.finish_samples`; None: no per-job scores)."""
    if fin is None or fin.shape[1] == 0:
        return 0, 0, 0
    c50 = scoring.covered(fin.T, finish, 0.5)
    c90 = scoring.covered(fin.T, finish, 0.9)
    return fin.shape[1], int(c50.sum()), int(c90.sum())


# ---------------------------------------------------------------- the result
@dataclass
class BacktestResult:
    """Per-night rows (date order), the nights that could not be scored, and the summary."""

    rows: list[NightRow]
    skipped: list[dict]
    settings: BacktestSettings
    date_from: str
    date_to: str
    history_sources: list[str] = field(default_factory=list)
    queues: str = "history"
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        rows = self.rows
        n = len(rows)
        conf = self.settings.simulation.confidence
        out: dict = {"nights": n, "skipped_nights": len(self.skipped)}
        if n == 0:
            return out
        pits = np.array([r.pit for r in rows])
        d, p = scoring.ks_uniform(pits)
        hist = np.bincount(np.minimum((pits * 10).astype(int), 9), minlength=10)
        out["pit"] = {"mean": float(pits.mean()), "ks_statistic": d, "ks_p_value": p,
                      "histogram": [int(c) for c in hist]}
        for lv, key in ((0.5, "in_p50"), (0.9, "in_p90")):
            k = sum(getattr(r, key) for r in rows)
            out[f"coverage_p{int(lv * 100)}"] = {"nominal": lv, **wilson(int(k), n, conf)}
        prob = np.array([r.overflow_probability for r in rows])
        occ = np.array([r.observed_overflow for r in rows], dtype=float)
        rel = scoring.reliability(prob, occ, self.settings.bins)
        out["overflow"] = {
            "observed_nights": int(occ.sum()), "mean_probability": float(prob.mean()),
            "brier": rel.brier, "brier_reliability": rel.reliability,
            "brier_resolution": rel.resolution, "brier_uncertainty": rel.uncertainty,
        }
        out["reliability"] = [
            {"bin_low": round(float(rel.edges[i]), 12),
             "bin_high": round(float(rel.edges[i + 1]), 12),
             "count": int(rel.count[i]), "mean_probability": float(rel.mean_forecast[i]),
             "observed_rate": float(rel.observed_rate[i])}
            for i in range(len(rel.count))]
        out["crps_mean_minutes"] = float(np.mean([r.crps for r in rows]))
        jn = sum(r.job_nights for r in rows)
        out["jobs"] = {"job_nights": jn, "replications": min(
            self.settings.job_replications, self.settings.simulation.replications)}
        if jn:
            for key, lv in (("jobs_in_p50", 0.5), ("jobs_in_p90", 0.9)):
                k = sum(getattr(r, key) for r in rows)
                out["jobs"][f"coverage_p{int(lv * 100)}"] = {"nominal": lv,
                                                             **wilson(int(k), jn, conf)}
        return out

    def to_dict(self) -> dict:
        s = self.settings
        sim = s.simulation
        return plain({
            "from": self.date_from, "to": self.date_to, "history": list(self.history_sources),
            "queues": self.queues, "workers": s.workers,
            "model_window_days": s.window_days, "half_life_days": s.half_life_days,
            "min_runs": s.min_runs, "runtime_model": s.runtime_model,
            "night_cv": s.night_cv, "retries": s.retries,
            "replications": sim.replications, "seed": sim.seed,
            "runtime_cv": sim.runtime_cv, "class_cv": dict(sim.class_cv),
            "arrival_jitter_minutes": sim.arrival_jitter, "confidence": sim.confidence,
            "summary": self.summary(),
            "nights": [r.to_dict() for r in self.rows],
            "skipped": list(self.skipped),
        })


# ---------------------------------------------------------------- the whole run
def backtest(history: pl.DataFrame, queues: Mapping[str, Night], date_from: str,
             date_to: str, settings: BacktestSettings | None = None, *,
             progress: Callable[[int], None] | None = None, dask_scheduler: str | None = None,
             nights_per_task: int | None = None, history_sources: Sequence[str] = (),
             queue_source: str = "history") -> BacktestResult:
    """Backtest every night from ``date_from`` to ``date_to`` (inclusive) that has a queue in
    ``queues`` (batch_date -> Night). ``history``: the normalised history frame
    (`mcqueue.io.history.read_history`), holding both the training runs and the outcomes."""
    bt = settings or BacktestSettings()
    lo, hi = _dt.date.fromisoformat(date_from), _dt.date.fromisoformat(date_to)
    if hi < lo:
        raise UsageError(f"--to {date_to} is before --from {date_from}")
    nights = [nt for d, nt in sorted(queues.items())
              if lo <= _dt.date.fromisoformat(d) <= hi and nt.n_jobs]
    if not nights:
        raise DataError(f"no queued night from {date_from} to {date_to} to backtest")
    observed = outcomes(history, nights)
    # only the rows a fit can use (the window before the first night .. the last night)
    first = lo - _dt.timedelta(days=bt.window_days)
    history = history.filter((pl.col("batch_date") >= first) & (pl.col("batch_date") < hi))
    if dask_scheduler:
        from .cluster import DEFAULT_NIGHTS_PER_TASK, map_chunks
        from .planning import chunks

        parts = chunks(nights, nights_per_task or DEFAULT_NIGHTS_PER_TASK)
        # each task gets the history its nights need (no more), and their outcomes
        tasks = []
        for part in parts:
            p_lo = _dt.date.fromisoformat(part[0].batch_date) - _dt.timedelta(
                days=bt.window_days)
            p_hi = _dt.date.fromisoformat(part[-1].batch_date)
            tasks.append((part, history.filter((pl.col("batch_date") >= p_lo)
                                               & (pl.col("batch_date") < p_hi)),
                          {nt.batch_date: observed[nt.batch_date] for nt in part}))
        results = map_chunks(_chunk_task, tasks, dask_scheduler, bt,
                             progress=(lambda i: progress(len(parts[i]))) if progress else None)
        rows = [r for part, _ in results for r in part]
        skipped = [s for _, part in results for s in part]
    else:
        rows, skipped = backtest_chunk(nights, history, observed, bt, progress)
    rows.sort(key=lambda r: r.batch_date)
    skipped.sort(key=lambda s: s["batch_date"])
    return BacktestResult(rows, skipped, bt, date_from, date_to, list(history_sources),
                          queue_source)


def _chunk_task(task, bt: BacktestSettings):
    nights, history, observed = task
    return backtest_chunk(nights, history, observed, bt)


# ---------------------------------------------------------------- the command's library call
def run_backtest(history_paths: Sequence[str] = (), source=None, date_from: str | None = None,
                 date_to: str | None = None, clock=None,
                 settings: BacktestSettings | None = None, *, layout: str | None = None,
                 dask_scheduler: str | None = None, nights_per_task: int | None = None,
                 hooks=None) -> BacktestResult:
    """``mcqueue backtest``: read the history (files; none and no job file: the shipped sample
    history), the queues (a job file, the DynamoDB catalog, or rebuilt from the history) and
    backtest ``date_from`` .. ``date_to`` (default: from the first night with a whole model
    window of history before it to the newest night of the history)."""
    from ..io.history import normalise_history, read_history, sample_history_path
    from ..io.loading import Clock, Source, date_range, read_local
    from ..io.schema import nights_from_frame
    from .cluster import scheduler_address
    from .runs import Hooks

    source = source or Source()
    clock = clock or Clock()
    bt = settings or BacktestSettings()
    hooks = hooks or Hooks()
    if clock.window is not None:
        raise UsageError("backtest compares whole nights: --window is not supported")
    if date_to is not None and date_from is None:
        raise UsageError("--to needs --from")
    paths = [str(p) for p in history_paths]
    notes: list[str] = []
    frames = []
    if paths:
        frames.append(read_history(paths, layout))
    elif source.kind == "local" and source.file is None:
        paths = [str(sample_history_path())]
        frames.append(read_history(paths))
        notes.append("no --history: backtesting the shipped sample history (90 nights of "
                     "the built-in sample's jobs, queues rebuilt from it)")
    queue_source = "history"
    queues: dict[str, Night] = {}
    if source.kind == "dynamodb":
        if date_from is None:
            raise UsageError("--source dynamodb needs --from (and --to) dates to query")
        first = (_dt.date.fromisoformat(date_from) - _dt.timedelta(days=bt.window_days))
        dates = date_range(first.isoformat(), date_to or date_from)
        table_frames, wanted = _dynamodb_nights(source, dates, hooks, clock)
        if table_frames is not None:
            frames.append(normalise_history(table_frames, "dynamodb",
                                            f"table {source.table}"))
        lo = date_from
        hi = date_to or date_from
        queues = {d: nt for d, nt in wanted.items() if lo <= d <= hi}
        queue_source = f"table {source.table}"
        paths.append(f"table {source.table}")
    if not frames:
        raise UsageError("give the run history: --history FILE (or --source dynamodb)")
    history = pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
    if history.height == 0:
        raise DataError("the history holds no runs: nothing to backtest")
    newest = history["batch_date"].max()
    oldest = history["batch_date"].min()
    assert isinstance(newest, _dt.date) and isinstance(oldest, _dt.date)
    if date_from is None:
        start = oldest + _dt.timedelta(days=bt.window_days)
        if start > newest:
            start = oldest + _dt.timedelta(days=1)
        date_from = start.isoformat()
        date_to = date_to or newest.isoformat()
    date_to = date_to or date_from
    date_range(date_from, date_to)  # order and span
    if source.kind == "local" and source.file is not None:
        jobs = read_local(source.file)
        present = [d for d in sorted(set(jobs["batch_date"].to_list()))
                   if date_from <= d <= date_to]
        queues = {nt.batch_date: nt for nt in nights_from_frame(
            jobs, None, clock.batch_start, clock.batch_end, present)}
        queue_source = source.file
    elif source.kind == "local":
        days = [d for d in date_range(date_from, date_to)]
        queues = queues_from_history(history, days, clock.batch_start, clock.batch_end)
    for n in notes:
        hooks.note(n)
    address = scheduler_address(dask_scheduler)
    if address is None:
        hooks.starting()
    count = sum(1 for d in queues if date_from <= d <= date_to)
    with hooks.progress(count, "backtesting") as advance:
        result = backtest(history, queues, date_from, date_to, bt, progress=advance,
                          dask_scheduler=address, nights_per_task=nights_per_task,
                          history_sources=paths, queue_source=queue_source)
    result.notes = notes
    return result


def _dynamodb_nights(source, dates: list[str], hooks, clock
                     ) -> tuple[pl.DataFrame | None, dict[str, Night]]:
    """Every item of every date (all attributes: past items carry started_at/finished_at) and
    each date's queue (its items as job records)."""
    from concurrent.futures import ThreadPoolExecutor

    from ..io.dynamo import query_jobs
    from ..io.loading import DYNAMODB_CONCURRENCY
    from ..io.schema import night_from_frame, validate_jobs

    def one(d):
        res = query_jobs(d, None, table=source.table, region=source.region,
                         profile=source.profile, endpoint_url=source.endpoint_url,
                         max_attempts=source.max_attempts, projection=False)
        return d, res.frame

    with hooks.progress(len(dates), "querying") as advance:
        with ThreadPoolExecutor(max_workers=DYNAMODB_CONCURRENCY) as pool:
            got = []
            for d, frame in pool.map(one, dates):
                got.append((d, frame))
                if advance is not None:
                    advance(1)
    frames = [f for _, f in got if f.height]
    queues = {d: night_from_frame(validate_jobs(f), d, None, clock.batch_start,
                                  clock.batch_end) for d, f in got if f.height}
    if not frames:
        return None, queues
    return pl.concat(frames, how="diagonal_relaxed"), queues
