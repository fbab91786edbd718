"""Option sets shared by several commands, as reusable decorators.

Only click is imported here: numba, polars and boto3 load inside the commands, so that
`mcqueue --help` stays fast.
"""

from __future__ import annotations

import functools
import re

import click

DEFAULT_TABLE = "db_batch_window_requests"
DEFAULT_TIMEOUT = 30.0  # seconds; mirrors mcqueue.io.dynamo.DEFAULT_TIMEOUT (not imported: fast --help)
MAX_TIMEOUT = 86_400.0
MAX_INT = 2**63 - 1  # the largest integer any count option takes (numpy's int64)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# DynamoDB table names: 1 to 255 (the service wants 3 or more) of a-z A-Z 0-9 _ . -
_TABLE = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")
# CloudFormation stack names: a letter, then letters, digits and hyphens, at most 128
_STACK = re.compile(r"^[A-Za-z][A-Za-z0-9\-]{0,127}$")


def _q(value) -> str:
    from mcqueue.errors import quote

    return quote(value)


class _Count(click.IntRange):
    """click.IntRange that also refuses integers past ``most`` (default 2**63 - 1, numpy's
    int64) with its own message, keeping click's wording for the lower bound."""

    def __init__(self, least: int, most: int | None):
        super().__init__(min=least, max=None if most == MAX_INT else most)
        self.most = most

    def convert(self, value, param, ctx):
        if isinstance(value, str) and len(value.strip()) > 40:
            self.fail(f"{_q(value)} is not a valid integer (more than 40 characters)",
                      param, ctx)
        rv = super().convert(value, param, ctx)
        if self.most == MAX_INT and rv > MAX_INT:
            self.fail(f"{rv} is too large: integers here are at most 2**63 - 1 "
                      f"({MAX_INT})", param, ctx)
        return rv


def count(least: int = 1, most: int = MAX_INT):
    """click type: an integer from ``least`` to ``most`` (never past 2**63 - 1)."""
    return _Count(least, most)


def table_name(ctx, param, value):
    """click callback: a DynamoDB table name (blank or empty is a usage error: an unset $TABLE
    in a script must not address some other table)."""
    if value is None:
        return None
    if not _TABLE.fullmatch(value):
        raise click.BadParameter(f"must be a DynamoDB table name (1 to 255 letters, digits, "
                                 f"'_', '-' or '.'), got {_q(value)}")
    return value


_REGION = re.compile(r"[a-z0-9][a-z0-9\-]{0,62}")


def region_name(ctx, param, value):
    """click callback: an AWS region like eu-west-1 (lower-case letters, digits, hyphens)."""
    if value is None:
        return None
    if not _REGION.fullmatch(value):
        raise click.BadParameter(f"must be an AWS region like eu-west-1, got {_q(value)}")
    return value


def stack_name(ctx, param, value):
    """click callback: a CloudFormation stack name; blank or empty is a usage error (it must
    never fall back to deleting the table)."""
    if value is None:
        return None
    if not _STACK.fullmatch(value):
        raise click.BadParameter(f"must be a CloudFormation stack name (a letter, then letters, "
                                 f"digits or '-', at most 128), got {_q(value)}")
    return value


def timeout_seconds(ctx, param, value):
    """click callback: a finite number of seconds, > 0 and at most a day."""
    import math

    if value is None:
        return None
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
        raise click.BadParameter(f"must be a number of seconds > 0 and at most "
                                 f"{MAX_TIMEOUT:,.0f}, got {_q(value)}")
    return value


def positive_finite(ctx, param, value):
    """click callback: a finite number > 0 (None passes)."""
    import math

    if value is None:
        return None
    if not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"must be a finite number > 0, got {_q(value)}")
    return value


def input_size(ctx, param, value):
    """click callback: --max-input-bytes as bytes (4GiB, 500MB, 1048576)."""
    if value is None:
        return None
    from mcqueue.errors import UsageError
    from mcqueue.io.files import parse_size

    try:
        return parse_size(value, "--max-input-bytes")
    except UsageError as exc:
        raise click.BadParameter(str(exc).replace("--max-input-bytes must", "must")) from None


def hhmm(ctx, param, value):
    """click callback: HH:MM or a usage error (exit 2) naming the option and value."""
    if value is None:
        return None
    if not _HHMM.fullmatch(value):
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
    help="Write the report to this file instead of stdout (atomically: a failed or "
         "interrupted run leaves a file already there unchanged; never an input file).")
output_options = compose(format_option, output_option)

timeout_option = click.option(
    "--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True, callback=timeout_seconds,
    metavar="SECONDS",
    help="Time limit of each service operation (one night's query with all its pages and "
         "retries, one batch of writes, a Dask connect); every connect and read is cut at it.")

aws_options = compose(
    click.option("--table", default=DEFAULT_TABLE, show_default=True, callback=table_name,
                 help="DynamoDB table of the workload catalog."),
    click.option("--region", default=None, callback=region_name,
                 help="AWS region (default: the standard AWS configuration chain)."),
    click.option("--profile", default=None, help="AWS profile name from ~/.aws/config."),
    click.option("--endpoint-url", default=None,
                 help="DynamoDB endpoint, e.g. http://127.0.0.1:8000 for a local server "
                      "(AWS_ENDPOINT_URL_DYNAMODB works too)."),
    click.option("--max-attempts", type=count(1, 100), default=8, show_default=True,
                 help="Attempts per request, retrying throttling and 5xx (botocore "
                      "standard mode), all within --timeout."),
    timeout_option,
)


def library_errors(fn):
    """Turn the library's McqueueError into click's one-line `Error: ...` (exit 1; a
    UsageError exits 2), with every message made one safe line by ``mcqueue.errors.one_line``
    (the command group applies the same rule to click's own errors)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from mcqueue.errors import McqueueError, UsageError, one_line

        try:
            return fn(*args, **kwargs)
        except UsageError as exc:
            raise click.UsageError(one_line(exc)) from None
        except McqueueError as exc:
            raise click.ClickException(one_line(exc)) from None
        except MemoryError:
            raise click.ClickException("out of memory: use fewer replications, scenarios or "
                                       "jobs") from None
        except RecursionError:
            raise click.ClickException("input nested too deeply to process") from None

    return wrapper


# ---------------------------------------------------------------- simulation options
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TUTORIAL = "2026-05-13 on 3 workers and 2026-05-14 on 2 workers"


def batch_dates(ctx, param, value):
    """click callback: every --batch-date is a real calendar date written YYYY-MM-DD."""
    import datetime

    for v in value or ():
        try:
            ok = bool(_DATE.fullmatch(v)) and datetime.date.fromisoformat(v).isoformat() == v
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
max_input_option = click.option(
    "--max-input-bytes", callback=input_size, default=None, metavar="SIZE",
    envvar="MCQUEUE_MAX_INPUT_BYTES", show_envvar=True,
    help="Largest job file read, after decompression, e.g. 500MB or 8GiB (default 4GiB); a "
         "larger file, or a gzip that expands past it, is refused early.")
_file_option = click.option(
    "--file", "file", type=click.Path(exists=True, dir_okay=False, readable=True),
    callback=job_file, default=None,
    help="Job file (a regular file): .csv, .parquet, .ndjson/.jsonl, .json (array), .ddb.json "
         "(DynamoDB JSON lines); .gz allowed on text formats. Default: the built-in sample.")
file_option = compose(_file_option, max_input_option)
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


MAX_WORKERS = MAX_INT  # workers of one scenario (the engine needs no per-worker memory)

workers_option = click.option(
    "--workers", multiple=True, type=count(1, MAX_WORKERS), metavar="N",
    help="Worker count; repeat for several (every night runs on each, same random nights). "
         "Default: 3 (the tutorial pairs when no --batch-date is given).")

simulation_options = compose(
    click.option("--replications", type=count(1), default=10_000,
                 show_default=True, help="Monte Carlo replications per scenario."),
    click.option("--seed", type=count(0, 2**64 - 1), default=0, show_default=True,
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


# ---------------------------------------------------------------- scheduling (issue 13)
POLICIES = ("tutorial", "priority", "fifo", "backfill")  # mirrors mcqueue.engine.simulate


def capacity_steps(ctx, param, value):
    """click callback: every --capacity is HH:MM=N, HH:MM=+N or HH:MM=-N."""
    if not value:
        return ()
    from mcqueue.analysis.scheduling import parse_capacity
    from mcqueue.errors import UsageError

    out = []
    for v in value:
        try:
            out.append(parse_capacity(v))
        except UsageError as exc:
            raise click.BadParameter(str(exc).replace("--capacity must", "must")) from None
    return tuple(out)


_POLICY_KINDS = ("tutorial (default): today's rule, a waiting exclusive job first; priority and "
                 "fifo: strict order, the first waiting job blocks the rest; backfill: priority "
                 "order, later jobs may start if they do not delay the first (EASY backfilling "
                 "by the estimated runtimes).")


def _scheduling_options(policy_help: str, relative_to: str):
    return compose(
        click.option("--policy", "policies", multiple=True, type=click.Choice(POLICIES),
                     help=policy_help + " " + _POLICY_KINDS),
        click.option("--capacity", "capacity", multiple=True, callback=capacity_steps,
                     metavar="HH:MM=N",
                     help="The pool has N workers from that clock time on (repeatable); "
                          f"HH:MM=+N / HH:MM=-N: N more / fewer than {relative_to}. Times "
                          "before the batch start follow the rule of requested windows."),
        click.option("--backfill-depth", type=count(0, 2**31 - 1), default=None, metavar="N",
                     help="Jobs behind the first that one backfill pass may start (--policy "
                          "backfill; default 64, like Slurm's bf_max_job_test)."),
    )


# simulate and score
scheduling_options = _scheduling_options(
    "Scheduling policy; repeat for several (every night and worker count runs under each, on "
    "the same random nights).", "--workers")
plan_scheduling_options = _scheduling_options(
    "Scheduling policy; repeat for several (every worker count of the sweep runs under each, "
    "on the same random nights).", "each worker count of the sweep")
whatif_scheduling_options = _scheduling_options(
    "Scheduling policy of the baseline (one; a scenario changes it with "
    "{ policy = \"...\" }).", "--workers")


# ---------------------------------------------------------------- re-forecast (issue 15)
def now_time(ctx, param, value):
    """click callback: --now HH:MM or an ISO-8601 timestamp with an offset."""
    if value is None:
        return None
    from mcqueue.errors import UsageError
    from mcqueue.io.snapshot import parse_now

    try:
        parse_now(value)
    except UsageError as exc:
        raise click.BadParameter(str(exc).replace("--now must", "must")) from None
    return value


def time_zone(ctx, param, value):
    """click callback: --timezone an IANA zone (zoneinfo)."""
    if value is None:
        return None
    from mcqueue.errors import UsageError
    from mcqueue.io.snapshot import zone_of

    try:
        zone_of(value)
    except UsageError as exc:
        raise click.BadParameter(str(exc).replace("--timezone ", "", 1)) from None
    return value


now_options = compose(
    click.option("--now", "now", default=None, callback=now_time, metavar="TIME",
                 help="Re-forecast from this time (issue 15): HH:MM on the night's clock "
                      "(the same clock time on every night), or an ISO-8601 timestamp with "
                      "an offset (2026-05-13T00:40:00Z). The records' status "
                      "(queued/running/completed), started_at and finished_at say what "
                      "already happened: completed jobs are facts, running jobs hold their "
                      "workers and finish after the time they already ran, no job starts "
                      "before now. Never implicit."),
    click.option("--timezone", "timezone", default=None, callback=time_zone, metavar="ZONE",
                 help="IANA time zone of the night's clock (the catalog's zone), to read an "
                      "ISO-8601 --now and the records' ISO-8601 started_at/finished_at "
                      "(default UTC; only with --now)."),
)


def scheduling_of(policies, capacity, backfill_depth):
    """The library's Scheduling for the --policy/--capacity/--backfill-depth options."""
    from mcqueue.analysis.scheduling import Scheduling

    return Scheduling(tuple(policies or ()), tuple(capacity or ()), backfill_depth)


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
                 help="lognormal: the fitted mean and cv. empirical: each fitted job's runtime "
                      "is one of its recent runs, equally likely (needs --model)."),
    click.option("--night-cv", default="0", show_default=True, callback=night_cv,
                 metavar="CV|fitted",
                 help="cv of a lognormal factor (mean 1) shared by all jobs of a replication; "
                      "'fitted' takes the model's."),
    click.option("--retries", type=click.IntRange(0, 10), default=None,
                 help="Reruns of a failed job at most (probability: the model's rerun share; "
                      "needs --model). Default: 1 with --model, else 0."),
)


def runtime_of(model, runtime_model, night_cv, retries):
    """The library's RuntimeOptions (reads the model file)."""
    from mcqueue.analysis.runtime_model import load_options

    return load_options(model, runtime_model, night_cv, retries)


def source_of(source, file, table, region, profile, endpoint_url, max_attempts, timeout=None,
              max_input_bytes=None):
    """The library's Source for the --source/--file and AWS options."""
    from mcqueue.io.loading import Source

    return Source(source, file, table, region, profile, endpoint_url, max_attempts,
                  timeout=timeout, max_input_bytes=max_input_bytes)


def clock_of(window, batch_start, batch_end):
    from mcqueue.io.loading import Clock

    return Clock(window, batch_start, batch_end)


def settings_of(replications, seed, runtime_cv, arrival_jitter, class_cv, confidence):
    """The library's Monte Carlo settings for the simulation options."""
    from mcqueue.analysis.planning import Settings

    return Settings(replications=replications, seed=seed, runtime_cv=runtime_cv,
                    arrival_jitter=arrival_jitter, class_cv=class_cv, confidence=confidence)


def render_to(result, fmt: str, output: str | None, inputs=()) -> None:
    """Render a library result in ``fmt`` and write it (stdout or ``--output``); ``inputs``
    are the files the result was read from (the output may not be one of them)."""
    from mcqueue.report import render

    check_output(output, inputs)
    write_output(render(result, fmt), output)


def check_output(output: str | None, inputs) -> None:
    """Usage error (exit 2) when --output names one of the input files (any spelling: a
    symlink, a hard link, a relative path). Call it before any work is done."""
    if output is None:
        return
    from mcqueue.errors import UsageError
    from mcqueue.io.files import check_not_input

    try:
        check_not_input(output, [i for i in inputs if i is not None])
    except UsageError as exc:
        raise click.BadParameter(str(exc).replace("--output ", "", 1),
                                 param_hint="'--output'") from None


def write_output(data: str | bytes, output: str | None) -> None:
    """The report to stdout, or to ``output`` (bytes for parquet) through the library's
    atomic writer; nothing else goes to stdout."""
    if output is None:
        click.echo(data, nl=False)
        return
    from mcqueue.errors import quote
    from mcqueue.io.files import write_atomic

    try:
        write_atomic(output, data)
    except OSError as exc:
        raise click.ClickException(f"cannot write --output {quote(output)}: "
                                   f"{exc.strerror or exc} (nothing was written; a file "
                                   "already there is unchanged)") from None
