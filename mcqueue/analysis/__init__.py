"""Applications of the engine: score many nights, plan worker counts, precision-targeted runs,
validation against queueing theory, benchmarks, Dask distribution."""
