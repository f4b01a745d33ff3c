"""Which files changed since a git ref, to report only on what a change touches."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable

from miglint.core.finding import Finding
from miglint.project.load import Project

# Findings about the graph of an app are reported whenever the change touches the app.
GRAPH_CODES = frozenset({"MIG001", "MIG002", "MIG003", "MIG004"})
# Models that drift from the migrations: reported when the change touches the app's
# migrations or models, though the finding sits on an unchanged models file.
APP_CODES = frozenset({"MIG401"})


class GitError(Exception):
    """git is missing, the folder is not a repository, or a ref does not exist."""


def _git(args: list[str], cwd: str) -> str:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitError(f"cannot run git: {error}") from None
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()
        raise GitError(
            f"git {' '.join(args)} failed: {message[-1] if message else 'unknown error'}"
        )
    return result.stdout


def repository_root(path: str) -> str:
    directory = path if os.path.isdir(path) else os.path.dirname(path) or "."
    return os.path.realpath(_git(["rev-parse", "--show-toplevel"], directory).strip())


def merge_base(root: str, base: str, head: str) -> str | None:
    """The commit where `head` forked from `base` (what a pull request is compared with), or
    None when the clone does not hold it."""
    try:
        return _git(["merge-base", base, head], root).strip() or None
    except GitError:
        return None


def has_commit(root: str, revision: str) -> bool:
    """Whether `revision` names a commit in the clone (a shallow clone lacks older ones)."""
    try:
        _git(["cat-file", "-e", f"{revision}^{{commit}}"], root)
    except GitError:
        return False
    return True


def checked_out(root: str) -> tuple[str, ...]:
    """The SHA of HEAD followed by its parents' (a merge commit has two)."""
    return tuple(_git(["rev-list", "--parents", "-n", "1", "HEAD"], root).split())


def changed_files(
    root: str,
    base: str,
    head: str | None = None,
    *,
    since_fork: bool = False,
    include_deleted: bool = False,
) -> set[str]:
    """Absolute paths of files added, copied, modified or renamed between base and head.

    Without `head`, the working tree (and untracked files) is compared with `base`.
    `since_fork` compares with the merge base of `base` and `head` (what a pull request
    changes); `include_deleted` adds deleted files (a deleted migration touches its app).
    """
    revisions = ([f"{base}...{head}"] if since_fork else [base, head]) if head else [base]
    status = "--diff-filter=ACMRTD" if include_deleted else "--diff-filter=ACMRT"
    renames = ["--no-renames"] if include_deleted else []
    output = _git(["diff", "--name-only", "-z", status, *renames, *revisions, "--"], root)
    names = [name for name in output.split("\0") if name]
    if head is None:
        untracked = _git(["ls-files", "-z", "--others", "--exclude-standard"], root)
        names.extend(name for name in untracked.split("\0") if name)
    return {os.path.join(root, name) for name in names}


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def added_lines(root: str, base: str, head: str) -> dict[str, frozenset[int]]:
    """The lines each file has added or changed since the fork point of `base` and `head` (what
    a pull request's diff shows on its right side), by path relative to `root`."""
    output = _git(
        ["diff", "-U0", "-M", "--no-color", "--no-ext-diff", f"{base}...{head}", "--"], root
    )
    found: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in output.splitlines():
        if line.startswith("+++ "):
            name = line[4:]
            current = None if name == "/dev/null" else found.setdefault(_unquote(name)[2:], set())
        elif current is not None:
            match = _HUNK.match(line)
            if match:
                start, count = int(match.group(1)), int(match.group(2) or 1)
                current.update(range(start, start + count))
    return {path: frozenset(lines) for path, lines in found.items()}


def _unquote(name: str) -> str:
    """A path as git prints it in a diff header (C-quoted when it has unusual characters)."""
    if not name.startswith('"'):
        return name
    raw = name[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    return raw.encode("latin-1").decode("utf-8", errors="replace")


def file_at(root: str, commit: str, path: str) -> bytes | None:
    """The bytes of `path` (relative to `root`) at `commit`, or None when it is not there."""
    try:
        result = subprocess.run(
            ["git", "show", f"{commit}:{path}"],
            cwd=root,
            capture_output=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def in_scope(findings: Iterable[Finding], project: Project, changed: set[str]) -> list[Finding]:
    """Findings in changed files, plus graph findings and model drift (MIG401) of apps
    whose migrations or models the change touches."""
    real = {os.path.realpath(path) for path in changed}
    folders = {os.path.dirname(path) for path in real}
    touched_apps = {
        app.label
        for app in project.apps
        if any(os.path.realpath(p) in real for p in (*app.migration_paths, *app.models_paths))
        # A migration deleted or renamed away is no longer on disk, but its folder is.
        or os.path.realpath(app.migrations_path) in folders
    }
    return [
        finding
        for finding in findings
        if os.path.realpath(finding.path) in real
        or (finding.code in GRAPH_CODES | APP_CODES and finding.app in touched_apps)
    ]


def diff_paths(project: Project, base: str) -> set[str]:
    """The files changed since `base` in the repository of the project (`--diff BASE`)."""
    from miglint.cli.status import UsageError

    start = project.roots[0] if project.roots else "."
    try:
        root = repository_root(start)
        # Deleted files too: deleting a migration touches its app's graph.
        return changed_files(root, base, include_deleted=True)
    except GitError as error:
        raise UsageError(f"--diff {base}: {error}") from None


def missing_base(project: Project, base: str) -> str | None:
    """Why `--diff BASE` has nothing to compare with (the repository has no such commit, or
    no commit at all), in one line; None when BASE is there."""
    from miglint.cli.status import UsageError

    start = project.roots[0] if project.roots else "."
    try:
        root = repository_root(start)
    except GitError as error:
        raise UsageError(f"--diff {base}: {error}") from None
    if has_commit(root, base):
        return None
    if not has_commit(root, "HEAD"):
        why = "the repository has no commits yet"
    else:
        why = f"no commit {base!r} in this repository (a shallow clone, or a typo?)"
    return f"--diff {base}: {why}; every migration counts as new"


def restrict_to_diff(findings: list[Finding], project: Project, base: str) -> list[Finding]:
    return in_scope(findings, project, diff_paths(project, base))
