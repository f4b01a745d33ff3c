"""Model state built by replaying migrations, in the shape Django's autodetector compares.

Each app's models are kept with their fields (see `fields`: as `Field.deconstruct()` would
return them, every value in the canonical form of `values`) and their options; `replay_app`
applies an app's operations in the order `migrate` runs them. Whatever cannot be decided
from source (a lambda, a custom field class, an unreadable operation) is marked, never
guessed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from miglint.source import syntax as s
from miglint.source.facts import Operation

if TYPE_CHECKING:
    from miglint.graph.nodes import App
    from miglint.project.load import Project
from miglint.state.fields import FieldState, deconstruct_field, resolve_syntax
from miglint.state.values import (
    ImportScope,
    ProjectCode,
    Scope,
    Undecidable,
    Undecided,
    canonical,
    sequence_items,
    unify_sequences,
)

# Options AlterModelOptions covers (AlterModelOptions.ALTER_OPTION_KEYS).
ALTER_OPTION_KEYS = (
    "base_manager_name",
    "default_manager_name",
    "default_related_name",
    "get_latest_by",
    "managed",
    "ordering",
    "permissions",
    "default_permissions",
    "select_on_save",
    "verbose_name",
    "verbose_name_plural",
)


@dataclass(frozen=True)
class ModelState:
    app_label: str
    name: str
    fields: Mapping[str, FieldState]
    # Option name -> canonical value (or Undecided); indexes/constraints as tuples of
    # (name or None, canonical body); unique_together as a frozenset of name tuples.
    options: Mapping[str, object]
    managers: object = ()
    span: s.Span = field(default=s.NO_SPAN, compare=False)
    path: str = ""
    # Why the whole model cannot be compared, if so.
    unknown: str | None = None
    # Fields, options or managers may come from somewhere miglint cannot see (an
    # unresolved base class, a field class that adds fields): only what is seen is compared.
    partial: str | None = None
    # A base class miglint cannot read (or a metaclass) may add Meta options and entries.
    opaque_base: bool = False
    # One of those is not Django's own: its metaclass may make proxies of the model, or
    # place its subclasses in other apps (django-typed-models).
    foreign_base: bool = False

    @property
    def key(self) -> str:
        return self.name.lower()

    @property
    def managed(self) -> bool:
        return self.options.get("managed", True) is not False

    @property
    def proxy(self) -> bool:
        return self.options.get("proxy", False) is True


@dataclass(frozen=True)
class AppState:
    label: str
    models: Mapping[str, ModelState]
    # Why the app cannot be compared at all, if so.
    unknown: str | None = None
    # Models may exist that miglint cannot see (conditional definitions, star imports).
    partial: str | None = None
    notes: tuple[str, ...] = ()


class _Model:
    """A model under construction during replay (mutable, private to this module)."""

    def __init__(self, app_label: str, name: str) -> None:
        self.app_label = app_label
        self.name = name
        self.fields: dict[str, FieldState] = {}
        self.options: dict[str, object] = {}
        self.managers: object = ()
        self.unknown: str | None = None

    def freeze(self) -> ModelState:
        return ModelState(
            self.app_label,
            self.name,
            dict(self.fields),
            dict(self.options),
            self.managers,
            unknown=self.unknown,
        )


def normalize_together(value: object) -> object:
    """unique_together as a set of field-name tuples, like django's normalize_together."""
    if value is None:
        return frozenset()
    items = sequence_items(value)
    if items is None:
        if isinstance(value, tuple) and value and value[0] == "set":
            items = tuple(value[1])
        else:
            raise Undecidable("a unique_together miglint cannot read")
    if not items:
        return frozenset()
    if all(isinstance(item, str) for item in items):
        return frozenset({tuple(items)})
    groups = []
    for item in items:
        names = sequence_items(item)
        if names is None or not all(isinstance(n, str) for n in names):
            raise Undecidable("a unique_together miglint cannot read")
        groups.append(tuple(names))
    return frozenset(groups)


# Django's constraint classes that take no expressions by position (their positional
# arguments, deprecated since 5.0, are the name and messages).
_NAMED_CONSTRAINTS = frozenset({"BaseConstraint", "CheckConstraint", "ExclusionConstraint"})


def index_entry(
    value: s.Value, scope: Scope, app_label: str, model_name: str, option: str
) -> object:
    """An index or constraint (`option` says which) as (name or None, canonical body
    without the name). A named entry whose body cannot be read keeps its name, with an
    Undecided body: the entries beside it are still compared."""
    if not isinstance(value, s.Call):
        raise Undecidable("an index or constraint miglint cannot read")
    name: object = None
    for keyword in value.kwargs:
        if keyword.name == "name":
            name = canonical(keyword.value, scope)
    if isinstance(name, str):
        name = name % {"app_label": app_label.lower(), "class": model_name.lower()}
    elif name is not None:
        raise Undecidable("an index name miglint cannot read")
    try:
        body = _entry_body(value, scope, option)
    except Undecidable as error:
        if name is None:
            raise
        return (name, Undecided(f"{name}: {error}"))
    return (name, body)


def _entry_body(value: s.Call, scope: Scope, option: str) -> object:
    body = unify_sequences(canonical(value, scope))
    assert isinstance(body, tuple) and body[0] == "call"
    _, cls, args, kwargs = body
    assert isinstance(kwargs, frozenset) and isinstance(args, tuple)
    if any(isinstance(arg, str) for arg in args):
        # Index.__init__ and UniqueConstraint.__init__ turn a field name given as an
        # expression into F(name). Every entry of Meta.indexes is an Index (whatever its
        # class is called); a constraint class of the project's may be either kind.
        if option == "indexes" or cls == "UniqueConstraint":
            args = tuple(
                ("call", "F", (arg,), frozenset()) if isinstance(arg, str) else arg for arg in args
            )
        elif cls not in _NAMED_CONSTRAINTS:
            raise Undecidable(f"whether {cls} takes field names as expressions")
    kw = dict(kwargs)
    kw.pop("name", None)
    if "check" in kw and "condition" not in kw:
        kw["condition"] = kw.pop("check")
    for key in ("violation_error_message", "violation_error_code", "deferrable", "condition"):
        if kw.get(key, 0) is None:
            del kw[key]
    if kw.get("include", 0) in (None, ("seq", ())):
        kw.pop("include", None)
    if kw.get("opclasses", 0) in (None, ("seq", ())):
        kw.pop("opclasses", None)
    if kw.get("fields", 0) == ("seq", ()):
        del kw["fields"]
    return ("call", cls, args, frozenset(kw.items()))


def option_value(key: str, value: s.Value, scope: Scope, app_label: str, model_name: str) -> object:
    """A Meta option in the form the comparison uses, or Undecided."""
    try:
        if key in ("unique_together", "index_together"):
            return normalize_together(canonical(value, scope))
        if key in ("indexes", "constraints"):
            resolved = resolve_syntax(value, scope)
            if isinstance(resolved, s.Concat):
                raise Undecidable(f"{key} built from several lists")
            if not isinstance(resolved, s.Seq):
                raise Undecidable(f"{key} miglint cannot read")
            return tuple(
                index_entry(resolve_syntax(item, scope), scope, app_label, model_name, key)  # type: ignore[arg-type]
                for item in resolved.items
            )
        return canonical(value, scope)
    except Undecidable as error:
        return Undecided(f"Meta.{key}: {error}")


class _Replay:
    """Applies one app's operations to its models, as each operation's state_forwards does."""

    def __init__(self, app_label: str, code: ProjectCode | None = None) -> None:
        self.app_label = app_label
        self.code = code
        self.models: dict[str, _Model] = {}
        # Every RenameModel in order: (old key, new key).
        self.renamed: list[tuple[str, str]] = []
        self.unknown: str | None = None
        self.notes: list[str] = []

    def apply(self, operation: Operation, scope: Scope, where: str) -> None:
        if not operation.known or operation.call is None:
            self.unknown = f"{where}: an operation miglint cannot read"
            return
        if not operation.is_django:
            self.apply_foreign(operation, scope, where)
            return
        handler = getattr(self, "op_" + operation.name, None)
        if operation.name == "SeparateDatabaseAndState":
            for inner in operation.state_operations:
                self.apply(inner, scope, where)
            return
        if operation.name == "RunSQL":
            # RunSQL.state_forwards applies its state_operations; RunPython changes nothing.
            self.apply_nested(operation.argument(2, "state_operations"), scope, where)
            return
        if handler is None:
            if operation.name != "RunPython":
                self.apply_foreign(operation, scope, where)
            return
        try:
            handler(operation, scope)
        except Undecidable as error:
            model = self.model_named(operation)
            if model is None:
                self.unknown = f"{where}: {operation.name}: {error}"
            else:
                model.unknown = f"{where}: {operation.name}: {error}"

    def apply_nested(self, value: s.Value | s.Missing, scope: Scope, where: str) -> None:
        """Operations written inside another one (RunSQL's state_operations)."""
        if isinstance(value, s.Missing) or value is None:
            return
        if not isinstance(value, s.Seq):
            self.unknown = f"{where}: state_operations miglint cannot read"
            return
        for item in value.items:
            if not isinstance(item, s.Call):
                self.unknown = f"{where}: state_operations miglint cannot read"
                return
            qualname = scope.qualify(item.func)
            nested = Operation(item.name, qualname, item, item.span)
            if item.name == "SeparateDatabaseAndState" and nested.is_django:
                self.apply_nested(item.argument(1, "state_operations"), scope, where)
                continue
            self.apply(nested, scope, where)

    def model_named(self, operation: Operation) -> _Model | None:
        for position, keyword in ((0, "model_name"), (0, "name")):
            value = operation.argument(position, keyword)
            if isinstance(value, str) and value.lower() in self.models:
                return self.models[value.lower()]
        return None

    def models_named(self, operation: Operation) -> list[_Model]:
        """Models whose name is written as a string anywhere in the operation's arguments."""
        call = operation.call
        if call is None:
            return []
        found: list[_Model] = []
        for value in s.walk_values(call):
            if isinstance(value, str) and value.lower() in self.models:
                model = self.models[value.lower()]
                if model not in found:
                    found.append(model)
        return found

    def apply_foreign(self, operation: Operation, scope: Scope, where: str) -> None:
        qualname = operation.qualname
        if (
            qualname.endswith(("IndexConcurrently", "ConstraintNotValid"))
            and "postgres" in qualname
        ):
            # django.contrib.postgres variants change state as AddIndex/RemoveIndex do.
            base = operation.name.replace("Concurrently", "").replace("NotValid", "")
            handler = getattr(self, "op_" + base, None)
            if handler is not None:
                try:
                    handler(operation, scope)
                    return
                except Undecidable:
                    pass
        if "postgres.operations" in qualname or operation.name in ("RunPython", "RunSQL"):
            return
        effect = None
        if (
            self.code is not None
            and isinstance(scope, ImportScope)
            and not qualname.startswith("django.")
        ):
            effect = self.code.operation_effect(qualname, scope.path)
        if effect == "none":
            return
        if effect is not None and effect != operation.name:
            handler = getattr(self, "op_" + effect, None)
            if handler is not None or effect == "RunSQL":
                # A subclass of Django's operation that changes nothing about it.
                as_django = Operation(
                    effect, f"django.db.migrations.{effect}", operation.call, operation.span
                )
                self.apply(as_django, scope, where)
                return
        named = self.models_named(operation)
        for model in named:
            model.unknown = f"{where}: custom operation {operation.name}"
        if not named:
            # It may create, delete or change any model of the app.
            self.unknown = f"{where}: custom operation {operation.name}"

    def model(self, operation: Operation, position: int, keyword: str) -> _Model:
        name = operation.argument(position, keyword)
        if not isinstance(name, str):
            raise Undecidable(f"`{keyword}` is not a string")
        model = self.models.get(name.lower())
        if model is None:
            raise Undecidable(f"model {name} does not exist at this point")
        return model

    def string(self, operation: Operation, position: int, keyword: str) -> str:
        value = operation.argument(position, keyword)
        if not isinstance(value, str):
            raise Undecidable(f"`{keyword}` is not a string")
        return value

    def field(self, operation: Operation, model: _Model, name: str, scope: Scope) -> FieldState:
        value = operation.argument(2, "field")
        if not isinstance(value, s.Call):
            raise Undecidable("the field is not a call")
        result = deconstruct_field(name, value, scope, self.app_label, model.name)
        preserve = operation.argument(3, "preserve_default")
        if preserve is False and result.unknown is None:
            kwargs = dict(result.kwargs)
            kwargs.pop("default", None)
            result = replace(result, kwargs=kwargs)
        return result

    def op_CreateModel(self, operation: Operation, scope: Scope) -> None:
        name = self.string(operation, 0, "name")
        model = _Model(self.app_label, name)
        self.models[name.lower()] = model
        fields = operation.argument(1, "fields")
        if not isinstance(fields, s.Seq):
            model.unknown = "CreateModel fields miglint cannot read"
            return
        for item in fields.items:
            if not (isinstance(item, s.Seq) and len(item.items) == 2):
                model.unknown = "CreateModel fields miglint cannot read"
                return
            field_name, call = item.items
            if not isinstance(field_name, str) or not isinstance(call, s.Call):
                model.unknown = "CreateModel fields miglint cannot read"
                return
            model.fields[field_name] = deconstruct_field(
                field_name, call, scope, self.app_label, name
            )
        options = operation.argument(2, "options")
        if isinstance(options, s.Dict):
            for key, value in options.items:
                if isinstance(key, str):
                    model.options[key] = option_value(key, value, scope, self.app_label, name)
        elif not isinstance(options, s.Missing) and options is not None:
            model.unknown = "CreateModel options miglint cannot read"
        managers = operation.argument(4, "managers")
        model.managers = managers_value(managers, scope)

    def op_DeleteModel(self, operation: Operation, scope: Scope) -> None:
        name = self.string(operation, 0, "name")
        self.models.pop(name.lower(), None)

    def op_RenameModel(self, operation: Operation, scope: Scope) -> None:
        old = self.string(operation, 0, "old_name")
        new = self.string(operation, 1, "new_name")
        model = self.models.pop(old.lower(), None)
        if model is None:
            raise Undecidable(f"model {old} does not exist at this point")
        model.name = new
        self.models[new.lower()] = model
        old_label = f"{self.app_label}.{old}".lower()
        new_label = f"{self.app_label}.{new}".lower()
        self.renamed.append((old.lower(), new.lower()))
        for other in self.models.values():
            repoint_fields(other, old_label, new_label)

    def op_AlterModelTable(self, operation: Operation, scope: Scope) -> None:
        model = self.model(operation, 0, "name")
        model.options["db_table"] = option_value(
            "db_table", _arg(operation, 1, "table"), scope, self.app_label, model.name
        )

    def op_AlterModelTableComment(self, operation: Operation, scope: Scope) -> None:
        model = self.model(operation, 0, "name")
        model.options["db_table_comment"] = option_value(
            "db_table_comment",
            _arg(operation, 1, "table_comment"),
            scope,
            self.app_label,
            model.name,
        )

    def op_AlterUniqueTogether(self, operation: Operation, scope: Scope) -> None:
        model = self.model(operation, 0, "name")
        model.options["unique_together"] = option_value(
            "unique_together",
            _arg(operation, 1, "unique_together"),
            scope,
            self.app_label,
            model.name,
        )

    def op_AlterIndexTogether(self, operation: Operation, scope: Scope) -> None:
        model = self.model(operation, 0, "name")
        model.options["index_together"] = option_value(
            "index_together",
            _arg(operation, 1, "index_together"),
            scope,
            self.app_label,
            model.name,
        )

    def op_AlterOrderWithRespectTo(self, operation: Operation, scope: Scope) -> None:
        model = self.model(operation, 0, "name")
        model.options["order_with_respect_to"] = option_value(
            "order_with_respect_to",
            _arg(operation, 1, "order_with_respect_to"),
            scope,
            self.app_label,
            model.name,
        )

    def op_AlterModelOptions(self, operation: Operation, scope: Scope) -> None:
        model = self.model(operation, 0, "name")
        options = operation.argument(1, "options")
        if not isinstance(options, s.Dict):
            raise Undecidable("AlterModelOptions options miglint cannot read")
        for dropped in ALTER_OPTION_KEYS:
            model.options.pop(dropped, None)
        for key, value in options.items:
            if isinstance(key, str):
                model.options[key] = option_value(key, value, scope, self.app_label, model.name)

    def op_AlterModelManagers(self, operation: Operation, scope: Scope) -> None:
        model = self.model(operation, 0, "name")
        model.managers = managers_value(operation.argument(1, "managers"), scope)

    def op_AddIndex(self, operation: Operation, scope: Scope) -> None:
        self._add_entry(operation, scope, "indexes", "index")

    def op_AddConstraint(self, operation: Operation, scope: Scope) -> None:
        self._add_entry(operation, scope, "constraints", "constraint")

    def _add_entry(self, operation: Operation, scope: Scope, option: str, keyword: str) -> None:
        model = self.model(operation, 0, "model_name")
        current = model.options.get(option, ())
        if isinstance(current, Undecided):
            return
        assert isinstance(current, tuple)
        try:
            entry = index_entry(
                _arg(operation, 1, keyword), scope, self.app_label, model.name, option
            )
        except Undecidable as error:
            model.options[option] = Undecided(f"{option}: {error}")
            return
        model.options[option] = (*current, entry)

    def op_RemoveIndex(self, operation: Operation, scope: Scope) -> None:
        self._remove_entry(operation, "indexes")

    def op_RemoveConstraint(self, operation: Operation, scope: Scope) -> None:
        self._remove_entry(operation, "constraints")

    def _remove_entry(self, operation: Operation, option: str) -> None:
        model = self.model(operation, 0, "model_name")
        name = self.string(operation, 1, "name")
        current = model.options.get(option, ())
        if isinstance(current, tuple):
            model.options[option] = tuple(e for e in current if _entry_name(e) != name)

    def op_AlterConstraint(self, operation: Operation, scope: Scope) -> None:
        model = self.model(operation, 0, "model_name")
        name = self.string(operation, 1, "name")
        current = model.options.get("constraints", ())
        if not isinstance(current, tuple):
            return
        try:
            entry = index_entry(
                _arg(operation, 2, "constraint"), scope, self.app_label, model.name, "constraints"
            )
        except Undecidable as error:
            model.options["constraints"] = Undecided(f"constraints: {error}")
            return
        model.options["constraints"] = tuple(
            entry if _entry_name(e) == name else e for e in current
        )

    def op_RenameIndex(self, operation: Operation, scope: Scope) -> None:
        model = self.model(operation, 0, "model_name")
        new_name = self.string(operation, 1, "new_name")
        old_name = operation.argument(2, "old_name")
        current = model.options.get("indexes", ())
        if not isinstance(current, tuple):
            return
        if isinstance(old_name, str):
            renamed = []
            for entry in current:
                assert isinstance(entry, tuple)
                renamed.append((new_name, entry[1]) if entry[0] == old_name else entry)
            model.options["indexes"] = tuple(renamed)
            return
        old_fields = operation.argument(3, "old_fields")
        fields = canonical(old_fields, scope)
        body = ("call", "Index", (), frozenset({("fields", unify_sequences(fields))}))
        model.options["indexes"] = (*current, (new_name, body))
        together = model.options.get("index_together")
        items = sequence_items(fields)
        if isinstance(together, frozenset) and items is not None:
            model.options["index_together"] = together - {tuple(items)}

    def op_AddField(self, operation: Operation, scope: Scope) -> None:
        model = self.model(operation, 0, "model_name")
        name = self.string(operation, 1, "name")
        model.fields[name] = self.field(operation, model, name, scope)

    def op_AlterField(self, operation: Operation, scope: Scope) -> None:
        self.op_AddField(operation, scope)

    def op_RemoveField(self, operation: Operation, scope: Scope) -> None:
        model = self.model(operation, 0, "model_name")
        name = self.string(operation, 1, "name")
        model.fields.pop(name, None)

    def op_RenameField(self, operation: Operation, scope: Scope) -> None:
        model = self.model(operation, 0, "model_name")
        old = self.string(operation, 1, "old_name")
        new = self.string(operation, 2, "new_name")
        if old not in model.fields:
            raise Undecidable(f"field {old} does not exist at this point")
        model.fields = {
            (new if key == old else key): (replace(f, name=new) if key == old else f)
            for key, f in model.fields.items()
        }
        together = model.options.get("unique_together")
        if isinstance(together, frozenset):
            model.options["unique_together"] = frozenset(
                tuple(new if n == old else n for n in group) for group in together
            )
        if model.options.get("order_with_respect_to") == old:
            model.options["order_with_respect_to"] = new


def _arg(operation: Operation, position: int, keyword: str) -> s.Value:
    value = operation.argument(position, keyword)
    if isinstance(value, s.Missing):
        raise Undecidable(f"`{keyword}` is missing")
    return value


def _entry_name(entry: object) -> object:
    return entry[0] if isinstance(entry, tuple) else None


def repoint_fields(model: _Model, old_label: str, new_label: str) -> None:
    """Point relations to `old_label` at `new_label` (what RenameModel does to other models)."""
    for name, current in list(model.fields.items()):
        changed = {
            key: new_label if key in ("to", "through") and value == old_label else value
            for key, value in current.kwargs.items()
        }
        if changed != dict(current.kwargs):
            model.fields[name] = replace(current, kwargs=changed)


def managers_value(value: s.Value | s.Missing, scope: Scope) -> object:
    """CreateModel/AlterModelManagers `managers` as a tuple of (name, canonical manager)."""
    if isinstance(value, s.Missing) or value is None:
        return ()
    try:
        items = sequence_items(canonical(value, scope))
    except Undecidable as error:
        return Undecided(f"managers: {error}")
    if items is None:
        return Undecided("managers miglint cannot read")
    result = []
    for item in items:
        pair = sequence_items(item)
        if pair is None or len(pair) != 2:
            return Undecided("managers miglint cannot read")
        result.append((pair[0], pair[1]))
    return tuple(result)


def replay_app(
    app_label: str,
    migrations: Iterable[tuple[str, Iterable[Operation], Iterable[s.Import]]],
    code: ProjectCode | None = None,
) -> tuple[AppState, list[tuple[str, str]]]:
    """The state of one app after its operations: (where, operations, imports) in order.

    Also returns the model renames (old key, new key) in order, which other apps' relations
    follow. `code` reads the project's own classes that migrations name.
    """
    replay = _Replay(app_label, code)
    for where, operations, imports in migrations:
        scope = ImportScope(imports, code, os.path.abspath(where))
        for operation in operations:
            replay.apply(operation, scope, where)
    models = {key: model.freeze() for key, model in replay.models.items()}
    return AppState(app_label, models, replay.unknown, notes=tuple(replay.notes)), replay.renamed


def follow_renames(
    states: Mapping[str, AppState], renames: Mapping[str, Sequence[tuple[str, str]]]
) -> dict[str, AppState]:
    """Relations from one app to a model another app renamed follow the rename. Where the
    renames reuse a name (B renamed away, then A renamed to B), which model an older
    relation means depends on when it was written: such relations are unknown."""
    moved: dict[str, str] = {}
    ambiguous: set[str] = set()
    for label, sequence in renames.items():
        for name in {n for pair in sequence for n in pair}:
            sources = [i for i, (old, _) in enumerate(sequence) if old == name]
            targets = [i for i, (_, new) in enumerate(sequence) if new == name]
            if len(sources) > 1 or any(t > s for t in targets for s in sources):
                ambiguous.add(f"{label}.{name}")
            elif sources:
                final = name
                for old, new in sequence[sources[0] :]:
                    if old == final:
                        final = new
                moved[f"{label}.{name}"] = f"{label}.{final}"
    if not moved and not ambiguous:
        return dict(states)
    result = {}
    for key, app in states.items():
        models = {}
        for model_key, model in app.models.items():
            fields = {}
            for name, current in model.fields.items():
                fields[name] = _follow(current, app.label, moved, ambiguous)
            models[model_key] = replace(model, fields=fields)
        result[key] = replace(app, models=models)
    return result


def _follow(
    current: FieldState, label: str, moved: Mapping[str, str], ambiguous: set[str]
) -> FieldState:
    kwargs = dict(current.kwargs)
    for key in ("to", "through"):
        target = kwargs.get(key)
        if not isinstance(target, str) or target.partition(".")[0] == label:
            # A relation inside the app followed its renames when they ran.
            continue
        if target in ambiguous:
            return replace(
                current, unknown=f"a relation to {target}, a name the migrations gave two models"
            )
        kwargs[key] = moved.get(target, target)
    return replace(current, kwargs=kwargs)


def migration_states(
    project: Project,
    code: Callable[[App], ProjectCode] | None = None,
    without_last: frozenset[str] = frozenset(),
) -> dict[str, AppState]:
    """Every app's state after all its migrations (app key -> state), renames followed.
    `code` gives a reader of the project's own classes, as seen from an app. The apps
    whose keys are in `without_last` are replayed without their last migration."""
    states: dict[str, AppState] = {}
    renames: dict[str, list[tuple[str, str]]] = {}
    graph = project.graph
    broken_apps = {m.migration.app_key for m in graph.missing} | {
        key[0] for cycle in graph.cycles for key in cycle
    }
    for app in project.apps:
        # The graph order leaves out migrations a squash replaces (app_migrations does not).
        migrations = [graph.disk[key] for key in graph.app_order(app.key)]
        if app.key in without_last:
            migrations = migrations[:-1]
        unreadable = [
            m
            for m in project.app_migrations(app.key)
            if not m.readable and m.key not in graph.replaced_by
        ]
        if unreadable or app.key in broken_apps:
            reason = (
                f"{os.path.relpath(unreadable[0].path)} cannot be read"
                if unreadable
                else "its migration graph is broken"
            )
            states[app.key] = AppState(graph.own_labels.get(app.key, app.label), {}, unknown=reason)
            continue
        steps = [(os.path.relpath(m.path), m.facts.operations, m.facts.imports) for m in migrations]
        # The label the app's own migrations call it by, where discovery could not read it.
        label = graph.own_labels.get(app.key, app.label)
        state, renamed = replay_app(label, steps, code(app) if code else None)
        states[app.key] = state
        if app.key == app.label:
            renames[label] = renamed
    return follow_renames(states, renames)
