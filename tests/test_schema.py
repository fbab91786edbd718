"""Job records: every bad record gives one DataError naming row, field and value; the accepted
shapes (DynamoDB Decimals, 0/1 booleans, strings, fractional runtimes, explicit arrivals,
windows crossing midnight) load to the arrivals docs/model.md describes."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from mcqueue.errors import DataError, McqueueError
from mcqueue.io.sample import sample_frame
from mcqueue.io.schema import load_night, night_from_frame, validate_jobs

BASE = {"batch_date": "2026-05-13", "job_id": "J1", "requested_window": "01:00",
        "workload_class": "etl", "estimated_runtime_minutes": 25, "priority": 2,
        "requires_exclusive_lock": False}


def rec(**changes):
    r = dict(BASE)
    r.update(changes)
    return r


def others(n=2):
    """n good records J2..J{n+1} to put before the bad one (so its row number is n + 1)."""
    return [rec(job_id=f"J{i + 2}") for i in range(n)]


def error_of(records) -> str:
    with pytest.raises(DataError) as info:
        validate_jobs(records)
    assert isinstance(info.value, McqueueError) and isinstance(info.value, ValueError)
    return str(info.value)


# ---------------------------------------------------------------- bad records
def test_field_missing_in_one_record():
    bad = rec(job_id="J9")
    del bad["priority"]
    assert error_of(others() + [bad]) == "row 3 (job_id J9): field 'priority' is missing, got None"


def test_field_missing_in_every_record():
    bad = rec()
    del bad["workload_class"]
    assert error_of([bad]) == (
        "missing field 'workload_class' in every record (fields present: batch_date, job_id, "
        "requested_window, estimated_runtime_minutes, priority, requires_exclusive_lock)")


def test_empty_string_counts_as_missing():
    assert error_of(others(1) + [rec(job_id="J7", workload_class="")]) == (
        "row 2 (job_id J7): field 'workload_class' is missing, got ''")


@pytest.mark.parametrize("value, text", [
    (0, "'0'"), (-3, "'-3'"), (Decimal("-0.5"), "'-0.5'"), (float("nan"), "'nan'"),
    (float("inf"), "'inf'"), ("-inf", "'-inf'"),
])
def test_runtime_must_be_finite_and_positive(value, text):
    assert error_of(others() + [rec(job_id="J5", estimated_runtime_minutes=value)]) == (
        f"row 3 (job_id J5): field 'estimated_runtime_minutes' must be a finite number > 0, "
        f"got {text}")


@pytest.mark.parametrize("value", ["abc", "25 min", "1,5"])
def test_runtime_must_be_a_number(value):
    assert error_of([rec(estimated_runtime_minutes=value)]) == (
        f"row 1 (job_id J1): field 'estimated_runtime_minutes' must be a number, got {value!r}")


@pytest.mark.parametrize("window", ["1:00", "24:00", "01:60", "0100", "01:00:00", "noon"])
def test_window_must_be_hhmm(window):
    assert error_of(others(1) + [rec(job_id="J4", requested_window=window)]) == (
        f"row 2 (job_id J4): field 'requested_window' must be HH:MM (00:00 to 23:59), "
        f"got {window!r}")


@pytest.mark.parametrize("value, text", [(2.5, "'2.5'"), (Decimal("2.5"), "'2.5'"),
                                         ("high", "'high'"), ("1e400", "'1e400'")])
def test_priority_must_be_an_integer(value, text):
    assert error_of([rec(priority=value)]) == (
        f"row 1 (job_id J1): field 'priority' must be an integer, got {text}")


@pytest.mark.parametrize("value, text", [("maybe", "'maybe'"), (2, "'2'"),
                                         (Decimal("0.5"), "'0.5'"), ("", "''")])
def test_exclusive_flag_must_be_boolean_like(value, text):
    problem = "is missing" if value == "" else "must be true/false (or 1/0)"
    assert error_of([rec(requires_exclusive_lock=value)]) == (
        f"row 1 (job_id J1): field 'requires_exclusive_lock' {problem}, got {text}")


def test_duplicate_job_id_names_both_rows():
    records = [rec(), rec(job_id="J2"), rec(job_id="J1", priority=3)]
    assert error_of(records) == (
        "row 3: field 'job_id' duplicates row 1 in night 2026-05-13, got 'J1'")


def test_same_job_id_on_different_nights_is_fine():
    v = validate_jobs([rec(), rec(batch_date="2026-05-14")])
    assert v.height == 2


@pytest.mark.parametrize("value", ["2026-13-01", "2026/05/13", "2026-5-13", "13.05.2026",
                                   "2026-02-30"])
def test_batch_date_must_be_a_calendar_date(value):
    assert error_of([rec(batch_date=value)]) == (
        f"row 1 (job_id J1): field 'batch_date' must be a date YYYY-MM-DD, got {value!r}")


def test_arrival_minute_checks():
    assert error_of([rec(arrival_minute=-1)]) == (
        "row 1 (job_id J1): field 'arrival_minute' must be a finite number >= 0, got '-1'")
    assert error_of([rec(arrival_minute="soon")]) == (
        "row 1 (job_id J1): field 'arrival_minute' must be a number, got 'soon'")


def test_typed_frame_errors_quote_the_value():
    frame = pl.DataFrame({k: [v, v] for k, v in BASE.items()}).with_columns(
        pl.Series("job_id", ["A", "B"]),
        pl.Series("estimated_runtime_minutes", [10.0, float("nan")]))
    assert error_of(frame) == (
        "row 2 (job_id B): field 'estimated_runtime_minutes' must be a finite number > 0, "
        "got nan")


def test_missing_batch_date_lists_the_dates_present():
    records = [rec(), rec(job_id="J2", batch_date="2026-05-11")]
    with pytest.raises(DataError) as info:
        load_night(records, "2026-05-14")
    assert str(info.value) == (
        "batch date '2026-05-14' has no jobs; dates present: 2026-05-11, 2026-05-13")


def test_sample_missing_date_lists_all_five_nights():
    with pytest.raises(DataError, match=r"dates present: 2026-05-11, 2026-05-12, 2026-05-13, "
                                        r"2026-05-14, 2026-05-15$"):
        load_night(sample_frame(), "2026-06-01")


# ---------------------------------------------------------------- accepted shapes
def test_dynamodb_shapes_decimals_and_zero_one_booleans():
    records = [
        rec(job_id="A", estimated_runtime_minutes=Decimal("25"), priority=Decimal("2"),
            requires_exclusive_lock=Decimal("1")),
        rec(job_id="B", estimated_runtime_minutes=Decimal("12.5"), priority=Decimal("-1"),
            requires_exclusive_lock=Decimal("0")),
        rec(job_id="C", estimated_runtime_minutes="7.25", priority="3",
            requires_exclusive_lock="true"),
        rec(job_id="D", estimated_runtime_minutes=1, priority=0, requires_exclusive_lock=0),
        rec(job_id="E", estimated_runtime_minutes=2.5, priority=1, requires_exclusive_lock=1),
        rec(job_id="F", estimated_runtime_minutes=3, priority=2.0, requires_exclusive_lock=True),
        rec(job_id="G", requires_exclusive_lock="false"),
        rec(job_id="H", requires_exclusive_lock="FALSE"),
    ]
    v = validate_jobs(records)
    assert v["estimated_runtime_minutes"].dtype == pl.Float64
    assert v["priority"].dtype == pl.Int64
    assert v["requires_exclusive_lock"].dtype == pl.Boolean
    assert v["estimated_runtime_minutes"].to_list() == [25, 12.5, 7.25, 1, 2.5, 3, 25, 25]
    assert v["priority"].to_list() == [2, -1, 3, 0, 1, 2, 2, 2]
    assert v["requires_exclusive_lock"].to_list() == [True, False, True, False, True, True,
                                                      False, False]
    assert v["__row"].to_list() == list(range(1, 9))
    assert v["window_job_id"].to_list()[0] == "01:00#A"


def test_sample_csv_and_typed_frame_load_alike():
    v = validate_jobs(sample_frame())
    assert v.height == 59
    assert v.filter(pl.col("batch_date") == "2026-05-14")["requires_exclusive_lock"].sum() == 5
    typed = pl.DataFrame({k: [v_] for k, v_ in BASE.items()})
    assert validate_jobs(typed)["requires_exclusive_lock"].to_list() == [False]


def _arrivals(records, **kw):
    night = load_night(records, "2026-05-13", **kw)
    return dict(zip(night.job_id, night.arrival_minute.tolist()))


def test_window_sets_arrival_in_a_plain_batch():
    records = [rec(job_id="early", requested_window="00:30"),  # before the start: waiting
               rec(job_id="start", requested_window="01:00"),
               rec(job_id="late", requested_window="03:15"),
               rec(job_id="after", requested_window="06:00")]
    assert _arrivals(records) == {"early": 0.0, "start": 0.0, "late": 135.0, "after": 300.0}


def test_window_crossing_midnight():
    records = [rec(job_id="a", requested_window="22:00"), rec(job_id="b", requested_window="23:00"),
               rec(job_id="c", requested_window="00:00"), rec(job_id="d", requested_window="01:00"),
               rec(job_id="e", requested_window="21:59")]  # before S: read as the next day
    night = load_night(records, "2026-05-13", batch_start="22:00", batch_end="02:00")
    assert night.horizon_minutes == 240.0
    assert dict(zip(night.job_id, night.arrival_minute.tolist())) == {
        "a": 0.0, "b": 60.0, "c": 120.0, "d": 180.0, "e": 1439.0}


def test_arrival_minute_overrides_window_and_may_be_fractional():
    records = [rec(job_id="x", requested_window="03:00", arrival_minute=7.5),
               rec(job_id="y", requested_window="03:00", arrival_minute=None),
               rec(job_id="z", requested_window="02:00", arrival_minute=Decimal("0"))]
    assert _arrivals(records) == {"x": 7.5, "y": 120.0, "z": 0.0}


def test_arrival_minute_without_window():
    records = [{k: v for k, v in rec(job_id=j, arrival_minute=m).items()
                if k != "requested_window"} for j, m in (("p", 3), ("q", 44.25))]
    assert _arrivals(records) == {"p": 3.0, "q": 44.25}
    bad = records + [{k: v for k, v in rec(job_id="r").items() if k != "requested_window"}]
    assert error_of(bad) == ("row 3 (job_id r): field 'requested_window' is missing (and no "
                             "arrival_minute is given), got None")


def test_night_is_in_job_id_order_whatever_the_input_order():
    records = [rec(job_id=j, estimated_runtime_minutes=i + 1) for i, j in enumerate("dbca")]
    night = night_from_frame(validate_jobs(records), "2026-05-13")
    assert night.job_id == ("a", "b", "c", "d")
    assert np.array_equal(night.runtime_minutes, [4.0, 2.0, 3.0, 1.0])


def test_window_filter():
    night = load_night(sample_frame(), "2026-05-13", window="02:00")
    assert night.n_jobs == 3 and set(night.arrival_minute.tolist()) == {60.0}
    with pytest.raises(DataError, match=r"^window must be HH:MM \(00:00 to 23:59\), got '2:00'$"):
        load_night(sample_frame(), "2026-05-13", window="2:00")


def test_runtimes_and_arrivals_are_bounded_so_sums_stay_finite():
    # 1e308 passed as finite, then waits and areas overflowed to inf/NaN in the report
    assert error_of(others() + [rec(estimated_runtime_minutes="1e308")]) == (
        "row 3 (job_id J1): field 'estimated_runtime_minutes' must be at most 1,000,000,000 "
        "minutes, got '1e308'")
    assert error_of([rec(arrival_minute=1_000_000_001)]) == (
        "row 1 (job_id J1): field 'arrival_minute' must be at most 1,000,000,000 minutes, "
        "got '1000000001'")
    # the validation nights (a million Poisson arrivals) reach past 10,000,000 minutes
    validate_jobs([rec(estimated_runtime_minutes=1e9, arrival_minute=1e9)])
