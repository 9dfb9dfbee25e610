"""Run a per-chunk function over a stream, in input order, on local cores or a Dask cluster.

Ingest, predict and suggest all have the same shape: a long stream of independent records,
a CPU-bound function per record, and an output that must come out in input order (so the
result is byte-identical however the work was spread). :func:`ordered_map` does that with a
bounded window of chunks in flight, so memory stays flat whatever the stream's length:

- ``n_jobs=1`` (default): in this process;
- ``n_jobs>1`` (or ``-1`` for all cores): joblib's process pool, results as a generator;
- ``dask="tcp://host:8786"`` (or a ``distributed.Client``): a ``dask.distributed`` cluster.
  Objects in ``shared`` (a fitted model, say) are scattered once to every worker, not
  shipped with each chunk.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from annotate.errors import AnnotateError

__all__ = ["ordered_map", "chunked", "dask_client", "auto_jobs", "AUTO_JOBS_BYTES"]

T = TypeVar("T")
R = TypeVar("R")


#: With ``n_jobs=None``, files at least this large are worked on every core: below it, starting
#: the worker processes (each imports scikit-learn, pandas and pyarrow: 2-3 CPU-seconds) costs more
#: than the second core saves. About 80,000 sentences of ``annotate ingest`` output.
AUTO_JOBS_BYTES = 50_000_000


def auto_jobs(n_jobs: int | None, path: str | Path) -> int:
    """``n_jobs`` as given, or for ``None``: every core when ``path`` is big enough to pay, else one."""
    if n_jobs is not None:
        return n_jobs
    p = Path(path)
    big = p.is_file() and p.stat().st_size >= AUTO_JOBS_BYTES
    return -1 if big and (os.cpu_count() or 1) > 1 else 1


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def dask_client(address: Any) -> Any:
    """A ``distributed.Client`` for ``address`` (a scheduler address, or a client already made)."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - depends on the install
        raise AnnotateError(
            "--dask needs the dask extra", hint="install it with: .venv/bin/pip install -e '.[dask]'"
        ) from None
    if isinstance(address, Client):
        return address
    try:
        return Client(address, timeout="10s")
    except OSError as err:
        raise AnnotateError(
            f"cannot reach the Dask scheduler at {address} ({err})",
            hint="check the address (tcp://HOST:PORT) and that the scheduler is running",
        ) from None


def ordered_map(
    func: Callable[..., list[R]],
    items: Iterable[T],
    *,
    chunksize: int = 64,
    n_jobs: int = 1,
    dask: Any = None,
    shared: tuple[Any, ...] = (),
    window: int | None = None,
) -> Iterator[R]:
    """Yield ``func(chunk, *shared)`` results, flattened, in the order of ``items``.

    ``func`` takes a list of items and returns a list of results; it must be importable by
    name (a module-level function) to run in other processes. At most ``window`` chunks
    (default: two per local process, four per Dask worker) are in flight, so the stream is
    never read ahead further. Without Dask, a stream of a single chunk runs in this process.
    """
    if n_jobs == 0:  # joblib's meaning of 0 is none; checked here so a one-chunk input fails too
        raise AnnotateError(
            "-j/--jobs 0 means no process at all", hint="give a number of processes, or -1 for all cores"
        )
    chunks = chunked(items, chunksize)
    if n_jobs != 1 and dask is None:
        # A stream that fits in one chunk runs here: starting the processes would cost more
        # than the chunk. (A Dask address is always used: a wrong one must be reported.)
        first = list(itertools.islice(chunks, 2))
        if len(first) < 2:
            n_jobs = 1
        chunks = itertools.chain(first, chunks)
    if dask is not None:
        yield from _dask_map(func, chunks, dask, shared, window)
    elif n_jobs == 1:
        for chunk in chunks:
            yield from func(chunk, *shared)
    else:
        from joblib import Parallel, delayed, effective_n_jobs

        workers = effective_n_jobs(n_jobs)
        parallel = Parallel(n_jobs=workers, return_as="generator", pre_dispatch=str(window or 2 * workers))
        for result in parallel(delayed(func)(chunk, *shared) for chunk in chunks):
            yield from result


def _dask_map(func: Callable[..., list[R]], chunks: Iterator[list[T]], address: Any, shared: tuple[Any, ...],
              window: int | None) -> Iterator[R]:
    client = dask_client(address)
    own_client = client is not address
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        # scatter once, broadcast to every worker: the estimator is not re-sent with each chunk
        shared_futures = [client.scatter(obj, broadcast=True) for obj in shared]
        limit = window or 4 * workers
        # Each chunk is scattered and the task refers to it by key, rather than embedding the chunk
        # in the task: the scheduler logs the last 1,000 messages it sends each worker (and the
        # client those it sends the scheduler), messages under 1 MB in full, so a chunk inside a
        # task spec stayed alive in the main process long after its task was done (memory grew
        # with the input on a LocalCluster). A scattered chunk travels by RPC, which keeps no log.
        pending: deque[tuple[Any, Any]] = deque()
        for chunk in chunks:
            [data] = client.scatter([chunk], hash=False)  # a list of one: a list is scattered item by item
            pending.append((data, client.submit(func, data, *shared_futures, pure=False)))
            del chunk, data
            if len(pending) >= limit:
                yield from _take(pending.popleft())
        while pending:
            yield from _take(pending.popleft())
    finally:
        if own_client:
            client.close()


def _take(item: tuple[Any, Any]) -> list[Any]:
    """The result of a task, releasing it and its scattered chunk at once (the cluster forgets both)."""
    data, future = item
    result = future.result()
    future.release()
    data.release()
    return result
