"""`mcqueue score`: the risk of many nights (a file, or a DynamoDB date range) on some worker
counts, highest risk first."""

from __future__ import annotations

import datetime as _dt
import re

import click

from .options import (MAX_WORKERS, aws_options, check_output, clock_of, count, file_option,
                      library_errors, now_options, render_to, runtime_of, runtime_options,
                      scheduling_of, scheduling_options, settings_of, simulation_options,
                      source_of, source_option, window_options)
from .conditions import fail_if_option
from .reports import check_report_request, plot_options, write_plots

DEFAULT_WORKERS = (3,)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ---------------------------------------------------------------- option callbacks
def worker_list(ctx, param, value):
    """click callback: '2,3,4' (and/or repeated --workers) -> (2, 3, 4)."""
    out = []
    for v in value or ():
        for part in str(v).split(","):
            part = part.strip()
            if (not (part.isascii() and part.isdigit()) or len(part) > 19
                    or not 1 <= int(part) <= MAX_WORKERS):
                from mcqueue.errors import quote

                raise click.BadParameter(f"must be worker counts >= 1 separated by commas, "
                                         f"e.g. 2,3,4; got {quote(v)}")
            out.append(int(part))
    return tuple(dict.fromkeys(out))


def iso_date(ctx, param, value):
    """click callback: YYYY-MM-DD (a real calendar date) or None."""
    if value is None:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        _dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"must be a date YYYY-MM-DD, got {value!r}") from None
    return value


def dask_option(fn):
    return click.option(
        "--dask-scheduler", default=None, metavar="ADDRESS",
        envvar="MCQUEUE_DASK_SCHEDULER", show_envvar=True,
        help="Spread the nights over this Dask distributed cluster, e.g. tcp://10.0.0.5:8786 "
             "(same numbers as in-process; needs pip install \"mcqueue[dask]\"; the connect "
             "is limited by --timeout). Default: in-process.")(fn)


score_source_options = [
    source_option,
    file_option,
    click.option("--from", "date_from", callback=iso_date, default=None, metavar="YYYY-MM-DD",
                 help="First night (inclusive). Required with --source dynamodb; on a file it "
                      "filters the nights."),
    click.option("--to", "date_to", callback=iso_date, default=None, metavar="YYYY-MM-DD",
                 help="Last night (inclusive); default: the --from date."),
    window_options,
]


def apply(options):
    def deco(fn):
        for o in reversed(options):
            fn = o(fn)
        return fn

    return deco


# ---------------------------------------------------------------- command
@click.command(short_help="Risk of many nights on some worker counts, highest risk first.")
@apply(score_source_options)
@click.option("--workers", "workers", multiple=True, callback=worker_list, metavar="N[,N...]",
              help="Worker counts, e.g. 2,3,4 (repeatable). Default: 3.")
@simulation_options
@runtime_options
@scheduling_options
@now_options
@click.option("--format", "fmt",
              type=click.Choice(["table", "csv", "json", "parquet", "html"]),
              default="table", show_default=True,
              help="table for people; csv, json or parquet (needs --output) for machines; html "
                   "(needs --output): a self-contained report page with the nights ranked by "
                   "risk.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to this file instead of stdout.")
@plot_options
@dask_option
@click.option("--nights-per-task", type=count(1), default=100, show_default=True,
              help="Nights per Dask task (with --dask-scheduler).")
@fail_if_option("score")
@aws_options
@library_errors
def score(source, file, date_from, date_to, window, batch_start, batch_end, workers,
          replications, seed, runtime_cv, class_cv, arrival_jitter, confidence, model,
          runtime_model, night_cv, retries, policies, capacity, backfill_depth, now, timezone,
          fmt, output, plot_dir, plot_format, dask_scheduler,
          nights_per_task, table, region, profile, endpoint_url, max_attempts, timeout,
          max_input_bytes):
    """Simulate every night of a file (or a DynamoDB date range) on each worker count and
    list them by risk: overflow probability, then mean p95 wait, each with its interval.

    One row per night and worker count: jobs, rho, overflow probability, mean p95 wait,
    P90 of the drain time and the overflow jobs of the zero-noise replay. Every night uses
    the same seed, so worker counts of one night are compared on the same random nights.
    With --policy, a row per night, worker count and policy (a policy column); when some job
    has a deadline, the probability that any job is late (and its interval) too.

    \b
    Examples:
      mcqueue score --workers 2,3,4
      mcqueue score --file jobs.parquet --format csv --output risk.csv
      mcqueue score --source dynamodb --from 2026-05-11 --to 2026-05-17 --workers 3
      mcqueue score --file year.parquet --dask-scheduler tcp://scheduler:8786
      mcqueue score --file year.parquet --format html --output risk.html
      mcqueue score --workers 2,3 --plot charts/
      mcqueue score --workers 3 --policy tutorial --policy backfill
      mcqueue score --file snapshot.csv --workers 2,3 --now 03:30
    """
    from mcqueue.analysis.runs import run_score

    from .progress import hooks

    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet writes binary: give --output FILE")
    check_output(output, [file])
    check_report_request(fmt, output, plot_dir)
    result = run_score(
        source_of(source, file, table, region, profile, endpoint_url, max_attempts, timeout,
                  max_input_bytes),
        date_from, date_to, clock_of(window, batch_start, batch_end),
        workers or DEFAULT_WORKERS,
        settings_of(replications, seed, runtime_cv, arrival_jitter, class_cv, confidence),
        dask_scheduler=dask_scheduler, nights_per_task=nights_per_task, hooks=hooks("warning"),
        runtime=runtime_of(model, runtime_model, night_cv, retries),
        scheduling=scheduling_of(policies, capacity, backfill_depth), now=now,
        timezone=timezone)
    write_plots(result, plot_dir, plot_format)  # first: a failure leaves no half output
    render_to(result, fmt, output, [file])
    return result  # --fail-if checks it
