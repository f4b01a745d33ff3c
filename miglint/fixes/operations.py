"""Fixes that rewrite a migration's class and operations: `atomic = False`, concurrent index
operations, a no-op reverse, a database default.

Each function takes the `FixSource` of a finding and returns the `Edit`, or None when the
fix cannot be made cleanly (the operation is not written as a plain call, it takes `*args`,
a name it needs is taken, the file uses syntax this Python does not read): then no fix is
offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from miglint.core.finding import SAFE, UNSAFE, Edit, TextEdit
from miglint.fixes import statements
from miglint.fixes.source import FixSource
from miglint.source import syntax as s
from miglint.source.facts import Operation

if TYPE_CHECKING:
    import libcst as cst

POSTGRES_OPERATIONS = "django.contrib.postgres.operations"
CONCURRENT = {"AddIndex": "AddIndexConcurrently", "RemoveIndex": "RemoveIndexConcurrently"}
_LOSES_TRANSACTION = " (its other operations no longer run in one transaction)"


def atomic_false(source: FixSource, safe: bool) -> Edit | None:
    """`atomic = False` on the Migration class (`safe`: nothing else in the migration needs
    the transaction it loses)."""
    migration = source.migration
    if migration is None or migration.facts.uncertain("atomic"):
        return None
    edits = statements.set_class_attribute(source, "atomic", "False")
    if edits is None:
        return None
    message = "Set `atomic = False` on the Migration class"
    return source.edit(
        edits, SAFE if safe else UNSAFE, message + ("" if safe else _LOSES_TRANSACTION)
    )


def concurrent_index(source: FixSource, operation: Operation) -> Edit | None:
    """AddIndex -> AddIndexConcurrently (RemoveIndex -> RemoveIndexConcurrently), imported from
    django.contrib.postgres.operations, in a migration made `atomic = False`. Safe when the
    operation is the migration's only one (or it is already not atomic): nothing else
    changes; else the other operations lose their transaction, which the author decides."""
    migration = source.migration
    new_name = CONCURRENT.get(operation.name)
    if migration is None or new_name is None or operation.call is None:
        return None
    facts = migration.facts
    node = source.call_node(operation.span)
    if node is None or operation.call.has_star or facts.uncertain("atomic"):
        return None
    callee = source.span(node.func)
    if source.slice(callee).rpartition(".")[2] != operation.name:
        return None
    imported = statements.ensure_import(source, POSTGRES_OPERATIONS, new_name)
    if imported is None:
        return None
    import_edits, local = imported
    edits = [*import_edits, source.replace(callee, local)]
    if facts.atomic:
        attribute = statements.set_class_attribute(source, "atomic", "False")
        if attribute is None:
            return None
        edits += attribute
    alone = len(facts.operations) == 1 and facts.operations[0] is operation
    safe = alone or not facts.atomic
    message = f"Use {new_name} in a migration with `atomic = False`"
    return source.edit(
        edits, SAFE if safe else UNSAFE, message + ("" if safe else _LOSES_TRANSACTION)
    )


def reverse_noop(source: FixSource, operations: Sequence[Operation], keyword: str) -> Edit | None:
    """`keyword=<Operation>.noop` (reverse_code / reverse_sql) on each of `operations`: rolling
    back then does nothing for them, which is unsafe when they changed something."""
    import libcst as cst

    from miglint.fixes import cst as c

    edits: list[TextEdit] = []
    for operation in operations:

        def rewrite(call: cst.Call, name: str = operation.name) -> cst.Call | None:
            callee = c.dotted_name(call.func)
            if c.has_star(call) or callee is None or callee.rpartition(".")[2] != name:
                return None
            return c.set_argument(call, 1, keyword, cst.parse_expression(f"{callee}.noop"))

        edit = source.call_edit(operation.span, rewrite)
        if edit is None:
            return None
        edits.append(edit)
    if not operations:
        return None
    name = operations[0].name
    return source.edit(
        edits,
        UNSAFE,
        f"Pass `{keyword}={name}.noop`: rolling back then leaves what it did in place",
    )


# Literal defaults that a database default can hold as they are.
_SCALARS = (bool, int, float, str)


def database_default(source: FixSource, field: s.Call) -> Edit | None:
    """`db_default=` the field's literal `default` (Django 5.0+): the column keeps a default in
    the database, so old code's INSERTs still work. Unsafe: the model's field needs the same
    `db_default`, or the next makemigrations removes it again."""
    from miglint.fixes import cst as c

    default = field.kwarg("default")
    if field.has_star or not isinstance(default, _SCALARS):
        return None
    if not isinstance(field.kwarg("db_default"), s.Missing):
        return None

    def rewrite(call: cst.Call) -> cst.Call | None:
        given = c.keyword_argument(call, "default")
        if given is None or c.has_star(call):
            return None
        return c.with_keyword(call, "db_default", given.value.deep_clone())

    edit = source.call_edit(field.span, rewrite)
    if edit is None:
        return None
    return source.edit(
        [edit],
        UNSAFE,
        "Add `db_default=` the same value as `default` (give the model's field the same "
        "`db_default`, or the next makemigrations removes it)",
    )
