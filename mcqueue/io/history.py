"""Run history: past runs of jobs, read in any layout and normalised to one polars frame.

Files are read by `mcqueue.io.sources.read_jobs` (every local format mcqueue reads: CSV, Parquet,
NDJSON/JSONL, JSON, DynamoDB JSON lines, each text format optionally gzipped); this module only
maps a layout's columns onto one schema and checks every value, vectorised with polars.

Layouts (column names are matched case-insensitively; docs/history.md has the full tables):

- ``generic``: ``job_name`` (or ``job_id``), ``batch_date``, and ``started_at`` + ``finished_at``
  or ``duration_minutes``; optional ``workload_class``, ``ready_at``, ``requested_window``,
  ``estimated_runtime_minutes``, ``status``, ``attempt`` (or ``try_number``).
- ``airflow``: a ``task_instance`` export: ``dag_id``, ``task_id``, ``run_id`` or
  ``execution_date``, ``state``, and ``start_date`` + ``end_date`` or ``duration`` (seconds);
  optional ``try_number``. ``queued_dttm`` is never a ready time (Airflow queues a task only once a
  pool slot is free), so Airflow history has no ready times.
- ``sqlserver``: an ``msdb.dbo.sysjobhistory`` export: ``job_name`` (or ``name``, or the
  ``job_id`` GUID), ``run_date`` (yyyymmdd), ``run_time`` and ``run_duration`` (HHMMSS integers),
  ``run_status``, ``step_id``; only the job-outcome rows (``step_id`` 0) are runs.
- ``dynamodb``: the workload catalog itself (``batch_date``, ``job_id``, ``window_job_id``) whose
  past items carry ``started_at`` and ``finished_at``; items without ``finished_at`` (tonight's
  queue, jobs still running) are not past runs and are skipped.

Status rule (every layout): a run succeeded when its status is ``success``, ``succeeded`` or
``completed`` in any case (SQL Server: ``run_status`` 1); every other run is kept with
``success = False``, left out of the runtime fit and counted. A file without a status column holds
successful runs only.

Every bad value is one `DataError` naming the file, the row (1-based, in file order; a CSV's header
is not a row), the column and the value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from importlib.resources import files
from pathlib import Path

import polars as pl

from ..errors import DataError, quote
from .schema import MAX_MINUTES
from .sources import read_jobs

LAYOUTS = ("generic", "airflow", "sqlserver", "dynamodb")
_DETECT_ORDER = ("sqlserver", "airflow", "dynamodb", "generic")

# Each layout needs every one of its entries; an entry is met by any one of its alternatives, an
# alternative needs all of its columns.
LAYOUT_COLUMNS: dict[str, tuple[tuple[tuple[str, ...], ...], ...]] = {
    "generic": ((("job_name",), ("job_id",)), (("batch_date",),),
                (("started_at", "finished_at"), ("duration_minutes",))),
    "airflow": ((("dag_id",),), (("task_id",),), (("run_id",), ("execution_date",)),
                (("state",),), (("start_date", "end_date"), ("duration",))),
    "sqlserver": ((("job_name",), ("name",), ("job_id",)), (("run_date",),), (("run_time",),),
                  (("run_duration",),), (("run_status",),), (("step_id",),)),
    "dynamodb": ((("batch_date",),), (("job_id",),), (("window_job_id",),), (("started_at",),),
                 (("finished_at",),)),
}

UTC = pl.Datetime("us", "UTC")
HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "job_name": pl.String(),
    "batch_date": pl.Date(),
    "workload_class": pl.String(),
    "started_at": UTC,
    "finished_at": UTC,
    "duration_minutes": pl.Float64(),
    "ready_at": UTC,
    "requested_window": pl.String(),
    "estimated_runtime_minutes": pl.Float64(),
    "status": pl.String(),
    "success": pl.Boolean(),
    "attempt": pl.Int64(),
    "layout": pl.String(),
    "source": pl.String(),
    "source_row": pl.Int64(),
}
HISTORY_COLUMNS = tuple(HISTORY_SCHEMA)

SUCCESS_STATUSES = ("success", "succeeded", "completed")
SQLSERVER_STATUS = {0: "failed", 1: "succeeded", 2: "retry", 3: "canceled", 4: "in_progress"}

_ROW = "__row"
_JOB = "__job"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%#z"
# date, T or space, HH:MM, optional :SS[.fraction], optional Z / +HH / +HHMM / +HH:MM
_TIME_RE = (r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2})(:\d{2}(?:[.,]\d+)?)?\s*"
            r"([Zz]|[+-]\d{2}(?::?\d{2})?)?$")


def _strptime(fmt: str, offset: bool):
    def parse(text: pl.Series) -> pl.Series:
        if offset:
            return text.str.to_datetime(fmt, time_zone="UTC", time_unit="us", strict=False)
        return (text.str.to_datetime(fmt, time_unit="us", strict=False)
                .dt.replace_time_zone("UTC"))
    return parse


def _parse_any(text: pl.Series) -> pl.Series:
    """Every spelling `_TIME_RE` allows, rewritten to `_TIME_FORMAT` first (slow: a regex)."""
    g = pl.col("t").str.extract_groups(_TIME_RE)
    offset = g.struct.field("4")
    offset = (pl.when(offset.is_null() | (offset.str.to_uppercase() == "Z")).then(pl.lit("+00:00"))
              .when(offset.str.len_chars() == 3).then(offset + ":00")
              .otherwise(offset))
    norm = pl.concat_str([g.struct.field("1"), pl.lit("T"), g.struct.field("2"),
                          g.struct.field("3").fill_null(":00").str.replace(",", ".", literal=True),
                          offset])
    return (pl.DataFrame({"t": text})
            .select(norm.str.to_datetime(_TIME_FORMAT, time_zone="UTC", time_unit="us",
                                         strict=False))
            .to_series())


# tried in this order, each on the rows the ones before left unparsed: the fixed formats first
# (polars parses them about 4x faster than a format with an offset), the regex rewrite last
_TIME_PARSERS = (
    _strptime("%Y-%m-%dT%H:%M:%SZ", False),
    _strptime("%Y-%m-%dT%H:%M:%S%.fZ", False),
    _strptime("%Y-%m-%dT%H:%M:%S%.f", False),
    _strptime("%Y-%m-%d %H:%M:%S%.f", False),
    _strptime(_TIME_FORMAT, True),
    _strptime("%Y-%m-%d %H:%M:%S%.f%#z", True),
    _parse_any,
)
_HHMM_RE = r"^([01]\d|2[0-3]):[0-5]\d$"
_NO_DURATION = ("is missing: a successful run needs its duration (start and finish times, or a "
                "duration column)")
_TIME_PROBLEM = "is not an ISO-8601 date and time like 2026-05-11T01:30:00Z"


# ---------------------------------------------------------------- layouts
def _need_text(need: tuple[tuple[str, ...], ...]) -> str:
    return " or ".join("+".join(alt) for alt in need)


def layout_needs(layout: str) -> str:
    """The columns a layout needs, as one line (``a, b or c, d+e or f``)."""
    return ", ".join(_need_text(n) for n in LAYOUT_COLUMNS[layout])


def _unmet(columns: Iterable[str], layout: str) -> str | None:
    have = set(columns)
    for need in LAYOUT_COLUMNS[layout]:
        if not any(all(c in have for c in alt) for alt in need):
            return _need_text(need)
    return None


def _listing(columns: Sequence[str], limit: int = 40) -> str:
    shown = ", ".join(quote(c, 60) for c in columns[:limit])
    more = f" and {len(columns) - limit} more" if len(columns) > limit else ""
    return (shown + more) or "none"


def detect_layout(columns: Iterable[str], source: str = "input") -> str:
    """The first layout (sqlserver, airflow, dynamodb, generic) whose columns are all present.

    Column names are compared in lower case. A frame matching none is one DataError listing the
    columns it has and the columns each layout needs.
    """
    cols = [str(c).strip().lower() for c in columns]
    for layout in _DETECT_ORDER:
        if _unmet(cols, layout) is None:
            return layout
    needs = "; ".join(f"{lay}: {layout_needs(lay)}" for lay in LAYOUTS)
    raise DataError(f"{quote(source)} matches no history layout; columns present: "
                    f"{_listing(cols)}; each layout needs ({needs})")


def _check_layout(columns: Sequence[str], layout: str, source: str) -> None:
    if layout not in LAYOUTS:
        raise DataError(f"unknown history layout {quote(layout)}; choose one of "
                        f"{', '.join(LAYOUTS)}")
    unmet = _unmet(columns, layout)
    if unmet is not None:
        raise DataError(f"{quote(source)}: the {layout} layout needs column {unmet} "
                        f"(it needs {layout_needs(layout)}); columns present: "
                        f"{_listing(list(columns))}")


def _lower_columns(raw: pl.DataFrame, source: str) -> pl.DataFrame:
    seen: dict[str, str] = {}
    for c in raw.columns:
        key = c.strip().lower()
        if key in seen:
            raise DataError(f"{quote(source)}: columns {quote(seen[key])} and {quote(c)} differ "
                            f"only in case or spaces; keep one")
        seen[key] = c
    return raw.rename({orig: key for key, orig in seen.items()})


# ---------------------------------------------------------------- checks and parsers
class _Checker:
    """Raises the first offending row of a mask as one DataError line."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, df: pl.DataFrame, mask: pl.Expr, column: str, problem: str,
             value_column: str | None = None) -> None:
        value_column = value_column or column
        value = (pl.col(value_column) if value_column in df.columns
                 else pl.lit(None).alias(value_column))
        cols = [pl.col(_ROW), value] + ([pl.col(_JOB)] if _JOB in df.columns else [])
        bad = df.lazy().filter(mask).select(cols).head(1).collect()
        if bad.height == 0:
            return
        row = bad[_ROW][0]
        job = bad[_JOB][0] if _JOB in bad.columns else None
        who = f" (job {quote(job, 80)})" if job not in (None, "") else ""
        raise DataError(f"{quote(self.source)} row {row}{who}: column {quote(column)} "
                        f"{problem}, got {quote(bad[value_column][0])}")


def _blank(col: str) -> pl.Expr:
    """Null or an empty/whitespace string."""
    c = pl.col(col)
    return c.is_null() | (c.cast(pl.String).str.strip_chars() == "")


def _text(df: pl.DataFrame, col: str | None) -> pl.Expr:
    """A column as stripped text, empty strings as null (a literal null if the column is absent)."""
    if col is None or col not in df.columns:
        return pl.lit(None, pl.String)
    c = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(c == "").then(None).otherwise(c)


def _number(df: pl.DataFrame, col: str, check: _Checker, problem: str = "must be a number"
            ) -> pl.Series:
    s = df[col]
    if s.dtype == pl.Null:
        return pl.Series(col, [None] * df.height, dtype=pl.Float64)
    if s.dtype == pl.String:
        out = s.str.strip_chars().cast(pl.Float64, strict=False)
    elif s.dtype.is_numeric():
        out = s.cast(pl.Float64)
    else:  # booleans, dates, lists: not a number; every non-null value is reported
        out = pl.Series(col, [None] * df.height, dtype=pl.Float64)
    tmp = df.with_columns(out.alias("__num"))
    check.fail(tmp, ~_blank(col) & pl.col("__num").is_null(), col, problem)
    check.fail(tmp, pl.col("__num").is_not_null() & ~pl.col("__num").is_finite(), col,
               "must be a finite number")
    return out


def _integer(df: pl.DataFrame, col: str, check: _Checker) -> pl.Series:
    f = _number(df, col, check, "must be an integer")
    tmp = df.with_columns(f.alias("__num"))
    check.fail(tmp, pl.col("__num").is_not_null()
               & ((pl.col("__num") != pl.col("__num").floor()) | (pl.col("__num").abs() > 2**53)),
               col, "must be an integer")
    return f.cast(pl.Int64)


def _time(df: pl.DataFrame, col: str | None, check: _Checker) -> pl.Series:
    """ISO-8601 text or native datetimes -> Datetime(us, UTC); a time without offset is UTC."""
    if col is None or col not in df.columns:
        return pl.Series(col or "time", [None] * df.height, dtype=UTC)
    s = df[col]
    if isinstance(s.dtype, pl.Datetime):
        if s.dtype.time_zone is None:
            return s.dt.replace_time_zone("UTC").dt.cast_time_unit("us")
        return s.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    if s.dtype == pl.Null:
        return pl.Series(col, [None] * df.height, dtype=UTC)
    text = s.cast(pl.String).str.strip_chars()
    parsed = _TIME_PARSERS[0](text)
    todo = pl.Series([], dtype=pl.UInt32)
    for attempt in _TIME_PARSERS[1:]:  # each on the rows the ones before left unparsed
        todo = (parsed.is_null() & text.is_not_null() & (text != "")).arg_true()
        if todo.len() == 0:
            break
        parsed = parsed.scatter(todo, attempt(text.gather(todo)))
    else:
        todo = (parsed.is_null() & text.is_not_null() & (text != "")).arg_true()
    if todo.len():
        check.fail(df.slice(int(todo[0]), 1), pl.lit(True), col, _TIME_PROBLEM)
    parsed = parsed.alias(col)
    return parsed


def _date(df: pl.DataFrame, col: str, check: _Checker) -> pl.Series:
    """A batch date: a Date, a Datetime (its date) or text YYYY-MM-DD."""
    s = df[col]
    if s.dtype == pl.Date:
        out = s
    elif isinstance(s.dtype, pl.Datetime):
        out = s.dt.date()
    else:
        text = s.cast(pl.String).str.strip_chars()
        out = pl.select(pl.when(text.str.len_chars() == 10)
                        .then(text.str.strptime(pl.Date, "%Y-%m-%d", strict=False))
                        .otherwise(None)).to_series()
        tmp = df.with_columns(out.alias("__d"))
        check.fail(tmp, ~_blank(col) & pl.col("__d").is_null(), col,
                   "must be a date YYYY-MM-DD")
    tmp = df.with_columns(out.alias("__d"))
    check.fail(tmp, pl.col("__d").is_null(), col, "is missing")
    return out.alias(col)


def _first(df: pl.DataFrame, *names: str) -> str | None:
    return next((n for n in names if n in df.columns), None)


def _is_success(status: pl.Expr) -> pl.Expr:
    return status.str.to_lowercase().is_in(SUCCESS_STATUSES).fill_null(False)


def _generic(df: pl.DataFrame, check: _Checker, catalog: bool) -> tuple[pl.DataFrame, dict]:
    name_col = "job_name" if "job_name" in df.columns else "job_id"
    df = df.with_columns(pl.coalesce(_text(df, "job_name"), _text(df, "job_id")).alias(_JOB))
    if catalog:
        # tonight's queue and jobs still running have no finish yet: they are not past runs
        df = df.filter(~_blank("finished_at"))
    check.fail(df, pl.col(_JOB).is_null(), name_col, "is missing")
    status = _text(df, "status")
    df = df.with_columns(
        _date(df, "batch_date", check).alias("__batch"),
        _time(df, "started_at", check).alias("__start"),
        _time(df, "finished_at", check).alias("__finish"),
        (_number(df, "duration_minutes", check) if "duration_minutes" in df.columns
         else pl.lit(None, pl.Float64)).alias("__dur"),
        _time(df, "ready_at", check).alias("__ready"),
        status.alias("__status"),
        (_is_success(status) if "status" in df.columns else pl.lit(True)).alias("__success"),
        _text(df, "workload_class").alias("__class"),
        _text(df, "requested_window").alias("__window"),
    )
    cols = {"start": "started_at", "finish": "finished_at", "duration": "duration_minutes",
            "duration_scale": 1.0, "estimate": "estimated_runtime_minutes",
            "attempt": _first(df, "attempt", "try_number")}
    return df, cols


def _airflow(df: pl.DataFrame, check: _Checker) -> tuple[pl.DataFrame, dict]:
    for col in ("dag_id", "task_id"):
        check.fail(df, _blank(col), col, "is missing")
    df = df.with_columns(pl.concat_str([_text(df, "dag_id"), pl.lit("."), _text(df, "task_id")])
                         .alias(_JOB))
    start = _time(df, "start_date", check)
    # the batch night: the logical date (execution_date), else the date in run_id
    # (scheduled__2026-05-10T01:00:00+00:00), else the UTC date the try started
    from_exec = (_time(df, "execution_date", check).dt.date() if "execution_date" in df.columns
                 else pl.Series([None] * df.height, dtype=pl.Date))
    from_run = (df.select(_text(df, "run_id").str.extract(r"(\d{4}-\d{2}-\d{2})", 1)
                          .str.strptime(pl.Date, "%Y-%m-%d", strict=False)).to_series()
                if "run_id" in df.columns else pl.Series([None] * df.height, dtype=pl.Date))
    df = df.with_columns(pl.coalesce(from_exec, from_run, start.dt.date()).alias("__batch"),
                         start.alias("__start"))
    which = "execution_date" if "execution_date" in df.columns else "run_id"
    check.fail(df, pl.col("__batch").is_null(), which,
               "carries no date and the run has no start_date")
    status = _text(df, "state")
    df = df.with_columns(
        _time(df, "end_date", check).alias("__finish"),
        (_number(df, "duration", check) if "duration" in df.columns
         else pl.lit(None, pl.Float64)).alias("__dur"),
        pl.lit(None, UTC).alias("__ready"),  # queued_dttm is never a ready time
        status.alias("__status"),
        _is_success(status).alias("__success"),
        _text(df, "workload_class").alias("__class"),
        pl.lit(None, pl.String).alias("__window"),
    )
    cols = {"start": "start_date", "finish": "end_date", "duration": "duration",
            "duration_scale": 1 / 60, "estimate": None, "attempt": _first(df, "try_number")}
    return df, cols


def _hhmmss(v: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    return v // 10000, (v // 100) % 100, v % 100


def _sqlserver(df: pl.DataFrame, check: _Checker) -> tuple[pl.DataFrame, dict]:
    step = _integer(df, "step_id", check)
    df = df.with_columns(step.alias("__step"))
    check.fail(df, pl.col("__step").is_null(), "step_id", "is missing")
    df = df.filter(pl.col("__step") == 0)  # the job-outcome rows; steps are parts of a run
    name_col = _first(df, "job_name", "name", "job_id") or "job_id"  # the layout needs one
    df = df.with_columns(_text(df, name_col).alias(_JOB))
    check.fail(df, pl.col(_JOB).is_null(), name_col, "is missing")
    ints = {c: _integer(df, c, check) for c in ("run_date", "run_time", "run_duration",
                                                "run_status")}
    df = df.with_columns(*(s.alias("__" + c) for c, s in ints.items()))
    for c in ints:
        check.fail(df, pl.col("__" + c).is_null(), c, "is missing")
    d = pl.col("__run_date")
    df = df.with_columns(pl.when((d >= 10000101) & (d <= 99991231))
                         .then(d.cast(pl.String).str.strptime(pl.Date, "%Y%m%d", strict=False))
                         .alias("__batch"))
    check.fail(df, pl.col("__batch").is_null(), "run_date", "must be a date yyyymmdd")
    hh, mm, ss = _hhmmss(pl.col("__run_time"))
    check.fail(df, (pl.col("__run_time") < 0) | (hh > 23) | (mm > 59) | (ss > 59), "run_time",
               "must be a time of day HHMMSS (0 to 235959)")
    dur = pl.col("__run_duration")
    check.fail(df, dur < 0, "run_duration", "must be >= 0 (a negative duration)")
    dh, dm, ds = _hhmmss(dur)
    check.fail(df, (dm > 59) | (ds > 59), "run_duration", "must be a duration HHMMSS")
    check.fail(df, dh * 60 > MAX_MINUTES, "run_duration",
               f"gives a duration above {MAX_MINUTES:,.0f} minutes")
    code = pl.col("__run_status")
    check.fail(df, ~code.is_in(list(SQLSERVER_STATUS)), "run_status",
               "must be 0 to 4 (failed, succeeded, retry, canceled, in progress)")
    seconds = (hh * 3600 + mm * 60 + ss)
    start = pl.col("__batch").cast(pl.Datetime("us")).dt.replace_time_zone("UTC") \
        + pl.duration(seconds=seconds)
    status = code.replace_strict(SQLSERVER_STATUS, return_dtype=pl.String, default=None)
    df = df.with_columns(
        start.alias("__start"),
        (start + pl.duration(seconds=dh * 3600 + dm * 60 + ds)).alias("__finish"),
        pl.lit(None, pl.Float64).alias("__dur"),
        pl.lit(None, UTC).alias("__ready"),
        status.alias("__status"),
        (code == 1).alias("__success"),
        _text(df, "workload_class").alias("__class"),
        pl.lit(None, pl.String).alias("__window"),
    )
    cols = {"start": "run_time", "finish": "run_duration", "duration": "run_duration",
            "duration_scale": 1.0, "estimate": None, "attempt": None}
    return df, cols


def _complete(df: pl.DataFrame, cols: dict, check: _Checker, layout: str,
              source: str) -> pl.DataFrame:
    """Durations, the checks every layout shares, and the output columns."""
    start_col, finish_col, dur_col = cols["start"], cols["finish"], cols["duration"]
    both = pl.col("__start").is_not_null() & pl.col("__finish").is_not_null()
    check.fail(df, both & (pl.col("__finish") < pl.col("__start")), finish_col,
               f"is before {start_col} (a run cannot end before it starts)")
    check.fail(df, pl.col("__dur") < 0, dur_col, "must be >= 0 (a negative duration)")
    from_times = (pl.col("__finish") - pl.col("__start")).dt.total_microseconds() / 60e6
    df = df.with_columns(pl.when(both).then(from_times)
                         .otherwise(pl.col("__dur") * cols["duration_scale"])
                         .alias("__minutes"))
    too_long = f"gives a duration above {MAX_MINUTES:,.0f} minutes"
    check.fail(df, both & (pl.col("__minutes") > MAX_MINUTES), finish_col, too_long)
    check.fail(df, ~both & (pl.col("__minutes") > MAX_MINUTES), dur_col, too_long)
    lacking = pl.col("__success") & pl.col("__minutes").is_null()
    if start_col in df.columns:
        check.fail(df, lacking & pl.col("__start").is_null(), start_col, _NO_DURATION)
    if finish_col in df.columns:
        check.fail(df, lacking & pl.col("__finish").is_null(), finish_col, _NO_DURATION)
    if dur_col in df.columns:
        check.fail(df, lacking, dur_col, _NO_DURATION)
    if "__window" in df.columns:
        check.fail(df, pl.col("__window").is_not_null()
                   & ~pl.col("__window").str.contains(_HHMM_RE), "requested_window",
                   "must be HH:MM (00:00 to 23:59)")
    est_col = cols["estimate"]
    if est_col is not None and est_col in df.columns:
        est = _number(df, est_col, check)
        df = df.with_columns(est.alias("__est"))
        check.fail(df, pl.col("__est") <= 0, est_col, "must be a number > 0")
    else:
        df = df.with_columns(pl.lit(None, pl.Float64).alias("__est"))
    att_col = cols["attempt"]
    if att_col is not None:
        att = _integer(df, att_col, check)
        df = df.with_columns(att.alias("__attempt"))
        check.fail(df, pl.col("__attempt") < 0, att_col, "must be an integer >= 0")
    else:
        df = df.with_columns(pl.lit(None, pl.Int64).alias("__attempt"))
    out = df.select(
        pl.col(_JOB).alias("job_name"),
        pl.col("__batch").alias("batch_date"),
        pl.col("__class").alias("workload_class"),
        pl.col("__start").alias("started_at"),
        pl.col("__finish").alias("finished_at"),
        pl.col("__minutes").alias("duration_minutes"),
        pl.col("__ready").alias("ready_at"),
        pl.col("__window").alias("requested_window"),
        pl.col("__est").alias("estimated_runtime_minutes"),
        pl.col("__status").alias("status"),
        pl.col("__success").alias("success"),
        pl.col("__attempt").alias("attempt"),
        pl.lit(layout).alias("layout"),
        pl.lit(source).alias("source"),
        pl.col(_ROW).cast(pl.Int64).alias("source_row"),
    )
    return out.cast(HISTORY_SCHEMA)  # type: ignore[arg-type]


# ---------------------------------------------------------------- public API
def sample_history_path() -> Path:
    """The shipped history of the built-in sample's jobs (90 nights, generic layout; written by
    scripts/make_history.py)."""
    return Path(str(files("mcqueue") / "data" / "sample_history.csv.gz"))


def empty_history() -> pl.DataFrame:
    """A history frame with no runs (the schema of `normalise_history`'s result)."""
    return pl.DataFrame(schema=HISTORY_SCHEMA)


def normalise_history(raw: pl.DataFrame, layout: str | None = None,
                      source: str = "input") -> pl.DataFrame:
    """One raw frame (any layout) -> the normalised history frame.

    Columns of the result (`HISTORY_SCHEMA`): job_name, batch_date (Date), workload_class,
    started_at / finished_at (Datetime UTC, null when the layout has none), duration_minutes
    (null only for unsuccessful runs without times), ready_at, requested_window,
    estimated_runtime_minutes, status (as written; SQL Server's codes as names), success,
    attempt, layout, source (the file), source_row (1-based row in the file). Rows keep file order.
    """
    check = _Checker(source)
    df = _lower_columns(raw, source)
    if layout is None:
        layout = detect_layout(df.columns, source)
    else:
        _check_layout(df.columns, layout, source)
    df = df.with_row_index(_ROW, offset=1)
    if layout == "airflow":
        df, cols = _airflow(df, check)
    elif layout == "sqlserver":
        df, cols = _sqlserver(df, check)
    else:
        df, cols = _generic(df, check, catalog=layout == "dynamodb")
    return _complete(df, cols, check, layout, source)


def read_history(paths: str | os.PathLike | Sequence[str | os.PathLike],
                 layout: str | None = None) -> pl.DataFrame:
    """Read history files (any format `read_jobs` reads, any layout) into one normalised frame.

    Each file's layout is detected from its columns unless ``layout`` names one for all of them.
    Rows keep the files' order; ``source`` and ``source_row`` say where each came from.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise DataError("no history file given")
    frames = [normalise_history(read_jobs(p), layout, str(Path(p))) for p in paths]
    return pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
