"""`mcqueue validate`: check the engine against closed-form queueing results and the coverage of
its confidence intervals, on this machine."""

from __future__ import annotations

import click

from .options import library_errors, output_options, render_to


@click.command()
@click.option("--full", is_flag=True, default=False,
              help="Run the complete suite of docs/validation.md (several minutes) instead of "
                   "the quick subset (well under 30 s).")
@output_options
@library_errors
def validate(full, fmt, output):
    """Check the engine against queueing theory; exit 1 if a check fails.

    The quick subset replays 200,000-job Poisson nights (M/M/1, M/M/4, M/D/1, two priority
    classes) against Erlang C, Pollaczek-Khinchine and Cobham's formulas, and measures the
    coverage of the 95% intervals over 1,000 independent runs. Prints one row per check:
    check, formula, expected, measured, tolerance, pass.

    \b
    Example:
      mcqueue validate
      mcqueue validate --format json
      mcqueue validate --full --output validation.txt
    """
    from mcqueue.analysis.validation import validate as run_validation

    from .progress import compiling_notice, stderr_is_tty

    compiling_notice()
    say = (lambda msg: click.echo(f"mcqueue: validating {msg}...", err=True)) \
        if stderr_is_tty() else None
    result = run_validation("full" if full else "quick", progress=say)
    render_to(result, fmt, output)
    failed = result.failed
    if failed:
        click.echo(f"mcqueue: {len(failed)} of {len(result.checks)} validation checks failed: "
                   + "; ".join(c.check for c in failed), err=True)
        raise click.exceptions.Exit(1)
