"""Renderers of ``simulate`` results: a table for people, JSON and CSV for machines.

Every renderer takes a list of `SimulationResult` (or the `SimulateReport` holding them) and
returns the text to print; the JSON renderer emits exactly the contract of docs/model.md (one
object per scenario).
"""

from __future__ import annotations

import csv
import io
import json
import math
import textwrap
from collections import Counter
from typing import Sequence

from ..analysis.runs import SimulateReport
from ..engine.night import Night, parse_hhmm
from ..engine.simulate import METRICS, SimulationResult
from .tables import WIDTH, wrap_items

CSV_COLUMNS = ("scenario", "metric", "deterministic", "mean", "ci_low", "ci_high", "p50", "p90",
               "p99")

# label, unit kind: "min" minutes, "n" count/length, "pct" share shown as percent
_LABELS = {
    "average_wait_minutes": ("average wait (min)", "min"),
    "p95_wait_minutes": ("p95 wait (min)", "min"),
    "average_queue_length": ("average queue length", "n"),
    "max_queue_length": ("max queue length", "n"),
    "worker_utilization": ("worker utilization", "pct"),
    "overflow_jobs": ("overflow jobs", "n"),
    "overflow_risk": ("overflow risk (share)", "pct"),
    "queue_drained_minute": ("queue drained (min)", "min"),
}


# ---------------------------------------------------------------- job summary
def night_summary(night: Night) -> dict:
    """Count, mean runtime, exclusive and priority >= 3 jobs, demand per window, workload mix."""
    n = night.n_jobs
    windows: dict[str, list[float]] = {}
    for i in range(n):
        w = night.requested_window[i] if i < len(night.requested_window) else None
        if w is None:  # explicit arrival_minute: bucket by the hour it arrives in
            start = parse_hhmm(night.batch_start, "batch start")
            m = (start + int(night.arrival_minute[i] // 60) * 60) % 1440
            w = f"~{m // 60:02d}:00"
        windows.setdefault(w, []).append(float(night.runtime_minutes[i]))
    return {
        "jobs": n,
        "mean_runtime_minutes": float(night.runtime_minutes.mean()) if n else math.nan,
        "total_runtime_minutes": float(night.runtime_minutes.sum()),
        "exclusive_jobs": int(night.exclusive.sum()),
        "priority_3_plus_jobs": int((night.priority >= 3).sum()),
        "demand_by_window": {w: {"jobs": len(rs), "runtime_minutes": sum(rs)}
                             for w, rs in sorted(windows.items(), key=_window_key(night))},
        "workload_mix": dict(Counter(night.workload_class).most_common()),
    }


def _window_key(night: Night):
    start = parse_hhmm(night.batch_start, "batch start")

    def key(item):
        w = item[0].lstrip("~")
        return ((int(w[:2]) * 60 + int(w[3:]) - start) % 1440, item[0])

    return key


# ---------------------------------------------------------------- number formatting
def _num(x, kind: str, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if kind == "pct":
        return f"{100 * x:.1f}%"
    if float(x) == int(x) and abs(x) < 1e15 and kind == "int":
        return f"{int(x)}"
    return f"{x:,.{digits}f}"


def _pct(x) -> str:
    """A share as a percentage; never shows 0.0% or 100.0% for a value strictly between."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x < 0:  # not produced by the engine (intervals are cut to [0, 1]); kept for other callers
        return "-" + _pct(-x)
    p = 100.0 * x
    if x == 0 or x >= 1 or 1.0 <= p <= 99.0:
        return f"{p:.1f}%"
    # two significant digits of the distance to the nearer end, 0% or 100%
    gap = min(p, 100.0 - p)
    digits = max(1, 1 - math.floor(math.log10(gap)))
    return f"{p:.{digits}f}%"


def _interval(lo: str, hi: str) -> str:
    return f"[{lo}, {hi}]"


# ---------------------------------------------------------------- table
def _scenario_table(r: SimulationResult) -> list[str]:
    nt = r.night
    s = night_summary(nt)
    q = r.queueing
    conf = f"{100 * r.confidence:g}%"
    lines = [r.scenario, "=" * min(WIDTH, len(r.scenario))]
    window = f"window {nt.window}" if nt.window else "all windows"
    lines.append(f"night {nt.batch_date}, {window}, batch {nt.batch_start}-{nt.batch_end} "
                 f"({nt.horizon_minutes:g} min), {r.workers} workers")
    lines.append(f"jobs {s['jobs']}   mean runtime {_num(s['mean_runtime_minutes'], 'min', 1)}"
                 f" min   exclusive {s['exclusive_jobs']}   priority >= 3: "
                 f"{s['priority_3_plus_jobs']}")
    demand = ", ".join(f"{w} {d['jobs']} jobs/{d['runtime_minutes']:g} min"
                       for w, d in s["demand_by_window"].items())
    lines += wrap_items("demand by window: ", demand)
    mix = ", ".join(f"{k} {v}" for k, v in s["workload_mix"].items())
    lines += wrap_items("workload mix: ", mix)
    lines.append(f"lambda {_num(q['lambda_per_hour'], 'n')} jobs/h   mu "
                 f"{_num(q['mu_per_hour'], 'n')} jobs/h per worker   c {q['workers']}   rho "
                 f"{_num(q['rho'], 'n', 3)}")
    lines.append("")
    head = f"{'metric':<22}{'determ.':>9}{'MC mean':>10}  {conf + ' interval':<22}{'P90':>9}"
    lines += [head, "-" * len(head)]
    det, mc = r.deterministic, r.monte_carlo
    for m in METRICS:
        label, kind = _LABELS[m]
        st = mc[m]
        if kind == "pct":
            f = _pct
        else:
            def f(x, kind=kind):
                return _num(x, kind)
        d, p90 = det[m], st["p90"]
        count = m in ("max_queue_length", "overflow_jobs")
        d_txt = str(int(d)) if count and d is not None else f(d)
        p90_txt = str(int(p90)) if count and p90 is not None and math.isfinite(p90) else f(p90)
        lines.append(f"{label:<22}{d_txt:>9}{f(st['mean']):>10}  "
                     f"{_interval(f(st['ci_low']), f(st['ci_high'])):<22}{p90_txt:>9}")
    op = mc["overflow_probability"]
    det_over = det["queue_drained_minute"] > nt.horizon_minutes
    lines.append(f"{'overflow probability':<22}{'yes' if det_over else 'no':>9}"
                 f"{_pct(op['estimate']):>10}  "
                 f"{_interval(_pct(op['ci_low']), _pct(op['ci_high'])):<22}{'':>9}")
    lines.append("")
    pert = r.perturbation
    params = (f"{r.replications:,} replications, seed {r.seed}, runtime cv "
              f"{pert.runtime_cv:g}")
    if pert.class_cv:
        params += " (" + ", ".join(f"{k} {v:g}" for k, v in sorted(pert.class_cv.items())) + ")"
    params += f", jitter {pert.arrival_jitter:g} min, {conf} confidence"
    lines += textwrap.wrap(params, WIDTH)
    prec = r.extra.get("precision")
    if prec:
        wanted = []
        for key, unit in (("p95", " min"), ("overflow", "")):
            target = prec.get(f"target_halfwidth_{key}")
            if target is not None:
                got = prec.get(f"achieved_halfwidth_{key}")
                wanted.append(f"{key} +/-{target:g}{unit} (reached +/-{got:.3g}{unit})")
        lines += textwrap.wrap(f"Precision-targeted: {', '.join(wanted)}; "
                               f"{prec['replications_used']:,} replications, "
                               f"stopped: {prec['stopped']}", WIDTH)
    ddb = r.extra.get("dynamodb")
    if ddb:
        pages = ddb.get("pages")
        cost = ddb.get("cost_usd")
        cost_txt = "n/a" if cost is None else ("$" + f"{cost:.10f}".rstrip("0").rstrip(".")
                                               if cost < 0.01 else f"${cost:,.2f}")
        lines += textwrap.wrap(
            f"DynamoDB: {ddb.get('items')} items in {pages} page{'' if pages == 1 else 's'}, "
            f"{ddb.get('consumed_read_units'):g} read units, about {cost_txt}", WIDTH)
    rm = r.extra.get("runtime_model")
    if rm:
        from .history import runtime_model_line

        lines += textwrap.wrap(runtime_model_line(rm), WIDTH)
    return lines


def render_table(results: Sequence[SimulationResult]) -> str:
    blocks = ["\n".join(ln.rstrip() for ln in _scenario_table(r)) for r in results]
    notes = ("determ. = one replay without noise (the tutorial's numbers); MC = Monte Carlo "
             "over the replications; interval = confidence interval of the MC mean; P90 = 90th "
             "percentile across replications; overflow = the queue drains after the cutoff.")
    return "\n\n".join(blocks) + "\n\n" + "\n".join(textwrap.wrap(notes, WIDTH)) + "\n"


# ---------------------------------------------------------------- json / csv
def render_json(results: Sequence[SimulationResult]) -> str:
    return json.dumps([r.to_dict() for r in results], indent=2, allow_nan=False) + "\n"


def csv_rows(results: Sequence[SimulationResult]) -> list[dict]:
    """One row per scenario and metric, plus an overflow_probability row per scenario."""
    rows = []
    for r in results:
        d = r.to_dict()
        for m in METRICS:
            st = d["monte_carlo"][m]
            rows.append({"scenario": d["scenario"], "metric": m,
                         "deterministic": d["deterministic"][m], **st})
        op = d["monte_carlo"]["overflow_probability"]
        det_over = r.deterministic["queue_drained_minute"] > r.night.horizon_minutes
        rows.append({"scenario": d["scenario"], "metric": "overflow_probability",
                     "deterministic": int(det_over), "mean": op["estimate"],
                     "ci_low": op["ci_low"], "ci_high": op["ci_high"],
                     "p50": None, "p90": None, "p99": None})
    return rows


def render_csv(results: Sequence[SimulationResult]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in csv_rows(results):
        w.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


RENDERERS = {
    SimulateReport: {"table": lambda rep: render_table(rep.results),
                     "json": lambda rep: render_json(rep.results),
                     "csv": lambda rep: render_csv(rep.results)},
}
