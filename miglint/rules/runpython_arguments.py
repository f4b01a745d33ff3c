"""What a RunPython function does with the two arguments Django passes it: DDL run through
`schema_editor` (MIG604), and a signature that cannot take `(apps, schema_editor)` (MIG605).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from miglint import sql
from miglint.core.finding import UNSAFE, Edit, Finding, Severity
from miglint.graph.nodes import Migration
from miglint.project.load import Project
from miglint.rules.base import Invalid, MigrationRule
from miglint.source import syntax as s

if TYPE_CHECKING:
    from miglint.fixes.source import FixSource
from miglint.rules.runpython import binding_of, receiver_of, runpython_functions

# Schema editor methods that change the schema directly (what operations normally do).
_SCHEMA_METHODS = frozenset(
    {
        "create_model",
        "delete_model",
        "add_field",
        "remove_field",
        "alter_field",
        "add_index",
        "remove_index",
        "rename_index",
        "add_constraint",
        "remove_constraint",
        "alter_db_table",
        "alter_unique_together",
        "alter_index_together",
    }
)


_DDL_START = re.compile(
    r"^\s*(?:--[^\n]*\n\s*)*(CREATE|ALTER|DROP|TRUNCATE|RENAME|COMMENT\s+ON)\b", re.IGNORECASE
)


_STRING_PREFIX = re.compile(r"""^[rRbBfFuU]{0,2}(?:'''|\"\"\"|'|")""")


class SchemaEditorDdlInRunPython(MigrationRule):
    """DDL run from RunPython (`schema_editor.execute("ALTER TABLE ...")`, a cursor's
    `execute()`, or `schema_editor.add_field(...)`) changes the schema behind Django's back:
    the migration state does not know about it, so the autodetector later generates a
    migration that conflicts with it, `sqlmigrate` does not show it, and rolling back does
    not undo it unless the reverse function repeats it by hand.

    Use an operation instead: `RunSQL(sql, reverse_sql, state_operations=[...])` (or
    `SeparateDatabaseAndState`) for hand-written DDL, `AddIndex`/`AddConstraint`, or
    `CreateExtension` for extensions. Queries and data changes (SELECT, UPDATE, INSERT) are
    not reported.
    """

    code = "MIG604"
    name = "schema-editor-ddl-in-runpython"
    severity = Severity.WARNING
    summary = "DDL run inside RunPython, hidden from the migration state."
    fix = "Move the DDL into RunSQL(sql, reverse_sql, state_operations=[...]) or the matching operation."
    VALID = (
        """\
from django.db import migrations


def fill_totals(apps, schema_editor):
    schema_editor.execute("UPDATE shop_order SET total = price * quantity WHERE total IS NULL")


class Migration(migrations.Migration):
    operations = [migrations.RunPython(fill_totals, migrations.RunPython.noop)]
""",
        """\
from django.db import migrations


class Migration(migrations.Migration):
    operations = [
        migrations.RunSQL(
            "CREATE INDEX order_created_idx ON shop_order (created)",
            "DROP INDEX order_created_idx",
        )
    ]
""",
    )
    INVALID = (
        """\
from django.db import migrations


def add_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE INDEX order_created_idx ON shop_order (created)")


class Migration(migrations.Migration):
    operations = [migrations.RunPython(add_index, migrations.RunPython.noop)]
""",
        """\
from django.db import migrations


def widen(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE shop_order ALTER COLUMN note TYPE text")


class Migration(migrations.Migration):
    operations = [migrations.RunPython(widen, migrations.RunPython.noop)]
""",
    )

    def check_migration(self, migration: Migration, project: Project) -> Iterator[Finding]:
        for found in runpython_functions(migration):
            function = found.function
            editor = function.params[1] if len(function.params) > 1 else "schema_editor"
            for call in function.body.calls:
                receiver, method = receiver_of(call.callee)
                if receiver == editor and method in _SCHEMA_METHODS:
                    yield self.at(
                        migration,
                        call.span,
                        f"{function.name}() changes the schema with {call.callee}(): the "
                        "migration state does not know about it",
                    )
                    continue
                if method not in ("execute", "executemany") or not call.args:
                    continue
                if receiver != editor and "cursor" not in receiver:
                    continue
                statement = _ddl(_argument_text(call.args[0], function.body))
                if statement is not None:
                    yield self.at(
                        migration,
                        call.span,
                        f"{function.name}() runs DDL ({statement}) through {call.callee}(): a "
                        "schema change hidden from the migration state",
                    )


def _argument_text(value: s.Value, body: s.FunctionBody) -> str | None:
    """The SQL text an `execute()` argument starts with, following one local name."""
    if isinstance(value, s.Ref) and value.name.isidentifier():
        binding = binding_of(body, value.name)
        if binding is not None:
            value = binding.value
    if isinstance(value, str):
        return value
    if isinstance(value, s.Unknown):
        match = _STRING_PREFIX.match(value.source)
        if match:
            return value.source[match.end() :]
    return None


def _ddl(text: str | None) -> str | None:
    """The leading words of the first DDL statement in `text`, or None."""
    if not text:
        return None
    for statement in sql.classify(text):
        if statement.kind == "ddl":
            return " ".join(statement.text.split()[:3]).rstrip(";")
    match = _DDL_START.match(text)
    return " ".join(text[match.start(1) :].split()[:3]) if match else None


_ONE_PARAMETER = """\
from django.db import migrations


def forwards(apps, schema_editor):
    apps.get_model("shop", "Order").objects.update(flag=True)


def backwards(apps):
    apps.get_model("shop", "Order").objects.update(flag=False)


class Migration(migrations.Migration):
    operations = [migrations.RunPython(forwards, backwards)]
"""


class RunPythonBadSignature(MigrationRule):
    """Django calls the functions given to RunPython as `function(apps, schema_editor)`. A
    function that cannot take those two positional arguments (`def forwards(apps):`, a
    `functools.partial` that binds one too many, or that binds a parameter the call already
    fills) raises `TypeError` in the middle of `migrate`, in production, after every
    earlier migration of the deploy has run. Nothing catches it before: Django imports
    the migration without calling the function.

    Only what the text shows is checked: a function imported from elsewhere, and a partial
    with `*args` or `**kwargs`, are skipped.
    """

    code = "MIG605"
    name = "runpython-bad-signature"
    severity = Severity.ERROR
    summary = "A RunPython function that cannot be called as function(apps, schema_editor)."
    fix = (
        "Define it as `def name(apps, schema_editor):` (extra parameters need defaults or partial)."
    )
    VALID = (
        """\
import functools

from django.db import migrations


def set_flag(apps, schema_editor, value=True):
    apps.get_model("shop", "Order").objects.update(flag=value)


def noop(*args):
    pass


class Migration(migrations.Migration):
    operations = [
        migrations.RunPython(set_flag, functools.partial(set_flag, value=False)),
        migrations.RunPython(noop, noop),
    ]
""",
    )
    INVALID = (
        Invalid(
            _ONE_PARAMETER,
            _ONE_PARAMETER.replace("def backwards(apps):", "def backwards(apps, schema_editor):"),
            UNSAFE,
        ),
        """\
import functools

from django.db import migrations


def set_flag(apps, schema_editor, value):
    apps.get_model("shop", "Order").objects.update(flag=value)


class Migration(migrations.Migration):
    operations = [migrations.RunPython(functools.partial(set_flag, apps=None, value=True))]
""",
    )

    autofix = (
        "For a function that takes fewer than two positional parameters (and nothing bound "
        "by functools.partial), `--fix --unsafe-fixes` adds the missing ones, `apps` and "
        "`schema_editor`. Unsafe: a function that could not run until now will run; read it "
        "once. A partial that binds too much is not fixed."
    )

    def edit(self, finding: Finding, source: FixSource) -> Edit | None:
        migration = source.migration
        if migration is None:
            return None
        span = s.Span(finding.line, finding.column, finding.end_line, finding.end_column)
        for found in runpython_functions(migration):
            if found.span == span and found.direct and not found.bound and not found.keywords:
                from miglint.fixes.signature import missing_parameters

                return missing_parameters(source, found.function)
        return None

    def check_migration(self, migration: Migration, project: Project) -> Iterator[Finding]:
        for found in runpython_functions(migration):
            if not found.direct or found.keywords is None:
                continue
            problem = _call_problem(found.function, found.bound, found.keywords)
            if problem is not None:
                yield self.at(
                    migration,
                    found.span,
                    f"RunPython calls {found.function.name}(apps, schema_editor) as its "
                    f"{found.role}, which raises TypeError: {problem}",
                )


def _call_problem(function: s.FunctionDef, bound: int, keywords: tuple[str, ...]) -> str | None:
    """Why `function(*bound_args, apps, schema_editor, **keywords)` fails, or None."""
    given = bound + 2
    params = function.params
    if given > len(params) and not function.varargs:
        return f"it takes {len(params)} positional argument{'s' if len(params) != 1 else ''}"
    for name in keywords:
        if name in params[:given]:
            return f"{name!r} is given twice (by position and by functools.partial)"
    missing = [name for name in params[given : function.required] if name not in keywords]
    if missing:
        return "missing " + ", ".join(repr(name) for name in missing)
    return None
