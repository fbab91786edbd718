"""Option sets shared by several commands, as reusable decorators.

Only click is imported here: numba, polars and boto3 load inside the commands, so that
`mcqueue --help` stays fast.
"""

from __future__ import annotations

import functools
import re

import click

DEFAULT_TABLE = "db_batch_window_requests"
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def hhmm(ctx, param, value):
    """click callback: HH:MM or a usage error (exit 2) naming the option and value."""
    if value is None:
        return None
    if not _HHMM.match(value):
        raise click.BadParameter(f"must be HH:MM (00:00 to 23:59), got {value!r}")
    return value


def compose(*decorators):
    def apply(fn):
        for d in reversed(decorators):
            fn = d(fn)
        return fn

    return apply


format_option = click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
    show_default=True, help="table for people; json or csv for machines.")
output_option = click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
    help="Write the report to this file instead of stdout.")
output_options = compose(format_option, output_option)

aws_options = compose(
    click.option("--table", default=DEFAULT_TABLE, show_default=True,
                 help="DynamoDB table of the workload catalog."),
    click.option("--region", default=None,
                 help="AWS region (default: the standard AWS configuration chain)."),
    click.option("--profile", default=None, help="AWS profile name from ~/.aws/config."),
    click.option("--endpoint-url", default=None,
                 help="DynamoDB endpoint, e.g. http://127.0.0.1:8000 for a local server "
                      "(AWS_ENDPOINT_URL_DYNAMODB works too)."),
    click.option("--max-attempts", type=click.IntRange(min=1), default=8, show_default=True,
                 help="Attempts per request, retrying throttling and 5xx (botocore "
                      "standard mode)."),
)


def library_errors(fn):
    """Turn the library's McqueueError into click's one-line `Error: ...` with exit 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from mcqueue.errors import McqueueError, UsageError

        try:
            return fn(*args, **kwargs)
        except UsageError as exc:
            raise click.UsageError(str(exc)) from None
        except McqueueError as exc:
            raise click.ClickException(str(exc)) from None
        except MemoryError:
            raise click.ClickException("out of memory: use fewer replications, scenarios or "
                                       "jobs") from None

    return wrapper


# ---------------------------------------------------------------- simulation options
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TUTORIAL = "2026-05-13 on 3 workers and 2026-05-14 on 2 workers"


def batch_dates(ctx, param, value):
    """click callback: every --batch-date is a real calendar date written YYYY-MM-DD."""
    import datetime

    for v in value or ():
        try:
            ok = bool(_DATE.match(v)) and datetime.date.fromisoformat(v).isoformat() == v
        except ValueError:
            ok = False
        if not ok:
            raise click.BadParameter(f"must be a date YYYY-MM-DD, got {v!r}")
    return tuple(value or ())


def _finite(value, what="a finite number"):
    import math

    if value is None or not math.isfinite(value):
        raise click.BadParameter(f"must be {what}, got {value!r}")
    return value


def nonnegative(ctx, param, value):
    """click callback: a finite number >= 0."""
    if value is None:
        return None
    _finite(value, "a finite number >= 0")
    if value < 0:
        raise click.BadParameter(f"must be a finite number >= 0, got {value!r}")
    return value


def _at_most(value, which: str):
    """BadParameter when ``value`` exceeds the library's bound ``which`` (MAX_RUNTIME_CV or
    MAX_ARRIVAL_JITTER of mcqueue.engine.perturbation): past it drawn runtimes stop being finite."""
    from mcqueue.engine import perturbation as perturbation

    most = getattr(perturbation, which)
    if value > most:
        raise click.BadParameter(f"must be at most {most:g}, got {value!r}")
    return value


def runtime_cv(ctx, param, value):
    """click callback: a runtime coefficient of variation, 0 to MAX_RUNTIME_CV."""
    return _at_most(nonnegative(ctx, param, value), "MAX_RUNTIME_CV")


def arrival_jitter(ctx, param, value):
    """click callback: arrival jitter in minutes, 0 to MAX_ARRIVAL_JITTER."""
    return _at_most(nonnegative(ctx, param, value), "MAX_ARRIVAL_JITTER")


def open_unit(ctx, param, value):
    """click callback: strictly between 0 and 1."""
    if value is None:
        return None
    if not (0.0 < value < 1.0):
        raise click.BadParameter(f"must be strictly between 0 and 1, got {value!r}")
    return value


def class_cvs(ctx, param, value):
    """click callback: CLASS=CV pairs -> {class: cv}."""
    import math

    out = {}
    for v in value or ():
        name, eq, num = v.partition("=")
        try:
            cv = float(num)
        except ValueError:
            cv = math.nan
        if not eq or not name.strip() or not math.isfinite(cv) or cv < 0:
            raise click.BadParameter(f"must be CLASS=CV with CV a finite number >= 0, got {v!r}")
        _at_most(cv, "MAX_RUNTIME_CV")
        out[name.strip()] = cv
    return out


def job_file(ctx, param, value):
    """click callback: a job file of a supported type (by extension)."""
    if value is None:
        return None
    from mcqueue.errors import DataError
    from mcqueue.io.sources import detect_format

    try:
        detect_format(value)
    except DataError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


source_option = click.option(
    "--source", type=click.Choice(["local", "dynamodb"]), default="local", show_default=True,
    help="Where the jobs come from: a local file (default: the built-in sample) or the "
         "DynamoDB workload catalog.")
file_option = click.option(
    "--file", "file", type=click.Path(exists=True, dir_okay=False, readable=True),
    callback=job_file, default=None,
    help="Job file: .csv, .parquet, .ndjson/.jsonl, .json (array), .ddb.json (DynamoDB JSON "
         "lines); .gz allowed on text formats. Default: the built-in sample.")
window_options = compose(
    click.option("--window", callback=hhmm, default=None, metavar="HH:MM",
                 help="Only the jobs of this requested window."),
    click.option("--batch-start", callback=hhmm, default="01:00", show_default=True,
                 metavar="HH:MM", help="Batch start: minute 0 of the night."),
    click.option("--batch-end", callback=hhmm, default="05:00", show_default=True,
                 metavar="HH:MM",
                 help="Cutoff; a cutoff not after the start crosses midnight."),
)
source_options = compose(
    source_option,
    file_option,
    click.option("--batch-date", "batch_dates", multiple=True, callback=batch_dates,
                 metavar="YYYY-MM-DD",
                 help=f"Night to simulate; repeat for several. Default: {_TUTORIAL}."),
    window_options,
)


workers_option = click.option(
    "--workers", multiple=True, type=click.IntRange(min=1), metavar="N",
    help="Worker count; repeat for several (every night runs on each, same random nights). "
         "Default: 3 (the tutorial pairs when no --batch-date is given).")

simulation_options = compose(
    click.option("--replications", type=click.IntRange(min=1), default=10_000,
                 show_default=True, help="Monte Carlo replications per scenario."),
    click.option("--seed", type=click.IntRange(0, 2**64 - 1), default=0, show_default=True,
                 help="Random seed; same seed, same answer."),
    click.option("--runtime-cv", type=float, default=0.25, show_default=True,
                 callback=runtime_cv,
                 help="Coefficient of variation of each job's runtime (lognormal, mean 1)."),
    click.option("--class-cv", "class_cv", multiple=True, callback=class_cvs,
                 metavar="CLASS=CV",
                 help="Runtime cv of one workload class, e.g. backfill=0.6; repeatable."),
    click.option("--arrival-jitter", type=float, default=15.0, show_default=True,
                 callback=arrival_jitter,
                 help="Arrivals are late by U[0, J) minutes."),
    click.option("--confidence", type=float, default=0.95, show_default=True,
                 callback=open_unit, help="Confidence level of the intervals."),
)


# ---------------------------------------------------------------- runtime model (issue 14)
def night_cv(ctx, param, value):
    """click callback: 'fitted' or a cv 0 to MAX_RUNTIME_CV."""
    import math

    if value is None:
        return None
    text = str(value).strip()
    if text.lower() == "fitted":
        return "fitted"
    try:
        cv = float(text)
    except ValueError:
        cv = math.nan
    if not math.isfinite(cv) or cv < 0:
        raise click.BadParameter(f"must be a finite number >= 0 or 'fitted', got {value!r}")
    return _at_most(cv, "MAX_RUNTIME_CV")


def model_file(ctx, param, value):
    """click callback: the model file must exist (its content is checked when it is read)."""
    import os

    if value is not None and not os.path.isfile(value):
        raise click.BadParameter(f"no such model file: {value!r} (write one with mcqueue "
                                 f"calibrate --output)")
    return value


runtime_options = compose(
    click.option("--model", "model", default=None, metavar="MODEL.parquet", callback=model_file,
                 help="Calibrated runtimes (mcqueue calibrate): each job takes its fitted "
                      "mean and cv by job_name, else its class's, else the whole history's; "
                      "jobs the model does not know keep --class-cv/--runtime-cv."),
    click.option("--runtime-model", type=click.Choice(["lognormal", "empirical"]),
                 default="lognormal", show_default=True,
                 help="lognormal: the fitted mean and cv. empirical (draws from each job's "
                      "recent runs) needs an engine feature not available yet."),
    click.option("--night-cv", default="0", show_default=True, callback=night_cv,
                 metavar="CV|fitted",
                 help="cv of a lognormal factor shared by all jobs of a replication; 'fitted' "
                      "takes the model's. Only 0 (or a model without one) works until the "
                      "engine supports it."),
    click.option("--retries", type=click.IntRange(0, 10), default=0, show_default=True,
                 help="Reruns of a failed job (probability: the model's rerun share). Only 0 "
                      "works until the engine supports reruns."),
)


def runtime_of(model, runtime_model, night_cv, retries):
    """The library's RuntimeOptions (reads the model file)."""
    from mcqueue.analysis.runtime_model import load_options

    return load_options(model, runtime_model, night_cv, retries)


def source_of(source, file, table, region, profile, endpoint_url, max_attempts):
    """The library's Source for the --source/--file and AWS options."""
    from mcqueue.io.loading import Source

    return Source(source, file, table, region, profile, endpoint_url, max_attempts)


def clock_of(window, batch_start, batch_end):
    from mcqueue.io.loading import Clock

    return Clock(window, batch_start, batch_end)


def settings_of(replications, seed, runtime_cv, arrival_jitter, class_cv, confidence):
    """The library's Monte Carlo settings for the simulation options."""
    from mcqueue.analysis.planning import Settings

    return Settings(replications=replications, seed=seed, runtime_cv=runtime_cv,
                    arrival_jitter=arrival_jitter, class_cv=class_cv, confidence=confidence)


def render_to(result, fmt: str, output: str | None) -> None:
    """Render a library result in ``fmt`` and write it (stdout or ``--output``)."""
    from mcqueue.report import render

    write_output(render(result, fmt), output)


def write_output(data: str | bytes, output: str | None) -> None:
    """The report to stdout, or to ``output`` (bytes for parquet); nothing else goes to stdout."""
    if output is None:
        click.echo(data, nl=False)
        return
    try:
        if isinstance(data, bytes):
            with open(output, "wb") as fh:
                fh.write(data)
        else:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                fh.write(data)
    except OSError as exc:
        raise click.ClickException(f"cannot write --output {output!r}: "
                                   f"{exc.strerror or exc}") from None
