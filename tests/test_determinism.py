"""Randomness is addressed by (seed, replication, job_id, purpose): results are bit-identical for
any thread count, block size and row order; scenarios differing only in workers share their
random nights; replication ranges extend one another."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from mcqueue.engine import simulate as engine
from mcqueue.engine.perturbation import Perturbation
from mcqueue.io.sample import SAMPLE_DATES, sample_frame
from mcqueue.io.schema import night_from_frame, validate_jobs
from mcqueue.engine.synthetic import synthetic_night

NOISE = dict(runtime_cv=0.4, arrival_jitter=20.0)


@pytest.fixture(scope="module")
def busy_night():
    return synthetic_night(80, seed=3, spread_minutes=200, exclusive_share=0.08)


def test_one_and_two_threads_are_bit_identical(busy_night, restore_threads):
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:  # pragma: no cover - the CI machine has 2 cores
        pytest.fail("needs numba with at least 2 threads to compare")
    runs = {}
    for threads in (1, 2):
        restore_threads(threads)
        assert numba.get_num_threads() == threads
        runs[threads] = engine.simulate(busy_night, 4, replications=5000, seed=42,
                                        block=64, **NOISE).samples
    assert np.array_equal(runs[1], runs[2])
    assert np.unique(runs[1][engine.METRICS.index("average_wait_minutes")]).size > 1000


def test_block_size_does_not_change_results(busy_night):
    a = engine.simulate(busy_night, 3, replications=3001, seed=7, block=7, **NOISE)
    b = engine.simulate(busy_night, 3, replications=3001, seed=7, block=1000, **NOISE)
    c = engine.simulate(busy_night, 3, replications=3001, seed=7, **NOISE)  # default block
    assert np.array_equal(a.samples, b.samples)
    assert np.array_equal(a.samples, c.samples)
    assert a.to_dict() == b.to_dict()


def test_different_seeds_give_different_nights(busy_night):
    """Guard for the tests above: the samples really are random."""
    a = engine.simulate(busy_night, 3, replications=200, seed=7, **NOISE).samples
    b = engine.simulate(busy_night, 3, replications=200, seed=8, **NOISE).samples
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("shuffle_seed", [1, 2])
def test_row_order_of_the_input_does_not_matter(shuffle_seed):
    frame = sample_frame()
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=shuffle_seed)
    assert shuffled["job_id"].to_list() != frame["job_id"].to_list()
    v1, v2 = validate_jobs(frame), validate_jobs(shuffled)
    for date in SAMPLE_DATES:
        n1, n2 = night_from_frame(v1, date), night_from_frame(v2, date)
        assert n1.job_id == n2.job_id
        for col in ("arrival_minute", "runtime_minutes", "priority", "exclusive"):
            assert np.array_equal(getattr(n1, col), getattr(n2, col)), col
        r1 = engine.simulate(n1, 2, replications=2000, seed=3, **NOISE)
        r2 = engine.simulate(n2, 2, replications=2000, seed=3, **NOISE)
        assert np.array_equal(r1.samples, r2.samples)


def test_common_random_numbers_across_worker_counts(busy_night):
    pert = Perturbation(0.4, 20.0)
    for rep in (0, 1, 999, 123456):
        t2 = engine.trace(busy_night, 2, rep, pert, seed=5)
        t5 = engine.trace(busy_night, 5, rep, pert, seed=5)
        assert np.array_equal(t2["arrival_minute"], t5["arrival_minute"])
        assert np.array_equal(t2["runtime_minutes"], t5["runtime_minutes"])
        assert not np.array_equal(t2["start_minute"], t5["start_minute"])
    other = engine.trace(busy_night, 2, 1, pert, seed=6)
    assert not np.array_equal(other["runtime_minutes"],
                              engine.trace(busy_night, 2, 1, pert, seed=5)["runtime_minutes"])


def test_scenarios_in_one_call_equal_separate_runs(busy_night):
    """simulate_scenarios runs scenarios together; each equals its own simulate run."""
    together = engine.simulate_scenarios(
        [engine.Scenario(busy_night, w) for w in (2, 5)], replications=1500, seed=9, **NOISE)
    for res, w in zip(together, (2, 5)):
        alone = engine.simulate(busy_night, w, replications=1500, seed=9, **NOISE)
        assert np.array_equal(res.samples, alone.samples)


def test_replicate_with_rep_start_extends_exactly(busy_night):
    batch = engine.prepare([busy_night], Perturbation(0.4, 20.0), seed=13)
    whole = engine.replicate(batch, [0], [3], 900)
    first = engine.replicate(batch, [0], [3], 250)
    rest = engine.replicate(batch, [0], [3], 650, rep_start=250, block=5)
    assert np.array_equal(whole, np.concatenate([first, rest], axis=2))
    middle = engine.replicate(batch, [0], [3], 1, rep_start=600)
    assert np.array_equal(middle[:, :, 0], whole[:, :, 600])


def test_job_ids_not_rows_key_the_draws():
    """Renaming one job changes that job's draws only."""
    from mcqueue.io.schema import Night

    pert = Perturbation(0.5, 10.0)
    a = Night.from_arrays([0, 5, 10], [10, 20, 30], job_id=["A", "B", "C"])
    b = Night.from_arrays([0, 5, 10], [10, 20, 30], job_id=["A", "B", "D"])
    ta, tb = engine.trace(a, 2, 4, pert, 1), engine.trace(b, 2, 4, pert, 1)
    assert np.array_equal(ta["runtime_minutes"][:2], tb["runtime_minutes"][:2])
    assert np.array_equal(ta["arrival_minute"][:2], tb["arrival_minute"][:2])
    assert ta["runtime_minutes"][2] != tb["runtime_minutes"][2]
    assert pl.Series(ta["arrival_minute"]).n_unique() == 3


def _splitmix_mix(z: int) -> int:
    """splitmix64's finaliser on Python integers (Steele, Lea & Flood 2014), mod 2**64."""
    mask = 2**64 - 1
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def test_stream_keys_are_splitmix64_of_seed_purpose_and_job():
    """``engine.stream_keys`` (numpy) gives mix(mix(seed ^ mix(purpose)) ^ hash) computed on
    plain Python integers; the mix is checked on splitmix64's published first output from
    state 0 (0xE220A8397B1DCDAF)."""
    assert _splitmix_mix(0x9E3779B97F4A7C15) == 0xE220A8397B1DCDAF
    golden = np.array([0x9E3779B97F4A7C15], dtype=np.uint64)
    assert int(engine._mix64(golden)[0]) == 0xE220A8397B1DCDAF
    rng = np.random.default_rng(12)
    hashes = rng.integers(0, 2**64 - 1, 200, dtype=np.uint64, endpoint=True)
    for seed in (0, 1, 2**63, 2**64 - 1, 123456789):
        for purpose in range(1, 7):
            got = np.empty(200, np.uint64)
            engine.stream_keys(hashes, np.uint64(seed), np.uint64(purpose), got)
            base = _splitmix_mix(seed ^ _splitmix_mix(purpose))
            expected = [_splitmix_mix(base ^ int(h)) for h in hashes]
            assert [int(v) for v in got] == expected, (seed, purpose)
