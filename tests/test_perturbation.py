"""Noise distributions: analytic moments against the sample moments of the engine's own draws,
and reprs that paste back.

Tolerances. For N independent draws with mean m, variance v and fourth central moment mu4,
the sample mean has standard error sqrt(v / N) and the sample variance (N large) standard error
sqrt((mu4 - v^2) / N). We accept |estimate - truth| <= 4 standard errors: for a correct sampler a
normal deviation beyond 4 happens with probability 6e-5, and the seeds are fixed, so the outcome
is reproducible. Fourth central moments:
- lognormal factor with mean 1, w = 1 + cv^2: raw moments E X^k = w^(k(k-1)/2), so
  mu4 = w^6 - 4 w^3 + 6 w - 3;
- uniform on [0, J): mu4 = J^4 / 80.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from mcqueue.engine import simulate as engine
from mcqueue.errors import ScenarioError
from mcqueue.engine.perturbation import LognormalFactor, Perturbation, UniformDelay
from mcqueue.io.schema import Night


def lognormal_mu4(cv):
    w = 1 + cv * cv
    return w**6 - 4 * w**3 + 6 * w - 3


def check_moments(x, mean, var, mu4, what):
    n = x.shape[0]
    se_mean = math.sqrt(var / n)
    se_var = math.sqrt((mu4 - var * var) / n)
    assert abs(x.mean() - mean) <= 4 * se_mean, (what, x.mean(), mean, se_mean)
    assert abs(x.var(ddof=1) - var) <= 4 * se_var, (what, x.var(ddof=1), var, se_var)


def one_job_draws(cv, jitter, reps, seed):
    night = Night.from_arrays([30.0], [20.0])
    pert = Perturbation(cv, jitter)
    a = np.empty(reps)
    r = np.empty(reps)
    for rep in range(reps):
        tr = engine.trace(night, 1, rep, pert, seed)
        a[rep], r[rep] = tr["arrival_minute"][0], tr["runtime_minutes"][0]
    return a - 30.0, r / 20.0


def test_one_job_night_draws_have_the_analytic_moments():
    cv, jitter = 0.5, 12.0
    delay, factor = one_job_draws(cv, jitter, 10000, seed=2024)
    f, d = LognormalFactor(cv), UniformDelay(jitter)
    check_moments(factor, f.mean, f.variance, lognormal_mu4(cv), "runtime factor")
    check_moments(delay, d.mean, d.variance, jitter**4 / 80, "arrival delay")
    assert delay.min() >= 0.0 and delay.max() < jitter
    assert factor.min() > 0.0
    # successive replications of the same job are uncorrelated: |r| <= 4 / sqrt(N)
    for x in (delay, factor):
        assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) <= 4 / math.sqrt(x.shape[0] - 1)


@pytest.mark.parametrize("cv", [0.1, 0.25, 1.0])
def test_many_job_draws_moments_and_shape(cv):
    """2,000 jobs x 10 replications = 20,000 draws per distribution."""
    n = 2000
    base_r = np.linspace(5.0, 60.0, n)
    base_a = np.linspace(0.0, 200.0, n)
    night = Night.from_arrays(base_a, base_r)
    jitter = 20.0
    pert = Perturbation(cv, jitter)
    f = []
    d = []
    for rep in range(10):
        tr = engine.trace(night, 50, rep, pert, seed=77)
        f.append(tr["runtime_minutes"] / base_r)
        d.append(tr["arrival_minute"] - base_a)
    f = np.concatenate(f)
    d = np.concatenate(d)
    check_moments(f, 1.0, LognormalFactor(cv).variance, lognormal_mu4(cv), "factor")
    check_moments(d, jitter / 2, jitter**2 / 12, jitter**4 / 80, "delay")
    # shape: log factor ~ N(-s^2/2, s), delay / J ~ U(0, 1); Kolmogorov-Smirnov at level 1e-3
    s = LognormalFactor(cv).sigma
    assert scipy.stats.kstest(np.log(f), scipy.stats.norm(-s * s / 2, s).cdf).pvalue > 1e-3
    assert scipy.stats.kstest(d / jitter, scipy.stats.uniform().cdf).pvalue > 1e-3
    # different jobs of one replication are uncorrelated
    first = f[:n]
    assert abs(np.corrcoef(first[:-1], first[1:])[0, 1]) <= 4 / math.sqrt(n - 1)


def test_class_cv_overrides_the_global_cv():
    n = 3000
    classes = ["etl", "backfill", "refresh"] * (n // 3)
    night = Night.from_arrays(np.zeros(n), np.full(n, 10.0), workload_class=classes)
    pert = Perturbation(0.25, 0.0, class_cv={"etl": 0.0, "backfill": 1.0})
    tr = engine.trace(night, 10, 3, pert, seed=5)
    cls = np.array([night.workload_class[j] for j in range(n)])
    f = tr["runtime_minutes"] / 10.0
    assert np.all(f[cls == "etl"] == 1.0)
    for name, cv in (("backfill", 1.0), ("refresh", 0.25)):
        x = f[cls == name]
        check_moments(x, 1.0, cv * cv, lognormal_mu4(cv), name)
    assert np.array_equal(tr["arrival_minute"], night.arrival_minute)  # no jitter


def test_analytic_moments():
    f = LognormalFactor(0.5)
    assert (f.mean, f.variance) == (1.0, 0.25)
    assert f.sigma == pytest.approx(math.sqrt(math.log(1.25)), rel=1e-15)
    # the lognormal with these parameters has mean exp(mu + s^2/2) = 1 and cv^2 = e^{s^2} - 1
    assert math.exp(f.sigma**2) - 1 == pytest.approx(0.25, rel=1e-14)
    d = UniformDelay(12.0)
    assert (d.mean, d.variance) == (6.0, 12.0)
    assert LognormalFactor(0).sigma == 0.0 and UniformDelay(0).variance == 0.0
    p = Perturbation(0.3, 9.0, {"etl": 0.7})
    assert p.factor("etl") == LognormalFactor(0.7) and p.factor("other") == LognormalFactor(0.3)
    assert p.delay() == UniformDelay(9.0)
    assert not p.is_deterministic and Perturbation().is_deterministic
    assert Perturbation(0, 0, {"etl": 0.0}).is_deterministic


@pytest.mark.parametrize("obj", [
    LognormalFactor(0.25), LognormalFactor(0), UniformDelay(15.0), UniformDelay(0.5),
    Perturbation(), Perturbation(0.3, 12.5), Perturbation(0.3, 12.5, {"etl": 0.1, "b": 2}),
])
def test_repr_round_trips(obj):
    ns = {"LognormalFactor": LognormalFactor, "UniformDelay": UniformDelay,
          "Perturbation": Perturbation}
    again = eval(repr(obj), ns)  # noqa: S307 - our own repr
    assert again == obj
    assert repr(again) == repr(obj)


@pytest.mark.parametrize("make, message", [
    (lambda: LognormalFactor(-0.1), "runtime cv must be a finite number >= 0, got -0.1"),
    (lambda: LognormalFactor("x"), "runtime cv must be a number >= 0, got 'x'"),
    (lambda: UniformDelay(float("inf")), "arrival jitter must be a finite number >= 0, got inf"),
    (lambda: Perturbation(0.1, -2), "arrival jitter must be a finite number >= 0, got -2"),
    (lambda: Perturbation(class_cv={"etl": -1}),
     "runtime cv for class 'etl' must be a finite number >= 0, got -1"),
    (lambda: Perturbation(class_cv={"": 0.2}), "class cv needs a workload class name, got ''"),
])
def test_bad_parameters_name_the_value(make, message):
    with pytest.raises(ScenarioError) as info:
        make()
    assert str(info.value) == message


def test_cv_and_jitter_have_upper_bounds_that_keep_draws_finite():
    from mcqueue.errors import ScenarioError
    from mcqueue.engine.perturbation import LognormalFactor, Perturbation, UniformDelay

    with pytest.raises(ScenarioError, match=r"runtime cv must be at most 100, got 1e\+200"):
        LognormalFactor(1e200)
    with pytest.raises(ScenarioError, match="arrival jitter must be at most 10080"):
        UniformDelay(20_000)
    with pytest.raises(ScenarioError, match="runtime cv for class 'etl' must be at most 100"):
        Perturbation(class_cv={"etl": 101})
    assert LognormalFactor(100).sigma < 3.1  # ln(1 + 100^2) = 9.2: finite draws
