"""One exception tree for everything mcqueue raises on purpose, and the two rules every error
message follows: user data and service answers are shown with ``quote`` (quoted, control
characters and ANSI escapes escaped, long values cut), and a whole message goes through
``one_line`` before it is printed (one line, credentials in URLs redacted, length capped)."""

from __future__ import annotations

import re


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


QUOTE_LIMIT = 200  # characters of one value kept in an error message
LINE_LIMIT = 1000  # characters of a whole error line

# scheme://user:password@host -> scheme://user:***@host (also user@ alone is kept)
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/\s:@'\"]*):([^/\s@'\"]*)@")
# every C0/C1 control character, DEL, and the Unicode line/paragraph separators
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def redact(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` replaced by ``***``."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{m.group(2)}:***@", text)


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A value as an error message shows it: quoted, control characters escaped, long values cut.

    Strings (and anything that is not a number or a boolean, by its ``str``) are cut to ``limit``
    characters and then written with ``repr``, which escapes newlines, tabs, ANSI escapes and
    every other non-printable character, so a message stays one line and cannot repaint a
    terminal. A cut value ends in ``...`` after the closing quote and says how long it was.
    Numbers and booleans appear as Python writes them; a missing value (None) as ``null``.
    Passwords in URLs are redacted.
    """
    if value is None:
        return "null"
    if isinstance(value, (bool, int, float)):
        text = repr(value)
        if len(text) > limit:  # an int of thousands of digits
            return f"{text[:limit]}... ({len(text):,} digits)"
        return text
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    text = redact(value if isinstance(value, str) else str(value))
    if len(text) > limit:
        return f"{text[:limit]!r}... ({len(text):,} characters)"
    return repr(text)


def plain(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A name or identifier shown bare when it is short and printable (``J9``, a column name),
    else as ``quote`` shows it: for ids in messages like ``row 3 (job_id J9)``."""
    text = value if isinstance(value, str) else str(value)
    if (len(text) <= limit and text.isprintable() and text.strip() == text and text
            and not any(c in text for c in "'\"\\")):
        return redact(text)
    return quote(value, limit)


def _escape(match: re.Match) -> str:
    ch = match.group(0)
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\x{ord(ch):02x}" if ord(ch) < 256
                                                      else f"\\u{ord(ch):04x}")


def one_line(message: object, limit: int = LINE_LIMIT) -> str:
    """Any error message made safe to print as ONE line: control characters (newlines, ANSI
    escapes, bidi overrides) escaped, credentials in URLs redacted, cut to ``limit`` characters.

    The command line passes every error through this, whatever raised it, so even a message
    that did not use ``quote`` cannot forge a second line or repaint the terminal.
    """
    text = redact(str(message)).strip()
    text = _CONTROL.sub(_escape, text)
    if len(text) > limit:
        text = text[:limit - 20] + f"... ({len(text):,} characters)"
    return text


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's text (or its type name), as ``one_line``."""
    for line in str(exc).splitlines():
        if line.strip():
            return one_line(line, QUOTE_LIMIT)
    return type(exc).__name__
