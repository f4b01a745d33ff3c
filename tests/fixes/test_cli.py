"""`miglint --fix`, `--unsafe-fixes`, `--show-fixes` as a user runs them: what is written,
what is not, and what the tree looks like afterwards."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from miglint.fixes.source import SourceFile
from miglint.run.apply_fixes import FixRun, write
from tests.helpers import load, run_cli, write_tree

HEADER = "from django.db import migrations, models\n\n\n"
INITIAL = (
    HEADER
    + "class Migration(migrations.Migration):\n"
    + "    initial = True\n\n"
    + "    operations = [\n"
    + "        migrations.CreateModel(\n"
    + '            name="Product",\n'
    + '            fields=[("id", models.BigAutoField(primary_key=True)), '
    + '("name", models.CharField(max_length=100))],\n'
    + "        ),\n"
    + "    ]\n"
)
# A data migration without reverse (MIG201, unsafe fix) and a concurrent index in an atomic
# migration (MIG508, safe fix).
DATA = (
    "# Fill the names.\n"
    + HEADER
    + "def fill(apps, schema_editor):\n"
    + "    pass  # nothing yet\n\n\n"
    + "class Migration(migrations.Migration):\n"
    + '    dependencies = [("shop", "0001_initial")]\n\n'
    + "    operations = [\n"
    + "        migrations.RunPython(fill),  # forwards only\n"
    + "    ]\n"
)
INDEX = (
    "from django.contrib.postgres.operations import AddIndexConcurrently\n"
    + HEADER
    + "class Migration(migrations.Migration):\n"
    + '    dependencies = [("shop", "0002_data")]\n\n'
    + "    operations = [\n"
    + '        AddIndexConcurrently("product", models.Index(fields=["name"], name="name_idx")),\n'
    + "    ]\n"
)
TREE = {
    "shop/migrations/0001_initial.py": INITIAL,
    "shop/migrations/0002_data.py": DATA,
    "shop/migrations/0003_index.py": INDEX,
}


def tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".miglint_cache" not in path.parts
    }


def test_fix_applies_the_safe_fixes_and_reports_what_remains(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    result = run_cli(".", "--fix", cwd=tmp_path)
    index = (tmp_path / "shop/migrations/0003_index.py").read_text()
    assert index == INDEX.replace(
        "class Migration(migrations.Migration):\n",
        "class Migration(migrations.Migration):\n    atomic = False\n",
    )
    # The unsafe fix is not applied: MIG201 remains, and the exit status says so.
    assert (tmp_path / "shop/migrations/0002_data.py").read_text() == DATA
    assert result.returncode == 1
    assert "MIG201" in result.stdout and "MIG508" not in result.stdout
    assert result.stdout.rstrip().endswith("Fixed 1 problem (1 more with --unsafe-fixes).")


def test_unsafe_fixes_apply_the_rest_and_a_second_run_changes_no_byte(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    result = run_cli(".", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Fixed 2 problems." in result.stdout
    data = (tmp_path / "shop/migrations/0002_data.py").read_text()
    # The edit is the reverse only: the comments around it stay where they were.
    assert data == DATA.replace(
        "RunPython(fill),", "RunPython(fill, reverse_code=migrations.RunPython.noop),"
    )
    before = tree(tmp_path)
    mtimes = {p: os.stat(tmp_path / p).st_mtime_ns for p in before}
    again = run_cli(".", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert again.returncode == 0 and "Nothing fixed." in again.stdout
    assert tree(tmp_path) == before
    assert {p: os.stat(tmp_path / p).st_mtime_ns for p in before} == mtimes


def test_show_fixes_writes_nothing_and_its_diff_is_what_fix_writes(tmp_path: Path) -> None:
    shown, fixed = tmp_path / "shown", tmp_path / "fixed"
    write_tree(shown, TREE)
    write_tree(fixed, TREE)
    before = tree(shown)
    result = run_cli(".", "--show-fixes", "--unsafe-fixes", cwd=shown)
    assert tree(shown) == before
    assert result.returncode == 0
    assert "Would fix 2 problems." in result.stderr
    assert result.stdout.startswith("--- a/shop/migrations/0002_data.py\n")
    assert run_cli(".", "--fix", "--unsafe-fixes", cwd=fixed).returncode == 0
    subprocess.run(
        ["patch", "-p1", "--quiet"], input=result.stdout, text=True, cwd=shown, check=True
    )
    assert tree(shown) == tree(fixed)


def test_show_fixes_without_unsafe_exits_with_what_would_remain(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    result = run_cli(".", "--show-fixes", cwd=tmp_path)
    assert result.returncode == 1
    assert "+    atomic = False\n" in result.stdout and "reverse_code" not in result.stdout
    assert "Would fix 1 problem (1 more with --unsafe-fixes)." in result.stderr


def test_unsafe_fixes_alone_is_a_usage_error(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    result = run_cli(".", "--unsafe-fixes", cwd=tmp_path)
    assert result.returncode == 2 and "--unsafe-fixes" in result.stderr


def test_fix_keeps_mode_line_endings_and_encoding(tmp_path: Path) -> None:
    crlf = DATA.replace("\n", "\r\n").encode()
    latin = ("# -*- coding: latin-1 -*-\n# Données\n" + INDEX).encode("latin-1")
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": "\ufeff" + INITIAL,
            "shop/migrations/0002_data.py": crlf,
            "shop/migrations/0003_index.py": latin,
        },
    )
    data = tmp_path / "shop/migrations/0002_data.py"
    data.chmod(0o640)
    # Run as root (in a container), the file keeps its owner too.
    owner = (1234, 1234) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    os.chown(data, *owner)
    result = run_cli(".", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o640
    assert (data.stat().st_uid, data.stat().st_gid) == owner
    assert data.read_bytes() == crlf.replace(
        b"RunPython(fill),", b"RunPython(fill, reverse_code=migrations.RunPython.noop),"
    )
    index = (tmp_path / "shop/migrations/0003_index.py").read_bytes()
    assert index.decode("latin-1").startswith("# -*- coding: latin-1 -*-\n# Données\n")
    assert b"    atomic = False\n" in index
    assert (tmp_path / "shop/migrations/0001_initial.py").read_bytes().startswith(b"\xef\xbb\xbf")
    leftovers = [p.name for p in (tmp_path / "shop/migrations").iterdir() if ".miglint-" in p.name]
    assert leftovers == []


@pytest.mark.parametrize("inside", [True, False])
def test_a_symlinked_migration_is_never_written(tmp_path: Path, inside: bool) -> None:
    project = tmp_path / "project"
    write_tree(project, {"shop/migrations/0001_initial.py": INITIAL})
    folder = project / "shared" if inside else tmp_path / "outside"
    folder.mkdir()
    target = folder / "data.py"
    target.write_text(DATA, encoding="utf-8")
    (project / "shop/migrations/0002_data.py").symlink_to(target)
    result = run_cli(".", "--fix", "--unsafe-fixes", cwd=project)
    assert result.returncode == 0
    assert target.read_text(encoding="utf-8") == DATA
    assert (project / "shop/migrations/0002_data.py").is_symlink()


def test_writing_refuses_symlinks_and_files_changed_meanwhile(tmp_path: Path) -> None:
    """The last guard, whatever found the file: no write through a symlink, none over a file
    that changed since it was read."""
    target = tmp_path / "real.py"
    target.write_text("x = 1\n", encoding="utf-8")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    changed = tmp_path / "changed.py"
    changed.write_text("x = 1\n", encoding="utf-8")
    project = load(tmp_path)
    originals = {
        str(link): SourceFile(str(link), "x = 1\n", "utf-8", b"x = 1\n"),
        str(changed): SourceFile(str(changed), "x = 1\n", "utf-8", b"x = 1\n"),
    }
    run = FixRun(project, [], originals, {str(link): "x = 2\n", str(changed): "x = 2\n"})
    changed.write_text("x = 3\n", encoding="utf-8")
    assert sorted(write(run)) == [
        f"{changed}: not fixed (it changed while miglint was fixing it)",
        f"{link}: not fixed (it is a symlink)",
    ]
    assert target.read_text() == "x = 1\n" and changed.read_text() == "x = 3\n"


def test_fixes_that_touch_the_same_lines_take_turns(tmp_path: Path) -> None:
    index = 'migrations.AddIndex("product", models.Index(fields=["{0}"], name="{0}_idx"))'
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.miglint]\ndatabase = "postgresql"\n',
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_indexes.py": HEADER
            + "class Migration(migrations.Migration):\n"
            + '    dependencies = [("shop", "0001_initial")]\n\n'
            + "    operations = [\n"
            + f"        {index.format('name')},\n"
            + f"        {index.format('id')},\n"
            + "    ]\n",
        },
    )
    result = run_cli(".", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Fixed 2 problems." in result.stdout
    text = (tmp_path / "shop/migrations/0002_indexes.py").read_text()
    assert text.count("AddIndexConcurrently(") == 2 and "migrations.AddIndex(" not in text
    assert text.count("import AddIndexConcurrently") == 1 and text.count("atomic = False") == 1


def test_merge_migration_is_created_next_to_the_leaves(tmp_path: Path) -> None:
    child = (
        HEADER
        + "class Migration(migrations.Migration):\n"
        + '    dependencies = [("shop", "0001_initial")]\n'
        + "    operations = []\n"
    )
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_a.py": child,
            "shop/migrations/0002_b.py": child,
        },
    )
    (tmp_path / "shop/migrations/0002_b.py").chmod(0o600)
    (tmp_path / "shop/migrations/0002_a.py").chmod(0o600)
    (tmp_path / "shop/migrations/0001_initial.py").chmod(0o600)
    (tmp_path / "shop/migrations/__init__.py").chmod(0o600)
    rows = json.loads(run_cli(".", "--format", "json", cwd=tmp_path).stdout)
    assert [row["code"] for row in rows] == ["MIG001"]
    result = run_cli(".", "--fix", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    merge = tmp_path / "shop/migrations/0003_merge_0002_a_0002_b.py"
    assert merge.read_text() == rows[0]["edit"]["edits"][0]["content"]
    assert stat.S_IMODE(merge.stat().st_mode) == 0o600


@pytest.mark.parametrize("format_name", ["json", "text"])
def test_fix_with_named_files_as_pre_commit_passes_them(tmp_path: Path, format_name: str) -> None:
    write_tree(tmp_path, TREE)
    shutil.copy(tmp_path / "shop/migrations/0002_data.py", tmp_path / "keep.txt")
    result = run_cli(
        "shop/migrations/0003_index.py",
        "--fix",
        "--unsafe-fixes",
        "--format",
        format_name,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Only the named file is fixed.
    assert (tmp_path / "shop/migrations/0002_data.py").read_text() == DATA
    assert "atomic = False" in (tmp_path / "shop/migrations/0003_index.py").read_text()
    if format_name == "json":
        assert json.loads(result.stdout) == []
        assert "Fixed 1 problem." in result.stderr
