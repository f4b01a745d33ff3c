"""A content-addressed cache of per-file parse results, safe in an untrusted tree.

Where: `.miglint_cache/` in the project root (the folder of the config file in use, else
the first PATH when it is a folder, else the current folder), with a `.gitignore` of `*`
and a `CACHEDIR.TAG` inside. When that folder cannot be created or written (a read-only
checkout), `$XDG_CACHE_HOME/miglint/projects/<hash of the root's real path>/` (default
`~/.cache`); when neither works, miglint runs without a cache.

What: one JSON file per parsed file content, named by a key that hashes the file's bytes,
miglint's version, a fingerprint of miglint's own source (so a changed parser never reads
old results) and the settings that change parsing. The directory may come from a pull
request, so an entry is trusted only when its MAC verifies with a secret that lives
outside the tree (`$XDG_CACHE_HOME/miglint/secret`, created on first use), when it names
the expected key and content hash, and when it decodes to facts of exactly the right
shape. Anything else (corrupt, truncated, forged, stale, a symlink or a FIFO) is ignored
and rewritten. Nothing is ever unpickled or evaluated. Entries are written to a temporary
file in the same folder and renamed into place, so concurrent runs never see half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from miglint import __version__
from miglint.config import Config
from miglint.parallel import PARALLEL_THRESHOLD, parse_all
from miglint.parse import MigrationFacts, parse_migration_bytes
from miglint.project import read_and_parse
from miglint.pysource import MAX_FILE_BYTES
from miglint.serial import Codec, DecodeError

CACHE_DIR = ".miglint_cache"
FORMAT = b"miglint-cache 1"
SECRET_FILE = "secret"
# Config settings that change what parsing produces; none today (parse_migration reads
# no configuration), listed here so that adding one invalidates the cache.
PARSE_SETTINGS: tuple[str, ...] = ()
# Larger files are parsed every time: decoding facts of a huge file (100,000 operations)
# costs more than parsing it. Real migrations are a few KB.
MAX_CACHED_SOURCE_BYTES = 256 * 1024
# An entry is a few times the size of its source; anything bigger is not ours.
MAX_ENTRY_BYTES = 16 * MAX_CACHED_SOURCE_BYTES
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by miglint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def source_fingerprint() -> str:
    """A hash of miglint's own source files: any change to the code is a new cache key."""
    package = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.blake2b(__version__.encode(), digest_size=16)
    for directory, subdirs, files in os.walk(package):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith((".", "__")))
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                digest.update(os.path.relpath(path, package).encode() + b"\0")
                with open(path, "rb") as handle:
                    digest.update(handle.read() + b"\0")
    return digest.hexdigest()


def project_root(config: Config, paths: Sequence[str]) -> str:
    """The folder that holds `.miglint_cache/`: the config file's, else the first PATH
    if it is a folder, else the current folder."""
    if config.path is not None:
        return os.path.dirname(os.path.abspath(config.path))
    first = paths[0] if paths else "."
    return os.path.abspath(first) if os.path.isdir(first) else os.getcwd()


def user_cache_home(environ: Mapping[str, str]) -> str | None:
    """`$XDG_CACHE_HOME/miglint`, or `~/.cache/miglint`; None when there is no home."""
    base = environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = environ.get("HOME", "")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "miglint")


def fallback_dir(root: str, environ: Mapping[str, str]) -> str | None:
    """The cache folder for `root` under the user's cache home."""
    home = user_cache_home(environ)
    if home is None:
        return None
    name = hashlib.blake2b(os.path.realpath(root).encode(), digest_size=8).hexdigest()
    return os.path.join(home, "projects", name)


@dataclass(frozen=True)
class Cache:
    """Parse results stored in `directory`. Calling it parses a batch of files; it pickles
    as its three settings, so that parse workers can use it too."""

    directory: str
    secret: bytes
    # Hashed into every key: miglint's version and source, and the parse settings.
    salt: str
    # How files missing from the cache are parsed (see miglint.parallel.parse_all).
    workers: int | None = None
    threshold: int = PARALLEL_THRESHOLD
    codec: Codec = field(default_factory=lambda: Codec(MigrationFacts), compare=False, repr=False)

    def __reduce__(self) -> tuple[type[Cache], tuple[str, bytes, str, int | None, int]]:
        return (Cache, (self.directory, self.secret, self.salt, self.workers, self.threshold))

    def __call__(self, paths: Sequence[str]) -> list[MigrationFacts]:
        """Facts of each file: stored ones from here (reading an entry costs about what
        copying facts back from a worker does), the others parsed, on several cores when
        there are many, and stored."""
        found = [self.lookup(path) for path in paths]
        missing = [path for path, facts in zip(paths, found, strict=True) if facts is None]
        parsed = iter(parse_all(self.parse_and_store, missing, self.workers, self.threshold))
        return [facts if facts is not None else next(parsed) for facts in found]

    def lookup(self, path: str) -> MigrationFacts | None:
        data = _read_regular_file(path, MAX_CACHED_SOURCE_BYTES)
        return None if data is None else self.load(self.content_hash(data))

    def parse_and_store(self, paths: Sequence[str]) -> list[MigrationFacts]:
        return [self.parse(path) or read_and_parse(path) for path in paths]

    def content_hash(self, data: bytes) -> str:
        return hashlib.blake2b(data, digest_size=20).hexdigest()

    def key(self, content_hash: str) -> str:
        return hashlib.blake2b(f"{self.salt}\0{content_hash}".encode(), digest_size=20).hexdigest()

    def entry_path(self, key: str) -> str:
        return os.path.join(self.directory, key + ".json")

    def _mac(self, body: bytes) -> str:
        return hashlib.blake2b(body, key=self.secret, digest_size=32).hexdigest()

    def load(self, content_hash: str) -> MigrationFacts | None:
        """The stored facts of a file with this content, or None (missing or not trusted)."""
        key = self.key(content_hash)
        raw = _read_regular_file(self.entry_path(key), MAX_ENTRY_BYTES)
        if raw is None:
            return None
        header, _, rest = raw.partition(b"\n")
        mac, _, body = rest.partition(b"\n")
        if header != FORMAT or not hmac.compare_digest(mac, self._mac(body).encode()):
            return None
        try:
            document = json.loads(body)
            if (
                type(document) is not dict
                or document.get("key") != key
                or document.get("content") != content_hash
            ):
                return None
            facts = self.codec.decode(document.get("facts"))
        except (ValueError, DecodeError, RecursionError):
            return None
        return facts if isinstance(facts, MigrationFacts) else None

    def store(self, content_hash: str, facts: MigrationFacts) -> None:
        """Write an entry; any failure (disk full, read-only, odd facts) just skips it."""
        key = self.key(content_hash)
        try:
            document = {"key": key, "content": content_hash, "facts": self.codec.encode(facts)}
            body = json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError, RecursionError):
            return
        data = b"%s\n%s\n%s" % (FORMAT, self._mac(body).encode(), body)
        _write_atomically(self.entry_path(key), data)

    def parse(self, path: str) -> MigrationFacts | None:
        """Facts of the file at `path` from the cache or parsed (and stored); None when
        the file is not a plain readable file, for the caller's own reader to report."""
        data = _read_regular_file(path, MAX_FILE_BYTES)
        if data is None:
            return None
        if len(data) > MAX_CACHED_SOURCE_BYTES:
            return parse_migration_bytes(data)
        content_hash = self.content_hash(data)
        facts = self.load(content_hash)
        if facts is None:
            facts = parse_migration_bytes(data)
            self.store(content_hash, facts)
        return facts

    def clear(self) -> None:
        clear_directory(self.directory)


def open_cache(config: Config, paths: Sequence[str], environ: Mapping[str, str]) -> Cache | None:
    """The cache for a run over `paths`, or None when no usable folder or secret exists."""
    home = user_cache_home(environ)
    secret = _secret(home) if home is not None else None
    if secret is None:
        return None
    salt = ":".join(
        [__version__, source_fingerprint()]
        + [f"{name}={getattr(config, name)!r}" for name in PARSE_SETTINGS]
    )
    root = project_root(config, paths)
    for directory in (os.path.join(root, CACHE_DIR), fallback_dir(root, environ)):
        if directory is not None and _prepare(directory):
            return Cache(directory, secret, salt)
    return None


def cache_dirs(config: Config, paths: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """Every folder that may hold this project's cache (for `miglint cache clear`)."""
    root = project_root(config, paths)
    found = [os.path.join(root, CACHE_DIR)]
    fallback = fallback_dir(root, environ)
    if fallback is not None:
        found.append(fallback)
    return found


def clear_directory(directory: str) -> bool:
    """Remove a cache folder; only one that miglint made (it has our CACHEDIR.TAG)."""
    try:
        info = os.lstat(directory)
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return False
    tag = _read_regular_file(os.path.join(directory, "CACHEDIR.TAG"), 4096)
    if tag is None or not tag.startswith(CACHEDIR_TAG.encode()[:43]):
        return False
    shutil.rmtree(directory, ignore_errors=True)
    return not os.path.lexists(directory)


def _prepare(directory: str) -> bool:
    """Create `directory` with its .gitignore and CACHEDIR.TAG; False when not usable."""
    try:
        os.makedirs(os.path.dirname(directory), exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o755)
        info = os.lstat(directory)
        # A symlink (e.g. committed in a pull request) could point anywhere: never use it.
        if not stat.S_ISDIR(info.st_mode):
            return False
        for name, text in ((".gitignore", "*\n"), ("CACHEDIR.TAG", CACHEDIR_TAG)):
            path = os.path.join(directory, name)
            if not os.path.lexists(path):
                _write_atomically(path, text.encode(), raise_errors=True)
        # The tree may be read-only even though the folder exists (a committed cache).
        handle, probe = tempfile.mkstemp(dir=directory, prefix=".probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError:
        return False
    return True


def _secret(home: str) -> bytes | None:
    """The key that signs entries, kept outside any project tree; made on first use."""
    path = os.path.join(home, SECRET_FILE)
    for _ in range(2):
        data = _read_regular_file(path, 1024)
        if data is not None and len(data) >= 32:
            return data[:64]
        try:
            os.makedirs(home, mode=0o700, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=home, prefix=".secret-")
            try:
                os.write(handle, secrets.token_bytes(64))
            finally:
                os.close(handle)
            try:
                # link() does not replace: when two runs race, both end up with the winner's.
                os.link(temporary, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(temporary)
        except OSError:
            return None
    return None


def _read_regular_file(path: str, limit: int) -> bytes | None:
    """The bytes of a plain file at `path` (no symlink, FIFO or device), or None."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        handle = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks = []
        size = 0
        while True:
            chunk = os.read(handle, max(info.st_size + 1 - size, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return None
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(handle)


def _write_atomically(path: str, data: bytes, raise_errors: bool = False) -> None:
    """Write a temporary file next to `path` and rename it over `path`."""
    directory = os.path.dirname(path)
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
        temporary = None
    except OSError:
        if raise_errors:
            raise
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
