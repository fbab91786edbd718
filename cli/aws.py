"""`mcqueue seed` and `mcqueue cleanup`: the DynamoDB table's lifecycle."""

from __future__ import annotations

import click

from .options import (aws_options, format_option, library_errors, max_input_option,
                      render_to, stack_name as _stack_name)


@click.command(short_help="Create the DynamoDB table if needed and write job records to it.")
@click.option("--file", "file", type=click.Path(dir_okay=False), default=None,
              help="Job file to write (.csv, .parquet, .json, .ndjson, .ddb.json); "
                   "default: the built-in sample.")
@max_input_option
@click.option("--overwrite", is_flag=True,
              help="Replace existing items that differ (by default they are left alone).")
@aws_options
@format_option
@library_errors
def seed(file, max_input_bytes, overwrite, table, region, profile, endpoint_url, max_attempts,
         timeout, fmt):
    """Write job records to the DynamoDB workload catalog.

    Every record is validated first, and checked against DynamoDB's limits (key and item
    sizes, attribute names and types, numbers), so a bad file writes nothing; the table is
    created if missing (on-demand, batch_date + window_job_id) and waited for; existing
    identical items are skipped, so running it twice changes nothing, and a run that failed
    midway (the error says how many items were stored) is completed by running it again.

    \b
    Example:
      mcqueue seed --endpoint-url http://127.0.0.1:8000
      mcqueue seed --file tonight.csv --table db_batch_window_requests --region eu-west-1
    """
    from mcqueue.errors import quote
    from mcqueue.io.dynamo import seed_table

    if file is None:
        from mcqueue.io.sample import sample_frame

        data, label = sample_frame(), "the built-in sample"
    else:
        from mcqueue.io.sources import read_jobs

        data, label = read_jobs(file, max_input_bytes), quote(file)
    click.echo(f"mcqueue: seeding table {quote(table)} from {label}...", err=True)
    res = seed_table(data, table, region=region, profile=profile, endpoint_url=endpoint_url,
                     max_attempts=max_attempts, overwrite=overwrite, timeout=timeout)
    render_to(res, fmt, None)


@click.command(short_help="Delete the DynamoDB table, or a CloudFormation stack.")
@click.option("--stack-name", default=None, callback=_stack_name,
              help="Delete this CloudFormation stack (e.g. from infra/dynamodb_table.yaml) "
                   "instead of the table (never the table: an empty name is an error).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@aws_options
@format_option
@library_errors
def cleanup(stack_name, yes, table, region, profile, endpoint_url, max_attempts, timeout, fmt):
    """Delete the workload catalog table (or the CloudFormation stack that made it).

    Asks for confirmation unless --yes. With --stack-name, --endpoint-url is the CloudFormation
    endpoint.

    \b
    Example:
      mcqueue cleanup --endpoint-url http://127.0.0.1:8000 --yes
      mcqueue cleanup --stack-name mcqueue-catalog --region eu-west-1
    """
    from mcqueue.errors import quote
    from mcqueue.io.dynamo import delete_stack, delete_table

    what = (f"CloudFormation stack {quote(stack_name)}" if stack_name is not None
            else f"DynamoDB table {quote(table)}")
    where = (f" at {quote(endpoint_url)}" if endpoint_url
             else (f" in {quote(region)}" if region else ""))
    if not yes:
        click.confirm(f"Delete {what}{where}? This removes every item in it", abort=True,
                      err=True)
    kwargs = dict(region=region, profile=profile, endpoint_url=endpoint_url,
                  max_attempts=max_attempts, timeout=timeout)
    res = (delete_stack(stack_name, **kwargs) if stack_name is not None
           else delete_table(table, **kwargs))
    render_to(res, fmt, None)
