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
from .chart_data import clock_label
from .tables import WIDTH, grid, wrap_items

JOBS_TABLE_ROWS = 30  # jobs shown in a scenario's jobs table (JSON and CSV have them all)

CSV_COLUMNS = ("scenario", "metric", "deterministic", "mean", "ci_low", "ci_high", "p50", "p90",
               "p99")
# with --per-job (issue 12) every row gains this last column: empty on the scenario's rows, the
# job on its per-job rows (PER_JOB_ROWS)
JOB_COLUMN = "job_id"
# the per-job rows of a job, in order: metric name -> the per_job keys in mean / ci_low /
# ci_high / p50 / p90 (deterministic and p99 stay empty)
PER_JOB_ROWS = (
    ("late_probability", {"mean": ("late_probability", "estimate"),
                          "ci_low": ("late_probability", "ci_low"),
                          "ci_high": ("late_probability", "ci_high")}),
    ("finish_minute", {"p50": ("finish_minute_p50",), "p90": ("finish_minute_p90",)}),
    ("wait_minutes", {"mean": ("mean_wait_minutes",)}),
    ("dependency_delay_minutes", {"mean": ("mean_dependency_delay_minutes",)}),
    ("criticality", {"mean": ("criticality",)}),
)
# the night-level metrics of issues 12 and 13, after the eight when present (label, unit)
EXTRA_METRICS = {
    "late_jobs": ("late jobs", "n"),
    "worker_minutes_above_capacity": ("w-min above capacity", "min"),
}

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

def _r(text: str, width: int) -> str:
    """Right-aligned in ``width``; a value wider than its column keeps one space before it
    (columns never run together: 99,031.57 100,013.30)."""
    return text.rjust(width) if len(text) < width else " " + text


def _l(text: str, width: int) -> str:
    """Left-aligned in ``width``; a wider value keeps one space after it."""
    return text.ljust(width) if len(text) < width else text + " "

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
        **_feature_summary(night),
    }


def _feature_summary(night: Night) -> dict:
    """Counts of the optional fields of issues 12 and 13, only those the night uses."""
    out: dict = {}
    if night.has_dependencies and night.pred_ptr is not None and night.pred_idx is not None:
        out["jobs_with_predecessors"] = int((night.pred_ptr[1:] > night.pred_ptr[:-1]).sum())
        out["dependencies"] = int(night.pred_idx.shape[0])
    if night.has_deadlines and night.deadline_minute is not None:
        out["jobs_with_deadlines"] = int((~(night.deadline_minute != night.deadline_minute))
                                         .sum())
    if night.has_slots:
        out["jobs_with_slots"] = int((night.slots_array() > 1).sum())
        out["largest_slots"] = night.max_slots
    if night.has_locks:
        out["locks"] = len(night.lock_names)
    return out


def _feature_line(s: dict) -> list[str]:
    parts = []
    if "dependencies" in s:
        parts.append(f"{s['jobs_with_predecessors']} jobs wait for predecessors "
                     f"({s['dependencies']} links)")
    if "jobs_with_deadlines" in s:
        parts.append(f"{s['jobs_with_deadlines']} with deadlines")
    if "jobs_with_slots" in s:
        parts.append(f"{s['jobs_with_slots']} need several workers (up to "
                     f"{s['largest_slots']})")
    if "locks" in s:
        parts.append(f"{s['locks']} named lock{'' if s['locks'] == 1 else 's'}")
    return wrap_items("", ", ".join(parts)) if parts else []


def capacity_text(capacity, batch_start: str) -> str:
    """Absolute capacity steps as clock times: '03:00 2 workers, 04:00 4 workers'."""
    return ", ".join(f"{clock_label(m, batch_start)} {z} worker{'' if z == 1 else 's'}"
                     for m, z in capacity or ())


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
    lines += _feature_line(s)
    pool = []
    if r.policy is not None:
        pool.append(f"policy {r.policy}")
    if r.backfill_depth is not None:
        pool.append(f"backfill depth {r.backfill_depth}")
    if r.capacity is not None:
        pool.append("capacity " + capacity_text(r.capacity, nt.batch_start))
    if pool:
        lines += wrap_items("", ", ".join(pool))
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
        lines.append(f"{label:<22}{_r(d_txt, 9)}{_r(f(st['mean']), 10)}  "
                     f"{_l(_interval(f(st['ci_low']), f(st['ci_high'])), 22)}"
                     f"{_r(p90_txt, 9)}")
    for m, (label, kind) in EXTRA_METRICS.items():
        if m not in mc:
            continue
        st = mc[m]
        d = det.get(m)
        count = m == "late_jobs"
        d_txt = str(int(d)) if count and d is not None else _num(d, kind)
        p90 = st["p90"]
        p90_txt = (str(int(p90)) if count and p90 is not None and math.isfinite(p90)
                   else _num(p90, kind))
        lines.append(f"{label:<22}{_r(d_txt, 9)}{_r(_num(st['mean'], kind), 10)}  "
                     f"{_l(_interval(_num(st['ci_low'], kind), _num(st['ci_high'], kind)), 22)}"
                     f"{_r(p90_txt, 9)}")
    op = mc["overflow_probability"]
    det_over = det["queue_drained_minute"] > nt.horizon_minutes
    lines.append(f"{'overflow probability':<22}{'yes' if det_over else 'no':>9}"
                 f"{_pct(op['estimate']):>10}  "
                 f"{_interval(_pct(op['ci_low']), _pct(op['ci_high'])):<22}{'':>9}")
    al = mc.get("any_late_probability")
    if al is not None:
        det_late = (det.get("late_jobs") or 0) > 0
        lines.append(f"{'any job late':<22}{'yes' if det_late else 'no':>9}"
                     f"{_pct(al['estimate']):>10}  "
                     f"{_interval(_pct(al['ci_low']), _pct(al['ci_high'])):<22}{'':>9}")
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
    now = r.extra.get("now")
    if now:
        lines += textwrap.wrap(now_line(now), WIDTH)
    if r.per_job is not None:
        lines += [""] + jobs_table(r)
    return lines


def now_line(now: dict) -> str:
    """The report line of a re-forecast from now (issue 15)."""
    zone = f" ({now['timezone']})" if now.get("timezone") else ""
    given = "" if now["given"] == now["clock"] else f", --now {now['given']}{zone}"
    return (f"Re-forecast from now {now['clock']} ({now['minute']:g} min after the batch "
            f"start{given}): {now.get('completed', 0)} jobs completed, "
            f"{now.get('running', 0)} running, {now.get('queued', 0)} queued.")


def _p1(x: float | None) -> str:
    """A share in percent with one decimal, never rounding a value strictly between 0 and 1 to
    0.0 or 100.0 ('<0.1', '>99.9')."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x <= 0:
        return "0.0"
    if x >= 1:
        return "100"
    if x < 0.001:
        return "<0.1"
    if x > 0.999:
        return ">99.9"
    return f"{100 * x:.1f}"


def _cut(text: str, width: int = 16) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def ranked_jobs(r: SimulationResult) -> list[dict]:
    """The per-job rows, highest late probability first (ties: higher criticality, then
    job_id)."""
    return sorted(r.per_job or (), key=lambda d: (-d["late_probability"]["estimate"],
                                                  -d["criticality"], d["job_id"]))


def jobs_table(r: SimulationResult) -> list[str]:
    """The scenario's jobs by late probability: due time, late share with its interval (in
    percent), P50/P90 finish as clock times, mean wait and wait for predecessors (whole
    minutes), criticality. At most JOBS_TABLE_ROWS rows; within 80 columns for job_ids of up
    to 16 characters (longer ones are cut)."""
    nt = r.night
    due = dict(zip(nt.job_id, nt.deadline_array()))
    own = (dict(zip(nt.job_id, ~(nt.deadline_minute != nt.deadline_minute)))
           if nt.deadline_minute is not None else {})
    conf = f"{100 * r.confidence:g}%"
    rows = ranked_jobs(r)
    body = []
    for d in rows[:JOBS_TABLE_ROWS]:
        lp = d["late_probability"]
        j = d["job_id"]
        body.append([_cut(j), clock_label(due[j], nt.batch_start) if own.get(j) else "end",
                     _p1(lp["estimate"]) + "%",
                     f"[{_p1(lp['ci_low'])}, {_p1(lp['ci_high'])}]",
                     clock_label(d["finish_minute_p50"], nt.batch_start),
                     clock_label(d["finish_minute_p90"], nt.batch_start),
                     f"{d['mean_wait_minutes']:.0f}",
                     f"{d['mean_dependency_delay_minutes']:.0f}",
                     f"{d['criticality']:.2f}"])
    lines = [f"Jobs by late probability ({len(rows)} jobs):"]
    lines += grid(["job_id", "due", "late", f"{conf} interval", "P50", "P90", "wait", "dep.",
                   "crit"], body, [False, False, True, False, True, True, True, True, True])
    if len(rows) > JOBS_TABLE_ROWS:
        lines.append(f"... and {len(rows) - JOBS_TABLE_ROWS:,} more jobs (all of them in "
                     f"--format json or csv)")
    lines += textwrap.wrap(
        "due = the job's deadline (end = the cutoff); late = share of replications finishing "
        "after it, with its interval (%); P50/P90 = finish time; wait = mean minutes waiting "
        "for workers, dep. = for predecessors; crit = share of replications on the critical "
        "chain.", WIDTH)
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


def csv_columns(results: Sequence[SimulationResult]) -> tuple[str, ...]:
    """CSV_COLUMNS, plus ``job_id`` when some scenario has per-job statistics, plus ``now``
    (the clock time of a re-forecast, issue 15) when some scenario has one."""
    cols: tuple[str, ...] = CSV_COLUMNS
    if any(r.per_job is not None for r in results):
        cols = cols + (JOB_COLUMN,)
    if any(r.extra.get("now") for r in results):
        cols = cols + (NOW_COLUMN,)
    return cols


NOW_COLUMN = "now"


def _probability_row(scenario: str, metric: str, det: int, p: dict) -> dict:
    return {"scenario": scenario, "metric": metric, "deterministic": det,
            "mean": p["estimate"], "ci_low": p["ci_low"], "ci_high": p["ci_high"],
            "p50": None, "p90": None, "p99": None}


def csv_rows(results: Sequence[SimulationResult]) -> list[dict]:
    """One row per scenario and metric (the eight, then ``late_jobs`` and
    ``worker_minutes_above_capacity`` when the scenario has them), an
    ``overflow_probability`` row (and ``any_late_probability`` when some job has a deadline),
    then with --per-job five rows per job (``PER_JOB_ROWS``, the ``job_id`` column set)."""
    rows = []
    per_job = any(r.per_job is not None for r in results)
    for r in results:
        d = r.to_dict()
        mc = d["monte_carlo"]
        mine = []
        for m in (*METRICS, *(m for m in EXTRA_METRICS if m in mc)):
            mine.append({"scenario": d["scenario"], "metric": m,
                         "deterministic": d["deterministic"].get(m), **mc[m]})
        det_over = r.deterministic["queue_drained_minute"] > r.night.horizon_minutes
        mine.append(_probability_row(d["scenario"], "overflow_probability", int(det_over),
                                     mc["overflow_probability"]))
        if "any_late_probability" in mc:
            det_late = int((r.deterministic.get("late_jobs") or 0) > 0)
            mine.append(_probability_row(d["scenario"], "any_late_probability", det_late,
                                         mc["any_late_probability"]))
        for job in d.get("per_job") or ():
            for metric, cells in PER_JOB_ROWS:
                row = dict.fromkeys(CSV_COLUMNS)
                row.update(scenario=d["scenario"], metric=metric)
                for col, path in cells.items():
                    v = job[path[0]]
                    row[col] = v[path[1]] if len(path) > 1 else v
                row[JOB_COLUMN] = job["job_id"]
                mine.append(row)
        if per_job:
            for row in mine:
                row.setdefault(JOB_COLUMN, None)
        if any(x.extra.get("now") for x in results):
            clock = (r.extra.get("now") or {}).get("clock")
            for row in mine:
                row[NOW_COLUMN] = clock
        rows += mine
    return rows


def render_csv(results: Sequence[SimulationResult]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=csv_columns(results), lineterminator="\n")
    w.writeheader()
    for row in csv_rows(results):
        w.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


RENDERERS = {
    SimulateReport: {"table": lambda rep: render_table(rep.results),
                     "json": lambda rep: render_json(rep.results),
                     "csv": lambda rep: render_csv(rep.results)},
}
