"""`mcqueue backtest`: forecast past nights from the history before each, and score the forecasts
against what happened."""

from __future__ import annotations

import re

import click

from .calibrate import fit_options, history_format_option
from .options import (aws_options, check_output, clock_of, count, library_errors, render_to,
                      settings_of, simulation_options, source_of, source_option)
from .score import apply, dask_option, iso_date

_WINDOW = re.compile(r"^\s*(\d+)\s*d?\s*$")


def model_window(ctx, param, value):
    """click callback: '60d' or '60' -> 60 (days >= 1)."""
    m = _WINDOW.match(str(value))
    if not m or int(m.group(1)) < 1:
        raise click.BadParameter(f"must be a number of days >= 1 like 60d, got {value!r}")
    return int(m.group(1))


@click.command(short_help="Score calibrated forecasts of past nights against what happened.")
@click.option("--history", "history", multiple=True,
              type=click.Path(exists=True, dir_okay=False, readable=True), metavar="FILE",
              help="Run history (any layout calibrate reads); repeatable. Default: the shipped "
                   "sample history (with --source local and no --file).")
@history_format_option
@source_option
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, readable=True),
              default=None,
              help="Job records of the backtested nights, as they were queued (matched to the "
                   "history by job_name). Default: each night's queue rebuilt from the "
                   "history (requested window, class and estimate of each job that ran).")
@click.option("--from", "date_from", callback=iso_date, default=None, metavar="YYYY-MM-DD",
              help="First night to backtest. Default: the first night with a whole model "
                   "window of history before it.")
@click.option("--to", "date_to", callback=iso_date, default=None, metavar="YYYY-MM-DD",
              help="Last night (inclusive). Default: the newest night of the history.")
@click.option("--model-window", "window_days", default="60d", show_default=True,
              callback=model_window, metavar="DAYS",
              help="Each night is forecast from the history of this many days before it.")
@apply(fit_options)
@click.option("--workers", type=count(1), default=3, show_default=True,
              help="Worker count the nights ran on.")
@click.option("--batch-start", default="01:00", show_default=True, metavar="HH:MM",
              help="Batch start: minute 0 of each night.")
@click.option("--batch-end", default="05:00", show_default=True, metavar="HH:MM",
              help="Cutoff; a night overflowed when its last job finished after it.")
@simulation_options
@click.option("--runtime-model", type=click.Choice(["lognormal", "empirical"]),
              default="lognormal", show_default=True,
              help="lognormal: each night's fitted mean and cv; empirical: each job's runtime "
                   "one of its recent runs before that night.")
@click.option("--night-cv", default="0", show_default=True, metavar="CV|fitted",
              help="Night-wide runtime factor ('fitted': each night's model's).")
@click.option("--retries", type=click.IntRange(0, 10), default=1, show_default=True,
              help="Reruns of a failed job at most, with its fitted rerun share (0: off).")
@click.option("--job-replications", type=count(0), default=200,
              show_default=True,
              help="Replications traced to forecast each job's finish (0: no per-job scores).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="table for people; json (summary and nights) or csv "
                                      "(one row per night) for machines.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to this file instead of stdout.")
@dask_option
@click.option("--nights-per-task", type=count(1), default=100, show_default=True,
              help="Nights per Dask task (with --dask-scheduler).")
@aws_options
@library_errors
def backtest(history, layout, source, file, date_from, date_to, window_days, half_life_days,
             min_runs, workers, batch_start, batch_end, replications, seed, runtime_cv,
             class_cv, arrival_jitter, confidence, runtime_model, night_cv, retries,
             job_replications, fmt, output, dask_scheduler, nights_per_task, table, region,
             profile, endpoint_url, max_attempts, timeout):
    """For each night from --from to --to: fit the runtime model on the nights before it
    (within --model-window; nothing of that night or later), simulate its queue as it was
    queued, and compare with what happened: PIT and CRPS of the drain time, coverage of the
    central 50% and 90% intervals, Brier score and reliability of the overflow probability,
    and the share of job finishes inside their intervals. One summary, one row per night.

    \b
    Examples:
      mcqueue backtest --workers 16
      mcqueue backtest --history runs.parquet --file jobs.parquet --from 2026-03-01 --to 2026-05-31
      mcqueue backtest --source dynamodb --from 2026-05-01 --to 2026-05-31 --format json
    """
    from mcqueue.analysis.backtest import BacktestSettings, run_backtest

    from .options import hhmm
    from .options import night_cv as check_night_cv
    from .progress import hooks

    for name, value in (("--batch-start", batch_start), ("--batch-end", batch_end)):
        try:
            hhmm(None, None, value)
        except click.BadParameter as exc:
            raise click.BadParameter(str(exc.message), param_hint=f"'{name}'") from None
    try:
        night_cv = check_night_cv(None, None, night_cv)
    except click.BadParameter as exc:
        raise click.BadParameter(str(exc.message), param_hint="'--night-cv'") from None
    check_output(output, [file, *history])
    if source == "dynamodb" and file is not None:
        raise click.UsageError("--file is for --source local; the catalog's items are the "
                               "queues with --source dynamodb")
    settings = BacktestSettings(
        workers=workers, window_days=window_days, half_life_days=half_life_days,
        min_runs=min_runs,
        simulation=settings_of(replications, seed, runtime_cv, arrival_jitter, class_cv,
                               confidence),
        runtime_model=runtime_model, night_cv=night_cv, retries=retries,
        job_replications=job_replications)
    result = run_backtest(
        list(history), source_of(source, file, table, region, profile, endpoint_url,
                                 max_attempts, timeout),
        date_from, date_to, clock_of(None, batch_start, batch_end), settings, layout=layout,
        dask_scheduler=dask_scheduler, nights_per_task=nights_per_task, hooks=hooks("note"))
    render_to(result, fmt, output)
