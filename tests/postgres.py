"""A throwaway PostgreSQL cluster for differential tests: initdb in a temp folder, a Unix
socket only, stopped and deleted afterwards. Runs as the `postgres` user when the tests run
as root (initdb refuses root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


def binaries() -> str | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return os.path.dirname(os.path.realpath(found))
    # Debian keeps them off PATH, one folder per major version.
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return os.path.dirname(candidates[-1]) if candidates else None


def _version(path: str) -> tuple[int, ...]:
    version = path.split("/")[4]
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _as_user(command: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *command] if user else command


@contextmanager
def cluster(bin_dir: str) -> Iterator[str]:
    """Start a cluster; yield the socket folder (Django's HOST); stop and remove it."""
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        try:
            pwd.getpwnam(user)
        except KeyError:
            user = "nobody"
    root = tempfile.mkdtemp(prefix="miglint-pg-")
    if user:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data = os.path.join(root, "data")
    run = lambda args: subprocess.run(  # noqa: E731
        _as_user(args, user), capture_output=True, text=True, timeout=120, check=True
    )
    try:
        run([f"{bin_dir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
        run(
            [
                f"{bin_dir}/pg_ctl",
                "-D",
                data,
                "-w",
                "-l",
                os.path.join(root, "log"),
                "-o",
                f"-k {root} -c listen_addresses='' -F",
                "start",
            ]
        )
        try:
            yield root
        finally:
            subprocess.run(
                _as_user([f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], user),
                capture_output=True,
                timeout=60,
                check=False,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
