"""The optional `report` extra (matplotlib): one check, one message, before any chart is drawn.

`pip install mcqueue` stays lean; HTML reports and --plot images need matplotlib, installed with
``pip install "mcqueue[report]"``. The command line calls `require_report_extra` before it
imports `mcqueue.report.charts`, so a missing extra is one clear error, not an ImportError
traceback from deep inside a renderer.
"""

from __future__ import annotations

from ..errors import McqueueError

INSTALL_COMMAND = 'pip install "mcqueue[report]"'
MIN_MATPLOTLIB = (3, 8)


class MissingExtraError(McqueueError, ImportError):
    """An optional part of mcqueue was asked for without its extra installed."""


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit()) if piece else ""
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def require_report_extra(what: str = "HTML reports and plots") -> None:
    """Raise MissingExtraError naming the pip command unless matplotlib >= 3.8 is importable."""
    try:
        import matplotlib
    except ImportError:
        raise MissingExtraError(
            f"{what} need matplotlib, which is not installed; install it with: "
            f"{INSTALL_COMMAND}") from None
    found = getattr(matplotlib, "__version__", "0")
    if _version(found) < MIN_MATPLOTLIB:
        raise MissingExtraError(
            f"{what} need matplotlib >= {'.'.join(map(str, MIN_MATPLOTLIB))}, found {found}; "
            f"install it with: {INSTALL_COMMAND}")
