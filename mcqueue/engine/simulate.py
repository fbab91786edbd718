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
from .night import MAX_MINUTES, Night
from .samples import FLOAT_METRICS, BYTES_PER_REPLICATION, MetricSamples
from ..stats.intervals import (count_above, summarize, summarize_columns, summarize_count_pair,
                              wilson)

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
# simulate_scenarios keeps the metrics compactly and takes them from the kernels in chunks of
# at most this many scenario-replications (16 MB of float64 metrics; one replication of every
# scenario when there are more scenarios)
CHUNK_CELLS = CALL_REPLICATIONS


def _mix64(z: np.ndarray) -> np.ndarray:
    """``kernel.mix64`` (splitmix64's finaliser) on a uint64 array, by numpy (wrapping)."""
    z = (z ^ (z >> np.uint64(30))) * K._M1
    z = (z ^ (z >> np.uint64(27))) * K._M2
    return z ^ (z >> np.uint64(31))


def stream_keys(job_hash: np.ndarray, seed: np.uint64, purpose: np.uint64,
                out: np.ndarray) -> None:
    """Start of each job's random stream for one purpose, mix(mix(seed ^ mix(purpose)) ^
    hash(job_id)) with ``kernel.mix64``'s splitmix64 finaliser, by numpy (no kernel to compile
    on a first run; tests/test_determinism.py checks it against plain Python integers)."""
    one = np.array([purpose], dtype=np.uint64)
    base = _mix64(np.array([seed], dtype=np.uint64) ^ _mix64(one))
    out[:] = _mix64(base ^ np.asarray(job_hash, dtype=np.uint64))


PURPOSE_RUNTIME = np.uint64(1)
PURPOSE_ARRIVAL = np.uint64(2)
# issue 14 and 15: each its own purpose, so no stream above moves
PURPOSE_EMPIRICAL = np.uint64(3)  # the pick among a job's recent runs
PURPOSE_NIGHT = np.uint64(4)  # the night-wide factor (keyed on the batch date, not a job)
PURPOSE_RERUN = np.uint64(5)  # whether an attempt fails (one stream per attempt)
PURPOSE_REMAINING = np.uint64(6)  # the conditional runtime of a job running at now


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


POLICIES = ("tutorial", "priority", "fifo", "backfill")
DEFAULT_POLICY = "tutorial"
DEFAULT_BACKFILL_DEPTH = 64
_POLICY_CODE = {"tutorial": K.TUTORIAL, "priority": K.STRICT, "fifo": K.STRICT,
                "backfill": K.BACKFILL}


def check_policy(policy) -> str:
    if not isinstance(policy, str) or policy not in POLICIES:
        raise ScenarioError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    return policy


def check_backfill_depth(depth) -> int:
    if (isinstance(depth, bool) or not isinstance(depth, (int, np.integer))
            or not 0 <= depth < 2**31):
        raise ScenarioError(f"backfill depth must be an integer >= 0, got {depth!r}")
    return int(depth)


Capacity = tuple[tuple[float, int], ...]


def check_capacity(steps, workers: int) -> Capacity:
    """Absolute capacity steps ``[(minute, size), ...]`` (minutes after the batch start, sizes
    in workers) -> sorted tuple. The pool has ``workers`` workers from minute 0 until the first
    step (a step at minute 0 replaces it). Minutes finite in [0, 1e9], each at most once;
    sizes integers >= 0."""
    out = []
    try:
        items = list(steps)
    except TypeError:
        raise ScenarioError(f"capacity must be a list of (minute, size) steps, got "
                            f"{steps!r}") from None
    for item in items:
        try:
            minute, size = item
        except (TypeError, ValueError):
            raise ScenarioError(f"capacity step must be (minute, size), got {item!r}") from None
        try:
            m = float(minute)
        except (TypeError, ValueError):
            m = math.nan
        if isinstance(minute, bool) or not (0.0 <= m <= MAX_MINUTES):
            raise ScenarioError(f"capacity minute must be a number of minutes after the batch "
                                f"start in [0, {MAX_MINUTES:,.0f}], got {minute!r}")
        if (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0
                or size >= 2**31):
            raise ScenarioError(f"capacity at minute {m:g} must be an integer number of "
                                f"workers >= 0, got {size!r}")
        out.append((m, int(size)))
    out.sort()
    for (m0, _), (m1, _) in zip(out, out[1:]):
        if m0 == m1:
            raise ScenarioError(f"capacity minute {m0:g} is given twice")
    return tuple(out)


def capacity_steps(workers: int, capacity: Capacity | None) -> list[tuple[float, int]]:
    """The pool as steps starting at minute 0: [(0, size0), (m1, size1), ...]."""
    steps = list(capacity or ())
    if not steps or steps[0][0] > 0.0:
        steps.insert(0, (0.0, int(workers)))
    return steps


def infeasible(night: Night, workers: int, capacity: Capacity | None = None) -> str | None:
    """Why ``night`` cannot run on this pool, or None: a job needs more workers (slots) than
    ``workers``; or the last capacity step is below 1 or below the largest slots (the night
    could never drain). ``plan`` reports such worker counts as infeasible."""
    need = night.slots_array()
    if need.shape[0] and int(need.max()) > workers:
        j = int(np.argmax(need))
        return (f"job {night.job_id[j]!r} needs {int(need[j])} workers (slots), more than the "
                f"pool of {workers} workers")
    last = capacity_steps(workers, capacity)[-1]
    top = night.max_slots
    if last[1] < max(1, top):
        what = "1" if last[1] < 1 else f"the largest slots ({top})"
        return (f"the last capacity step (minute {last[0]:g}: {last[1]} workers) is below "
                f"{what}: the night could never drain")
    return None


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
    # the optional columns of issues 12 and 13, concatenated like the others (CSR pointers are
    # global offsets, indices local to the night); read only by the general event loop
    slots: np.ndarray
    npred: np.ndarray
    succ_ptr: np.ndarray
    succ_idx: np.ndarray
    lock_ptr: np.ndarray
    lock_idx: np.ndarray
    deadline: np.ndarray
    night_locks: np.ndarray
    night_general: np.ndarray  # the night needs the general loop (``Night.needs_general_loop``)
    # issue 14 (runtime draws) and 15 (re-forecast from now): ``kernel.draw_ext``'s data
    night_flags: np.ndarray = field(repr=False)  # kernel.EXT_* per night
    night_sigma: np.ndarray = field(repr=False)  # log-sd of the night-wide factor
    night_key: np.ndarray = field(repr=False)  # its stream (purpose 4, the batch date)
    night_retries: np.ndarray = field(repr=False)
    night_now: np.ndarray = field(repr=False)  # now (minutes after the batch start) or NaN
    fs_ptr: np.ndarray = field(repr=False)  # night g's started jobs: fs_idx[fs_ptr[g]:..]
    fs_idx: np.ndarray = field(repr=False)  # (local indices, by start time then index)
    emp_ptr: np.ndarray = field(repr=False)  # recent runs (CSR, global offsets)
    emp_val: np.ndarray = field(repr=False)
    key_emp: np.ndarray = field(repr=False)
    key_rerun: np.ndarray = field(repr=False)
    key_rem: np.ndarray = field(repr=False)
    rerun_p: np.ndarray = field(repr=False)
    status: np.ndarray = field(repr=False)  # 0 queued, 1 running, 2 completed (now only)
    t_start: np.ndarray = field(repr=False)  # a started job's start (completed: see below)
    t_finish: np.ndarray = field(repr=False)
    t_ready: np.ndarray = field(repr=False)  # a started job's static ready time

    def kernel_extensions(self) -> tuple:
        """The runtime draws and now-state as the general loop takes them (``EX``)."""
        return (self.night_flags, self.night_sigma, self.night_key, self.night_retries,
                self.night_now, self.fs_ptr, self.fs_idx, self.emp_ptr, self.emp_val,
                self.key_emp, self.key_rerun, self.key_rem, self.rerun_p, self.status,
                self.t_start, self.t_finish, self.t_ready)

    def kernel_layout(self) -> tuple:
        """The nights as the general loop's kernels take them (``kernel._general_task``)."""
        return (self.night_start, self.base_a, self.base_r, self.sigma, self.level, self.excl,
                self.slots, self.key_arr, self.key_rt, self.base_order, self.npred,
                self.succ_ptr, self.succ_idx, self.lock_ptr, self.lock_idx, self.deadline,
                self.night_levels, self.night_locks, self.night_jitter, self.night_horizon)


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
    hashes_of = []
    for g, nt in enumerate(nights):
        lo, hi = start[g], start[g + 1]
        base_a[lo:hi] = nt.arrival_minute
        base_r[lo:hi] = nt.runtime_minutes
        sigma[lo:hi] = perturbation.sigmas(nt.workload_class, nt.runtime_cv)
        level[lo:hi], n_levels[g] = _levels(nt.priority)
        excl[lo:hi] = nt.exclusive
        hashes = job_hashes(nt.job_id)
        hashes_of.append(hashes)
        stream_keys(hashes, seed64, PURPOSE_ARRIVAL, key_arr[lo:hi])
        stream_keys(hashes, seed64, PURPOSE_RUNTIME, key_rt[lo:hi])
        order[lo:hi] = np.argsort(nt.arrival_minute, kind="stable")
    return Batch(nights, perturbation, seed, start, base_a, base_r, sigma, level, excl,
                 key_arr, key_rt, order, n_levels, jitter, horizon, **_feature_layout(nights),
                 **_extension_layout(nights, seed64, start, hashes_of))


def _extension_layout(nights: Sequence[Night], seed64: np.uint64, start: np.ndarray,
                      hashes_of: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The data of ``kernel.draw_ext`` (issues 14 and 15), concatenated like the other columns;
    placeholders (zeros) for nights that use none of it."""
    G = len(nights)
    total = int(start[-1])
    out = {"night_flags": np.zeros(G, np.int64), "night_sigma": np.zeros(G),
           "night_key": np.zeros(G, np.uint64), "night_retries": np.zeros(G, np.int64),
           "night_now": np.full(G, np.nan), "fs_ptr": np.zeros(G + 1, np.int64),
           "fs_idx": np.zeros(0, np.int64), "emp_ptr": np.zeros(total + 1, np.int64),
           "emp_val": np.zeros(0), "key_emp": np.zeros(total, np.uint64),
           "key_rerun": np.zeros(total, np.uint64), "key_rem": np.zeros(total, np.uint64),
           "rerun_p": np.zeros(total), "status": np.zeros(total, np.int8),
           "t_start": np.full(total, np.nan), "t_finish": np.full(total, np.nan),
           "t_ready": np.full(total, np.nan)}
    if not any(nt.has_empirical or nt.has_reruns or nt.has_night_factor or nt.has_now
               for nt in nights):
        return out
    flags = out["night_flags"]
    emp_len = np.zeros(total, np.int64)
    emp_vals: list[np.ndarray] = []
    fs: list[np.ndarray] = []
    for g, nt in enumerate(nights):
        lo, hi = int(start[g]), int(start[g + 1])
        if nt.has_empirical:
            flags[g] |= K.EXT_EMPIRICAL
            assert nt.recent_ptr is not None and nt.recent_minutes is not None
            emp_len[lo:hi] = np.diff(nt.recent_ptr)
            emp_vals.append(nt.recent_minutes)
            stream_keys(hashes_of[g], seed64, PURPOSE_EMPIRICAL, out["key_emp"][lo:hi])
        if nt.has_reruns:
            flags[g] |= K.EXT_RERUN
            assert nt.rerun_share is not None
            out["rerun_p"][lo:hi] = nt.rerun_share
            out["night_retries"][g] = nt.retries
            stream_keys(hashes_of[g], seed64, PURPOSE_RERUN, out["key_rerun"][lo:hi])
        if nt.has_night_factor:
            flags[g] |= K.EXT_NIGHT
            out["night_sigma"][g] = math.sqrt(math.log1p(nt.night_cv * nt.night_cv))
            stream_keys(job_hashes([nt.batch_date]), seed64, PURPOSE_NIGHT,
                          out["night_key"][g:g + 1])
        if nt.has_now:
            flags[g] |= K.EXT_NOW
            out["night_now"][g] = nt.now_minute
            stream_keys(hashes_of[g], seed64, PURPOSE_REMAINING, out["key_rem"][lo:hi])
            st, ts, tf, trd = _now_facts(nt)
            out["status"][lo:hi] = st
            out["t_start"][lo:hi] = ts
            out["t_finish"][lo:hi] = tf
            out["t_ready"][lo:hi] = trd
            started = np.flatnonzero(st != K.QUEUED)
            fs.append(started[np.lexsort((started, ts[started]))])
        else:
            fs.append(np.zeros(0, np.int64))
        out["fs_ptr"][g + 1] = out["fs_ptr"][g] + fs[-1].shape[0]
    np.cumsum(emp_len, out=out["emp_ptr"][1:])
    if emp_vals:
        out["emp_val"] = np.concatenate(emp_vals).astype(np.float64)
    out["fs_idx"] = np.concatenate(fs).astype(np.int64)
    return out


def _now_facts(nt: Night) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Static facts of a re-forecast: status, start, finish and ready time of every started
    job (docs/engine-features.md, section 13). A started job's ready time is the earlier of its
    start and max(window, finish of each predecessor), a predecessor not completed counting as
    finishing after it (so a job started before its predecessors finished was ready at its
    start); a completed job without started_at started at that ready time (no wait), or at
    its finish if that is earlier."""
    n = nt.n_jobs
    st = (nt.status if nt.status is not None else np.zeros(n, np.int8)).astype(np.int8)
    ts = (nt.started_minute.copy() if nt.started_minute is not None else np.full(n, np.nan))
    tf = (nt.finished_minute.copy() if nt.finished_minute is not None
          else np.full(n, np.nan))
    pred_done = np.full(n, -np.inf)  # latest predecessor finish (+inf: one not completed)
    if nt.pred_ptr is not None and nt.pred_idx is not None and nt.pred_idx.shape[0]:
        fin = np.where(st[nt.pred_idx] == K.COMPLETED, tf[nt.pred_idx], np.inf)
        counts = np.diff(nt.pred_ptr)
        has = counts > 0
        pred_done[has] = np.maximum.reduceat(fin, nt.pred_ptr[:-1][has])
    natural = np.maximum(nt.arrival_minute, pred_done)
    no_start = (st == K.COMPLETED) & np.isnan(ts)
    ts[no_start] = np.minimum(tf[no_start], natural[no_start])
    trd = np.where(st != K.QUEUED, np.minimum(ts, natural), np.nan)
    return st, ts, tf, trd


def _feature_layout(nights: Sequence[Night]) -> dict[str, np.ndarray]:
    """Slots, predecessor counts, successor and lock lists (CSR) and effective deadlines of
    every job, concatenated."""
    if not any(nt.pred_ptr is not None or nt.deadline_minute is not None
               or nt.slots is not None or nt.lock_ptr is not None for nt in nights):
        sizes = np.array([nt.n_jobs for nt in nights], dtype=np.int64)
        total = int(sizes.sum())
        horizon = np.array([nt.horizon_minutes for nt in nights], dtype=np.float64)
        return {"slots": np.ones(total, np.int64), "npred": np.zeros(total, np.int64),
                "succ_ptr": np.zeros(total + 1, np.int64), "succ_idx": np.zeros(0, np.int64),
                "lock_ptr": np.zeros(total + 1, np.int64), "lock_idx": np.zeros(0, np.int64),
                "deadline": np.repeat(horizon, sizes),
                "night_locks": np.zeros(len(nights), np.int64),
                "night_general": np.array([nt.needs_general_loop for nt in nights],
                                          dtype=bool)}
    slots, npred, deadline, night_locks = [], [], [], []
    succ_len, succ_idx, lock_len, lock_idx = [], [], [], []
    for nt in nights:
        n = nt.n_jobs
        slots.append(nt.slots_array())
        deadline.append(nt.deadline_array())
        if nt.pred_ptr is not None and nt.pred_idx is not None and nt.pred_idx.shape[0]:
            counts = np.diff(nt.pred_ptr)
            npred.append(counts)
            # successors of k: the jobs whose predecessor list holds k, in index order
            owner = np.repeat(np.arange(n), counts)
            by_pred = np.lexsort((owner, nt.pred_idx))
            succ_len.append(np.bincount(nt.pred_idx, minlength=n))
            succ_idx.append(owner[by_pred])
        else:
            npred.append(np.zeros(n, np.int64))
            succ_len.append(np.zeros(n, np.int64))
        if nt.lock_ptr is not None and nt.lock_idx is not None:
            lock_len.append(np.diff(nt.lock_ptr))
            lock_idx.append(nt.lock_idx)
        else:
            lock_len.append(np.zeros(n, np.int64))
        night_locks.append(len(nt.lock_names))

    def cat(parts, dtype):
        return (np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype))

    def ptr(lengths):
        out = np.zeros(sum(x.shape[0] for x in lengths) + 1, np.int64)
        if out.shape[0] > 1:
            np.cumsum(np.concatenate(lengths), out=out[1:])
        return out

    return {"slots": cat(slots, np.int64), "npred": cat(npred, np.int64),
            "succ_ptr": ptr(succ_len), "succ_idx": cat(succ_idx, np.int64),
            "lock_ptr": ptr(lock_len), "lock_idx": cat(lock_idx, np.int64),
            "deadline": cat(deadline, np.float64),
            "night_locks": np.array(night_locks, dtype=np.int64),
            "night_general": np.array([nt.needs_general_loop for nt in nights], dtype=bool)}


def default_block(replications: int, scenarios: int = 1) -> int:
    """Replications per parallel task: enough tasks to balance threads, few enough to amortise."""
    from numba import get_num_threads

    per = math.ceil(replications * scenarios / (8 * get_num_threads()))
    return int(min(4096, max(32, per)))


def replicate(batch: Batch, scen_night: ArrayLike, scen_workers: ArrayLike,
              replications: int, rep_start: int = 0, block: int | None = None,
              progress: Callable[[int], None] | None = None, *,
              policy: str | Sequence[str | None] | None = None,
              capacity: Sequence[Capacity | None] | None = None,
              backfill_depth: int | Sequence[int | None] | None = None) -> np.ndarray:
    """Per-replication metrics, shape (scenarios, 8, replications), columns ``METRICS``.

    Replication i of every scenario is replication number rep_start + i of the seed, so
    two calls with different ``rep_start`` extend one another exactly. ``policy``,
    ``capacity`` and ``backfill_depth`` (one value or one per scenario) as in
    ``replicate_detailed``; without them this is today's kernel call.
    """
    if policy is None and capacity is None and backfill_depth is None:
        nights_of = np.asarray(scen_night, dtype=np.int64).reshape(-1)
        if not batch.night_general[nights_of].any():  # today's call, without the checks below
            replications = check_replications(replications)
            workers_of = np.array([check_workers(int(w))
                                   for w in np.asarray(scen_workers).reshape(-1)],
                                  dtype=np.int64)
            if block is not None and block < 1:
                raise ScenarioError(f"block must be >= 1, got {block!r}")
            _check_memory(len(nights_of), replications)
            return _replicate_today(batch, nights_of, workers_of, replications, rep_start, block,
                                    progress)
    return replicate_detailed(batch, scen_night, scen_workers, replications, rep_start, block,
                              progress, policy=policy, capacity=capacity,
                              backfill_depth=backfill_depth).samples


# per-job buffers (finish, wait, dependency delay, chain flag: 25 bytes a job and replication)
# hold at most this many job-replications per call: about 52 MB whatever the night's size
PER_JOB_BUFFER = 1 << 21


@dataclass(eq=False)
class PerJobTotals:
    """Per-job statistics streamed over replications (issue 12, "Per-job risk").

    Rows ``job_off[s] .. job_off[s] + n_s - 1`` belong to scenario s (jobs in canonical order).
    Counts and the finish histogram (``kernel.finish_bin``) are integers; the wait and
    dependency-delay sums are added in replication order. Memory is rows x (HIST_BINS x 4 +
    48) bytes, whatever the number of replications. Pass it back to ``replicate_detailed``
    (``per_job=totals``) with the next ``rep_start`` to extend a run exactly.
    """

    job_off: np.ndarray
    deadline: np.ndarray
    replications: int = 0
    late: np.ndarray = field(init=False, repr=False)
    on_chain: np.ndarray = field(init=False, repr=False)
    sum_wait: np.ndarray = field(init=False, repr=False)
    sum_dep: np.ndarray = field(init=False, repr=False)
    fmin: np.ndarray = field(init=False, repr=False)
    fmax: np.ndarray = field(init=False, repr=False)
    hist: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        rows = int(self.job_off[-1])
        self.late = np.zeros(rows, np.int64)
        self.on_chain = np.zeros(rows, np.int64)
        self.sum_wait = np.zeros(rows, np.float64)
        self.sum_dep = np.zeros(rows, np.float64)
        self.fmin = np.full(rows, np.inf)
        self.fmax = np.full(rows, -np.inf)
        self.hist = np.zeros((rows, K.HIST_BINS), np.uint32)

    @property
    def rows(self) -> int:
        return int(self.job_off[-1])

    def finish_quantile(self, q: float, rows: slice = slice(None)) -> np.ndarray:
        """Nearest-rank quantile q of every row's finish time (the ceil(q R)-th smallest), to
        the histogram's precision: the midpoint of the bin that holds it, clamped to the row's
        smallest and largest finish (so a value every replication shares is exact). Error:
        at most 1/32 minute below 64 minutes, at most 2**-10 (0.1 %) relative below 2**20
        minutes, within a factor 1.5 above (docs/model.md, section 13.4)."""
        R = self.replications
        hist = self.hist[rows]
        out = np.full(hist.shape[0], np.nan)
        if R == 0 or hist.shape[0] == 0:
            return out
        k = max(1, math.ceil(q * R))
        edges = K.hist_edges()
        cum = np.cumsum(hist, axis=1, dtype=np.int64)
        b = np.argmax(cum >= k, axis=1)
        lo, hi = edges[b], edges[b + 1]
        mid = np.where(np.isfinite(hi), 0.5 * (lo + hi), lo)
        return np.minimum(np.maximum(mid, self.fmin[rows]), self.fmax[rows])

    def summary(self, s: int, night: Night, confidence: float) -> list[dict]:
        """The ``per_job`` list of scenario s (issue 12's keys), jobs in canonical order."""
        R = self.replications
        r0, r1 = int(self.job_off[s]), int(self.job_off[s + 1])
        p50 = self.finish_quantile(0.5, slice(r0, r1))
        p90 = self.finish_quantile(0.9, slice(r0, r1))
        out = []
        for j in range(r1 - r0):
            row = r0 + j
            out.append({
                "job_id": night.job_id[j],
                "late_probability": wilson(int(self.late[row]), R, confidence),
                "finish_minute_p50": float(p50[j]),
                "finish_minute_p90": float(p90[j]),
                "mean_wait_minutes": float(self.sum_wait[row] / R),
                "mean_dependency_delay_minutes": float(self.sum_dep[row] / R),
                "criticality": int(self.on_chain[row]) / R,
            })
        return out


@dataclass(eq=False)
class Replicated:
    """What ``replicate_detailed`` returns: ``samples`` (S, 8, R) as ``replicate``;
    ``extra`` (S, 2, R), columns ``kernel.EXTRA`` (late_jobs, worker_minutes_above_capacity),
    for scenarios that ran in the general loop (``general[s]``; zeros elsewhere), None when
    none did; ``per_job`` the streamed per-job totals when asked for."""

    samples: np.ndarray
    extra: np.ndarray | None
    general: np.ndarray
    per_job: PerJobTotals | None = None


def _per_scenario(value, count: int, default, what: str) -> list:
    if value is None or isinstance(value, (str, int, np.integer)):
        return [default if value is None else value] * count
    values = list(value)
    if len(values) != count:
        raise ScenarioError(f"{what}: {len(values)} values for {count} scenarios")
    return [default if v is None else v for v in values]


def _cap_area(steps: list[tuple[float, int]], horizon: float) -> float:
    """Capacity-minutes within [0, H]: sum of size x (length of its step inside [0, H])."""
    area = 0.0
    for k, (m, size) in enumerate(steps):
        end = steps[k + 1][0] if k + 1 < len(steps) else math.inf
        area += size * (min(end, horizon) - min(m, horizon))
    return area


@dataclass(frozen=True, eq=False)
class _Spec:
    """Checked scenario parameters of one call, as the kernels take them."""

    count: int
    scen_night: np.ndarray
    scen_workers: np.ndarray
    policies: list[str]
    general: np.ndarray  # needs the general loop whatever per_job says
    fifo: np.ndarray
    depth: np.ndarray
    cap_lo: np.ndarray
    cap_hi: np.ndarray
    cap_time: np.ndarray
    cap_size: np.ndarray
    cap_area: np.ndarray
    varcap: np.ndarray

    def kernel_scenarios(self, ids: Sequence[int]) -> tuple:
        """The scenarios ``ids`` as ``kernel._general_task`` takes them."""
        return (np.asarray(ids, dtype=np.int64), self.scen_night, self.fifo, self.depth,
                self.cap_lo, self.cap_hi, self.cap_time, self.cap_size, self.cap_area)

    @classmethod
    def build(cls, batch: Batch, scen_night, scen_workers, policy, capacity,
              backfill_depth) -> "_Spec":
        scen_night = np.asarray(scen_night, dtype=np.int64).reshape(-1)
        S = scen_night.shape[0]
        workers = np.array([check_workers(int(w)) for w in np.asarray(scen_workers).reshape(-1)],
                           dtype=np.int64)
        if workers.shape[0] != S:
            raise ScenarioError(f"{workers.shape[0]} worker counts for {S} scenarios")
        policies = [check_policy(p) for p in _per_scenario(policy, S, DEFAULT_POLICY,
                                                             "policy")]
        depths = [check_backfill_depth(d) for d in _per_scenario(
            backfill_depth, S, DEFAULT_BACKFILL_DEPTH, "backfill depth")]
        caps = list(capacity) if capacity is not None else [None] * S
        if len(caps) != S:
            raise ScenarioError(f"capacity: {len(caps)} values for {S} scenarios")
        horizon = batch.night_horizon[scen_night] if S else np.zeros(0)
        # a constant pool of ``workers``: one step each (vectorised: score runs many nights)
        cap_lo = np.arange(S, dtype=np.int64)
        cap_hi = cap_lo + 1
        cap_area = workers * horizon
        times: list[float] = [0.0] * S
        sizes: list[int] = workers.tolist()
        general = (batch.night_general[scen_night] if S else np.zeros(0, dtype=bool)).copy()
        plain = policy is None and capacity is None and not general.any()
        for s in range(0 if plain else S):
            cap = check_capacity(caps[s], int(workers[s])) if caps[s] is not None else None
            if policies[s] != DEFAULT_POLICY or cap is not None:
                general[s] = True
            if general[s]:
                why = infeasible(batch.nights[scen_night[s]], int(workers[s]), cap)
                if why:
                    raise ScenarioError(why)
            if cap is not None:
                st = capacity_steps(int(workers[s]), cap)
                cap_lo[s] = len(times)
                times.extend(m for m, _ in st)
                sizes.extend(z for _, z in st)
                cap_hi[s] = len(times)
                cap_area[s] = _cap_area(st, float(horizon[s]))
        return cls(S, scen_night, workers, policies, general,
                   np.array([p == "fifo" for p in policies], dtype=bool),
                   np.array(depths, dtype=np.int64), cap_lo, cap_hi,
                   np.array(times, dtype=np.float64), np.array(sizes, dtype=np.int64),
                   cap_area, (cap_hi - cap_lo) > 1)


def replicate_detailed(batch: Batch, scen_night: ArrayLike, scen_workers: ArrayLike,
                       replications: int, rep_start: int = 0, block: int | None = None,
                       progress: Callable[[int], None] | None = None, *,
                       policy: str | Sequence[str | None] | None = None,
                       capacity: Sequence[Capacity | None] | None = None,
                       backfill_depth: int | Sequence[int | None] | None = None,
                       per_job: bool | PerJobTotals = False,
                       _finishes: list[np.ndarray] | None = None,
                       _spec: "_Spec | None" = None) -> Replicated:
    """Replications rep_start .. rep_start + R - 1 of every scenario, with the features of
    issues 12 and 13.

    ``policy``: 'tutorial' (default), 'priority', 'fifo' or 'backfill', one for all scenarios
    or one per scenario; ``capacity``: per scenario None or absolute steps [(minute, size)]
    (``check_capacity``); ``backfill_depth``: jobs behind the head a backfill pass may start
    (default 64). ``per_job``: True for per-job statistics (``PerJobTotals``), or the totals of
    an earlier call to continue (its rep_start must be where that one stopped).

    A scenario whose night uses no optional column, on the tutorial policy with a constant
    pool and without per-job statistics, runs through ``kernel.simulate_batch`` (today's
    kernel); every other scenario through the general event loop of its policy. Every
    scenario of a night sees the same random nights (common random numbers).
    """
    replications = check_replications(replications)
    # _spec: these very parameters already checked (simulate_scenarios, chunk by chunk)
    spec = _spec or _Spec.build(batch, scen_night, scen_workers, policy, capacity,
                                backfill_depth)
    scen_night, scen_workers, S = spec.scen_night, spec.scen_workers, spec.count
    if block is not None and block < 1:
        raise ScenarioError(f"block must be >= 1, got {block!r}")
    totals = per_job if isinstance(per_job, PerJobTotals) else None
    want_jobs = totals is not None or bool(per_job)
    general = spec.general | want_jobs
    _check_memory(S, replications, extra=bool(general.any()))
    if not general.any():  # today's kernel, today's calls
        out = _replicate_today(batch, scen_night, scen_workers, replications, rep_start, block,
                               progress)
        return Replicated(out, None, general)
    out = np.empty((S, K.N_METRICS, replications), dtype=np.float64)
    fast = np.flatnonzero(~general)
    if fast.shape[0]:
        out[fast] = _replicate_today(batch, scen_night[fast], scen_workers[fast], replications,
                                     rep_start, block, progress)
    ids = np.flatnonzero(general)
    extra = np.zeros((S, K.N_EXTRA, replications), dtype=np.float64)
    sizes = np.diff(batch.night_start)[scen_night]
    # calls sized by jobs x replications as in _replicate_today (Ctrl-C between calls)
    jobs = max(1, int(sizes[ids].max()))
    scen_step = max(1, min(ids.shape[0], CALL_WORK // jobs))
    per_call = max(1, min(CALL_REPLICATIONS, CALL_WORK // (jobs * scen_step)))
    job_off = np.zeros(S + 1, np.int64)
    if want_jobs:
        np.cumsum(sizes, out=job_off[1:])
        if _finishes is not None:  # the per-job buffers only, no totals
            pass
        elif totals is None:
            dl = np.concatenate([batch.deadline[batch.night_start[g]:batch.night_start[g + 1]]
                                 for g in scen_night]) if S else np.zeros(0)
            totals = PerJobTotals(job_off, dl)
        elif totals.job_off.shape != job_off.shape or not np.array_equal(totals.job_off,
                                                                          job_off):
            raise ScenarioError("per_job totals belong to other scenarios")
        if totals is not None and totals.replications + replications >= 2**32:
            raise ScenarioError("per-job statistics count at most 4,294,967,295 replications")
        rows = int(job_off[-1])
        per_call = max(1, min(per_call, PER_JOB_BUFFER // max(1, rows)))
        pj_fin = np.empty((min(per_call, replications), rows), np.float64)
        pj_wait = np.empty_like(pj_fin)
        pj_dep = np.empty_like(pj_fin)
        pj_chain = np.empty(pj_fin.shape, np.uint8)
    else:
        pj_fin = pj_wait = pj_dep = np.empty((1, 0), np.float64)
        pj_chain = np.empty((1, 0), np.uint8)
    if block is None:
        block = default_block(min(replications, per_call), min(ids.shape[0], scen_step))
    no_f = np.empty(0, np.float64)
    no_i = np.empty(0, np.int64)
    no_trace = (no_f, no_f, no_f, no_f, no_i, no_i, no_i, np.empty(0, np.uint8))
    layout = batch.kernel_layout()
    ext = batch.kernel_extensions()
    outputs = (out, extra, job_off, pj_fin, pj_wait, pj_dep, pj_chain)
    done = 0
    while done < replications:
        m = min(per_call, replications - done)
        for g0 in range(0, ids.shape[0], scen_step):
            group = ids[g0:g0 + scen_step]
            for code in sorted({_POLICY_CODE[spec.policies[s]] for s in group}):
                mine = [int(s) for s in group if _POLICY_CODE[spec.policies[s]] == code]
                K.GENERAL[code](layout, spec.kernel_scenarios(mine), ext, rep_start + done,
                                block, done, m, outputs, no_trace)
            if progress is not None:
                progress(m * group.shape[0])
        if _finishes is not None:  # finish_samples: this call's finishes, scenario by scenario
            for s, dest in enumerate(_finishes):
                dest[done:done + m] = pj_fin[:m, job_off[s]:job_off[s + 1]]
        if totals is not None:
            K.fold_per_job(pj_fin, pj_wait, pj_dep, pj_chain, totals.deadline, m, totals.late,
                           totals.on_chain, totals.sum_wait, totals.sum_dep, totals.fmin,
                           totals.fmax, totals.hist)
            totals.replications += m
        done += m
    return Replicated(out, extra, general, totals)


def finish_samples(batch: Batch, scen_night: ArrayLike, scen_workers: ArrayLike,
                   replications: int, rep_start: int = 0, *,
                   policy: str | Sequence[str | None] | None = None,
                   capacity: Sequence[Capacity | None] | None = None,
                   backfill_depth: int | Sequence[int | None] | None = None
                   ) -> list[np.ndarray]:
    """Every job's finish time, replication by replication: one (R, n_s) array per scenario
    (jobs in canonical order), run through the general loop with the per-job buffers (the
    numbers ``trace`` gives one replication at a time, at the speed of a run). For scores that
    need each job's own forecast distribution on a modest number of replications (backtest's
    per-job coverage); ``replicate_detailed(per_job=True)`` streams statistics instead."""
    replications = check_replications(replications)
    nights_of = np.asarray(scen_night, dtype=np.int64).reshape(-1)
    out = [np.empty((replications, batch.nights[g].n_jobs)) for g in nights_of]
    replicate_detailed(batch, nights_of, scen_workers, replications, rep_start, policy=policy,
                       capacity=capacity, backfill_depth=backfill_depth, per_job=True,
                       _finishes=out)
    return out


def _replicate_today(batch: Batch, nights_of: np.ndarray, workers_of: np.ndarray,
                     replications: int, rep_start: int, block: int | None,
                     progress: Callable[[int], None] | None) -> np.ndarray:
    """Today's kernel (``kernel.simulate_batch``) for scenarios without any feature of issues
    12 and 13: (S, 8, R) metrics in calls sized by jobs x replications."""
    n_scen = len(nights_of)
    jobs = max([1] + [batch.nights[g].n_jobs for g in nights_of])
    scen_step = max(1, min(n_scen, CALL_WORK // jobs))  # scenarios per call
    per_call = max(1, min(CALL_REPLICATIONS, CALL_WORK // (jobs * scen_step)))
    if block is None:
        block = default_block(min(replications, per_call), min(n_scen, scen_step))
    out = np.empty((n_scen, K.N_METRICS, replications), dtype=np.float64)
    for s0 in range(0, n_scen, scen_step):
        s1 = min(n_scen, s0 + scen_step)
        done = 0
        while done < replications:
            m = min(per_call, replications - done)
            # each call writes its columns done .. done + m - 1 of out[s0:s1] (C-contiguous:
            # the layout numba compiled for) in place
            K.simulate_batch(batch.night_start, batch.base_a, batch.base_r, batch.sigma,
                             batch.level, batch.excl, batch.key_arr, batch.key_rt,
                             batch.base_order, batch.night_levels, batch.night_jitter,
                             batch.night_horizon, nights_of[s0:s1], workers_of[s0:s1],
                             rep_start + done, block, done, m, out[s0:s1])
            done += m
            if progress is not None:
                progress(m * (s1 - s0))
    return out


def _check_memory(scenarios: int, replications: int, extra: bool = False,
                  per_replication: int = 8 * K.N_METRICS, transient: int = 0) -> None:
    """Refuse a run whose per-replication metrics (``per_replication`` bytes each: 64 as the
    kernels write them, at most 48 as ``MetricSamples`` keeps them; 16 more with the general
    loop's extra columns), plus ``transient`` bytes held meanwhile (the chunk the kernels
    write into), cannot fit in this machine's memory, with a message instead of an
    allocation failure."""
    per_replication += 8 * K.N_EXTRA if extra else 0
    need = scenarios * per_replication * replications + transient
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on this platform: let numpy try
        return
    if need > 0.8 * have:
        raise ScenarioError(
            f"{replications:,} replications x {scenarios} scenario(s) need "
            f"{need / 2**30:,.1f} GiB for the per-replication metrics ({per_replication} "
            f"bytes each), more "
            f"than this machine's {have / 2**30:,.1f} GiB allows: use fewer replications or a "
            f"precision target")


def trace(night: Night, workers: int, rep: int = 0, perturbation: Perturbation | None = None,
          seed: int = DEFAULT_SEED, *, policy: str | None = None,
          capacity: Capacity | None = None, backfill_depth: int | None = None,
          detail: bool = False) -> dict[str, Any]:
    """One replication in full: drawn arrivals, runtimes, start times and the eight metrics.

    A feature-free night on the tutorial policy (and ``detail`` False) replays through today's
    kernel and returns exactly those keys. Otherwise (a night with optional columns, a policy,
    a capacity schedule, or ``detail=True``) the general loop replays it and the dict also
    holds, per job (canonical order): ``ready_minute``, ``wait_minutes`` (start - ready),
    ``dependency_delay_minutes`` (ready - arrival), ``workers_used``, ``lanes`` (the worker
    lanes 0.. it ran on, lowest free first; for a Gantt chart), ``ready_set_by`` (index of the
    predecessor whose finish set the ready time, -1: its own arrival), ``freed_by`` (index of
    the job whose finish freed the workers it started on, -1: it did not wait or no job
    finished then), ``on_chain`` (on the critical chain), ``deadline_minute`` (the cutoff
    without one) and ``late``; and ``late_jobs``, ``worker_minutes_above_capacity``,
    ``capacity`` (the pool as [(minute, size)] steps).
    """
    b = prepare([night], perturbation, seed)
    general = (detail or policy not in (None, DEFAULT_POLICY) or capacity is not None
               or night.needs_general_loop)
    n = night.n_jobs
    a = np.empty(n)
    r = np.empty(n)
    start = np.full(n, np.nan)
    if not general:
        out = np.empty(K.N_METRICS)
        K.trace_night(rep, b.base_a, b.base_r, b.sigma, b.level, b.excl, b.key_arr, b.key_rt,
                      b.base_order, int(b.night_levels[0]), float(b.night_jitter[0]),
                      float(b.night_horizon[0]), check_workers(workers), a, r, start, out)
        return {"arrival_minute": a, "runtime_minutes": r, "start_minute": start,
                "finish_minute": start + r, "metrics": dict(zip(METRICS, out.tolist()))}
    if isinstance(rep, bool) or not isinstance(rep, (int, np.integer)) or rep < 0:
        raise ScenarioError(f"replication must be an integer >= 0, got {rep!r}")
    spec = _Spec.build(b, [0], [workers], policy, [capacity], backfill_depth)
    ready = np.full(n, np.nan)
    used = np.zeros(n, np.int64)
    setter = np.full(n, -1, np.int64)
    freed = np.full(n, -1, np.int64)
    chain = np.zeros(n, np.uint8)
    out = np.empty((1, K.N_METRICS, 1))
    extra = np.empty((1, K.N_EXTRA, 1))
    K.GENERAL[_POLICY_CODE[spec.policies[0]]](
        b.kernel_layout(), spec.kernel_scenarios([0]), b.kernel_extensions(), int(rep), 1, 0,
        1,
        (out, extra, np.zeros(2, np.int64), np.empty((1, 0)), np.empty((1, 0)),
         np.empty((1, 0)), np.empty((1, 0), np.uint8)),
        (a, r, ready, start, used, setter, freed, chain))
    finish = start + r
    deadline = b.deadline.copy()
    steps = list(zip(spec.cap_time[spec.cap_lo[0]:spec.cap_hi[0]].tolist(),
                     spec.cap_size[spec.cap_lo[0]:spec.cap_hi[0]].tolist()))
    return {"job_id": night.job_id, "arrival_minute": a, "runtime_minutes": r,
            "ready_minute": ready, "start_minute": start, "finish_minute": finish,
            "wait_minutes": start - ready, "dependency_delay_minutes": ready - a,
            "workers_used": used, "lanes": _lanes(start, finish, used),
            "ready_set_by": setter, "freed_by": freed, "on_chain": chain.astype(bool),
            "deadline_minute": deadline, "late": finish > deadline,
            "metrics": dict(zip(METRICS, out[0, :, 0].tolist())),
            "late_jobs": int(extra[0, 0, 0]),
            "worker_minutes_above_capacity": float(extra[0, 1, 0]), "capacity": steps}


def draw_replications(batch: Batch, night: int = 0, replications: int = 1,
                      rep_start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The arrivals and runtimes, each (replications, jobs), that the event loops draw for
    night ``night`` of ``batch`` in replications rep_start .. rep_start + R - 1 (the same
    compiled draw code: lognormal factors and jitter, and the runtime draws of issue 14 and
    the re-forecast state of issue 15 when the night has them). For tests and studies of the
    runtime model apart from the queue."""
    replications = check_replications(replications)
    if not 0 <= night < len(batch.nights):
        raise ScenarioError(f"night must be an index 0..{len(batch.nights) - 1}, got {night!r}")
    if isinstance(rep_start, bool) or not isinstance(rep_start, (int, np.integer)) or (
            rep_start < 0):
        raise ScenarioError(f"rep_start must be an integer >= 0, got {rep_start!r}")
    n = batch.nights[night].n_jobs
    a = np.empty((replications, n))
    r = np.empty((replications, n))
    K.draw_block(batch.kernel_layout(), batch.kernel_extensions(), night, int(rep_start), a, r)
    return a, r


def _lanes(start: np.ndarray, finish: np.ndarray, used: np.ndarray) -> tuple[tuple[int, ...], ...]:
    """Worker lanes of every job for a Gantt chart: jobs in (start, index) order take the
    lowest free lanes; a lane frees at its job's finish (a finish at t frees it for a start at
    t). Lanes never exceed the largest pool of the night (busy <= capacity at every start)."""
    import heapq

    n = start.shape[0]
    free: list[int] = []
    top = 0
    running: list[tuple[float, int]] = []
    lanes: list[tuple[int, ...]] = [()] * n
    for j in sorted(range(n), key=lambda k: (start[k], k)):
        while running and running[0][0] <= start[j]:
            _, k = heapq.heappop(running)
            for lane in lanes[k]:
                heapq.heappush(free, lane)
        mine = []
        for _ in range(int(used[j])):
            if free:
                mine.append(heapq.heappop(free))
            else:
                mine.append(top)
                top += 1
        lanes[j] = tuple(sorted(mine))
        heapq.heappush(running, (float(finish[j]), j))
    return tuple(lanes)


# ---------------------------------------------------------------- results
def queueing(night: Night, workers: int) -> dict[str, float]:
    """lambda = n / max(H/60, 1) per hour; mu = 60 / mean runtime per worker;
    rho = lambda / (c mu)."""
    n = night.n_jobs
    lam = n / max(night.horizon_minutes / 60.0, 1.0)
    mean_rt = float(night.runtime_minutes.mean()) if n else math.nan
    mu = 60.0 / mean_rt if n else math.nan
    rho = lam / (workers * mu) if n else math.nan
    return {"lambda_per_hour": lam, "mu_per_hour": mu, "workers": workers, "rho": rho}


def deterministic(night: Night, workers: int, *, policy: str | None = None,
                  capacity: Capacity | None = None,
                  backfill_depth: int | None = None) -> dict[str, float]:
    """The tutorial's single zero-noise replay of the night (the published numbers); with
    deadlines also ``late_jobs``, with a capacity schedule ``worker_minutes_above_capacity``."""
    rep = replicate_detailed(prepare([night.planned()]), [0], [workers], 1, policy=policy,
                             capacity=None if capacity is None else [capacity],
                             backfill_depth=backfill_depth)
    d = _metric_dict(rep.samples[0, :, 0])
    if rep.extra is not None:
        if night.has_deadlines:
            d["late_jobs"] = int(rep.extra[0, 0, 0])
        if capacity is not None:
            d["worker_minutes_above_capacity"] = float(rep.extra[0, 1, 0])
    return d


def _metric_dict(values: np.ndarray) -> dict[str, float]:
    d = dict(zip(METRICS, (float(v) for v in values)))
    for k in ("max_queue_length", "overflow_jobs"):
        d[k] = int(d[k])
    return d


@dataclass(eq=False)
class SimulationResult(Notebook):
    """One scenario: the night, its parameters, deterministic metrics, Monte Carlo summary.

    ``samples`` keeps the per-replication metrics (8 x R, columns ``METRICS``; a
    ``MetricSamples``, 44 bytes a replication (48 for nights of 32,768 jobs or more), read as
    the float64 array) for paired comparisons; ``to_dict()`` gives the JSON contract of
    docs/model.md. The fields after ``extra`` hold the quantities of issues 12 and 13 and stay
    None when unused, so a run without them gives exactly today's dict: ``policy`` (when
    given), ``backfill_depth`` (backfill), ``capacity`` (absolute steps, when given),
    ``late_jobs`` (per replication, when some job has a deadline), ``above_capacity`` (worker-
    minutes above a shrunken pool per replication, with a capacity schedule) and ``per_job``
    (the per-job list, when asked for).
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
    samples: MetricSamples = field(repr=False)
    extra: dict = field(default_factory=dict)
    policy: str | None = None
    backfill_depth: int | None = None
    capacity: Capacity | None = None
    late_jobs: np.ndarray | None = field(default=None, repr=False)
    above_capacity: np.ndarray | None = field(default=None, repr=False)
    per_job: list[dict] | None = field(default=None, repr=False)

    @property
    def overflow_probability(self) -> dict:
        return self.monte_carlo["overflow_probability"]

    def to_dict(self) -> dict:
        nt = self.night
        d: dict = {
            "scenario": self.scenario,
            "batch_date": nt.batch_date,
            "window": nt.window,
            "workers": self.workers,
        }
        if self.policy is not None:
            d["policy"] = self.policy
        if self.backfill_depth is not None:
            d["backfill_depth"] = self.backfill_depth
        if self.capacity is not None:
            d["capacity"] = [{"minute": m, "workers": z} for m, z in self.capacity]
        d.update({
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
        })
        if self.per_job is not None:
            d["per_job"] = [dict(row) for row in self.per_job]
        d.update(self.extra)
        return plain(d)


def summarize_samples(samples: np.ndarray | MetricSamples, horizon: float,
                      confidence: float) -> dict:
    """Monte Carlo block of the contract from one scenario's (8, R) metrics (an array, or a
    ``MetricSamples``: the same numbers, without a float copy of its counts)."""
    if isinstance(samples, MetricSamples):
        return _summarize_compact(samples, horizon, confidence)
    cols = np.ascontiguousarray(samples, dtype=np.float64)
    mc = dict(zip(METRICS, summarize_columns(
        cols, confidence, [METRIC_RANGE.get(m, (0.0, math.inf)) for m in METRICS])))
    drained = samples[METRICS.index("queue_drained_minute")]
    mc["overflow_probability"] = wilson(int(np.count_nonzero(drained > horizon)),
                                        samples.shape[1], confidence)
    return mc


def _summarize_compact(samples: MetricSamples, horizon: float, confidence: float) -> dict:
    """``summarize_samples`` of the compact store: the float rows and, as one more task on the
    same threads (``summarize_columns``' ``beside``; every kernel releases the GIL), the counts
    and the share summarised from the integers."""
    bounds = [METRIC_RANGE.get(m, (0.0, math.inf)) for m in FLOAT_METRICS]
    count_rows: list[dict[str, float]] = []
    late: list[int] = []

    def counts() -> None:  # and the nights that overflowed, on the same thread
        count_rows.extend(summarize_count_pair(samples.counts, samples.jobs, confidence,
                                               METRIC_RANGE["overflow_risk"]))
        late.append(count_above(samples.column("queue_drained_minute"), horizon))

    float_rows = summarize_columns(samples.floats, confidence, bounds, beside=counts)
    by_name = dict(zip(FLOAT_METRICS, float_rows))
    by_name.update(zip(("max_queue_length", "overflow_jobs", "overflow_risk"), count_rows))
    mc = {m: by_name[m] for m in METRICS}
    mc["overflow_probability"] = wilson(late[0], samples.replications, confidence)
    return mc


def feature_summaries(mc: dict, night: Night, extra: np.ndarray | None, capacity: bool,
                      confidence: float) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Add the night-level statistics of issues 12 and 13 to a Monte Carlo block ``mc`` from
    one scenario's (2, R) ``extra`` columns (``kernel.EXTRA``): ``late_jobs`` and
    ``any_late_probability`` when some job has a deadline, ``worker_minutes_above_capacity``
    with a capacity schedule; nothing otherwise. Returns the per-replication late-job counts
    and worker-minutes above capacity (None when not added)."""
    late = above = None
    if extra is None:
        return late, above
    R = extra.shape[1]
    if night.has_deadlines:
        late = extra[0].copy()
        mc["late_jobs"] = summarize(late, confidence, 0.0, float(night.n_jobs))
        mc["any_late_probability"] = wilson(int(np.count_nonzero(late > 0)), R, confidence)
    if capacity:
        above = extra[1].copy()
        mc["worker_minutes_above_capacity"] = summarize(above, confidence, 0.0)
    return late, above


@dataclass(frozen=True)
class Scenario:
    """A night on a worker count; ``name`` defaults to '<batch_date> on <c> workers'.

    ``policy`` (None: tutorial, and no ``policy`` key in the output), ``capacity`` (absolute
    steps [(minute after the batch start, workers)], None: a constant pool) and
    ``backfill_depth`` (None: 64) are the parameters of issue 13; HH:MM and relative sizes are
    resolved by the caller.
    """

    night: Night
    workers: int
    name: str | None = None
    policy: str | None = None
    capacity: Capacity | None = None
    backfill_depth: int | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        w = f" window {self.night.window}" if self.night.window else ""
        text = f"{self.night.batch_date}{w} on {self.workers} workers"
        if self.policy is not None:
            text += f", {self.policy}"
        if self.capacity is not None:
            text += ", capacity " + " ".join(f"{m:g}={z}" for m, z in self.capacity)
        return text


def simulate_scenarios(scenarios: Iterable[Scenario], replications: int = DEFAULT_REPLICATIONS,
                       seed: int = DEFAULT_SEED, runtime_cv: float = DEFAULT_RUNTIME_CV,
                       arrival_jitter: float = DEFAULT_ARRIVAL_JITTER,
                       class_cv: Mapping[str, float] | None = None,
                       confidence: float = DEFAULT_CONFIDENCE, block: int | None = None,
                       progress: Callable[[int], None] | None = None,
                       keep_samples: bool = True, per_job: bool = False) -> list[SimulationResult]:
    """Simulate several scenarios in one parallel kernel call (common random numbers: the same
    seed gives every scenario of the same night the same random nights, whatever its worker
    count, policy or capacity). ``per_job`` adds the per-job statistics (issue 12)."""
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
    caps = [None if sc.capacity is None else check_capacity(sc.capacity, sc.workers)
            for sc in scenarios]
    policies = [sc.policy for sc in scenarios]
    depths = [sc.backfill_depth for sc in scenarios]
    batch = prepare(nights, pert, seed)
    S = len(scenarios)
    jobs_of = np.diff(batch.night_start)[np.asarray(scen_night, dtype=np.int64)]
    workers = [sc.workers for sc in scenarios]
    spec = _Spec.build(batch, scen_night, workers, policies, caps, depths)  # checked once
    general = bool(per_job) or bool(spec.general.any())
    # the kernels' float64 metrics arrive chunk by chunk and are kept compactly (counts as
    # int16 or int32, the share derived: ``MetricSamples``); results do not depend on the
    # cut (replications are keyed)
    step = (replications if S * replications <= CHUNK_CELLS
            else max(1, CHUNK_CELLS // max(1, S)))
    chunk = S * min(step, replications) * 8 * (K.N_METRICS + (K.N_EXTRA if general else 0))
    _check_memory(S, replications, extra=general, per_replication=BYTES_PER_REPLICATION,
                  transient=chunk)
    samples = [MetricSamples.empty(replications, int(jobs_of[s])) for s in range(S)]
    extra_cols: np.ndarray | None = None
    totals: bool | PerJobTotals = per_job
    done = 0
    while done < replications:
        m = min(step, replications - done)
        run = replicate_detailed(batch, scen_night, workers, m, rep_start=done, block=block,
                                 progress=progress, policy=policies, capacity=caps,
                                 backfill_depth=depths, per_job=totals, _spec=spec)
        for s in range(S):
            samples[s].put(done, run.samples[s])
        if run.extra is not None:
            if extra_cols is None:
                extra_cols = np.zeros((S, K.N_EXTRA, replications))
            extra_cols[:, :, done:done + m] = run.extra
        if run.per_job is not None:
            totals = run.per_job
        done += m
        del run
    results = []
    for s, sc in enumerate(scenarios):
        nt = sc.night
        mc = summarize_samples(samples[s], nt.horizon_minutes, confidence)
        late, above = feature_summaries(mc, nt, None if extra_cols is None else extra_cols[s],
                                        caps[s] is not None, confidence)
        effective = sc.policy or DEFAULT_POLICY
        results.append(SimulationResult(
            scenario=sc.label, night=nt, workers=sc.workers, replications=replications,
            seed=seed, confidence=confidence, perturbation=pert,
            queueing=queueing(nt, sc.workers),
            deterministic=deterministic(nt, sc.workers, policy=sc.policy, capacity=caps[s],
                                        backfill_depth=sc.backfill_depth),
            monte_carlo=mc,
            samples=samples[s] if keep_samples else MetricSamples.empty(0, int(jobs_of[s])),
            policy=sc.policy,
            backfill_depth=(check_backfill_depth(
                DEFAULT_BACKFILL_DEPTH if sc.backfill_depth is None else sc.backfill_depth)
                if effective == "backfill" else None),
            capacity=caps[s], late_jobs=late, above_capacity=above,
            per_job=(totals.summary(s, nt, confidence) if isinstance(totals, PerJobTotals)
                     else None),
        ))
    return results


def simulate(night: Night, workers: int = 3, replications: int = DEFAULT_REPLICATIONS,
             seed: int = DEFAULT_SEED, runtime_cv: float = DEFAULT_RUNTIME_CV,
             arrival_jitter: float = DEFAULT_ARRIVAL_JITTER,
             class_cv: Mapping[str, float] | None = None,
             confidence: float = DEFAULT_CONFIDENCE, block: int | None = None,
             name: str | None = None,
             progress: Callable[[int], None] | None = None, *,
             policy: str | None = None, capacity: Capacity | None = None,
             backfill_depth: int | None = None, per_job: bool = False) -> SimulationResult:
    """Replay ``night`` ``replications`` times on ``workers`` workers and summarise.

    >>> from mcqueue import load_sample, simulate
    >>> r = simulate(load_sample("2026-05-13"), workers=3, replications=1000, seed=0)
    >>> r.deterministic["average_wait_minutes"]
    29.0
    """
    return simulate_scenarios([Scenario(night, workers, name, policy, capacity,
                                        backfill_depth)], replications, seed, runtime_cv,
                              arrival_jitter, class_cv, confidence, block, progress,
                              per_job=per_job)[0]


def kernel_cache_ready(policies: Iterable[str] = (), per_job: bool = False) -> bool:
    """True when the compiled engine is already in numba's on-disk cache (no compile pause):
    today's kernel, and the general loop of each of ``policies`` (issue 13) and the per-job
    fold when asked (a run that uses them compiles them on first use)."""
    kernels = [K.batch_range]
    kernels += [K.GENERAL_RANGE[_POLICY_CODE[check_policy(p)]] for p in policies]
    if per_job:
        kernels.append(K.fold_per_job_range)
    try:
        # the index lists compiled overloads only while its source stamp matches kernel.py
        return all(bool(k._cache._cache_file._load_index()) for k in kernels)
    except Exception:  # numba internals moved: assume the worst, the notice is harmless
        return False
