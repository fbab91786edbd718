"""Progress on stderr, only when stderr is a terminal (stdout carries only the report)."""

from __future__ import annotations

import contextlib
import sys

import click


def stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def progress(total: int, label: str = "simulating"):
    """Yield a callback ``advance(n)`` for the engine, or None when stderr is not a terminal."""
    if total <= 0 or not stderr_is_tty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr,
                           show_eta=True, show_percent=True) as bar:
        yield bar.update


def compiling_notice(policies=(), per_job: bool = False) -> None:
    """One line on stderr when the engine (with the general loop of ``policies`` and the
    per-job fold when a run uses them) is not in numba's cache yet (first run only)."""
    from mcqueue.engine.simulate import kernel_cache_ready

    ready = (kernel_cache_ready(policies, per_job) if policies or per_job
             else kernel_cache_ready())
    if not ready:
        # measured on the project's 2-core machine (docs/benchmarks.md, issue 17): the default
        # run's whole first process 6-7 s; the general loop of a policy or the per-job fold
        # 40-70 s
        expect = "about a minute" if policies or per_job else "5-10 seconds"
        click.echo(f"mcqueue: compiling the simulation engine (first run only, {expect} on 2 "
                   "cores; Ctrl-C takes effect only when the compile is done)...", err=True)


def hooks(kind: str = "note"):
    """The library's run hooks for the command line: notes on stderr as 'mcqueue: <kind>:',
    a progress bar on a terminal, the compile notice before the first kernel call."""
    from mcqueue.analysis.runs import Hooks

    def note(message: str) -> None:
        from mcqueue.errors import one_line

        click.echo(f"mcqueue: {kind}: {one_line(message)}", err=True)

    return Hooks(note=note, progress=progress, starting=compiling_notice)
