"""`mcqueue`: the command group. Each command lives in its own module and is added below."""

from __future__ import annotations

import click

from mcqueue import __version__ as _version  # cheap: mcqueue loads lazily


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(_version, "--version", prog_name="mcqueue")
def cli():
    """Will tonight's database batch window make the cutoff?

    mcqueue replays a night of queued jobs (ETL, refreshes, backfills, index maintenance)
    thousands of times with perturbed runtimes and arrivals, and reports wait, queue,
    utilisation and overflow risk with confidence intervals.

    \b
    Example:
      mcqueue simulate                      # the tutorial's two scenarios on the sample
      mcqueue simulate --batch-date 2026-05-13 --workers 3 --format json
    """


# commands (each module imports only click at top level)
# -- registered commands go here --
from cli.bench import bench; cli.add_command(bench)  # noqa: E402, E702
from cli.validate import validate; cli.add_command(validate)  # noqa: E402, E702
from cli.simulate import simulate  # noqa: E402
from cli.sample import sample  # noqa: E402
from cli.aws import cleanup, seed  # noqa: E402
from cli.score import score  # noqa: E402
from cli.plan import plan  # noqa: E402

cli.add_command(simulate)
cli.add_command(sample)
cli.add_command(seed)
cli.add_command(cleanup)
cli.add_command(score)
cli.add_command(plan)


def main():
    cli(prog_name="mcqueue")


if __name__ == "__main__":
    main()
