"""Shared fixtures for the throughput benchmarks (pytest-benchmark).

Run them with the one command (they are outside the default test run, whose testpaths is tests/):

    python -m pytest benchmarks/ --benchmark-only

Files are named ``bench_*.py`` and collected by the hook below. Every benchmark warms the JIT
before timing (the session fixture ``warm_engine`` plus a warm-up round), times a fixed amount of
work per round, asserts on the result it timed, and records its throughput. At the end a summary
table prints the medians, the throughput, mcqueue's speed as a ratio to each peer and the issue's
targets; ``--mcqueue-summary PATH`` also writes that summary as JSON.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks.peers and tests.naive import from the repository
    sys.path.insert(0, str(ROOT))

SEED = 0
RUNTIME_CV = 0.25
ARRIVAL_JITTER = 15.0
SAMPLE_DATE = "2026-05-13"
SAMPLE_WORKERS = 3
SYNTHETIC_WORKERS = 16

# issue 2's throughput targets on this 2-core machine (measured, reported, never asserted)
TARGETS = {
    "replications_per_second_10_jobs_2_threads": 2_000_000,
    "jobs_per_second_2000_jobs_16_workers": 15_000_000,
    "peak_rss_mib_10m_replications": 1024,
    "cached_kernel_seconds": 1.0,
}

_RESULTS: list[dict] = []


def pytest_collect_file(file_path, parent):
    # files named on the command line are collected by pytest itself whatever their name
    if (file_path.suffix == ".py" and file_path.name.startswith("bench_")
            and not parent.session.isinitpath(file_path)):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_addoption(parser):
    parser.addoption("--mcqueue-summary", default=None, metavar="PATH",
                     help="write the benchmark summary (medians, throughput, ratios) as JSON")


# ---------------------------------------------------------------- nights and noise
@pytest.fixture(scope="session")
def perturbation():
    from mcqueue.engine.perturbation import Perturbation

    return Perturbation(runtime_cv=RUNTIME_CV, arrival_jitter=ARRIVAL_JITTER)


_NIGHTS: dict = {}


def night_of(size):
    """The sample night (size 10) or ``synthetic_night(size)``; cached for the session."""
    if size not in _NIGHTS:
        if size == 10:
            from mcqueue.io.sample import load_sample

            _NIGHTS[size] = load_sample(SAMPLE_DATE)
        else:
            from mcqueue.engine.synthetic import synthetic_night

            _NIGHTS[size] = synthetic_night(size, seed=SEED)
    return _NIGHTS[size]


def workers_of(size):
    return SAMPLE_WORKERS if size == 10 else SYNTHETIC_WORKERS


def describe(size):
    nt = night_of(size)
    return f"{nt.n_jobs} jobs ({nt.batch_date}, {workers_of(size)} workers)"


@pytest.fixture(scope="session", autouse=True)
def warm_engine():
    """Compile (or load from numba's cache) the kernels before anything is timed."""
    from mcqueue.engine import simulate as engine
    from mcqueue.engine.perturbation import Perturbation

    nt = night_of(10)
    batch = engine.prepare([nt], Perturbation(RUNTIME_CV, ARRIVAL_JITTER), SEED)
    out = engine.replicate(batch, [0], [SAMPLE_WORKERS], 64)
    engine.trace(nt, SAMPLE_WORKERS, 0, Perturbation(RUNTIME_CV, ARRIVAL_JITTER), SEED)
    assert out.shape == (1, len(engine.METRICS), 64)


@pytest.fixture
def threads(request):
    """Set numba's thread count for one benchmark, restore it afterwards."""
    import numba

    before = numba.get_num_threads()
    k = min(request.param, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(k)
    yield k
    numba.set_num_threads(before)


# ---------------------------------------------------------------- recording
def record(benchmark, *, group, implementation, replications=None, jobs=None, **extra):
    """Store one benchmark's median-based throughput in extra_info and the session summary."""
    stats = getattr(benchmark, "stats", None)
    median = float(stats.stats.median) if stats is not None else float("nan")
    q1 = float(stats.stats.q1) if stats is not None else float("nan")
    q3 = float(stats.stats.q3) if stats is not None else float("nan")
    row = {"group": group, "implementation": implementation, "median_seconds": median,
           "iqr_seconds": q3 - q1, "rounds": int(stats.stats.rounds) if stats else 0}
    if replications is not None:
        row["replications"] = replications
        row["replications_per_second"] = replications / median
    if jobs is not None and replications is not None:
        row["jobs"] = jobs
        row["jobs_per_second"] = replications * jobs / median
    row.update(extra)
    benchmark.extra_info.update(row)
    _RESULTS.append(row)
    return row


def _machine():
    import numba

    info = {"python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "nproc": os.cpu_count(),
            "numba_threads_max": numba.config.NUMBA_NUM_THREADS}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    return info


def _ratios(rows):
    """mcqueue's speed over each peer's in the same group (same nights, same draws)."""
    out = []
    groups = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    for group, members in groups.items():
        engines = [r for r in members if r["implementation"].startswith("mcqueue")]
        peers = [r for r in members if not r["implementation"].startswith("mcqueue")]
        for e in engines:
            for p in peers:
                if "replications_per_second" in e and "replications_per_second" in p:
                    out.append({"group": group, "mcqueue": e["implementation"],
                                "peer": p["implementation"],
                                "speedup": e["replications_per_second"]
                                / p["replications_per_second"]})
    return out


def _num(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _RESULTS:
        return
    tr = terminalreporter
    tr.section("mcqueue throughput (medians over rounds)")
    for r in _RESULTS:
        parts = [f"{r['group']:<44} {r['implementation']:<22} median {r['median_seconds']:.4g} s"
                 f" (IQR {r['iqr_seconds']:.2g}, {r['rounds']} rounds)"]
        if "replications_per_second" in r:
            parts.append(f"{_num(r['replications_per_second'])} rep/s")
        if "jobs_per_second" in r:
            parts.append(f"{_num(r['jobs_per_second'])} jobs/s")
        for k in ("peak_rss_mib", "process_seconds", "to_kernel_seconds", "kernel_seconds",
                  "per_job_overhead", "cli_replications_per_second",
                  "yardstick_replications_per_second", "ratio_to_yardstick"):
            if k in r:
                parts.append(f"{k} {r[k]:.4g}")
        parts += [f"{k[11:]}: {v:.4g} ns" for k, v in r.items() if k.startswith("ns_per_rep ")]
        tr.write_line("  ".join(parts))
    ratios = _ratios(_RESULTS)
    if ratios:
        tr.section("mcqueue speed / peer speed (same nights, same noise)")
        for q in ratios:
            tr.write_line(f"{q['group']:<44} {q['mcqueue']:<22} / {q['peer']:<14} "
                          f"= {q['speedup']:,.1f}x")
    path = config.getoption("--mcqueue-summary")
    if path:
        Path(path).write_text(json.dumps({"machine": _machine(), "targets": TARGETS,
                                          "results": _RESULTS, "ratios": ratios}, indent=2))
        tr.write_line(f"summary written to {path}")
