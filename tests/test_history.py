"""`miglint.state.history` agrees with Django's own model state about what a field was before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from miglint.source import syntax as s
from miglint.state.history import app_history
from tests.django_oracle import run_django
from tests.helpers import load, migration, write_tree

ORACLE = """
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import SeparateDatabaseAndState
loader = MigrationLoader(None, ignore_no_migrations=True)
report = {}

def walk(app, name, operations, prefix, state):
    for index, operation in enumerate(operations):
        path = prefix + [index]
        if isinstance(operation, SeparateDatabaseAndState):
            walk(app, name, operation.database_operations, path, state.clone())
            for inner in operation.state_operations:
                inner.state_forwards(app, state)
            continue
        if type(operation).__name__ in ("AlterField", "RemoveField"):
            model = state.models.get((app, operation.model_name_lower))
            field = model.fields.get(operation.name) if model else None
            if field is not None:
                path_, args, kwargs = field.deconstruct()[1:]
                kwargs = {k: v for k, v in kwargs.items() if k in ("max_length", "null")}
                report[f"{name}:{path}"] = [path_.rpartition(".")[2], kwargs]
            else:
                report[f"{name}:{path}"] = None
        operation.state_forwards(app, state)

for key, node in sorted(loader.graph.nodes.items()):
    if key[0] == "shop":
        walk("shop", key[1], node.operations, [], loader.project_state(key, at_end=False))
print(json.dumps(report))
"""


def ours(root: Path) -> dict[str, Any]:
    project = load(root)
    report: dict[str, Any] = {}
    for (key, path), before in app_history(project, "shop").items():
        name = f"{key[1]}:{list(path)}"
        if before.field is None:
            # Unknown to miglint: only acceptable where Django knows nothing either.
            report[name] = None
            continue
        kwargs = {
            k: s.literal(before.field.call.kwarg(k))
            for k in ("max_length", "null")
            if before.field.call.kwarg(k) is not s.MISSING
        }
        # Django leaves defaults out of deconstruct().
        if kwargs.get("null") is False:
            del kwargs["null"]
        report[name] = [before.field.class_name, kwargs]
    return report


def test_previous_definitions_agree_with_django(tmp_path: Path) -> None:
    files = {
        "shop/migrations/0001_initial.py": migration(
            operations="""\
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=200)),
                ("code", models.CharField(max_length=20, null=True)),
                ("notes", models.TextField(blank=True)),
            ],
        ),
        migrations.CreateModel(
            name="Tag",
            fields=[("id", models.AutoField(primary_key=True, serialize=False))],
        ),"""
        ),
        "shop/migrations/0002_changes.py": migration(
            dependencies='("shop", "0001_initial")',
            operations="""\
        migrations.AlterField("product", "name", models.CharField(max_length=100)),
        migrations.AddField("tag", "label", models.CharField(max_length=30, default="")),
        migrations.RenameField("product", "code", "sku"),
        migrations.AlterField("product", "sku", models.CharField(max_length=20)),
        migrations.RenameModel("Product", "Item"),
        migrations.AlterField("Item", "notes", models.CharField(max_length=500)),""",
        ),
        "shop/migrations/0003_separate.py": migration(
            dependencies='("shop", "0002_changes")',
            operations="""\
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField("item", "name", models.CharField(max_length=10)),
            ],
            database_operations=[
                migrations.AlterField("item", "name", models.CharField(max_length=50)),
                migrations.AlterField("item", "name", models.CharField(max_length=60)),
            ],
        ),
        migrations.AlterField("item", "name", models.TextField()),
        migrations.RemoveField("tag", "label"),
        migrations.AlterField("item", "name", models.CharField(max_length=5)),""",
        ),
    }
    write_tree(tmp_path, files)
    django = run_django(tmp_path, ORACLE, apps=["shop"])
    mine = ours(tmp_path)
    assert mine == django
    # Every AlterField and RemoveField that runs SQL was checked, and all were known.
    assert len(mine) == 8 and None not in mine.values()


def test_a_long_chain_gets_every_answer(tmp_path: Path) -> None:
    """A long chain gets an answer for every AlterField (the walk is linear, not per node)."""
    files = {
        "shop/migrations/0001_initial.py": migration(
            operations=(
                '        migrations.CreateModel("Product", '
                '[("name", models.CharField(max_length=1))]),'
            )
        )
    }
    previous = "0001_initial"
    for number in range(2, 2001):
        name = f"{number:04d}_step"
        files[f"shop/migrations/{name}.py"] = migration(
            dependencies=f'("shop", "{previous}")',
            operations=(
                f'        migrations.AlterField("product", "name", '
                f"models.CharField(max_length={number})),"
            ),
        )
        previous = name
    write_tree(tmp_path, files)
    history = app_history(load(tmp_path), "shop")
    assert len(history) == 1999
    last = history[(("shop", "2000_step"), (0,))]
    assert last.field is not None and last.field.call.kwarg("max_length") == 1999


def test_data_step_since_nullable_in_the_history(tmp_path: Path) -> None:
    """The flag MIG103 reads: a data step ran after the field last became nullable."""
    add = '        migrations.AddField("product", "sku", models.CharField(null=True)),'
    fill = "        migrations.RunPython(fill, migrations.RunPython.noop),"
    alter = '        migrations.AlterField("product", "sku", models.CharField()),'
    steps = {
        "0001_initial": '        migrations.CreateModel("Product", [("id", models.AutoField())]),',
        "0002_add": add,
        "0003_alter_unfilled": alter,
        "0004_nullable_again": '        migrations.AlterField("product", "sku", models.CharField(null=True)),',
        "0005_fill": fill,
        "0006_alter_filled": alter,
    }
    files = {}
    previous = ""
    for name, operations in steps.items():
        files[f"shop/migrations/{name}.py"] = migration(
            dependencies=f'("shop", "{previous}")' if previous else "", operations=operations
        )
        previous = name
    write_tree(tmp_path, files)
    history = app_history(load(tmp_path), "shop")
    flags = {key[0][1]: before.data_step_since_nullable for key, before in history.items()}
    assert flags == {
        "0003_alter_unfilled": False,
        "0004_nullable_again": False,
        "0006_alter_filled": True,
    }
