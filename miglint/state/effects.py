"""What an operation does to the database: changes the schema, changes data, or neither.

MIG301 reports migrations that do both; the history (for MIG103) counts the data steps that
ran since a field became nullable.
"""

from __future__ import annotations

from collections.abc import Mapping

from miglint.graph.nodes import Migration
from miglint.source import syntax as s
from miglint.source.facts import Operation
from miglint.sql import classify

# django.contrib.postgres.operations that install a database extension (no model state).
EXTENSION_OPERATIONS = frozenset(
    {
        "CreateExtension",
        "BloomExtension",
        "BtreeGinExtension",
        "BtreeGistExtension",
        "CITextExtension",
        "CryptoExtension",
        "HStoreExtension",
        "TrigramExtension",
        "UnaccentExtension",
    }
)

# Django's operations that run DDL (AlterModelOptions and AlterModelManagers run no SQL).
_SCHEMA_OPERATIONS = frozenset(
    {
        "CreateModel",
        "DeleteModel",
        "RenameModel",
        "AlterModelTable",
        "AlterModelTableComment",
        "AlterUniqueTogether",
        "AlterIndexTogether",
        "AlterOrderWithRespectTo",
        "AddField",
        "RemoveField",
        "AlterField",
        "RenameField",
        "AddIndex",
        "RemoveIndex",
        "RenameIndex",
        "AddConstraint",
        "RemoveConstraint",
        "AlterConstraint",
        # django.contrib.postgres.operations
        *EXTENSION_OPERATIONS,
        "AddIndexConcurrently",
        "RemoveIndexConcurrently",
        "CreateCollation",
        "RemoveCollation",
        "AddConstraintNotValid",
        "ValidateConstraint",
    }
)


def _statement_kinds(sql: str) -> frozenset[str]:
    """ "data" and/or "schema": what the statements of `sql` do, as `miglint.sql` reads them
    (comments, quoted text and $$ bodies are no statements; unreadable SQL is neither)."""
    kinds: set[str] = set()
    for statement in classify(sql):
        if statement.is_data:
            kinds.add("data")
        elif statement.is_schema:
            kinds.add("schema")
    return frozenset(kinds)


def _sql_kinds(operation: Operation) -> frozenset[str]:
    """What a RunSQL's forward SQL does; nothing when it cannot be read."""
    sql = operation.argument(0, "sql")
    parts = sql.items if isinstance(sql, s.Seq) else (sql,)
    kinds: set[str] = set()
    for part in parts:
        # A list entry may be `(sql, params)`.
        if isinstance(part, s.Seq) and part.items:
            part = part.items[0]
        if isinstance(part, str):
            kinds |= _statement_kinds(part)
    return frozenset(kinds)


_NOTHING: frozenset[str] = frozenset()
_DATA = frozenset({"data"})
_SCHEMA = frozenset({"schema"})


def effects(operation: Operation, migration: Migration | None = None) -> frozenset[str]:
    """ "schema" and/or "data": what a Django operation does to the database (nothing for
    operations that run no SQL, a `RunPython.noop` placeholder or RunSQL it cannot read).

    With its `migration`, a RunPython whose function only sets up the connection (a SQLite
    PRAGMA, a SET) is seen to change nothing either."""
    name = operation.name
    # The name first: it rules out most operations cheaply.
    if name not in _SCHEMA_OPERATIONS and name not in ("RunPython", "RunSQL"):
        return _NOTHING
    if operation.call is None or not operation.is_django:
        return _NOTHING
    if name == "RunPython":
        code = operation.argument(0, "code")
        # RunPython(RunPython.noop, ...) is a placeholder (squashes leave them): it runs nothing.
        if isinstance(code, s.Ref) and code.name.endswith("RunPython.noop"):
            return _NOTHING
        if migration is not None and isinstance(code, s.Ref):
            functions = {f.name: f for f in migration.facts.function_defs}
            if code.name in functions and _sets_up_connection(functions[code.name], functions):
                return _NOTHING
        return _DATA
    if name == "RunSQL":
        return _sql_kinds(operation)
    return _SCHEMA


def is_data_step(operation: Operation, migration: Migration | None = None) -> bool:
    """A RunPython (not a noop, nor connection set-up) or a RunSQL with INSERT, UPDATE,
    DELETE...: it changes rows."""
    return "data" in effects(operation, migration)


def _sets_up_connection(
    function: s.FunctionDef,
    functions: Mapping[str, s.FunctionDef],
    seen: frozenset[str] = frozenset(),
) -> bool:
    """The function only runs statements that configure the connection (PRAGMA, SET...),
    through `execute()`, and calls nothing else but the module's functions that do the same
    (and `cursor()`): no models, no queries, no data."""
    body = function.body
    executed = False
    for call in body.calls:
        receiver, _, method = call.callee.rpartition(".")
        if call.callee in functions:
            callee = functions[call.callee]
            if callee.name in seen or not _sets_up_connection(
                callee, functions, seen | {function.name}
            ):
                return False
            executed = True
        elif method == "cursor" and receiver and not call.args:
            continue
        elif method in ("execute", "executescript") and receiver and len(call.args) == 1:
            sql = _literal_text(call.args[0], body)
            statements = classify(sql) if sql is not None else ()
            if not statements or any(st.kind != "control" for st in statements):
                return False
            executed = True
        else:
            return False
    return executed


def _literal_text(value: s.Value, body: s.FunctionBody) -> str | None:
    """A string argument, or the string a local name was last bound to."""
    if isinstance(value, s.Ref) and value.name.isidentifier():
        bound = [binding.value for binding in body.bindings if binding.name == value.name]
        value = bound[-1] if bound else None
    return value if isinstance(value, str) else None
