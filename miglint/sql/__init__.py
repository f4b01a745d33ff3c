"""SQL: the text of RunSQL to statements, each with its kind, its tables and its hazards.

Takes SQL strings, and the `syntax` values of a RunSQL's arguments. Gives `kinds` (what a
statement is: `Statement`, its kind, tables and hazards, the hazard kinds), `tokens` (the
lexer), `statements` (reading each statement: `classify`) and `runsql` (the SQL strings of
a RunSQL argument and their places).
Callers write `from miglint import sql` and `sql.classify(...)`: the names are re-exported
here.
"""

from __future__ import annotations

from miglint.sql.kinds import (
    ADD_CHECK,
    ADD_EXCLUSION,
    ADD_FOREIGN_KEY,
    ADD_NOT_NULL,
    ADD_REWRITE,
    ADD_UNIQUE,
    ALTER_TYPE,
    CREATE_INDEX,
    DEFAULT_DROPPED,
    DELETE_ALL,
    DESTRUCTIVE,
    DROP_COLUMN,
    DROP_INDEX,
    DROP_SCHEMA,
    DROP_TABLE,
    RENAME_COLUMN,
    RENAME_TABLE,
    SET_DEFAULT,
    SET_NOT_NULL,
    TRUNCATE,
    UPDATE_ALL,
    Hazard,
    Kind,
    Setting,
    Statement,
    bare_name,
)
from miglint.sql.runsql import (
    SqlArgument,
    SqlPiece,
    runsql_argument,
    statement_span,
)
from miglint.sql.statements import MAX_SQL_CHARS, analyse, classify

__all__ = [
    "ADD_CHECK",
    "ADD_EXCLUSION",
    "ADD_FOREIGN_KEY",
    "ADD_NOT_NULL",
    "ADD_REWRITE",
    "ADD_UNIQUE",
    "ALTER_TYPE",
    "CREATE_INDEX",
    "DEFAULT_DROPPED",
    "DELETE_ALL",
    "DESTRUCTIVE",
    "DROP_COLUMN",
    "DROP_INDEX",
    "DROP_SCHEMA",
    "DROP_TABLE",
    "MAX_SQL_CHARS",
    "RENAME_COLUMN",
    "RENAME_TABLE",
    "SET_DEFAULT",
    "SET_NOT_NULL",
    "TRUNCATE",
    "UPDATE_ALL",
    "Hazard",
    "Kind",
    "Setting",
    "SqlArgument",
    "SqlPiece",
    "Statement",
    "analyse",
    "bare_name",
    "classify",
    "runsql_argument",
    "statement_span",
]
