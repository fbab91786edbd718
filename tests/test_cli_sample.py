"""`mcqueue sample`: every format, and the round trip sample -> file -> simulate."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mcqueue.cli.main import cli

FILES = ["jobs.csv", "jobs.csv.gz", "jobs.parquet", "jobs.ndjson", "jobs.jsonl",
         "jobs.ndjson.gz", "jobs.json", "jobs.json.gz", "jobs.ddb.json", "jobs.ddb.json.gz"]
SIM = ["--batch-date", "2026-05-13", "--batch-date", "2026-05-14", "--workers", "2",
       "--workers", "3", "--replications", "200", "--seed", "11", "--format", "json"]


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def builtin_json():
    res = invoke("simulate", *SIM)
    assert res.exit_code == 0
    return json.loads(res.stdout)


@pytest.mark.parametrize("name", FILES)
def test_round_trip_through_every_format(tmp_path, builtin_json, name):
    path = tmp_path / name
    res = invoke("sample", "--output", str(path))
    assert res.exit_code == 0 and res.stdout == ""
    assert res.stderr.startswith("mcqueue: wrote the sample (")
    res = invoke("simulate", "--file", str(path), *SIM)
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout) == builtin_json


def test_default_run_from_a_file_matches_the_builtin_default(tmp_path):
    path = tmp_path / "s.parquet"
    invoke("sample", "-o", str(path))
    args = ["--replications", "200", "--format", "json"]
    from_file = [json.loads(invoke("simulate", "--file", str(path), "--batch-date", d,
                                   "--workers", str(c), *args).stdout)[0]
                 for d, c in (("2026-05-13", 3), ("2026-05-14", 2))]
    assert from_file == json.loads(invoke("simulate", *args).stdout)


def test_stdout_is_csv_by_default():
    res = invoke("sample")
    lines = res.stdout.splitlines()
    assert res.exit_code == 0 and len(lines) == 60  # header + 59 jobs in five nights
    assert lines[0].startswith("batch_date,window_job_id,job_id,requested_window,")
    assert lines[0].endswith(",status,job_name,depends_on,deadline")
    # job_name (issue 14, docs/history.md): <workload_class>_<HHMM of requested_window>
    assert lines[1] == ("2026-05-11,01:00#JOB-20260511-001,JOB-20260511-001,01:00,"
                        "2026-05-11T00:07:00Z,etl,25,2,false,queued,etl_0100,,")
    # issue 12's ETL night: predecessors as one ';'-separated string, a deadline HH:MM
    assert lines[-2] == ("2026-05-15,03:00#JOB-20260515-019,JOB-20260515-019,03:00,"
                         "2026-05-15T02:13:00Z,refresh,10,4,false,queued,refresh_0300_2,"
                         "JOB-20260515-015;JOB-20260515-016;JOB-20260515-017,04:15")


@pytest.mark.parametrize("fmt,first", [
    ("ndjson", '{"batch_date":"2026-05-11","window_job_id":"01:00#JOB-20260511-001",'),
    ("ddb", '{"Item":{"batch_date":{"S":"2026-05-11"},"window_job_id":'),
    ("json", "["),
])
def test_format_option_on_stdout(fmt, first):
    res = invoke("sample", "--format", fmt)
    assert res.exit_code == 0 and res.stdout.startswith(first)


def test_format_option_overrides_the_extension(tmp_path):
    path = tmp_path / "export.txt"
    assert invoke("sample", "-o", str(path), "--format", "ddb").exit_code == 0
    assert path.read_text().startswith('{"Item":')


def test_parquet_to_stdout_is_refused():
    res = CliRunner().invoke(cli, ["sample", "--format", "parquet"])
    assert res.exit_code == 2
    assert res.stderr.splitlines()[-1] == ("Error: --format parquet needs --output FILE "
                                           "(binary data)")


def test_unsupported_extension_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(cli, ["sample", "-o", str(tmp_path / "jobs.xlsx")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr.splitlines()[-1] == (
        f"Error: Invalid value for '--output': unsupported file type "
        f"'{tmp_path}/jobs.xlsx': use .csv, .parquet, .ndjson/.jsonl, .json or .ddb.json "
        "(DynamoDB JSON lines); .gz is allowed on text formats")


def test_unwritable_output_is_an_error(tmp_path):
    res = CliRunner().invoke(cli, ["sample", "-o", str(tmp_path / "missing" / "jobs.csv")])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.stderr.startswith(f"Error: cannot write '{tmp_path}/missing/jobs.csv': ")
