"""Rules about operations that destroy data: dropped columns (MIG101) and tables (MIG102).

Narrowed columns (MIG103) are in `lossy_alter`; both read what each operation saw before it
ran from the app's field history, through `with_history` here.
"""

from __future__ import annotations

from collections.abc import Iterator

from miglint.core.finding import Finding, Severity
from miglint.graph.nodes import Migration, NodeKey
from miglint.project.load import Project
from miglint.rules.base import Rule
from miglint.rules.deploy_context import Context, column_name, required_column
from miglint.source import syntax as s
from miglint.source.facts import Operation
from miglint.state.history import (
    Before,
    FieldDefinition,
    OperationPath,
    database_operations,
    deleted_after,
    dropped_later,
    field_history,
    migrations_by_app,
    relation_target,
)


def with_history(
    project: Project, *names: str
) -> Iterator[tuple[Migration, OperationPath, Operation, Before | None]]:
    """Each of Django's operations `names` that runs SQL, with what it saw before it ran;
    not those on a model that the same migration then deletes (MIG102 reports that)."""
    for app_key, migrations in migrations_by_app(project).items():
        found: list[tuple[Migration, OperationPath, Operation]] = []
        for migration in migrations:
            operations = migration.facts.operations
            matching = [
                (path, operation)
                for path, operation in database_operations(operations)
                if operation.is_(*names)
            ]
            if matching:
                dropped = dropped_later(operations)
                found.extend(
                    (migration, path, operation)
                    for path, operation in matching
                    if operation.span not in dropped
                )
        if not found:
            continue
        # The history is only needed (and only computed) for apps with such operations.
        history = field_history(project, app_key)
        for migration, path, operation in found:
            yield migration, path, operation, history.get((migration.key, path))


def _without_table(before: Before | None) -> bool:
    """The history says the model is proxy or unmanaged: Django runs no SQL for it."""
    return before is not None and before.model is not None and not before.model.has_table


def table_is_new(context: Context, migration: Migration, before: Before | None) -> bool:
    """The model's table was created in this migration or in the change under review: it
    holds no rows yet, so nothing is lost."""
    model = before.model if before is not None else None
    return model is not None and context.created_in_change(migration, model.created_in)


def name_or_unknown(value: s.Value | s.Missing) -> str:
    return value if isinstance(value, str) else "?"


def model_label(operation: Operation, before: Before | None, position_name: str) -> str:
    """The model as its CreateModel spelled it (`Product`), else as the operation does."""
    if before is not None and before.model is not None:
        return before.model.name
    return name_or_unknown(operation.argument(0, position_name))


_SEPARATE_STATE = (
    "migrations.SeparateDatabaseAndState(\n"
    "            state_operations=[{operation}],\n"
    "            database_operations=[],\n"
    "        ),"
)


class RemoveField(Rule):
    """`RemoveField` drops the field's column (for a many-to-many field, its link table) and
    every value in it. Rolling the migration back re-creates the column, but empty: the data
    is gone unless it is restored from a backup.

    It also breaks the deploy: until the new code is live everywhere, the old code still
    selects and inserts the column and fails once it is dropped. The safe recipe takes two
    releases: first stop using the field in code and deploy; then drop it in a later
    migration, once you are sure the data is no longer needed. Django's
    `SeparateDatabaseAndState` lets you take the field out of the model state first and drop
    the column later (a `RunSQL("ALTER TABLE ... DROP COLUMN ...")` in a later migration,
    which MIG104 then leaves alone).

    A column that is NOT NULL with no database default hurts in the other direction too:
    Django leaves a field it no longer knows out of every INSERT, so the release without the
    field cannot insert rows while the column exists. The message says so, and the first
    release must make the field nullable. (This is MIG509's hazard; MIG101 reports it, in
    one finding per RemoveField.)

    Only operations that run SQL on a table with rows count: a RemoveField in
    `SeparateDatabaseAndState`'s `state_operations` drops nothing, and neither does removing
    a field of a proxy or unmanaged model, a many-to-many field with its own `through`
    model, a field the same migration added, or a field of a table created in the same
    migration (or in the change under review). A RemoveField on a model that the same migration then deletes is left to
    MIG102, and so is the removal of a relation to such a model (makemigrations removes the
    links to a model before deleting it): the links go with the rows they point to.
    """

    code = "MIG101"
    name = "remove-field"
    severity = Severity.ERROR
    summary = "RemoveField drops a column and all of its data."
    fix = (
        "Stop using the field in code and deploy first; drop it in a later release (or take it "
        "out of the model state first with SeparateDatabaseAndState)."
    )
    fix_not_null = (
        "Make the field nullable (null=True) and stop using it in one release; remove it in "
        "the next."
    )
    VALID = (
        """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0004_make_legacy_code_nullable")]

    operations = [
        # legacy_code is nullable since 0004; the column stays in the database until a
        # later release drops it.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="product", name="legacy_code"),
            ],
        ),
    ]
""",
        {
            "shop/migrations/0001_initial.py": """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            name="LegacyProduct",
            fields=[("id", models.IntegerField(primary_key=True)), ("code", models.TextField())],
            options={"managed": False, "db_table": "erp_products"},
        ),
    ]
""",
            "shop/migrations/0002_remove_legacyproduct_code.py": """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    # An unmanaged model: Django runs no SQL for it.
    operations = [migrations.RemoveField(model_name="legacyproduct", name="code")]
""",
        },
        """\
from django.db import migrations, models


class Migration(migrations.Migration):
    operations = [
        migrations.AddField(
            model_name="product",
            name="sku",
            field=models.CharField(max_length=32, null=True),
        ),
    ]
""",
    )
    INVALID = (
        """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0003_product_sku")]

    operations = [
        migrations.RemoveField(
            model_name="product",
            name="legacy_code",
        ),
    ]
""",
        """\
from django.db.migrations import Migration as BaseMigration, RemoveField


class Migration(BaseMigration):
    operations = [RemoveField("product", "legacy_code")]
""",
        """\
from django.db import migrations


class Migration(migrations.Migration):
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RemoveField(model_name="product", name="legacy_code"),
            ],
            state_operations=[],
        ),
    ]
""",
        """\
from django.db import migrations

CLEANUP = [migrations.RemoveField(model_name="product", name="legacy_code")]


class Migration(migrations.Migration):
    operations = [migrations.AlterModelOptions(name="product", options={})] + CLEANUP
""",
    )

    def check(self, project: Project) -> Iterator[Finding]:
        context = Context.of(project)
        deleted: dict[NodeKey, dict[OperationPath, frozenset[str]]] = {}
        for migration, path, operation, before in with_history(project, "RemoveField"):
            if _without_table(before) or table_is_new(context, migration, before):
                continue
            if before is not None and before.field_added_in == migration.key:
                # Added by this very migration: it holds no released data.
                continue
            definition = before.field if before is not None else None
            if definition is not None and _no_column(definition):
                continue
            if definition is not None:
                if migration.key not in deleted:
                    deleted[migration.key] = deleted_after(migration.facts.operations)
                target = relation_target(definition.call, migration.app)
                if target in {(migration.app, m) for m in deleted[migration.key].get(path, ())}:
                    # Links to rows that the DeleteModel drops: that finding says it all.
                    continue
            model = model_label(operation, before, "model_name")
            name = f"{migration.app}.{model}.{name_or_unknown(operation.argument(1, 'name'))}"
            if definition is None:
                # Not known from the history: a column, or a many-to-many field's link table.
                what = f"drops the data of {name} (its column or link table)"
            elif definition.class_name == "ManyToManyField":
                what = f"drops the link table of the many-to-many field {name} and every link in it"
            else:
                what = f"drops the column of {name} and every value in it"
            message = f"RemoveField {what}; rolling back re-creates it empty"
            fix = None
            field_name = name_or_unknown(operation.argument(1, "name"))
            if (
                definition is not None
                and required_column(definition.call, definition.is_django)
                and not _sql_default(context, migration, before, field_name, definition)
            ):
                # MIG509's hazard, reported here: one finding per RemoveField.
                message += (
                    ". The column is NOT NULL with no database default: while releases "
                    "overlap, inserts by the release without the field fail"
                )
                fix = self.fix_not_null
            yield self.at(migration, operation.span, message, fix=fix)


def _sql_default(
    context: Context,
    migration: Migration,
    before: Before | None,
    field_name: str,
    definition: FieldDefinition,
) -> bool:
    """A RunSQL gave the column a database default (`ALTER COLUMN ... SET DEFAULT`)."""
    model = before.model if before is not None else None
    column = column_name(field_name, definition.call)
    if model is None or column is None:
        return False
    return (model.table(migration.app), column.lower()) in context.columns_with_sql_default


def _no_column(definition: FieldDefinition) -> bool:
    """A field whose removal drops no stored data: an explicit `through` M2M, a computed one."""
    if not definition.is_django:
        return False
    if definition.class_name == "ManyToManyField":
        return definition.call.kwarg("through") is not s.MISSING
    return definition.class_name == "GeneratedField"


class DeleteModel(Rule):
    """`DeleteModel` drops the model's table with every row in it (and its many-to-many
    link tables). Rolling back re-creates the table, but empty: the rows are gone unless
    they are restored from a backup.

    Old code that is still running during the deploy also fails as soon as the table is
    gone. Delete a model in two releases: first remove every use of it from the code and
    deploy; then delete it in a later migration, once the data is backed up or truly no
    longer needed. `SeparateDatabaseAndState` can take the model out of the state first
    and leave the table for later.

    Only operations that run SQL count: a DeleteModel in `SeparateDatabaseAndState`'s
    `state_operations` drops nothing, and neither does deleting a proxy or unmanaged model.
    A table created in the same migration (as in a squash) or in the change under review
    holds no released rows and is not reported.
    """

    code = "MIG102"
    name = "delete-model"
    severity = Severity.ERROR
    summary = "DeleteModel drops a table and all of its rows."
    fix = (
        "Stop using the model in code and deploy first; delete it in a later release (or take "
        "it out of the model state first with SeparateDatabaseAndState)."
    )
    VALID = (
        """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0007_stop_using_wishlist")]

    operations = [
        # The table stays until a later release drops it.
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Wishlist")],
        ),
    ]
""",
        {
            "shop/migrations/0001_initial.py": """\
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            name="CheapProduct",
            fields=[],
            options={"proxy": True, "indexes": [], "constraints": []},
            bases=("shop.product",),
        ),
    ]
""",
            "shop/migrations/0002_delete_cheapproduct.py": """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    # A proxy model has no table of its own.
    operations = [migrations.DeleteModel(name="CheapProduct")]
""",
        },
    )
    INVALID = (
        """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0006_remove_wishlist_items")]

    operations = [
        migrations.DeleteModel(
            name="Wishlist",
        ),
    ]
""",
        """\
from django.db import migrations
from django.db.migrations import DeleteModel


class Migration(migrations.Migration):
    operations = [DeleteModel("Wishlist")]
""",
        """\
from django.db import migrations


class Migration(migrations.Migration):
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.DeleteModel("Wishlist")],
            state_operations=[migrations.DeleteModel("Wishlist")],
        ),
    ]
""",
    )

    def check(self, project: Project) -> Iterator[Finding]:
        context = Context.of(project)
        for migration, _, operation, before in with_history(project, "DeleteModel"):
            if _without_table(before) or table_is_new(context, migration, before):
                continue
            model = model_label(operation, before, "name")
            yield self.at(
                migration,
                operation.span,
                f"DeleteModel drops the table of {migration.app}.{model} and every row in it; "
                "rolling back re-creates it empty",
            )
