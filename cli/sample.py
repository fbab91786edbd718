"""`mcqueue sample`: write the built-in sample (five nights, 59 jobs) to a file."""

from __future__ import annotations

import click

from .options import library_errors

_FILE_FORMATS = ["csv", "parquet", "ndjson", "json", "ddb"]


@click.command(short_help="Write the built-in sample jobs to a file in any supported format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File to write; the format follows the extension (.csv, .parquet, "
                   ".ndjson/.jsonl, .json, .ddb.json; .gz on text formats). Default: CSV on "
                   "stdout.")
@click.option("--format", "fmt", type=click.Choice(_FILE_FORMATS), default=None,
              help="Force a format instead of the extension (ddb = DynamoDB JSON lines as an "
                   "S3 export writes them).")
@library_errors
def sample(output, fmt):
    """Write the built-in sample (the tutorial's nights 2026-05-11 .. 2026-05-14 and the ETL
    night 2026-05-15 with dependencies and deadlines) as a job file, ready for `mcqueue
    simulate --file` or as a template for your own jobs.

    \b
    Examples:
      mcqueue sample --output jobs.parquet
      mcqueue sample --output export.ddb.json.gz
      mcqueue sample --format ndjson > jobs.ndjson
    """
    from mcqueue.errors import DataError
    from mcqueue.io.sample import sample_frame
    from mcqueue.io.sources import detect_format, render_jobs, write_jobs

    if output is None:
        fmt = fmt or "csv"
        if fmt == "parquet":
            raise click.UsageError("--format parquet needs --output FILE (binary data)")
        click.echo(render_jobs(sample_frame(), fmt).decode(), nl=False)
        return
    if fmt is None:
        try:
            detect_format(output)
        except DataError as exc:  # an unsupported extension is a usage error here
            raise click.BadParameter(str(exc), param_hint="'--output'") from None
    written = write_jobs(sample_frame(), output, fmt)
    click.echo(f"mcqueue: wrote the sample ({written}) to {output}", err=True)
