"""``--fail-if EXPR``: conditions on a report's numbers, for schedulers and CI.

Grammar (no ``eval``: one regular expression, then a lookup in the command's metrics)::

    condition := metric op number             blanks allowed around op and number
    metric    := name ( "." name )*           name := [A-Za-z_][A-Za-z0-9_]*
    op        := ">" | ">=" | "<" | "<=" | "==" | "!="
    number    := [+-] digits [ "." digits ] [ (e|E) [+-] digits ]   (or "." digits ...);
                 finite (1e999 is refused)

A metric is a path into one row of the report: a scenario of ``simulate``, a row of ``score``,
the baseline or a scenario of ``whatif`` (`VOCABULARIES` lists every path of each command).
A path that stops at an object with a main value means that value: an interval object its
``estimate`` (``overflow_probability`` = ``overflow_probability.estimate``), a summary its
``mean`` (``p95_wait_minutes`` = ``p95_wait_minutes.mean``), a quantile block its ``p90``, a
``difference`` its ``estimate``. For ``simulate`` the metrics of ``monte_carlo`` are named
without that prefix (``monte_carlo.`` may be written too).

A condition *holds* for a row when the row's value satisfies it. A missing value (null in the
JSON output, e.g. the interval of one replication or a night without jobs, or a metric the row
does not carry, e.g. ``any_late_probability`` on a night without deadlines) never holds: the
command line says so on stderr, once per condition. An expression that does not parse, a
number that is not finite, or a metric the command does not know is a `UsageError` (exit 2),
raised before anything runs. The command exits 3 when any condition holds for any row.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import UsageError, quote

MAX_LENGTH = 500
OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
    ">": operator.gt, "<": operator.lt,
}
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
EXPRESSION = re.compile(rf"^\s*({_NAME}(?:\.{_NAME})*)\s*(>=|<=|==|!=|>|<)\s*({_NUMBER})\s*$")
FORM = ("METRIC OP NUMBER, e.g. overflow_probability>0.05 (OP one of >, >=, <, <=, ==, !=; "
        "METRIC a path like p95_wait_minutes.ci_high)")


@dataclass(frozen=True)
class Vocabulary:
    """The metrics of one command: every leaf path, and the main value of each object path."""

    command: str
    leaves: frozenset[tuple[str, ...]]
    defaults: dict[tuple[str, ...], str] = field(default_factory=dict)
    prefixes: tuple[str, ...] = ()  # a first name that may be dropped (simulate's monte_carlo)

    def resolve(self, path: tuple[str, ...]) -> tuple[str, ...] | None:
        """The leaf path ``path`` names, or None when the command has no such metric."""
        if len(path) > 1 and path[0] in self.prefixes:
            path = path[1:]
        while path in self.defaults:
            path = path + (self.defaults[path],)
        return path if path in self.leaves else None

    def names(self) -> list[str]:
        """The top-level metric names, for messages."""
        return sorted({p[0] for p in self.leaves})


def _block(leaves: set, defaults: dict, name: tuple[str, ...], fields: tuple[str, ...],
           main: str) -> None:
    for f in fields:
        leaves.add(name + (f,))
    defaults[name] = main


def _simulate_vocabulary() -> Vocabulary:
    from ..engine.simulate import METRICS

    leaves: set[tuple[str, ...]] = set()
    defaults: dict[tuple[str, ...], str] = {}
    per_night = tuple(METRICS) + ("late_jobs", "worker_minutes_above_capacity")
    for m in per_night:
        _block(leaves, defaults, (m,), ("mean", "ci_low", "ci_high", "p50", "p90", "p99"),
               "mean")
        leaves.add(("deterministic", m))
    for m in ("overflow_probability", "any_late_probability"):
        _block(leaves, defaults, (m,), ("estimate", "ci_low", "ci_high"), "estimate")
    for m in ("lambda_per_hour", "mu_per_hour", "rho"):
        leaves.add(("queueing", m))
    for m in ("jobs", "workers", "horizon_minutes", "replications"):
        leaves.add((m,))
    return Vocabulary("simulate", frozenset(leaves), defaults, ("monte_carlo",))


# score's flat columns that are numbers (overflow_probability is also the object below)
SCORE_NUMBERS = ("jobs", "workers", "rho", "overflow_ci_low", "overflow_ci_high",
                 "p95_wait_mean", "p95_wait_ci_low", "p95_wait_ci_high", "drained_p90_minute",
                 "horizon_minutes", "deterministic_overflow_jobs", "any_late_ci_low",
                 "any_late_ci_high")


def _score_vocabulary() -> Vocabulary:
    leaves: set[tuple[str, ...]] = {(c,) for c in SCORE_NUMBERS}
    defaults: dict[tuple[str, ...], str] = {}
    for m in ("overflow_probability", "any_late_probability"):
        _block(leaves, defaults, (m,), ("estimate", "ci_low", "ci_high"), "estimate")
    _block(leaves, defaults, ("p95_wait_minutes",), ("mean", "ci_low", "ci_high"), "mean")
    _block(leaves, defaults, ("queue_drained_minute",), ("p90",), "p90")
    return Vocabulary("score", frozenset(leaves), defaults)


def _whatif_vocabulary() -> Vocabulary:
    leaves: set[tuple[str, ...]] = {("jobs",), ("workers",), ("horizon_minutes",)}
    defaults: dict[tuple[str, ...], str] = {}
    blocks = {"overflow_probability": (("estimate", "ci_low", "ci_high"), "estimate"),
              "any_late_probability": (("estimate", "ci_low", "ci_high"), "estimate"),
              "p95_wait_minutes": (("mean", "ci_low", "ci_high"), "mean"),
              "queue_drained_minute": (("p90", "ci_low", "ci_high"), "p90")}
    for m, (fields, main) in blocks.items():
        _block(leaves, defaults, (m,), fields, main)
        _block(leaves, defaults, (m, "difference"), ("estimate", "ci_low", "ci_high"),
               "estimate")
    return Vocabulary("whatif", frozenset(leaves), defaults)


_BUILDERS = {"simulate": _simulate_vocabulary, "score": _score_vocabulary,
             "whatif": _whatif_vocabulary}


def vocabulary(command: str) -> Vocabulary:
    """The metrics ``--fail-if`` knows for ``command`` (simulate, score or whatif)."""
    try:
        return _BUILDERS[command]()
    except KeyError:
        raise UsageError(f"--fail-if is not available for {command!r}") from None


@dataclass(frozen=True)
class Condition:
    """One parsed ``--fail-if``: the text as given, the leaf path, the operator, the number."""

    text: str
    path: tuple[str, ...]
    op: str
    value: float

    @property
    def metric(self) -> str:
        return ".".join(self.path)

    def holds(self, x: Any) -> bool | None:
        """True/False for a number; None for a missing value (None, NaN, not a number)."""
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            return None
        if isinstance(x, float) and math.isnan(x):
            return None
        return bool(OPS[self.op](float(x), self.value))


def parse_condition(text: str, command: str) -> Condition:
    """One ``--fail-if`` expression for ``command``; UsageError naming it when it does not
    parse, its number is not finite, or the command has no such metric."""
    shown = quote(text)
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        raise UsageError(f"--fail-if {shown}: too long (at most {MAX_LENGTH} characters)")
    m = EXPRESSION.match(text)
    if m is None:
        raise UsageError(f"--fail-if {shown}: must be {FORM}")
    path_text, op, number = m.groups()
    value = float(number)
    if not math.isfinite(value):
        raise UsageError(f"--fail-if {shown}: the number {quote(number)} is not finite")
    vocab = vocabulary(command)
    path = vocab.resolve(tuple(path_text.split(".")))
    if path is None:
        raise UsageError(f"--fail-if {shown}: unknown metric {quote(path_text)} for "
                         f"{command}; metrics: {', '.join(vocab.names())} (each with its "
                         f"fields, see docs/model.md)")
    return Condition(text.strip(), path, op, value)


def parse_conditions(texts, command: str) -> list[Condition]:
    return [parse_condition(t, command) for t in texts or ()]


# ---------------------------------------------------------------- rows of a result
def _lookup(namespace: Any, path: tuple[str, ...]) -> Any:
    x = namespace
    for name in path:
        if not isinstance(x, dict) or name not in x:
            return None
        x = x[name]
    return x


def _simulate_rows(report) -> list[tuple[str, dict]]:
    out = []
    for r in report.results:
        d = r.to_dict()
        ns = dict(d.get("monte_carlo", {}))
        for k in ("deterministic", "queueing", "jobs", "workers", "horizon_minutes",
                  "replications"):
            ns[k] = d.get(k)
        out.append((d["scenario"], ns))
    return out


def _score_rows(result) -> list[tuple[str, dict]]:
    out = []
    for row in result.rows:
        d = row.to_dict()
        ns = {c: d.get(c) for c in SCORE_NUMBERS}
        ns["overflow_probability"] = {"estimate": d.get("overflow_probability"),
                                      "ci_low": d.get("overflow_ci_low"),
                                      "ci_high": d.get("overflow_ci_high")}
        if "any_late_probability" in d:
            ns["any_late_probability"] = {"estimate": d.get("any_late_probability"),
                                          "ci_low": d.get("any_late_ci_low"),
                                          "ci_high": d.get("any_late_ci_high")}
        ns["p95_wait_minutes"] = {"mean": d.get("p95_wait_mean"),
                                  "ci_low": d.get("p95_wait_ci_low"),
                                  "ci_high": d.get("p95_wait_ci_high")}
        ns["queue_drained_minute"] = {"p90": d.get("drained_p90_minute")}
        label = f"{d['batch_date']}" + (f" window {d['window']}" if d.get("window") else "")
        label += f" on {d['workers']} workers"
        if d.get("policy"):
            label += f", {d['policy']}"
        out.append((label, ns))
    return out


def _whatif_rows(result) -> list[tuple[str, dict]]:
    return [(f"scenario {quote(r.name)}" if r.built.position else "the baseline",
             r.to_dict()) for r in result.rows]


def report_rows(result: Any) -> list[tuple[str, dict]]:
    """(label, namespace) for every row a condition is checked on."""
    from .planning import ScoreResult
    from .runs import SimulateReport
    from .whatif import WhatIfResult

    if isinstance(result, SimulateReport):
        return _simulate_rows(result)
    if isinstance(result, ScoreResult):
        return _score_rows(result)
    if isinstance(result, WhatIfResult):
        return _whatif_rows(result)
    raise UsageError(f"--fail-if has no rows in a {type(result).__name__}")


@dataclass
class Verdict:
    """What the conditions found: ``held`` (condition, row label, value) and ``missing``
    (condition, row labels without a value)."""

    held: list[tuple[Condition, str, float]] = field(default_factory=list)
    missing: list[tuple[Condition, list[str]]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.held)


def evaluate(conditions: list[Condition], rows: list[tuple[str, dict]]) -> Verdict:
    """Every condition on every row, in condition order then row order."""
    v = Verdict()
    for c in conditions:
        absent = []
        for label, ns in rows:
            x = _lookup(ns, c.path)
            ok = c.holds(x)
            if ok is None:
                absent.append(label)
            elif ok:
                v.held.append((c, label, float(x)))
        if absent:
            v.missing.append((c, absent))
    return v


def check(conditions: list[Condition], result: Any) -> Verdict:
    """`evaluate` on the rows of a command's result."""
    return evaluate(conditions, report_rows(result)) if conditions else Verdict()


def held_line(c: Condition, label: str, value: float) -> str:
    return f"{c.text} holds for {label} ({c.metric} = {value:.6g})"


def missing_line(c: Condition, labels: list[str]) -> str:
    first = ", ".join(labels[:3]) + (f" and {len(labels) - 3} more" if len(labels) > 3 else "")
    return (f"--fail-if {c.text}: no value for {first} (a missing value never holds)")
