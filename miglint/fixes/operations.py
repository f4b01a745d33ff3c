"""Fixes that rewrite a migration's class and operations: `atomic = False`, concurrent index
operations, a no-op reverse, a database default.

Each function takes the `FixSource` of a finding and returns the `Edit`, or None when the
fix cannot be made cleanly (the operation is not written as a plain call, it takes `*args`,
the file is too big for libcst, a name it needs is taken): then no fix is offered.
"""

from __future__ import annotations

from collections.abc import Sequence

from miglint import syntax as s
from miglint.finding import SAFE, UNSAFE, Edit
from miglint.fixes.source import FixSource
from miglint.parse import Operation

POSTGRES_OPERATIONS = "django.contrib.postgres.operations"
CONCURRENT = {"AddIndex": "AddIndexConcurrently", "RemoveIndex": "RemoveIndexConcurrently"}


def atomic_false(source: FixSource, safe: bool) -> Edit | None:
    """`atomic = False` on the Migration class (`safe`: nothing else in the migration needs
    the transaction it loses)."""
    from miglint.fixes import cst as c

    migration = source.migration
    tree = source.tree
    if migration is None or tree is None or migration.facts.uncertain("atomic"):
        return None
    module = c.set_class_attribute(tree.module, "atomic", "False")
    if module is None:
        return None
    return source.edit(
        module.code,
        SAFE if safe else UNSAFE,
        "Set `atomic = False` on the Migration class"
        + ("" if safe else " (its other operations no longer run in one transaction)"),
    )


def concurrent_index(source: FixSource, operation: Operation) -> Edit | None:
    """AddIndex -> AddIndexConcurrently (RemoveIndex -> RemoveIndexConcurrently), imported from
    django.contrib.postgres.operations, in a migration made `atomic = False`. Safe when the
    operation is the migration's only one (or it is already not atomic): nothing else
    changes; else the other operations lose their transaction, which the author decides."""
    import libcst as cst

    from miglint.fixes import cst as c

    migration = source.migration
    tree = source.tree
    new_name = CONCURRENT.get(operation.name)
    if migration is None or tree is None or new_name is None:
        return None
    facts = migration.facts
    call = tree.call_at(operation.span)
    if call is None or c.has_star(call) or operation.call is None or operation.call.has_star:
        return None
    callee = c.dotted_name(call.func)
    if callee is None or callee.rpartition(".")[2] != operation.name:
        return None
    if facts.atomic and facts.uncertain("atomic"):
        return None
    wanted = f"{POSTGRES_OPERATIONS}.{new_name}"
    bindings = c.module_bindings(tree.module)
    local = next((name for name, target in bindings.items() if target == wanted), None)
    if local is None and new_name in bindings:
        return None
    module = c.replace_nodes(
        tree.module, {call: call.with_changes(func=cst.Name(local or new_name))}
    )
    imported = c.ensure_import(module, POSTGRES_OPERATIONS, new_name)
    if imported is None:
        return None
    module = imported[0]
    if facts.atomic:
        with_flag = c.set_class_attribute(module, "atomic", "False")
        if with_flag is None:
            return None
        module = with_flag
    alone = len(facts.operations) == 1 and facts.operations[0] is operation
    safe = alone or not facts.atomic
    rest = "" if safe else " (its other operations no longer run in one transaction)"
    return source.edit(
        module.code,
        SAFE if safe else UNSAFE,
        f"Use {new_name} in a migration with `atomic = False`{rest}",
    )


def reverse_noop(source: FixSource, operations: Sequence[Operation], keyword: str) -> Edit | None:
    """`keyword=<Operation>.noop` (reverse_code / reverse_sql) on each of `operations`: rolling
    back then does nothing for them, which is unsafe when they changed something."""
    import libcst as cst

    from miglint.fixes import cst as c

    tree = source.tree
    if tree is None or not operations:
        return None
    replacements: dict[cst.CSTNode, cst.CSTNode] = {}
    for operation in operations:
        call = tree.call_at(operation.span)
        if call is None or c.has_star(call):
            return None
        callee = c.dotted_name(call.func)
        if callee is None or callee.rpartition(".")[2] != operation.name:
            return None
        noop = cst.parse_expression(f"{callee}.noop")
        replacements[call] = c.set_argument(call, 1, keyword, noop)
    module = c.replace_nodes(tree.module, replacements)
    name = operations[0].name
    return source.edit(
        module.code,
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

    tree = source.tree
    default = field.kwarg("default")
    if tree is None or field.has_star or not isinstance(default, _SCALARS):
        return None
    if not isinstance(field.kwarg("db_default"), s.Missing):
        return None
    call = tree.call_at(field.span)
    if call is None or c.has_star(call):
        return None
    given = c.keyword_argument(call, "default")
    if given is None:
        return None
    updated = c.with_keyword(call, "db_default", given.value.deep_clone())
    module = c.replace_nodes(tree.module, {call: updated})
    return source.edit(
        module.code,
        UNSAFE,
        "Add `db_default=` the same value as `default` (give the model's field the same "
        "`db_default`, or the next makemigrations removes it)",
    )
