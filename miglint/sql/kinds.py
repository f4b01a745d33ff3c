"""What a SQL statement is, as the rules see it: its kind, the tables, columns and index it
names, the settings it changes and the hazards it carries (the hazard kinds are the
constants here). `statements` reads statements into these; unknown is never a hazard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["ddl", "dml", "query", "control", "procedural", "other", "unknown"]


# Hazards a statement can carry.
DROP_TABLE = "drop-table"


DROP_SCHEMA = "drop-schema"


DROP_COLUMN = "drop-column"


TRUNCATE = "truncate"


DELETE_ALL = "delete-without-where"


UPDATE_ALL = "update-without-where"


CREATE_INDEX = "create-index"  # not CONCURRENTLY: blocks writes while it builds


ADD_NOT_NULL = "add-not-null-column"  # NOT NULL and no DEFAULT


DEFAULT_DROPPED = "not-null-default-dropped"  # a NOT NULL column added here loses its default


ALTER_TYPE = "alter-column-type"


SET_NOT_NULL = "set-not-null"


RENAME_TABLE = "rename-table"


RENAME_COLUMN = "rename-column"


ADD_UNIQUE = "add-unique"


ADD_FOREIGN_KEY = "add-foreign-key"  # validated at once (no NOT VALID)


ADD_CHECK = "add-check"  # validated at once (no NOT VALID)


ADD_EXCLUSION = "add-exclusion"  # EXCLUDE: its index builds under ACCESS EXCLUSIVE


DROP_INDEX = "drop-index"  # not CONCURRENTLY: ACCESS EXCLUSIVE on the index's table


# ADD COLUMN that fills every row (a volatile DEFAULT, a stored generated column, an
# identity, serial or AUTO_INCREMENT column): the table is rewritten.
ADD_REWRITE = "add-column-rewrite"


# Not a hazard: the column gets a database default (`ALTER COLUMN ... SET DEFAULT ...`).
SET_DEFAULT = "set-default"


DESTRUCTIVE = frozenset({DROP_TABLE, DROP_SCHEMA, DROP_COLUMN, TRUNCATE, DELETE_ALL, UPDATE_ALL})


@dataclass(frozen=True)
class Hazard:
    kind: str
    table: str | None = None
    column: str | None = None
    # What else the kind needs: the index a DROP INDEX names, why an ADD COLUMN rewrites.
    detail: str | None = None


@dataclass(frozen=True)
class Setting:
    """`SET [LOCAL] name = value`, `RESET name` (value None) or `set_config(...)`."""

    name: str
    value: str | None
    local: bool = False

    @property
    def disabled(self) -> bool:
        """A timeout set to 0 (or reset to the server's default): no timeout that miglint
        can vouch for."""
        if self.value is None:
            return True
        digits = re.match(r"\s*([0-9.]+)", self.value.strip("'\""))
        if digits is None:
            return True
        try:
            return float(digits.group(1)) == 0
        except ValueError:
            return True


@dataclass(frozen=True)
class Statement:
    """One statement of a SQL text; positions are 0-based offsets into that text."""

    verb: str
    kind: Kind
    text: str
    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int
    tables: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    hazards: tuple[Hazard, ...] = ()
    # Tables this statement creates (CREATE TABLE).
    creates: tuple[str, ...] = ()
    # INSERT ... SELECT and CREATE TABLE ... AS SELECT: the table the rows are copied from,
    # and the names in the select list ("*" for every column).
    copies_from: str | None = None
    copied: tuple[str, ...] = ()
    # Cannot run inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, ...).
    no_transaction: bool = False
    # Tables it locks in ACCESS EXCLUSIVE mode on PostgreSQL (ALTER TABLE unless the
    # documentation names a weaker lock, DROP TABLE, TRUNCATE, LOCK TABLE...); an index a
    # DROP INDEX removes is a DROP_INDEX hazard instead (its table is not named).
    exclusive: tuple[str, ...] = ()
    # A run-time setting it changes (`SET lock_timeout = '5s'`).
    setting: Setting | None = None
    # The index a CREATE INDEX makes (lower-cased).
    index: str | None = None
    # Which text of a RunSQL list it came from.
    piece: int = 0

    @property
    def is_data(self) -> bool:
        return self.kind == "dml"

    @property
    def is_schema(self) -> bool:
        return self.kind == "ddl"

    def has(self, *kinds: str) -> bool:
        return any(hazard.kind in kinds for hazard in self.hazards)


def bare_name(name: str) -> str:
    """`public.shop_product` -> `shop_product`."""
    return name.rpartition(".")[2]
