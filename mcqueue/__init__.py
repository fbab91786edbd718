"""mcqueue: will tonight's database batch window make the cutoff?

Monte Carlo replay of a night of queued jobs (ETL, refreshes, backfills, index maintenance) in a
numba-compiled engine, with confidence intervals for wait, queue, utilisation and overflow.

The names in ``__all__`` are the public API::

    import mcqueue
    night = mcqueue.load_sample("2026-05-13")            # or load_nights(Source(file=...))
    result = mcqueue.simulate(night, workers=3)          # a SimulationResult
    print(mcqueue.render([result], "table"))

They load lazily (PEP 562), so ``import mcqueue`` is cheap and the command line starts fast;
numba and polars load on first use of a name that needs them. The package is layered (each
layer imports only those below it): ``mcqueue.report`` -> ``mcqueue.analysis`` -> ``mcqueue.io``
-> ``mcqueue.engine`` -> ``mcqueue.stats``; see README.md, "Layout".
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, tuple[str, ...]] = {
    "engine.simulate": ("DEFAULT_ARRIVAL_JITTER", "DEFAULT_CONFIDENCE", "DEFAULT_REPLICATIONS",
                        "DEFAULT_RUNTIME_CV", "DEFAULT_SEED", "METRICS", "Scenario",
                        "SimulationResult", "deterministic", "queueing", "simulate",
                        "simulate_scenarios", "trace"),
    "engine.night": ("Night",),
    "engine.perturbation": ("LognormalFactor", "Perturbation", "UniformDelay"),
    "errors": ("DataError", "FormatError", "McqueueError", "ScenarioError", "ServiceError",
               "UsageError"),
    "io.sample": ("SAMPLE_DATES", "load_sample", "sample_frame"),
    "io.schema": ("load_night", "night_from_frame", "nights_from_frame", "validate_jobs"),
    "io.sources": ("read_jobs", "write_jobs"),
    "io.loading": ("Clock", "Loaded", "Source", "load_nights", "load_range"),
    "analysis.sequential": ("simulate_to_precision",),
    "analysis.planning": ("Plan", "PlanRow", "PlanStep", "ScoreResult", "ScoreRow", "Settings",
                          "plan", "score"),
    "analysis.runs": ("Hooks", "SimulateReport", "run_plan", "run_score", "run_simulate"),
    "analysis.whatif": ("WhatIfResult", "run_whatif"),
    "analysis.validation": ("ValidationResult", "validate"),
    "analysis.benchmark": ("BenchResult", "run_benchmark"),
    "report": ("render",),
}
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}

__all__ = [
    "__version__",
    # engine: one night, simulated
    "Night", "Scenario", "SimulationResult", "simulate", "simulate_scenarios", "trace",
    "deterministic", "queueing", "METRICS", "Perturbation", "LognormalFactor", "UniformDelay",
    "DEFAULT_REPLICATIONS", "DEFAULT_RUNTIME_CV", "DEFAULT_ARRIVAL_JITTER",
    "DEFAULT_CONFIDENCE", "DEFAULT_SEED",
    # io: where nights come from
    "Source", "Clock", "Loaded", "load_nights", "load_range", "read_jobs", "write_jobs",
    "validate_jobs", "load_night", "night_from_frame", "nights_from_frame", "load_sample",
    "sample_frame", "SAMPLE_DATES",
    # analysis: many nights, worker plans, precision targets, the commands' entry points
    "Settings", "score", "ScoreResult", "ScoreRow", "plan", "Plan", "PlanRow", "PlanStep",
    "simulate_to_precision", "run_simulate", "run_score", "run_plan", "Hooks",
    "SimulateReport", "validate", "ValidationResult", "run_benchmark", "BenchResult",
    "run_whatif", "WhatIfResult",
    # report
    "render",
    # errors
    "McqueueError", "DataError", "ScenarioError", "ServiceError", "UsageError", "FormatError",
]
assert set(__all__) == {"__version__", *_WHERE}, "every public name has one home"

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names load lazily
    from .analysis.benchmark import BenchResult, run_benchmark
    from .analysis.planning import (Plan, PlanRow, PlanStep, ScoreResult, ScoreRow, Settings,
                                    plan, score)
    from .analysis.runs import Hooks, SimulateReport, run_plan, run_score, run_simulate
    from .analysis.sequential import simulate_to_precision
    from .analysis.validation import ValidationResult, validate
    from .analysis.whatif import WhatIfResult, run_whatif
    from .engine.night import Night
    from .engine.perturbation import LognormalFactor, Perturbation, UniformDelay
    from .engine.simulate import (DEFAULT_ARRIVAL_JITTER, DEFAULT_CONFIDENCE,
                                  DEFAULT_REPLICATIONS, DEFAULT_RUNTIME_CV, DEFAULT_SEED,
                                  METRICS, Scenario, SimulationResult, deterministic, queueing,
                                  simulate, simulate_scenarios, trace)
    from .errors import (DataError, FormatError, McqueueError, ScenarioError, ServiceError,
                         UsageError)
    from .io.loading import Clock, Loaded, Source, load_nights, load_range
    from .io.sample import SAMPLE_DATES, load_sample, sample_frame
    from .io.schema import load_night, night_from_frame, nights_from_frame, validate_jobs
    from .io.sources import read_jobs, write_jobs
    from .report import render


def __getattr__(name: str) -> Any:
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'mcqueue' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
