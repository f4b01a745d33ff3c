"""Locks on PostgreSQL that old code and the other deploy rules do not see: constraints
validated at once (MIG510) and indexes dropped without CONCURRENTLY (MIG511).

The other PostgreSQL lock rules have a module each (`table_rewrites` MIG512, `lock_timeout`
MIG513, `primary_keys` MIG514) and share `lock_facts`. The lock each operation takes is
PostgreSQL's documented one, and the differential test reads it from `pg_locks` while the
SQL that `sqlmigrate` writes runs in an open transaction. Like the other deploy rules these
follow `[tool.miglint] database` (or the settings' ENGINE); see `deploy_context` for how new
tables are recognised (nothing to lock).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from miglint import sql as sqlmod
from miglint.core.finding import SAFE, UNSAFE, Edit, Finding, Severity
from miglint.graph.nodes import NodeKey
from miglint.project.load import Project
from miglint.rules.base import Invalid
from miglint.rules.deploy_base import (
    CHANGE,
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
    text_or_unknown,
)
from miglint.rules.deploy_context import (
    NO_COLUMN,
    Context,
    column_name,
    column_type,
    field_call,
    model_label,
    runsql_statements,
    sql_hazards,
)
from miglint.rules.lossy_alter import LossyAlterField
from miglint.source import syntax as s
from miglint.state.history import nullable
from miglint.state.tablestate import Step, default_table, together_sets

if TYPE_CHECKING:
    from miglint.fixes.source import FixSource
from miglint.rules.lock_facts import (
    POSITIVE_FIELDS,
    POSTGRES_OPERATIONS,
    calls_in,
    drops_index,
    has_table,
    index_backed,
    indexes_made,
    known_indexes,
    made_here,
    maybe_absent,
    track_constraints,
)

_CHECK = 'models.CheckConstraint(condition=models.Q(stock__gte=0), name="stock_not_negative")'


def _constraint_fix(django: tuple[int, int] | None) -> str:
    """How to add a CHECK constraint without holding the lock while every row is read."""
    operations = (
        "AddConstraintNotValid, then ValidateConstraint in a later migration "
        "(django.contrib.postgres.operations)"
    )
    by_hand = (
        "RunSQL `ALTER TABLE ... ADD CONSTRAINT ... CHECK (...) NOT VALID`, then `VALIDATE "
        "CONSTRAINT` in a later migration (SeparateDatabaseAndState tells the state)"
    )
    if django is None:
        return f"Add it with {operations} on Django 4.0+; before, {by_hand}."
    if django >= (4, 0):
        return f"Add it with {operations}: VALIDATE reads the rows without blocking writes."
    return f"Add it with {by_hand}: VALIDATE reads the rows without blocking writes."


_EXCLUSION_FIX = (
    "PostgreSQL cannot add an exclusion constraint NOT VALID: create it with the table, or "
    "run it in a low-traffic window with a short lock_timeout set before it."
)
_NOT_NULL_FIX = (
    "Add CHECK (column IS NOT NULL) NOT VALID (AddConstraintNotValid), validate it in a later "
    "migration (ValidateConstraint), then make the column NOT NULL: PostgreSQL 12+ trusts the "
    "validated check and skips the scan; drop the check after."
)
_CHECK_PROOF = re.compile(r'check\s*\(\s*"?([a-z_][a-z0-9_$]*)"?\s+is\s+not\s+null\s*\)', re.I)


class AddConstraintValidated(DeployRule):
    """On PostgreSQL, `ALTER TABLE ... ADD CONSTRAINT ... CHECK` (what AddConstraint of a
    CheckConstraint runs, and AlterField to a Positive...Field, which MIG103 reports first
    when it is selected: negative values make it fail) reads every row to validate
    the constraint while it holds an ACCESS EXCLUSIVE lock: no query can read or write the
    table until the scan is over. An ExclusionConstraint also builds its index under that
    lock. Making an existing column NOT NULL (`ALTER COLUMN ... SET NOT NULL`) checks every
    row the same way.

    Safe recipe: for a check constraint, `AddConstraintNotValid` then `ValidateConstraint`
    (django.contrib.postgres.operations, Django 4.0+), ideally in separate migrations: NOT
    VALID is instant and VALIDATE reads the rows under a lock that blocks no writes. For NOT
    NULL, add `CHECK (column IS NOT NULL) NOT VALID`, validate it, then set NOT NULL
    (PostgreSQL 12+ uses the validated check instead of scanning); a column with such a check
    added earlier is not reported. An exclusion constraint cannot be NOT VALID: build it with
    the table, or add it in a low-traffic window with a short lock_timeout.

    NOT NULL without a default on a nullable column is MIG103's finding (the migration fails
    on NULL rows), whose message says the same about the lock on PostgreSQL: MIG510 reports
    an AlterField to NOT NULL only where MIG103 does not (a default fills the NULLs, or a data
    migration filled them). A CHECK that comes with a new column (a PositiveIntegerField
    added) is validated as the column is added and is not reported. RunSQL is read too:
    `ADD CONSTRAINT ... CHECK` without NOT VALID, `EXCLUDE`, `SET NOT NULL`.

    PostgreSQL only: `database = "postgresql"` (or the settings' ENGINE), or, when the
    backend is unknown, a project whose migrations import django.contrib.postgres.
    """

    code = "MIG510"
    name = "add-constraint-validated"
    severity = Severity.WARNING
    operations = frozenset({"AddConstraint", "AddConstraintNotValid", "AlterField", "RunSQL"})
    summary = (
        "A check or exclusion constraint (or NOT NULL) validated at once on an existing table."
    )
    fix = _constraint_fix(None)
    backends = frozenset({"postgresql"})
    when_unknown = False
    VALID = (
        {
            **POSTGRES,
            INITIAL: PRODUCT,
            CHANGE: POSTGRES_OPERATIONS.format("AddConstraintNotValid")
            + example_migration(f'        AddConstraintNotValid("product", {_CHECK}),\n', DEPENDS),
            "shop/migrations/0003_validate.py": POSTGRES_OPERATIONS.format("ValidateConstraint")
            + example_migration(
                '        ValidateConstraint("product", "stock_not_negative"),\n',
                '("shop", "0002_change")',
            ),
        },
        {
            **POSTGRES,
            INITIAL: new_product(f'        migrations.AddConstraint("product", {_CHECK}),\n'),
        },
        {
            **POSTGRES,
            **on_product(
                '        migrations.RunSQL("ALTER TABLE shop_product ADD CONSTRAINT stock_ok '
                'CHECK (stock >= 0) NOT VALID", migrations.RunSQL.noop),\n'
            ),
        },
        # No sign of PostgreSQL: not reported.
        on_product(f'        migrations.AddConstraint("product", {_CHECK}),\n'),
    )
    INVALID = (
        {**POSTGRES, **on_product(f'        migrations.AddConstraint("product", {_CHECK}),\n')},
        {
            # NOT NULL with a default: Django fills the NULLs, then PostgreSQL checks every row.
            **POSTGRES,
            **on_product(
                '        migrations.AddField("product", "note", models.TextField(null=True)),\n'
            ),
            "shop/migrations/0003_note_required.py": example_migration(
                '        migrations.AlterField("product", "note", models.TextField(default="")),\n',
                '("shop", "0002_change")',
            ),
        },
        {
            **POSTGRES,
            **on_product(
                '        migrations.RunSQL("ALTER TABLE shop_product ADD CONSTRAINT stock_ok '
                'CHECK (stock >= 0)", migrations.RunSQL.noop),\n'
            ),
        },
    )

    def check(self, project: Project) -> Iterator[Finding]:
        context = Context.of(project)
        if context.database not in self.backends:
            return
        # MIG103 reports NOT NULL without a default, and says this about the lock.
        lossy = LossyAlterField()
        narrowed = {
            (migration.key, operation.span)
            for migration, operation, _, _ in lossy.narrowing(project)
            if self.reported_by(project, lossy.code, migration.path)
        }
        # Columns a CHECK (column IS NOT NULL) constraint covers, per app and table.
        proven: dict[str, set[tuple[str, str]]] = {}
        for step in self.steps(project):
            known = proven.setdefault(step.migration.app_key, set())
            if (step.migration.key, step.operation.span) not in narrowed:
                yield from self.check_step(step, context, known)
            known.update(_not_null_checks(step))

    def check_step(  # type: ignore[override]
        self, step: Step, context: Context, proven: set[tuple[str, str]]
    ) -> Iterator[Finding]:
        operation = step.operation
        migration = step.migration
        where = context.where()
        django = context.project.django_version
        if not context.is_new(step) and has_table(step):
            model = model_label(step)
            if operation.is_("AddConstraint"):
                constraint = field_call(operation.argument(1, "constraint"))
                name = text_or_unknown(constraint.kwarg("name")) if constraint else "?"
                if constraint and constraint.name == "CheckConstraint":
                    yield self.at(
                        migration,
                        operation.span,
                        f"AddConstraint CheckConstraint {name} on {model} checks every row "
                        f"while the table is locked ACCESS EXCLUSIVE on PostgreSQL{where}: "
                        "reads and writes wait until the scan is over",
                        fix=_constraint_fix(django),
                    )
                elif constraint and constraint.name == "ExclusionConstraint":
                    yield self.at(
                        migration,
                        operation.span,
                        f"AddConstraint ExclusionConstraint {name} on {model} builds its index "
                        "and checks every row while the table is locked ACCESS EXCLUSIVE: "
                        "reads and writes wait until it is done",
                        fix=_EXCLUSION_FIX,
                    )
            elif operation.is_("AlterField"):
                yield from self.alter_field(step, context, proven)
        yield from self.runsql(step, context, proven)

    def alter_field(
        self, step: Step, context: Context, proven: set[tuple[str, str]]
    ) -> Iterator[Finding]:
        found, before = step_field(step), step_field_before(step)
        if found is None or before is None:
            return
        name, call = found
        model = model_label(step)
        old_type, new_type = column_type(before), column_type(call)
        if (
            call.name in POSITIVE_FIELDS
            and before.name not in POSITIVE_FIELDS
            and old_type is not None
            and old_type == new_type
        ):
            yield self.at(
                step.migration,
                step.operation.span,
                f"AlterField {model}.{name} ({before.name} -> {call.name}) adds a CHECK "
                "constraint that is checked against every row while the table is locked "
                "ACCESS EXCLUSIVE: reads and writes wait until the scan is over",
                fix="Keep the column as it is in the database (SeparateDatabaseAndState) and "
                "add the check with AddConstraintNotValid, then ValidateConstraint later.",
            )
            return
        if call.name in NO_COLUMN or nullable(before) is not True or nullable(call) is not False:
            return
        column = column_name(name, call)
        table = step.table.name if step.table else default_table(step.migration.app, model)
        if (table, name.lower()) in proven or (
            column is not None and (table, column.lower()) in proven
        ):
            return
        yield self.at(
            step.migration,
            step.operation.span,
            f"AlterField {model}.{name} makes it NOT NULL: PostgreSQL checks every row for NULL "
            "while the table is locked ACCESS EXCLUSIVE, blocking reads and writes until the "
            "scan is over",
            fix=_NOT_NULL_FIX,
        )

    def runsql(
        self, step: Step, context: Context, proven: set[tuple[str, str]]
    ) -> Iterator[Finding]:
        for hazard in sql_hazards(step, context, sqlmod.ADD_CHECK, sqlmod.ADD_EXCLUSION):
            if hazard.kind == sqlmod.ADD_EXCLUSION:
                message = (
                    f"RunSQL adds an exclusion constraint to {hazard.table}: its index builds and "
                    "every row is checked while the table is locked ACCESS EXCLUSIVE"
                )
                yield self.at(step.migration, hazard.span, message, fix=_EXCLUSION_FIX)
            elif not hazard.columns:
                # A CHECK in a new column's definition is validated as the column is added.
                message = (
                    f"RunSQL adds a CHECK constraint to {hazard.table} without NOT VALID: every "
                    "row is checked while the table is locked ACCESS EXCLUSIVE"
                )
                yield self.at(
                    step.migration,
                    hazard.span,
                    message,
                    fix="Add it NOT VALID, then VALIDATE CONSTRAINT in a later migration.",
                )
        checked = set(proven)
        for found in runsql_statements(step):
            statement = found.statement
            for name in statement.tables[:1]:
                for proof in _CHECK_PROOF.findall(statement.text):
                    checked.add((sqlmod.bare_name(name), proof.lower()))
            for sql_hazard in statement.hazards:
                column, table = sql_hazard.column, sql_hazard.table
                if sql_hazard.kind != sqlmod.SET_NOT_NULL or not table or not column:
                    continue
                bare = sqlmod.bare_name(table)
                if context.is_new_table(step, bare) or (bare, column) in checked:
                    continue
                yield self.at(
                    step.migration,
                    found.span,
                    f"RunSQL sets NOT NULL on column {column} of {table}: every row "
                    "is checked while the table is locked ACCESS EXCLUSIVE",
                    fix=_NOT_NULL_FIX,
                )


def _not_null_checks(step: Step) -> set[tuple[str, str]]:
    """(table, field or column) pairs that a CHECK (column IS NOT NULL) constraint this step
    adds covers: AddConstraint(NotValid) with `Q(field__isnull=False)`, or the SQL."""
    operation = step.operation
    found: set[tuple[str, str]] = set()
    table = step.table.name if step.table else None
    if operation.is_("AddConstraint", "AddConstraintNotValid") and table:
        constraint = field_call(operation.argument(1, "constraint"))
        if constraint is not None:
            condition = constraint.kwarg("condition")
            if isinstance(condition, s.Missing):
                condition = constraint.kwarg("check")
            for call in calls_in(condition):
                for keyword in call.kwargs:
                    if keyword.name.endswith("__isnull") and keyword.value is False:
                        found.add((table, keyword.name.removesuffix("__isnull").lower()))
    for statement in runsql_statements(step):
        for name in statement.statement.tables[:1]:
            for column in _CHECK_PROOF.findall(statement.statement.text):
                found.add((sqlmod.bare_name(name), column.lower()))
    return found


_REMOVE_CONCURRENTLY = "Use RemoveIndexConcurrently (django.contrib.postgres.operations) in a migration with `atomic = False`."
_DROP_CONCURRENTLY = (
    "Drop it with RunSQL `DROP INDEX CONCURRENTLY ...` (sqlmigrate shows its name) in a migration "
    "with `atomic = False`, the operation in SeparateDatabaseAndState's state_operations."
)


class RemoveIndexNotConcurrently(DeployRule):
    """On PostgreSQL, `DROP INDEX` (what RemoveIndex runs, and AlterField when the field
    loses its `db_index`, AlterIndexTogether when a set goes, RemoveConstraint of a
    UniqueConstraint that Django builds as an index) takes an ACCESS EXCLUSIVE lock on the
    index's table. The drop itself is quick, but the lock must wait for every transaction
    using the table, and every query that arrives meanwhile (reads included) queues behind
    it: on a busy table the site stalls for as long as the longest transaction.

    Safe recipe: `RemoveIndexConcurrently` (django.contrib.postgres.operations) in a migration
    with `atomic = False`; for an index Django names itself (`db_index`, index_together, a
    unique index) a RunSQL `DROP INDEX CONCURRENTLY` in the same kind of migration, with the
    operation moved to SeparateDatabaseAndState's `state_operations`. RunSQL `DROP INDEX`
    without CONCURRENTLY is reported too.

    Dropping a unique constraint (unique=True -> False) is not reported: it is a constraint,
    not an index, and `ALTER TABLE ... DROP CONSTRAINT` cannot be made concurrent (its lock is
    MIG513's concern). PostgreSQL only, as MIG505: MySQL drops indexes in place.
    """

    code = "MIG511"
    name = "remove-index-not-concurrently"
    severity = Severity.WARNING
    operations = frozenset(
        {
            "RemoveIndex",
            "AlterField",
            "AlterIndexTogether",
            "RemoveConstraint",
            "AddConstraint",
            "AddConstraintNotValid",
            "CreateModel",
            "RunSQL",
        }
    )
    summary = "RemoveIndex or a dropped db_index on an existing PostgreSQL table, not CONCURRENTLY."
    fix = _REMOVE_CONCURRENTLY
    autofix = (
        "`--fix` replaces RemoveIndex with RemoveIndexConcurrently (imported from "
        "`django.contrib.postgres.operations`) and sets `atomic = False` on the Migration class. "
        "Safe when the RemoveIndex is the migration's only operation (or the migration is "
        "already not atomic); unsafe otherwise, as its other operations lose their transaction. "
        "A dropped `db_index`, `index_together` or RunSQL is not fixed: the index has no name "
        "RemoveIndexConcurrently could take."
    )
    backends = frozenset({"postgresql"})
    when_unknown = False
    _INDEXED = example_migration(
        """\
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100, db_index=True)),
            ],
            options={"indexes": [models.Index(fields=["name"], name="product_name_idx")]},
        ),
""",
        extra="    initial = True\n",
    )
    VALID = (
        {
            **POSTGRES,
            INITIAL: _INDEXED,
            CHANGE: POSTGRES_OPERATIONS.format("RemoveIndexConcurrently")
            + example_migration(
                '        RemoveIndexConcurrently("product", "product_name_idx"),\n',
                DEPENDS,
                extra="    atomic = False\n",
            ),
        },
        {
            **POSTGRES,
            INITIAL: _INDEXED,
            CHANGE: example_migration(
                '        migrations.RunSQL("DROP INDEX CONCURRENTLY IF EXISTS product_name_idx", '
                "migrations.RunSQL.noop),\n",
                DEPENDS,
                extra="    atomic = False\n",
            ),
        },
        # No sign of PostgreSQL: not reported.
        {
            INITIAL: _INDEXED,
            CHANGE: example_migration(
                '        migrations.RemoveIndex("product", "product_name_idx"),\n', DEPENDS
            ),
        },
    )
    INVALID = (
        Invalid(
            {
                **POSTGRES,
                INITIAL: _INDEXED,
                CHANGE: example_migration(
                    '        migrations.RemoveIndex("product", "product_name_idx"),\n', DEPENDS
                ),
            },
            {
                CHANGE: POSTGRES_OPERATIONS.format("RemoveIndexConcurrently")
                + example_migration(
                    '        RemoveIndexConcurrently("product", "product_name_idx"),\n',
                    DEPENDS,
                    extra="    atomic = False\n",
                )
            },
            SAFE,
        ),
        # Not the migration's only operation: the other one would lose its transaction.
        Invalid(
            {
                **POSTGRES,
                INITIAL: _INDEXED,
                CHANGE: example_migration(
                    '        migrations.RemoveIndex("product", "product_name_idx"),\n'
                    '        migrations.AddField("product", "note", models.TextField(null=True)),\n',
                    DEPENDS,
                ),
            },
            {
                CHANGE: POSTGRES_OPERATIONS.format("RemoveIndexConcurrently")
                + example_migration(
                    '        RemoveIndexConcurrently("product", "product_name_idx"),\n'
                    '        migrations.AddField("product", "note", models.TextField(null=True)),\n',
                    DEPENDS,
                    extra="    atomic = False\n",
                )
            },
            UNSAFE,
        ),
        {
            **POSTGRES,
            INITIAL: _INDEXED,
            CHANGE: example_migration(
                '        migrations.AlterField("product", "name", '
                "models.CharField(max_length=100)),\n",
                DEPENDS,
            ),
        },
        {
            **POSTGRES,
            INITIAL: _INDEXED,
            CHANGE: example_migration(
                '        migrations.RunSQL("DROP INDEX product_name_idx", migrations.RunSQL.noop),\n',
                DEPENDS,
            ),
        },
    )

    def edit(self, finding: Finding, source: FixSource) -> Edit | None:
        from miglint.fixes.operations import concurrent_index

        operation = source.operation_at(finding, "RemoveIndex")
        return None if operation is None else concurrent_index(source, operation)

    def check(self, project: Project) -> Iterator[Finding]:
        context = Context.of(project)
        if context.database not in self.backends:
            return
        # The constraints each model has, by name, to tell a unique index from a constraint.
        constraints: dict[tuple[str, str, str], s.Call] = {}
        # Indexes each migration has made so far (dropping one of those waits for nothing new).
        made: dict[NodeKey, set[str]] = {}
        known = known_indexes(project)
        for step in self.steps(project):
            created = made.setdefault(step.migration.key, set())
            yield from self.check_step(step, context, constraints, created, known)
            track_constraints(step, constraints)
            created.update(indexes_made(step))

    def check_step(  # type: ignore[override]
        self,
        step: Step,
        context: Context,
        constraints: dict[tuple[str, str, str], s.Call],
        created: set[str],
        known: frozenset[str],
    ) -> Iterator[Finding]:
        operation = step.operation
        migration = step.migration
        where = context.where()
        consequence = (
            f"without CONCURRENTLY on PostgreSQL{where}: DROP INDEX locks the table ACCESS "
            "EXCLUSIVE, and while it waits for running transactions every query on the table "
            "queues behind it"
        )
        if not context.is_new(step) and has_table(step):
            model = model_label(step)
            message, fix = None, _DROP_CONCURRENTLY
            if operation.is_("RemoveIndex"):
                name = text_or_unknown(operation.argument(1, "name"))
                message, fix = f"RemoveIndex {name} on {model} drops it", _REMOVE_CONCURRENTLY
            elif operation.is_("AlterField"):
                found, before = step_field(step), step_field_before(step)
                if found and before is not None and drops_index(before, found[1]):
                    message = f"AlterField {model}.{found[0]} drops its index"
            elif operation.is_("AlterIndexTogether") and step.table is not None:
                new_sets = together_sets(operation.argument(1, "index_together"))
                old_sets = step.table.index_together
                if new_sets is not None and old_sets and old_sets - new_sets:
                    message = f"AlterIndexTogether on {model} drops an index"
            elif operation.is_("RemoveConstraint"):
                name = text_or_unknown(operation.argument(1, "name"))
                key = (migration.app_key, model.lower(), name)
                constraint = constraints.get(key)
                if constraint is not None and index_backed(constraint):
                    message = (
                        f"RemoveConstraint {name} on {model} drops a unique index (a "
                        "UniqueConstraint with a condition, expressions, include or opclasses)"
                    )
            if message:
                yield self.at(migration, operation.span, f"{message} {consequence}", fix=fix)
        made = set(created)
        for statement in runsql_statements(step):
            if statement.statement.index:
                made.add(sqlmod.bare_name(statement.statement.index))
            for hazard in statement.statement.hazards:
                if hazard.kind != sqlmod.DROP_INDEX or made_here(hazard, made):
                    continue
                if maybe_absent(statement.statement, hazard.detail, known):
                    continue
                yield self.at(
                    migration,
                    statement.span,
                    f"RunSQL drops index {hazard.detail} {consequence}",
                    fix="Write DROP INDEX CONCURRENTLY, in a migration with `atomic = False`.",
                )
                break
