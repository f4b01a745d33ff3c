"""Files as they were at a git ref, read in one `git cat-file --batch` (for MIG006)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from functools import partial
from typing import Any

from miglint.project.baseline import PriorVersions, meaning, read_text
from miglint.project.load import Project
from miglint.source.parse import parse_migration_bytes
from miglint.source.pysource import MAX_FILE_BYTES, SourceError, decode


def files_at(root: str, ref: str, paths: Iterable[str]) -> dict[str, bytes]:
    """The content at `ref` of each path (absolute, inside `root`) that existed there."""
    wanted: dict[str, str] = {}
    real_root = os.path.realpath(root)
    for path in paths:
        relative = os.path.relpath(os.path.realpath(path), real_root).replace(os.sep, "/")
        if not relative.startswith("../") and "\n" not in relative:
            wanted[relative] = path
    if not wanted:
        return {}
    requests = "".join(f"{ref}:{relative}\n" for relative in wanted).encode()
    try:
        result = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=root,
            input=requests,
            capture_output=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if result.returncode != 0:
        return {}
    found: dict[str, bytes] = {}
    output = result.stdout
    offset = 0
    for path in wanted.values():
        end = output.find(b"\n", offset)
        if end < 0:
            break
        header = output[offset:end].split()
        offset = end + 1
        if len(header) != 3 or header[1] != b"blob":
            continue
        size = int(header[2])
        if size <= MAX_FILE_BYTES:
            found[path] = output[offset : offset + size]
        offset += size + 1
    return found


def prior_versions(project: Project, ref: str, changed: Iterable[str]) -> PriorVersions:
    """The changed migrations of `project` as they were at `ref`, parsed."""
    from miglint.cli.gitdiff import GitError, repository_root

    changed_real = {os.path.realpath(path) for path in changed}
    paths = [m.path for m in project.migrations if os.path.realpath(m.path) in changed_real]
    if not paths:
        return PriorVersions(ref)
    try:
        root = repository_root(project.roots[0] if project.roots else ".")
    except GitError:
        return PriorVersions(ref)
    before: dict[str, dict[str, Any]] = {}
    after: dict[str, dict[str, Any]] = {}
    by_path = {m.path: m for m in project.migrations}
    for path, data in files_at(root, ref, paths).items():
        facts = parse_migration_bytes(data)
        current = by_path[path]
        if facts.error is None and facts.has_class and current.readable:
            before[path] = meaning(facts, partial(_decoded, data))
            after[path] = meaning(current.facts, partial(read_text, path))
    return PriorVersions(ref, before, after)


def _decoded(data: bytes) -> str | None:
    try:
        return decode(data)
    except SourceError:
        return None
