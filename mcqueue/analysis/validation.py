"""Checks of the engine against independent truth: closed-form queueing results and the
coverage of its confidence intervals.

Every check returns a :class:`Check` row (check, formula, expected, measured, tolerance, pass).
``run_checks("full")`` is the suite of docs/validation.md and of tests/test_validation.py;
``run_checks("quick")`` is the subset ``mcqueue validate`` runs in well under 30 s.

How the closed-form checks measure waits
- A synthetic night of Poisson arrivals (``synthetic.poisson_night``), one priority, no
  exclusive jobs, is replayed once with zero noise (``engine.trace``), giving every job's wait.
  The night starts empty, so the first ``WARMUP_FRACTION`` (10%) of jobs in arrival order are
  discarded as warm-up; that is hundreds of relaxation times (about 1/(mu (1 - sqrt(rho))^2),
  some 400 jobs at rho = 0.9), far more than needed.
- Waits of successive jobs are strongly correlated, so the standard error of a measured mean or
  probability comes from batch means: the kept jobs of each night are cut into
  ``BATCHES_PER_NIGHT`` consecutive batches (tens of thousands of jobs each, far longer than the
  correlation time), and SE = sd(batch means) / sqrt(number of batches).
- A wait of one night of 200,000 jobs is not precise enough at rho = 0.9 (SE about 4.5% of Wq
  for M/M/1), so the full suite averages several independent nights of 1,000,000 jobs each
  (different seeds), sized so that SE <= 1% of Wq: the fixed tolerance of 3% is then at least
  three standard errors and a correct engine fails a check with probability about 0.3% or less.

Tolerances: the full suite uses the fixed tolerances of the issue (3% of the expected mean wait,
0.01 absolute for probabilities, 95% +- 2% coverage). The quick subset runs smaller nights
(200,000 jobs), so the tolerance of its closed-form checks is the larger of the fixed tolerance
and four standard errors of the measurement (the table's ``rule`` says which); its coverage
check is the full one (1,000 runs, fixed 93-97%).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import partial
from typing import Callable, Sequence

import numpy as np

from ..engine import simulate as E
from ..stats import queueing_theory as Q
from ..errors import ScenarioError
from ..engine.perturbation import Perturbation
from ..engine.night import Night
from ..engine.synthetic import poisson_night

WARMUP_FRACTION = 0.10
BATCHES_PER_NIGHT = 25
MEAN_RUNTIME = 10.0  # minutes, for the closed-form nights
NIGHT_JOBS = 1_000_000
QUICK_JOBS = 200_000
MEAN_TOLERANCE = 0.03  # relative, for mean waits
PROB_TOLERANCE = 0.01  # absolute, for P(W > t)
COVERAGE_TARGET = 0.95
COVERAGE_TOLERANCE = 0.02  # 93% .. 97%
QUICK_SE_MULTIPLIER = 4.0
# t at which P(W > t) is checked, in units of 1 / (c mu - lambda), the decay time of the tail
TAIL_MULTIPLIERS = (0.5, 1.0, 2.0)

# Full-suite sizes: independent nights of NIGHT_JOBS jobs per (rho, c), chosen from measured
# batch-means standard errors at one night (rel. SE of the mean wait: rho 0.5: 0.7% (c=1),
# 1.4% (c=4); rho 0.8: 1.3%, 1.6%; rho 0.9: 2.0%, 2.2%) so that SE <= about 0.85% of Wq.
MMC_NIGHTS = {(0.5, 1): 2, (0.5, 4): 3, (0.8, 1): 3, (0.8, 4): 4, (0.9, 1): 6, (0.9, 4): 7}

# Coverage scenarios: sample nights with a cutoff that puts P(overflow) between 0.05 and 0.95
# (runtime cv 0.25, arrival jitter 15 min, the defaults).
COVERAGE_SCENARIOS = (("2026-05-11", 2, "04:00"), ("2026-05-12", 3, "04:00"),
                      ("2026-05-13", 2, "04:00"))
TRUTH_REPLICATIONS = 1_000_000
TRUTH_SEED = 20260513
COVERAGE_SEED = 1


@dataclass(frozen=True)
class Check:
    """One row of the validation table. ``tolerance`` is absolute (same unit as expected);
    ``rule`` says where it comes from; ``se`` is the standard error of ``measured``."""

    check: str
    formula: str
    expected: float
    measured: float
    tolerance: float
    rule: str
    se: float
    detail: str = ""

    @property
    def passed(self) -> bool:
        return bool(abs(self.measured - self.expected) <= self.tolerance)

    def as_row(self) -> dict:
        d = asdict(self)
        d["pass"] = self.passed
        return d


def _exceeds(waits: np.ndarray, groups: np.ndarray, t: float) -> np.ndarray:
    return (waits > t).astype(np.float64)


def _waits(waits: np.ndarray, groups: np.ndarray) -> np.ndarray:
    return waits


def _is_level(groups: np.ndarray, level: int) -> np.ndarray:
    return groups == level


def _columns(block: np.ndarray, start: int, count: int) -> np.ndarray:
    return block[:, start:start + count]


def _sequential_row(sc: "CoverageScenario", t_p95: float, t_ovf: float) -> list[Check]:
    return sequential_coverage_checks(sc, t_p95, t_ovf)[0]


def _tolerance(fixed: float, se: float, rule: str, quick: bool) -> tuple[float, str]:
    if quick and QUICK_SE_MULTIPLIER * se > fixed:
        return QUICK_SE_MULTIPLIER * se, f"{QUICK_SE_MULTIPLIER:g} SE (quick run)"
    return fixed, rule


# ---------------------------------------------------------------- per-job waits
def night_waits(night: Night, workers: int) -> np.ndarray:
    """Every job's wait (start - arrival) in one zero-noise replay, in the night's job order."""
    tr = E.trace(night, workers, rep=0, perturbation=Perturbation(0.0, 0.0))
    return tr["start_minute"] - tr["arrival_minute"]


@dataclass
class WaitRun:
    """Post-warm-up waits of one or more independent nights, cut into batches."""

    waits: list[np.ndarray]  # per night, kept jobs in arrival order
    groups: list[np.ndarray]  # per night, class label of each kept job (priority)
    jobs_per_night: int
    nights: int

    def batches(self, values_of: Callable[[np.ndarray, np.ndarray], np.ndarray],
                select: Callable[[np.ndarray], np.ndarray] | None = None
                ) -> tuple[float, float]:
        """(pooled mean, batch-means SE) of values_of(waits) over the selected jobs."""
        means = []
        total = 0.0
        count = 0
        for w, g in zip(self.waits, self.groups):
            v = values_of(w, g)
            keep = np.ones(w.shape[0], bool) if select is None else select(g)
            size = w.shape[0] // BATCHES_PER_NIGHT
            for b in range(BATCHES_PER_NIGHT):
                sl = slice(b * size, (b + 1) * size)
                k = keep[sl]
                means.append(float(v[sl][k].mean()))
                total += float(v[sl][k].sum())
                count += int(k.sum())
        means_arr = np.array(means)
        se = float(means_arr.std(ddof=1) / math.sqrt(means_arr.shape[0]))
        return total / count, se


def wait_run(rate: float, workers: int, n_jobs: int, nights: int, seed: int,
             runtime: str = "exponential", priority_shares: Sequence[float] | None = None,
             mean_runtime: float = MEAN_RUNTIME) -> WaitRun:
    """Build ``nights`` independent Poisson nights (seeds seed, seed+1, ...), replay each once,
    drop the warm-up. ``priority_shares`` (highest class first) draws each job's class."""
    waits, groups = [], []
    for k in range(nights):
        prio = None
        if priority_shares is not None:
            rng = np.random.default_rng([seed + k, 99])
            cls = rng.choice(len(priority_shares), size=n_jobs, p=list(priority_shares))
            prio = (len(priority_shares) - cls).astype(np.int64)  # class 0 -> highest priority
        night = poisson_night(n_jobs, rate, mean_runtime, seed=seed + k, runtime=runtime,
                              priority=prio)
        w = night_waits(night, workers)
        skip = int(math.ceil(WARMUP_FRACTION * n_jobs))
        waits.append(w[skip:])
        groups.append(np.asarray(night.priority)[skip:])
    return WaitRun(waits, groups, n_jobs, nights)


# ---------------------------------------------------------------- closed-form checks
def mmc_checks(rho: float, workers: int, n_jobs: int = NIGHT_JOBS, nights: int = 1,
               seed: int = 100, quick: bool = False) -> list[Check]:
    """M/M/c FCFS: mean wait against Erlang C's Wq, P(W > t) at three t."""
    mu = 1.0 / MEAN_RUNTIME
    lam = rho * workers * mu
    run = wait_run(lam, workers, n_jobs, nights, seed)
    size = f"{nights} x {n_jobs:,} jobs, first {WARMUP_FRACTION:.0%} of each dropped"
    name = f"M/M/{workers} rho={rho:g}"
    out = []
    expected = Q.mmc_mean_wait(workers, lam, mu)
    measured, se = run.batches(lambda w, g: w)
    tol, rule = _tolerance(MEAN_TOLERANCE * expected, se, f"{MEAN_TOLERANCE:.0%} of expected",
                           quick)
    out.append(Check(f"{name} mean wait (min)", "Erlang C: Wq = C(c,a) / (c mu - lambda)",
                     expected, measured, tol, rule, se, size))
    decay = 1.0 / (workers * mu - lam)
    for m in TAIL_MULTIPLIERS:
        t = m * decay
        expected = Q.mmc_wait_exceeds(t, workers, lam, mu)
        measured, se = run.batches(partial(_exceeds, t=t))
        tol, rule = _tolerance(PROB_TOLERANCE, se, f"{PROB_TOLERANCE:g} absolute", quick)
        out.append(Check(f"{name} P(W > {t:.4g} min)",
                         "Erlang C: P(W > t) = C(c,a) exp(-(c mu - lambda) t)",
                         expected, measured, tol, rule, se, size))
    return out


def md1_check(rho: float = 0.8, n_jobs: int = NIGHT_JOBS, nights: int = 2, seed: int = 300,
              quick: bool = False) -> list[Check]:
    """M/D/1 mean wait against Pollaczek-Khinchine."""
    lam = rho / MEAN_RUNTIME
    run = wait_run(lam, 1, n_jobs, nights, seed, runtime="constant")
    expected = Q.md1_mean_wait(lam, MEAN_RUNTIME)
    measured, se = run.batches(lambda w, g: w)
    tol, rule = _tolerance(MEAN_TOLERANCE * expected, se, f"{MEAN_TOLERANCE:.0%} of expected",
                           quick)
    return [Check(f"M/D/1 rho={rho:g} mean wait (min)",
                  "Pollaczek-Khinchine: Wq = rho D / (2 (1 - rho))", expected, measured, tol,
                  rule, se, f"{nights} x {n_jobs:,} jobs, constant runtime {MEAN_RUNTIME:g} min,"
                            f" first {WARMUP_FRACTION:.0%} of each dropped")]


def priority_checks(rho: float = 0.8, share_high: float = 0.5, n_jobs: int = NIGHT_JOBS,
                    nights: int = 3, seed: int = 400, quick: bool = False) -> list[Check]:
    """Two priority classes on one worker, exponential runtimes: per-class mean waits against
    Cobham's non-preemptive priority formula."""
    lam = rho / MEAN_RUNTIME
    shares = (share_high, 1.0 - share_high)
    run = wait_run(lam, 1, n_jobs, nights, seed, priority_shares=shares)
    es2 = 2.0 * MEAN_RUNTIME ** 2  # exponential: E[S^2] = 2 E[S]^2
    expected = Q.priority_mean_waits([lam * s for s in shares], [MEAN_RUNTIME] * 2, [es2] * 2)
    out = []
    for k, label in enumerate(("high", "low")):
        level = len(shares) - k
        measured, se = run.batches(_waits, select=partial(_is_level, level=level))
        tol, rule = _tolerance(MEAN_TOLERANCE * expected[k], se,
                               f"{MEAN_TOLERANCE:.0%} of expected", quick)
        out.append(Check(f"M/M/1 priority rho={rho:g} {label} class mean wait (min)",
                         "Cobham: Wq_k = W0 / ((1 - s_{k-1}) (1 - s_k)), W0 = sum l_i E[S_i^2]/2",
                         expected[k], measured, tol, rule, se,
                         f"{nights} x {n_jobs:,} jobs, {share_high:.0%} high priority, "
                         f"first {WARMUP_FRACTION:.0%} of each dropped"))
    return out


# ---------------------------------------------------------------- interval coverage
@dataclass(frozen=True)
class CoverageScenario:
    batch_date: str
    workers: int
    batch_end: str
    runtime_cv: float = E.DEFAULT_RUNTIME_CV
    arrival_jitter: float = E.DEFAULT_ARRIVAL_JITTER

    def night(self) -> Night:
        from ..io.sample import load_sample

        return load_sample(self.batch_date, batch_end=self.batch_end)

    @property
    def label(self) -> str:
        return f"{self.batch_date}, {self.workers} workers, cutoff {self.batch_end}"

    def perturbation(self) -> Perturbation:
        return Perturbation(self.runtime_cv, self.arrival_jitter)


def truth(sc: CoverageScenario, replications: int = TRUTH_REPLICATIONS,
          seed: int = TRUTH_SEED) -> dict[str, float]:
    """The 'true' overflow probability and mean p95 wait from one long run, with their SEs."""
    night = sc.night()
    batch = E.prepare([night], sc.perturbation(), seed)
    s = E.replicate(batch, [0], [sc.workers], replications)[0]
    p95 = s[E.METRICS.index("p95_wait_minutes")]
    ovf = s[E.METRICS.index("queue_drained_minute")] > night.horizon_minutes
    p = float(ovf.mean())
    return {"overflow_probability": p,
            "overflow_se": math.sqrt(p * (1 - p) / replications),
            "p95_mean": float(p95.mean()),
            "p95_se": float(p95.std(ddof=1) / math.sqrt(replications)),
            "replications": replications}


def coverage_of(samples: np.ndarray, horizon: float, tru: dict, runs: int, per_run: int,
                confidence: float) -> tuple[int, int]:
    """How many of ``runs`` consecutive slices of ``per_run`` replications give intervals that
    contain the truth: (overflow, p95).

    The intervals are the product's: ``stats.wilson`` per slice, and the Student-t interval of
    ``stats.t_interval`` vectorised over slices (its half-width is t_{n-1} sd / sqrt(n), the
    same for every slice up to sd; tests/test_validation.py checks it against
    ``engine.summarize_samples`` slice by slice).
    """
    from ..stats.intervals import t_interval, wilson

    p95 = samples[E.METRICS.index("p95_wait_minutes"), :runs * per_run].reshape(runs, per_run)
    ovf = samples[E.METRICS.index("queue_drained_minute"), :runs * per_run] > horizon
    counts = ovf.reshape(runs, per_run).sum(axis=1)
    hit_ovf = 0
    for k in counts:
        o = wilson(int(k), per_run, confidence)
        hit_ovf += o["ci_low"] <= tru["overflow_probability"] <= o["ci_high"]
    unit = t_interval(0.0, 1.0, per_run, confidence)[1]  # t_{n-1} / sqrt(n)
    means = p95.mean(axis=1)
    half = unit * p95.std(axis=1, ddof=1)
    hit_p95 = int(np.count_nonzero((means - half <= tru["p95_mean"])
                                   & (tru["p95_mean"] <= means + half)))
    return int(hit_ovf), hit_p95


def coverage_checks(sc: CoverageScenario, runs: int = 1000, per_run: int = 1000,
                    truth_replications: int = TRUTH_REPLICATIONS,
                    seed: int = COVERAGE_SEED, confidence: float = 0.95) -> list[Check]:
    """Coverage of the 95% Wilson interval (overflow probability) and Student-t interval (mean
    p95 wait) over ``runs`` independent runs of ``per_run`` replications.

    The runs are the disjoint slices [i * per_run, (i + 1) * per_run) of one long run of
    ``seed``: every replication's draws are keyed on (seed, replication number, job), so
    distinct replications are independent and each slice is distributed exactly like a
    separate seed's first ``per_run`` replications; one kernel call is simply faster. The truth
    comes from a different seed (``TRUTH_SEED``).
    """
    tru = truth(sc, truth_replications)
    night = sc.night()
    if not 0.05 <= tru["overflow_probability"] <= 0.95:
        raise ScenarioError(f"coverage scenario {sc.label} has overflow probability "
                            f"{tru['overflow_probability']:.3f}, outside [0.05, 0.95]")
    batch = E.prepare([night], sc.perturbation(), seed)
    samples = E.replicate(batch, [0], [sc.workers], runs * per_run)[0]
    hit_ovf, hit_p95 = coverage_of(samples, night.horizon_minutes, tru, runs, per_run,
                                   confidence)
    se = math.sqrt(COVERAGE_TARGET * (1 - COVERAGE_TARGET) / runs)
    detail = (f"{runs:,} runs x {per_run:,} replications; truth from {truth_replications:,} "
              f"replications: P(overflow) = {tru['overflow_probability']:.4f}, "
              f"mean p95 = {tru['p95_mean']:.3f} min")
    out = []
    for what, hits, formula in (
            ("overflow probability (Wilson)", hit_ovf, "Wilson score interval, 95%"),
            ("mean p95 wait (Student t)", hit_p95, "Student t interval, 95%")):
        tol, rule = COVERAGE_TOLERANCE, "93% to 97%"
        out.append(Check(f"coverage {what}: {sc.label}", formula, COVERAGE_TARGET,
                         hits / runs, tol, rule, se, detail))
    return out


def sequential_coverage_checks(sc: CoverageScenario, target_halfwidth_p95: float,
                               target_halfwidth_overflow: float, runs: int = 1000,
                               batch: int = 100, cap: int = 5000, seed: int = 7,
                               truth_replications: int = TRUTH_REPLICATIONS,
                               confidence: float = 0.95) -> tuple[list[Check], dict]:
    """Coverage of the intervals a precision-targeted run reports, over ``runs`` independent runs.

    Run k applies the stopping rule of ``sequential.run_until`` (first batch 1,000, then
    ``batch`` more at a time, at most ``cap``) to the replications [k * cap, (k + 1) * cap) of
    one long run of ``seed``: as in ``coverage_checks``, disjoint ranges of replication numbers
    are independent and distributed like separate seeds, and ``simulate_to_precision`` feeds the
    same rule with ``engine.replicate(..., rep_start=done)``, i.e. exactly such a range. The
    replications are computed 50 runs at a time to bound memory. A small ``batch`` makes the
    stopping time follow the noise closely, which is the hard case for the rule.
    Returns the checks and a summary (replications used; mean of the estimates vs the truth).
    """
    from .sequential import run_until
    from ..stats.intervals import t_interval, wilson

    tru = truth(sc, truth_replications)
    night = sc.night()
    horizon = night.horizon_minutes
    prepared = E.prepare([night], sc.perturbation(), seed)
    i_p95 = E.METRICS.index("p95_wait_minutes")
    i_drained = E.METRICS.index("queue_drained_minute")
    hit_ovf = hit_p95 = 0
    used, est_ovf, est_p95, stopped_cap = [], [], [], 0
    group = 50
    for g0 in range(0, runs, group):
        m = min(group, runs - g0)
        block = E.replicate(prepared, [0], [sc.workers], m * cap, rep_start=g0 * cap)[0]
        for j in range(m):
            region = block[:, j * cap:(j + 1) * cap]
            samples, prec = run_until(partial(_columns, region), horizon,
                                      target_halfwidth_p95, target_halfwidth_overflow, cap,
                                      batch, confidence=confidence)
            n = samples.shape[1]
            k = int(np.count_nonzero(samples[i_drained] > horizon))
            o = wilson(k, n, confidence)
            hit_ovf += o["ci_low"] <= tru["overflow_probability"] <= o["ci_high"]
            x = samples[i_p95]
            lo, hi = t_interval(float(x.mean()), float(x.std(ddof=1)), n, confidence)
            hit_p95 += lo <= tru["p95_mean"] <= hi
            used.append(n)
            est_ovf.append(k / n)
            est_p95.append(float(x.mean()))
            stopped_cap += prec["stopped"] != "target met"
    used_arr = np.array(used)
    se = math.sqrt(COVERAGE_TARGET * (1 - COVERAGE_TARGET) / runs)
    detail = (f"{runs:,} runs; targets p95 +-{target_halfwidth_p95:g} min, overflow "
              f"+-{target_halfwidth_overflow:g}, first batch 1,000 then +{batch}; "
              f"replications used {used_arr.min():,} to {used_arr.max():,} "
              f"(median {int(np.median(used_arr)):,}); truth P(overflow) = "
              f"{tru['overflow_probability']:.4f}, mean p95 = {tru['p95_mean']:.3f} min")
    out = []
    for what, hits, formula in (
            ("overflow probability (Wilson)", hit_ovf, "Wilson score interval, 95%"),
            ("mean p95 wait (Student t)", hit_p95, "Student t interval, 95%")):
        out.append(Check(f"sequential coverage {what}: {sc.label}", formula, COVERAGE_TARGET,
                         hits / runs, COVERAGE_TOLERANCE, "93% to 97%", se, detail))
    summary = {"min": int(used_arr.min()), "max": int(used_arr.max()),
               "median": float(np.median(used_arr)), "distinct": int(np.unique(used_arr).size),
               "stopped_at_cap": stopped_cap, "truth": tru,
               "mean_estimate_overflow": float(np.mean(est_ovf)),
               "sd_estimate_overflow": float(np.std(est_ovf, ddof=1)),
               "mean_estimate_p95": float(np.mean(est_p95)),
               "sd_estimate_p95": float(np.std(est_p95, ddof=1))}
    return out, summary


# (scenario, p95 target in minutes, overflow target) for the sequential coverage checks: both
# targets need about 3,000-4,000 replications, so the stopping time moves with the noise.
SEQUENTIAL_SCENARIOS = ((("2026-05-11", 2, "04:00"), 0.8, 0.012),
                        (("2026-05-12", 3, "04:00"), 0.9, 0.016))


# ---------------------------------------------------------------- suites
def run_checks(level: str = "quick",
               progress: Callable[[str], None] | None = None) -> list[Check]:
    """``"quick"``: the subset ``mcqueue validate`` runs (well under 30 s); ``"full"``: every
    check of docs/validation.md (a few minutes)."""
    if level not in ("quick", "full"):
        raise ScenarioError(f"level must be 'quick' or 'full', got {level!r}")
    say = progress or (lambda msg: None)
    quick = level == "quick"
    rows: list[Check] = []
    if quick:
        plan: list[tuple[str, Callable[[], list[Check]]]] = [
            ("M/M/1 rho=0.5", lambda: mmc_checks(0.5, 1, QUICK_JOBS, 1, quick=True)),
            ("M/M/4 rho=0.8", lambda: mmc_checks(0.8, 4, QUICK_JOBS, 1, quick=True)),
            ("M/D/1 rho=0.8", lambda: md1_check(0.8, QUICK_JOBS, 1, quick=True)),
            ("priority rho=0.8", lambda: priority_checks(0.8, 0.5, QUICK_JOBS, 1, quick=True)),
            ("coverage", lambda: coverage_checks(CoverageScenario(*COVERAGE_SCENARIOS[1]),
                                                 runs=1000, per_run=1000,
                                                 truth_replications=1_000_000)),
        ]
    else:
        plan = [(f"M/M/{c} rho={rho:g}",
                 partial(mmc_checks, rho, c, NIGHT_JOBS, k,
                         seed=10_000 * c + 100 * round(rho * 100)))
                for (rho, c), k in MMC_NIGHTS.items()]
        plan.append(("M/D/1 rho=0.8", lambda: md1_check(0.8)))
        plan.append(("priority rho=0.8", lambda: priority_checks(0.8)))
        for spec in COVERAGE_SCENARIOS:
            plan.append((f"coverage {spec[0]}",
                         partial(coverage_checks, CoverageScenario(*spec))))
        for spec, t_p95, t_ovf in SEQUENTIAL_SCENARIOS:
            plan.append((f"sequential coverage {spec[0]}",
                         partial(_sequential_row, CoverageScenario(*spec), t_p95, t_ovf)))
    for label, fn in plan:
        say(label)
        rows.extend(fn())
    return rows


@dataclass
class ValidationResult:
    """The checks of one ``validate`` run (``level`` "quick" or "full")."""

    level: str
    checks: list[Check]

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def to_dicts(self) -> list[dict]:
        return [c.as_row() for c in self.checks]


def validate(level: str = "quick",
             progress: Callable[[str], None] | None = None) -> ValidationResult:
    """``run_checks`` as a result object (what ``mcqueue validate`` renders)."""
    return ValidationResult(level, run_checks(level, progress))
