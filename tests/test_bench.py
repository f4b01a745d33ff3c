"""The benchmark's generated project is one Django accepts as it is, and the benchmark runs
end to end on a tiny size (no timing is asserted anywhere)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.generate import generate
from miglint.project.config import Config
from miglint.project.load import load_project
from miglint.run.lint import lint

BENCH = Path(__file__).resolve().parent.parent / "bench"


def django(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize("shape", ["large", "wide"])
def test_generated_project_matches_its_models_for_django(tmp_path: Path, shape: str) -> None:
    root = tmp_path / "project"
    # The large shape has fewer foreign keys: more migrations hold every kind of one.
    size = 400 if shape == "large" else 150
    count = generate(str(root), size, per_app=size // 5, seed=11, shape=shape)
    assert count == size
    files = sorted(root.glob("*/migrations/0*.py"))
    assert len(files) == count
    text = "".join(path.read_text() for path in files)
    # The realistic mix the benchmark promises.
    for operation in (
        "CreateModel",
        "AddField",
        "AlterField",
        "RemoveField",
        "RenameField",
        "AddIndex",
        "RunPython",
        "RunSQL",
        "swappable_dependency",
    ):
        assert f"migrations.{operation}(" in text, operation
    cross_app = [
        line for line in text.splitlines() if line.strip().startswith('("app_') and "," in line
    ]
    assert cross_app
    merges = [path for path in files if "_merge_" in path.name]
    # The large shape's histories are linear; the wide one joins branches.
    assert bool(merges) == (shape == "wide")
    # Django loads the graph, and the models agree with the migrations.
    check = django(root, "makemigrations", "--check", "--dry-run")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No changes detected" in check.stdout
    plan = django(root, "showmigrations", "--plan")
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.count("[ ]") >= count
    # miglint reads every file and finds the graph whole.
    project = load_project([str(root)], Config(root=str(root)))
    assert len(project.migrations) == count
    codes = {finding.code for finding in lint(project)}
    assert not codes & {"MIG000", "MIG001", "MIG002", "MIG003", "MIG004", "MIG401"}


def test_benchmark_runs_end_to_end_on_a_tiny_project(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH / "run.py"),
            "--migrations",
            "12",
            "24",
            "--repeat",
            "1",
            "--workdir",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout
    for shape in ("shape 'large'", "shape 'wide'"):
        assert table.count(shape) >= 2
    assert table.count("| 12 |") == table.count("| 24 |") == 4
    for column in ("no-cache", "first", "warm", "touched", "edited", "django"):
        assert f" {column} |" in table
    for ratio in ("a/e", "a'/a", "b/e", "c/e", "c'/e", "a/d", "peak MB"):
        assert ratio in table
    assert table.count("growth 24/12 migrations") == 2
    assert "no changes detected" in table
