"""Whole answers of `miglint check`, replayed when nothing the run looked at changed.

A run records every look it took at the file system (miglint.core.inputs); its answer (output,
messages, exit status) is stored with those notes under a key of its command line, current
folder, colour choice and miglint's own fingerprint. The next run with the same key checks
each note, a stat per file (a file whose stat changed is read again and counts as changed
only when its content did), and when all hold prints the stored answer without parsing
anything. This module is kept small: it is all a warm run imports besides the cache.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

from miglint.core.inputs import Checker, Note, Seen
from miglint.run.cache import Cache

RUNS = "runs"
# Answers kept per project: enough for a few output formats and sets of named files.
MAX_RUNS = 8


@dataclass(frozen=True)
class Answer:
    output: bytes
    messages: str
    status: int
    # The digest of every reported app's key (miglint.run.results), when known: an answer is
    # also good for a run whose files changed in ways no finding depends on.
    result: bytes = b""


def run_key(*parts: object) -> bytes:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()


def _runs(cache: Cache) -> dict[bytes, tuple[str, str, str, int, bytes]]:
    value = cache.load(RUNS)
    if not isinstance(value, dict):
        return {}
    return {
        key: entry
        for key, entry in value.items()
        if isinstance(key, bytes)
        and isinstance(entry, tuple)
        and len(entry) == 5
        and isinstance(entry[0], str)
        and isinstance(entry[1], str)
        and isinstance(entry[2], str)
        and isinstance(entry[3], int)
        and isinstance(entry[4], bytes)
    }


def _notes(cache: Cache, name: str) -> dict[Note, Seen] | None:
    value = cache.load(name)
    if not isinstance(value, dict):
        return None
    for note in value:
        if not (
            isinstance(note, tuple)
            and len(note) == 2
            and isinstance(note[0], str)
            and isinstance(note[1], str)
        ):
            return None
    return value


def stored_answer(cache: Cache, key: bytes, checker: Checker | None = None) -> Answer | None:
    """The answer stored for `key`, when every note it was made from still holds."""
    entry = _runs(cache).get(key)
    if entry is None:
        return None
    notes_name, output_name, messages, status, result = entry
    notes = _notes(cache, notes_name)
    if notes is None:
        return None
    checker = checker or Checker()
    if not checker.all_hold(notes):
        return None
    output = _output(cache, output_name)
    if output is None:
        return None
    answer = Answer(output, messages, status, result)
    if checker.refreshed:
        # Files touched without being changed: keep their new stats, so the next run
        # need not read them again.
        refreshed = {note: checker.refreshed.get(note, seen) for note, seen in notes.items()}
        store_answer(cache, key, refreshed, answer)
    return answer


def stored_result(cache: Cache, key: bytes, result: bytes) -> Answer | None:
    """The answer stored for `key` when it was made from findings with this `result`
    digest (its messages are the current run's business)."""
    entry = _runs(cache).get(key)
    if entry is None or entry[4] != result or not result:
        return None
    output = _output(cache, entry[1])
    return None if output is None else Answer(output, entry[2], entry[3], result)


def _output(cache: Cache, name: str) -> bytes | None:
    output = cache.load_bytes(name)
    if output is None or name != _name("out", output):
        return None
    return output


def _name(kind: str, data: bytes) -> str:
    return f"{kind}-{hashlib.blake2b(data, digest_size=12).hexdigest()}"


def store_answer(cache: Cache, key: bytes, notes: Mapping[Note, Seen], answer: Answer) -> None:
    notes_name = cache.save_named("obs", dict(notes))
    output_name = _name("out", answer.output)
    # A file named after its content need not be written again (one that was damaged
    # fails its check when read, and the next run writes it).
    if notes_name is None or not (
        os.path.isfile(cache.path(output_name)) or cache.save_bytes(output_name, answer.output)
    ):
        return
    runs = _runs(cache)
    runs.pop(key, None)
    runs[key] = (notes_name, output_name, answer.messages, answer.status, answer.result)
    while len(runs) > MAX_RUNS:
        runs.pop(next(iter(runs)))
    if not cache.save(RUNS, runs):
        return
    used = {name for entry in runs.values() for name in entry[:2]}
    for name in cache.names():
        if name.startswith(("obs-", "out-")) and name not in used:
            cache.remove(name)
