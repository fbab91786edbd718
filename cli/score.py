"""`mcqueue score`: the risk of many nights (a file, or a DynamoDB date range) on some worker
counts, highest risk first."""

from __future__ import annotations

import datetime as _dt
import re

import click

from .options import (aws_options, file_option, library_errors, read_local_jobs,
                      simulation_options, source_option, window_options, write_output)

DEFAULT_WORKERS = (3,)
DYNAMODB_CONCURRENCY = 4
MAX_RANGE_DAYS = 3660
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ---------------------------------------------------------------- option callbacks
def worker_list(ctx, param, value):
    """click callback: '2,3,4' (and/or repeated --workers) -> (2, 3, 4)."""
    out = []
    for v in value or ():
        for part in str(v).split(","):
            part = part.strip()
            if not (part.isascii() and part.isdigit()) or int(part) < 1:
                raise click.BadParameter(f"must be worker counts >= 1 separated by commas, "
                                         f"e.g. 2,3,4; got {v!r}")
            out.append(int(part))
    return tuple(dict.fromkeys(out))


def iso_date(ctx, param, value):
    """click callback: YYYY-MM-DD (a real calendar date) or None."""
    if value is None:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError
        _dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"must be a date YYYY-MM-DD, got {value!r}") from None
    return value


def date_range(first: str, last: str) -> list[str]:
    """Every date from ``first`` to ``last`` inclusive."""
    a, b = _dt.date.fromisoformat(first), _dt.date.fromisoformat(last)
    if b < a:
        raise click.UsageError(f"--to {last} is before --from {first}")
    days = (b - a).days + 1
    if days > MAX_RANGE_DAYS:
        raise click.UsageError(f"--from {first} --to {last} spans {days} days; at most "
                               f"{MAX_RANGE_DAYS} per run")
    return [(a + _dt.timedelta(days=i)).isoformat() for i in range(days)]


def dask_option(fn):
    return click.option(
        "--dask-scheduler", default=None, metavar="ADDRESS",
        envvar="MCQUEUE_DASK_SCHEDULER", show_envvar=True,
        help="Spread the nights over this Dask distributed cluster, e.g. tcp://10.0.0.5:8786 "
             "(same numbers as in-process). Default: in-process.")(fn)


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


def warn(message: str) -> None:
    click.echo(f"mcqueue: warning: {message}", err=True)


# ---------------------------------------------------------------- sources
def file_nights(file, date_from, date_to, window, batch_start, batch_end):
    """(nights, empty dates) of a job file or the built-in sample, optionally within a range."""
    from mcqueue.errors import DataError
    from mcqueue.analysis.planning import nights_from_frame
    from mcqueue.io.schema import batch_dates

    jobs, where = read_local_jobs(file)
    dates = batch_dates(jobs)
    if date_from is not None:
        lo, hi = date_from, date_to or date_from
        dates = [d for d in dates if lo <= d <= hi]
        if not dates:
            raise DataError(f"{where} has no nights from {lo} to {hi}")
    nights = nights_from_frame(jobs, window, batch_start, batch_end, dates)
    return [n for n in nights if n.n_jobs], [n.batch_date for n in nights if not n.n_jobs]


def dynamodb_range_nights(dates, window, batch_start, batch_end, table, region, profile,
                          endpoint_url, max_attempts, concurrency=DYNAMODB_CONCURRENCY,
                          advance=None):
    """(nights, empty dates): one Query per date, ``concurrency`` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from mcqueue.io.schema import night_from_frame, validate_jobs

    try:
        from mcqueue.io.dynamo import query_jobs
    except ImportError as exc:
        raise click.ClickException(f"--source dynamodb is not available in this build "
                                   f"({exc})") from None

    def one(d):
        res = query_jobs(d, window, table=table, session=None, region=region,
                         profile=profile, endpoint_url=endpoint_url,
                         max_attempts=max_attempts)
        if advance is not None:
            advance(1)
        if res.frame.height == 0:
            return d, None
        return d, night_from_frame(validate_jobs(res.frame), d, window, batch_start, batch_end)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        got = list(pool.map(one, dates))  # in date order; the first error propagates
    nights = [n for _, n in got if n is not None and n.n_jobs]
    empty = [d for d, n in got if n is None or not n.n_jobs]
    return nights, empty


# ---------------------------------------------------------------- command
@click.command(short_help="Risk of many nights on some worker counts, highest risk first.")
@apply(score_source_options)
@click.option("--workers", "workers", multiple=True, callback=worker_list, metavar="N[,N...]",
              help="Worker counts, e.g. 2,3,4 (repeatable). Default: 3.")
@simulation_options
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "parquet"]),
              default="table", show_default=True,
              help="table for people; csv, json or parquet (needs --output) for machines.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to this file instead of stdout.")
@dask_option
@click.option("--nights-per-task", type=click.IntRange(min=1), default=100, show_default=True,
              help="Nights per Dask task (with --dask-scheduler).")
@aws_options
@library_errors
def score(source, file, date_from, date_to, window, batch_start, batch_end, workers,
          replications, seed, runtime_cv, class_cv, arrival_jitter, confidence, fmt, output,
          dask_scheduler, nights_per_task, table, region, profile, endpoint_url, max_attempts):
    """Simulate every night of a file (or a DynamoDB date range) on each worker count and
    list them by risk: overflow probability, then mean p95 wait, each with its interval.

    One row per night and worker count: jobs, rho, overflow probability, mean p95 wait,
    P90 of the drain time and the overflow jobs of the zero-noise replay. Every night uses
    the same seed, so worker counts of one night are compared on the same random nights.

    \b
    Examples:
      mcqueue score --workers 2,3,4
      mcqueue score --file jobs.parquet --format csv --output risk.csv
      mcqueue score --source dynamodb --from 2026-05-11 --to 2026-05-17 --workers 3
      mcqueue score --file year.parquet --dask-scheduler tcp://scheduler:8786
    """
    from mcqueue.analysis import planning as planning

    from .progress import compiling_notice, progress

    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet writes binary: give --output FILE")
    if date_to is not None and date_from is None:
        raise click.UsageError("--to needs --from")
    workers = workers or DEFAULT_WORKERS
    settings = planning.Settings(replications=replications, seed=seed, runtime_cv=runtime_cv,
                                 arrival_jitter=arrival_jitter, class_cv=class_cv,
                                 confidence=confidence)
    if source == "dynamodb":
        if file is not None:
            raise click.UsageError("--file is for --source local; DynamoDB reads --table")
        if date_from is None:
            raise click.UsageError("--source dynamodb needs --from (and --to) dates to query")
        dates = date_range(date_from, date_to or date_from)
        with progress(len(dates), "querying") as advance:
            nights, empty = dynamodb_range_nights(
                dates, window, batch_start, batch_end, table, region, profile, endpoint_url,
                max_attempts, advance=advance)
        where = f"table {table!r}"
    else:
        if date_from is not None:
            date_range(date_from, date_to or date_from)  # checks the order and span
        nights, empty = file_nights(file, date_from, date_to, window, batch_start, batch_end)
        where = "the built-in sample" if file is None else repr(file)
    win = f" in window {window}" if window else ""
    for d in empty:
        warn(f"no jobs for batch date {d}{win} in {where}: reported as 0 jobs")

    from mcqueue.analysis.cluster import scheduler_address

    address = scheduler_address(dask_scheduler)
    if address is None:
        compiling_notice()
    with progress(len(nights), "simulating") as advance:
        rows = planning.score(nights, workers, settings, progress=advance,
                              dask_scheduler=address, nights_per_task=nights_per_task)
    horizon = nights[0].horizon_minutes if nights else None
    if horizon is None:
        from mcqueue.io.schema import horizon_minutes

        horizon = horizon_minutes(batch_start, batch_end)
    for d in empty:
        rows += planning.empty_rows(d, workers, horizon, window)
    write_output(planning.render_score(rows, fmt, confidence), output)
