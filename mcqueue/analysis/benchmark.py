"""Engine throughput on this machine: the library behind ``mcqueue bench``.

Times ``engine.replicate`` (the parallel kernel, noise drawn inside it) on the built-in sample
night 2026-05-13 on 3 workers and on a synthetic 2,000-job night on 16 workers, with the default
noise (runtime cv 0.25, arrival jitter 15 minutes). Each night gets half the time budget: a short
calibration finds a replication count that takes about budget / (runs + 1) seconds, then ``runs``
timed runs give a median (the machine may be shared: the median resists a busy neighbour).

Throughput is reported as replications per second and simulated jobs per second (replications x
jobs: every job is one arrival, one dispatch and one finish in the event loop).
"""

from __future__ import annotations

import math
import os
import time

from dataclasses import asdict, dataclass, field

from .._plain import plain
from ..errors import ScenarioError

# platform and statistics load inside the functions: the CLI imports this module for its defaults

DEFAULT_SECONDS = 6.0
DEFAULT_RUNS = 3
SAMPLE_DATE = "2026-05-13"
SAMPLE_WORKERS = 3
LARGE_JOBS = 2000
LARGE_WORKERS = 16
MAX_REPLICATIONS = 4_000_000  # 8 metrics x 8 bytes x 4 M = 256 MB of output per run


@dataclass
class NightThroughput:
    """The median of ``runs`` timed runs of one night."""

    night: str
    jobs: int
    workers: int
    replications: int
    runs: int
    seconds_median: float
    seconds_min: float
    seconds_max: float
    replications_per_second: float
    jobs_per_second: float


@dataclass
class BenchResult:
    """What ``mcqueue bench`` measured, with the machine and versions that decide the speed."""

    cpu_count: int | None
    usable_cpus: int | None
    cpu_model: str | None
    numba_threads: int
    versions: dict[str, str]
    numba_threading_layer: str | None
    runtime_cv: float
    arrival_jitter_minutes: float
    seed: int
    budget_seconds: float
    startup_seconds: float
    measuring_seconds: float
    results: list[NightThroughput] = field(default_factory=list)

    def to_dict(self) -> dict:
        return plain(asdict(self))


def cpu_model() -> str | None:
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def environment() -> dict:
    """Core counts, numba's thread count and the versions that decide the speed."""
    import platform

    import numba
    import numpy
    import polars

    from .. import __version__

    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "cpu_model": cpu_model(),
        "numba_threads": numba.get_num_threads(),
        "versions": {"python": platform.python_version(), "numpy": numpy.__version__,
                     "numba": numba.__version__, "polars": polars.__version__,
                     "mcqueue": __version__},
    }


def _block(replications: int) -> int:
    """Enough tasks for every thread even for a few replications of a large night."""
    from numba import get_num_threads

    return int(min(4096, max(1, math.ceil(replications / (8 * get_num_threads())))))


def measure_night(night, workers: int, seconds: float, runs: int = DEFAULT_RUNS,
                  seed: int = 0, runtime_cv: float = 0.25, arrival_jitter: float = 15.0,
                  name: str | None = None) -> NightThroughput:
    """Median throughput of ``runs`` timed runs of about seconds / (runs + 1) each."""
    import statistics

    from ..engine import simulate as engine
    from ..engine.perturbation import Perturbation

    batch = engine.prepare([night], Perturbation(runtime_cv, arrival_jitter), seed)

    def run(reps):
        t = time.perf_counter()
        out = engine.replicate(batch, [0], [workers], reps, block=_block(reps))
        return time.perf_counter() - t, out

    run(1)  # compiled kernel loaded, scratch paths touched
    target = seconds / (runs + 1)
    reps = max(1, int(20_000 / max(night.n_jobs, 1)))
    while True:
        elapsed, _ = run(reps)
        if elapsed >= target / 4 or reps >= MAX_REPLICATIONS:
            break
        grow = 8 if elapsed <= 0 else min(8.0, target / 2 / elapsed)
        reps = min(MAX_REPLICATIONS, max(reps + 1, int(reps * grow)))
    per_second = reps / max(elapsed, 1e-9)
    reps = int(min(MAX_REPLICATIONS, max(1, per_second * target)))
    times = []
    for _ in range(runs):
        elapsed, out = run(reps)
        if not (out.shape[2] == reps and math.isfinite(float(out.sum()))):
            raise RuntimeError("the engine returned incomplete metrics")  # never expected
        times.append(elapsed)
    median = statistics.median(times)
    return NightThroughput(
        night=name or night.batch_date, jobs=night.n_jobs, workers=workers,
        replications=reps, runs=runs, seconds_median=median, seconds_min=min(times),
        seconds_max=max(times), replications_per_second=reps / median,
        jobs_per_second=reps * night.n_jobs / median)


def run_benchmark(seconds: float = DEFAULT_SECONDS, runs: int = DEFAULT_RUNS,
                  threads: int | None = None) -> BenchResult:
    """Throughput on the built-in night and a synthetic large night, with the environment.

    ``seconds`` is the measuring budget, shared by the two nights; loading the nights and the
    compiled kernel (or compiling it, on a first run) come on top, as ``startup_seconds``. ``threads`` sets numba's thread count (default: numba's).
    """
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ScenarioError(f"seconds must be a number > 0, got {seconds!r}")
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ScenarioError(f"runs must be an integer >= 1, got {runs!r}")
    import numba

    if threads is not None:
        limit = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
        if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= limit:
            raise ScenarioError(f"threads must be an integer from 1 to {limit} (numba's "
                                f"NUMBA_NUM_THREADS), got {threads!r}")
        numba.set_num_threads(threads)
    from ..engine import simulate as engine
    from ..io.sample import load_sample
    from ..engine.synthetic import synthetic_night

    t0 = time.perf_counter()
    sample = load_sample(SAMPLE_DATE)
    large = synthetic_night(LARGE_JOBS)
    engine.replicate(engine.prepare([sample]), [0], [SAMPLE_WORKERS], 1)  # load or compile
    t1 = time.perf_counter()
    results = [
        measure_night(sample, SAMPLE_WORKERS, seconds / 2, runs,
                      name=f"{SAMPLE_DATE} (built-in sample)"),
        measure_night(large, LARGE_WORKERS, seconds / 2, runs,
                      name=f"synthetic {LARGE_JOBS:,}-job night"),
    ]
    env = environment()
    try:
        layer = numba.threading_layer()
    except ValueError:  # no numba parallel region ran: the kernels ran on mcqueue's own thread
        layer = None  # pool (kernel.run_tasks), as every kernel of the engine does
    return BenchResult(**env, numba_threading_layer=layer, runtime_cv=0.25,
                       arrival_jitter_minutes=15.0, seed=0, budget_seconds=seconds,
                       startup_seconds=t1 - t0, measuring_seconds=time.perf_counter() - t1,
                       results=results)
