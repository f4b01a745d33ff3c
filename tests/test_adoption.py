"""Adopting miglint on real projects: baseline, then only new hazards, whichever way it runs.

For each project (released packages from PyPI, and a tree shaped like a project that keeps
its migrations in another module): `miglint baseline` then `miglint .` exits 0; a new
migration with a RemoveField and a RunPython without reverse gives the same findings (exit
1) as `miglint .`, as `miglint FILE` and through the pre-commit hook on a commit that stages
it; editing an old migration gives MIG006; `--statistics` counts the JSON findings; the
baseline file does not change when nothing did.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from miglint.source.parse import parse_migration
from tests.helpers import migration, run_cli, write_tree

REPO = Path(__file__).resolve().parent.parent
RELEASED = ["Django==5.2.8", "django-celery-beat==2.9.0", "django-oscar==4.2.1"]
FINDING_LINE = re.compile(r"^\S+:\d+:\d+: (error|warning|info): MIG\d{3} .*$")


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each released package unpacked in a folder of its own."""
    root = tmp_path_factory.mktemp("released")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "-q", "--no-deps"),
            *("--only-binary", ":all:", "-d", str(root / "wheels"), *RELEASED),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    unpacked = {}
    for wheel in sorted((root / "wheels").glob("*.whl")):
        name = wheel.name.split("-")[0].lower()
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(root / name)
        unpacked[name] = root / name
    return unpacked


# Shaped like a project that keeps its migrations in `core/db_migrations` (MIGRATION_MODULES
# in an `if` of its settings), with a models module that matches them.
DB_MIGRATIONS_PROJECT = {
    "manage.py": "",
    "core/__init__.py": "",
    "core/apps.py": "from django.apps import AppConfig\n\n\nclass CoreConfig(AppConfig):\n"
    "    name = 'core'\n",
    "core/models.py": (
        "from django.db import models\n\n\nclass Finding(models.Model):\n"
        "    title = models.CharField(max_length=200)\n"
        "    severity = models.CharField(max_length=20)\n"
    ),
    "core/settings/__init__.py": "",
    "core/settings/base.py": (
        "import os\n\nif os.environ.get('TRACK_MIGRATIONS'):\n"
        "    MIGRATION_MODULES = {'core': 'core.db_migrations'}\n"
    ),
    "core/db_migrations/__init__.py": "",
    "core/db_migrations/0001_initial.py": migration(
        operations=(
            "        migrations.CreateModel(\n"
            '            name="Finding",\n'
            "            fields=[\n"
            '                ("id", models.AutoField(auto_created=True, primary_key=True, '
            'serialize=False, verbose_name="ID")),\n'
            '                ("title", models.CharField(max_length=100)),\n'
            '                ("legacy", models.TextField()),\n'
            "            ],\n"
            "        ),"
        ),
        extra="    initial = True\n",
    ),
    "core/db_migrations/0002_finding_severity.py": migration(
        dependencies='("core", "0001_initial")',
        operations=(
            '        migrations.RemoveField(model_name="finding", name="legacy"),\n'
            '        migrations.AlterField("finding", "title", models.CharField(max_length=200)),\n'
            '        migrations.AddField("finding", "severity", '
            'models.CharField(default="low", max_length=20), preserve_default=False),'
        ),
    ),
}


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def local_hook_config(tmp_path: Path) -> str:
    """The repository's hook as a local hook running this checkout's miglint."""
    hook = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())[0]
    hook = {**hook, "language": "system", "entry": f"{sys.executable} -m miglint"}
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]})


def finding_lines(output: str) -> list[str]:
    return sorted(line for line in output.splitlines() if FINDING_LINE.match(line))


def biggest_app(project: Path) -> tuple[str, str, Path]:
    """The app with the most migrations: its label, its leaf and its migrations folder."""
    graph = json.loads(run_cli("graph", "--format", "json", cwd=project).stdout)["apps"]
    label = max(sorted(graph), key=lambda app: len(graph[app]["nodes"]))
    folder = Path(graph[label]["nodes"][0]["path"]).parent
    return label, graph[label]["leaves"][0], project / folder


def created_fields(folder: Path) -> Iterator[tuple[str, str]]:
    """Models the app's migrations create, each with a field other than the key."""
    for path in sorted(folder.glob("0*.py")):
        for operation in parse_migration(path.read_text(encoding="utf-8")).operations:
            fields = operation.argument(1, "fields")
            name = operation.argument(0, "name")
            if operation.is_("CreateModel") and isinstance(name, str) and fields:
                names = [item.items[0] for item in getattr(fields, "items", ())]
                for field in reversed([n for n in names if isinstance(n, str) and n != "id"]):
                    yield name, field


def drop_from_models(app: Path, model: str, field: str) -> Path | None:
    """Delete `field = ...` from the class `model` in the app's models files (as the
    developer does before writing the RemoveField); the file changed, or None."""
    # The model's own class, or the abstract class it inherits its fields from (oscar).
    names = {model.lower(), f"abstract{model.lower()}"}
    for path in [*sorted(app.glob("*.py")), *sorted((app / "models").glob("*.py"))]:
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if not (isinstance(node, ast.ClassDef) and node.name.lower() in names):
                continue
            for statement in node.body:
                targets = statement.targets if isinstance(statement, ast.Assign) else []
                if [getattr(t, "id", None) for t in targets] == [field]:
                    lines = text.splitlines(keepends=True)
                    end = statement.end_lineno or statement.lineno
                    del lines[statement.lineno - 1 : end]
                    path.write_text("".join(lines), encoding="utf-8")
                    return path
    return None


def remove_a_field(folder: Path) -> tuple[str, str, Path]:
    """Take a field out of a model the way a developer does: out of models.py (returned)
    here, and by a RemoveField in the new migration."""
    for model, field in created_fields(folder):
        changed = drop_from_models(folder.parent, model, field)
        if changed is not None:
            return model, field, changed
    raise AssertionError(f"no model field of {folder} is defined in its models files")


def adopt_and_change(project: Path, env: dict[str, str]) -> None:
    baseline = project / "miglint-baseline.json"
    made = run_cli("baseline", cwd=project, env=env)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("miglint-baseline.json: recorded ")
    recorded = baseline.read_bytes()
    clean = run_cli(".", cwd=project, env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert run_cli("baseline", cwd=project, env=env).returncode == 0
    assert baseline.read_bytes() == recorded

    # The first commit, with the baseline: the hook passes the staged files and passes.
    (project / ".pre-commit-config.yaml").write_text(local_hook_config(project))
    assert git(project, "init", "-q").returncode == 0
    installed = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    git(project, "add", "-A")
    first = git(project, "commit", "-qm", "first")
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r"^miglint\.+Passed$", first.stdout + first.stderr, re.MULTILINE)

    # A new migration with a dropped column and a data step that cannot be rolled back.
    label, leaf, folder = biggest_app(project)
    model, field, models_file = remove_a_field(folder)
    new = folder / "9999_adopted.py"
    new.write_text(
        "from django.db import migrations\n\n\n"
        "def forwards(apps, schema_editor):\n    pass\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [({label!r}, {leaf!r})]\n"
        "    operations = [\n"
        f"        migrations.RemoveField(model_name={model.lower()!r}, name={field!r}),\n"
        "        migrations.RunPython(forwards),\n"
        "    ]\n",
        encoding="utf-8",
    )
    relative = new.relative_to(project).as_posix()
    models_relative = models_file.relative_to(project).as_posix()
    as_tree = run_cli(".", "--format", "json", cwd=project, env=env)
    as_files = run_cli(relative, models_relative, "--format", "json", cwd=project, env=env)
    assert as_tree.returncode == as_files.returncode == 1
    rows = json.loads(as_tree.stdout)
    assert json.loads(as_files.stdout) == rows
    # Models and migrations agree again: only the new migration's hazards are reported.
    assert {row["path"] for row in rows} == {relative}, rows
    assert {"MIG101", "MIG201"} <= {row["code"] for row in rows}

    statistics = run_cli(".", "--statistics", cwd=project, env=env)
    assert statistics.returncode == 1
    counted = {line.split()[1]: int(line.split()[0]) for line in statistics.stdout.splitlines()}
    expected: dict[str, int] = {}
    for row in rows:
        expected[row["code"]] = expected.get(row["code"], 0) + 1
    assert counted == expected

    git(project, "add", relative, models_relative)
    hooked = git(project, "commit", "-qm", "adopted")
    assert hooked.returncode != 0, hooked.stdout + hooked.stderr
    text_lines = finding_lines(run_cli(".", cwd=project, env=env).stdout)
    assert finding_lines(hooked.stdout + hooked.stderr) == text_lines
    assert len(text_lines) == len(rows)

    # Editing a migration that is recorded: MIG006, a warning.
    new.unlink()
    git(project, "reset", "-q")
    git(project, "checkout", "--", models_relative)
    old = sorted(folder.glob("0*.py"))[0]
    old.write_text(
        old.read_text(encoding="utf-8").replace(
            "operations = [", "operations = [\n        migrations.DeleteModel('Gone'),", 1
        ),
        encoding="utf-8",
    )
    edited = json.loads(run_cli(".", "--format", "json", cwd=project, env=env).stdout)
    assert [(row["code"], row["path"]) for row in edited] == [
        ("MIG006", old.relative_to(project).as_posix())
    ]
    assert baseline.read_bytes() == recorded


def hook_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "NO_COLOR": "1",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }


@pytest.mark.parametrize("package", [r.split("==")[0].lower().replace("-", "_") for r in RELEASED])
def test_adopting_miglint_on_a_released_package(
    package: str, wheels: dict[str, Path], tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(wheels[package], project)
    adopt_and_change(project, hook_env(tmp_path))


def test_adopting_miglint_where_migrations_live_in_another_module(tmp_path: Path) -> None:
    project = write_tree(tmp_path / "project", DB_MIGRATIONS_PROJECT)
    before = run_cli(".", "--format", "json", "--no-baseline", cwd=project)
    assert {row["code"] for row in json.loads(before.stdout)} >= {"MIG101", "MIG501"}
    adopt_and_change(project, hook_env(tmp_path))
