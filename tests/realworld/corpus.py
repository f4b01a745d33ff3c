"""The real-world corpus: unpacking it and running miglint on its projects as a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARBALL = Path(__file__).resolve().parent.parent / "data" / "realworld-corpus.tar.xz"
# A folder of projects (one sub-folder each) to check instead of the committed corpus.
ENVIRONMENT = "MIGLINT_CORPUS"


def unpack(target: Path, tarball: Path = TARBALL) -> Path:
    """The committed corpus, unpacked into `target`; returns `target`."""
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="data")
    return target


def projects(root: Path) -> list[Path]:
    """The project folders of a corpus: every sub-folder, in name order."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def miglint_command() -> list[str]:
    """The installed `miglint` command (next to this interpreter), else `python -m miglint`."""
    script = Path(sys.executable).with_name("miglint")
    return [str(script)] if script.exists() else [sys.executable, "-m", "miglint"]


@dataclass(frozen=True)
class Run:
    """One miglint run on one project."""

    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run(project: Path, *arguments: str, env: dict[str, str] | None = None) -> Run:
    """`miglint ARGUMENTS` with the project as current folder, as a user runs it."""
    completed = subprocess.run(
        [*miglint_command(), *arguments],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def check(project: Path, env: dict[str, str] | None = None) -> Run:
    return run(project, ".", "--format", "json", "--no-cache", env=env)


def graph(project: Path, env: dict[str, str] | None = None) -> dict[str, Any] | None:
    """`miglint graph --format json`, or None when miglint cannot print the graph."""
    result = run(project, "graph", ".", "--format", "json", "--no-cache", env=env)
    try:
        data = result.json()
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def isolated_env(home: Path) -> dict[str, str]:
    """The environment with miglint's user cache folder (and its secret) under `home`."""
    env = dict(os.environ)
    env["XDG_CACHE_HOME"] = str(home / "xdg-cache")
    env.pop("NO_COLOR", None)
    return env


def copy_project(project: Path, target: Path) -> Path:
    """A copy of a project to run the cache on (the cache is written into the tree)."""
    shutil.copytree(project, target, symlinks=True, ignore=shutil.ignore_patterns(".miglint_cache"))
    return target
