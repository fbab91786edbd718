"""The scheduling options of issue 13 as the commands take them: ``--policy`` (repeatable),
``--capacity HH:MM=N`` (repeatable; ``HH:MM=+N`` / ``HH:MM=-N`` relative to the worker count)
and ``--backfill-depth``, resolved into the engine's scenario parameters.

Capacity times are clock times read with the rule of requested windows (docs/model.md,
section 2): a time at or after the batch start is that many minutes after it; a time before
the batch start is the next day when the batch crosses midnight, else the batch start itself
(minute 0). The pool has ``--workers`` workers until the first step. Relative sizes are
resolved per worker count, so one ``--capacity 03:00=-1`` means "one worker fewer from 03:00"
on every count of a ``plan`` sweep.

Option problems are ``UsageError`` (exit 2): a step that is not ``HH:MM=N``, ``=+N`` or
``=-N``; two steps at the same minute; a size below 0 once resolved; a last size below 1 (the
night could never drain). A pool too small for the night's jobs (a job's ``slots`` above the
worker count, a last size below the largest ``slots``) depends on the data: ``DataError``
(exit 1) from ``check_feasible``, and an infeasible row in ``plan``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from ..engine import simulate as engine
from ..engine.night import MINUTES_PER_DAY, Night, parse_hhmm
from ..errors import DataError, UsageError, quote

POLICIES = engine.POLICIES
_STEP = re.compile(r"^\s*(\d{2}:\d{2})\s*=\s*([+-]?)\s*(\d{1,9})\s*$")


@dataclass(frozen=True)
class CapacityStep:
    """One ``--capacity`` value: from clock time ``clock`` the pool has ``size`` workers, or
    ``--workers`` plus ``size`` (``relative``; size may be negative)."""

    clock: str
    size: int
    relative: bool = False

    @property
    def text(self) -> str:
        if self.relative:
            return f"{self.clock}={self.size:+d}"
        return f"{self.clock}={self.size}"


def parse_capacity(text: str) -> CapacityStep:
    """``'03:00=5'``, ``'03:00=+2'``, ``'03:00=-2'`` -> CapacityStep; UsageError otherwise."""
    m = _STEP.match(text) if isinstance(text, str) else None
    if m is not None:
        try:
            parse_hhmm(m.group(1))
        except DataError:
            m = None
    if m is None:
        raise UsageError(f"--capacity must be HH:MM=N (N workers from that clock time), "
                         f"HH:MM=+N or HH:MM=-N (relative to --workers), got {quote(text)}")
    sign = m.group(2)
    size = int(m.group(3))
    return CapacityStep(m.group(1), -size if sign == "-" else size, relative=bool(sign))


def capacity_minute(clock: str, batch_start: str, batch_end: str) -> float:
    """Minutes after the batch start of a capacity clock time (the rule of requested
    windows: before the start it is the next day when the batch crosses midnight, else the
    start itself)."""
    w = parse_hhmm(clock, "capacity time")
    s = parse_hhmm(batch_start, "batch start")
    e = parse_hhmm(batch_end, "batch end")
    if w >= s:
        return float(w - s)
    return float(MINUTES_PER_DAY - s + w) if e <= s else 0.0


def minute_text(minute: float, batch_start: str) -> str:
    """A capacity minute for messages: the batch start (with its clock time) or N minutes after
    it."""
    return (f"the batch start ({batch_start})" if minute == 0
            else f"{minute:g} minutes after the batch start")


def check_capacity_times(steps: Sequence[CapacityStep], batch_start: str,
                         batch_end: str) -> None:
    """UsageError when two steps take effect at the same minute (e.g. 00:30 and 01:00 both
    at the start of a 01:00 batch)."""
    seen: dict[float, CapacityStep] = {}
    for st in steps:
        m = capacity_minute(st.clock, batch_start, batch_end)
        if m in seen:
            raise UsageError(f"--capacity {seen[m].text} and {st.text} both take effect at "
                             f"{minute_text(m, batch_start)}; give one size per time")
        seen[m] = st


@dataclass(frozen=True)
class CapacityIssue:
    """Why steps cannot be used on a pool: ``kind`` 'same_minute' (``step`` and the earlier
    ``other`` take effect at ``minute``), 'negative' (``step`` gives ``size`` < 0 workers) or
    'no_drain' (from ``step`` on the pool is ``size`` < 1 for the rest of the night)."""

    kind: str
    step: CapacityStep
    other: CapacityStep | None = None
    minute: float = 0.0
    size: int = 0


def absolute_capacity(steps: Sequence[CapacityStep], workers: int, batch_start: str,
                      batch_end: str) -> tuple[CapacityIssue | None, engine.Capacity | None]:
    """The engine's absolute steps on ``workers`` workers (relative sizes added to them, times
    read by `capacity_minute`), or the first reason they cannot be used, step by step: two
    steps at one minute, a size below 0, a last size below 1. Callers word the reason
    (``--capacity`` options, what-if scenarios)."""
    out: dict[float, tuple[int, CapacityStep]] = {}
    for st in steps:
        m = capacity_minute(st.clock, batch_start, batch_end)
        if m in out:
            return CapacityIssue("same_minute", st, out[m][1], minute=m), None
        size = workers + st.size if st.relative else st.size
        if size < 0:
            return CapacityIssue("negative", st, size=size), None
        out[m] = (size, st)
    cap = tuple(sorted((m, size) for m, (size, _) in out.items()))
    last_minute, last = engine.capacity_steps(workers, cap)[-1]
    if last < 1:
        return CapacityIssue("no_drain", out[last_minute][1], size=last), None
    return None, cap


def capacity_problem(steps: Sequence[CapacityStep], workers: int, batch_start: str,
                     batch_end: str) -> tuple[str | None, engine.Capacity | None]:
    """(why the steps cannot be used on ``workers`` workers, None) or (None, the engine's
    absolute steps); no steps: (None, None). Two steps at one minute are a UsageError
    (``check_capacity_times``)."""
    if not steps:
        return None, None
    check_capacity_times(steps, batch_start, batch_end)
    issue, cap = absolute_capacity(steps, workers, batch_start, batch_end)
    if issue is None:
        return None, cap
    st = issue.step
    if issue.kind == "negative":
        return (f"--capacity {st.text} on a pool of {workers} workers gives {issue.size}; a "
                f"pool cannot be below 0 workers"), None
    return (f"--capacity {st.text} leaves {issue.size} workers from {st.clock} on (pool of "
            f"{workers} workers): the night could never drain"), None


def resolve_capacity(steps: Sequence[CapacityStep], workers: int, batch_start: str,
                     batch_end: str) -> engine.Capacity | None:
    """The engine's absolute steps for ``workers`` workers; UsageError for an unusable pool."""
    why, cap = capacity_problem(steps, workers, batch_start, batch_end)
    if why:
        raise UsageError(why)
    return cap


def night_problem(night: Night, workers: int, capacity: engine.Capacity | None) -> str | None:
    """Why the night cannot run on this pool (a job's slots above the workers, a last
    capacity below the largest slots), or None."""
    return engine.infeasible(night, workers, capacity)


def check_feasible(night: Night, workers: int, capacity: engine.Capacity | None) -> None:
    """DataError (exit 1) naming the night when it cannot run on this pool."""
    why = night_problem(night, workers, capacity)
    if why:
        where = f" window {night.window}" if night.window else ""
        raise DataError(f"night {night.batch_date}{where} on {workers} workers: {why}")


@dataclass(frozen=True)
class Scheduling:
    """The scheduling options of a run: ``policies`` (empty: no ``--policy``, today's rule,
    no policy in labels or outputs), ``capacity`` steps and ``backfill_depth`` (None: the
    engine's default 64)."""

    policies: tuple[str, ...] = ()
    capacity: tuple[CapacityStep, ...] = field(default=())
    backfill_depth: int | None = None

    def __post_init__(self):
        pols = tuple(dict.fromkeys(self.policies))
        for p in pols:
            if p not in POLICIES:
                raise UsageError(f"--policy must be one of {', '.join(POLICIES)}, got "
                                 f"{quote(p)}")
        object.__setattr__(self, "policies", pols)
        object.__setattr__(self, "capacity", tuple(
            parse_capacity(c) if isinstance(c, str) else c for c in self.capacity))
        if self.backfill_depth is not None:
            try:
                engine.check_backfill_depth(self.backfill_depth)
            except Exception:
                raise UsageError(f"--backfill-depth must be an integer >= 0, got "
                                 f"{quote(self.backfill_depth)}") from None

    @property
    def used(self) -> bool:
        return bool(self.policies or self.capacity or self.backfill_depth is not None)

    def policy_list(self) -> list[str | None]:
        """The policies to run (None: today's rule without a policy key or label)."""
        return list(self.policies) or [None]

    def capacity_for(self, workers: int, batch_start: str, batch_end: str
                     ) -> engine.Capacity | None:
        return resolve_capacity(self.capacity, workers, batch_start, batch_end)

    def notes(self) -> list[str]:
        """Remarks on options that change nothing."""
        if self.backfill_depth is not None and "backfill" not in self.policies:
            return [f"--backfill-depth {self.backfill_depth} applies to --policy backfill "
                    f"only; no scenario uses it"]
        return []


def scenario_label(night: Night, workers: int, policy: str | None) -> str:
    """``<batch_date>[ window HH:MM] on <c> workers[, <policy>]``: the policy only when one
    was asked for (so today's labels do not change)."""
    w = f" window {night.window}" if night.window else ""
    text = f"{night.batch_date}{w} on {workers} workers"
    return text if policy is None else f"{text}, {policy}"
