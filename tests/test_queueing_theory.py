"""The closed forms themselves, against textbook values and independent formulas."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcqueue.stats import queueing_theory as Q
from mcqueue.errors import ScenarioError


def erlang_c_direct(c, a):
    """Erlang C from its defining sum (Gross & Harris eq. 2.36), no recursion."""
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def test_erlang_c_textbook_value():
    # c = 3, a = 2: a^c/c! /(1 - rho) = (8/6) * 3 = 4; sum_{k<3} a^k/k! = 5; C = 4/9
    assert Q.erlang_c(3, 2.0, 1.0) == pytest.approx(4 / 9, rel=1e-12)


def test_mm1_reduces_to_rho_over_mu_minus_lambda():
    assert Q.erlang_c(1, 0.9, 1.0) == pytest.approx(0.9, rel=1e-12)
    assert Q.mmc_mean_wait(1, 0.9, 1.0) == pytest.approx(9.0, rel=1e-12)
    assert Q.mmc_wait_exceeds(5.0, 1, 0.9, 1.0) == pytest.approx(0.9 * math.exp(-0.5), rel=1e-12)


@settings(deadline=None, derandomize=True, max_examples=200)
@given(c=st.integers(1, 40), rho=st.floats(0.01, 0.99))
def test_erlang_c_recursion_matches_sum(c, rho):
    a = rho * c
    assert Q.erlang_c(c, a, 1.0) == pytest.approx(erlang_c_direct(c, a), rel=1e-9)
    assert Q.erlang_b(c, a) <= Q.erlang_c(c, a, 1.0) <= 1.0


def test_wait_exceeds_zero_is_erlang_c_and_integrates_to_the_mean():
    c, lam, mu = 4, 3.2, 1.0
    assert Q.mmc_wait_exceeds(0.0, c, lam, mu) == pytest.approx(Q.erlang_c(c, lam, mu))
    # E[W] = integral of P(W > t) dt = C / (c mu - lambda): trapezoid on a fine grid
    h, total, t = 1e-2, 0.0, 0.0
    while t < 60:
        total += h * (Q.mmc_wait_exceeds(t, c, lam, mu) + Q.mmc_wait_exceeds(t + h, c, lam, mu)) / 2
        t += h
    assert total == pytest.approx(Q.mmc_mean_wait(c, lam, mu), rel=1e-4)  # trapezoid: h^2 k^2/12


def test_pollaczek_khinchine_special_cases():
    lam, d = 0.08, 10.0  # rho = 0.8
    # exponential service, E[S^2] = 2 E[S]^2: P-K gives the M/M/1 wait
    assert Q.mg1_mean_wait(lam, d, 2 * d * d) == pytest.approx(Q.mmc_mean_wait(1, lam, 1 / d))
    # constant service: exactly half of M/M/1
    assert Q.md1_mean_wait(lam, d) == pytest.approx(Q.mmc_mean_wait(1, lam, 1 / d) / 2)
    assert Q.md1_mean_wait(lam, d) == pytest.approx(0.8 * 10 / (2 * 0.2))


def test_cobham_one_class_is_pollaczek_khinchine():
    assert Q.priority_mean_waits([0.08], [10.0], [200.0]) == pytest.approx(
        [Q.mg1_mean_wait(0.08, 10.0, 200.0)])


def test_cobham_two_classes_values_and_conservation_law():
    lam, es, es2 = [0.04, 0.04], [10.0, 10.0], [200.0, 200.0]
    w = Q.priority_mean_waits(lam, es, es2)
    # W0 = (0.04*200 + 0.04*200)/2 = 8; high: 8/(1*0.6); low: 8/(0.6*0.2)
    assert w == pytest.approx([8 / 0.6, 8 / (0.6 * 0.2)])
    # Kleinrock's conservation law: sum rho_k W_k = rho W0 / (1 - rho), the FCFS total
    rho_k = [l * s for l, s in zip(lam, es)]
    assert sum(r * x for r, x in zip(rho_k, w)) == pytest.approx(0.8 * 8 / 0.2)


@pytest.mark.parametrize("call, message", [
    (lambda: Q.erlang_c(2, 2.0, 1.0), "unstable (utilisation rho = 1"),
    (lambda: Q.erlang_c(0, 0.5, 1.0), "servers must be an integer >= 1, got 0"),
    (lambda: Q.erlang_c(1, -1.0, 1.0), "arrival rate must be a finite number > 0, got -1.0"),
    (lambda: Q.mmc_wait_exceeds(-1.0, 1, 0.5, 1.0), "t must be a finite number >= 0, got -1.0"),
    (lambda: Q.mg1_mean_wait(0.5, 1.0, 0.5), "is below E[S]^2"),
    (lambda: Q.priority_mean_waits([0.5], [1.0, 1.0], [2.0]), "the same, non-zero length"),
    (lambda: Q.priority_mean_waits([0.5, 0.6], [1.0, 1.0], [2.0, 2.0]), "unstable"),
])
def test_bad_parameters_are_named(call, message):
    with pytest.raises(ScenarioError, match=None) as exc:
        call()
    assert message in str(exc.value)
