"""The one plain-text table formatter every report uses, and the number formats shared by the
score, plan and validation tables."""

from __future__ import annotations

import math
import textwrap
from typing import Sequence

WIDTH = 80  # the simulate report fits an 80-column terminal


def grid(header: Sequence[str], body: Sequence[Sequence[str]], right: Sequence[bool],
         rule: bool = True) -> list[str]:
    """Columns as wide as their widest cell (header included), two spaces apart, right-aligned
    where ``right`` says so, trailing blanks stripped; a dashed rule under the header."""
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if rj else c.ljust(w)
                         for c, w, rj in zip(cells, widths, right)).rstrip()

    lines = [line(header)]
    if rule:
        lines.append(line(["-" * w for w in widths]))
    return lines + [line(r) for r in body]


def wrap_items(head: str, items: str, width: int = WIDTH) -> list[str]:
    """Wrap a ', '-separated list at item boundaries only."""
    glued = items.replace(" ", "\u00a0").replace(",\u00a0", ", ")
    return [ln.replace("\u00a0", " ") for ln in
            textwrap.wrap(head + glued, width, subsequent_indent="  ")]


def pct2(x: float | None) -> str:
    """A share as a percentage with two decimals; '-' when missing (None or NaN)."""
    return "-" if x is None or math.isnan(x) else f"{100 * x:.2f}%"


def fixed(x: float | None, digits: int = 1) -> str:
    """A number with fixed decimals; '-' when missing."""
    return "-" if x is None or math.isnan(x) else f"{x:.{digits}f}"


def interval_pct(lo: float | None, hi: float | None) -> str:
    """An interval of shares as '[a, b]' in percent with two decimals; '' when missing."""
    if lo is None or hi is None or math.isnan(lo):
        return ""
    return f"[{100 * lo:.2f}, {100 * hi:.2f}]"


def interval(lo: float | None, hi: float | None, digits: int = 1) -> str:
    """'[a, b]' with fixed decimals; '' when missing."""
    if lo is None or hi is None or math.isnan(lo):
        return ""
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"
