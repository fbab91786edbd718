"""`mcqueue bench`: engine throughput on this machine, in under 20 seconds."""

from __future__ import annotations

import click

from mcqueue.analysis.benchmark import DEFAULT_SECONDS  # cheap: the library module imports no numba

from .options import count, library_errors, positive_finite, render_to


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people; json for machines.")
@click.option("--seconds", type=click.FloatRange(min=0.01, max=86_400), callback=positive_finite,
              default=DEFAULT_SECONDS,
              show_default=True,
              help="Measuring budget, shared by the two nights (a first compile comes on top).")
@click.option("--threads", type=count(1, 4096), default=None,
              help="numba threads to use (default: numba's, usually one per core).")
@library_errors
def bench(fmt, seconds, threads):
    """Measure the engine's throughput: replications/s and jobs/s.

    Runs the built-in night 2026-05-13 (10 jobs, 3 workers) and a synthetic 2,000-job night
    (16 workers) with the default noise, and reports the median of three runs each with the
    core count, numba's thread count and the library versions.

    \b
    Example:
      mcqueue bench
      mcqueue bench --format json --seconds 3
    """
    from mcqueue.analysis.benchmark import run_benchmark

    from .progress import compiling_notice

    compiling_notice()
    render_to(run_benchmark(seconds=seconds, threads=threads), fmt, None)
