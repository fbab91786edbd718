"""Job files <-> frames: every format and extension, DynamoDB JSON lines, and bad files."""

from __future__ import annotations

import gzip
import json

import numpy as np
import polars as pl
import pytest

from mcqueue.errors import DataError
from mcqueue.io.sample import ETL_DATE, SAMPLE_DATES, sample_frame
from mcqueue.io.schema import night_from_frame, validate_jobs
from mcqueue.io.sources import (detect_format, parse_dynamodb_json, read_jobs, render_jobs,
                             write_jobs)

NAMES = ["s.csv", "s.csv.gz", "s.parquet", "s.pq", "s.ndjson", "s.jsonl", "s.jsonl.gz",
         "s.json", "s.json.gz", "s.ddb.json", "s.ddb.jsonl", "s.ddb.json.gz"]


def _nights_equal(a, b):
    assert a.job_id == b.job_id
    assert a.workload_class == b.workload_class
    for col in ("arrival_minute", "runtime_minutes", "priority", "exclusive"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col))
    # the optional columns of issues 12 and 13 (lists survive every format)
    for col in ("pred_ptr", "pred_idx", "deadline_minute", "slots", "lock_ptr", "lock_idx"):
        x, y = getattr(a, col), getattr(b, col)
        assert (x is None) == (y is None), col
        if x is not None:
            np.testing.assert_array_equal(x, y)
    assert a.lock_names == b.lock_names


@pytest.mark.parametrize("name,fmt,gz", [
    ("a.csv", "csv", False), ("a.CSV.GZ", "csv", True), ("a.parquet", "parquet", False),
    ("a.pq", "parquet", False), ("a.ndjson", "ndjson", False), ("a.jsonl", "ndjson", False),
    ("a.json", "json", False), ("a.json.gz", "json", True), ("a.ddb.json", "ddb", False),
    ("dir.x/a.ddb.jsonl.gz", "ddb", True),
])
def test_detect_format(name, fmt, gz):
    assert detect_format(name) == (fmt, gz)


@pytest.mark.parametrize("name", ["a.txt", "a", "a.parquet.gz", "a.xlsx", "csv"])
def test_detect_format_refuses_unknown_extensions(name):
    with pytest.raises(DataError, match=r"unsupported file type '.*': use \.csv"):
        detect_format(name)


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_every_format(tmp_path, name):
    path = tmp_path / name
    write_jobs(sample_frame(), path)
    back = validate_jobs(read_jobs(path))
    ref = validate_jobs(sample_frame())
    assert back.height == ref.height == 59  # five nights: 39 tutorial jobs, 20 ETL jobs
    for d in SAMPLE_DATES:
        _nights_equal(night_from_frame(back, d), night_from_frame(ref, d))
    etl = night_from_frame(back, ETL_DATE)
    assert etl.has_dependencies and etl.has_deadlines
    assert back["submitted_at"].to_list() == ref["submitted_at"].to_list()
    assert back["status"].to_list() == ref["status"].to_list()
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"


def test_csv_is_read_as_strings(tmp_path):
    path = tmp_path / "s.csv"
    write_jobs(sample_frame(), path)
    frame = read_jobs(path)
    assert set(frame.dtypes) == {pl.String}


def test_json_and_parquet_keep_native_types(tmp_path):
    for name in ("s.json", "s.parquet", "s.ndjson"):
        path = tmp_path / name
        write_jobs(sample_frame(), path)
        frame = read_jobs(path)
        assert frame["estimated_runtime_minutes"].dtype == pl.Int64, name
        assert frame["requires_exclusive_lock"].dtype == pl.Boolean, name


def test_dynamodb_json_as_an_s3_export_writes_it(tmp_path):
    # an S3 export file: <id>.json.gz, DynamoDB JSON lines, numbers as strings, BOOL and NULL
    lines = [
        {"Item": {"batch_date": {"S": "2026-05-13"}, "job_id": {"S": "A"},
                  "requested_window": {"S": "01:00"}, "workload_class": {"S": "etl"},
                  "estimated_runtime_minutes": {"N": "12.5"}, "priority": {"N": "2"},
                  "requires_exclusive_lock": {"BOOL": False}, "status": {"NULL": True}}},
        {"Item": {"batch_date": {"S": "2026-05-13"}, "job_id": {"S": "B"},
                  "requested_window": {"S": "02:00"}, "workload_class": {"S": "backfill"},
                  "estimated_runtime_minutes": {"N": "40"}, "priority": {"N": "3"},
                  "requires_exclusive_lock": {"N": "1"}}},
    ]
    path = tmp_path / "01234-abcd.json.gz"
    path.write_bytes(gzip.compress("\n".join(json.dumps(x) for x in lines).encode()))
    jobs = validate_jobs(read_jobs(path))
    assert jobs["job_id"].to_list() == ["A", "B"]
    assert jobs["estimated_runtime_minutes"].to_list() == [12.5, 40.0]
    assert jobs["requires_exclusive_lock"].to_list() == [False, True]
    assert jobs["status"].to_list() == [None, None]
    night = night_from_frame(jobs, "2026-05-13")
    assert night.arrival_minute.tolist() == [0.0, 60.0]


def test_ndjson_under_a_json_name_is_read(tmp_path):
    path = tmp_path / "lines.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in sample_frame().to_dicts()))
    assert validate_jobs(read_jobs(path)).height == 59


def test_mixed_types_in_json_are_kept_for_validation(tmp_path):
    rows = sample_frame().head(2).to_dicts()
    rows[0]["estimated_runtime_minutes"] = 25  # number in one record, string in the other
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(rows))
    jobs = validate_jobs(read_jobs(path))
    assert jobs["estimated_runtime_minutes"].to_list() == [25.0, 20.0]


@pytest.mark.parametrize("text,match", [
    ('{"Item": {"job_id": {"L": []}}}\n', r"'t.ddb.json' line 1: field 'job_id' has DynamoDB "
                                          r"type 'L'; job records use S, N, BOOL or NULL"),
    ('{"Item": {"job_id": "A"}}\n', r"'t.ddb.json' line 1: field 'job_id' is not a DynamoDB "
                                    r"attribute value"),
    ('{"Item": {}}\n{"job_id": {"S": "A"}}\n', r"'t.ddb.json' line 2: expected a DynamoDB item"),
    ('{"Item": {}}\n{oops\n', r"'t.ddb.json' line 2: not valid JSON"),
])
def test_bad_dynamodb_json(text, match):
    with pytest.raises(DataError, match=match):
        parse_dynamodb_json(text, "t.ddb.json")


@pytest.mark.parametrize("name,content,match", [
    ("e.csv", b"", r"'.*e\.csv' is empty"),
    ("a.json", b"[1, 2]", r"cannot read '.*a\.json' as a JSON array of objects: "),
    ("b.ndjson", b'{"a": \n', r"cannot read '.*b\.ndjson' as NDJSON: "),
    ("g.parquet", b"garbage", r"cannot read '.*g\.parquet' as Parquet: "),
    ("z.csv.gz", b"\x1f\x8bnot gzip", r"cannot read '.*z\.csv\.gz': not a valid gzip file"),
    ("u.csv", b"\xff\xfe\x00bad", r"cannot read '.*u\.csv': not UTF-8 text"),
])
def test_bad_files_raise_one_data_error(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=match):
        read_jobs(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"cannot read '.*nope\.csv': No such file"):
        read_jobs(tmp_path / "nope.csv")


def test_render_jobs_unknown_format():
    with pytest.raises(DataError, match="unknown format 'xml'"):
        render_jobs(sample_frame(), "xml")


def test_fractional_runtimes_stay_fractional(tmp_path):
    frame = sample_frame().with_columns(pl.lit("12.5").alias("estimated_runtime_minutes"))
    path = tmp_path / "f.ddb.json"
    write_jobs(frame, path)
    assert '"estimated_runtime_minutes":{"N":"12.5"}' in path.read_text()
    assert set(validate_jobs(read_jobs(path))["estimated_runtime_minutes"].to_list()) == {12.5}
