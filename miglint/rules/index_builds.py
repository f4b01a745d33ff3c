"""Deploy safety: indexes and constraints built while the table is locked (MIG505-MIG508).

An index built without CONCURRENTLY, a unique constraint and a validated foreign key block
writes to the table while every row is read; concurrent operations cannot run inside the
migration's transaction. The rules of old code meeting the new schema are in `deploy`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from miglint import sql as sqlmod
from miglint.core.finding import SAFE, UNSAFE, Edit, Finding, Severity
from miglint.rules.base import Invalid
from miglint.rules.deploy_context import (
    FOREIGN_KEYS,
    Context,
    flag,
    given,
    has_constraint,
    is_indexed,
    is_unique,
    model_label,
    runsql_statements,
    sql_hazards,
)
from miglint.source import syntax as s
from miglint.state.history import nullable
from miglint.state.tablestate import Step, table_steps, together_sets

if TYPE_CHECKING:
    from miglint.fixes.source import FixSource
from miglint.rules.deploy_base import (
    CHANGE,
    CONCURRENT_IMPORT,
    DEPENDS,
    INITIAL,
    POSTGRES,
    PRODUCT,
    DeployRule,
    example_migration,
    new_product,
    on_product,
    step_field,
    step_field_before,
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
            **POSTGRES,
            INITIAL: PRODUCT,
            CHANGE: CONCURRENT_IMPORT
            + example_migration(
                f'        AddIndexConcurrently("product", {_INDEX}),\n',
                DEPENDS,
                extra="    atomic = False\n",
            ),
        },
        {
            **POSTGRES,
            INITIAL: new_product(f'        migrations.AddIndex("product", {_INDEX}),\n'),
        },
        # No database configured and no sign of PostgreSQL: not reported.
        on_product(f'        migrations.AddIndex("product", {_INDEX}),\n'),
        {
            "pyproject.toml": '[tool.miglint]\ndatabase = "mysql"\n',
            **on_product(f'        migrations.AddIndex("product", {_INDEX}),\n'),
        },
    )
    INVALID = (
        Invalid(
            {**POSTGRES, **on_product(f'        migrations.AddIndex("product", {_INDEX}),\n')},
            {
                CHANGE: CONCURRENT_IMPORT
                + example_migration(
                    f'        AddIndexConcurrently("product", {_INDEX}),\n',
                    DEPENDS,
                    extra="    atomic = False\n",
                )
            },
            SAFE,
        ),
        # Not the migration's only operation: the others would lose their transaction.
        Invalid(
            {
                **POSTGRES,
                **on_product(
                    f'        migrations.AddIndex("product", {_INDEX}),\n'
                    '        migrations.AlterField("product", "stock", models.IntegerField(default=1)),\n'
                ),
            },
            {
                CHANGE: CONCURRENT_IMPORT
                + example_migration(
                    f'        AddIndexConcurrently("product", {_INDEX}),\n'
                    '        migrations.AlterField("product", "stock", models.IntegerField(default=1)),\n',
                    DEPENDS,
                    extra="    atomic = False\n",
                )
            },
            UNSAFE,
        ),
        {
            **POSTGRES,
            **on_product(
                '        migrations.AlterField("product", "code", '
                "models.CharField(max_length=20, db_index=True)),\n"
            ),
        },
        {
            **POSTGRES,
            **on_product(
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
                found = step_field(step)
                if found and _plain_index(found[1]):
                    why = "db_index=True" if flag(found[1], "db_index") is True else "an index"
                    message = f"AddField {model_label(step)}.{found[0]} with {why}"
            elif operation.is_("AlterField"):
                found = step_field(step)
                before = step_field_before(step)
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
        new_product(
            '        migrations.AddConstraint("product", '
            'models.UniqueConstraint(fields=["code"], name="unique_code")),\n'
        ),
        on_product(
            '        migrations.AlterField("product", "code", models.CharField(max_length=30)),\n'
        ),
        on_product(
            '        migrations.RunSQL("CREATE UNIQUE INDEX CONCURRENTLY product_code_uniq '
            'ON shop_product (code)", "DROP INDEX CONCURRENTLY product_code_uniq"),\n',
            extra="    atomic = False\n",
        ),
    )
    INVALID = (
        on_product(
            '        migrations.AddConstraint("product", '
            'models.UniqueConstraint(fields=["code"], name="unique_code")),\n'
        ),
        on_product(
            '        migrations.AlterField("product", "code", '
            "models.CharField(max_length=20, unique=True)),\n"
        ),
        on_product('        migrations.AlterUniqueTogether("product", {("name", "code")}),\n'),
        on_product(
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
            found = step_field(step)
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
            found = step_field(step)
            before = step_field_before(step)
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
        new_product(
            '        migrations.AddField("product", "maker", models.ForeignKey('
            'null=True, on_delete=models.CASCADE, to="shop.maker")),\n'
        ),
        on_product(
            '        migrations.AddField("product", "maker", models.ForeignKey('
            'db_constraint=False, null=True, on_delete=models.CASCADE, to="shop.maker")),\n'
        ),
        on_product(
            '        migrations.RunSQL("ALTER TABLE shop_product ADD CONSTRAINT maker_fk '
            'FOREIGN KEY (maker_id) REFERENCES shop_maker (id) NOT VALID", '
            "migrations.RunSQL.noop),\n"
        ),
        {
            "pyproject.toml": '[tool.miglint]\ndatabase = "sqlite"\n',
            **on_product(
                '        migrations.AddField("product", "maker", models.ForeignKey('
                'null=True, on_delete=models.CASCADE, to="shop.maker")),\n'
            ),
        },
    )
    INVALID = (
        on_product(
            '        migrations.AddField("product", "maker", models.ForeignKey('
            'null=True, on_delete=models.CASCADE, to="shop.maker")),\n'
        ),
        on_product(
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
            found = step_field(step)
            if operation.is_("AddField") and found and has_constraint(found[1]):
                yield self.at(
                    step.migration,
                    operation.span,
                    f"AddField {model_label(step)}.{found[0]} {consequence}",
                )
            elif operation.is_("AlterField") and found and has_constraint(found[1]):
                before = step_field_before(step)
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
            INITIAL: PRODUCT,
            CHANGE: CONCURRENT_IMPORT
            + example_migration(_OPERATION, DEPENDS, extra="    atomic = False\n"),
        },
        example_migration(
            '        migrations.RunSQL("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (c)", '
            '"DROP INDEX CONCURRENTLY IF EXISTS i"),\n',
            extra="    atomic = False\n",
        ),
        example_migration(
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
            {INITIAL: PRODUCT, CHANGE: CONCURRENT_IMPORT + example_migration(_OPERATION, DEPENDS)},
            {CHANGE: CONCURRENT_IMPORT + example_migration(_OPERATION, DEPENDS, extra=_NOT_ATOMIC)},
            SAFE,
        ),
        Invalid(
            example_migration(_CONCURRENT_SQL),
            example_migration(_CONCURRENT_SQL, extra=_NOT_ATOMIC),
            SAFE,
        ),
        Invalid(
            example_migration(_CONCURRENT_REVERSE),
            example_migration(_CONCURRENT_REVERSE, extra=_NOT_ATOMIC),
            SAFE,
        ),
        # With other operations, which lose their transaction: unsafe.
        Invalid(
            {
                INITIAL: PRODUCT,
                CHANGE: CONCURRENT_IMPORT
                + example_migration(
                    _OPERATION
                    + '        migrations.AddField("product", "note", models.TextField(null=True)),\n',
                    DEPENDS,
                ),
            },
            {
                CHANGE: CONCURRENT_IMPORT
                + example_migration(
                    _OPERATION
                    + '        migrations.AddField("product", "note", models.TextField(null=True)),\n',
                    DEPENDS,
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
