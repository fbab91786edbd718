"""mcqueue.io.dynamo against moto's in-process mock (fast; the real server is in the integration
tests). AWS_ENDPOINT_URL_DYNAMODB is unset here, or botocore would bypass the mock."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from mcqueue.io import dynamo as dynamo
from mcqueue.errors import DataError, ServiceError
from mcqueue.io.sample import load_sample, sample_frame
from mcqueue.io.schema import load_night, validate_jobs

ROOT = Path(__file__).resolve().parent.parent
SECRET = "unit-secret-key-never-printed"
_ENDPOINT_VARS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL",
                  "AWS_ENDPOINT_URL_CLOUDFORMATION", "MCQUEUE_TEST_DYNAMODB_ENDPOINT")


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    for var in (*_ENDPOINT_VARS, "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "unit-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask the metadata service
    monkeypatch.setattr(dynamo, "_sleep", lambda s: None)


@pytest.fixture
def mock(aws_env):
    from moto import mock_aws

    with mock_aws():
        yield dynamo.make_client("dynamodb")


def count_items(client, table):
    return client.scan(TableName=table, Select="COUNT")["Count"]


def test_seed_creates_on_demand_table_and_a_night_round_trips(mock):
    res = dynamo.seed_table(sample_frame(), "catalog")
    assert (res.created_table, res.items, res.written, res.skipped) == (True, 59, 59, 0)
    desc = mock.describe_table(TableName="catalog")["Table"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert sorted((k["AttributeName"], k["KeyType"]) for k in desc["KeySchema"]) == [
        ("batch_date", "HASH"), ("window_job_id", "RANGE")]
    tags = mock.list_tags_of_resource(ResourceArn=desc["TableArn"])["Tags"]
    assert {"Key": "application", "Value": "mcqueue"} in tags
    assert count_items(mock, "catalog") == 59

    q = dynamo.query_jobs("2026-05-13", table="catalog")
    assert (q.items, q.pages) == (10, 1)
    assert q.consumed_read_units > 0
    assert q.cost_usd == pytest.approx(q.consumed_read_units * 0.125 / 1e6)
    got, want = load_night(q.frame, "2026-05-13"), load_sample("2026-05-13")
    assert got.job_id == want.job_id
    for name in ("arrival_minute", "runtime_minutes", "priority", "exclusive"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))


def test_query_is_one_paged_query_never_a_scan(mock):
    calls = []
    mock.meta.events.register("before-call.dynamodb.*",
                              lambda model, **kw: calls.append(model.name))
    frame = pl.DataFrame({
        "batch_date": ["2026-06-01"] * 120, "job_id": [f"J{i:03d}" for i in range(120)],
        "requested_window": ["01:00", "02:00", "03:00"] * 40,
        "workload_class": ["etl"] * 120, "estimated_runtime_minutes": ["5"] * 120,
        "priority": ["1"] * 120, "requires_exclusive_lock": ["false"] * 120})
    dynamo.seed_table(frame, "catalog", client=mock)
    calls.clear()
    q = dynamo.query_jobs("2026-06-01", table="catalog", page_size=7, client=mock)
    assert q.items == 120 and q.frame["job_id"].n_unique() == 120
    assert q.pages == len(calls) >= math.ceil(120 / 7)
    assert set(calls) == {"Query"}

    w = dynamo.query_jobs("2026-06-01", "02:00", table="catalog", page_size=7, client=mock)
    assert w.items == 40
    assert set(w.frame["requested_window"]) == {"02:00"}


def test_reseeding_changes_nothing(mock):
    dynamo.seed_table(sample_frame(), "catalog")
    before = dynamo.query_jobs("2026-05-14", table="catalog").frame
    again = dynamo.seed_table(sample_frame(), "catalog")
    assert (again.created_table, again.written, again.skipped, again.conflicts) == (
        False, 0, 59, 0)
    assert again.consumed_write_units == 0
    assert count_items(mock, "catalog") == 59
    assert dynamo.query_jobs("2026-05-14", table="catalog").frame.equals(before)


def test_differing_item_is_left_alone_unless_overwrite(mock):
    dynamo.seed_table(sample_frame(), "catalog")
    key = {"batch_date": {"S": "2026-05-13"}, "window_job_id": {"S": "01:00#JOB-20260513-001"}}
    mock.update_item(TableName="catalog", Key=key, UpdateExpression="SET priority = :p",
                     ExpressionAttributeValues={":p": {"N": "9"}})
    res = dynamo.seed_table(sample_frame(), "catalog")
    assert (res.written, res.skipped, res.conflicts) == (0, 58, 1)
    assert mock.get_item(TableName="catalog", Key=key)["Item"]["priority"] == {"N": "9"}
    res = dynamo.seed_table(sample_frame(), "catalog", overwrite=True)
    assert (res.written, res.skipped, res.overwritten, res.conflicts) == (1, 58, 1, 0)
    assert mock.get_item(TableName="catalog", Key=key)["Item"]["priority"] == {"N": "2"}


def test_bad_record_writes_nothing_not_even_the_table(mock):
    bad = sample_frame().with_columns(
        pl.when(pl.int_range(pl.len()) == 30).then(pl.lit("-4"))
        .otherwise(pl.col("estimated_runtime_minutes")).alias("estimated_runtime_minutes"))
    with pytest.raises(DataError, match=r"row 31 .*estimated_runtime_minutes.*'-4'"):
        dynamo.seed_table(bad, "catalog")
    assert mock.list_tables()["TableNames"] == []


def test_non_finite_numbers_are_refused_before_any_write(mock):
    recs = [{"batch_date": "2026-06-01", "job_id": "A", "requested_window": "01:00",
             "workload_class": "etl", "estimated_runtime_minutes": 5, "priority": 1,
             "requires_exclusive_lock": False, "arrival_minute": float("inf")}]
    with pytest.raises(DataError, match="arrival_minute"):
        dynamo.seed_table(recs, "catalog")
    with pytest.raises(DataError, match="finite"):
        dynamo._number(float("nan"), "estimated_runtime_minutes", "A")
    assert mock.list_tables()["TableNames"] == []


def test_numbers_cross_as_decimal_strings():
    assert dynamo._number(25.0, "x", "A") == "25"
    assert dynamo._number(12.5, "x", "A") == "12.5"
    assert dynamo._number(0.1, "x", "A") == str(Decimal(str(0.1))) == "0.1"
    assert dynamo._number(7, "x", "A") == "7"


def test_items_to_frame_handles_mixed_and_sparse_attributes():
    items = [
        {"batch_date": {"S": "2026-06-01"}, "job_id": {"S": "A"},
         "requested_window": {"S": "01:00"}, "workload_class": {"S": "etl"},
         "estimated_runtime_minutes": {"N": "5"}, "priority": {"N": "1"},
         "requires_exclusive_lock": {"BOOL": True}},
        {"batch_date": {"S": "2026-06-01"}, "job_id": {"S": "B"},
         "requested_window": {"S": "01:00"}, "workload_class": {"S": "etl"},
         "estimated_runtime_minutes": {"N": "2.5"}, "priority": {"N": "3"},
         "requires_exclusive_lock": {"N": "0"}, "arrival_minute": {"N": "7.25"},
         "status": {"NULL": True}},
    ]
    frame = dynamo.items_to_frame(items)
    assert frame["requires_exclusive_lock"].to_list() == ["true", "0"]
    assert frame["arrival_minute"].to_list() == [None, "7.25"]
    assert frame["status"].to_list() == [None, None]
    v = validate_jobs(frame)
    assert v["requires_exclusive_lock"].to_list() == [True, False]
    assert v["estimated_runtime_minutes"].to_list() == [5.0, 2.5]
    assert v["arrival_minute"].to_list() == [None, 7.25]


_record = st.fixed_dictionaries({
    "job_id": st.text("ABCXYZ0123-_", min_size=1, max_size=8),
    "requested_window": st.sampled_from(["00:30", "01:00", "02:15", "23:59"]),
    "workload_class": st.sampled_from(["etl", "refresh", "backfill", "index maintenance"]),
    "estimated_runtime_minutes": st.floats(1e-3, 1e4, allow_nan=False),
    "priority": st.integers(-5, 2**40),
    "requires_exclusive_lock": st.booleans(),
    # DynamoDB stores magnitudes from 1e-130 (a smaller one is refused before any write)
    "arrival_minute": st.none() | st.just(0.0) | st.floats(1e-100, 1e4, allow_nan=False),
    "status": st.none() | st.sampled_from(["queued", "running"]),
})


@settings(deadline=None, derandomize=True, max_examples=40)
@given(st.lists(_record, min_size=1, max_size=12, unique_by=lambda r: r["job_id"]))
def test_records_round_trip_through_attribute_values(records):
    for r in records:
        r["batch_date"] = "2026-06-01"
    validated = validate_jobs(records)
    back = validate_jobs(dynamo.items_to_frame(dynamo.frame_to_items(validated)))
    assert back.drop("__row").equals(validated.drop("__row"))


def test_missing_table_names_table_and_region(mock):
    with pytest.raises(ServiceError, match=r"table 'nope' not found in region us-east-1 "):
        dynamo.query_jobs("2026-05-13", table="nope")
    with pytest.raises(ServiceError, match=r"table 'nope' not found"):
        dynamo.delete_table("nope")


def test_delete_table(mock):
    dynamo.seed_table(sample_frame(), "catalog")
    res = dynamo.delete_table("catalog", poll=0)
    assert (res.kind, res.name) == ("table", "catalog")
    assert mock.list_tables()["TableNames"] == []


def test_existing_table_with_other_key_schema_is_refused(mock):
    mock.create_table(TableName="other", BillingMode="PAY_PER_REQUEST",
                      KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
                      AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}])
    with pytest.raises(ServiceError, match="key schema job_id HASH; mcqueue needs"):
        dynamo.seed_table(sample_frame(), "other")


def test_delete_stack_made_from_the_template(mock):
    cfn = dynamo.make_client("cloudformation")
    body = (ROOT / "infra" / "dynamodb_table.yaml").read_text()
    cfn.create_stack(StackName="mcq", TemplateBody=body,
                     Parameters=[{"ParameterKey": "TableName", "ParameterValue": "stacked"}])
    assert "stacked" in mock.list_tables()["TableNames"]
    res = dynamo.delete_stack("mcq", poll=0)
    assert (res.kind, res.name) == ("stack", "mcq")
    # moto keeps the table of a deleted stack, so check the stack itself is gone
    assert [s["StackStatus"] for s in cfn.list_stacks()["StackSummaries"]] == ["DELETE_COMPLETE"]
    with pytest.raises(ServiceError, match="CloudFormation stack 'nope' not found"):
        dynamo.delete_stack("nope")


def test_no_credentials_is_one_clear_line(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ServiceError, match="^no AWS credentials found"):
        dynamo.query_jobs("2026-05-13", endpoint_url="http://127.0.0.1:9")


def test_unknown_profile_is_a_service_error(aws_env):
    with pytest.raises(ServiceError, match="AWS profile 'ghost' not found"):
        dynamo.query_jobs("2026-05-13", profile="ghost")


def test_endpoint_variable_is_honoured_and_gets_a_default_region(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    client = dynamo.make_client("dynamodb", max_attempts=4)
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.region_name == dynamo.LOCAL_DEFAULT_REGION
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 4}
    explicit = dynamo.make_client("dynamodb", endpoint_url="http://127.0.0.1:10")
    assert explicit.meta.endpoint_url == "http://127.0.0.1:10"


def test_bad_inputs_are_data_errors(aws_env):
    with pytest.raises(DataError, match="batch date must be YYYY-MM-DD, got '13/05/2026'"):
        dynamo.query_jobs("13/05/2026")
    with pytest.raises(DataError, match="window must be HH:MM"):
        dynamo.query_jobs("2026-05-13", "25:00")


# ------------------------------------------------------------------------- CLI, in-process
def run(args, input=None):
    from mcqueue.cli.main import cli

    return CliRunner().invoke(cli, args, input=input)


def test_cli_seed_and_cleanup(mock):
    r = run(["seed", "--table", "catalog", "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["written"], out["skipped"], out["created_table"]) == (59, 0, True)
    r = run(["seed", "--table", "catalog"])
    assert r.exit_code == 0
    assert "items: 59 in input, 0 written, 59 already present" in r.stdout

    r = run(["cleanup", "--table", "catalog"], input="n\n")
    assert r.exit_code == 1 and "Aborted" in r.output
    assert mock.list_tables()["TableNames"] == ["catalog"]
    r = run(["cleanup", "--table", "catalog", "--yes"])
    assert r.exit_code == 0
    assert r.stdout.startswith("deleted table catalog (us-east-1")
    assert mock.list_tables()["TableNames"] == []

    r = run(["cleanup", "--table", "catalog", "--yes"])
    assert r.exit_code == 1
    assert r.output.startswith("Error: DynamoDB table 'catalog' not found in region us-east-1")
    assert len(r.output.strip().splitlines()) == 1


def test_cli_seed_bad_file_is_one_error_line(mock, tmp_path):
    path = tmp_path / "bad.csv"
    sample_frame().with_columns(pl.lit("often").alias("priority")).write_csv(path)
    r = run(["seed", "--file", str(path), "--table", "catalog"])
    assert r.exit_code == 1
    assert r.stderr.splitlines()[-1] == (
        "Error: row 1 (job_id JOB-20260511-001): field 'priority' must be an integer, "
        "got 'often' (nothing was written)")
    assert mock.list_tables()["TableNames"] == []


def test_cli_no_credentials_never_prints_secrets(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    r = run(["seed", "--endpoint-url", "http://127.0.0.1:9"])
    assert r.exit_code == 1
    assert r.output.splitlines()[-1].startswith("Error: no AWS credentials found")
    assert "unit-key-id" not in r.output


def test_header_only_input_seeds_nothing_not_even_the_table(mock):
    with pytest.raises(DataError, match="no job records to seed"):
        dynamo.seed_table(sample_frame().head(0), "catalog")
    assert mock.list_tables()["TableNames"] == []
