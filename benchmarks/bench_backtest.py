"""`backtest` throughput: 365 nights x 10,000 replications, target <= 60 s on 2 cores (issue 14).

The history: 425 consecutive nights (60 to fit the first backtested night, then 365) of 14 jobs
in the sample's four classes and three windows (01:00, 02:00, 03:00), lognormal runtimes with a
night-wide factor, finishes on a pool with more workers than jobs; built once in memory. One round
is a whole `mcqueue.analysis.backtest.backtest` call with the command's defaults: each night
calibrated on the 60 nights before it (365 fits), its queue (rebuilt from the history) simulated
10,000 times on 16 workers, scored, and 200 replications per night traced for the per-job
finish scores. A second benchmark leaves the per-job traces out (--job-replications 0).

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
TARGET_SECONDS = 60.0
FIRST = dt.date(2025, 1, 1)
JOBS = [("etl", "01:00", 25), ("etl", "01:00", 25), ("etl", "02:00", 25), ("etl", "02:00", 25),
        ("etl", "03:00", 25), ("etl", "03:00", 25), ("refresh", "01:00", 20),
        ("refresh", "02:00", 20), ("refresh", "03:00", 20), ("backfill", "01:00", 50),
        ("backfill", "02:00", 75), ("backfill", "03:00", 70),
        ("index_maintenance", "01:00", 70), ("index_maintenance", "02:00", 35)]


def history_frame() -> pl.DataFrame:
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
    return normalise_history(raw, "generic", "bench")


@pytest.fixture(scope="module")
def history():
    return history_frame()


def run(history, job_replications):
    from mcqueue.analysis.backtest import BacktestSettings, backtest, queues_from_history
    from mcqueue.analysis.planning import Settings

    dates = [(FIRST + dt.timedelta(days=WINDOW + i)).isoformat() for i in range(NIGHTS)]
    queues = queues_from_history(history, dates)
    bt = BacktestSettings(workers=16, window_days=WINDOW, job_replications=job_replications,
                          simulation=Settings(replications=REPLICATIONS, seed=SEED))
    return backtest(history, queues, dates[0], dates[-1], bt)


@pytest.mark.parametrize("job_replications", [200, 0])
def test_backtest_365_nights(benchmark, history, job_replications):
    benchmark.group = "backtest: 365 nights x 10,000 replications"
    t0 = time.perf_counter()
    res = benchmark.pedantic(run, args=(history, job_replications), rounds=2, iterations=1,
                             warmup_rounds=0)
    wall = time.perf_counter() - t0
    assert len(res.rows) == NIGHTS and not res.skipped
    row = record(benchmark, group=benchmark.group,
                 implementation=f"mcqueue backtest (job replications {job_replications})",
                 replications=NIGHTS * REPLICATIONS, jobs=len(JOBS),
                 target_seconds=TARGET_SECONDS, rounds_wall_seconds=wall)
    print(f"\nbacktest {NIGHTS} nights x {REPLICATIONS:,} replications (job replications "
          f"{job_replications}): median {row['median_seconds']:.1f} s (target <= "
          f"{TARGET_SECONDS:g} s)")
