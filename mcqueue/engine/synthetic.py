"""Synthetic nights for benchmarks, validation and tests (seeded, reproducible)."""

from __future__ import annotations

import numpy as np

from .night import Night

CLASSES = ("etl", "refresh", "backfill", "index_maintenance")


def synthetic_night(n_jobs: int, seed: int = 0, spread_minutes: float = 180.0,
                    exclusive_share: float = 0.05, mean_runtime: float = 30.0,
                    priorities: int = 3, batch_start: str = "01:00",
                    batch_end: str = "05:00") -> Night:
    """A night of ``n_jobs`` with arrivals uniform over ``spread_minutes`` (rounded to whole
    minutes, so ties happen), lognormal-ish runtimes around ``mean_runtime``, priorities
    1..``priorities`` and about ``exclusive_share`` exclusive-lock jobs."""
    rng = np.random.default_rng(seed)
    arrival = np.floor(rng.uniform(0.0, spread_minutes, n_jobs))
    runtime = np.maximum(1.0, np.round(rng.gamma(4.0, mean_runtime / 4.0, n_jobs)))
    priority = rng.integers(1, priorities + 1, n_jobs)
    exclusive = rng.random(n_jobs) < exclusive_share
    width = len(str(max(n_jobs - 1, 0)))
    job_id = [f"SYN-{i:0{width}d}" for i in range(n_jobs)]
    wclass = [CLASSES[k] for k in rng.integers(0, len(CLASSES), n_jobs)]
    return Night.from_arrays(arrival, runtime, priority, exclusive, job_id, wclass,
                             batch_date=f"synthetic-{n_jobs}", batch_start=batch_start,
                             batch_end=batch_end)


def poisson_night(n_jobs: int, arrival_rate_per_minute: float, mean_runtime: float,
                  seed: int = 0, runtime: str = "exponential", priority=None,
                  batch_start: str = "01:00", batch_end: str = "05:00") -> Night:
    """Poisson arrivals (arrival_minute) with exponential or constant runtimes: the M/M/c and
    M/D/1 validation nights. ``priority`` may be an array of per-job priorities."""
    rng = np.random.default_rng(seed)
    arrival = np.cumsum(rng.exponential(1.0 / arrival_rate_per_minute, n_jobs))
    if runtime == "exponential":
        rt = rng.exponential(mean_runtime, n_jobs)
        rt = np.maximum(rt, 1e-9)
    elif runtime == "constant":
        rt = np.full(n_jobs, float(mean_runtime))
    else:
        raise ValueError(f"runtime must be 'exponential' or 'constant', got {runtime!r}")
    width = len(str(max(n_jobs - 1, 0)))
    return Night.from_arrays(arrival, rt, priority, None,
                             [f"P{i:0{width}d}" for i in range(n_jobs)],
                             batch_date=f"poisson-{n_jobs}", batch_start=batch_start,
                             batch_end=batch_end)
