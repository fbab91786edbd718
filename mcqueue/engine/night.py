"""One night's jobs as numpy columns, and the clock arithmetic of a batch window.

Kept free of polars so that code needing only a night and the kernel (the engine, a worker on a
Dask cluster, a benchmark's second process) starts without loading it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Collection, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DataError, ScenarioError

DEFAULT_BATCH_START = "01:00"
DEFAULT_BATCH_END = "05:00"
MINUTES_PER_DAY = 1440
HHMM_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_MINUTES = 1e9  # about 1,900 years (long synthetic nights reach 1e7): keeps sums finite
MAX_RETRIES = 10  # reruns of one job at most (issue 14)
STATUSES = ("queued", "running", "completed")  # codes 0, 1, 2 (issue 15)


def parse_hhmm(value: Any, what: str = "time") -> int:
    """'HH:MM' (00:00 .. 23:59) -> minutes after midnight; DataError naming ``what`` otherwise."""
    if not isinstance(value, str) or not HHMM_PATTERN.match(value):
        raise DataError(f"{what} must be HH:MM (00:00 to 23:59), got {value!r}")
    return int(value[:2]) * 60 + int(value[3:])


def deadline_minute(value: Any, batch_start: str = DEFAULT_BATCH_START,
                    what: str = "deadline") -> float:
    """A deadline 'HH:MM' -> minutes after the batch start: its first occurrence after the batch
    start, so in (0, 1440] (a deadline equal to the batch start clock time is 1440, a day later).
    """
    d = parse_hhmm(value, what)
    m = (d - parse_hhmm(batch_start, "batch start")) % MINUTES_PER_DAY
    return float(m if m > 0 else MINUTES_PER_DAY)


def horizon_minutes(batch_start: str, batch_end: str) -> float:
    """H = E - S, or E + 1440 - S when the window crosses midnight (E not after S)."""
    s = parse_hhmm(batch_start, "batch start")
    e = parse_hhmm(batch_end, "batch end")
    return float(e - s if e > s else e + MINUTES_PER_DAY - s)


@dataclass(frozen=True, eq=False)
class Night:
    """One night's jobs as numpy columns, in canonical order (sorted by job_id).

    ``arrival_minute`` is minutes after batch start (window or explicit arrival_minute already
    applied); ``horizon_minutes`` is the cutoff H.
    """

    batch_date: str
    job_id: tuple[str, ...]
    workload_class: tuple[str, ...]
    arrival_minute: np.ndarray
    runtime_minutes: np.ndarray
    priority: np.ndarray
    exclusive: np.ndarray
    batch_start: str = DEFAULT_BATCH_START
    batch_end: str = DEFAULT_BATCH_END
    window: str | None = None
    # issue 14 (optional; absent: () and None): each job's name across nights (history is
    # matched on it; () means the job_id) and its own runtime cv (NaN where the record has none)
    job_name: tuple[str, ...] = field(default=(), repr=False)
    runtime_cv: np.ndarray | None = field(default=None, repr=False)
    requested_window: tuple[str | None, ...] = field(default=())
    # optional columns of issues 12 and 13 (None: absent; see night_features)
    pred_ptr: np.ndarray | None = field(default=None, repr=False)
    pred_idx: np.ndarray | None = field(default=None, repr=False)
    deadline_minute: np.ndarray | None = field(default=None, repr=False)
    slots: np.ndarray | None = field(default=None, repr=False)
    lock_ptr: np.ndarray | None = field(default=None, repr=False)
    lock_idx: np.ndarray | None = field(default=None, repr=False)
    lock_names: tuple[str, ...] = field(default=(), repr=False)
    # runtime draws of issue 14 (see ``with_runtime_draws``; absent: None / 0): each job's
    # recent runs in tonight's minutes (CSR: job j's are recent_minutes[recent_ptr[j]:
    # recent_ptr[j + 1]]; empty: its lognormal), its rerun probability, reruns at most, and the
    # cv of a lognormal factor shared by every job of a replication
    recent_ptr: np.ndarray | None = field(default=None, repr=False)
    recent_minutes: np.ndarray | None = field(default=None, repr=False)
    rerun_share: np.ndarray | None = field(default=None, repr=False)
    retries: int = field(default=0, repr=False)
    night_cv: float = field(default=0.0, repr=False)
    # a snapshot of the night at ``now_minute`` (issue 15, see ``at_now``; absent: None):
    # status codes (STATUS_CODES), start and finish facts in minutes after the batch start
    status: np.ndarray | None = field(default=None, repr=False)
    started_minute: np.ndarray | None = field(default=None, repr=False)
    finished_minute: np.ndarray | None = field(default=None, repr=False)
    now_minute: float | None = field(default=None, repr=False)

    @property
    def horizon_minutes(self) -> float:
        return horizon_minutes(self.batch_start, self.batch_end)

    @property
    def job_names(self) -> tuple[str, ...]:
        """Each job's name across nights: the ``job_name`` field, else its job_id."""
        return self.job_name if len(self.job_name) == self.n_jobs else self.job_id

    @property
    def n_jobs(self) -> int:
        return len(self.job_id)

    # ------------------------------------------------------------ optional columns
    @property
    def has_dependencies(self) -> bool:
        return self.pred_idx is not None and self.pred_idx.shape[0] > 0

    @property
    def has_deadlines(self) -> bool:
        return (self.deadline_minute is not None
                and bool(np.any(~np.isnan(self.deadline_minute))))

    @property
    def max_slots(self) -> int:
        """The largest ``slots`` of the night (1 without the column or without jobs)."""
        if self.slots is None or self.slots.shape[0] == 0:
            return 1
        return int(self.slots.max())

    @property
    def has_slots(self) -> bool:
        return self.max_slots > 1

    @property
    def has_locks(self) -> bool:
        return self.lock_idx is not None and self.lock_idx.shape[0] > 0

    @property
    def uses_features(self) -> bool:
        """True when some job has a predecessor, a deadline, slots > 1 or a named lock: the
        night needs the general event loop (else today's tutorial kernel replays it)."""
        return (self.has_dependencies or self.has_deadlines or self.has_slots
                or self.has_locks)

    @property
    def has_empirical(self) -> bool:
        """Some job draws its runtime from its recent runs (issue 14)."""
        return self.recent_ptr is not None and int(self.recent_ptr[-1]) > 0

    @property
    def has_reruns(self) -> bool:
        """Some job may run again (retries > 0 and a rerun share > 0)."""
        return (self.retries > 0 and self.rerun_share is not None
                and bool(np.any(self.rerun_share > 0)))

    @property
    def has_night_factor(self) -> bool:
        return self.night_cv > 0

    @property
    def has_now(self) -> bool:
        """The night is re-forecast from ``now_minute`` (issue 15)."""
        return self.now_minute is not None

    @property
    def needs_general_loop(self) -> bool:
        """An optional column of issues 12/13 (``uses_features``), a runtime draw of issue 14
        or a re-forecast from now: today's kernel cannot replay the night."""
        return (self.uses_features or self.has_empirical or self.has_reruns
                or self.has_night_factor or self.has_now)

    def planned(self) -> "Night":
        """The night without its random runtime draws (for the zero-noise replay: every job
        runs its planned ``runtime_minutes``; a re-forecast's facts stay): those of issue 14
        and the jobs' own ``runtime_cv`` (which would override the replay's zero cv)."""
        if not (self.has_empirical or self.has_reruns or self.has_night_factor
                or self.runtime_cv is not None):
            return self
        return replace(self, recent_ptr=None, recent_minutes=None, rerun_share=None, retries=0,
                       night_cv=0.0, runtime_cv=None)

    def with_runtime_draws(self, recent: tuple[ArrayLike, ArrayLike] | None = None,
                           rerun_share: ArrayLike | None = None, retries: int = 0,
                           night_cv: float = 0.0) -> "Night":
        """A copy drawing runtimes as issue 14 says (docs/engine-features.md, section 12).

        ``recent``: (ptr, minutes), a CSR over the night's jobs in canonical order: job j's
        recent runs in tonight's minutes are minutes[ptr[j]:ptr[j + 1]]; a job with runs takes
        one of them (equally likely) instead of its lognormal, a job without keeps its
        lognormal. ``rerun_share``: per job the probability that a run fails and the job runs
        again from the start (NaN: 0); ``retries``: reruns at most (0: none). ``night_cv``: cv
        of a lognormal factor with mean 1 drawn once per replication and night and multiplying
        every runtime of it. ScenarioError for a bad retries or cv, DataError naming the job for
        a bad run or share.
        """
        from .perturbation import MAX_RUNTIME_CV

        n = self.n_jobs
        ptr = vals = None
        if recent is not None:
            ptr = np.asarray(recent[0], dtype=np.int64).reshape(-1)
            vals = np.asarray(recent[1], dtype=np.float64).reshape(-1)
            if ptr.shape[0] != n + 1 or ptr[0] != 0 or np.any(np.diff(ptr) < 0) or (
                    int(ptr[-1]) != vals.shape[0]):
                raise DataError(f"recent runs: a CSR pointer of {n + 1} increasing offsets "
                                f"from 0 to {vals.shape[0]} is needed, got {ptr.shape[0]} "
                                f"offsets")
            with np.errstate(invalid="ignore"):
                bad = np.flatnonzero(~(vals > 0) | ~(vals <= MAX_MINUTES))
            if bad.size:
                k = int(bad[0])
                j = int(np.searchsorted(ptr, k, side="right") - 1)
                raise DataError(f"job_id {_show(self.job_id[j])}: recent run {float(vals[k])!r}"
                                f" minutes must be a finite number > 0 and at most "
                                f"{MAX_MINUTES:,.0f}")
        share = None
        if rerun_share is not None:
            share = np.asarray(rerun_share, dtype=np.float64).reshape(-1)
            if share.shape[0] != n:
                raise DataError(f"rerun share: {share.shape[0]} values for {n} jobs")
            share = np.where(np.isnan(share), 0.0, share)
            bad = np.flatnonzero(~((share >= 0) & (share <= 1)))
            if bad.size:
                j = int(bad[0])
                raise DataError(f"job_id {_show(self.job_id[j])}: rerun share must be a "
                                f"probability (0 to 1), got {float(share[j])!r}")
        if (isinstance(retries, bool) or not isinstance(retries, (int, np.integer))
                or not 0 <= retries <= MAX_RETRIES):
            raise ScenarioError(f"retries must be an integer 0 to {MAX_RETRIES}, got "
                                f"{retries!r}")
        try:
            cv = float(night_cv)
        except (TypeError, ValueError):
            cv = math.nan
        if isinstance(night_cv, bool) or not 0 <= cv <= MAX_RUNTIME_CV:
            raise ScenarioError(f"night cv must be a number 0 to {MAX_RUNTIME_CV:g}, got "
                                f"{night_cv!r}")
        return replace(self, recent_ptr=ptr, recent_minutes=vals, rerun_share=share,
                       retries=int(retries), night_cv=cv)

    def at_now(self, now: float, status: Sequence[Any] | np.ndarray | None = None,
               started_at: Sequence[Any] | np.ndarray | None = None,
               finished_at: Sequence[Any] | np.ndarray | None = None,
               rows: Sequence[int] | None = None) -> "Night":
        """A copy re-forecast from ``now`` (issue 15; docs/engine-features.md, section 13).

        All in minutes after the batch start, per job in the night's canonical order (job_id):
        ``status`` 'queued', 'running' or 'completed' (any case; None: queued; or the codes
        0/1/2), ``started_at`` and ``finished_at`` (NaN or None: unknown). ``rows`` gives each
        job's row number for messages. DataError (naming the job, the row when given, the
        field and the value) for an unknown status, a running job without started_at, a
        completed job without finished_at, a finish before its start, a start or finish after
        now, or a time before the batch start; ScenarioError for a bad ``now``.
        """
        st, ts, tf, t_now = now_state(self.job_id, now, status, started_at, finished_at, rows)
        return replace(self, status=st, started_minute=ts, finished_minute=tf,
                       now_minute=t_now)

    def predecessors(self, j: int) -> tuple[str, ...]:
        """job_ids of job j's predecessors (j a local index, canonical order)."""
        if self.pred_ptr is None or self.pred_idx is None:
            return ()
        return tuple(self.job_id[k] for k in self.pred_idx[self.pred_ptr[j]:self.pred_ptr[j + 1]])

    def locks_of(self, j: int) -> tuple[str, ...]:
        if self.lock_ptr is None or self.lock_idx is None:
            return ()
        return tuple(self.lock_names[k]
                     for k in self.lock_idx[self.lock_ptr[j]:self.lock_ptr[j + 1]])

    def slots_array(self) -> np.ndarray:
        """Workers each job needs while it runs (1 without the column)."""
        return (np.ones(self.n_jobs, np.int64) if self.slots is None
                else self.slots.astype(np.int64))

    def deadline_array(self) -> np.ndarray:
        """Each job's deadline in minutes after the batch start; without one, the cutoff H."""
        h = self.horizon_minutes
        if self.deadline_minute is None:
            return np.full(self.n_jobs, h)
        return np.where(np.isnan(self.deadline_minute), h, self.deadline_minute)

    def __repr__(self) -> str:
        extra = "".join(f", {name}=True" for name in ("has_dependencies", "has_deadlines",
                                                      "has_slots", "has_locks")
                        if getattr(self, name))
        return (f"Night(batch_date={self.batch_date!r}, jobs={self.n_jobs}, "
                f"batch_start={self.batch_start!r}, batch_end={self.batch_end!r}, "
                f"window={self.window!r}{extra})")

    @classmethod
    def from_arrays(cls, arrival_minute: ArrayLike, runtime_minutes: ArrayLike,
                    priority: ArrayLike | None = None,
                    exclusive: ArrayLike | None = None,
                    job_id: Sequence[str] | None = None,
                    workload_class: Sequence[str] | None = None,
                    batch_date: str = "synthetic", batch_start: str = DEFAULT_BATCH_START,
                    batch_end: str = DEFAULT_BATCH_END, *,
                    depends_on: Sequence[Any] | np.ndarray | None = None,
                    deadline: Sequence[Any] | np.ndarray | None = None,
                    slots: Sequence[Any] | np.ndarray | None = None,
                    locks: Sequence[Any] | np.ndarray | None = None) -> "Night":
        """A night straight from columns (synthetic nights, tests), checked like records.

        numpy only (no polars). Rows are numbered from 1 in the given order in errors; the
        night is returned in canonical order (sorted by job_id). Default job ids are
        J0, J1, ... zero-padded to one width, so their order is the given order.

        The optional columns (issues 12 and 13; see ``night_features`` for the accepted forms):
        ``depends_on`` (per job: job ids, row indices or one ';'-separated string),
        ``deadline`` (minutes after the batch start, 'HH:MM', or None/NaN for the cutoff),
        ``slots`` (integers >= 1) and ``locks`` (lock names or one ';'-separated string).
        Left out, a column stays absent and the night is exactly today's.
        """
        horizon_minutes(batch_start, batch_end)  # checks both clock times
        a = np.array(arrival_minute, dtype=np.float64).reshape(-1)
        n = a.shape[0]
        r = np.array(runtime_minutes, dtype=np.float64).reshape(-1)
        p = (np.zeros(n) if priority is None
             else np.array(priority, dtype=np.float64).reshape(-1))
        x = (np.zeros(n, bool) if exclusive is None
             else np.array(exclusive).reshape(-1))
        if job_id is None:
            width = len(str(max(n - 1, 0)))
            job_id = [f"J{i:0{width}d}" for i in range(n)]
        ids = tuple(job_id)
        wc = tuple(workload_class) if workload_class is not None else ("etl",) * n
        for name, col in (("estimated_runtime_minutes", r), ("priority", p),
                          ("requires_exclusive_lock", x), ("job_id", ids),
                          ("workload_class", wc)):
            if len(col) != n:
                raise DataError(f"field {name!r} has {len(col)} values for {n} jobs "
                                f"(arrival_minute)")
        for name, given in (("depends_on", depends_on), ("deadline", deadline),
                            ("slots", slots), ("locks", locks)):
            if given is not None and len(given) != n:
                raise DataError(f"field {name!r} has {len(given)} values for {n} jobs "
                                f"(arrival_minute)")
        check_job_columns(ids, wc, a, r, p, x)
        features = night_features(ids, depends_on=depends_on, deadline=deadline, slots=slots,
                                  locks=locks, batch_start=batch_start)
        order = sorted(range(n), key=ids.__getitem__)
        return cls(batch_date=batch_date, job_id=tuple(ids[i] for i in order),
                   workload_class=tuple(wc[i] for i in order),
                   arrival_minute=a[order].copy(), runtime_minutes=r[order].copy(),
                   priority=p[order].astype(np.int64), exclusive=x[order].astype(bool),
                   batch_start=batch_start, batch_end=batch_end,
                   requested_window=(None,) * n, **features.permuted(order))


def _row(i: int, ids: Sequence[str]) -> str:
    job = ids[i] if i < len(ids) else None
    return f"row {i + 1}" + (f" (job_id {job})" if isinstance(job, str) and job else "")


def check_job_columns(job_id: Sequence[str], workload_class: Sequence[str], arrival: np.ndarray,
                      runtime: np.ndarray, priority: np.ndarray, exclusive: np.ndarray) -> None:
    """The record rules of mcqueue/io/schema.py for columns already in numpy form: DataError
    naming the first bad row (from 1), its job_id, the field and the value."""
    for name, names in (("job_id", job_id), ("workload_class", workload_class)):
        for i, v in enumerate(names):
            if not isinstance(v, str) or not v:
                raise DataError(f"{_row(i, job_id)}: field {name!r} must be a non-empty "
                                f"string, got {v!r}")
    checks = (
        ("estimated_runtime_minutes", runtime,
         ~np.isfinite(runtime) | (runtime <= 0), "must be a finite number > 0"),
        ("estimated_runtime_minutes", runtime, runtime > MAX_MINUTES,
         f"must be at most {MAX_MINUTES:,.0f} minutes"),
        ("priority", priority,
         ~np.isfinite(priority) | (priority != np.floor(priority)) | (np.abs(priority) > 2**53),
         "must be an integer"),
        ("arrival_minute", arrival, ~np.isfinite(arrival) | (arrival < 0),
         "must be a finite number >= 0"),
        ("arrival_minute", arrival, arrival > MAX_MINUTES,
         f"must be at most {MAX_MINUTES:,.0f} minutes"),
    )
    with np.errstate(invalid="ignore"):
        for name, col, bad, problem in checks:
            hit = np.flatnonzero(bad)
            if hit.size:
                i = int(hit[0])
                raise DataError(f"{_row(i, job_id)}: field {name!r} {problem}, "
                                f"got {float(col[i])!r}")
    if exclusive.dtype != np.bool_:
        ok = np.isin(exclusive, (0, 1)) if exclusive.dtype.kind in "iuf" else np.zeros(
            exclusive.shape[0], bool)
        hit = np.flatnonzero(~ok)
        if hit.size:
            i = int(hit[0])
            raise DataError(f"{_row(i, job_id)}: field 'requires_exclusive_lock' must be "
                            f"true/false (or 1/0), got {exclusive[i].item()!r}")
    seen: dict[str, int] = {}
    for i, j in enumerate(job_id):
        if j in seen:
            raise DataError(f"row {i + 1}: field 'job_id' duplicates row {seen[j] + 1}, "
                            f"got {j!r}")
        seen[j] = i


# ---------------------------------------------------------------- optional columns (issues 12, 13)
MAX_SLOTS = 2**31 - 1


def _quote(value: Any) -> str:
    """A value as an error line shows it: repr (control characters escaped), cut at 60."""
    text = repr(value)
    return text if len(text) <= 60 else text[:56] + "...'"


def _label(i: int, ids: Sequence[str], rows: Sequence[int] | None) -> str:
    row = rows[i] if rows is not None else i + 1
    job = ids[i]
    shown = job if job.isprintable() and len(job) <= 60 else _quote(job)
    return f"row {row} (job_id {shown})"


def _split(value: str) -> list[str]:
    """';'-separated names: whitespace around each stripped, empty entries dropped."""
    return [part.strip() for part in value.split(";") if part.strip()]


@dataclass(frozen=True, eq=False)
class NightFeatures:
    """The optional columns of one night, checked, in the row order they were given.

    ``preds[i]`` and ``locks[i]`` are lists of row indices and lock ids (into ``lock_names``);
    ``outside_references`` counts predecessor ids that were named in ``outside`` and dropped
    (jobs of another window: finished at the batch start).
    """

    preds: list[list[int]] | None = None
    deadline: np.ndarray | None = None
    slots: np.ndarray | None = None
    locks: list[list[int]] | None = None
    lock_names: tuple[str, ...] = ()
    outside_references: int = 0

    def permuted(self, order: Sequence[int]) -> dict[str, Any]:
        """Keyword arguments of ``Night`` for the jobs in ``order`` (order[k] = the row now at
        position k): CSR columns with local (new) indices."""
        n = len(order)
        pos = np.empty(n, np.int64)
        pos[np.asarray(order, dtype=np.int64)] = np.arange(n)
        out: dict[str, Any] = {}
        if self.preds is not None:
            lists = [sorted(int(pos[p]) for p in self.preds[i]) for i in order]
            out["pred_ptr"], out["pred_idx"] = _csr(lists)
        if self.deadline is not None:
            out["deadline_minute"] = self.deadline[np.asarray(order, dtype=np.int64)].copy()
        if self.slots is not None:
            out["slots"] = self.slots[np.asarray(order, dtype=np.int64)].copy()
        if self.locks is not None:
            out["lock_ptr"], out["lock_idx"] = _csr([sorted(self.locks[i]) for i in order])
            out["lock_names"] = self.lock_names
        return out


def _csr(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(lists) + 1, np.int64)
    np.cumsum([len(x) for x in lists], out=ptr[1:])
    idx = np.array([v for x in lists for v in x], dtype=np.int64)
    return ptr, idx


def night_features(job_id: Sequence[str], depends_on: Sequence[Any] | np.ndarray | None = None,
                   deadline: Sequence[Any] | np.ndarray | None = None,
                   slots: Sequence[Any] | np.ndarray | None = None,
                   locks: Sequence[Any] | np.ndarray | None = None,
                   batch_start: str = DEFAULT_BATCH_START,
                   outside: Collection[str] = (),
                   rows: Sequence[int] | None = None) -> NightFeatures:
    """Check and convert the optional columns of one night (rows in the given order).

    - ``depends_on``: per job None, one ';'-separated string of job ids (whitespace stripped,
      empty entries dropped), or a sequence of job ids (str) or row indices (int). A predecessor
      must be another job of the night; ids in ``outside`` (jobs of another window) are dropped
      and counted as finished at the batch start. No repeats, no self-dependency, no cycle.
    - ``deadline``: per job None/NaN/'' (the cutoff), 'HH:MM' (first occurrence after the batch
      start, ``deadline_minute``) or minutes after the batch start (finite, >= 0).
    - ``slots``: per job an integer >= 1 (None: 1).
    - ``locks``: per job None, one ';'-separated string, or a sequence of non-empty names.

    ``rows`` gives the row number (from 1) of each job for error messages (default i + 1).
    Raises DataError naming the row, the job_id, the field and the offending value.
    """
    ids = tuple(job_id)
    n = len(ids)
    index = {j: i for i, j in enumerate(ids)}
    outside = frozenset(outside)
    preds: list[list[int]] | None = None
    n_outside = 0
    if depends_on is not None:
        preds = []
        for i, value in enumerate(depends_on):
            where = _label(i, ids, rows)
            if value is None or (isinstance(value, float) and value != value):
                entries: list[Any] = []
            elif isinstance(value, str):
                entries = _split(value)
            elif isinstance(value, (list, tuple, np.ndarray)):
                entries = list(value)
            else:
                raise DataError(f"{where}: field 'depends_on' must be job ids (a list or one "
                                f"';'-separated string), got {_quote(value)}")
            mine: list[int] = []
            for e in entries:
                if isinstance(e, str):
                    name = e.strip()
                    if not name:
                        raise DataError(f"{where}: field 'depends_on' holds an empty job id")
                    if name not in index:
                        if name in outside:
                            n_outside += 1
                            continue
                        raise DataError(f"{where}: field 'depends_on' names {_quote(name)}, "
                                        f"which is not a job of this night")
                    k = index[name]
                elif isinstance(e, (int, np.integer)) and not isinstance(e, (bool, np.bool_)):
                    k = int(e)
                    if not 0 <= k < n:
                        raise DataError(f"{where}: field 'depends_on' names row index {k}, "
                                        f"outside 0..{n - 1}")
                    name = ids[k]
                else:
                    raise DataError(f"{where}: field 'depends_on' must hold job ids, got "
                                    f"{_quote(e)}")
                if k == i:
                    raise DataError(f"{where}: field 'depends_on' names the job itself "
                                    f"({_quote(name)})")
                if k in mine:
                    raise DataError(f"{where}: field 'depends_on' repeats {_quote(name)}")
                mine.append(k)
            preds.append(mine)
        _check_acyclic(ids, preds, rows)
    dl: np.ndarray | None = None
    if deadline is not None:
        dl = np.full(n, np.nan)
        for i, value in enumerate(deadline):
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if isinstance(value, str):
                try:
                    dl[i] = deadline_minute(value.strip(), batch_start)
                except DataError:
                    raise DataError(f"{_label(i, ids, rows)}: field 'deadline' must be HH:MM "
                                    f"(00:00 to 23:59), got {_quote(value)}") from None
                continue
            ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
                value, (bool, np.bool_))
            v = float(value) if ok else math.nan
            if ok and v != v:  # NaN: no deadline
                continue
            if not ok or not (0.0 <= v <= MAX_MINUTES):
                raise DataError(f"{_label(i, ids, rows)}: field 'deadline' must be HH:MM or "
                                f"minutes after the batch start (0 to {MAX_MINUTES:,.0f}), "
                                f"got {_quote(value)}")
            dl[i] = v
    sl: np.ndarray | None = None
    if slots is not None:
        sl = np.ones(n, np.int64)
        for i, value in enumerate(slots):
            if value is None:
                continue
            ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
                value, (bool, np.bool_))
            if ok:
                v = float(value)
                ok = v == v and v == math.floor(v) and 1 <= v <= MAX_SLOTS
            if not ok:
                raise DataError(f"{_label(i, ids, rows)}: field 'slots' must be an integer "
                                f">= 1, got {_quote(value)}")
            sl[i] = int(value)
    lk: list[list[int]] | None = None
    names: tuple[str, ...] = ()
    if locks is not None:
        per_job: list[list[str]] = []
        for i, value in enumerate(locks):
            where = _label(i, ids, rows)
            if value is None or (isinstance(value, float) and value != value):
                per_job.append([])
            elif isinstance(value, str):
                per_job.append(_split(value))
            elif isinstance(value, (list, tuple, np.ndarray)):
                mine_l: list[str] = []
                for e in value:
                    if not isinstance(e, str):
                        raise DataError(f"{where}: field 'locks' must hold lock names, got "
                                        f"{_quote(e)}")
                    if not e.strip():
                        raise DataError(f"{where}: field 'locks' holds an empty lock name")
                    mine_l.append(e.strip())
                per_job.append(mine_l)
            else:
                raise DataError(f"{where}: field 'locks' must be lock names (a list or one "
                                f"';'-separated string), got {_quote(value)}")
        names = tuple(sorted({name for x in per_job for name in x}))
        lock_id = {name: k for k, name in enumerate(names)}
        lk = [sorted({lock_id[name] for name in x}) for x in per_job]
    return NightFeatures(preds, dl, sl, lk, names, n_outside)


def _check_acyclic(ids: Sequence[str], preds: list[list[int]],
                   rows: Sequence[int] | None) -> None:
    """Kahn's algorithm; on a cycle, DataError naming the jobs on it."""
    n = len(preds)
    left = [len(p) for p in preds]
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, p in enumerate(preds):
        for k in p:
            succ[k].append(i)
    stack = [i for i in range(n) if left[i] == 0]
    done = 0
    while stack:
        k = stack.pop()
        done += 1
        for s in succ[k]:
            left[s] -= 1
            if left[s] == 0:
                stack.append(s)
    if done == n:
        return
    # every job still waiting has a waiting predecessor: walk back until a job repeats
    start = min(i for i in range(n) if left[i] > 0)
    seen: dict[int, int] = {}
    path: list[int] = []
    v = start
    while v not in seen:
        seen[v] = len(path)
        path.append(v)
        v = next(k for k in preds[v] if left[k] > 0)
    cycle = path[seen[v]:]
    first = min(range(len(cycle)), key=lambda m: (rows[cycle[m]] if rows is not None
                                                  else cycle[m]))
    cycle = cycle[first:] + cycle[:first]
    chain = " -> ".join(_quote(ids[k]) for k in cycle + [cycle[0]])
    nxt = ids[cycle[1 % len(cycle)]]
    raise DataError(f"{_label(cycle[0], ids, rows)}: field 'depends_on' names {_quote(nxt)}, "
                    f"which closes a cycle: {chain} (each job waits for the next)")


# ---------------------------------------------------------------- re-forecast from now (issue 15)
def _show(job: str) -> str:
    return job if job.isprintable() and len(job) <= 60 else _quote(job)


def _minutes(values: Sequence[Any] | np.ndarray | None, n: int, name: str
             ) -> tuple[np.ndarray, list[Any]]:
    """Minutes (NaN: None) and the values as given (for messages)."""
    if values is None:
        return np.full(n, np.nan), [None] * n
    out = np.empty(n)
    seq = list(values) if not isinstance(values, np.ndarray) else values.reshape(-1).tolist()
    if len(seq) != n:
        raise DataError(f"field {name!r} has {len(seq)} values for {n} jobs")
    for i, v in enumerate(seq):
        if v is None:
            out[i] = np.nan
            continue
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                                 np.floating)):
            out[i] = np.inf  # refused below with its value
            continue
        out[i] = float(v)
    return out, seq


def now_state(job_id: Sequence[str], now: float, status: Sequence[Any] | np.ndarray | None,
              started_at: Sequence[Any] | np.ndarray | None,
              finished_at: Sequence[Any] | np.ndarray | None,
              rows: Sequence[int] | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Check a re-forecast's inputs (``Night.at_now``): (status codes int8, started, finished,
    now). Times are minutes after the batch start; unknown times are NaN."""
    ids = tuple(job_id)
    n = len(ids)
    ok = isinstance(now, (int, float, np.integer, np.floating)) and not isinstance(
        now, (bool, np.bool_))
    t_now = float(now) if ok else math.nan
    if not 0.0 <= t_now <= MAX_MINUTES:
        raise ScenarioError(f"now must be a number of minutes after the batch start in "
                            f"[0, {MAX_MINUTES:,.0f}], got {_quote(now)}")

    def where(i: int) -> str:
        job = _show(ids[i])
        return f"row {rows[i]} (job_id {job})" if rows is not None else f"job_id {job}"

    codes = np.zeros(n, np.int8)
    if status is not None:
        seq = list(status) if not isinstance(status, np.ndarray) else status.reshape(-1)
        if len(seq) != n:
            raise DataError(f"field 'status' has {len(seq)} values for {n} jobs")
        for i, v in enumerate(seq):
            if v is None or (isinstance(v, float) and v != v):
                continue
            if isinstance(v, str) and v.strip().lower() in STATUSES:
                codes[i] = STATUSES.index(v.strip().lower())
            elif (isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                  and 0 <= v <= 2):
                codes[i] = int(v)
            else:
                raise DataError(f"{where(i)}: field 'status' must be queued, running or "
                                f"completed with a re-forecast time (now), got {_quote(v)}")
    ts, ts_raw = _minutes(started_at, n, "started_at")
    tf, tf_raw = _minutes(finished_at, n, "finished_at")
    for i in range(n):
        c = codes[i]
        if c == 0:  # a queued job has not started: its times are not used
            continue
        for name, col, raw in (("started_at", ts, ts_raw), ("finished_at", tf, tf_raw)):
            v = col[i]
            if v == v and not 0.0 <= v <= MAX_MINUTES:
                raise DataError(f"{where(i)}: field {name!r} must be a time at or after the "
                                f"batch start (minutes 0 to {MAX_MINUTES:,.0f}), got "
                                f"{_quote(raw[i])}")
        if c == 1 and ts[i] != ts[i]:
            raise DataError(f"{where(i)}: field 'started_at' is missing; a running job needs "
                            f"its start")
        if c == 2 and tf[i] != tf[i]:
            raise DataError(f"{where(i)}: field 'finished_at' is missing; a completed job "
                            f"needs its finish")
        if ts[i] > t_now:
            raise DataError(f"{where(i)}: field 'started_at' ({ts[i]:g}) is after now "
                            f"({t_now:g}): a {STATUSES[c]} job started before now")
        if c == 2:
            if tf[i] < ts[i]:
                raise DataError(f"{where(i)}: field 'finished_at' ({tf[i]:g}) is before its "
                                f"started_at ({ts[i]:g})")
            if tf[i] > t_now:
                raise DataError(f"{where(i)}: field 'finished_at' ({tf[i]:g}) is after now "
                                f"({t_now:g}): a completed job finished before now")
    ts = np.where(codes == 0, np.nan, ts)
    tf = np.where(codes == 2, tf, np.nan)
    return codes, ts, tf, t_now
