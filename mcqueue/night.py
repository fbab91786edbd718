"""One night's jobs as numpy columns, and the clock arithmetic of a batch window.

Kept free of polars so that code needing only a night and the kernel (the engine, a worker on a
Dask cluster, a benchmark's second process) starts without loading it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .errors import DataError

DEFAULT_BATCH_START = "01:00"
DEFAULT_BATCH_END = "05:00"
MINUTES_PER_DAY = 1440
HHMM_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


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
    requested_window: tuple[str | None, ...] = field(default=())

    @property
    def horizon_minutes(self) -> float:
        return horizon_minutes(self.batch_start, self.batch_end)

    @property
    def n_jobs(self) -> int:
        return len(self.job_id)

    def __repr__(self) -> str:
        return (f"Night(batch_date={self.batch_date!r}, jobs={self.n_jobs}, "
                f"batch_start={self.batch_start!r}, batch_end={self.batch_end!r}, "
                f"window={self.window!r})")

    @classmethod
    def from_arrays(cls, arrival_minute: Sequence[float], runtime_minutes: Sequence[float],
                    priority: Sequence[int] | None = None,
                    exclusive: Sequence[bool] | None = None,
                    job_id: Sequence[str] | None = None,
                    workload_class: Sequence[str] | None = None,
                    batch_date: str = "synthetic", batch_start: str = DEFAULT_BATCH_START,
                    batch_end: str = DEFAULT_BATCH_END) -> "Night":
        """A night straight from columns (synthetic nights, tests), validated like records."""
        a = np.asarray(arrival_minute, dtype=np.float64)
        n = a.shape[0]
        if n == 0:  # an empty night is a valid (if dull) night: every metric is 0
            horizon_minutes(batch_start, batch_end)
            return cls(batch_date=batch_date, job_id=(), workload_class=(),
                       arrival_minute=np.zeros(0), runtime_minutes=np.zeros(0),
                       priority=np.zeros(0, np.int64), exclusive=np.zeros(0, bool),
                       batch_start=batch_start, batch_end=batch_end)
        from .schema import night_from_frame, validate_jobs  # polars only when needed

        if job_id is None:
            width = max(1, len(str(max(n - 1, 0))))
            job_id = [f"J{i:0{width}d}" for i in range(n)]
        import polars as pl

        frame = pl.DataFrame({
            "batch_date": ["2000-01-01"] * n,
            "job_id": pl.Series(list(job_id), dtype=pl.String),
            "workload_class": pl.Series(list(workload_class) if workload_class is not None
                                        else ["etl"] * n, dtype=pl.String),
            "estimated_runtime_minutes": np.asarray(runtime_minutes, dtype=np.float64),
            "priority": np.asarray(priority if priority is not None else np.zeros(n),
                                   dtype=np.float64),
            "requires_exclusive_lock": np.asarray(exclusive if exclusive is not None
                                                  else np.zeros(n, bool), dtype=bool),
            "arrival_minute": a,
        })
        night = night_from_frame(validate_jobs(frame), "2000-01-01", None, batch_start,
                                 batch_end)
        return cls(batch_date=batch_date, job_id=night.job_id,
                   workload_class=night.workload_class, arrival_minute=night.arrival_minute,
                   runtime_minutes=night.runtime_minutes, priority=night.priority,
                   exclusive=night.exclusive, batch_start=batch_start, batch_end=batch_end,
                   requested_window=night.requested_window)
