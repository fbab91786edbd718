"""The one place numba compile options are decided (docs/engine.md: compile options are decided once)."""

from numba import njit

_OPTIONS = dict(cache=True, error_model="numpy", nogil=True, fastmath=False)


def kernel(fn=None, *, parallel=False, inline="never"):
    """Decorate a kernel function with the project's compile options.

    fastmath stays off: results must be bit-identical to the naive twin and across thread counts.
    """

    def wrap(f):
        return njit(parallel=parallel, inline=inline, **_OPTIONS)(f)

    return wrap(fn) if fn is not None else wrap
