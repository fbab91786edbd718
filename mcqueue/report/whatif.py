"""Renderers of ``whatif`` results: a table for people, JSON and CSV for machines, and an HTML
page of tables (`mcqueue.report.html`'s page builder; no chart, so no extra is needed)."""

from __future__ import annotations

import csv
import io
import json
import math
import textwrap

from ..analysis.whatif import WhatIfResult, WhatIfRow
from .tables import WIDTH, grid

# (JSON block, CSV prefix, label, unit kind): "pp" probabilities, "min" minutes
METRICS = (
    ("overflow_probability", "overflow", "P(overflow)", "pp"),
    ("any_late_probability", "any_late", "P(any late)", "pp"),
    ("p95_wait_minutes", "p95_wait", "p95 wait (min)", "min"),
    ("queue_drained_minute", "drained_p90", "drain P90 (min)", "min"),
)
SHORT = {"P(any late)": "P(late)", "p95 wait (min)": "p95 wait", "drain P90 (min)": "drain P90"}
NAME_WIDTH = 26  # characters of a scenario name in the summary table
MAIN = {"overflow_probability": "estimate", "any_late_probability": "estimate",
        "p95_wait_minutes": "mean", "queue_drained_minute": "p90"}
CSV_FIXED = ("scenario", "position", "changes", "workers", "policy", "backfill_depth",
             "capacity", "batch_end", "horizon_minutes", "jobs")


def _metrics(result: WhatIfResult):
    return [m for m in METRICS if m[0] != "any_late_probability" or result.any_late]


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def _value(x, kind: str) -> str:
    if not _finite(x):
        return "n/a"
    return f"{100 * x:.2f}%" if kind == "pp" else f"{x:,.1f}"


def _change(x, kind: str) -> str:
    if not _finite(x):
        return "n/a"
    return f"{100 * x:+.2f} pp" if kind == "pp" else f"{x:+,.1f}"


def _ends(d: dict) -> tuple[float, float] | None:
    """An interval's two ends, or None when one is missing."""
    lo, hi = d.get("ci_low"), d.get("ci_high")
    if lo is None or hi is None or not (_finite(lo) and _finite(hi)):
        return None
    return float(lo), float(hi)


def _bounds(d: dict, kind: str) -> str:
    ends = _ends(d)
    if ends is None:
        return "n/a"
    lo, hi = ends
    if kind == "pp":
        return f"[{100 * lo:+.2f}, {100 * hi:+.2f}] pp"
    return f"[{lo:+,.1f}, {hi:+,.1f}]"


def _excludes_zero(d: dict) -> bool:
    ends = _ends(d)
    return ends is not None and (ends[0] > 0 or ends[1] < 0)


def _clock(minute, batch_start: str) -> str:
    from .chart_data import clock_label

    return clock_label(float(minute), batch_start) if _finite(minute) else "n/a"


def _header(result: WhatIfResult) -> list[str]:
    nt, s = result.night, result.settings
    window = f", window {nt.window}" if nt.window else ""
    conf = f"{100 * s.confidence:g}%"
    cv = f"runtime cv {s.runtime_cv:g}"
    if s.class_cv:
        cv += " (" + ", ".join(f"{k} {v:g}" for k, v in sorted(s.class_cv.items())) + ")"
    lines = [f"What-if on {nt.batch_date}{window}: {result.workers} workers, batch "
             f"{nt.batch_start}-{nt.batch_end} ({nt.horizon_minutes:g} min), {nt.n_jobs} jobs",
             "=" * min(WIDTH, 60)]
    lines += textwrap.wrap(
        f"{s.replications:,} replications, seed {s.seed}, {cv}, jitter "
        f"{s.arrival_jitter:g} min, {conf} intervals. Every scenario runs on the same random "
        f"nights as the baseline: a change is the paired difference scenario minus baseline.",
        WIDTH)
    if result.extra.get("now"):  # only with --now (issue 15)
        from .simulation import now_line

        lines += textwrap.wrap(now_line(result.extra["now"]), WIDTH)
    return lines


def render_table(result: WhatIfResult) -> str:
    conf = f"{100 * result.settings.confidence:g}%"
    ms = _metrics(result)
    lines = _header(result) + [""]
    lines += textwrap.wrap(f"Scenarios by effect: the change from the baseline (probabilities "
                           f"in percentage points, times in minutes; * = its {conf} interval "
                           f"excludes 0):", WIDTH)
    head = ["#", "scenario"] + [SHORT.get(label, label) for _, _, label, _ in ms]
    body = [["-", "baseline"] + [_value(result.baseline.stats[k][MAIN[k]], kind)
                                  for k, _, _, kind in ms]]
    for i, r in enumerate(result.scenarios, 1):
        name = r.name if len(r.name) <= NAME_WIDTH else r.name[:NAME_WIDTH - 3] + "..."
        cells = []
        for k, _, _, kind in ms:
            d = r.stats[k]["difference"]
            cells.append(_change(d["estimate"], kind) + (" *" if _excludes_zero(d) else "  "))
        body.append([str(i), name] + cells)
    lines += grid(head, body, [True, False] + [True] * len(ms))
    for i, r in enumerate(result.scenarios, 1):
        lines += [""] + _block(result, i, r, ms, conf)
    if result.notes:
        lines.append("")
        for n in result.notes:
            lines += textwrap.wrap(f"note: {n}", WIDTH)
    lines.append("")
    lines += textwrap.wrap(
        "P(overflow) = share of replications whose queue drains after the cutoff; P(any late) "
        "= share with a job finishing after its deadline (the cutoff for jobs without one); "
        "p95 wait = mean over replications of the night's 95th-percentile wait; drain P90 = "
        "90th percentile of the minute the last job finishes. Intervals of a change: paired "
        "t (probabilities, p95 wait), sectioning (drain P90).", WIDTH)
    return "\n".join(ln.rstrip() for ln in lines) + "\n"


def _block(result: WhatIfResult, i: int, r: WhatIfRow, ms, conf: str) -> list[str]:
    start = result.night.batch_start
    title = f"{i}. {r.name}"
    lines = [title, "-" * min(WIDTH, len(title))]
    for c in r.built.changes or [{"description": "no change"}]:
        lines += textwrap.wrap(c["description"], WIDTH, initial_indent="  - ",
                               subsequent_indent="    ")
    head = ["", "baseline", "scenario", "change", f"{conf} interval"]
    body = []
    for k, _, label, kind in ms:
        st, base = r.stats[k], result.baseline.stats[k]
        main = MAIN[k]
        value = _value(st[main], kind)
        base_value = _value(base[main], kind)
        if k == "queue_drained_minute":
            value += f" ({_clock(st[main], start)})"
            base_value += f" ({_clock(base[main], start)})"
        body.append([label, base_value, value, _change(st["difference"]["estimate"], kind),
                     _bounds(st["difference"], kind)])
    lines += ["  " + ln for ln in grid(head, body, [False, True, True, True, False])]
    return lines


# ---------------------------------------------------------------- json / csv
def render_json(result: WhatIfResult) -> str:
    return json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"


def csv_columns(result: WhatIfResult) -> list[str]:
    cols = list(CSV_FIXED) + (["now"] if result.extra.get("now") else [])
    for k, prefix, _, _ in _metrics(result):
        main = {"overflow_probability": "overflow_probability",
                "any_late_probability": "any_late_probability",
                "p95_wait_minutes": "p95_wait_mean",
                "queue_drained_minute": "drained_p90_minute"}[k]
        cols += [main, f"{prefix}_ci_low", f"{prefix}_ci_high", f"{prefix}_diff",
                 f"{prefix}_diff_ci_low", f"{prefix}_diff_ci_high"]
    return cols


def csv_rows(result: WhatIfResult) -> list[dict]:
    """One row per scenario, the baseline first, then the scenarios by effect."""
    cols = csv_columns(result)
    out = []
    for r in result.rows:
        d = r.to_dict()
        row = {"scenario": d["scenario"], "position": d["position"],
               "changes": "; ".join(c["description"] for c in d["changes"]),
               "workers": d["workers"], "policy": d["policy"],
               "backfill_depth": d["backfill_depth"],
               "capacity": (" ".join(f"{c['minute']:g}={c['workers']}" for c in d["capacity"])
                            if d["capacity"] else None),
               "batch_end": d["batch_end"], "horizon_minutes": d["horizon_minutes"],
               "jobs": d["jobs"]}
        if result.extra.get("now"):  # only with --now (issue 15): the clock time
            row["now"] = result.extra["now"]["clock"]
        values = []
        for k, _, _, _ in _metrics(result):
            st = d[k]
            diff = st["difference"]
            values += [st[MAIN[k]], st["ci_low"], st["ci_high"], diff["estimate"],
                       diff["ci_low"], diff["ci_high"]]
        row.update(zip(cols[len(cols) - len(values):], values))
        out.append(row)
    return out


def render_csv(result: WhatIfResult) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=csv_columns(result), lineterminator="\n")
    w.writeheader()
    for row in csv_rows(result):
        w.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


# ---------------------------------------------------------------- html
def render_html(result: WhatIfResult) -> str:
    """One self-contained page of tables (no chart: needs no extra)."""
    from .html import Page, Section, Table, build_page

    nt, s = result.night, result.settings
    conf = f"{100 * s.confidence:g}%"
    ms = _metrics(result)
    summary_rows = [["-", "baseline"] + [_value(result.baseline.stats[k][MAIN[k]], kind)
                                         for k, _, _, kind in ms]]
    for i, r in enumerate(result.scenarios, 1):
        summary_rows.append([str(i), r.name] + [
            _change(r.stats[k]["difference"]["estimate"], kind)
            + (" *" if _excludes_zero(r.stats[k]["difference"]) else "")
            for k, _, _, kind in ms])
    summary = Table(["#", "scenario"] + [label for _, _, label, _ in ms], summary_rows,
                    caption=f"Scenarios by effect: change from the baseline (* = its {conf} "
                            f"interval excludes 0)",
                    right=[True, False] + [True] * len(ms))
    sections = []
    for i, r in enumerate(result.scenarios, 1):
        rows = []
        for k, _, label, kind in ms:
            st, base = r.stats[k], result.baseline.stats[k]
            rows.append([label, _value(base[MAIN[k]], kind), _value(st[MAIN[k]], kind),
                         _change(st["difference"]["estimate"], kind),
                         _bounds(st["difference"], kind)])
        table = Table(["", "baseline", "scenario", "change", f"{conf} interval of the change"],
                      rows, caption="Against the baseline on the same random nights",
                      right=[False, True, True, True, True])
        part: list[tuple[str, object]] = [("change", c["description"])
                                          for c in r.built.changes] or [("change", "none")]
        part += [("workers", r.built.workers), ("policy", r.built.policy or "tutorial"),
                 ("cutoff", r.built.night.batch_end), ("jobs", r.built.night.n_jobs)]
        sections.append(Section(title=f"{i}. {r.name}", anchor=f"s{i}", facts=part,
                                tables=[table]))
    facts: list[tuple[str, object]] = [
        ("night", nt.batch_date + (f", window {nt.window}" if nt.window else "")),
        ("batch", f"{nt.batch_start}-{nt.batch_end} ({nt.horizon_minutes:g} min)"),
        ("workers", result.workers), ("jobs", nt.n_jobs), ("scenarios", len(result.scenarios)),
        ("replications", s.replications), ("seed", s.seed),
        ("runtime cv", f"{s.runtime_cv:g}"), ("arrival jitter", f"up to {s.arrival_jitter:g} "
                                                                 f"min"),
        ("confidence", conf)]
    if result.extra.get("now"):  # only with --now (issue 15)
        from .simulation import now_line

        facts.append(("re-forecast", now_line(result.extra["now"])))
    notes = list(result.notes) + [
        "Every scenario runs on the same random nights as the baseline; a change is the paired "
        "difference scenario minus baseline. Intervals of a change: paired t (probabilities, "
        "p95 wait), sectioning (drain P90)."]
    return build_page(Page(title=f"mcqueue whatif: {nt.batch_date}",
                           subtitle=f"{len(result.scenarios)} scenarios against the baseline "
                                    f"on {result.workers} workers",
                           facts=facts, tables=[summary], notes=notes, sections=sections))


RENDERERS = {
    WhatIfResult: {"table": render_table, "json": render_json, "csv": render_csv,
                   "html": render_html},
}
