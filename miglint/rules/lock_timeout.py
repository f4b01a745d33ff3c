"""MIG513: a migration that takes an ACCESS EXCLUSIVE lock on an existing table with no
lock_timeout, so every query on the table queues behind it while it waits.

The lock each operation takes is PostgreSQL's documented one (the differential test reads
it from `pg_locks` while the SQL that `sqlmigrate` writes runs in an open transaction).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from miglint import sql as sqlmod
from miglint.core.finding import Finding, Severity
from miglint.graph.nodes import Migration, NodeKey
from miglint.project.load import Project
from miglint.rules.deploy_base import (
    INITIAL,
    POSTGRES,
    DeployRule,
    new_product,
    on_product,
    step_field,
    step_field_before,
    text_or_unknown,
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
    model_label,
    runsql_statements,
)
from miglint.source import syntax as s
from miglint.state.history import dropped_later, nullable
from miglint.state.tablestate import Step, default_table, table_steps, together_sets

if TYPE_CHECKING:
    pass
from miglint.rules.lock_facts import (
    POSITIVE_FIELDS,
    drops_index,
    index_backed,
    indexes_made,
    known_indexes,
    made_here,
    maybe_absent,
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
        or drops_index(before, after)
    )
    if changed:
        return True
    if (before.name in POSITIVE_FIELDS) != (after.name in POSITIVE_FIELDS) and old_type == new_type:
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
        found = step_field(step)
        return table.name if found and found[1].name != "ManyToManyField" else None
    if name in ("RemoveField", "RenameField"):
        before = step_field_before(step)
        if before is None or before.has_star or before.name == "ManyToManyField":
            return None
        if name == "RenameField" and before.kwarg("db_column") is not s.MISSING:
            return None
        return table.name
    if name == "AlterField":
        found, before = step_field(step), step_field_before(step)
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
        return None if index_backed(constraint) else table.name
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
        {**POSTGRES, **on_product(_TIMEOUT + _ADD)},
        {
            **POSTGRES,
            **on_product(_ADD),
            "config/settings.py": (
                "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql',\n"
                "    'OPTIONS': {'options': '-c lock_timeout=5s'}}}\n"
            ),
        },
        {**POSTGRES, INITIAL: new_product(_ADD)},
        {
            **POSTGRES,
            **on_product(
                '        migrations.AlterField("product", "stock", '
                "models.IntegerField(default=0, help_text='units in store')),\n"
            ),
        },
    )
    INVALID = (
        {**POSTGRES, **on_product(_ADD)},
        {**POSTGRES, **on_product(_ADD + _TIMEOUT)},
        {
            **POSTGRES,
            **on_product(
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
        for step in table_steps(project):
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
                    and not maybe_absent(statement, table, known)
                    # ALTER TABLE also renames sequences: those hold no rows to query.
                    and not table.endswith("_seq")
                ]
                tables += [
                    f"the table of index {h.detail}"
                    for h in statement.hazards
                    if h.kind == sqlmod.DROP_INDEX
                    and not made_here(h, made)
                    and not maybe_absent(statement, h.detail, known)
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
    found = step_field(step)
    if found is not None:
        return f"{operation.name} {model}.{found[0]}"
    name = operation.argument(1, "name")
    if operation.is_("RemoveField", "RenameField"):
        field = operation.argument(1, "name" if operation.name == "RemoveField" else "old_name")
        return f"{operation.name} {model}.{text_or_unknown(field)}"
    if operation.is_("RemoveIndex", "RemoveConstraint") and isinstance(name, str):
        return f"{operation.name} {name} on {model}"
    return (
        f"{operation.name} {model}" if operation.name != "DeleteModel" else f"DeleteModel {model}"
    )
