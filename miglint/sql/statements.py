"""The SQL of RunSQL, statement by statement: what kind it is, what it touches, what can hurt.

sqlparse's lexer does the hard part (comments, quoted identifiers, strings, dollar-quoted
bodies) and its splitter cuts the statements; what a statement does is read from its
significant words. Whatever cannot be read is `unknown`, and unknown is never a hazard.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

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
from miglint.sql.tokens import Token, statement_tokens

# Larger SQL (a data dump) is not read: one unknown statement.
MAX_SQL_CHARS = 1_000_000

_CONTROL = frozenset(
    [
        "BEGIN",
        "START",
        "COMMIT",
        "END",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "SET",
        "RESET",
        "LOCK",
        "PRAGMA",
        "USE",
        "LISTEN",
        "UNLISTEN",
        "NOTIFY",
        "DISCARD",
        "DEALLOCATE",
        "PREPARE",
    ]
)
_PROCEDURAL = frozenset({"DO", "CALL", "EXECUTE", "EXEC", "PERFORM"})
_QUERY = frozenset({"SELECT", "VALUES", "TABLE", "SHOW", "EXPLAIN", "DESCRIBE", "DESC"})
_DML = frozenset({"INSERT", "REPLACE", "MERGE", "COPY", "LOAD", "UPSERT"})
_OTHER = frozenset(
    [
        "GRANT",
        "REVOKE",
        "VACUUM",
        "ANALYZE",
        "ANALYSE",
        "CLUSTER",
        "REINDEX",
        "REFRESH",
        "CHECKPOINT",
        "OPTIMIZE",
        "SECURITY",
    ]
)
_MAIN_VERBS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "VALUES", "TABLE"})
_TABLE_PREFIXES = frozenset(
    {"TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "OR", "REPLACE", "FOREIGN"}
)
_NOT_A_COLUMN = frozenset(
    [
        "CONSTRAINT",
        "INDEX",
        "KEY",
        "PRIMARY",
        "FOREIGN",
        "CHECK",
        "PARTITION",
        "DEFAULT",
        "NOT",
        "IDENTITY",
        "EXPRESSION",
        "UNIQUE",
        "FULLTEXT",
        "SPATIAL",
        "EXCLUDE",
        "SYSTEM",
    ]
)
_SERIAL = frozenset({"SERIAL", "BIGSERIAL", "SMALLSERIAL", "SERIAL4", "SERIAL8", "SERIAL2"})
# PostgreSQL functions marked VOLATILE that defaults call (pg_proc.provolatile = 'v').
_VOLATILE = frozenset(
    {
        "RANDOM",
        "GEN_RANDOM_UUID",
        "UUIDV4",
        "UUIDV7",
        "UUID_GENERATE_V1",
        "UUID_GENERATE_V1MC",
        "UUID_GENERATE_V4",
        "CLOCK_TIMESTAMP",
        "TIMEOFDAY",
        "NEXTVAL",
        "RANDOM_NORMAL",
        "SETSEED",
    }
)


def classify(sql: str) -> tuple[Statement, ...]:
    """Every statement of `sql`, in order; unreadable SQL gives one `unknown` statement."""
    return analyse([sql])


def analyse(pieces: Sequence[str]) -> tuple[Statement, ...]:
    """The statements of several texts run in sequence (a RunSQL list), `piece` set on each.

    A NOT NULL column added with a DEFAULT that a later statement drops is found across them.
    """
    result: list[Statement] = []
    for index, sql in enumerate(pieces):
        for statement in _classify_text(sql):
            result.append(_with(statement, piece=index))
    return tuple(_defaults_dropped(result))


# The same SQL text is read by several stages (operation effects, table steps) and often
# repeats across migrations; its statements are immutable, so each text is tokenised once.
@lru_cache(maxsize=4096)
def _classify_text(sql: str) -> tuple[Statement, ...]:
    if not sql.strip():
        return ()
    groups = statement_tokens(sql) if len(sql) <= MAX_SQL_CHARS else None
    if groups is None:
        return (_unknown(sql, sql.strip()[:40] or "?"),)
    return tuple(_statement(sql, tokens) for tokens in groups)


def _unknown(sql: str, verb: str) -> Statement:
    stripped = len(sql) - len(sql.lstrip())
    return _positioned(sql, verb, "unknown", stripped, len(sql.rstrip()))


def _positioned(
    sql: str, verb: str, kind: Kind, start: int, end: int, **extra: object
) -> Statement:
    line = sql.count("\n", 0, start)
    column = start - (sql.rfind("\n", 0, start) + 1)
    end_line = sql.count("\n", 0, end)
    end_column = end - (sql.rfind("\n", 0, end) + 1)
    return Statement(
        verb=verb,
        kind=kind,
        text=sql[start:end],
        start=start,
        end=end,
        line=line,
        column=column,
        end_line=end_line,
        end_column=end_column,
        **extra,  # type: ignore[arg-type]
    )


def _with(statement: Statement, **changes: object) -> Statement:
    from dataclasses import replace

    return replace(statement, **changes)  # type: ignore[arg-type]


def _statement(sql: str, tokens: list[Token]) -> Statement:
    # A trailing ';' is not part of what the statement says.
    while tokens and tokens[-1].kind == "punct" and tokens[-1].value == ";":
        tokens = tokens[:-1]
    if not tokens:
        return _positioned(sql, ";", "other", 0, 0)
    start, end = tokens[0].start, tokens[-1].end
    reader = _Reader(tokens)
    if not reader.balanced():
        return _positioned(sql, reader.first or "?", "unknown", start, end)
    facts = reader.read()
    return _positioned(
        sql,
        facts.verb,
        facts.kind,
        start,
        end,
        tables=tuple(dict.fromkeys(facts.tables)),
        columns=tuple(dict.fromkeys(facts.columns)),
        hazards=tuple(dict.fromkeys(facts.hazards)),
        creates=tuple(facts.creates),
        no_transaction=facts.no_transaction,
        copies_from=facts.copies_from,
        copied=tuple(dict.fromkeys(facts.copied)),
        exclusive=tuple(dict.fromkeys(facts.exclusive)),
        setting=facts.setting,
        index=facts.index,
    )


@dataclass
class _Facts:
    verb: str
    kind: Kind
    tables: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    hazards: list[Hazard] = field(default_factory=list)
    creates: list[str] = field(default_factory=list)
    no_transaction: bool = False
    copies_from: str | None = None
    copied: list[str] = field(default_factory=list)
    exclusive: list[str] = field(default_factory=list)
    setting: Setting | None = None
    index: str | None = None


class _Reader:
    """Reads one statement's tokens from left to right."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.first = tokens[0].upper if tokens else ""

    def balanced(self) -> bool:
        depth = 0
        for token in self.tokens:
            if token.kind == "punct" and token.value == "(":
                depth += 1
            elif token.kind == "punct" and token.value == ")":
                depth -= 1
                if depth < 0:
                    return False
        return depth == 0

    # -- helpers

    def word(self, index: int) -> str:
        return self.tokens[index].upper if 0 <= index < len(self.tokens) else ""

    def is_punct(self, index: int, value: str) -> bool:
        return (
            0 <= index < len(self.tokens)
            and self.tokens[index].kind == "punct"
            and self.tokens[index].value == value
        )

    def skip(self, index: int, *words: str) -> int:
        """Past any of `words` (in any order, each any number of times)."""
        while self.word(index) in words and self.word(index):
            index += 1
        return index

    def skip_phrase(self, index: int, *phrase: str) -> int:
        """Past `phrase` if it is there, e.g. IF NOT EXISTS."""
        if all(self.word(index + i) == w for i, w in enumerate(phrase)):
            return index + len(phrase)
        return index

    def name(self, index: int) -> tuple[str | None, int]:
        """A possibly qualified name at `index`: (lower-cased, unquoted name, next index)."""
        parts: list[str] = []
        while index < len(self.tokens):
            token = self.tokens[index]
            if token.kind == "quoted":
                parts.append(token.value[1:-1])
            elif token.kind == "word":
                parts.append(token.value)
            else:
                break
            index += 1
            if not self.is_punct(index, "."):
                break
            index += 1
        if not parts:
            return None, index
        return ".".join(parts).lower(), index

    def names(self, index: int, stop: Iterable[str] = ()) -> tuple[list[str], int]:
        """A comma-separated list of names."""
        stops = set(stop)
        found: list[str] = []
        while True:
            index = self.skip(index, "ONLY")
            if self.word(index) in stops:
                break
            name, index = self.name(index)
            if name is None:
                break
            found.append(name)
            if self.is_punct(index, "*"):
                index += 1
            if not self.is_punct(index, ","):
                break
            index += 1
        return found, index

    def top_level(self, start: int, end: int | None = None) -> list[int]:
        """Indexes of the tokens at parenthesis depth 0 between start and end."""
        found, depth = [], 0
        for index in range(start, len(self.tokens) if end is None else end):
            token = self.tokens[index]
            if token.kind == "punct" and token.value == "(":
                depth += 1
            elif token.kind == "punct" and token.value == ")":
                depth -= 1
            elif depth == 0:
                found.append(index)
        return found

    def has_top_word(self, start: int, word: str, end: int | None = None) -> bool:
        return any(self.word(i) == word for i in self.top_level(start, end))

    def split_top(self, start: int, end: int | None = None) -> list[tuple[int, int]]:
        """Ranges between depth-0 commas."""
        ranges, begin = [], start
        stop = len(self.tokens) if end is None else end
        for index in self.top_level(start, stop):
            if self.is_punct(index, ","):
                ranges.append((begin, index))
                begin = index + 1
        ranges.append((begin, stop))
        return ranges

    def paren_names(self, index: int) -> list[str]:
        """Plain names inside the parenthesis group starting at `index`."""
        if not self.is_punct(index, "("):
            return []
        names, depth, expect = [], 0, True
        for position in range(index, len(self.tokens)):
            token = self.tokens[position]
            if token.kind == "punct" and token.value == "(":
                depth += 1
                expect = depth == 1
                continue
            if token.kind == "punct" and token.value == ")":
                depth -= 1
                if depth == 0:
                    break
                continue
            if depth == 1 and token.kind == "punct" and token.value == ",":
                expect = True
                continue
            if depth == 1 and expect and token.kind in ("word", "quoted"):
                name, _ = self.name(position)
                if name is not None:
                    names.append(bare_name(name))
            expect = False
        return names

    # -- statements

    def read(self) -> _Facts:
        first = self.first
        if first == "WITH":
            return self.with_query()
        if first == "CREATE":
            return self.create()
        if first == "DROP":
            return self.drop()
        if first == "ALTER":
            return self.alter()
        if first == "RENAME":
            return self.rename_tables()
        if first == "TRUNCATE":
            return self.truncate()
        if first == "DELETE":
            return self.delete(0)
        if first == "UPDATE":
            return self.update(0)
        if first in _DML:
            return self.insert(first)
        if first == "SELECT":
            return _Facts(first, "query", setting=self.set_config())
        if first in _QUERY:
            return _Facts(first, "query")
        if first in ("SET", "RESET"):
            return _Facts(first, "control", setting=self.set_statement())
        if first == "LOCK":
            return self.lock()
        if first in _CONTROL:
            return _Facts(first, "control")
        if first in _PROCEDURAL:
            return _Facts(first, "procedural")
        if first == "COMMENT":
            return _Facts("COMMENT", "ddl")
        if first in _OTHER:
            facts = _Facts(first, "other")
            if first == "VACUUM" or (first == "REINDEX" and self.has_top_word(1, "CONCURRENTLY")):
                facts.no_transaction = True
            if (first == "VACUUM" and self.word(1) == "FULL") or first == "CLUSTER":
                # VACUUM FULL and CLUSTER rewrite the table under ACCESS EXCLUSIVE.
                start = 2 if first == "VACUUM" else 1
                facts.exclusive.extend(self.names(self.skip(start, "VERBOSE", "ANALYZE"))[0])
            return facts
        return _Facts(first or "?", "unknown")

    def set_statement(self) -> Setting | None:
        """`SET [SESSION | LOCAL] name {TO | =} value` or `RESET name`."""
        index = 1
        local = self.word(index) == "LOCAL"
        index = self.skip(index, "SESSION", "LOCAL")
        name, index = self.name(index)
        if name is None or self.first == "RESET":
            return Setting(name, None) if name else None
        if self.word(index) == "TO" or (
            index < len(self.tokens) and self.tokens[index].value == "="
        ):
            index += 1
        if index >= len(self.tokens):
            return None
        value = self.tokens[index]
        if value.upper == "DEFAULT":
            return Setting(name, None, local)
        return Setting(name, value.value.strip("'\""), local)

    def set_config(self) -> Setting | None:
        """`SELECT set_config('name', 'value', is_local)`."""
        for index in range(1, len(self.tokens) - 6):
            if self.word(index) != "SET_CONFIG" or not self.is_punct(index + 1, "("):
                continue
            name, comma, value = self.tokens[index + 2 : index + 5]
            if (
                name.kind != "string"
                or comma.value != ","
                or value.kind not in ("string", "number")
            ):
                return None
            return Setting(
                name.value.strip("'").lower(),
                value.value.strip("'"),
                self.is_punct(index + 5, ",") and self.word(index + 6) == "TRUE",
            )
        return None

    def lock(self) -> _Facts:
        """`LOCK [TABLE] [ONLY] names [IN mode MODE]`: ACCESS EXCLUSIVE unless a mode is named."""
        facts = _Facts("LOCK", "control")
        tables, index = self.names(self.skip(1, "TABLE", "ONLY"), stop=("IN", "NOWAIT"))
        facts.tables.extend(tables)
        mode = []
        if self.word(index) == "IN":
            index += 1
            while self.word(index) and self.word(index) != "MODE":
                mode.append(self.word(index))
                index += 1
        if not mode or mode == ["ACCESS", "EXCLUSIVE"]:
            facts.exclusive.extend(tables)
        return facts

    def with_query(self) -> _Facts:
        inner: list[_Facts] = []
        main: _Facts | None = None
        depth = 0
        for position in range(self.skip(1, "RECURSIVE"), len(self.tokens)):
            if self.is_punct(position, "("):
                if depth == 0 and self.word(position + 1) in ("UPDATE", "DELETE", "INSERT"):
                    inner.append(self.from_position(position + 1))
                depth += 1
            elif self.is_punct(position, ")"):
                depth -= 1
            elif depth == 0 and self.word(position) in _MAIN_VERBS:
                main = self.from_position(position)
                break
        if main is None:
            return _Facts("WITH", "unknown")
        for facts in inner:
            main.hazards.extend(facts.hazards)
            main.tables.extend(facts.tables)
            if facts.kind == "dml":
                main.kind = "dml"
        return main

    def from_position(self, position: int) -> _Facts:
        """Read the statement that starts at `position` (a CTE's body or main query)."""
        end = position
        depth = 0
        while end < len(self.tokens):
            token = self.tokens[end]
            if token.kind == "punct" and token.value == "(":
                depth += 1
            elif token.kind == "punct" and token.value == ")":
                if depth == 0:
                    break
                depth -= 1
            end += 1
        reader = _Reader(self.tokens[position:end])
        return reader.read()

    def create(self) -> _Facts:
        index = self.skip(1, *_TABLE_PREFIXES)
        index = self.skip(index, "UNIQUE", "FULLTEXT", "SPATIAL")
        what = self.word(index)
        if what == "TABLE":
            index = self.skip_phrase(index + 1, "IF", "NOT", "EXISTS")
            name, _ = self.name(index)
            facts = _Facts("CREATE TABLE", "ddl")
            if name:
                facts.tables.append(name)
                facts.creates.append(name)
            self.copy_source(facts, index)
            return facts
        if what == "INDEX":
            return self.create_index(index)
        if what == "MATERIALIZED":
            what = "MATERIALIZED VIEW"
        if what in ("DATABASE", "TABLESPACE"):
            return _Facts(f"CREATE {what}", "ddl", no_transaction=True)
        return _Facts(f"CREATE {what}".strip(), "ddl")

    def create_index(self, index: int) -> _Facts:
        unique = self.has_top_word(1, "UNIQUE", index)
        index += 1
        concurrently = self.word(index) == "CONCURRENTLY"
        index = self.skip(index, "CONCURRENTLY")
        index = self.skip_phrase(index, "IF", "NOT", "EXISTS")
        name = None
        if self.word(index) != "ON":
            name, index = self.name(index)
        index = self.skip(index, "USING", "BTREE", "HASH")
        facts = _Facts("CREATE UNIQUE INDEX" if unique else "CREATE INDEX", "ddl")
        facts.index = name
        if self.word(index) == "ON":
            index = self.skip(index + 1, "ONLY")
            table, index = self.name(index)
            if table:
                facts.tables.append(table)
            index = self.skip(index, "USING")
            if not self.is_punct(index, "("):
                _, index = self.name(index)
            facts.columns.extend(self.paren_names(index))
        table = facts.tables[0] if facts.tables else None
        column = facts.columns[0] if len(facts.columns) == 1 else None
        if concurrently:
            facts.no_transaction = True
        else:
            facts.hazards.append(Hazard(CREATE_INDEX, table, column))
            if unique:
                facts.hazards.append(Hazard(ADD_UNIQUE, table, column))
        return facts

    def drop(self) -> _Facts:
        index = self.skip(1, "TEMPORARY", "TEMP")
        what = self.word(index)
        if what == "TABLE":
            index = self.skip_phrase(index + 1, "IF", "EXISTS")
            tables, _ = self.names(index, stop=("CASCADE", "RESTRICT"))
            facts = _Facts("DROP TABLE", "ddl", tables=list(tables), exclusive=list(tables))
            facts.hazards.extend(Hazard(DROP_TABLE, table) for table in tables)
            return facts
        if what in ("SCHEMA", "DATABASE"):
            index = self.skip_phrase(index + 1, "IF", "EXISTS")
            names, _ = self.names(index)
            facts = _Facts(f"DROP {what}", "ddl", no_transaction=what == "DATABASE")
            facts.hazards.extend(Hazard(DROP_SCHEMA, name) for name in names or ["?"])
            return facts
        if what == "INDEX":
            facts = _Facts("DROP INDEX", "ddl")
            facts.no_transaction = self.word(index + 1) == "CONCURRENTLY"
            if not facts.no_transaction:
                # `DROP INDEX` locks the index's table ACCESS EXCLUSIVE until commit.
                index = self.skip_phrase(index + 1, "IF", "EXISTS")
                names, _ = self.names(index, stop=("CASCADE", "RESTRICT"))
                facts.hazards.extend(Hazard(DROP_INDEX, detail=name) for name in names or ["?"])
            return facts
        if what == "MATERIALIZED":
            what = "MATERIALIZED VIEW"
        return _Facts(f"DROP {what}".strip(), "ddl")

    def rename_tables(self) -> _Facts:
        facts = _Facts("RENAME TABLE", "ddl")
        index = self.skip(1, "TABLE")
        for begin, _ in self.split_top(index):
            old, after = self.name(begin)
            if old is None:
                continue
            facts.tables.append(old)
            if self.word(after) == "TO":
                new, _ = self.name(after + 1)
                if new:
                    facts.tables.append(new)
            facts.hazards.append(Hazard(RENAME_TABLE, old))
        return facts

    def truncate(self) -> _Facts:
        index = self.skip(1, "TABLE", "ONLY")
        tables, _ = self.names(index, stop=("RESTART", "CONTINUE", "CASCADE", "RESTRICT"))
        facts = _Facts("TRUNCATE", "dml", tables=list(tables), exclusive=list(tables))
        facts.hazards.extend(Hazard(TRUNCATE, table) for table in tables)
        return facts

    def delete(self, index: int) -> _Facts:
        facts = _Facts("DELETE", "dml")
        position = index + 1
        if self.word(position) != "FROM":
            # MySQL `DELETE t1 FROM t1 JOIN ...`: the target comes first.
            target, position = self.name(position)
            if target:
                facts.tables.append(target)
        position = self.skip(position, "FROM", "ONLY")
        table, _ = self.name(position)
        if table and not facts.tables:
            facts.tables.append(table)
        if not self.restricted(index + 1):
            facts.hazards.append(Hazard(DELETE_ALL, facts.tables[0] if facts.tables else None))
        return facts

    def update(self, index: int) -> _Facts:
        facts = _Facts("UPDATE", "dml")
        table, position = self.name(self.skip(index + 1, "ONLY", "LOW_PRIORITY", "IGNORE"))
        if table:
            facts.tables.append(table)
        tops = self.top_level(position)
        set_at = next((i for i in tops if self.word(i) == "SET"), None)
        joined = any(self.word(i) in ("JOIN", "ON") for i in tops if set_at is None or i < set_at)
        if set_at is not None:
            stop = next(
                (i for i in tops if i > set_at and self.word(i) in ("FROM", "WHERE", "RETURNING")),
                len(self.tokens),
            )
            for begin, _end in self.split_top(set_at + 1, stop):
                if self.is_punct(begin, "("):
                    facts.columns.extend(self.paren_names(begin))
                else:
                    column, _ = self.name(begin)
                    if column:
                        facts.columns.append(bare_name(column))
        if not joined and not self.restricted(index + 1):
            facts.hazards.append(Hazard(UPDATE_ALL, table, None))
        return facts

    def restricted(self, start: int) -> bool:
        """A WHERE at the statement's own level (not one inside a subquery)."""
        return self.has_top_word(start, "WHERE")

    def insert(self, verb: str) -> _Facts:
        facts = _Facts(verb, "dml")
        index = self.skip(1, "INTO", "IGNORE", "LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY")
        if verb in ("INSERT", "REPLACE", "COPY"):
            table, index = self.name(index)
            if table:
                facts.tables.append(table)
                facts.columns.extend(self.paren_names(index))
        if verb in ("INSERT", "REPLACE"):
            self.copy_source(facts, index)
        return facts

    def copy_source(self, facts: _Facts, start: int) -> None:
        """`... SELECT a, b FROM t` (also in parentheses): the rows of t (columns a, b) are
        copied elsewhere."""
        tops = self.top_level(start)
        select = next((i for i in tops if self.word(i) == "SELECT"), None)
        if select is None:
            # `INSERT INTO t (SELECT ...)`: a parenthesised query right after the target.
            if not (self.is_punct(start, "(") and self.word(start + 1) == "SELECT"):
                return
            select = start + 1
        depth, source = 0, None
        for position in range(select + 1, len(self.tokens)):
            if self.is_punct(position, "("):
                depth += 1
            elif self.is_punct(position, ")"):
                depth -= 1
                if depth < 0:
                    break
            elif depth == 0 and self.word(position) == "FROM":
                source = position
                break
        if source is None:
            return
        table, _ = self.name(source + 1)
        if table is None:
            return
        facts.copies_from = table
        for position in range(select + 1, source):
            token = self.tokens[position]
            if token.kind == "operator" and token.value == "*":
                facts.copied.append("*")
            elif token.kind in ("word", "quoted"):
                name, _ = self.name(position)
                if name is not None:
                    facts.copied.append(bare_name(name))

    def alter(self) -> _Facts:
        what = self.word(1)
        if what == "SYSTEM":
            return _Facts("ALTER SYSTEM", "ddl", no_transaction=True)
        if what != "TABLE":
            if what == "MATERIALIZED":
                what = "MATERIALIZED VIEW"
            return _Facts(f"ALTER {what}".strip(), "ddl")
        index = self.skip_phrase(2, "IF", "EXISTS")
        index = self.skip(index, "ONLY")
        table, index = self.name(index)
        facts = _Facts("ALTER TABLE", "ddl")
        if table is None:
            facts.kind = "unknown"
            return facts
        if self.is_punct(index, "*"):
            index += 1
        facts.tables.append(table)
        for begin, end in self.split_top(index):
            self.alter_action(facts, table, begin, end)
            if not self.weaker_lock(begin, end):
                facts.exclusive.append(table)
        return facts

    def weaker_lock(self, begin: int, end: int) -> bool:
        """An ALTER TABLE action for which PostgreSQL's documentation names a lock weaker
        than ACCESS EXCLUSIVE (or one miglint is not sure of): VALIDATE CONSTRAINT, SET
        STATISTICS, attribute and storage options, CLUSTER ON, a foreign key, triggers,
        partitions."""
        words = [self.word(i) for i in self.top_level(begin, end)]
        action = words[0] if words else ""
        if action in ("VALIDATE", "CLUSTER", "ATTACH", "DETACH", "RESET"):
            return True
        if action in ("ENABLE", "DISABLE") and "TRIGGER" in words:
            return True
        if action == "SET" and (
            _phrase_in(words, "WITHOUT", "CLUSTER") or self.is_punct(begin + 1, "(")
        ):
            return True
        if action == "ADD":
            index = begin + 1
            if self.word(index) == "CONSTRAINT":
                index += 2
            return self.word(index) == "FOREIGN"
        if action == "ALTER":
            if self.word(begin + 1) == "CONSTRAINT":
                return True
            # ALTER [COLUMN] c SET STATISTICS n | SET (option = ...) | RESET (option)
            _, index = self.name(self.skip(begin + 1, "COLUMN"))
            verb = self.word(index)
            return (verb == "SET" and self.word(index + 1) == "STATISTICS") or (
                verb in ("SET", "RESET") and self.is_punct(index + 1, "(")
            )
        return False

    def alter_action(self, facts: _Facts, table: str, begin: int, end: int) -> None:
        action = self.word(begin)
        words = [self.word(i) for i in self.top_level(begin, end)]
        if action == "ADD":
            self.add(facts, table, begin + 1, end)
        elif action == "DROP":
            index = begin + 1
            if self.word(index) in _NOT_A_COLUMN:
                return
            index = self.skip(index, "COLUMN")
            index = self.skip_phrase(index, "IF", "EXISTS")
            column, _ = self.name(index)
            if column:
                facts.columns.append(column)
                facts.hazards.append(Hazard(DROP_COLUMN, table, column))
        elif action == "ALTER":
            index = begin + 1
            if self.word(index) in ("CONSTRAINT", "INDEX", "CHECK"):
                return
            index = self.skip(index, "COLUMN")
            column, index = self.name(index)
            if column is None:
                return
            facts.columns.append(column)
            rest = words[words.index(self.word(index)) :] if self.word(index) in words else []
            if "TYPE" in rest:
                facts.hazards.append(Hazard(ALTER_TYPE, table, column))
            elif rest[:3] == ["SET", "NOT", "NULL"]:
                facts.hazards.append(Hazard(SET_NOT_NULL, table, column))
            elif rest[:2] == ["DROP", "DEFAULT"]:
                facts.hazards.append(Hazard("drop-default", table, column))
            elif rest[:2] == ["SET", "DEFAULT"]:
                facts.hazards.append(Hazard(SET_DEFAULT, table, column))
        elif action in ("MODIFY", "CHANGE"):
            index = self.skip(begin + 1, "COLUMN")
            column, index = self.name(index)
            if column is None:
                return
            facts.columns.append(column)
            if action == "CHANGE":
                new, _ = self.name(index)
                if new and new != column:
                    facts.columns.append(new)
                    facts.hazards.append(Hazard(RENAME_COLUMN, table, column))
            facts.hazards.append(Hazard(ALTER_TYPE, table, column))
        elif action == "RENAME":
            index = begin + 1
            nxt = self.word(index)
            if nxt in ("TO", "AS"):
                facts.hazards.append(Hazard(RENAME_TABLE, table))
                new, _ = self.name(index + 1)
                if new:
                    facts.tables.append(new)
            elif nxt in ("CONSTRAINT", "INDEX", "KEY"):
                return
            else:
                column, _ = self.name(self.skip(index, "COLUMN"))
                if column:
                    facts.columns.append(column)
                    facts.hazards.append(Hazard(RENAME_COLUMN, table, column))
        elif action == "DETACH" and "CONCURRENTLY" in words:
            facts.no_transaction = True

    def add(self, facts: _Facts, table: str, index: int, end: int) -> None:
        words = [self.word(i) for i in self.top_level(index, end)]
        if self.word(index) == "CONSTRAINT":
            index += 2
        kind = self.word(index)
        not_valid = _phrase_in(words, "NOT", "VALID")
        using_index = _phrase_in(words, "USING", "INDEX")
        if kind == "FOREIGN":
            if not not_valid:
                facts.hazards.append(Hazard(ADD_FOREIGN_KEY, table))
            return
        if kind in ("UNIQUE", "PRIMARY"):
            columns: list[str] = []
            for position in range(index, end):
                if self.is_punct(position, "("):
                    columns = self.paren_names(position)
                    break
            facts.columns.extend(columns)
            if not using_index:
                column = columns[0] if len(columns) == 1 else None
                facts.hazards.append(Hazard(ADD_UNIQUE, table, column))
            return
        if kind == "CHECK":
            if not not_valid:
                facts.hazards.append(Hazard(ADD_CHECK, table))
            return
        if kind in ("INDEX", "KEY", "FULLTEXT", "SPATIAL"):
            facts.hazards.append(Hazard(CREATE_INDEX, table))
            return
        if kind == "EXCLUDE":
            facts.hazards.append(Hazard(ADD_EXCLUSION, table))
            return
        if kind in ("PARTITION", "CONSTRAINT"):
            return
        index = self.skip(index, "COLUMN")
        index = self.skip_phrase(index, "IF", "NOT", "EXISTS")
        column, _ = self.name(index)
        if column is None:
            return
        column = bare_name(column)
        facts.columns.append(column)
        default = "DEFAULT" in words or "GENERATED" in words or "AUTO_INCREMENT" in words
        serial = any(w in _SERIAL for w in words)
        if _phrase_in(words, "NOT", "NULL") and not serial:
            if default:
                facts.hazards.append(Hazard("not-null-with-default", table, column))
            else:
                facts.hazards.append(Hazard(ADD_NOT_NULL, table, column))
        if "REFERENCES" in words:
            facts.hazards.append(Hazard(ADD_FOREIGN_KEY, table, column))
        if "UNIQUE" in words or _phrase_in(words, "PRIMARY", "KEY"):
            facts.hazards.append(Hazard(ADD_UNIQUE, table, column))
        if "CHECK" in words:
            facts.hazards.append(Hazard(ADD_CHECK, table, column))
        rewrite = self.rewriting_column(words, index, end)
        if rewrite:
            facts.hazards.append(Hazard(ADD_REWRITE, table, column, rewrite))

    def rewriting_column(self, words: list[str], start: int, end: int) -> str | None:
        """Why a column added by ADD COLUMN fills every existing row, or None: PostgreSQL 11+
        stores a constant or STABLE default once, but evaluates anything else per row."""
        if any(w in _SERIAL for w in words) or "AUTO_INCREMENT" in words:
            return "an auto-increment column"
        if _phrase_in(words, "AS", "IDENTITY"):
            return "an identity column"
        if "GENERATED" in words and "STORED" in words:
            return "a stored generated column"
        if "DEFAULT" not in words:
            return None
        after = next(i for i in range(start, end) if self.word(i) == "DEFAULT")
        for position in range(after + 1, end):
            word = self.word(position)
            if word in _VOLATILE and self.is_punct(position + 1, "("):
                return f"a volatile default, {self.tokens[position].value.lower()}()"
        return None


def _phrase_in(words: list[str], *phrase: str) -> bool:
    size = len(phrase)
    return any(tuple(words[i : i + size]) == phrase for i in range(len(words) - size + 1))


_MARKERS = frozenset({"drop-default", "not-null-with-default"})


def _defaults_dropped(statements: list[Statement]) -> Iterable[Statement]:
    """Turn the bookkeeping marks into hazards: a NOT NULL column added with a DEFAULT that
    a later statement drops ends up with no default in the database (Django's AddField)."""
    added: set[tuple[str, str]] = set()
    for statement in statements:
        hazards = []
        for hazard in statement.hazards:
            key = (bare_name(hazard.table or ""), hazard.column or "")
            if hazard.kind == "not-null-with-default":
                added.add(key)
            elif hazard.kind == "drop-default":
                if key in added:
                    hazards.append(Hazard(DEFAULT_DROPPED, hazard.table, hazard.column))
            else:
                hazards.append(hazard)
        if len(hazards) != len(statement.hazards) or any(
            h.kind in _MARKERS for h in statement.hazards
        ):
            statement = _with(statement, hazards=tuple(hazards))
        yield statement
