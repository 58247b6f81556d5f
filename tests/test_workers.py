"""Forked workers: results in order, failures reported, never a hang."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence

import pytest

from gitops_guard.workers import WorkerDied, can_fork, map_chunks

pytestmark = pytest.mark.skipif(not can_fork(), reason="workers need fork()")


def square_all(chunk: Sequence[int]) -> list[int]:
    return [n * n for n in chunk]


def test_results_come_back_in_order() -> None:
    chunks = [list(range(i, i + 3)) for i in range(0, 60, 3)]
    results = list(map_chunks(square_all, chunks, jobs=3))
    assert [n for chunk in results for n in chunk] == [n * n for n in range(60)]


def test_large_results() -> None:
    chunks = [[i] for i in range(8)]
    results = list(map_chunks(lambda c: ["x" * 1_000_000] * 2, chunks, jobs=2))
    assert len(results) == 8 and all(len(r[0]) == 1_000_000 for r in results)


def fail_on_seven(chunk: Sequence[int]) -> list[int]:
    if 7 in chunk:
        raise ValueError("seven")
    return list(chunk)


def test_an_exception_in_a_worker_is_raised_in_the_parent() -> None:
    # The worker's traceback reaches the parent: where it failed and the type, not the
    # message (which may quote a checked file).
    with pytest.raises(RuntimeError, match=r"builtins\.ValueError \(message withheld") as raised:
        list(map_chunks(fail_on_seven, [[i] for i in range(10)], jobs=2))
    assert "in fail_on_seven" in str(raised.value)


def die_on_three(chunk: Sequence[int]) -> list[int]:
    if 3 in chunk:
        os.kill(os.getpid(), signal.SIGKILL)
    return list(chunk)


def test_a_worker_killed_mid_run_is_reported_not_waited_for() -> None:
    with pytest.raises(WorkerDied, match="died"):
        list(map_chunks(die_on_three, [[i] for i in range(10)], jobs=2))


def test_stopping_early_kills_the_workers() -> None:
    results = map_chunks(square_all, [[i] for i in range(100)], jobs=2)
    assert next(results) == [0]
    results.close()  # as when the consumer is interrupted: the finally block runs
    import multiprocessing

    assert multiprocessing.active_children() == []
