"""Parse many files on several cores, with the same results in the same order as one core.

Worth it only for a few hundred files: a worker process costs tens of milliseconds to start
and its results must be copied back. Workers get the file paths (never file contents) and
return facts; the parent keeps the order of `paths`.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from miglint.parse import MigrationFacts
from miglint.project import BatchParser, read_and_parse

# A BatchParser (project.py) given to parse_all must pickle, to reach the workers: a
# module-level function or a small object such as miglint.cache.Cache.

# Below this many files one process is faster than starting workers.
PARALLEL_THRESHOLD = 400
CHUNK_FILES = 200


def read_each(paths: Sequence[str]) -> list[MigrationFacts]:
    """Read and parse each file (no cache)."""
    return [read_and_parse(path) for path in paths]


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parse_all(
    parse: BatchParser,
    paths: Sequence[str],
    workers: int | None = None,
    threshold: int = PARALLEL_THRESHOLD,
) -> list[MigrationFacts]:
    """`parse(paths)`, split over `workers` processes (default: one per CPU, at most 4)
    when there are at least `threshold` paths."""
    count = min(4, available_cpus()) if workers is None else workers
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
