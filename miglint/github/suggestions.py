"""Fixes as pull-request suggestions: a review comment on the lines a fix rewrites, with a
```suggestion block holding those lines as the fix leaves them (one click commits it).

A fix becomes a suggestion only when all its edits are in the finding's own file, every line
they touch was added or changed by the pull request (GitHub takes comments on the diff only),
and the checked-out file is the head commit's (so the line numbers are the head's). A new
file (the merge migration) cannot be suggested on a line: the job summary shows it instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from miglint.core.finding import Edit, Finding
from miglint.fixes import text as textmod
from miglint.fixes.source import read_source
from miglint.report.markdown import escape

# Hidden in each comment miglint writes, to find it again on the next push.
MARKER = "<!-- miglint-suggestion:{} -->"
MARKER_PATTERN = re.compile(r"<!-- miglint-suggestion:([0-9a-f]{16}) -->")
# Longer suggestions are not worth a review comment: the summary says to run --fix.
MAX_LINES = 60


@dataclass(frozen=True)
class Suggestion:
    finding: Finding
    # Relative to the repository root, as the pull request's diff names it.
    path: str
    start_line: int
    end_line: int
    # The lines start_line..end_line as the fix leaves them.
    replacement: str
    fingerprint: str

    def body(self) -> str:
        edit = self.finding.edit
        assert edit is not None
        fence = fence_for(self.replacement)
        how = "safe" if edit.safe else "unsafe: it changes behaviour, check it before committing"
        return (
            f"**{self.finding.code}** {escape(self.finding.message)}\n\n"
            f"{escape(edit.message)} ({how}).\n\n"
            f"{fence}suggestion\n{self.replacement}{fence}\n"
            f"{MARKER.format(self.fingerprint)}\n"
        )

    def comment(self) -> dict[str, object]:
        """The review comment, as the pull request review API takes it."""
        entry: dict[str, object] = {
            "path": self.path,
            "body": self.body(),
            "line": self.end_line,
            "side": "RIGHT",
        }
        if self.start_line < self.end_line:
            entry["start_line"] = self.start_line
            entry["start_side"] = "RIGHT"
        return entry


def marker_of(body: str) -> str | None:
    """The fingerprint in a comment miglint wrote (the last marker: text before it is the
    finding's, which the linted files could shape)."""
    found = MARKER_PATTERN.findall(body)
    return found[-1] if found else None


def fence_for(text: str) -> str:
    """A Markdown code fence longer than any run of backticks in `text`."""
    return "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)


def new_files(edit: Edit) -> list[tuple[str, str]]:
    """(path, content) of the files an edit creates (the merge migration)."""
    from miglint.run.apply_fixes import creates_file

    return [(change.path, change.content) for change in edit.edits if creates_file(change)]


def suggestion_for(
    finding: Finding,
    path: str,
    added: Mapping[str, frozenset[int]],
    head_file: Mapping[str, bytes | None],
) -> Suggestion | None:
    """The suggestion for `finding` (at `path` relative to the repository), or None when its
    fix cannot be one: no fix, edits elsewhere or in a new file, lines the pull request did
    not change, or a checked-out file that differs from the head commit's."""
    edit = finding.edit
    if edit is None or not edit.edits or any(e.path != finding.path for e in edit.edits):
        return None
    source = read_source(finding.path)
    if source is None or source.data is None or head_file.get(path) != source.data:
        return None
    text = source.text
    index = textmod.LineIndex(text)
    lines = len(index.starts) - (1 if text.endswith(("\n", "\r")) else 0)
    first, last = textmod.covered_lines(edit.edits)
    first, last = min(first, lines), min(last, lines)
    if last - first + 1 > MAX_LINES or not set(range(first, last + 1)) <= added.get(path, set()):
        return None
    start, end = index.offset(first, 1), index.offset(last + 1, 1)
    try:
        fixed = textmod.apply(text, edit.edits)
    except ValueError:
        return None
    replacement = fixed[start : end + len(fixed) - len(text)]
    # The block holds whole lines, written with \n; the last line's ending is the block's.
    replacement = replacement.replace("\r\n", "\n").replace("\r", "\n")
    if replacement and not replacement.endswith("\n"):
        replacement += "\n"
    original = text[start:end]
    digest = hashlib.blake2b(digest_size=8)
    for part in (finding.code, path, original, replacement):
        digest.update(part.encode() + b"\0")
    return Suggestion(finding, path, first, last, replacement, digest.hexdigest())


def suggestions(
    rows: Sequence[tuple[Finding, str]],
    added: Mapping[str, frozenset[int]],
    head_file: Mapping[str, bytes | None],
) -> tuple[list[Suggestion], int]:
    """One suggestion per fix (findings that share a fix share it), in report order, and how
    many of the findings they cover."""
    found: dict[str, Suggestion] = {}
    covered = 0
    for finding, path in rows:
        suggestion = suggestion_for(finding, path, added, head_file)
        if suggestion is not None:
            found.setdefault(suggestion.fingerprint, suggestion)
            covered += 1
    return list(found.values()), covered
