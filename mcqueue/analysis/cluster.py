"""Spreading work over an existing Dask distributed cluster.

Each task runs the same in-process function on a chunk of nights (``planning.score_chunk``), so
a cluster changes where the numbers are computed, never what they are: every random draw depends
only on (seed, replication, job_id). Chunks are large (``DEFAULT_NIGHTS_PER_TASK`` nights of
10,000 replications is about a second of work) so the per-task overhead of Dask (about a
millisecond) and the transfer of nights and rows stay negligible.

Workers need mcqueue installed (same version) and run the numba kernels with their own threads;
see docs/scaling.md.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

from ..errors import ServiceError, first_line, quote

ENV_SCHEDULER = "MCQUEUE_DASK_SCHEDULER"
DEFAULT_NIGHTS_PER_TASK = 100
CONNECT_TIMEOUT = 30.0  # seconds (the command line's --timeout)
INSTALL_HINT = 'pip install "mcqueue[dask]"'


def scheduler_address(explicit: str | None = None) -> str | None:
    """The scheduler to use: ``explicit``, else $MCQUEUE_DASK_SCHEDULER, else None (in-process)."""
    address = explicit or os.environ.get(ENV_SCHEDULER) or None
    return address.strip() if address else None


def require_dask() -> None:
    """ServiceError naming the pip command when the optional dask extra is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ServiceError(f"a Dask scheduler was given but dask.distributed is not "
                           f"installed: {INSTALL_HINT}") from None


def connect(address: str, timeout: float | None = None):
    """A ``distributed.Client`` on ``address`` within ``timeout`` seconds (default
    CONNECT_TIMEOUT); ServiceError when it is unreachable or does not answer in time.

    distributed's own connect timeout does not cover a server that accepts the connection and
    never answers (it waits for ever), so the connect runs in a daemon thread and is abandoned
    at the deadline.
    """
    import threading
    import time

    require_dask()
    from distributed import Client

    seconds = CONNECT_TIMEOUT if timeout is None else float(timeout)
    box: dict = {}

    def attempt() -> None:
        try:
            box["client"] = Client(address, timeout=f"{seconds}s", set_as_default=False)
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    worker = threading.Thread(target=attempt, name="mcqueue-dask-connect", daemon=True)
    worker.start()
    until = time.monotonic() + seconds + 1.0
    while worker.is_alive() and time.monotonic() < until:
        worker.join(0.2)  # short slices: Ctrl-C is seen at once
    if worker.is_alive() or ("client" not in box and "error" not in box):
        raise ServiceError(f"no answer from the Dask scheduler at {quote(address)} within "
                           f"{seconds:g} s (--timeout); is it a Dask scheduler, and running?")
    if "error" in box:
        exc = box["error"]
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise exc
        raise ServiceError(f"cannot reach the Dask scheduler at {quote(address)}: "
                           f"{type(exc).__name__}: {first_line(exc)}") from None
    return box["client"]


def map_chunks(fn: Callable, chunks: Sequence, address: str, *args,
               progress: Callable[[int], None] | None = None,
               timeout: float | None = None) -> list:
    """``[fn(chunk, *args) for chunk in chunks]`` computed on the cluster at ``address``.

    Results come back in chunk order; ``progress(i)`` is called as chunk i finishes.
    """
    if not chunks:
        return []
    from distributed import as_completed

    client = connect(address, timeout)
    try:
        futures = [client.submit(fn, chunk, *args, pure=False) for chunk in chunks]
        where = {f.key: i for i, f in enumerate(futures)}
        out: list = [None] * len(futures)
        for fut in as_completed(futures, loop=client.loop):
            i = where[fut.key]
            out[i] = fut.result()
            if progress is not None:
                progress(i)
        return out
    finally:
        try:
            client.close(timeout=5)
        except Exception:  # closing a broken connection must not hide the real error
            pass
