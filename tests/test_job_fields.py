"""Issue 14's record fields: ``job_name`` (identity across nights) and ``runtime_cv`` (a job's own
runtime cv), their validation, and what they change (and do not change) in a simulation."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from conftest import cli_error
from mcqueue.engine import simulate as engine
from mcqueue.engine.perturbation import MAX_RUNTIME_CV
from mcqueue.errors import DataError
from mcqueue.io.sample import sample_frame
from mcqueue.io.schema import nights_from_frame, validate_jobs

ROOT = Path(__file__).resolve().parent.parent
HEADER = ("batch_date,job_id,requested_window,workload_class,estimated_runtime_minutes,priority,"
          "requires_exclusive_lock")


def frame(rows: list[str], extra: str = "") -> pl.DataFrame:
    text = HEADER + extra + "\n" + "\n".join(rows) + "\n"
    import io
    return pl.read_csv(io.StringIO(text), infer_schema=False)


def test_fields_absent_add_no_column_and_no_night_field():
    v = validate_jobs(frame(["2026-06-01,A,01:00,etl,30,1,false"]))
    assert "job_name" not in v.columns and "runtime_cv" not in v.columns
    (night,) = nights_from_frame(v)
    assert night.job_name == () and night.runtime_cv is None
    assert night.job_names == ("A",)  # the job_id stands in


def test_job_name_defaults_to_the_job_id_per_record():
    v = validate_jobs(frame(["2026-06-01,A,01:00,etl,30,1,false,load_a",
                             "2026-06-01,B,01:00,etl,30,1,false,",
                             "2026-06-01,C,01:00,etl,30,1,false,  "], ",job_name"))
    assert v["job_name"].to_list() == ["load_a", "B", "C"]
    (night,) = nights_from_frame(v)
    assert night.job_names == ("load_a", "B", "C")


@pytest.mark.parametrize("value,problem", [
    ("abc", "must be a number"),
    ("-0.1", "must be a finite number >= 0"),
    ("inf", "must be a finite number >= 0"),
    ("nan", "must be a finite number >= 0"),
    (str(MAX_RUNTIME_CV * 2), f"must be at most {MAX_RUNTIME_CV:g}"),
])
def test_bad_runtime_cv_is_one_line_naming_row_job_and_value(value, problem):
    rows = ["2026-06-01,A,01:00,etl,30,1,false,0.2", f"2026-06-01,B,01:00,etl,30,1,false,{value}"]
    with pytest.raises(DataError) as err:
        validate_jobs(frame(rows, ",runtime_cv"))
    assert str(err.value) == f"row 2 (job_id B): field 'runtime_cv' {problem}, got {value!r}"


def test_runtime_cv_blank_means_not_given():
    v = validate_jobs(frame(["2026-06-01,A,01:00,etl,30,1,false,0.4",
                             "2026-06-01,B,01:00,etl,30,1,false,"], ",runtime_cv"))
    (night,) = nights_from_frame(v)
    assert night.runtime_cv[0] == 0.4 and np.isnan(night.runtime_cv[1])


def test_a_record_cv_equals_the_same_cv_given_as_a_class_cv():
    """A job's own cv takes the place of the class/global cv: a night whose records all say
    cv 0.6 replays exactly like the same night with --class-cv etl=0.6 (the existing, tested
    path), and differently from the default cv."""
    rows = [f"2026-06-01,J{i},0{1 + i % 3}:00,etl,{20 + 5 * i},{i % 3},{'true' if i == 4 else 'false'}"
            for i in range(8)]
    (plain,) = nights_from_frame(validate_jobs(frame(rows)))
    (own,) = nights_from_frame(validate_jobs(frame([r + ",0.6" for r in rows], ",runtime_cv")))
    a = engine.simulate(own, workers=2, replications=2000, seed=5)
    b = engine.simulate(plain, workers=2, replications=2000, seed=5, class_cv={"etl": 0.6})
    c = engine.simulate(plain, workers=2, replications=2000, seed=5)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, c.samples)


def test_the_zero_noise_replay_ignores_the_records_own_cv():
    """The deterministic block is the tutorial's zero-noise replay: every job runs its
    estimate. Records with their own cv must give the same block as the same records
    without one, and a lone job of estimate 100 from 01:00 drains at minute 100 exactly
    (it drained at a lognormal draw's 175.75 when a record's cv reached the replay)."""
    rows = [f"2026-06-01,J{i},0{1 + i % 3}:00,etl,{20 + 5 * i},{i % 3},{'true' if i == 4 else 'false'}"
            for i in range(8)]
    (plain,) = nights_from_frame(validate_jobs(frame(rows)))
    (own,) = nights_from_frame(validate_jobs(frame([r + ",0.6" for r in rows], ",runtime_cv")))
    a = engine.simulate(own, workers=2, replications=200, seed=5)
    b = engine.simulate(plain, workers=2, replications=200, seed=5)
    assert a.deterministic == b.deterministic
    (one,) = nights_from_frame(validate_jobs(frame(["2026-06-01,A,01:00,etl,100,1,false,0.5"],
                                                   ",runtime_cv")))
    r = engine.simulate(one, workers=1, replications=50, seed=0, arrival_jitter=0.0)
    assert r.deterministic["queue_drained_minute"] == 100.0


def test_a_record_cv_overrides_only_its_own_job():
    night = dataclasses.replace(
        nights_from_frame(validate_jobs(frame(["2026-06-01,A,01:00,etl,30,1,false",
                                               "2026-06-01,B,01:00,refresh,30,1,false"])))[0],
        runtime_cv=np.array([np.nan, 0.0]))
    b = engine.prepare([night], engine.Perturbation(runtime_cv=0.25, class_cv={"etl": 0.5}))
    assert b.sigma[0] == pytest.approx(np.sqrt(np.log(1 + 0.5 ** 2)), rel=1e-15)
    assert b.sigma[1] == 0.0


def test_the_sample_job_names_follow_the_documented_derivation():
    """docs/history.md: <workload_class>_<HHMM of requested_window>, _2 for the second job of
    the same class and window in a night (in job_id order): scripts/make_history.py --names."""
    spec = importlib.util.spec_from_file_location("make_history",
                                                  ROOT / "scripts" / "make_history.py")
    mh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mh)
    raw = sample_frame()
    derived = mh.sample_job_names(raw.drop("job_name").to_dicts())
    assert raw.height == 59  # the tutorial's 39 jobs and the ETL night's 20
    for r in raw.iter_rows(named=True):
        assert r["job_name"] == derived[(r["batch_date"], r["job_id"])]
    assert "etl_0100_2" in raw["job_name"].to_list()


def test_bad_runtime_cv_on_the_command_line(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(HEADER + ",runtime_cv\n2026-06-01,A,01:00,etl,30,1,false,x\n")
    code, line = cli_error("simulate", "--file", path, "--replications", "10")
    assert code == 1
    assert line == "Error: row 1 (job_id A): field 'runtime_cv' must be a number, got 'x'"
