"""Locks and rewrites on PostgreSQL that old code and the other deploy rules do not see
(MIG510-MIG514): constraints validated at once, indexes dropped without CONCURRENTLY, columns
whose ADD rewrites the table, ACCESS EXCLUSIVE locks taken with no lock_timeout, and 32-bit
primary keys.

The lock each operation takes is PostgreSQL's documented one, and the differential test
reads it from `pg_locks` while the SQL that `sqlmigrate` writes runs in an open transaction.
Like the other deploy rules these follow `[tool.miglint] database` (or the settings' ENGINE);
see `deploy_context` for how new tables are recognised (nothing to lock).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from miglint import sql as sqlmod
from miglint import syntax as s
from miglint.finding import SAFE, UNSAFE, Edit, Finding, Severity
from miglint.history import dropped_later, nullable
from miglint.nodes import Migration, NodeKey
from miglint.project import Project
from miglint.rules.base import Invalid
from miglint.rules.data_loss import LossyAlterField
from miglint.rules.deploy import (
    _CHANGE,
    _DEPENDS,
    _INITIAL,
    _POSTGRES,
    _PRODUCT,
    DeployRule,
    _before,
    _field,
    _migration,
    _new_product,
    _on_product,
    _text,
)
from miglint.rules.deploy_context import (
    FOREIGN_KEYS,
    NO_COLUMN,
    Context,
    column_name,
    column_type,
    field_call,
    flag,
    given,
    is_django_field,
    is_indexed,
    model_label,
    runsql_statements,
    sql_hazards,
)
from miglint.tablestate import Step, default_table, model_name, together_sets

if TYPE_CHECKING:
    from miglint.fixes.source import FixSource

_POSTGRES_OPERATIONS = "from django.contrib.postgres.operations import {}\n"
_CHECK = 'models.CheckConstraint(condition=models.Q(stock__gte=0), name="stock_not_negative")'
_POSITIVE = frozenset(
    {"PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField"}
)


def _has_table(step: Step) -> bool:
    """The operation's model keeps a table (not a proxy or unmanaged model)."""
    return step.table is None or step.table.has_table is not False


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
            **_POSTGRES,
            _INITIAL: _PRODUCT,
            _CHANGE: _POSTGRES_OPERATIONS.format("AddConstraintNotValid")
            + _migration(f'        AddConstraintNotValid("product", {_CHECK}),\n', _DEPENDS),
            "shop/migrations/0003_validate.py": _POSTGRES_OPERATIONS.format("ValidateConstraint")
            + _migration(
                '        ValidateConstraint("product", "stock_not_negative"),\n',
                '("shop", "0002_change")',
            ),
        },
        {
            **_POSTGRES,
            _INITIAL: _new_product(f'        migrations.AddConstraint("product", {_CHECK}),\n'),
        },
        {
            **_POSTGRES,
            **_on_product(
                '        migrations.RunSQL("ALTER TABLE shop_product ADD CONSTRAINT stock_ok '
                'CHECK (stock >= 0) NOT VALID", migrations.RunSQL.noop),\n'
            ),
        },
        # No sign of PostgreSQL: not reported.
        _on_product(f'        migrations.AddConstraint("product", {_CHECK}),\n'),
    )
    INVALID = (
        {**_POSTGRES, **_on_product(f'        migrations.AddConstraint("product", {_CHECK}),\n')},
        {
            # NOT NULL with a default: Django fills the NULLs, then PostgreSQL checks every row.
            **_POSTGRES,
            **_on_product(
                '        migrations.AddField("product", "note", models.TextField(null=True)),\n'
            ),
            "shop/migrations/0003_note_required.py": _migration(
                '        migrations.AlterField("product", "note", models.TextField(default="")),\n',
                '("shop", "0002_change")',
            ),
        },
        {
            **_POSTGRES,
            **_on_product(
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
        if not context.is_new(step) and _has_table(step):
            model = model_label(step)
            if operation.is_("AddConstraint"):
                constraint = field_call(operation.argument(1, "constraint"))
                name = _text(constraint.kwarg("name")) if constraint else "?"
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
        found, before = _field(step), _before(step)
        if found is None or before is None:
            return
        name, call = found
        model = model_label(step)
        old_type, new_type = column_type(before), column_type(call)
        if (
            call.name in _POSITIVE
            and before.name not in _POSITIVE
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
            for call in _calls(condition):
                for keyword in call.kwargs:
                    if keyword.name.endswith("__isnull") and keyword.value is False:
                        found.add((table, keyword.name.removesuffix("__isnull").lower()))
    for statement in runsql_statements(step):
        for name in statement.statement.tables[:1]:
            for column in _CHECK_PROOF.findall(statement.statement.text):
                found.add((sqlmod.bare_name(name), column.lower()))
    return found


def _calls(value: s.Value | s.Missing) -> Iterator[s.Call]:
    """Every call inside a value (Q(...) & Q(...) is read as what it contains)."""
    if isinstance(value, s.Call):
        yield value
        for item in (*value.args, *(keyword.value for keyword in value.kwargs)):
            yield from _calls(item)
    elif isinstance(value, s.Seq | s.Concat):
        for item in value.items if isinstance(value, s.Seq) else value.parts:
            yield from _calls(item)
    elif isinstance(value, s.Dict):
        for key, item in value.items:
            yield from _calls(key)
            yield from _calls(item)


_REMOVE_CONCURRENTLY = "Use RemoveIndexConcurrently (django.contrib.postgres.operations) in a migration with `atomic = False`."
_DROP_CONCURRENTLY = (
    "Drop it with RunSQL `DROP INDEX CONCURRENTLY ...` (sqlmigrate shows its name) in a migration "
    "with `atomic = False`, the operation in SeparateDatabaseAndState's state_operations."
)
# What makes Django build a UniqueConstraint as a unique index rather than a constraint.
_INDEX_BACKED = ("condition", "include", "opclasses")


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
    _INDEXED = _migration(
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
            **_POSTGRES,
            _INITIAL: _INDEXED,
            _CHANGE: _POSTGRES_OPERATIONS.format("RemoveIndexConcurrently")
            + _migration(
                '        RemoveIndexConcurrently("product", "product_name_idx"),\n',
                _DEPENDS,
                extra="    atomic = False\n",
            ),
        },
        {
            **_POSTGRES,
            _INITIAL: _INDEXED,
            _CHANGE: _migration(
                '        migrations.RunSQL("DROP INDEX CONCURRENTLY IF EXISTS product_name_idx", '
                "migrations.RunSQL.noop),\n",
                _DEPENDS,
                extra="    atomic = False\n",
            ),
        },
        # No sign of PostgreSQL: not reported.
        {
            _INITIAL: _INDEXED,
            _CHANGE: _migration(
                '        migrations.RemoveIndex("product", "product_name_idx"),\n', _DEPENDS
            ),
        },
    )
    INVALID = (
        Invalid(
            {
                **_POSTGRES,
                _INITIAL: _INDEXED,
                _CHANGE: _migration(
                    '        migrations.RemoveIndex("product", "product_name_idx"),\n', _DEPENDS
                ),
            },
            {
                _CHANGE: _POSTGRES_OPERATIONS.format("RemoveIndexConcurrently")
                + _migration(
                    '        RemoveIndexConcurrently("product", "product_name_idx"),\n',
                    _DEPENDS,
                    extra="    atomic = False\n",
                )
            },
            SAFE,
        ),
        # Not the migration's only operation: the other one would lose its transaction.
        Invalid(
            {
                **_POSTGRES,
                _INITIAL: _INDEXED,
                _CHANGE: _migration(
                    '        migrations.RemoveIndex("product", "product_name_idx"),\n'
                    '        migrations.AddField("product", "note", models.TextField(null=True)),\n',
                    _DEPENDS,
                ),
            },
            {
                _CHANGE: _POSTGRES_OPERATIONS.format("RemoveIndexConcurrently")
                + _migration(
                    '        RemoveIndexConcurrently("product", "product_name_idx"),\n'
                    '        migrations.AddField("product", "note", models.TextField(null=True)),\n',
                    _DEPENDS,
                    extra="    atomic = False\n",
                )
            },
            UNSAFE,
        ),
        {
            **_POSTGRES,
            _INITIAL: _INDEXED,
            _CHANGE: _migration(
                '        migrations.AlterField("product", "name", '
                "models.CharField(max_length=100)),\n",
                _DEPENDS,
            ),
        },
        {
            **_POSTGRES,
            _INITIAL: _INDEXED,
            _CHANGE: _migration(
                '        migrations.RunSQL("DROP INDEX product_name_idx", migrations.RunSQL.noop),\n',
                _DEPENDS,
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
            _track_constraints(step, constraints)
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
        if not context.is_new(step) and _has_table(step):
            model = model_label(step)
            message, fix = None, _DROP_CONCURRENTLY
            if operation.is_("RemoveIndex"):
                name = _text(operation.argument(1, "name"))
                message, fix = f"RemoveIndex {name} on {model} drops it", _REMOVE_CONCURRENTLY
            elif operation.is_("AlterField"):
                found, before = _field(step), _before(step)
                if found and before is not None and _drops_index(before, found[1]):
                    message = f"AlterField {model}.{found[0]} drops its index"
            elif operation.is_("AlterIndexTogether") and step.table is not None:
                new_sets = together_sets(operation.argument(1, "index_together"))
                old_sets = step.table.index_together
                if new_sets is not None and old_sets and old_sets - new_sets:
                    message = f"AlterIndexTogether on {model} drops an index"
            elif operation.is_("RemoveConstraint"):
                name = _text(operation.argument(1, "name"))
                key = (migration.app_key, model.lower(), name)
                constraint = constraints.get(key)
                if constraint is not None and _index_backed(constraint):
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
                if hazard.kind != sqlmod.DROP_INDEX or _made(hazard, made):
                    continue
                if _maybe_absent(statement.statement, hazard.detail, known):
                    continue
                yield self.at(
                    migration,
                    statement.span,
                    f"RunSQL drops index {hazard.detail} {consequence}",
                    fix="Write DROP INDEX CONCURRENTLY, in a migration with `atomic = False`.",
                )
                break


def indexes_made(step: Step) -> set[str]:
    """The names (lower-cased) of the indexes a step creates: AddIndex, a CreateModel's
    `indexes`, CREATE INDEX in RunSQL."""
    operation = step.operation
    found: list[s.Value | s.Missing] = []
    if operation.is_("AddIndex", "AddIndexConcurrently"):
        found.append(operation.argument(1, "index"))
    elif operation.is_("CreateModel"):
        listed = s.dict_item(operation.argument(2, "options"), "indexes")
        found.extend(listed.items if isinstance(listed, s.Seq) else ())
    names = {
        name.lower()
        for index in found
        if isinstance(index, s.Call)
        for name in (index.kwarg("name"),)
        if isinstance(name, str)
    }
    names.update(
        sqlmod.bare_name(statement.statement.index)
        for statement in runsql_statements(step)
        if statement.statement.index
    )
    return names


def known_indexes(project: Project) -> frozenset[str]:
    """Every index name a migration of the project creates."""
    return frozenset(name for step in project.table_steps for name in indexes_made(step))


_IF_EXISTS = re.compile(
    r"^\s*(?:drop\s+(?:table|index)(?:\s+concurrently)?|alter\s+table)\s+if\s+exists\b", re.I
)


def _maybe_absent(statement: sqlmod.Statement, name: str | None, known: Iterable[str]) -> bool:
    """`... IF EXISTS` of a table or index no migration of the project creates: it may not
    be there, and then nothing is locked."""
    if name is None or not _IF_EXISTS.match(statement.text):
        return False
    return sqlmod.bare_name(name).lower() not in known


def _made(hazard: sqlmod.Hazard, made: set[str]) -> bool:
    """A DROP INDEX of an index the same migration made."""
    return hazard.detail is not None and sqlmod.bare_name(hazard.detail) in made


def _drops_index(before: s.Call, after: s.Call) -> bool:
    """AlterField takes the field's own index away: it had one (db_index, or a foreign key's
    or slug's default) and gets neither an index nor a unique constraint (which brings one)."""
    if before.name in NO_COLUMN or after.name in NO_COLUMN or after.has_star:
        return False
    if flag(before, "primary_key") is not False or flag(after, "primary_key") is not False:
        return False
    had = is_indexed(before) is True and flag(before, "unique") is False
    # A field class of another package may index itself (AutoSlugField is a SlugField).
    loses = flag(after, "db_index", None) is False or (
        is_django_field(after) and is_indexed(after) is False
    )
    return had and loses and flag(after, "unique") is False


def _index_backed(constraint: s.Call) -> bool:
    """A UniqueConstraint Django creates with CREATE UNIQUE INDEX (and drops with DROP INDEX)."""
    if constraint.name != "UniqueConstraint":
        return False
    return bool(constraint.args) or any(given(constraint, name) for name in _INDEX_BACKED)


def _track_constraints(step: Step, constraints: dict[tuple[str, str, str], s.Call]) -> None:
    """Keep, per app, model and name, the constraints CreateModel and AddConstraint add."""
    operation = step.operation
    app = step.migration.app_key
    if operation.is_("CreateModel"):
        model = _text(operation.argument(0, "name")).lower()
        listed = s.dict_item(operation.argument(2, "options"), "constraints")
        items = listed.items if isinstance(listed, s.Seq) else ()
    elif operation.is_("AddConstraint", "AddConstraintNotValid"):
        model = _text(operation.argument(0, "model_name")).lower()
        items = (operation.argument(1, "constraint"),)  # type: ignore[assignment]
    elif operation.is_("RemoveConstraint"):
        model = _text(operation.argument(0, "model_name")).lower()
        constraints.pop((app, model, _text(operation.argument(1, "name"))), None)
        return
    else:
        return
    for item in items:
        if isinstance(item, s.Call):
            name = item.kwarg("name")
            if isinstance(name, str):
                constraints[(app, model, name)] = item


# Django expressions PostgreSQL evaluates once per row (VOLATILE functions).
_VOLATILE_EXPRESSIONS = frozenset({"Random", "RandomUUID", "UUID4", "UUID7"})
_VOLATILE_SQL = re.compile(
    r"\b(random|gen_random_uuid|uuidv[47]|uuid_generate_v[14]\w*|clock_timestamp|timeofday|"
    r"nextval)\s*\(",
    re.I,
)
_AUTO_FIELDS = frozenset({"AutoField", "BigAutoField", "SmallAutoField"})
_BACKFILL = (
    "Add it nullable without a default, backfill it in batches, then set the default in a "
    "later migration."
)
_REWRITE_FIXES = {
    "generated": (
        "Add a plain nullable column, fill it in batches (a trigger or the application keeps "
        "it current), or create the column with its table."
    ),
    "auto": (
        "Add a nullable BigIntegerField, fill it in batches from a sequence, then make the "
        "sequence its default, the column NOT NULL and the key in later migrations."
    ),
    "volatile": _BACKFILL,
}


def volatile_default(value: s.Value | s.Missing) -> str | None:
    """The VOLATILE function a `db_default` calls (`RandomUUID()`, `Random()`, a `Func` or
    `RawSQL` naming gen_random_uuid()...), else None. `Now()` is STABLE
    (STATEMENT_TIMESTAMP())."""
    for call in _calls(value):
        if call.name in _VOLATILE_EXPRESSIONS:
            return f"{call.name}()"
        if call.name in ("Func", "RawSQL"):
            text = call.kwarg("function") if call.name == "Func" else call.argument(0, "sql")
            if isinstance(text, str) and _VOLATILE_SQL.search(text + "("):
                return f"{call.name}({text!r})"
    return None


@dataclass(frozen=True)
class _Rewrite:
    reason: str
    kind: str  # "volatile", "generated" or "auto"


def _rewrite(call: s.Call) -> _Rewrite | None:
    """Why adding this field fills every existing row, or None."""
    if not is_django_field(call) and call.name not in _AUTO_FIELDS | {"GeneratedField"}:
        return None
    if call.name == "GeneratedField" and flag(call, "db_persist", None) is True:
        return _Rewrite("a stored generated column (db_persist=True)", "generated")
    if call.name in _AUTO_FIELDS:
        return _Rewrite(f"an auto-increment column ({call.name})", "auto")
    volatile = volatile_default(call.kwarg("db_default"))
    if volatile:
        return _Rewrite(f"a volatile database default, {volatile}", "volatile")
    return None


class TableRewriteOnAddField(DeployRule):
    """Some columns cannot be added without writing a value into every existing row, so the
    database rewrites the whole table (and its indexes) while it is locked: on PostgreSQL
    under ACCESS EXCLUSIVE, blocking reads and writes for minutes on a large table.

    - A volatile database default: `db_default=RandomUUID()`, `Random()`, or a `Func`/`RawSQL`
      naming a function PostgreSQL marks VOLATILE (gen_random_uuid(), random(),
      clock_timestamp(), nextval()...). PostgreSQL 11+ stores a constant or STABLE default
      once without touching the rows: `db_default=Now()` (Django writes STATEMENT_TIMESTAMP(),
      which is STABLE), `db_default=0`, and a Python `default=` (Django adds the column with
      the value as a constant) are fine. PostgreSQL 10 and older rewrite for any default;
      miglint assumes 11 or newer (10 is out of support since 2022).
    - A stored generated column (`GeneratedField(db_persist=True)`, Django 5.0+).
    - An auto-incrementing column (AutoField, BigAutoField, SmallAutoField: a new primary key).

    Safe recipe: add the column nullable without a default, backfill it in batches, then set
    the default (for a generated column: a plain column kept current by a trigger or the
    application, or the column created with its table). RunSQL `ADD COLUMN` with such a
    default, `GENERATED ... STORED`, an identity or serial column is reported too.

    Stored generated and auto-increment columns rewrite the table on every backend (MySQL
    and SQLite copy it), and are reported whatever the database. A volatile default is
    reported on PostgreSQL (configured, or guessed from django.contrib.postgres imports).
    """

    code = "MIG512"
    name = "table-rewrite-on-add-field"
    severity = Severity.WARNING
    operations = frozenset({"AddField", "RunSQL"})
    summary = "AddField whose column rewrites an existing table (volatile default, stored generated, auto-increment)."
    fix = _BACKFILL
    _IMPORT = "from django.contrib.postgres.functions import RandomUUID\n"
    VALID = (
        {
            **_POSTGRES,
            **_on_product(
                '        migrations.AddField("product", "added", '
                "models.DateTimeField(db_default=models.functions.Now())),\n"
            ),
        },
        {
            **_POSTGRES,
            **_on_product(
                '        migrations.AddField("product", "active", '
                "models.BooleanField(db_default=True)),\n"
            ),
        },
        {
            **_POSTGRES,
            _INITIAL: _IMPORT
            + _new_product(
                '        migrations.AddField("product", "token", '
                "models.UUIDField(db_default=RandomUUID())),\n"
            ),
        },
        {
            **_POSTGRES,
            **_on_product(
                '        migrations.AddField("product", "token", models.UUIDField(null=True)),\n'
            ),
        },
    )
    INVALID = (
        {
            **_POSTGRES,
            _INITIAL: _PRODUCT,
            _CHANGE: _IMPORT
            + _migration(
                '        migrations.AddField("product", "token", '
                "models.UUIDField(db_default=RandomUUID())),\n",
                _DEPENDS,
            ),
        },
        _on_product(
            '        migrations.AddField("product", "double_stock", models.GeneratedField('
            'expression=models.F("stock") * 2, output_field=models.IntegerField(), '
            "db_persist=True)),\n"
        ),
        {
            **_POSTGRES,
            **_on_product(
                '        migrations.RunSQL("ALTER TABLE shop_product ADD COLUMN token uuid '
                'DEFAULT gen_random_uuid()", migrations.RunSQL.noop),\n'
            ),
        },
    )

    def check_step(self, step: Step, context: Context) -> Iterator[Finding]:
        operation = step.operation
        postgres = context.database == "postgresql"
        if operation.is_("AddField") and not context.is_new(step) and _has_table(step):
            found = _field(step)
            rewrite = _rewrite(found[1]) if found else None
            if found and rewrite and (rewrite.kind != "volatile" or postgres):
                where = context.where() if rewrite.kind == "volatile" else ""
                yield self.at(
                    step.migration,
                    operation.span,
                    f"AddField {model_label(step)}.{found[0]} adds {rewrite.reason}: the database "
                    f"fills every existing row, rewriting the table while it is locked{where} "
                    "(ACCESS EXCLUSIVE on PostgreSQL: no reads or writes)",
                    fix=_REWRITE_FIXES[rewrite.kind],
                )
        for hazard in sql_hazards(step, context, sqlmod.ADD_REWRITE):
            detail = hazard.statement.hazards
            reason = next((h.detail for h in detail if h.kind == sqlmod.ADD_REWRITE), None)
            yield self.at(
                step.migration,
                hazard.span,
                f"RunSQL adds {hazard.column_phrase} to {hazard.table} as {reason}: every "
                "existing row is rewritten while the table is locked",
            )


def _alter_locks(name: str, before: s.Call, after: s.Call) -> bool:
    """An AlterField that certainly runs ALTER TABLE (or DROP INDEX) on PostgreSQL: a change
    miglint can see in the column's name, type, NULL, default, uniqueness, key, foreign key,
    check, or the loss of its index. Options Django keeps in Python only (help_text, choices,
    verbose_name, validators, a Python default...) run no SQL; what cannot be read counts as
    no change."""
    if before.name in NO_COLUMN or after.name in NO_COLUMN or before.has_star or after.has_star:
        return False
    old_column, new_column = column_name(name, before), column_name(name, after)
    old_type, new_type = column_type(before), column_type(after)
    changed = (
        (old_column is not None and new_column is not None and old_column != new_column)
        or (old_type is not None and new_type is not None and old_type != new_type)
        or _differ(nullable(before), nullable(after))
        or _differ(flag(before, "primary_key", False), flag(after, "primary_key", False))
        or _differ(_unique(before), _unique(after))
        or given(before, "db_default") != given(after, "db_default")
        or before.kwarg("db_default") != after.kwarg("db_default")
        or _drops_index(before, after)
    )
    if changed:
        return True
    if (before.name in _POSITIVE) != (after.name in _POSITIVE) and old_type == new_type:
        return old_type is not None
    old_fk, new_fk = before.name in FOREIGN_KEYS, after.name in FOREIGN_KEYS
    if old_fk and new_fk:
        old_to, new_to = before.kwarg("to"), after.kwarg("to")
        if isinstance(old_to, str) and isinstance(new_to, str) and old_to.lower() != new_to.lower():
            return True
        return _differ(flag(before, "db_constraint", True), flag(after, "db_constraint", True))
    return False


def _differ(old: bool | None, new: bool | None) -> bool:
    return old is not None and new is not None and old != new


def _unique(call: s.Call) -> bool | None:
    if call.name == "OneToOneField":
        return flag(call, "primary_key") is not True
    unique = flag(call, "unique", False)
    return None if unique is None else unique and flag(call, "primary_key") is not True


def locked_table(step: Step, context: Context) -> str | None:
    """The existing table a Django operation certainly locks ACCESS EXCLUSIVE on PostgreSQL
    (ALTER TABLE, DROP TABLE, DROP INDEX), else None: new tables, proxy and unmanaged models,
    operations that take weaker locks (CreateModel, AddIndex's SHARE, the concurrent
    operations, ValidateConstraint, RenameIndex) and what miglint cannot read."""
    operation, table = step.operation, step.table
    if table is None or table.has_table is not True or context.is_new(step):
        return None
    name = operation.name if operation.is_django else ""
    if name in _ALWAYS_EXCLUSIVE:
        return table.name
    if name == "AddField":
        found = _field(step)
        return table.name if found and found[1].name != "ManyToManyField" else None
    if name in ("RemoveField", "RenameField"):
        before = _before(step)
        if before is None or before.has_star or before.name == "ManyToManyField":
            return None
        if name == "RenameField" and before.kwarg("db_column") is not s.MISSING:
            return None
        return table.name
    if name == "AlterField":
        found, before = _field(step), _before(step)
        return table.name if found and before and _alter_locks(found[0], before, found[1]) else None
    if name == "RenameModel":
        return table.name if table.db_table is None else None
    if name == "AlterModelTable":
        new = operation.argument(1, "table")
        target = new if isinstance(new, str) else default_table(table.app, table.model)
        return table.name if target.lower() != table.name.lower() else None
    if name == "AddConstraint":
        constraint = field_call(operation.argument(1, "constraint"))
        if constraint is None or constraint.name not in _CONSTRAINTS:
            return None
        return None if _index_backed(constraint) else table.name
    if name in ("AlterUniqueTogether", "AlterIndexTogether"):
        new_sets = together_sets(operation.argument(1, _TOGETHER[name]))
        old_sets = table.unique_together if name == "AlterUniqueTogether" else table.index_together
        if new_sets is None or old_sets is None:
            return None
        # Adding a plain index takes SHARE; dropping one, or any unique constraint, ACCESS EXCLUSIVE.
        changed = old_sets - new_sets if name == "AlterIndexTogether" else old_sets ^ new_sets
        return table.name if changed else None
    return None


_ALWAYS_EXCLUSIVE = frozenset(
    {"DeleteModel", "RemoveIndex", "RemoveConstraint", "AddConstraintNotValid"}
)
_CONSTRAINTS = frozenset({"CheckConstraint", "UniqueConstraint", "ExclusionConstraint"})
_TOGETHER = {"AlterUniqueTogether": "unique_together", "AlterIndexTogether": "index_together"}


def _sets_timeout_in_code(migration: Migration) -> bool:
    """A function of the migration passes SQL mentioning lock_timeout to a call (RunPython
    running `SET lock_timeout` through a cursor or schema_editor): taken as setting one."""
    return any(
        "lock_timeout" in _source(argument).lower()
        for function in migration.facts.function_defs
        for call in function.body.calls
        for argument in call.args
    )


def _source(value: s.Value) -> str:
    """The text of a string argument, also of an f-string or a concatenation of strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, s.Unknown):
        return value.source
    if isinstance(value, s.Concat):
        return "".join(_source(part) for part in value.parts)
    return ""


@dataclass(frozen=True)
class _Lock:
    step: Step
    span: s.Span
    what: str
    table: str


class MissingLockTimeout(DeployRule):
    """Every ALTER TABLE, DROP TABLE and DROP INDEX on PostgreSQL takes an ACCESS EXCLUSIVE
    lock. It is granted only when every running transaction that touched the table is done,
    and while it waits, every query that arrives for the table (reads included) queues behind
    it: one long report or a stuck transaction turns a migration that should take milliseconds
    into an outage. A `lock_timeout` makes the migration give up instead (and the deploy can be
    retried), which is why strong_migrations sets one by default and squawk requires one.

    Reported once per migration, at its first operation that locks an existing table ACCESS
    EXCLUSIVE when no lock_timeout is in force: not set before it in the migration (RunSQL
    `SET lock_timeout = '5s'`, `SET LOCAL` in an atomic migration, `set_config(...)`, or a
    RunPython function that runs such SQL), nor in the settings (`-c lock_timeout=...` in the
    `options` of a database's OPTIONS, or django-pg-zero-downtime-migrations'
    ZERO_DOWNTIME_MIGRATIONS_LOCK_TIMEOUT). A timeout of 0 is none. A lock_timeout set on the
    database role or server cannot be seen: suppress MIG513 in the config then. When the
    settings' OPTIONS cannot be read (an environment variable), nothing is reported (-v says
    so).

    Operations that run no SQL (help_text, choices, a Python default), that take weaker
    locks (CreateModel, AddIndex, the concurrent operations, ValidateConstraint), and those
    on new tables are not counted; a migration that drops a table it also alters is
    reported at its DeleteModel (the DROP TABLE locks too). PostgreSQL only (as MIG505).
    Info: it is a safeguard, not a defect of the operation.
    """

    code = "MIG513"
    name = "missing-lock-timeout"
    severity = Severity.INFO
    summary = (
        "A migration takes an ACCESS EXCLUSIVE lock on an existing table with no lock_timeout."
    )
    fix = (
        "Start the migration with RunSQL(\"SET LOCAL lock_timeout = '5s'\", "
        "migrations.RunSQL.noop), or set `-c lock_timeout=5s` in the database OPTIONS' "
        "`options`, and retry the deploy when it times out."
    )
    backends = frozenset({"postgresql"})
    when_unknown = False
    _TIMEOUT = (
        "        migrations.RunSQL(\"SET LOCAL lock_timeout = '5s'\", migrations.RunSQL.noop),\n"
    )
    _ADD = '        migrations.AddField("product", "note", models.TextField(null=True)),\n'
    VALID = (
        {**_POSTGRES, **_on_product(_TIMEOUT + _ADD)},
        {
            **_POSTGRES,
            **_on_product(_ADD),
            "config/settings.py": (
                "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql',\n"
                "    'OPTIONS': {'options': '-c lock_timeout=5s'}}}\n"
            ),
        },
        {**_POSTGRES, _INITIAL: _new_product(_ADD)},
        {
            **_POSTGRES,
            **_on_product(
                '        migrations.AlterField("product", "stock", '
                "models.IntegerField(default=0, help_text='units in store')),\n"
            ),
        },
    )
    INVALID = (
        {**_POSTGRES, **_on_product(_ADD)},
        {**_POSTGRES, **_on_product(_ADD + _TIMEOUT)},
        {
            **_POSTGRES,
            **_on_product(
                '        migrations.RunSQL("ALTER TABLE shop_product ADD COLUMN note text", '
                '"ALTER TABLE shop_product DROP COLUMN note"),\n'
            ),
        },
    )

    def check(self, project: Project) -> Iterator[Finding]:
        context = Context.of(project)
        if context.database != "postgresql":
            return
        settings = project.settings
        if settings.lock_timeouts or settings.unknown_options:
            return
        by_migration: dict[NodeKey, list[Step]] = {}
        for step in project.table_steps:
            by_migration.setdefault(step.migration.key, []).append(step)
        known = known_indexes(project) | frozenset(context.table_creators)
        for steps in by_migration.values():
            migration = steps[0].migration
            # Operations on a table the migration then drops: its DeleteModel locks it too.
            dropped = dropped_later(migration.facts.operations)
            steps = [step for step in steps if step.operation.span not in dropped]
            if _sets_timeout_in_code(migration):
                continue
            locks = list(self.unprotected(steps, context, known))
            if locks:
                yield self.finding_for(locks, context)

    def notices(self, project: Project) -> Iterator[str]:
        unknown = project.settings.unknown_options
        if unknown and Context.of(project).database == "postgresql":
            shown = ", ".join(os.path.relpath(path) for path in unknown)
            yield (
                f"MIG513: not checked, the database OPTIONS in {shown} are not literal and may "
                "set a lock_timeout"
            )

    def unprotected(
        self, steps: Iterable[Step], context: Context, known: frozenset[str]
    ) -> Iterator[_Lock]:
        """The ACCESS EXCLUSIVE locks the migration's steps take with no lock_timeout in force."""
        timeout = False
        atomic = True
        made: set[str] = set()
        for step in steps:
            atomic = step.migration.facts.atomic
            if not step.operation.is_("RunSQL"):
                table = locked_table(step, context)
                if table and not timeout:
                    yield _Lock(step, step.operation.span, _describe(step), table)
                made.update(indexes_made(step))
                continue
            created: set[str] = set()
            for found in runsql_statements(step):
                statement = found.statement
                if statement.index:
                    made.add(sqlmod.bare_name(statement.index))
                setting = statement.setting
                if setting is not None and setting.name == "lock_timeout":
                    # SET LOCAL ends with its own statement's transaction outside `atomic`.
                    timeout = not setting.disabled and (atomic or not setting.local)
                tables = [
                    table
                    for table in statement.exclusive
                    if sqlmod.bare_name(table) not in created
                    and not context.is_new_table(step, table)
                    and not _maybe_absent(statement, table, known)
                    # ALTER TABLE also renames sequences: those hold no rows to query.
                    and not table.endswith("_seq")
                ]
                tables += [
                    f"the table of index {h.detail}"
                    for h in statement.hazards
                    if h.kind == sqlmod.DROP_INDEX
                    and not _made(h, made)
                    and not _maybe_absent(statement, h.detail, known)
                ]
                if tables and not timeout:
                    yield _Lock(step, found.span, f"RunSQL {statement.verb}", tables[0])
                created.update(sqlmod.bare_name(name) for name in statement.creates)

    def finding_for(self, locks: list[_Lock], context: Context) -> Finding:
        first = locks[0]
        others = len({lock.span for lock in locks}) - 1
        more = (
            f"; {others} more operation{'s' if others > 1 else ''} of it lock too" if others else ""
        )
        atomic = first.step.migration.facts.atomic
        fix = self.fix if atomic else self.fix.replace("SET LOCAL", "SET")
        return self.at(
            first.step.migration,
            first.span,
            f"{first.what} locks {first.table} ACCESS EXCLUSIVE on PostgreSQL{context.where()}, "
            "and no lock_timeout is set in this migration or in the settings' database OPTIONS: "
            f"while it waits for running transactions, every query on the table queues behind "
            f"it{more}",
            fix=fix,
        )


def _describe(step: Step) -> str:
    """`AddField Product.price`, `DeleteModel Product`, `RemoveIndex ... on Product`."""
    operation = step.operation
    model = model_label(step)
    found = _field(step)
    if found is not None:
        return f"{operation.name} {model}.{found[0]}"
    name = operation.argument(1, "name")
    if operation.is_("RemoveField", "RenameField"):
        field = operation.argument(1, "name" if operation.name == "RemoveField" else "old_name")
        return f"{operation.name} {model}.{_text(field)}"
    if operation.is_("RemoveIndex", "RemoveConstraint") and isinstance(name, str):
        return f"{operation.name} {name} on {model}"
    return (
        f"{operation.name} {model}" if operation.name != "DeleteModel" else f"DeleteModel {model}"
    )


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
        _migration(_MODEL.format(key="BigAutoField", options="")),
        {
            "shop/migrations/0001_initial.py": _migration(
                _MODEL.format(key="AutoField", options=""), extra="    initial = True\n"
            ),
            "shop/migrations/0002_bigger_keys.py": _migration(
                '        migrations.AlterField("order", "id", models.BigAutoField('
                "auto_created=True, primary_key=True, serialize=False)),\n",
                _DEPENDS,
            ),
        },
        {
            "pyproject.toml": '[tool.miglint]\ndatabase = "sqlite"\n',
            "shop/migrations/0001_initial.py": _migration(
                _MODEL.format(key="AutoField", options="")
            ),
        },
        _migration(
            _MODEL.format(key="AutoField", options='\n            options={"managed": False},')
        ),
    )
    INVALID = (
        _migration(_MODEL.format(key="AutoField", options="")),
        _migration(
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
            "shop/migrations/0001_initial.py": _migration(
                '        migrations.CreateModel("Order", [("number", models.CharField(max_length=32))]),\n'
            ),
        },
    )

    def check(self, project: Project) -> Iterator[Finding]:
        context = Context.of(project)
        if context.database in ("sqlite", "oracle"):
            return
        by_migration: dict[NodeKey, list[Step]] = {}
        for step in project.table_steps:
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
        new = _text(operation.argument(1, "new_name"))
        if moved is not None:
            table = moved.table if step.table is None else step.table.name
            if step.table is not None and step.table.db_table is None:
                table = default_table(step.migration.app, new)
            keys[new.lower()] = _Key(
                moved.step, new, moved.field, moved.kind, table, moved.from_default
            )
    elif name in ("AddField", "AlterField"):
        field = _text(operation.argument(1, "name"))
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
            and current.field.lower() == _text(operation.argument(1, "name")).lower()
        ):
            keys.pop(lower, None)
    elif name == "RenameField":
        current = keys.get(lower)
        old = _text(operation.argument(1, "old_name"))
        if current is not None and current.field.lower() == old.lower():
            keys[lower] = _Key(
                current.step,
                current.model,
                _text(operation.argument(2, "new_name")),
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
