"""A night's snapshot for a re-forecast from now (issue 15): the ``--now`` time and the
records' ``status``, ``started_at`` and ``finished_at``, as minutes after each night's batch
start for the engine's ``Night.at_now``.

Times are a clock time ``HH:MM`` on the night's clock (the midnight rule of windows: a time
before the batch start is the next day when the batch crosses midnight, else it is before the
batch start, an error) or an ISO-8601 timestamp with an offset (``2026-05-13T00:40:00Z``,
``...+02:00``), converted to the wall clock of ``--timezone`` (an IANA zone, default UTC) and
counted from the night's batch start on its date, in wall-clock minutes like windows (over a
daylight-saving change the night's clock follows the wall: 03:30 is 150 minutes after 01:00
on the night the clocks go forward, as a window 03:30 is). A timestamp without an offset is an
error: it would be ambiguous.

``--now HH:MM`` is the same clock time on every night. An ISO ``--now`` is one instant: it
applies to a night when it falls within the 24 hours from that night's batch start; with a
night it does not fall within, the run is a usage error naming the night (give --now HH:MM to
re-forecast several nights at the same clock time).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from typing import Any, Sequence

import polars as pl

from ..engine.night import HHMM_PATTERN, MINUTES_PER_DAY, Night, parse_hhmm
from ..errors import DataError, UsageError, plain, quote

DEFAULT_TIMEZONE = "UTC"
# names that resolve to whatever this machine is set to: results must not depend on it
_MACHINE_ZONES = ("localtime", "factory", "posixrules")
STATUSES = ("queued", "running", "completed")
FIELDS = ("status", "started_at", "finished_at")


def zone_of(name: Any, option: str = "--timezone"):
    """An IANA time zone (zoneinfo); UsageError naming ``option`` and the value otherwise."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(name, str) or not name.strip() or len(name) > 100 or "\x00" in name:
        raise UsageError(f"{option} must be an IANA time zone such as UTC or Europe/Berlin, "
                         f"got {quote(name)}")
    key = name.strip()
    if key.lower() in _MACHINE_ZONES or key.startswith("/"):
        raise UsageError(f"{option} {quote(name)} names no place (it follows this machine's "
                         "settings, or no zone at all); give an IANA time zone such as UTC or "
                         "Europe/Berlin")
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    from zoneinfo import available_timezones

    same = sorted(z for z in available_timezones() if z.lower() == key.lower())
    hint = f" (did you mean {same[0]}?)" if same else " (such as UTC or Europe/Berlin)"
    raise UsageError(f"{option} {quote(name)} is not a known IANA time zone{hint}") from None


def parse_iso(text: str) -> _dt.datetime | None:
    """An ISO-8601 timestamp with an offset as an aware datetime, or None when ``text`` is not
    one (not ISO-8601, or no offset)."""
    if not isinstance(text, str) or len(text) > 64 or len(text.strip()) < 16:
        return None
    t = text.strip()
    if not t[:4].isdigit() or t[4:5] != "-":
        return None
    try:
        value = _dt.datetime.fromisoformat(t)
    except ValueError:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        return None
    return value


@dataclass(frozen=True)
class NowTime:
    """A parsed ``--now``: a clock time (``clock``, minutes after midnight) or an instant
    (``instant``, aware) with the zone its wall clock is read in."""

    given: str
    clock: int | None
    instant: _dt.datetime | None
    timezone: str
    zone: Any

    def minute(self, night: Night) -> float:
        """Minutes after the night's batch start (UsageError when an instant is not within
        the 24 hours from it)."""
        if self.clock is not None:
            m = clock_minute(self.clock, night.batch_start, night.batch_end)
            if m < 0:
                raise UsageError(f"--now {self.given} is before the batch start "
                                 f"({night.batch_start}) and the batch does not cross "
                                 "midnight")
            return m
        assert self.instant is not None
        m = instant_minute(self.instant, self.zone, night.batch_date, night.batch_start)
        if not 0 <= m < MINUTES_PER_DAY:
            raise UsageError(
                f"--now {quote(self.given)} is not within night {night.batch_date} (the 24 "
                f"hours from {night.batch_date} {night.batch_start} in {self.timezone}); "
                "choose only the night it falls within, or give --now HH:MM for the same "
                "clock time on every night")
        return m

    def report(self, night: Night, minute: float) -> dict:
        """The ``now`` key of a report: as given, the clock time and the minute (and the
        zone of a timestamp); `at_now` adds the jobs queued, running and completed."""
        start = parse_hhmm(night.batch_start, "batch start")
        whole = int(math.floor(minute + 1e-9))
        clock = (start + whole) % MINUTES_PER_DAY
        d = {"given": self.given, "clock": f"{clock // 60:02d}:{clock % 60:02d}",
             "minute": float(minute)}
        if self.instant is not None:
            d["timezone"] = self.timezone
        return d


def parse_now(value: Any, timezone: str | None = DEFAULT_TIMEZONE) -> NowTime:
    """``--now`` HH:MM or ISO-8601 with an offset (and ``--timezone``): UsageError naming the
    option and the value."""
    zone = zone_of(DEFAULT_TIMEZONE if timezone is None else timezone)
    tz_name = DEFAULT_TIMEZONE if timezone is None else timezone.strip()
    if isinstance(value, str) and HHMM_PATTERN.match(value.strip()):
        text = value.strip()
        return NowTime(text, int(text[:2]) * 60 + int(text[3:]), None, tz_name, zone)
    instant = parse_iso(value) if isinstance(value, str) else None
    if instant is None:
        raise UsageError(f"--now must be a clock time HH:MM or an ISO-8601 timestamp with an "
                         f"offset (2026-05-13T02:40:00+02:00, ...Z), got {quote(value)}")
    return NowTime(value.strip(), None, instant, tz_name, zone)


def clock_minute(hhmm: int, batch_start: str, batch_end: str) -> float:
    """Minutes after the batch start of a clock time (minutes after midnight), with the
    midnight rule of windows: before the start it is the next day when the batch crosses
    midnight, else negative (before the batch start)."""
    s = parse_hhmm(batch_start, "batch start")
    e = parse_hhmm(batch_end, "batch end")
    m = hhmm - s
    if m < 0 and e <= s:
        m += MINUTES_PER_DAY
    return float(m)


def instant_minute(instant: _dt.datetime, zone, batch_date: str, batch_start: str) -> float:
    """Wall-clock minutes in ``zone`` from ``batch_date batch_start`` to ``instant``."""
    local = instant.astimezone(zone).replace(tzinfo=None)
    s = parse_hhmm(batch_start, "batch start")
    origin = _dt.datetime.fromisoformat(batch_date) + _dt.timedelta(minutes=s)
    return (local - origin).total_seconds() / 60.0


@dataclass(frozen=True)
class Snapshot:
    """One night's ``status``, ``started_at`` and ``finished_at`` as the records give them
    (text or None), and each job's input row, in the night's canonical order (job_id)."""

    status: tuple
    started_at: tuple
    finished_at: tuple
    rows: tuple


def night_snapshot(validated: pl.DataFrame, night: Night) -> Snapshot:
    """The snapshot columns of ``night``'s jobs in a validated frame."""
    ids = list(night.job_id)
    sub = (validated.filter((pl.col("batch_date") == night.batch_date)
                            & pl.col("job_id").is_in(ids))
           .sort("job_id"))
    if sub["job_id"].to_list() != ids:  # pragma: no cover - the night came from this frame
        raise DataError(f"night {night.batch_date}: its records changed while reading")

    def col(name: str) -> tuple:
        return tuple(sub[name].to_list()) if name in sub.columns else (None,) * len(ids)

    rows = tuple(sub["__row"].to_list()) if "__row" in sub.columns else tuple(
        range(1, len(ids) + 1))
    return Snapshot(col("status"), col("started_at"), col("finished_at"), rows)


def _who(row: int, job: str) -> str:
    return f"row {row} (job_id {plain(job, 60)})"


def record_instant(value: Any) -> _dt.datetime | None:
    """A record time's instant when it is an ISO-8601 timestamp (None for a clock time, a
    missing value or anything else)."""
    return parse_iso(value.strip()) if isinstance(value, str) else None


def record_minute(value: Any, field: str, night: Night, zone, row: int, job: str
                  ) -> float | None:
    """One record's ``started_at``/``finished_at`` as minutes after the night's batch start
    (None when missing); DataError naming the row, the field and the value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and HHMM_PATTERN.match(text):
        m = clock_minute(parse_hhmm(text), night.batch_start, night.batch_end)
    else:
        instant = parse_iso(text) if isinstance(text, str) else None
        if instant is None:
            raise DataError(f"{_who(row, job)}: field {field!r} must be a clock time HH:MM or "
                            f"an ISO-8601 timestamp with an offset, got {quote(value)}")
        m = instant_minute(instant, zone, night.batch_date, night.batch_start)
    if m < 0:
        raise DataError(f"{_who(row, job)}: field {field!r} is before the batch start "
                        f"({night.batch_date} {night.batch_start}), got {quote(value)}")
    return m


def _wall_order(start: float | None, finish: float | None, minute: float,
                snapshot: Snapshot, i: int, now: NowTime) -> tuple[float | None, float | None]:
    """Where two times are both instants (ISO-8601 with offsets, and an ISO ``--now``), their
    order is the instants' order, not the wall clock's: in the hour a zone's clock falls back
    a later instant can have an earlier wall-clock minute. Such a pair is put in order on the
    night's clock (the later time moved to the earlier one's minute), so a consistent
    snapshot taken in that hour is never refused; a pair whose instants are out of order is
    left for `_check_order` to refuse."""
    now_i = now.instant
    st_i = record_instant(snapshot.started_at[i])
    fi_i = record_instant(snapshot.finished_at[i])
    if start is not None and st_i is not None and now_i is not None and st_i <= now_i:
        start = min(start, minute)
    if finish is not None and fi_i is not None and now_i is not None and fi_i <= now_i:
        finish = min(finish, minute)
    if (start is not None and finish is not None and st_i is not None and fi_i is not None
            and st_i <= fi_i and finish < start):
        finish = start
    return start, finish


def _check_order(kind: str, start: float | None, finish: float | None, minute: float,
                 snapshot: Snapshot, i: int, row: int, job: str, now: NowTime) -> None:
    """The engine's order checks (``now_state``) with the values as the records wrote them:
    a start after now, a finish before its start or after now (a completed job)."""
    shown = f"now ({now.given})"
    if start is not None and start > minute:
        raise DataError(f"{_who(row, job)}: field 'started_at' is after {shown}: a {kind} "
                        f"job started before now, got {quote(snapshot.started_at[i])}")
    if kind != "completed" or finish is None:
        return
    if start is not None and finish < start:
        raise DataError(f"{_who(row, job)}: field 'finished_at' is before its started_at "
                        f"({quote(snapshot.started_at[i])}), got "
                        f"{quote(snapshot.finished_at[i])}")
    if finish > minute:
        raise DataError(f"{_who(row, job)}: field 'finished_at' is after {shown}: a "
                        f"completed job finished before now, got "
                        f"{quote(snapshot.finished_at[i])}")


def at_now(night: Night, snapshot: Snapshot | None, now: NowTime) -> tuple[Night, dict]:
    """``night`` re-forecast from ``now`` (``Night.at_now`` with the records' snapshot), and
    the report's ``now`` key. A queued job's times are not read."""
    minute = now.minute(night)
    n = night.n_jobs
    if snapshot is None:
        snapshot = Snapshot((None,) * n, (None,) * n, (None,) * n, tuple(range(1, n + 1)))
    started: list[float | None] = [None] * n
    finished: list[float | None] = [None] * n
    for i in range(n):
        st = snapshot.status[i]
        kind = st.strip().lower() if isinstance(st, str) else None
        if kind not in ("running", "completed"):
            continue  # queued (or a bad status, refused by the engine with its row)
        job, row = night.job_id[i], snapshot.rows[i]
        started[i] = record_minute(snapshot.started_at[i], "started_at", night, now.zone,
                                   row, job)
        finished[i] = record_minute(snapshot.finished_at[i], "finished_at", night, now.zone,
                                    row, job)
        started[i], finished[i] = _wall_order(started[i], finished[i], minute, snapshot, i,
                                              now)
        _check_order(kind, started[i], finished[i], minute, snapshot, i, row, job, now)
    status = [None if (s is None or (isinstance(s, str) and not s.strip())) else s
              for s in snapshot.status]
    out = night.at_now(minute, status=status, started_at=started, finished_at=finished,
                       rows=list(snapshot.rows))
    key = now.report(night, minute)
    codes = out.status.tolist() if out.status is not None else [0] * n
    for code, name in enumerate(STATUSES):
        key[name] = int(sum(1 for c in codes if c == code))
    return out, key


def apply_now(nights: Sequence[Night], snapshots: dict[str, Snapshot], now: NowTime
              ) -> tuple[list[Night], dict[str, dict]]:
    """Every night re-forecast from ``now``; (nights, batch_date -> the report's now key)."""
    out, keys = [], {}
    for nt in nights:
        new, keys[nt.batch_date] = at_now(nt, snapshots.get(nt.batch_date), now)
        out.append(new)
    return out, keys
