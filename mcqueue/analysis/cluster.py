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

from ..errors import ServiceError

ENV_SCHEDULER = "MCQUEUE_DASK_SCHEDULER"
DEFAULT_NIGHTS_PER_TASK = 100
CONNECT_TIMEOUT = "10s"


def scheduler_address(explicit: str | None = None) -> str | None:
    """The scheduler to use: ``explicit``, else $MCQUEUE_DASK_SCHEDULER, else None (in-process)."""
    address = explicit or os.environ.get(ENV_SCHEDULER) or None
    return address.strip() if address else None


def connect(address: str):
    """A ``distributed.Client`` on ``address``; ServiceError when it is unreachable."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask is an optional extra
        raise ServiceError("a Dask scheduler was given but dask.distributed is not installed: "
                           "pip install 'mcqueue[dask]'") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ServiceError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None


def map_chunks(fn: Callable, chunks: Sequence, address: str, *args,
               progress: Callable[[int], None] | None = None) -> list:
    """``[fn(chunk, *args) for chunk in chunks]`` computed on the cluster at ``address``.

    Results come back in chunk order; ``progress(i)`` is called as chunk i finishes.
    """
    if not chunks:
        return []
    from distributed import as_completed

    client = connect(address)
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
        client.close()
