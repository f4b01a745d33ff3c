"""What an operation does to the database: changes the schema, changes data, or neither.

MIG301 reports migrations that do both; the history (for MIG103) counts the data steps that
ran since a field became nullable.
"""

from __future__ import annotations

from miglint import syntax as s
from miglint.parse import Operation
from miglint.sql import classify

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
        "CreateExtension",
        "BloomExtension",
        "BtreeGinExtension",
        "BtreeGistExtension",
        "CITextExtension",
        "CryptoExtension",
        "HStoreExtension",
        "TrigramExtension",
        "UnaccentExtension",
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


def effects(operation: Operation) -> frozenset[str]:
    """ "schema" and/or "data": what a Django operation does to the database (nothing for
    operations that run no SQL, a `RunPython.noop` placeholder or RunSQL it cannot read)."""
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
        return _DATA
    if name == "RunSQL":
        return _sql_kinds(operation)
    return _SCHEMA


def is_data_step(operation: Operation) -> bool:
    """A RunPython (not a noop) or a RunSQL with INSERT, UPDATE, DELETE...: it changes rows."""
    return "data" in effects(operation)
