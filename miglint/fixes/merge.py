"""MIG001's fix: the merge migration `python manage.py makemigrations --merge` writes.

Django (5.2) numbers it after the highest leaf, names it `NNNN_merge_<leaf>_<leaf>` (the
sorted leaf names; `NNNN_merge_<timestamp>` when they are longer than 47 characters),
makes it depend on every leaf and gives it no operations; it refuses when the leaves share
no ancestor. The file is written as its MigrationWriter writes it, without the header
comment (`--no-header`), which carries a timestamp and the version of Django.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Sequence
from itertools import takewhile

from miglint.core import inputs
from miglint.core.finding import SAFE, UNSAFE, Edit
from miglint.fixes.source import FixSource
from miglint.graph.nodes import Migration, NodeKey
from miglint.source.facts import Operation

TEMPLATE = """\
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
{dependencies}\
    ]

    operations = [
    ]
"""

# Operations and the arguments that name the model they change.
_MODEL_ARGUMENTS = {
    "CreateModel": ((0, "name"),),
    "DeleteModel": ((0, "name"),),
    "RenameModel": ((0, "old_name"), (1, "new_name")),
    "AlterModelTable": ((0, "name"),),
    "AlterModelTableComment": ((0, "name"),),
    "AlterModelOptions": ((0, "name"),),
    "AlterModelManagers": ((0, "name"),),
    "AlterUniqueTogether": ((0, "name"),),
    "AlterIndexTogether": ((0, "name"),),
    "AlterOrderWithRespectTo": ((0, "name"),),
    "AddField": ((0, "model_name"),),
    "RemoveField": ((0, "model_name"),),
    "AlterField": ((0, "model_name"),),
    "RenameField": ((0, "model_name"),),
    "AddIndex": ((0, "model_name"),),
    "RemoveIndex": ((0, "model_name"),),
    "RenameIndex": ((0, "model_name"),),
    "AddConstraint": ((0, "model_name"),),
    "RemoveConstraint": ((0, "model_name"),),
    "AlterConstraint": ((0, "model_name"),),
}


def parse_number(name: str) -> int | None:
    """The number of a migration name, as Django's autodetector reads it (for a squash,
    `0001_squashed_0004_x`, the number it was squashed up to)."""
    squashed = re.search(r".*_squashed_(\d+)", name)
    if squashed:
        return int(squashed.group(1))
    match = re.match(r"^\d+", name)
    return int(match.group()) if match else None


def merge_name(leaves: Sequence[str], now: datetime.datetime | None = None) -> str:
    numbers = [number for number in map(parse_number, leaves) if number is not None]
    biggest = max(numbers) if numbers else 1
    joined = "_".join(sorted(leaves))
    if len(joined) > 47:
        joined = (now or inputs.now()).strftime("%Y%m%d_%H%M")
    return f"{biggest + 1:04d}_merge_{joined}"


def merge_text(label: str, leaves: Sequence[str]) -> str:
    lines = sorted(f"        ({label!r}, {name!r}),\n" for name in leaves)
    return TEMPLATE.format(dependencies="".join(lines))


def merge_migration(source: FixSource, app_key: str) -> Edit | None:
    """The new merge migration of the app's leaves. Safe when the branches change different
    models (the order they run in does not matter); unsafe when they change the same model
    or miglint cannot tell what an operation touches (RunPython, RunSQL, a custom one)."""
    project = source.project
    graph = project.graph
    app = project.apps_by_key.get(app_key)
    leaves = graph.leaf_nodes(app_key)
    if app is None or len(leaves) < 2:
        return None
    ancestries = [
        [key for key in graph.forwards_plan(leaf) if key[0] == app_key] for leaf in leaves
    ]
    common = sum(
        1 for _ in takewhile(lambda keys: len(set(keys)) == 1, zip(*ancestries, strict=False))
    )
    if not common:
        # Django: "Could not find common ancestor".
        return None
    label = graph.nodes[leaves[0]].app
    names = [key[1] for key in leaves]
    name = merge_name(names)
    path = os.path.join(app.migrations_path, f"{name}.py")
    if inputs.lexists(path) or any(m.path == path for m in project.migrations):
        return None
    branches = [_models(graph.nodes, ancestry[common:]) for ancestry in ancestries]
    safe = all(branch is not None for branch in branches) and _disjoint(
        [branch for branch in branches if branch is not None]
    )
    message = f"Add the merge migration {name} (what `makemigrations --merge` writes)"
    if not safe:
        message += "; the branches change the same models (or miglint cannot tell): check the order"
    return source.new_file(path, merge_text(label, names), SAFE if safe else UNSAFE, message)


def _models(nodes: dict[NodeKey, Migration], branch: Sequence[NodeKey]) -> set[str] | None:
    """The models the migrations of a branch change, lower-cased; None when not known."""
    found: set[str] = set()
    for key in branch:
        migration = nodes.get(key)
        if migration is None or not migration.readable or migration.facts.uncertain("operations"):
            return None
        for operation in migration.facts.operations:
            models = _operation_models(operation)
            if models is None:
                return None
            found |= models
    return found


def _operation_models(operation: Operation) -> set[str] | None:
    if operation.is_("SeparateDatabaseAndState"):
        found: set[str] = set()
        for inner in (*operation.database_operations, *operation.state_operations):
            models = _operation_models(inner)
            if models is None:
                return None
            found |= models
        return found
    arguments = _MODEL_ARGUMENTS.get(operation.name)
    if arguments is None or not operation.is_django or operation.call is None:
        return None
    models = set()
    for position, keyword in arguments:
        value = operation.argument(position, keyword)
        if not isinstance(value, str):
            return None
        models.add(value.lower())
    return models


def _disjoint(sets: Sequence[set[str]]) -> bool:
    seen: set[str] = set()
    for models in sets:
        if models & seen:
            return False
        seen |= models
    return True
