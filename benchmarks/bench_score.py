"""`mcqueue score` throughput: 1,000 nights of ten jobs, 10,000 replications each, end to end.

Issue 7's target on the 2-core machine: at most 15 s from the raw job records (10,000 rows) to
the sorted score rows: validation, splitting into nights, the zero-noise replays, 10,000,000
replications in groups of 128 scenarios, and the per-night statistics.

    python -m pytest benchmarks/bench_score.py --benchmark-only
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import polars as pl
import pytest

from conftest import SEED, record

NIGHTS = 1000
REPLICATIONS = 10_000
WORKERS = (3,)
TARGET_SECONDS = 15.0


def thousand_nights_frame() -> pl.DataFrame:
    """1,000 nights shaped like the sample's 2026-05-13 (ten jobs, same windows, priorities and
    exclusive locks), each with its own runtimes drawn around the sample's (gamma, shape 4)."""
    from mcqueue.io.sample import sample_frame

    base = sample_frame().filter(pl.col("batch_date") == "2026-05-13")
    rng = np.random.default_rng(SEED)
    first = dt.date(2024, 1, 1)
    dates = [(first + dt.timedelta(days=i)).isoformat() for i in range(NIGHTS)]
    mean_rt = np.tile(base["estimated_runtime_minutes"].cast(pl.Float64).to_numpy(), NIGHTS)
    runtime = np.maximum(1.0, np.round(rng.gamma(4.0, mean_rt / 4.0)))
    return pl.concat([base] * NIGHTS).with_columns(
        pl.Series("batch_date", np.repeat(dates, base.height)),
        pl.Series("estimated_runtime_minutes", runtime.astype(str)))


def score_file(raw: pl.DataFrame):
    """What `mcqueue score --file F --workers 3` does after reading the file."""
    from mcqueue.analysis import planning as planning
    from mcqueue.io.schema import nights_from_frame, validate_jobs

    nights = nights_from_frame(validate_jobs(raw))
    return planning.score(nights, WORKERS, planning.Settings(replications=REPLICATIONS,
                                                              seed=SEED)).to_dicts()


def test_score_1000_nights(benchmark):
    from mcqueue.analysis import planning as planning
    from mcqueue.io.schema import nights_from_frame, validate_jobs

    raw = thousand_nights_frame()
    assert raw.height == NIGHTS * 10
    score_file(raw.head(30))  # warm: numba cache, scipy's t and normal quantiles, polars
    benchmark.group = "score: 1,000 ten-job nights x 10,000 replications"
    t0 = time.perf_counter()
    rows = benchmark.pedantic(score_file, args=(raw,), rounds=2, iterations=1, warmup_rounds=0)
    first_round = time.perf_counter() - t0
    # the result: one row per night, sorted by risk, each equal to that night scored alone
    assert len(rows) == NIGHTS and len({r["batch_date"] for r in rows}) == NIGHTS
    keys = [(-r["overflow_probability"], -r["p95_wait_mean"]) for r in rows]
    assert keys == sorted(keys)
    assert all(r["jobs"] == 10 and 0.0 <= r["overflow_probability"] <= 1.0 for r in rows)
    nights = nights_from_frame(validate_jobs(raw), dates=[rows[0]["batch_date"],
                                                                   rows[-1]["batch_date"]])
    alone = planning.score(nights, WORKERS, planning.Settings(replications=REPLICATIONS,
                                                               seed=SEED)).to_dicts()
    assert alone == [rows[0], rows[-1]]
    row = record(benchmark, group=benchmark.group, implementation="mcqueue score",
                 replications=NIGHTS * REPLICATIONS, jobs=10,
                 target_seconds=TARGET_SECONDS, rounds_wall_seconds=first_round)
    print(f"\n1,000 nights x 10,000 replications: median {row['median_seconds']:.2f} s "
          f"(target <= {TARGET_SECONDS:g} s), {row['replications_per_second']:,.0f} rep/s")


def test_score_stages(benchmark):
    """Where the time of one 1,000-night score goes (recorded, one round): engine vs the rest."""
    from mcqueue.engine import simulate as engine
    from mcqueue.analysis import planning as planning
    from mcqueue.io.schema import nights_from_frame, validate_jobs

    raw = thousand_nights_frame()
    settings = planning.Settings(replications=REPLICATIONS, seed=SEED)
    stages = {}

    def run():
        t = time.perf_counter()
        nights = nights_from_frame(validate_jobs(raw))
        stages["validate_and_split_seconds"] = time.perf_counter() - t
        t = time.perf_counter()
        batch = engine.prepare(nights, settings.perturbation(), SEED)
        stages["prepare_seconds"] = time.perf_counter() - t
        kernel = stats = 0.0
        for g in range(0, NIGHTS, planning.DEFAULT_GROUP):
            idx = np.arange(g, min(NIGHTS, g + planning.DEFAULT_GROUP))
            t = time.perf_counter()
            s = engine.replicate(batch, idx, [WORKERS[0]] * len(idx), REPLICATIONS)
            kernel += time.perf_counter() - t
            t = time.perf_counter()
            out = planning._sample_stats(s, batch.night_horizon[idx], settings.confidence)
            stats += time.perf_counter() - t
            assert out["p"].shape == (len(idx),)
        stages["kernel_seconds"] = kernel
        stages["statistics_seconds"] = stats
        return nights

    benchmark.group = "score stages (1,000 nights)"
    nights = benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    assert len(nights) == NIGHTS
    record(benchmark, group=benchmark.group, implementation="mcqueue score stages",
           replications=NIGHTS * REPLICATIONS, jobs=10, **stages)
    print("\n" + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
