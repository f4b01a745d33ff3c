"""Every look at the file system that can change a run's answer, made here and recorded.

miglint's answer depends on nothing but what it reads: the files it opens, the folders it
lists and the paths it tests for existence (plus its command line and its own code). Every
reader in miglint goes through these functions, and while a `Recorder` is active each look
is noted with what it saw: a file's content digest (and its stat signature), a folder's
listing digest, a test's answer. The cache stores the notes with the result; a later run
that finds every note still true can reuse the result without reading anything again, and
a new feature that reads another file is covered without anyone listing it. The tests check
that miglint's modules test and list paths through here, not through `os`.

Notes are made on behalf of the apps being analysed (`Recorder.scope`), so that the cache
knows which app's findings depend on which files.
"""

from __future__ import annotations

import datetime
import fnmatch
import hashlib
import os
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

# (kind, absolute path); kinds: "file" (content), "list" (a folder's entries), "match:..."
# (the names in a folder matching some patterns), the tests "isfile", "isdir", "exists",
# "lexists", "islink", "plain" (a regular file, not a link), and "clock" (see `now`).
Note = tuple[str, str]
# A file or folder's stat signature: size, mtime, ctime (ns), inode and device. None when it
# was written too recently to trust (the clock may not have moved since): compare content.
Signature = tuple[int, int, int, int, int] | None
# "file": (signature, digest of the bytes) or ("error", text); "list": (signature, digest
# of the entries) or ("error", text); tests: the answer.
Seen = object

T = TypeVar("T")

# Larger files are never read whole (a larger source file is refused, see pysource).
READ_LIMIT = 5 * 1024 * 1024
# A file whose mtime is this close to the start of the run may change again within the
# same clock tick without its stat changing (git's "racily clean" entries).
RACY_NS = 2_000_000_000


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def signature(info: os.stat_result, started_ns: int) -> Signature:
    if info.st_mtime_ns >= started_ns - RACY_NS or info.st_ctime_ns >= started_ns - RACY_NS:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


@dataclass
class Recorder:
    """What a run looked at; `scope` says on behalf of which apps (None: the whole run)."""

    started_ns: int = field(default_factory=time.time_ns)
    notes: dict[Note, Seen] = field(default_factory=dict)
    # App key -> the notes made on its behalf.
    by_app: dict[str, dict[Note, Seen]] = field(default_factory=dict)
    scope: frozenset[str] | None = None
    # A file seen with two different contents in one run: its answer is not stored.
    unstable: bool = False

    def note(self, key: Note, seen: Seen) -> None:
        previous = self.notes.setdefault(key, seen)
        if previous != seen and not (key[0] in ("file", "list") and _same_content(previous, seen)):
            self.unstable = True
        if self.scope is not None:
            for app in self.scope:
                self.by_app.setdefault(app, {})[key] = seen

    @contextmanager
    def acting_for(self, apps: frozenset[str] | None) -> Iterator[None]:
        """Notes made inside are made on behalf of `apps`."""
        outer = self.scope
        self.scope = apps
        try:
            yield
        finally:
            self.scope = outer


def _same_content(first: Seen, second: Seen) -> bool:
    """Two notes of one file agree when their digests do (a stat may be newer)."""
    if isinstance(first, tuple) and isinstance(second, tuple) and len(first) == len(second) == 2:
        return bool(first[1] == second[1])
    return False


_ACTIVE: ContextVar[Recorder | None] = ContextVar("miglint_recorder", default=None)


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Record every look at the file system made inside (in this thread of control)."""
    token = _ACTIVE.set(recorder)
    try:
        yield recorder
    finally:
        _ACTIVE.reset(token)


def active() -> Recorder | None:
    return _ACTIVE.get()


@contextmanager
def acting_for(apps: frozenset[str] | None) -> Iterator[None]:
    """Attribute what is read inside to `apps` (when recording)."""
    recorder = _ACTIVE.get()
    if recorder is None:
        yield
        return
    with recorder.acting_for(apps):
        yield


class Shared(Generic[T]):
    """A value worked out once and then used on behalf of several apps (a walk of the
    whole project, say): what working it out looked at is noted again for every use, so
    that each app that uses it depends on what it read (see `Recorder.scope`)."""

    def __init__(self, compute: Callable[[], T]) -> None:
        self._compute = compute
        self._done = False
        self._value: T | None = None
        self._notes: dict[Note, Seen] = {}

    def get(self) -> T:
        recorder = _ACTIVE.get()
        if not self._done:
            local = Recorder(started_ns=recorder.started_ns if recorder else time.time_ns())
            with recording(local):
                self._value = self._compute()
            self._notes = local.notes
            self._done = True
            if local.unstable and recorder is not None:
                recorder.unstable = True
        if recorder is not None:
            for key, seen in self._notes.items():
                recorder.note(key, seen)
        return cast(T, self._value)


def absolute(path: str) -> str:
    """os.path.abspath(path), without its cost for a path that is already one (most are)."""
    if (
        path.startswith(os.sep)
        and not path.endswith(os.sep)
        and os.sep + "." not in path
        and os.sep + os.sep not in path
    ):
        return path
    return os.path.abspath(path)


def _note(kind: str, path: str, seen: Seen) -> None:
    recorder = _ACTIVE.get()
    if recorder is not None:
        recorder.note((kind, absolute(path)), seen)


def now() -> datetime.datetime:
    """The current time, for an answer that depends on it (a merge migration named by the
    minute, as Django names it): noted as a look that never holds again, so that neither
    the answer nor the findings worked out with it are ever replayed."""
    value = datetime.datetime.now()
    recorder = _ACTIVE.get()
    if recorder is not None:
        recorder.note(CLOCK, value.isoformat())
    return value


# The note of `now` (a kind the Checker does not know: it never holds).
CLOCK: Note = ("clock", "now")


# --- reading -----------------------------------------------------------------------------


class Unreadable(Exception):
    """A file that cannot be read (missing, a folder, a FIFO, no permission)."""


def read_file(path: str) -> bytes:
    """The bytes of the plain file at `path`, read without blocking and never more than
    READ_LIMIT + 1 of them (a FIFO, a device or a 10 GB file cannot stall the run)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        handle = os.open(path, flags)
    except (OSError, ValueError) as error:
        problem = f"cannot read file: {getattr(error, 'strerror', None) or error}"
        _note("file", path, ("error", problem))
        raise Unreadable(problem) from None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            problem = "not a regular file (a FIFO, socket or device?), not read"
            _note("file", path, ("error", problem))
            raise Unreadable(problem)
        chunks: list[bytes] = []
        size = 0
        while size <= READ_LIMIT:
            chunk = os.read(handle, min(1024 * 1024, READ_LIMIT + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as error:
        problem = f"cannot read file: {error.strerror}"
        _note("file", path, ("error", problem))
        raise Unreadable(problem) from None
    finally:
        os.close(handle)
    recorder = _ACTIVE.get()
    if recorder is not None:
        seen = (signature(info, recorder.started_ns), digest(data))
        recorder.note(("file", absolute(path)), seen)
    return data


# --- tests -------------------------------------------------------------------------------


def isfile(path: str) -> bool:
    answer = os.path.isfile(path)
    _note("isfile", path, answer)
    return answer


def isdir(path: str) -> bool:
    answer = os.path.isdir(path)
    _note("isdir", path, answer)
    return answer


def exists(path: str) -> bool:
    answer = os.path.exists(path)
    _note("exists", path, answer)
    return answer


def lexists(path: str) -> bool:
    answer = os.path.lexists(path)
    _note("lexists", path, answer)
    return answer


def islink(path: str) -> bool:
    answer = os.path.islink(path)
    _note("islink", path, answer)
    return answer


def is_plain_file(path: str) -> bool:
    """A regular file that is not a symbolic link."""
    answer = _plain(path)
    _note("plain", path, answer)
    return answer


def _plain(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path, follow_symlinks=False).st_mode)
    except (OSError, ValueError):
        return False


_TESTS: Mapping[str, Callable[[str], bool]] = {
    "isfile": os.path.isfile,
    "isdir": os.path.isdir,
    "exists": os.path.exists,
    "lexists": os.path.lexists,
    "islink": os.path.islink,
    "plain": _plain,
}


# --- listing -----------------------------------------------------------------------------


def scandir(path: str) -> list[os.DirEntry[str]]:
    """The entries of the folder at `path` (raises OSError like os.scandir)."""
    recorder = _ACTIVE.get()
    try:
        with os.scandir(path) as iterator:
            entries = list(iterator)
        info = os.stat(path) if recorder is not None else None
    except OSError as error:
        _note("list", path, ("error", error.strerror or str(error)))
        raise
    if recorder is not None and info is not None:
        seen = (signature(info, recorder.started_ns), _entries_digest(entries))
        recorder.note(("list", absolute(path)), seen)
    return entries


def listdir(path: str) -> list[str]:
    return [entry.name for entry in scandir(path)]


def matching(path: str, patterns: tuple[str, ...]) -> list[str]:
    """The names in the folder at `path` that match one of the fnmatch `patterns`, sorted
    ([] when it cannot be listed). Only they are noted: a folder above the project (say
    /tmp) changes all the time, which names in it miglint cares about rarely do."""
    answer = _matching(path, patterns)
    _note(MATCH + "\0".join(patterns), path, answer)
    return list(answer)


MATCH = "match:"


def _matching(path: str, patterns: tuple[str, ...]) -> tuple[str, ...]:
    try:
        names = os.listdir(path)
    except (OSError, ValueError):
        return ()
    return tuple(sorted(n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)))


def walk(top: str) -> Iterator[tuple[str, list[str], list[str]]]:
    """os.walk(top) (top-down, no links followed); prune by editing the folder list."""
    try:
        entries = scandir(top)
    except OSError:
        return
    folders: list[str] = []
    files: list[str] = []
    for entry in entries:
        try:
            is_folder = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_folder = False
        (folders if is_folder else files).append(entry.name)
    yield top, folders, files
    for name in folders:
        path = os.path.join(top, name)
        if not os.path.islink(path):
            yield from walk(path)


def _kind(entry: os.DirEntry[str]) -> str:
    try:
        if entry.is_symlink():
            return "l"
        if entry.is_dir(follow_symlinks=False):
            return "d"
        if entry.is_file(follow_symlinks=False):
            return "f"
    except OSError:
        return "?"
    return "o"


# miglint's own cache folder is its output, never an input (it appears after a first run).
_NOT_INPUT = ".miglint_cache"


def _entries_digest(entries: list[os.DirEntry[str]]) -> bytes:
    names = sorted(f"{_kind(e)}{e.name}" for e in entries if e.name != _NOT_INPUT)
    return digest("\0".join(names).encode())


# --- checking ----------------------------------------------------------------------------


@dataclass
class Checker:
    """Tells whether notes still hold; rereads a file only when its stat changed."""

    started_ns: int = field(default_factory=time.time_ns)
    # Files and folders looked at again, with their new notes (to refresh stored stats).
    refreshed: dict[Note, Seen] = field(default_factory=dict)
    # Answers given so far: a run checks the same notes for its answer and for its apps.
    answers: dict[tuple[Note, Seen], bool] = field(default_factory=dict)

    def holds(self, key: Note, seen: Seen) -> bool:
        try:
            return self.answers[key, seen]
        except KeyError:
            pass
        except TypeError:
            return self._holds(key, seen)
        answer = self.answers[key, seen] = self._holds(key, seen)
        return answer

    def _holds(self, key: Note, seen: Seen) -> bool:
        kind, path = key
        test = _TESTS.get(kind)
        if test is not None:
            return test(path) == seen
        if kind == "file":
            return self._file_holds(path, seen)
        if kind == "list":
            return self._folder_holds(path, seen)
        if kind.startswith(MATCH):
            return _matching(path, tuple(kind[len(MATCH) :].split("\0"))) == seen
        return False

    def _file_holds(self, path: str, seen: Seen) -> bool:
        if not isinstance(seen, tuple) or len(seen) != 2:
            return False
        was_error = seen[0] == "error"
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return was_error and self._reread(path, seen) == seen
        if not was_error and seen[0] is not None and seen[0] == signature(info, self.started_ns):
            return True
        return self._reread(path, seen) == seen or _same_content(self._reread(path, seen), seen)

    def _reread(self, path: str, seen: Seen) -> Seen:
        key = ("file", path)
        if key not in self.refreshed:
            recorder = Recorder(started_ns=self.started_ns)
            with recording(recorder), suppress(Unreadable):
                read_file(path)
            self.refreshed[key] = recorder.notes.get(key, ("error", "unreadable"))
        return self.refreshed[key]

    def _folder_holds(self, path: str, seen: Seen) -> bool:
        if not isinstance(seen, tuple) or len(seen) != 2:
            return False
        if seen[0] != "error" and seen[0] is not None:
            try:
                if signature(os.stat(path), self.started_ns) == seen[0]:
                    return True
            except OSError:
                return False
        key = ("list", path)
        if key not in self.refreshed:
            recorder = Recorder(started_ns=self.started_ns)
            with recording(recorder), suppress(OSError):
                scandir(path)
            self.refreshed[key] = recorder.notes.get(key, ("error", "unreadable"))
        now = self.refreshed[key]
        return now == seen or _same_content(now, seen)

    def all_hold(self, notes: Mapping[Note, Seen]) -> bool:
        return all(self.holds(key, seen) for key, seen in notes.items())
