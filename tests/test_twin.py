"""The numba kernel against the naive twin (tests/naive.py), replication by replication.

For each random small night, ``engine.trace`` returns replication ``rep``'s drawn arrivals and
runtimes plus the kernel's start times and metrics; the twin replays the same draws and must
agree:
- start times, p95 wait, max queue, overflow count and share, drained minute: exactly (they are
  single float operations on the same inputs, or counts);
- average wait, average queue length, utilisation: within a relative 1e-12. These are sums: the
  kernel adds terms in event order, the twin uses math.fsum (correctly rounded). Every term is
  >= 0, so each sum of n <= 3 * 12 terms has a relative rounding error of at most
  n * 2**-53 < 5e-15; 1e-12 leaves room without hiding a wrong term (a wrong term changes the sum
  by far more).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcqueue.engine import simulate as engine
from mcqueue.engine.perturbation import Perturbation
from mcqueue.io.schema import Night, night_from_frame, validate_jobs
from naive import METRICS, assert_metrics_match, naive_of_night

SETTINGS = settings(max_examples=500, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

BATCHES = [("01:00", "05:00"), ("01:00", "02:00"), ("22:00", "02:00"), ("23:30", "00:15"),
           ("00:00", "00:00")]

minutes = st.one_of(st.integers(0, 90).map(float),  # whole minutes: ties at the same minute
                    st.floats(0, 90, allow_nan=False, allow_infinity=False))
runtimes = st.one_of(st.integers(1, 60).map(float),
                     st.floats(0.01, 120, allow_nan=False, allow_infinity=False))
noise = st.tuples(st.one_of(st.just(0.0), st.sampled_from([0.1, 0.25, 1.0]),
                            st.floats(0, 2, allow_nan=False)),
                  st.one_of(st.just(0.0), st.sampled_from([1.0, 15.0]),
                            st.floats(0, 45, allow_nan=False)))
job_ids = st.text(alphabet="ABab09-_", min_size=1, max_size=4)


def empty_night(batch_start="01:00", batch_end="05:00") -> Night:
    """A night without jobs, built directly (Night.from_arrays([], []) refuses it: see
    test_from_arrays_accepts_an_empty_night)."""
    return Night(batch_date="empty", job_id=(), workload_class=(),
                 arrival_minute=np.empty(0), runtime_minutes=np.empty(0),
                 priority=np.empty(0, np.int64), exclusive=np.empty(0, bool),
                 batch_start=batch_start, batch_end=batch_end)


@st.composite
def array_nights(draw):
    n = draw(st.integers(0, 12))
    arrival = draw(st.lists(minutes, min_size=n, max_size=n))
    runtime = draw(st.lists(runtimes, min_size=n, max_size=n))
    priority = draw(st.lists(st.integers(-2, 3), min_size=n, max_size=n))
    exclusive = draw(st.lists(st.sampled_from([False, False, False, True]),
                              min_size=n, max_size=n))
    ids = draw(st.one_of(st.none(), st.lists(job_ids, min_size=n, max_size=n, unique=True)))
    start, end = draw(st.sampled_from(BATCHES))
    if n == 0:
        return empty_night(start, end)
    return Night.from_arrays(arrival, runtime, priority, exclusive, ids,
                             batch_start=start, batch_end=end)


def hhmm(minute_of_day: int) -> str:
    m = minute_of_day % 1440
    return f"{m // 60:02d}:{m % 60:02d}"


@st.composite
def record_nights(draw):
    """Records through validate_jobs + night_from_frame, windows given as HH:MM strings
    (often crossing midnight), some with an explicit arrival_minute."""
    start, end = draw(st.sampled_from([("22:00", "02:00"), ("23:00", "01:30"),
                                       ("01:00", "05:00"), ("20:00", "20:00")]))
    s = int(start[:2]) * 60 + int(start[3:])
    n = draw(st.integers(0, 10))
    records = []
    for i in range(n):
        offset = draw(st.integers(-90, 240))  # before the start too
        rec = {"batch_date": "2026-05-20", "job_id": f"R{i:02d}",
               "requested_window": hhmm(s + offset),
               "workload_class": draw(st.sampled_from(["etl", "refresh", "backfill"])),
               "estimated_runtime_minutes": draw(runtimes),
               "priority": draw(st.integers(0, 3)),
               "requires_exclusive_lock": draw(st.sampled_from([False, "false", 0, True]
                                                               + [False] * 4))}
        if draw(st.integers(0, 4)) == 0:
            rec["arrival_minute"] = draw(minutes)
        records.append(rec)
    if n == 0:
        return empty_night(start, end)
    return night_from_frame(validate_jobs(records), "2026-05-20", batch_start=start,
                            batch_end=end)


def check_twin(night, workers, cv, jitter, seed, rep):
    pert = Perturbation(cv, jitter)
    tr = engine.trace(night, workers, rep, pert, seed)
    context = f"{night!r} workers={workers} cv={cv} jitter={jitter} seed={seed} rep={rep}"
    if cv == 0:
        assert np.array_equal(tr["runtime_minutes"], night.runtime_minutes)
    if jitter == 0:
        assert np.array_equal(tr["arrival_minute"], night.arrival_minute)
    assert np.all(tr["arrival_minute"] >= night.arrival_minute)
    assert np.all(tr["arrival_minute"] <= night.arrival_minute + jitter)
    twin = naive_of_night(night, workers, tr["arrival_minute"], tr["runtime_minutes"])
    assert_metrics_match(tr["metrics"], twin["metrics"], context)
    assert np.array_equal(tr["start_minute"], np.array(twin["start_minute"], dtype=float)), (
        f"start times differ: {context}\nkernel {tr['start_minute']}\n"
        f"twin   {twin['start_minute']}")
    # the parallel driver gives the same replication
    batch = engine.prepare([night], pert, seed)
    out = engine.replicate(batch, [0], [workers], 2, rep_start=rep)
    assert np.array_equal(out[0, :, 0], [tr["metrics"][m] for m in METRICS]), context
    nxt = engine.trace(night, workers, rep + 1, pert, seed)["metrics"]
    assert np.array_equal(out[0, :, 1], [nxt[m] for m in METRICS]), context


@SETTINGS
@given(night=array_nights(), workers=st.integers(1, 4), cv_jitter=noise,
       seed=st.integers(0, 2**64 - 1), rep=st.integers(0, 10**9))
def test_kernel_matches_twin_on_array_nights(night, workers, cv_jitter, seed, rep):
    check_twin(night, workers, *cv_jitter, seed, rep)


@SETTINGS
@given(night=record_nights(), workers=st.integers(1, 3), cv_jitter=noise,
       seed=st.integers(0, 2**64 - 1), rep=st.integers(0, 10**6))
def test_kernel_matches_twin_on_record_nights(night, workers, cv_jitter, seed, rep):
    check_twin(night, workers, *cv_jitter, seed, rep)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), workers=st.integers(1, 3), end=st.sampled_from(["01:20", "01:30"]))
def test_kernel_matches_twin_on_whole_minute_nights_at_the_cutoff(data, workers, end):
    """Zero noise, whole minutes, a short horizon: many ties, and many jobs finishing exactly at
    the cutoff H (not an overflow) or straddling it (utilisation and queue area clipped at H)."""
    n = data.draw(st.integers(1, 8))
    small = st.lists(st.integers(0, 25), min_size=n, max_size=n)
    arrival = data.draw(small)
    runtime = [x + 1 for x in data.draw(small)]
    priority = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    exclusive = data.draw(st.lists(st.sampled_from([False, False, True]), min_size=n,
                                   max_size=n))
    night = Night.from_arrays(arrival, runtime, priority, exclusive, batch_end=end)
    check_twin(night, workers, 0.0, 0.0, 0, 0)


def test_twin_cases_by_hand():
    """Pinned edge cases: empty night, one job, ties at the same minute, exclusive blocking."""
    empty = empty_night()
    check_twin(empty, 2, 0.5, 10.0, 1, 0)
    assert engine.trace(empty, 2)["metrics"] == dict.fromkeys(METRICS, 0.0)

    one = Night.from_arrays([30.0], [12.5])
    tr = engine.trace(one, 1)
    assert tr["start_minute"].tolist() == [30.0]
    assert tr["metrics"]["queue_drained_minute"] == 42.5
    check_twin(one, 1, 0.3, 5.0, 7, 3)

    # three jobs ready at minute 0 on one worker: priority first, then job_id
    tie = Night.from_arrays([0, 0, 0], [10, 10, 10], [1, 2, 1], job_id=["b", "c", "a"])
    tr = engine.trace(tie, 1)
    # job_id order a, b, c; c has the higher priority, then a before b
    assert tr["start_minute"].tolist() == [10.0, 20.0, 0.0]
    check_twin(tie, 1, 0.0, 0.0, 0, 0)

    # an exclusive job waits for the pool to empty and blocks lower... and higher priorities
    excl = Night.from_arrays([0, 1, 2], [10, 5, 5], [1, 1, 9], [False, True, False],
                             job_id=["a", "x", "z"])
    tr = engine.trace(excl, 2)
    assert tr["start_minute"].tolist() == [0.0, 10.0, 15.0]
    check_twin(excl, 2, 0.0, 0.0, 0, 0)

    # finishing exactly at the cutoff is not an overflow; one minute later is
    cut = Night.from_arrays([0, 0], [240, 241])
    m = engine.trace(cut, 2)["metrics"]
    assert (m["overflow_jobs"], m["overflow_risk"], m["queue_drained_minute"]) == (1, 0.5, 241)
    assert m["worker_utilization"] == 1.0
    check_twin(cut, 2, 0.0, 0.0, 0, 0)

    # a finish and an arrival at the same minute: the worker is free for the arrival
    same = Night.from_arrays([0, 10], [10, 5])
    assert engine.trace(same, 1)["start_minute"].tolist() == [0.0, 10.0]
    assert engine.trace(same, 1)["metrics"]["average_wait_minutes"] == 0.0


def test_from_arrays_accepts_an_empty_night():
    """The kernel supports an empty night (all metrics 0); the column constructor should too."""
    night = Night.from_arrays([], [])
    assert night.n_jobs == 0
    assert engine.trace(night, 1)["metrics"] == dict.fromkeys(METRICS, 0.0)
