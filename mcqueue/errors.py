"""One exception tree for everything mcqueue raises on purpose."""


class McqueueError(Exception):
    """Root of every error mcqueue raises for bad input or a failing service."""


class DataError(McqueueError, ValueError):
    """A record, file or night is not usable; the message names the row, field and value."""


class ScenarioError(McqueueError, ValueError):
    """A scenario parameter (workers, replications, cv, ...) is out of range."""


class ServiceError(McqueueError):
    """A storage service (DynamoDB) failed in a way retries did not fix."""


class UsageError(McqueueError, ValueError):
    """The request itself is incomplete or contradictory (e.g. a file with several nights and
    no date chosen); the command line reports it as a usage error (exit 2)."""


class FormatError(McqueueError, ValueError):
    """A report format that the result type has no renderer for."""


QUOTE_LIMIT = 200  # characters of a value kept in an error message


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A value as an error message shows it: quoted, control characters escaped, long values cut.

    Strings (and anything that is not a number or a boolean, by its ``str``) are cut to ``limit``
    characters and then written with ``repr``, which escapes newlines, tabs, ANSI escapes and every
    other non-printable character, so a message stays one line and cannot repaint a terminal.
    A cut value ends in ``...`` after the closing quote and says how long it was. Numbers and
    booleans appear as Python writes them; a missing value (None) as ``null``.
    """
    if value is None:
        return "null"
    if isinstance(value, (bool, int, float)):
        return repr(value)
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        return f"{text[:limit]!r}... ({len(text):,} characters)"
    return repr(text)
