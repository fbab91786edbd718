"""What a result shows in a Jupyter notebook (``_repr_html_``) and its table as a polars
DataFrame (``to_polars``), for SimulationResult, SimulateReport, ScoreResult and Plan.

The result types inherit both methods from `mcqueue._notebook.Notebook`, which calls
``repr_html`` and ``to_polars`` here by name. polars and matplotlib are imported inside the
functions, when a notebook asks.

``_repr_html_``: an HTML fragment (no page, no script): a summary table and, when matplotlib
(the `report` extra) is installed, the result's main chart as inline SVG: the drain-time curve
of each scenario (when the result kept its per-replication samples), the nights ranked by risk,
or the workers chart of a plan. Without matplotlib the tables alone, and no error.

``to_polars()`` columns (the CSV output of the same result, typed):

- SimulationResult, SimulateReport: ``scenario`` (str), ``metric`` (str: the eight metrics,
  then ``overflow_probability``), ``deterministic``, ``mean``, ``ci_low``, ``ci_high``,
  ``p50``, ``p90``, ``p99`` (float; for ``overflow_probability``: ``deterministic`` 1.0 when
  the deterministic replay overflows else 0.0, ``mean`` the estimate, the quantiles null);
  the further rows of the CSV output when present (issues 12/13: ``late_jobs``,
  ``worker_minutes_above_capacity``, ``any_late_probability``; with per-job statistics the
  ``job_id`` column (str) and five rows per job).
  ``to_polars("per_job")``: ``scenario``, ``job_id`` (str), ``late_probability``,
  ``late_ci_low``, ``late_ci_high``, ``finish_minute_p50``, ``finish_minute_p90``,
  ``mean_wait_minutes``, ``mean_dependency_delay_minutes``, ``criticality`` (float), one row
  per scenario and job.
- ScoreResult: ``batch_date``, ``window`` (str), ``workers``, ``jobs`` (int), ``rho``,
  ``overflow_probability``, ``overflow_ci_low``, ``overflow_ci_high``, ``p95_wait_mean``,
  ``p95_wait_ci_low``, ``p95_wait_ci_high``, ``drained_p90_minute``, ``horizon_minutes``
  (float; null for a night without jobs), ``deterministic_overflow_jobs`` (int), riskiest
  first; ``policy`` (str) with --policy and the any-late columns when some job has a
  deadline, as in CSV.
- Plan: ``workers`` (int), ``overflow_probability``, ``overflow_ci_low``,
  ``overflow_ci_high``, ``p95_wait_mean``, ``p95_wait_ci_low``, ``p95_wait_ci_high``,
  ``drained_p90_minute`` (float), ``deterministic_overflow_jobs`` (int), ``meets_target``,
  ``recommended`` (bool), and the step from the previous worker count: ``overflow_diff``,
  ``overflow_paired_ci_low``, ``overflow_paired_ci_high``, ``overflow_unpaired_ci_low``,
  ``overflow_unpaired_ci_high``, ``p95_wait_diff``, ``p95_wait_paired_ci_low``,
  ``p95_wait_paired_ci_high``, ``p95_wait_unpaired_ci_low``, ``p95_wait_unpaired_ci_high``
  (float; null on the first row); the optional columns of the plan CSV when present
  (``policy``, the any-late columns, ``infeasible``, the ``vs_policy`` differences).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from ..analysis.planning import Plan, ScoreResult
from ..analysis.runs import SimulateReport
from ..engine.simulate import METRICS, SimulationResult
from ..errors import FormatError
from .chart_data import ChartSet
from .extra import MissingExtraError, require_report_extra
from .html import Table, _table_html, escape
from .result_charts import drain_times, plan_chart, score_nights

TOP_ROWS = 20  # rows of a score shown in a notebook (to_polars() has them all)
_ids = itertools.count(1)  # charts in one notebook need ids unique across its cells


# ---------------------------------------------------------------- polars
def _frame(rows: list[dict], schema: dict) -> Any:
    import polars as pl

    data = {c: [None if isinstance(v, float) and math.isnan(v) else v
                for v in (row.get(c) for row in rows)] for c in schema}
    return pl.DataFrame(data, schema=schema)


def simulation_frame(results: list[SimulationResult]) -> Any:
    import polars as pl

    from .simulation import csv_columns, csv_rows

    schema = {c: (pl.String if c in ("scenario", "metric", "job_id") else pl.Float64)
              for c in csv_columns(results)}
    rows = [{k: (float(v) if k not in ("scenario", "metric", "job_id") and v is not None
                 else v) for k, v in row.items()} for row in csv_rows(results)]
    return _frame(rows, schema)


PER_JOB_COLUMNS = ("scenario", "job_id", "late_probability", "late_ci_low", "late_ci_high",
                   "finish_minute_p50", "finish_minute_p90", "mean_wait_minutes",
                   "mean_dependency_delay_minutes", "criticality")


def per_job_frame(results: list[SimulationResult]) -> Any:
    """One row per scenario and job (``PER_JOB_COLUMNS``), in the JSON's order (scenarios in
    order, jobs by job_id); FormatError when no scenario has per-job statistics."""
    import polars as pl

    if not any(r.per_job is not None for r in results):
        raise FormatError("no per-job statistics in this result: simulate with per_job=True "
                          "(the command line's --per-job)")
    rows = []
    for r in results:
        for d in r.per_job or ():
            lp = d["late_probability"]
            rows.append({"scenario": r.scenario, "job_id": d["job_id"],
                         "late_probability": lp["estimate"], "late_ci_low": lp["ci_low"],
                         "late_ci_high": lp["ci_high"],
                         **{k: d[k] for k in PER_JOB_COLUMNS[5:]}})
    schema = {c: (pl.String if c in ("scenario", "job_id") else pl.Float64)
              for c in PER_JOB_COLUMNS}
    return _frame(rows, schema)


def plan_frame(p: Plan) -> Any:
    import polars as pl

    from .planning import plan_csv_columns, plan_csv_rows

    ints = {"workers", "deterministic_overflow_jobs"}
    bools = {"meets_target", "recommended"}
    texts = {"policy", "infeasible", "vs_policy"}
    schema = {c: pl.Int64 if c in ints else pl.Boolean if c in bools
              else pl.String if c in texts else pl.Float64 for c in plan_csv_columns(p)}
    return _frame(plan_csv_rows(p), schema)


def to_polars(result: Any, table: str = "metrics") -> Any:
    """The result's table as a polars DataFrame (columns: this module's docstring);
    ``table="per_job"`` gives a simulation's per-job statistics."""
    if table not in ("metrics", "per_job"):
        raise FormatError(f"unknown table {table!r}; choose 'metrics' or 'per_job'")
    if isinstance(result, (SimulationResult, SimulateReport)):
        results = [result] if isinstance(result, SimulationResult) else list(result.results)
        return per_job_frame(results) if table == "per_job" else simulation_frame(results)
    if table == "per_job":
        raise FormatError(f"no per-job table for a {type(result).__name__}")
    if isinstance(result, ScoreResult):
        from .planning import score_frame

        return score_frame(result.rows, result.columns)
    if isinstance(result, Plan):
        return plan_frame(result)
    raise FormatError(f"no table for a {type(result).__name__}")


# ---------------------------------------------------------------- html
def _chart_svg(cs: ChartSet, name: str) -> str:
    """The set's one chart as inline SVG sized for a notebook cell, or "" without the report
    extra."""
    try:
        require_report_extra()
    except MissingExtraError:
        return ""
    from . import charts

    (_, fig), = charts.figures(cs)
    svg = charts.svg_markup(fig, f"mcqueue-nb{next(_ids)}-{name}")
    return svg.replace("<svg", '<svg role="img" style="width:100%;max-width:900px;'
                               'height:auto;display:block"', 1)


def _table(t: Table) -> str:
    return "\n".join(_table_html(t))


def _pct(x: float | None) -> str:
    from .simulation import _pct as pct

    return pct(x)


def _num(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:,.{digits}f}"


def _scenario_html(r: SimulationResult) -> str:
    from .simulation import _LABELS

    nt = r.night
    conf = f"{100 * r.confidence:g}%"
    rows: list[list[object]] = []
    for m in METRICS:
        label, kind = _LABELS[m]
        st = r.monte_carlo[m]
        f = _pct if kind == "pct" else _num
        rows.append([label, f(r.deterministic[m]), f(st["mean"]),
                     f"[{f(st['ci_low'])}, {f(st['ci_high'])}]", f(st["p90"])])
    from .simulation import EXTRA_METRICS

    for m, (label, _) in EXTRA_METRICS.items():
        if m in r.monte_carlo:
            st = r.monte_carlo[m]
            rows.append([label, _num(r.deterministic.get(m)), _num(st["mean"]),
                         f"[{_num(st['ci_low'])}, {_num(st['ci_high'])}]", _num(st["p90"])])
    op = r.monte_carlo["overflow_probability"]
    over = r.deterministic["queue_drained_minute"] > nt.horizon_minutes
    rows.append(["overflow probability", "yes" if over else "no", _pct(op["estimate"]),
                 f"[{_pct(op['ci_low'])}, {_pct(op['ci_high'])}]", ""])
    al = r.monte_carlo.get("any_late_probability")
    if al is not None:
        late = (r.deterministic.get("late_jobs") or 0) > 0
        rows.append(["any job late", "yes" if late else "no", _pct(al["estimate"]),
                     f"[{_pct(al['ci_low'])}, {_pct(al['ci_high'])}]", ""])
    win = f", window {nt.window}" if nt.window else ""
    caption = (f"{r.scenario}: {nt.n_jobs} jobs, batch {nt.batch_start}-{nt.batch_end}{win}, "
               f"{r.replications:,} replications, seed {r.seed}")
    out = [_table(Table(["metric", "deterministic", "MC mean", f"{conf} interval", "P90"], rows,
                        caption=caption, right=[False, True, True, True, True]))]
    d = drain_times(r)
    if d is not None:
        out.append(_chart_svg(ChartSet(drain=d), "drain"))
    else:
        out.append("<p>No per-replication samples kept: no drain-time chart.</p>")
    return "\n".join(out)


def _score_html(result: ScoreResult) -> str:
    level = f"{100 * result.settings.confidence:g}%"
    rows: list[list[object]] = []
    for r in result.rows[:TOP_ROWS]:
        rows.append([r.batch_date, r.window or "-", r.workers, r.jobs,
                     _pct(r.overflow_probability) if r.jobs else "no jobs",
                     f"[{_pct(r.overflow_ci_low)}, {_pct(r.overflow_ci_high)}]" if r.jobs
                     else "", _num(r.p95_wait_mean, 1), _num(r.drained_p90_minute, 1)])
    more = len(result.rows) - len(rows)
    caption = (f"Score: {len(result.rows):,} rows, riskiest first"
               + (f" (the first {len(rows)}; .to_polars() has them all)" if more > 0 else ""))
    out = [_table(Table(["batch_date", "window", "workers", "jobs", "P(overflow)",
                         f"{level} interval", "p95 wait (min)", "drain P90 (min)"], rows,
                        caption=caption, right=[False, False] + [True] * 6))]
    nights = score_nights(result)
    if nights is not None:
        out.append(_chart_svg(ChartSet(score=nights), "score"))
    return "\n".join(out)


def _plan_html(p: Plan) -> str:
    level = f"{100 * p.settings.confidence:g}%"
    rows: list[list[object]] = [
        [f"{r.workers} {r.policy}" if p.policies else r.workers, _pct(r.overflow_probability),
         f"[{_pct(r.overflow_ci_low)}, {_pct(r.overflow_ci_high)}]", _num(r.p95_wait_mean, 1),
         f"[{_num(r.p95_wait_ci_low, 1)}, {_num(r.p95_wait_ci_high, 1)}]",
         "infeasible" if r.infeasible is not None else
         "recommended" if (r.workers == p.recommended
                           and r.policy == p.recommended_policy) else
         ("yes" if r.meets_target else "no")]
        for r in p.rows]
    nt = p.night
    rec = f"{p.recommended} workers" if p.recommended is not None else "none"
    if p.recommended is not None and p.recommended_policy is not None:
        rec += f" with {p.recommended_policy}"
    out = [_table(Table(["workers" + (" and policy" if p.policies else ""), "P(overflow)", f"{level} interval", "p95 wait (min)",
                         f"{level} interval", "meets target"], rows,
                        caption=f"Plan for {nt.batch_date}: {nt.n_jobs} jobs, "
                                f"{p.settings.replications:,} replications",
                        right=[True] * 5 + [False])),
           f"<p><b>Recommendation: {escape(rec)}</b>: {escape(p.reason)}</p>"]
    chart = plan_chart(p)
    if chart is not None:
        out.append(_chart_svg(ChartSet(plan=chart), "plan"))
    return "\n".join(out)


def repr_html(result: Any) -> str:
    """The result as an HTML fragment for a notebook (see the module docstring)."""
    if isinstance(result, SimulationResult):
        body = _scenario_html(result)
    elif isinstance(result, SimulateReport):
        body = "\n".join(_scenario_html(r) for r in result.results)
        if result.notes:
            body += "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in result.notes) + "</ul>"
    elif isinstance(result, ScoreResult):
        body = _score_html(result)
    elif isinstance(result, Plan):
        body = _plan_html(result)
    else:
        raise FormatError(f"no notebook view of a {type(result).__name__}")
    return f'<div class="mcqueue-result">\n{body}\n</div>'

