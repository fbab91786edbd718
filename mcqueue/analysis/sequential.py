"""Precision-targeted runs: add replications in batches until the intervals are narrow enough.

The rule (a fixed-width sequential procedure in the sense of Chow & Robbins, 1965):
1. run a first batch of at least ``min_replications`` (default 1,000) replications;
2. after every batch compute, from ALL replications so far, the half-width of the Student-t
   interval of the mean p95 wait and of the Wilson interval of the overflow probability;
3. stop when every requested half-width is at or under its target, or when
   ``max_replications`` is reached (the result says which); otherwise add ``batch`` more.

Replication i is always replication number i of the seed (``engine.replicate(...,
rep_start=done)``), so a run that stops after n replications gives exactly the numbers of a fixed
run of n replications with the same seed.

Why stopping does not bias the answer here: the stopping time depends on the data only through
the estimated spread (the sample standard deviation of the p95 waits, and p(1 - p) for overflow),
which after a first batch of 1,000 replications is already within a few percent of its true
value; so the number of replications is nearly deterministic and the reported intervals keep
their nominal coverage (Chow & Robbins: coverage tends to the nominal level as the target
shrinks). A tiny first batch would not be honest: with 10 replications a lucky low spread can
stop the run early with an interval that is too narrow. tests/test_sequential.py measures the
coverage of the sequential rule over 1,000 seeds.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np

from ..engine import simulate as E
from ..errors import ScenarioError
from ..engine.perturbation import Perturbation
from ..engine.night import Night
from ..stats.intervals import t_quantile, wilson_bounds, z_quantile

DEFAULT_MAX_REPLICATIONS = 1_000_000
DEFAULT_BATCH = 10_000
MIN_FIRST_BATCH = 1_000

STOP_TARGET = "target met"
STOP_CAP = "max replications reached"

_P95 = E.METRICS.index("p95_wait_minutes")
_DRAINED = E.METRICS.index("queue_drained_minute")


def _target(name: str, value) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise ScenarioError(f"{name} must be a number > 0, got {value!r}")
    return v


class _Running:
    """Running sums for the two half-widths, so each check costs O(batch), not O(n)."""

    def __init__(self, horizon: float, confidence: float):
        self.horizon = horizon
        self.confidence = confidence
        self.n = 0
        self.p95_mean = 0.0
        self.p95_m2 = 0.0  # sum of squared deviations (Chan et al. parallel update)
        self.overflowed = 0
        self._z = z_quantile(confidence)

    def add(self, samples: np.ndarray) -> None:
        x = samples[_P95]
        m = x.shape[0]
        if m == 0:
            return
        bm = float(x.mean())
        b2 = float(((x - bm) ** 2).sum())
        n = self.n
        delta = bm - self.p95_mean
        tot = n + m
        self.p95_mean += delta * m / tot
        self.p95_m2 += b2 + delta * delta * n * m / tot
        self.n = tot
        self.overflowed += int(np.count_nonzero(samples[_DRAINED] > self.horizon))

    def halfwidth_p95(self) -> float:
        """t_{n-1} sd / sqrt(n), as ``stats.t_interval``."""
        if self.n < 2:
            return math.nan
        sd = math.sqrt(max(self.p95_m2, 0.0) / (self.n - 1))
        return t_quantile(self.confidence, self.n - 1) * sd / math.sqrt(self.n)

    def halfwidth_overflow(self) -> float:
        """Half the width of ``stats.wilson``'s interval (z computed once)."""
        if self.n == 0:
            return math.nan
        lo, hi = wilson_bounds(self.overflowed, self.n, self._z)
        return (hi - lo) / 2.0


def check_memory(max_replications: int, scenarios: int = 1) -> None:
    """Refuse up front a precision-targeted run whose cap could not fit in memory: every
    replication run is kept (64 bytes of metrics each, for the percentiles of the report), and
    the batches are joined once at the end (one more copy), so ``scenarios`` runs up to
    ``max_replications`` need (scenarios + 1) x 64 x max_replications bytes at most."""
    import os

    need = (scenarios + 1) * E.METRICS.__len__() * 8 * max_replications
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on this platform
        return
    if need > 0.8 * have:
        raise ScenarioError(
            f"a precision-targeted run capped at {max_replications:,} replications x "
            f"{scenarios} scenario(s) may need {need / 2**30:,.1f} GiB for the replications it "
            f"keeps, more than this machine's {have / 2**30:,.1f} GiB allows: lower "
            "--max-replications")


def _met(achieved: float, target: float | None) -> bool:
    return target is None or (math.isfinite(achieved) and achieved <= target)


def _check_int(name: str, value, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ScenarioError(f"{name} must be an integer >= {least}, got {value!r}")
    return int(value)


def run_until(source: Callable[[int, int], np.ndarray], horizon: float,
              target_halfwidth_p95: float | None, target_halfwidth_overflow: float | None,
              max_replications: int, batch: int, min_replications: int = MIN_FIRST_BATCH,
              confidence: float = E.DEFAULT_CONFIDENCE) -> tuple[np.ndarray, dict]:
    """The stopping rule on any replication source.

    ``source(rep_start, count)`` returns the (8, count) metrics of replications rep_start ..
    rep_start + count - 1 (``engine.replicate`` in ``simulate_to_precision``; a slice of a
    longer run in the validation suite, which is the same thing). Targets must already be
    checked. Returns all samples drawn and the ``precision`` record.
    """
    run = _Running(horizon, confidence)
    chunks: list[np.ndarray] = []
    step = min(max(batch, min_replications), max_replications)
    while True:
        out = source(run.n, step)
        chunks.append(out)
        run.add(out)
        hw_p95 = run.halfwidth_p95()
        hw_ovf = run.halfwidth_overflow()
        if _met(hw_p95, target_halfwidth_p95) and _met(hw_ovf, target_halfwidth_overflow):
            stopped = STOP_TARGET
            break
        if run.n >= max_replications:
            stopped = STOP_CAP
            break
        step = min(batch, max_replications - run.n)
    samples = chunks[0] if len(chunks) == 1 else np.concatenate(chunks, axis=1)
    return samples, {
        "target_halfwidth_p95": target_halfwidth_p95,
        "target_halfwidth_overflow": target_halfwidth_overflow,
        "achieved_halfwidth_p95": hw_p95,
        "achieved_halfwidth_overflow": hw_ovf,
        "replications_used": run.n,
        "max_replications": max_replications,
        "batch": batch,
        "min_replications": min_replications,
        "stopped": stopped,
    }


def simulate_to_precision(night: Night, workers: int = 3,
                          target_halfwidth_p95: float | None = None,
                          target_halfwidth_overflow: float | None = None,
                          max_replications: int = DEFAULT_MAX_REPLICATIONS,
                          batch: int = DEFAULT_BATCH, seed: int = E.DEFAULT_SEED,
                          runtime_cv: float = E.DEFAULT_RUNTIME_CV,
                          arrival_jitter: float = E.DEFAULT_ARRIVAL_JITTER,
                          class_cv: Mapping[str, float] | None = None,
                          confidence: float = E.DEFAULT_CONFIDENCE,
                          min_replications: int = MIN_FIRST_BATCH,
                          block: int | None = None, name: str | None = None,
                          progress: Callable[[int], None] | None = None, *,
                          policy: str | None = None, capacity: E.Capacity | None = None,
                          backfill_depth: int | None = None,
                          per_job: bool = False) -> E.SimulationResult:
    """Replay ``night`` in batches until the interval half-widths meet their targets.

    ``target_halfwidth_p95`` is in minutes (half-width of the interval of the mean p95 wait),
    ``target_halfwidth_overflow`` a probability (half-width of the Wilson interval of the
    overflow probability); give at least one. The first batch has
    ``max(batch, min_replications)`` replications (capped at ``max_replications``), later ones
    ``batch``. The result is the ordinary ``SimulationResult`` of all replications run, with
    ``extra["precision"]`` = targets, achieved half-widths, replications used and why it stopped.
    ``policy``, ``capacity``, ``backfill_depth`` and ``per_job`` as in ``engine.simulate``
    (issues 12 and 13): the per-job statistics are streamed across the batches.

    >>> from mcqueue import load_sample
    >>> r = simulate_to_precision(load_sample("2026-05-13"), 3, target_halfwidth_p95=1.0)
    >>> r.extra["precision"]["stopped"]
    'target met'
    """
    t_p95 = _target("target half-width of the p95 wait", target_halfwidth_p95)
    t_ovf = _target("target half-width of the overflow probability", target_halfwidth_overflow)
    if t_p95 is None and t_ovf is None:
        raise ScenarioError("give at least one target: target_halfwidth_p95 (minutes) or "
                            "target_halfwidth_overflow (probability)")
    workers = E.check_workers(workers)
    max_replications = E.check_replications(max_replications)
    check_memory(max_replications)
    batch = _check_int("batch", batch, 1)
    min_replications = _check_int("min_replications", min_replications, 2)
    seed = E.check_seed(seed)
    confidence = E.check_confidence(confidence)
    pert = Perturbation(runtime_cv=runtime_cv, arrival_jitter=arrival_jitter,
                        class_cv=class_cv or {})
    prepared = E.prepare([night], pert, seed)
    horizon = night.horizon_minutes
    if capacity is not None:
        capacity = E.check_capacity(capacity, workers)
    general = (per_job or night.uses_features or capacity is not None
               or policy not in (None, E.DEFAULT_POLICY))
    totals: list = [per_job]  # the per-job totals, carried from batch to batch

    def source(rep_start: int, count: int) -> np.ndarray:
        if not general:
            return E.replicate(prepared, [0], [workers], count, rep_start=rep_start,
                               block=block, progress=progress)[0]
        run = E.replicate_detailed(prepared, [0], [workers], count, rep_start=rep_start,
                                   block=block, progress=progress, policy=policy,
                                   capacity=None if capacity is None else [capacity],
                                   backfill_depth=backfill_depth, per_job=totals[0])
        if run.per_job is not None:
            totals[0] = run.per_job
        # the metrics and, below them, the late-job and above-capacity columns
        assert run.extra is not None  # the general loop ran
        return np.concatenate([run.samples[0], run.extra[0]])

    stacked, precision = run_until(source, horizon, t_p95, t_ovf, max_replications, batch,
                                   min_replications, confidence)
    samples = np.ascontiguousarray(stacked[:len(E.METRICS)])
    mc = E.summarize_samples(samples, horizon, confidence)
    late, above = E.feature_summaries(
        mc, night, stacked[len(E.METRICS):] if general else None, capacity is not None,
        confidence)
    effective = policy or E.DEFAULT_POLICY
    return E.SimulationResult(
        scenario=name or E.Scenario(night, workers, name, policy, capacity).label, night=night,
        workers=workers, replications=precision["replications_used"], seed=seed,
        confidence=confidence, perturbation=pert, queueing=E.queueing(night, workers),
        deterministic=E.deterministic(night, workers, policy=policy, capacity=capacity,
                                      backfill_depth=backfill_depth),
        monte_carlo=mc, samples=E.MetricSamples.from_array(
            samples, int(prepared.night_start[1] - prepared.night_start[0])),
        extra={"precision": precision}, policy=policy,
        backfill_depth=(E.check_backfill_depth(E.DEFAULT_BACKFILL_DEPTH if backfill_depth is None
                                                else backfill_depth)
                        if effective == "backfill" else None),
        capacity=capacity, late_jobs=late, above_capacity=above,
        per_job=(totals[0].summary(0, night, confidence)
                 if isinstance(totals[0], E.PerJobTotals) else None),
    )
