"""Job files on disk <-> a raw polars frame (validation is `mcqueue.schema.validate_jobs`'s job).

Formats are chosen by extension; a trailing ``.gz`` is allowed on every text format:

| extension                         | format                                                   |
|-----------------------------------|----------------------------------------------------------|
| ``.csv``                          | CSV with a header row (read as strings)                  |
| ``.parquet``, ``.pq``             | Parquet (native types)                                   |
| ``.ndjson``, ``.jsonl``           | one JSON object per line                                 |
| ``.json``                         | a JSON array of objects                                  |
| ``.ddb.json``, ``.ddb.jsonl``     | DynamoDB JSON lines, as an S3 table export writes them:  |
|                                   | ``{"Item": {"job_id": {"S": "..."}, ...}}`` per line     |

A ``.json``/``.jsonl``/``.ndjson`` file whose first record is ``{"Item": {...}}`` is read as
DynamoDB JSON too, so the files of an S3 export (``<id>.json.gz``) load under their own names.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import DataError
from .schema import frame_from_records, validate_jobs

FORMATS = ("csv", "parquet", "ndjson", "json", "ddb")
_SUFFIXES = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "json",
}
SUPPORTED_EXTENSIONS = (".csv", ".parquet", ".pq", ".ndjson", ".jsonl", ".json", ".ddb.json",
                        ".ddb.jsonl", "(+ .gz on text formats)")


def detect_format(path: str | os.PathLike) -> tuple[str, bool]:
    """(format, gzipped) from the file name; DataError naming the file for anything else."""
    name = Path(path).name.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    stem, dot, ext = name.rpartition(".")
    fmt = _SUFFIXES.get("." + ext) if dot else None
    if fmt in ("json", "ndjson") and stem.endswith(".ddb"):
        fmt = "ddb"
    if fmt is None or (gz and fmt == "parquet"):
        raise DataError(
            f"unsupported file type {str(path)!r}: use .csv, .parquet, .ndjson/.jsonl, .json "
            f"or .ddb.json (DynamoDB JSON lines); .gz is allowed on text formats")
    return fmt, gz


def _read_bytes(path: Path, gz: bool) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    if gz or raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"cannot read {str(path)!r}: not a valid gzip file ({exc})") from None
    return raw


def _first_record(text: str) -> Any:
    line = text.lstrip().split("\n", 1)[0]
    try:
        return json.loads(line)
    except ValueError:
        return None


def _is_ddb_record(rec: Any) -> bool:
    return isinstance(rec, dict) and set(rec) == {"Item"} and isinstance(rec["Item"], dict)


def _ddb_value(value: Any, field: str, where: str) -> Any:
    """One DynamoDB attribute value ({"S": ...}, {"N": ...}, ...) -> a plain value."""
    if isinstance(value, dict) and len(value) == 1:
        (kind, v), = value.items()
        if kind in ("S", "N"):
            return v
        if kind == "BOOL":
            return bool(v)
        if kind == "NULL":
            return None
        raise DataError(f"{where}: field {field!r} has DynamoDB type {kind!r}; "
                        f"job records use S, N, BOOL or NULL")
    raise DataError(f"{where}: field {field!r} is not a DynamoDB attribute value "
                    f"like {{\"S\": \"...\"}}, got {value!r}")


def parse_dynamodb_json(text: str, name: str = "input") -> pl.DataFrame:
    """DynamoDB JSON lines (S3 export format) -> an all-string frame."""
    records = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{name!r} line {i}: not valid JSON ({exc.msg})") from None
        if not _is_ddb_record(rec):
            raise DataError(f"{name!r} line {i}: expected a DynamoDB item "
                            f"{{\"Item\": {{...}}}}, got {line.strip()[:60]!r}")
        where = f"{name!r} line {i}"
        records.append({k: _ddb_value(v, k, where) for k, v in rec["Item"].items()})
    return frame_from_records(records)


def read_jobs(path: str | os.PathLike) -> pl.DataFrame:
    """Read a job file into a raw polars frame (strings or native types, not validated)."""
    path = Path(path)
    fmt, gz = detect_format(path)
    if fmt == "parquet":
        try:
            return pl.read_parquet(path)
        except OSError as exc:
            raise DataError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
        except Exception as exc:  # polars raises its own exception types for corrupt files
            raise DataError(f"cannot read {str(path)!r} as Parquet: "
                            f"{_first_line(exc)}") from None
    raw = _read_bytes(path, gz)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot read {str(path)!r}: not UTF-8 text ({exc.reason} at byte "
                        f"{exc.start})") from None
    if not text.strip():
        raise DataError(f"{str(path)!r} is empty")
    if fmt in ("json", "ndjson") and not text.lstrip().startswith("["):
        if _is_ddb_record(_first_record(text)):
            fmt = "ddb"
        elif fmt == "json":
            fmt = "ndjson"  # one object per line under a .json name: read it as such
    if fmt == "ddb":
        return parse_dynamodb_json(text, str(path))
    kind = {"csv": "CSV", "ndjson": "NDJSON", "json": "a JSON array of objects"}[fmt]
    try:
        if fmt == "csv":
            return pl.read_csv(io.StringIO(text), infer_schema=False)
        if fmt == "ndjson":
            return pl.read_ndjson(io.StringIO(text), infer_schema_length=None)
        return pl.read_json(io.StringIO(text), infer_schema_length=None)
    except Exception as exc:  # polars' ComputeError, SchemaError, ...: a bad file, not a bug
        raise DataError(f"cannot read {str(path)!r} as {kind}: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ---------------------------------------------------------------- writing
def typed_frame(raw: pl.DataFrame) -> pl.DataFrame:
    """The records with native types (integral runtimes as integers), in the file field order."""
    jobs = validate_jobs(raw)
    runtime = jobs["estimated_runtime_minutes"]
    if (runtime == runtime.floor()).all():
        runtime = runtime.cast(pl.Int64)
    out = jobs.with_columns(runtime.alias("estimated_runtime_minutes"))
    cols = [c for c in ("batch_date", "window_job_id", "job_id", "requested_window",
                        "submitted_at", "workload_class", "estimated_runtime_minutes",
                        "priority", "requires_exclusive_lock", "status", "arrival_minute",
                        "job_name", "runtime_cv")
            if c in out.columns and not (
                c in ("submitted_at", "status", "arrival_minute", "runtime_cv")
                and out[c].null_count() == out.height)]
    return out.select(cols)


def _ddb_attr(value: Any) -> dict:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    return {"S": str(value)}


def dynamodb_json_lines(frame: pl.DataFrame) -> str:
    """Rows -> DynamoDB JSON lines, one ``{"Item": {...}}`` per line (null fields left out)."""
    lines = []
    for row in frame.iter_rows(named=True):
        item = {k: _ddb_attr(v) for k, v in row.items() if v is not None}
        lines.append(json.dumps({"Item": item}, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def render_jobs(frame: pl.DataFrame, fmt: str) -> bytes:
    """Records in one of FORMATS, as the bytes of a file."""
    jobs = typed_frame(frame)
    if fmt == "csv":
        return jobs.write_csv().encode()
    if fmt == "ndjson":
        return jobs.write_ndjson().encode()
    if fmt == "json":
        return json.dumps(jobs.to_dicts(), indent=1).encode() + b"\n"
    if fmt == "ddb":
        return dynamodb_json_lines(jobs).encode()
    if fmt == "parquet":
        buf = io.BytesIO()
        jobs.write_parquet(buf)
        return buf.getvalue()
    raise DataError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def write_jobs(frame: pl.DataFrame, path: str | os.PathLike, fmt: str | None = None) -> str:
    """Write records to ``path`` in ``fmt`` (default: from the extension); returns the format."""
    path = Path(path)
    gz = False
    if fmt is None:
        fmt, gz = detect_format(path)
    else:
        gz = path.name.lower().endswith(".gz") and fmt != "parquet"
    data = render_jobs(frame, fmt)
    if gz:
        data = gzip.compress(data, mtime=0)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise DataError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    return fmt
