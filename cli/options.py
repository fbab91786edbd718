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
        from mcqueue.errors import McqueueError

        try:
            return fn(*args, **kwargs)
        except McqueueError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper
