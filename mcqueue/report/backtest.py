"""Renderers of ``backtest``: the summary and one row per night."""

from __future__ import annotations

import csv
import io
import json
import math
import textwrap

from ..analysis.backtest import NIGHT_COLUMNS, BacktestResult
from .tables import WIDTH, fixed, grid, pct2


def _pct_ci(block: dict) -> str:
    return (f"{pct2(block['estimate'])} [{pct2(block['ci_low'])}, {pct2(block['ci_high'])}] "
            f"(nominal {block['nominal']:.0%})")


def backtest_table(res: BacktestResult) -> str:
    s = res.settings
    sm = res.summary()
    conf = f"{100 * s.simulation.confidence:g}%"
    head = (f"Backtest {res.date_from} .. {res.date_to}: {sm['nights']} nights scored, "
            f"{sm['skipped_nights']} skipped; each night forecast from the {s.window_days} "
            f"days before it ({s.runtime_model} runtimes, {s.simulation.replications:,} "
            f"replications, {s.workers} workers, seed {s.simulation.seed}); queues from "
            f"{res.queues}")
    lines = textwrap.wrap(head, WIDTH) + [""]
    if sm["nights"]:
        pit = sm["pit"]
        ov = sm["overflow"]
        lines += [
            f"drain time in the central 50% interval  {_pct_ci(sm['coverage_p50'])}",
            f"drain time in the central 90% interval  {_pct_ci(sm['coverage_p90'])}",
            f"PIT of the drain time                   mean {pit['mean']:.3f} (0.5 when "
            f"calibrated), KS {pit['ks_statistic']:.3f}, p = {pit['ks_p_value']:.3g}",
            "PIT histogram (10 bins, flat when calibrated): "
            + " ".join(str(c) for c in pit["histogram"]),
            f"CRPS of the drain time                  {sm['crps_mean_minutes']:.2f} min "
            f"(mean; lower is better)",
            f"overflow: {ov['observed_nights']} of {sm['nights']} nights overflowed, mean "
            f"forecast probability {pct2(ov['mean_probability'])}, Brier "
            f"{ov['brier']:.4f} (reliability {ov['brier_reliability']:.4f}, resolution "
            f"{ov['brier_resolution']:.4f}, uncertainty {ov['brier_uncertainty']:.4f})",
        ]
        jobs = sm["jobs"]
        if jobs["job_nights"]:
            lines.append(f"job finishes ({jobs['job_nights']:,} job-nights, "
                         f"{jobs['replications']} replications each): in 50% "
                         f"{pct2(jobs['coverage_p50']['estimate'])}, in 90% "
                         f"{pct2(jobs['coverage_p90']['estimate'])}")
        lines.append("")
        body = [[f"{r['bin_low']:.1f}-{r['bin_high']:.1f}", str(r["count"]),
                 pct2(r["mean_probability"]), pct2(r["observed_rate"])]
                for r in sm["reliability"] if r["count"]]
        lines += ["Reliability of the overflow probability (bins with nights):"]
        lines += grid(["forecast", "nights", "mean forecast", "observed"], body,
                      [False, True, True, True])
        lines.append("")
        body = [[r.batch_date, str(r.jobs), str(r.training_nights),
                 fixed(r.observed_drain_minute), fixed(r.forecast_p05), fixed(r.forecast_p50),
                 fixed(r.forecast_p95), fixed(r.pit, 3),
                 "yes" if r.in_p90 else "no", pct2(r.overflow_probability),
                 "yes" if r.observed_overflow else "no", fixed(r.crps, 2)] for r in res.rows]
        lines += grid(["night", "jobs", "fit on", "drain", "P5", "P50", "P95", "PIT",
                       "in 90%", "P(overflow)", "overflowed", "CRPS"], body,
                      [False, True, True, True, True, True, True, True, False, True, False,
                       True])
    for sk in res.skipped:
        lines += textwrap.wrap(f"skipped {sk['batch_date']}: {sk['reason']}", WIDTH)
    lines += [""] + textwrap.wrap(
        f"drain = minutes after the batch start until the last job finished; P5/P50/P95 of "
        f"the forecast drain; in 90% = the observed drain lies in the central 90% interval; "
        f"intervals of the coverage are {conf} Wilson intervals over the nights.", WIDTH)
    return "\n".join(ln.rstrip() for ln in lines) + "\n"


def backtest_json(res: BacktestResult) -> str:
    return json.dumps(res.to_dict(), indent=1, allow_nan=False) + "\n"


def backtest_csv(res: BacktestResult) -> str:
    """One row per scored night, columns ``NIGHT_COLUMNS`` (the summary is in json/table)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, NIGHT_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in res.rows:
        d = r.to_dict()
        w.writerow({k: "" if v is None or (isinstance(v, float) and math.isnan(v)) else
                    (str(v).lower() if isinstance(v, bool) else v) for k, v in d.items()})
    return buf.getvalue()


RENDERERS = {
    BacktestResult: {"table": backtest_table, "json": backtest_json, "csv": backtest_csv},
}
