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
@click.option("--snapshot", is_flag=True, default=False,
              help="Write the built-in snapshot instead: the night of 2026-05-13 as it stood "
                   "at 03:30 (status, started_at, finished_at), for a re-forecast with "
                   "--now 03:30.")
@library_errors
def sample(output, fmt, snapshot):
    """Write the built-in sample (the tutorial's nights 2026-05-11 .. 2026-05-14 and the ETL
    night 2026-05-15 with dependencies and deadlines) as a job file, ready for `mcqueue
    simulate --file` or as a template for your own jobs. --snapshot writes the in-progress
    snapshot of 2026-05-13 instead (four jobs completed, the index maintenance running since
    02:17, five queued).

    \b
    Examples:
      mcqueue sample --output jobs.parquet
      mcqueue sample --output export.ddb.json.gz
      mcqueue sample --format ndjson > jobs.ndjson
      mcqueue sample --snapshot --output snapshot.csv
    """
    from mcqueue.errors import DataError
    from mcqueue.io.sample import sample_frame, snapshot_frame
    from mcqueue.io.sources import detect_format, render_jobs, write_jobs

    frame_of = snapshot_frame if snapshot else sample_frame
    what = "snapshot" if snapshot else "sample"

    if output is None:
        fmt = fmt or "csv"
        if fmt == "parquet":
            raise click.UsageError("--format parquet needs --output FILE (binary data)")
        click.echo(render_jobs(frame_of(), fmt).decode(), nl=False)
        return
    if fmt is None:
        try:
            detect_format(output)
        except DataError as exc:  # an unsupported extension is a usage error here
            raise click.BadParameter(str(exc), param_hint="'--output'") from None
    written = write_jobs(frame_of(), output, fmt)
    click.echo(f"mcqueue: wrote the {what} ({written}) to {output}", err=True)
