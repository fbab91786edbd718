"""mcqueue: will tonight's database batch window make the cutoff?

Monte Carlo replay of a night of queued jobs (ETL, refreshes, backfills, index maintenance) in a
numba-compiled engine, with confidence intervals for wait, queue, utilisation and overflow.
"""

__version__ = "0.1.0"

from .engine import (  # noqa: E402
    DEFAULT_ARRIVAL_JITTER,
    DEFAULT_CONFIDENCE,
    DEFAULT_REPLICATIONS,
    DEFAULT_RUNTIME_CV,
    DEFAULT_SEED,
    METRICS,
    Scenario,
    SimulationResult,
    deterministic,
    queueing,
    simulate,
    simulate_scenarios,
    trace,
)
from .errors import DataError, McqueueError, ScenarioError, ServiceError  # noqa: E402
from .perturbation import LognormalFactor, Perturbation, UniformDelay  # noqa: E402
from .sample import SAMPLE_DATES, load_sample, sample_frame  # noqa: E402
from .schema import Night, load_night, night_from_frame, validate_jobs  # noqa: E402

__all__ = [
    "__version__",
    "DEFAULT_ARRIVAL_JITTER", "DEFAULT_CONFIDENCE", "DEFAULT_REPLICATIONS",
    "DEFAULT_RUNTIME_CV", "DEFAULT_SEED", "METRICS",
    "Scenario", "SimulationResult", "deterministic", "queueing", "simulate",
    "simulate_scenarios", "trace",
    "DataError", "McqueueError", "ScenarioError", "ServiceError",
    "LognormalFactor", "Perturbation", "UniformDelay",
    "SAMPLE_DATES", "load_sample", "sample_frame",
    "Night", "load_night", "night_from_frame", "validate_jobs",
]
