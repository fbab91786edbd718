"""`mcqueue`: the command group. Each command lives in its own module and is added below."""

from __future__ import annotations

import os
import sys

import click

from mcqueue import __version__ as _version  # cheap: mcqueue loads lazily


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C


class _Ordered(click.Group):
    """Lists commands in the order they are added (the main job first), not alphabetically,
    and applies the error-line rules to every error, click's own included: the message is made
    one safe line (``mcqueue.errors.one_line``: control characters and ANSI escapes escaped,
    credentials in URLs redacted, length capped), and Ctrl-C exits 130 with "Aborted!"."""

    def list_commands(self, ctx):
        return list(self.commands)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.Abort as exc:  # Ctrl-C (KeyboardInterrupt), or "no" at a confirmation
            interrupted = isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt)
            click.echo("Aborted!", err=True)
            sys.exit(EXIT_INTERRUPTED if interrupted else 1)
        except (KeyboardInterrupt, EOFError) as exc:
            click.echo(file=sys.stderr)
            click.echo("Aborted!", err=True)
            sys.exit(EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else 1)
        except click.ClickException as exc:
            from mcqueue.errors import one_line

            exc.message = one_line(exc.message)
            exc.show()
            sys.exit(exc.exit_code)
        sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)


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
from .whatif import whatif  # noqa: E402
from .sample import sample  # noqa: E402
from .aws import cleanup, seed  # noqa: E402
from .calibrate import calibrate  # noqa: E402
from .backtest import backtest  # noqa: E402
from .validate import validate  # noqa: E402
from .bench import bench  # noqa: E402

for _command in (simulate, score, plan, whatif, calibrate, backtest, sample, seed, cleanup,
                 validate, bench):
    cli.add_command(_command)


def main():
    """The console script. After Ctrl-C the process ends at once (``os._exit``) once
    "Aborted!" is printed, so a query thread still waiting on a socket, or a thread pool, cannot
    hold the exit; files being written have already been removed by then."""
    try:
        cli(prog_name="mcqueue")
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
            os._exit(EXIT_INTERRUPTED)
        raise


if __name__ == "__main__":
    main()
