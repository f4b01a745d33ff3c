"""Rules about migrations that cannot be rolled back: RunPython and RunSQL without a reverse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from miglint.core.finding import UNSAFE, Edit, Finding, Severity
from miglint.graph.nodes import Migration
from miglint.project.load import Project
from miglint.rules.base import Invalid, MigrationRule
from miglint.source import syntax as s
from miglint.source.facts import Operation
from miglint.state.history import database_operations

if TYPE_CHECKING:
    from miglint.fixes.source import FixSource


def _missing_reverse(
    migration: Migration, operation_name: str, keyword: str
) -> Iterator[tuple[Operation, str]]:
    """Each `operation_name` (run on the database) whose 2nd argument `keyword` is absent or
    None, with how it is written ("no reverse_code" or "reverse_code=None")."""
    for _, operation in database_operations(migration.facts.operations):
        call = operation.call
        if call is None or call.has_star or not operation.is_(operation_name):
            continue
        reverse = call.argument(1, keyword)
        if reverse is s.MISSING:
            yield operation, f"no {keyword}"
        elif reverse is None:
            yield operation, f"{keyword}=None"


def _one_per_migration(
    rule: MigrationRule, migration: Migration, operation_name: str, keyword: str
) -> Iterator[Finding]:
    """One finding per migration, at its first operation without a reverse (where Django's
    rollback stops), naming the others: the hazard is the migration's, and a migration of
    eighteen RunSQL is one rollback that fails, not eighteen."""
    missing = list(_missing_reverse(migration, operation_name, keyword))
    if not missing:
        return
    (first, written), rest = missing[0], missing[1:]
    others = ""
    if rest:
        lines = [str(operation.span.line) for operation, _ in rest]
        shown = ", ".join(lines[:5]) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
        plural = "s" if len(rest) > 1 else ""
        others = (
            f" (and {len(rest)} more {operation_name} operation{plural} without one: "
            f"line{plural} {shown})"
        )
    yield rule.at(
        migration,
        first.span,
        f"{operation_name} with {written}{others}: rolling back {migration.label} raises "
        "IrreversibleError, which blocks every rollback past it",
    )


def _noop_reverse(source: FixSource, operation_name: str, keyword: str) -> Edit | None:
    """The fix of a migration's finding: `keyword=<operation>.noop` on each of its operations
    without a reverse."""
    migration = source.migration
    if migration is None:
        return None
    from miglint.fixes.operations import reverse_noop

    missing = [operation for operation, _ in _missing_reverse(migration, operation_name, keyword)]
    return reverse_noop(source, missing, keyword)


_NOOP_AUTOFIX = (
    "`--fix --unsafe-fixes` passes `{keyword}={name}.noop` to every {name} of the migration "
    "that has no reverse (or replaces `{keyword}=None`), naming {name} as the migration does "
    "(`migrations.{name}.noop`, or `{name}.noop` when it is imported). Unsafe: rolling back "
    "then leaves what the operation did in place, which is right only when there is nothing "
    "to undo; write a real reverse when there is."
)


def _fill_slugs(operation: str) -> str:
    """MIG201's first example: a data migration whose one operation is `operation`."""
    return (
        "from django.db import migrations\n\n\n"
        "def fill_slugs(apps, schema_editor):\n"
        '    Product = apps.get_model("shop", "Product")\n'
        '    for product in Product.objects.filter(slug=""):\n'
        '        product.slug = f"product-{product.pk}"\n'
        '        product.save(update_fields=["slug"])\n\n\n'
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("shop", "0002_product_slug")]\n\n'
        f"    operations = [\n        {operation},\n    ]\n"
    )


_SET_FLAG = """\
import functools

from django.db import migrations


def set_flag(apps, schema_editor, value):
    apps.get_model("shop", "Product").objects.update(active=value)


"""


def _trigram_index(reverse: str = "") -> str:
    """MIG202's first example: a RunSQL that creates an index, with `reverse` (a line) or not."""
    return (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("shop", "0004_product_name")]\n\n'
        "    operations = [\n"
        "        migrations.RunSQL(\n"
        '            "CREATE INDEX product_name_trgm ON shop_product USING gin (name gin_trgm_ops);",\n'
        f"{reverse}"
        "        ),\n"
        "    ]\n"
    )


_IMPORTED_RUNPYTHON = """\
from django.db import migrations
from django.db.migrations import RunPython


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    operations = [RunPython(code=forwards)]
"""
_REVERSE_NONE = """\
from django.db import migrations


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    operations = [migrations.RunPython(forwards, reverse_code=None, elidable=True)]
"""
_SET_FLAG_NESTED = """\
class Migration(migrations.Migration):
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(functools.partial(set_flag, value=True))],
        ),
    ]
"""


class RunPythonNoReverse(MigrationRule):
    """A `RunPython` without `reverse_code` (or with `reverse_code=None`) makes the whole
    migration irreversible: `migrate APP PREVIOUS` stops with `IrreversibleError` at this
    migration, so neither it nor anything before it can be rolled back. When a deploy goes
    wrong, that is the moment a rollback is needed, and the moment it is found to be
    impossible.

    Most data migrations either can be undone or have nothing to undo:
    `reverse_code=migrations.RunPython.noop` says so explicitly and keeps the chain
    reversible. Any callable (a function, a lambda, `functools.partial(...)`) is accepted.

    This is an error by default because it silently takes away the rollback path for every
    earlier migration; a project that never rolls back can lower it with
    `severity = { MIG201 = "warning" }`.

    The hazard is the migration's: one finding per migration, at its first RunPython without
    a reverse (where Django's rollback stops), naming the lines of the others.
    """

    code = "MIG201"
    name = "runpython-no-reverse"
    severity = Severity.ERROR
    summary = "RunPython without reverse_code: the migration cannot be rolled back."
    fix = (
        "Pass reverse_code: a function that undoes it, or migrations.RunPython.noop when there "
        "is nothing to undo."
    )
    VALID = (
        _fill_slugs("migrations.RunPython(fill_slugs, migrations.RunPython.noop)"),
        """\
from django.db import migrations
from django.db.migrations import RunPython


def forwards(apps, schema_editor):
    pass


def backwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    operations = [
        RunPython(code=forwards, reverse_code=backwards),
        RunPython(forwards, reverse_code=lambda apps, schema_editor: None),
    ]
""",
        _SET_FLAG
        + """\
class Migration(migrations.Migration):
    operations = [
        migrations.RunPython(
            functools.partial(set_flag, value=True),
            functools.partial(set_flag, value=False),
        ),
    ]
""",
    )
    INVALID = (
        Invalid(
            _fill_slugs("migrations.RunPython(fill_slugs)"),
            _fill_slugs("migrations.RunPython(fill_slugs, reverse_code=migrations.RunPython.noop)"),
            UNSAFE,
        ),
        Invalid(
            _IMPORTED_RUNPYTHON,
            _IMPORTED_RUNPYTHON.replace(
                "code=forwards)", "code=forwards, reverse_code=RunPython.noop)"
            ),
            UNSAFE,
        ),
        Invalid(
            _REVERSE_NONE,
            _REVERSE_NONE.replace("reverse_code=None", "reverse_code=migrations.RunPython.noop"),
            UNSAFE,
        ),
        Invalid(
            _SET_FLAG + _SET_FLAG_NESTED,
            _SET_FLAG
            + _SET_FLAG_NESTED.replace(
                "value=True))", "value=True), reverse_code=migrations.RunPython.noop)"
            ),
            UNSAFE,
        ),
    )
    autofix = _NOOP_AUTOFIX.format(keyword="reverse_code", name="RunPython")

    def edit(self, finding: Finding, source: FixSource) -> Edit | None:
        return _noop_reverse(source, "RunPython", "reverse_code")

    def check_migration(self, migration: Migration, project: Project) -> Iterator[Finding]:
        yield from _one_per_migration(self, migration, "RunPython", "reverse_code")


_UPDATE_NO_REVERSE = """\
from django.db import migrations


class Migration(migrations.Migration):
    operations = [
        migrations.RunSQL(
            sql=[("UPDATE shop_product SET active = %s;", [True]), "DELETE FROM shop_cart;"],
            reverse_sql=None,
        ),
    ]
"""
_RENAME_NESTED = """\
from django.db import migrations


class Migration(migrations.Migration):
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    \"\"\"
                    ALTER TABLE shop_product RENAME TO catalog_product;
                    ALTER SEQUENCE shop_product_id_seq RENAME TO catalog_product_id_seq;
                    \"\"\"
                ),
            ],
        ),
    ]
"""


class RunSQLNoReverse(MigrationRule):
    """A `RunSQL` without `reverse_sql` (or with `reverse_sql=None`) makes the whole migration
    irreversible: `migrate APP PREVIOUS` stops with `IrreversibleError` at this migration, so
    neither it nor anything before it can be rolled back when a deploy goes wrong.

    Give the SQL that undoes it (`DROP INDEX` for a `CREATE INDEX`, and so on), or
    `reverse_sql=migrations.RunSQL.noop` when there is nothing to undo. An empty string or
    list is accepted too: Django treats any value but None as reversible.

    This is an error by default because it silently takes away the rollback path for every
    earlier migration; a project that never rolls back can lower it with
    `severity = { MIG202 = "warning" }`.

    The hazard is the migration's: one finding per migration, at its first RunSQL without a
    reverse (where Django's rollback stops), naming the lines of the others.
    """

    code = "MIG202"
    name = "runsql-no-reverse"
    severity = Severity.ERROR
    summary = "RunSQL without reverse_sql: the migration cannot be rolled back."
    fix = (
        "Pass reverse_sql: SQL that undoes it, or migrations.RunSQL.noop when there is nothing "
        "to undo."
    )
    VALID = (
        _trigram_index('            reverse_sql="DROP INDEX product_name_trgm;",\n'),
        """\
from django.db import migrations
from django.db.migrations import RunSQL


class Migration(migrations.Migration):
    operations = [
        RunSQL(
            [("UPDATE shop_product SET active = %s WHERE active IS NULL;", [True])],
            RunSQL.noop,
        ),
        RunSQL(sql=["SELECT 1;", "SELECT 2;"], reverse_sql=[]),
    ]
""",
    )
    INVALID = (
        Invalid(
            _trigram_index(),
            _trigram_index("            reverse_sql=migrations.RunSQL.noop,\n"),
            UNSAFE,
        ),
        Invalid(
            _UPDATE_NO_REVERSE,
            _UPDATE_NO_REVERSE.replace("reverse_sql=None", "reverse_sql=migrations.RunSQL.noop"),
            UNSAFE,
        ),
        Invalid(
            _RENAME_NESTED,
            _RENAME_NESTED.replace(
                "\n                ),",
                ",\n                    reverse_sql=migrations.RunSQL.noop\n                ),",
            ),
            UNSAFE,
        ),
    )
    autofix = _NOOP_AUTOFIX.format(keyword="reverse_sql", name="RunSQL")

    def edit(self, finding: Finding, source: FixSource) -> Edit | None:
        return _noop_reverse(source, "RunSQL", "reverse_sql")

    def check_migration(self, migration: Migration, project: Project) -> Iterator[Finding]:
        yield from _one_per_migration(self, migration, "RunSQL", "reverse_sql")
