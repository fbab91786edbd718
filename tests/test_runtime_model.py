"""``--model`` (calibrated runtimes) in simulate, score and plan, and the three kernel-level
options of issue 14 that are parsed and refused until the engine supports them."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import polars as pl
import pytest

from conftest import cli_error, cli_run
from mcqueue.analysis.calibrate import calibrate
from mcqueue.analysis.runtime_model import (ENGINE_FEATURES, RuntimeOptions, apply_model,
                                            load_options)
from mcqueue.engine import simulate as engine
from mcqueue.errors import ScenarioError, UsageError
from mcqueue.io.history import read_history, sample_history_path
from mcqueue.io.sample import load_sample


@pytest.fixture(scope="module")
def model():
    return calibrate(read_history(sample_history_path()))


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, model):
    path = tmp_path_factory.mktemp("model") / "model.parquet"
    model.write(path)
    return str(path)


@pytest.fixture(scope="module")
def partial_model_file(tmp_path_factory):
    """A model without etl_0100 and without any refresh job: those fall back to the class and
    to the whole history."""
    h = read_history(sample_history_path())
    h = h.filter((pl.col("job_name") != "etl_0100") & (pl.col("workload_class") != "refresh"))
    path = tmp_path_factory.mktemp("model") / "partial.parquet"
    calibrate(h).write(path)
    return str(path)


def test_each_job_takes_its_own_fit_by_job_name(model):
    """Against CalibrationModel.lookup (the per-job path, not the joins of resolve): tonight's
    mean is the estimate times the fitted factor, the cv the fitted cv."""
    night = load_sample("2026-05-13")
    (got,) = apply_model([night], RuntimeOptions(model=model)).nights
    for i, (name, cls) in enumerate(zip(night.job_names, night.workload_class)):
        fit = model.lookup(name, cls)
        assert fit.level == "job"
        assert got.runtime_minutes[i] == pytest.approx(night.runtime_minutes[i] * fit.mean,
                                                       rel=1e-12)
        assert got.runtime_cv[i] == pytest.approx(fit.cv, rel=1e-12)
    assert got.job_id == night.job_id and got.arrival_minute is not None


def test_levels_job_then_class_then_whole_history(partial_model_file):
    opts = load_options(partial_model_file)
    night = load_sample("2026-05-13")
    applied = apply_model([night], opts)
    levels = applied.levels["2026-05-13"]
    names = night.job_names
    expect_job = sum(1 for n, c in zip(names, night.workload_class)
                     if n != "etl_0100" and c != "refresh")
    assert levels == {"job": expect_job, "class": names.count("etl_0100"),
                      "global": sum(c == "refresh" for c in night.workload_class),
                      "options": 0}


def test_a_job_no_model_level_knows_keeps_the_options(model):
    night = load_sample("2026-05-13")
    night = dataclasses.replace(night, workload_class=tuple("unknown" for _ in night.job_id),
                                job_name=tuple(f"new_{j}" for j in night.job_id))
    empty = dataclasses.replace(model, table=model.table.filter(pl.col("level") != "global"))
    applied = apply_model([night], RuntimeOptions(model=empty))
    (got,) = applied.nights
    assert applied.levels[night.batch_date]["options"] == night.n_jobs
    np.testing.assert_array_equal(got.runtime_minutes, night.runtime_minutes)
    assert np.isnan(got.runtime_cv).all()  # the --runtime-cv / --class-cv apply


def test_a_record_runtime_cv_beats_the_fitted_cv(model):
    night = load_sample("2026-05-13")
    own = np.full(night.n_jobs, np.nan)
    own[0] = 0.7
    (got,) = apply_model([dataclasses.replace(night, runtime_cv=own)],
                         RuntimeOptions(model=model)).nights
    assert got.runtime_cv[0] == 0.7
    assert got.runtime_minutes[0] == pytest.approx(
        night.runtime_minutes[0] * model.lookup(night.job_names[0]).mean, rel=1e-12)


def test_simulate_with_a_model_is_the_night_with_fitted_means_and_cvs(model_file, model):
    """The command's numbers equal a simulation of a hand-built night (estimate x fitted
    factor, fitted cv as each record's own cv), and the report counts the levels."""
    doc = json.loads(cli_run("simulate", "--batch-date", "2026-05-13", "--model", model_file,
                             "--replications", "3000", "--format", "json").stdout)
    night = load_sample("2026-05-13")
    means = [night.runtime_minutes[i] * model.lookup(n).mean for i, n in
             enumerate(night.job_names)]
    cvs = [model.lookup(n).cv for n in night.job_names]
    hand = dataclasses.replace(night, runtime_minutes=np.array(means),
                               runtime_cv=np.array(cvs))
    r = engine.simulate(hand, workers=3, replications=3000)
    mc = doc[0]["monte_carlo"]["queue_drained_minute"]
    assert mc["mean"] == pytest.approx(r.monte_carlo["queue_drained_minute"]["mean"], rel=1e-12)
    assert doc[0]["runtime_model"] == {
        "model": model_file, "runtime_model": "lognormal", "night_cv": 0.0, "retries": 0,
        "levels": {"job": 10, "class": 0, "global": 0, "options": 0}, "record_cv": 0}


def test_score_and_plan_with_a_model(model_file):
    rows = json.loads(cli_run("score", "--model", model_file, "--replications", "500",
                              "--format", "json").stdout)
    assert {r["batch_date"] for r in rows} == {"2026-05-11", "2026-05-12", "2026-05-13",
                                               "2026-05-14", "2026-05-15"}
    assert all(sum(r["runtime_model"]["levels"].values()) == r["jobs"] for r in rows)
    table = cli_run("score", "--model", model_file, "--replications", "500").stdout
    # the tutorial's 39 jobs by name; of the ETL night's 20, the 6 whose derived names the
    # history knows (etl_0100, etl_0100_2, etl_0200, etl_0200_2, refresh_0200, refresh_0300)
    # by name, the other 14 by their class
    assert "runtime model " in table and "45 jobs by job_name, 14 by class" in table
    plan = json.loads(cli_run("plan", "--batch-date", "2026-05-14", "--model", model_file,
                              "--max-workers", "4", "--replications", "500",
                              "--format", "json").stdout)
    assert plan["runtime_model"]["levels"]["job"] == 12


def test_without_a_model_nothing_changes(invoke):
    """No --model: no key (the goldens check the bytes); --night-cv 0 and --retries 0 spelled
    out are the defaults and add nothing either."""
    a = json.loads(cli_run("simulate", "--replications", "300", "--format", "json").stdout)
    b = json.loads(cli_run("simulate", "--replications", "300", "--night-cv", "0",
                           "--retries", "0", "--runtime-model", "lognormal",
                           "--format", "json").stdout)
    assert a == b and "runtime_model" not in a[0]


# ---------------------------------------------------------------- not available yet
@pytest.mark.skipif("empirical" in ENGINE_FEATURES, reason="the engine draws empirical runtimes")
def test_empirical_is_refused_until_the_engine_has_it(model_file):
    code, line = cli_error("simulate", "--model", model_file, "--runtime-model", "empirical")
    assert code == 1
    assert line == ("Error: --runtime-model empirical is not available yet: the engine cannot "
                    "draw runtimes from each job's recent runs (docs/history.md, \"Engine "
                    "interface\"); use --runtime-model lognormal")


@pytest.mark.skipif("night_cv" in ENGINE_FEATURES, reason="the engine draws a night factor")
@pytest.mark.parametrize("value,shown", [("0.1", "0.1"), ("fitted", "0.105262 (fitted)")])
def test_a_night_factor_is_refused_until_the_engine_has_it(model_file, value, shown):
    code, line = cli_error("score", "--model", model_file, "--night-cv", value)
    assert code == 1
    assert line.startswith(f"Error: a night-wide runtime factor (--night-cv {shown}) is not "
                           f"available yet")


@pytest.mark.skipif("retries" in ENGINE_FEATURES, reason="the engine reruns failed jobs")
def test_retries_are_refused_until_the_engine_has_them():
    code, line = cli_error("plan", "--batch-date", "2026-05-13", "--retries", "1")
    assert code == 1
    assert line.startswith("Error: reruns (--retries 1) are not available yet")


@pytest.mark.parametrize("args,message", [
    (["--night-cv", "fitted"], "Error: --night-cv fitted takes the night-wide cv of a "
                               "calibration model: give --model"),
    (["--runtime-model", "empirical"], "Error: --runtime-model empirical draws from the recent "
                                       "runs of a calibration model: give --model"),
    (["--night-cv", "-1"], "Error: Invalid value for '--night-cv': must be a finite number >= 0 "
                           "or 'fitted', got '-1'"),
    (["--night-cv", "lots"], "Error: Invalid value for '--night-cv': must be a finite number "
                             ">= 0 or 'fitted', got 'lots'"),
    (["--retries", "11"], "Error: Invalid value for '--retries': 11 is not in the range "
                          "0<=x<=10."),
    (["--model", "nope.parquet"], "Error: Invalid value for '--model': no such model file: "
                                  "'nope.parquet' (write one with mcqueue calibrate --output)"),
])
def test_usage_errors(args, message):
    code, line = cli_error("simulate", *args)
    assert (code, line) == (2, message)


def test_a_file_that_is_not_a_model_is_one_data_error(tmp_path):
    bad = tmp_path / "jobs.parquet"
    cli_run("sample", "-o", bad)
    code, line = cli_error("simulate", "--model", bad)
    assert code == 1 and "is not an mcqueue calibration model" in line


def test_library_options_are_checked():
    with pytest.raises(ScenarioError, match="runtime model must be one of"):
        RuntimeOptions(runtime_model="pareto")
    with pytest.raises(ScenarioError, match="retries must be an integer 0 to 10"):
        RuntimeOptions(retries=-1)
    with pytest.raises(ScenarioError, match="night cv must be at most 100"):
        RuntimeOptions(night_cv=101)
    with pytest.raises(UsageError):
        RuntimeOptions(night_cv="fitted")
    assert not RuntimeOptions().used and RuntimeOptions(night_cv=0.2).needs() == ("night_cv",)


def test_a_fitted_cv_beyond_the_engine_bound_is_refused_naming_the_job(model):
    wild = dataclasses.replace(model, table=model.table.with_columns(
        pl.when(pl.col("job_name") == "etl_0100").then(250.0).otherwise(pl.col("cv"))
        .alias("cv")))
    with pytest.raises(ScenarioError) as err:
        apply_model([load_sample("2026-05-13")], RuntimeOptions(model=wild))
    assert str(err.value) == ("night 2026-05-13 job 'etl_0100': the model's runtime cv 250 is "
                              "above the engine's 100 (a wildly spread history: check its "
                              "durations)")
