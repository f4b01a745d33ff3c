"""Inline suppression comments, as users write them."""

from __future__ import annotations

from pathlib import Path

from miglint.source.facts import Suppression
from miglint.source.parse import find_suppressions
from tests.helpers import lint_tree, write_tree

BASE = (
    "from django.db import migrations\n\n\n"
    "class Migration(migrations.Migration):\n    operations = []\n"
)


def conflict(second: str) -> dict[str, str]:
    """Two leaves; the app's one MIG001 finding is on the newer, 0002_b (`second`)."""
    child = (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):{comment}\n"
        '    dependencies = [("shop", "0001_initial")]\n'
        "    operations = []\n"
    )
    return {
        "shop/migrations/0001_initial.py": BASE,
        "shop/migrations/0002_a.py": child.format(comment=""),
        "shop/migrations/0002_b.py": second or child.format(comment=""),
    }


def test_comments_are_found() -> None:
    text = (
        "x = 1  # miglint: ignore[MIG101, mig102]\n"
        "# miglint: ignore-file[MIG301]\n"
        "y = 2  # miglint: ignore\n"
    )
    assert find_suppressions(text) == (
        Suppression(1, ("MIG101", "MIG102"), False),
        Suppression(2, ("MIG301",), True),
        Suppression(3, None, False),
    )


def test_ignore_on_the_line_silences_that_code(tmp_path: Path) -> None:
    source = (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):  # miglint: ignore[MIG001]\n"
        '    dependencies = [("shop", "0001_initial")]\n'
        "    operations = []\n"
    )
    write_tree(tmp_path, conflict(source))
    assert lint_tree(tmp_path, "MIG001") == []


def test_ignore_on_the_line_above(tmp_path: Path) -> None:
    source = (
        "from django.db import migrations\n\n\n"
        "# miglint: ignore[MIG001]\n"
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("shop", "0001_initial")]\n'
        "    operations = []\n"
    )
    write_tree(tmp_path, conflict(source))
    assert lint_tree(tmp_path, "MIG001") == []


def test_other_codes_are_not_silenced(tmp_path: Path) -> None:
    source = (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):  # miglint: ignore[MIG101]\n"
        '    dependencies = [("shop", "0001_initial")]\n'
        "    operations = []\n"
    )
    write_tree(tmp_path, conflict(source))
    assert len(lint_tree(tmp_path, "MIG001")) == 1


def test_file_level_ignore(tmp_path: Path) -> None:
    source = (
        "# miglint: ignore-file[MIG001]\n"
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("shop", "0001_initial")]\n'
        "    operations = []\n"
    )
    write_tree(tmp_path, conflict(source))
    assert lint_tree(tmp_path, "MIG001") == []


def test_bare_ignore_silences_everything_on_its_line(tmp_path: Path) -> None:
    source = (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):  # miglint: ignore\n"
        '    dependencies = [("shop", "0001_initial")]\n'
        "    operations = []\n"
    )
    write_tree(tmp_path, conflict(source))
    assert lint_tree(tmp_path, "MIG001") == []


def test_comment_two_lines_above_does_not_count(tmp_path: Path) -> None:
    source = (
        "from django.db import migrations\n\n"
        "# miglint: ignore[MIG001]\n\n"
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("shop", "0001_initial")]\n'
        "    operations = []\n"
    )
    write_tree(tmp_path, conflict(source))
    assert len(lint_tree(tmp_path, "MIG001")) == 1
