"""``mcqueue backtest --source dynamodb`` against the local DynamoDB-compatible server: past
nights in the catalog carry started_at/finished_at; their items are both the queues and the
history, and the numbers equal a backtest of the same rows read from a file."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from click.testing import CliRunner

from dynamo_server import dynamodb_endpoint
from mcqueue.io import dynamo as dynamo
from mcqueue.io.history import read_history, sample_history_path

pytestmark = pytest.mark.dynamodb


@pytest.fixture(scope="module")
def endpoint():
    with dynamodb_endpoint() as url:
        yield url


@pytest.fixture
def env(monkeypatch, tmp_path):
    for var in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "AWS_PROFILE",
                "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "backtest-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "backtest-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_backtest_from_the_catalog_equals_the_same_rows_from_a_file(endpoint, env, tmp_path):
    import polars as pl

    h = read_history(sample_history_path()).filter(pl.col("batch_date") >= pl.date(2026, 4, 1))
    # the catalog holds one item per job and night: each job's last attempt (its outcome)
    last = h.sort("attempt").group_by("batch_date", "job_name", maintain_order=True).last()
    last = last.sort("batch_date", "job_name").with_columns(
        (pl.col("job_name") + "@" + pl.col("batch_date").dt.to_string("%Y-%m-%d"))
        .alias("job_id"))
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    table = f"bt_{uuid.uuid4().hex[:10]}"
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    dynamo.ensure_table(client, table)
    try:
        with boto3.resource("dynamodb", endpoint_url=endpoint,
                            region_name="us-east-1").Table(table).batch_writer() as bw:
            for r in last.iter_rows(named=True):
                bw.put_item(Item={
                    "batch_date": r["batch_date"].isoformat(),
                    "window_job_id": f"{r['requested_window']}#{r['job_id']}",
                    "job_id": r["job_id"], "job_name": r["job_name"],
                    "requested_window": r["requested_window"],
                    "workload_class": r["workload_class"],
                    "estimated_runtime_minutes": int(r["estimated_runtime_minutes"]),
                    "priority": 0, "requires_exclusive_lock": False,
                    "started_at": r["started_at"].strftime(fmt),
                    "finished_at": r["finished_at"].strftime(fmt), "status": "success"})
        args = ["--from", "2026-05-08", "--to", "2026-05-10", "--model-window", "30d",
                "--workers", "16", "--replications", "300", "--job-replications", "10",
                "--format", "json"]
        res = CliRunner().invoke(_cli(), ["backtest", "--source", "dynamodb", "--table", table,
                                          "--endpoint-url", endpoint, *args])
        assert res.exit_code == 0, res.output
        remote = json.loads(res.stdout)
        # the same rows as a generic history file: the same queues and outcomes
        path = tmp_path / "h.csv"
        last.select("job_name", pl.col("batch_date").dt.to_string("%Y-%m-%d"),
                    "workload_class", "requested_window", "estimated_runtime_minutes",
                    pl.col("started_at").dt.strftime(fmt), pl.col("finished_at").dt.strftime(fmt)
                    ).write_csv(path)
        local = json.loads(CliRunner().invoke(_cli(), ["backtest", "--history", str(path),
                                                       *args]).stdout)
    finally:
        client.delete_table(TableName=table)
    assert remote["queues"] == f"table {table}"
    assert [n["batch_date"] for n in remote["nights"]] == ["2026-05-08", "2026-05-09",
                                                           "2026-05-10"]
    assert remote["nights"] == local["nights"]
    assert remote["summary"] == local["summary"]


def _cli():
    from mcqueue.cli.main import cli

    return cli
