"""`backtest` throughput: 365 nights x 10,000 replications, target <= 60 s on 2 cores (issue 14).

The history: 425 consecutive nights (60 to fit the first backtested night, then 365) of 14 jobs
in the sample's four classes and three windows (01:00, 02:00, 03:00), lognormal runtimes with a
night-wide factor, finishes on a pool with more workers than jobs; built once in memory. One round
is a whole `mcqueue.analysis.backtest.backtest` call with the command's defaults: each night
calibrated on the 60 nights before it (365 fits), its queue (rebuilt from the history) simulated
10,000 times on 16 workers, scored, and 200 replications per night traced for the per-job
finish scores. A second benchmark leaves the per-job scores out (--job-replications 0).

With the kernel features of issue 14 on (``features``): the same nights with 3 % of job-nights
failing once and rerun (a failed attempt before the successful one), backtested with
``--runtime-model empirical --night-cv fitted`` and the default rerun (each job's fitted
share, one rerun at most): every night runs through the general event loop.

    python -m pytest benchmarks/bench_backtest.py --benchmark-only
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import polars as pl
import pytest

from conftest import SEED, record

NIGHTS = 365
WINDOW = 60
REPLICATIONS = 10_000
ROUNDS = 3
TARGET_SECONDS = 60.0
FIRST = dt.date(2025, 1, 1)
JOBS = [("etl", "01:00", 25), ("etl", "01:00", 25), ("etl", "02:00", 25), ("etl", "02:00", 25),
        ("etl", "03:00", 25), ("etl", "03:00", 25), ("refresh", "01:00", 20),
        ("refresh", "02:00", 20), ("refresh", "03:00", 20), ("backfill", "01:00", 50),
        ("backfill", "02:00", 75), ("backfill", "03:00", 70),
        ("index_maintenance", "01:00", 70), ("index_maintenance", "02:00", 35)]


def history_frame(failures: float = 0.0) -> pl.DataFrame:
    """The benchmark's history; ``failures``: share of job-nights whose first attempt failed
    (a row with status 'failed', attempt 1, ending when the successful attempt 2 starts)."""
    from mcqueue.io.history import normalise_history

    rng = np.random.default_rng(SEED)
    n, j = NIGHTS + WINDOW, len(JOBS)
    est = np.array([e for _, _, e in JOBS], float)
    window_min = np.array([int(w[:2]) * 60 for _, w, _ in JOBS], float)
    s_job, s_night = np.sqrt(np.log1p(0.25 ** 2)), np.sqrt(np.log1p(0.1 ** 2))
    factor = np.exp(rng.normal(-s_job ** 2 / 2, s_job, (n, j))
                    + rng.normal(-s_night ** 2 / 2, s_night, (n, 1)))
    start = window_min + 15.0 * rng.random((n, j))
    nights = [FIRST + dt.timedelta(days=i) for i in range(n)]
    midnight = np.array([np.datetime64(d, "us") for d in nights])[:, None]
    t0 = midnight + (start * 60e6).astype("timedelta64[us]")
    t1 = t0 + (est * factor * 60e6).astype("timedelta64[us]")
    raw = pl.DataFrame({
        "job_name": np.tile([f"{c}_{w.replace(':', '')}_{i}" for i, (c, w, _) in
                             enumerate(JOBS)], n),
        "batch_date": np.repeat(np.array(nights, dtype="datetime64[D]"), j),
        "workload_class": np.tile([c for c, _, _ in JOBS], n),
        "requested_window": np.tile([w for _, w, _ in JOBS], n),
        "estimated_runtime_minutes": np.tile(est, n),
        "started_at": t0.reshape(-1), "finished_at": t1.reshape(-1),
    })
    if failures > 0:
        failed = rng.random(n * j) < failures
        raw = raw.with_columns(pl.lit("success").alias("status"),
                               pl.Series("attempt", np.where(failed, 2, 1).astype(np.int64)))
        first = raw.filter(pl.Series(failed)).with_columns(
            pl.lit("failed").alias("status"), pl.lit(1, pl.Int64).alias("attempt"),
            (pl.col("started_at") - pl.duration(minutes=10)).alias("started_at"),
            pl.col("started_at").alias("finished_at"))
        raw = pl.concat([raw, first])
    return normalise_history(raw, "generic", "bench")


_HISTORY: dict = {}


def history(features):
    key = "features" if features else "plain"
    if key not in _HISTORY:
        _HISTORY[key] = history_frame(0.03 if features else 0.0)
    return _HISTORY[key]


def run(history, job_replications, features=False):
    from mcqueue.analysis.backtest import BacktestSettings, backtest, queues_from_history
    from mcqueue.analysis.planning import Settings

    dates = [(FIRST + dt.timedelta(days=WINDOW + i)).isoformat() for i in range(NIGHTS)]
    queues = queues_from_history(history, dates)
    kw = dict(runtime_model="empirical", night_cv="fitted") if features else {}
    bt = BacktestSettings(workers=16, window_days=WINDOW, job_replications=job_replications,
                          simulation=Settings(replications=REPLICATIONS, seed=SEED), **kw)
    return backtest(history, queues, dates[0], dates[-1], bt)


@pytest.mark.parametrize("features", [False, True], ids=["plain", "features"])
@pytest.mark.parametrize("job_replications", [200, 0])
def test_backtest_365_nights(benchmark, job_replications, features):
    benchmark.group = "backtest: 365 nights x 10,000 replications"
    h = history(features)
    # compile or load the engine (the general loop for features and per-job scores) untimed
    run(h.filter(pl.col("batch_date") < FIRST + dt.timedelta(days=WINDOW + 2)), 10, features)
    t0 = time.perf_counter()
    res = benchmark.pedantic(run, args=(h, job_replications, features), rounds=ROUNDS,
                             iterations=1, warmup_rounds=0)
    wall = time.perf_counter() - t0
    assert len(res.rows) == NIGHTS and not res.skipped
    name = "features" if features else "plain"
    row = record(benchmark, group=benchmark.group,
                 implementation=f"mcqueue backtest {name} (job replications "
                                f"{job_replications})",
                 replications=NIGHTS * REPLICATIONS, jobs=len(JOBS),
                 target_seconds=TARGET_SECONDS, rounds_wall_seconds=wall)
    print(f"\nbacktest {name} {NIGHTS} nights x {REPLICATIONS:,} replications (job "
          f"replications {job_replications}): median {row['median_seconds']:.1f} s (target <= "
          f"{TARGET_SECONDS:g} s)")
