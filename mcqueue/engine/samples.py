"""Per-replication metrics of one scenario, stored compactly.

The kernels write eight float64 metrics per replication (``kernel.METRICS``, 64 bytes).
Two of them are counts (``max_queue_length``, ``overflow_jobs``) and one is derived from a
count (``overflow_risk`` = overflow_jobs / jobs, exactly the kernel's division), so a
``MetricSamples`` keeps five float64 columns and two integer columns (int16 for a night of
fewer than 32,768 jobs, whose counts cannot exceed its job count; int32 above): 44 bytes a
replication, 440 MB instead of 640 MB for 10,000,000 replications (docs/benchmarks.md, issue
17). Every value it gives back is the kernel's float64 value to the bit.

It behaves as the (8, R) float64 array it replaces where results are read: ``shape``,
``len``, ``samples[i]`` (the column of metric i as float64: a view of a float column, a
new array for a count or the share), ``samples[i, j]`` and other indexing through the full
array, ``np.asarray(samples)`` (the full (8, R) array, built on demand), iteration by metric.
``column(name)`` reads one metric by name.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from . import kernel as K

METRICS = K.METRICS
FLOAT_METRICS = ("average_wait_minutes", "p95_wait_minutes", "average_queue_length",
                 "worker_utilization", "queue_drained_minute")
COUNT_METRICS = ("max_queue_length", "overflow_jobs")
SHARE_METRIC = "overflow_risk"  # overflow_jobs / jobs
_FLOAT_AT = {METRICS.index(m): j for j, m in enumerate(FLOAT_METRICS)}
_COUNT_AT = {METRICS.index(m): j for j, m in enumerate(COUNT_METRICS)}
_SHARE = METRICS.index(SHARE_METRIC)
_OVERFLOW = COUNT_METRICS.index("overflow_jobs")
BYTES_PER_REPLICATION = 8 * len(FLOAT_METRICS) + 4 * len(COUNT_METRICS)  # at most
SMALL_NIGHT = 2**15  # fewer jobs: counts fit int16
assert set(_FLOAT_AT) | set(_COUNT_AT) | {_SHARE} == set(range(K.N_METRICS))


class MetricSamples:
    """The (8, R) per-replication metrics of one scenario of a night of ``jobs`` jobs."""

    __slots__ = ("floats", "counts", "jobs")
    ndim = 2
    dtype = np.dtype(np.float64)

    def __init__(self, floats: np.ndarray, counts: np.ndarray, jobs: int) -> None:
        self.floats = floats  # (5, R) float64, columns FLOAT_METRICS
        self.counts = counts  # (2, R) int16 or int32, columns COUNT_METRICS
        self.jobs = int(jobs)

    @classmethod
    def empty(cls, replications: int, jobs: int) -> "MetricSamples":
        return cls(np.empty((len(FLOAT_METRICS), replications), np.float64),
                   np.empty((len(COUNT_METRICS), replications),
                            np.int16 if jobs < SMALL_NIGHT else np.int32), jobs)

    @classmethod
    def from_array(cls, block: np.ndarray, jobs: int) -> "MetricSamples":
        """From the kernel's (8, R) float64 metrics of one scenario of a night of ``jobs``
        jobs (checked: every count a whole number in 0 .. jobs, every share count / jobs)."""
        block = np.asarray(block, dtype=np.float64)
        if block.ndim != 2 or block.shape[0] != K.N_METRICS:
            raise ValueError(f"metrics: shape {block.shape}, expected ({K.N_METRICS}, R)")
        for i in _COUNT_AT:
            c = block[i]
            if c.size and not (np.all(c == np.floor(c)) and c.min() >= 0 and c.max() <= jobs):
                raise ValueError(f"metrics: {METRICS[i]} outside the whole numbers 0..{jobs}")
        out = cls.empty(block.shape[1], jobs)
        out.put(0, block)
        if not np.array_equal(out.metric(_SHARE), block[_SHARE]):
            raise ValueError(f"metrics: {SHARE_METRIC} is not overflow_jobs / {jobs}")
        return out

    def put(self, col0: int, block: np.ndarray) -> None:
        """Store the kernel's (8, m) metrics as replications col0 .. col0 + m - 1."""
        m = block.shape[1]
        for i, j in _FLOAT_AT.items():
            self.floats[j, col0:col0 + m] = block[i]
        for i, j in _COUNT_AT.items():
            self.counts[j, col0:col0 + m] = block[i]  # whole numbers 0 .. jobs: exact

    @property
    def replications(self) -> int:
        return int(self.floats.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        return (K.N_METRICS, self.replications)

    @property
    def nbytes(self) -> int:
        return int(self.floats.nbytes + self.counts.nbytes)

    def __len__(self) -> int:
        return K.N_METRICS

    def metric(self, i: int) -> np.ndarray:
        """Metric i (``METRICS`` order) as a float64 column: a read-only view of a float
        column, a new array for a count or the share."""
        if i < 0:
            i += K.N_METRICS
        if i in _FLOAT_AT:
            view = self.floats[_FLOAT_AT[i]]
            view = view.view()
            view.flags.writeable = False
            return view
        if i in _COUNT_AT:
            return self.counts[_COUNT_AT[i]].astype(np.float64)
        if i == _SHARE:
            if self.jobs == 0:  # the kernel writes 0 for every metric of an empty night
                return np.zeros(self.replications, np.float64)
            return self.counts[_OVERFLOW] / self.jobs
        raise IndexError(f"metric index {i} out of range 0..{K.N_METRICS - 1}")

    def column(self, name: str) -> np.ndarray:
        """The metric called ``name`` (one of ``METRICS``) as a float64 column."""
        return self.metric(METRICS.index(name))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if copy is False:  # numpy 2's protocol: the array is always built, never a view
            raise ValueError("MetricSamples builds its float64 array: a copy is needed")
        full = np.empty(self.shape, np.float64)
        for i in range(K.N_METRICS):
            full[i] = self.metric(i)
        return full if dtype is None else full.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return self.metric(int(key))
        if (isinstance(key, tuple) and key and isinstance(key[0], (int, np.integer))
                and not isinstance(key[0], bool)):
            return self.metric(int(key[0]))[key[1:]]
        return np.asarray(self)[key]

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.metric(i) for i in range(K.N_METRICS))

    def __repr__(self) -> str:
        return (f"MetricSamples({K.N_METRICS} metrics x {self.replications:,} replications, "
                f"{self.nbytes:,} bytes)")
