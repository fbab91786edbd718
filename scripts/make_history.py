#!/usr/bin/env python3
"""Write mcqueue/data/sample_history.csv.gz: 90 past nights of the built-in sample's jobs.

THE TRUTH this history is drawn from (everything below is exact; nothing else is random):

Nights: 2026-02-10 .. 2026-05-10 (90 nights, the ones just before the sample's 2026-05-11 ..
2026-05-14). Month ends inside: 2026-02-28, 2026-03-31, 2026-04-30.

Jobs are named as the sample's jobs would be under the derivation `sample_job_names` below:
``<workload_class>_<HHMM of requested_window>``, plus ``_2`` for the second job of the same class
and window in one night (in job_id order). Each run of job j on night n takes

    duration = estimate_j * ratio_j * N_n * E_jn * T_jn * M_jn        (minutes)

- ratio_j: how far the planner's estimate is off on average (the table below).
- N_n: the night-wide factor, one lognormal draw per night shared by all jobs, mean 1, cv 0.10.
- E_jn: the job's own lognormal factor, mean 1, cv_j (the table below).
- T_jn: the heavy tail of class backfill only: 1 with probability 0.85, else a Pareto draw with
  minimum 1 and shape 2.5 (mean 5/3), so E[T] = 0.85 + 0.15 * 5/3 = 1.1; 1 for other classes.
- M_jn: the month-end effect of class index_maintenance only: 2.0 on the last night of a month,
  else 1; 1 for other classes.

So a lognormal job's true mean is estimate * ratio (N and E have mean 1) and its runs' true cv is
sqrt((1 + cv_j^2) (1 + 0.10^2) - 1); the night-wide log variance is ln(1 + 0.10^2) = 0.00995.

| job_name               | class             | window | every  | estimate | ratio | cv_j |
|------------------------|-------------------|--------|--------|----------|-------|------|
| etl_0100               | etl               | 01:00  | night  | 25       | 1.08  | 0.20 |
| etl_0100_2             | etl               | 01:00  | night  | 25       | 0.96  | 0.25 |
| etl_0200               | etl               | 02:00  | night  | 25       | 1.20  | 0.20 |
| etl_0200_2             | etl               | 02:00  | night  | 25       | 1.04  | 0.30 |
| etl_0300               | etl               | 03:00  | night  | 25       | 1.00  | 0.15 |
| etl_0300_2             | etl               | 03:00  | night  | 25       | 1.12  | 0.25 |
| refresh_0100           | refresh           | 01:00  | night  | 20       | 1.05  | 0.10 |
| refresh_0200           | refresh           | 02:00  | night  | 20       | 0.95  | 0.12 |
| refresh_0300           | refresh           | 03:00  | night  | 20       | 1.10  | 0.10 |
| backfill_0100          | backfill          | 01:00  | night  | 50       | 0.90  | 0.15 |
| backfill_0200          | backfill          | 02:00  | last 2 | 75       | 0.80  | 0.15 |
| backfill_0300          | backfill          | 03:00  | Sunday | 70       | 0.80  | 0.15 |
| index_maintenance_0100 | index_maintenance | 01:00  | Sat.   | 70       | 0.85  | 0.15 |
| index_maintenance_0200 | index_maintenance | 02:00  | night  | 35       | 1.10  | 0.15 |

("last 2": a new job that ran only on the last two nights; "Sunday"/"Sat.": weekly on the
batch_date's weekday.) Backfill means are estimate * ratio * 1.1 (the tail). Over its 90 nights,
3 of them month ends, index_maintenance_0200 averages estimate * ratio * (87 + 3 * 2) / 90.

Failures: every attempt fails with probability 0.03, after running a uniform 20-80 % of the
duration it would have had; a rerun (attempt 2) starts 5 minutes later, draws a new E (and T),
and always succeeds. Ready times: ready_at = batch_date + requested_window + lateness, lateness
exponential with mean 4 minutes (etl), 1 minute (refresh), 0 (backfill, index_maintenance). Queue
waits are not modelled: started_at = ready_at + uniform 0-10 minutes. Times are whole seconds, UTC.
Random numbers: numpy's default_rng(SEED), drawn in the fixed order of the loops below.

Usage: python scripts/make_history.py [--output PATH] [--check] [--names]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "mcqueue" / "data" / "sample_history.csv.gz"
SEED = 20260510
FIRST_NIGHT = dt.date(2026, 2, 10)
NIGHTS = 90
NIGHT_CV = 0.10
FAIL_PROBABILITY = 0.03
TAIL_PROBABILITY = 0.15
TAIL_SHAPE = 2.5
MONTH_END_FACTOR = 2.0
RERUN_GAP_MINUTES = 5.0
LATENESS_MEAN = {"etl": 4.0, "refresh": 1.0, "backfill": 0.0, "index_maintenance": 0.0}
MAX_WAIT_MINUTES = 10.0

# job_name: (class, window, every, estimate, ratio, cv); every: "night", "last2" or an ISO weekday
JOBS: dict[str, tuple[str, str, str | int, float, float, float]] = {
    "etl_0100": ("etl", "01:00", "night", 25, 1.08, 0.20),
    "etl_0100_2": ("etl", "01:00", "night", 25, 0.96, 0.25),
    "etl_0200": ("etl", "02:00", "night", 25, 1.20, 0.20),
    "etl_0200_2": ("etl", "02:00", "night", 25, 1.04, 0.30),
    "etl_0300": ("etl", "03:00", "night", 25, 1.00, 0.15),
    "etl_0300_2": ("etl", "03:00", "night", 25, 1.12, 0.25),
    "refresh_0100": ("refresh", "01:00", "night", 20, 1.05, 0.10),
    "refresh_0200": ("refresh", "02:00", "night", 20, 0.95, 0.12),
    "refresh_0300": ("refresh", "03:00", "night", 20, 1.10, 0.10),
    "backfill_0100": ("backfill", "01:00", "night", 50, 0.90, 0.15),
    "backfill_0200": ("backfill", "02:00", "last2", 75, 0.80, 0.15),
    "backfill_0300": ("backfill", "03:00", 7, 70, 0.80, 0.15),
    "index_maintenance_0100": ("index_maintenance", "01:00", 6, 70, 0.85, 0.15),
    "index_maintenance_0200": ("index_maintenance", "02:00", "night", 35, 1.10, 0.15),
}
COLUMNS = ("batch_date", "job_id", "job_name", "workload_class", "requested_window",
           "estimated_runtime_minutes", "ready_at", "started_at", "finished_at", "status",
           "attempt")


def sample_job_names(rows: list[dict]) -> dict[tuple[str, str], str]:
    """(batch_date, job_id) -> job_name for job records: ``<class>_<HHMM>`` and ``_2``, ``_3``
    for further jobs of the same class and window in one night, in job_id order."""
    out: dict[tuple[str, str], str] = {}
    seen: dict[tuple[str, str, str], int] = {}
    for r in sorted(rows, key=lambda r: (r["batch_date"], r["job_id"])):
        key = (r["batch_date"], r["workload_class"], r["requested_window"])
        seen[key] = seen.get(key, 0) + 1
        base = f"{r['workload_class']}_{r['requested_window'].replace(':', '')}"
        out[(r["batch_date"], r["job_id"])] = base + (f"_{seen[key]}" if seen[key] > 1 else "")
    return out


def lognormal_sigma(cv: float) -> float:
    return math.sqrt(math.log1p(cv * cv))


def true_mean(job: str, month_end_share: float = 0.0) -> float:
    """The stated truth's mean duration of a job in minutes (closed form)."""
    cls, _, _, est, ratio, _ = JOBS[job]
    tail = (1 - TAIL_PROBABILITY) + TAIL_PROBABILITY * TAIL_SHAPE / (TAIL_SHAPE - 1) \
        if cls == "backfill" else 1.0
    month = 1 + month_end_share * (MONTH_END_FACTOR - 1) if cls == "index_maintenance" else 1.0
    return est * ratio * tail * month


def true_cv(job: str) -> float:
    """The marginal cv of a lognormal job's runs (job factor and night factor together)."""
    cv = JOBS[job][5]
    return math.sqrt((1 + cv * cv) * (1 + NIGHT_CV * NIGHT_CV) - 1)


def _runs_on(job: str, night: dt.date, index: int) -> bool:
    every = JOBS[job][2]
    if every == "night":
        return True
    if every == "last2":
        return index >= NIGHTS - 2
    return night.isoweekday() == every


def _month_end(night: dt.date) -> bool:
    return (night + dt.timedelta(days=1)).day == 1


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(seed: int = SEED) -> list[dict]:
    """The history rows (one per attempt), in night and job order."""
    rng = np.random.default_rng(seed)
    s_night = lognormal_sigma(NIGHT_CV)
    rows = []
    for i in range(NIGHTS):
        night = FIRST_NIGHT + dt.timedelta(days=i)
        n_factor = math.exp(rng.normal(-s_night * s_night / 2, s_night))
        seq = 0
        for job, (cls, window, _, est, ratio, cv) in JOBS.items():
            if not _runs_on(job, night, i):
                continue
            seq += 1
            hh, mm = int(window[:2]), int(window[3:])
            requested = dt.datetime(night.year, night.month, night.day, hh, mm)
            late = LATENESS_MEAN[cls]
            ready = requested + dt.timedelta(seconds=round(60 * rng.exponential(late))
                                             if late > 0 else 0)
            start = ready + dt.timedelta(seconds=round(60 * rng.uniform(0, MAX_WAIT_MINUTES)))
            attempt = 1
            while True:
                s = lognormal_sigma(cv)
                minutes = est * ratio * n_factor * math.exp(rng.normal(-s * s / 2, s))
                if cls == "backfill" and rng.random() < TAIL_PROBABILITY:
                    minutes *= (1 - rng.random()) ** (-1 / TAIL_SHAPE)
                if cls == "index_maintenance" and _month_end(night):
                    minutes *= MONTH_END_FACTOR
                failed = attempt == 1 and rng.random() < FAIL_PROBABILITY
                if failed:
                    minutes *= rng.uniform(0.2, 0.8)
                finish = start + dt.timedelta(seconds=max(1, round(60 * minutes)))
                rows.append({
                    "batch_date": night.isoformat(),
                    "job_id": f"JOB-{night:%Y%m%d}-{seq:03d}",
                    "job_name": job,
                    "workload_class": cls,
                    "requested_window": window,
                    "estimated_runtime_minutes": est,
                    "ready_at": _iso(ready),
                    "started_at": _iso(start),
                    "finished_at": _iso(finish),
                    "status": "failed" if failed else "success",
                    "attempt": attempt,
                })
                if not failed:
                    break
                attempt += 1
                start = finish + dt.timedelta(minutes=RERUN_GAP_MINUTES)
    return rows


def render(rows: list[dict]) -> bytes:
    """The rows as gzipped CSV, byte-identical for identical rows (gzip mtime 0)."""
    buf = io.StringIO()
    buf.write(",".join(COLUMNS) + "\n")
    for r in rows:
        buf.write(",".join(str(r[c]) for c in COLUMNS) + "\n")
    return gzip.compress(buf.getvalue().encode(), mtime=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--output", type=Path, default=OUTPUT)
    ap.add_argument("--check", action="store_true",
                    help="compare with the file at --output instead of writing it")
    ap.add_argument("--names", action="store_true",
                    help="print the built-in sample's job_id -> job_name mapping and exit")
    args = ap.parse_args(argv)
    if args.names:
        import csv

        with open(ROOT / "mcqueue" / "data" / "sample_jobs.csv", newline="") as fh:
            sample = list(csv.DictReader(fh))
        for (date, job_id), name in sample_job_names(sample).items():
            print(f"{date},{job_id},{name}")
        return 0
    data = render(generate())
    if args.check:
        same = args.output.exists() and args.output.read_bytes() == data
        print(f"{args.output}: {'up to date' if same else 'differs from the generator'}")
        return 0 if same else 1
    tmp = args.output.with_name(f".{args.output.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(args.output)
    print(f"wrote {args.output} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
