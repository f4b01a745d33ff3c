"""Which findings a run reports: those in files the event changed, or all when it cannot tell.

The graph is always built from the whole tree; only the reporting is narrowed. When a
commit is missing (a shallow clone) the run reports everything and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from miglint.cli.gitdiff import (
    GitError,
    changed_files,
    checked_out,
    has_commit,
    in_scope,
    merge_base,
)
from miglint.core.finding import Finding
from miglint.github.environment import Event
from miglint.project.load import Project


@dataclass(frozen=True)
class Scope:
    # Absolute paths of changed files; None when every finding is reported.
    changed: frozenset[str] | None
    # One sentence for the log and the summary.
    note: str
    # The commit the change is compared with (the fork point of a pull request), whose
    # migrations MIG006 compares with the changed ones; None when there is none.
    base: str | None = None

    def apply(self, findings: Sequence[Finding], project: Project) -> list[Finding]:
        if self.changed is None:
            return list(findings)
        return in_scope(findings, project, set(self.changed))


def _short(sha: str) -> str:
    return sha[:7]


def diff_scope(root: str | None, event: Event, only_changed: bool) -> Scope:
    if not only_changed:
        return Scope(None, "`only_changed` is off: every migration in the tree is reported.")
    if root is None:
        return Scope(None, "The workspace is not a git repository, so every migration is reported.")
    if event.base is None or event.head is None:
        reason = event.no_base_reason or "the event names no head commit"
        return Scope(None, f"Every migration is reported: {reason}.")
    base, head = event.base, event.head
    for sha, role in ((base, "base"), (head, "head")):
        if not has_commit(root, sha):
            return Scope(
                None,
                f"The {role} commit {_short(sha)} is not in this clone (a shallow checkout?), so "
                "every migration is reported. Check out with `fetch-depth: 0` to report only "
                "on what the change touches.",
            )
    try:
        changed = changed_files(root, base, head, since_fork=True, include_deleted=True)
        how = ""
        compared = merge_base(root, base, head) or base
    except GitError:
        # No merge base in a shallow history: compare the two commits' trees directly.
        try:
            changed = changed_files(root, base, head, include_deleted=True)
        except GitError as error:
            return Scope(None, f"Every migration is reported: {error}.")
        how = " (no merge base in this clone, so the two commits were compared directly)"
        compared = base
    count = len(changed)
    return Scope(
        frozenset(changed),
        f"Only migrations and models files changed between {_short(base)} and {_short(head)} "
        f"are reported ({count} file{'s' if count != 1 else ''} changed{how}); graph problems "
        "are reported for every app the change touches.",
        compared,
    )


def checkout_note(root: str | None, event: Event) -> str | None:
    """A warning when the tree is not the head commit (nor GitHub's merge of it), e.g. a
    `pull_request_target` job that checked out the base branch: the annotations, made on
    the head commit, would then describe other files."""
    if root is None or event.head is None:
        return None
    try:
        commits = checked_out(root)
    except GitError:
        return None
    if not commits or event.head in commits:
        return None
    return (
        f"The checked-out commit {_short(commits[0])} is neither the head commit "
        f"{_short(event.head)} nor a merge of it: the findings describe the checked-out "
        "files. With `pull_request_target`, check out "
        "`ref: ${{ github.event.pull_request.head.sha }}`."
    )
