"""Deploy safety: old code meeting the new schema (MIG501-MIG504, MIG509).

During a rolling deploy the old release keeps serving while `migrate` runs, and the new
release starts before the last old process stops. Each rule here finds an operation that
breaks one side of that overlap (a NOT NULL column the old code does not fill, a renamed or
removed column, a type change that rewrites the table). Indexes and constraints built under
a lock are in `index_builds`, PostgreSQL's other locks in `locks` and the modules it names;
`deploy_base` says what a deploy rule is. Backend-specific rules follow `[tool.miglint]
database`; see `deploy_context` for how new tables are recognised (they are always safe).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from miglint import sql as sqlmod
from miglint.core.finding import UNSAFE, Edit, Finding, Severity
from miglint.project.load import Project
from miglint.rules.base import Invalid
from miglint.rules.deploy_context import (
    NO_COLUMN,
    Context,
    column_name,
    column_type,
    field_call,
    flag,
    given,
    is_django_field,
    model_label,
    required_column,
    rewrites,
    sql_hazards,
)
from miglint.rules.lossy_alter import LossyAlterField
from miglint.state.history import nullable
from miglint.state.tablestate import Step, default_table

if TYPE_CHECKING:
    from miglint.fixes.source import FixSource
from miglint.rules.deploy_base import (
    CHANGE,
    DEPENDS,
    DJANGO_5,
    INITIAL,
    ONLY_MIG5,
    PRODUCT,
    DeployRule,
    example_migration,
    implicit_default,
    new_product,
    on_product,
    step_field,
    step_field_before,
    text_or_unknown,
)


class AddNotNullWithoutDefault(DeployRule):
    """Adding a NOT NULL column to a table that has rows needs a value for every row, and
    the database must keep accepting the old release's INSERTs during the deploy.

    Without any default the migration itself fails on a non-empty table ("column contains
    null values"). With a default only in Python (`default=...`, or the one-off default
    that `makemigrations` asks for, `preserve_default=False`), Django adds the column with
    a temporary DEFAULT, fills every row (a full table rewrite under an ACCESS EXCLUSIVE
    lock on PostgreSQL before 11 and on MySQL's older row formats) and then drops the
    database default. From then on, the old code still running inserts rows without the
    new column and fails with a NOT NULL violation until the deploy finishes.

    Safe recipe: `db_default=...` (Django 5.0+) keeps the default in the database, so old
    code's INSERTs still work; or add the column with `null=True`, backfill it, and make it
    NOT NULL in a later release. A new table (created in this migration or in the change
    under review) has no rows and no old code: it is never reported.

    On projects before Django 5.0 the same is done by hand: a RunSQL in the same migration
    that runs `ALTER TABLE ... ALTER COLUMN ... SET DEFAULT ...` keeps a default in the
    database, and the AddField is not reported. `NullBooleanField` is nullable. The hint
    follows the project's Django version (`django-version`, or its requirement and lock
    files): `db_default` from 5.0 on, the RunSQL before, both when the version is unknown.
    """

    code = "MIG501"
    name = "add-not-null-without-default"
    severity = Severity.WARNING
    operations = frozenset({"AddField", "RunSQL"})
    summary = "AddField of a NOT NULL column with no database default on an existing table."
    fix = (
        "Keep a default in the database (`db_default=...` on Django 5.0+, else `ALTER COLUMN "
        "... SET DEFAULT ...` in a RunSQL of the same migration), or add it with `null=True`, "
        "backfill, and make it NOT NULL in a later release."
    )
    autofix = (
        "On Django 5.0 and later (`django-version`, or the version the project's requirement "
        "and lock files pin), `--fix --unsafe-fixes` adds `db_default=` with the field's "
        "literal `default` (a number, string or boolean) to the AddField. Unsafe: give the "
        "model's field the same `db_default`, or the next makemigrations removes it again. A "
        "field without a literal default, or an older Django, is not fixed."
    )
    VALID = (
        on_product(
            '        migrations.AddField("product", "active", '
            "models.BooleanField(db_default=True)),\n"
        ),
        on_product(
            '        migrations.AddField("product", "note", models.TextField(null=True)),\n'
        ),
        new_product('        migrations.AddField("product", "price", models.IntegerField()),\n'),
        on_product(
            '        migrations.AddField("product", "tags", models.ManyToManyField("shop.Tag")),\n'
        ),
    )
    INVALID = (
        Invalid(
            {
                **DJANGO_5,
                **on_product(
                    '        migrations.AddField("product", "active", '
                    "models.BooleanField(default=True)),\n"
                ),
            },
            {
                CHANGE: example_migration(
                    '        migrations.AddField("product", "active", '
                    "models.BooleanField(default=True, db_default=True)),\n",
                    DEPENDS,
                )
            },
            UNSAFE,
        ),
        Invalid(
            {
                **DJANGO_5,
                **on_product(
                    '        migrations.AddField("product", "price", models.IntegerField(default=0), '
                    "preserve_default=False),\n"
                ),
            },
            {
                CHANGE: example_migration(
                    '        migrations.AddField("product", "price", models.IntegerField(default=0, '
                    "db_default=0), preserve_default=False),\n",
                    DEPENDS,
                )
            },
            UNSAFE,
        ),
        # No default to keep in the database: not fixed.
        on_product('        migrations.AddField("product", "price", models.IntegerField()),\n'),
        # Before Django 5.0 there is no db_default: not fixed.
        {
            "pyproject.toml": '[tool.miglint]\ndjango-version = "4.2"\n',
            **on_product(
                '        migrations.AddField("product", "active", '
                "models.BooleanField(default=True)),\n"
            ),
        },
    )

    def edit(self, finding: Finding, source: FixSource) -> Edit | None:
        django = source.project.django_version
        operation = source.operation_at(finding, "AddField")
        if operation is None or django is None or django < (5, 0):
            return None
        from miglint.fixes.operations import database_default

        field = field_call(operation.argument(2, "field"))
        return None if field is None else database_default(source, field)

    def check_step(self, step: Step, context: Context) -> Iterator[Finding]:
        operation = step.operation
        if operation.is_("AddField"):
            yield from self.add_field(step, context)
        for hazard in sql_hazards(step, context, sqlmod.ADD_NOT_NULL, sqlmod.DEFAULT_DROPPED):
            if hazard.kind == sqlmod.ADD_NOT_NULL:
                message = (
                    f"RunSQL adds NOT NULL {hazard.column_phrase} to {hazard.table} without a "
                    "DEFAULT: it fails on a table with rows, and old code's INSERTs fail"
                )
                yield self.at(
                    step.migration, hazard.span, message, severity=Severity.ERROR, fix=_SQL_FIX
                )
            else:
                message = (
                    f"RunSQL drops the DEFAULT of NOT NULL {hazard.column_phrase} of "
                    f"{hazard.table}: old code inserting rows during the deploy fails"
                )
                yield self.at(step.migration, hazard.span, message, fix=_SQL_FIX)

    def add_field(self, step: Step, context: Context) -> Iterator[Finding]:
        found = step_field(step)
        if found is None or context.is_new(step):
            return
        name, call = found
        # NullBooleanField is nullable without saying so.
        if call.name in NO_COLUMN or nullable(call) is not False:
            return
        if given(call, "db_default") or flag(call, "primary_key") is True:
            return
        # A field class of another package may be nullable or defaulted in its __init__.
        if not is_django_field(call) and flag(call, "null", None) is not False:
            return
        model = model_label(step)
        span = step.operation.span
        implicit = implicit_default(call)
        if not given(call, "default") and implicit is None:
            yield self.at(
                step.migration,
                span,
                f"AddField {model}.{name} is NOT NULL with no default: the migration fails on "
                "a table that has rows, and old code's INSERTs fail after it",
                severity=Severity.ERROR,
                fix=_fix(context.project.django_version),
            )
            return
        table = step.table.name if step.table else default_table(step.migration.app, model)
        column = column_name(name, call)
        defaults = context.sql_defaults.get(step.migration.key, frozenset())
        if column is not None and (table.lower(), column.lower()) in defaults:
            # A RunSQL of this migration keeps a default in the database: old code's INSERTs
            # still work (what db_default does, for projects before Django 5.0).
            return
        if given(call, "default"):
            kind = (
                "a one-off default (preserve_default=False)"
                if flag(step.operation.call or call, "preserve_default", True) is False
                else "a default in Python only"
            )
        else:
            kind = f"{implicit} as Django's implicit default"
        yield self.at(
            step.migration,
            span,
            f"AddField {model}.{name} is NOT NULL with {kind}: Django drops the database "
            "default after filling the rows, so old code still running during the deploy "
            "fails to insert rows (NOT NULL violation)",
            fix=_fix(context.project.django_version),
        )


_NULLABLE_FIRST = "add it with `null=True`, backfill, and make it NOT NULL in a later release"
_SQL_FIX = (
    "Keep a DEFAULT on the column in the database, or add it NULL, backfill, and SET NOT NULL "
    "in a later release."
)


def _fix(django: tuple[int, int] | None) -> str:
    """MIG501's hint for the project's Django: `db_default` exists from Django 5.0 on; before,
    a RunSQL `SET DEFAULT` in the same migration keeps the default in the database."""
    by_hand = "`ALTER COLUMN ... SET DEFAULT ...` in a RunSQL of the same migration"
    if django is None:
        return (
            f"Keep a default in the database (`db_default=...` on Django 5.0+, else {by_hand}), "
            f"or {_NULLABLE_FIRST}."
        )
    if django >= (5, 0):
        return f"Give the field `db_default=...`, or {_NULLABLE_FIRST}."
    return f"Keep a default in the database with {by_hand}, or {_NULLABLE_FIRST}."


class RenameField(DeployRule):
    """Renaming a column breaks the release that is still running: the old code selects
    and inserts the old column name, and every query that touches the model fails from the
    moment the migration commits until the last old process stops. The same holds for a
    changed `db_column`. (The rename itself is quick, but it takes an ACCESS EXCLUSIVE lock
    that queues behind long transactions.)

    Safe recipe: keep the column name and rename only in Python (`db_column="old_name"` on
    the renamed field, so Django runs no SQL); or add the new column, write to both,
    backfill, switch reads, and drop the old column in a later release. A field whose
    `db_column` keeps the column name, and fields of new tables, are never reported.
    """

    code = "MIG502"
    name = "rename-field"
    severity = Severity.WARNING
    operations = frozenset({"RenameField", "AlterField", "RunSQL"})
    summary = (
        "RenameField (or a db_column change) on an existing table: old code reads the old column."
    )
    fix = (
        "Keep the column: set `db_column` to the old name on the renamed field, or add a new "
        "column, backfill it and drop the old one in a later release."
    )
    VALID = (
        new_product('        migrations.RenameField("product", "code", "sku"),\n'),
        {
            INITIAL: example_migration(
                """\
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("code", models.CharField(max_length=20, db_column="code")),
            ],
        ),
""",
                extra="    initial = True\n",
            ),
            CHANGE: example_migration(
                '        migrations.RenameField("product", "code", "sku"),\n', DEPENDS
            ),
        },
    )
    INVALID = (
        on_product('        migrations.RenameField("product", "code", "sku"),\n'),
        on_product(
            '        migrations.AlterField("product", "code", '
            'models.CharField(max_length=20, db_column="sku")),\n'
        ),
        on_product(
            '        migrations.RunSQL("ALTER TABLE shop_product RENAME COLUMN code TO sku", '
            '"ALTER TABLE shop_product RENAME COLUMN sku TO code"),\n'
        ),
    )

    def check_step(self, step: Step, context: Context) -> Iterator[Finding]:
        operation = step.operation
        new = context.is_new(step)
        if operation.is_("RenameField") and not new:
            old_name = operation.argument(1, "old_name")
            new_name = operation.argument(2, "new_name")
            before = step_field_before(step)
            if before is not None and isinstance(before.kwarg("db_column"), str):
                return
            yield self.at(
                step.migration,
                operation.span,
                f"RenameField {model_label(step)}.{text_or_unknown(old_name)} -> {text_or_unknown(new_name)} renames the column: "
                "the old release still running during the deploy queries the old name and fails",
            )
        elif operation.is_("AlterField") and not new:
            found = step_field(step)
            if found is None:
                return
            name, call = found
            before = step_field_before(step)
            if before is None:
                return
            old_column, new_column = column_name(name, before), column_name(name, call)
            if old_column is None or new_column is None or old_column == new_column:
                return
            yield self.at(
                step.migration,
                operation.span,
                f"AlterField {model_label(step)}.{name} renames column {old_column} to "
                f"{new_column}: the old release still running queries the old name",
            )
        for hazard in sql_hazards(step, context, sqlmod.RENAME_COLUMN):
            yield self.at(
                step.migration,
                hazard.span,
                f"RunSQL renames {hazard.column_phrase} of {hazard.table}: the old release "
                "still running during the deploy queries the old name and fails",
            )


class RenameModel(DeployRule):
    """Renaming a table (RenameModel, AlterModelTable, a `db_table` change) breaks the
    release that is still running: its queries name the old table and fail from the moment
    the migration commits until the deploy finishes. RenameModel also renames the tables of
    auto-created many-to-many relations.

    Safe recipe: rename the model in Python only and keep the table (`db_table` set to the
    old name in `Meta`, so RenameModel runs no SQL), or create the new table, copy, switch
    and drop the old one over several releases. A model with an explicit `db_table`, and
    models created in the change under review, are never reported.
    """

    code = "MIG503"
    name = "rename-model"
    severity = Severity.WARNING
    operations = frozenset({"RenameModel", "AlterModelTable", "RunSQL"})
    summary = "RenameModel or a table rename (AlterModelTable) on an existing table."
    fix = (
        "Keep the table name: set `db_table` to the old table name in the model's Meta "
        "before renaming the class."
    )
    VALID = (
        new_product('        migrations.RenameModel("Product", "Item"),\n'),
        {
            INITIAL: example_migration(
                """\
        migrations.CreateModel(
            name="Product",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
            options={"db_table": "shop_product"},
        ),
""",
                extra="    initial = True\n",
            ),
            CHANGE: example_migration(
                '        migrations.RenameModel("Product", "Item"),\n', DEPENDS
            ),
        },
    )
    INVALID = (
        on_product('        migrations.RenameModel("Product", "Item"),\n'),
        on_product('        migrations.AlterModelTable("product", "catalogue_product"),\n'),
        on_product(
            '        migrations.RunSQL("ALTER TABLE shop_product RENAME TO shop_item", '
            '"ALTER TABLE shop_item RENAME TO shop_product"),\n'
        ),
    )

    def check_step(self, step: Step, context: Context) -> Iterator[Finding]:
        operation = step.operation
        table = step.table
        if operation.is_("RenameModel") and not context.is_new(step):
            if table is not None and table.db_table is not None:
                return
            old, new = operation.argument(0, "old_name"), operation.argument(1, "new_name")
            yield self.at(
                step.migration,
                operation.span,
                f"RenameModel {text_or_unknown(old)} -> {text_or_unknown(new)} renames its table: the old release still running "
                "during the deploy queries the old table and fails",
            )
        elif operation.is_("AlterModelTable") and not context.is_new(step):
            new_table = operation.argument(1, "table")
            if table is not None:
                target = new_table if isinstance(new_table, str) else None
                if (target or f"{table.app}_{table.model}".lower()) == table.name:
                    return
            renamed_to = (
                repr(new_table) if isinstance(new_table, str) else "Django's default table name"
            )
            yield self.at(
                step.migration,
                operation.span,
                f"AlterModelTable renames the table of {model_label(step)} to {renamed_to}: "
                "the old release still running during the deploy queries the old table",
            )
        for hazard in sql_hazards(step, context, sqlmod.RENAME_TABLE):
            yield self.at(
                step.migration,
                hazard.span,
                f"RunSQL renames table {hazard.table}: the old release still running during "
                "the deploy queries the old name and fails",
            )


class AlterFieldType(DeployRule):
    """Changing a column's type (IntegerField to BigIntegerField, AutoField to BigAutoField,
    CharField to IntegerField, a narrower varchar or numeric...) makes the database rewrite
    the whole table, and every index on the column, under an ACCESS EXCLUSIVE lock on
    PostgreSQL (a table copy that blocks writes on MySQL): on a large table the site stops
    for minutes. Old code may also fail to read or write the new type during the deploy.

    Which changes rewrite depends on the backend: on PostgreSQL, widening a varchar, varchar
    to text, and more digits with the same decimal places are catalogue-only changes and are
    not reported; on MySQL every type change is; with no `database` configured, only changes
    that rewrite on both PostgreSQL and MySQL are reported. Safe recipe: add a new column of
    the new type, write to both, backfill in batches, switch reads, drop the old column.

    A type change that also narrows the column (shorter, fewer digits, text to number) is
    MIG103's finding, whose message says the table is rewritten too: the data must be checked
    before anything else. MIG504 reports it only when MIG103 is not selected or is ignored
    for the file.
    """

    code = "MIG504"
    name = "alter-field-type"
    severity = Severity.WARNING
    operations = frozenset({"AlterField", "RunSQL"})
    summary = "AlterField that changes the column type and rewrites the table."
    fix = (
        "Add a new column with the new type, backfill it in batches, switch the code to it and "
        "drop the old column in a later release."
    )
    VALID = (
        on_product(
            '        migrations.AlterField("product", "name", models.CharField(max_length=200)),\n'
        ),
        on_product('        migrations.AlterField("product", "name", models.TextField()),\n'),
        new_product('        migrations.AlterField("product", "code", models.IntegerField()),\n'),
        # Text to number also narrows: MIG103 reports it, and says the table is rewritten.
        on_product('        migrations.AlterField("product", "code", models.IntegerField()),\n'),
        on_product(
            '        migrations.AlterField("product", "stock", '
            "models.IntegerField(default=0, help_text='units')),\n"
        ),
    )
    INVALID = (
        on_product(
            '        migrations.AlterField("product", "stock", models.BigIntegerField(default=0)),\n'
        ),
        on_product(
            '        migrations.AlterField("product", "stock", models.FloatField(default=0)),\n'
        ),
        on_product(
            '        migrations.RunSQL("ALTER TABLE shop_product ALTER COLUMN stock TYPE bigint", '
            "migrations.RunSQL.noop),\n"
        ),
    )

    def check(self, project: Project) -> Iterator[Finding]:
        # A narrowing AlterField that also rewrites the table is MIG103's finding, which says
        # both: the data must be checked first, whatever the lock costs.
        narrowed = {
            (migration.key, operation.span)
            for migration, operation, _, rewrites in LossyAlterField().narrowing(project)
            if rewrites and self.reported_by(project, LossyAlterField.code, migration.path)
        }
        context = Context.of(project)
        for step in self.steps(project):
            if (step.migration.key, step.operation.span) not in narrowed:
                yield from self.check_step(step, context)

    def check_step(self, step: Step, context: Context) -> Iterator[Finding]:
        operation = step.operation
        if operation.is_("AlterField") and not context.is_new(step):
            found = step_field(step)
            before = step_field_before(step)
            if found is not None and before is not None:
                name, call = found
                old, new = column_type(before), column_type(call)
                if old is not None and new is not None and rewrites(old, new, context.database):
                    yield self.at(
                        step.migration,
                        operation.span,
                        f"AlterField {model_label(step)}.{name} changes the column type "
                        f"({before.name} -> {call.name}): the table and its indexes are "
                        "rewritten under an exclusive lock, blocking reads and writes",
                    )
        for hazard in sql_hazards(step, context, sqlmod.ALTER_TYPE):
            yield self.at(
                step.migration,
                hazard.span,
                f"RunSQL changes the type of {hazard.column_phrase} of {hazard.table}: "
                "most type changes rewrite the table under an exclusive lock",
            )


class RemoveFieldWithoutDefault(DeployRule):
    """Removing a NOT NULL column with no database default breaks inserts while two
    releases overlap: the release without the field inserts rows without the column, which
    the database rejects (NOT NULL violation) for as long as the column exists, and the old
    release still selects the column after it is gone.

    MIG101 (remove-field) reports every RemoveField that drops a column, and its message
    says this too when the column is NOT NULL with no database default: one hazard, one
    finding. MIG509 reports only where MIG101 does not (MIG101 not selected, or ignored for
    the file), for teams that accept dropping data but not a broken deploy.

    Safe recipe (two steps): first release makes the column nullable (or gives it a
    `db_default`) and stops using the field (SeparateDatabaseAndState with a state-only
    RemoveField); a later release removes the column. Nullable columns, columns with a
    `db_default`, and columns of new tables are not reported.
    """

    code = "MIG509"
    name = "remove-field-without-default"
    severity = Severity.WARNING
    operations = frozenset({"RemoveField"})
    summary = "RemoveField of a NOT NULL column with no database default."
    fix = (
        "Make the field nullable (null=True) and stop using it in one release; remove it in "
        "the next."
    )
    VALID = (
        {
            **ONLY_MIG5,
            INITIAL: PRODUCT,
            "shop/migrations/0002_nullable.py": example_migration(
                '        migrations.AlterField("product", "code", '
                "models.CharField(max_length=20, null=True)),\n",
                DEPENDS,
            ),
            "shop/migrations/0003_remove.py": example_migration(
                '        migrations.RemoveField("product", "code"),\n',
                '("shop", "0002_nullable")',
            ),
        },
        {
            **ONLY_MIG5,
            INITIAL: new_product('        migrations.RemoveField("product", "code"),\n'),
        },
        # MIG101 is selected: it reports this RemoveField, NOT NULL included.
        on_product('        migrations.RemoveField("product", "code"),\n'),
    )
    INVALID = ({**ONLY_MIG5, **on_product('        migrations.RemoveField("product", "code"),\n')},)

    def check(self, project: Project) -> Iterator[Finding]:
        # Under MIG101 the same finding would come twice.
        yield from (
            finding
            for finding in super().check(project)
            if not self.reported_by(project, "MIG101", finding.path)
        )

    def check_step(self, step: Step, context: Context) -> Iterator[Finding]:
        operation = step.operation
        if not operation.is_("RemoveField") or context.is_new(step):
            return
        name = operation.argument(1, "name")
        before = step_field_before(step)
        if before is None or not required_column(before, is_django_field(before)):
            return
        table = step.table.name if step.table else default_table(step.migration.app, "?")
        column = column_name(text_or_unknown(name), before)
        if (
            column is not None
            and (table.lower(), column.lower()) in context.columns_with_sql_default
        ):
            return
        yield self.at(
            step.migration,
            operation.span,
            f"RemoveField {model_label(step)}.{text_or_unknown(name)} drops a NOT NULL column with no database "
            "default: while releases overlap, inserts without it fail (NOT NULL violation) "
            "and the old release's queries of it fail once it is gone",
        )
