"""Combine several benchmark runs into the markdown tables of docs/benchmarks.md.

    python -m pytest benchmarks/ --benchmark-only --mcqueue-summary run1.json   # repeat: run2 ...
    python benchmarks/report.py run1.json run2.json run3.json

Each run's summary holds per-benchmark medians over its rounds; this takes, for every benchmark,
the median over runs of those medians and the range (min-max) over runs, and the same for
mcqueue's speed ratio to each peer. The machine is shared: quote the medians.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def _fmt(x, digits=3):
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def combine(paths):
    runs = [json.loads(Path(p).read_text()) for p in paths]
    rows: dict = {}
    for run in runs:
        for r in run["results"]:
            rows.setdefault((r["group"], r["implementation"]), []).append(r)
    ratios: dict = {}
    for run in runs:
        for q in run["ratios"]:
            ratios.setdefault((q["group"], q["mcqueue"], q["peer"]), []).append(q["speedup"])
    return runs, rows, ratios


def spread(values, digits=3):
    med = statistics.median(values)
    if len(values) == 1:
        return _fmt(med, digits)
    return f"{_fmt(med, digits)} ({_fmt(min(values), digits)}-{_fmt(max(values), digits)})"


def markdown(paths) -> str:
    runs, rows, ratios = combine(paths)
    m = runs[-1]["machine"]
    out = [f"Runs combined: {len(runs)}. Machine: {m.get('cpu', '?')}, {m['nproc']} CPUs, "
           f"{m.get('memory_gib', '?')} GiB; python {m['python']}, numpy {m['numpy']}, "
           f"numba {m['numba']}.", "",
           "| benchmark | implementation | median s per round | replications/s | jobs/s | "
           "other |", "|---|---|---|---|---|---|"]
    for (group, impl), rs in rows.items():
        med = spread([r["median_seconds"] for r in rs], 4)
        rps = spread([r["replications_per_second"] for r in rs]) if (
            "replications_per_second" in rs[0]) else ""
        jps = spread([r["jobs_per_second"] for r in rs]) if "jobs_per_second" in rs[0] else ""
        other = []
        for k in ("peak_rss_mib", "process_seconds", "to_kernel_seconds", "kernel_seconds",
                  "import_numba_seconds", "import_engine_seconds", "simulate_seconds",
                  "target_ratio"):
            if k in rs[0]:
                other.append(f"{k} {spread([r[k] for r in rs])}")
        out.append(f"| {group} | {impl} | {med} | {rps} | {jps} | {'; '.join(other)} |")
    if ratios:
        out += ["", "| night and replications | mcqueue | peer | mcqueue speed / peer speed |",
                "|---|---|---|---|"]
        for (group, eng, peer), vals in ratios.items():
            out.append(f"| {group.removeprefix('peers: ')} | {eng} | {peer} | "
                       f"{spread(vals)}x |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python benchmarks/report.py RUN.json [RUN.json ...]")
    sys.stdout.write(markdown(sys.argv[1:]))
