"""`mcqueue bench`: the report's shape (json keys and types, table rows) and its option errors.

The budget is tiny (--seconds 0.2) so the test stays fast; throughput values are only checked
to be positive and consistent (jobs/s = replications/s x jobs), never against a wall-clock target.
"""

from __future__ import annotations

import json
import math

import numba
import pytest
from click.testing import CliRunner

from mcqueue.cli.main import cli
from mcqueue.analysis.benchmark import run_benchmark
from mcqueue.errors import ScenarioError


@pytest.fixture
def restore_threads():
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)


def _invoke(*args):
    return CliRunner().invoke(cli, ["bench", *args])


def test_bench_json_keys_and_types(restore_threads):
    res = _invoke("--format", "json", "--seconds", "0.2", "--threads", "1")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert isinstance(report["cpu_count"], int) and report["cpu_count"] >= 1
    assert isinstance(report["usable_cpus"], int) and 1 <= report["usable_cpus"]
    assert report["numba_threads"] == 1
    # the engine runs its kernels on its own pool of Python threads (kernel.run_tasks), not in
    # a numba parallel region: bench starts no threading layer (null), and names the one an
    # earlier run in the same process started (the per-job fold is a parallel region)
    assert report["numba_threading_layer"] in (None, "omp", "tbb", "workqueue")
    assert set(report["versions"]) == {"python", "numpy", "numba", "polars", "mcqueue"}
    assert report["versions"]["numba"] == numba.__version__
    assert all(isinstance(v, str) and v for v in report["versions"].values())
    assert report["budget_seconds"] == 0.2
    assert report["startup_seconds"] >= 0 and report["measuring_seconds"] > 0
    nights = report["results"]
    assert [(r["jobs"], r["workers"]) for r in nights] == [(10, 3), (2000, 16)]
    assert nights[0]["night"] == "2026-05-13 (built-in sample)"
    for r in nights:
        assert isinstance(r["replications"], int) and r["replications"] >= 1
        assert r["runs"] == 3
        assert 0 < r["seconds_min"] <= r["seconds_median"] <= r["seconds_max"]
        assert r["replications_per_second"] == pytest.approx(
            r["replications"] / r["seconds_median"], rel=1e-12)
        assert r["jobs_per_second"] == pytest.approx(
            r["replications_per_second"] * r["jobs"], rel=1e-12)
        assert math.isfinite(r["jobs_per_second"]) and r["jobs_per_second"] > 0


def test_bench_table(restore_threads):
    res = _invoke("--seconds", "0.2", "--threads", "1")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("mcqueue ") and "numba" in lines[0] and "1 threads" in lines[0]
    header = lines[3].split()
    assert header[:5] == ["night", "jobs", "workers", "replications/s", "jobs/s"]
    assert lines[4].startswith("2026-05-13 (built-in sample)")
    assert lines[5].startswith("synthetic 2,000-job night")
    assert len(lines) == 6


@pytest.mark.parametrize("args,message", [
    (["--seconds", "0"], "Invalid value for '--seconds'"),
    (["--seconds", "abc"], "Invalid value for '--seconds'"),
    (["--threads", "0"], "Invalid value for '--threads'"),
    (["--format", "csv"], "Invalid value for '--format'"),
])
def test_bench_usage_errors(args, message):
    res = _invoke(*args)
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output


def test_bench_too_many_threads_is_one_error_line(restore_threads):
    limit = numba.config.NUMBA_NUM_THREADS
    res = _invoke("--threads", str(limit + 1), "--seconds", "0.1")
    assert res.exit_code == 1
    assert res.output == (f"Error: threads must be an integer from 1 to {limit} (numba's "
                          f"NUMBA_NUM_THREADS), got {limit + 1}\n")


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), "x"])
def test_run_benchmark_rejects_a_bad_budget(seconds):
    with pytest.raises(ScenarioError, match="seconds must be a number > 0"):
        run_benchmark(seconds=seconds)


def test_measure_night_reports_the_median_of_the_timed_runs(monkeypatch, night_13):
    """A scripted clock: the warm-up call (0.5 s), one calibration run of 1 s and three timed runs of
    3 s, 1 s and 2 s. With a 0.2 s budget over 3 runs the calibration (2,000 replications in
    1 s, 2,000/s) asks for 2,000/s x 0.05 s = 100 replications per timed run, so the median is
    2 s, 50 replications/s and 500 jobs/s on the 10-job night."""
    from mcqueue.analysis import benchmark

    durations = iter([0.5, 1.0, 3.0, 1.0, 2.0])  # binary-exact sums
    clock = {"now": 0.0, "started": False}

    def perf_counter():
        if clock["started"]:  # the end of a run: advance by its scripted duration
            clock["now"] += next(durations)
        clock["started"] = not clock["started"]
        return clock["now"]

    monkeypatch.setattr(benchmark.time, "perf_counter", perf_counter)
    r = benchmark.measure_night(night_13, 3, seconds=0.2, runs=3)
    assert (r.replications, r.runs) == (100, 3)
    assert (r.seconds_median, r.seconds_min, r.seconds_max) == (2.0, 1.0, 3.0)
    assert (r.replications_per_second, r.jobs_per_second) == (50.0, 500.0)
