"""What each model and field looked like just before an operation, from the app's history.

MIG103 must know what an AlterField changes *from*, and MIG101/MIG102 whether a model has a
table at all (proxy and unmanaged models have none). `app_history` walks one app's
migrations once, in the order `migrate` applies them (as `migrate` on an empty database
does, sibling branches included), keeping only what operations state literally: fields by
(model, name), following RenameModel and RenameField. It also counts the app's data steps
(RunPython, RunSQL that changes rows, and what may be one: an operation that is not Django's,
a migration it cannot read completely), so that MIG103 knows whether one ran since a
field last became nullable. Whatever it cannot read makes that
field, that model or (for an unreadable operation) the whole app unknown: never guessed.

A full model-state replay lives in `miglint.state.state`; this module only answers "what was it
before this operation", so it stays small and linear in the number of operations.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from miglint.graph.nodes import Migration, NodeKey
from miglint.project.load import Project
from miglint.source import syntax as s
from miglint.source.facts import Operation
from miglint.source.parse import import_aliases, qualify
from miglint.state.effects import is_data_step

_MODELS = "django.db.models."

# Where an operation sits in its migration: `(index,)`, or `(index, inner)` for an entry of a
# SeparateDatabaseAndState's `database_operations`.
OperationPath = tuple[int, ...]


@dataclass(frozen=True)
class FieldDefinition:
    """A field as a migration wrote it, e.g. `models.CharField(max_length=100)`."""

    call: s.Call
    # The class's dotted path, Django's shortened to `django.db.models.CharField`.
    field_class: str
    # The migration that wrote this definition.
    migration: NodeKey

    @property
    def class_name(self) -> str:
        return self.field_class.rpartition(".")[2]

    @property
    def is_django(self) -> bool:
        return self.field_class.startswith(_MODELS)


@dataclass(frozen=True)
class ModelFacts:
    """A model's name as created, and whether it has a table; None where unknown."""

    name: str
    proxy: bool | None
    managed: bool | None
    # The migration whose CreateModel made it.
    created_in: NodeKey | None = None
    # Its explicit `db_table`, else None (Django's default name is `app_model`).
    db_table: str | None = None

    def table(self, app: str) -> str:
        """The table's name, lower-cased."""
        return (self.db_table or f"{app}_{self.name}").lower()

    @property
    def has_table(self) -> bool:
        """False only when the history says proxy or unmanaged (no SQL runs for it)."""
        return self.proxy is not True and self.managed is not False


@dataclass(frozen=True)
class Before:
    """The model and field an operation names, as they were just before it ran."""

    model: ModelFacts | None
    field: FieldDefinition | None
    # A data step of the app ran after the field last became nullable (and before this).
    data_step_since_nullable: bool = False
    # The migration whose AddField or CreateModel added the field (its column).
    field_added_in: NodeKey | None = None


@dataclass
class _Model:
    facts: ModelFacts
    fields: dict[str, FieldDefinition] = field(default_factory=dict)
    # Field name -> how many data steps the walk had seen when the field became nullable.
    nullable_at: dict[str, int] = field(default_factory=dict)
    # Field name -> the migration that added it.
    added_in: dict[str, NodeKey] = field(default_factory=dict)

    def copy(self) -> _Model:
        return _Model(self.facts, dict(self.fields), dict(self.nullable_at), dict(self.added_in))

    def define(self, name: str, definition: FieldDefinition, data_steps: int) -> None:
        """Write a field's new definition; a field nullable before and after stays nullable
        since when it became so."""
        previous = self.fields.get(name)
        self.fields[name] = definition
        if nullable(definition.call) is not True:
            self.nullable_at.pop(name, None)
        elif previous is None or nullable(previous.call) is not True:
            self.nullable_at[name] = data_steps

    def forget(self, name: str) -> FieldDefinition | None:
        self.nullable_at.pop(name, None)
        self.added_in.pop(name, None)
        return self.fields.pop(name, None)


# Model name (lowercased, as Django keys models) -> its state. A missing field is unknown.
_State = dict[str, _Model]
History = Mapping[tuple[NodeKey, OperationPath], Before]

# Operations whose `model_name`/`name` an entry of History describes.
_RECORDED = ("AlterField", "RemoveField", "DeleteModel")


def field_history(project: Project, app_key: str) -> History:
    """What each AlterField, RemoveField and DeleteModel of the app saw before it ran (one
    walk per app, shared by the data-loss and mixing rules)."""
    histories: dict[str, History] = project.memo.setdefault("field_history", {})
    if app_key not in histories:
        histories[app_key] = app_history(project, app_key)
    return histories[app_key]


def app_history(project: Project, app_key: str) -> History:
    """For each AlterField, RemoveField and DeleteModel of the app: what it saw before it ran.

    Keyed by (migration key, operation path). Migrations replaced by a squash are walked in
    a second pass that uses them instead of their squash, so they get answers too.
    """
    graph = project.graph
    order = [graph.nodes[key] for key in graph.app_order(app_key)]
    history: dict[tuple[NodeKey, OperationPath], Before] = {}
    _walk_migrations(order, history)
    expanded = _expand_squashes(order, project)
    if expanded is not None:
        replaced = {m.key for m in expanded if m.key not in graph.nodes}
        extra: dict[tuple[NodeKey, OperationPath], Before] = {}
        _walk_migrations(expanded, extra)
        history.update((k, v) for k, v in extra.items() if k[0] in replaced)
    return history


def _expand_squashes(order: list[Migration], project: Project) -> list[Migration] | None:
    """`order` with each squash whose replaced files all exist swapped for them; None if none."""
    result: list[Migration] = []
    changed = False
    for migration in order:
        replaces = [d.key for d in migration.facts.replaces]
        replaced = [project.graph.disk.get(key) for key in replaces if key is not None]
        if replaces and len(replaced) == len(replaces) and all(replaced):
            result.extend(m for m in replaced if m is not None)
            changed = True
        else:
            result.append(migration)
    return result if changed else None


def _walk_migrations(
    order: Iterable[Migration], history: dict[tuple[NodeKey, OperationPath], Before]
) -> None:
    state: _State = {}
    data_steps = 0
    for migration in order:
        if not migration.readable:
            # A file miglint cannot read may change anything.
            state.clear()
            continue
        if migration.facts.notes:
            # A class miglint cannot read completely (operations behind an `if`) may fill rows.
            data_steps += 1
        walker = _Walker(migration, history, data_steps)
        walker.operations(migration.facts.operations, (), state)
        data_steps = walker.data_steps


class _Walker:
    """Applies one migration's operations to the state, recording what each one saw."""

    def __init__(
        self,
        migration: Migration,
        history: dict[tuple[NodeKey, OperationPath], Before],
        data_steps: int,
    ) -> None:
        self.migration = migration
        self.history = history
        self.aliases = import_aliases(migration.facts.imports)
        # Data steps (RunPython, RunSQL that changes rows) run so far in the app's walk.
        self.data_steps = data_steps

    def operations(
        self,
        operations: Iterable[Operation],
        prefix: OperationPath,
        state: _State,
        record: bool = True,
    ) -> None:
        for index, operation in enumerate(operations):
            path = (*prefix, index)
            if operation.call is None:
                state.clear()
            elif operation.is_("SeparateDatabaseAndState"):
                # The database operations see the state before; only state_operations stick.
                scratch = {name: model.copy() for name, model in state.items()}
                self.operations(operation.database_operations, path, scratch, record)
                self.operations(operation.state_operations, path, state, record=False)
            elif operation.is_django:
                if record and is_data_step(operation, self.migration):
                    self.data_steps += 1
                if record and operation.name in _RECORDED:
                    self.record(operation.call, path, state)
                self.apply(operation.name, operation.call, state)
            elif record:
                # An operation miglint does not know (often a RunPython subclass) may fill rows.
                self.data_steps += 1

    def record(self, call: s.Call, path: OperationPath, state: _State) -> None:
        is_model_op = call.name == "DeleteModel"
        model_name = _text(call.argument(0, "name" if is_model_op else "model_name"))
        model = state.get(model_name.lower()) if model_name else None
        definition = None
        filled = False
        added_in = None
        if model is not None and not is_model_op:
            field_name = _text(call.argument(1, "name"))
            definition = model.fields.get(field_name) if field_name else None
            since = model.nullable_at.get(field_name) if field_name else None
            filled = since is not None and self.data_steps > since
            added_in = model.added_in.get(field_name) if field_name else None
        self.history[(self.migration.key, path)] = Before(
            model.facts if model else None, definition, filled, added_in
        )

    def apply(self, name: str, call: s.Call, state: _State) -> None:
        """Django's `state_forwards` for the operations that change models or fields."""
        if name == "RunSQL":
            self.nested_state_operations(call.argument(2, "state_operations"), state)
            return
        if name not in _STATE_CHANGES:
            return
        if call.has_star:
            state.clear()
            return
        if name == "CreateModel":
            self.create_model(call, state)
        elif name == "DeleteModel":
            _pop(state, _text(call.argument(0, "name")))
        elif name == "RenameModel":
            old, new = _text(call.argument(0, "old_name")), _text(call.argument(1, "new_name"))
            model = _pop(state, old)
            if old is None or new is None:
                state.clear()
            elif model is not None:
                state[new.lower()] = _Model(
                    replace(model.facts, name=new),
                    model.fields,
                    model.nullable_at,
                    model.added_in,
                )
        elif name == "AlterModelOptions":
            self.alter_options(call, state)
        elif name == "AlterModelTable":
            model_name = _text(call.argument(0, "name"))
            model = state.get(model_name.lower()) if model_name else None
            if model is not None:
                table = call.argument(1, "table")
                model.facts = replace(
                    model.facts, db_table=table if isinstance(table, str) else None
                )
        else:
            self.apply_field(name, call, state)

    def apply_field(self, name: str, call: s.Call, state: _State) -> None:
        model_name = _text(call.argument(0, "model_name"))
        if model_name is None:
            state.clear()
            return
        model = state.get(model_name.lower())
        if name == "RenameField":
            old, new = _text(call.argument(1, "old_name")), _text(call.argument(2, "new_name"))
            if old is None or new is None:
                state.clear()
            elif model is not None:
                since = model.nullable_at.pop(old, None)
                added_in = model.added_in.pop(old, None)
                moved = model.forget(old)
                if moved is not None:
                    model.fields[new] = moved
                    if since is not None:
                        model.nullable_at[new] = since
                    if added_in is not None:
                        model.added_in[new] = added_in
            return
        field_name = _text(call.argument(1, "name"))
        if field_name is None:
            state.clear()
            return
        if model is None:
            return
        definition = None
        if name in ("AddField", "AlterField"):
            definition = self.definition(call.argument(2, "field"))
        if definition is None or name != "AlterField":
            model.forget(field_name)
        if definition is not None:
            model.define(field_name, definition, self.data_steps)
            if name == "AddField":
                model.added_in[field_name] = self.migration.key

    def create_model(self, call: s.Call, state: _State) -> None:
        name = _text(call.argument(0, "name"))
        if name is None:
            state.clear()
            return
        options = call.argument(2, "options")
        proxy = _option(options, "proxy", False)
        managed = _option(options, "managed", True)
        db_table = s.dict_item(options, "db_table")
        explicit = db_table if isinstance(db_table, str) else None
        model = _Model(ModelFacts(name, proxy, managed, self.migration.key, explicit))
        fields = call.argument(1, "fields")
        if isinstance(fields, s.Seq):
            for item in fields.items:
                if isinstance(item, s.Seq) and len(item.items) == 2:
                    field_name, value = item.items
                    definition = self.definition(value)
                    if isinstance(field_name, str) and definition is not None:
                        model.define(field_name, definition, self.data_steps)
        state[name.lower()] = model

    def alter_options(self, call: s.Call, state: _State) -> None:
        name = _text(call.argument(0, "name"))
        model = state.get(name.lower()) if name else None
        if model is None:
            return
        # Django resets `managed` to its default when the new options leave it out.
        managed = _option(call.argument(1, "options"), "managed", True)
        model.facts = replace(model.facts, managed=managed)

    def nested_state_operations(self, value: s.Value | s.Missing, state: _State) -> None:
        """RunSQL(state_operations=[...]) changes the state like any operation."""
        if isinstance(value, s.Missing) or value is None:
            return
        if not isinstance(value, s.Seq):
            state.clear()
            return
        for item in value.items:
            if not isinstance(item, s.Call):
                state.clear()
                continue
            qualname = qualify(item.func, self.aliases)
            if qualname.startswith("django.") or "." not in qualname:
                self.apply(item.name, item, state)

    def definition(self, value: s.Value | s.Missing) -> FieldDefinition | None:
        return field_definition(value, self.migration, self.aliases)


_STATE_CHANGES = frozenset(
    {
        "CreateModel",
        "DeleteModel",
        "RenameModel",
        "AlterModelOptions",
        "AlterModelTable",
        "AddField",
        "RemoveField",
        "AlterField",
        "RenameField",
    }
)


def field_definition(
    value: s.Value | s.Missing, migration: Migration, aliases: Mapping[str, str] | None = None
) -> FieldDefinition | None:
    """`value` as a field definition written in `migration`; None when it is not a call."""
    if not isinstance(value, s.Call):
        return None
    if aliases is None:
        aliases = import_aliases(migration.facts.imports)
    field_class = qualify(value.func, aliases)
    if field_class.startswith(_MODELS):
        field_class = _MODELS + value.name
    return FieldDefinition(value, field_class, migration.key)


def nullable(call: s.Call) -> bool | None:
    """Whether a field definition allows NULL; None when `null=` cannot be read."""
    if call.name == "NullBooleanField":
        return True
    value = call.kwarg("null")
    if value is s.MISSING:
        return False
    return value if isinstance(value, bool) else None


def _text(value: s.Value | s.Missing) -> str | None:
    return value if isinstance(value, str) else None


def _option(options: s.Value | s.Missing, key: str, default: bool) -> bool | None:
    """A boolean model option from an `options={...}` dict; None when it cannot be read."""
    if isinstance(options, s.Missing) or options is None:
        return default
    if not isinstance(options, s.Dict):
        return None
    for name, value in options.items:
        if not isinstance(name, str):
            return None
        if name == key:
            return value if isinstance(value, bool) else None
    return default


def _pop(state: _State, name: str | None) -> _Model | None:
    if name is None:
        state.clear()
        return None
    return state.pop(name.lower(), None)


def migrations_by_app(project: Project) -> dict[str, list[Migration]]:
    """The readable migrations of each app (by app key), in the project's order."""
    by_app: dict[str, list[Migration]] = {}
    for migration in project.analysed_migrations():
        if migration.readable:
            by_app.setdefault(migration.app_key, []).append(migration)
    return by_app


def database_operations(
    operations: Iterable[Operation], prefix: OperationPath = ()
) -> Iterator[tuple[OperationPath, Operation]]:
    """Every operation that runs SQL, with its path: SeparateDatabaseAndState's
    `database_operations` are opened, its `state_operations` (no SQL) are left out."""
    for index, operation in enumerate(operations):
        path = (*prefix, index)
        if operation.is_("SeparateDatabaseAndState"):
            yield from database_operations(operation.database_operations, path)
        else:
            yield path, operation


def dropped_later(operations: Iterable[Operation]) -> frozenset[s.Span]:
    """The spans of the operations (run on the database) whose model a later DeleteModel of
    the same migration drops with its table: that DeleteModel is the hazard to report."""
    ordered = [operation for _, operation in database_operations(operations)]
    doomed: set[str] = set()
    found: set[s.Span] = set()
    for operation in reversed(ordered):
        call = operation.call
        if call is None or not operation.is_django:
            continue
        if operation.name == "DeleteModel":
            name = _text(call.argument(0, "name"))
            if name is not None:
                doomed.add(name.lower())
            continue
        if operation.name == "CreateModel":
            # What comes before it names an earlier model of the same name.
            name = _text(call.argument(0, "name"))
            if name is not None:
                doomed.discard(name.lower())
            continue
        if operation.name == "RenameModel":
            old, new = _text(call.argument(0, "old_name")), _text(call.argument(1, "new_name"))
            if old is not None and new is not None and new.lower() in doomed:
                doomed.discard(new.lower())
                doomed.add(old.lower())
                found.add(operation.span)
            continue
        position, keyword = (0, "name") if operation.name in _MODEL_OPTIONS else (0, "model_name")
        model = _text(call.argument(position, keyword))
        if model is not None and model.lower() in doomed:
            found.add(operation.span)
    return frozenset(found)


def deleted_after(operations: Iterable[Operation]) -> dict[OperationPath, frozenset[str]]:
    """For each operation run on the database: the models (lower-cased names) that a later
    DeleteModel of the same migration drops."""
    ordered = list(database_operations(operations))
    later: set[str] = set()
    result: dict[OperationPath, frozenset[str]] = {}
    for path, operation in reversed(ordered):
        result[path] = frozenset(later)
        if operation.is_("DeleteModel") and operation.call is not None:
            name = _text(operation.call.argument(0, "name"))
            if name is not None:
                later.add(name.lower())
    return result


def relation_target(call: s.Call, app: str) -> tuple[str, str] | None:
    """(app label, lower-cased model name) a ForeignKey, OneToOneField or ManyToManyField
    points to, when `to` is a literal model reference."""
    if call.name not in ("ForeignKey", "OneToOneField", "ManyToManyField"):
        return None
    target = _text(call.argument(0, "to"))
    if target is None:
        return None
    label, _, model = target.rpartition(".")
    return (label or app), model.lower()


# Operations that name their model `name` rather than `model_name`.
_MODEL_OPTIONS = frozenset(
    {
        "AlterModelTable",
        "AlterModelTableComment",
        "AlterModelOptions",
        "AlterModelManagers",
        "AlterUniqueTogether",
        "AlterIndexTogether",
        "AlterOrderWithRespectTo",
    }
)
