"""`miglint baseline`: what it records, where, how it changes, and what it hides."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from miglint.project.baseline import digest, normal_source
from miglint.source.parse import parse_migration
from tests.helpers import migration, run_cli, write_tree

INITIAL = migration(
    operations=(
        "        migrations.CreateModel(\n"
        '            name="Item",\n'
        '            fields=[("id", models.AutoField(primary_key=True)), '
        '("sku", models.CharField(max_length=20))],\n'
        "        ),"
    )
)
DROP = migration(
    dependencies='("shop", "0001_initial")',
    operations='        migrations.RemoveField(model_name="item", name="sku"),',
)
NEW_HAZARDS = migration(
    dependencies='("shop", "0002_drop")',
    operations=(
        '        migrations.RemoveField(model_name="item", name="name"),\n'
        "        migrations.RunPython(forwards),"
    ),
    extra="",
).replace("class Migration", "def forwards(apps, schema_editor):\n    pass\n\n\nclass Migration")
PROJECT = {
    "shop/migrations/0001_initial.py": INITIAL,
    "shop/migrations/0002_drop.py": DROP,
}


def codes(result: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    return sorted((row["path"], row["code"]) for row in json.loads(result.stdout))


# --- the digest: meaning, not bytes ---------------------------------------------------------

SAME_MIGRATION = [
    # Reformatted, other quotes, a comment, trailing commas.
    "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
    "    dependencies = [('shop', '0001_initial')]  # the first one\n"
    "    operations = [migrations.RemoveField(model_name='item', name='sku',),]\n",
    # Another import style.
    "from django.db.migrations import Migration as Base, RemoveField\n\n\nclass Migration(Base):\n"
    '    dependencies = [("shop", "0001_initial")]\n'
    '    operations = [\n        RemoveField(\n            model_name="item",\n'
    '            name="sku",\n        )\n    ]\n',
]
CHANGED_MIGRATION = [
    DROP.replace('name="sku"', 'name="price"'),
    DROP.replace("0001_initial", "0001_other"),
    DROP.replace("operations = [", "operations = [\n        migrations.DeleteModel('Tag'),"),
    DROP.replace('migrations.RemoveField(model_name="item", name="sku"),', ""),
    DROP.replace(
        "class Migration(migrations.Migration):\n",
        "class Migration(migrations.Migration):\n    atomic = False\n",
    ),
]


@pytest.mark.parametrize("text", SAME_MIGRATION)
def test_formatting_comments_and_imports_do_not_change_the_digest(text: str) -> None:
    assert digest(parse_migration(text)) == digest(parse_migration(DROP))


@pytest.mark.parametrize("text", CHANGED_MIGRATION)
def test_operations_dependencies_and_options_change_the_digest(text: str) -> None:
    assert text != DROP
    assert digest(parse_migration(text)) != digest(parse_migration(DROP))


def test_a_reverse_does_not_count_but_the_forward_does() -> None:
    forward = migration(operations="        migrations.RunPython(forwards),")
    with_reverse = migration(
        operations="        migrations.RunPython(forwards, reverse_code=migrations.RunPython.noop),"
    )
    other_forward = migration(operations="        migrations.RunPython(backfill),")
    sql = migration(operations="        migrations.RunSQL('UPDATE t SET a = 1', 'SELECT 1'),")
    sql_no_reverse = migration(operations="        migrations.RunSQL('UPDATE t SET a = 1'),")
    assert digest(parse_migration(forward)) == digest(parse_migration(with_reverse))
    assert digest(parse_migration(forward)) != digest(parse_migration(other_forward))
    assert digest(parse_migration(sql)) == digest(parse_migration(sql_no_reverse))


def test_expressions_miglint_does_not_interpret_are_compared_by_their_syntax() -> None:
    assert normal_source("lambda apps, editor: (\n    f('a', # x\n    apps,)\n)") == normal_source(
        'lambda apps,editor: f("a", apps)'
    )
    assert normal_source("lambda a: f('a')") != normal_source("lambda a: f('b')")


def test_a_long_expression_is_read_whole_from_the_file(tmp_path: Path) -> None:
    long = "x" * 150
    before = migration(operations=f"        migrations.RunPython(lambda a, s: f('{long}', 1)),")
    after = before.replace("1)),", "2)),")
    write_tree(tmp_path, {"shop/migrations/0001_initial.py": before})
    run_cli("baseline", cwd=tmp_path)
    (tmp_path / "shop/migrations/0001_initial.py").write_text(after)
    result = run_cli(".", "--format", "json", "--select", "MIG006", cwd=tmp_path)
    assert codes(result) == [("shop/migrations/0001_initial.py", "MIG006")]


# --- the command and the file ------------------------------------------------------------------


def test_baseline_then_lint_hides_old_hazards_and_reports_new_ones(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    assert run_cli(".", cwd=tmp_path).returncode == 1
    result = run_cli("baseline", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "miglint-baseline.json: recorded 2 migrations of 1 app.\n"
    assert run_cli(".", cwd=tmp_path).stdout == "No problems found.\n"
    assert codes(run_cli(".", "--format", "json", "--no-baseline", cwd=tmp_path))
    write_tree(tmp_path, {"shop/migrations/0003_more.py": NEW_HAZARDS})
    new = run_cli(".", "--format", "json", cwd=tmp_path)
    assert new.returncode == 1
    assert {path for path, _ in codes(new)} == {"shop/migrations/0003_more.py"}
    assert {"MIG101", "MIG201"} <= {code for _, code in codes(new)}


def test_the_file_is_sorted_one_line_per_migration_and_stable(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    run_cli("baseline", cwd=tmp_path)
    path = tmp_path / "miglint-baseline.json"
    text = path.read_text()
    document = json.loads(text)
    assert document["version"] == 1
    assert list(document["migrations"]["shop"]) == ["0001_initial", "0002_drop"]
    assert sum('"00' in line for line in text.splitlines()) == 2
    stat = path.stat()
    again = run_cli("baseline", cwd=tmp_path)
    assert "unchanged" in again.stdout
    assert path.read_text() == text and path.stat().st_mtime_ns == stat.st_mtime_ns
    # Formatting the migrations changes nothing either.
    drop = tmp_path / "shop/migrations/0002_drop.py"
    drop.write_text(SAME_MIGRATION[0])
    run_cli("baseline", cwd=tmp_path)
    assert path.read_text() == text


def test_running_it_again_adds_prunes_and_updates(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    run_cli("baseline", cwd=tmp_path)
    (tmp_path / "shop/migrations/0002_drop.py").unlink()
    write_tree(tmp_path, {"shop/migrations/0002_other.py": DROP.replace("sku", "price")})
    (tmp_path / "shop/migrations/0001_initial.py").write_text(INITIAL.replace("20", "30"))
    result = run_cli("baseline", cwd=tmp_path)
    assert "(1 added, 1 removed, 1 updated)" in result.stdout
    recorded = json.loads((tmp_path / "miglint-baseline.json").read_text())["migrations"]
    assert list(recorded["shop"]) == ["0001_initial", "0002_other"]


def test_the_baseline_lives_next_to_the_config_and_is_found_from_below(tmp_path: Path) -> None:
    write_tree(tmp_path, {f"backend/{k}": v for k, v in PROJECT.items()})
    (tmp_path / "pyproject.toml").write_text("[tool.miglint]\nfail-on = 'error'\n")
    run_cli("baseline", "backend", cwd=tmp_path)
    assert (tmp_path / "miglint-baseline.json").is_file()
    assert run_cli(".", cwd=tmp_path / "backend").returncode == 0
    assert run_cli("backend/shop/migrations/0002_drop.py", cwd=tmp_path).returncode == 0


def test_graph_findings_and_missing_migrations_are_still_reported(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            **PROJECT,
            "shop/migrations/0002_other.py": migration(dependencies='("shop", "0001_initial")'),
            "shop/models.py": (
                "from django.db import models\n\n\nclass Item(models.Model):\n"
                "    sku = models.CharField(max_length=20)\n    name = models.TextField()\n"
            ),
        },
    )
    run_cli("baseline", cwd=tmp_path)
    reported = {code for _, code in codes(run_cli(".", "--format", "json", cwd=tmp_path))}
    assert reported == {"MIG001", "MIG401"}


def test_editing_a_recorded_migration_is_mig006_and_keeps_its_old_hazards_hidden(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path, PROJECT)
    run_cli("baseline", cwd=tmp_path)
    drop = tmp_path / "shop/migrations/0002_drop.py"
    drop.write_text(drop.read_text() + "# reviewed\n")
    assert run_cli(".", cwd=tmp_path).returncode == 0
    drop.write_text(DROP.replace('name="sku"', 'name="price"'))
    result = run_cli(".", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0  # a warning
    [row] = json.loads(result.stdout)
    assert row["code"] == "MIG006" and row["severity"] == "warning"
    assert "shop.0002_drop" in row["message"] and "miglint-baseline.json" in row["message"]
    assert run_cli(".", "--fail-on", "warning", cwd=tmp_path).returncode == 1
    run_cli("baseline", cwd=tmp_path)
    assert run_cli(".", "--fail-on", "warning", cwd=tmp_path).returncode == 0


def test_a_broken_baseline_is_one_line_and_exit_2(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    (tmp_path / "miglint-baseline.json").write_text("{not json")
    result = run_cli(".", cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert "miglint-baseline.json" in result.stderr and "Traceback" not in result.stderr
    assert run_cli(".", "--no-baseline", cwd=tmp_path).returncode == 1
    (tmp_path / "miglint-baseline.json").write_text('{"migrations": {"shop": ["0001"]}}')
    assert run_cli(".", cwd=tmp_path).returncode == 2
    rewritten = run_cli("baseline", cwd=tmp_path)
    assert rewritten.returncode == 0 and "replaced" in rewritten.stdout
    assert run_cli(".", cwd=tmp_path).returncode == 0


def test_baseline_of_a_file_or_an_empty_tree(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    as_file = run_cli("baseline", "shop/migrations/0002_drop.py", cwd=tmp_path)
    assert as_file.returncode == 2 and "folder" in as_file.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("baseline", cwd=empty)
    assert result.returncode == 0 and "No Django migrations" in result.stdout
    assert os.listdir(empty) == []


def test_two_apps_with_one_label_are_recorded_apart(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    write_tree(tmp_path, {f"tests/fixtures/{k}": v for k, v in PROJECT.items()})
    run_cli("baseline", cwd=tmp_path)
    recorded = json.loads((tmp_path / "miglint-baseline.json").read_text())["migrations"]
    assert set(recorded) == {"shop", "shop@tests/fixtures/shop"}
    assert run_cli(".", cwd=tmp_path).returncode == 0
    # Linted alone, the copy is the only `shop`: it is still recognised as the copy.
    copy = tmp_path / "tests/fixtures/shop/migrations/0002_drop.py"
    copy.write_text(DROP.replace('name="sku"', 'name="price"'))
    alone = run_cli("tests", "--format", "json", cwd=tmp_path)
    assert [row["code"] for row in json.loads(alone.stdout)] == ["MIG006"]


# --- --diff BASE: history from git ------------------------------------------------------------


def git(cwd: Path, *args: str) -> None:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)


def test_diff_reports_an_edited_migration_where_it_changed(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    drop = tmp_path / "shop/migrations/0002_drop.py"
    drop.write_text(SAME_MIGRATION[1])  # reformatted only
    quiet = run_cli(".", "--format", "json", "--diff", "HEAD", "--select", "MIG006", cwd=tmp_path)
    assert json.loads(quiet.stdout) == []
    drop.write_text(DROP.replace('name="sku"', 'name="price"'))
    result = run_cli(".", "--format", "json", "--diff", "HEAD", "--select", "MIG006", cwd=tmp_path)
    [row] = json.loads(result.stdout)
    assert row["path"] == "shop/migrations/0002_drop.py"
    assert (
        row["line"]
        == DROP.splitlines().index('        migrations.RemoveField(model_name="item", name="sku"),')
        + 1
    )
    assert "already exists at HEAD" in row["message"] and "operations" in row["message"]
