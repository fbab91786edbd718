"""One night's jobs as numpy columns, and the clock arithmetic of a batch window.

Kept free of polars so that code needing only a night and the kernel (the engine, a worker on a
Dask cluster, a benchmark's second process) starts without loading it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DataError

DEFAULT_BATCH_START = "01:00"
DEFAULT_BATCH_END = "05:00"
MINUTES_PER_DAY = 1440
HHMM_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_MINUTES = 1e9  # about 1,900 years (long synthetic nights reach 1e7): keeps sums finite


def parse_hhmm(value: Any, what: str = "time") -> int:
    """'HH:MM' (00:00 .. 23:59) -> minutes after midnight; DataError naming ``what`` otherwise."""
    if not isinstance(value, str) or not HHMM_PATTERN.match(value):
        raise DataError(f"{what} must be HH:MM (00:00 to 23:59), got {value!r}")
    return int(value[:2]) * 60 + int(value[3:])


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

    def __repr__(self) -> str:
        return (f"Night(batch_date={self.batch_date!r}, jobs={self.n_jobs}, "
                f"batch_start={self.batch_start!r}, batch_end={self.batch_end!r}, "
                f"window={self.window!r})")

    @classmethod
    def from_arrays(cls, arrival_minute: ArrayLike, runtime_minutes: ArrayLike,
                    priority: ArrayLike | None = None,
                    exclusive: ArrayLike | None = None,
                    job_id: Sequence[str] | None = None,
                    workload_class: Sequence[str] | None = None,
                    batch_date: str = "synthetic", batch_start: str = DEFAULT_BATCH_START,
                    batch_end: str = DEFAULT_BATCH_END) -> "Night":
        """A night straight from columns (synthetic nights, tests), checked like records.

        numpy only (no polars). Rows are numbered from 1 in the given order in errors; the
        night is returned in canonical order (sorted by job_id). Default job ids are
        J0, J1, ... zero-padded to one width, so their order is the given order.
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
        check_job_columns(ids, wc, a, r, p, x)
        order = sorted(range(n), key=ids.__getitem__)
        return cls(batch_date=batch_date, job_id=tuple(ids[i] for i in order),
                   workload_class=tuple(wc[i] for i in order),
                   arrival_minute=a[order].copy(), runtime_minutes=r[order].copy(),
                   priority=p[order].astype(np.int64), exclusive=x[order].astype(bool),
                   batch_start=batch_start, batch_end=batch_end,
                   requested_window=(None,) * n)


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
