"""Renderers of ``score`` (nights by risk) and ``plan`` (worker sweep) results."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import textwrap
from typing import Sequence

from ..analysis.planning import (ANY_LATE_COLUMNS, SCORE_COLUMNS, Plan, ScoreResult,
                                 ScoreRow)
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
# with several --policy values (issue 13): each row's paired difference from the first policy
# at the same worker count (empty on the first policy's rows)
POLICY_DIFF_COLUMNS = (
    "vs_policy", "overflow_vs_policy_diff", "overflow_vs_policy_paired_ci_low",
    "overflow_vs_policy_paired_ci_high", "p95_wait_vs_policy_diff",
    "p95_wait_vs_policy_paired_ci_low", "p95_wait_vs_policy_paired_ci_high",
)


def plan_csv_columns(p: Plan) -> tuple[str, ...]:
    """PLAN_CSV_COLUMNS with the optional columns a plan uses: ``policy`` after ``workers``,
    the any-late probability after the overflow interval (some job has a deadline),
    ``infeasible`` after ``recommended`` (some count cannot run the night), the policy
    differences at the end (several policies)."""
    cols: list[str] = []
    for c in PLAN_CSV_COLUMNS:
        cols.append(c)
        if c == "workers" and p.policies:
            cols.append("policy")
        if c == "overflow_ci_high" and p.any_late:
            cols.extend(ANY_LATE_COLUMNS)
        if c == "recommended" and p.has_infeasible:
            cols.append("infeasible")
    if len(p.policies) > 1:
        cols.extend(POLICY_DIFF_COLUMNS)
    return tuple(cols)


# ---------------------------------------------------------------- score
def score_frame(rows: Sequence[ScoreRow], columns: Sequence[str] = SCORE_COLUMNS):
    """Score rows as a polars frame with ``columns`` (default ``SCORE_COLUMNS``; NaN kept as
    null)."""
    import polars as pl

    schema = {"batch_date": pl.String, "window": pl.String, "workers": pl.Int64,
              "jobs": pl.Int64, "deterministic_overflow_jobs": pl.Int64, "policy": pl.String}
    data = {c: [None if isinstance(v, float) and math.isnan(v) else v
                for v in (getattr(r, c) for r in rows)] for c in columns}
    return pl.DataFrame(data, schema={c: schema.get(c, pl.Float64) for c in columns})


def score_json(result: ScoreResult) -> str:
    rows = result.to_dicts()
    if result.runtime_model is not None:  # only with a calibration model
        rows = [{**d, "runtime_model": result.runtime_model[d["batch_date"]]}
                if d["batch_date"] in result.runtime_model else d for d in rows]
    if result.now is not None:  # only with --now (issue 15)
        rows = [{**d, "now": result.now[d["batch_date"]]} if d["batch_date"] in result.now
                else d for d in rows]
    return json.dumps(rows, indent=1) + "\n"


def _with_now(frame, result: ScoreResult):
    """The frame with a ``now`` column (the re-forecast's clock time) when --now was given."""
    if result.now is None:
        return frame
    import polars as pl

    return frame.with_columns(pl.Series("now", [
        (result.now.get(r.batch_date) or {}).get("clock") for r in result.rows],
        dtype=pl.String))


def score_csv(result: ScoreResult) -> str:
    return _with_now(score_frame(result.rows, result.columns), result).write_csv()


def score_parquet(result: ScoreResult) -> bytes:
    buf = io.BytesIO()
    _with_now(score_frame(result.rows, result.columns), result).write_parquet(buf)
    return buf.getvalue()


def score_table(result: ScoreResult) -> str:
    level = f"{100 * result.settings.confidence:g}% "
    pol = bool(result.policies)
    late = result.any_late
    header = ["batch_date", "window", "workers", *(["policy"] if pol else []), "jobs", "rho",
              "P(overflow)", f"{level}CI", *(["P(any late)", f"{level}CI"] if late else []),
              "p95 wait (min)", f"{level}CI", "drain P90 (min)", "det. overflow"]
    body = []
    for r in result.rows:
        lead = [r.batch_date, r.window or "-", str(r.workers), *([r.policy or "-"] if pol
                                                                 else [])]
        if r.jobs == 0:
            body.append([*lead, "0", "-", "no jobs", "", *(["-", ""] if late else []), "-",
                         "", "-", "-"])
            continue
        any_late = ([pct2(r.any_late_probability),
                     interval_pct(r.any_late_ci_low, r.any_late_ci_high)] if late else [])
        body.append([*lead, str(r.jobs),
                     fixed(r.rho, 2), pct2(r.overflow_probability),
                     interval_pct(r.overflow_ci_low, r.overflow_ci_high), *any_late,
                     fixed(r.p95_wait_mean), interval(r.p95_wait_ci_low, r.p95_wait_ci_high),
                     fixed(r.drained_p90_minute), str(r.deterministic_overflow_jobs)])
    right = [False, False, True, *([False] if pol else []), True, True, True, False,
             *([True, False] if late else []), True, False, True, True]
    lines = grid(header, body, right)
    if late:
        lines += ["", "P(any late) = probability that some job finishes after its deadline "
                      "(the cutoff for jobs without one)."]
    if result.runtime_model:  # only with a calibration model
        from .history import runtime_model_line, total_levels

        lines += ["", runtime_model_line(total_levels(result.runtime_model.values()))]
    if result.now:  # only with --now (issue 15)
        from .simulation import now_line

        lines.append("")
        for date, now in sorted(result.now.items()):
            lines += textwrap.wrap(f"{date}: {now_line(now)}", 100)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- plan
def plan_csv_rows(p: Plan) -> list[dict]:
    """One row per worker count (and policy); the diff columns are the step from the previous
    feasible count of the same policy, the vs-policy columns the paired difference from the
    first policy at this count."""
    cols = plan_csv_columns(p)
    prev: dict = {(s.policy, s.to_workers): dataclasses.asdict(s) for s in p.steps}
    vs: dict = {(s.to_policy, s.workers): s for s in p.policy_steps}
    out = []
    for r in p.rows:
        fields = dataclasses.asdict(r)
        row = {c: fields.get(c) for c in cols}
        row["recommended"] = (r.workers == p.recommended
                              and (not p.policies or r.policy == p.recommended_policy))
        step = prev.get((r.policy if p.policies else None, r.workers), {})
        for c in PLAN_CSV_COLUMNS[11:]:
            row[c] = step.get(c)
        if len(p.policies) > 1:
            d = vs.get((r.policy, r.workers))
            for c in POLICY_DIFF_COLUMNS:
                row[c] = None
            if d is not None:
                row["vs_policy"] = d.from_policy
                for m in ("overflow", "p95_wait"):
                    row[f"{m}_vs_policy_diff"] = getattr(d, f"{m}_diff")
                    row[f"{m}_vs_policy_paired_ci_low"] = getattr(d, f"{m}_paired_ci_low")
                    row[f"{m}_vs_policy_paired_ci_high"] = getattr(d, f"{m}_paired_ci_high")
        out.append(row)
    return out


def plan_json(p: Plan) -> str:
    return json.dumps(p.to_dict(), indent=1) + "\n"


def plan_csv(p: Plan) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, plan_csv_columns(p), lineterminator="\n")
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
    if p.policies:
        lines.insert(-1, "policies: " + ", ".join(p.policies)
                     + (f" (backfill depth {p.backfill_depth})"
                        if p.backfill_depth is not None else ""))
    if p.capacity:
        lines.insert(-1, "capacity: " + ", ".join(st.text for st in p.capacity)
                     + " (HH:MM=+N / -N: relative to each worker count)")
    pol = bool(p.policies)
    late = p.any_late

    def mark(r) -> str:
        if r.infeasible is not None:
            return "infeasible"
        if r.workers == p.recommended and (not pol or r.policy == p.recommended_policy):
            return "<- recommended"
        return "yes" if r.meets_target else "no"

    body = []
    for r in p.rows:
        lead = [str(r.workers), *([r.policy or "-"] if pol else [])]
        if r.infeasible is not None:
            body.append([*lead, "-", "", *(["-", ""] if late else []), "-", "", "-", "-",
                         mark(r)])
            continue
        body.append([*lead, pct2(r.overflow_probability),
                     interval_pct(r.overflow_ci_low, r.overflow_ci_high),
                     *([pct2(r.any_late_probability),
                        interval_pct(r.any_late_ci_low, r.any_late_ci_high)] if late else []),
                     fixed(r.p95_wait_mean),
                     interval(r.p95_wait_ci_low, r.p95_wait_ci_high), fixed(r.drained_p90_minute),
                     str(r.deterministic_overflow_jobs), mark(r)])
    lines += grid(["workers", *(["policy"] if pol else []), "P(overflow)", f"{level} CI",
                   *(["P(any late)", f"{level} CI"] if late else []), "p95 wait (min)",
                   f"{level} CI", "drain P90", "det. overflow", "meets target"], body,
                  [True, *([False] if pol else []), True, False,
                   *([True, False] if late else []), True, False, True, True, False])
    bad = [r for r in p.rows if r.infeasible is not None]
    if bad:
        lines += ["", "Infeasible (the night cannot run on this pool):"]
        seen = set()
        for r in bad:
            if (r.workers, r.infeasible) in seen:
                continue
            seen.add((r.workers, r.infeasible))
            lines.append(f"  {r.workers} worker{'' if r.workers == 1 else 's'}: "
                         f"{r.infeasible}")
    if p.steps:
        lines += ["", "Neighbouring counts (paired differences over the same random nights; "
                      "the unpaired width is what independent runs would give):"]
        body = [[*([st.policy or "-"] if pol else []), f"{st.from_workers} -> {st.to_workers}",
                 f"{100 * st.overflow_diff:+.2f} pp",
                 interval_pct(st.overflow_paired_ci_low, st.overflow_paired_ci_high),
                 fixed(100 * (st.overflow_paired_ci_high - st.overflow_paired_ci_low), 2),
                 fixed(100 * (st.overflow_unpaired_ci_high - st.overflow_unpaired_ci_low), 2),
                 f"{st.p95_wait_diff:+.2f}",
                 interval(st.p95_wait_paired_ci_low, st.p95_wait_paired_ci_high, 2),
                 fixed(st.p95_wait_paired_ci_high - st.p95_wait_paired_ci_low, 2),
                 fixed(st.p95_wait_unpaired_ci_high - st.p95_wait_unpaired_ci_low, 2)]
                for st in p.steps]
        lines += grid([*(["policy"] if pol else []), "workers", "d P(overflow)",
                       f"paired {level} CI", "width pp", "unpaired pp", "d p95 wait",
                       f"paired {level} CI", "width", "unpaired"], body,
                      [*([False] if pol else []), False, True, False, True, True, True, False,
                       True, True])
    if p.policy_steps:
        lines += ["", f"Policies at equal worker counts (paired differences from "
                      f"{p.policies[0]} over the same random nights):"]
        body = [[str(st.workers), f"{st.from_policy} -> {st.to_policy}",
                 f"{100 * st.overflow_diff:+.2f} pp",
                 interval_pct(st.overflow_paired_ci_low, st.overflow_paired_ci_high),
                 fixed(100 * (st.overflow_unpaired_ci_high - st.overflow_unpaired_ci_low), 2),
                 f"{st.p95_wait_diff:+.2f}",
                 interval(st.p95_wait_paired_ci_low, st.p95_wait_paired_ci_high, 2),
                 fixed(st.p95_wait_unpaired_ci_high - st.p95_wait_unpaired_ci_low, 2)]
                for st in p.policy_steps]
        lines += grid(["workers", "policies", "d P(overflow)", f"paired {level} CI",
                       "unpaired pp", "d p95 wait", f"paired {level} CI", "unpaired"], body,
                      [True, False, True, False, True, True, False, True])
    b = p.bounds
    lines += ["", f"drain lower bound on {b['workers']} workers: "
                  f"{b['drain_lower_bound_minutes']:g} min (exclusive work "
                  f"{b['exclusive_work_minutes']:g} + other work "
                  f"{b['total_work_minutes'] - b['exclusive_work_minutes']:g} / {b['workers']}"
                  f" = {b['work_bound_minutes']:.4g}; latest arrival + runtime "
                  f"{b['latest_arrival_plus_runtime_minutes']:g}) vs window "
                  f"{b['horizon_minutes']:g} min"]
    rec = f"{p.recommended} workers" if p.recommended is not None else "none"
    if p.recommended is not None and p.recommended_policy is not None:
        rec += f" with {p.recommended_policy}"
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
