"""Renderers of ``score`` (nights by risk) and ``plan`` (worker sweep) results."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from typing import Sequence

from ..analysis.planning import SCORE_COLUMNS, Plan, ScoreResult, ScoreRow
from .tables import fixed, grid, interval, interval_pct, pct2

PLAN_CSV_COLUMNS = (
    "workers", "overflow_probability", "overflow_ci_low", "overflow_ci_high",
    "p95_wait_mean", "p95_wait_ci_low", "p95_wait_ci_high", "drained_p90_minute",
    "deterministic_overflow_jobs", "meets_target", "recommended",
    "overflow_diff", "overflow_paired_ci_low", "overflow_paired_ci_high",
    "overflow_unpaired_ci_low", "overflow_unpaired_ci_high",
    "p95_wait_diff", "p95_wait_paired_ci_low", "p95_wait_paired_ci_high",
    "p95_wait_unpaired_ci_low", "p95_wait_unpaired_ci_high",
)


# ---------------------------------------------------------------- score
def score_frame(rows: Sequence[ScoreRow]):
    """Score rows as a polars frame with ``SCORE_COLUMNS`` (NaN kept as null)."""
    import polars as pl

    schema = {"batch_date": pl.String, "window": pl.String, "workers": pl.Int64,
              "jobs": pl.Int64, "deterministic_overflow_jobs": pl.Int64}
    data = {c: [None if isinstance(v, float) and math.isnan(v) else v
                for v in (getattr(r, c) for r in rows)] for c in SCORE_COLUMNS}
    return pl.DataFrame(data, schema={c: schema.get(c, pl.Float64) for c in SCORE_COLUMNS})


def score_json(result: ScoreResult) -> str:
    rows = result.to_dicts()
    if result.runtime_model is not None:  # only with a calibration model
        rows = [{**d, "runtime_model": result.runtime_model[d["batch_date"]]}
                if d["batch_date"] in result.runtime_model else d for d in rows]
    return json.dumps(rows, indent=1) + "\n"


def score_csv(result: ScoreResult) -> str:
    return score_frame(result.rows).write_csv()


def score_parquet(result: ScoreResult) -> bytes:
    buf = io.BytesIO()
    score_frame(result.rows).write_parquet(buf)
    return buf.getvalue()


def score_table(result: ScoreResult) -> str:
    level = f"{100 * result.settings.confidence:g}% "
    header = ["batch_date", "window", "workers", "jobs", "rho", "P(overflow)",
              f"{level}CI", "p95 wait (min)", f"{level}CI", "drain P90 (min)", "det. overflow"]
    body = []
    for r in result.rows:
        if r.jobs == 0:
            body.append([r.batch_date, r.window or "-", str(r.workers), "0",
                         "-", "no jobs", "", "-", "", "-", "-"])
            continue
        body.append([r.batch_date, r.window or "-", str(r.workers), str(r.jobs),
                     fixed(r.rho, 2), pct2(r.overflow_probability),
                     interval_pct(r.overflow_ci_low, r.overflow_ci_high),
                     fixed(r.p95_wait_mean), interval(r.p95_wait_ci_low, r.p95_wait_ci_high),
                     fixed(r.drained_p90_minute), str(r.deterministic_overflow_jobs)])
    right = [False, False, True, True, True, True, False, True, False, True, True]
    lines = grid(header, body, right)
    if result.runtime_model:  # only with a calibration model
        from .history import runtime_model_line, total_levels

        lines += ["", runtime_model_line(total_levels(result.runtime_model.values()))]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- plan
def plan_csv_rows(p: Plan) -> list[dict]:
    """One row per worker count; the diff columns are the step from the previous count."""
    prev = {s.to_workers: dataclasses.asdict(s) for s in p.steps}
    out = []
    for r in p.rows:
        fields = dataclasses.asdict(r)
        row = {c: fields.get(c) for c in PLAN_CSV_COLUMNS}
        row["recommended"] = r.workers == p.recommended
        step = prev.get(r.workers, {})
        for c in PLAN_CSV_COLUMNS[11:]:
            row[c] = step.get(c)
        out.append(row)
    return out


def plan_json(p: Plan) -> str:
    return json.dumps(p.to_dict(), indent=1) + "\n"


def plan_csv(p: Plan) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, PLAN_CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in plan_csv_rows(p):
        w.writerow({k: "" if v is None or (isinstance(v, float) and math.isnan(v)) else v
                    for k, v in row.items()})
    return buf.getvalue()


def plan_table(p: Plan) -> str:
    """The sweep, the neighbouring steps, the drain bound and the recommendation."""
    nt, s = p.night, p.settings
    level = f"{100 * s.confidence:g}%"
    win = f" window {nt.window}," if nt.window else ""
    lines = [f"Plan for {nt.batch_date}:{win} {nt.n_jobs} jobs, batch {nt.batch_start}-"
             f"{nt.batch_end} ({nt.horizon_minutes:g} min), {s.replications} replications, "
             f"seed {s.seed}, {level} intervals",
             f"target: overflow probability upper bound <= {pct2(p.max_overflow)}"
             + (f", p95 wait upper bound <= {p.max_p95_wait:g} min"
                if p.max_p95_wait is not None else ""), ""]
    body = [[str(r.workers), pct2(r.overflow_probability),
             interval_pct(r.overflow_ci_low, r.overflow_ci_high), fixed(r.p95_wait_mean),
             interval(r.p95_wait_ci_low, r.p95_wait_ci_high), fixed(r.drained_p90_minute),
             str(r.deterministic_overflow_jobs),
             ("<- recommended" if r.workers == p.recommended
              else "yes" if r.meets_target else "no")] for r in p.rows]
    lines += grid(["workers", "P(overflow)", f"{level} CI", "p95 wait (min)", f"{level} CI",
                   "drain P90", "det. overflow", "meets target"], body,
                  [True, True, False, True, False, True, True, False])
    if p.steps:
        lines += ["", "Neighbouring counts (paired differences over the same random nights; "
                      "the unpaired width is what independent runs would give):"]
        body = [[f"{st.from_workers} -> {st.to_workers}",
                 f"{100 * st.overflow_diff:+.2f} pp",
                 interval_pct(st.overflow_paired_ci_low, st.overflow_paired_ci_high),
                 fixed(100 * (st.overflow_paired_ci_high - st.overflow_paired_ci_low), 2),
                 fixed(100 * (st.overflow_unpaired_ci_high - st.overflow_unpaired_ci_low), 2),
                 f"{st.p95_wait_diff:+.2f}",
                 interval(st.p95_wait_paired_ci_low, st.p95_wait_paired_ci_high, 2),
                 fixed(st.p95_wait_paired_ci_high - st.p95_wait_paired_ci_low, 2),
                 fixed(st.p95_wait_unpaired_ci_high - st.p95_wait_unpaired_ci_low, 2)]
                for st in p.steps]
        lines += grid(["workers", "d P(overflow)", f"paired {level} CI", "width pp",
                       "unpaired pp", "d p95 wait", f"paired {level} CI", "width",
                       "unpaired"], body,
                      [False, True, False, True, True, True, False, True, True])
    b = p.bounds
    lines += ["", f"drain lower bound on {b['workers']} workers: "
                  f"{b['drain_lower_bound_minutes']:g} min (exclusive work "
                  f"{b['exclusive_work_minutes']:g} + other work "
                  f"{b['total_work_minutes'] - b['exclusive_work_minutes']:g} / {b['workers']}"
                  f" = {b['work_bound_minutes']:.4g}; latest arrival + runtime "
                  f"{b['latest_arrival_plus_runtime_minutes']:g}) vs window "
                  f"{b['horizon_minutes']:g} min"]
    rec = f"{p.recommended} workers" if p.recommended is not None else "none"
    lines.append(f"Recommendation: {rec}: {p.reason}")
    if p.runtime_model:  # only with a calibration model
        from .history import runtime_model_line

        lines.append(runtime_model_line(p.runtime_model))
    return "\n".join(lines) + "\n"


RENDERERS = {
    ScoreResult: {"table": score_table, "csv": score_csv, "json": score_json,
                  "parquet": score_parquet},
    Plan: {"table": plan_table, "csv": plan_csv, "json": plan_json},
}
