"""Each table as the deploy-safety rules need it just before an operation runs.

One pass over an app's migrations in the order `migrate` applies them, keeping per model:
the migration that created its table, its table name, its fields as written, and its
`unique_together`. The rules ask two things of it: "is this table new in the change under
review?" and "what was this field before?". What cannot be read is unknown, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType

from miglint import sql as sqlmod
from miglint.graph.nodes import Migration, NodeKey
from miglint.project.load import Project
from miglint.source import syntax as s
from miglint.source.facts import Operation
from miglint.source.parse import import_aliases, qualify


@dataclass(frozen=True)
class Table:
    """A model's table before an operation."""

    app: str
    model: str
    # The migration whose CreateModel made it (in the state).
    created_in: NodeKey
    # Explicit `db_table`, else None (Django's default name is `app_model`).
    db_table: str | None = None
    unique_together: frozenset[tuple[str, ...]] | None = frozenset()
    index_together: frozenset[tuple[str, ...]] | None = frozenset()
    # Meta.proxy and Meta.managed as literals; None when they cannot be read.
    proxy: bool | None = False
    managed: bool | None = True

    @property
    def has_table(self) -> bool | None:
        """False for a proxy or unmanaged model (`migrate` runs no SQL for it); None: unknown."""
        if self.proxy is True or self.managed is False:
            return False
        return None if self.proxy is None or self.managed is None else True

    @property
    def name(self) -> str:
        return self.db_table or default_table(self.app, self.model)


def default_table(app: str, model: str) -> str:
    return f"{app}_{model}".lower()


@dataclass(frozen=True)
class Step:
    """One operation that runs SQL, with the table it names as it was just before."""

    migration: Migration
    operation: Operation
    table: Table | None
    # Tables created so far in this migration (database names), for RunSQL.
    created_here: frozenset[str] = frozenset()
    # The definition, just before, of the field the operation names (AlterField, RemoveField,
    # RenameField's old name); None when unknown.
    field_before: s.Value | None = None
    # For RunSQL: the columns (table, column) and tables (table, "") of this app that an
    # earlier operation took out of the model state only, and the migration that did.
    removed_from_state: Mapping[tuple[str, str], NodeKey] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @cached_property
    def sql_statements(self) -> tuple[SqlStatement, ...]:
        """The statements of a RunSQL step's `sql` and `reverse_sql`, analysed once for
        every rule that asks."""
        operation = self.operation
        if not operation.is_("RunSQL") or operation.call is None:
            return ()
        names = dict(self.migration.facts.constants)
        found = []
        for position, keyword, backwards in ((0, "sql", False), (1, "reverse_sql", True)):
            value = operation.argument(position, keyword)
            span = operation.argument_span(position, keyword)
            argument = sqlmod.runsql_argument(value, span, names)
            if not argument.pieces:
                continue
            for statement in argument.statements():
                found.append(SqlStatement(statement, argument.span_of(statement), backwards))
        return tuple(found)


@dataclass(frozen=True)
class SqlStatement:
    statement: sqlmod.Statement
    span: s.Span
    reverse: bool


def table_steps(project: Project) -> tuple[Step, ...]:
    """Every operation that runs SQL with its table as it was just before (one replay per
    project, shared by the deploy-safety rules)."""
    if "table_steps" not in project.memo:
        project.memo["table_steps"] = tuple(steps(project))
    found: tuple[Step, ...] = project.memo["table_steps"]
    return found


def steps(project: Project) -> Iterator[Step]:
    """Every operation that runs SQL, app by app, in the order `migrate` applies them."""
    for app in project.apps:
        if project.analyses(app.key):
            yield from _app_steps(project, app.key)


def _app_steps(project: Project, app_key: str) -> Iterator[Step]:
    state = _State()
    for key in project.graph.app_order(app_key):
        migration = project.graph.disk.get(key)
        if migration is None or not migration.readable:
            state.clear()
            continue
        created: set[str] = set()
        for operation in migration.facts.operations:
            if operation.call is None or not operation.is_django:
                if operation.call is None:
                    state.clear()
                yield Step(migration, operation, None, frozenset(created))
                continue
            if operation.is_("SeparateDatabaseAndState"):
                for inner in operation.database_operations:
                    step = state.step(migration, inner, created)
                    if _runs_sql(step):
                        yield step
                    created.update(created_tables(inner, migration))
                for inner in operation.state_operations:
                    state.forget(inner, migration)
                    state.apply(inner, migration)
                continue
            step = state.step(migration, operation, created)
            if _runs_sql(step):
                yield step
            created.update(created_tables(operation, migration))
            state.apply(operation, migration)
            if operation.is_("RunSQL"):
                # RunSQL(state_operations=[...]) tells Django's state what the SQL did.
                for inner in _state_operations(operation, migration):
                    state.forget(inner, migration)
                    state.apply(inner, migration)


def _runs_sql(step: Step) -> bool:
    """False for an operation on a proxy or unmanaged model (Django's `allow_migrate_model`
    turns it away: no SQL runs, so nothing is locked, rewritten or lost); True otherwise,
    and when that cannot be read."""
    operation = step.operation
    if operation.is_("CreateModel"):
        options = operation.argument(2, "options")
        return not (
            s.dict_item(options, "proxy") is True or s.dict_item(options, "managed") is False
        )
    if operation.is_("RunSQL", "RunPython"):
        return True
    return step.table is None or step.table.has_table is not False


def _state_operations(operation: Operation, migration: Migration) -> Iterator[Operation]:
    listed = operation.argument(2, "state_operations")
    if isinstance(listed, s.Seq):
        aliases = import_aliases(migration.facts.imports)
        for item in listed.items:
            if isinstance(item, s.Call):
                yield Operation(item.name, qualify(item.func, aliases), item, item.span)


def _text(value: s.Value | s.Missing) -> str | None:
    return value if isinstance(value, str) else None


_MODEL_ARGUMENT = {
    "CreateModel": (0, "name"),
    "DeleteModel": (0, "name"),
    "RenameModel": (0, "old_name"),
    "AlterModelTable": (0, "name"),
    "AlterModelOptions": (0, "name"),
    "AlterUniqueTogether": (0, "name"),
    "AlterIndexTogether": (0, "name"),
}


def model_name(operation: Operation) -> str | None:
    """The model an operation names (`model_name`, or `name` for model operations)."""
    position, keyword = _MODEL_ARGUMENT.get(operation.name, (0, "model_name"))
    return _text(operation.argument(position, keyword))


def created_tables(operation: Operation, migration: Migration) -> set[str]:
    """The table a CreateModel creates (lower-cased), or nothing."""
    if not operation.is_("CreateModel"):
        return set()
    name = _text(operation.argument(0, "name"))
    if name is None:
        return set()
    table = s.dict_item(operation.argument(2, "options"), "db_table")
    return {(table if isinstance(table, str) else default_table(migration.app, name)).lower()}


def together_sets(value: s.Value | s.Missing) -> frozenset[tuple[str, ...]] | None:
    """`unique_together` as a set of name tuples; None when it cannot be read."""
    if isinstance(value, s.Missing) or value is None:
        return frozenset()
    if isinstance(value, s.Call) and value.func == "set" and not value.kwargs:
        # `set()` as makemigrations writes an emptied index_together; `set([...])` by hand.
        if not value.args:
            return frozenset()
        if len(value.args) == 1 and isinstance(value.args[0], s.Seq):
            return together_sets(value.args[0])
        return None
    plain = s.literal(value)
    if not isinstance(plain, list | tuple | set | frozenset):
        return None
    items = list(plain)
    if items and all(isinstance(item, str) for item in items):
        items = [tuple(items)]  # a single tuple, as Django normalises it
    result = set()
    for item in items:
        if not isinstance(item, list | tuple) or not all(isinstance(n, str) for n in item):
            return None
        result.add(tuple(item))
    return frozenset(result)


class _State:
    """The replay's working state: tables by model, and each model's fields as written.

    Fields live apart from the immutable `Table`s so that adding a field costs O(1), not a
    copy of the model (a 20,000-field migration stays linear)."""

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}
        self.fields: dict[str, dict[str, s.Value]] = {}
        # What left the model state but not the database (see Step.removed_from_state).
        self.removed: dict[tuple[str, str], NodeKey] = {}

    def clear(self) -> None:
        self.tables.clear()
        self.fields.clear()
        self.removed.clear()

    def forget(self, operation: Operation, migration: Migration) -> None:
        """A state-only RemoveField or DeleteModel: its column or table stays in the
        database, for a later RunSQL to drop."""
        call = operation.call
        if call is None or not operation.is_django or call.has_star:
            return
        name = model_name(operation)
        table = self.tables.get(name.lower()) if name else None
        if table is None:
            return
        fields = self.fields.get(name.lower(), {}) if name else {}
        if operation.name == "DeleteModel":
            self.removed[(table.name.lower(), "")] = migration.key
            for field_name, value in fields.items():
                self.forget_field(table, field_name, value, migration)
        elif operation.name == "RemoveField":
            removed = _text(call.argument(1, "name"))
            if removed and removed.lower() in fields:
                self.forget_field(table, removed, fields[removed.lower()], migration)

    def forget_field(self, table: Table, name: str, value: s.Value, migration: Migration) -> None:
        if not isinstance(value, s.Call) or value.has_star:
            return
        if value.name == "ManyToManyField":
            if value.kwarg("through") is s.MISSING:
                link = value.kwarg("db_table")
                link_table = link if isinstance(link, str) else f"{table.name}_{name}"
                self.removed[(link_table.lower(), "")] = migration.key
            return
        db_column = value.kwarg("db_column")
        if isinstance(db_column, str):
            column = db_column
        elif db_column is s.MISSING or db_column is None:
            column = f"{name}_id" if value.name in ("ForeignKey", "OneToOneField") else name
        else:
            return
        self.removed[(table.name.lower(), column.lower())] = migration.key

    def step(self, migration: Migration, operation: Operation, created: set[str]) -> Step:
        name = model_name(operation)
        key = name.lower() if name else None
        table = self.tables.get(key) if key else None
        field_name = _field_named(operation)
        before = None
        if key is not None and field_name is not None:
            before = self.fields.get(key, {}).get(field_name.lower())
        if operation.is_("RunSQL") and self.removed:
            removed = MappingProxyType(dict(self.removed))
            return Step(migration, operation, table, frozenset(created), before, removed)
        return Step(migration, operation, table, frozenset(created), before)

    def apply(self, operation: Operation, migration: Migration) -> None:
        """Django's `state_forwards` for what the deploy rules look at."""
        call = operation.call
        if call is None:
            self.clear()
            return
        if not operation.is_django:
            return
        name = operation.name
        if call.has_star and name in _CHANGES:
            self.clear()
            return
        model = model_name(operation)
        key = model.lower() if model else None
        if key is None:
            return
        table = self.tables.get(key)
        fields = self.fields.setdefault(key, {})
        if name == "CreateModel" and model:
            options = call.argument(2, "options")
            db_table = s.dict_item(options, "db_table")
            fields.clear()
            listed = call.argument(1, "fields")
            if isinstance(listed, s.Seq):
                for item in listed.items:
                    if isinstance(item, s.Seq) and len(item.items) == 2:
                        field_name, value = item.items
                        if isinstance(field_name, str):
                            fields[field_name.lower()] = value
            self.tables[key] = Table(
                migration.app,
                model,
                migration.key,
                db_table if isinstance(db_table, str) else None,
                together_sets(s.dict_item(options, "unique_together")),
                together_sets(s.dict_item(options, "index_together")),
                _flag(s.dict_item(options, "proxy"), False),
                _flag(s.dict_item(options, "managed"), True),
            )
            if self.removed:
                # A table of that name again: what was left of the old one is gone.
                created = self.tables[key].name.lower()
                self.removed = {k: v for k, v in self.removed.items() if k[0] != created}
        elif name == "DeleteModel":
            self.tables.pop(key, None)
            self.fields.pop(key, None)
        elif name == "RenameModel":
            new = _text(call.argument(1, "new_name"))
            self.tables.pop(key, None)
            model_fields = self.fields.pop(key, {})
            if table is not None and new:
                self.tables[new.lower()] = replace(table, model=new)
                self.fields[new.lower()] = model_fields
        elif table is None:
            return
        elif name == "AlterModelTable":
            new_table = call.argument(1, "table")
            self.tables[key] = replace(
                table, db_table=new_table if isinstance(new_table, str) else None
            )
        elif name == "AlterModelOptions":
            # AlterModelOptions sets `managed` (back to the default when it is absent).
            managed = _flag(s.dict_item(call.argument(1, "options"), "managed"), True)
            self.tables[key] = replace(table, managed=managed)
        elif name == "AlterUniqueTogether":
            unique = together_sets(call.argument(1, "unique_together"))
            self.tables[key] = replace(table, unique_together=unique)
        elif name == "AlterIndexTogether":
            index = together_sets(call.argument(1, "index_together"))
            self.tables[key] = replace(table, index_together=index)
        elif name in ("AddField", "AlterField"):
            field_name = _text(call.argument(1, "name"))
            if field_name:
                fields[field_name.lower()] = _field_value(call.argument(2, "field"))
                if self.removed and name == "AddField":
                    for column in (field_name.lower(), f"{field_name.lower()}_id"):
                        self.removed.pop((table.name.lower(), column), None)
        elif name == "RemoveField":
            field_name = _text(call.argument(1, "name"))
            if field_name:
                fields.pop(field_name.lower(), None)
        elif name == "RenameField":
            old = _text(call.argument(1, "old_name"))
            new = _text(call.argument(2, "new_name"))
            if old and new:
                moved = fields.pop(old.lower(), None)
                if moved is not None:
                    fields[new.lower()] = moved


def _flag(value: s.Value | s.Missing, default: bool) -> bool | None:
    """A literal boolean option; `default` when absent; None when it cannot be read."""
    if value is s.MISSING:
        return default
    return value if isinstance(value, bool) else None


def _field_named(operation: Operation) -> str | None:
    if operation.name in ("AddField", "AlterField", "RemoveField"):
        return _text(operation.argument(1, "name"))
    if operation.name == "RenameField":
        return _text(operation.argument(1, "old_name"))
    return None


def _field_value(value: s.Value | s.Missing) -> s.Value:
    return s.Unknown("?", "missing") if isinstance(value, s.Missing) else value


_CHANGES = frozenset(
    {
        "CreateModel",
        "DeleteModel",
        "RenameModel",
        "AlterModelTable",
        "AlterUniqueTogether",
        "AlterIndexTogether",
        "AddField",
        "AlterField",
        "RemoveField",
        "RenameField",
    }
)
