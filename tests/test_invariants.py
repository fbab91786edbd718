"""Invariants of every replayed night, checked on the kernel's own trace (start times) and on
per-replication metrics of the parallel driver."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcqueue.engine import simulate as engine
from mcqueue.engine.perturbation import Perturbation
from mcqueue.io.schema import Night
from mcqueue.engine.synthetic import synthetic_night

M = {m: i for i, m in enumerate(engine.METRICS)}


@st.composite
def nights(draw):
    n = draw(st.integers(1, 30))
    whole = st.integers(0, 120).map(float)
    arrival = draw(st.lists(st.one_of(whole, st.floats(0, 120)), min_size=n, max_size=n))
    runtime = draw(st.lists(st.one_of(st.integers(1, 60).map(float), st.floats(0.05, 90)),
                            min_size=n, max_size=n))
    priority = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    exclusive = draw(st.lists(st.sampled_from([False] * 4 + [True]), min_size=n, max_size=n))
    end = draw(st.sampled_from(["02:00", "03:00", "05:00"]))
    return Night.from_arrays(arrival, runtime, priority, exclusive, batch_end=end)


def check_invariants(night: Night, workers: int, tr: dict) -> None:
    a, r = tr["arrival_minute"], tr["runtime_minutes"]
    s, f = tr["start_minute"], tr["finish_minute"]
    m = tr["metrics"]
    H = night.horizon_minutes
    n = night.n_jobs
    excl = night.exclusive
    assert np.all(np.isfinite(s)), "every job starts"
    assert np.all(s >= a), "no job starts before it arrives"
    assert np.array_equal(f, s + r)
    used = np.where(excl, workers, 1)
    # busy workers only rise when a job starts: check the count at every start instant
    # (a job finishing at t has released its worker at t)
    for t in np.unique(s):
        busy = used[(s <= t) & (t < f)].sum()
        assert busy <= workers, f"{busy} workers busy at {t} on a pool of {workers}"
    for j in np.flatnonzero(excl):
        overlap = (s < f[j]) & (s[j] < f)
        overlap[j] = False
        assert not overlap.any(), f"exclusive job {night.job_id[j]} shares the pool"
    assert 0.0 <= m["worker_utilization"] <= 1.0
    assert 0.0 <= m["overflow_risk"] <= 1.0
    assert m["overflow_jobs"] == np.count_nonzero(f > H)
    assert m["overflow_risk"] == m["overflow_jobs"] / n
    assert m["p95_wait_minutes"] >= 0.0
    assert m["average_wait_minutes"] >= 0.0
    assert m["p95_wait_minutes"] <= (s - a).max()
    assert 0 <= m["max_queue_length"] <= n - 1
    assert m["average_queue_length"] >= 0.0
    assert m["queue_drained_minute"] >= f.max()
    assert m["queue_drained_minute"] == f.max()


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(night=nights(), workers=st.integers(1, 5), cv=st.sampled_from([0.0, 0.25, 1.0]),
       jitter=st.sampled_from([0.0, 15.0]), seed=st.integers(0, 2**64 - 1),
       rep=st.integers(0, 10**6))
def test_invariants_on_random_nights(night, workers, cv, jitter, seed, rep):
    tr = engine.trace(night, workers, rep, Perturbation(cv, jitter), seed)
    check_invariants(night, workers, tr)


def test_invariants_on_many_replications_of_a_busy_night():
    night = synthetic_night(60, seed=4, spread_minutes=150, exclusive_share=0.1)
    for workers in (1, 3, 8):
        for rep in range(0, 400, 37):
            tr = engine.trace(night, workers, rep, Perturbation(0.5, 20.0), seed=11)
            check_invariants(night, workers, tr)
        res = engine.simulate(night, workers, replications=3000, seed=5, runtime_cv=0.5,
                              arrival_jitter=20.0)
        x = res.samples
        util, risk = x[M["worker_utilization"]], x[M["overflow_risk"]]
        assert np.all((util >= 0) & (util <= 1))
        assert np.all((risk >= 0) & (risk <= 1))
        assert np.all(x[M["p95_wait_minutes"]] >= 0)
        assert np.array_equal(x[M["overflow_jobs"]], np.round(x[M["overflow_jobs"]]))
        assert np.array_equal(x[M["overflow_risk"]], x[M["overflow_jobs"]] / night.n_jobs)
        drained_late = x[M["queue_drained_minute"]] > night.horizon_minutes
        assert np.array_equal(drained_late, x[M["overflow_jobs"]] > 0)
        p = res.overflow_probability
        assert p["estimate"] == drained_late.mean()
        assert 0.0 <= p["ci_low"] <= p["estimate"] <= p["ci_high"] <= 1.0


def test_full_pool_all_night_is_exactly_full_utilisation():
    """Four jobs back to back on one worker, 60 + 60 + 60 + 90 minutes on a 240-minute night:
    the worker is busy all night (utilisation 1) and the last job overflows by 30 minutes."""
    night = Night.from_arrays([0, 0, 0, 0], [60, 60, 60, 90])
    m = engine.trace(night, 1)["metrics"]
    assert m["worker_utilization"] == 1.0
    assert (m["overflow_jobs"], m["queue_drained_minute"]) == (1, 270.0)


def test_a_saturated_night_reports_utilisation_of_exactly_one():
    """A night found by a random search (1 in 20,000) on which the running busy-area sum
    rounded to 1.0000000000000002 of the capacity: the pool is busy from start to cutoff
    (runtime cv 1 makes the night overrun the 02:00 cutoff), so the utilisation is exactly 1."""
    night = Night.from_arrays(
        [30.76526543491633, 27.0, 27.879677675381625, 98.0, 84.0, 104.81223655053012, 98.0,
         2.0, 91.0, 112.0, 64.0, 0.0],
        [36.0, 55.0, 14.0, 48.0, 41.549639061812414, 61.348920004076106, 49.6413720382714,
         51.0, 49.0, 30.0, 24.368171897067302, 13.0],
        [3, 3, 0, 2, 2, 1, 2, 1, 0, 0, 2, 0], [False] * 11 + [True], batch_end="02:00")
    tr = engine.trace(night, 3, 251794, Perturbation(1.0, 0.0), seed=7519428221368213277)
    check_invariants(night, 3, tr)
    assert tr["metrics"]["worker_utilization"] == 1.0
