"""The HTML report (``--format html``) and the chart files (``--plot DIR``) of the simulate,
score and plan results.

One page per result, holding everything: a simulate run gets one section per scenario (facts,
the metrics table, the jobs that finished last, and its charts), a score the nights table and
the ranked chart, a plan the sweep, its steps and the workers chart. `render_html` checks the
`report` extra first (one `MissingExtraError` naming the pip command); the charts are drawn by
`mcqueue.report.charts`, the page built by `mcqueue.report.html`.

Chart ids (and --plot file names) are those of `charts.figures`; a simulate run with several
scenarios prefixes them with ``s1-``, ``s2-``, ... in the order of its other outputs (the table,
JSON and CSV), so the files of each scenario stay apart.
"""

from __future__ import annotations

import math
import os
import weakref
from typing import Any

from ..analysis.planning import Plan, ScoreResult
from ..analysis.runs import SimulateReport
from ..engine.simulate import METRICS, SimulationResult
from ..errors import McqueueError, UsageError
import numpy as np

from .chart_data import ChartSet, clock_label
from .extra import require_report_extra
from .html import Page, Section, Table, build_page
from .result_charts import ScenarioCharts, plan_chart, scenario_charts, score_nights
from .simulation import capacity_text

LAST_JOBS = 10  # rows of the "jobs that finished last" table of a scenario


# ---------------------------------------------------------------- the charts of a result
_cache: tuple[Any, list[tuple[str, ChartSet, ScenarioCharts | None]]] | None = None


def _results(result: Any) -> list[SimulationResult] | None:
    if isinstance(result, SimulateReport):
        return list(result.results)
    if isinstance(result, SimulationResult):
        return [result]
    if isinstance(result, list) and all(isinstance(r, SimulationResult) for r in result):
        return result
    return None


def chart_sets(result: Any) -> list[tuple[str, ChartSet, ScenarioCharts | None]]:
    """(id prefix, chart set, scenario details or None) for every part of a result; computed
    once per result object (the HTML page and --plot of one run share the replays)."""
    global _cache
    if _cache is not None and _cache[0]() is result:
        return _cache[1]
    sims = _results(result)
    out: list[tuple[str, ChartSet, ScenarioCharts | None]]
    if sims is not None:
        prefix = (lambda k: "") if len(sims) == 1 else (lambda k: f"s{k}-")
        out = []
        for k, r in enumerate(sims, 1):
            sc = scenario_charts(r)
            out.append((prefix(k), sc.charts, sc))
    elif isinstance(result, ScoreResult):
        nights = score_nights(result)
        out = [("", ChartSet(score=nights), None)] if nights is not None else []
    elif isinstance(result, Plan):
        chart = plan_chart(result)
        out = [("", ChartSet(plan=chart), None)] if chart is not None else []
    else:
        raise McqueueError(f"no charts for a {type(result).__name__}")
    try:
        _cache = (weakref.ref(result), out)
    except TypeError:  # a plain list cannot be weakly referenced: no cache
        pass
    return out


def save_plots(result: Any, folder: str | os.PathLike, fmt: str = "png") -> list[str]:
    """Every chart of ``result`` as one PNG or SVG file in ``folder`` (created if missing),
    each written atomically; the paths written, in report order."""
    require_report_extra()
    from . import charts

    if fmt not in charts.FORMATS:
        raise UsageError(f"plot format must be one of {', '.join(charts.FORMATS)}, got {fmt!r}")
    target = os.fspath(folder)
    if os.path.exists(target) and not os.path.isdir(target):
        raise UsageError(f"--plot {target!r} is a file, not a folder: give a folder for the "
                         f"chart files")
    try:
        os.makedirs(target, exist_ok=True)
        paths = []
        for prefix, cs, _ in chart_sets(result):
            paths += charts.save_all(cs, target, fmt, prefix)
    except OSError as exc:
        where = exc.filename if exc.filename is not None else target
        raise McqueueError(f"cannot write the charts to {os.fspath(where)!r}: "
                           f"{exc.strerror or exc}") from None
    return paths


# ---------------------------------------------------------------- number formats
def _pct(x: float | None) -> str:
    from .simulation import _pct as pct

    return pct(x)


def _num(x: float | None, digits: int = 2) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:,.{digits}f}"


def _interval_pct(d: dict) -> str:
    return f"{_pct(d['estimate'])} [{_pct(d['ci_low'])}, {_pct(d['ci_high'])}]"


def _settings_facts(replications: int, seed: int, runtime_cv: float, class_cv: dict,
                    jitter: float, confidence: float) -> list[tuple[str, object]]:
    cv = f"{runtime_cv:g}"
    if class_cv:
        cv += " (" + ", ".join(f"{k} {v:g}" for k, v in sorted(class_cv.items())) + ")"
    return [("replications", replications), ("seed", seed), ("runtime cv", cv),
            ("arrival jitter", f"up to {jitter:g} min"),
            ("confidence", f"{100 * confidence:g}%")]


# ---------------------------------------------------------------- simulate
def _metrics_table(r: SimulationResult) -> Table:
    from .simulation import _LABELS

    conf = f"{100 * r.confidence:g}%"
    rows: list[list[object]] = []
    for m in METRICS:
        label, kind = _LABELS[m]
        st = r.monte_carlo[m]
        vals = (r.deterministic[m], st["mean"], st["ci_low"], st["ci_high"], st["p50"],
                st["p90"], st["p99"])
        if kind == "pct":
            c = [_pct(v) for v in vals]
        elif m in ("max_queue_length", "overflow_jobs"):  # counts: whole numbers, means not
            c = [_num(v, 2 if i in (1, 2, 3) else 0) for i, v in enumerate(vals)]
        else:
            c = [_num(v) for v in vals]
        rows.append([label, c[0], c[1], f"[{c[2]}, {c[3]}]", c[4], c[5], c[6]])
    from .simulation import EXTRA_METRICS

    for m, (label, _) in EXTRA_METRICS.items():  # issues 12 and 13, when present
        if m in r.monte_carlo:
            st = r.monte_carlo[m]
            rows.append([label, _num(r.deterministic.get(m)),
                         *(_num(st[k]) for k in ("mean",)),
                         f"[{_num(st['ci_low'])}, {_num(st['ci_high'])}]",
                         *(_num(st[k]) for k in ("p50", "p90", "p99"))])
    op = r.monte_carlo["overflow_probability"]
    over = r.deterministic["queue_drained_minute"] > r.night.horizon_minutes
    rows.append(["overflow probability", "yes" if over else "no", _pct(op["estimate"]),
                 f"[{_pct(op['ci_low'])}, {_pct(op['ci_high'])}]", "", "", ""])
    al = r.monte_carlo.get("any_late_probability")
    if al is not None:
        late = (r.deterministic.get("late_jobs") or 0) > 0
        rows.append(["any job late", "yes" if late else "no", _pct(al["estimate"]),
                     f"[{_pct(al['ci_low'])}, {_pct(al['ci_high'])}]", "", "", ""])
    return Table(["metric", "deterministic", "MC mean", f"{conf} interval", "P50", "P90",
                  "P99"], rows,
                 caption=f"Metrics over {r.replications:,} replications (interval: the mean's "
                         f"{conf} confidence interval; P50/P90/P99: across replications)",
                 right=[False] + [True] * 6)


def _last_jobs_table(sc: ScenarioCharts) -> Table:
    r = sc.result
    nt = r.night
    tr = sc.p90_trace if sc.p90_trace is not None else sc.det_trace
    which = (f"replication {sc.p90_rep} (the P90 drain time)" if sc.p90_trace is not None
             else "the deterministic replay")
    gantt = sc.charts.gantts[-1]
    start, finish = tr["start_minute"], tr["finish_minute"]
    order = sorted(range(nt.n_jobs), key=lambda j: (-float(finish[j]), nt.job_id[j]))
    rows = []
    for j in order[:LAST_JOBS]:
        rows.append([nt.job_id[j], nt.workload_class[j], int(nt.priority[j]),
                     "yes" if nt.exclusive[j] else "no",
                     clock_label(float(start[j]), nt.batch_start),
                     clock_label(float(finish[j]), nt.batch_start),
                     "yes" if gantt.late[j] else "no"])
    return Table(["job_id", "class", "priority", "exclusive", "start", "finish", "late"], rows,
                 caption=f"The {min(LAST_JOBS, nt.n_jobs)} jobs that finished last in {which}")


JOBS_ROWS = 20  # rows of a scenario's per-job table


def _jobs_table(r: SimulationResult) -> Table:
    """The jobs most likely to be late (issue 12's per-job statistics)."""
    from .simulation import ranked_jobs

    nt = r.night
    conf = f"{100 * r.confidence:g}%"
    own = (dict(zip(nt.job_id, ~np.isnan(nt.deadline_minute)))
           if nt.deadline_minute is not None else {})
    due = dict(zip(nt.job_id, nt.deadline_array()))
    jobs = ranked_jobs(r)
    rows = []
    for d in jobs[:JOBS_ROWS]:
        lp = d["late_probability"]
        j = d["job_id"]
        rows.append([j, clock_label(due[j], nt.batch_start) if own.get(j) else "the cutoff",
                     _interval_pct(lp), clock_label(d["finish_minute_p50"], nt.batch_start),
                     clock_label(d["finish_minute_p90"], nt.batch_start),
                     _num(d["mean_wait_minutes"], 1),
                     _num(d["mean_dependency_delay_minutes"], 1), _num(d["criticality"])])
    shown = (f"the {JOBS_ROWS} of {len(jobs):,} jobs most likely to be late"
             if len(jobs) > JOBS_ROWS else f"all {len(jobs):,} jobs")
    return Table(["job_id", "deadline", f"late probability [{conf} interval]", "finish P50",
                  "finish P90", "mean wait (min)", "mean wait for predecessors (min)",
                  "criticality"], rows,
                 caption=f"Per-job risk: {shown}, by late probability",
                 right=[False, False, True, True, True, True, True, True])


def _scenario_section(k: int, prefix: str, sc: ScenarioCharts) -> Section:
    from . import charts

    r = sc.result
    nt = r.night
    q = r.queueing
    facts: list[tuple[str, object]] = [
        ("night", nt.batch_date + (f", window {nt.window}" if nt.window else "")),
        ("batch", f"{nt.batch_start}-{nt.batch_end} ({nt.horizon_minutes:g} min)"),
        ("workers", r.workers), ("jobs", nt.n_jobs),
        ("exclusive jobs", int(nt.exclusive.sum())),
        ("rho (offered load)", _num(q["rho"], 3)),
        *([("policy", r.policy + (f" (backfill depth {r.backfill_depth})"
                                  if r.backfill_depth is not None else ""))]
          if r.policy is not None else []),
        *([("capacity", capacity_text(r.capacity, nt.batch_start))]
          if r.capacity is not None else []),
        ("overflow probability", _interval_pct(r.monte_carlo["overflow_probability"])),
        *([("any job late", _interval_pct(r.monte_carlo["any_late_probability"]))]
          if "any_late_probability" in r.monte_carlo else []),
        ("drain time, deterministic",
         clock_label(r.deterministic["queue_drained_minute"], nt.batch_start)),
    ]
    d = sc.charts.drain
    if d is not None:
        facts += [("drain time P50 / P90", f"{clock_label(d.quantile(0.5), nt.batch_start)} / "
                                            f"{clock_label(d.quantile(0.9), nt.batch_start)}")]
    notes = []
    if d is None:
        notes.append("This result kept no per-replication samples: the drain-time curve and "
                     "the P90 replication are left out (the command line keeps them for "
                     "--format html and --plot; in Python, simulate keeps them by default).")
    if sc.charts.jobs is None:
        notes.append("No per-job statistics in this result (--per-job): the per-job chart is "
                     "left out.")
    prec = r.extra.get("precision")
    if prec:
        notes.append(f"Precision-targeted run: {prec['replications_used']:,} replications, "
                     f"stopped: {prec['stopped']}.")
    if r.extra.get("now"):
        from .simulation import now_line

        notes.append(now_line(r.extra["now"]))
    tables = [_metrics_table(r), _last_jobs_table(sc)]
    if r.per_job:
        tables.append(_jobs_table(r))
    return Section(title=f"{k}. {r.scenario}" if prefix else r.scenario, anchor=f"s{k}",
                   facts=facts, tables=tables,
                   charts=charts.chart_blocks(sc.charts, prefix), notes=notes)


def simulate_page(report: SimulateReport) -> Page:
    results = report.results
    sets = chart_sets(report)
    first = results[0] if results else None
    facts: list[tuple[str, object]] = [("scenarios", len(results))]
    if first is not None:
        p = first.perturbation
        facts += _settings_facts(first.replications, first.seed, p.runtime_cv,
                                 dict(p.class_cv), p.arrival_jitter, first.confidence)
    sections = [_scenario_section(k, prefix, sc) for k, (prefix, _, sc) in
                enumerate(sets, 1) if sc is not None]
    notes = list(report.notes) + [
        "Deterministic = one replay with planned runtimes and on-time arrivals (the tutorial's "
        "numbers); MC = Monte Carlo over the replications; overflow = the queue drains after "
        "the cutoff."]
    return Page(title="mcqueue simulate: will the night make the cutoff?",
                subtitle="; ".join(r.scenario for r in results), facts=facts, notes=notes,
                sections=sections)


# ---------------------------------------------------------------- score
def _score_table(result: ScoreResult) -> Table:
    level = f"{100 * result.settings.confidence:g}%"
    windows = any(r.window for r in result.rows)
    pol = bool(result.policies)
    late = result.any_late
    rows: list[list[object]] = []
    for r in result.rows:
        win = [r.window or "-"] if windows else []
        lead = [r.batch_date, *win, r.workers, *([r.policy or "-"] if pol else [])]
        if r.jobs == 0:
            rows.append([*lead, 0, "-", "no jobs", "", *(["-", ""] if late else []), "-", "",
                         "-", "-"])
            continue
        any_late = ([_pct(r.any_late_probability),
                     f"[{_pct(r.any_late_ci_low)}, {_pct(r.any_late_ci_high)}]"]
                    if late else [])
        rows.append([*lead, r.jobs, _num(r.rho),
                     _pct(r.overflow_probability),
                     f"[{_pct(r.overflow_ci_low)}, {_pct(r.overflow_ci_high)}]", *any_late,
                     _num(r.p95_wait_mean, 1),
                     f"[{_num(r.p95_wait_ci_low, 1)}, {_num(r.p95_wait_ci_high, 1)}]",
                     _num(r.drained_p90_minute, 1), r.deterministic_overflow_jobs])
    header = ["batch_date", *(["window"] if windows else []), "workers",
              *(["policy"] if pol else []), "jobs", "rho",
              "P(overflow)", f"{level} interval",
              *(["P(any job late)", f"{level} interval"] if late else []),
              "p95 wait (min)", f"{level} interval", "drain P90 (min)", "det. overflow jobs"]
    return Table(header, rows, caption="Highest risk first",
                 right=([False] * (2 if windows else 1) + [True] + [False] * pol
                        + [True] * (8 + 2 * late)))


def score_page(result: ScoreResult) -> Page:
    from . import charts

    s = result.settings
    rows = result.rows
    dates = {r.batch_date for r in rows}
    facts: list[tuple[str, object]] = [
        ("nights", len(dates)), ("nights with jobs", len({r.batch_date for r in rows
                                                           if r.jobs})),
        ("worker counts", ", ".join(str(c) for c in sorted({r.workers for r in rows}))),
    ]
    windows = sorted({r.window for r in rows if r.window})
    if windows:
        facts.append(("window", ", ".join(windows)))
    facts += _settings_facts(s.replications, s.seed, s.runtime_cv, dict(s.class_cv),
                             s.arrival_jitter, s.confidence)
    blocks = [b for prefix, cs, _ in chart_sets(result)
              for b in charts.chart_blocks(cs, prefix)]
    # the chart first, then the (long) table of every row in its own section
    rows_section = Section(title="Every night and worker count", anchor="rows",
                           tables=[_score_table(result)])
    return Page(title="mcqueue score: nights by risk",
                subtitle=(f"{min(dates)} to {max(dates)}" if dates else "no nights"),
                facts=facts, charts=blocks, notes=list(result.notes) + _now_notes(result),
                sections=[rows_section])


def _now_notes(result: ScoreResult) -> list[str]:
    """One note per night re-forecast from now (only with --now, issue 15)."""
    if not result.now:
        return []
    from .simulation import now_line

    return [f"{d}: {now_line(now)}" for d, now in sorted(result.now.items())]


# ---------------------------------------------------------------- plan
def _plan_tables(p: Plan) -> list[Table]:
    level = f"{100 * p.settings.confidence:g}%"
    pol = bool(p.policies)
    late = p.any_late
    sweep: list[list[object]] = []
    for r in p.rows:
        lead: list[object] = [r.workers, *([r.policy] if pol else [])]
        if r.infeasible is not None:
            sweep.append([*lead, "-", "", *(["-", ""] if late else []), "-", "", "-", "-",
                          f"infeasible: {r.infeasible}"])
            continue
        sweep.append([*lead, _pct(r.overflow_probability),
                      f"[{_pct(r.overflow_ci_low)}, {_pct(r.overflow_ci_high)}]",
                      *([_pct(r.any_late_probability),
                         f"[{_pct(r.any_late_ci_low)}, {_pct(r.any_late_ci_high)}]"]
                        if late else []),
                      _num(r.p95_wait_mean, 1),
                      f"[{_num(r.p95_wait_ci_low, 1)}, {_num(r.p95_wait_ci_high, 1)}]",
                      _num(r.drained_p90_minute, 1), r.deterministic_overflow_jobs,
                      "recommended" if (r.workers == p.recommended
                                        and r.policy == p.recommended_policy) else
                      ("yes" if r.meets_target else "no")])
    tables = [Table(["workers", *(["policy"] if pol else []), "P(overflow)",
                     f"{level} interval",
                     *(["P(any job late)", f"{level} interval"] if late else []),
                     "p95 wait (min)", f"{level} interval", "drain P90 (min)",
                     "det. overflow jobs", "meets target"], sweep,
                    caption="The sweep: every worker count on the same random nights",
                    right=[True] + [False] * pol + [True] * (6 + 2 * late) + [False])]
    if p.steps:
        steps = [[*([st.policy] if pol else []),
                  f"{st.from_workers} -> {st.to_workers}", f"{100 * st.overflow_diff:+.2f} pp",
                  f"[{100 * st.overflow_paired_ci_low:.2f}, "
                  f"{100 * st.overflow_paired_ci_high:.2f}]",
                  f"{st.p95_wait_diff:+.2f}",
                  f"[{st.p95_wait_paired_ci_low:.2f}, {st.p95_wait_paired_ci_high:.2f}]"]
                 for st in p.steps]
        tables.append(Table([*(["policy"] if pol else []), "workers", "change in P(overflow)",
                             f"paired {level} interval (pp)",
                             "change in p95 wait (min)", f"paired {level} interval"], steps,
                            caption="Neighbouring worker counts: paired differences over the "
                                    "same random nights",
                            right=[False] * pol + [False, True, True, True, True]))
    if p.policy_steps:
        rows = [[st.workers, f"{st.from_policy} -> {st.to_policy}",
                 f"{100 * st.overflow_diff:+.2f} pp",
                 f"[{100 * st.overflow_paired_ci_low:.2f}, "
                 f"{100 * st.overflow_paired_ci_high:.2f}]",
                 f"{st.p95_wait_diff:+.2f}",
                 f"[{st.p95_wait_paired_ci_low:.2f}, {st.p95_wait_paired_ci_high:.2f}]"]
                for st in p.policy_steps]
        tables.append(Table(["workers", "policies", "change in P(overflow)",
                             f"paired {level} interval (pp)", "change in p95 wait (min)",
                             f"paired {level} interval"], rows,
                            caption=f"Policies at equal worker counts: paired differences "
                                    f"from {p.policies[0]} over the same random nights",
                            right=[True, False, True, True, True, True]))
    return tables


def plan_page(p: Plan) -> Page:
    from . import charts

    nt, s = p.night, p.settings
    target = f"overflow probability upper bound <= {_pct(p.max_overflow)}"
    if p.max_p95_wait is not None:
        target += f", p95 wait upper bound <= {p.max_p95_wait:g} min"
    facts: list[tuple[str, object]] = [
        ("night", nt.batch_date + (f", window {nt.window}" if nt.window else "")),
        ("batch", f"{nt.batch_start}-{nt.batch_end} ({nt.horizon_minutes:g} min)"),
        ("jobs", nt.n_jobs), ("target", target),
        ("recommendation", (f"{p.recommended} workers" + (f" with {p.recommended_policy}"
                                                          if p.recommended_policy else ""))
         if p.recommended is not None else "none"),
        *([("policies", ", ".join(p.policies))] if p.policies else []),
        *([("capacity", ", ".join(st.text for st in p.capacity))] if p.capacity else []),
        ("why", p.reason)]
    facts += _settings_facts(s.replications, s.seed, s.runtime_cv, dict(s.class_cv),
                             s.arrival_jitter, s.confidence)
    blocks = [b for prefix, cs, _ in chart_sets(p) for b in charts.chart_blocks(cs, prefix)]
    b = p.bounds
    note = (f"Drain lower bound on {b['workers']} workers: {b['drain_lower_bound_minutes']:g} "
            f"min (exclusive work {b['exclusive_work_minutes']:g} + other work "
            f"{b['total_work_minutes'] - b['exclusive_work_minutes']:g} / {b['workers']}; "
            f"latest arrival + runtime {b['latest_arrival_plus_runtime_minutes']:g}) vs the "
            f"{b['horizon_minutes']:g}-minute window.")
    return Page(title=f"mcqueue plan: how many workers for {nt.batch_date}?",
                subtitle=f"{nt.n_jobs} jobs, batch {nt.batch_start}-{nt.batch_end}",
                facts=facts, charts=blocks, tables=_plan_tables(p), notes=[note])


# ---------------------------------------------------------------- entry points
def page_of(result: Any) -> Page:
    if isinstance(result, SimulateReport):
        return simulate_page(result)
    if isinstance(result, ScoreResult):
        return score_page(result)
    if isinstance(result, Plan):
        return plan_page(result)
    sims = _results(result)
    if sims is not None:
        return simulate_page(SimulateReport(sims))
    raise McqueueError(f"no HTML report for a {type(result).__name__}")


def render_html(result: Any) -> str:
    """The result's self-contained HTML report (needs the `report` extra)."""
    require_report_extra()
    return build_page(page_of(result))


# the ``html`` format of the report registry (mcqueue.report.render)
RENDERERS = {SimulateReport: {"html": render_html}, ScoreResult: {"html": render_html},
             Plan: {"html": render_html}}
