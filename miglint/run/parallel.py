"""Work spread over several cores, with the same results in the same order as on one.

Worth it only for a few hundred files: a worker process costs tens of milliseconds to start
and what it sends back must be copied. `parse_all` parses a list of files in a pool (for
commands that need every migration at hand). `Workers` keeps forked processes that each
hold state between calls (the migrations they parsed), so that a run can parse on every
core and then analyse each app where its migrations already are (miglint.run.results).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from miglint.project.load import BatchParser, read_and_parse
from miglint.source.facts import MigrationFacts

# A BatchParser given to parse_all must pickle, to reach the workers: a module-level
# function or a small object.

# Below this many files one process is faster than starting workers.
PARALLEL_THRESHOLD = 400
CHUNK_FILES = 200
MAX_WORKERS = 4


def read_each(paths: Sequence[str]) -> list[MigrationFacts]:
    """Read and parse each file (no cache)."""
    return [read_and_parse(path) for path in paths]


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_workers() -> int:
    """Processes to use: one per CPU, at most MAX_WORKERS."""
    return min(MAX_WORKERS, available_cpus())


def parse_all(
    parse: BatchParser,
    paths: Sequence[str],
    workers: int | None = None,
    threshold: int = PARALLEL_THRESHOLD,
) -> list[MigrationFacts]:
    """`parse(paths)`, split over `workers` processes (default: one per CPU, at most 4)
    when there are at least `threshold` paths."""
    count = default_workers() if workers is None else workers
    if count < 2 or len(paths) < max(threshold, 2):
        return parse(paths)
    size = max(1, min(CHUNK_FILES, -(-len(paths) // (count * 2))))
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    try:
        with ProcessPoolExecutor(max_workers=count, mp_context=_context()) as pool:
            results = list(pool.map(parse, chunks))
    except (OSError, RuntimeError):
        # No processes to be had (sandbox, resource limits): do the work here.
        return parse(paths)
    return [facts for chunk in results for facts in chunk]


def _context() -> multiprocessing.context.BaseContext:
    # fork starts a worker in milliseconds with miglint already imported; elsewhere
    # (macOS, Windows) fork is unsafe or missing.
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class WorkerFailed(Exception):
    """A worker process died or its call raised; the caller does the work itself."""


class Workers:
    """`count` forked processes, each holding the object `make()` returned in it and running
    its methods on request. Only where fork exists (Linux): elsewhere there are none, and
    the caller does everything in its own process."""

    def __init__(self, count: int, make: Callable[[], object]) -> None:
        self.connections: list[Connection | None] = []
        self.processes: list[Any] = []
        if sys.platform != "linux" or count < 1:
            return
        context = multiprocessing.get_context("fork")
        for _ in range(count):
            ours, theirs = context.Pipe()
            try:
                process = context.Process(target=_serve, args=(theirs, make), daemon=True)
                process.start()
            except (OSError, RuntimeError):
                break
            theirs.close()
            self.connections.append(ours)
            self.processes.append(process)

    def __len__(self) -> int:
        return len(self.connections)

    def send(self, index: int, method: str, *args: object) -> None:
        connection = self.connections[index]
        if connection is None:
            raise WorkerFailed("worker gone")
        try:
            connection.send((method, args))
        except (OSError, ValueError) as error:
            self._lose(index)
            raise WorkerFailed(str(error)) from None

    def receive(self, index: int) -> Any:
        connection = self.connections[index]
        if connection is None:
            raise WorkerFailed("worker gone")
        try:
            status, value = connection.recv()
        except (EOFError, OSError) as error:
            self._lose(index)
            raise WorkerFailed(f"worker died: {error}") from None
        if status != "ok":
            raise WorkerFailed(str(value))
        return value

    def _lose(self, index: int) -> None:
        connection = self.connections[index]
        if connection is not None:
            connection.close()
        self.connections[index] = None

    def close(self) -> None:
        for index, connection in enumerate(self.connections):
            if connection is not None:
                with contextlib.suppress(OSError, ValueError):
                    connection.send(None)
                connection.close()
                self.connections[index] = None
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()


def _serve(connection: Connection, make: Callable[[], object]) -> None:
    """A worker's life: build its object, then answer calls until told to stop."""
    target = make()
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        method, args = message
        try:
            reply: tuple[str, object] = ("ok", getattr(target, method)(*args))
        except Exception as error:
            # Reported to the parent, which does the work itself.
            reply = ("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
        try:
            connection.send(reply)
        except (OSError, ValueError):
            return
