"""Renderers: every result type to the formats people and machines read.

One registry maps a result type to its formats; ``render(result, fmt)`` is the only entry point
the command line uses, and an unknown format is one ``FormatError`` naming the formats the
result has. Text formats come back as ``str``, binary ones (parquet) as ``bytes``. ``html`` is
the self-contained report page of `mcqueue.report.pages`; it needs the `report` extra
(matplotlib) and raises one `MissingExtraError` naming the pip command without it.

| result (module)                                   | formats                         |
|---------------------------------------------------|---------------------------------|
| SimulateReport, [SimulationResult] (simulation)   | table, json, csv; html (pages)  |
| ScoreResult (planning)                            | table, json, csv, parquet; html |
| Plan (planning)                                   | table, json, csv; html          |
| ValidationResult (validation)                     | table, json, csv                |
| BenchResult (benchmark)                           | table, json                     |
| SeedResult, DeleteResult (storage)                | table, json, csv                |
| CalibrationReport (history)                       | table, json                     |
| BacktestResult (backtest)                         | table, json, csv                |
| WhatIfResult (whatif)                             | table, json, csv, html          |
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable

from ..errors import FormatError

_MODULES = ("simulation", "planning", "validation", "benchmark", "storage", "pages", "history",
            "backtest", "whatif")
BINARY_FORMATS = frozenset({"parquet"})


def _registry() -> dict[type, dict[str, Callable[[Any], str | bytes]]]:
    reg: dict[type, dict[str, Callable[[Any], str | bytes]]] = {}
    for name in _MODULES:  # imported on first use: `import mcqueue.report` stays cheap
        for cls, fmts in import_module(f"{__name__}.{name}").RENDERERS.items():
            reg.setdefault(cls, {}).update(fmts)  # pages adds html to the types above
    return reg


def formats(result: Any) -> tuple[str, ...]:
    """The formats ``result`` can be rendered in."""
    return tuple(_renderers(result))


def _renderers(result: Any) -> dict[str, Callable[[Any], str | bytes]]:
    reg = _registry()
    for cls in type(result).__mro__:
        if cls in reg:
            return reg[cls]
    raise FormatError(f"no report for a {type(result).__name__}")


def render(result: Any, fmt: str = "table") -> str | bytes:
    """``result`` in ``fmt``: str for text formats, bytes for parquet."""
    if isinstance(result, list):  # scenarios of simulate_scenarios(): a simulate report
        from ..analysis.runs import SimulateReport

        result = SimulateReport(result)
    renderers = _renderers(result)
    fn = renderers.get(fmt)
    if fn is None:
        raise FormatError(f"unknown report format {fmt!r} for {type(result).__name__}; "
                          f"choose one of {', '.join(renderers)}")
    return fn(result)
