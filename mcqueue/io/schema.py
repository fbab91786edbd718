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

from ..engine.perturbation import MAX_RUNTIME_CV
from ..errors import DataError, plain, quote
from ..engine.night import (DEFAULT_BATCH_END, DEFAULT_BATCH_START,  # noqa: F401
                            HHMM_PATTERN as _HHMM, MAX_MINUTES, MINUTES_PER_DAY, Night,
                            MAX_SLOTS, _split as split_names, horizon_minutes,
                            night_features, parse_hhmm)

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
                   "runtime_cv", "depends_on", "deadline", "slots", "locks", "started_at",
                   "finished_at")
# issue 15: a running or completed job's times (HH:MM on the night's clock or ISO-8601 with an
# offset), kept as text and read only with a re-forecast time (--now): `mcqueue.io.snapshot`
SNAPSHOT_FIELDS = ("started_at", "finished_at")
# issues 12 and 13: the fields of the general event loop; a column that holds nothing for a
# night leaves that night exactly as it is without the field
FEATURE_FIELDS = ("depends_on", "deadline", "slots", "locks")
# the only fields whose values may be lists (of strings); their string form is ';'-separated
LIST_FIELDS = ("depends_on", "locks")
LIST_KIND = "list of strings"
ALL_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS

# ONE table of the column types each field accepts (kinds, see ``column_kind``); any other type
# (a list where a scalar belongs, a struct, a duration, binary, ...) is a DataError naming the
# column and its type. The list-valued fields depends_on and locks (issues 12/13) accept a list
# of strings (LIST_KIND) or one ';'-separated string; a list is refused everywhere else.
FIELD_TYPES: dict[str, frozenset[str]] = {
    "batch_date": frozenset({"string", "date"}),
    "job_id": frozenset({"string", "integer"}),
    "requested_window": frozenset({"string"}),
    "workload_class": frozenset({"string"}),
    "estimated_runtime_minutes": frozenset({"string", "integer", "float", "decimal"}),
    "priority": frozenset({"string", "integer", "float", "decimal"}),
    "requires_exclusive_lock": frozenset({"string", "boolean", "integer", "float", "decimal"}),
    "window_job_id": frozenset({"string"}),
    "submitted_at": frozenset({"string", "date", "datetime"}),
    "status": frozenset({"string"}),
    "arrival_minute": frozenset({"string", "integer", "float", "decimal"}),
    "job_name": frozenset({"string", "integer"}),
    "runtime_cv": frozenset({"string", "integer", "float", "decimal"}),
    "depends_on": frozenset({"string", LIST_KIND}),
    "deadline": frozenset({"string", "integer", "float", "decimal"}),
    "slots": frozenset({"string", "integer", "float", "decimal"}),
    "locks": frozenset({"string", LIST_KIND}),
    "started_at": frozenset({"string", "datetime"}),
    "finished_at": frozenset({"string", "datetime"}),
}
# a column holding nothing but nulls is accepted for any field (it is a missing value)
_ALWAYS = frozenset({"null"})


def column_kind(dtype: pl.DataType) -> str:
    """The kind of a polars column type, as FIELD_TYPES names it."""
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, (pl.Categorical, pl.Enum)):
        return "string"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "float"
    if isinstance(dtype, pl.Decimal):
        return "decimal"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Null:
        return "null"
    if isinstance(dtype, (pl.List, pl.Array)):
        inner = column_kind(dtype.inner)  # type: ignore[arg-type]
        return LIST_KIND if inner in ("string", "null") else f"list of {inner}"
    if isinstance(dtype, pl.Struct):
        return "struct"
    if isinstance(dtype, pl.Duration):
        return "duration"
    if dtype == pl.Binary:
        return "binary"
    if dtype == pl.Time:
        return "time"
    return str(dtype).lower()


def value_kind(value: Any) -> str:
    """The kind of one Python value of a record (dicts from JSON, DynamoDB, tests)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, np.integer)):
        return "integer"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, Decimal):
        return "decimal"
    if isinstance(value, str):
        return "string"
    if isinstance(value, _dt.datetime):
        return "datetime"
    if isinstance(value, _dt.date):
        return "date"
    if isinstance(value, (list, tuple, set, frozenset)):
        kinds = {value_kind(v) for v in value}
        if kinds <= {"string"}:
            return LIST_KIND
        return f"list of {kinds.pop()}" if len(kinds) == 1 else "list of mixed types"
    if isinstance(value, Mapping):
        return "struct"
    if isinstance(value, _dt.timedelta):
        return "duration"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "binary"
    return type(value).__name__


def _type_error(field_name: str, kind: str, where: str = "") -> DataError:
    accepted = ", ".join(sorted(FIELD_TYPES[field_name]))
    return DataError(f"{where}field {quote(field_name)} has type {kind}; it accepts "
                     f"{accepted}")


def check_column_types(df: pl.DataFrame) -> None:
    """DataError for the first known field whose column type is not in FIELD_TYPES."""
    for name, dtype in df.schema.items():
        if name in FIELD_TYPES:
            kind = column_kind(dtype)
            if kind not in FIELD_TYPES[name] and kind not in _ALWAYS:
                raise _type_error(name, kind, "column ")


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


def frame_from_records(records: Iterable[Mapping[str, Any]], native: bool = False
                       ) -> pl.DataFrame:
    """Dicts (DynamoDB resource items with Decimal numbers, plain dicts) -> a raw frame.

    Every value becomes its string form, so the one validation path below parses numbers,
    booleans (True, 1, "true") and Decimals alike and quotes bad values as the user wrote them.
    With ``native`` (JSON files), a column whose values are all integers, all numbers, all
    booleans or all strings keeps that type instead. A value of a known field whose type
    FIELD_TYPES does not accept (a list, a dict, bytes, a duration) is a DataError naming the
    row, the field and the type.
    """
    records = list(records)
    columns: dict[str, list] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise DataError(f"row {i + 1}: a job record must be an object of fields, got "
                            f"{value_kind(rec)} {quote(rec)}")
        for k in rec:
            if not isinstance(k, str):
                raise DataError(f"row {i + 1}: field names must be strings, got {quote(k)}")
            if k not in columns:
                columns[k] = [None] * i
        for k, col in columns.items():
            v = rec.get(k)
            if k in FIELD_TYPES and v is not None:
                kind = value_kind(v)
                if kind not in FIELD_TYPES[k]:
                    raise _type_error(k, kind, f"row {i + 1}: ")
            col.append(v)
    if not columns:  # records without a single field: nothing to read
        return pl.DataFrame()
    return pl.DataFrame([_column(k, v, native) for k, v in columns.items()],
                        height=len(records))


def list_cell(value: Any) -> list[str] | None:
    """A value of a list field as the list it stands for: None stays None, a string is split
    at ';' (whitespace around names stripped, empty entries dropped), a list of strings is kept
    as given (``night_features`` refuses its empty names). Other values are refused before
    (FIELD_TYPES)."""
    if value is None:
        return None
    if isinstance(value, str):
        return split_names(value)
    return list(value)


def _column(name: str, values: list, native: bool) -> pl.Series:
    if name in LIST_FIELDS and any(isinstance(v, (list, tuple, set, frozenset))
                                   for v in values):
        # a list anywhere in the column: every value as its list (strings split at ';')
        return pl.Series(name, [list_cell(v) for v in values], dtype=pl.List(pl.String))
    if native:
        kinds = {value_kind(v) for v in values if v is not None}
        dtype: Any = None
        if kinds == {"integer"} and all(-2**63 <= v < 2**63 for v in values if v is not None):
            dtype = pl.Int64
        elif kinds and kinds <= {"integer", "float"} and all(
                abs(v) < 2**1023 for v in values if v is not None):
            dtype = pl.Float64
            values = [None if v is None else float(v) for v in values]
        elif kinds == {"boolean"}:
            dtype = pl.Boolean
        elif kinds == {"string"}:
            dtype = pl.String
        if dtype is not None:
            return pl.Series(name, values, dtype=dtype)
    return pl.Series(name, [_stringify(v) for v in values], dtype=pl.String)


def _fail(df: pl.DataFrame, mask: pl.Expr, field_name: str, problem: str) -> None:
    bad = df.filter(mask).head(1)
    if bad.height == 0:
        return
    row = bad[_ROW][0]
    job = bad["job_id"][0] if "job_id" in bad.columns else None
    value = bad[field_name][0]
    who = f"row {row}" + (f" (job_id {plain(job)})" if job not in (None, "") else "")
    shown = "None" if value is None else quote(value)
    raise DataError(f"{who}: field '{field_name}' {problem}, got {shown}")


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
    Float64 arrival_minute with nulls) plus ``__row`` (1-based input position); the optional
    fields only when the input has them: ``job_name`` (String), ``runtime_cv`` (Float64),
    ``depends_on`` and ``locks`` (List(String); a ';'-string split), ``deadline`` (an HH:MM
    String) and ``slots`` (Int64), the last four checked night by night through the engine's
    ``night_features`` (a predecessor not in its night, a self-dependency, a repeated id, a
    cycle, an empty name, a malformed deadline, bad slots).
    Raises DataError for the first bad record, naming row, job_id, field and value.
    """
    df = data if isinstance(data, pl.DataFrame) else frame_from_records(data)
    check_column_types(df)
    df = df.with_row_index(_ROW, offset=1)
    missing_cols = [f for f in REQUIRED_FIELDS if f not in df.columns]
    if "requested_window" in missing_cols and "arrival_minute" in df.columns:
        missing_cols.remove("requested_window")
        df = df.with_columns(pl.lit(None, pl.String).alias("requested_window"))
    if missing_cols:
        names = [c for c in df.columns if c != _ROW]
        present = ", ".join(plain(c, 40) for c in names[:20]) + (" ..." if len(names) > 20
                                                                 else "")
        raise DataError(
            f"missing field '{missing_cols[0]}' in every record (fields present: "
            f"{present or 'none'})"
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
            f"{dup['batch_date'][0]}, got {quote(dup['job_id'][0])}"
        )

    df = _feature_columns(df)  # issues 12 and 13: columns only when present
    feature_columns = [f for f in FEATURE_FIELDS if "__" + f in df.columns]
    df = df.with_columns(_snapshot_times(df))  # issue 15: columns only when present
    snapshot_columns = [f for f in SNAPSHOT_FIELDS if "__" + f in df.columns]

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
        *(pl.col("__" + f).alias(f) for f in feature_columns),
        *(pl.col("__" + f).alias(f) for f in snapshot_columns),
    )


def _snapshot_times(df: pl.DataFrame) -> list[pl.Series]:
    """``started_at`` and ``finished_at`` (issue 15) as text, only when present: strings
    stripped (blank: null), native datetimes as ISO-8601 (with their offset when they have a
    time zone, without one when naive). They are parsed, per night and against its clock, only
    by a re-forecast (``mcqueue.io.snapshot``): without --now they are informational."""
    out = []
    for name in SNAPSHOT_FIELDS:
        if name not in df.columns:
            continue
        col = df[name]
        if isinstance(col.dtype, pl.Datetime):
            fmt = "%Y-%m-%dT%H:%M:%S%.f" + ("%:z" if col.dtype.time_zone else "")
            text = col.dt.to_string(fmt)
        else:
            text = col.cast(pl.String, strict=False).str.strip_chars()
            text = pl.select(pl.when(text == "").then(None).otherwise(text)).to_series()
        out.append(text.alias("__" + name))
    return out


def _as_name_lists(df: pl.DataFrame, name: str) -> pl.Series:
    """A list field as List(String): a string split at ';' (whitespace around each name
    stripped, empty entries dropped), a list column as it is (its empty names are refused
    later, by ``night_features``), null where the record has no value."""
    col = df[name]
    if isinstance(col.dtype, (pl.List, pl.Array)):
        return col.cast(pl.List(pl.String)).alias(name)
    if col.dtype == pl.Null:
        return pl.Series(name, [None] * df.height, dtype=pl.List(pl.String))
    text = col.cast(pl.String, strict=False)
    return (text.str.split(";").list.eval(pl.element().str.strip_chars())
            .list.eval(pl.element().filter(pl.element() != "")).alias(name))


def _feature_columns(df: pl.DataFrame) -> pl.DataFrame:
    """The optional fields of issues 12 and 13, checked and normalised as ``__``-prefixed
    columns (only those present): ``depends_on`` and ``locks`` List(String), ``deadline`` an
    HH:MM string (null: the cutoff), ``slots`` Int64 (null: 1). Row-level checks here; then
    every night is passed through the engine's ``night_features`` with the rows numbered as in
    the input, so a predecessor not in its night, a self-dependency, a repeated id, a cycle or
    an empty lock name is one error naming the row, the job_id and the value."""
    present = [f for f in FEATURE_FIELDS if f in df.columns]
    if not present:
        return df
    for name in LIST_FIELDS:
        if name in present:
            df = df.with_columns(_as_name_lists(df, name).alias("__" + name))
    if "deadline" in present:
        text = pl.col("deadline").cast(pl.String, strict=False).str.strip_chars()
        df = df.with_columns(pl.when(text == "").then(None).otherwise(text).alias("__deadline"))
        _fail(df, pl.col("__deadline").is_not_null()
              & ~pl.col("__deadline").str.contains(_HHMM.pattern),
              "deadline", "must be HH:MM (00:00 to 23:59)")
    if "slots" in present:
        slots = _as_float(df, "slots")
        tmp = df.with_columns(slots.alias("__slots_f"))
        given = pl.col("slots").is_not_null() & (
            pl.col("slots").cast(pl.String, strict=False).str.strip_chars() != "")
        v = pl.col("__slots_f")
        _fail(tmp, given & (v.is_null() | ~v.is_finite() | (v != v.floor()) | (v < 1)
                            | (v > MAX_SLOTS)), "slots", "must be an integer >= 1")
        df = df.with_columns(slots.cast(pl.Int64).alias("__slots"))
    _check_nights(df, present)
    return df


def _check_nights(df: pl.DataFrame, present: list[str]) -> None:
    """``night_features`` on every night of the frame (nights in the order of their first
    row, jobs in input order), for its errors."""
    rows = df[_ROW].to_list()
    ids = df["job_id"].to_list()
    cols = {f: df["__" + f].to_list() for f in present}
    by_date: dict[str, list[int]] = {}
    for i, d in enumerate(df["batch_date"].to_list()):
        by_date.setdefault(d, []).append(i)
    for idx in by_date.values():
        def pick(f: str) -> list | None:
            return [cols[f][i] for i in idx] if f in cols else None

        night_features([ids[i] for i in idx], depends_on=pick("depends_on"),
                       deadline=pick("deadline"), slots=pick("slots"), locks=pick("locks"),
                       rows=[rows[i] for i in idx])


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
                      dates: Sequence[str] | None = None,
                      outside: dict[str, int] | None = None) -> list[Night]:
    """Every night (or the given dates) of a validated frame, in the order of ``dates`` (default:
    every date present, sorted), optionally only the jobs of one requested ``window``.

    One sort and one arrival expression over the whole frame, then numpy slices per date
    (per-date polars calls cost about 2 ms each, 2 s for 1,000 nights). A date with no job in
    ``window`` gives an empty night; a date absent from the frame is a DataError listing the
    dates present.

    The optional fields of issues 12 and 13 (``depends_on``, ``deadline``, ``slots``,
    ``locks``) go through the engine's ``night_features`` (rows numbered as in the input); a
    night in which a field holds nothing gets no such column. With ``window``, a predecessor
    in another window of the same night counts as finished at the batch start: pass a dict as
    ``outside`` to receive, per batch_date, how many such predecessor jobs were dropped.
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
        raise DataError(f"batch date {quote(missing[0])} has no jobs; dates present: "
                        f"{listing or 'none'}")
    jobs = validated.filter(pl.col("batch_date").is_in(wanted))
    others: dict[str, set[str]] = {}
    if window is not None:
        if "depends_on" in jobs.columns:  # the jobs of other windows, by night
            for d, j in jobs.filter(pl.col("requested_window").ne_missing(window)).select(
                    "batch_date", "job_id").iter_rows():
                others.setdefault(d, set()).add(j)
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
    feature_cols = {f: jobs[f].to_list() for f in FEATURE_FIELDS if f in jobs.columns}
    rows = jobs[_ROW].to_list() if feature_cols and _ROW in jobs.columns else None
    bounds: dict[str, tuple[int, int]] = {}
    lo = 0
    for i in range(1, len(day) + 1):
        if i == len(day) or day[i] != day[lo]:
            bounds[day[lo]] = (lo, i)
            lo = i
    nights = []
    for d in wanted:
        a, b = bounds.get(d, (0, 0))
        features = _night_features(feature_cols, a, b, job_id, rows, batch_start,
                                   others.get(d, set()), outside, d)
        nights.append(Night(batch_date=d, job_id=tuple(job_id[a:b]),
                            workload_class=tuple(wclass[a:b]),
                            arrival_minute=arrival[a:b].copy(),
                            runtime_minutes=runtime[a:b].copy(),
                            priority=priority[a:b].copy(), exclusive=exclusive[a:b].copy(),
                            batch_start=batch_start, batch_end=batch_end, window=window,
                            requested_window=tuple(reqw[a:b]),
                            job_name=tuple(names[a:b]) if names is not None else (),
                            runtime_cv=cvs[a:b].copy() if cvs is not None else None,
                            **features))
    return nights


def _night_features(cols: dict[str, list], a: int, b: int, job_id: list[str],
                    rows: list[int] | None, batch_start: str, others: set[str],
                    outside: dict[str, int] | None, batch_date: str) -> dict[str, Any]:
    """The Night columns of jobs a..b (canonical order) from the validated feature columns:
    only the fields holding something in this night."""
    def given(f: str) -> list | None:
        if f not in cols:
            return None
        part = cols[f][a:b]
        if f in LIST_FIELDS:
            return part if any(part) else None  # some job names a predecessor / a lock
        return part if any(v is not None for v in part) else None

    depends_on, locks = given("depends_on"), given("locks")
    deadline, slots = given("deadline"), given("slots")
    if depends_on is None and locks is None and deadline is None and slots is None:
        return {}
    named = {p for preds in depends_on or () for p in preds or () if p in others}
    features = night_features(job_id[a:b], depends_on=depends_on, deadline=deadline,
                              slots=slots, locks=locks, batch_start=batch_start,
                              outside=others, rows=rows[a:b] if rows is not None else None)
    if outside is not None and named:
        outside[batch_date] = len(named)
    return features.permuted(range(b - a))


def night_from_frame(jobs: pl.DataFrame, batch_date: str, window: str | None = None,
                     batch_start: str = DEFAULT_BATCH_START,
                     batch_end: str = DEFAULT_BATCH_END,
                     outside: dict[str, int] | None = None) -> Night:
    """Select one night (and optionally one requested window) of a validated frame
    (``outside``: as in ``nights_from_frame``)."""
    return nights_from_frame(jobs, window, batch_start, batch_end, [batch_date], outside)[0]


def load_night(data: pl.DataFrame | Iterable[Mapping[str, Any]], batch_date: str,
               window: str | None = None, batch_start: str = DEFAULT_BATCH_START,
               batch_end: str = DEFAULT_BATCH_END) -> Night:
    """Validate records and select one night: the usual entry point."""
    return night_from_frame(validate_jobs(data), batch_date, window, batch_start, batch_end)
