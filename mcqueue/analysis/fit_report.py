"""``mcqueue calibrate``: read history, fit the runtime model, write it, and say what was fitted.

`run_calibrate` is the command's one library call; `CalibrationReport` is its typed result (the
renderers are in mcqueue/report/history.py). The report shows every fit the model holds and
flags jobs with too little history and jobs whose runs look multi-modal; a fit the model could
not make (``fit = "none"``) is shown as such, never as a number.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

import polars as pl

from .._plain import plain
from ..errors import UsageError
from .calibrate import DEFAULT_MIN_RUNS, CalibrationModel, calibrate

# per job (and job x weekday) row of the report, from the model table
JOB_FIELDS = ("job_name", "weekday", "workload_class", "fit", "scale", "runs", "attempts",
              "mean", "mean_se", "cv", "cv_se", "cv_within", "pool_weight_mean",
              "failed_share", "rerun_share", "bimodality", "month_end_runs", "month_end_ratio",
              "month_end_z", "lateness_p50_minutes", "lateness_p90_minutes")
LEVEL_FIELDS = ("workload_class", "fit", "jobs", "runs", "attempts", "mean", "mean_se", "cv",
                "cv_se", "cv_within", "failed_share", "rerun_share", "tau2", "omega2",
                "lateness_p50_minutes", "lateness_p90_minutes")
SETTING_FIELDS = ("scale", "half_life_days", "min_runs", "by", "recent_runs",
                  "oldest_batch_date", "newest_batch_date", "nights", "runs", "attempts")
NIGHT_FIELDS = ("night_cv", "night_var", "night_var_se", "within_var", "night_nights",
                "night_runs")


@dataclass
class CalibrationReport:
    """A fitted model, where it came from and where it was written."""

    model: CalibrationModel
    sources: list[str]
    output: str | None = None
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ views of the table
    def _rows(self, level: str) -> pl.DataFrame:
        return self.model.table.filter(pl.col("level") == level)

    def jobs(self, weekdays: bool = False) -> list[dict]:
        """One dict per job (all days; with ``weekdays`` the per-weekday rows instead)."""
        t = self._rows("job").filter(pl.col("weekday").is_not_null() if weekdays
                                     else pl.col("weekday").is_null())
        out = []
        for r in t.sort("job_name", "weekday", nulls_last=True).iter_rows(named=True):
            d = {k: r[k] for k in JOB_FIELDS}
            d["flags"] = [name for name, on in (("little_history", r["flag_little_history"]),
                                                ("multimodal", r["flag_multimodal"])) if on]
            out.append(d)
        return out

    def classes(self) -> list[dict]:
        t = self._rows("class").sort("workload_class")
        return [{k: r[k] for k in LEVEL_FIELDS} for r in t.iter_rows(named=True)]

    def whole_history(self) -> dict | None:
        t = self._rows("global")
        if t.height == 0:
            return None
        r = t.row(0, named=True)
        return {k: r[k] for k in LEVEL_FIELDS if k != "workload_class"}

    def summary(self) -> dict:
        jobs = self.jobs()
        fits = [j["fit"] for j in jobs]
        return {
            "jobs": len(jobs),
            "own": fits.count("own"),
            "pooled": fits.count("pooled"),
            "unpooled": fits.count("unpooled"),
            "no_fit": fits.count("none"),
            "little_history": sum("little_history" in j["flags"] for j in jobs),
            "multimodal": sum("multimodal" in j["flags"] for j in jobs),
            "classes": len(self.classes()),
        }

    def to_dict(self) -> dict:
        s = self.model.settings
        d = {
            "output": self.output,
            "sources": list(self.sources),
            "settings": {k: s.get(k) for k in SETTING_FIELDS},
            "night_component": {k: s.get(k) for k in NIGHT_FIELDS},
            "summary": self.summary(),
            "jobs": self.jobs(),
            "classes": self.classes(),
            "global": self.whole_history(),
        }
        if s.get("by") == "weekday":
            d["weekdays"] = self.jobs(weekdays=True)
        return plain(d)


def run_calibrate(paths: Sequence[str | os.PathLike] = (), output: str | None = None, *,
                  layout: str | None = None, half_life_days: float | None = None,
                  min_runs: int = DEFAULT_MIN_RUNS, by: str | None = None) -> CalibrationReport:
    """Read the history files (none: the shipped sample history), calibrate, write the model to
    ``output`` atomically (when given) and return the report."""
    from ..io.history import read_history, sample_history_path

    notes = []
    if not paths:
        paths = [sample_history_path()]
        notes.append("no history file given: calibrating the shipped sample history "
                     "(90 nights of the built-in sample's jobs)")
    if output is not None and os.path.isdir(output):
        raise UsageError(f"--output {output!r} is a folder; give a file name like "
                         f"model.parquet")
    history = read_history(list(paths), layout)
    model = calibrate(history, half_life_days=half_life_days, min_runs=min_runs, by=by)
    if output is not None:
        model.write(output)
    return CalibrationReport(model, [str(p) for p in paths], output, notes)
