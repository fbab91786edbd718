"""Renderers of ``validate`` results: one row per check."""

from __future__ import annotations

import csv
import io
import json

from ..analysis.validation import Check, ValidationResult
from .tables import grid

COLUMNS = ("check", "formula", "expected", "measured", "tolerance", "pass")


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def table_rows(result: ValidationResult) -> list[list[str]]:
    """The table's cells as text: tolerance as '+-value (rule)', pass as 'pass'/'FAIL'."""
    return [[c.check, c.formula, _fmt(c.expected), _fmt(c.measured),
             f"+-{_fmt(c.tolerance)} ({c.rule})", "pass" if c.passed else "FAIL"]
            for c in result.checks]


def validation_table(result: ValidationResult) -> str:
    right = [k in ("expected", "measured") for k in COLUMNS]
    out = grid(COLUMNS, table_rows(result), right)
    failed = len(result.failed)
    n = len(result.checks)
    out.append("")
    out.append(f"{n - failed} of {n} checks passed" + (f"; {failed} FAILED" if failed else ""))
    return "\n".join(out) + "\n"


def validation_json(result: ValidationResult) -> str:
    return json.dumps(result.to_dicts(), indent=2) + "\n"


def validation_csv(result: ValidationResult) -> str:
    buf = io.StringIO()
    fields = list(Check.__dataclass_fields__) + ["pass"]
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for row in result.to_dicts():
        w.writerow(row)
    return buf.getvalue()


RENDERERS = {
    ValidationResult: {"table": validation_table, "json": validation_json,
                       "csv": validation_csv},
}
