"""Same input, same output, byte for byte: whatever order the file system lists files in,
and with or without the cache."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from miglint.project.config import Config
from miglint.project.load import load_project
from miglint.report.formats import FORMATS
from miglint.run.lint import lint
from tests.helpers import migration, write_tree

MIGLINT = Path(sys.executable).with_name("miglint")


def busy_tree(root: Path) -> Path:
    """Several apps, conflicts, a squash, a copy of an app under tests/, models files."""
    files: dict[str, str] = {}
    for app in ("shop", "billing", "accounts"):
        files[f"{app}/migrations/0001_initial.py"] = migration(
            operations="        migrations.RemoveField('item', 'price'),"
        )
        for name in ("0002_b", "0002_a", "0002_c"):
            files[f"{app}/migrations/{name}.py"] = migration(
                dependencies=f"('{app}', '0001_initial')",
                operations=f"        migrations.DeleteModel('{name}'),",
            )
        files[f"{app}/models.py"] = (
            "from django.db import models\n\n\nclass Item(models.Model):\n"
            "    name = models.CharField(max_length=10)\n"
        )
    files["tests/shop/migrations/0001_initial.py"] = migration()
    files["shop/migrations/0003_broken.py"] = "class Migration(:\n"
    files["billing/migrations/0003_squashed.py"] = migration(
        extra="    replaces = [('billing', '0002_a'), ('billing', '0002_b')]\n",
        dependencies="('billing', '0001_initial')",
    )
    return write_tree(root, files)


def render_all(root: Path) -> dict[str, str]:
    project = load_project([str(root)], Config(root=str(root)))
    findings = lint(project)
    rendered = {name: renderer(findings) for name, renderer in FORMATS.items()}
    rendered["notices"] = "\n".join((*project.warnings, *project.notices))
    return rendered


def reordering(order: Callable[[list[Any]], list[Any]]) -> Callable[..., Any]:
    real_scandir = os.scandir

    class Listing:
        def __init__(self, entries: list[os.DirEntry[str]], handle: Any) -> None:
            self.entries, self.handle = entries, handle

        def __iter__(self) -> Iterator[os.DirEntry[str]]:
            return iter(self.entries)

        def __enter__(self) -> Listing:
            return self

        def __exit__(self, *args: object) -> None:
            self.handle.close()

        def close(self) -> None:
            self.handle.close()

    def scandir(path: Any = ".") -> Listing:
        handle = real_scandir(path)
        return Listing(order(list(handle)), handle)

    return scandir


@pytest.mark.parametrize("seed", [0, 1, 2, "reversed"])
def test_listing_order_does_not_change_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int | str
) -> None:
    root = busy_tree(tmp_path)
    baseline = render_all(root)
    assert "MIG001" in baseline["json"] and "MIG000" in baseline["json"]

    def order(entries: list[Any]) -> list[Any]:
        if seed == "reversed":
            return sorted(entries, key=lambda e: getattr(e, "name", e), reverse=True)
        random.Random(seed).shuffle(entries)
        return entries

    real_listdir = os.listdir
    monkeypatch.setattr(os, "scandir", reordering(order))
    monkeypatch.setattr(os, "listdir", lambda path=".": order(real_listdir(path)))
    assert render_all(root) == baseline


def run(root: Path, *args: str, env: dict[str, str]) -> bytes:
    result = subprocess.run(
        [str(MIGLINT), "check", "--format", "json", "--fail-on", "never", *args, "."],
        cwd=root,
        capture_output=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_same_bytes_across_runs_and_with_or_without_the_cache(tmp_path: Path) -> None:
    root = busy_tree(tmp_path / "tree")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "NO_COLOR": "1"}
    cold = run(root, "--no-cache", env=env)
    first = run(root, env=env)
    warm = run(root, env=env)
    assert cold == first == warm
    # A copy of the tree, listed in another order by a fresh file system walk.
    copy = tmp_path / "copy"
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file():
            target = copy / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    assert run(copy, "--no-cache", env=env) == cold
