"""Closed-form steady-state results the engine is validated against.

All functions take rates per minute and times in minutes (any one time unit works, as long as
it is the same for every argument). Waits are waits in queue (arrival to start of service).

Sources
- Erlang C (M/M/c FCFS): Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*,
  4th ed., section 2.3; Kleinrock, *Queueing Systems* vol. 1 (1975), section 3.5.
- Pollaczek-Khinchine mean wait (M/G/1): Kleinrock vol. 1, section 5.6 (eq. 5.72);
  Gross & Harris section 5.1.
- Non-preemptive priority (M/G/1, several classes): Cobham, "Priority assignment in waiting
  line problems", J. Operations Research Society of America 2 (1954) 70-76; Kleinrock vol. 2
  (1976), section 3.6; Gross & Harris section 3.4.
"""

from __future__ import annotations

import math
from typing import Sequence

from ..errors import ScenarioError


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ScenarioError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def _servers(c) -> int:
    if isinstance(c, bool) or not isinstance(c, int) or c < 1:
        raise ScenarioError(f"servers must be an integer >= 1, got {c!r}")
    return c


def _stable(rho: float) -> None:
    if not rho < 1.0:
        raise ScenarioError(f"the queue is unstable (utilisation rho = {rho:.4g} >= 1): "
                            "no steady state")


def erlang_b(c: int, offered_load: float) -> float:
    """Erlang B blocking probability B(c, a), by the stable recursion
    B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))."""
    c = _servers(c)
    a = _positive("offered load", offered_load)
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, arrival_rate: float, service_rate: float) -> float:
    """P(an arrival waits) in M/M/c: C(c, a) = B / (1 - rho (1 - B)), a = lambda/mu,
    rho = a / c (Gross & Harris eq. 2.36, via Erlang B)."""
    c = _servers(c)
    lam = _positive("arrival rate", arrival_rate)
    mu = _positive("service rate", service_rate)
    a = lam / mu
    rho = a / c
    _stable(rho)
    b = erlang_b(c, a)
    return b / (1.0 - rho * (1.0 - b))


def mmc_mean_wait(c: int, arrival_rate: float, service_rate: float) -> float:
    """Wq = C(c, a) / (c mu - lambda): mean wait in queue of M/M/c FCFS."""
    return erlang_c(c, arrival_rate, service_rate) / (c * service_rate - arrival_rate)


def mmc_wait_exceeds(t: float, c: int, arrival_rate: float, service_rate: float) -> float:
    """P(Wq > t) = C(c, a) exp(-(c mu - lambda) t) for t >= 0 (M/M/c FCFS)."""
    if not (math.isfinite(t) and t >= 0):
        raise ScenarioError(f"t must be a finite number >= 0, got {t!r}")
    return erlang_c(c, arrival_rate, service_rate) * math.exp(
        -(c * service_rate - arrival_rate) * t)


def mg1_mean_wait(arrival_rate: float, mean_service: float, second_moment_service: float) -> float:
    """Pollaczek-Khinchine: Wq = lambda E[S^2] / (2 (1 - rho)), rho = lambda E[S]."""
    lam = _positive("arrival rate", arrival_rate)
    es = _positive("mean service time", mean_service)
    es2 = _positive("second moment of service time", second_moment_service)
    if es2 < es * es * (1 - 1e-12):
        raise ScenarioError(f"E[S^2] = {es2!r} is below E[S]^2 = {es * es!r}: impossible")
    rho = lam * es
    _stable(rho)
    return lam * es2 / (2.0 * (1.0 - rho))


def md1_mean_wait(arrival_rate: float, service_time: float) -> float:
    """M/D/1 (constant service D): Wq = rho D / (2 (1 - rho)), rho = lambda D."""
    d = _positive("service time", service_time)
    return mg1_mean_wait(arrival_rate, d, d * d)


def priority_mean_waits(arrival_rates: Sequence[float], mean_services: Sequence[float],
                        second_moments: Sequence[float]) -> list[float]:
    """Cobham's non-preemptive priority M/G/1: per-class mean wait in queue.

    Classes are listed highest priority first. With W0 = sum_i lambda_i E[S_i^2] / 2 (mean
    residual work found in service) and sigma_k = sum_{i<=k} lambda_i E[S_i]:
    Wq_k = W0 / ((1 - sigma_{k-1}) (1 - sigma_k)).
    """
    if not (len(arrival_rates) == len(mean_services) == len(second_moments)) or not arrival_rates:
        raise ScenarioError("arrival_rates, mean_services and second_moments need the same, "
                            "non-zero length")
    lam = [_positive("arrival rate", x) for x in arrival_rates]
    es = [_positive("mean service time", x) for x in mean_services]
    es2 = [_positive("second moment of service time", x) for x in second_moments]
    _stable(sum(l * s for l, s in zip(lam, es)))
    w0 = sum(l * s2 for l, s2 in zip(lam, es2)) / 2.0
    out = []
    sigma_prev = 0.0
    for l, s in zip(lam, es):
        sigma = sigma_prev + l * s
        out.append(w0 / ((1.0 - sigma_prev) * (1.0 - sigma)))
        sigma_prev = sigma
    return out
