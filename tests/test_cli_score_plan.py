"""`mcqueue score` and `mcqueue plan` in-process through click's CliRunner: files, DynamoDB
date ranges (on the real test server), formats, recommendation and errors."""

from __future__ import annotations

import io
import json
import uuid

import polars as pl
import pytest
from click.testing import CliRunner
from conftest import cli_error, cli_run

from mcqueue.cli.main import cli
from mcqueue.analysis import planning as planning
from mcqueue.io.sample import SAMPLE_DATES, sample_frame
from mcqueue.io.schema import nights_from_frame, validate_jobs

R = ["--replications", "500", "--seed", "3"]
SETTINGS = planning.Settings(replications=500, seed=3)


run = cli_run
error_of = cli_error


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("jobs") / "jobs.csv"
    sample_frame().write_csv(path)
    return str(path)


@pytest.fixture(scope="module")
def expected():
    """The library's rows for the sample on 2 and 3 workers (what every source must give)."""
    nights = nights_from_frame(validate_jobs(sample_frame()))
    return json.loads(json.dumps(planning.score(nights, [2, 3], SETTINGS).to_dicts()))


# ---------------------------------------------------------------- score on files
def test_score_file_json_equals_library(sample_csv, expected):
    res = run("score", "--file", sample_csv, "--workers", "2,3", *R, "--format", "json")
    assert res.stderr == ""  # no progress bar: stderr is not a terminal
    assert json.loads(res.stdout) == expected


def test_score_default_is_the_builtin_sample_and_table(expected):
    out = run("score", "--workers", "2", "--workers", "3", *R).stdout.splitlines()
    assert out[0].split()[:5] == ["batch_date", "window", "workers", "jobs", "rho"]
    # five nights x two counts, then the any-late note (the ETL night has deadlines)
    assert len(out) == 2 + 10 + 2 and out[-1].startswith("P(any late) = ")
    first = out[2].split()
    assert first[:4] == ["2026-05-14", "-", "2", "12"] and first[5] == "100.00%"
    assert [ln.split()[0] for ln in out[2:-2]] == [r["batch_date"] for r in expected]


def test_score_csv_and_parquet_outputs(sample_csv, expected, tmp_path):
    out = run("score", "--file", sample_csv, "--workers", "2,3", *R, "--format", "csv").stdout
    df = pl.read_csv(io.StringIO(out))
    assert df.columns == list(planning.score_columns(any_late=True))
    assert df["overflow_probability"].to_list() == [r["overflow_probability"] for r in expected]
    target = tmp_path / "risk.parquet"
    res = run("score", "--file", sample_csv, "--workers", "2,3", *R, "--format", "parquet",
              "--output", str(target))
    assert res.stdout == ""
    back = pl.read_parquet(target)
    assert back.drop("window").to_dicts() == [{k: v for k, v in r.items() if k != "window"}
                                               for r in expected]


def test_score_date_range_on_a_file(sample_csv, expected):
    data = json.loads(run("score", "--file", sample_csv, "--from", "2026-05-12", "--to",
                          "2026-05-13", "--workers", "2,3", *R, "--format", "json").stdout)
    # no night of the range has a deadline: no any-late columns (issue 12: only then)
    assert data == [{k: v for k, v in r.items() if k not in planning.ANY_LATE_COLUMNS}
                    for r in expected if r["batch_date"] in ("2026-05-12", "2026-05-13")]


def test_score_window_with_no_jobs_is_reported_not_fatal(sample_csv):
    res = run("score", "--file", sample_csv, "--window", "04:00", *R, "--format", "json")
    data = json.loads(res.stdout)
    present = set(validate_jobs(sample_frame()).filter(pl.col("requested_window") == "04:00")
                  ["batch_date"].to_list())
    assert {d["batch_date"] for d in data if d["jobs"] > 0} == present
    for d in sorted(set(SAMPLE_DATES) - present):
        assert f"mcqueue: warning: no jobs for batch date {d} in window 04:00" in res.stderr
        assert [r["jobs"] for r in data if r["batch_date"] == d] == [0]


@pytest.mark.parametrize("args, code, line", [
    (["--format", "parquet"], 2, "Error: --format parquet writes binary: give --output FILE"),
    (["--workers", "2,x"], 2, "Error: Invalid value for '--workers': must be worker counts >= 1 "
                              "separated by commas, e.g. 2,3,4; got '2,x'"),
    (["--from", "2026-13-01"], 2, "Error: Invalid value for '--from': must be a date "
                                  "YYYY-MM-DD, got '2026-13-01'"),
    (["--from", "2026-05-12", "--to", "2026-05-11"], 2,
     "Error: --to 2026-05-11 is before --from 2026-05-12"),
    (["--to", "2026-05-11"], 2, "Error: --to needs --from"),
    (["--source", "dynamodb"], 2, "Error: --source dynamodb needs --from (and --to) dates to "
                                  "query"),
    (["--from", "2026-06-01"], 1, "Error: the built-in sample has no nights from 2026-06-01 to "
                                  "2026-06-01"),
    (["--replications", "0"], 2, "Error: Invalid value for '--replications': 0 is not in the "
                                 "range x>=1."),
])
def test_score_errors(args, code, line):
    assert error_of("score", *args) == (code, line)


# ---------------------------------------------------------------- score on DynamoDB
@pytest.fixture(scope="module")
def seeded_table():
    """The sample seeded into a fresh table of the DynamoDB test server."""
    import dynamo_server

    from mcqueue.io.dynamo import delete_table, seed_table

    mp = pytest.MonkeyPatch()
    for k, v in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                 ("AWS_DEFAULT_REGION", "us-east-1")):
        mp.setenv(k, v)
    for k in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        mp.delenv(k, raising=False)
    with dynamo_server.dynamodb_endpoint() as url:
        table = f"score-{uuid.uuid4().hex[:8]}"
        seed_table(sample_frame(), table, endpoint_url=url, region="us-east-1")
        try:
            yield url, table
        finally:
            delete_table(table, endpoint_url=url, region="us-east-1")
            mp.undo()


@pytest.mark.dynamodb
def test_score_dynamodb_range_equals_file_and_reports_empty_dates(seeded_table, expected,
                                                                  monkeypatch):
    url, table = seeded_table
    import mcqueue.io.loading as loading_mod

    seen = []
    real = loading_mod._dynamodb_range

    def spy(source, dates, *a, **k):
        seen.append(list(dates))
        return real(source, dates, *a, **k)

    monkeypatch.setattr(loading_mod, "_dynamodb_range", spy)
    res = run("score", "--source", "dynamodb", "--from", "2026-05-10", "--to", "2026-05-16",
              "--table", table, "--endpoint-url", url, "--region", "us-east-1",
              "--workers", "2,3", *R, "--format", "json")
    assert seen == [["2026-05-10", "2026-05-11", "2026-05-12", "2026-05-13", "2026-05-14",
                     "2026-05-15", "2026-05-16"]]  # one Query per date of the range
    data = json.loads(res.stdout)
    assert [r for r in data if r["jobs"] > 0] == expected
    assert [(r["batch_date"], r["workers"], r["jobs"]) for r in data if r["jobs"] == 0] == [
        ("2026-05-10", 2, 0), ("2026-05-10", 3, 0), ("2026-05-16", 2, 0), ("2026-05-16", 3, 0)]
    for d in ("2026-05-10", "2026-05-16"):
        assert (f"mcqueue: warning: no jobs for batch date {d} in table {table!r}: reported as "
                f"0 jobs") in res.stderr


@pytest.mark.dynamodb
def test_score_dynamodb_missing_table_is_one_error_line(seeded_table):
    url, _ = seeded_table
    code, line = error_of("score", "--source", "dynamodb", "--from", "2026-05-13",
                          "--table", "no-such-table", "--endpoint-url", url,
                          "--region", "us-east-1", "--max-attempts", "1", *R)
    assert code == 1 and "no-such-table" in line


@pytest.mark.dynamodb
def test_plan_from_dynamodb(seeded_table):
    url, table = seeded_table
    data = json.loads(run("plan", "--source", "dynamodb", "--batch-date", "2026-05-13",
                          "--table", table, "--endpoint-url", url, "--region", "us-east-1",
                          "--max-workers", "4", *R, "--format", "json").stdout)
    night = nights_from_frame(validate_jobs(sample_frame()), dates=["2026-05-13"])[0]
    lib = planning.plan(night, SETTINGS, 1, 4)
    assert data["recommended_workers"] == lib.recommended
    assert data["sweep"] == json.loads(json.dumps(lib.to_dict()))["sweep"]


# ---------------------------------------------------------------- plan
def test_plan_none_for_2026_05_14_says_why():
    out = run("plan", "--batch-date", "2026-05-14", *R).stdout
    assert out.splitlines()[0] == ("Plan for 2026-05-14: 12 jobs, batch 01:00-05:00 (240 min), "
                                   "500 replications, seed 3, 95% intervals")
    assert len([ln for ln in out.splitlines() if ln.strip().startswith(
        tuple(f"{c} " for c in range(1, 17)))]) >= 16
    assert out.splitlines()[-1] == (
        "Recommendation: none: no worker count meets the target: the exclusive-lock jobs alone "
        "run 355 minutes (they hold the whole pool, whatever its size), longer than the "
        "240-minute window")


def test_plan_json_recommendation_matches_library(sample_csv):
    data = json.loads(run("plan", "--file", sample_csv, "--batch-date", "2026-05-13",
                          "--max-workers", "6", "--max-p95-wait", "80", *R,
                          "--format", "json").stdout)
    night = nights_from_frame(validate_jobs(sample_frame()), dates=["2026-05-13"])[0]
    lib = planning.plan(night, SETTINGS, 1, 6, 0.05, 80.0)
    assert data == json.loads(json.dumps(lib.to_dict()))
    assert data["recommended_workers"] == lib.recommended is not None
    assert [s["from_workers"] for s in data["steps"]] == [1, 2, 3, 4, 5]


def test_plan_csv():
    df = pl.read_csv(io.StringIO(run("plan", "--batch-date", "2026-05-13", "--min-workers", "2",
                                     "--max-workers", "4", *R, "--format", "csv").stdout))
    assert df["workers"].to_list() == [2, 3, 4]
    assert df["recommended"].sum() == 1


@pytest.mark.parametrize("args, code, line", [
    ([], 2, "Error: Missing option '--batch-date'."),
    (["--batch-date", "2026-06-01"], 1,
     "Error: batch date '2026-06-01' has no jobs; dates present: 2026-05-11, 2026-05-12, "
     "2026-05-13, 2026-05-14, 2026-05-15"),
    (["--batch-date", "2026-05-13", "--min-workers", "5", "--max-workers", "4"], 2,
     "Error: Invalid value for '--max-workers': must be >= --min-workers (5), got 4"),
    (["--batch-date", "2026-05-13", "--max-overflow", "1.5"], 2,
     "Error: Invalid value for '--max-overflow': must be a probability between 0 and 1, "
     "got 1.5"),
    (["--batch-date", "2026-05-13", "--max-p95-wait", "-1"], 2,
     "Error: Invalid value for '--max-p95-wait': must be a finite number >= 0, got -1.0"),
])
def test_plan_errors(args, code, line):
    assert error_of("plan", *args) == (code, line)


def test_unicode_digit_worker_count_is_a_usage_error():
    res = CliRunner().invoke(cli, ["score", "--workers", "\u00b2"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--workers': must be worker counts >= 1 separated by commas, "
        "e.g. 2,3,4; got '\u00b2'")


def test_plan_sweep_length_is_capped():
    res = CliRunner().invoke(cli, ["plan", "--batch-date", "2026-05-13",
                                   "--max-workers", "100000000"])
    assert res.exit_code == 2
    assert res.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--max-workers': a sweep covers at most 256 worker counts; "
        "--min-workers 1 to --max-workers 100000000 is 100000000")
