"""The cache folder: signed files that a later run may trust, in a tree it may not.

Where: `.miglint_cache/` in the project root (the folder of the config file in use, else
the first PATH when it is a folder, else the current folder), with a `.gitignore` of `*`
and a `CACHEDIR.TAG` inside. When that folder cannot be created or written (a read-only
checkout), `$XDG_CACHE_HOME/miglint/projects/<hash of the root's real path>/` (default
`~/.cache/miglint`); when neither works, miglint runs without a cache. The folder is made
only when a run has something to keep (a tree with migrations).

What: a few files of plain values (tuples, dicts, strings, numbers, bytes) written with
`marshal`, the standard library's fastest codec for such values; what they mean is
miglint.run.results' business. The folder may come from a pull request, so a file is trusted
only when its MAC (keyed BLAKE2b, with a secret kept outside the tree in
`$XDG_CACHE_HOME/miglint/secret`, made on first use) verifies for its own name and for this
miglint (version, source and Python); only then is it unmarshalled, and its shape is
checked by the reader. Anything else (corrupt, truncated, forged, stale, a symlink or a
FIFO) is ignored and rewritten. Nothing is ever unpickled or evaluated. Files are written
to a temporary file in the same folder and renamed into place, so concurrent runs never
see half a file; a file named after its content is never rewritten with other content.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import marshal
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from miglint import __version__

CACHE_DIR = ".miglint_cache"
FORMAT = b"miglint-cache 2"
SECRET_FILE = "secret"
# No file miglint writes comes near this; anything bigger is not ours.
MAX_CACHE_FILE_BYTES = 1024 * 1024 * 1024
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by miglint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def source_fingerprint() -> bytes:
    """A digest of miglint's version, its own source files and the Python running it: any
    change to the code (or to marshal's format) makes every stored file stale."""
    # The package folder: this module is in its `run` stage.
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{__version__}\0{sys.version}\0{marshal.version}\0".encode())
    for directory, subdirs, files in os.walk(package):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith((".", "__")))
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                digest.update(os.path.relpath(path, package).encode() + b"\0")
                with open(path, "rb") as handle:
                    digest.update(handle.read() + b"\0")
    return digest.digest()


def project_root(config_path: str | None, paths: Sequence[str]) -> str:
    """The folder that holds `.miglint_cache/`: the config file's, else the first PATH
    if it is a folder, else the current folder."""
    if config_path is not None:
        return os.path.dirname(os.path.abspath(config_path))
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


def cache_dirs(
    config_path: str | None, paths: Sequence[str], environ: Mapping[str, str]
) -> list[str]:
    """Every folder that may hold this project's cache (for `miglint cache clear`)."""
    root = project_root(config_path, paths)
    found = [os.path.join(root, CACHE_DIR)]
    fallback = fallback_dir(root, environ)
    if fallback is not None:
        found.append(fallback)
    return found


@dataclass(frozen=True)
class Cache:
    """Signed files in `directory`; `salt` ties them to this miglint (source_fingerprint).
    Pickles as its three settings, so that worker processes can use it too."""

    directory: str
    secret: bytes
    salt: bytes

    def path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def _mac(self, name: str, body: bytes) -> bytes:
        digest = hashlib.blake2b(key=self.secret, digest_size=32)
        digest.update(FORMAT + b"\0" + self.salt + b"\0" + name.encode() + b"\0")
        digest.update(body)
        return digest.hexdigest().encode()

    def load_bytes(self, name: str) -> bytes | None:
        """The body of the file `name`, when it is ours, whole and for this miglint."""
        raw = _read_regular_file(self.path(name), MAX_CACHE_FILE_BYTES)
        if raw is None:
            return None
        header, _, rest = raw.partition(b"\n")
        mac, _, body = rest.partition(b"\n")
        if header != FORMAT or not hmac.compare_digest(mac, self._mac(name, body)):
            return None
        return body

    def load(self, name: str) -> object | None:
        """The value stored as `name`, or None (missing or not trusted); the caller checks
        its shape."""
        body = self.load_bytes(name)
        if body is None:
            return None
        try:
            # Only bodies that this user's miglint signed get here.
            value: object = marshal.loads(body)
        except (ValueError, EOFError, TypeError):
            return None
        return value

    def save_bytes(self, name: str, body: bytes) -> bool:
        """Write a file; any failure (disk full, read-only) just skips it."""
        data = b"%s\n%s\n%s" % (FORMAT, self._mac(name, body), body)
        return _write_atomically(self.path(name), data)

    def save(self, name: str, value: Any) -> bool:
        try:
            body = marshal.dumps(value)
        except (ValueError, TypeError):
            return False
        return self.save_bytes(name, body)

    def save_named(self, prefix: str, value: Any) -> str | None:
        """Store `value` under a name made of `prefix` and a digest of it; that name."""
        try:
            body = marshal.dumps(value)
        except (ValueError, TypeError):
            return None
        name = f"{prefix}-{hashlib.blake2b(body, digest_size=12).hexdigest()}"
        if os.path.isfile(self.path(name)):
            # Named after its content: already there (a damaged one fails its MAC).
            return name
        return name if self.save_bytes(name, body) else None

    def remove(self, name: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path(name))

    def names(self) -> list[str]:
        try:
            return os.listdir(self.directory)
        except OSError:
            return []

    def clear(self) -> None:
        clear_directory(self.directory)


def packed(value: Any) -> bytes:
    """`value` (plain values only) as bytes that are equal exactly when the values are: for
    digests. (marshal's version 2 writes no back-references, which depend on identity.)"""
    return marshal.dumps(value, 2)


def open_cache(
    config_path: str | None,
    paths: Sequence[str],
    environ: Mapping[str, str],
    salt: bytes,
    create: bool = True,
) -> Cache | None:
    """The cache for a run over `paths` (its folder made when `create`, else only an
    existing one), or None when no usable folder or secret exists."""
    home = user_cache_home(environ)
    secret = _secret(home, create) if home is not None else None
    if secret is None:
        return None
    root = project_root(config_path, paths)
    for directory in (os.path.join(root, CACHE_DIR), fallback_dir(root, environ)):
        if directory is None:
            continue
        if _prepare(directory) if create else _usable(directory):
            return Cache(directory, secret, salt)
    return None


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


def _usable(directory: str) -> bool:
    """An existing folder (not a symlink) that this process may write to."""
    try:
        info = os.lstat(directory)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and os.access(directory, os.W_OK)


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


def _secret(home: str, create: bool = True) -> bytes | None:
    """The key that signs files, kept outside any project tree; made on first use."""
    path = os.path.join(home, SECRET_FILE)
    for _ in range(2):
        data = _read_regular_file(path, 1024)
        if data is not None and len(data) >= 32:
            return data[:64]
        if not create:
            return None
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


def _write_atomically(path: str, data: bytes, raise_errors: bool = False) -> bool:
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
        return False
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    return True
