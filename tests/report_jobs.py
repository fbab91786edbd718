"""Job files for the command-line report tests, the report benchmark and the README screenshot:
a 2,000-job synthetic night (with a hostile job id and class) and 1,000 small nights.

Both are written as CSV job files with explicit ``arrival_minute`` (no requested window), so
`mcqueue simulate --file` / `mcqueue score --file` read them like any user's file.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HOSTILE_ID = "<script>alert(1)</script>"
HOSTILE_CLASS = "etl&<b>bold</b>"
COLUMNS = ("batch_date", "job_id", "workload_class", "estimated_runtime_minutes", "priority",
           "requires_exclusive_lock", "arrival_minute")

# the 2,000-job night: 22:00 -> 06:00 (480 minutes) on 8 workers, about 75% of the capacity
NIGHT_DATE = "2026-06-01"
NIGHT_WORKERS = 8
NIGHT_ARGS = ("--batch-date", NIGHT_DATE, "--workers", str(NIGHT_WORKERS), "--batch-start",
              "22:00", "--batch-end", "06:00")


def _write(path: Path, rows: list[tuple]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(rows)
    return path


def write_night(path: Path, n_jobs: int = 2000, seed: int = 3, hostile: bool = True) -> Path:
    """One night of ``n_jobs`` synthetic jobs (`synthetic_night`, 1% exclusive). With
    ``hostile``, one more job with id ``HOSTILE_ID`` and class ``HOSTILE_CLASS`` arrives at
    minute 400 and runs 70 minutes, so it finishes last, near the cutoff: it is in the report's
    "jobs that finished last" table and in the Gantt legend."""
    from mcqueue.engine.synthetic import synthetic_night

    nt = synthetic_night(n_jobs, seed=seed, spread_minutes=420.0, exclusive_share=0.01,
                         mean_runtime=0.75 * 480.0 * NIGHT_WORKERS / n_jobs,
                         batch_start="22:00", batch_end="06:00")
    rows = [(NIGHT_DATE, nt.job_id[i], nt.workload_class[i], float(nt.runtime_minutes[i]),
             int(nt.priority[i]), "true" if nt.exclusive[i] else "false",
             float(nt.arrival_minute[i])) for i in range(nt.n_jobs)]
    if hostile:
        rows.append((NIGHT_DATE, HOSTILE_ID, HOSTILE_CLASS, 70.0, 1, "false", 400.0))
    return _write(path, rows)


def write_nights(path: Path, n_nights: int = 1000, jobs_per_night: int = 8,
                 seed: int = 6) -> Path:
    """``n_nights`` consecutive nights from 2023-01-01, each ``jobs_per_night`` jobs in the
    01:00-05:00 window on 3 workers, their load drawn so that the risks spread from none to
    certain."""
    rng = np.random.default_rng(seed)
    day0 = np.datetime64("2023-01-01")
    rows = []
    for k in range(n_nights):
        date = str(day0 + np.timedelta64(k, "D"))
        load = rng.uniform(0.3, 1.4)  # work over the capacity of 3 workers x 240 minutes
        runtime = rng.gamma(4.0, load * 3 * 240.0 / jobs_per_night / 4.0, jobs_per_night)
        arrival = np.sort(np.floor(rng.uniform(0.0, 120.0, jobs_per_night)))
        for j in range(jobs_per_night):
            rows.append((date, f"N{k:04d}-J{j}", ("etl", "refresh", "backfill")[j % 3],
                         round(max(1.0, float(runtime[j])), 1), int(rng.integers(1, 4)),
                         "true" if j == 0 and k % 7 == 0 else "false", float(arrival[j])))
    return _write(path, rows)
