"""``--model`` (calibrated runtimes) in simulate, score and plan, and the three kernel-level
options of issue 14 (empirical runtimes, a night-wide factor, reruns): each option reaches the
engine as the night a hand-built ``Night.with_runtime_draws`` gives (the draws themselves are
tested in tests/test_runtime_draws.py)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import polars as pl
import pytest

from conftest import cli_error, cli_run
from mcqueue.analysis.calibrate import calibrate
from mcqueue.analysis.runtime_model import RuntimeOptions, apply_model, load_options
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


def _hand_built(model, night, *, within=False):
    """The sample night with each job's fitted mean and cv (cv_within with a night factor)
    from CalibrationModel.lookup, one job at a time."""
    fits = [model.lookup(n) for n in night.job_names]
    return dataclasses.replace(
        night, runtime_minutes=np.array([night.runtime_minutes[i] * f.mean
                                         for i, f in enumerate(fits)]),
        runtime_cv=np.array([f.cv_within if within else f.cv for f in fits])), fits


def test_simulate_with_a_model_is_the_night_with_fitted_means_cvs_and_reruns(model_file,
                                                                             model):
    """The command's numbers equal a simulation of a hand-built night (estimate x fitted
    factor, fitted cv as each record's own cv, each job's fitted rerun share with one rerun at
    most: a model turns reruns on), and the report counts the levels."""
    doc = json.loads(cli_run("simulate", "--batch-date", "2026-05-13", "--model", model_file,
                             "--replications", "3000", "--format", "json").stdout)
    night = load_sample("2026-05-13")
    hand, fits = _hand_built(model, night)
    shares = np.array([f.rerun_share for f in fits])
    assert (shares > 0).any()  # the shipped history reruns some jobs
    hand = hand.with_runtime_draws(rerun_share=shares, retries=1)
    r = engine.simulate(hand, workers=3, replications=3000)
    mc = doc[0]["monte_carlo"]["queue_drained_minute"]
    assert mc["mean"] == pytest.approx(r.monte_carlo["queue_drained_minute"]["mean"], rel=1e-12)
    assert doc[0]["runtime_model"] == {
        "model": model_file, "runtime_model": "lognormal", "night_cv": 0.0, "retries": 1,
        "levels": {"job": 10, "class": 0, "global": 0, "options": 0}, "record_cv": 0}
    # --retries 0 turns them off: the fitted lognormals alone
    off = json.loads(cli_run("simulate", "--batch-date", "2026-05-13", "--model", model_file,
                             "--replications", "3000", "--retries", "0", "--format",
                             "json").stdout)
    plain = engine.simulate(_hand_built(model, night)[0], workers=3, replications=3000)
    assert off[0]["monte_carlo"]["queue_drained_minute"]["mean"] == pytest.approx(
        plain.monte_carlo["queue_drained_minute"]["mean"], rel=1e-12)
    assert off[0]["runtime_model"]["retries"] == 0


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


# ---------------------------------------------------------------- the kernel-level options
def test_fitted_night_cv_draws_the_models_factor_with_the_within_cvs(model_file, model):
    """--night-cv fitted: the model's night cv (0.105 on the shipped history) on every job,
    each job with its fitted cv_within; equal to the hand-built night, and the report says
    so."""
    assert model.night_cv and model.night_cv > 0.05
    doc = json.loads(cli_run("score", "--model", model_file, "--night-cv", "fitted",
                             "--retries", "0", "--replications", "2000", "--format",
                             "json").stdout)
    row = next(r for r in doc if r["batch_date"] == "2026-05-13")
    assert row["runtime_model"]["night_cv"] == pytest.approx(model.night_cv, rel=1e-12)
    night = load_sample("2026-05-13")
    hand = _hand_built(model, night, within=True)[0].with_runtime_draws(
        night_cv=model.night_cv)
    r = engine.simulate(hand, workers=3, replications=2000)
    assert row["overflow_probability"] == r.overflow_probability["estimate"]
    assert row["p95_wait_mean"] == pytest.approx(r.monte_carlo["p95_wait_minutes"]["mean"],
                                                 rel=1e-12)


def test_empirical_draws_each_fitted_jobs_recent_runs(model_file, model):
    """--runtime-model empirical: each job's runtime is one of its fitted recent runs (in
    tonight's minutes); equal to the hand-built night; a record's own runtime_cv keeps that
    job lognormal."""
    doc = json.loads(cli_run("simulate", "--batch-date", "2026-05-13", "--model", model_file,
                             "--runtime-model", "empirical", "--retries", "0",
                             "--replications", "2000", "--format", "json").stdout)
    assert doc[0]["runtime_model"]["runtime_model"] == "empirical"
    night = load_sample("2026-05-13")
    hand, fits = _hand_built(model, night)
    runs = [f.recent_minutes(night.runtime_minutes[i]) for i, f in enumerate(fits)]
    ptr = np.cumsum([0] + [len(x) for x in runs])
    hand = hand.with_runtime_draws(recent=(ptr, np.concatenate(runs)))
    r = engine.simulate(hand, workers=3, replications=2000)
    assert doc[0]["monte_carlo"]["queue_drained_minute"]["mean"] == pytest.approx(
        r.monte_carlo["queue_drained_minute"]["mean"], rel=1e-12)
    own = np.full(night.n_jobs, np.nan)
    own[2] = 0.3
    (got,) = apply_model([dataclasses.replace(night, runtime_cv=own)],
                         RuntimeOptions(model=model, runtime_model="empirical")).nights
    lengths = np.diff(got.recent_ptr)
    assert lengths[2] == 0 and (np.delete(lengths, 2) == [len(x) for i, x in enumerate(runs)
                                                          if i != 2]).all()


def test_reruns_need_a_model():
    code, line = cli_error("plan", "--batch-date", "2026-05-13", "--retries", "1")
    assert (code, line) == (2, "Error: --retries 1 reruns failed jobs with the rerun shares of "
                               "a calibration model: give --model")


def test_a_night_cv_without_a_model_applies_to_every_job():
    a = json.loads(cli_run("simulate", "--batch-date", "2026-05-13", "--replications", "2000",
                           "--night-cv", "0.2", "--format", "json").stdout)
    r = engine.simulate(load_sample("2026-05-13").with_runtime_draws(night_cv=0.2), workers=3,
                        replications=2000)
    assert a[0]["monte_carlo"]["queue_drained_minute"]["mean"] == pytest.approx(
        r.monte_carlo["queue_drained_minute"]["mean"], rel=1e-12)
    assert a[0]["runtime_model"]["night_cv"] == 0.2 and a[0]["runtime_model"]["retries"] == 0


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
