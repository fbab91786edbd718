"""``mcqueue whatif``: scenarios against a baseline night, as paired differences on the same
random nights.

A scenario (``mcqueue.analysis.whatif_file``) is a list of changes to one night and its
pool: runtimes, arrivals, jobs added or skipped, a job's priority, slots, deadline or
predecessors, the workers, the capacity over the night, the cutoff, the policy. Every change is
applied to a copy of the baseline night at the engine's level (`Night` columns, `Scenario`
parameters), and checked against it: an unknown job, class or window, a runtime or arrival out
of the engine's range, a dependency cycle, a pool too small for a job's slots. All scenarios are
built, so every such error is found, before anything is simulated.

Pairing: every draw of the engine is keyed on (seed, replication, job_id, purpose), so
replication i of every scenario replays the same random night as replication i of the
baseline: the same lateness and runtime factor for every job they share (an added job draws
its own by its own job_id; a skipped job's draws are simply not used). Differences between a
scenario and the baseline are therefore paired, and their intervals are computed from the
per-replication differences:

- overflow probability and any-late probability: the paired difference of the per-replication
  indicators (1 when the replication overflowed / had a late job), with the Student-t interval
  of the R paired differences (`planning.paired_interval`, as ``plan``'s steps);
- mean p95 wait: the paired Student-t interval of the per-replication p95 differences;
- drain-time P90: the difference of the nearest-rank P90s with the sectioning interval of
  `mcqueue.stats.paired.paired_quantile_difference`.

The per-scenario values carry their own intervals: Wilson for the probabilities, Student-t for
the mean p95 wait, the order-statistic interval for the P90 (`mcqueue.stats.paired`).

Scenarios are listed by effect: the change in overflow probability, largest increase first;
ties by the change in any-late probability (when reported), then the mean p95 wait, then the
drain P90, then file order.

The engine is called in one place, `simulate_built`; the re-forecast of issue 15 (``--now``)
will pass its time through there to the engine.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .._plain import plain
from ..engine import simulate as engine
from ..engine.night import (MAX_MINUTES, MINUTES_PER_DAY, Night, deadline_minute,
                            night_features, parse_hhmm)
from ..errors import DataError, UsageError, quote
from ..stats.intervals import summarize, wilson
from ..stats.paired import paired_quantile_difference, quantile_interval
from .planning import Settings, paired_interval
from .scheduling import absolute_capacity, minute_text
from .whatif_file import BASELINE, CapacityStep, Change, ScenarioSpec, read_scenarios

DEFAULT_WORKERS = 3
DRAIN_QUANTILE = 0.9
I_P95 = engine.METRICS.index("p95_wait_minutes")
I_DRAIN = engine.METRICS.index("queue_drained_minute")
# scenarios per engine call: (S, 8, R) float64 of at most this many bytes
GROUP_BYTES = 256 * 2**20
# bytes per scenario and replication kept for the statistics (two float64, two bools)
KEPT_BYTES = 18
ORDER = ("overflow_probability difference desc, any_late_probability difference desc (when "
         "reported), p95_wait_minutes difference desc, queue_drained_minute difference desc, "
         "file order")


# ---------------------------------------------------------------- a night as editable columns
def _row_prefix(message: str) -> str:
    """An engine/record message with its leading ``row N (job_id X): `` as ``job X: `` (the
    row numbers of a rebuilt night mean nothing to the reader)."""
    return re.sub(r"^row \d+(?: \(job_id ([^)]*)\))?: ",
                  lambda m: f"job {m.group(1)}: " if m.group(1) else "", message, count=1)


@dataclass
class _Jobs:
    """One night's jobs as lists (any order), with the optional columns kept absent (None)
    while nothing sets them, so a scenario without changes rebuilds the baseline exactly."""

    ids: list[str]
    wclass: list[str]
    arrival: list[float]
    runtime: list[float]
    priority: list[int]
    exclusive: list[bool]
    reqw: list[str | None]
    names: list[str] | None
    cv: list[float] | None
    preds: list[list[str]] | None
    deadline: list[float] | None
    slots: list[int] | None
    locks: list[list[str]] | None
    # the runtime draws of issue 14 and the re-forecast state of issue 15, per job (None:
    # absent); the night-level values (retries, night cv, now) stay the base night's
    recent: list[list[float]] | None = None
    share: list[float] | None = None
    status: list[int] | None = None
    started: list[float] | None = None
    finished: list[float] | None = None

    @classmethod
    def of(cls, nt: Night) -> "_Jobs":
        n = nt.n_jobs
        ptr, runs = nt.recent_ptr, nt.recent_minutes
        reqw: list[str | None] = (list(nt.requested_window) if len(nt.requested_window) == n
                                  else [None] * n)
        return cls(
            ids=list(nt.job_id), wclass=list(nt.workload_class),
            arrival=[float(x) for x in nt.arrival_minute],
            runtime=[float(x) for x in nt.runtime_minutes],
            priority=[int(x) for x in nt.priority], exclusive=[bool(x) for x in nt.exclusive],
            reqw=reqw,
            names=list(nt.job_name) if len(nt.job_name) == n else None,
            cv=[float(x) for x in nt.runtime_cv] if nt.runtime_cv is not None else None,
            preds=([list(nt.predecessors(j)) for j in range(n)] if nt.pred_ptr is not None
                   else None),
            deadline=([float(x) for x in nt.deadline_minute]
                      if nt.deadline_minute is not None else None),
            slots=[int(x) for x in nt.slots] if nt.slots is not None else None,
            locks=([list(nt.locks_of(j)) for j in range(n)] if nt.lock_ptr is not None
                   else None),
            recent=([runs[ptr[j]:ptr[j + 1]].tolist() for j in range(n)]
                    if ptr is not None and runs is not None else None),
            share=nt.rerun_share.tolist() if nt.rerun_share is not None else None,
            status=nt.status.tolist() if nt.status is not None else None,
            started=nt.started_minute.tolist() if nt.started_minute is not None else None,
            finished=nt.finished_minute.tolist() if nt.finished_minute is not None else None,
        )

    @property
    def n(self) -> int:
        return len(self.ids)

    def position(self, job: str) -> int | None:
        try:
            return self.ids.index(job)
        except ValueError:
            return None

    def features(self, batch_start: str):
        return night_features(self.ids, depends_on=self.preds, deadline=self.deadline,
                              slots=self.slots, locks=self.locks, batch_start=batch_start)

    def night(self, base: Night, batch_end: str) -> Night:
        """The jobs as a Night on ``base``'s date, start and window, cutting at ``batch_end``."""
        order = sorted(range(self.n), key=self.ids.__getitem__)
        feats = self.features(base.batch_start)
        idx = np.asarray(order, dtype=np.int64)

        def col(values, dtype):
            return np.asarray(values, dtype=dtype)[idx].copy() if self.n else np.zeros(0, dtype)

        recent = None
        if self.recent is not None:
            lists = [self.recent[i] for i in order]
            recent = (np.cumsum([0] + [len(x) for x in lists]),
                      np.array([v for x in lists for v in x], dtype=np.float64))
        night = Night(
            batch_date=base.batch_date, job_id=tuple(self.ids[i] for i in order),
            workload_class=tuple(self.wclass[i] for i in order),
            arrival_minute=col(self.arrival, np.float64),
            runtime_minutes=col(self.runtime, np.float64),
            priority=col(self.priority, np.int64), exclusive=col(self.exclusive, bool),
            batch_start=base.batch_start, batch_end=batch_end, window=base.window,
            job_name=(tuple(self.names[i] for i in order) if self.names is not None else ()),
            runtime_cv=col(self.cv, np.float64) if self.cv is not None else None,
            requested_window=tuple(self.reqw[i] for i in order),
            **feats.permuted(order))
        if recent is not None or self.share is not None or base.night_cv or base.retries:
            night = night.with_runtime_draws(
                recent=recent, rerun_share=(col(self.share, np.float64) if self.share is not None
                                            else None),
                retries=base.retries, night_cv=base.night_cv)
        if base.now_minute is not None:
            night = dataclasses.replace(
                night, now_minute=base.now_minute,
                status=col(self.status, np.int8) if self.status is not None else None,
                started_minute=col(self.started, np.float64) if self.started is not None
                else None,
                finished_minute=col(self.finished, np.float64) if self.finished is not None
                else None)
        return night


# ---------------------------------------------------------------- a scenario, built
@dataclass
class Built:
    """A scenario ready for the engine: its night, pool and policy, and what each change
    did (``changes``: kind, description, the table as written)."""

    name: str
    position: int  # 0: the baseline; else the scenario's position in the file
    night: Night
    workers: int
    policy: str | None = None
    capacity: engine.Capacity | None = None
    backfill_depth: int | None = None
    changes: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def scenario(self) -> engine.Scenario:
        return engine.Scenario(self.night, self.workers, name=self.name, policy=self.policy,
                               capacity=self.capacity, backfill_depth=self.backfill_depth)


def resolve_capacity(steps: Sequence[CapacityStep], workers: int, batch_start: str,
                     batch_end: str, where: str) -> engine.Capacity:
    """The engine's absolute steps for ``workers`` workers (`scheduling.absolute_capacity`);
    DataError naming ``where`` for two steps at one minute, a size below 0 or a last size
    below 1."""
    issue, cap = absolute_capacity(steps, workers, batch_start, batch_end)
    if issue is not None:
        st = issue.step
        if issue.kind == "same_minute":
            assert issue.other is not None
            raise DataError(f"{where}: steps {issue.other.text} and {st.text} both take effect "
                            f"at {minute_text(issue.minute, batch_start)}; give one size per "
                            "time")
        if issue.kind == "negative":
            raise DataError(f"{where}: step {st.text} on {workers} workers is {issue.size} "
                            f"workers; a pool cannot be below 0")
        raise DataError(f"{where}: step {st.text} leaves {issue.size} workers for the rest of "
                        f"the night on {workers} workers: the night could never drain")
    assert cap is not None
    return engine.check_capacity(cap, workers)


def _listing(values: Sequence[str], limit: int = 8) -> str:
    vals = list(values)
    shown = ", ".join(vals[:limit])
    return shown + (f" ... ({len(vals)} in all)" if len(vals) > limit else "")


class _Builder:
    """Applies one scenario's changes to a copy of the baseline (see `build_scenario`)."""

    def __init__(self, baseline: Built, spec: ScenarioSpec,
                 reload: Callable[[str], Night] | None,
                 added_runtime: Callable[[Night], Night] | None):
        base = baseline.night
        self.base = base
        self.spec = spec
        self.workers = baseline.workers
        self.policy: str | None = baseline.policy
        self.depth: int | None = baseline.backfill_depth
        self.base_capacity = baseline.capacity
        self.capacity: tuple[Change, tuple[CapacityStep, ...]] | None = None
        self.batch_end = base.batch_end
        self.added_runtime = added_runtime
        self.described: list[dict] = []
        self.capacity_entry: dict = {}
        self.notes: list[str] = []
        cutoff = next((c for c in spec.changes if c.kind == "cutoff"), None)
        night = base
        if cutoff is not None:
            night = self._cutoff_night(cutoff, reload)
        self.jobs = _Jobs.of(night)

    # ------------------------------------------------------------ helpers
    def _fail(self, change: Change, message: str) -> DataError:
        return DataError(f"{change.where(self.spec)}: {message}")

    def _job(self, change: Change, job: str | None = None) -> int:
        job = change.job if job is None else job
        assert job is not None
        j = self.jobs.position(job)
        if j is None:
            close = difflib.get_close_matches(job, self.jobs.ids, n=1)
            hint = f" (did you mean {quote(close[0])}?)" if close else ""
            raise self._fail(change, f"job {quote(job)} is not in night "
                             f"{self.base.batch_date}{hint}; its {self.jobs.n} jobs: "
                             f"{_listing(sorted(self.jobs.ids))}")
        return j

    def _describe(self, change: Change, text: str) -> None:
        self.described.append({"kind": change.kind, "description": text,
                               "spec": dict(change.spec)})

    def _cutoff_night(self, change: Change, reload) -> Night:
        """The baseline under the new cutoff. Arrivals do not depend on the cutoff unless it
        changes whether the batch crosses midnight (a window before the start is then the
        next day instead of the start, or back): such a night is read again from its records
        with the new clock (``reload``)."""
        new_end = change.value
        s = parse_hhmm(self.base.batch_start, "batch start")
        crossing = parse_hhmm(self.base.batch_end, "batch end") <= s
        if (parse_hhmm(new_end, "cutoff") <= s) == crossing:
            night = dataclasses.replace(self.base, batch_end=new_end)
        elif reload is None:
            raise self._fail(change, f"cutoff {new_end} changes whether the batch from "
                             f"{self.base.batch_start} crosses midnight, which moves the "
                             f"arrivals of jobs whose window is before the start; the night "
                             f"must be read again from its records (run_whatif does)")
        else:
            try:
                night = reload(new_end)
            except (DataError, UsageError) as exc:  # e.g. --now on the new clock
                raise self._fail(change, f"with cutoff {new_end}: "
                                 f"{_row_prefix(str(exc))}") from None
            if sorted(night.job_id) != sorted(self.base.job_id):
                raise self._fail(change, "the night read again with the new cutoff holds "
                                 "other jobs than the baseline (did the source change?)")
        self.batch_end = new_end
        return night

    def _graph(self, change: Change) -> None:
        """The dependencies as they now are: every predecessor a job of the night, no cycle."""
        try:
            night_features(self.jobs.ids, depends_on=self.jobs.preds,
                           batch_start=self.base.batch_start)
        except DataError as exc:
            raise self._fail(change, _row_prefix(str(exc))) from None

    # ------------------------------------------------------------ the changes
    def runtime(self, c: Change) -> None:
        js = self.jobs
        if c.job is not None:
            targets = [self._job(c)]
            what = f"job {c.job}"
        elif c.klass is not None:
            targets = [j for j in range(js.n) if js.wclass[j] == c.klass]
            if not targets:
                raise self._fail(c, f"no job of class {quote(c.klass)} in night "
                                 f"{self.base.batch_date} (classes: "
                                 f"{_listing(sorted(set(js.wclass)))})")
            what = f"class {c.klass}"
        else:
            targets = list(range(js.n))
            what = "every job"
        for j in targets:
            new = js.runtime[j] * c.value
            if not (0.0 < new <= MAX_MINUTES):
                raise self._fail(c, f"job {quote(js.ids[j])}: runtime {js.runtime[j]:g} x "
                                 f"{c.value:g} = {new:g} minutes is outside the engine's range "
                                 f"(> 0 and at most {MAX_MINUTES:,.0f})")
            js.runtime[j] = new
            if js.recent is not None:  # the empirical runtime model: its runs scale too
                js.recent[j] = [v * c.value for v in js.recent[j]]
        self._describe(c, f"runtime x{c.value:g} for {what} ({_jobs(len(targets))})")

    def delay(self, c: Change) -> None:
        js = self.jobs
        if c.job is not None:
            targets = [self._job(c)]
            what = f"job {c.job}"
        else:
            targets = [j for j in range(js.n) if js.reqw[j] == c.window]
            if not targets:
                windows = sorted({w for w in js.reqw if w is not None})
                raise self._fail(c, f"no job in requested window {c.window} in night "
                                 f"{self.base.batch_date} (windows: "
                                 f"{_listing(windows) or 'none'})")
            what = f"window {c.window}"
        for j in targets:
            new = js.arrival[j] + c.value
            if not (0.0 <= new <= MAX_MINUTES):
                raise self._fail(c, f"job {quote(js.ids[j])}: arrival {js.arrival[j]:g} + "
                                 f"{c.value:g} = {new:g} minutes after the batch start is "
                                 f"outside 0 to {MAX_MINUTES:,.0f}")
            js.arrival[j] = new
        self._describe(c, f"arrival {c.value:+g} min for {what} ({_jobs(len(targets))})")

    def add(self, c: Change) -> None:
        from ..io.schema import nights_from_frame, validate_jobs

        js = self.jobs
        rec = dict(c.value)
        feats = {k: rec.pop(k) for k in ("depends_on", "deadline", "slots", "locks")
                 if k in rec}
        date = rec.get("batch_date", self.base.batch_date)
        if not isinstance(date, str):
            date = date.isoformat() if hasattr(date, "isoformat") else date
        if date != self.base.batch_date:
            raise self._fail(c, f"field 'batch_date' is {quote(date)}, not the night's "
                             f"{self.base.batch_date}")
        rec["batch_date"] = self.base.batch_date
        # an added job has not run: it is queued (a status saying otherwise must not pass
        # silently, with --now or without; started_at/finished_at are not add fields)
        st = rec.get("status")
        if isinstance(st, str) and st.strip().lower() not in ("", "queued"):
            raise self._fail(c, f"field 'status' is {quote(st)}; an added job is queued "
                             "(leave status out or give 'queued')")
        try:
            valid = validate_jobs([rec])
            (one,) = nights_from_frame(valid, None, self.base.batch_start, self.batch_end,
                                       [self.base.batch_date])
        except DataError as exc:
            raise self._fail(c, _row_prefix(str(exc))) from None
        job = one.job_id[0]
        if job in js.ids:
            raise self._fail(c, f"job {quote(job)} is already in night "
                             f"{self.base.batch_date}; a new job needs a new job_id")
        try:  # the job's own optional fields, checked on their own first
            own = night_features([job], deadline=[feats.get("deadline")],
                                 slots=[feats.get("slots")], locks=[feats.get("locks")],
                                 batch_start=self.base.batch_start)
        except DataError as exc:
            raise self._fail(c, _row_prefix(str(exc))) from None
        runtime, cv = float(one.runtime_minutes[0]), (
            float(one.runtime_cv[0]) if one.runtime_cv is not None else math.nan)
        runs: list[float] = []
        share = 0.0
        if self.added_runtime is not None:  # the job as the calibration model resolves it
            fit = self.added_runtime(one)
            runtime = float(fit.runtime_minutes[0])
            cv = float(fit.runtime_cv[0]) if fit.runtime_cv is not None else math.nan
            if fit.recent_ptr is not None and fit.recent_minutes is not None:
                runs = fit.recent_minutes[fit.recent_ptr[0]:fit.recent_ptr[1]].tolist()
            if fit.rerun_share is not None:
                share = float(fit.rerun_share[0])
        js.ids.append(job)
        js.wclass.append(one.workload_class[0])
        js.arrival.append(float(one.arrival_minute[0]))
        js.runtime.append(runtime)
        js.priority.append(int(one.priority[0]))
        js.exclusive.append(bool(one.exclusive[0]))
        js.reqw.append(one.requested_window[0])
        name = one.job_name[0] if len(one.job_name) else None
        if js.names is not None or (name is not None and name != job):
            if js.names is None:
                js.names = list(js.ids[:-1])
            js.names.append(name if name is not None else job)
        if js.cv is not None or not math.isnan(cv):
            if js.cv is None:
                js.cv = [math.nan] * (js.n - 1)
            js.cv.append(cv)
        if "deadline" in feats or js.deadline is not None:
            if js.deadline is None:
                js.deadline = [math.nan] * (js.n - 1)
            js.deadline.append(float(own.deadline[0]) if own.deadline is not None
                               else math.nan)
        if "slots" in feats or js.slots is not None:
            if js.slots is None:
                js.slots = [1] * (js.n - 1)
            js.slots.append(int(own.slots[0]) if own.slots is not None else 1)
        if "locks" in feats or js.locks is not None:
            if js.locks is None:
                js.locks = [[] for _ in range(js.n - 1)]
            js.locks.append([own.lock_names[k] for k in own.locks[0]] if own.locks else [])
        if "depends_on" in feats or js.preds is not None:
            if js.preds is None:
                js.preds = [[] for _ in range(js.n - 1)]
            js.preds.append(_id_list(feats.get("depends_on"), c, self))
            self._graph(c)
        # an added job: the model's recent runs and rerun share (when it has them), queued
        if runs and js.recent is None:
            js.recent = [[] for _ in range(js.n - 1)]
        if share and js.share is None:
            js.share = [0.0] * (js.n - 1)
        for col, value in (("recent", runs), ("share", share), ("status", 0),
                           ("started", math.nan), ("finished", math.nan)):
            if getattr(js, col) is not None:
                getattr(js, col).append(value)
        at = (f"window {one.requested_window[0]}" if one.requested_window[0] is not None
              and c.value.get("arrival_minute") in (None, "") else
              f"minute {float(one.arrival_minute[0]):g}")
        self._describe(c, f"add job {job} ({one.workload_class[0]}, {runtime:g} min, {at})")

    def skip(self, c: Change) -> None:
        js = self.jobs
        j = self._job(c, c.value)
        job = js.ids[j]
        for col in ("ids", "wclass", "arrival", "runtime", "priority", "exclusive", "reqw",
                    "names", "cv", "preds", "deadline", "slots", "locks", "recent", "share",
                    "status", "started", "finished"):
            values = getattr(js, col)
            if values is not None:
                del values[j]
        waited = 0
        if js.preds is not None:
            for p in js.preds:
                if job in p:
                    p.remove(job)
                    waited += 1
        text = f"skip job {job}"
        if waited:
            text += f" ({_jobs(waited)} no longer wait for it)"
        self._describe(c, text)

    def priority(self, c: Change) -> None:
        j = self._job(c)
        old = self.jobs.priority[j]
        self.jobs.priority[j] = c.value
        self._describe(c, f"priority of {c.job} {old} -> {c.value}")

    def slots(self, c: Change) -> None:
        j = self._job(c)
        js = self.jobs
        if js.slots is None:
            js.slots = [1] * js.n
        old = js.slots[j]
        js.slots[j] = c.value
        self._describe(c, f"slots of {c.job} {old} -> {c.value}")

    def deadline(self, c: Change) -> None:
        j = self._job(c)
        js = self.jobs
        old = js.deadline[j] if js.deadline is not None else math.nan
        if c.value == "":
            new = math.nan
        else:
            new = deadline_minute(c.value, self.base.batch_start)
        if js.deadline is None and math.isnan(new):
            pass  # no deadline anywhere, and none set: the column stays absent
        else:
            if js.deadline is None:
                js.deadline = [math.nan] * js.n
            js.deadline[j] = new
        was = "none" if math.isnan(old) else _clock(old, self.base.batch_start)
        self._describe(c, f"deadline of {c.job} {was} -> {c.value or 'none'}")

    def depends_on(self, c: Change) -> None:
        j = self._job(c)
        js = self.jobs
        if js.preds is None:
            js.preds = [[] for _ in range(js.n)]
        js.preds[j] = _id_list(list(c.value), c, self)
        self._graph(c)
        self._describe(c, f"depends_on of {c.job} -> {', '.join(c.value) or 'none'}")

    def workers_(self, c: Change) -> None:
        self._describe(c, f"workers {self.workers} -> {c.value}")
        self.workers = c.value

    def capacity_(self, c: Change) -> None:
        self.capacity = (c, c.value)
        self._describe(c, "")  # filled in once the scenario's workers and clock are known
        self.capacity_entry = self.described[-1]

    def cutoff(self, c: Change) -> None:
        self._describe(c, f"cutoff {self.base.batch_end} -> {c.value}")

    def policy_(self, c: Change) -> None:
        old = self.policy or engine.DEFAULT_POLICY
        self.policy = c.value
        self.depth = c.options.get("backfill_depth", self.depth)
        depth = (f" (backfill depth "
                 f"{self.depth if self.depth is not None else engine.DEFAULT_BACKFILL_DEPTH})"
                 if c.value == "backfill" else "")
        self._describe(c, f"policy {old} -> {c.value}{depth}")

    def build(self) -> Built:
        handlers = {"workers": self.workers_, "capacity": self.capacity_,
                    "policy": self.policy_}
        for c in self.spec.changes:
            handlers.get(c.kind, getattr(self, c.kind))(c)
        night = self.jobs.night(self.base, self.batch_end)
        cap = self.base_capacity  # the baseline's absolute steps, unless the scenario sets its own
        if self.capacity is not None:
            c, steps = self.capacity
            cap = resolve_capacity(steps, self.workers, night.batch_start, night.batch_end,
                                   c.where(self.spec))
            shown = ", ".join(f"{z} workers from minute {m:g}" for m, z in cap)
            self.capacity_entry["description"] = (f"capacity {' '.join(s.text for s in steps)}"
                                                  f" ({shown})")
        why = engine.infeasible(night, self.workers, cap)
        if why:
            raise DataError(f"{self.spec.where}: {why}")
        return Built(self.spec.name, self.spec.position, night, self.workers, self.policy,
                     cap, self.depth, self.described, self.notes)


def _jobs(k: int) -> str:
    return f"{k} job" + ("" if k == 1 else "s")


def _clock(minute: float, batch_start: str) -> str:
    m = (parse_hhmm(batch_start, "batch start") + int(round(minute))) % MINUTES_PER_DAY
    return f"{m // 60:02d}:{m % 60:02d}"


def _id_list(value: Any, c: Change, b: _Builder) -> list[str]:
    """Predecessor ids of a change: each a job of the scenario's night (checked here so the
    message names the id), no repeats (checked by the graph check)."""
    if value is None:
        return []
    if isinstance(value, str):
        ids = [p.strip() for p in value.split(";") if p.strip()]
    elif isinstance(value, (list, tuple)):
        ids = []
        for e in value:
            if not isinstance(e, str) or not e.strip():
                raise b._fail(c, f"field 'depends_on' must hold job_ids, got {quote(e)}")
            ids.append(e.strip())
    else:
        raise b._fail(c, f"field 'depends_on' must be a list of job_ids (or one "
                      f"';'-separated string), got {quote(value)}")
    for p in ids:
        b._job(c, p)
    return ids


def build_scenario(base: Night | Built, workers: int | None, spec: ScenarioSpec, *,
                   reload: Callable[[str], Night] | None = None,
                   added_runtime: Callable[[Night], Night] | None = None
                   ) -> Built:
    """Apply ``spec``'s changes (in file order; a cutoff first, a capacity last, resolved on
    the scenario's final workers and clock) to a copy of ``base`` on ``workers`` workers (or
    of the baseline ``base``, a `Built` whose policy, capacity and backfill depth the
    scenario keeps unless it changes them).

    ``reload(batch_end)``: the baseline night read again from its records with another
    cutoff (needed only when the cutoff changes whether the batch crosses midnight).
    ``added_runtime(one_job_night)``: the added job as a calibration model resolves it (a
    one-job Night: its runtime, cv and runtime draws of issue 14); default: the record's
    estimate and runtime_cv.
    DataError naming the scenario, the change and the field for anything the night refuses.
    """
    if isinstance(base, Night):
        base = Built(BASELINE, 0, base, engine.check_workers(workers))
    return _Builder(base, spec, reload, added_runtime).build()


# ---------------------------------------------------------------- simulation
@dataclass(eq=False)
class Outcome:
    """Per-replication results of one scenario kept for the paired statistics (in memory
    only): overflowed, had a late job, p95 wait, drain minute."""

    overflow: np.ndarray
    late: np.ndarray
    p95: np.ndarray
    drain: np.ndarray


def check_memory(scenarios: int, replications: int) -> None:
    """Refuse a run whose kept per-replication results cannot fit in memory."""
    import os

    need = scenarios * replications * KEPT_BYTES
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if need > 0.5 * have:
        raise UsageError(f"{replications:,} replications x {scenarios} scenarios need "
                         f"{need / 2**30:,.1f} GiB for the paired statistics, more than half of "
                         f"this machine's {have / 2**30:,.1f} GiB: use fewer replications or "
                         f"scenarios")


def simulate_built(built: Sequence[Built], settings: Settings,
                   progress: Callable[[int], None] | None = None) -> list[Outcome]:
    """Every scenario on the same random nights (one seed; draws keyed by job_id), in groups
    of scenarios per engine call so memory stays bounded; each scenario's night is simulated
    exactly as ``simulate`` would simulate it."""
    R = settings.replications
    per_call = max(1, GROUP_BYTES // (engine.K.N_METRICS * R * 8))
    out: list[Outcome] = []
    for g0 in range(0, len(built), per_call):
        group = built[g0:g0 + per_call]
        results = engine.simulate_scenarios(
            [b.scenario() for b in group], replications=R, seed=settings.seed,
            runtime_cv=settings.runtime_cv, arrival_jitter=settings.arrival_jitter,
            class_cv=settings.class_cv, confidence=settings.confidence, progress=progress,
            keep_samples=True)
        for b, r in zip(group, results):
            drain = r.samples[I_DRAIN].copy()
            overflow = drain > b.night.horizon_minutes
            late = (r.late_jobs > 0) if (b.night.has_deadlines and r.late_jobs is not None) \
                else overflow
            out.append(Outcome(overflow, late, r.samples[I_P95].copy(), drain))
        del results
    return out


# ---------------------------------------------------------------- statistics and result
def _zero() -> dict[str, float]:
    return {"estimate": 0.0, "ci_low": 0.0, "ci_high": 0.0}


def row_statistics(o: Outcome, base: Outcome | None, confidence: float,
                   any_late: bool) -> dict[str, dict]:
    """The four reported statistics of one scenario with their paired differences from
    ``base`` (None: this is the baseline, differences exactly 0)."""
    R = o.drain.shape[0]
    out: dict[str, dict] = {}
    probs = [("overflow_probability", "overflow")] + (
        [("any_late_probability", "late")] if any_late else [])
    for key, attr in probs:
        x = getattr(o, attr)
        d: dict = dict(wilson(int(np.count_nonzero(x)), R, confidence))
        d["difference"] = (_zero() if base is None else
                           paired_interval(getattr(base, attr).astype(np.float64),
                                           x.astype(np.float64), confidence))
        out[key] = d
    s = summarize(o.p95, confidence, 0.0)
    out["p95_wait_minutes"] = {
        "mean": s["mean"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
        "difference": _zero() if base is None else paired_interval(base.p95, o.p95,
                                                                   confidence)}
    q = quantile_interval(o.drain, DRAIN_QUANTILE, confidence)
    out["queue_drained_minute"] = {
        "p90": q["estimate"], "ci_low": q["ci_low"], "ci_high": q["ci_high"],
        "difference": (_zero() if base is None else
                       paired_quantile_difference(base.drain, o.drain, DRAIN_QUANTILE,
                                                  confidence))}
    return out


@dataclass(eq=False)
class WhatIfRow:
    """One scenario (or the baseline) with its statistics (``stats``: the JSON blocks of
    `row_statistics`) and its per-replication ``outcome``."""

    built: Built
    stats: dict[str, dict]
    outcome: Outcome = field(repr=False)

    @property
    def name(self) -> str:
        return self.built.name

    def effect_key(self) -> tuple:
        st = self.stats
        keys = [-st["overflow_probability"]["difference"]["estimate"]]
        if "any_late_probability" in st:
            keys.append(-st["any_late_probability"]["difference"]["estimate"])
        keys += [-st["p95_wait_minutes"]["difference"]["estimate"],
                 -st["queue_drained_minute"]["difference"]["estimate"], self.built.position]
        return tuple(keys)

    def to_dict(self) -> dict:
        b = self.built
        nt = b.night
        policy = b.policy or engine.DEFAULT_POLICY
        d: dict = {
            "scenario": b.name, "position": b.position, "changes": list(b.changes),
            "workers": b.workers, "policy": policy,
            "backfill_depth": ((b.backfill_depth if b.backfill_depth is not None
                                else engine.DEFAULT_BACKFILL_DEPTH)
                               if policy == "backfill" else None),
            "capacity": (None if b.capacity is None else
                         [{"minute": m, "workers": z} for m, z in b.capacity]),
            "batch_end": nt.batch_end, "horizon_minutes": nt.horizon_minutes,
            "jobs": nt.n_jobs,
        }
        for key in ("overflow_probability", "any_late_probability", "p95_wait_minutes",
                    "queue_drained_minute"):
            if key in self.stats:
                d[key] = self.stats[key]
        return plain(d)


@dataclass(eq=False)
class WhatIfResult:
    """The baseline and every scenario, the scenarios by effect (`ORDER`)."""

    night: Night
    workers: int
    settings: Settings
    baseline: WhatIfRow
    scenarios: list[WhatIfRow]
    any_late: bool
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # runtime_model, dynamodb (when used)

    @property
    def rows(self) -> list[WhatIfRow]:
        return [self.baseline, *self.scenarios]

    def to_dict(self) -> dict:
        nt, s = self.night, self.settings
        d = {
            "batch_date": nt.batch_date, "window": nt.window, "batch_start": nt.batch_start,
            "batch_end": nt.batch_end, "horizon_minutes": nt.horizon_minutes,
            "workers": self.workers, "jobs": nt.n_jobs, "replications": s.replications,
            "seed": s.seed, "confidence": s.confidence, "runtime_cv": s.runtime_cv,
            "arrival_jitter_minutes": s.arrival_jitter, "class_cv": dict(s.class_cv),
            "order": ORDER,
            "baseline": self.baseline.to_dict(),
            "scenarios": [r.to_dict() for r in self.scenarios],
        }
        d.update(self.extra)
        return plain(d)


def whatif(night: Night, specs: Sequence[ScenarioSpec], workers: int = DEFAULT_WORKERS,
           settings: Settings | None = None, *,
           policy: str | None = None, capacity: engine.Capacity | None = None,
           backfill_depth: int | None = None,
           reload: Callable[[str], Night] | None = None,
           added_runtime: Callable[[Night], Night] | None = None,
           progress: Callable[[int], None] | None = None,
           starting: Callable[..., None] | None = None) -> WhatIfResult:
    """The baseline ``night`` on ``workers`` workers and every scenario of ``specs``, on the
    same random nights; every scenario is built (and checked) before anything is simulated.
    ``policy``, ``capacity`` (the engine's absolute steps) and ``backfill_depth``: the
    baseline's scheduling (default: tutorial, a constant pool), kept by every scenario that
    does not change it. ``reload``/``added_runtime``: as in `build_scenario`."""
    settings = settings or Settings()
    workers = engine.check_workers(workers)
    if policy is not None:
        policy = engine.check_policy(policy)
    if backfill_depth is not None:
        backfill_depth = engine.check_backfill_depth(backfill_depth)
    if capacity is not None:
        capacity = engine.check_capacity(capacity, workers)
    specs = list(specs)
    if not specs:
        raise DataError("no scenario to compare with the baseline")
    why = engine.infeasible(night, workers, capacity)
    if why:
        raise DataError(f"baseline: {why}")
    base = Built(BASELINE, 0, night, workers, policy, capacity, backfill_depth)
    built = [build_scenario(base, None, sp, reload=reload, added_runtime=added_runtime)
             for sp in specs]
    check_memory(len(built) + 1, settings.replications)
    if starting is not None:  # the compile notice: the general loops the scenarios need
        starting(policies=tuple(dict.fromkeys(
            b.policy or engine.DEFAULT_POLICY for b in [base, *built]
            if b.night.needs_general_loop or b.policy is not None or b.capacity is not None
            or b.backfill_depth is not None)))
    outcomes = simulate_built([base, *built], settings, progress)
    any_late = any(b.night.has_deadlines for b in [base, *built])
    q = settings.confidence
    baseline = WhatIfRow(base, row_statistics(outcomes[0], None, q, any_late), outcomes[0])
    rows = [WhatIfRow(b, row_statistics(o, outcomes[0], q, any_late), o)
            for b, o in zip(built, outcomes[1:])]
    rows.sort(key=WhatIfRow.effect_key)
    notes = [n for b in built for n in b.notes]
    return WhatIfResult(night, workers, settings, baseline, rows, any_late, notes)


def run_whatif(source, scenarios: str | Sequence[ScenarioSpec], batch_date: str | None = None,
               workers: int | None = None, clock=None, settings: Settings | None = None, *,
               hooks=None, runtime=None, policy: str | None = None,
               capacity: engine.Capacity | None = None,
               backfill_depth: int | None = None, scheduling=None, now: str | None = None,
               timezone: str | None = None) -> WhatIfResult:
    """``mcqueue whatif``: the scenarios file (a path, read first: a bad file stops the run
    before any data is read) against one night of ``source`` (``batch_date``; None: the
    file's only night) on ``workers`` workers (default 3). ``runtime``: a calibration model
    (`runtime_model.RuntimeOptions`), applied to the baseline's jobs and to each added job.
    ``policy``, ``capacity``, ``backfill_depth``: the baseline's scheduling (`whatif`);
    ``scheduling`` (`scheduling.Scheduling`, the command line's --policy, --capacity,
    --backfill-depth) sets them instead, its capacity resolved on ``workers`` and the clock.
    ``now``, ``timezone`` (issue 15): the baseline re-forecast from now with its records'
    status, started_at and finished_at (as in `runs.run_simulate`); every scenario keeps that
    state, and the result carries the ``now`` key."""
    from ..io.loading import Clock, load_nights
    from ..io.snapshot import at_now
    from .runs import Hooks, now_of
    from .runtime_model import apply_model

    now_t = now_of(now, timezone)
    clock = clock or Clock()
    hooks = hooks or Hooks()
    settings = settings or Settings()
    specs = read_scenarios(scenarios) if isinstance(scenarios, str) else list(scenarios)
    workers = DEFAULT_WORKERS if workers is None else workers
    if scheduling is not None:
        from .scheduling import check_capacity_times

        check_capacity_times(scheduling.capacity, clock.batch_start, clock.batch_end)
        policy = scheduling.policies[0] if scheduling.policies else policy
        capacity = scheduling.capacity_for(workers, clock.batch_start, clock.batch_end)
        backfill_depth = (scheduling.backfill_depth if scheduling.backfill_depth is not None
                          else backfill_depth)
    loaded = load_nights(source, [batch_date], clock, snapshot=now_t is not None)
    used = runtime is not None and runtime.used

    def applied(nights):
        return apply_model(nights, runtime) if used else None

    a = applied(loaded.nights)
    (night,) = a.nights if a is not None else loaded.nights
    now_key = None
    if now_t is not None:
        night, now_key = at_now(night, loaded.snapshots.get(night.batch_date), now_t)

    def reload(batch_end: str) -> Night:
        again_loaded = load_nights(source, [night.batch_date],
                                   Clock(clock.window, clock.batch_start, batch_end),
                                   snapshot=now_t is not None)
        again = again_loaded.nights
        b = applied(again)
        nt = (b.nights if b is not None else again)[0]
        if now_t is not None:  # the records' clock times on the new clock
            nt, _ = at_now(nt, again_loaded.snapshots.get(nt.batch_date), now_t)
        return nt

    def added_runtime(one: Night) -> Night:
        (nt,) = apply_model([one], runtime).nights
        return nt

    notes = []
    classes = set(night.workload_class)
    for name in sorted(set(settings.class_cv) - classes):
        notes.append(f"--class-cv {name}=...: no job of class {quote(name)} in night "
                     f"{night.batch_date}")
    outside = loaded.outside_note(clock)
    if outside:
        notes.append(outside)
    if scheduling is not None:
        notes += scheduling.notes()
    for n in notes:
        hooks.note(n)
    total = settings.replications * (len(specs) + 1)
    with hooks.progress(total, "simulating") as advance:
        result = whatif(night, specs, workers, settings, policy=policy, capacity=capacity,
                        backfill_depth=backfill_depth, reload=reload,
                        added_runtime=added_runtime if used else None, progress=advance,
                        starting=hooks.starting)
    result.notes[:0] = notes
    if used:
        result.extra["runtime_model"] = a.report(night.batch_date)
    if night.batch_date in loaded.query_stats:
        result.extra["dynamodb"] = dict(loaded.query_stats[night.batch_date])
    if now_key is not None:
        result.extra["now"] = now_key
    return result

