"""`miglint graph`: the order and dependencies of `showmigrations --plan -v 2`, squashes,
leaves and conflicts, and the JSON and Mermaid renderings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from miglint.cli.commands.graph import render_text
from tests.django_oracle import run_django
from tests.helpers import load, run_cli, write_tree
from tests.test_plan import BRANCHED_PROJECT, SQUASHED_PROJECT, _random_project

SHOWMIGRATIONS = """
from io import StringIO
from django.core.management import call_command
output = {}
for app in APPS:
    buffer = StringIO()
    call_command("showmigrations", "--plan", *([app] if app else []), verbosity=2, stdout=buffer)
    output[app] = buffer.getvalue().splitlines()
print(json.dumps(output))
"""


def _ours(text: str) -> list[str]:
    """`app.name ... (deps)` of each line of `miglint graph` (markers and details removed)."""
    lines = []
    for line in text.splitlines():
        if not line.startswith(("  ", "! ")) or line.startswith("      "):
            continue
        lines.append(re.sub(r"  \[[^\]]*\]$", "", line[2:]))
    return lines


def _django(lines: list[str], apps: set[str]) -> list[str]:
    """Django's lines for the apps in the tree, without the `[X]` column."""
    return [line[5:] for line in lines if line[5:].partition(".")[0] in apps]


@pytest.mark.parametrize(
    ("files", "apps"),
    [
        pytest.param(SQUASHED_PROJECT, ["", "shop", "billing", "reports"], id="squash"),
        pytest.param(BRANCHED_PROJECT, ["", "a", "b", "c"], id="branches"),
    ],
)
def test_order_and_dependencies_match_showmigrations(
    tmp_path: Path, files: dict[str, str], apps: list[str]
) -> None:
    write_tree(tmp_path, files)
    expected = run_django(tmp_path, f"APPS = {apps!r}\n" + SHOWMIGRATIONS)
    project = load(tmp_path)
    in_tree = {app.label for app in project.apps}
    for app in apps:
        assert _ours(render_text(project, app or None)) == _django(expected[app], in_tree), app


def test_text_marks_squashes_leaves_and_conflicts(tmp_path: Path) -> None:
    write_tree(tmp_path, {**BRANCHED_PROJECT, **SQUASHED_PROJECT})
    result = run_cli("graph", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "  shop.0001_squashed_0003_note  [squashes 3]" in lines
    assert "      replaces shop.0001_initial, shop.0002_total, shop.0003_note" in lines
    assert "  shop.0005_fill ... (reports.0001_initial, shop.0004_code)  [leaf]" in lines
    assert "! c.0002_root_two  [CONFLICT: leaf]" in lines
    assert (
        "Conflict: app 'c' has 2 leaf migrations (0001_initial, 0002_root_two); run "
        "`python manage.py makemigrations --merge c`." in lines
    )


def test_json_follows_the_documented_shape(tmp_path: Path) -> None:
    write_tree(tmp_path, SQUASHED_PROJECT)
    result = run_cli("graph", "--format", "json", "--app", "shop", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["apps"]
    assert list(document["apps"]) == ["shop"]
    shop = document["apps"]["shop"]
    assert shop["path"] == "shop"
    assert shop["leaves"] == ["0005_fill"]
    assert [node["name"] for node in shop["nodes"]] == [
        "0001_squashed_0003_note",
        "0004_code",
        "0005_fill",
    ]
    squash = shop["nodes"][0]
    assert squash == {
        "name": "0001_squashed_0003_note",
        "path": "shop/migrations/0001_squashed_0003_note.py",
        "dependencies": [],
        "replaces": [["shop", "0001_initial"], ["shop", "0002_total"], ["shop", "0003_note"]],
        "squash": True,
    }
    assert shop["nodes"][2]["dependencies"] == [["reports", "0001_initial"], ["shop", "0004_code"]]


def test_json_lists_dependencies_outside_the_tree(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": (
                "from django.conf import settings\nfrom django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                "    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL), "
                '("contenttypes", "0002_remove_content_type_name")]\n'
                "    operations = []\n"
            )
        },
    )
    result = run_cli("graph", "--format", "json", cwd=tmp_path)
    node = json.loads(result.stdout)["apps"]["shop"]["nodes"][0]
    assert node["dependencies"] == [
        ["settings.AUTH_USER_MODEL", "__first__"],
        ["contenttypes", "0002_remove_content_type_name"],
    ]


def test_mermaid_is_a_flowchart_with_quoted_labels_and_highlighted_conflicts(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path, BRANCHED_PROJECT)
    result = run_cli("graph", "--format", "mermaid", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart TD"
    nodes = [line for line in lines if re.match(r"^    m\d+\[", line)]
    assert len(nodes) == len(BRANCHED_PROJECT)
    assert all(re.match(r'^    m\d+\["[^"]+"\]$', line) for line in nodes)
    assert sum(line.strip().startswith("subgraph") for line in lines) == sum(
        line.strip() == "end" for line in lines
    )
    edges = [line for line in lines if "-->" in line]
    assert all(re.match(r"^  m\d+ --> m\d+$", line) for line in edges)
    conflict = next(line for line in lines if line.endswith(" conflict"))
    ids = conflict.split()[1].split(",")
    labels = {re.match(r"^    (m\d+)\[\"([^\"]+)\"\]", n).group(1): n for n in nodes}  # type: ignore[union-attr]
    assert sorted(labels[i].split('"')[1] for i in ids) == ["0001_initial", "0002_root_two"]


def test_unknown_app_is_a_usage_error(tmp_path: Path) -> None:
    write_tree(tmp_path, BRANCHED_PROJECT)
    result = run_cli("graph", "--app", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown app 'nope'" in result.stderr


def test_no_migrations(tmp_path: Path) -> None:
    result = run_cli("graph", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == "(no migrations)\n"


@pytest.mark.parametrize("seed", [5, 6])
def test_order_matches_showmigrations_on_random_projects(tmp_path: Path, seed: int) -> None:
    write_tree(tmp_path, _random_project(seed))
    project = load(tmp_path)
    if project.graph.cycles:
        for path in list(tmp_path.rglob("*_squashed_*.py")):
            path.unlink()
        project = load(tmp_path)
    apps = ["", "a", "b", "c"]
    expected = run_django(tmp_path, f"APPS = {apps!r}\n" + SHOWMIGRATIONS)
    in_tree = {app.label for app in project.apps}
    for app in apps:
        assert _ours(render_text(project, app or None)) == _django(expected[app], in_tree), app
