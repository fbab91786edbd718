"""Issue 17's yardstick: ``mcqueue simulate --format json`` against a minimal hand-written numba
kernel of the same night (``benchmarks/yardstick.py``), in the same run, at 1 and 2 threads.

The command line's cost per replication is the difference between a run of 4,000,000 and one of
1,000 replications of the 10-job sample night (2026-05-13, 3 workers, default noise), each a
fresh process with ``NUMBA_NUM_THREADS`` set, medians of three: the difference removes the
interpreter's start-up, imports, loading the cached kernels and the report, and keeps the kernel,
the copies of its output and the statistics across replications. The yardstick runs the same
4,000,000 replications in this process (median of three) and must give the engine's metrics bit
for bit. The ratio (command line speed / yardstick speed) is issue 17's target (>= 0.8).

The second test gives the in-process split per replication: the yardstick's stages (draws only;
draws and the admission sort; the whole replication) and the engine's ``replicate``, the
compact store of its metrics and ``summarize_samples`` of that store (and of the float64 array)
on the same replications (the profile of docs/benchmarks.md).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import SAMPLE_DATE, SAMPLE_WORKERS, SEED, night_of, record

import yardstick

BIG = 4_000_000
SMALL = 1_000
RUNS = 3


def _console_script():
    here = Path(sys.executable).parent / "mcqueue"
    return str(here) if here.exists() else shutil.which("mcqueue")


def _cli_seconds(replications: int, threads: int) -> tuple[float, dict]:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    cmd = [_console_script(), "simulate", "--batch-date", SAMPLE_DATE, "--workers",
           str(SAMPLE_WORKERS), "--replications", str(replications), "--seed", str(SEED),
           "--format", "json"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=900, env=env)
    seconds = time.perf_counter() - t0
    return seconds, json.loads(proc.stdout)[0]


def _batch():
    from mcqueue.engine import simulate as engine
    from mcqueue.engine.perturbation import Perturbation

    return engine.prepare([night_of(10)], Perturbation(0.25, 15.0), SEED)


@pytest.mark.parametrize("threads", [1, 2], indirect=True, ids=lambda k: f"{k}thr")
def test_cli_against_yardstick(benchmark, threads):
    from mcqueue.engine import simulate as engine

    batch = _batch()
    check = yardstick.run(batch, SAMPLE_WORKERS, 20_000)  # compiles (or loads) the yardstick
    assert np.array_equal(check, engine.replicate(batch, [0], [SAMPLE_WORKERS], 20_000)[0])
    yard, big, small = [], [], []
    report = None
    for _ in range(RUNS):  # interleaved, so a neighbour's load hits both alike
        t0 = time.perf_counter()
        out = yardstick.run(batch, SAMPLE_WORKERS, BIG)
        yard.append(time.perf_counter() - t0)
        s, report = _cli_seconds(BIG, threads)
        big.append(s)
        small.append(_cli_seconds(SMALL, threads)[0])
    assert report["replications"] == BIG
    assert report["deterministic"]["average_wait_minutes"] == 29.0
    # the yardstick's replications are the engine's: the command line's mean wait is their mean
    assert report["monte_carlo"]["average_wait_minutes"]["mean"] == float(out[0].mean())
    cli_rate = (BIG - SMALL) / (statistics.median(big) - statistics.median(small))
    yard_rate = BIG / statistics.median(yard)
    benchmark.group = f"issue 17: 10 jobs, CLI vs yardstick, {threads} thr"
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    record(benchmark, group=benchmark.group, implementation=f"mcqueue CLI {threads} thr",
           cli_replications_per_second=cli_rate, yardstick_replications_per_second=yard_rate,
           ratio_to_yardstick=cli_rate / yard_rate,
           cli_seconds_4m=statistics.median(big), cli_seconds_1k=statistics.median(small),
           yardstick_seconds_4m=statistics.median(yard))


def _median_seconds(fn, runs=RUNS):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@pytest.mark.parametrize("threads", [1, 2], indirect=True, ids=lambda k: f"{k}thr")
def test_profile_per_replication(benchmark, threads):
    """Nanoseconds per replication (per core-second: x threads) of each stage, in one run."""
    from mcqueue.engine import simulate as engine
    from mcqueue.engine.kernel import _ZFN, _ZKN, _ZWN
    from mcqueue.engine.samples import MetricSamples

    batch = _batch()
    lo, hi = int(batch.night_start[0]), int(batch.night_start[1])
    args = (batch.base_a[lo:hi], batch.base_r[lo:hi], batch.sigma[lo:hi], batch.level[lo:hi],
            batch.excl[lo:hi], batch.key_arr[lo:hi], batch.key_rt[lo:hi],
            batch.base_order[lo:hi], SAMPLE_WORKERS, float(batch.night_horizon[0]),
            float(batch.night_jitter[0]), 0, 4096, _ZKN, _ZWN, _ZFN)
    out = np.empty((8, BIG))
    ns = {}
    for stage, name in ((0, "draws (RNG, exp)"), (1, "draws + admission sort"),
                        (2, "yardstick: whole replication")):
        yardstick.yardstick(*args, stage, out)
        ns[name] = _median_seconds(lambda: yardstick.yardstick(*args, stage, out))
    samples = engine.replicate(batch, [0], [SAMPLE_WORKERS], BIG)
    ns["engine: replicate (kernel + output)"] = _median_seconds(
        lambda: engine.replicate(batch, [0], [SAMPLE_WORKERS], BIG))
    horizon = night_of(10).horizon_minutes
    # what simulate() does after the kernel: keep the metrics compactly (counts as integers,
    # the overflow share derived) and summarise that; the float64 array's summary for contrast
    jobs = night_of(10).n_jobs
    ns["engine: keep compactly (MetricSamples)"] = _median_seconds(
        lambda: MetricSamples.from_array(samples[0], jobs))
    compact = MetricSamples.from_array(samples[0], jobs)
    ns["engine: summarize_samples"] = _median_seconds(
        lambda: engine.summarize_samples(compact, horizon, 0.95))
    ns["engine: summarize_samples of the float64 array"] = _median_seconds(
        lambda: engine.summarize_samples(samples[0], horizon, 0.95))
    benchmark.group = f"issue 17: profile per replication, 10 jobs, {threads} thr"
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    record(benchmark, group=benchmark.group, implementation=f"stages {threads} thr",
           **{f"ns_per_rep {k}": v / BIG * 1e9 for k, v in ns.items()})
