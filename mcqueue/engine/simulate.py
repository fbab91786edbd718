"""The Python layer above the kernels: validate scenario parameters, lay nights out as flat
arrays, call the compiled engine, and turn per-replication metrics into a result."""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from . import kernel as K
from .._notebook import Notebook
from .._plain import plain
from ..errors import ScenarioError
from .perturbation import Perturbation
from .night import Night
from ..stats.intervals import summarize, wilson

METRICS = K.METRICS
# every metric is >= 0; the two shares are <= 1 (intervals of their means are cut to this)
METRIC_RANGE = {"worker_utilization": (0.0, 1.0), "overflow_risk": (0.0, 1.0)}
DEFAULT_REPLICATIONS = 10_000
DEFAULT_RUNTIME_CV = 0.25
DEFAULT_ARRIVAL_JITTER = 15.0
DEFAULT_CONFIDENCE = 0.95
DEFAULT_SEED = 0
# replications per kernel call: bounds the memory of one call and paces progress reports
CALL_REPLICATIONS = 1 << 18
# job-replications per kernel call (about 0.25 s on 2 cores): a compiled call holds the main
# thread, so Python sees Ctrl-C only between calls; sizing calls by jobs x replications keeps
# that wait short however large the night (results do not depend on how calls are cut)
CALL_WORK = 1 << 22

PURPOSE_RUNTIME = np.uint64(1)
PURPOSE_ARRIVAL = np.uint64(2)


# ---------------------------------------------------------------- parameter checks
def check_workers(workers) -> int:
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ScenarioError(f"workers must be an integer >= 1, got {workers!r}")
    return int(workers)


def check_replications(replications) -> int:
    if (isinstance(replications, bool) or not isinstance(replications, (int, np.integer))
            or replications < 1):
        raise ScenarioError(f"replications must be an integer >= 1, got {replications!r}")
    return int(replications)


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not (
            0 <= seed < 2**64):
        raise ScenarioError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    return int(seed)


def check_confidence(confidence) -> float:
    try:
        q = float(confidence)
    except (TypeError, ValueError):
        q = math.nan
    if not (0.0 < q < 1.0):
        raise ScenarioError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return q


# ---------------------------------------------------------------- layout
def job_hashes(job_ids: Sequence[str]) -> np.ndarray:
    """Stable 64-bit identity of each job_id (BLAKE2b), the job part of every random key."""
    return np.array([int.from_bytes(hashlib.blake2b(j.encode(), digest_size=8).digest(), "little")
                     for j in job_ids], dtype=np.uint64)


@dataclass(frozen=True, eq=False)
class Batch:
    """Nights concatenated into the flat arrays ``kernel.simulate_batch`` takes."""

    nights: tuple[Night, ...]
    perturbation: Perturbation
    seed: int
    night_start: np.ndarray
    base_a: np.ndarray
    base_r: np.ndarray
    sigma: np.ndarray
    level: np.ndarray
    excl: np.ndarray
    key_arr: np.ndarray
    key_rt: np.ndarray
    base_order: np.ndarray
    night_levels: np.ndarray
    night_jitter: np.ndarray
    night_horizon: np.ndarray


def _levels(priority: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense priority rank, 0 = highest priority."""
    if priority.shape[0] == 0:
        return np.zeros(0, np.int64), 1
    uniq = np.unique(priority)[::-1]
    rank = np.searchsorted(-uniq, -priority)
    return rank.astype(np.int64), int(uniq.shape[0])


def prepare(nights: Sequence[Night], perturbation: Perturbation | None = None,
            seed: int = DEFAULT_SEED) -> Batch:
    """Lay nights out for the kernel, with each job's random-stream keys for ``seed``."""
    perturbation = perturbation or Perturbation()
    seed = check_seed(seed)
    nights = tuple(nights)
    sizes = np.array([nt.n_jobs for nt in nights], dtype=np.int64)
    start = np.zeros(len(nights) + 1, dtype=np.int64)
    np.cumsum(sizes, out=start[1:])
    total = int(start[-1])
    base_a = np.empty(total, np.float64)
    base_r = np.empty(total, np.float64)
    sigma = np.empty(total, np.float64)
    level = np.empty(total, np.int64)
    excl = np.empty(total, np.bool_)
    key_arr = np.empty(total, np.uint64)
    key_rt = np.empty(total, np.uint64)
    order = np.empty(total, np.int64)
    n_levels = np.empty(len(nights), np.int64)
    jitter = np.full(len(nights), perturbation.arrival_jitter, np.float64)
    horizon = np.array([nt.horizon_minutes for nt in nights], np.float64)
    seed64 = np.uint64(seed)
    for g, nt in enumerate(nights):
        lo, hi = start[g], start[g + 1]
        base_a[lo:hi] = nt.arrival_minute
        base_r[lo:hi] = nt.runtime_minutes
        sigma[lo:hi] = perturbation.sigmas(nt.workload_class, nt.runtime_cv)
        level[lo:hi], n_levels[g] = _levels(nt.priority)
        excl[lo:hi] = nt.exclusive
        hashes = job_hashes(nt.job_id)
        K.stream_keys(hashes, seed64, PURPOSE_ARRIVAL, key_arr[lo:hi])
        K.stream_keys(hashes, seed64, PURPOSE_RUNTIME, key_rt[lo:hi])
        order[lo:hi] = np.argsort(nt.arrival_minute, kind="stable")
    return Batch(nights, perturbation, seed, start, base_a, base_r, sigma, level, excl,
                 key_arr, key_rt, order, n_levels, jitter, horizon)


def default_block(replications: int, scenarios: int = 1) -> int:
    """Replications per parallel task: enough tasks to balance threads, few enough to amortise."""
    from numba import get_num_threads

    per = math.ceil(replications * scenarios / (8 * get_num_threads()))
    return int(min(4096, max(32, per)))


def replicate(batch: Batch, scen_night: ArrayLike, scen_workers: ArrayLike,
              replications: int, rep_start: int = 0, block: int | None = None,
              progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Per-replication metrics, shape (scenarios, 8, replications), columns ``METRICS``.

    Replication i of every scenario is replication number rep_start + i of the seed, so
    two calls with different ``rep_start`` extend one another exactly.
    """
    replications = check_replications(replications)
    nights_of = np.asarray(scen_night, dtype=np.int64).reshape(-1)
    workers_of = np.array([check_workers(int(w)) for w in np.asarray(scen_workers).reshape(-1)],
                          dtype=np.int64)
    n_scen = len(nights_of)
    jobs = max([1] + [batch.nights[g].n_jobs for g in nights_of])
    scen_step = max(1, min(n_scen, CALL_WORK // jobs))  # scenarios per call
    per_call = max(1, min(CALL_REPLICATIONS, CALL_WORK // (jobs * scen_step)))
    if block is None:
        block = default_block(min(replications, per_call), min(n_scen, scen_step))
    if block < 1:
        raise ScenarioError(f"block must be >= 1, got {block!r}")
    _check_memory(n_scen, replications)
    out = np.empty((n_scen, K.N_METRICS, replications), dtype=np.float64)
    whole = scen_step >= n_scen and per_call >= replications
    for s0 in range(0, n_scen, scen_step):
        s1 = min(n_scen, s0 + scen_step)
        done = 0
        while done < replications:
            m = min(per_call, replications - done)
            # one call writes a C-contiguous array (the layout numba compiled for), copied in
            dest = out if whole else np.empty((s1 - s0, K.N_METRICS, m), dtype=np.float64)
            K.simulate_batch(batch.night_start, batch.base_a, batch.base_r, batch.sigma,
                             batch.level, batch.excl, batch.key_arr, batch.key_rt,
                             batch.base_order, batch.night_levels, batch.night_jitter,
                             batch.night_horizon, nights_of[s0:s1], workers_of[s0:s1],
                             rep_start + done, block, dest)
            if not whole:
                out[s0:s1, :, done:done + m] = dest
            done += m
            if progress is not None:
                progress(m * (s1 - s0))
    return out


def _check_memory(scenarios: int, replications: int) -> None:
    """Refuse a run whose per-replication metrics (64 bytes each) cannot fit in this machine's
    memory, with a message instead of an allocation failure."""
    need = scenarios * K.N_METRICS * replications * 8
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on this platform: let numpy try
        return
    if need > 0.8 * have:
        raise ScenarioError(
            f"{replications:,} replications x {scenarios} scenario(s) need "
            f"{need / 2**30:,.1f} GiB for the per-replication metrics (64 bytes each), more "
            f"than this machine's {have / 2**30:,.1f} GiB allows: use fewer replications or a "
            f"precision target")


def trace(night: Night, workers: int, rep: int = 0, perturbation: Perturbation | None = None,
          seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """One replication in full: drawn arrivals, runtimes, start times and the eight metrics."""
    b = prepare([night], perturbation, seed)
    n = night.n_jobs
    a = np.empty(n)
    r = np.empty(n)
    start = np.full(n, np.nan)
    out = np.empty(K.N_METRICS)
    K.trace_night(rep, b.base_a, b.base_r, b.sigma, b.level, b.excl, b.key_arr, b.key_rt,
                  b.base_order, int(b.night_levels[0]), float(b.night_jitter[0]),
                  float(b.night_horizon[0]), check_workers(workers), a, r, start, out)
    return {"arrival_minute": a, "runtime_minutes": r, "start_minute": start,
            "finish_minute": start + r, "metrics": dict(zip(METRICS, out.tolist()))}


# ---------------------------------------------------------------- results
def queueing(night: Night, workers: int) -> dict[str, float]:
    """lambda = n / max(H/60, 1) per hour; mu = 60 / mean runtime per worker; rho = lambda/(c mu)."""
    n = night.n_jobs
    lam = n / max(night.horizon_minutes / 60.0, 1.0)
    mean_rt = float(night.runtime_minutes.mean()) if n else math.nan
    mu = 60.0 / mean_rt if n else math.nan
    rho = lam / (workers * mu) if n else math.nan
    return {"lambda_per_hour": lam, "mu_per_hour": mu, "workers": workers, "rho": rho}


def deterministic(night: Night, workers: int) -> dict[str, float]:
    """The tutorial's single zero-noise replay of the night (the published numbers)."""
    out = replicate(prepare([night]), [0], [workers], 1)
    return _metric_dict(out[0, :, 0])


def _metric_dict(values: np.ndarray) -> dict[str, float]:
    d = dict(zip(METRICS, (float(v) for v in values)))
    for k in ("max_queue_length", "overflow_jobs"):
        d[k] = int(d[k])
    return d


@dataclass(eq=False)
class SimulationResult(Notebook):
    """One scenario: the night, its parameters, deterministic metrics, Monte Carlo summary.

    ``samples`` keeps the per-replication metrics (8 x R, columns ``METRICS``) for paired
    comparisons; ``to_dict()`` gives the JSON contract of docs/model.md.
    """

    scenario: str
    night: Night
    workers: int
    replications: int
    seed: int
    confidence: float
    perturbation: Perturbation
    queueing: dict
    deterministic: dict
    monte_carlo: dict
    samples: np.ndarray = field(repr=False)
    extra: dict = field(default_factory=dict)

    @property
    def overflow_probability(self) -> dict:
        return self.monte_carlo["overflow_probability"]

    def to_dict(self) -> dict:
        nt = self.night
        d = {
            "scenario": self.scenario,
            "batch_date": nt.batch_date,
            "window": nt.window,
            "workers": self.workers,
            "batch_start": nt.batch_start,
            "batch_end": nt.batch_end,
            "horizon_minutes": nt.horizon_minutes,
            "jobs": nt.n_jobs,
            "replications": self.replications,
            "seed": self.seed,
            "confidence": self.confidence,
            "runtime_cv": self.perturbation.runtime_cv,
            "arrival_jitter_minutes": self.perturbation.arrival_jitter,
            "class_cv": dict(self.perturbation.class_cv),
            "queueing": dict(self.queueing),
            "deterministic": dict(self.deterministic),
            "monte_carlo": {k: dict(v) for k, v in self.monte_carlo.items()},
        }
        d.update(self.extra)
        return plain(d)


def summarize_samples(samples: np.ndarray, horizon: float, confidence: float) -> dict:
    """Monte Carlo block of the contract from one scenario's (8, R) metrics."""
    mc = {m: summarize(samples[i], confidence, *METRIC_RANGE.get(m, (0.0, math.inf)))
          for i, m in enumerate(METRICS)}
    drained = samples[METRICS.index("queue_drained_minute")]
    mc["overflow_probability"] = wilson(int(np.count_nonzero(drained > horizon)),
                                        samples.shape[1], confidence)
    return mc


@dataclass(frozen=True)
class Scenario:
    """A night on a worker count; ``name`` defaults to '<batch_date> on <c> workers'."""

    night: Night
    workers: int
    name: str | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        w = f" window {self.night.window}" if self.night.window else ""
        return f"{self.night.batch_date}{w} on {self.workers} workers"


def simulate_scenarios(scenarios: Iterable[Scenario], replications: int = DEFAULT_REPLICATIONS,
                       seed: int = DEFAULT_SEED, runtime_cv: float = DEFAULT_RUNTIME_CV,
                       arrival_jitter: float = DEFAULT_ARRIVAL_JITTER,
                       class_cv: Mapping[str, float] | None = None,
                       confidence: float = DEFAULT_CONFIDENCE, block: int | None = None,
                       progress: Callable[[int], None] | None = None,
                       keep_samples: bool = True) -> list[SimulationResult]:
    """Simulate several scenarios in one parallel kernel call (common random numbers: the same
    seed gives every scenario of the same night the same random nights)."""
    scenarios = list(scenarios)
    for sc in scenarios:
        check_workers(sc.workers)
    replications = check_replications(replications)
    seed = check_seed(seed)
    confidence = check_confidence(confidence)
    pert = Perturbation(runtime_cv=runtime_cv, arrival_jitter=arrival_jitter,
                        class_cv=class_cv or {})
    nights: list[Night] = []
    index: dict[int, int] = {}
    scen_night = []
    for sc in scenarios:
        if id(sc.night) not in index:
            index[id(sc.night)] = len(nights)
            nights.append(sc.night)
        scen_night.append(index[id(sc.night)])
    batch = prepare(nights, pert, seed)
    samples = replicate(batch, scen_night, [sc.workers for sc in scenarios], replications,
                        block=block, progress=progress)
    results = []
    for s, sc in enumerate(scenarios):
        nt = sc.night
        results.append(SimulationResult(
            scenario=sc.label, night=nt, workers=sc.workers, replications=replications,
            seed=seed, confidence=confidence, perturbation=pert,
            queueing=queueing(nt, sc.workers), deterministic=deterministic(nt, sc.workers),
            monte_carlo=summarize_samples(samples[s], nt.horizon_minutes, confidence),
            samples=samples[s] if keep_samples else np.empty((K.N_METRICS, 0)),
        ))
    return results


def simulate(night: Night, workers: int = 3, replications: int = DEFAULT_REPLICATIONS,
             seed: int = DEFAULT_SEED, runtime_cv: float = DEFAULT_RUNTIME_CV,
             arrival_jitter: float = DEFAULT_ARRIVAL_JITTER,
             class_cv: Mapping[str, float] | None = None,
             confidence: float = DEFAULT_CONFIDENCE, block: int | None = None,
             name: str | None = None,
             progress: Callable[[int], None] | None = None) -> SimulationResult:
    """Replay ``night`` ``replications`` times on ``workers`` workers and summarise.

    >>> from mcqueue import load_sample, simulate
    >>> r = simulate(load_sample("2026-05-13"), workers=3, replications=1000, seed=0)
    >>> r.deterministic["average_wait_minutes"]
    29.0
    """
    return simulate_scenarios([Scenario(night, workers, name)], replications, seed, runtime_cv,
                              arrival_jitter, class_cv, confidence, block, progress)[0]


def kernel_cache_ready() -> bool:
    """True when the compiled engine is already in numba's on-disk cache (no compile pause)."""
    try:
        # the index lists compiled overloads only while its source stamp matches kernel.py
        return bool(K.simulate_batch._cache._cache_file._load_index())
    except Exception:  # numba internals moved: assume the worst, the notice is harmless
        return False
