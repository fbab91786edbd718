"""mcqueue against a real DynamoDB-compatible server on 127.0.0.1 (dynalite; see
tests/dynamo_server.py: scripts/test.sh starts it, plain pytest starts one here).

Fault injection goes through a local HTTP proxy in front of that server that answers with
throttling errors, 500s and partial batch writes.
"""

from __future__ import annotations

import json
import uuid

import boto3
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from dynamo_server import FaultProxy, big_night, dynamodb_endpoint, free_port
from mcqueue.io import dynamo as dynamo
from mcqueue.errors import ServiceError
from mcqueue.io.sample import sample_frame
from mcqueue.io.schema import load_night

pytestmark = pytest.mark.dynamodb
KEY_ID = "integration-key-id"
SECRET = "integration-secret-never-printed"


@pytest.fixture(scope="session")
def endpoint():
    with dynamodb_endpoint() as url:
        yield url


@pytest.fixture
def session():
    return boto3.session.Session(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                                 region_name="us-east-1")


@pytest.fixture
def env(monkeypatch, tmp_path):
    """Environment for in-process CLI runs: fake credentials, no endpoint variables."""
    for var in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "AWS_PROFILE",
                "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture
def fast_retries(monkeypatch):
    """Retry at once: botocore's standard-mode backoff and seeding's UnprocessedItems backoff."""
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    monkeypatch.setattr(dynamo, "_sleep", lambda seconds: None)


@pytest.fixture
def table(endpoint, session):
    name = f"it_{uuid.uuid4().hex[:12]}"
    yield name
    client = session.client("dynamodb", endpoint_url=endpoint)
    try:
        client.delete_table(TableName=name)
    except client.exceptions.ResourceNotFoundException:
        pass


def run(args, input=None):
    from mcqueue.cli.main import cli

    return CliRunner().invoke(cli, args, input=input)


def all_items(session, endpoint, table):
    """Every item of the table by key (consistent Scan: a test-side check, not mcqueue)."""
    client = session.client("dynamodb", endpoint_url=endpoint)
    items, kw = [], {}
    while True:
        page = client.scan(TableName=table, ConsistentRead=True, **kw)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def by_key(items):
    return {(it["batch_date"]["S"], it["window_job_id"]["S"]): it for it in items}


def strip_source(reports):
    for r in reports:
        r.pop("dynamodb", None)
    return reports


# ------------------------------------------------------------------------------ the happy path
def test_seed_then_simulate_equals_the_local_file(env, endpoint, table, tmp_path):
    r = run(["seed", "--endpoint-url", endpoint, "--table", table, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["written"] == 59

    common = ["--batch-date", "2026-05-13", "--workers", "3", "--replications", "2000",
              "--format", "json"]
    path = tmp_path / "jobs.csv"
    sample_frame().write_csv(path)
    local = run(["simulate", "--file", str(path), *common])
    assert local.exit_code == 0, local.output
    remote = run(["simulate", "--source", "dynamodb", "--endpoint-url", endpoint,
                  "--table", table, *common])
    assert remote.exit_code == 0, remote.output
    remote_reports = json.loads(remote.stdout)
    assert remote_reports[0]["dynamodb"]["items"] == 10
    assert strip_source(remote_reports) == strip_source(json.loads(local.stdout))

    # no flags at all: the standard AWS_ENDPOINT_URL_DYNAMODB and credential chain
    env.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
    env.delenv("AWS_DEFAULT_REGION")
    plain = run(["simulate", "--source", "dynamodb", "--table", table, *common])
    assert plain.exit_code == 0, plain.output
    assert strip_source(json.loads(plain.stdout)) == strip_source(json.loads(local.stdout))


def test_window_filter_returns_only_that_window(endpoint, session, table):
    dynamo.seed_table(sample_frame(), table, session=session, endpoint_url=endpoint)
    q = dynamo.query_jobs("2026-05-14", "02:00", table=table, session=session,
                          endpoint_url=endpoint)
    want = sample_frame().filter((pl.col("batch_date") == "2026-05-14")
                                 & (pl.col("requested_window") == "02:00"))
    assert 0 < q.items == want.height < 12
    assert sorted(q.frame["job_id"]) == sorted(want["job_id"])
    assert set(q.frame["window_job_id"].str.slice(0, 6)) == {"02:00#"}
    assert load_night(q.frame, "2026-05-14", "02:00").n_jobs == want.height


def test_reseeding_changes_nothing(endpoint, session, table):
    first = dynamo.seed_table(sample_frame(), table, session=session, endpoint_url=endpoint)
    assert (first.created_table, first.written) == (True, 59)
    assert first.consumed_write_units >= 59
    before = by_key(all_items(session, endpoint, table))
    again = dynamo.seed_table(sample_frame(), table, session=session, endpoint_url=endpoint)
    assert (again.created_table, again.written, again.skipped, again.conflicts) == (
        False, 0, 59, 0)
    assert again.consumed_write_units == 0 and again.consumed_read_units > 0
    assert by_key(all_items(session, endpoint, table)) == before


def test_bad_file_leaves_the_table_untouched(env, endpoint, session, table, tmp_path):
    dynamo.seed_table(sample_frame(), table, session=session, endpoint_url=endpoint)
    before = by_key(all_items(session, endpoint, table))
    new_night = sample_frame().with_columns(pl.lit("2026-07-01").alias("batch_date"),
                                            pl.col("window_job_id"))
    changed = sample_frame().with_columns(pl.lit("status-changed").alias("status"))
    bad = pl.concat([new_night, changed]).with_columns(
        pl.when(pl.int_range(pl.len()) == 60).then(pl.lit("yes please"))
        .otherwise(pl.col("requires_exclusive_lock")).alias("requires_exclusive_lock"))
    path = tmp_path / "bad.csv"
    bad.write_csv(path)
    r = run(["seed", "--file", str(path), "--overwrite", "--endpoint-url", endpoint,
             "--table", table])
    assert r.exit_code == 1
    # row 61: the second row of the changed copy (the new night is the sample's 59 rows)
    assert r.stderr.splitlines()[-1].startswith(
        "Error: row 61 (job_id JOB-20260511-002)")
    assert r.stderr.splitlines()[-1].endswith("(nothing was written)")
    assert "requires_exclusive_lock" in r.stderr
    assert by_key(all_items(session, endpoint, table)) == before


@pytest.mark.slow
def test_a_50000_job_partition_loads_completely_through_paging(endpoint, session, table):
    raw = big_night(50_000, "2026-06-01")
    seeded = dynamo.seed_table(raw, table, session=session, endpoint_url=endpoint)
    assert seeded.written == 50_000 and seeded.batches >= 2000
    q = dynamo.query_jobs("2026-06-01", table=table, session=session, endpoint_url=endpoint)
    # DynamoDB pages hold at most 1 MB; ~200-byte items need several pages
    assert q.items == 50_000 and q.pages > 1
    assert q.frame["window_job_id"].n_unique() == 50_000
    got, want = load_night(q.frame, "2026-06-01"), load_night(raw, "2026-06-01")
    assert got.job_id == want.job_id
    for name in ("arrival_minute", "runtime_minutes", "priority", "exclusive"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    # on-demand reads: 0.5 unit per 4 KB eventually consistent, so roughly size/8 KB
    assert 0 < q.consumed_read_units < 50_000


# ------------------------------------------------------------------------------ fault injection
def test_seeding_and_loading_survive_throttling_500s_and_partial_writes(
        endpoint, session, table, fast_retries):
    raw = big_night(600, "2026-06-02", seed=3)

    def writes(target, body, n):
        if target == "BatchWriteItem":
            return [None, ("partial", 10), ("error", 400, "ThrottlingException"),
                    ("error", 500, "InternalServerError"),
                    ("error", 400, "ProvisionedThroughputExceededException")][n % 5]
        return None

    with FaultProxy(endpoint, writes) as proxy:
        res = dynamo.seed_table(raw, table, session=session, endpoint_url=proxy.url,
                                max_attempts=5)
    actions = [a for t, a in proxy.log if t == "BatchWriteItem"]
    assert ("partial", 10) in actions and ("error", 500, "InternalServerError") in actions
    assert res.written == 600 and res.retried_items > 0
    stored = all_items(session, endpoint, table)
    assert len(stored) == len(by_key(stored)) == 600

    def reads(target, body, n):
        if target == "Query":
            return [("error", 400, "ThrottlingException"), None,
                    ("error", 500, "InternalServerError"), None][n % 4]
        return None

    with FaultProxy(endpoint, reads) as proxy:
        q = dynamo.query_jobs("2026-06-02", table=table, session=session,
                              endpoint_url=proxy.url, page_size=50, max_attempts=3)
    queries = [a for t, a in proxy.log if t == "Query"]
    assert len(queries) > q.pages >= 12  # every failed request was retried
    assert q.items == 600 and q.frame["window_job_id"].n_unique() == 600
    assert sorted(q.frame["job_id"]) == sorted(raw["job_id"])


@pytest.mark.parametrize("code,status,expect", [
    ("ThrottlingException", 400, "throttled .* still failed after 3 attempts"),
    ("ProvisionedThroughputExceededException", 400, "throttled .* after 3 attempts"),
    ("InternalServerError", 500, "service error .* after 3 attempts"),
])
def test_exhausted_retries_give_one_clean_error(env, endpoint, session, table, fast_retries,
                                                code, status, expect):
    dynamo.seed_table(sample_frame(), table, session=session, endpoint_url=endpoint)
    with FaultProxy(endpoint, lambda t, b, n: ("error", status, code)) as proxy:
        with pytest.raises(ServiceError, match=expect):
            dynamo.query_jobs("2026-05-13", table=table, session=session,
                              endpoint_url=proxy.url, max_attempts=3)
        assert len(proxy.log) == 3
        r = run(["simulate", "--source", "dynamodb", "--endpoint-url", proxy.url,
                 "--table", table, "--batch-date", "2026-05-13", "--max-attempts", "3"])
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: DynamoDB ") and code in lines[-1]
    assert "Traceback" not in r.output and SECRET not in r.output and KEY_ID not in r.output


def test_unprocessed_items_past_the_budget_give_one_clean_error(endpoint, session, table,
                                                                fast_retries):
    dynamo.seed_table(sample_frame().head(5), table, session=session, endpoint_url=endpoint)
    plan = (lambda t, b, n: ("partial", 25) if t == "BatchWriteItem" else None)
    # the proxy lets one put of each batch through: 25 -> 24 -> 23 -> 22 -> 21 left
    with FaultProxy(endpoint, plan) as proxy:
        with pytest.raises(ServiceError, match=r"left 21 item\(s\) unprocessed .* after 4 "
                                               r"attempts \(throttled\); 4 of 54 items were "
                                               r"written"):
            dynamo.seed_table(sample_frame(), table, session=session, endpoint_url=proxy.url,
                              max_attempts=4)
    assert [t for t, a in proxy.log].count("BatchWriteItem") == 4
    # a re-run without faults finishes the job, still exactly once per item
    res = dynamo.seed_table(sample_frame(), table, session=session, endpoint_url=endpoint)
    assert res.written + res.skipped == 59
    assert len(by_key(all_items(session, endpoint, table))) == 59


def test_access_denied_is_one_line_without_credentials(env, endpoint, table):
    plan = (lambda t, b, n: ("error", 400, "AccessDeniedException"))
    with FaultProxy(endpoint, plan) as proxy:
        r = run(["seed", "--endpoint-url", proxy.url, "--table", table])
    assert r.exit_code == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: access denied when trying to create table '{table}'")
    assert "AccessDeniedException" in last
    assert SECRET not in r.output and KEY_ID not in r.output


def test_missing_table_and_unreachable_endpoint(env, endpoint):
    r = run(["simulate", "--source", "dynamodb", "--endpoint-url", endpoint,
             "--table", "no_such_table", "--batch-date", "2026-05-13"])
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1] == (
        f"Error: DynamoDB table 'no_such_table' not found in region us-east-1 (endpoint "
        f"{endpoint}); create it with 'mcqueue seed' or check --table/--region")
    dead = f"http://127.0.0.1:{free_port()}"
    r = run(["seed", "--endpoint-url", dead, "--max-attempts", "1"])
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1].startswith(
        f"Error: cannot reach the DynamoDB endpoint {dead}")
    assert SECRET not in r.output


def test_cleanup_deletes_the_table(env, endpoint, session, table):
    dynamo.seed_table(sample_frame().head(3), table, session=session, endpoint_url=endpoint)
    r = run(["cleanup", "--endpoint-url", endpoint, "--table", table], input="y\n")
    assert r.exit_code == 0, r.output
    client = session.client("dynamodb", endpoint_url=endpoint)
    assert table not in client.list_tables()["TableNames"]
