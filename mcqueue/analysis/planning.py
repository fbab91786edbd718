"""Many nights and worker sweeps: ``score`` (risk of every night on some worker counts) and
``plan`` (the fewest workers that meet a target on one night).

Both run every scenario through the engine's low-level layer (``prepare`` once, ``replicate`` in
groups of scenarios) and keep only the statistics they report, so 1,000 nights of 10,000
replications never hold more than one group's samples in memory.

Common random numbers: the scenarios of one night differ only in workers, so replication i of
every worker count sees the same drawn arrivals and runtimes. ``plan`` uses this for paired
differences between neighbouring worker counts, whose intervals are much narrower than the
unpaired ones (both are reported).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from .._notebook import Notebook
from .._plain import plain
from ..engine import simulate as engine
from ..errors import ScenarioError
from ..engine.perturbation import Perturbation
from ..engine.night import Night
from ..stats.intervals import t_quantile
from .scheduling import (Scheduling, capacity_problem, check_capacity_times, check_feasible,
                         night_problem)

METRIC = {m: i for i, m in enumerate(engine.METRICS)}
I_P95 = METRIC["p95_wait_minutes"]
I_DRAIN = METRIC["queue_drained_minute"]
I_OVERFLOW_JOBS = METRIC["overflow_jobs"]
# scenarios per kernel call in ``score``: (S, 8, R) float64 = 128 x 8 x 10,000 x 8 B = 82 MB
DEFAULT_GROUP = 128
DEFAULT_MAX_OVERFLOW = 0.05

SCORE_COLUMNS = (
    "batch_date", "window", "workers", "jobs", "rho",
    "overflow_probability", "overflow_ci_low", "overflow_ci_high",
    "p95_wait_mean", "p95_wait_ci_low", "p95_wait_ci_high",
    "drained_p90_minute", "horizon_minutes", "deterministic_overflow_jobs",
)
# columns that appear only when used (issues 12 and 13): ``policy`` (after ``workers``) with
# --policy, the any-late probability (after the overflow interval) when some job has a
# deadline
POLICY_COLUMN = "policy"
ANY_LATE_COLUMNS = ("any_late_probability", "any_late_ci_low", "any_late_ci_high")


def score_columns(policies: bool = False, any_late: bool = False) -> tuple[str, ...]:
    """SCORE_COLUMNS with the optional columns a run uses, in their places."""
    cols: list[str] = []
    for c in SCORE_COLUMNS:
        cols.append(c)
        if c == "workers" and policies:
            cols.append(POLICY_COLUMN)
        if c == "overflow_ci_high" and any_late:
            cols.extend(ANY_LATE_COLUMNS)
    return tuple(cols)


# ---------------------------------------------------------------- settings
@dataclass(frozen=True)
class Settings:
    """Monte Carlo settings shared by every scenario of a score or plan (validated here)."""

    replications: int = engine.DEFAULT_REPLICATIONS
    seed: int = engine.DEFAULT_SEED
    runtime_cv: float = engine.DEFAULT_RUNTIME_CV
    arrival_jitter: float = engine.DEFAULT_ARRIVAL_JITTER
    class_cv: Mapping[str, float] = field(default_factory=dict)
    confidence: float = engine.DEFAULT_CONFIDENCE

    def __post_init__(self):
        object.__setattr__(self, "replications", engine.check_replications(self.replications))
        object.__setattr__(self, "seed", engine.check_seed(self.seed))
        object.__setattr__(self, "confidence", engine.check_confidence(self.confidence))
        object.__setattr__(self, "class_cv", dict(self.class_cv or {}))
        self.perturbation()  # validates cv and jitter

    def perturbation(self) -> Perturbation:
        return Perturbation(runtime_cv=self.runtime_cv, arrival_jitter=self.arrival_jitter,
                            class_cv=self.class_cv)


def check_worker_list(workers: Iterable[int]) -> tuple[int, ...]:
    out = tuple(engine.check_workers(w) for w in workers)
    if not out:
        raise ScenarioError("workers: give at least one worker count")
    return tuple(dict.fromkeys(out))  # unique, in the given order


# ---------------------------------------------------------------- vectorised statistics
def wilson_rows(successes: np.ndarray, n: int, confidence: float):
    """``stats.wilson`` of each count (estimate, low, high arrays): the very function the
    single-scenario results use, so a score row and ``simulate`` agree to the last bit
    (about 20 us a call: 20 ms for 1,000 nights)."""
    from ..stats.intervals import wilson

    out = np.empty((3, len(successes)))
    for i, k in enumerate(np.asarray(successes, dtype=np.int64)):
        w = wilson(int(k), n, confidence)
        out[:, i] = (w["estimate"], w["ci_low"], w["ci_high"])
    return out[0], out[1], out[2]


def mean_rows(x: np.ndarray, confidence: float, lower: float = 0.0):
    """Row means of (S, R) with Student-t intervals (``stats.summarize``'s mean/ci), cut below
    at ``lower`` (every metric is >= 0)."""
    n = x.shape[1]
    mean = x.mean(axis=1)
    if n < 2:
        nan = np.full(x.shape[0], math.nan)
        return mean, nan, nan.copy()
    sd = x.std(axis=1, ddof=1)
    half = t_quantile(confidence, n - 1) * sd / math.sqrt(n)
    return mean, np.maximum(lower, mean - half), mean + half


def nearest_rank_rows(x: np.ndarray, q: float) -> np.ndarray:
    """Row-wise nearest-rank quantile: the ceil(q R)-th smallest value of each row."""
    k = max(0, math.ceil(q * x.shape[1]) - 1)
    return np.partition(x, k, axis=1)[:, k]


def paired_interval(a: np.ndarray, b: np.ndarray, confidence: float) -> dict[str, float]:
    """Mean of b - a with the paired Student-t interval (a and b from the same replications)."""
    d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    n = d.shape[0]
    mean = float(d.mean())
    if n < 2:
        return {"estimate": mean, "ci_low": math.nan, "ci_high": math.nan}
    half = t_quantile(confidence, n - 1) * float(d.std(ddof=1)) / math.sqrt(n)
    return {"estimate": mean, "ci_low": mean - half, "ci_high": mean + half}


def unpaired_interval(a: np.ndarray, b: np.ndarray, confidence: float) -> dict[str, float]:
    """Mean of b minus mean of a with Welch's interval, as if a and b were independent runs."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    na, nb = a.shape[0], b.shape[0]
    mean = float(b.mean() - a.mean())
    if na < 2 or nb < 2:
        return {"estimate": mean, "ci_low": math.nan, "ci_high": math.nan}
    va, vb = float(a.var(ddof=1)) / na, float(b.var(ddof=1)) / nb
    se2 = va + vb
    if se2 == 0.0:
        return {"estimate": mean, "ci_low": mean, "ci_high": mean}
    dof = se2 * se2 / (va * va / (na - 1) + vb * vb / (nb - 1))
    half = t_quantile(confidence, dof) * math.sqrt(se2)
    return {"estimate": mean, "ci_low": mean - half, "ci_high": mean + half}


# ---------------------------------------------------------------- score
def _zero_noise(batch: engine.Batch) -> engine.Batch:
    """The same layout with no runtime noise and no arrival jitter: the deterministic replay."""
    return dataclasses.replace(batch, sigma=np.zeros_like(batch.sigma),
                               night_jitter=np.zeros_like(batch.night_jitter))


def _scenario_grid(nights: Sequence[Night], workers: Sequence[int], sched: Scheduling
                   ) -> tuple[np.ndarray, np.ndarray, list, list]:
    """Every night x worker count x policy (policies inner): scenario nights, workers,
    policies and capacities (resolved per worker count on each night's clock)."""
    policies = sched.policy_list()
    per_night = len(workers) * len(policies)
    scen_night = np.repeat(np.arange(len(nights), dtype=np.int64), per_night)
    scen_workers = np.tile(np.repeat(np.array(workers, dtype=np.int64), len(policies)),
                           len(nights))
    scen_policy = policies * (len(nights) * len(workers))
    memo: dict = {}
    caps = []
    for g, c in zip(scen_night.tolist(), scen_workers.tolist()):
        nt = nights[g]
        key = (c, nt.batch_start, nt.batch_end)
        if key not in memo:
            memo[key] = sched.capacity_for(c, nt.batch_start, nt.batch_end)
        caps.append(memo[key])
    return scen_night, scen_workers, scen_policy, caps


def score_chunk(nights: Sequence[Night], workers: Sequence[int], settings: Settings,
                group: int = DEFAULT_GROUP,
                progress: Callable[[int], None] | None = None,
                scheduling: Scheduling | None = None) -> list[ScoreRow]:
    """Score rows of ``nights`` x ``workers`` (x the policies of ``scheduling``) in input
    order (the unit of work of a Dask task).

    ``progress`` is called with the number of nights finished after each group. A night that
    cannot run on a worker count (a job's slots above it) is a DataError naming it.
    """
    nights = list(nights)
    workers = check_worker_list(workers)
    sched = scheduling or Scheduling()
    if not nights:
        return []
    batch = engine.prepare(nights, settings.perturbation(), settings.seed)
    scen_night, scen_workers, scen_policy, caps = _scenario_grid(nights, workers, sched)
    for g, c, cap in zip(scen_night.tolist(), scen_workers.tolist(), caps):
        check_feasible(nights[g], c, cap)
    n_scen = scen_night.shape[0]
    per_night = n_scen // len(nights)
    general = sched.used or any(nt.uses_features for nt in nights)
    kw: dict = ({"policy": scen_policy, "capacity": caps,
                 "backfill_depth": sched.backfill_depth} if general else {})
    det = engine.replicate(_zero_noise(batch), scen_night, scen_workers, 1, **kw)[:, :, 0]
    horizon = batch.night_horizon[scen_night]
    deadlines = np.array([nights[g].has_deadlines for g in scen_night.tolist()], dtype=bool)
    cols = {k: np.empty(n_scen) for k in _STAT_KEYS}
    per_group = max(1, group // per_night)  # whole nights per group: progress counts nights
    for g0 in range(0, len(nights), per_group):
        g1 = min(len(nights), g0 + per_group)
        s0, s1 = g0 * per_night, g1 * per_night
        late = None
        if general:
            run = engine.replicate_detailed(
                batch, scen_night[s0:s1], scen_workers[s0:s1], settings.replications,
                policy=scen_policy[s0:s1], capacity=caps[s0:s1],
                backfill_depth=sched.backfill_depth)
            samples = run.samples
            if run.extra is not None:
                late = run.extra[:, 0, :]
        else:
            samples = engine.replicate(batch, scen_night[s0:s1], scen_workers[s0:s1],
                                       settings.replications)
        for key, v in _sample_stats(samples, horizon[s0:s1], settings.confidence, late,
                                    deadlines[s0:s1]).items():
            cols[key][s0:s1] = v
        del samples
        if progress is not None:
            progress(g1 - g0)
    return _rows(nights, scen_night, scen_workers, cols, horizon, det,
                 scen_policy if sched.policies else None)


_STAT_KEYS = ("p", "p_lo", "p_hi", "m", "m_lo", "m_hi", "d90", "a", "a_lo", "a_hi")


def _sample_stats(samples: np.ndarray, horizon: np.ndarray, confidence: float,
                  late: np.ndarray | None = None,
                  deadlines: np.ndarray | None = None) -> dict:
    """The statistics score reports, for each scenario of (S, 8, R) samples. The any-late
    probability (``a``) counts the replications with a late job (``late``, (S, R), for the
    scenarios whose night has deadlines); on a night without deadlines every job's deadline
    is the cutoff, so it is the overflow probability itself."""
    drained = samples[:, I_DRAIN, :]
    R = samples.shape[2]
    k = np.count_nonzero(drained > horizon[:, None], axis=1)
    out = dict(zip(("p", "p_lo", "p_hi"), wilson_rows(k, R, confidence)))
    out.update(zip(("m", "m_lo", "m_hi"), mean_rows(samples[:, I_P95, :], confidence)))
    out["d90"] = nearest_rank_rows(drained, 0.9)
    if late is not None and deadlines is not None and deadlines.any():
        k_late = np.where(deadlines, np.count_nonzero(late > 0, axis=1), k)
        out.update(zip(("a", "a_lo", "a_hi"), wilson_rows(k_late, R, confidence)))
    else:
        out.update(a=out["p"], a_lo=out["p_lo"], a_hi=out["p_hi"])
    return out


@dataclass
class ScoreRow:
    """One night on one worker count: risk with intervals (fields in ``SCORE_COLUMNS`` order).

    NaN (no jobs) becomes null in JSON and an empty cell in CSV.
    """

    batch_date: str
    window: str | None
    workers: int
    jobs: int
    rho: float
    overflow_probability: float
    overflow_ci_low: float
    overflow_ci_high: float
    p95_wait_mean: float
    p95_wait_ci_low: float
    p95_wait_ci_high: float
    drained_p90_minute: float
    horizon_minutes: float
    deterministic_overflow_jobs: int
    # issues 12 and 13 (in the output only when used: ``score_columns``)
    policy: str | None = None
    any_late_probability: float = math.nan
    any_late_ci_low: float = math.nan
    any_late_ci_high: float = math.nan

    def to_dict(self, columns: Sequence[str] = SCORE_COLUMNS) -> dict:
        return plain({c: getattr(self, c) for c in columns})


@dataclass
class ScoreResult(Notebook):
    """Score rows, highest risk first, with the settings that made them and the notes (dates
    without jobs) a reader should see. ``policies``: the run's --policy values (the rows
    then carry ``policy``); ``any_late``: some night has a job with a deadline (the rows then
    carry the any-late probability)."""

    rows: list[ScoreRow]
    settings: Settings
    notes: list[str] = field(default_factory=list)
    # batch_date -> where its jobs' runtimes came from (only with a calibration model: the
    # rows' ``runtime_model`` key; see analysis/runtime_model.py)
    runtime_model: dict[str, dict] | None = None
    policies: tuple[str, ...] = ()
    any_late: bool = False
    # batch_date -> the re-forecast time (only with --now, issue 15: the rows' ``now`` key)
    now: dict[str, dict] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return score_columns(bool(self.policies), self.any_late)

    def to_dicts(self) -> list[dict]:
        cols = self.columns
        return [r.to_dict(cols) for r in self.rows]


def _rows(nights, scen_night, scen_workers, cols, horizon, det,
          policies: Sequence[str | None] | None = None) -> list[ScoreRow]:
    rows = []
    for s in range(len(scen_night)):
        nt = nights[int(scen_night[s])]
        c = int(scen_workers[s])
        rows.append(ScoreRow(
            batch_date=nt.batch_date, window=nt.window, workers=c,
            jobs=nt.n_jobs, rho=engine.queueing(nt, c)["rho"],
            overflow_probability=float(cols["p"][s]),
            overflow_ci_low=float(cols["p_lo"][s]),
            overflow_ci_high=float(cols["p_hi"][s]),
            p95_wait_mean=float(cols["m"][s]),
            p95_wait_ci_low=float(cols["m_lo"][s]),
            p95_wait_ci_high=float(cols["m_hi"][s]),
            drained_p90_minute=float(cols["d90"][s]),
            horizon_minutes=float(horizon[s]),
            deterministic_overflow_jobs=int(det[s, I_OVERFLOW_JOBS]),
            policy=None if policies is None else policies[s],
            any_late_probability=float(cols["a"][s]),
            any_late_ci_low=float(cols["a_lo"][s]),
            any_late_ci_high=float(cols["a_hi"][s]),
        ))
    return rows


def empty_rows(batch_date: str, workers: Sequence[int], horizon: float,
               window: str | None = None,
               policies: Sequence[str | None] = (None,)) -> list[ScoreRow]:
    """Rows for a date with no jobs at all (e.g. an empty DynamoDB partition): 0 jobs, no risk."""
    nan = math.nan
    return [ScoreRow(batch_date=batch_date, window=window, workers=int(c), jobs=0, rho=nan,
                     overflow_probability=nan, overflow_ci_low=nan, overflow_ci_high=nan,
                     p95_wait_mean=nan, p95_wait_ci_low=nan, p95_wait_ci_high=nan,
                     drained_p90_minute=nan, horizon_minutes=horizon,
                     deterministic_overflow_jobs=0, policy=p)
            for c in check_worker_list(workers) for p in policies]


def _nan_last(x: float) -> float:
    return -math.inf if x is None or math.isnan(x) else x


def risk_order(rows: Iterable[ScoreRow]) -> list[ScoreRow]:
    """Highest risk first: overflow probability desc, then mean p95 wait desc; ties by date,
    window, workers. Rows without a risk (no jobs) go last."""
    return sorted(rows, key=lambda r: (-_nan_last(r.overflow_probability),
                                       -_nan_last(r.p95_wait_mean),
                                       r.batch_date, r.window or "", r.workers))


def chunks(items: Sequence, size: int) -> list[list]:
    if size < 1:
        raise ScenarioError(f"nights per task must be >= 1, got {size!r}")
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def score(nights: Sequence[Night], workers: Sequence[int] = (3,),
          settings: Settings | None = None, group: int = DEFAULT_GROUP,
          progress: Callable[[int], None] | None = None, dask_scheduler: str | None = None,
          nights_per_task: int | None = None,
          empty: Sequence[Night] = (), notes: Sequence[str] = (),
          dask_timeout: float | None = None,
          scheduling: Scheduling | None = None) -> ScoreResult:
    """One row per night and worker count (``SCORE_COLUMNS``), highest risk first; the nights
    without jobs (in ``empty`` or in ``nights``) get rows with 0 jobs and no risk, listed last.

    With ``dask_scheduler`` the nights go to that Dask distributed cluster in chunks of
    ``nights_per_task`` (each task runs ``score_chunk``); the numbers are the in-process ones,
    because every draw depends only on (seed, replication, job_id). ``dask_timeout`` limits
    the connect to the scheduler (seconds). ``scheduling``: policies (every night x worker
    count x policy, on the same random nights), capacity and backfill depth (issue 13).
    """
    settings = settings or Settings()
    workers = check_worker_list(workers)
    sched = scheduling or Scheduling()
    empty = [*empty, *(nt for nt in nights if not nt.n_jobs)]
    nights = [nt for nt in nights if nt.n_jobs]
    for nt in nights[:1]:  # option errors before any work (the nights share one clock)
        check_capacity_times(sched.capacity, nt.batch_start, nt.batch_end)
        for c in workers:
            sched.capacity_for(c, nt.batch_start, nt.batch_end)
    if dask_scheduler:
        from .cluster import DEFAULT_NIGHTS_PER_TASK, map_chunks

        parts = chunks(nights, nights_per_task or DEFAULT_NIGHTS_PER_TASK)
        results = map_chunks(score_chunk, parts, dask_scheduler, workers, settings, group, None,
                             sched,
                             progress=(lambda i: progress(len(parts[i]))) if progress else None,
                             timeout=dask_timeout)
        rows = [r for part in results for r in part]
    else:
        rows = score_chunk(nights, workers, settings, group, progress, sched)
    rows = risk_order(rows)
    for nt in empty:
        rows += empty_rows(nt.batch_date, workers, nt.horizon_minutes, nt.window,
                           sched.policy_list())
    return ScoreResult(rows, settings, list(notes), policies=sched.policies,
                       any_late=any(nt.has_deadlines for nt in nights))


# ---------------------------------------------------------------- plan
@dataclass
class PlanRow(ScoreRow):
    """A worker count (and policy) of the sweep: its score row and whether it meets the
    target. ``infeasible``: why the night cannot run on this pool (a job's slots above the
    worker count, a capacity that never lets it drain), its statistics then NaN."""

    meets_target: bool = False
    infeasible: str | None = None

    def to_dict(self, columns: Sequence[str] = SCORE_COLUMNS) -> dict:
        d = {c: getattr(self, c) for c in columns}
        d["meets_target"] = self.meets_target
        return plain(d)


STEP_FIELDS = ("diff", "paired_ci_low", "paired_ci_high", "unpaired_ci_low",
               "unpaired_ci_high")


@dataclass
class PlanStep:
    """From one worker count to the next on the same random nights: the paired difference of
    the overflow indicator and of the p95 wait (paired t interval) and the unpaired (Welch)
    interval independent runs would give. ``policy``: the sweep it belongs to (with
    --policy)."""

    from_workers: int
    to_workers: int
    overflow_diff: float
    overflow_paired_ci_low: float
    overflow_paired_ci_high: float
    overflow_unpaired_ci_low: float
    overflow_unpaired_ci_high: float
    p95_wait_diff: float
    p95_wait_paired_ci_low: float
    p95_wait_paired_ci_high: float
    p95_wait_unpaired_ci_low: float
    p95_wait_unpaired_ci_high: float
    policy: str | None = None

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if d["policy"] is None:
            del d["policy"]
        else:  # the sweep first
            d = {"policy": d.pop("policy"), **d}
        return plain(d)


@dataclass
class PolicyStep:
    """Two policies at one worker count on the same random nights (issue 13): the paired
    difference (``to_policy`` minus ``from_policy``, the first --policy) of the overflow
    indicator and of the p95 wait, with the paired and unpaired intervals as in PlanStep."""

    workers: int
    from_policy: str
    to_policy: str
    overflow_diff: float
    overflow_paired_ci_low: float
    overflow_paired_ci_high: float
    overflow_unpaired_ci_low: float
    overflow_unpaired_ci_high: float
    p95_wait_diff: float
    p95_wait_paired_ci_low: float
    p95_wait_paired_ci_high: float
    p95_wait_unpaired_ci_low: float
    p95_wait_unpaired_ci_high: float

    def to_dict(self) -> dict:
        return plain(dataclasses.asdict(self))


@dataclass
class Plan(Notebook):
    """A worker sweep of one night and its recommendation.

    ``rows``: per worker count (and policy, policies inner), overflow probability and mean p95
    wait with intervals. ``steps``: per neighbouring pair of feasible counts of a policy (c ->
    c+1), the paired difference of the overflow indicator and of the p95 wait with its paired
    interval, and the unpaired (Welch) interval the same numbers would give without common
    random numbers. ``policy_steps``: the same differences between each policy and the first
    at equal worker counts. ``recommended``: the fewest workers meeting the target, or None;
    ``recommended_policy`` the policy with it (with --policy); ``reason`` says why.
    """

    night: Night
    settings: Settings
    max_overflow: float
    max_p95_wait: float | None
    rows: list[PlanRow]
    steps: list[PlanStep]
    recommended: int | None
    reason: str
    bounds: dict
    runtime_model: dict | None = None  # only with a calibration model (runtime_model.py)
    policies: tuple[str, ...] = ()
    policy_steps: list[PolicyStep] = field(default_factory=list)
    recommended_policy: str | None = None
    capacity: tuple = ()  # the --capacity steps as written (CapacityStep)
    backfill_depth: int | None = None

    @property
    def any_late(self) -> bool:
        return self.night.has_deadlines

    @property
    def has_infeasible(self) -> bool:
        return any(r.infeasible is not None for r in self.rows)

    @property
    def row_columns(self) -> tuple[str, ...]:
        return score_columns(bool(self.policies), self.any_late)

    def row_dict(self, r: PlanRow) -> dict:
        d = r.to_dict(self.row_columns)
        if self.has_infeasible:
            d["infeasible"] = r.infeasible
        return d

    def to_dict(self) -> dict:
        extra = {} if self.runtime_model is None else {"runtime_model": self.runtime_model}
        d: dict = {
            "batch_date": self.night.batch_date, "window": self.night.window,
            "jobs": self.night.n_jobs, "horizon_minutes": self.night.horizon_minutes,
            "replications": self.settings.replications, "seed": self.settings.seed,
            "confidence": self.settings.confidence,
            "runtime_cv": self.settings.runtime_cv,
            "arrival_jitter_minutes": self.settings.arrival_jitter,
            "max_overflow": self.max_overflow, "max_p95_wait": self.max_p95_wait,
        }
        if self.policies:
            d["policies"] = list(self.policies)
        if self.capacity:
            d["capacity"] = [st.text for st in self.capacity]
        if self.backfill_depth is not None:
            d["backfill_depth"] = self.backfill_depth
        d["recommended_workers"] = self.recommended
        if self.policies:
            d["recommended_policy"] = self.recommended_policy
        d.update({"reason": self.reason,
                  "bounds": dict(self.bounds), "sweep": [self.row_dict(r) for r in self.rows],
                  "steps": [st.to_dict() for st in self.steps]})
        if len(self.policies) > 1:
            d["policy_steps"] = [st.to_dict() for st in self.policy_steps]
        d.update(extra)
        return plain(d)


def drain_bounds(night: Night, workers: int) -> dict:
    """Lower bounds on the drain time from the planned (mean) runtimes.

    Exclusive jobs hold the whole pool, so no other work runs meanwhile: the pool needs at least
    E + (W - E) / c minutes of work (E exclusive runtime, W total). A job also cannot finish
    before its arrival plus its runtime. Runtime noise has mean 1 and arrivals are only ever
    delayed, so these bound the expected drain time of the noisy nights too.
    """
    rt = night.runtime_minutes
    ex = night.exclusive
    e = float(rt[ex].sum()) if night.n_jobs else 0.0
    total = float(rt.sum()) if night.n_jobs else 0.0
    work = e + (total - e) / workers
    if night.n_jobs:
        j = int(np.argmax(night.arrival_minute + rt))
        latest = float(night.arrival_minute[j] + rt[j])
        latest_job = night.job_id[j]
    else:
        latest, latest_job = 0.0, None
    return {"exclusive_work_minutes": e, "total_work_minutes": total, "workers": workers,
            "work_bound_minutes": work, "latest_arrival_plus_runtime_minutes": latest,
            "latest_job_id": latest_job, "drain_lower_bound_minutes": max(work, latest),
            "horizon_minutes": night.horizon_minutes}


def _fmt(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.0f}"


def _explain_none(night: Night, rows: list[PlanRow], max_overflow: float,
                  max_p95_wait: float | None, bounds: dict) -> str:
    h = night.horizon_minutes
    c = bounds["workers"]
    e, w = bounds["exclusive_work_minutes"], bounds["total_work_minutes"]
    if e > h:
        return (f"no worker count meets the target: the exclusive-lock jobs alone run "
                f"{_fmt(e)} minutes (they hold the whole pool, whatever its size), longer than "
                f"the {_fmt(h)}-minute window")
    if bounds["latest_arrival_plus_runtime_minutes"] > h:
        return (f"no worker count meets the target: job {bounds['latest_job_id']} cannot "
                f"finish before minute {_fmt(bounds['latest_arrival_plus_runtime_minutes'])} "
                f"(arrival plus runtime), after the {_fmt(h)}-minute window")
    if bounds["work_bound_minutes"] > h:
        return (f"no worker count up to {c} meets the target: even on {c} workers the work "
                f"needs at least {_fmt(e)} + ({_fmt(w)} - {_fmt(e)}) / {c} = "
                f"{_fmt(bounds['work_bound_minutes'])} minutes (exclusive runtime plus the rest "
                f"shared by {c} workers), longer than the {_fmt(h)}-minute window")
    best = min(rows, key=lambda r: (r.overflow_ci_high, r.p95_wait_ci_high))
    why = []
    if best.overflow_ci_high > max_overflow:
        why.append(f"overflow probability upper bound {_fmt(best.overflow_ci_high)} > "
                   f"{_fmt(max_overflow)}")
    if max_p95_wait is not None and best.p95_wait_ci_high > max_p95_wait:
        why.append(f"p95 wait upper bound {_fmt(best.p95_wait_ci_high)} > "
                   f"{_fmt(max_p95_wait)} minutes")
    return (f"no worker count up to {c} meets the target (the drain time is at least "
            f"{_fmt(bounds['drain_lower_bound_minutes'])} of {_fmt(h)} minutes); the best, "
            f"{best.workers} workers, has " + " and ".join(why)
            + "; try more workers (--max-workers) or a looser target")


def _differences(a: np.ndarray, b: np.ndarray, q: float) -> dict:
    """Paired and unpaired intervals of b - a for the overflow indicator and the p95 wait of
    two scenarios' (8, R) samples (``overflowed`` rows precomputed)."""
    out: dict = {}
    for name, xa, xb in (("overflow", a[0], b[0]), ("p95_wait", a[1], b[1])):
        pi = paired_interval(xa, xb, q)
        ui = unpaired_interval(xa, xb, q)
        out[f"{name}_diff"] = pi["estimate"]
        out[f"{name}_paired_ci_low"] = pi["ci_low"]
        out[f"{name}_paired_ci_high"] = pi["ci_high"]
        out[f"{name}_unpaired_ci_low"] = ui["ci_low"]
        out[f"{name}_unpaired_ci_high"] = ui["ci_high"]
    return out


def _target_text(r: PlanRow, max_overflow: float, max_p95_wait: float | None) -> str:
    text = (f"overflow probability upper bound {_fmt(r.overflow_ci_high)} <= "
            f"{_fmt(max_overflow)}")
    if max_p95_wait is not None:
        text += (f" and p95 wait upper bound {_fmt(r.p95_wait_ci_high)} <= "
                 f"{_fmt(max_p95_wait)} minutes")
    return text


def plan(night: Night, settings: Settings | None = None, min_workers: int = 1,
         max_workers: int = 16, max_overflow: float = DEFAULT_MAX_OVERFLOW,
         max_p95_wait: float | None = None,
         progress: Callable[[int], None] | None = None,
         scheduling: Scheduling | None = None) -> Plan:
    """Simulate every worker count in [min_workers, max_workers] (under every policy of
    ``scheduling``) with common random numbers and recommend the fewest workers whose
    overflow-probability upper bound is <= ``max_overflow`` (and, if given, whose
    mean-p95-wait upper bound is <= ``max_p95_wait``).

    Every count is simulated: under the exclusive-lock rule more workers can make a night worse,
    so the answer is not found by bisection. A count the night cannot run on (a job's slots
    above it, a capacity that never lets it drain) is an infeasible row, not an error.

    With several policies, the recommendation is the pair (policy, workers) with the fewest
    workers meeting the target; among policies meeting it at that count, the smallest
    overflow upper bound, then the smallest p95-wait upper bound, then the order given.
    """
    settings = settings or Settings()
    sched = scheduling or Scheduling()
    lo = engine.check_workers(min_workers)
    hi = engine.check_workers(max_workers)
    if hi < lo:
        raise ScenarioError(f"max workers ({hi}) must be >= min workers ({lo})")
    if not (0.0 <= float(max_overflow) <= 1.0):
        raise ScenarioError(f"max overflow must be a probability in [0, 1], got {max_overflow!r}")
    if max_p95_wait is not None and not (float(max_p95_wait) >= 0.0):
        raise ScenarioError(f"max p95 wait must be >= 0 minutes, got {max_p95_wait!r}")
    check_capacity_times(sched.capacity, night.batch_start, night.batch_end)
    counts = list(range(lo, hi + 1))
    policies = sched.policy_list()
    q = settings.confidence
    h = night.horizon_minutes
    # per worker count: the pool (capacity resolved) or why the night cannot run on it
    pool: dict[int, tuple[str | None, engine.Capacity | None]] = {}
    for c in counts:
        why, cap = capacity_problem(sched.capacity, c, night.batch_start, night.batch_end)
        pool[c] = (why or night_problem(night, c, cap), cap)
    cells = [(p, c) for c in counts for p in policies]  # policies inner, as in score
    live = [(p, c) for p, c in cells if pool[c][0] is None]
    general = sched.used or night.uses_features
    batch = engine.prepare([night], settings.perturbation(), settings.seed)
    stats: dict[tuple, dict] = {}
    sample_of: dict[tuple, np.ndarray] = {}
    if live:
        scen_night = np.zeros(len(live), np.int64)
        scen_workers = np.array([c for _, c in live], np.int64)
        kw: dict = ({"policy": [p for p, _ in live], "capacity": [pool[c][1] for _, c in live],
                     "backfill_depth": sched.backfill_depth} if general else {})
        det = engine.replicate(_zero_noise(batch), scen_night, scen_workers, 1, **kw)[:, :, 0]
        late = None
        if general:
            run = engine.replicate_detailed(batch, scen_night, scen_workers,
                                            settings.replications, progress=progress, **kw)
            samples = run.samples
            if run.extra is not None:
                late = run.extra[:, 0, :]
        else:
            samples = engine.replicate(batch, scen_night, scen_workers, settings.replications,
                                       progress=progress)
        horizon = np.full(len(live), h)
        deadlines = np.full(len(live), night.has_deadlines)
        st = _sample_stats(samples, horizon, q, late, deadlines)
        score_rows = _rows([night], scen_night, scen_workers, st, horizon, det,
                           [p for p, _ in live] if sched.policies else None)
        overflowed = (samples[:, I_DRAIN, :] > h).astype(np.float64)
        for i, cell in enumerate(live):
            stats[cell] = dataclasses.asdict(score_rows[i])
            sample_of[cell] = np.stack([overflowed[i], samples[i, I_P95, :]])
    rows = []
    for p, c in cells:
        why = pool[c][0]
        if why is None:
            sr = stats[(p, c)]
            ok = sr["overflow_ci_high"] <= max_overflow
            if max_p95_wait is not None:
                ok = ok and sr["p95_wait_ci_high"] <= max_p95_wait
            rows.append(PlanRow(**sr, meets_target=bool(ok)))
        else:
            (blank,) = empty_rows(night.batch_date, [c], h, night.window, [p])
            blank.jobs = night.n_jobs
            blank.rho = engine.queueing(night, c)["rho"]
            blank.deterministic_overflow_jobs = None  # type: ignore[assignment]
            rows.append(PlanRow(**dataclasses.asdict(blank), meets_target=False,
                                infeasible=why))
    steps = []
    for p in policies:
        mine = [c for c in counts if pool[c][0] is None]
        for a, b in zip(mine, mine[1:]):
            steps.append(PlanStep(from_workers=a, to_workers=b,
                                  **_differences(sample_of[(p, a)], sample_of[(p, b)], q),
                                  policy=p if sched.policies else None))
    policy_steps = []
    if len(policies) > 1:
        base = policies[0]
        for c in counts:
            if pool[c][0] is not None:
                continue
            for p in policies[1:]:
                policy_steps.append(PolicyStep(
                    workers=c, from_policy=str(base), to_policy=str(p),
                    **_differences(sample_of[(base, c)], sample_of[(p, c)], q)))
    good = [r for r in rows if r.meets_target]
    top = max([hi] + [size for _, cap in pool.values() for _, size in cap or ()])
    bounds = drain_bounds(night, top)
    rec_policy = None
    if good:
        fewest = min(r.workers for r in good)
        order = {p: i for i, p in enumerate(policies)}
        best = min((r for r in good if r.workers == fewest),
                   key=lambda r: (r.overflow_ci_high, r.p95_wait_ci_high, order[r.policy]))
        rec = best.workers
        rec_policy = best.policy
        target = _target_text(best, max_overflow, max_p95_wait)
        reason = f"{rec} workers is the fewest with {target}"
        if sched.policies:
            reason = f"{rec} workers with policy {best.policy} is the fewest with {target}"
            others = []
            for p in policies:
                if p == best.policy:
                    continue
                mine = [r.workers for r in good if r.policy == p]
                others.append(f"{p} {min(mine) if mine else 'none up to ' + str(hi)}")
            if others:
                reason += " (fewest for " + ", ".join(others) + ")"
    else:
        rec = None
        feasible = [r for r in rows if r.infeasible is None]
        if feasible:
            reason = _explain_none(night, feasible, max_overflow, max_p95_wait, bounds)
        else:
            reason = (f"no worker count from {lo} to {hi} can run this night: "
                      f"{pool[hi][0]}")
    return Plan(night, settings, float(max_overflow),
                None if max_p95_wait is None else float(max_p95_wait), rows, steps, rec,
                reason, bounds, policies=sched.policies, policy_steps=policy_steps,
                recommended_policy=rec_policy if sched.policies else None,
                capacity=sched.capacity, backfill_depth=sched.backfill_depth)
