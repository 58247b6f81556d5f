"""Run work in forked worker processes that can always be stopped.

No threads and no shared queues: each worker has its own pipe and handles one chunk at a time,
asking for the next only after sending its result. So stopping is simple and cannot hang: the
parent kills the workers (Ctrl-C, an error) and closes the pipes. concurrent.futures was tried
first; a worker terminated while sending a large result left its reader thread blocked forever.

Workers are forked, so they inherit the work list and the function: only chunk numbers go to
them and only results come back.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar, cast

from gitops_guard.errors import safe_traceback

T = TypeVar("T")
R = TypeVar("R")


class WorkerDied(RuntimeError):
    """A worker process ended without sending its result (killed, crashed in C code)."""


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def map_chunks(function: Callable[[Sequence[T]], R], chunks: Sequence[Sequence[T]],
               jobs: int) -> Iterator[R]:
    """Yield `function(chunk)` for every chunk, in order, computed by up to `jobs` workers."""
    context = multiprocessing.get_context("fork")
    workers: list[tuple[Any, Connection]] = []
    try:
        for _ in range(min(jobs, len(chunks))):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=_serve, args=(child_end, function, chunks),
                                      daemon=True)
            process.start()
            child_end.close()
            workers.append((process, parent_end))
        yield from _dispatch(workers, len(chunks))
    finally:
        for process, connection in workers:
            if process.is_alive():
                process.kill()
            connection.close()
            process.join()


def _dispatch(workers: list[tuple[Any, Connection]], total: int) -> Iterator[Any]:
    next_chunk = 0
    busy: dict[Connection, Any] = {}
    for process, connection in workers:
        connection.send(next_chunk)
        busy[connection] = process
        next_chunk += 1
    done: dict[int, Any] = {}
    next_to_yield = 0
    while next_to_yield < total:
        for ready in wait(list(busy)):
            connection = cast(Connection, ready)
            try:
                index, failure, result = connection.recv()
            except EOFError:
                raise WorkerDied(f"worker process {busy[connection].pid} died") from None
            if failure is not None:
                raise RuntimeError(f"a worker process failed:\n{failure}")
            done[index] = result
            if next_chunk < total:
                connection.send(next_chunk)
                next_chunk += 1
            else:
                connection.send(None)
                del busy[connection]
        while next_to_yield in done:
            yield done.pop(next_to_yield)
            next_to_yield += 1


def _serve(connection: Connection, function: Callable[[Sequence[T]], R],
           chunks: Sequence[Sequence[T]]) -> None:
    # The parent handles Ctrl-C and stops the workers; they must not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        index = connection.recv()
        if index is None:
            break
        try:
            connection.send((index, None, function(chunks[index])))
        except Exception as exc:  # reported by the parent as an internal error
            connection.send((index, safe_traceback(exc), None))
    connection.close()
