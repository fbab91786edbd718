"""One library call per command: read the nights a request names, run the analysis, return a
typed result for ``mcqueue.report`` to render.

The command line only parses options, calls one of ``run_simulate``, ``run_score`` or
``run_plan`` and renders what comes back; notebooks and schedulers can make the same calls.
``Hooks`` lets a caller see progress, notes and the moment before the first kernel call (the
command line prints numba's one-time compile notice there).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable, ContextManager, Iterator, Sequence

from .._notebook import Notebook
from ..engine import simulate as engine
from ..engine.simulate import SimulationResult
from ..errors import UsageError, plain, quote
from ..io.sample import TUTORIAL_SCENARIOS
from ..io.loading import Clock, Source, date_range, load_nights, load_range
from ..io.snapshot import NowTime, apply_now, parse_now
from .planning import Plan, ScoreResult, Settings, plan, score
from .runtime_model import AppliedModel, RuntimeOptions, apply_model
from .scheduling import Scheduling, check_capacity_times, check_feasible, scenario_label

DEFAULT_WORKERS = 3


@contextlib.contextmanager
def _no_progress(total: int, label: str) -> Iterator[None]:
    yield None


def _ignore(*args: object, **kwargs: object) -> None:
    return None


@dataclass
class Hooks:
    """Callbacks of a long run: ``note(message)`` for remarks a reader should see (stderr on
    the command line); ``progress(total, label)`` a context manager yielding ``advance(n)`` or
    None; ``starting(policies=..., per_job=...)`` right before the first kernel call, naming
    the policies whose general event loop the run uses (issues 12/13) and whether it streams
    per-job statistics (so a compile notice can say when they are not compiled yet)."""

    note: Callable[[str], None] = _ignore
    progress: Callable[[int, str], ContextManager] = _no_progress
    starting: Callable[..., None] = _ignore


def _general_policies(nights: Sequence, sched: Scheduling, per_job: bool = False
                      ) -> tuple[str, ...]:
    """The policies whose general event loop a run needs (none for today's kernel only): a
    night with an optional field of issues 12/13, a runtime draw of issue 14 or a re-forecast
    from now (issue 15) needs it as much as a policy or per-job statistics do."""
    if not (per_job or sched.used or any(nt.needs_general_loop for nt in nights)):
        return ()
    return tuple(dict.fromkeys(p or engine.DEFAULT_POLICY for p in sched.policy_list()))


def now_of(now: str | None, timezone: str | None) -> NowTime | None:
    """``--now`` and ``--timezone`` parsed before any data is read (UsageError naming the
    option and the value); None without ``now``. ``timezone`` alone is refused: it converts
    --now and the records' ISO-8601 times, which are read only with --now."""
    if now is None:
        if timezone is not None:
            raise UsageError(f"--timezone {quote(timezone)} converts the re-forecast time and "
                             "the records' ISO-8601 times: give --now with it")
        return None
    return parse_now(now, timezone)


@dataclass
class SimulateReport(Notebook):
    """The scenarios of one ``simulate`` run, in the order they were asked for."""

    results: list[SimulationResult]
    notes: list[str] = field(default_factory=list)

    def to_dicts(self) -> list[dict]:
        return [r.to_dict() for r in self.results]


def scenario_dates(source: Source, dates: Sequence[str], workers: Sequence[int]
                   ) -> list[tuple[str | None, int]]:
    """[(batch_date, workers), ...] before any data is read; a None date means "the file's
    only night".

    No date on the built-in sample: the tutorial's two scenarios (each on ``workers`` when
    given). Otherwise every night runs on every worker count (nights outer, workers inner).
    """
    counts = list(dict.fromkeys(workers)) or [DEFAULT_WORKERS]
    if not dates:
        if source.kind == "dynamodb":
            raise UsageError("--source dynamodb needs --batch-date (the partition key to "
                             "query)")
        if source.file is None:
            if not workers:
                return list(TUTORIAL_SCENARIOS)
            return [(d, c) for d, _ in TUTORIAL_SCENARIOS for c in counts]
        return [(None, c) for c in counts]
    return [(d, c) for d in dict.fromkeys(dates) for c in counts]


def run_simulate(source: Source, dates: Sequence[str] = (), workers: Sequence[int] = (),
                 clock: Clock = Clock(), settings: Settings | None = None, *,
                 target_halfwidth_p95: float | None = None,
                 target_halfwidth_overflow: float | None = None,
                 max_replications: int | None = None,
                 hooks: Hooks | None = None, keep_samples: bool = False,
                 runtime: RuntimeOptions | None = None,
                 scheduling: Scheduling | None = None,
                 per_job: bool = False, now: str | None = None,
                 timezone: str | None = None) -> SimulateReport:
    """``mcqueue simulate``: every night on every worker count in one engine call (common
    random numbers), or one precision-targeted run per scenario when a target is given.

    ``keep_samples`` keeps each scenario's per-replication metrics (8 x R, kept in 44 bytes a
    replication: 440 KB per scenario at 10,000 replications; the run holds them anyway until
    it is summarised) in
    ``SimulationResult.samples``: the HTML report and the charts draw the drain-time curve from
    them. Precision-targeted runs always keep them.

    ``runtime``: a calibration model and the runtime-model options (`runtime_model`); each
    scenario then carries the ``runtime_model`` key saying where its jobs' runtimes came from.

    ``scheduling`` (issue 13): every night x worker count x policy (policies inner, the same
    random nights), a capacity schedule and the backfill depth; ``per_job`` (issue 12) adds
    each scenario's per-job statistics.

    ``now`` (issue 15): re-forecast every night from this time, HH:MM on the night's clock or
    an ISO-8601 timestamp with an offset read in ``timezone`` (default UTC), with the records'
    status, started_at and finished_at (`mcqueue.io.snapshot`); each scenario then carries
    the ``now`` key.
    """
    now_t = now_of(now, timezone)
    settings = settings or Settings()
    hooks = hooks or Hooks()
    sched = scheduling or Scheduling()
    targeted = target_halfwidth_p95 is not None or target_halfwidth_overflow is not None
    if max_replications is not None and not targeted:
        raise UsageError("--max-replications caps a precision-targeted run: give "
                         "--target-halfwidth-p95 and/or --target-halfwidth-overflow")
    plan_ = scenario_dates(source, dates, workers)
    # option errors (exit 2) before any data is read: the capacity on every worker count
    check_capacity_times(sched.capacity, clock.batch_start, clock.batch_end)
    caps = {c: sched.capacity_for(c, clock.batch_start, clock.batch_end)
            for c in dict.fromkeys(c for _, c in plan_)}
    loaded = load_nights(source, [d for d, _ in plan_], clock, snapshot=now_t is not None)
    applied = _applied(loaded.nights, runtime)
    nights, now_keys = _at_now(applied.nights, loaded, now_t)
    by_date = {nt.batch_date: nt for nt in nights}
    if any(d is None for d, _ in plan_):  # the file's only night
        (only,) = by_date
        plan_ = [(only, c) for _, c in plan_]
    scenarios = [engine.Scenario(by_date[d], c, scenario_label(by_date[d], c, p), p, caps[c],
                                 sched.backfill_depth)
                 for d, c in plan_ if d is not None for p in sched.policy_list()]
    for sc in scenarios:  # a pool too small for the night's jobs: a data error (exit 1)
        check_feasible(sc.night, sc.workers, sc.capacity)

    notes = []
    classes = {k for nt in loaded.nights for k in nt.workload_class}
    for name in sorted(set(settings.class_cv) - classes):
        notes.append(f"--class-cv {plain(name)}=...: no job of class {quote(name)} in the "
                     f"simulated nights (classes: {', '.join(map(plain, sorted(classes)))})")
    outside = loaded.outside_note(clock)
    if outside:
        notes.append(outside)
    notes += sched.notes()
    notes += now_notes(nights, now_keys)
    for n in notes:
        hooks.note(n)

    hooks.starting(policies=_general_policies(nights, sched, per_job), per_job=per_job)
    if targeted:
        from .sequential import DEFAULT_MAX_REPLICATIONS, check_memory, simulate_to_precision

        cap = max_replications or DEFAULT_MAX_REPLICATIONS
        check_memory(cap, len(scenarios))
        with hooks.progress(cap * len(scenarios), "simulating") as advance:
            # the total is an upper bound: a run may stop early
            results = [simulate_to_precision(
                sc.night, sc.workers, target_halfwidth_p95=target_halfwidth_p95,
                target_halfwidth_overflow=target_halfwidth_overflow, max_replications=cap,
                seed=settings.seed, runtime_cv=settings.runtime_cv,
                arrival_jitter=settings.arrival_jitter, class_cv=settings.class_cv,
                confidence=settings.confidence, name=sc.label, progress=advance,
                policy=sc.policy, capacity=sc.capacity, backfill_depth=sc.backfill_depth,
                per_job=per_job)
                for sc in scenarios]
    else:
        with hooks.progress(settings.replications * len(scenarios), "simulating") as advance:
            results = engine.simulate_scenarios(
                scenarios, replications=settings.replications, seed=settings.seed,
                runtime_cv=settings.runtime_cv, arrival_jitter=settings.arrival_jitter,
                class_cv=settings.class_cv, confidence=settings.confidence, progress=advance,
                keep_samples=keep_samples, per_job=per_job)
    for r in results:
        if r.night.batch_date in loaded.query_stats:
            r.extra["dynamodb"] = dict(loaded.query_stats[r.night.batch_date])
        if runtime is not None and runtime.used:
            r.extra["runtime_model"] = applied.report(r.night.batch_date)
        if r.night.batch_date in now_keys:
            r.extra["now"] = dict(now_keys[r.night.batch_date])
    return SimulateReport(results, notes)


def now_notes(nights: list, now_keys: dict[str, dict]) -> list[str]:
    """A note per night whose ``now`` is at or past its cutoff (by the midnight rule a clock
    time before the batch start is the next day: --now 21:59 on a 22:00 batch is 1,439
    minutes in, a likely slip for the night's start)."""
    out = []
    for nt in nights:
        key = now_keys.get(nt.batch_date)
        if key is not None and key["minute"] >= nt.horizon_minutes:
            out.append(f"--now {plain(key['given'], 40)} is {key['minute']:,.0f} minutes after "
                       f"the batch start of night {nt.batch_date} ({nt.batch_start}), at or "
                       f"past its cutoff ({nt.batch_end}): the night is forecast as already "
                       "over")
    return out


def _at_now(nights: list, loaded, now_t: NowTime | None) -> tuple[list, dict[str, dict]]:
    """The nights re-forecast from ``now_t`` with their records' snapshot (unchanged
    without), and per date the reports' ``now`` key."""
    if now_t is None:
        return list(nights), {}
    return apply_now(nights, loaded.snapshots, now_t)


def _applied(nights: list, runtime: RuntimeOptions | None) -> AppliedModel:
    """The nights with their calibrated runtimes (as they are without runtime options)."""
    if runtime is None:
        return AppliedModel(list(nights), RuntimeOptions())
    return apply_model(nights, runtime)


def run_score(source: Source, date_from: str | None = None, date_to: str | None = None,
              clock: Clock = Clock(), workers: Sequence[int] = (DEFAULT_WORKERS,),
              settings: Settings | None = None, *, dask_scheduler: str | None = None,
              nights_per_task: int | None = None, hooks: Hooks | None = None,
              runtime: RuntimeOptions | None = None,
              scheduling: Scheduling | None = None, now: str | None = None,
              timezone: str | None = None) -> ScoreResult:
    """``mcqueue score``: every night of a file (or of a DynamoDB date range) on every worker
    count, highest risk first; dates without jobs are noted and listed last. ``runtime``: as
    in `run_simulate` (each row then carries ``runtime_model``); ``scheduling``: as in
    `run_simulate` (rows per night x worker count x policy); ``now``, ``timezone``: as in
    `run_simulate` (each row then carries ``now``)."""
    from .cluster import require_dask, scheduler_address

    now_t = now_of(now, timezone)
    settings = settings or Settings()
    hooks = hooks or Hooks()
    sched = scheduling or Scheduling()
    if date_to is not None and date_from is None:
        raise UsageError("--to needs --from")
    check_capacity_times(sched.capacity, clock.batch_start, clock.batch_end)
    for c in workers:
        sched.capacity_for(c, clock.batch_start, clock.batch_end)
    address = scheduler_address(dask_scheduler)
    if address is not None:
        require_dask()  # before any data is read
    if source.kind == "dynamodb":
        if date_from is None:
            raise UsageError("--source dynamodb needs --from (and --to) dates to query")
        days = len(date_range(date_from, date_to))
        with hooks.progress(days, "querying") as advance:
            loaded = load_range(source, date_from, date_to, clock, progress=advance,
                                snapshot=now_t is not None)
    else:
        loaded = load_range(source, date_from, date_to, clock, snapshot=now_t is not None)
    win = f" in window {clock.window}" if clock.window else ""
    notes = [f"no jobs for batch date {nt.batch_date}{win} in {source.label}: reported as 0 "
             f"jobs" for nt in loaded.empty]
    outside = loaded.outside_note(clock)
    if outside:
        notes.append(outside)
    notes += sched.notes()
    for n in notes:
        hooks.note(n)
    applied = _applied(loaded.nights, runtime)
    nights, now_keys = _at_now(applied.nights, loaded, now_t)
    for n in now_notes(nights, now_keys):
        notes.append(n)
        hooks.note(n)
    if address is None:
        hooks.starting(policies=_general_policies(nights, sched))
    with hooks.progress(len(nights), "simulating") as advance:
        result = score(nights, workers, settings, progress=advance,
                       dask_scheduler=address, nights_per_task=nights_per_task,
                       empty=loaded.empty, notes=notes, dask_timeout=source.timeout,
                       scheduling=sched)
    if runtime is not None and runtime.used:
        result.runtime_model = {nt.batch_date: applied.report(nt.batch_date)
                                for nt in applied.nights}
    if now_t is not None:
        result.now = now_keys
    return result


def run_plan(source: Source, batch_date: str, clock: Clock = Clock(),
             settings: Settings | None = None, min_workers: int = 1, max_workers: int = 16,
             max_overflow: float = 0.05, max_p95_wait: float | None = None, *,
             hooks: Hooks | None = None, runtime: RuntimeOptions | None = None,
             scheduling: Scheduling | None = None) -> Plan:
    """``mcqueue plan``: one night on every worker count of the sweep (under every policy of
    ``scheduling``) and a recommendation. ``runtime``: as in `run_simulate` (the plan then
    carries ``runtime_model``)."""
    settings = settings or Settings()
    hooks = hooks or Hooks()
    sched = scheduling or Scheduling()
    check_capacity_times(sched.capacity, clock.batch_start, clock.batch_end)
    loaded = load_nights(source, [batch_date], clock)
    notes = [n for n in (loaded.outside_note(clock), *sched.notes()) if n]
    for n in notes:
        hooks.note(n)
    applied = _applied(loaded.nights, runtime)
    (night,) = applied.nights
    hooks.starting(policies=_general_policies([night], sched))  # plan has no --now
    counts = max(0, max_workers - min_workers + 1) * len(sched.policy_list())
    with hooks.progress(counts * settings.replications, "simulating") as advance:
        result = plan(night, settings, min_workers, max_workers, max_overflow, max_p95_wait,
                      progress=advance, scheduling=sched)
    if runtime is not None and runtime.used:
        result.runtime_model = applied.report(night.batch_date)
    return result
