"""Peer implementations of the mcqueue night model, for side-by-side benchmarks.

Each peer takes the same drawn night (arrivals, runtimes in canonical job_id order, priorities,
exclusive flags) and returns the eight per-night metrics in ``mcqueue.engine.METRICS`` order, so
the engine, SimPy and the naive pure-Python twin can be compared on identical nights and noise.
"""
