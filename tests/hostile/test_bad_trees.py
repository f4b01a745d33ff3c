"""Hostile trees: links, loops, unreadable places, odd names, missing or odd paths.

Each case runs the `miglint` command (a hang fails by TimeoutExpired, not by a stuck CI).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from miglint.project.config import Config
from miglint.project.load import load_project
from tests.helpers import migration, write_tree

MIGLINT = Path(sys.executable).with_name("miglint")
TIMEOUT = 120
DATA_LOSS = migration(operations="        migrations.RemoveField('item', 'price'),")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MIGLINT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )


def findings(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert "Traceback" not in result.stderr, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def check_json(path: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run("check", "--format", "json", "--fail-on", "never", *extra, path, cwd=cwd)


def test_symlink_loops_end(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shop/migrations/0001_initial.py": DATA_LOSS})
    (tmp_path / "shop/loop").symlink_to(tmp_path / "shop")
    (tmp_path / "shop/migrations/self").symlink_to(".")
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    (tmp_path / "shop/migrations/0002_loop.py").symlink_to("0002_loop.py")
    result = check_json(".", tmp_path)
    assert result.returncode == 0
    assert [f["path"] for f in findings(result)] == ["shop/migrations/0001_initial.py"]


def test_links_out_of_the_tree_are_not_followed(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {"other/migrations/0001_initial.py": DATA_LOSS})
    tree = write_tree(tmp_path / "tree", {"shop/migrations/0001_initial.py": migration()})
    (tree / "other").symlink_to(outside / "other")
    (tree / "shop/migrations/0002_linked.py").symlink_to(
        outside / "other/migrations/0001_initial.py"
    )
    (tree / "shop/migrations/0003_root.py").symlink_to("/etc/passwd")
    result = check_json(".", tree, "-v")
    assert result.returncode == 0
    paths = {f["path"] for f in findings(result)}
    assert not any("other" in str(p) or ("000" in str(p) and "linked" in str(p)) for p in paths)
    assert "0002_linked.py: symbolic link out of its folder, not followed" in result.stderr
    assert "root:" not in result.stdout


def test_a_link_to_a_sibling_migration_is_read(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shop/migrations/real/0001_x.py": DATA_LOSS})
    write_tree(tmp_path, {"shop/migrations/0001_initial.py": DATA_LOSS})
    (tmp_path / "shop/migrations/0002_alias.py").symlink_to("0001_initial.py")
    paths = [f["path"] for f in findings(check_json(".", tmp_path))]
    assert "shop/migrations/0002_alias.py" in paths


def test_a_fifo_named_like_a_migration_does_not_block(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shop/migrations/0001_initial.py": DATA_LOSS, "shop/models.py": ""})
    os.mkfifo(tmp_path / "shop/migrations/0002_fifo.py")
    os.mkfifo(tmp_path / "shop/apps.py")
    os.mkfifo(tmp_path / "pyproject.toml")
    (tmp_path / "shop/migrations/0003_null.py").symlink_to("/dev/zero")
    (tmp_path / "shop/migrations/0004_fifo_link.py").symlink_to("0002_fifo.py")
    result = check_json(".", tmp_path)
    assert result.returncode == 0, result.stderr
    assert any(f["code"] == "MIG101" for f in findings(result))
    # Named on the command line, it is said to be unreadable, still without blocking.
    direct = check_json("shop/migrations/0002_fifo.py", tmp_path)
    assert direct.returncode in (0, 2), direct.stderr
    assert "Traceback" not in direct.stderr


def test_a_device_file_named_like_a_migration_does_not_block(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shop/migrations/0001_initial.py": DATA_LOSS})
    if IS_ROOT:
        # Root may make device nodes: /dev/zero's twin inside the tree (never ends).
        os.mknod(tmp_path / "shop/migrations/0002_zero.py", 0o600 | 0o020000, os.makedev(1, 5))
    else:
        (tmp_path / "shop/migrations/0002_zero.py").symlink_to("/dev/zero")
    result = check_json(".", tmp_path)
    assert result.returncode == 0, result.stderr
    assert any(f["code"] == "MIG101" for f in findings(result))


def test_unreadable_files_and_folders(tmp_path: Path) -> None:
    """chmod 000 blocks reads except for root; both kinds of user get a clean run."""
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": DATA_LOSS,
            "shop/migrations/0002_secret.py": migration(dependencies="('shop', '0001_initial')"),
            "locked/migrations/0001_initial.py": DATA_LOSS,
        },
    )
    (tmp_path / "shop/migrations/0002_secret.py").chmod(0)
    (tmp_path / "locked").chmod(0)
    try:
        result = check_json(".", tmp_path, "-v")
    finally:
        (tmp_path / "locked").chmod(0o755)
        (tmp_path / "shop/migrations/0002_secret.py").chmod(0o644)
    assert result.returncode == 0, result.stderr
    rows = findings(result)
    assert any(f["path"] == "shop/migrations/0001_initial.py" for f in rows)
    if IS_ROOT:
        # Root reads through chmod 000: everything is linted.
        assert any(f["path"] == "locked/migrations/0001_initial.py" for f in rows)
    else:
        secret = [f for f in rows if f["path"] == "shop/migrations/0002_secret.py"]
        assert [f["message"] for f in secret] == [
            "cannot parse migration: cannot read file: Permission denied"
        ]
        assert "locked: cannot read folder: Permission denied" in result.stderr


def test_unreadable_files_and_folders_as_seen_by_any_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same failures injected where the file system reports them (works as root too)."""
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": DATA_LOSS,
            "shop/migrations/0002_secret.py": migration(dependencies="('shop', '0001_initial')"),
            "locked/migrations/0001_initial.py": DATA_LOSS,
        },
    )
    secret = str(tmp_path / "shop/migrations/0002_secret.py")
    locked = str(tmp_path / "locked")
    real_open, real_scandir = os.open, os.scandir

    def guarded_open(path: str, *args: object, **kwargs: object) -> int:
        if str(path) == secret:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    def guarded_scandir(path: str = ".") -> object:
        if str(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(os, "scandir", guarded_scandir)
    project = load_project([str(tmp_path)], Config(root=str(tmp_path)))
    facts = {m.path: m.facts for m in project.migrations}
    error = facts[secret].error
    assert error is not None and error.message == "cannot read file: Permission denied"
    assert f"{locked}: cannot read folder: Permission denied" in project.warnings
    assert "shop" in {app.label for app in project.apps}


def test_paths_with_spaces_and_unicode(tmp_path: Path) -> None:
    tree = write_tree(
        tmp_path / "my project ünïcödé",
        {
            "café app/migrations/0001_initial.py": DATA_LOSS,
            "日本/migrations/0001_initial.py": DATA_LOSS,
        },
    )
    result = check_json(".", tree)
    paths = sorted(str(f["path"]) for f in findings(result))
    assert paths == ["café app/migrations/0001_initial.py", "日本/migrations/0001_initial.py"]
    text = run("check", "--fail-on", "never", str(tree), cwd=tmp_path)
    assert "café app/migrations/0001_initial.py" in text.stdout


def test_a_path_that_does_not_exist(tmp_path: Path) -> None:
    result = run("check", "no such folder", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "miglint: error: no such folder: no such file or folder\n"
    assert result.stdout == ""


def test_a_file_instead_of_a_folder_lints_that_file(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": DATA_LOSS,
            "shop/migrations/0002_more.py": migration(
                dependencies="('shop', '0001_initial')",
                operations="        migrations.RemoveField('item', 'name'),",
            ),
            "other/migrations/0001_initial.py": DATA_LOSS,
        },
    )
    result = check_json("shop/migrations/0002_more.py", tmp_path)
    assert [f["path"] for f in findings(result)] == ["shop/migrations/0002_more.py"]


def test_a_loose_python_file_never_widens_the_walk(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shop/migrations/0001_initial.py": DATA_LOSS, "sub/dir/x.py": ""})
    result = check_json("sub/dir/x.py", tmp_path, "-v")
    assert findings(result) == []
    assert result.returncode == 0


def test_an_empty_repository(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = run("check", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("No Django migrations found")
    assert findings(check_json(".", tmp_path)) == []


def test_a_repository_without_django(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "README.md": "# not django\n",
            "src/app/main.py": "print('hello')\n",
            "src/app/migrations/README": "alembic lives here\n",
            "src/app/migrations/env.py": "from alembic import context\n",
            "src/app/migrations/versions/001_x.py": "revision = '001'\n",
        },
    )
    result = run("check", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "No Django migrations found" in result.stdout
    assert result.stderr == ""


def test_a_deep_tree_beyond_path_max(tmp_path: Path) -> None:
    """Folders whose path is longer than the OS allows: skipped, root or not."""
    write_tree(tmp_path, {"shop/migrations/0001_initial.py": DATA_LOSS})
    descriptor = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(40):
            os.mkdir("d" * 200, dir_fd=descriptor)
            inner = os.open("d" * 200, os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
    finally:
        os.close(descriptor)
    result = check_json(".", tmp_path, "-v")
    assert result.returncode == 0, result.stderr
    assert any(f["code"] == "MIG101" for f in findings(result))
