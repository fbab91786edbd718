"""Hostile job files (issue 11): special files, size limits, gzip bombs, strict parsing of
CSV / JSON / NDJSON / DynamoDB JSON / Parquet, column types, duplicated columns, line endings,
and values that try to forge error lines. Every case: exit 1 or 2, exactly one `Error:` line,
no traceback (see hostile.assert_one_error); property-based cases with hypothesis generate
records, CSV bytes and DynamoDB JSON."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import socket
import time
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hostile import check, file_bytes
from mcqueue.io.sample import sample_frame
from mcqueue.io.sources import render_jobs

FAST = ("--replications", "20")
SIM = ("simulate", "--batch-date", "2026-05-13", *FAST)
HYPO = settings(derandomize=True, deadline=None, max_examples=40, database=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SAMPLE_CSV = render_jobs(sample_frame(), "csv")
N_SAMPLE = sample_frame().height
HEADER, *ROWS = SAMPLE_CSV.decode().splitlines()


def sim_file(invoke, path, *extra):
    return invoke(*SIM, "--file", path, *extra)


# ------------------------------------------------------------------ special files
def test_fifo_is_refused_without_blocking(invoke, tmp_path):
    fifo = tmp_path / "jobs.csv"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    res = sim_file(invoke, fifo)
    check(res, (1,), "FIFO")
    assert time.monotonic() - t0 < 30


@pytest.mark.parametrize("device,kind", [("/dev/zero", "character device"),
                                         ("/dev/null", "character device"),
                                         ("/dev/urandom", "character device")])
def test_devices_are_refused(invoke, tmp_path, device, kind):
    link = tmp_path / "jobs.csv"
    link.symlink_to(device)
    check(sim_file(invoke, link), (1,), kind)


def test_a_socket_is_refused(invoke, tmp_path):
    path = tmp_path / "s.csv"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        check(sim_file(invoke, path), (1, 2))


def test_a_directory_is_refused(invoke, tmp_path):
    d = tmp_path / "dir.csv"
    d.mkdir()
    check(sim_file(invoke, d), (1, 2))


def test_a_directory_behind_a_symlink_is_refused_by_seed(invoke, tmp_path):
    d = tmp_path / "dir.csv"
    d.mkdir()
    check(invoke("seed", "--file", d, "--endpoint-url", "http://127.0.0.1:9"), (1, 2))


# ------------------------------------------------------------------ size limits and gzip bombs
def _bomb(path: Path, megabytes: int) -> None:
    """A gzip whose header is a valid CSV line followed by ``megabytes`` MB of spaces."""
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(SAMPLE_CSV)
        block = b" " * (1 << 20)
        for _ in range(megabytes):
            fh.write(block)


def test_a_gzip_bomb_stops_at_the_limit_early(invoke, tmp_path):
    bomb = tmp_path / "bomb.csv.gz"
    _bomb(bomb, 64)
    assert bomb.stat().st_size < 200_000  # 64 MB of input in < 200 kB
    t0 = time.monotonic()
    line = check(sim_file(invoke, bomb, "--max-input-bytes", "4MiB"), (1,),
                 "decompressed size")
    assert "4,194,304" in line
    assert time.monotonic() - t0 < 10


def test_a_gzip_bomb_without_gz_extension_is_detected(invoke, tmp_path):
    bomb = tmp_path / "sneaky.csv"
    _bomb(bomb, 8)
    check(sim_file(invoke, bomb, "--max-input-bytes", "1MB"), (1,), "decompressed size")


def test_the_limit_from_the_environment(invoke, tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.ndjson.gz"
    _bomb(bomb, 4)
    monkeypatch.setenv("MCQUEUE_MAX_INPUT_BYTES", "100kB")
    check(sim_file(invoke, bomb), (1,), "100,000 bytes")


def test_a_plain_file_over_the_limit(invoke, tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(SAMPLE_CSV + b"\n" * 300_000)
    check(sim_file(invoke, big, "--max-input-bytes", "200000"), (1,), "size")


def test_a_file_within_the_limit_is_read(invoke, tmp_path):
    ok = tmp_path / "ok.csv.gz"
    ok.write_bytes(gzip.compress(SAMPLE_CSV))
    res = sim_file(invoke, ok, "--max-input-bytes", "1MiB", "--format", "json")
    assert res.exit_code == 0, res.stderr


@pytest.mark.parametrize("value", ["0", "-5", "lots", "4XB", "1e400", "9" * 50, ""])
def test_bad_max_input_bytes_is_a_usage_error(invoke, value):
    check(invoke(*SIM, "--max-input-bytes", value), (2,), "--max-input-bytes")


def test_dev_zero_as_seed_input(invoke, tmp_path):
    link = tmp_path / "zero.ndjson"
    link.symlink_to("/dev/zero")
    check(invoke("seed", "--file", link, "--endpoint-url", "http://127.0.0.1:9"), (1,),
          "character device")


# ------------------------------------------------------------------ line endings, BOM
def _night(text: str):
    return json.loads(text)[0]["monte_carlo"]


def test_cr_only_line_endings_are_read(invoke, tmp_path):
    lf, cr = tmp_path / "lf.csv", tmp_path / "cr.csv"
    lf.write_bytes(SAMPLE_CSV)
    cr.write_bytes(SAMPLE_CSV.replace(b"\n", b"\r"))
    a = sim_file(invoke, lf, "--format", "json")
    b = sim_file(invoke, cr, "--format", "json")
    assert a.exit_code == b.exit_code == 0, b.stderr
    assert _night(a.stdout) == _night(b.stdout)


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "ddb"])
def test_bom_and_crlf_are_fine(invoke, tmp_path, fmt):
    data = render_jobs(sample_frame(), fmt)
    path = tmp_path / ("x.csv" if fmt == "csv" else "x.ndjson" if fmt == "ndjson"
                       else "x.ddb.json")
    path.write_bytes(b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n"))
    res = sim_file(invoke, path, "--format", "json")
    assert res.exit_code == 0, res.stderr
    ref = tmp_path / "ref.csv"
    ref.write_bytes(SAMPLE_CSV)
    assert _night(res.stdout) == _night(sim_file(invoke, ref, "--format", "json").stdout)


# ------------------------------------------------------------------ duplicated columns
def test_a_duplicated_csv_column_is_an_error(invoke, tmp_path):
    path = tmp_path / "dup.csv"
    lines = [HEADER + ",priority"] + [r + ",9" for r in ROWS]
    path.write_text("\n".join(lines) + "\n")
    check(sim_file(invoke, path), (1,), "'priority' appears twice")


@pytest.mark.parametrize("fmt,name", [("ndjson", "d.ndjson"), ("json", "d.json"),
                                      ("ddb", "d.ddb.json")])
def test_a_key_twice_in_a_json_record_is_an_error(invoke, tmp_path, fmt, name):
    text = render_jobs(sample_frame(), fmt).decode()
    if fmt == "ddb":
        text = text.replace('"priority":{"N":', '"priority":{"N":"3"},"priority":{"N":', 1)
    elif fmt == "ndjson":
        text = text.replace('"priority":', '"priority":3,"priority":', 1)
    else:
        text = text.replace('"priority": ', '"priority": 3, "priority": ', 1)
    path = tmp_path / name
    path.write_text(text)
    check(sim_file(invoke, path), (1,), "appears twice")


# ------------------------------------------------------------------ nesting and number size
@pytest.mark.parametrize("name,doc", [
    ("deep.json", "[" * 100_000 + "]" * 100_000),
    ("deep.ndjson", '{"a": ' + "[" * 50_000 + "]" * 50_000 + "}\n"),
    ("deep2.ndjson", '{"a": ' + '{"b": ' * 20_000 + "1" + "}" * 20_000 + "}\n"),
    ("deep.ddb.json", '{"Item": {"job_id": ' + '{"L": [' * 30_000 + "]}" * 30_000 + "}}\n"),
    ("unbalanced.json", "[" * 200_000),
])
def test_deep_nesting_is_one_clean_error(invoke, tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(doc)
    check(sim_file(invoke, path), (1,), "nested deeper")


def test_brackets_inside_strings_do_not_count_as_nesting(invoke, tmp_path):
    frame = sample_frame().with_columns(pl.lit("[[[[[[[[" * 20 + "{{{{" * 20).alias("status"))
    path = tmp_path / "brackets.ndjson"
    path.write_bytes(render_jobs(frame, "ndjson"))
    res = sim_file(invoke, path, "--format", "json")
    assert res.exit_code == 0, res.stderr


@pytest.mark.parametrize("name,make", [
    ("n.ndjson", lambda t: t.replace('"priority":', '"priority":' + "9" * 5000, 1)),
    ("f.ndjson", lambda t: t.replace('"priority":', '"priority":1.' + "5" * 5000 + ",'x':", 1)),
    ("e.ndjson", lambda t: t.replace('"priority":', '"priority":1e99999,"zz":', 1)),
    ("n.ddb.json", lambda t: t.replace('"priority":{"N":"',
                                       '"priority":{"N":"' + "9" * 5000, 1)),
])
def test_huge_numbers_are_one_clean_error(invoke, tmp_path, name, make):
    fmt = "ddb" if name.endswith(".ddb.json") else "ndjson"
    path = tmp_path / name
    path.write_text(make(render_jobs(sample_frame(), fmt).decode()))
    check(sim_file(invoke, path), (1,))


# ------------------------------------------------------------------ DynamoDB JSON descriptors
def _ddb_with(tmp_path, field, value_json):
    text = render_jobs(sample_frame(), "ddb").decode().splitlines()
    rec = json.loads(text[26])  # a job of 2026-05-13
    rec["Item"][field] = json.loads(value_json)
    text[26] = json.dumps(rec)
    path = tmp_path / "x.ddb.json"
    path.write_text("\n".join(text) + "\n")
    return path


@pytest.mark.parametrize("field,value,expect", [
    ("requires_exclusive_lock", '{"BOOL": "false"}', "BOOL"),
    ("requires_exclusive_lock", '{"BOOL": "true"}', "BOOL"),
    ("requires_exclusive_lock", '{"BOOL": 0}', "BOOL"),
    ("requires_exclusive_lock", '{"BOOL": null}', "BOOL"),
    ("requires_exclusive_lock", '{"BOOL": [false]}', "BOOL"),
    ("priority", '{"N": "abc"}', "decimal number"),
    ("priority", '{"N": 3}', "string"),
    ("priority", '{"N": "1e999"}', "range"),
    ("priority", '{"N": "1' + "0" * 38 + '1"}', "significant digits"),
    ("priority", '{"N": ""}', "decimal number"),
    ("priority", '{"N": "NaN"}', "decimal number"),
    ("priority", '{"N": "Infinity"}', "decimal number"),
    ("job_id", '{"S": 12}', "not a string"),
    ("job_id", '{"S": null}', "not a string"),
    ("status", '{"NULL": false}', "NULL must be true"),
    ("status", '{"NULL": "yes"}', "NULL must be true"),
    ("job_id", '{"X": "A"}', "unknown DynamoDB type"),
    ("job_id", '{"s": "A"}', "unknown DynamoDB type"),
    ("job_id", '{"L": [{"S": "A"}]}', "'L'"),
    ("job_id", '{"M": {"a": {"S": "A"}}}', "'M'"),
    ("job_id", '{"SS": ["A"]}', "'SS'"),
    ("job_id", '{"B": "QUJD"}', "'B'"),
    ("job_id", '{}', "not a DynamoDB attribute value"),
    ("job_id", '{"S": "A", "N": "1"}', "not a DynamoDB attribute value"),
    ("job_id", '"A"', "not a DynamoDB attribute value"),
])
def test_dynamodb_json_descriptors_are_checked(invoke, tmp_path, field, value, expect):
    line = check(sim_file(invoke, _ddb_with(tmp_path, field, value)), (1,), expect)
    assert "line 27" in line and field in line


def test_bool_false_is_false(invoke, tmp_path):
    """The issue's silent wrong answer: {"BOOL": false} (a JSON boolean) must read as false;
    the night of 2026-05-14 on 3 workers with no noise drains at minute 455 as in the CSV."""
    ddb = tmp_path / "x.ddb.json"
    ddb.write_bytes(render_jobs(sample_frame(), "ddb"))
    assert b'{"BOOL":false}' in ddb.read_bytes()
    args = ("simulate", "--batch-date", "2026-05-14", "--workers", "3", "--runtime-cv", "0",
            "--arrival-jitter", "0", "--replications", "5", "--format", "json", "--file")
    got = json.loads(invoke(*args, ddb).stdout)[0]["deterministic"]["queue_drained_minute"]
    assert got == 455.0


# ------------------------------------------------------------------ column types
def _parquet_with(tmp_path, name, series):
    frame = sample_frame().with_columns(series.alias(name))
    path = tmp_path / "x.parquet"
    frame.write_parquet(path)
    return path


@pytest.mark.parametrize("field,series,kind", [
    ("estimated_runtime_minutes", pl.Series([[1.0, 2.0]] * N_SAMPLE), "list"),
    ("priority", pl.Series([{"a": 1}] * N_SAMPLE), "struct"),
    ("job_id", pl.Series([b"x"] * N_SAMPLE), "binary"),
    ("arrival_minute", pl.Series([dt.timedelta(minutes=5)] * N_SAMPLE), "duration"),
    ("requested_window", pl.Series([dt.time(1, 0)] * N_SAMPLE), "time"),
    ("requires_exclusive_lock", pl.Series([dt.date(2026, 1, 1)] * N_SAMPLE), "date"),
    ("batch_date", pl.Series([[1]] * N_SAMPLE), "list"),
])
def test_parquet_columns_of_the_wrong_type(invoke, tmp_path, field, series, kind):
    line = check(sim_file(invoke, _parquet_with(tmp_path, field, series)), (1,))
    assert f"'{field}' has type {kind}" in line


@pytest.mark.parametrize("field,value,kind", [
    ("estimated_runtime_minutes", [1, 2], "list"),
    ("priority", {"a": 1}, "struct"),
    ("job_id", ["A", "B"], "list"),
    ("requires_exclusive_lock", {"BOOL": False}, "struct"),
    ("workload_class", 5, "integer"),
    ("requested_window", True, "boolean"),
])
def test_json_values_of_the_wrong_type(invoke, tmp_path, field, value, kind):
    recs = json.loads(render_jobs(sample_frame(), "json"))
    recs[30][field] = value
    path = tmp_path / "x.json"
    path.write_text(json.dumps(recs))
    line = check(sim_file(invoke, path), (1,))
    assert f"row 31: field '{field}' has type {kind}" in line


# ------------------------------------------------------------------ values that forge lines
@pytest.mark.parametrize("job_id", [
    "J1\nError: forged second line",
    "J1\r\nError: forged",
    "\x1b[31mRED\x1b[0m",
    "\x1b]0;title\x07",
    "J\u2028line separator",
    "J\u202eoverride",
    "x" * 5000,
])
def test_job_ids_cannot_forge_or_flood_error_lines(invoke, tmp_path, job_id):
    recs = json.loads(render_jobs(sample_frame(), "json"))
    recs[30]["job_id"] = job_id
    recs[30]["estimated_runtime_minutes"] = -1  # an error that quotes the job_id
    path = tmp_path / "x.json"
    path.write_text(json.dumps(recs))
    line = check(sim_file(invoke, path), (1,), "estimated_runtime_minutes")
    assert len(line) < 400


@pytest.mark.parametrize("column", ["bad\nname", "\x1b[2J", "y" * 3000])
def test_column_names_cannot_forge_error_lines(invoke, tmp_path, column):
    frame = sample_frame().drop("priority").with_columns(pl.lit("1").alias(column))
    path = tmp_path / "x.parquet"
    frame.write_parquet(path)
    check(sim_file(invoke, path), (1,), "missing field 'priority'")


def test_a_file_name_with_a_newline(invoke, tmp_path):
    path = tmp_path / "evil\nError: forged.csv"
    path.write_bytes(b"not,a,job,file\n1,2,3,4\n")
    check(sim_file(invoke, path), (1,))


# ------------------------------------------------------------------ broken files
@pytest.mark.parametrize("name,data", [
    ("latin1.csv", SAMPLE_CSV.replace(b"etl", b"\xe9tl")),
    ("trunc.csv.gz", gzip.compress(SAMPLE_CSV)[:-30]),
    ("notgz.csv.gz", b"plain text, not gzip\n"),
    ("garbage.parquet", b"PAR1" + os.urandom(300) + b"PAR1"),
    ("empty.csv", b""),
    ("blank.ndjson", b"   \n\n\t\n"),
    ("quote.csv", HEADER.encode() + b'\n"unterminated,1,2\n'),
    ("scalar.json", b"42"),
    ("strings.json", b'["a", "b"]'),
    ("lines.ndjson", b'{"job_id": "A"}\n[1, 2]\n'),
    ("broken.ndjson", b'{"job_id": "A"\n'),
    ("nul.csv", HEADER.encode() + b"\n\x00\x00\x00\n"),
    ("utf16.csv", SAMPLE_CSV.decode().encode("utf-16")),
    ("onlyheader.csv", HEADER.encode() + b"\n"),
])
def test_broken_files_are_one_error(invoke, tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    check(sim_file(invoke, path), (1,))


# ------------------------------------------------------------------ property-based
_CELL = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from(["", "1", "-1", "0", "nan", "inf", "1e308", "1e309", "2026-05-13",
                     "02:00", "true", "false", "25", "9" * 30, "\x1b[31m", "a\nb", '"']))
_FIELDS = ["batch_date", "job_id", "requested_window", "workload_class",
           "estimated_runtime_minutes", "priority", "requires_exclusive_lock", "status",
           "arrival_minute", "window_job_id", "extra"]


def _outcome(res):
    """Success (a report on stdout), or the one-error contract."""
    if res.exit_code == 0:
        assert res.stdout and "Error:" not in res.stderr
    else:
        check(res)


@HYPO
@given(header=st.lists(st.sampled_from(_FIELDS), min_size=1, max_size=12),
       rows=st.lists(st.lists(_CELL, min_size=0, max_size=13), min_size=0, max_size=6),
       newline=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans())
def test_random_csv_files(invoke, tmp_path, header, rows, newline, bom):
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    w.writerow(header)
    w.writerows(rows)
    path = tmp_path / "h.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode())
    _outcome(invoke("score", "--file", path, *FAST))


@HYPO
@given(data=st.binary(max_size=400))
def test_random_bytes_as_csv(invoke, tmp_path, data):
    path = tmp_path / "b.csv"
    path.write_bytes(HEADER.encode() + b"\n" + data)
    _outcome(invoke("score", "--file", path, *FAST))


_JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=10) | st.sampled_from(["2026-05-13", "02:00", "30", "true"]),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids,
                                                             max_size=3),
    max_leaves=6)
_GOOD = {"batch_date": "2026-05-13", "job_id": "A1", "requested_window": "02:00",
         "workload_class": "etl", "estimated_runtime_minutes": 30, "priority": 2,
         "requires_exclusive_lock": False}


@HYPO
@given(recs=st.lists(st.dictionaries(st.sampled_from(_FIELDS), _JSON_VALUE, max_size=11),
                     min_size=1, max_size=5),
       base=st.booleans())
def test_random_records_as_ndjson(invoke, tmp_path, recs, base):
    lines = [json.dumps({**(_GOOD if base else {}), **r, "job_id": f"J{i}"} if base and
                        i == 0 else {**(_GOOD if base else {}), **r})
             for i, r in enumerate(recs)]
    path = tmp_path / "r.ndjson"
    path.write_text("\n".join(lines) + "\n")
    _outcome(invoke("score", "--file", path, *FAST))


_DESCRIPTOR = st.sampled_from(["S", "N", "BOOL", "NULL", "L", "M", "SS", "B", "X", "s"])
_ATTR = st.one_of(
    st.builds(lambda k, v: {k: v}, _DESCRIPTOR, _JSON_VALUE),
    st.builds(lambda v: {"S": v}, st.text(max_size=8)),
    st.builds(lambda v: {"N": v}, st.sampled_from(["1", "2.5", "-3", "1e5", "x", "1e200",
                                                   "0.1e-140", "30"])),
    st.builds(lambda v: {"BOOL": v}, st.booleans() | st.sampled_from(["false", 0, None])),
    _JSON_VALUE)


@HYPO
@given(items=st.lists(st.dictionaries(st.sampled_from(_FIELDS), _ATTR, max_size=11),
                      min_size=1, max_size=4))
def test_random_dynamodb_json(invoke, tmp_path, items):
    good = {"batch_date": {"S": "2026-05-13"}, "job_id": {"S": "A"},
            "requested_window": {"S": "02:00"}, "workload_class": {"S": "etl"},
            "estimated_runtime_minutes": {"N": "30"}, "priority": {"N": "1"},
            "requires_exclusive_lock": {"BOOL": False}}
    path = tmp_path / "r.ddb.json"
    path.write_text("\n".join(json.dumps({"Item": {**good, **it, "job_id": {"S": f"J{i}"}}})
                              for i, it in enumerate(items)) + "\n")
    _outcome(invoke("score", "--file", path, *FAST))


def test_nothing_is_written_next_to_a_bad_input(invoke, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,a\n1,2\n")
    before = file_bytes([bad])
    check(sim_file(invoke, bad), (1,))
    assert file_bytes([bad]) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]
