"""Hostile runs against a real DynamoDB-compatible server (dynalite, see tests/dynamo_server.py):
destructive commands delete only what was named, `seed` checks DynamoDB's limits before the
first write, a seed that fails midway says how many items it stored and a re-run completes
it. Every case compares the table's items before and after: nothing stored is lost or
half-written."""

from __future__ import annotations

import json
import uuid

import boto3
import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dynamo_server import FaultProxy, dynamodb_endpoint
from hostile import KEY_ID, SECRET, check, set_aws_env
from mcqueue.io import dynamo
from mcqueue.io.sample import TUTORIAL_DATES, sample_frame
from mcqueue.io.sources import render_jobs

pytestmark = pytest.mark.dynamodb


@pytest.fixture(scope="module")
def endpoint():
    with dynamodb_endpoint() as url:
        yield url


@pytest.fixture
def client(endpoint):
    return boto3.session.Session(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                                 region_name="us-east-1").client("dynamodb",
                                                                 endpoint_url=endpoint)


@pytest.fixture
def env(monkeypatch, tmp_path):
    set_aws_env(monkeypatch, tmp_path)
    monkeypatch.setattr(dynamo, "_sleep", lambda s: None)
    return monkeypatch


@pytest.fixture
def table(endpoint, client, env):
    """A table seeded with the built-in sample (59 items)."""
    name = f"hx_{uuid.uuid4().hex[:12]}"
    dynamo.seed_table(sample_frame(), name, endpoint_url=endpoint)
    yield name
    try:
        client.delete_table(TableName=name)
    except client.exceptions.ResourceNotFoundException:
        pass


def items(client, table):
    """Every item by key (consistent Scan), or None when the table is gone."""
    out, kw = [], {}
    try:
        while True:
            page = client.scan(TableName=table, ConsistentRead=True, **kw)
            out.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    except client.exceptions.ResourceNotFoundException:
        return None
    return {(it["batch_date"]["S"], it["window_job_id"]["S"]): it for it in out}


# ------------------------------------------------------------------ deletes only what was named
@pytest.mark.parametrize("args", [
    ("--stack-name", ""),
    ("--stack-name", " "),
    ("--stack-name", "", "--table", "TABLE"),
    ("--table", ""),
    ("--table", "   "),
])
def test_blank_names_delete_nothing(invoke, endpoint, client, table, args):
    before = items(client, table)
    args = tuple(table if a == "TABLE" else a for a in args)
    check(invoke("cleanup", "--yes", "--endpoint-url", endpoint, *args), (2,))
    assert items(client, table) == before and len(before) == 59


def test_a_stack_deletion_against_a_dynamodb_endpoint_never_touches_the_table(
        invoke, endpoint, client, table):
    before = items(client, table)
    res = invoke("cleanup", "--yes", "--stack-name", "mcqueue-catalog", "--endpoint-url",
                 endpoint, "--table", table, "--timeout", "5", "--max-attempts", "1")
    check(res, (1,))
    assert items(client, table) == before


def test_declining_the_confirmation_deletes_nothing(endpoint, client, table):
    from click.testing import CliRunner

    from mcqueue.cli.main import cli

    before = items(client, table)
    res = CliRunner().invoke(cli, ["cleanup", "--endpoint-url", endpoint, "--table", table],
                             input="n\n")
    assert res.exit_code == 1 and "Aborted!" in res.stderr
    assert items(client, table) == before


# ------------------------------------------------------------------ seed: limits before writing
def _frame_with(**changes):
    frame = sample_frame()
    for col, (row, value) in changes.items():
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(col))
        values = frame[col].to_list()
        values[row] = value
        frame = frame.with_columns(pl.Series(col, values, dtype=pl.String))
    return frame


@pytest.mark.parametrize("name,frame,expect", [
    ("long sort key", _frame_with(job_id=(30, "J" * 1100), window_job_id=(30, None)),
     "window_job_id"),
    ("item over 400 KB", _frame_with(workload_class=(30, "w" * 420_000)), "400 KB"),
    ("status over 400 KB", _frame_with(status=(38, "s" * 409_550)), "400 KB"),
    ("tiny number", _frame_with(estimated_runtime_minutes=(30, "1e-200")), "range"),
    ("long precise number", _frame_with(arrival_minute=(30, "1.000000000000000000000000000001")),
     None),
])
def test_seed_refuses_before_the_first_write(invoke, endpoint, client, table, tmp_path, name,
                                             frame, expect):
    if "window_job_id" in frame.columns and frame["window_job_id"].null_count():
        frame = frame.drop("window_job_id")
    path = tmp_path / "bad.ndjson"
    path.write_bytes(b"\n".join(json.dumps({k: v for k, v in r.items() if v is not None})
                                .encode() for r in frame.to_dicts()) + b"\n")
    new_table = f"hx_{uuid.uuid4().hex[:12]}"
    before = items(client, table)
    for target in (table, new_table):  # an existing table and one not yet created
        res = invoke("seed", "--file", path, "--endpoint-url", endpoint, "--table", target)
        if name == "long precise number":  # a float keeps 17 digits: within DynamoDB's 38
            assert res.exit_code == 0, res.stderr
            continue
        line = check(res, (1,), expect)
        assert "nothing was written" in line
    if name != "long precise number":
        assert items(client, table) == before
        assert items(client, new_table) is None  # not even created


def test_a_midway_failure_says_what_was_stored_and_a_rerun_completes(
        invoke, endpoint, client, env):
    name = f"hx_{uuid.uuid4().hex[:12]}"
    # the tutorial's 39 jobs (renamed copies of the ETL night would name missing predecessors)
    frame = sample_frame().filter(pl.col("batch_date").is_in(list(TUTORIAL_DATES)))
    frame = frame.with_columns(pl.lit("queued").alias("status"))
    jobs = []
    for i in range(3):  # 117 items: 5 batches
        jobs.append(frame.with_columns((pl.col("job_id") + f"-{i}").alias("job_id"))
                    .drop("window_job_id"))
    data = pl.concat(jobs)
    # the third BatchWriteItem and every later one fail with a 500 (retries exhausted)
    plan = (lambda t, b, n: ("error", 500, "InternalServerError")
            if t == "BatchWriteItem" and n >= 2 else None)
    with FaultProxy(endpoint, plan) as proxy:
        with pytest.raises(Exception) as err:
            dynamo.seed_table(data, name, endpoint_url=proxy.url, max_attempts=2)
    msg = str(err.value)
    assert "50 of 117 items were written by this run" in msg and "\n" not in msg
    assert len(items(client, name)) == 50
    res = dynamo.seed_table(data, name, endpoint_url=endpoint)
    assert (res.skipped, res.written) == (50, 67)
    assert len(items(client, name)) == 117
    client.delete_table(TableName=name)


# ------------------------------------------------------------------ property-based seeding
_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**20), st.floats(-1e9, 1e9),
                   st.text(max_size=6), st.sampled_from(["2026-05-13", "02:00", "30", "1e-200",
                                                        "x" * 1100]))


@settings(derandomize=True, deadline=None, max_examples=12, database=None,
          phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 38),
                                st.sampled_from(["job_id", "requested_window",
                                                 "estimated_runtime_minutes", "priority",
                                                 "requires_exclusive_lock", "workload_class",
                                                 "arrival_minute", "status"]),
                                _VALUE), max_size=3))
def test_random_edits_either_seed_fully_or_write_nothing(invoke, endpoint, client, table,
                                                          tmp_path, edits):
    recs = json.loads(render_jobs(sample_frame(), "json"))
    for row, field, value in edits:
        recs[row][field] = value
        recs[row].pop("window_job_id", None)
    path = tmp_path / "edit.json"
    path.write_text(json.dumps(recs))
    before = items(client, table)
    res = invoke("seed", "--file", path, "--endpoint-url", endpoint, "--table", table,
                 "--overwrite")
    if res.exit_code != 0:
        check(res, (1,))
        assert items(client, table) == before
    else:
        after = items(client, table)
        assert len(after) >= len(before)
