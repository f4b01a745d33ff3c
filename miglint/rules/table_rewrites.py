"""MIG512: an AddField whose column makes PostgreSQL rewrite an existing table (a volatile
default, a stored generated column, an auto-increment column) under an ACCESS EXCLUSIVE lock.

Like the other deploy rules it follows `[tool.miglint] database` (or the settings' ENGINE);
see `deploy_context` for how new tables are recognised (nothing to lock).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from miglint import sql as sqlmod
from miglint.core.finding import Finding, Severity
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
)
from miglint.rules.deploy_context import (
    Context,
    flag,
    is_django_field,
    model_label,
    sql_hazards,
)
from miglint.source import syntax as s
from miglint.state.tablestate import Step

if TYPE_CHECKING:
    pass
from miglint.rules.lock_facts import (
    calls_in,
    has_table,
)

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
    for call in calls_in(value):
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
            **POSTGRES,
            **on_product(
                '        migrations.AddField("product", "added", '
                "models.DateTimeField(db_default=models.functions.Now())),\n"
            ),
        },
        {
            **POSTGRES,
            **on_product(
                '        migrations.AddField("product", "active", '
                "models.BooleanField(db_default=True)),\n"
            ),
        },
        {
            **POSTGRES,
            INITIAL: _IMPORT
            + new_product(
                '        migrations.AddField("product", "token", '
                "models.UUIDField(db_default=RandomUUID())),\n"
            ),
        },
        {
            **POSTGRES,
            **on_product(
                '        migrations.AddField("product", "token", models.UUIDField(null=True)),\n'
            ),
        },
    )
    INVALID = (
        {
            **POSTGRES,
            INITIAL: PRODUCT,
            CHANGE: _IMPORT
            + example_migration(
                '        migrations.AddField("product", "token", '
                "models.UUIDField(db_default=RandomUUID())),\n",
                DEPENDS,
            ),
        },
        on_product(
            '        migrations.AddField("product", "double_stock", models.GeneratedField('
            'expression=models.F("stock") * 2, output_field=models.IntegerField(), '
            "db_persist=True)),\n"
        ),
        {
            **POSTGRES,
            **on_product(
                '        migrations.RunSQL("ALTER TABLE shop_product ADD COLUMN token uuid '
                'DEFAULT gen_random_uuid()", migrations.RunSQL.noop),\n'
            ),
        },
    )

    def check_step(self, step: Step, context: Context) -> Iterator[Finding]:
        operation = step.operation
        postgres = context.database == "postgresql"
        if operation.is_("AddField") and not context.is_new(step) and has_table(step):
            found = step_field(step)
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
