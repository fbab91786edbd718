"""Nights from where they live: a job file, the built-in sample or the DynamoDB catalog.

The one place that turns "these dates from this source" into validated nights, for every
command: ``load_nights`` for named nights (simulate, plan), ``load_range`` for every night of a
file or a date range (score).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass, field
from typing import Callable, Sequence

import polars as pl

from ..engine.night import DEFAULT_BATCH_END, DEFAULT_BATCH_START, Night
from ..errors import DataError, UsageError, quote
from .dynamo import DEFAULT_TABLE
from .schema import batch_dates, night_from_frame, nights_from_frame, validate_jobs
from .snapshot import Snapshot, night_snapshot

DYNAMODB_CONCURRENCY = 4  # concurrent Queries when reading a date range
MAX_RANGE_DAYS = 3660


@dataclass(frozen=True)
class Source:
    """Where jobs come from: ``kind`` "local" (``file``, or the built-in sample when None) or
    "dynamodb" (``table`` and the AWS access settings)."""

    kind: str = "local"
    file: str | None = None
    table: str = DEFAULT_TABLE
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    max_attempts: int | None = None
    timeout: float | None = None  # seconds per service operation (dynamo.DEFAULT_TIMEOUT)
    max_input_bytes: int | None = None  # decompressed bytes of a job file (files.MAX_INPUT_BYTES)

    def __post_init__(self) -> None:
        if self.kind not in ("local", "dynamodb"):
            raise UsageError(f"source must be 'local' or 'dynamodb', got {self.kind!r}")
        if self.kind == "dynamodb" and self.file is not None:
            raise UsageError("--file is for --source local; DynamoDB reads the table given "
                             "by --table")


    @property
    def label(self) -> str:
        """How messages name the source."""
        if self.kind == "dynamodb":
            return f"table {quote(self.table)}"
        return "the built-in sample" if self.file is None else quote(self.file)


@dataclass(frozen=True)
class Clock:
    """The batch window: start, cutoff and an optional requested window to select."""

    window: str | None = None
    batch_start: str = DEFAULT_BATCH_START
    batch_end: str = DEFAULT_BATCH_END


@dataclass
class Loaded:
    """Nights read from a source, in the order asked for.

    ``empty``: nights without a job (in the window), where that is not an error (score);
    ``query_stats``: per date, what the DynamoDB Query read and cost; ``outside``: per date,
    how many predecessor jobs of another window (``--window``) count as finished at the batch
    start (issue 12).
    """

    nights: list[Night]
    empty: list[Night] = field(default_factory=list)
    query_stats: dict[str, dict] = field(default_factory=dict)
    outside: dict[str, int] = field(default_factory=dict)
    # issue 15, only when asked for (``snapshot=True``): per date, the records' status,
    # started_at and finished_at in the night's job order, with their rows
    snapshots: dict[str, Snapshot] = field(default_factory=dict)

    def outside_note(self, clock: "Clock") -> str | None:
        """The one note line saying how many predecessors outside the window were treated as
        finished at the batch start, or None when there were none."""
        if not self.outside:
            return None
        total = sum(self.outside.values())
        jobs = f"{total} predecessor job{'' if total == 1 else 's'}"
        if len(self.outside) == 1:
            (date,) = self.outside
            where = f"of {date} "
        else:
            where = f"({len(self.outside)} nights) "
        return (f"{jobs} outside window {clock.window} {where}treated as finished at the batch "
                f"start ({clock.batch_start})")


def empty_night(batch_date: str, clock: Clock) -> Night:
    """A night without jobs (a date with nothing queued), on the clock of the others."""
    night = Night.from_arrays([], [], batch_date=batch_date, batch_start=clock.batch_start,
                              batch_end=clock.batch_end)
    return dataclasses.replace(night, window=clock.window)


def read_local(file: str | None, max_input_bytes: int | None = None) -> pl.DataFrame:
    """Validated records of a job file, or of the built-in sample when ``file`` is None."""
    if file is None:
        from .sample import sample_frame

        raw = sample_frame()
    else:
        from .sources import read_jobs

        raw = read_jobs(file, max_input_bytes)
    if raw.height == 0:
        where = "the built-in sample" if file is None else quote(file)
        raise DataError(f"{where} holds no job records")
    return validate_jobs(raw)


def _query(source: Source, date: str, window: str | None, cancel=None):
    try:
        from .dynamo import query_jobs
    except ImportError as exc:  # pragma: no cover - boto3 is a core dependency
        raise DataError(f"--source dynamodb is not available in this build ({exc})") from None
    return query_jobs(date, window, table=source.table, session=None, region=source.region,
                      profile=source.profile, endpoint_url=source.endpoint_url,
                      max_attempts=source.max_attempts, timeout=source.timeout, cancel=cancel)


def _stats(source: Source, res) -> dict:
    return {"table": source.table, "items": res.items, "pages": res.pages,
            "consumed_read_units": res.consumed_read_units, "cost_usd": res.cost_usd}


def load_nights(source: Source, dates: Sequence[str | None], clock: Clock = Clock(), *,
                snapshot: bool = False) -> Loaded:
    """The named nights, each with at least one job (else DataError). ``[None]`` asks for the
    only night of a local file (UsageError when it holds several). ``snapshot``: also keep
    each night's status/started_at/finished_at (``Loaded.snapshots``, for --now)."""
    asked = list(dict.fromkeys(dates))
    named = [d for d in asked if d is not None]
    if source.kind == "dynamodb":
        if len(named) < len(asked) or not named:
            raise UsageError("--source dynamodb needs --batch-date (the partition key to "
                             "query)")
        nights: list[Night] = []
        stats: dict[str, dict] = {}
        outside: dict[str, int] = {}
        snaps: dict[str, Snapshot] = {}
        where = f"window {clock.window} of " if clock.window else ""
        for d in named:
            night, stats[d] = _queried_night(source, d, clock, outside,
                                             snapshots=snaps if snapshot else None)
            if night is None or night.n_jobs == 0:
                raise DataError(f"table {quote(source.table)} has no jobs for {where}batch date "
                                f"{quote(d)}: nothing to simulate")
            nights.append(night)
        return Loaded(nights, query_stats=stats, outside=outside, snapshots=snaps)
    jobs = read_local(source.file, source.max_input_bytes)
    if len(named) < len(asked):
        found = batch_dates(jobs)
        if len(found) != 1:
            raise UsageError(
                f"{source.label} holds {len(found)} nights ({', '.join(found[:10])}"
                f"{' ...' if len(found) > 10 else ''}); choose with --batch-date")
        named = found
    nights = []
    outside = {}
    for d in named:
        night = night_from_frame(jobs, d, clock.window, clock.batch_start, clock.batch_end,
                                 outside)
        if night.n_jobs == 0:
            present = sorted(set(jobs.filter(jobs["batch_date"] == d)["requested_window"]
                                 .drop_nulls().to_list()))
            raise DataError(f"night {d} has no jobs in window {clock.window} (windows present: "
                            f"{', '.join(present) or 'none'}): nothing to simulate")
        nights.append(night)
    snaps = {nt.batch_date: night_snapshot(jobs, nt) for nt in nights} if snapshot else {}
    return Loaded(nights, outside=outside, snapshots=snaps)


def _unknown_predecessors(frame: pl.DataFrame) -> bool:
    """True when some depends_on of a (window's) raw frame names a job the frame lacks."""
    if "depends_on" not in frame.columns or frame.height == 0:
        return False
    from .schema import list_cell

    ids = set(frame["job_id"].cast(pl.String, strict=False).to_list())
    return any(p not in ids for v in frame["depends_on"].to_list()
               for p in (v if isinstance(v, list) else list_cell(v) or ()))


def _queried_night(source: Source, d: str, clock: Clock, outside: dict[str, int],
                   cancel=None, snapshots: dict[str, Snapshot] | None = None
                   ) -> tuple[Night | None, dict]:
    """One date from DynamoDB (None without jobs) and what its reads cost. A window is ONE
    Query with begins_with; when a job there depends on a job the window does not hold, the
    whole night is read too (a second Query, counted in the stats), so that predecessors of
    other windows are known (finished at the batch start) and misspelt ones are errors."""
    res = _query(source, d, clock.window, cancel)
    stats = _stats(source, res)
    if res.frame.height == 0:
        return None, stats
    frame = res.frame
    if clock.window is not None and _unknown_predecessors(frame):
        whole = _query(source, d, None, cancel)
        for key in ("items", "pages", "consumed_read_units", "cost_usd"):
            stats[key] += _stats(source, whole)[key]
        frame = whole.frame
    validated = validate_jobs(frame)
    night = night_from_frame(validated, d, clock.window, clock.batch_start, clock.batch_end,
                             outside)
    if snapshots is not None and night.n_jobs:
        snapshots[d] = night_snapshot(validated, night)
    return night, stats


def date_range(first: str, last: str | None = None) -> list[str]:
    """Every date from ``first`` to ``last`` (default: ``first``) inclusive."""
    last = last or first
    a, b = _dt.date.fromisoformat(first), _dt.date.fromisoformat(last)
    if b < a:
        raise UsageError(f"--to {last} is before --from {first}")
    days = (b - a).days + 1
    if days > MAX_RANGE_DAYS:
        raise UsageError(f"--from {first} --to {last} spans {days} days; at most "
                         f"{MAX_RANGE_DAYS} per run")
    return [(a + _dt.timedelta(days=i)).isoformat() for i in range(days)]


def load_range(source: Source, date_from: str | None = None, date_to: str | None = None,
               clock: Clock = Clock(), concurrency: int = DYNAMODB_CONCURRENCY,
               progress: Callable[[int], None] | None = None, *,
               snapshot: bool = False) -> Loaded:
    """Every night of a file (optionally within [date_from, date_to]) or every date of a
    DynamoDB range, in date order; dates without jobs go to ``empty_dates``.

    DynamoDB: one Query per date, ``concurrency`` at a time; ``progress(1)`` after each.
    """
    if date_to is not None and date_from is None:
        raise UsageError("--to needs --from")
    if source.kind == "dynamodb":
        if date_from is None:
            raise UsageError("--source dynamodb needs --from (and --to) dates to query")
        dates = date_range(date_from, date_to)
        return _dynamodb_range(source, dates, clock, concurrency, progress, snapshot)
    if date_from is not None:
        date_range(date_from, date_to)  # checks the order and span
    jobs = read_local(source.file, source.max_input_bytes)
    present = batch_dates(jobs)
    if date_from is not None:
        lo, hi = date_from, date_to or date_from
        present = [d for d in present if lo <= d <= hi]
        if not present:
            raise DataError(f"{source.label} has no nights from {lo} to {hi}")
    outside: dict[str, int] = {}
    nights = nights_from_frame(jobs, clock.window, clock.batch_start, clock.batch_end, present,
                               outside)
    full = [n for n in nights if n.n_jobs]
    snaps = {nt.batch_date: night_snapshot(jobs, nt) for nt in full} if snapshot else {}
    return Loaded(full, empty=[n for n in nights if not n.n_jobs], outside=outside,
                  snapshots=snaps)


def wait_result(future, poll: float = 0.2):
    """``future.result()`` waited for in short slices: a SIGINT delivered to a worker thread
    only wakes the main thread at its next timeout, so Ctrl-C is seen within ``poll`` s."""
    while True:
        try:
            return future.result(timeout=poll)
        except TimeoutError:
            continue


def _dynamodb_range(source: Source, dates: list[str], clock: Clock, concurrency: int,
                    progress: Callable[[int], None] | None, snapshot: bool = False) -> Loaded:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    cancel = threading.Event()

    outside: dict[str, int] = {}
    snaps: dict[str, Snapshot] = {}

    def one(d):
        night, stats = _queried_night(source, d, clock, outside, cancel,
                                      snaps if snapshot else None)
        if progress is not None:
            progress(1)
        return d, night, stats

    pool = ThreadPoolExecutor(max_workers=concurrency)
    try:
        futures = [pool.submit(one, d) for d in dates]
        got = [wait_result(f) for f in futures]  # in date order; the first error propagates
    except BaseException:  # an error or Ctrl-C: no new query starts, none is waited for
        cancel.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return Loaded([n for _, n, _ in got if n is not None and n.n_jobs],
                  empty=[empty_night(d, clock) for d, n, _ in got if n is None or not n.n_jobs],
                  query_stats={d: stats for d, _, stats in got},
                  outside={d: outside[d] for d, _, _ in got if d in outside},
                  snapshots={d: snaps[d] for d, _, _ in got if d in snaps})
