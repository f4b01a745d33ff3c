"""`miglint plan`: differential tests against Django's `MigrationExecutor.migration_plan`,
plus the reversibility and data-loss report of each step and the command's output."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from miglint.state.plan import PlanError, make_plan
from tests.django_oracle import run_django
from tests.helpers import load, run_cli, write_tree

HEADER = "from django.db import migrations, models\n\n\n"


def _migration(
    dependencies: str = "",
    operations: str = "",
    functions: str = "",
    extra: str = "",
) -> str:
    return (
        HEADER
        + functions
        + "class Migration(migrations.Migration):\n"
        + extra
        + f"    dependencies = [{dependencies}]\n"
        + f"    operations = [\n{operations}\n    ]\n"
    )


def _model(name: str) -> str:
    return (
        f'        migrations.CreateModel("{name}", [("id", models.AutoField(primary_key=True))]),'
    )


def _field(model: str, name: str) -> str:
    return f'        migrations.AddField("{model}", "{name}", models.IntegerField(default=0)),'


FILL = "def fill(apps, schema_editor):\n    pass\n\n\n"

# Three apps with cross-app dependencies, a squash whose replaced files are still on disk
# (and that another app depends on by a replaced name), an irreversible RunPython and a
# run_before.
SQUASHED_PROJECT = {
    "shop/migrations/0001_initial.py": _migration(
        operations=_model("Order"), extra="    initial = True\n"
    ),
    "shop/migrations/0002_total.py": _migration(
        '("shop", "0001_initial")', _field("order", "total")
    ),
    "shop/migrations/0003_note.py": _migration(
        '("shop", "0002_total")',
        _field("order", "note")
        + "\n        migrations.RunPython(fill, migrations.RunPython.noop),",
        FILL,
    ),
    "shop/migrations/0001_squashed_0003_note.py": _migration(
        operations=(
            '        migrations.CreateModel("Order", [("id", models.AutoField(primary_key=True)), '
            '("total", models.IntegerField(default=0)), ("note", models.IntegerField(default=0))]),'
        ),
        extra=(
            "    initial = True\n"
            '    replaces = [("shop", "0001_initial"), ("shop", "0002_total"), ("shop", "0003_note")]\n'
        ),
    ),
    "shop/migrations/0004_code.py": _migration('("shop", "0003_note")', _field("order", "code")),
    "shop/migrations/0005_fill.py": _migration(
        '("shop", "0004_code")', "        migrations.RunPython(fill),", FILL
    ),
    "billing/migrations/0001_initial.py": _migration('("shop", "0002_total")', _model("Invoice")),
    "billing/migrations/0002_amount.py": _migration(
        '("billing", "0001_initial"), ("shop", "0004_code")', _field("invoice", "amount")
    ),
    "reports/migrations/0001_initial.py": _migration(
        '("billing", "0002_amount")',
        _model("Report"),
        extra='    run_before = [("shop", "0005_fill")]\n',
    ),
}
SQUASHED_CASES = [
    ("shop", "zero"),
    ("shop", "0001_i"),
    ("shop", "0001_s"),
    ("shop", "0002"),
    ("shop", "0003"),
    ("shop", "0004"),
    ("shop", "0005"),
    ("shop", "0001"),
    ("shop", "0009"),
    ("billing", "zero"),
    ("billing", "0001"),
    ("billing", "0002"),
    ("reports", "zero"),
    ("reports", "0001_initial"),
]

# Two branches merged, a dependency on __first__, a second root and RunSQL steps.
BRANCHED_PROJECT = {
    "a/migrations/0001_initial.py": _migration(operations=_model("Thing")),
    "a/migrations/0002_left.py": _migration('("a", "0001_initial")', _field("thing", "left")),
    "a/migrations/0002_right.py": _migration(
        '("a", "0001_initial")',
        '        migrations.RunSQL("UPDATE a_thing SET id = id"),',
    ),
    "a/migrations/0003_merge.py": _migration('("a", "0002_left"), ("a", "0002_right")'),
    "a/migrations/0004_more.py": _migration('("a", "0003_merge")', _field("thing", "more")),
    "b/migrations/0001_initial.py": _migration('("a", "__first__")', _model("Other")),
    "b/migrations/0002_after_left.py": _migration(
        '("b", "0001_initial"), ("a", "0002_left")',
        '        migrations.RunSQL("SELECT 1", "SELECT 1"),',
    ),
    "c/migrations/0001_initial.py": _migration('("b", "0002_after_left")', _model("Third")),
    "c/migrations/0002_root_two.py": _migration(operations=_model("Fourth")),
}
BRANCHED_CASES = [
    ("a", "zero"),
    ("a", "0001"),
    ("a", "0002_l"),
    ("a", "0002_r"),
    ("a", "0002"),
    ("a", "0003"),
    ("a", "0004"),
    ("b", "zero"),
    ("b", "0001"),
    ("c", "zero"),
    ("c", "0001"),
    ("c", "0002"),
]

ORACLE = """
from django.db import connection
from django.db.migrations.exceptions import AmbiguityError
from django.db.migrations.executor import MigrationExecutor

# Apply everything (as `migrate` does, minus its refusal of conflicting leaves).
applier = MigrationExecutor(connection)
applier.migrate(applier.loader.graph.leaf_nodes())
results = []
for app, name in CASES:
    executor = MigrationExecutor(connection)
    loader = executor.loader
    if name == "zero":
        targets = [(app, None)]
    else:
        try:
            migration = loader.get_migration_by_prefix(app, name)
        except AmbiguityError:
            results.append({"error": "ambiguous"})
            continue
        except KeyError:
            results.append({"error": "missing"})
            continue
        target = (app, migration.name)
        if target not in loader.graph.nodes and target in loader.replacements:
            target = loader.replacements[target].replaces[-1]
        targets = [target]
    plan = executor.migration_plan(targets)
    results.append({
        "steps": [[m.app_label, m.name, backwards] for m, backwards in plan],
        "reversible": [all(op.reversible for op in m.operations) for m, _ in plan],
    })
print(json.dumps(results))
"""


def _django_plans(root: Path, cases: list[tuple[str, str]]) -> list[dict[str, Any]]:
    script = f"CASES = {cases!r}\n" + ORACLE
    result: list[dict[str, Any]] = run_django(root, script)
    return result


def _miglint_plan(root: Path, app: str, target: str) -> dict[str, Any]:
    try:
        plan = make_plan(load(root), app, target)
    except PlanError as error:
        text = str(error)
        return {"error": "ambiguous" if "more than one" in text else "missing"}
    return {
        "steps": [[step.migration.app, step.migration.name, True] for step in plan.steps],
        "reversible": [step.reversible for step in plan.steps],
    }


@pytest.mark.parametrize(
    ("files", "cases"),
    [
        pytest.param(SQUASHED_PROJECT, SQUASHED_CASES, id="squash-and-cross-app"),
        pytest.param(BRANCHED_PROJECT, BRANCHED_CASES, id="branches-and-roots"),
    ],
)
def test_plan_matches_django_executor(
    tmp_path: Path, files: dict[str, str], cases: list[tuple[str, str]]
) -> None:
    write_tree(tmp_path, files)
    expected = _django_plans(tmp_path, cases)
    actual = [_miglint_plan(tmp_path, app, target) for app, target in cases]
    for case, mine, django in zip(cases, actual, expected, strict=True):
        assert mine == django, case


def test_rollback_past_an_irreversible_step_fails(tmp_path: Path) -> None:
    write_tree(tmp_path, SQUASHED_PROJECT)
    result = run_cli("plan", "shop", "0004", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert "shop.0005_fill  IRREVERSIBLE" in result.stdout
    assert "RunPython(fill) has no reverse_code" in result.stdout
    assert "stops with IrreversibleError at shop.0005_fill" in result.stdout


def test_json_output_lists_steps_with_what_they_destroy(tmp_path: Path) -> None:
    write_tree(tmp_path, BRANCHED_PROJECT)
    result = run_cli("plan", "a", "0003", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document == {
        "app": "a",
        "target": "0003_merge",
        "direction": "backwards",
        "steps": [
            {
                "app": "a",
                "migration": "0004_more",
                "path": "a/migrations/0004_more.py",
                "reversible": True,
                "reasons": [],
                "destroys": ["column a.thing.more"],
            }
        ],
    }


def test_leaf_target_is_an_empty_forwards_plan(tmp_path: Path) -> None:
    write_tree(tmp_path, BRANCHED_PROJECT)
    result = run_cli("plan", "a", "0004_more", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout)["direction"] == "forwards"
    assert json.loads(result.stdout)["steps"] == []
    text = run_cli("plan", "a", "0004_more", cwd=tmp_path)
    assert "nothing to unapply" in text.stdout


@pytest.mark.parametrize(
    ("app", "target", "message"),
    [
        ("nope", "zero", "unknown app 'nope'"),
        ("a", "0009", "cannot find a migration matching '0009'"),
        ("a", "0002", "more than one migration matches '0002'"),
    ],
)
def test_unknown_app_or_target_is_a_usage_error(
    tmp_path: Path, app: str, target: str, message: str
) -> None:
    write_tree(tmp_path, BRANCHED_PROJECT)
    result = run_cli("plan", app, target, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def _step(tmp_path: Path, files: dict[str, str], app: str, target: str) -> Any:
    write_tree(tmp_path, files)
    plan = make_plan(load(tmp_path), app, target)
    return plan.steps[0]


def test_what_each_rollback_destroys(tmp_path: Path) -> None:
    operations = "\n".join(
        [
            _field("order", "total"),
            '        migrations.AddField("order", "tags", models.ManyToManyField("shop.Tag")),',
            _model("Refund"),
            '        migrations.CreateModel("Old", [], options={"proxy": True}, bases=("shop.order",)),',
            '        migrations.RunSQL("CREATE TABLE t (id int)", "DROP TABLE t"),',
            '        migrations.RemoveField("order", "legacy"),',
            "        migrations.RunPython(fill, unfill),",
        ]
    )
    functions = (
        FILL + "def unfill(apps, schema_editor):\n"
        '    apps.get_model("shop", "Refund").objects.all().delete()\n\n\n'
    )
    step = _step(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": _migration(operations=_model("Order")),
            "shop/migrations/0002_more.py": _migration(
                '("shop", "0001_initial")', operations, functions
            ),
        },
        "shop",
        "0001",
    )
    assert step.reversible
    assert step.destroys == (
        "column shop.order.total",
        "table of many-to-many field shop.order.tags",
        "table shop.Refund",
        "drop table t (reverse_sql)",
        "rows deleted by unfill()",
    )
    assert step.reasons == (
        "rolling back RemoveField re-creates column shop.order.legacy empty: its data is not "
        "restored",
    )


@pytest.mark.parametrize(
    ("operation", "reversible"),
    [
        ("migrations.RunPython(fill)", False),
        ("migrations.RunPython(fill, None)", False),
        ("migrations.RunPython(code=fill, reverse_code=None)", False),
        ("migrations.RunPython(fill, migrations.RunPython.noop)", True),
        ("migrations.RunPython(fill, reverse_code=lambda apps, editor: None)", True),
        ('migrations.RunSQL("UPDATE x SET y = 1")', False),
        ('migrations.RunSQL("UPDATE x SET y = 1", reverse_sql="")', True),
        ('migrations.RunSQL("UPDATE x SET y = 1", migrations.RunSQL.noop)', True),
        ('migrations.RemoveField("order", "total")', True),
        ('migrations.DeleteModel("Order")', True),
        (
            "migrations.SeparateDatabaseAndState(database_operations=["
            "migrations.RunPython(fill)], state_operations=[])",
            False,
        ),
        (
            "migrations.SeparateDatabaseAndState(state_operations=[migrations.RunPython(fill)])",
            True,
        ),
    ],
)
def test_reversible_follows_django(tmp_path: Path, operation: str, reversible: bool) -> None:
    step = _step(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": _migration(operations=_model("Order")),
            "shop/migrations/0002_change.py": _migration(
                '("shop", "0001_initial")', f"        {operation},", FILL
            ),
        },
        "shop",
        "0001",
    )
    assert step.reversible is reversible
    assert (
        bool(step.reasons) is not reversible or "RemoveField" in operation or "Delete" in operation
    )


def _random_project(seed: int) -> dict[str, str]:
    """Three apps grown at random: branches, merges, cross-app dependencies, irreversible
    steps and (when it makes no cycle) a squash of the first migrations of app `a`."""
    rng = random.Random(seed)
    apps = ("a", "b", "c")
    names: dict[str, list[str]] = {app: [] for app in apps}
    parents: dict[tuple[str, str], list[tuple[str, str]]] = {}
    order: list[tuple[str, str]] = []
    for step in range(rng.randint(12, 18)):
        app = rng.choice(apps)
        own = names[app]
        name = f"{len(own) + 1:04d}_m{step}"
        deps: list[tuple[str, str]] = []
        if own:
            leaves = [n for n in own if not any((app, n) in parents[(app, m)] for m in own)]
            if len(leaves) > 1 and rng.random() < 0.5:
                deps += [(app, leaf) for leaf in leaves]
            else:
                deps.append((app, own[-1] if rng.random() < 0.75 else rng.choice(own)))
        others = [key for key in order if key[0] != app]
        if others and rng.random() < 0.4:
            deps.append(rng.choice(others))
        own.append(name)
        parents[(app, name)] = deps
        order.append((app, name))
    files = {}
    for app, name in order:
        deps = ", ".join(f"({a!r}, {n!r})" for a, n in parents[(app, name)])
        operation = "        migrations.RunPython(migrations.RunPython.noop),"
        files[f"{app}/migrations/{name}.py"] = _migration(
            deps, operation if rng.random() < 0.2 else ""
        )
    replaced = [("a", n) for n in names["a"][: rng.randint(2, 4)]]
    if len(replaced) >= 2:
        outside = sorted({d for key in replaced for d in parents[key] if d not in replaced})
        squash = dict(files)
        squash[f"a/migrations/0001_squashed_{replaced[-1][1]}.py"] = _migration(
            ", ".join(f"({a!r}, {n!r})" for a, n in outside),
            extra=f"    replaces = {replaced!r}\n",
        )
        return squash
    return files


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_plan_matches_django_executor_on_random_projects(tmp_path: Path, seed: int) -> None:
    files = _random_project(seed)
    write_tree(tmp_path, files)
    project = load(tmp_path)
    if project.graph.cycles:
        # The squash closed a loop through another app: Django refuses such a project.
        files = {path: text for path, text in files.items() if "_squashed_" not in path}
        for path in list(tmp_path.rglob("*_squashed_*.py")):
            path.unlink()
        project = load(tmp_path)
    assert not project.graph.cycles and not project.graph.missing
    cases = [(key[0], key[1]) for key in sorted(project.graph.disk)]
    cases += [(app, "zero") for app in ("a", "b", "c") if any(k[0] == app for k in cases)]
    expected = _django_plans(tmp_path, cases)
    for case, django in zip(cases, expected, strict=True):
        assert _miglint_plan(tmp_path, *case) == django, case
