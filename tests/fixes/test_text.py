"""Text edits: positions as findings have them, applying, overlaps, diffs of whole files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from miglint.core.finding import SAFE, Edit, TextEdit
from miglint.fixes import text
from miglint.fixes.source import SourceFile, read_source
from miglint.run.apply_fixes import FixRun, _apply_edits


def test_apply_replaces_inserts_and_deletes_in_one_go() -> None:
    old = "a = 1\r\nb = 2\r\n\r\nc = 3"
    edits = [
        TextEdit("f.py", 2, 5, 2, 6, "20"),
        TextEdit("f.py", 1, 1, 1, 1, "x = 0\r\n"),
        TextEdit("f.py", 3, 1, 4, 1, ""),
    ]
    assert text.apply(old, edits) == "x = 0\r\na = 1\r\nb = 20\r\nc = 3"


def test_positions_count_characters_and_every_line_break() -> None:
    index = text.LineIndex("é = 1\rb = 2\nc")
    assert index.offset(2, 1) == len("é = 1\r")
    assert index.position(len("é = 1\rb = 2\n") + 1) == (3, 2)
    # A form feed is no line break for Python.
    assert text.LineIndex("a\x0cb\nc").offset(2, 1) == 4


def test_overlaps() -> None:
    assert text.overlaps((2, 5), (4, 8))
    assert not text.overlaps((2, 5), (5, 8))
    # Two insertions at one point overlap (their order would be a guess)...
    assert text.overlaps((3, 3), (3, 3))
    # ...an insertion at the edge of a replacement does not; one inside it does.
    assert not text.overlaps((3, 3), (3, 6))
    assert text.overlaps((4, 4), (3, 6))


def test_overlapping_edits_are_refused() -> None:
    edits = [TextEdit("f", 1, 1, 1, 3, "x"), TextEdit("f", 1, 2, 1, 4, "y")]
    with pytest.raises(ValueError):
        text.apply("abcdef", edits)


def test_unified_diff_of_a_new_file_and_of_a_file_without_final_newline() -> None:
    created = text.unified_diff("app/migrations/0003_merge.py", None, "a\nb\n")
    assert created.startswith("--- /dev/null\n+++ b/app/migrations/0003_merge.py\n")
    assert "+a\n+b\n" in created
    changed = text.unified_diff("f.py", "a\nb", "a\nc")
    assert "-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n" in changed


def test_fixes_that_parse_alone_but_not_together_are_applied_one_at_a_time(
    tmp_path: Path,
) -> None:
    """A pass never leaves a file that does not parse: the first fix goes in, the second,
    which would break the file with it, waits."""
    path = tmp_path / "m.py"
    path.write_text("if x:\n    pass\ny = 1\n", encoding="utf-8")
    first = Edit(SAFE, "else", (TextEdit(str(path), 3, 1, 3, 6, "else:\n    y = 1"),))
    second = Edit(SAFE, "z", (TextEdit(str(path), 3, 1, 3, 1, "z = 0\n"),))
    current: dict[str, SourceFile] = {}
    run = FixRun(Any, [])  # type: ignore[arg-type]
    applied = _apply_edits(
        [first, second], lambda p: current.get(p) or read_source(p), current, run
    )
    assert applied == [first]
    assert current[str(path)].text == "if x:\n    pass\nelse:\n    y = 1\n"
