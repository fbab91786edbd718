"""Run-history readers: every layout on a hand-written fixture, detection, and every error.

Expected values are worked out by hand from the fixture text (durations in minutes, UTC times),
never computed with the reader's own expressions.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json

import polars as pl
import pytest

from mcqueue.errors import DataError, quote
from mcqueue.io.history import (HISTORY_COLUMNS, HISTORY_SCHEMA, LAYOUTS, detect_layout,
                                layout_needs, normalise_history, read_history)

UTC = dt.timezone.utc


def t(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=UTC)


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    data = text.encode()
    path.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
    return str(path)


def one_line_error(excinfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg
    return msg


# ---------------------------------------------------------------- quote
def test_quote_escapes_control_characters_and_cuts_long_values():
    assert quote("a\nb\x1b[31m\t") == "'a\\nb\\x1b[31m\\t'"
    assert quote(None) == "null"
    assert quote(2.5) == "2.5"
    assert quote(True) == "True"
    long = "x" * 500
    assert quote(long) == "'" + "x" * 200 + "'... (500 characters)"
    assert quote(dt.date(2026, 5, 1)) == "'2026-05-01'"


# ---------------------------------------------------------------- generic
GENERIC_CSV = """\
Job_Name,batch_date,workload_class,started_at,finished_at,ready_at,requested_window,estimated_runtime_minutes,status,attempt
etl_a,2026-05-01,etl,2026-05-01T01:05:00Z,2026-05-01T01:35:30Z,2026-05-01T01:03:00Z,01:00,25,Success,1
etl_a,2026-05-02,etl,2026-05-02 01:00:00+02:00,2026-05-02T00:20:00+01:00,,01:00,25,failed,1
etl_a,2026-05-02,etl,2026-05-02T01:00:00,2026-05-02T01:45,2026-05-01T23:58:00-00:30,01:00,25,SUCCEEDED,2
idx_b,2026-05-02,,2026-05-02T02:00:00.250Z,2026-05-02T02:10:00.250Z,,,,completed,
idx_b,2026-05-03,,,,,,,running,
"""


def test_generic_csv(tmp_path):
    h = read_history(write(tmp_path, "runs.csv", GENERIC_CSV))
    assert h.columns == list(HISTORY_COLUMNS)
    assert dict(h.schema) == HISTORY_SCHEMA
    assert h["job_name"].to_list() == ["etl_a", "etl_a", "etl_a", "idx_b", "idx_b"]
    assert h["batch_date"].to_list() == [dt.date(2026, 5, 1), dt.date(2026, 5, 2),
                                         dt.date(2026, 5, 2), dt.date(2026, 5, 2),
                                         dt.date(2026, 5, 3)]
    assert h["workload_class"].to_list() == ["etl", "etl", "etl", None, None]
    # 30.5 min; 01:00+02:00 = 23:00Z to 00:20+01:00 = 23:20Z: 20 min; no offset = UTC: 45 min
    assert h["duration_minutes"].to_list() == [30.5, 20.0, 45.0, 10.0, None]
    assert h["started_at"].to_list()[:2] == [t("2026-05-01T01:05:00"), t("2026-05-01T23:00:00")]
    assert h["finished_at"][3] == t("2026-05-02T02:10:00.250")
    assert h["ready_at"].to_list() == [t("2026-05-01T01:03:00"), None,
                                       t("2026-05-02T00:28:00"), None, None]
    assert h["requested_window"].to_list() == ["01:00"] * 3 + [None, None]
    assert h["estimated_runtime_minutes"].to_list() == [25.0, 25.0, 25.0, None, None]
    assert h["status"].to_list() == ["Success", "failed", "SUCCEEDED", "completed", "running"]
    assert h["success"].to_list() == [True, False, True, True, False]
    assert h["attempt"].to_list() == [1, 1, 2, None, None]
    assert h["source_row"].to_list() == [1, 2, 3, 4, 5]
    assert set(h["layout"]) == {"generic"}
    assert h["source"][0].endswith("runs.csv")


def test_generic_duration_minutes_jsonl_gz_and_job_id(tmp_path):
    lines = [{"job_id": "J1", "batch_date": "2026-05-01", "duration_minutes": 12.5},
             {"job_id": "J1", "batch_date": "2026-05-02", "duration_minutes": "7"},
             {"job_id": "J2", "job_name": "named", "batch_date": "2026-05-02",
              "duration_minutes": 0}]
    text = "\n".join(json.dumps(x) for x in lines) + "\n"
    h = read_history(write(tmp_path, "runs.jsonl.gz", text))
    assert h["job_name"].to_list() == ["J1", "J1", "named"]
    assert h["duration_minutes"].to_list() == [12.5, 7.0, 0.0]
    assert h["success"].to_list() == [True, True, True]  # no status column: all succeeded
    assert h["started_at"].null_count() == 3


def test_generic_parquet_native_datetimes(tmp_path):
    berlin = pl.Datetime("us", "Europe/Berlin")
    frame = pl.DataFrame({
        "job_name": ["a", "a"],
        "batch_date": [dt.date(2026, 5, 1), dt.date(2026, 5, 2)],
        "started_at": pl.Series([dt.datetime(2026, 5, 1, 1, 0), dt.datetime(2026, 5, 2, 1, 0)]),
        "finished_at": pl.Series([dt.datetime(2026, 5, 1, 3, 30),
                                  dt.datetime(2026, 5, 2, 3, 0)]).dt.replace_time_zone(
            "Europe/Berlin").cast(berlin),
    })
    path = tmp_path / "runs.parquet"
    frame.write_parquet(path)
    h = read_history(path)
    # naive start read as UTC; 03:30 in Berlin (CEST, +02:00) is 01:30Z
    assert h["duration_minutes"].to_list() == [30.0, 0.0]
    assert h["finished_at"][0] == t("2026-05-01T01:30:00")


# ---------------------------------------------------------------- Airflow
AIRFLOW_CSV = """\
dag_id,task_id,run_id,map_index,start_date,end_date,duration,state,try_number,queued_dttm,pool
nightly,load,scheduled__2026-05-10T01:00:00+00:00,-1,2026-05-11 01:02:03.5+00,2026-05-11 01:32:03.5+00,1800.0,success,1,2026-05-11 00:10:00+00,default_pool
nightly,load,scheduled__2026-05-11T01:00:00+00:00,-1,2026-05-12 01:00:00+00,,,failed,1,2026-05-12 00:50:00+00,default_pool
nightly,load,manual_rerun,-1,2026-05-12 09:00:00+00,2026-05-12 09:12:00+00,720.0,up_for_retry,2,2026-05-12 08:00:00+00,default_pool
nightly,report,scheduled__2026-05-10T01:00:00+00:00,-1,,,900,success,3,,default_pool
"""


def test_airflow_task_instance_export(tmp_path):
    h = read_history(write(tmp_path, "ti.csv", AIRFLOW_CSV))
    assert set(h["layout"]) == {"airflow"}
    assert h["job_name"].to_list() == ["nightly.load"] * 3 + ["nightly.report"]
    # the date in run_id; a run_id without one falls back to the start's UTC date
    assert h["batch_date"].to_list() == [dt.date(2026, 5, 10), dt.date(2026, 5, 11),
                                         dt.date(2026, 5, 12), dt.date(2026, 5, 10)]
    assert h["duration_minutes"].to_list() == [30.0, None, 12.0, 15.0]  # 900 s
    assert h["success"].to_list() == [True, False, False, True]
    assert h["attempt"].to_list() == [1, 1, 2, 3]
    assert h["ready_at"].null_count() == 4  # queued_dttm is never a ready time
    assert h["started_at"][0] == t("2026-05-11T01:02:03.5")


def test_airflow_execution_date_wins_over_run_id(tmp_path):
    text = ("dag_id,task_id,execution_date,run_id,start_date,end_date,state\n"
            "d,t,2026-05-09T01:00:00+00:00,scheduled__2026-05-01T01:00:00+00:00,"
            "2026-05-10T01:00:00+00:00,2026-05-10T01:06:00+00:00,success\n")
    h = read_history(write(tmp_path, "ti.csv", text))
    assert h["batch_date"].to_list() == [dt.date(2026, 5, 9)]
    assert h["duration_minutes"].to_list() == [6.0]


# ---------------------------------------------------------------- SQL Server
SYSJOBHISTORY_CSV = """\
INSTANCE_ID,Job_ID,Name,STEP_ID,STEP_NAME,RUN_STATUS,RUN_DATE,RUN_TIME,RUN_DURATION
1,0A1B,Nightly ETL,1,extract,1,20260511,13000,1000
2,0A1B,Nightly ETL,0,(Job outcome),1,20260511,13000,12345
3,0A1B,Nightly ETL,0,(Job outcome),0,20260512,5,0
4,0A1B,Nightly ETL,0,(Job outcome),3,20260513,235959,1000000
"""


def test_sqlserver_sysjobhistory(tmp_path):
    h = read_history(write(tmp_path, "sysjobhistory.csv", SYSJOBHISTORY_CSV))
    assert set(h["layout"]) == {"sqlserver"}
    assert h["source_row"].to_list() == [2, 3, 4]  # step 1 is part of a run, not a run
    assert h["job_name"].to_list() == ["Nightly ETL"] * 3
    assert h["batch_date"].to_list() == [dt.date(2026, 5, 11), dt.date(2026, 5, 12),
                                         dt.date(2026, 5, 13)]
    assert h["started_at"].to_list() == [t("2026-05-11T01:30:00"), t("2026-05-12T00:00:05"),
                                         t("2026-05-13T23:59:59")]
    # 1:23:45 = 83.75 min; 0; 100:00:00 = 6000 min
    assert h["duration_minutes"].to_list() == [83.75, 0.0, 6000.0]
    assert h["finished_at"][0] == t("2026-05-11T02:53:45")
    assert h["status"].to_list() == ["succeeded", "failed", "canceled"]
    assert h["success"].to_list() == [True, False, False]


def test_sqlserver_job_id_when_no_name(tmp_path):
    text = "job_id,step_id,run_status,run_date,run_time,run_duration\nAB-12,0,1,20260501,10000,30\n"
    h = read_history(write(tmp_path, "h.csv", text))
    assert h["job_name"].to_list() == ["AB-12"]
    assert h["duration_minutes"].to_list() == [0.5]


# ---------------------------------------------------------------- DynamoDB catalog
def _item(**fields):
    return json.dumps({"Item": {k: ({"N": str(v)} if isinstance(v, (int, float))
                                    else {"S": v}) for k, v in fields.items()}})


def test_dynamodb_catalog_items(tmp_path):
    base = {"window_job_id": "01:00#JOB-1", "requested_window": "01:00",
            "workload_class": "etl", "estimated_runtime_minutes": 25, "priority": 2}
    lines = [
        _item(batch_date="2026-05-11", job_id="JOB-20260511-001", job_name="etl_0100",
              started_at="2026-05-11T01:00:00Z", finished_at="2026-05-11T01:26:00Z",
              status="completed", **base),
        _item(batch_date="2026-05-12", job_id="JOB-20260512-001",
              started_at="2026-05-12T01:00:00Z", finished_at="2026-05-12T01:10:00Z",
              status="failed", **base),
        _item(batch_date="2026-05-13", job_id="JOB-20260513-001", status="queued", **base),
    ]
    h = read_history(write(tmp_path, "export.ddb.jsonl.gz", "\n".join(lines) + "\n"))
    assert set(h["layout"]) == {"dynamodb"}
    assert h["source_row"].to_list() == [1, 2]  # the queued item has not run: not history
    assert h["job_name"].to_list() == ["etl_0100", "JOB-20260512-001"]  # job_name, else job_id
    assert h["duration_minutes"].to_list() == [26.0, 10.0]
    assert h["success"].to_list() == [True, False]
    assert h["estimated_runtime_minutes"].to_list() == [25.0, 25.0]
    assert h["ready_at"].null_count() == 2  # submitted_at is not a ready time either


def test_several_files_concatenate_in_order(tmp_path):
    a = write(tmp_path, "a.csv", "job_name,batch_date,duration_minutes\nx,2026-05-01,3\n")
    b = write(tmp_path, "b.csv", SYSJOBHISTORY_CSV)
    h = read_history([a, b])
    assert h["layout"].to_list() == ["generic", "sqlserver", "sqlserver", "sqlserver"]
    assert [s.rsplit("/", 1)[-1] for s in h["source"]] == ["a.csv", "b.csv", "b.csv", "b.csv"]
    assert h["source_row"].to_list() == [1, 2, 3, 4]


# ---------------------------------------------------------------- detection
@pytest.mark.parametrize("columns,layout", [
    (["job_name", "batch_date", "duration_minutes"], "generic"),
    (["job_id", "batch_date", "started_at", "finished_at"], "generic"),
    (["batch_date", "job_id", "window_job_id", "started_at", "finished_at"], "dynamodb"),
    (["dag_id", "task_id", "run_id", "state", "start_date", "end_date"], "airflow"),
    (["DAG_ID", "task_id", "execution_date", "state", "duration"], "airflow"),
    (["name", "step_id", "run_status", "run_date", "run_time", "run_duration"], "sqlserver"),
])
def test_detect_layout(columns, layout):
    assert detect_layout(columns) == layout


def test_layout_matching_none_lists_columns_and_needs(tmp_path):
    path = write(tmp_path, "x.csv", "when,what\n2026-05-01,a\n")
    with pytest.raises(DataError) as e:
        read_history(path)
    assert one_line_error(e) == (
        f"{quote(path)} matches no history layout; columns present: 'when', 'what'; each "
        "layout needs (generic: job_name or job_id, batch_date, started_at+finished_at or "
        "duration_minutes; airflow: dag_id, task_id, run_id or execution_date, state, "
        "start_date+end_date or duration; sqlserver: job_name or name or job_id, run_date, "
        "run_time, run_duration, run_status, step_id; dynamodb: batch_date, job_id, "
        "window_job_id, started_at, finished_at)")


def test_explicit_layout_missing_column(tmp_path):
    path = write(tmp_path, "x.csv", "job_name,batch_date,duration_minutes\nx,2026-05-01,3\n")
    with pytest.raises(DataError) as e:
        read_history(path, layout="airflow")
    assert one_line_error(e) == (
        f"{quote(path)}: the airflow layout needs column dag_id (it needs "
        f"{layout_needs('airflow')}); columns present: 'job_name', 'batch_date', "
        "'duration_minutes'")
    with pytest.raises(DataError, match="unknown history layout 'cron'; choose one of "
                                        + ", ".join(LAYOUTS)):
        read_history(path, layout="cron")


def test_explicit_layout_forces_generic_on_catalog_columns(tmp_path):
    text = ("batch_date,job_id,window_job_id,started_at,finished_at,status\n"
            "2026-05-01,J,01:00#J,,,failed\n")
    path = write(tmp_path, "x.csv", text)
    assert read_history(path).height == 0  # dynamodb: an item without a finish never ran
    assert read_history(path, layout="generic")["success"].to_list() == [False]


def test_columns_equal_but_for_case(tmp_path):
    path = write(tmp_path, "x.csv",
                 "job_name,JOB_NAME,batch_date,duration_minutes\na,b,2026-05-01,1\n")
    with pytest.raises(DataError, match="columns 'job_name' and 'JOB_NAME' differ only in case"):
        read_history(path)


# ---------------------------------------------------------------- errors: row, column, value
GEN_HEAD = "job_name,batch_date,started_at,finished_at,duration_minutes,status\n"
GOOD = "a,2026-05-01,2026-05-01T01:00:00Z,2026-05-01T01:10:00Z,,success\n"


@pytest.mark.parametrize("bad_row,expected", [
    (",2026-05-01,2026-05-01T01:00:00Z,2026-05-01T01:10:00Z,,success",
     "row 2: column 'job_name' is missing, got null"),
    ("b,2026-5-01,2026-05-01T01:00:00Z,2026-05-01T01:10:00Z,,success",
     "row 2 (job 'b'): column 'batch_date' must be a date YYYY-MM-DD, got '2026-5-01'"),
    ("b,2026-05-01,01:00,2026-05-01T01:10:00Z,,success",
     "row 2 (job 'b'): column 'started_at' is not an ISO-8601 date and time like "
     "2026-05-11T01:30:00Z, got '01:00'"),
    ("b,2026-05-01,2026-02-30T01:00:00Z,2026-05-01T01:10:00Z,,success",
     "row 2 (job 'b'): column 'started_at' is not an ISO-8601 date and time like "
     "2026-05-11T01:30:00Z, got '2026-02-30T01:00:00Z'"),
    ("b,2026-05-01,2026-05-01T01:00:00Z,2026-05-01T00:59:59Z,,success",
     "row 2 (job 'b'): column 'finished_at' is before started_at (a run cannot end before it "
     "starts), got '2026-05-01T00:59:59Z'"),
    ("b,2026-05-01,,,-3,success",
     "row 2 (job 'b'): column 'duration_minutes' must be >= 0 (a negative duration), got '-3'"),
    ("b,2026-05-01,,,ten,success",
     "row 2 (job 'b'): column 'duration_minutes' must be a number, got 'ten'"),
    ("b,2026-05-01,,,inf,success",
     "row 2 (job 'b'): column 'duration_minutes' must be a finite number, got 'inf'"),
    ("b,2026-05-01,2026-05-01T01:00:00Z,,,success",
     "row 2 (job 'b'): column 'finished_at' is missing: a successful run needs its duration "
     "(start and finish times, or a duration column), got null"),
])
def test_generic_errors_name_row_column_value(tmp_path, bad_row, expected):
    path = write(tmp_path, "h.csv", GEN_HEAD + GOOD + bad_row + "\n")
    with pytest.raises(DataError) as e:
        read_history(path)
    assert one_line_error(e) == f"{quote(path)} {expected}"


def test_error_value_with_control_characters_is_escaped_and_cut(tmp_path):
    frame = pl.DataFrame({"job_name": ["a"], "batch_date": ["2026-05-01"],
                          "started_at": ["\x1b[31m" + "9" * 400], "finished_at": [None],
                          "status": ["success"]})
    with pytest.raises(DataError) as e:
        normalise_history(frame, source="db")
    msg = one_line_error(e)
    assert msg.startswith("'db' row 1 (job 'a'): column 'started_at' is not an ISO-8601")
    assert msg.endswith("got '\\x1b[31m" + "9" * 195 + "'... (405 characters)")
    assert "\x1b" not in msg


def test_optional_column_errors(tmp_path):
    head = ("job_name,batch_date,duration_minutes,requested_window,estimated_runtime_minutes,"
            "attempt\n")
    cases = [
        ("a,2026-05-01,3,25:00,10,1", "column 'requested_window' must be HH:MM (00:00 to 23:59), "
                                      "got '25:00'"),
        ("a,2026-05-01,3,01:00,0,1", "column 'estimated_runtime_minutes' must be a number > 0, "
                                     "got '0'"),
        ("a,2026-05-01,3,01:00,10,1.5", "column 'attempt' must be an integer, got '1.5'"),
        ("a,2026-05-01,3,01:00,10,-1", "column 'attempt' must be an integer >= 0, got '-1'"),
    ]
    for row, expected in cases:
        path = write(tmp_path, "h.csv", head + row + "\n")
        with pytest.raises(DataError) as e:
            read_history(path)
        assert one_line_error(e) == f"{quote(path)} row 1 (job 'a'): {expected}"


SQL_HEAD = "job_name,step_id,run_status,run_date,run_time,run_duration\n"


@pytest.mark.parametrize("row,expected", [
    ("j,0,1,20261345,10000,100", "column 'run_date' must be a date yyyymmdd, got '20261345'"),
    ("j,0,1,2026051,10000,100", "column 'run_date' must be a date yyyymmdd, got '2026051'"),
    ("j,0,1,20260501,250000,100", "column 'run_time' must be a time of day HHMMSS (0 to "
                                  "235959), got '250000'"),
    ("j,0,1,20260501,16000,100", "column 'run_time' must be a time of day HHMMSS (0 to "
                                 "235959), got '16000'"),
    ("j,0,1,20260501,10000,-5", "column 'run_duration' must be >= 0 (a negative duration), "
                                "got '-5'"),
    ("j,0,1,20260501,10000,170", "column 'run_duration' must be a duration HHMMSS, got '170'"),
    ("j,0,1,20260501,10000,9007199254740000", "column 'run_duration' gives a duration above "
                                              "1,000,000,000 minutes, got '9007199254740000'"),
    ("j,0,7,20260501,10000,100", "column 'run_status' must be 0 to 4 (failed, succeeded, "
                                 "retry, canceled, in progress), got '7'"),
    ("j,0,1,20260501,1e4x,100", "column 'run_time' must be an integer, got '1e4x'"),
    ("j,0,1,,10000,100", "column 'run_date' is missing, got null"),
])
def test_sqlserver_errors(tmp_path, row, expected):
    path = write(tmp_path, "h.csv", SQL_HEAD + row + "\n")
    with pytest.raises(DataError) as e:
        read_history(path)
    assert one_line_error(e) == f"{quote(path)} row 1 (job 'j'): {expected}"


def test_airflow_errors(tmp_path):
    head = "dag_id,task_id,run_id,start_date,end_date,duration,state\n"
    path = write(tmp_path, "ti.csv", head + "d,t,manual,,,60,success\n")
    with pytest.raises(DataError) as e:
        read_history(path)
    assert one_line_error(e) == (f"{quote(path)} row 1 (job 'd.t'): column 'run_id' carries no "
                                 "date and the run has no start_date, got 'manual'")
    path = write(tmp_path, "ti.csv", head + "d,t,scheduled__2026-05-01,,,-60,success\n")
    with pytest.raises(DataError) as e:
        read_history(path)
    assert one_line_error(e) == (f"{quote(path)} row 1 (job 'd.t'): column 'duration' must be "
                                 ">= 0 (a negative duration), got '-60'")
    path = write(tmp_path, "ti.csv", head + ",t,scheduled__2026-05-01,,,60,success\n")
    with pytest.raises(DataError) as e:
        read_history(path)
    assert one_line_error(e) == f"{quote(path)} row 1: column 'dag_id' is missing, got null"


def test_file_level_errors(tmp_path):
    with pytest.raises(DataError, match="no history file given"):
        read_history([])
    with pytest.raises(DataError, match="cannot read"):
        read_history(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="unsupported file type"):
        read_history(write(tmp_path, "h.txt", "x"))
