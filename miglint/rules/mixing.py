"""Rules about what belongs together in one migration: data changes apart from schema changes."""

from __future__ import annotations

from collections.abc import Iterator

from miglint import syntax as s
from miglint.finding import Finding, Severity
from miglint.history import database_operations
from miglint.nodes import Migration
from miglint.parse import Operation
from miglint.project import Project
from miglint.rules.base import MigrationRule
from miglint.sql import classify

# Django's operations that run DDL (AlterModelOptions and AlterModelManagers run no SQL).
_SCHEMA_OPERATIONS = frozenset(
    {
        "CreateModel",
        "DeleteModel",
        "RenameModel",
        "AlterModelTable",
        "AlterModelTableComment",
        "AlterUniqueTogether",
        "AlterIndexTogether",
        "AlterOrderWithRespectTo",
        "AddField",
        "RemoveField",
        "AlterField",
        "RenameField",
        "AddIndex",
        "RemoveIndex",
        "RenameIndex",
        "AddConstraint",
        "RemoveConstraint",
        "AlterConstraint",
        # django.contrib.postgres.operations
        "CreateExtension",
        "BloomExtension",
        "BtreeGinExtension",
        "BtreeGistExtension",
        "CITextExtension",
        "CryptoExtension",
        "HStoreExtension",
        "TrigramExtension",
        "UnaccentExtension",
        "AddIndexConcurrently",
        "RemoveIndexConcurrently",
        "CreateCollation",
        "RemoveCollation",
        "AddConstraintNotValid",
        "ValidateConstraint",
    }
)


def _statement_kinds(sql: str) -> frozenset[str]:
    """ "data" and/or "schema": what the statements of `sql` do, as `miglint.sql` reads them
    (comments, quoted text and $$ bodies are no statements; unreadable SQL is neither)."""
    kinds: set[str] = set()
    for statement in classify(sql):
        if statement.is_data:
            kinds.add("data")
        elif statement.is_schema:
            kinds.add("schema")
    return frozenset(kinds)


def _sql_kinds(operation: Operation) -> frozenset[str]:
    """What a RunSQL's forward SQL does; nothing when it cannot be read."""
    sql = operation.argument(0, "sql")
    parts = sql.items if isinstance(sql, s.Seq) else (sql,)
    kinds: set[str] = set()
    for part in parts:
        # A list entry may be `(sql, params)`.
        if isinstance(part, s.Seq) and part.items:
            part = part.items[0]
        if isinstance(part, str):
            kinds |= _statement_kinds(part)
    return frozenset(kinds)


def _kinds(operation: Operation) -> frozenset[str]:
    if operation.call is None or not operation.is_django:
        return frozenset()
    if operation.is_("RunPython"):
        code = operation.argument(0, "code")
        # RunPython(RunPython.noop, ...) is a placeholder (squashes leave them): it runs nothing.
        if isinstance(code, s.Ref) and code.name.endswith("RunPython.noop"):
            return frozenset()
        return frozenset({"data"})
    if operation.is_("RunSQL"):
        return _sql_kinds(operation)
    if operation.name in _SCHEMA_OPERATIONS:
        return frozenset({"schema"})
    return frozenset()


class MixedSchemaAndData(MigrationRule):
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
    changes (AlterModelOptions, AlterModelManagers) run no SQL either.
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
        migrations.AddField(
            model_name="order",
            name="total",
            field=models.DecimalField(decimal_places=2, default=0, max_digits=10),
        ),
    ]
""",
            "shop/migrations/0003_fill_order_total.py": """\
from django.db import migrations


def fill_totals(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    for order in Order.objects.all():
        order.total = sum(line.price for line in order.lines.all())
        order.save(update_fields=["total"])


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_order_total")]
    operations = [migrations.RunPython(fill_totals, migrations.RunPython.noop)]
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
    )
    INVALID = (
        """\
from django.db import migrations, models


def fill_totals(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    for order in Order.objects.all():
        order.total = sum(line.price for line in order.lines.all())
        order.save(update_fields=["total"])


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="order",
            name="total",
            field=models.DecimalField(decimal_places=2, default=0, max_digits=10),
        ),
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

    def check_migration(self, migration: Migration, project: Project) -> Iterator[Finding]:
        operations = [operation for _, operation in database_operations(migration.facts.operations)]
        kinds = [_kinds(operation) for operation in operations]
        if not any("data" in k for k in kinds) or not any("schema" in k for k in kinds):
            return
        for index, operation in enumerate(operations):
            if "data" not in kinds[index]:
                continue
            schema = [
                other
                for position, other in enumerate(operations)
                if position != index and "schema" in kinds[position]
            ]
            if not schema:
                continue
            listed = ", ".join(f"{op.name} (line {op.span.line})" for op in schema[:3])
            more = f" and {len(schema) - 3} more" if len(schema) > 3 else ""
            what = "RunPython" if operation.is_("RunPython") else "RunSQL that changes data"
            yield self.at(
                migration,
                operation.span,
                f"{what} in the same migration as schema changes: {listed}{more}; "
                "move the data step into a migration of its own",
            )
