"""mcqueue: will tonight's database batch window make the cutoff?

Monte Carlo replay of a night of queued jobs (ETL, refreshes, backfills, index maintenance) in a
numba-compiled engine, with confidence intervals for wait, queue, utilisation and overflow.

The public names below load lazily (PEP 562), so `import mcqueue` is cheap and the command line
starts fast; numba and polars load on first use of a name that needs them.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "engine": ("DEFAULT_ARRIVAL_JITTER", "DEFAULT_CONFIDENCE", "DEFAULT_REPLICATIONS",
               "DEFAULT_RUNTIME_CV", "DEFAULT_SEED", "METRICS", "Scenario", "SimulationResult",
               "deterministic", "queueing", "simulate", "simulate_scenarios", "trace"),
    "errors": ("DataError", "McqueueError", "ScenarioError", "ServiceError"),
    "perturbation": ("LognormalFactor", "Perturbation", "UniformDelay"),
    "sample": ("SAMPLE_DATES", "load_sample", "sample_frame"),
    "night": ("Night",),
    "schema": ("load_night", "night_from_frame", "validate_jobs"),
}
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *_WHERE]


def __getattr__(name):
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'mcqueue' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
