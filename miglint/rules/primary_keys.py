"""MIG514: a table whose primary key is a 32-bit (or 16-bit) integer, which runs out and is
costly to widen once the table is large.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from miglint import sql as sqlmod
from miglint.core.finding import Finding, Severity
from miglint.graph.nodes import Migration, NodeKey
from miglint.project.load import Project
from miglint.rules.deploy_base import DEPENDS, DeployRule, example_migration, text_or_unknown
from miglint.rules.deploy_context import (
    Context,
    flag,
    is_django_field,
    model_label,
)
from miglint.source import syntax as s
from miglint.state.tablestate import Step, default_table, model_name, table_steps

if TYPE_CHECKING:
    pass


# Integer primary keys narrower than 64 bits on PostgreSQL and MySQL, with their last id.
_NARROW_KEYS = {
    "AutoField": (32, "2,147,483,647"),
    "IntegerField": (32, "2,147,483,647"),
    "PositiveIntegerField": (32, "2,147,483,647"),
    "SmallAutoField": (16, "32,767"),
    "SmallIntegerField": (16, "32,767"),
    "PositiveSmallIntegerField": (16, "32,767"),
}


@dataclass(frozen=True)
class _Key:
    """A model's primary key that is a narrow integer, and the operation that made it so."""

    step: Step
    model: str
    field: str
    kind: str
    table: str
    # Written by makemigrations from the project's default (auto_created=True), or implied.
    from_default: bool


class IntPrimaryKey(DeployRule):
    """A primary key stored as a 32-bit integer (AutoField, IntegerField, the default before
    Django 3.2) runs out at 2,147,483,647 ids; a 16-bit one (SmallAutoField) at 32,767. The
    next INSERT then fails and the table takes no more rows until the key is widened, which
    rewrites the table and every foreign key column that points to it: a long outage on a
    table that big. Ids are used up faster than rows are kept (deleted rows, rolled-back
    inserts, `bulk_create` with conflicts).

    Reported at the operation that gave the table its narrow key (its CreateModel, or an
    AddField/AlterField of the primary key), when no later migration of the app widens it
    (AlterField to BigAutoField, or a RunSQL that changes a column type of the table). A key
    from `auto_created=True` came from the project's default: `DEFAULT_AUTO_FIELD` in the
    settings, or the app's `AppConfig.default_auto_field`; the message says which when it is
    in the tree. A CreateModel without a primary key field is judged by a literal
    `DEFAULT_AUTO_FIELD`.

    What a user can do: for a new table, set `DEFAULT_AUTO_FIELD =
    "django.db.models.BigAutoField"` (or the AppConfig's `default_auto_field`, or an explicit
    `BigAutoField` on the model) and make the migration again. An old table is still at risk
    (this is why it stays info): plan the AlterField to BigAutoField while the table is small,
    or record it with `miglint baseline`. Reported on PostgreSQL and MySQL, and when the
    backend is unknown; not on SQLite (its integer keys are 64-bit) or Oracle (NUMBER(11)).
    Proxy and unmanaged models have no table of Django's and are skipped.
    """

    code = "MIG514"
    name = "int-primary-key"
    severity = Severity.INFO
    about_tables = False
    summary = "A table whose primary key is a 32-bit (or 16-bit) integer."
    fix = (
        'Use BigAutoField: set DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField" (or the '
        "AppConfig's default_auto_field) before the table is created; a table in use needs an "
        "AlterField to BigAutoField, which rewrites it (plan it while it is small)."
    )
    backends = frozenset({"postgresql", "mysql"})
    when_unknown = True
    _MODEL = """\
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.{key}(auto_created=True, primary_key=True, serialize=False)),
                ("number", models.CharField(max_length=32)),
            ],{options}
        ),
"""
    VALID = (
        example_migration(_MODEL.format(key="BigAutoField", options="")),
        {
            "shop/migrations/0001_initial.py": example_migration(
                _MODEL.format(key="AutoField", options=""), extra="    initial = True\n"
            ),
            "shop/migrations/0002_bigger_keys.py": example_migration(
                '        migrations.AlterField("order", "id", models.BigAutoField('
                "auto_created=True, primary_key=True, serialize=False)),\n",
                DEPENDS,
            ),
        },
        {
            "pyproject.toml": '[tool.miglint]\ndatabase = "sqlite"\n',
            "shop/migrations/0001_initial.py": example_migration(
                _MODEL.format(key="AutoField", options="")
            ),
        },
        example_migration(
            _MODEL.format(key="AutoField", options='\n            options={"managed": False},')
        ),
    )
    INVALID = (
        example_migration(_MODEL.format(key="AutoField", options="")),
        example_migration(
            """\
        migrations.CreateModel(
            name="Country",
            fields=[
                ("code", models.SmallIntegerField(primary_key=True, serialize=False)),
            ],
        ),
"""
        ),
        {
            "config/settings.py": "DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'\n",
            "shop/migrations/0001_initial.py": example_migration(
                '        migrations.CreateModel("Order", [("number", models.CharField(max_length=32))]),\n'
            ),
        },
    )

    def check(self, project: Project) -> Iterator[Finding]:
        context = Context.of(project)
        if context.database in ("sqlite", "oracle"):
            return
        by_migration: dict[NodeKey, list[Step]] = {}
        for step in table_steps(project):
            by_migration.setdefault(step.migration.key, []).append(step)
        defaults = {a.value for a in project.settings.default_auto_fields}
        default = defaults.pop() if len(defaults) == 1 else None
        for app in project.apps:
            keys: dict[str, _Key] = {}
            for key in project.graph.app_order(app.key):
                migration = project.graph.disk.get(key)
                if migration is None or not migration.readable:
                    keys.clear()
                    continue
                for step in by_migration.get(key, ()):
                    _follow_key(step, keys, default)
            for found in keys.values():
                yield self.key_finding(found, project)

    def key_finding(self, key: _Key, project: Project) -> Finding:
        bits, last = _NARROW_KEYS[key.kind]
        operation = key.step.operation
        what = (
            f"CreateModel {key.model}: its primary key {key.field} is"
            if operation.is_("CreateModel")
            else f"{operation.name} {key.model}.{key.field} makes the primary key"
        )
        source = ""
        if key.from_default:
            source = f" ({_default_source(key.step.migration, project)})"
        return self.at(
            key.step.migration,
            operation.span,
            f"{what} {'an' if key.kind[0] in 'AI' else 'a'} {key.kind}{source}, a {bits}-bit "
            f"integer: inserts into {key.table} fail once ids pass {last}, and widening it "
            "later rewrites the table",
        )


def _default_source(migration: Migration, project: Project) -> str:
    """Where the project's default primary key class comes from, as far as the tree says."""
    app = project.apps_by_key.get(migration.app_key)
    if app is not None and app.default_auto_field is not None:
        value, line = app.default_auto_field
        module = "__init__.py" if app.label_source == "__init__.py" else "apps.py"
        where = _shown(os.path.join(app.path, module))
        return f"the app's default_auto_field is {value.rpartition('.')[2]}, {where} line {line}"
    settings = project.settings.default_auto_fields
    if len({a.value for a in settings}) == 1:
        first = settings[0]
        return (
            f"DEFAULT_AUTO_FIELD is {first.value.rpartition('.')[2]} in "
            f"{_shown(first.settings_path)} line {first.line}"
        )
    return "from DEFAULT_AUTO_FIELD, AutoField unless the settings say otherwise"


def _shown(path: str) -> str:
    return os.path.relpath(path).replace(os.sep, "/")


def _pk_kind(call: s.Value) -> str | None:
    """The narrow integer class of a Django primary key field, else None."""
    if not isinstance(call, s.Call) or flag(call, "primary_key") is not True:
        return None
    if not is_django_field(call) or call.name not in _NARROW_KEYS:
        return None
    return call.name


def _follow_key(step: Step, keys: dict[str, _Key], default: str | None) -> None:
    """Keep `keys` (narrow primary keys by model) as the step leaves them."""
    operation = step.operation
    if operation.call is None:
        keys.clear()
        return
    if not operation.is_django:
        return
    if operation.is_("RunSQL"):
        for statement in step.sql_statements:
            for hazard in statement.statement.hazards:
                if hazard.kind == sqlmod.ALTER_TYPE and hazard.table:
                    table = sqlmod.bare_name(hazard.table)
                    for widened in [m for m, key in keys.items() if key.table == table]:
                        del keys[widened]
        return
    model = model_name(operation)
    if model is None:
        return
    lower = model.lower()
    name = operation.name
    if name == "CreateModel":
        keys.pop(lower, None)
        created = _created_key(step, model, default)
        if created is not None:
            keys[lower] = created
    elif name in ("DeleteModel",):
        keys.pop(lower, None)
    elif name == "RenameModel":
        moved = keys.pop(lower, None)
        new = text_or_unknown(operation.argument(1, "new_name"))
        if moved is not None:
            table = moved.table if step.table is None else step.table.name
            if step.table is not None and step.table.db_table is None:
                table = default_table(step.migration.app, new)
            keys[new.lower()] = _Key(
                moved.step, new, moved.field, moved.kind, table, moved.from_default
            )
    elif name in ("AddField", "AlterField"):
        field = text_or_unknown(operation.argument(1, "name"))
        value = operation.argument(2, "field")
        current = keys.get(lower)
        if isinstance(value, s.Call) and flag(value, "primary_key") is True:
            kind = _pk_kind(value)
            if kind is None:
                keys.pop(lower, None)
            elif current is None or current.field.lower() != field.lower():
                table = step.table.name if step.table else default_table(step.migration.app, model)
                from_default = flag(value, "auto_created") is True
                keys[lower] = _Key(step, model_label(step), field, kind, table, from_default)
        elif current is not None and current.field.lower() == field.lower():
            keys.pop(lower, None)
    elif name == "RemoveField":
        current = keys.get(lower)
        if (
            current is not None
            and current.field.lower() == text_or_unknown(operation.argument(1, "name")).lower()
        ):
            keys.pop(lower, None)
    elif name == "RenameField":
        current = keys.get(lower)
        old = text_or_unknown(operation.argument(1, "old_name"))
        if current is not None and current.field.lower() == old.lower():
            keys[lower] = _Key(
                current.step,
                current.model,
                text_or_unknown(operation.argument(2, "new_name")),
                current.kind,
                current.table,
                current.from_default,
            )


def _created_key(step: Step, model: str, default: str | None) -> _Key | None:
    """The narrow primary key a CreateModel gives its table, if it does."""
    operation = step.operation
    options = operation.argument(2, "options")
    proxy, managed = s.dict_item(options, "proxy"), s.dict_item(options, "managed")
    # A proxy or unmanaged model has no table of Django's (options not read: unknown).
    if proxy not in (False, None, s.MISSING) or managed not in (True, None, s.MISSING):
        return None
    table_name = s.dict_item(options, "db_table")
    table = (
        table_name if isinstance(table_name, str) else default_table(step.migration.app, model)
    ).lower()
    listed = operation.argument(1, "fields")
    if not isinstance(listed, s.Seq):
        return None
    for item in listed.items:
        if not isinstance(item, s.Seq) or len(item.items) != 2:
            return None
        field, value = item.items
        if isinstance(value, s.Call) and flag(value, "primary_key") is not False:
            kind = _pk_kind(value)
            if kind is None or not isinstance(field, str):
                return None
            return _Key(step, model, field, kind, table, flag(value, "auto_created") is True)
    # No primary key field: Django adds `id` of DEFAULT_AUTO_FIELD's class (multi-table
    # inheritance writes its parent link explicitly).
    bases = operation.argument(3, "bases")
    if bases is not s.MISSING or default is None:
        return None
    kind = default.rpartition(".")[2]
    if kind not in _NARROW_KEYS or not default.startswith("django.db.models."):
        return None
    return _Key(step, model, "id", kind, table, True)
