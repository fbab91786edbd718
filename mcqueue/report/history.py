"""Renderers of ``calibrate`` (the fit report) and the one line that says where a run's runtimes
came from (``--model``)."""

from __future__ import annotations

import json
import math
import textwrap
from typing import Iterable

from ..analysis.fit_report import CalibrationReport
from .tables import WIDTH, grid, pct2

WEEKDAYS = ("", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# ---------------------------------------------------------------- --model, in every report
def total_levels(reports: Iterable[dict]) -> dict:
    """The ``runtime_model`` keys of several nights added up (one line for a whole score)."""
    reports = list(reports)
    out = dict(reports[0])
    out["levels"] = {k: sum(r["levels"][k] for r in reports) for k in reports[0]["levels"]}
    out["record_cv"] = sum(r["record_cv"] for r in reports)
    return out


def runtime_model_line(rm: dict) -> str:
    """``runtime model model.parquet (lognormal): 8 jobs by job_name, 2 by class, ...``."""
    lv = rm["levels"]
    parts = [f"{lv['job']} jobs by job_name", f"{lv['class']} by class",
             f"{lv['global']} by the whole history", f"{lv['options']} from --runtime-cv/"
             f"--class-cv"]
    text = f"runtime model {rm['model']} ({rm['runtime_model']}): " + ", ".join(parts)
    if rm.get("record_cv"):
        text += f"; {rm['record_cv']} with their record's runtime_cv"
    text += f"; night cv {rm['night_cv']:g}, retries {rm['retries']}"
    return text


# ---------------------------------------------------------------- calibrate
def _mean(j: dict) -> str:
    if j["mean"] is None:
        return "-"
    return f"{j['mean']:.3g}x est." if j["scale"] == "ratio" else f"{j['mean']:.4g} min"


def _se(x, digits: int = 3) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _flags(j: dict) -> str:
    out = []
    if "little_history" in j["flags"]:
        out.append("little history" + (" (pooled)" if j["fit"] == "pooled" else
                                       " (no fit)" if j["fit"] == "none" else ""))
    if "multimodal" in j["flags"]:
        me = j.get("month_end_ratio")
        z = j.get("month_end_z")
        if me is not None and z is not None and abs(z) > 4:
            out.append(f"multi-modal (month-end x{me:.2f})")
        else:
            out.append("multi-modal")
    return ", ".join(out)


def calibrate_table(rep: CalibrationReport) -> str:
    s = rep.model.settings
    sm = rep.summary()
    hl = s.get("half_life_days")
    scale = ("ratio: a factor on each night's estimate" if s["scale"] == "ratio"
             else "absolute: minutes")
    half = "none" if hl is None else f"{hl:g} days"
    head = (f"Calibrated {s['runs']:,} successful runs ({s['attempts']:,} attempts) of "
            f"{sm['jobs']} jobs over {s['nights']} nights ({s['oldest_batch_date']} .. "
            f"{s['newest_batch_date']}); scale {scale}; half-life {half}, min runs "
            f"{s['min_runs']}" + (", by weekday" if s.get("by") else ""))
    lines = textwrap.wrap(head, WIDTH)
    lines.append(f"model written to {rep.output}" if rep.output else
                 "model not written (no --output)")
    lines.append("")
    body = []
    for j in rep.jobs():
        fitted = j["mean"] is not None
        body.append([j["job_name"], j["workload_class"] or "-", j["fit"], str(j["runs"]),
                     _mean(j), _se(j["mean_se"]), _se(j["cv"], 2) if fitted else "-",
                     _se(j["cv_se"]), _se(j["cv_within"], 2) if fitted else "-",
                     pct2(j["rerun_share"]), _flags(j)])
    lines += grid(["job", "class", "fit", "runs", "mean", "+-se", "cv", "+-se", "cv within",
                   "reruns", "flags"], body,
                  [False, False, False, True, True, True, True, True, True, True, False])
    lines.append("")
    body = [[c["workload_class"], str(c["jobs"]), str(c["runs"]),
             "-" if c["mean"] is None else f"{c['mean']:.3g}x est.",
             _se(c["cv"], 2), _se(c["cv_within"], 2), pct2(c["rerun_share"])]
            for c in rep.classes()]
    g = rep.whole_history()
    if g is not None:
        body.append(["(all jobs)", str(g["jobs"]), str(g["runs"]),
                     "-" if g["mean"] is None else f"{g['mean']:.3g}x est.",
                     _se(g["cv"], 2), _se(g["cv_within"], 2), pct2(g["rerun_share"])])
    lines += grid(["class", "jobs", "runs", "mean", "cv", "cv within", "reruns"], body,
                  [False, True, True, True, True, True, True])
    lines.append("")
    if s.get("night_cv") is None:
        night = ("night-wide factor: not fitted (needs at least two nights and jobs with two "
                 "runs)")
    else:
        night = (f"night-wide factor: cv {s['night_cv']:.3f} (log variance "
                 f"{s['night_var']:.4f} +- {s['night_var_se']:.4f} over {s['night_nights']} "
                 f"nights); 'cv' includes it, 'cv within' is what is left without it")
    lines += textwrap.wrap(night, WIDTH)
    flagged = (f"{sm['little_history']} jobs with fewer than {s['min_runs']} runs "
               f"({sm['pooled']} pooled toward their class, {sm['unpooled']} on their own, "
               f"{sm['no_fit']} without a fit), {sm['multimodal']} multi-modal")
    lines += textwrap.wrap(flagged, WIDTH)
    if s.get("by") == "weekday":
        n = len(rep.jobs(weekdays=True))
        lines.append(f"{n} job x weekday fits (in the model and in --format json)")
    return "\n".join(ln.rstrip() for ln in lines) + "\n"


def calibrate_json(rep: CalibrationReport) -> str:
    return json.dumps(rep.to_dict(), indent=1, allow_nan=False) + "\n"


RENDERERS = {
    CalibrationReport: {"table": calibrate_table, "json": calibrate_json},
}
