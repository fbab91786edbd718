"""The simulation engine: a night as numpy columns, its perturbation, the numba kernel and the
Python layer that lays nights out, calls the kernel and summarises the replications."""
