"""`mcqueue`: the command group. Each command lives in its own module and is added below."""

from __future__ import annotations

import click

from mcqueue import __version__ as _version  # cheap: mcqueue loads lazily


class _Ordered(click.Group):
    """Lists commands in the order they are added (the main job first), not alphabetically."""

    def list_commands(self, ctx):
        return list(self.commands)


@click.group(cls=_Ordered, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


# commands, in the order --help lists them (each module imports only click at top level)
from .simulate import simulate  # noqa: E402
from .score import score  # noqa: E402
from .plan import plan  # noqa: E402
from .sample import sample  # noqa: E402
from .aws import cleanup, seed  # noqa: E402
from .calibrate import calibrate  # noqa: E402
from .backtest import backtest  # noqa: E402
from .validate import validate  # noqa: E402
from .bench import bench  # noqa: E402

for _command in (simulate, score, plan, calibrate, backtest, sample, seed, cleanup, validate,
                 bench):
    cli.add_command(_command)


def main():
    cli(prog_name="mcqueue")


if __name__ == "__main__":
    main()
