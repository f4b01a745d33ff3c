"""What the deploy-safety rules share: the database backend, the change under review, the
tables that are new in it, field facts, and the statements of each RunSQL.

"New tables are safe": a table created in the same migration, or in another migration of the
change under review, holds no rows that old code or a lock could hurt. miglint has no deploy
history, so "the change" is: the migration itself; the files named on the command line (as
pre-commit passes the staged files); the files changed since `--diff BASE`; and migrations
marked `initial = True` together (Django writes `0001_initial` and `0002_initial` in one
go). A table created in any other migration is taken to exist in production already.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from miglint import sql as sqlmod
from miglint.graph.nodes import Migration, NodeKey
from miglint.project.load import Project
from miglint.source import syntax as s
from miglint.state.history import nullable
from miglint.state.tablestate import (
    SqlStatement,
    Step,
    Table,
    created_tables,
    default_table,
    table_steps,
)

POSTGRES_MODULE = "django.contrib.postgres"


@dataclass(frozen=True)
class Context:
    project: Project
    # "postgresql", "mysql", "sqlite", "oracle", or None when unknown.
    database: str | None
    # The database was guessed from django.contrib.postgres imports, not configured.
    hinted: bool
    scope: frozenset[NodeKey]
    # Database names of the tables created by the migrations of the change.
    scope_tables: frozenset[str]

    @classmethod
    def of(cls, project: Project) -> Context:
        database, hinted = project.config.database, False
        if database is None and uses_postgres(project):
            database, hinted = "postgresql", True
        scope = change_scope(project)
        tables: set[str] = set()
        for key in scope:
            migration = project.graph.disk.get(key)
            if migration is None or not migration.readable:
                continue
            for operation in migration.facts.operations:
                if operation.is_("CreateModel"):
                    name = operation.argument(0, "name")
                    options = operation.argument(2, "options")
                    table = s.dict_item(options, "db_table")
                    if isinstance(table, str):
                        tables.add(table.lower())
                    elif isinstance(name, str):
                        tables.add(default_table(migration.app, name))
        return cls(project, database, hinted, scope, frozenset(tables))

    def is_new(self, step: Step) -> bool:
        """The table the step's operation names was created in the change under review."""
        table = step.table
        return table is not None and self.created_in_change(step.migration, table.created_in)

    def created_in_change(self, migration: Migration, created_in: NodeKey | None) -> bool:
        """A table that `created_in` made is new to `migration`: the same migration, another
        one of the change under review, or an initial migration written with this one."""
        if created_in is None:
            return False
        if created_in == migration.key or created_in in self.scope:
            return True
        creator = self.project.graph.disk.get(created_in)
        return (
            creator is not None
            and creator.facts.initial is True
            and migration.facts.initial is True
        )

    def is_new_table(self, step: Step, name: str | None) -> bool:
        """A table named in SQL was created in this migration or in the change."""
        if name is None:
            return False
        bare = sqlmod.bare_name(name).lower()
        return bare in step.created_here or bare in self.scope_tables

    @cached_property
    def table_creators(self) -> dict[str, frozenset[NodeKey]]:
        """Every table name some migration creates (CreateModel, RunSQL CREATE TABLE), with
        the migrations that do."""
        creators: dict[str, set[NodeKey]] = {}
        for step in table_steps(self.project):
            names = set(created_tables(step.operation, step.migration))
            names.update(
                sqlmod.bare_name(name).lower()
                for found in step.sql_statements
                if not found.reverse
                for name in found.statement.creates
            )
            for name in names:
                creators.setdefault(name, set()).add(step.migration.key)
        return {name: frozenset(keys) for name, keys in creators.items()}

    @cached_property
    def sql_defaults(self) -> dict[NodeKey, frozenset[tuple[str, str]]]:
        """Per migration, the columns (table, column) its RunSQL gives a database default
        (`ALTER COLUMN ... SET DEFAULT ...`), lower-cased."""
        found: dict[NodeKey, set[tuple[str, str]]] = {}
        for step in table_steps(self.project):
            for statement in runsql_statements(step):
                for hazard in statement.statement.hazards:
                    if hazard.kind == sqlmod.SET_DEFAULT and hazard.table and hazard.column:
                        key = (sqlmod.bare_name(hazard.table).lower(), hazard.column.lower())
                        found.setdefault(step.migration.key, set()).add(key)
        return {key: frozenset(columns) for key, columns in found.items()}

    @cached_property
    def columns_with_sql_default(self) -> frozenset[tuple[str, str]]:
        """Every column (table, column) a RunSQL anywhere gives a database default."""
        return frozenset(column for columns in self.sql_defaults.values() for column in columns)

    @cached_property
    def copies(self) -> dict[NodeKey, list[tuple[tuple[int, int], str, frozenset[str]]]]:
        """Per migration, where its SQL copies rows elsewhere (`INSERT ... SELECT ... FROM t`,
        `CREATE TABLE ... AS SELECT`): the position, the source table and the columns."""
        found: dict[NodeKey, list[tuple[tuple[int, int], str, frozenset[str]]]] = {}
        for step in table_steps(self.project):
            for statement in runsql_statements(step):
                source = statement.statement.copies_from
                if source is not None:
                    found.setdefault(step.migration.key, []).append(
                        (
                            (statement.span.line, statement.span.column),
                            sqlmod.bare_name(source).lower(),
                            frozenset(name.lower() for name in statement.statement.copied),
                        )
                    )
        return found

    def copied_before(self, step: Step, span: s.Span, table: str, column: str | None) -> bool:
        """An earlier statement of the migration copied the rows of `table` (for a column:
        that column) elsewhere: dropping or deleting them ends a move, not a loss."""
        bare = sqlmod.bare_name(table).lower()
        for position, source, columns in self.copies.get(step.migration.key, ()):
            if source != bare or position >= (span.line, span.column):
                continue
            if column is None or "*" in columns or column.lower() in columns:
                return True
        return False

    def own_helper_table(self, step: Step, table: str) -> bool:
        """A table only this migration creates (and no model has): a `DROP TABLE IF EXISTS`
        before its CREATE removes a leftover of this very migration, never released data."""
        creators = self.table_creators.get(sqlmod.bare_name(table).lower())
        return creators == frozenset({step.migration.key})

    def removed_from_state_before(self, step: Step, table: str, column: str | None) -> bool:
        """The table, or the column, left the model state in an earlier migration (a
        state-only RemoveField or DeleteModel): dropping it now is the last step of the
        recipe MIG101 and MIG102 recommend, and no released code uses it any more."""
        bare = sqlmod.bare_name(table).lower()
        keys = [(bare, "")] + ([(bare, column.lower())] if column else [])
        for key in keys:
            removed_in = step.removed_from_state.get(key)
            if removed_in is None or removed_in == step.migration.key:
                continue
            # Both in the change under review: they deploy together, with old code running.
            if not (removed_in in self.scope and step.migration.key in self.scope):
                return True
        return False

    def where(self) -> str:
        """How the backend was chosen, for messages."""
        if self.database is None:
            return ""
        return " (guessed from django.contrib.postgres imports)" if self.hinted else ""


def uses_postgres(project: Project) -> bool:
    """A hint that the project runs on PostgreSQL: a migration imports django.contrib.postgres."""
    # Its operations, fields and indexes are all imported by name (or as a module).
    return any(module.startswith(POSTGRES_MODULE) for module in project.imported_modules)


def change_scope(project: Project) -> frozenset[NodeKey]:
    """The migrations of the change under review, as far as miglint can know it: the files
    named on the command line, and the files changed since `--diff BASE`."""
    return project.change_under_review


FOREIGN_KEYS = frozenset({"ForeignKey", "OneToOneField"})
NO_COLUMN = frozenset({"ManyToManyField", "GeneratedField"})
# Field classes that get an index unless told otherwise.
INDEXED_BY_DEFAULT = frozenset({"ForeignKey", "OneToOneField", "SlugField"})


def field_call(value: s.Value | s.Missing | None) -> s.Call | None:
    return value if isinstance(value, s.Call) else None


def flag(call: s.Call, name: str, default: bool | None = False) -> bool | None:
    """A boolean argument of a field: its literal value, `default` when absent, None when
    it is not a literal."""
    value = call.kwarg(name)
    if isinstance(value, s.Missing):
        return default
    return value if isinstance(value, bool) else None


def given(call: s.Call, name: str) -> bool:
    return not isinstance(call.kwarg(name), s.Missing)


def required_column(call: s.Call, known_class: bool) -> bool:
    """A column every INSERT must fill: NOT NULL with no database default, not the primary
    key. `known_class`: one of Django's fields, whose defaults miglint knows (a field class of
    another package may be nullable or defaulted in its __init__)."""
    if call.name in NO_COLUMN or call.has_star:
        return False
    null = nullable(call)
    if null is not False or (not known_class and given(call, "null") is False):
        return False
    return not given(call, "db_default") and flag(call, "primary_key") is not True


def is_unique(call: s.Call) -> bool:
    return (flag(call, "unique") is True or call.name == "OneToOneField") and flag(
        call, "primary_key"
    ) is not True


def is_indexed(call: s.Call) -> bool | None:
    db_index = flag(call, "db_index", None)
    if db_index is None:
        return (
            call.name in INDEXED_BY_DEFAULT
            if isinstance(call.kwarg("db_index"), s.Missing)
            else None
        )
    return db_index


def has_constraint(call: s.Call) -> bool:
    return call.name in FOREIGN_KEYS and flag(call, "db_constraint", True) is not False


def column_name(field_name: str, call: s.Call) -> str | None:
    """The column a field is stored in, or None when it cannot be known."""
    column = call.kwarg("db_column")
    if isinstance(column, str):
        return column
    if column is not None and not isinstance(column, s.Missing):
        return None
    if call.name in FOREIGN_KEYS:
        return f"{field_name}_id"
    if call.kwarg("on_delete") is not s.MISSING or call.kwarg("to") is not s.MISSING:
        # A class of its own that takes relation arguments is probably a ForeignKey
        # subclass (django-cms's PlaceholderForeignKey), whose column ends in _id.
        return None
    return field_name


def model_label(step: Step, table: Table | None = None) -> str:
    table = table or step.table
    if table is not None:
        return table.model
    name = step.operation.argument(0, "model_name")
    if not isinstance(name, str):
        name = step.operation.argument(0, "name")
    return name if isinstance(name, str) else "?"


EMPTY_STRINGS_ALLOWED = frozenset(
    {
        "CharField",
        "TextField",
        "SlugField",
        "EmailField",
        "URLField",
        "FileField",
        "ImageField",
        "FilePathField",
        "BinaryField",
    }
)
_OTHER_FIELDS = frozenset(
    {"ForeignKey", "OneToOneField", "ManyToManyField", "GeneratedField", "ArrayField"}
)


def is_django_field(call: s.Call) -> bool:
    """One of Django's own field classes, whose defaults miglint knows."""
    known = call.name in _TYPES or call.name in _OTHER_FIELDS
    head = call.func.partition(".")[0]
    return known and (call.func == call.name or head in ("models", "django", "fields"))


# Column types as (type, size) for the fields whose database type miglint knows.
_TYPES = {
    "CharField": "varchar",
    "SlugField": "varchar",
    "EmailField": "varchar",
    "URLField": "varchar",
    "FileField": "varchar",
    "ImageField": "varchar",
    "FilePathField": "varchar",
    "TextField": "text",
    "IntegerField": "integer",
    "PositiveIntegerField": "integer",
    "AutoField": "integer",
    "SmallIntegerField": "smallint",
    "PositiveSmallIntegerField": "smallint",
    "SmallAutoField": "smallint",
    "BigIntegerField": "bigint",
    "PositiveBigIntegerField": "bigint",
    "BigAutoField": "bigint",
    "BooleanField": "boolean",
    "NullBooleanField": "boolean",
    "DateField": "date",
    "DateTimeField": "timestamp",
    "TimeField": "time",
    "DurationField": "interval",
    "DecimalField": "numeric",
    "FloatField": "double",
    "UUIDField": "uuid",
    "JSONField": "jsonb",
    "BinaryField": "bytea",
    "GenericIPAddressField": "inet",
    "IPAddressField": "inet",
}
_DEFAULT_LENGTH = {
    "SlugField": 50,
    "EmailField": 254,
    "URLField": 200,
    "FileField": 100,
    "ImageField": 100,
    "FilePathField": 100,
}


ColumnType = tuple[str, int | tuple[int, int] | None]


def column_type(call: s.Call) -> ColumnType | None:
    """The column type of a Django field, or None for fields miglint cannot type."""
    base = _TYPES.get(call.name)
    if base is None:
        return None
    if base == "varchar":
        length = s.literal(call.kwarg("max_length"))
        if length is s.MISSING and not given(call, "max_length"):
            length = _DEFAULT_LENGTH.get(call.name)
        if length is not None and not isinstance(length, int):
            return None
        return base, length
    if base == "numeric":
        digits, places = (
            s.literal(call.kwarg("max_digits")),
            s.literal(call.kwarg("decimal_places")),
        )
        if not isinstance(digits, int) or not isinstance(places, int):
            return None
        return base, (digits, places)
    return base, None


def rewrites(old: ColumnType, new: ColumnType, database: str | None) -> bool:
    """Whether changing the column type from `old` to `new` rewrites the table."""
    if old == new:
        return False
    postgres = _postgres_rewrites(old, new)
    if database == "postgresql":
        return postgres
    if database == "mysql":
        return True
    if database in ("sqlite", "oracle"):
        return old[0] != new[0]
    # Unknown backend: only what rewrites on both PostgreSQL and MySQL.
    return postgres


def _postgres_rewrites(old: ColumnType, new: ColumnType) -> bool:
    (old_type, old_size), (new_type, new_size) = old, new
    if old_type == new_type == "varchar":
        # Widening (or removing the limit) is a catalogue change; narrowing rewrites.
        if not isinstance(new_size, int):
            return False
        return not isinstance(old_size, int) or new_size < old_size
    if old_type == "varchar" and new_type == "text":
        return False
    if old_type == new_type == "numeric":
        if not isinstance(old_size, tuple) or not isinstance(new_size, tuple):
            return True
        return new_size[1] != old_size[1] or new_size[0] < old_size[0]
    return True


def runsql_statements(step: Step, reverse: bool = False) -> Iterator[SqlStatement]:
    """The statements of a RunSQL step's `sql` (and of `reverse_sql` when asked)."""
    for statement in step.sql_statements:
        if reverse or not statement.reverse:
            yield statement


# Hazards of one column each: grouped per table. The others are grouped per statement.
_COLUMN_HAZARDS = frozenset(
    {
        sqlmod.DROP_COLUMN,
        sqlmod.ADD_NOT_NULL,
        sqlmod.DEFAULT_DROPPED,
        sqlmod.ALTER_TYPE,
        sqlmod.SET_NOT_NULL,
        sqlmod.RENAME_COLUMN,
    }
)


_DROPS = frozenset({sqlmod.DROP_TABLE, sqlmod.DROP_COLUMN})
# What ends a move when the rows were copied elsewhere first.
_MOVES = _DROPS | {sqlmod.DELETE_ALL, sqlmod.TRUNCATE}


@dataclass(frozen=True)
class SqlHazard:
    """One kind of hazard at one place of a RunSQL, with everything it hits there: one
    finding for `ALTER TABLE t DROP COLUMN a, DROP COLUMN b`, not two."""

    kind: str
    span: s.Span
    statement: sqlmod.Statement
    tables: tuple[str, ...]
    columns: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        return ", ".join(self.tables) or "?"

    @property
    def column_phrase(self) -> str:
        """`column a` or `columns a, b`."""
        if len(self.columns) > 1:
            return "columns " + ", ".join(self.columns)
        return "column " + (self.columns[0] if self.columns else "?")


def sql_hazards(
    step: Step, context: Context, *kinds: str, reverse: bool = False
) -> list[SqlHazard]:
    """The hazards `kinds` of a RunSQL step's statements on tables that are not new (created
    in the change, or earlier in the same SQL), one per kind, place and (for column hazards)
    table."""
    created: set[str] = set()
    groups: dict[tuple[s.Span, str, str | None], list[tuple[SqlStatement, sqlmod.Hazard]]] = {}
    for found in runsql_statements(step, reverse):
        statement = found.statement
        for hazard in statement.hazards:
            if hazard.kind not in kinds:
                continue
            table = hazard.table
            if table is not None and (
                sqlmod.bare_name(table) in created or context.is_new_table(step, table)
            ):
                continue
            if (
                hazard.kind in _DROPS
                and table is not None
                and context.removed_from_state_before(step, table, hazard.column)
            ):
                continue
            if hazard.kind == sqlmod.DROP_TABLE and table and context.own_helper_table(step, table):
                continue
            if (
                hazard.kind in _MOVES
                and table is not None
                and context.copied_before(step, found.span, table, hazard.column)
            ):
                continue
            per_table = table if hazard.kind in _COLUMN_HAZARDS else None
            groups.setdefault((found.span, hazard.kind, per_table), []).append((found, hazard))
        created.update(sqlmod.bare_name(name) for name in statement.creates)
    result = []
    for (span, kind, _), hazards in groups.items():
        tables = tuple(dict.fromkeys(h.table or "?" for _, h in hazards))
        columns = tuple(
            dict.fromkeys(
                column
                for found, h in hazards
                # UPDATE without WHERE: the columns it sets.
                for column in ((h.column,) if h.column else found.statement.columns)
            )
        )
        result.append(SqlHazard(kind, span, hazards[0][0].statement, tables, columns))
    return result
