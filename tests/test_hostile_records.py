"""Hostile values of the record fields of issues 12 and 13 (depends_on, deadline, slots, locks)
in every job-file format (CSV, JSON, Parquet, DynamoDB JSON) and in `seed`: each bad record is
one `Error:` line naming the row (numbered as in the file), the job_id and the offending id or
value, exit 1, no traceback, nothing written (hostile.assert_one_error); `seed` leaves the table
exactly as it was (dynalite, tests/dynamo_server.py).
"""

from __future__ import annotations

import json
import uuid

import boto3
import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hostile import KEY_ID, SECRET, check, set_aws_env

BASE = [  # a valid night of three jobs; each case edits one field of one row
    {"batch_date": "2026-06-01", "job_id": "A", "requested_window": "01:00",
     "workload_class": "etl", "estimated_runtime_minutes": 30, "priority": 2,
     "requires_exclusive_lock": False},
    {"batch_date": "2026-06-01", "job_id": "B", "requested_window": "01:00",
     "workload_class": "etl", "estimated_runtime_minutes": 20, "priority": 1,
     "requires_exclusive_lock": False, "depends_on": ["A"], "deadline": "03:00"},
    {"batch_date": "2026-06-01", "job_id": "C", "requested_window": "02:00",
     "workload_class": "refresh", "estimated_runtime_minutes": 10, "priority": 1,
     "requires_exclusive_lock": False, "depends_on": ["A", "B"], "slots": 2,
     "locks": ["fact"]},
]
FIELDS = ("depends_on", "deadline", "slots", "locks")

# (case, {row index: {field: value}}, the exact message after "Error: ")
CASES = [
    ("unknown predecessor", {1: {"depends_on": ["X"]}},
     "row 2 (job_id B): field 'depends_on' names 'X', which is not a job of this night"),
    ("self-dependency", {1: {"depends_on": ["B"]}},
     "row 2 (job_id B): field 'depends_on' names the job itself ('B')"),
    ("repeated id", {2: {"depends_on": ["A", "B", "A"]}},
     "row 3 (job_id C): field 'depends_on' repeats 'A'"),
    ("cycle", {0: {"depends_on": ["C"]}, 1: {"depends_on": ["A"]}, 2: {"depends_on": ["B"]}},
     "row 1 (job_id A): field 'depends_on' names 'C', which closes a cycle: 'A' -> 'C' -> "
     "'B' -> 'A' (each job waits for the next)"),
    ("deadline hour 25", {1: {"deadline": "25:00"}},
     "row 2 (job_id B): field 'deadline' must be HH:MM (00:00 to 23:59), got '25:00'"),
    ("deadline without leading zero", {1: {"deadline": "3:00"}},
     "row 2 (job_id B): field 'deadline' must be HH:MM (00:00 to 23:59), got '3:00'"),
    ("deadline as words", {1: {"deadline": "tomorrow"}},
     "row 2 (job_id B): field 'deadline' must be HH:MM (00:00 to 23:59), got 'tomorrow'"),
    ("slots 0", {2: {"slots": 0}},
     "row 3 (job_id C): field 'slots' must be an integer >= 1, got {v}"),
    ("slots negative", {2: {"slots": -2}},
     "row 3 (job_id C): field 'slots' must be an integer >= 1, got {v}"),
    ("slots fractional", {2: {"slots": 1.5}},
     "row 3 (job_id C): field 'slots' must be an integer >= 1, got {v}"),
    ("slots not a number", {2: {"slots": "two"}},
     "row 3 (job_id C): field 'slots' must be an integer >= 1, got 'two'"),
]
# names no ';'-separated string can carry (the CSV form drops empty entries): list formats only
LIST_CASES = [
    ("empty lock name", {2: {"locks": ["fact", ""]}},
     "row 3 (job_id C): field 'locks' holds an empty lock name"),
    ("blank lock name", {2: {"locks": ["  "]}},
     "row 3 (job_id C): field 'locks' holds an empty lock name"),
    ("empty predecessor id", {2: {"depends_on": ["A", ""]}},
     "row 3 (job_id C): field 'depends_on' holds an empty job id"),
]
FORMATS = ("csv", "json", "parquet", "ddb")


def records(edits) -> list[dict]:
    out = [dict(r) for r in BASE]
    for i, change in edits.items():
        out[i].update(change)
    return out


def write(path_base, fmt: str, recs: list[dict]):
    """The records as a file of ``fmt`` (lists as ';'-strings in CSV, L of S in DynamoDB JSON,
    List(String) in Parquet; numbers native where the format has them)."""
    if fmt == "csv":
        path = path_base.with_suffix(".csv")
        cols = list(BASE[0]) + list(FIELDS)
        lines = [",".join(cols)]
        for r in recs:
            cells = []
            for c in cols:
                v = r.get(c)
                if isinstance(v, list):
                    v = ";".join(v)
                cells.append("" if v is None else str(v).lower() if isinstance(v, bool)
                             else str(v))
            lines.append(",".join(cells))
        path.write_text("\n".join(lines) + "\n")
    elif fmt == "json":
        path = path_base.with_suffix(".json")
        path.write_text(json.dumps(recs))
    elif fmt == "parquet":
        path = path_base.with_suffix(".parquet")
        slots = [r.get("slots") for r in recs]
        slot_type = pl.String if any(isinstance(v, str) for v in slots) else pl.Float64
        frame = pl.DataFrame({
            **{c: [r[c] for r in recs] for c in BASE[0]},
            "depends_on": pl.Series([r.get("depends_on") for r in recs],
                                    dtype=pl.List(pl.String)),
            "deadline": pl.Series([r.get("deadline") for r in recs], dtype=pl.String),
            "slots": pl.Series([None if v is None else (v if slot_type == pl.String else
                                                        float(v)) for v in slots],
                               dtype=slot_type),
            "locks": pl.Series([r.get("locks") for r in recs], dtype=pl.List(pl.String)),
        })
        frame.write_parquet(path)
    else:
        path = path_base.with_suffix(".ddb.json")

        def attr(v):
            if isinstance(v, bool):
                return {"BOOL": v}
            if isinstance(v, (int, float)):
                return {"N": str(v)}
            if isinstance(v, list):
                return {"L": [{"S": e} for e in v]}
            return {"S": v}

        path.write_text("\n".join(json.dumps({"Item": {k: attr(v) for k, v in r.items()}})
                                  for r in recs) + "\n")
    return path


def expected(message: str, fmt: str, edits) -> str:
    v = next((c["slots"] for c in edits.values() if "slots" in c), None)
    shown = repr(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if fmt in ("csv", "ddb"):  # read as text: the value as the user wrote it
            shown = repr(str(v))
        elif fmt == "parquet":  # a Float64 column
            shown = repr(float(v))
    return "Error: " + message.format(v=shown)


def run_file(invoke, path, tmp_path):
    out = tmp_path / "report.json"
    res = invoke("simulate", "--file", path, "--batch-date", "2026-06-01", "--replications",
                 "20", "--format", "json", "--output", out)
    return res, out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case,edits,message", CASES, ids=[c[0] for c in CASES])
def test_bad_field_is_one_error_naming_row_job_and_value(invoke, tmp_path, fmt, case, edits,
                                                         message):
    path = write(tmp_path / "jobs", fmt, records(edits))
    res, out = run_file(invoke, path, tmp_path)
    line = check(res, (1,))
    assert line == expected(message, fmt, edits)
    assert not out.exists()  # nothing written


@pytest.mark.parametrize("fmt", ("json", "parquet", "ddb"))
@pytest.mark.parametrize("case,edits,message", LIST_CASES, ids=[c[0] for c in LIST_CASES])
def test_empty_names_in_lists(invoke, tmp_path, fmt, case, edits, message):
    path = write(tmp_path / "jobs", fmt, records(edits))
    res, out = run_file(invoke, path, tmp_path)
    assert check(res, (1,)) == "Error: " + message
    assert not out.exists()


def test_csv_drops_empty_entries_and_blanks(invoke, tmp_path):
    """The ';'-string form: whitespace around ids stripped, empty entries dropped (issue 12),
    so ' A ; ;B ' is A and B and ';' names nothing; the night runs."""
    recs = records({2: {"depends_on": [" A ", " ", "B "], "locks": ["", " "]}})
    path = write(tmp_path / "jobs", "csv", recs)
    res, _ = run_file(invoke, path, tmp_path)
    assert res.exit_code == 0, res.stderr
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc[0]["jobs"] == 3


@pytest.mark.parametrize("value,kind", [([1, 2], "list of integer"),
                                        ([["A"]], "list of list of strings"),
                                        ({"A": 1}, "struct"), (5, "integer")])
def test_json_depends_on_of_the_wrong_type(invoke, tmp_path, value, kind):
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps(records({1: {"depends_on": value}})))
    line = check(run_file(invoke, path, tmp_path)[0], (1,))
    assert line == (f"Error: row 2: field 'depends_on' has type {kind}; it accepts "
                    f"list of strings, string")


def test_parquet_list_of_numbers_is_refused(invoke, tmp_path):
    frame = pl.DataFrame({**{c: [r[c] for r in BASE] for c in BASE[0]},
                          "locks": pl.Series([[1], None, None], dtype=pl.List(pl.Int64))})
    path = tmp_path / "jobs.parquet"
    frame.write_parquet(path)
    line = check(run_file(invoke, path, tmp_path)[0], (1,))
    assert line == ("Error: column field 'locks' has type list of integer; it accepts "
                    "list of strings, string")


@pytest.mark.parametrize("attr,message", [
    ({"L": [{"S": "A"}, {"N": "1"}]},
     "field 'depends_on' (DynamoDB type L) must hold strings (S values), got \"{'N': '1'}\""),
    ({"SS": ["A", 1]}, "field 'depends_on' (DynamoDB type SS) must hold strings, got 1"),
    ({"L": "A"}, "field 'depends_on' is of DynamoDB type L but holds 'A', not a list"),
    ({"NS": ["1"]}, "field 'depends_on' has DynamoDB type 'NS'; job records use S, N, BOOL or "
                    "NULL (L of S or SS for depends_on, locks)"),
])
def test_dynamodb_list_attributes_are_checked(invoke, tmp_path, attr, message):
    lines = []
    for i, r in enumerate(BASE):
        item = {k: ({"BOOL": v} if isinstance(v, bool) else {"N": str(v)}
                    if isinstance(v, (int, float)) else {"S": v})
                for k, v in r.items() if k in BASE[0]}
        if i == 1:
            item["depends_on"] = attr
        lines.append(json.dumps({"Item": item}))
    path = tmp_path / "jobs.ddb.json"
    path.write_text("\n".join(lines) + "\n")
    line = check(run_file(invoke, path, tmp_path)[0], (1,))
    assert line == f"Error: '{path}' line 2: {message}"


def test_rows_are_numbered_as_in_the_file_across_nights(invoke, tmp_path):
    """Rows of another night before the bad one count: the error names the file's row."""
    other = [dict(r, batch_date="2026-05-31") for r in BASE]
    recs = other + records({1: {"depends_on": ["X"]}})
    path = write(tmp_path / "jobs", "csv", recs)
    line = check(run_file(invoke, path, tmp_path)[0], (1,))
    assert line.startswith("Error: row 5 (job_id B): field 'depends_on' names 'X'")


def test_a_predecessor_of_another_night_is_not_in_the_night(invoke, tmp_path):
    recs = [dict(BASE[0], batch_date="2026-05-31", job_id="Z")] + records(
        {1: {"depends_on": ["Z"]}})
    path = write(tmp_path / "jobs", "json", recs)
    line = check(run_file(invoke, path, tmp_path)[0], (1,))
    assert line == ("Error: row 3 (job_id B): field 'depends_on' names 'Z', which is not a "
                    "job of this night")


def test_ids_that_forge_lines_are_escaped(invoke, tmp_path):
    path = write(tmp_path / "jobs", "json",
                 records({1: {"depends_on": ["X\nError: forged\x1b[31m"]}}))
    line = check(run_file(invoke, path, tmp_path)[0], (1,))
    assert "\\n" in line and "\\x1b" in line


HYPO = settings(derandomize=True, deadline=None, max_examples=40, database=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
_VALUE = st.one_of(st.none(), st.text(max_size=8),
                   st.lists(st.one_of(st.sampled_from(["A", "B", "C", "", " "]),
                                      st.text(max_size=4), st.integers()), max_size=4),
                   st.integers(-3, 5), st.floats(allow_nan=True), st.booleans(),
                   st.sampled_from(["A;B", "C", "A;A", "04:00", "24:00", "1", "0", "2.0"]))


@HYPO
@given(edits=st.dictionaries(st.integers(0, 2), st.dictionaries(st.sampled_from(FIELDS),
                                                                _VALUE, max_size=4),
                             max_size=3))
def test_random_field_values_run_or_fail_cleanly(invoke, tmp_path, edits):
    """Any value of the four fields in a JSON file: a report, or the one-error contract."""
    path = tmp_path / "r.json"
    path.write_text(json.dumps(records(edits)))
    res, out = run_file(invoke, path, tmp_path)
    if res.exit_code == 0:
        assert out.exists() and "Error" not in res.stderr
        out.unlink()
    else:
        check(res)
        assert not out.exists()


# ------------------------------------------------------------------ seed: nothing is written
@pytest.fixture(scope="module")
def endpoint():
    from dynamo_server import dynamodb_endpoint

    with dynamodb_endpoint() as url:
        yield url


@pytest.fixture
def client(endpoint):
    return boto3.session.Session(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                                 region_name="us-east-1").client("dynamodb",
                                                                 endpoint_url=endpoint)


def _items(client, table):
    out, kw = [], {}
    try:
        while True:
            page = client.scan(TableName=table, ConsistentRead=True, **kw)
            out.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return {(i["batch_date"]["S"], i["window_job_id"]["S"]): i for i in out}
            kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    except client.exceptions.ResourceNotFoundException:
        return None


@pytest.mark.dynamodb
@pytest.mark.parametrize("case,edits,message", CASES + LIST_CASES,
                         ids=[c[0] for c in CASES + LIST_CASES])
def test_seed_of_a_bad_night_writes_nothing(invoke, endpoint, client, monkeypatch, tmp_path,
                                            case, edits, message):
    """The table already holds the valid night; seeding the bad one (with --overwrite, which
    would replace items) changes nothing, and a table not yet there is not created."""
    set_aws_env(monkeypatch, tmp_path)
    table = f"hx_{uuid.uuid4().hex[:12]}"
    fresh = f"hx_{uuid.uuid4().hex[:12]}"
    good = write(tmp_path / "good", "ddb", BASE)
    assert invoke("seed", "--file", good, "--endpoint-url", endpoint, "--table",
                  table).exit_code == 0
    before = _items(client, table)
    assert len(before) == 3
    bad = write(tmp_path / "bad", "ddb", records(edits))
    try:
        for target in (table, fresh):
            res = invoke("seed", "--file", bad, "--endpoint-url", endpoint, "--table", target,
                         "--overwrite")
            line = check(res, (1,))
            assert line == expected(message, "ddb", edits) + " (nothing was written)"
        assert _items(client, table) == before
        assert _items(client, fresh) is None
    finally:
        client.delete_table(TableName=table)


_CELL = st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10),
                  st.sampled_from(["", "A", "B;C", "A;A", " ; ", "C;B;A", "X", "0", "2", "-1",
                                   "1.5", "02:00", "24:00", "a\nb", '"', "\x1b[31m"]))


@HYPO
@given(cells=st.lists(st.tuples(_CELL, _CELL, _CELL, _CELL), min_size=3, max_size=3))
def test_random_csv_cells_run_or_fail_cleanly(invoke, tmp_path, cells):
    """Random text in the four fields of a CSV night: a report, or the one-error contract."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(list(BASE[0]) + list(FIELDS))
    for r, extra in zip(BASE, cells):
        w.writerow([str(r[c]).lower() if isinstance(r[c], bool) else r[c] for c in BASE[0]]
                   + list(extra))
    path = tmp_path / "r.csv"
    path.write_text(buf.getvalue())
    res, out = run_file(invoke, path, tmp_path)
    if res.exit_code == 0:
        assert out.exists()
        out.unlink()
    else:
        check(res)
        assert not out.exists()


# ------------------------------------------------------------------ issue 15: status and times
SNAPSHOT_FIELDS = ("status", "started_at", "finished_at")
_TIME_VALUE = st.one_of(
    st.none(), st.text(max_size=12), st.integers(-3, 2000), st.floats(allow_nan=True),
    st.booleans(), st.lists(st.text(max_size=3), max_size=2),
    st.sampled_from(["queued", "RUNNING", "Completed", "done", "", " ", "01:00", "01:30",
                     "02:10", "24:00", "00:59", "2026-06-01T01:20:00Z",
                     "2026-06-01T01:20:00", "2026-06-01T03:00:00+02:00",
                     "2026-02-30T01:00:00Z", "9999-12-31T23:59:59+14:00", "\x1b[31m01:00"]))


def run_now(invoke, path, tmp_path, *now):
    out = tmp_path / "report.json"
    res = invoke("simulate", "--file", path, "--batch-date", "2026-06-01", "--replications",
                 "20", "--format", "json", "--output", out, *now)
    return res, out


@HYPO
@given(edits=st.dictionaries(st.integers(0, 2), st.dictionaries(
    st.sampled_from(SNAPSHOT_FIELDS), _TIME_VALUE, max_size=3), max_size=3))
def test_random_status_and_times_run_or_fail_cleanly(invoke, tmp_path, edits):
    """Any value of status, started_at and finished_at in a JSON file, with --now 02:00 and
    without: a report, or the one-error contract (exit 1, nothing written). Without --now a
    string status never fails (it is informational)."""
    path = tmp_path / "r.json"
    path.write_text(json.dumps(records(edits)))
    for now in (("--now", "02:00"), ()):
        res, out = run_now(invoke, path, tmp_path, *now)
        if res.exit_code == 0:
            assert out.exists() and "Error" not in res.stderr
            out.unlink()
        else:
            line = check(res, (1,))
            assert not out.exists()
            if not now:  # only a value of a type the fields do not accept
                assert "has type" in line, line


@HYPO
@given(cells=st.lists(st.tuples(_CELL, _CELL, _CELL), min_size=3, max_size=3))
def test_random_csv_status_and_time_cells_run_or_fail_cleanly(invoke, tmp_path, cells):
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(list(BASE[0]) + list(SNAPSHOT_FIELDS))
    for r, extra in zip(BASE, cells):
        w.writerow([str(r[c]).lower() if isinstance(r[c], bool) else r[c] for c in BASE[0]]
                   + list(extra))
    path = tmp_path / "r.csv"
    path.write_text(buf.getvalue())
    res, out = run_now(invoke, path, tmp_path, "--now", "02:00")
    if res.exit_code == 0:
        assert out.exists()
        out.unlink()
    else:
        check(res, (1,))
        assert not out.exists()
    res, out = run_now(invoke, path, tmp_path)  # informational without --now
    assert res.exit_code == 0, res.stderr
    out.unlink()


@pytest.mark.parametrize("field,value", [("status", "running\nError: forged\x1b[31m"),
                                         ("started_at", "01:00\x1b[2J"),
                                         ("finished_at", "x" * 5000)])
def test_snapshot_values_that_forge_lines_are_escaped_and_cut(invoke, tmp_path, field, value):
    recs = records({0: {"status": "completed", "started_at": "01:00", "finished_at": "01:30",
                        field: value}})
    path = tmp_path / "r.json"
    path.write_text(json.dumps(recs))
    line = check(run_now(invoke, path, tmp_path, "--now", "02:00")[0], (1,))
    assert line.startswith(f"Error: row 1 (job_id A): field '{field}'")
    assert len(line) < 600


@pytest.mark.parametrize("value,kind", [(30, "integer"), (1.5, "float"), (True, "boolean"),
                                        (["01:00"], "list of strings"), ({"h": 1}, "struct")])
def test_json_times_of_the_wrong_type(invoke, tmp_path, value, kind):
    """A started_at that is no text (nor a datetime) is a type error, with --now or not."""
    path = tmp_path / "r.json"
    path.write_text(json.dumps(records({1: {"started_at": value}})))
    for now in (("--now", "02:00"), ()):
        line = check(run_now(invoke, path, tmp_path, *now)[0], (1,))
        assert line == (f"Error: row 2: field 'started_at' has type {kind}; it accepts "
                        "datetime, string")


def test_parquet_datetimes_are_read_with_their_zone(invoke, tmp_path):
    """Native timestamps: an aware one is an instant (read in --timezone), a naive one has no
    offset and is refused with --now."""
    import datetime as dt

    base = pl.DataFrame({c: [r[c] for r in BASE] for c in BASE[0]})
    aware = base.with_columns(
        pl.Series("status", ["completed", "running", "queued"]),
        pl.Series("started_at", [dt.datetime(2026, 6, 1, 1, 0, tzinfo=dt.timezone.utc),
                                 dt.datetime(2026, 6, 1, 1, 20, tzinfo=dt.timezone.utc), None]),
        pl.Series("finished_at", [dt.datetime(2026, 6, 1, 1, 15, tzinfo=dt.timezone.utc),
                                  None, None]))
    path = tmp_path / "aware.parquet"
    aware.write_parquet(path)
    res, out = run_now(invoke, path, tmp_path, "--now", "02:00")
    assert res.exit_code == 0, res.stderr
    assert json.loads(out.read_text())[0]["now"]["completed"] == 1
    naive = aware.with_columns(pl.col("started_at").dt.replace_time_zone(None))
    path = tmp_path / "naive.parquet"
    naive.write_parquet(path)
    line = check(run_now(invoke, path, tmp_path, "--now", "02:00")[0], (1,))
    assert line.startswith("Error: row 1 (job_id A): field 'started_at' must be a clock time "
                           "HH:MM or an ISO-8601 timestamp with an offset, got "
                           "'2026-06-01T01:00:00")
