"""``--fail-if EXPR`` (repeatable) on simulate, score and whatif: exit 3 when a condition holds.

One decorator adds the option to a command and wraps it: the expressions are parsed before the
command does anything (a malformed one or an unknown metric is a usage error, exit 2); the
command runs and writes its report as usual and returns its result; then every condition is
checked on every row. Each condition that holds is one line on stderr
(``mcqueue: fail-if: <condition> holds for <row> (<metric> = <value>)``), a condition some row
has no value for one warning line; the exit code is 3 when any condition held. The grammar and
the metrics are the library's (`mcqueue.analysis.conditions`).

Only click is imported at module level (a fast ``--help``).
"""

from __future__ import annotations

import functools

import click

EXIT_CONDITION = 3


def fail_if_option(command: str):
    """Decorator: ``--fail-if`` for ``command`` ('simulate', 'score' or 'whatif'); the wrapped
    function must return its result (the object it rendered)."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, fail_if=(), **kwargs):
            conditions = parse(fail_if, command)
            result = fn(*args, **kwargs)
            if conditions:
                report(result, conditions)
            return None

        return click.option(
            "--fail-if", "fail_if", multiple=True, metavar="EXPR",
            help="Exit 3 (after writing the report) when this condition holds for any "
                 "scenario or row, e.g. 'overflow_probability>0.05', "
                 "'p95_wait_minutes.ci_high>=60' (METRIC OP NUMBER; OP one of > >= < <= == "
                 "!=; metrics in docs/model.md). Repeatable; a missing value never holds.",
        )(wrapper)

    return deco


def parse(texts, command: str):
    """The parsed conditions; a usage error (exit 2) naming the bad expression."""
    if not texts:
        return []
    from mcqueue.analysis.conditions import parse_conditions
    from mcqueue.errors import UsageError, one_line

    try:
        return parse_conditions(texts, command)
    except UsageError as exc:
        raise click.BadParameter(one_line(str(exc).removeprefix("--fail-if ")),
                                 param_hint="'--fail-if'") from None


def report(result, conditions) -> None:
    """Check the conditions on ``result``; stderr lines; exit 3 when any held."""
    from mcqueue.analysis.conditions import check, held_line, missing_line
    from mcqueue.errors import one_line

    verdict = check(conditions, result)
    for c, labels in verdict.missing:
        click.echo(f"mcqueue: warning: {one_line(missing_line(c, labels))}", err=True)
    for c, label, value in verdict.held:
        click.echo(f"mcqueue: fail-if: {one_line(held_line(c, label, value))}", err=True)
    if verdict.failed:
        click.get_current_context().exit(EXIT_CONDITION)
