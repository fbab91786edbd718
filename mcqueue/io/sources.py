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

import csv
import gzip
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import DataError, first_line, quote
from .ddbjson import item_values
from .files import ENV_MAX_INPUT_BYTES, max_input_bytes, read_input, write_atomic
from .schema import check_column_types, frame_from_records, validate_jobs, value_kind

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
            f"unsupported file type {quote(str(path))}: use .csv, .parquet, .ndjson/.jsonl, .json "
            f"or .ddb.json (DynamoDB JSON lines); .gz is allowed on text formats")
    return fmt, gz


MAX_JSON_DEPTH = 32  # nesting of a JSON/NDJSON/DynamoDB JSON document (job records need 3)
MAX_NUMBER_CHARS = 200  # characters of one JSON number
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def check_json_depth(raw: bytes, name: str, limit: int = MAX_JSON_DEPTH) -> None:
    """DataError when brackets nest deeper than ``limit`` anywhere in ``raw`` (strings
    skipped): checked with numpy before any parser sees the text, so a deeply nested document
    is one error, not a RecursionError or a parser's stack overflow."""
    import numpy as np

    stripped = _JSON_STRING.sub(b'""', raw)
    depth = 0
    step = 1 << 24
    for lo in range(0, len(stripped), step):
        a = np.frombuffer(stripped, np.uint8, count=min(step, len(stripped) - lo), offset=lo)
        opens = (a == 0x5B) | (a == 0x7B)
        closes = (a == 0x5D) | (a == 0x7D)
        idx = np.flatnonzero(opens | closes)
        if idx.size == 0:
            continue
        delta = np.where(opens[idx], 1, -1).astype(np.int64)
        levels = depth + np.cumsum(delta)
        if int(levels.max()) > limit:
            raise DataError(f"cannot read {quote(name)}: JSON nested deeper than {limit} "
                            "levels; job records are flat objects")
        depth = int(levels[-1])


class _JsonProblem(ValueError):
    """A limit or rule broken inside one JSON document (the caller adds where)."""


def _json_number(text: str, convert):
    if len(text) > MAX_NUMBER_CHARS:
        raise _JsonProblem(f"a JSON number of {len(text):,} characters (at most "
                           f"{MAX_NUMBER_CHARS}): {quote(text, 40)}")
    return convert(text)


def _no_duplicates(pairs: list) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set = set()
        dup = None
        for k, _ in pairs:
            if k in seen:
                dup = k
                break
            seen.add(k)
        raise _JsonProblem(f"key {quote(dup)} appears twice in one record; each field may "
                           "appear once")
    return obj


def _json_loads(text: str, where: str):
    """json.loads with the duplicate-key and number-size rules; DataError naming ``where``."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates,
                          parse_int=lambda t: _json_number(t, int),
                          parse_float=lambda t: _json_number(t, float))
    except _JsonProblem as exc:
        raise DataError(f"{where}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno} column "
                        f"{exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise DataError(f"{where}: not valid JSON ({first_line(exc)})") from None


def _first_record(text: str) -> Any:
    line = text.lstrip().split("\n", 1)[0]
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def _is_ddb_record(rec: Any) -> bool:
    return isinstance(rec, dict) and set(rec) == {"Item"} and isinstance(rec["Item"], dict)


def _lines(text: str):
    for i, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield i, line


def parse_dynamodb_json(text: str, name: str = "input") -> pl.DataFrame:
    """DynamoDB JSON lines (S3 export format) -> an all-string frame; every attribute value
    checked strictly (see ``mcqueue.io.ddbjson``)."""
    check_json_depth(text.encode("utf-8", "surrogatepass"), name)
    records = []
    for i, line in _lines(text):
        where = f"{quote(name)} line {i}"
        rec = _json_loads(line, where)
        if not _is_ddb_record(rec):
            raise DataError(f"{where}: expected a DynamoDB item "
                            f"{{\"Item\": {{...}}}}, got {quote(line.strip(), 60)}")
        records.append(item_values(rec["Item"], where))
    return frame_from_records(records)


def _parse_json_records(text: str, fmt: str, name: str) -> pl.DataFrame:
    """NDJSON (one object per line) or a JSON array of objects -> a raw frame, with Python's
    parser so that a key written twice in one record is an error (polars keeps one silently)."""
    check_json_depth(text.encode("utf-8", "surrogatepass"), name)
    records: list = []
    if fmt == "ndjson":
        for i, line in _lines(text):
            rec = _json_loads(line, f"cannot read {quote(name)} as NDJSON: line {i}")
            if not isinstance(rec, dict):
                raise DataError(f"cannot read {quote(name)} as NDJSON: line {i} is "
                                f"{value_kind(rec)} {quote(line.strip(), 60)}, not an object")
            records.append(rec)
    else:
        doc = _json_loads(text, f"cannot read {quote(name)} as a JSON array of objects")
        if not isinstance(doc, list):
            raise DataError(f"cannot read {quote(name)} as a JSON array of objects: it holds "
                            f"one {value_kind(doc)}")
        for i, rec in enumerate(doc, start=1):
            if not isinstance(rec, dict):
                raise DataError(f"cannot read {quote(name)} as a JSON array of objects: "
                                f"element {i} is {value_kind(rec)} {quote(rec, 60)}")
        records = doc
    return frame_from_records(records, native=True)


def _check_csv_header(text: str, name: str) -> None:
    header = next(csv.reader(io.StringIO(text[:1 << 20].split("\n", 1)[0])), [])
    seen: set = set()
    for col in header:
        if col in seen:
            raise DataError(f"cannot read {quote(name)} as CSV: column {quote(col)} appears "
                            "twice in the header")
        seen.add(col)


def _read_parquet(path: Path, max_bytes: int | None) -> pl.DataFrame:
    shown = quote(str(path))
    raw = read_input(path, gz=False, max_bytes=max_bytes)
    try:
        schema = pl.read_parquet_schema(io.BytesIO(raw))
        check_column_types(pl.DataFrame(schema=schema))
        frame = pl.read_parquet(io.BytesIO(raw))
    except DataError:
        raise
    except Exception as exc:  # polars raises its own exception types for corrupt files
        raise DataError(f"cannot read {shown} as Parquet: {first_line(exc)}") from None
    limit = max_input_bytes(max_bytes)
    if frame.estimated_size() > limit:
        raise DataError(f"cannot read {shown}: its decoded size ({frame.estimated_size():,} "
                        f"bytes) exceeds the input limit of {limit:,} bytes; raise it with "
                        f"--max-input-bytes or ${ENV_MAX_INPUT_BYTES}")
    return frame


def read_jobs(path: str | os.PathLike, max_bytes: int | None = None) -> pl.DataFrame:
    """Read a job file into a raw polars frame (strings or native types, not validated).

    Only regular files; at most ``max_bytes`` of (decompressed) input (default 4 GiB or
    $MCQUEUE_MAX_INPUT_BYTES). Text may start with a UTF-8 BOM and end its lines with LF, CRLF
    or a lone CR (old Mac files: read as line ends).
    """
    path = Path(path)
    fmt, gz = detect_format(path)
    if fmt == "parquet":
        return _read_parquet(path, max_bytes)
    raw = read_input(path, gz=True if gz else None, max_bytes=max_bytes)
    shown = quote(str(path))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot read {shown}: not UTF-8 text ({exc.reason} at byte "
                        f"{exc.start})") from None
    del raw
    if not text.strip():
        raise DataError(f"{shown} is empty")
    if "\r" in text:
        if "\n" not in text:
            text = text.replace("\r", "\n")  # CR-only line ends
        elif fmt != "csv":
            text = text.replace("\r\n", "\n")
    if fmt in ("json", "ndjson") and not text.lstrip().startswith("["):
        if _is_ddb_record(_first_record(text)):
            fmt = "ddb"
        elif fmt == "json":
            fmt = "ndjson"  # one object per line under a .json name: read it as such
    if fmt == "ddb":
        return parse_dynamodb_json(text, str(path))
    if fmt in ("json", "ndjson"):
        try:
            return _parse_json_records(text, fmt, str(path))
        except RecursionError:  # pragma: no cover - check_json_depth stops this first
            raise DataError(f"cannot read {shown}: JSON nested too deeply") from None
    _check_csv_header(text, str(path))
    try:
        return pl.read_csv(io.StringIO(text), infer_schema=False)
    except Exception as exc:  # polars' ComputeError, SchemaError, ...: a bad file, not a bug
        raise DataError(f"cannot read {shown} as CSV: {first_line(exc)}") from None


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
                        "job_name", "runtime_cv", "depends_on", "deadline", "slots", "locks",
                        "started_at", "finished_at")
            if c in out.columns and not (
                c in ("submitted_at", "status", "arrival_minute", "runtime_cv", "depends_on",
                      "deadline", "slots", "locks", "started_at", "finished_at")
                and out[c].null_count() == out.height)]
    return out.select(cols)


def _joined(frame: pl.DataFrame) -> pl.DataFrame:
    """List columns (depends_on, locks) as their ';'-separated string form, for CSV."""
    return frame.with_columns(pl.col(c).list.join(";") for c, t in frame.schema.items()
                              if isinstance(t, pl.List))


def _ddb_attr(value: Any) -> dict:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    if isinstance(value, list):  # depends_on, locks: a list of strings (L)
        return {"L": [{"S": str(v)} for v in value]}
    return {"S": str(value)}


def dynamodb_json_lines(frame: pl.DataFrame) -> str:
    """Rows -> DynamoDB JSON lines, one ``{"Item": {...}}`` per line (null fields left out)."""
    lines = []
    for row in frame.iter_rows(named=True):
        item = {k: _ddb_attr(v) for k, v in row.items() if v is not None and v != []}
        lines.append(json.dumps({"Item": item}, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def render_jobs(frame: pl.DataFrame, fmt: str) -> bytes:
    """Records in one of FORMATS, as the bytes of a file."""
    jobs = typed_frame(frame)
    if fmt == "csv":
        return _joined(jobs).write_csv().encode()
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
        write_atomic(path, data)
    except OSError as exc:
        raise DataError(f"cannot write {quote(str(path))}: {exc.strerror or exc} (nothing "
                        "was written; a file already there is unchanged)") from None
    return fmt
