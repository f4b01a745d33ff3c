"""Text edits without libcst: positions, applying edits, overlaps, diffs.

Positions are those of findings: 1-based lines and columns, columns in characters, the end
exclusive. Lines end at `\\r\\n`, `\\r` or `\\n`, as Python's tokenizer reads them.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence

from miglint.core.finding import TextEdit

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class LineIndex:
    """Offsets of the starts of the lines of a text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]

    def offset(self, line: int, column: int) -> int:
        """The offset of (line, column), clamped to the text."""
        if line < 1:
            return 0
        if line > len(self.starts):
            return len(self.text)
        return min(self.starts[line - 1] + max(column, 1) - 1, len(self.text))

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column) of `offset`."""
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


def newline_of(text: str) -> str:
    """The line ending a file uses (its first one), `\\n` for a file without any."""
    match = _LINE_BREAK.search(text)
    return match.group() if match else "\n"


def with_newline(text: str, newline: str) -> str:
    """`text` (written with `\\n`) with `newline` line endings."""
    return text if newline == "\n" else text.replace("\n", newline)


def span(edit: TextEdit, index: LineIndex) -> tuple[int, int]:
    return index.offset(edit.line, edit.column), index.offset(edit.end_line, edit.end_column)


def overlaps(first: tuple[int, int], second: tuple[int, int]) -> bool:
    """Whether two ranges touch the same text. Two insertions at one point overlap too (their
    order would be a guess), an insertion at the edge of a replacement does not."""
    (a, b), (c, d) = first, second
    if a == b and c == d:
        return a == c
    if a == b:
        return c < a < d
    if c == d:
        return a < c < b
    return a < d and c < b


def apply(text: str, edits: Iterable[TextEdit]) -> str:
    """`text` with the non-overlapping `edits` applied (all positions refer to `text`)."""
    index = LineIndex(text)
    placed = sorted((span(edit, index), edit.content) for edit in edits)
    parts = []
    position = 0
    for (start, end), content in placed:
        if start < position:
            raise ValueError("overlapping edits")
        parts.append(text[position:start])
        parts.append(content)
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _lines(text: str) -> list[str]:
    """The lines of `text` with their endings (not str.splitlines, which also breaks at
    form feeds and other characters Python's tokenizer does not end lines at)."""
    lines = []
    position = 0
    for match in _LINE_BREAK.finditer(text):
        lines.append(text[position : match.end()])
        position = match.end()
    if position < len(text):
        lines.append(text[position:])
    return lines


def unified_diff(path: str, old: str | None, new: str) -> str:
    """A unified diff of one file, as `git diff` shows it (`old` None: a new file)."""
    import difflib

    before = _lines(old) if old is not None else []
    after = _lines(new)
    lines = difflib.unified_diff(
        [_terminated(line) for line in before],
        [_terminated(line) for line in after],
        fromfile=f"a/{path}" if old is not None else "/dev/null",
        tofile=f"b/{path}",
    )
    return "".join(lines)


def _terminated(line: str) -> str:
    """A diff line ends with one `\\n`, whatever the file's line ending."""
    stripped = line.rstrip("\r\n")
    return stripped + "\n" if stripped != line else line + "\n\\ No newline at end of file\n"


def covered_lines(edits: Sequence[TextEdit]) -> tuple[int, int]:
    """The first and last line the edits of one file touch (for a line suggestion)."""
    first = min(edit.line for edit in edits)
    last = max(
        edit.end_line - 1 if edit.end_column == 1 and edit.end_line > edit.line else edit.end_line
        for edit in edits
    )
    return first, max(first, last)
