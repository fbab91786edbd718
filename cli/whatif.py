"""`mcqueue whatif`: scenarios from a TOML file against the baseline night, as paired
differences on the same random nights."""

from __future__ import annotations

import click

from .conditions import fail_if_option
from .options import (MAX_WORKERS, aws_options, batch_dates, check_output, clock_of, compose,
                      count, file_option, library_errors, now_options, output_option, render_to,
                      runtime_of, runtime_options, scheduling_of, whatif_scheduling_options,
                      settings_of, simulation_options, source_of, source_option,
                      window_options)


def one_date(ctx, param, value):
    """click callback: one real calendar date YYYY-MM-DD, or None."""
    return batch_dates(ctx, param, (value,))[0] if value is not None else None


# the source options of simulate, with one night and one worker count
whatif_source_options = compose(
    source_option,
    file_option,
    click.option("--batch-date", "batch_date", callback=one_date, default=None,
                 metavar="YYYY-MM-DD",
                 help="The night. Default: the job file's only night (the built-in sample "
                      "holds several: give one)."),
    window_options,
)
workers_option = click.option(
    "--workers", type=count(1, MAX_WORKERS), default=3, show_default=True, metavar="N",
    help="Worker count of the baseline (a scenario changes it with { workers = N }).")


@click.command(short_help="What if ...? Scenarios against the baseline on the same random "
                          "nights.")
@click.option("--scenarios", "scenarios", required=True,
              type=click.Path(exists=True, dir_okay=False), metavar="FILE.toml",
              help="The scenarios (TOML): [[scenario]] tables, each a name and a list of "
                   "changes (see docs/model.md, 'What-if scenarios', and "
                   "docs/examples/whatif.toml).")
@whatif_source_options
@workers_option
@simulation_options
@runtime_options
@whatif_scheduling_options
@now_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]),
              default="table", show_default=True,
              help="table for people; json or csv for machines; html: a self-contained page "
                   "of the tables (needs --output).")
@output_option
@fail_if_option("whatif")
@aws_options
@library_errors
def whatif(scenarios, source, file, batch_date, window, batch_start, batch_end, workers,
           replications, seed, runtime_cv, class_cv, arrival_jitter, confidence, model,
           runtime_model, night_cv, retries, policies, capacity, backfill_depth, now, timezone,
           fmt, output,
           table, region, profile, endpoint_url, max_attempts, timeout, max_input_bytes):
    """Answer "what if?" for one night: every scenario of FILE (the new backfill runs 50%
    longer, the feed lands 30 minutes late, skip the reindex, add a job, lose two workers at
    03:00, move the cutoff, another policy, ...) runs on the same random nights as the
    baseline, so each difference is paired. Per scenario: overflow probability, any-late
    probability (when some job has a deadline), mean p95 wait and drain-time P90, each with
    its change from the baseline and the interval of that change, largest increase in
    overflow probability first.

    One night (--batch-date, or the file's only night) on one worker count (--workers,
    default 3), under one --policy (default tutorial) with the --capacity and
    --backfill-depth of simulate (a scenario keeps them unless it changes them). A scenario that the night refuses (an unknown job, class or window, a
    dependency cycle, a pool too small) stops the run before anything is simulated.

    \b
    Examples:
      mcqueue whatif --batch-date 2026-05-13 --scenarios docs/examples/whatif.toml
      mcqueue whatif --file jobs.parquet --workers 4 --scenarios s.toml --format json
      mcqueue whatif --batch-date 2026-05-13 --scenarios s.toml \\
          --fail-if 'overflow_probability.difference.ci_low>0'
    """
    from mcqueue.analysis.whatif import run_whatif

    from .progress import hooks

    if fmt == "html" and output is None:
        raise click.UsageError("--format html writes a self-contained page: give --output "
                               "FILE")
    check_output(output, [file, scenarios])
    if len(policies) > 1:
        raise click.BadParameter(f"whatif takes one policy for the baseline (a scenario changes "
                                 f"it with {{ policy = \"...\" }}), got {len(policies)}",
                                 param_hint="'--policy'")
    sched = scheduling_of(policies, capacity, backfill_depth)
    result = run_whatif(
        source_of(source, file, table, region, profile, endpoint_url, max_attempts, timeout,
                  max_input_bytes),
        scenarios, batch_date, workers,
        clock_of(window, batch_start, batch_end),
        settings_of(replications, seed, runtime_cv, arrival_jitter, class_cv, confidence),
        hooks=hooks("note"), runtime=runtime_of(model, runtime_model, night_cv, retries),
        scheduling=sched, now=now, timezone=timezone)
    render_to(result, fmt, output, [file, scenarios])
    return result
