"""End to end: the ``mcqueue`` console script in a fresh process on the built-in sample.

``mcqueue simulate --format json`` runs the tutorial's two scenarios (2026-05-13 on 3 workers,
2026-05-14 on 2 workers) with 10,000 replications each: interpreter start, imports, loading the
cached kernel, the simulation, the statistics and the JSON report, as a user sees it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import record


def _console_script():
    # the script next to this interpreter (a pyenv shim would add its own start-up time)
    here = Path(sys.executable).parent / "mcqueue"
    return str(here) if here.exists() else shutil.which("mcqueue")


def _simulate():
    proc = subprocess.run([_console_script(), "simulate", "--format", "json"],
                          capture_output=True, text=True, check=True, timeout=600)
    return json.loads(proc.stdout)


def test_cli_simulate_sample(benchmark):
    assert _console_script() is not None
    benchmark.group = "end to end: mcqueue simulate --format json (sample, 2 x 10,000 reps)"
    report = benchmark.pedantic(_simulate, rounds=5, warmup_rounds=1, iterations=1)
    assert [(r["batch_date"], r["workers"], r["replications"]) for r in report] == [
        ("2026-05-13", 3, 10_000), ("2026-05-14", 2, 10_000)]
    assert report[0]["deterministic"]["average_wait_minutes"] == 29.0
    assert report[1]["deterministic"]["overflow_jobs"] == 9
    assert 0.0 <= report[1]["monte_carlo"]["overflow_probability"]["estimate"] <= 1.0
    record(benchmark, group=benchmark.group, implementation="mcqueue CLI (process)",
           replications=20_000)
