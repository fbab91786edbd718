"""`mcqueue calibrate`: fit per-job runtime distributions from run history and write the model."""

from __future__ import annotations

import click

from .options import library_errors

LAYOUTS = ["generic", "airflow", "sqlserver", "dynamodb"]


def half_life(ctx, param, value):
    """click callback: a number of days > 0 (finite) or None."""
    import math

    if value is None:
        return None
    if not math.isfinite(value) or value <= 0:
        raise click.BadParameter(f"must be a number of days > 0, got {value!r}")
    return value


history_format_option = click.option(
    "--history-format", "layout", type=click.Choice(LAYOUTS), default=None,
    help="Layout of every history file (default: detected from each file's columns).")
fit_options = [
    click.option("--half-life-days", type=float, default=None, callback=half_life,
                 metavar="DAYS",
                 help="A run DAYS older than the newest night weighs half as much. Default: "
                      "all runs weigh the same."),
    click.option("--min-runs", type=click.IntRange(min=2), default=10, show_default=True,
                 help="Jobs with fewer successful runs are flagged and pulled toward their "
                      "class (partial pooling)."),
]


def apply(options):
    def deco(fn):
        for o in reversed(options):
            fn = o(fn)
        return fn

    return deco


@click.command(short_help="Fit per-job runtime distributions from run history.")
@click.argument("history", nargs=-1, type=click.Path(exists=True, dir_okay=False,
                                                     readable=True))
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, writable=True),
              required=True, metavar="MODEL.parquet",
              help="Write the fitted model here (Parquet, atomically: a failed write leaves "
                   "the old file).")
@apply(fit_options)
@click.option("--by", type=click.Choice(["weekday"]), default=None,
              help="Also fit every job per weekday of its batch date.")
@history_format_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="The fit report: table for people, json for machines.")
@library_errors
def calibrate(history, output, half_life_days, min_runs, by, layout, fmt):
    """Read past runs (HISTORY files: CSV, Parquet, NDJSON, JSON, DynamoDB JSON; generic,
    Airflow task_instance, SQL Server sysjobhistory or workload-catalog layout) and fit every
    job's runtime: a lognormal mean and cv (on tonight's estimate when the history has
    estimates), partial pooling toward the class for jobs with little history, the night-wide
    share of the variance, rerun shares and arrival lateness. Without HISTORY: the shipped
    sample history (90 nights of the built-in sample's jobs).

    Prints a fit report (stdout) flagging jobs with too little history and multi-modal jobs;
    use the model with `mcqueue simulate/score/plan --model` and see how well it forecasts
    with `mcqueue backtest`. docs/history.md states every estimator.

    \b
    Examples:
      mcqueue calibrate --output model.parquet
      mcqueue calibrate runs-q1.csv.gz runs-04.parquet -o model.parquet --half-life-days 30
      mcqueue calibrate task_instance.csv --history-format airflow -o model.parquet
    """
    from mcqueue.analysis.fit_report import run_calibrate

    from .options import check_output, render_to

    check_output(output, history)  # the model never overwrites a history file
    report = run_calibrate(list(history), output, layout=layout,
                           half_life_days=half_life_days, min_runs=min_runs, by=by)
    for note in report.notes:
        click.echo(f"mcqueue: note: {note}", err=True)
    render_to(report, fmt, None)
