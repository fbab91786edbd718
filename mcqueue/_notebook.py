"""Notebook display for the result types of every layer: ``_repr_html_`` and ``to_polars``.

Jupyter shows an object through its ``_repr_html_`` method, so the method must live on the
result types themselves, some of which are in the engine layer (`SimulationResult`), which may
import neither polars nor the report layer. `Notebook` is a mixin with no state whose two
methods look the report layer's `mcqueue.report.notebook` up by name when they are called
(``importlib.import_module``): nothing is imported when a result is made, the engine keeps no
import of polars, matplotlib or the report layer (the import-linter contracts in pyproject.toml
hold), and the code that builds the tables and charts stays in the report layer. A shared module
like `mcqueue._plain`; tests/test_architecture.py checks it imports nothing of mcqueue.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # never runs: the real type for type checkers
    import polars

NOTEBOOK_MODULE = "mcqueue.report.notebook"


def _notebook() -> Any:
    return import_module(NOTEBOOK_MODULE)


class Notebook:
    """``_repr_html_`` (an HTML summary table, plus the result's main chart when matplotlib is
    installed) and ``to_polars`` (the result's table as a polars DataFrame); both delegate to
    `mcqueue.report.notebook`, which documents the columns."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        return _notebook().repr_html(self)

    def to_polars(self, table: str = "metrics") -> "polars.DataFrame":
        """The result's table as a polars DataFrame (columns: `mcqueue.report.notebook`);
        ``table="per_job"``: a simulation's per-job statistics."""
        return _notebook().to_polars(self, table)
