"""`mcqueue plan`: sweep worker counts on one night and recommend the fewest that meet a
target."""

from __future__ import annotations

import click

from .options import (MAX_WORKERS, aws_options, check_output, clock_of, count, file_option,
                      library_errors, nonnegative, render_to, runtime_of, runtime_options,
                      scheduling_of, plan_scheduling_options, settings_of, simulation_options,
                      source_of, source_option, window_options)
from .reports import check_report_request, plot_options, write_plots
from .score import iso_date


def probability(ctx, param, value):
    """click callback: a probability in [0, 1]."""
    if value is None:
        return None
    if not (0.0 <= value <= 1.0):
        raise click.BadParameter(f"must be a probability between 0 and 1, got {value!r}")
    return value


MAX_SWEEP = 256  # worker counts per sweep: every count is simulated


@click.command(short_help="Sweep worker counts on one night and recommend the fewest that "
                          "meet a target.")
@source_option
@file_option
@click.option("--batch-date", required=True, callback=iso_date, metavar="YYYY-MM-DD",
              help="The night to plan.")
@window_options
@click.option("--min-workers", type=count(1, MAX_WORKERS), default=1, show_default=True,
              help="Smallest worker count of the sweep.")
@click.option("--max-workers", type=count(1, MAX_WORKERS), default=16, show_default=True,
              help="Largest worker count of the sweep.")
@click.option("--max-overflow", type=float, default=0.05, show_default=True,
              callback=probability,
              help="Target: upper bound of the overflow probability interval at most this.")
@click.option("--max-p95-wait", type=float, default=None, callback=nonnegative,
              metavar="MINUTES",
              help="Also require the upper bound of the mean p95 wait at most this.")
@simulation_options
@runtime_options
@plan_scheduling_options
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "html"]),
              default="table", show_default=True,
              help="table for people; csv or json for machines; html (needs --output): a "
                   "self-contained report page with the workers chart.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to this file instead of stdout.")
@plot_options
@aws_options
@library_errors
def plan(source, file, batch_date, window, batch_start, batch_end, min_workers, max_workers,
         max_overflow, max_p95_wait, replications, seed, runtime_cv, class_cv, arrival_jitter,
         confidence, model, runtime_model, night_cv, retries, policies, capacity,
         backfill_depth, fmt, output, plot_dir, plot_format, table, region, profile,
         endpoint_url, max_attempts, timeout, max_input_bytes):
    """Simulate the night on every worker count from --min-workers to --max-workers with the
    same random nights (common random numbers), and recommend the fewest workers whose
    overflow-probability upper bound is at most --max-overflow (and, if given, whose p95-wait
    upper bound is at most --max-p95-wait).

    Every count is simulated: under the exclusive-lock rule an extra worker can make a night
    worse, so there is no bisection. Neighbouring counts are compared by paired differences,
    whose intervals are narrower than independent runs would give (often many times for the
    p95 wait; both widths are shown).
    When no count meets the target, the report says why (e.g. the exclusive jobs alone run
    longer than the window). A count the night cannot run on (a job needs more workers, its
    slots, than the count; a --capacity that leaves the pool too small) is an infeasible row.

    With several --policy values every count runs under each policy on the same random
    nights; the report adds the paired differences between each policy and the first at
    equal worker counts, and recommends the pair with the fewest workers that meets the
    target (ties: the smaller overflow upper bound, then the smaller p95-wait upper bound,
    then the order of --policy). --capacity HH:MM=+N / -N is relative to each count.

    \b
    Examples:
      mcqueue plan --batch-date 2026-05-13
      mcqueue plan --batch-date 2026-05-14 --max-workers 8 --format json
      mcqueue plan --file jobs.csv --batch-date 2026-05-13 --max-p95-wait 60
      mcqueue plan --batch-date 2026-05-14 --format html --output plan.html
      mcqueue plan --batch-date 2026-05-14 --plot charts/ --plot-format svg
      mcqueue plan --batch-date 2026-05-15 --max-workers 6 --policy tutorial --policy backfill
    """
    from mcqueue.analysis.runs import run_plan

    from .progress import hooks

    if max_workers < min_workers:
        raise click.BadParameter(f"must be >= --min-workers ({min_workers}), got {max_workers}",
                                 param_hint="'--max-workers'")
    if max_workers - min_workers + 1 > MAX_SWEEP:
        raise click.BadParameter(f"a sweep covers at most {MAX_SWEEP} worker counts; "
                                 f"--min-workers {min_workers} to --max-workers {max_workers} "
                                 f"is {max_workers - min_workers + 1}",
                                 param_hint="'--max-workers'")
    check_output(output, [file])
    check_report_request(fmt, output, plot_dir)
    result = run_plan(
        source_of(source, file, table, region, profile, endpoint_url, max_attempts, timeout,
                  max_input_bytes),
        batch_date, clock_of(window, batch_start, batch_end),
        settings_of(replications, seed, runtime_cv, arrival_jitter, class_cv, confidence),
        min_workers, max_workers, max_overflow, max_p95_wait, hooks=hooks(),
        runtime=runtime_of(model, runtime_model, night_cv, retries),
        scheduling=scheduling_of(policies, capacity, backfill_depth))
    write_plots(result, plot_dir, plot_format)  # first: a failure leaves no half output
    render_to(result, fmt, output, [file])
