"""Job records -> validated columns -> one night the kernel can replay.

Rows arrive as a polars DataFrame (files, DynamoDB pages) or as dicts (boto3 resources, tests).
Every check is vectorised with polars and reports the first offending record as
``row N (job_id X): field 'F' ...: 'value'``, rows counted from 1 in input order (a CSV's header
is not a row).
"""

from __future__ import annotations

import datetime as _dt
import math
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import polars as pl

from ..errors import DataError
from ..engine.perturbation import MAX_RUNTIME_CV
from ..engine.night import (DEFAULT_BATCH_END, DEFAULT_BATCH_START,  # noqa: F401
                            HHMM_PATTERN as _HHMM, MAX_MINUTES, MINUTES_PER_DAY, Night,
                            horizon_minutes, parse_hhmm)

REQUIRED_FIELDS = (
    "batch_date",
    "job_id",
    "requested_window",
    "workload_class",
    "estimated_runtime_minutes",
    "priority",
    "requires_exclusive_lock",
)
OPTIONAL_FIELDS = ("window_job_id", "submitted_at", "status", "arrival_minute", "job_name",
                   "runtime_cv")
ALL_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS

_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_ROW = "__row"


def _stringify(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, (Decimal, int, float, str)):
        return str(v)
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()
    return repr(v)


def frame_from_records(records: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Dicts (DynamoDB resource items with Decimal numbers, plain dicts) -> an all-string frame.

    Every value becomes its string form, so the one validation path below parses numbers,
    booleans (True, 1, "true") and Decimals alike and quotes bad values as the user wrote them.
    """
    records = list(records)
    columns: dict[str, list] = {}
    for i, rec in enumerate(records):
        for k in rec:
            if k not in columns:
                columns[k] = [None] * i
        for k, col in columns.items():
            col.append(_stringify(rec.get(k)))
    return pl.DataFrame({k: pl.Series(k, v, dtype=pl.String) for k, v in columns.items()},
                        height=len(records))


def _fail(df: pl.DataFrame, mask: pl.Expr, field_name: str, problem: str) -> None:
    bad = df.filter(mask).head(1)
    if bad.height == 0:
        return
    row = bad[_ROW][0]
    job = bad["job_id"][0] if "job_id" in bad.columns else None
    value = bad[field_name][0]
    who = f"row {row}" + (f" (job_id {job})" if job not in (None, "") else "")
    raise DataError(f"{who}: field '{field_name}' {problem}, got {value!r}")


def _as_float(df: pl.DataFrame, name: str) -> pl.Series:
    col = df[name]
    if col.dtype == pl.String:
        return col.str.strip_chars().cast(pl.Float64, strict=False)
    if col.dtype == pl.Boolean:
        return pl.Series(name, [None] * df.height, dtype=pl.Float64)
    if col.dtype.is_numeric():
        return col.cast(pl.Float64, strict=False)
    return pl.Series(name, [None] * df.height, dtype=pl.Float64)


def _as_bool(df: pl.DataFrame, name: str) -> pl.Series:
    col = df[name]
    if col.dtype == pl.Boolean:
        return col
    if col.dtype.is_numeric():
        f = col.cast(pl.Float64, strict=False)
        return pl.select(
            pl.when(f == 1).then(True).when(f == 0).then(False).otherwise(None).alias(name)
        ).to_series()
    s = col.cast(pl.String, strict=False).str.strip_chars().str.to_lowercase()
    return pl.select(
        pl.when(s.is_in(_TRUE)).then(True).when(s.is_in(_FALSE)).then(False)
        .otherwise(None).alias(name)
    ).to_series()


def validate_jobs(data: pl.DataFrame | Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Check every record and return a normalised frame.

    Columns of the result: the ten fields (strings, Float64 runtime, Int64 priority, Boolean lock,
    Float64 arrival_minute with nulls) plus ``__row`` (1-based input position).
    Raises DataError for the first bad record, naming row, job_id, field and value.
    """
    df = data if isinstance(data, pl.DataFrame) else frame_from_records(data)
    df = df.with_row_index(_ROW, offset=1)
    missing_cols = [f for f in REQUIRED_FIELDS if f not in df.columns]
    if "requested_window" in missing_cols and "arrival_minute" in df.columns:
        missing_cols.remove("requested_window")
        df = df.with_columns(pl.lit(None, pl.String).alias("requested_window"))
    if missing_cols:
        present = ", ".join(c for c in df.columns if c != _ROW) or "none"
        raise DataError(
            f"missing field '{missing_cols[0]}' in every record (fields present: {present})"
        )
    for name in ("batch_date", "job_id", "workload_class", "requested_window",
                 "window_job_id", "submitted_at", "status"):
        if name in df.columns and df[name].dtype != pl.String:
            df = df.with_columns(pl.col(name).cast(pl.String, strict=False))
    has_arrival = "arrival_minute" in df.columns
    for name in REQUIRED_FIELDS:
        if name == "requested_window" and has_arrival:
            continue
        _fail(df, pl.col(name).is_null() | (pl.col(name).cast(pl.String) == ""), name,
              "is missing")

    # batch_date: a real calendar date written YYYY-MM-DD
    parsed = df["batch_date"].str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    _fail(df.with_columns(parsed.alias("__d")),
          pl.col("__d").is_null() | (pl.col("batch_date").str.len_chars() != 10),
          "batch_date", "must be a date YYYY-MM-DD")

    runtime = _as_float(df, "estimated_runtime_minutes")
    df = df.with_columns(runtime.alias("__runtime"))
    _fail(df, pl.col("__runtime").is_null(), "estimated_runtime_minutes", "must be a number")
    _fail(df, ~pl.col("__runtime").is_finite() | (pl.col("__runtime") <= 0),
          "estimated_runtime_minutes", "must be a finite number > 0")
    _fail(df, pl.col("__runtime") > MAX_MINUTES, "estimated_runtime_minutes",
          f"must be at most {MAX_MINUTES:,.0f} minutes")

    prio = _as_float(df, "priority")
    df = df.with_columns(prio.alias("__prio"))
    _fail(df, pl.col("__prio").is_null() | ~pl.col("__prio").is_finite()
          | (pl.col("__prio") != pl.col("__prio").floor()) | (pl.col("__prio").abs() > 2**53),
          "priority", "must be an integer")

    lock = _as_bool(df, "requires_exclusive_lock")
    df = df.with_columns(lock.alias("__lock"))
    _fail(df, pl.col("__lock").is_null(), "requires_exclusive_lock",
          "must be true/false (or 1/0)")

    if has_arrival:
        arr = _as_float(df, "arrival_minute")
        df = df.with_columns(arr.alias("__arrival"))
        raw_present = pl.col("arrival_minute").is_not_null() & (
            pl.col("arrival_minute").cast(pl.String) != "")
        _fail(df, raw_present & pl.col("__arrival").is_null(), "arrival_minute",
              "must be a number")
        _fail(df, pl.col("__arrival").is_not_null()
              & (~pl.col("__arrival").is_finite() | (pl.col("__arrival") < 0)),
              "arrival_minute", "must be a finite number >= 0")
        _fail(df, pl.col("__arrival").is_not_null() & (pl.col("__arrival") > MAX_MINUTES),
              "arrival_minute", f"must be at most {MAX_MINUTES:,.0f} minutes")
        _fail(df, pl.col("__arrival").is_null() & pl.col("requested_window").is_null(),
              "requested_window", "is missing (and no arrival_minute is given)")
    else:
        df = df.with_columns(pl.lit(None, pl.Float64).alias("__arrival"))

    extra = _job_name_and_cv(df)  # issue 14's optional fields: columns only when present
    df = df.with_columns(extra)
    extra_columns = [c for c in ("__job_name", "__runtime_cv") if c in df.columns]

    _fail(df, pl.col("requested_window").is_not_null()
          & ~pl.col("requested_window").str.contains(_HHMM.pattern),
          "requested_window", "must be HH:MM (00:00 to 23:59)")

    if "window_job_id" in df.columns:
        expect = pl.concat_str([pl.col("requested_window"), pl.lit("#"), pl.col("job_id")])
        _fail(df, pl.col("window_job_id").is_not_null() & pl.col("requested_window").is_not_null()
              & (pl.col("window_job_id") != expect),
              "window_job_id", "must be '<requested_window>#<job_id>'")

    dup = df.filter(pl.struct("batch_date", "job_id").is_duplicated()).head(1)
    if dup.height:
        first = df.filter((pl.col("batch_date") == dup["batch_date"][0])
                          & (pl.col("job_id") == dup["job_id"][0]))[_ROW].to_list()
        raise DataError(
            f"row {first[1]}: field 'job_id' duplicates row {first[0]} in night "
            f"{dup['batch_date'][0]}, got {dup['job_id'][0]!r}"
        )

    if "window_job_id" not in df.columns:
        df = df.with_columns(pl.concat_str([pl.col("requested_window"), pl.lit("#"),
                                            pl.col("job_id")]).alias("window_job_id"))
    for name in ("submitted_at", "status"):
        if name not in df.columns:
            df = df.with_columns(pl.lit(None, pl.String).alias(name))
    return df.select(
        pl.col(_ROW), pl.col("batch_date"), pl.col("window_job_id"), pl.col("job_id"),
        pl.col("requested_window"), pl.col("submitted_at"), pl.col("workload_class"),
        pl.col("__runtime").alias("estimated_runtime_minutes"),
        pl.col("__prio").cast(pl.Int64).alias("priority"),
        pl.col("__lock").alias("requires_exclusive_lock"),
        pl.col("status"),
        pl.col("__arrival").alias("arrival_minute"),
        *(pl.col(c).alias(c[2:]) for c in extra_columns),
    )


def _job_name_and_cv(df: pl.DataFrame) -> list[pl.Expr | pl.Series]:
    """``job_name`` (text; missing or blank: the record's job_id) and ``runtime_cv`` (a number
    0 .. MAX_RUNTIME_CV; missing: null, the class or global cv applies), each only when its
    column is present, as ``__``-prefixed columns to select (so absent fields add nothing)."""
    out: list[pl.Expr | pl.Series] = []
    if "job_name" in df.columns:
        name = pl.col("job_name").cast(pl.String, strict=False).str.strip_chars()
        out.append(pl.when(name.is_null() | (name == "")).then(pl.col("job_id"))
                   .otherwise(name).alias("__job_name"))
    if "runtime_cv" in df.columns:
        cv = _as_float(df, "runtime_cv")
        tmp = df.with_columns(cv.alias("__cv"))
        given = pl.col("runtime_cv").is_not_null() & (
            pl.col("runtime_cv").cast(pl.String).str.strip_chars() != "")
        _fail(tmp, given & pl.col("__cv").is_null(), "runtime_cv", "must be a number")
        _fail(tmp, pl.col("__cv").is_not_null() & (~pl.col("__cv").is_finite()
                                                    | (pl.col("__cv") < 0)),
              "runtime_cv", "must be a finite number >= 0")
        _fail(tmp, pl.col("__cv") > MAX_RUNTIME_CV, "runtime_cv",
              f"must be at most {MAX_RUNTIME_CV:g}")
        out.append(cv.alias("__runtime_cv"))
    return out


def batch_dates(jobs: pl.DataFrame) -> list[str]:
    """Distinct nights in a validated frame, sorted."""
    return sorted(jobs["batch_date"].unique().to_list())


def nights_from_frame(validated: pl.DataFrame, window: str | None = None,
                      batch_start: str = DEFAULT_BATCH_START, batch_end: str = DEFAULT_BATCH_END,
                      dates: Sequence[str] | None = None) -> list[Night]:
    """Every night (or the given dates) of a validated frame, in the order of ``dates`` (default:
    every date present, sorted), optionally only the jobs of one requested ``window``.

    One sort and one arrival expression over the whole frame, then numpy slices per date
    (per-date polars calls cost about 2 ms each, 2 s for 1,000 nights). A date with no job in
    ``window`` gives an empty night; a date absent from the frame is a DataError listing the
    dates present.
    """
    s = parse_hhmm(batch_start, "batch start")
    e = parse_hhmm(batch_end, "batch end")
    if window is not None:
        parse_hhmm(window, "window")
    present = batch_dates(validated)
    wanted = list(dates) if dates is not None else present
    missing = sorted(set(wanted) - set(present))
    if missing:
        listing = ", ".join(present[:20]) + (" ..." if len(present) > 20 else "")
        raise DataError(f"batch date {missing[0]!r} has no jobs; dates present: "
                        f"{listing or 'none'}")
    jobs = validated.filter(pl.col("batch_date").is_in(wanted))
    if window is not None:
        jobs = jobs.filter(pl.col("requested_window") == window)
    jobs = jobs.sort(["batch_date", "job_id"])
    w = pl.col("requested_window")
    wmin = (w.str.slice(0, 2).cast(pl.Int64, strict=False) * 60
            + w.str.slice(3, 2).cast(pl.Int64, strict=False)).cast(pl.Float64)
    # a window before the start: the next day when the batch crosses midnight, else waiting
    late = pl.lit(float(MINUTES_PER_DAY - s)) + wmin if e <= s else pl.lit(0.0)
    jobs = jobs.with_columns(
        pl.col("arrival_minute").fill_null(pl.when(wmin < s).then(late).otherwise(wmin - s))
        .alias("__arrival"))
    day = jobs["batch_date"].to_list()
    job_id = jobs["job_id"].to_list()
    wclass = jobs["workload_class"].to_list()
    reqw = jobs["requested_window"].to_list()
    arrival = jobs["__arrival"].to_numpy().astype(np.float64, copy=True)
    runtime = jobs["estimated_runtime_minutes"].to_numpy().astype(np.float64, copy=True)
    priority = jobs["priority"].to_numpy().astype(np.int64, copy=True)
    exclusive = jobs["requires_exclusive_lock"].to_numpy().astype(bool, copy=True)
    names = jobs["job_name"].to_list() if "job_name" in jobs.columns else None
    cvs = (jobs["runtime_cv"].fill_null(np.nan).to_numpy().astype(np.float64, copy=True)
           if "runtime_cv" in jobs.columns else None)
    bounds: dict[str, tuple[int, int]] = {}
    lo = 0
    for i in range(1, len(day) + 1):
        if i == len(day) or day[i] != day[lo]:
            bounds[day[lo]] = (lo, i)
            lo = i
    nights = []
    for d in wanted:
        a, b = bounds.get(d, (0, 0))
        nights.append(Night(batch_date=d, job_id=tuple(job_id[a:b]),
                            workload_class=tuple(wclass[a:b]),
                            arrival_minute=arrival[a:b].copy(),
                            runtime_minutes=runtime[a:b].copy(),
                            priority=priority[a:b].copy(), exclusive=exclusive[a:b].copy(),
                            batch_start=batch_start, batch_end=batch_end, window=window,
                            requested_window=tuple(reqw[a:b]),
                            job_name=tuple(names[a:b]) if names is not None else (),
                            runtime_cv=cvs[a:b].copy() if cvs is not None else None))
    return nights


def night_from_frame(jobs: pl.DataFrame, batch_date: str, window: str | None = None,
                     batch_start: str = DEFAULT_BATCH_START,
                     batch_end: str = DEFAULT_BATCH_END) -> Night:
    """Select one night (and optionally one requested window) of a validated frame."""
    return nights_from_frame(jobs, window, batch_start, batch_end, [batch_date])[0]


def load_night(data: pl.DataFrame | Iterable[Mapping[str, Any]], batch_date: str,
               window: str | None = None, batch_start: str = DEFAULT_BATCH_START,
               batch_end: str = DEFAULT_BATCH_END) -> Night:
    """Validate records and select one night: the usual entry point."""
    return night_from_frame(validate_jobs(data), batch_date, window, batch_start, batch_end)
