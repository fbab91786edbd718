"""`calibrate` throughput: 1,000,000 history rows read and calibrated, target <= 5 s (issue 14).

The history: 2,000 jobs in 8 classes over 500 nights (one row per job and night), generic layout
with ISO-8601 start/finish and ready times, estimates, statuses (2 % failed) and attempts; written
once per session as CSV and as Parquet. Each round reads the file with
`mcqueue.io.history.read_history` and fits it with `mcqueue.analysis.calibrate.calibrate`
(half-life 30 days); a third benchmark adds the weekday split.

    python -m pytest benchmarks/bench_calibrate.py --benchmark-only
"""

from __future__ import annotations

import datetime as dt
import math
import time

import numpy as np
import polars as pl
import pytest

from conftest import SEED, record

JOBS = 2_000
NIGHTS = 500
ROWS = JOBS * NIGHTS
TARGET_SECONDS = 5.0
FIRST_NIGHT = dt.date(2025, 1, 1)


def history_frame() -> pl.DataFrame:
    """One row per job and night; job j has median 5 + j % 200 minutes and cv 0.1 .. 0.5."""
    rng = np.random.default_rng(SEED)
    job = np.tile(np.arange(JOBS), NIGHTS)
    night = np.repeat(np.arange(NIGHTS), JOBS)
    median = 5.0 + (job % 200)
    sigma = 0.1 + 0.4 * (job % 7) / 6
    minutes = np.round(median * np.exp(rng.normal(0.0, sigma)) * 60) / 60
    start_s = 3600 + rng.integers(0, 4 * 3600, ROWS)
    late_s = rng.integers(0, 600, ROWS)
    base = pl.Series("d", [FIRST_NIGHT + dt.timedelta(days=i) for i in range(NIGHTS)],
                     dtype=pl.Date)[night]
    midnight = base.cast(pl.Datetime("ms"))
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    started = midnight + pl.Series(start_s * 1000).cast(pl.Duration("ms"))
    finished = started + pl.Series(np.round(minutes * 60_000).astype(np.int64)).cast(
        pl.Duration("ms"))
    ready = midnight + pl.Series((3600 + late_s) * 1000).cast(pl.Duration("ms"))
    return pl.DataFrame({
        "job_name": pl.Series([f"job{j:04d}" for j in range(JOBS)])[job],
        "batch_date": base.dt.strftime("%Y-%m-%d"),
        "workload_class": pl.Series([f"class{c}" for c in range(8)])[job % 8],
        "requested_window": pl.Series(["01:00"] * ROWS),
        "estimated_runtime_minutes": median.astype(np.int64),
        "ready_at": ready.dt.strftime(fmt),
        "started_at": started.dt.strftime(fmt),
        "finished_at": finished.dt.strftime(fmt),
        "status": np.where(rng.random(ROWS) < 0.02, "failed", "success"),
        "attempt": np.ones(ROWS, dtype=np.int64),
    })


@pytest.fixture(scope="module")
def history_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("history")
    frame = history_frame()
    csv, parquet = folder / "history.csv", folder / "history.parquet"
    frame.write_csv(csv)
    frame.write_parquet(parquet)
    return {"csv": csv, "parquet": parquet}


def read_and_calibrate(path, by=None):
    from mcqueue.analysis.calibrate import calibrate
    from mcqueue.io.history import read_history

    return calibrate(read_history(path), half_life_days=30, by=by)


def check(model, by=None):
    """The result it timed: every job fitted, the truth recovered for a few of them."""
    jobs = model.table.filter((pl.col("level") == "job") & pl.col("weekday").is_null())
    assert jobs.height == JOBS and (jobs["fit"] == "own").all()
    assert model.settings["nights"] == NIGHTS and model.settings["attempts"] == ROWS
    for j in (0, 3, 1234):
        r = jobs.filter(pl.col("job_name") == f"job{j:04d}").row(0, named=True)
        sigma = 0.1 + 0.4 * (j % 7) / 6
        truth = math.exp(sigma * sigma / 2)  # mean / estimate for a lognormal with that median
        assert abs(r["mean"] - truth) <= 5 * r["mean_se"], (j, r["mean"], truth)
    if by == "weekday":
        assert model.table.filter(pl.col("weekday").is_not_null()).height == 7 * JOBS


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_calibrate_one_million_rows(benchmark, history_files, fmt):
    path = history_files[fmt]
    benchmark.group = "calibrate: 1,000,000 history rows (read + fit)"
    t0 = time.perf_counter()
    model = benchmark.pedantic(read_and_calibrate, args=(path,), rounds=3, iterations=1,
                               warmup_rounds=1)
    wall = time.perf_counter() - t0
    check(model)
    row = record(benchmark, group=benchmark.group, implementation=f"mcqueue calibrate ({fmt})",
                 rows=ROWS, target_seconds=TARGET_SECONDS, rounds_wall_seconds=wall)
    row["rows_per_second"] = benchmark.extra_info["rows_per_second"] = \
        ROWS / row["median_seconds"]
    print(f"\n{fmt}: read + calibrate {ROWS:,} rows: median {row['median_seconds']:.2f} s "
          f"(target <= {TARGET_SECONDS:g} s)")


def test_calibrate_one_million_rows_by_weekday(benchmark, history_files):
    benchmark.group = "calibrate: 1,000,000 history rows (read + fit)"
    model = benchmark.pedantic(read_and_calibrate, args=(history_files["parquet"], "weekday"),
                               rounds=3, iterations=1, warmup_rounds=1)
    check(model, "weekday")
    row = record(benchmark, group=benchmark.group,
                 implementation="mcqueue calibrate (parquet, by weekday)", rows=ROWS,
                 target_seconds=TARGET_SECONDS)
    print(f"\nparquet, by weekday: read + calibrate {ROWS:,} rows: median "
          f"{row['median_seconds']:.2f} s (target <= {TARGET_SECONDS:g} s)")
