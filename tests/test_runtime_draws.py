"""Issue 14's runtime draws in the engine: a night-wide lognormal factor, empirical runtimes
(each job's recent runs) and reruns.

The draws are tested apart from the event loop (``engine.draw_replications`` runs the very
inlined draw code of the general loop) against closed forms, and the loop with such draws
against the naive twin (which takes the drawn runtimes as inputs). Tolerances: sample means
and variances within 4 standard errors of their closed forms (the standard error of a sample
variance from the sample's fourth central moment, sqrt((m4 - m2^2) / R)); frequency tests by
chi-square and distribution tests by Kolmogorov-Smirnov at alpha = 0.001 (fixed seeds: a failure
is a real difference, not bad luck, with probability 0.999).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as sps

from general_helpers import canonical, compare_with_twin, to_night
from mcqueue.engine import simulate as engine
from mcqueue.engine.night import Night
from mcqueue.engine.perturbation import Perturbation
from mcqueue.engine.synthetic import synthetic_dag_night
from mcqueue.errors import DataError, ScenarioError
from oracles import random_dag_night

R = 200_000
ALPHA = 0.001


def draws(night, cv=0.0, jitter=0.0, seed=7, reps=R, rep_start=0):
    batch = engine.prepare([night], Perturbation(cv, jitter), seed)
    return engine.draw_replications(batch, 0, reps, rep_start)


def within_4se(sample, mean, var):
    """Sample mean and variance of ``sample`` against closed forms, 4 standard errors each."""
    n = sample.shape[0]
    m = sample.mean()
    assert abs(m - mean) <= 4 * math.sqrt(var / n), (m, mean, math.sqrt(var / n))
    d = sample - m
    m2 = float(np.mean(d * d))
    m4 = float(np.mean(d ** 4))
    s2 = sample.var(ddof=1)
    assert abs(s2 - var) <= 4 * math.sqrt((m4 - m2 * m2) / n), (s2, var)


def lognormal_central_moments(mean, sigma2):
    """Variance and fourth central moment of mean * exp(N(-sigma2 / 2, sigma2))."""
    raw = [mean ** k * math.exp(k * (k - 1) * sigma2 / 2) for k in range(5)]
    var = raw[2] - raw[1] ** 2
    mu4 = raw[4] - 4 * raw[3] * raw[1] + 6 * raw[2] * raw[1] ** 2 - 3 * raw[1] ** 4
    return var, mu4


# ---------------------------------------------------------------- the night-wide factor
def test_night_factor_times_job_factor_has_the_moments_of_the_product_of_two_lognormals():
    """Each job: est x LN(mean 1, cv 0.3) x N, N = LN(mean 1, cv 0.2) shared by the night's
    jobs: a lognormal with mean est and log-variance ln(1.09) + ln(1.04); the covariance of two
    jobs is est_i est_j (e^{s_N^2} - 1) = est_i est_j 0.04 (only the factor is shared)."""
    est = np.array([10.0, 20.0, 40.0])
    night = Night.from_arrays([0, 0, 0], est).with_runtime_draws(night_cv=0.2)
    _, r = draws(night, cv=0.3)
    s2 = math.log(1.09) + math.log(1.04)
    for j in range(3):
        var, mu4 = lognormal_central_moments(est[j], s2)
        m = r[:, j].mean()
        assert abs(m - est[j]) <= 4 * math.sqrt(var / R)
        assert abs(r[:, j].var(ddof=1) - var) <= 4 * math.sqrt((mu4 - var * var) / R)
        # the log is normal: KS against N(log est - s2 / 2, s2)
        p = sps.kstest(np.log(r[:, j]), "norm", args=(math.log(est[j]) - s2 / 2,
                                                      math.sqrt(s2))).pvalue
        assert p > ALPHA, p
    for i, j in ((0, 1), (0, 2), (1, 2)):
        prod = (r[:, i] - r[:, i].mean()) * (r[:, j] - r[:, j].mean())
        truth = est[i] * est[j] * 0.04
        assert abs(prod.mean() - truth) <= 4 * prod.std() / math.sqrt(R), (i, j)


def test_the_factor_is_one_draw_per_replication_and_moves_no_other_stream():
    """With per-job cv 0 every job's runtime is est x the same factor; with cv > 0 the ratio
    to the same run without the factor is that factor for every job (the per-job streams did
    not move); the factor's log is N(-s^2/2, s^2)."""
    est = np.array([5.0, 7.0, 11.0, 13.0])
    plain = Night.from_arrays([0, 0, 0, 0], est)
    night = plain.with_runtime_draws(night_cv=0.5)
    _, r = draws(night, cv=0.0, reps=50_000)
    f = r / est
    np.testing.assert_allclose(f, np.repeat(f[:, :1], 4, axis=1), rtol=1e-15, atol=0)
    s2 = math.log(1.25)
    assert sps.kstest(np.log(f[:, 0]), "norm", args=(-s2 / 2, math.sqrt(s2))).pvalue > ALPHA
    _, with_f = draws(night, cv=0.4, reps=50_000)
    _, without = draws(plain, cv=0.4, reps=50_000)
    np.testing.assert_allclose(with_f / without, f, rtol=1e-15, atol=0)


def test_the_factor_is_keyed_on_the_batch_date():
    """Two nights of one date share the factor (two windows of a heavy night); two dates draw
    independent ones (correlation of the log factors within 4 / sqrt(R) of 0)."""
    def night(date, ids):
        return Night.from_arrays([0, 0], [10.0, 10.0], job_id=ids,
                                 batch_date=date).with_runtime_draws(night_cv=0.3)

    nights = [night("2026-05-13", ["A", "B"]), night("2026-05-13", ["C", "D"]),
              night("2026-05-14", ["A", "B"])]
    batch = engine.prepare(nights, Perturbation(0.0, 0.0), 3)
    f = [engine.draw_replications(batch, g, 20_000)[1][:, 0] / 10.0 for g in range(3)]
    np.testing.assert_array_equal(f[0], f[1])
    rho = np.corrcoef(np.log(f[0]), np.log(f[2]))[0, 1]
    assert abs(rho) <= 4 / math.sqrt(20_000), rho


# ---------------------------------------------------------------- reruns
def capped_geometric(p, n):
    """P(K = k), k = 0..n: k reruns, each attempt failing with probability p, at most n."""
    return np.array([p ** k * (1 - p) for k in range(n)] + [p ** n])


def rerun_moments(mu, var_x, p, n):
    """E and Var of T = X_0 + ... + X_K, K capped-geometric (above) independent of the iid
    X's with mean mu and variance var_x: E T = mu E(K + 1), Var T = E(K + 1) var_x
    + mu^2 Var K (Wald / the law of total variance)."""
    pk = capped_geometric(p, n)
    k = np.arange(n + 1)
    ek = float((k * pk).sum())
    vk = float((k * k * pk).sum()) - ek * ek
    return mu * (1 + ek), (1 + ek) * var_x + mu * mu * vk


def test_the_number_of_reruns_is_capped_geometric():
    """A job of exactly 10 minutes: its runtime is 10 (K + 1); chi-square of K against the
    capped geometric law, for p = 0.3 with at most 3 reruns and p = 0.8 with at most 1."""
    for p, n in ((0.3, 3), (0.8, 1)):
        night = Night.from_arrays([0, 0], [10.0, 4.0]).with_runtime_draws(
            rerun_share=[p, 0.0], retries=n)
        _, r = draws(night, reps=100_000)
        k = r[:, 0] / 10.0 - 1
        assert np.array_equal(k, np.round(k)) and k.min() >= 0 and k.max() <= n
        assert (r[:, 1] == 4.0).all()  # share 0: never reruns
        counts = np.bincount(k.astype(int), minlength=n + 1)
        expected = capped_geometric(p, n) * k.size
        assert sps.chisquare(counts, expected).pvalue > ALPHA, (counts, expected)


@pytest.mark.parametrize("p, n", [(0.4, 1), (0.4, 2), (0.25, 5)])
def test_runtime_with_reruns_has_the_moments_of_a_capped_geometric_sum(p, n):
    """Lognormal attempts (mean 20, cv 0.5) and empirical attempts (runs 5, 10, 30: mean 15,
    variance 350 / 3 as a discrete uniform), each rerun a fresh draw."""
    night = Night.from_arrays([0, 0], [20.0, 99.0]).with_runtime_draws(
        recent=([0, 0, 3], [5.0, 10.0, 30.0]), rerun_share=[p, p], retries=n)
    _, r = draws(night, cv=0.5)
    mean, var = rerun_moments(20.0, 20.0 ** 2 * 0.25, p, n)
    within_4se(r[:, 0], mean, var)
    runs = np.array([5.0, 10.0, 30.0])
    mean, var = rerun_moments(runs.mean(), runs.var(), p, n)
    within_4se(r[:, 1], mean, var)


def test_the_night_factor_multiplies_every_attempt():
    """Job A (10 minutes, no rerun) is 10 f; job B (10 minutes, p = 0.5, 2 reruns at most)
    is 10 f (K + 1): B / A is an integer 1..3 up to rounding."""
    night = Night.from_arrays([0, 0], [10.0, 10.0]).with_runtime_draws(
        rerun_share=[0.0, 0.5], retries=2, night_cv=0.3)
    _, r = draws(night, reps=20_000)
    ratio = r[:, 1] / r[:, 0]
    np.testing.assert_allclose(ratio, np.round(ratio), rtol=1e-14)
    assert set(np.round(ratio).astype(int)) == {1, 2, 3}
    assert np.unique(r[:, 0]).size > 19_000  # A really varies with the factor


# ---------------------------------------------------------------- empirical runtimes
def test_empirical_draws_are_the_recent_runs_with_equal_frequency():
    """Job 0: five distinct runs, each 1/5 of the draws (chi-square); job 1: runs with a
    repeated value (5, 5, 8: the value 5 twice as often); job 2: one run, always it; job 3:
    no runs, its lognormal exactly as without the empirical model (same stream)."""
    runs0 = [3.0, 5.0, 8.0, 13.0, 21.0]
    night = Night.from_arrays([0, 0, 0, 0], [10.0, 6.0, 7.0, 30.0])
    emp = night.with_runtime_draws(recent=([0, 5, 8, 9, 9], runs0 + [5.0, 5.0, 8.0, 7.0]))
    _, r = draws(emp, cv=0.4, reps=60_000)
    vals, counts = np.unique(r[:, 0], return_counts=True)
    assert vals.tolist() == runs0
    assert sps.chisquare(counts).pvalue > ALPHA, counts
    vals, counts = np.unique(r[:, 1], return_counts=True)
    assert vals.tolist() == [5.0, 8.0]
    assert sps.chisquare(counts, [40_000, 20_000]).pvalue > ALPHA, counts
    assert (r[:, 2] == 7.0).all()
    _, plain = draws(night, cv=0.4, reps=60_000)
    np.testing.assert_array_equal(r[:, 3], plain[:, 3])
    # two jobs' picks are independent: chi-square of the 5 x 2 contingency table
    table = np.array([[np.sum((r[:, 0] == a) & (r[:, 1] == b)) for b in (5.0, 8.0)]
                      for a in runs0])
    assert sps.chi2_contingency(table).pvalue > ALPHA


def test_empirical_draws_are_keyed_on_the_job_not_its_night():
    """The pick of job 'A' is the same whatever the other jobs of the night and its position
    (keys: seed, replication, job_id, purpose); another seed picks differently."""
    a = Night.from_arrays([0, 0], [1.0, 1.0], job_id=["A", "B"]).with_runtime_draws(
        recent=([0, 4, 6], [1.0, 2.0, 3.0, 4.0, 9.0, 9.5]))
    b = Night.from_arrays([0, 0, 0], [1.0, 1.0, 1.0], job_id=["0", "A", "Z"]).with_runtime_draws(
        recent=([0, 1, 5, 5], [7.0, 1.0, 2.0, 3.0, 4.0]))
    ra = draws(a, reps=5_000, rep_start=123)[1][:, 0]
    rb = draws(b, reps=5_000, rep_start=123)[1][:, 1]
    np.testing.assert_array_equal(ra, rb)
    assert not np.array_equal(ra, draws(a, reps=5_000, rep_start=123, seed=8)[1][:, 0])


# ---------------------------------------------------------------- unused: no change at all
def test_unused_draws_keep_todays_kernel_and_numbers(night_13):
    """Nothing to draw (no runs, shares 0 or retries 0, night cv 0): the night keeps today's
    kernel (not the general loop) and gives today's numbers bit for bit."""
    n = night_13.n_jobs
    quiet = [night_13.with_runtime_draws(),
             night_13.with_runtime_draws(recent=(np.zeros(n + 1, np.int64), [])),
             night_13.with_runtime_draws(rerun_share=np.zeros(n), retries=3),
             night_13.with_runtime_draws(rerun_share=np.full(n, 0.5), retries=0)]
    base = engine.replicate(engine.prepare([night_13], Perturbation(0.25, 15.0), 1), [0], [3],
                            2000)
    for nt in quiet:
        assert not nt.needs_general_loop
        batch = engine.prepare([nt], Perturbation(0.25, 15.0), 1)
        run = engine.replicate_detailed(batch, [0], [3], 2000)
        assert not run.general.any() and np.array_equal(run.samples, base)


def test_the_zero_noise_replay_ignores_the_draws(night_13):
    night = night_13.with_runtime_draws(rerun_share=np.full(night_13.n_jobs, 0.5), retries=2,
                                        night_cv=0.3)
    a = engine.simulate(night, 3, replications=500, seed=2)
    b = engine.simulate(night_13, 3, replications=500, seed=2)
    assert a.deterministic == b.deterministic
    assert a.monte_carlo["queue_drained_minute"]["mean"] > b.monte_carlo[
        "queue_drained_minute"]["mean"]


def test_bad_draw_inputs_are_errors_naming_the_job():
    night = Night.from_arrays([0, 0], [5.0, 6.0], job_id=["A", "B"])
    with pytest.raises(DataError, match=r"^job_id B: recent run -1.0 minutes must be a finite "
                                        r"number > 0"):
        night.with_runtime_draws(recent=([0, 1, 2], [3.0, -1.0]))
    with pytest.raises(DataError, match="CSR pointer of 3 increasing offsets"):
        night.with_runtime_draws(recent=([0, 2], [3.0, 1.0]))
    with pytest.raises(DataError, match=r"^job_id A: rerun share must be a probability \(0 to "
                                        r"1\), got 1.5"):
        night.with_runtime_draws(rerun_share=[1.5, 0.0])
    with pytest.raises(ScenarioError, match="retries must be an integer 0 to 10, got 11"):
        night.with_runtime_draws(retries=11)
    with pytest.raises(ScenarioError, match="night cv must be a number 0 to 100, got -0.1"):
        night.with_runtime_draws(night_cv=-0.1)


# ---------------------------------------------------------------- the loop with such draws
def test_kernel_matches_twin_with_runtime_draws_on_random_nights():
    """120 random nights (dependencies, slots, locks, exclusive jobs) with every draw feature
    x 4 policies x 2 replications: the kernel's schedule equals the twin's given the kernel's
    drawn arrivals and runtimes (the loop does not care where a runtime came from)."""
    rng = np.random.default_rng(1401)
    for i in range(120):
        n = int(rng.integers(1, 16))
        d = canonical(random_dag_night(rng, n, k=1.0, max_slots=2, n_locks=2,
                                       exclusive_share=0.1, deadline_share=0.3))
        lengths = rng.integers(0, 4, n)
        ptr = np.concatenate([[0], np.cumsum(lengths)])
        night = to_night(d).with_runtime_draws(
            recent=(ptr, rng.uniform(0.5, 40.0, int(ptr[-1]))),
            rerun_share=rng.uniform(0, 0.6, n), retries=int(rng.integers(0, 3)),
            night_cv=float(rng.choice([0.0, 0.3])))
        workers = int(rng.integers(2, 5))
        for policy in ("tutorial", "priority", "fifo", "backfill"):
            for rep in (0, 1):
                compare_with_twin(d, workers, policy, rep=rep, cv=0.4, jitter=10.0, seed=i,
                                  night=night)


# ---------------------------------------------------------------- determinism
@pytest.fixture(scope="module")
def drawn_dag_night():
    night = synthetic_dag_night(120, seed=4, exclusive_share=0.05, deadline_share=0.2,
                                spread_minutes=120)
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 6, night.n_jobs)
    ptr = np.concatenate([[0], np.cumsum(lengths)])
    return night.with_runtime_draws(
        recent=(ptr, rng.uniform(1.0, 60.0, int(ptr[-1]))),
        rerun_share=rng.uniform(0, 0.3, night.n_jobs), retries=2, night_cv=0.2)


def _run(night, block=None, reps=2001, rep_start=0, per_job=True):
    batch = engine.prepare([night], Perturbation(0.3, 20.0), seed=11)
    return engine.replicate_detailed(batch, [0] * 4, [6] * 4, reps, rep_start=rep_start,
                                     block=block, policy=["tutorial", "priority", "fifo",
                                                          "backfill"],
                                     capacity=[None, [(60, 4)], None, [(30, 8), (90, 5)]],
                                     per_job=per_job)


def _same(a, b):
    assert np.array_equal(a.samples, b.samples) and np.array_equal(a.extra, b.extra)
    for name in ("late", "on_chain", "sum_wait", "sum_dep", "fmin", "fmax", "hist"):
        assert np.array_equal(getattr(a.per_job, name), getattr(b.per_job, name)), name


def test_runtime_draws_are_bit_identical_for_threads_blocks_and_splits(drawn_dag_night,
                                                                       restore_threads):
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:  # pragma: no cover - the CI machine has 2 cores
        pytest.fail("needs numba with at least 2 threads to compare")
    runs = {}
    for threads in (1, 2):
        restore_threads(threads)
        runs[threads] = _run(drawn_dag_night, block=64)
    _same(runs[1], runs[2])
    _same(runs[2], _run(drawn_dag_night, block=7))
    _same(runs[2], _run(drawn_dag_night, block=1000))
    whole = _run(drawn_dag_night, per_job=False)
    first = _run(drawn_dag_night, reps=700, per_job=False)
    rest = _run(drawn_dag_night, reps=1301, rep_start=700, per_job=False)
    assert np.array_equal(whole.samples, np.concatenate([first.samples, rest.samples], axis=2))


COMPILES_SCRIPT = """
import json
from mcqueue.engine import kernel as K, simulate as engine
from mcqueue.io.sample import load_sample
night = load_sample("2026-05-13")
engine.simulate(night, 3, replications=100)
before = {name: len(getattr(K, name).signatures) for name in
          ("batch_range", "general_tutorial", "draw_block")}
engine.simulate(night.with_runtime_draws(night_cv=0.2), 3, replications=100)
after = {name: len(getattr(K, name).signatures) for name in
         ("batch_range", "general_tutorial", "draw_block")}
print(json.dumps([before, after]))
"""


def test_a_default_run_loads_todays_kernel_only_and_a_night_factor_the_general_loop():
    proc = subprocess.run([sys.executable, "-c", COMPILES_SCRIPT], capture_output=True,
                          text=True, timeout=900, check=True)
    before, after = json.loads(proc.stdout.strip().splitlines()[-1])
    assert before == {"batch_range": 1, "general_tutorial": 0, "draw_block": 0}
    assert after == {"batch_range": 1, "general_tutorial": 1, "draw_block": 0}


def test_finish_samples_are_the_traces_finishes(night_13, drawn_dag_night):
    """engine.finish_samples (backtest's per-job forecasts) gives, replication by replication,
    the finishes engine.trace gives one replication at a time: plain, with runtime draws, and
    re-forecast from now."""
    pert = Perturbation(0.3, 15.0)
    now = night_13.at_now(70.0, ["completed", "running"] + ["queued"] * 8,
                          [0.0, 10.0] + [None] * 8, [50.0] + [None] * 9)
    nights = [night_13, drawn_dag_night, now]
    batch = engine.prepare(nights, pert, 21)
    got = engine.finish_samples(batch, [0, 1, 2], [3, 6, 2], 40, rep_start=5)
    for k, (night, workers) in enumerate(zip(nights, (3, 6, 2))):
        assert got[k].shape == (40, night.n_jobs)
        for i in range(40):
            tr = engine.trace(night, workers, 5 + i, pert, 21)
            np.testing.assert_array_equal(got[k][i], tr["finish_minute"])


def test_whatif_keeps_the_draws_and_the_reforecast_state(night_13):
    """A scenario without changes replays the baseline bit for bit on a night with runtime
    draws and a re-forecast state; a runtime multiplier scales a job's recent runs with its
    mean; skipping a job drops its runs."""
    from mcqueue.analysis.planning import Settings
    from mcqueue.analysis.whatif import whatif
    from mcqueue.analysis.whatif_file import parse_scenarios

    n = night_13.n_jobs
    night = night_13.with_runtime_draws(
        recent=(np.arange(n + 1) * 2, np.repeat(night_13.runtime_minutes, 2) * np.tile([0.8, 1.3], n)),
        rerun_share=np.full(n, 0.2), retries=1, night_cv=0.1).at_now(
        30.0, ["completed", "running"] + ["queued"] * (n - 2), [0.0, 5.0] + [None] * (n - 2),
        [25.0] + [None] * (n - 1))
    job = night.job_id[4]
    toml = ('[[scenario]]\nname = "same"\nchanges = []\n'
            f'[[scenario]]\nname = "slow"\nchanges = [{{ runtime = 2, job = "{job}" }}]\n'
            f'[[scenario]]\nname = "skip"\nchanges = [{{ skip = "{job}" }}]\n')
    res = whatif(night, parse_scenarios(toml), 3, Settings(replications=1500, seed=4))
    by = {r.name: r for r in res.scenarios}
    assert np.array_equal(by["same"].outcome.drain, res.baseline.outcome.drain)
    slow = by["slow"].built.night
    ptr = slow.recent_ptr
    np.testing.assert_array_equal(slow.recent_minutes[ptr[4]:ptr[5]],
                                  night.recent_minutes[ptr[4]:ptr[5]] * 2)
    assert slow.now_minute == 30.0 and slow.status.tolist() == night.status.tolist()
    skip = by["skip"].built.night
    assert skip.n_jobs == n - 1 and skip.recent_minutes.shape[0] == 2 * (n - 1)
    assert skip.retries == 1 and skip.night_cv == 0.1 and skip.has_now
    expected = engine.simulate(skip, 3, replications=1500, seed=4)
    assert np.array_equal(by["skip"].outcome.drain,
                          expected.samples[engine.METRICS.index("queue_drained_minute")])
