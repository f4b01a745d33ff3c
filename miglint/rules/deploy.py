"""Deploy safety: locks, table rewrites, and old code meeting the new schema (MIG501-MIG509).

During a rolling deploy the old release keeps serving while `migrate` runs, and the new
release starts before the last old process stops. Each rule here finds an operation that
breaks one side of that overlap, or that holds a lock long enough to stall the site.
Backend-specific rules follow `[tool.miglint] database`; see `deploy_context` for how new
tables are recognised (they are always safe).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar

from miglint import sql as sqlmod
from miglint.core.finding import SAFE, UNSAFE, Edit, Finding, Severity
from miglint.graph.nodes import NodeKey
from miglint.project.load import Project
from miglint.rules.base import Invalid, Rule
from miglint.rules.data_loss import LossyAlterField
from miglint.rules.deploy_context import (
    EMPTY_STRINGS_ALLOWED,
    FOREIGN_KEYS,
    NO_COLUMN,
    Context,
    column_name,
    column_type,
    field_call,
    flag,
    given,
    has_constraint,
    is_django_field,
    is_indexed,
    is_unique,
    model_label,
    required_column,
    rewrites,
    runsql_statements,
    sql_hazards,
)
from miglint.source import syntax as s
from miglint.state.history import dropped_later, nullable
from miglint.state.tablestate import Step, default_table, table_steps, together_sets

if TYPE_CHECKING:
    from miglint.fixes.source import FixSource

_HEADER = "from django.db import migrations, models\n\n\n"


def _migration(operations: str, dependencies: str = "", extra: str = "") -> str:
    return (
        _HEADER
        + "class Migration(migrations.Migration):\n"
        + extra
        + f"    dependencies = [{dependencies}]\n\n"
        + "    operations = [\n"
        + operations
        + "    ]\n"
    )


# A released table: shop.Product, created by 0001 (examples put the change in 0002).
_PRODUCT = _migration(
    """\
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
                ("code", models.CharField(max_length=20)),
                ("stock", models.IntegerField(default=0)),
            ],
        ),
""",
    extra="    initial = True\n",
)
_INITIAL = "shop/migrations/0001_initial.py"
_CHANGE = "shop/migrations/0002_change.py"
_DEPENDS = '("shop", "0001_initial")'


def _on_product(operations: str, extra: str = "") -> dict[str, str]:
    """An example: `operations` run on the released Product table."""
    return {_INITIAL: _PRODUCT, _CHANGE: _migration(operations, _DEPENDS, extra)}


def _new_product(operations: str, extra: str = "") -> str:
    """An example: `operations` run on Product in the migration that creates it."""
    return _migration(
        """\
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
                ("code", models.CharField(max_length=20)),
            ],
        ),
"""
        + operations,
        extra=extra,
    )


_POSTGRES = {"pyproject.toml": '[tool.miglint]\ndatabase = "postgresql"\n'}
_DJANGO_5 = {"pyproject.toml": '[tool.miglint]\ndjango-version = "5.2"\n'}
# A project that selects only the deploy rules (MIG509 defers to MIG101 otherwise).
_ONLY_MIG5 = {"pyproject.toml": '[tool.miglint]\nselect = ["MIG5"]\n'}
_CONCURRENT_IMPORT = "from django.contrib.postgres.operations import AddIndexConcurrently\n"


NEW_TABLES = """
New tables are never reported: a table created in the same migration, in another migration
of the change under review (the files named on the command line, as pre-commit passes them,
or the files changed since `--diff BASE`), or in an `initial = True` migration when this one
is initial too (Django writes `0001_initial` and `0002_initial` together). miglint has no
deploy history: a table created in any other migration is taken to be in production.
Operations on a model that the same migration then deletes are not reported either: the
DeleteModel is the hazard (MIG102), and the columns and indexes go with the table."""


class DeployRule(Rule):
    """A rule over each operation that runs SQL, with the table it names as it was before."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # Every page says the same thing about new tables.
        if cls.__doc__ and cls.about_tables and "New tables are never reported" not in cls.__doc__:
            cls.__doc__ = inspect.cleandoc(cls.__doc__) + "\n" + NEW_TABLES

    # The hazard depends on the table's rows (new tables, and tables the migration then
    # deletes, are safe); False for a rule whose operation fails whatever the table holds.
    about_tables: ClassVar[bool] = True
    # Backends the hazard exists on; None: every backend (also when the backend is unknown).
    backends: ClassVar[frozenset[str] | None] = None
    # The hazard exists on these backends, but not on all: when the backend is unknown
    # the rule stays quiet unless `when_unknown` is True.
    when_unknown: ClassVar[bool] = True
    # The operations the rule looks at (RunSQL for the DDL counterparts).
    operations: ClassVar[frozenset[str]] = frozenset()

    def check(self, project: Project) -> Iterator[Finding]:
        context = Context.of(project)
        if self.backends is not None:
            if context.database is None and not self.when_unknown:
                return
            if context.database is not None and context.database not in self.backends:
                return
        for step in self.steps(project):
            yield from self.check_step(step, context)

    def steps(self, project: Project) -> Iterator[Step]:
        """The steps of the rule's operations, without those on a model that the same
        migration then deletes (MIG102 reports the table; its columns and indexes go with it)."""
        dropped: dict[NodeKey, frozenset[s.Span]] = {}
        for step in table_steps(project):
            operation = step.operation
            if operation.name not in self.operations:
                continue
            migration = step.migration
            if not self.about_tables:
                yield step
                continue
            if migration.key not in dropped:
                dropped[migration.key] = dropped_later(migration.facts.operations)
            if operation.span not in dropped[migration.key]:
                yield step

    def check_step(self, step: Step, context: Context) -> Iterable[Finding]:
        raise NotImplementedError


def _text(value: s.Value | s.Missing) -> str:
    return value if isinstance(value, str) else "?"


def _field(step: Step) -> tuple[str, s.Call] | None:
    """The field name and definition of an AddField/AlterField step."""
    name = step.operation.argument(1, "name")
    call = field_call(step.operation.argument(2, "field"))
    if not isinstance(name, str) or call is None:
        return None
    return name, call


def _before(step: Step) -> s.Call | None:
    """The definition, before the step, of the field its operation names, when known."""
    return field_call(step.field_before)


def implicit_default(call: s.Call) -> str | None:
    """What Django fills existing rows with when the field gives no default."""
    if flag(call, "auto_now") is True or flag(call, "auto_now_add") is True:
        return "the current time"
    if flag(call, "blank") is True and call.name in EMPTY_STRINGS_ALLOWED:
        return "an empty string"
    return None


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
        _on_product(
            '        migrations.AddField("product", "active", '
            "models.BooleanField(db_default=True)),\n"
        ),
        _on_product(
            '        migrations.AddField("product", "note", models.TextField(null=True)),\n'
        ),
        _new_product('        migrations.AddField("product", "price", models.IntegerField()),\n'),
        _on_product(
            '        migrations.AddField("product", "tags", models.ManyToManyField("shop.Tag")),\n'
        ),
    )
    INVALID = (
        Invalid(
            {
                **_DJANGO_5,
                **_on_product(
                    '        migrations.AddField("product", "active", '
                    "models.BooleanField(default=True)),\n"
                ),
            },
            {
                _CHANGE: _migration(
                    '        migrations.AddField("product", "active", '
                    "models.BooleanField(default=True, db_default=True)),\n",
                    _DEPENDS,
                )
            },
            UNSAFE,
        ),
        Invalid(
            {
                **_DJANGO_5,
                **_on_product(
                    '        migrations.AddField("product", "price", models.IntegerField(default=0), '
                    "preserve_default=False),\n"
                ),
            },
            {
                _CHANGE: _migration(
                    '        migrations.AddField("product", "price", models.IntegerField(default=0, '
                    "db_default=0), preserve_default=False),\n",
                    _DEPENDS,
                )
            },
            UNSAFE,
        ),
        # No default to keep in the database: not fixed.
        _on_product('        migrations.AddField("product", "price", models.IntegerField()),\n'),
        # Before Django 5.0 there is no db_default: not fixed.
        {
            "pyproject.toml": '[tool.miglint]\ndjango-version = "4.2"\n',
            **_on_product(
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
        found = _field(step)
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
        _new_product('        migrations.RenameField("product", "code", "sku"),\n'),
        {
            _INITIAL: _migration(
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
            _CHANGE: _migration(
                '        migrations.RenameField("product", "code", "sku"),\n', _DEPENDS
            ),
        },
    )
    INVALID = (
        _on_product('        migrations.RenameField("product", "code", "sku"),\n'),
        _on_product(
            '        migrations.AlterField("product", "code", '
            'models.CharField(max_length=20, db_column="sku")),\n'
        ),
        _on_product(
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
            before = _before(step)
            if before is not None and isinstance(before.kwarg("db_column"), str):
                return
            yield self.at(
                step.migration,
                operation.span,
                f"RenameField {model_label(step)}.{_text(old_name)} -> {_text(new_name)} renames the column: "
                "the old release still running during the deploy queries the old name and fails",
            )
        elif operation.is_("AlterField") and not new:
            found = _field(step)
            if found is None:
                return
            name, call = found
            before = _before(step)
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
        _new_product('        migrations.RenameModel("Product", "Item"),\n'),
        {
            _INITIAL: _migration(
                """\
        migrations.CreateModel(
            name="Product",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
            options={"db_table": "shop_product"},
        ),
""",
                extra="    initial = True\n",
            ),
            _CHANGE: _migration('        migrations.RenameModel("Product", "Item"),\n', _DEPENDS),
        },
    )
    INVALID = (
        _on_product('        migrations.RenameModel("Product", "Item"),\n'),
        _on_product('        migrations.AlterModelTable("product", "catalogue_product"),\n'),
        _on_product(
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
                f"RenameModel {_text(old)} -> {_text(new)} renames its table: the old release still running "
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
        _on_product(
            '        migrations.AlterField("product", "name", models.CharField(max_length=200)),\n'
        ),
        _on_product('        migrations.AlterField("product", "name", models.TextField()),\n'),
        _new_product('        migrations.AlterField("product", "code", models.IntegerField()),\n'),
        # Text to number also narrows: MIG103 reports it, and says the table is rewritten.
        _on_product('        migrations.AlterField("product", "code", models.IntegerField()),\n'),
        _on_product(
            '        migrations.AlterField("product", "stock", '
            "models.IntegerField(default=0, help_text='units')),\n"
        ),
    )
    INVALID = (
        _on_product(
            '        migrations.AlterField("product", "stock", models.BigIntegerField(default=0)),\n'
        ),
        _on_product(
            '        migrations.AlterField("product", "stock", models.FloatField(default=0)),\n'
        ),
        _on_product(
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
            found = _field(step)
            before = _before(step)
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


class AddIndexNotConcurrently(DeployRule):
    """On PostgreSQL, `CREATE INDEX` (what AddIndex, `db_index=True` and `index_together`
    run) takes a SHARE lock on the table for as long as the index builds: every INSERT,
    UPDATE and DELETE on the table waits, for minutes on a large table.

    Safe recipe: `AddIndexConcurrently` from `django.contrib.postgres.operations` in a
    migration with `atomic = False` (CREATE INDEX CONCURRENTLY builds without blocking
    writes), or `CREATE INDEX CONCURRENTLY` in RunSQL wrapped in SeparateDatabaseAndState.
    Only reported on PostgreSQL: `[tool.miglint] database = "postgresql"`, or, when no
    database is configured, a project whose migrations import `django.contrib.postgres`
    (MySQL's InnoDB builds secondary indexes online). Indexes on new tables are fine.

    A primary key or unique field gets no index of its own (its constraint has one: MIG506
    for unique). The index Django adds with a foreign key is part of MIG507's finding; only
    an explicit `db_index=True` on a foreign key is reported here, or the index of a foreign
    key with `db_constraint=False` (no MIG507 then, and the index still builds).
    """

    code = "MIG505"
    name = "add-index-not-concurrently"
    severity = Severity.WARNING
    operations = frozenset({"AddIndex", "AddField", "AlterField", "AlterIndexTogether", "RunSQL"})
    summary = "AddIndex or db_index=True on an existing PostgreSQL table, not CONCURRENTLY."
    fix = (
        "Use django.contrib.postgres.operations.AddIndexConcurrently in a migration with "
        "`atomic = False`."
    )
    autofix = (
        "`--fix` replaces AddIndex with AddIndexConcurrently (imported from "
        "`django.contrib.postgres.operations`) and sets `atomic = False` on the Migration class. "
        "Safe when the AddIndex is the migration's only operation (or the migration is already "
        "not atomic); unsafe otherwise, as its other operations lose their transaction. "
        "`db_index=True`, `index_together` and RunSQL are not fixed: the index they create "
        "has no name to give AddIndexConcurrently."
    )
    backends = frozenset({"postgresql"})
    when_unknown = False
    _INDEX = 'models.Index(fields=["name"], name="product_name_idx")'
    VALID = (
        {
            **_POSTGRES,
            _INITIAL: _PRODUCT,
            _CHANGE: _CONCURRENT_IMPORT
            + _migration(
                f'        AddIndexConcurrently("product", {_INDEX}),\n',
                _DEPENDS,
                extra="    atomic = False\n",
            ),
        },
        {
            **_POSTGRES,
            _INITIAL: _new_product(f'        migrations.AddIndex("product", {_INDEX}),\n'),
        },
        # No database configured and no sign of PostgreSQL: not reported.
        _on_product(f'        migrations.AddIndex("product", {_INDEX}),\n'),
        {
            "pyproject.toml": '[tool.miglint]\ndatabase = "mysql"\n',
            **_on_product(f'        migrations.AddIndex("product", {_INDEX}),\n'),
        },
    )
    INVALID = (
        Invalid(
            {**_POSTGRES, **_on_product(f'        migrations.AddIndex("product", {_INDEX}),\n')},
            {
                _CHANGE: _CONCURRENT_IMPORT
                + _migration(
                    f'        AddIndexConcurrently("product", {_INDEX}),\n',
                    _DEPENDS,
                    extra="    atomic = False\n",
                )
            },
            SAFE,
        ),
        # Not the migration's only operation: the others would lose their transaction.
        Invalid(
            {
                **_POSTGRES,
                **_on_product(
                    f'        migrations.AddIndex("product", {_INDEX}),\n'
                    '        migrations.AlterField("product", "stock", models.IntegerField(default=1)),\n'
                ),
            },
            {
                _CHANGE: _CONCURRENT_IMPORT
                + _migration(
                    f'        AddIndexConcurrently("product", {_INDEX}),\n'
                    '        migrations.AlterField("product", "stock", models.IntegerField(default=1)),\n',
                    _DEPENDS,
                    extra="    atomic = False\n",
                )
            },
            UNSAFE,
        ),
        {
            **_POSTGRES,
            **_on_product(
                '        migrations.AlterField("product", "code", '
                "models.CharField(max_length=20, db_index=True)),\n"
            ),
        },
        {
            **_POSTGRES,
            **_on_product(
                '        migrations.RunSQL("CREATE INDEX product_code ON shop_product (code)", '
                '"DROP INDEX product_code"),\n'
            ),
        },
    )

    def edit(self, finding: Finding, source: FixSource) -> Edit | None:
        from miglint.fixes.operations import concurrent_index

        operation = source.operation_at(finding, "AddIndex")
        return None if operation is None else concurrent_index(source, operation)

    def check_step(self, step: Step, context: Context) -> Iterator[Finding]:
        operation = step.operation
        migration = step.migration
        where = context.where()
        if not context.is_new(step):
            message = None
            if operation.is_("AddIndex"):
                message = f"AddIndex on {model_label(step)}"
            elif operation.is_("AddField"):
                found = _field(step)
                if found and _plain_index(found[1]):
                    why = "db_index=True" if flag(found[1], "db_index") is True else "an index"
                    message = f"AddField {model_label(step)}.{found[0]} with {why}"
            elif operation.is_("AlterField"):
                found = _field(step)
                before = _before(step)
                if (
                    found
                    and before is not None
                    and _plain_index(found[1])
                    and is_indexed(before) is False
                ):
                    message = f"AlterField {model_label(step)}.{found[0]} with db_index=True"
            elif operation.is_("AlterIndexTogether") and step.table is not None:
                value = operation.argument(1, "index_together")
                new_sets = together_sets(value)
                old_sets = step.table.index_together
                if new_sets and old_sets is not None and new_sets - old_sets:
                    message = f"AlterIndexTogether on {model_label(step)}"
            if message:
                yield self.at(
                    migration,
                    operation.span,
                    f"{message} runs CREATE INDEX without CONCURRENTLY on PostgreSQL{where}: "
                    "writes to the table are blocked while the index builds",
                )
        for hazard in sql_hazards(step, context, sqlmod.CREATE_INDEX):
            yield self.at(
                migration,
                hazard.span,
                f"RunSQL creates an index on {hazard.table} without CONCURRENTLY on "
                f"PostgreSQL{where}: writes to the table are blocked while it builds",
            )


def _plain_index(call: s.Call) -> bool:
    """The field gets an index of its own: indexed, not unique, not the primary key (those
    have their constraint's index). A foreign key's implicit index is part of MIG507's
    finding, as on AddField: only an explicit `db_index=True` counts for it, unless the key
    has no constraint (`db_constraint=False`, MIG507's own recipe) and so no MIG507."""
    if is_unique(call) or flag(call, "primary_key") is not False:
        return False
    if call.name in FOREIGN_KEYS:
        no_constraint = flag(call, "db_constraint", True) is False
        return flag(call, "db_index") is True or (no_constraint and is_indexed(call) is True)
    return is_indexed(call) is True


class AddUnique(DeployRule):
    """Adding a unique constraint (unique=True, OneToOneField, UniqueConstraint,
    unique_together) to a table that has rows builds a unique index while holding a lock
    that blocks writes (ACCESS EXCLUSIVE for ALTER TABLE ... ADD CONSTRAINT on PostgreSQL),
    and fails the whole migration if the existing rows hold a duplicate. A new NOT NULL
    unique column with a default always fails on a table with two rows or more: every row
    gets the same value.

    Safe recipe: check for duplicates first; on PostgreSQL build the index with
    `CREATE UNIQUE INDEX CONCURRENTLY` (non-atomic migration) and attach it with
    `ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX`, with SeparateDatabaseAndState
    telling Django's state about it. Unique constraints on new tables are fine.
    """

    code = "MIG506"
    name = "add-unique"
    severity = Severity.WARNING
    operations = frozenset(
        {"AddField", "AlterField", "AddConstraint", "AlterUniqueTogether", "RunSQL"}
    )
    summary = "A unique field or constraint added to an existing table."
    fix = (
        "Check for duplicates, then build the index CONCURRENTLY and attach it with "
        "ADD CONSTRAINT ... USING INDEX (PostgreSQL), in a SeparateDatabaseAndState."
    )
    VALID = (
        _new_product(
            '        migrations.AddConstraint("product", '
            'models.UniqueConstraint(fields=["code"], name="unique_code")),\n'
        ),
        _on_product(
            '        migrations.AlterField("product", "code", models.CharField(max_length=30)),\n'
        ),
        _on_product(
            '        migrations.RunSQL("CREATE UNIQUE INDEX CONCURRENTLY product_code_uniq '
            'ON shop_product (code)", "DROP INDEX CONCURRENTLY product_code_uniq"),\n',
            extra="    atomic = False\n",
        ),
    )
    INVALID = (
        _on_product(
            '        migrations.AddConstraint("product", '
            'models.UniqueConstraint(fields=["code"], name="unique_code")),\n'
        ),
        _on_product(
            '        migrations.AlterField("product", "code", '
            "models.CharField(max_length=20, unique=True)),\n"
        ),
        _on_product('        migrations.AlterUniqueTogether("product", {("name", "code")}),\n'),
        _on_product(
            '        migrations.AddField("product", "sku", '
            "models.CharField(max_length=20, unique=True, default='')),\n"
        ),
    )

    def check_step(self, step: Step, context: Context) -> Iterator[Finding]:
        migration = step.migration
        if not context.is_new(step):
            yield from self.operation_finding(step)
        for hazard in sql_hazards(step, context, sqlmod.ADD_UNIQUE):
            yield self.at(
                migration,
                hazard.span,
                f"RunSQL adds a unique constraint to {hazard.table}: the index builds under a "
                "lock that blocks writes, and the migration fails on duplicates",
            )

    def operation_finding(self, step: Step) -> Iterator[Finding]:
        operation = step.operation
        model = model_label(step)
        consequence = (
            "builds a unique index under a lock that blocks writes, and fails if existing "
            "rows hold duplicates"
        )
        if operation.is_("AddField"):
            found = _field(step)
            if found is None or not is_unique(found[1]):
                return
            name, call = found
            if given(call, "default") and nullable(call) is False:
                yield self.at(
                    step.migration,
                    operation.span,
                    f"AddField {model}.{name} is unique with a default: every existing row "
                    "gets the same value, so the migration fails on a table with two rows",
                    severity=Severity.ERROR,
                )
                return
            yield self.at(step.migration, operation.span, f"AddField {model}.{name} {consequence}")
        elif operation.is_("AlterField"):
            found = _field(step)
            before = _before(step)
            if found and before is not None and is_unique(found[1]) and not is_unique(before):
                yield self.at(
                    step.migration,
                    operation.span,
                    f"AlterField {model}.{found[0]} makes it unique: it {consequence}",
                )
        elif operation.is_("AddConstraint"):
            constraint = operation.argument(1, "constraint")
            if isinstance(constraint, s.Call) and constraint.name == "UniqueConstraint":
                yield self.at(
                    step.migration,
                    operation.span,
                    f"AddConstraint UniqueConstraint on {model} {consequence}",
                )
        elif operation.is_("AlterUniqueTogether") and step.table is not None:
            new_sets = together_sets(operation.argument(1, "unique_together"))
            old_sets = step.table.unique_together
            if new_sets and old_sets is not None and new_sets - old_sets:
                yield self.at(
                    step.migration,
                    operation.span,
                    f"AlterUniqueTogether on {model} adds a unique constraint: it {consequence}",
                )


class AddForeignKeyValidated(DeployRule):
    """A new foreign-key constraint is checked against every existing row when it is
    added. On PostgreSQL, ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY (what AddField of
    a ForeignKey runs) holds a SHARE ROW EXCLUSIVE lock on both tables while it scans the
    referencing one, blocking writes to both (often a busy table such as users); MySQL
    copies the table to add a foreign key when foreign_key_checks is on.

    Safe recipe (PostgreSQL): add the field with `db_constraint=False`, then add the
    constraint with `NOT VALID` (instant) and `VALIDATE CONSTRAINT` (a scan that blocks no
    writes) in a later migration, through RunSQL inside SeparateDatabaseAndState. Not
    reported on SQLite, nor for new tables.
    """

    code = "MIG507"
    name = "add-foreign-key-validated"
    severity = Severity.WARNING
    operations = frozenset({"AddField", "AlterField", "RunSQL"})
    summary = "A new foreign-key constraint validated at once on an existing table."
    fix = (
        "Add the field with db_constraint=False, then ADD CONSTRAINT ... NOT VALID and "
        "VALIDATE CONSTRAINT in a later migration (RunSQL in SeparateDatabaseAndState)."
    )
    backends = frozenset({"postgresql", "mysql", "oracle"})
    VALID = (
        _new_product(
            '        migrations.AddField("product", "maker", models.ForeignKey('
            'null=True, on_delete=models.CASCADE, to="shop.maker")),\n'
        ),
        _on_product(
            '        migrations.AddField("product", "maker", models.ForeignKey('
            'db_constraint=False, null=True, on_delete=models.CASCADE, to="shop.maker")),\n'
        ),
        _on_product(
            '        migrations.RunSQL("ALTER TABLE shop_product ADD CONSTRAINT maker_fk '
            'FOREIGN KEY (maker_id) REFERENCES shop_maker (id) NOT VALID", '
            "migrations.RunSQL.noop),\n"
        ),
        {
            "pyproject.toml": '[tool.miglint]\ndatabase = "sqlite"\n',
            **_on_product(
                '        migrations.AddField("product", "maker", models.ForeignKey('
                'null=True, on_delete=models.CASCADE, to="shop.maker")),\n'
            ),
        },
    )
    INVALID = (
        _on_product(
            '        migrations.AddField("product", "maker", models.ForeignKey('
            'null=True, on_delete=models.CASCADE, to="shop.maker")),\n'
        ),
        _on_product(
            '        migrations.RunSQL("ALTER TABLE shop_product ADD CONSTRAINT maker_fk '
            'FOREIGN KEY (maker_id) REFERENCES shop_maker (id)", migrations.RunSQL.noop),\n'
        ),
    )

    def check_step(self, step: Step, context: Context) -> Iterator[Finding]:
        operation = step.operation
        consequence = (
            "adds a foreign-key constraint checked against every existing row while both "
            "tables are locked against writes"
        )
        if not context.is_new(step):
            found = _field(step)
            if operation.is_("AddField") and found and has_constraint(found[1]):
                yield self.at(
                    step.migration,
                    operation.span,
                    f"AddField {model_label(step)}.{found[0]} {consequence}",
                )
            elif operation.is_("AlterField") and found and has_constraint(found[1]):
                before = _before(step)
                if before is not None and (
                    before.name not in FOREIGN_KEYS or flag(before, "db_constraint", True) is False
                ):
                    yield self.at(
                        step.migration,
                        operation.span,
                        f"AlterField {model_label(step)}.{found[0]} {consequence}",
                    )
        for hazard in sql_hazards(step, context, sqlmod.ADD_FOREIGN_KEY):
            yield self.at(
                step.migration,
                hazard.span,
                f"RunSQL adds a foreign key to {hazard.table} without NOT VALID: every row is "
                "checked while both tables are locked against writes",
            )


class ConcurrentInAtomic(DeployRule):
    """`CREATE INDEX CONCURRENTLY` (AddIndexConcurrently, RemoveIndexConcurrently, or
    RunSQL with CONCURRENTLY, VACUUM, ...) cannot run inside a transaction block, and Django
    wraps every migration in one unless it says `atomic = False`. The migration fails on
    deploy ("CREATE INDEX CONCURRENTLY cannot run inside a transaction block", or Django's
    NotSupportedError), forwards or, for `reverse_sql`, when rolling back.

    Safe recipe: put the concurrent operation in its own migration with `atomic = False`.
    """

    # A concurrent operation fails in an atomic migration whatever its table.
    about_tables = False
    code = "MIG508"
    name = "concurrent-in-atomic"
    severity = Severity.ERROR
    operations = frozenset({"AddIndexConcurrently", "RemoveIndexConcurrently", "RunSQL"})
    summary = "A CONCURRENTLY operation in a migration that is not `atomic = False`."
    fix = "Move the operation to its own migration with `atomic = False`."
    autofix = (
        "`--fix` sets `atomic = False` on the Migration class (it adds the line, or changes an "
        "`atomic = True` it finds). Safe when every operation of the migration is one that "
        "cannot run in a transaction; unsafe when there are others, which then lose theirs "
        "(move them to a migration of their own instead, if they need it)."
    )
    _OPERATION = (
        '        AddIndexConcurrently("product", '
        'models.Index(fields=["name"], name="product_name_idx")),\n'
    )
    VALID = (
        {
            _INITIAL: _PRODUCT,
            _CHANGE: _CONCURRENT_IMPORT
            + _migration(_OPERATION, _DEPENDS, extra="    atomic = False\n"),
        },
        _migration(
            '        migrations.RunSQL("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (c)", '
            '"DROP INDEX CONCURRENTLY IF EXISTS i"),\n',
            extra="    atomic = False\n",
        ),
        _migration(
            "        migrations.RunSQL(\"COMMENT ON INDEX i IS 'built CONCURRENTLY'\", "
            '"COMMENT ON INDEX i IS NULL"),\n'
        ),
    )
    _NOT_ATOMIC = "    atomic = False\n"
    _CONCURRENT_SQL = (
        '        migrations.RunSQL("CREATE INDEX CONCURRENTLY i ON t (c)", "DROP INDEX i"),\n'
    )
    _CONCURRENT_REVERSE = (
        '        migrations.RunSQL("CREATE INDEX i ON t (c)", "DROP INDEX CONCURRENTLY i"),\n'
    )
    INVALID = (
        Invalid(
            {_INITIAL: _PRODUCT, _CHANGE: _CONCURRENT_IMPORT + _migration(_OPERATION, _DEPENDS)},
            {_CHANGE: _CONCURRENT_IMPORT + _migration(_OPERATION, _DEPENDS, extra=_NOT_ATOMIC)},
            SAFE,
        ),
        Invalid(
            _migration(_CONCURRENT_SQL),
            _migration(_CONCURRENT_SQL, extra=_NOT_ATOMIC),
            SAFE,
        ),
        Invalid(
            _migration(_CONCURRENT_REVERSE),
            _migration(_CONCURRENT_REVERSE, extra=_NOT_ATOMIC),
            SAFE,
        ),
        # With other operations, which lose their transaction: unsafe.
        Invalid(
            {
                _INITIAL: _PRODUCT,
                _CHANGE: _CONCURRENT_IMPORT
                + _migration(
                    _OPERATION
                    + '        migrations.AddField("product", "note", models.TextField(null=True)),\n',
                    _DEPENDS,
                ),
            },
            {
                _CHANGE: _CONCURRENT_IMPORT
                + _migration(
                    _OPERATION
                    + '        migrations.AddField("product", "note", models.TextField(null=True)),\n',
                    _DEPENDS,
                    extra=_NOT_ATOMIC,
                )
            },
            UNSAFE,
        ),
    )

    def edit(self, finding: Finding, source: FixSource) -> Edit | None:
        migration = source.migration
        if migration is None:
            return None
        steps = [
            step for step in table_steps(source.project) if step.migration.path == migration.path
        ]
        from miglint.fixes.operations import atomic_false

        return atomic_false(source, safe=all(map(_outside_transaction, steps)))

    def check_step(self, step: Step, context: Context) -> Iterator[Finding]:
        migration = step.migration
        if not migration.facts.atomic:
            return
        operation = step.operation
        if operation.is_("AddIndexConcurrently", "RemoveIndexConcurrently"):
            yield self.at(
                migration,
                operation.span,
                f"{operation.name} cannot run inside a transaction, and this migration is "
                "atomic: it fails on deploy (set `atomic = False`)",
            )
        verbs: dict[tuple[s.Span, bool], list[str]] = {}
        for found in runsql_statements(step, reverse=True):
            if found.statement.no_transaction:
                verbs.setdefault((found.span, found.reverse), []).append(found.statement.verb)
        for (span, reverse), found_verbs in verbs.items():
            direction = "reverse_sql" if reverse else "RunSQL"
            yield self.at(
                migration,
                span,
                f"{direction} runs {', '.join(dict.fromkeys(found_verbs))} that cannot run "
                "inside a transaction, and this migration is atomic: it fails (set `atomic = False`)",
            )


def _outside_transaction(step: Step) -> bool:
    """The step's operation cannot run inside a transaction (a concurrent index operation, or
    SQL such as CREATE INDEX CONCURRENTLY or VACUUM)."""
    if step.operation.is_("AddIndexConcurrently", "RemoveIndexConcurrently"):
        return True
    return any(found.statement.no_transaction for found in runsql_statements(step, reverse=True))


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
            **_ONLY_MIG5,
            _INITIAL: _PRODUCT,
            "shop/migrations/0002_nullable.py": _migration(
                '        migrations.AlterField("product", "code", '
                "models.CharField(max_length=20, null=True)),\n",
                _DEPENDS,
            ),
            "shop/migrations/0003_remove.py": _migration(
                '        migrations.RemoveField("product", "code"),\n',
                '("shop", "0002_nullable")',
            ),
        },
        {
            **_ONLY_MIG5,
            _INITIAL: _new_product('        migrations.RemoveField("product", "code"),\n'),
        },
        # MIG101 is selected: it reports this RemoveField, NOT NULL included.
        _on_product('        migrations.RemoveField("product", "code"),\n'),
    )
    INVALID = (
        {**_ONLY_MIG5, **_on_product('        migrations.RemoveField("product", "code"),\n')},
    )

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
        before = _before(step)
        if before is None or not required_column(before, is_django_field(before)):
            return
        table = step.table.name if step.table else default_table(step.migration.app, "?")
        column = column_name(_text(name), before)
        if (
            column is not None
            and (table.lower(), column.lower()) in context.columns_with_sql_default
        ):
            return
        yield self.at(
            step.migration,
            operation.span,
            f"RemoveField {model_label(step)}.{_text(name)} drops a NOT NULL column with no database "
            "default: while releases overlap, inserts without it fail (NOT NULL violation) "
            "and the old release's queries of it fail once it is gone",
        )
