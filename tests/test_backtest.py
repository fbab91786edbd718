"""``mcqueue calibrate`` and ``mcqueue backtest``: the commands, no look-ahead, outcomes, errors.

The statistical checks (coverage over >= 1,000 synthetic nights) are in
tests/test_backtest_calibration.py.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from conftest import cli_error, cli_run
from mcqueue.analysis.backtest import (BacktestSettings, backtest, outcomes,
                                       queues_from_history)
from mcqueue.analysis.calibrate import CalibrationModel
from mcqueue.analysis.planning import Settings
from mcqueue.io.history import read_history, sample_history_path

DATES = [f"2026-05-{d:02d}" for d in range(1, 11)]


@pytest.fixture(scope="module")
def history():
    return read_history(sample_history_path())


def settings(**kw) -> BacktestSettings:
    return BacktestSettings(workers=16, simulation=Settings(replications=400, seed=3),
                            job_replications=20, **kw)


# ---------------------------------------------------------------- calibrate command
def test_calibrate_writes_the_model_and_reports_it(tmp_path):
    out = tmp_path / "model.parquet"
    res = cli_run("calibrate", "--output", out, "--format", "json")
    doc = json.loads(res.stdout)
    model = CalibrationModel.read(out)
    assert doc["output"] == str(out) and doc["summary"]["jobs"] == 14
    assert {j["job_name"] for j in doc["jobs"]} == set(
        model.table.filter(pl.col("level") == "job")["job_name"].to_list())
    assert doc["night_component"]["night_cv"] == pytest.approx(model.night_cv)
    pooled = next(j for j in doc["jobs"] if j["job_name"] == "backfill_0200")
    assert pooled["fit"] == "pooled" and pooled["flags"] == ["little_history"]
    me = next(j for j in doc["jobs"] if j["job_name"] == "index_maintenance_0200")
    assert "multimodal" in me["flags"]
    assert "no history file given" in res.stderr
    table = cli_run("calibrate", "--output", out).stdout
    assert "little history (pooled)" in table and "multi-modal (month-end x2.05)" in table


def test_a_fit_that_could_not_be_made_is_never_printed(tmp_path):
    """A job with one successful run and no class mates to pool with has no fit: the report
    shows '-' and null, not a number."""
    h = tmp_path / "h.csv"
    h.write_text("job_name,batch_date,duration_minutes,workload_class\n"
                 "a,2026-01-01,10,x\na,2026-01-02,12,x\na,2026-01-03,11,x\n"
                 "b,2026-01-01,30,y\n")
    doc = json.loads(cli_run("calibrate", h, "-o", tmp_path / "m.parquet", "--format",
                             "json").stdout)
    b = next(j for j in doc["jobs"] if j["job_name"] == "b")
    assert b["fit"] == "none" and b["mean"] is None and b["cv"] is None
    table = cli_run("calibrate", h, "-o", tmp_path / "m.parquet").stdout
    row = next(ln for ln in table.splitlines() if ln.startswith("b "))
    assert "none" in row and "little history (no fit)" in row and " - " in row


def test_calibrate_errors_are_one_line(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("foo,bar\n1,2\n")
    code, line = cli_error("calibrate", bad, "-o", tmp_path / "m.parquet")
    assert code == 1
    assert line.startswith(f"Error: '{bad}' matches no history layout; columns present: "
                           f"'foo', 'bar'; each layout needs (generic: job_name or job_id")
    neg = tmp_path / "n.csv"
    neg.write_text("job_name,batch_date,duration_minutes\na,2026-01-01,5\nb,2026-01-01,-3\n")
    code, line = cli_error("calibrate", neg, "-o", tmp_path / "m.parquet")
    assert (code, line) == (1, f"Error: '{neg}' row 2 (job 'b'): column 'duration_minutes' "
                               f"must be >= 0 (a negative duration), got '-3'")
    assert not (tmp_path / "m.parquet").exists()
    code, line = cli_error("calibrate", "--output", tmp_path)
    assert code == 2 and "is a directory" in line
    code, line = cli_error("calibrate", "--output", tmp_path / "m.parquet",
                           "--half-life-days", "-1")
    assert code == 2 and "--half-life-days" in line


# ---------------------------------------------------------------- backtest: data
def test_queues_rebuilt_from_history_are_the_first_attempts(history):
    q = queues_from_history(history, ["2026-05-10"])
    nt = q["2026-05-10"]
    rows = history.filter(pl.col("batch_date") == dt.date(2026, 5, 10))
    assert set(nt.job_names) == set(rows["job_name"].to_list())
    assert all(j == f"{n}@2026-05-10" for j, n in zip(nt.job_id, nt.job_names))
    first = rows.sort("attempt").group_by("job_name", maintain_order=True).first()
    est = dict(zip(first["job_name"], first["estimated_runtime_minutes"]))
    for name, r, a in zip(nt.job_names, nt.runtime_minutes, nt.arrival_minute):
        assert r == est[name]
        window = first.filter(pl.col("job_name") == name)["requested_window"][0]
        assert a == (int(window[:2]) - 1) * 60 + int(window[3:])  # minutes after 01:00


def test_the_observed_drain_is_the_last_finish_of_the_night(history):
    q = queues_from_history(history, ["2026-05-10"])
    out = outcomes(history, [q["2026-05-10"]])["2026-05-10"]
    rows = history.filter(pl.col("batch_date") == dt.date(2026, 5, 10))
    last = rows["finished_at"].max()
    start = dt.datetime(2026, 5, 10, 1, 0, tzinfo=dt.timezone.utc)
    assert out.drain == pytest.approx((last - start).total_seconds() / 60, abs=1e-9)
    assert not out.missing


def test_no_look_ahead_a_future_run_cannot_change_a_past_forecast(history):
    """Multiply every duration from 2026-05-06 on by 10 (finishes moved accordingly): the
    forecasts of 2026-05-01 .. 05-05, and everything else about those nights, are identical."""
    cut = dt.date(2026, 5, 6)
    late = pl.col("batch_date") >= cut
    changed = history.with_columns(
        pl.when(late).then(pl.col("duration_minutes") * 10).otherwise(
            pl.col("duration_minutes")).alias("duration_minutes"),
        pl.when(late).then(pl.col("started_at") + pl.duration(
            microseconds=(pl.col("finished_at") - pl.col("started_at"))
            .dt.total_microseconds() * 10)).otherwise(pl.col("finished_at"))
        .alias("finished_at"))
    q = queues_from_history(history, DATES)
    a = backtest(history, q, DATES[0], DATES[-1], settings())
    b = backtest(changed, q, DATES[0], DATES[-1], settings())
    before = [r.to_dict() for r in a.rows if r.batch_date < "2026-05-06"]
    assert before == [r.to_dict() for r in b.rows if r.batch_date < "2026-05-06"]
    assert len(before) == 5
    after_a = [r.observed_drain_minute for r in a.rows if r.batch_date >= "2026-05-06"]
    after_b = [r.observed_drain_minute for r in b.rows if r.batch_date >= "2026-05-06"]
    assert all(y > x for x, y in zip(after_a, after_b))  # the change is real


def test_the_night_itself_is_not_in_its_training_window(history):
    q = queues_from_history(history, ["2026-05-10"])
    r = backtest(history, q, "2026-05-10", "2026-05-10", settings()).rows[0]
    assert r.training_nights == 60  # 2026-03-11 .. 2026-05-09
    win = history.filter((pl.col("batch_date") >= dt.date(2026, 3, 11))
                         & (pl.col("batch_date") <= dt.date(2026, 5, 9)) & pl.col("success"))
    assert r.training_runs == win.height


def test_a_night_with_a_job_that_never_finished_is_skipped_and_said_so(history):
    q = queues_from_history(history, ["2026-05-09", "2026-05-10"])
    drop = history.filter(~((pl.col("batch_date") == dt.date(2026, 5, 10))
                            & (pl.col("job_name") == "etl_0100")))
    res = backtest(drop, q, "2026-05-09", "2026-05-10", settings())
    assert [r.batch_date for r in res.rows] == ["2026-05-09"]
    assert res.skipped == [{"batch_date": "2026-05-10", "reason": (
        "no finished run of 1 of its 13 jobs in the history (e.g. 'etl_0100')")}]


def test_per_night_scores_follow_from_the_forecast_quantiles(history):
    q = queues_from_history(history, DATES)
    res = backtest(history, q, DATES[0], DATES[-1], settings())
    for r in res.rows:
        assert r.forecast_p05 <= r.forecast_p25 <= r.forecast_p50 <= r.forecast_p75 \
            <= r.forecast_p95
        assert r.in_p90 == (r.forecast_p05 <= r.observed_drain_minute <= r.forecast_p95)
        assert r.in_p50 == (r.forecast_p25 <= r.observed_drain_minute <= r.forecast_p75)
        assert 0 <= r.pit <= 1 and r.crps >= 0
        assert r.observed_overflow == (r.observed_drain_minute > r.horizon_minutes)
    s = res.summary()
    assert s["coverage_p90"]["estimate"] == np.mean([r.in_p90 for r in res.rows])
    assert sum(b["count"] for b in s["reliability"]) == len(res.rows)


# ---------------------------------------------------------------- backtest command
def test_backtest_command_runs_out_of_the_box_in_every_format(tmp_path):
    args = ["backtest", "--workers", "16", "--from", "2026-05-08", "--to", "2026-05-10",
            "--replications", "300", "--job-replications", "10"]
    doc = json.loads(cli_run(*args, "--format", "json").stdout)
    assert [n["batch_date"] for n in doc["nights"]] == ["2026-05-08", "2026-05-09",
                                                        "2026-05-10"]
    assert doc["summary"]["nights"] == 3 and doc["queues"] == "history"
    csv = cli_run(*args, "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("batch_date,jobs,training_nights") and len(csv) == 4
    table = cli_run(*args).stdout
    assert "drain time in the central 90% interval" in table


def test_backtest_with_the_job_records_of_a_file(tmp_path):
    """Queues from a job file (here: the history's own night rewritten as records, with an
    exclusive job): matched to the history by job_name."""
    h = read_history(sample_history_path())
    q = queues_from_history(h, ["2026-05-10"])["2026-05-10"]
    jobs = tmp_path / "jobs.csv"
    lines = ["batch_date,job_id,job_name,requested_window,workload_class,"
             "estimated_runtime_minutes,priority,requires_exclusive_lock"]
    for i, (n, c, r, w) in enumerate(zip(q.job_names, q.workload_class, q.runtime_minutes,
                                         q.requested_window)):
        lines.append(f"2026-05-10,J{i:02d},{n},{w},{c},{r:g},1,{'true' if i == 0 else 'false'}")
    jobs.write_text("\n".join(lines) + "\n")
    doc = json.loads(cli_run("backtest", "--history", sample_history_path(), "--file", jobs,
                             "--from", "2026-05-10", "--workers", "16", "--replications",
                             "300", "--format", "json").stdout)
    assert doc["queues"] == str(jobs) and doc["nights"][0]["jobs"] == q.n_jobs
    assert doc["nights"][0]["levels_job"] == q.n_jobs


@pytest.mark.parametrize("args,code,start", [
    (["--model-window", "0d"], 2, "Error: Invalid value for '--model-window': must be a "
                                  "number of days >= 1 like 60d, got '0d'"),
    (["--to", "2026-05-01"], 2, "Error: --to needs --from"),
    (["--from", "2026-05-02", "--to", "2026-05-01"], 2, "Error: --to 2026-05-01 is before "
                                                        "--from 2026-05-02"),
    (["--from", "2027-01-01"], 1, "Error: no queued night from 2027-01-01 to 2027-01-01"),
    (["--night-cv", "-0.2"], 2, "Error: Invalid value for '--night-cv': must be a finite "
                                "number >= 0 or 'fitted', got '-0.2'"),
    (["--retries", "11"], 2, "Error: Invalid value for '--retries': 11 is not in the range "
                             "0<=x<=10."),
    (["--batch-end", "5:00"], 2, "Error: Invalid value for '--batch-end': must be HH:MM"),
])
def test_backtest_errors(args, code, start):
    dates = [] if "--from" in args or "--to" in args else ["--from", "2026-05-10"]
    got_code, line = cli_error("backtest", "--replications", "50", *dates, *args)
    assert got_code == code
    assert line.startswith(start), line


def test_a_history_without_finish_times_cannot_be_backtested(tmp_path):
    h = tmp_path / "h.csv"
    h.write_text("job_name,batch_date,duration_minutes,requested_window,workload_class,"
                 "estimated_runtime_minutes\n"
                 + "".join(f"a,2026-01-{d:02d},10,01:00,etl,10\n" for d in range(1, 11)))
    code, line = cli_error("backtest", "--history", h, "--from", "2026-01-05")
    assert code == 1
    assert line == ("Error: the history has no 'finished_at' values: a backtest compares "
                    "forecasts with finish times (started_at/finished_at columns, or the "
                    "catalog's finished_at)")
