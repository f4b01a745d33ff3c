"""Rules about what belongs together in one migration: data changes apart from schema changes."""

from __future__ import annotations

from collections.abc import Iterator

from miglint.core.finding import Finding, Severity
from miglint.graph.nodes import Migration
from miglint.project.load import Project
from miglint.rules.base import Rule
from miglint.source import syntax as s
from miglint.source.facts import Operation
from miglint.state.effects import effects
from miglint.state.history import (
    Before,
    database_operations,
    field_definition,
    field_history,
    migrations_by_app,
)

# The examples' data step, and the schema change it fills, shared by VALID and INVALID.
_FILL_TOTALS = """\
def fill_totals(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    for order in Order.objects.all():
        order.total = sum(line.price for line in order.lines.all())
        order.save(update_fields=["total"])


"""
_ADD_TOTAL = """\
        migrations.AddField(
            model_name="order",
            name="total",
            field=models.DecimalField(decimal_places=2, default=0, max_digits=10),
        ),
"""


class MixedSchemaAndData(Rule):
    """A migration that changes data (`RunPython`, or `RunSQL` with INSERT, UPDATE, DELETE...)
    and the schema (CreateModel, AddField, AddIndex, DDL in RunSQL...) at once is hard to run
    safely. On PostgreSQL it is one transaction: the locks the schema changes take are held
    while the data step runs over every row, blocking the table for that long, and mixing
    the two can fail with "cannot ALTER TABLE because it has pending trigger events". On
    MySQL and Oracle, where DDL is not transactional, a failing data step leaves the schema
    half changed and the migration can be neither re-run nor rolled back cleanly.

    Put the data step in a migration of its own, after (or before) the schema change, so each
    one can be run, timed, retried and rolled back on its own. Only operations that run SQL
    count: `SeparateDatabaseAndState`'s `state_operations` change no schema. Model option
    changes (AlterModelOptions, AlterModelManagers) run no SQL either, and neither does an
    AlterField that, compared with the field's previous definition in the history, changes
    only `choices`, `help_text`, `verbose_name` or other arguments Django keeps out of the
    database (the usual "new choices, remap the old values" migration).

    A RunPython whose function only sets up the connection (`schema_editor.execute("PRAGMA
    ...")` or `SET ...`, nothing else) changes no data either: SQLite's
    `PRAGMA legacy_alter_table = OFF` before a table rebuild belongs with the schema change.

    The mix is the migration's: one finding per migration, at its first data step, naming
    the schema changes and the other data steps.
    """

    code = "MIG301"
    name = "mixed-schema-and-data"
    severity = Severity.WARNING
    summary = "RunPython (or DML RunSQL) in the same migration as schema operations."
    fix = "Move the data step (RunPython / data RunSQL) into a migration of its own."
    VALID = (
        {
            "shop/migrations/0002_order_total.py": """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
"""
            + _ADD_TOTAL
            + "    ]\n",
            "shop/migrations/0003_fill_order_total.py": "from django.db import migrations\n\n\n"
            + _FILL_TOTALS
            + """\
class Migration(migrations.Migration):
    dependencies = [("shop", "0002_order_total")]
    operations = [migrations.RunPython(fill_totals, migrations.RunPython.noop)]
""",
        },
        {
            "shop/migrations/0001_initial.py": """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("status", models.CharField(choices=[("n", "New")], max_length=10)),
            ],
        ),
    ]
""",
            "shop/migrations/0002_order_status_choices.py": """\
from django.db import migrations, models


def rename_status(apps, schema_editor):
    apps.get_model("shop", "Order").objects.filter(status="n").update(status="new")


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        # Only the choices change: Django runs no SQL for this AlterField.
        migrations.AlterField(
            model_name="order",
            name="status",
            field=models.CharField(choices=[("new", "New")], max_length=10),
        ),
        migrations.RunPython(rename_status, migrations.RunPython.noop),
    ]
""",
        },
        """\
from django.db import migrations, models


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField("order", "total", models.IntegerField(default=0)),
            ],
        ),
        migrations.AlterModelOptions(name="order", options={"ordering": ["-id"]}),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
""",
        """\
from django.db import migrations, models


class Migration(migrations.Migration):
    operations = [
        migrations.AddField("order", "total", models.IntegerField(default=0)),
        migrations.RunSQL(
            \"\"\"
            -- keep the total up to date (the UPDATE runs inside the trigger, later)
            CREATE FUNCTION shop_order_total() RETURNS trigger AS $$
            BEGIN
                UPDATE shop_order SET total = total + 1 WHERE id = NEW.order_id;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql;
            SELECT setval('shop_order_id_seq', 1000);
            \"\"\",
            reverse_sql="DROP FUNCTION shop_order_total();",
        ),
    ]
""",
        """\
from django.db import migrations


def disable_legacy_alter_table(apps, schema_editor):
    # SQLite rewrites references to a renamed table only with this pragma off.
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("PRAGMA legacy_alter_table = OFF")


class Migration(migrations.Migration):
    atomic = False
    operations = [
        migrations.RunPython(disable_legacy_alter_table, migrations.RunPython.noop),
        migrations.RenameModel("Order", "Purchase"),
    ]
""",
    )
    INVALID = (
        "from django.db import migrations, models\n\n\n"
        + _FILL_TOTALS
        + """\
class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
"""
        + _ADD_TOTAL
        + """\
        migrations.RunPython(fill_totals, migrations.RunPython.noop),
    ]
""",
        """\
from django.db import migrations, models


class Migration(migrations.Migration):
    operations = [
        migrations.AlterField("order", "status", models.CharField(max_length=20)),
        migrations.RunSQL(
            [
                "/* normalise */ UPDATE shop_order SET status = 'new' WHERE status = '';",
                ("INSERT INTO shop_status (name) VALUES (%s);", ["new"]),
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
""",
        """\
from django.db import migrations
from django.db.migrations import RunPython, RunSQL


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    operations = [
        RunSQL(
            "ALTER TABLE shop_order ADD COLUMN note text; -- DDL\\n",
            reverse_sql="ALTER TABLE shop_order DROP COLUMN note;",
        ),
    ] + [RunPython(code=forwards, reverse_code=RunPython.noop)]
""",
        """\
from django.db import migrations, models


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AddIndex("order", models.Index(fields=["status"], name="status_idx")),
            ],
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
""",
    )

    def check(self, project: Project) -> Iterator[Finding]:
        for app_key, migrations in migrations_by_app(project).items():
            for migration in migrations:
                operations = list(database_operations(migration.facts.operations))
                kinds = [effects(operation, migration) for _, operation in operations]
                if not _mixed(kinds):
                    continue
                if any(operation.is_("AlterField") for _, operation in operations):
                    # Only the history tells whether an AlterField runs any SQL.
                    history = field_history(project, app_key)
                    kinds = [
                        frozenset()
                        if operation.is_("AlterField")
                        and _state_only(history.get((migration.key, path)), operation, migration)
                        else kind
                        for (path, operation), kind in zip(operations, kinds, strict=True)
                    ]
                yield from self.findings(migration, [op for _, op in operations], kinds)

    def findings(
        self, migration: Migration, operations: list[Operation], kinds: list[frozenset[str]]
    ) -> Iterator[Finding]:
        """One finding per migration (the mix is the migration's), at its first data step,
        naming the schema changes and the other data steps."""
        steps = [
            index
            for index, kind in enumerate(kinds)
            if "data" in kind
            and any("schema" in other for position, other in enumerate(kinds) if position != index)
        ]
        if not steps:
            return
        first = operations[steps[0]]
        schema = [
            other
            for position, other in enumerate(operations)
            if position != steps[0] and "schema" in kinds[position]
        ]
        listed = ", ".join(f"{op.name} (line {op.span.line})" for op in schema[:3])
        more = f" and {len(schema) - 3} more" if len(schema) > 3 else ""
        what = "RunPython" if first.is_("RunPython") else "RunSQL that changes data"
        others = ""
        if len(steps) > 1:
            lines = [str(operations[index].span.line) for index in steps[1:]]
            plural = "s" if len(lines) > 1 else ""
            shown = ", ".join(lines[:5]) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
            others = f" (and {len(lines)} more data step{plural}: line{plural} {shown})"
        yield self.at(
            migration,
            first.span,
            f"{what}{others} in the same migration as schema changes: {listed}{more}",
        )


def _mixed(kinds: list[frozenset[str]]) -> bool:
    return any("data" in kind for kind in kinds) and any("schema" in kind for kind in kinds)


# Field arguments Django never turns into SQL (`Field.non_db_attrs`; a db_column change renames).
_NON_DB_ARGUMENTS = frozenset(
    {
        "blank",
        "choices",
        "editable",
        "error_messages",
        "help_text",
        "limit_choices_to",
        "on_delete",
        "related_name",
        "related_query_name",
        "validators",
        "verbose_name",
    }
)


def _state_only(before: Before | None, operation: Operation, migration: Migration) -> bool:
    """An AlterField that changes only what Django never turns into SQL (choices, help_text...)."""
    old = before.field if before is not None else None
    new = field_definition(operation.argument(2, "field"), migration)
    if old is None or new is None or old.call.has_star or new.call.has_star:
        return False

    def database_arguments(call: s.Call) -> dict[str, s.Value]:
        return {k.name: k.value for k in call.kwargs if k.name not in _NON_DB_ARGUMENTS}

    return (
        old.field_class == new.field_class
        and old.call.args == new.call.args
        and database_arguments(old.call) == database_arguments(new.call)
    )
