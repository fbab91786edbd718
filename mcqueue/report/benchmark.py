"""Renderers of ``bench`` results."""

from __future__ import annotations

import json

from ..analysis.benchmark import BenchResult
from .tables import grid


def bench_table(result: BenchResult) -> str:
    """The report for people: one header line, one row per night."""
    report = result.to_dict()
    v = report["versions"]
    lines = [
        f"mcqueue {v['mcqueue']} engine throughput: {report['usable_cpus']} usable of "
        f"{report['cpu_count']} cores ({report['cpu_model'] or 'unknown CPU'}), numba "
        f"{v['numba']} with {report['numba_threads']} threads "
        f"({report['numba_threading_layer'] or 'a Python thread pool'}); python {v['python']}, "
        f"numpy {v['numpy']}, "
        f"polars {v['polars']}",
        f"noise: runtime cv {report['runtime_cv']:g}, arrival jitter "
        f"{report['arrival_jitter_minutes']:g} min; median of {report['results'][0]['runs']} "
        f"runs each",
        "",
    ]
    header = ("night", "jobs", "workers", "replications/s", "jobs/s", "reps/run",
              "median s", "min-max s")
    rows = [header]
    for r in report["results"]:
        rows.append((r["night"], f"{r['jobs']:,}", str(r["workers"]),
                     f"{r['replications_per_second']:,.0f}", f"{r['jobs_per_second']:,.0f}",
                     f"{r['replications']:,}", f"{r['seconds_median']:.3f}",
                     f"{r['seconds_min']:.3f}-{r['seconds_max']:.3f}"))
    lines += grid(rows[0], rows[1:], [False] + [True] * (len(header) - 1), rule=False)
    return "\n".join(lines) + "\n"


def bench_json(result: BenchResult) -> str:
    return json.dumps(result.to_dict(), indent=2) + "\n"


RENDERERS = {BenchResult: {"table": bench_table, "json": bench_json}}
