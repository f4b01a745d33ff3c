"""Compare the state the migrations build with the state the models describe, as Django's
MigrationAutodetector does (non-interactively: a rename is a removal plus an addition).

Each difference is described in the words of the operation Django would write
("Add field sku to product"). Anything marked unknown on either side is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from miglint.source import syntax as s
from miglint.state.fields import AUTO_FIELDS, RELATED_FIELDS, FieldState, normalize_kwargs
from miglint.state.state import ALTER_OPTION_KEYS, AppState, ModelState
from miglint.state.values import Undecidable, Undecided

_OTHER_OPTIONS = (
    "db_table",
    "db_table_comment",
    "unique_together",
    "order_with_respect_to",
    "indexes",
    "constraints",
)


@dataclass(frozen=True)
class Change:
    """One operation `makemigrations` would write, located in the models source if possible."""

    description: str
    path: str | None = None
    span: s.Span | None = None


def _group(model: ModelState) -> str:
    if not model.managed:
        return "unmanaged"
    return "proxy" if model.proxy else "model"


@dataclass(frozen=True)
class Settings:
    """How the project's makemigrations compares, as far as miglint can tell."""

    # The Django versions whose autodetector may run (one when the version is known).
    behaviours: tuple[Behaviour, ...] = ()
    # AlterModelOptions.ALTER_OPTION_KEYS, or why the project's own set cannot be read.
    option_keys: tuple[str, ...] = ALTER_OPTION_KEYS
    options_unknown: str | None = None
    # Why field arguments are not compared (the project replaces Field.deconstruct).
    fields_unknown: str | None = None
    # Model class name -> names of fields the project changes at run time ("" for Meta,
    # "*" for the whole model).
    patched: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Why nothing can be compared (a custom autodetector or makemigrations command).
    everything_unknown: str | None = None


def compare_app(
    old: AppState,
    new: AppState,
    maybe: frozenset[str] = frozenset(),
    settings: Settings | None = None,
) -> tuple[list[Change], list[str]]:
    """The changes makemigrations would find in one app, and what could not be compared."""
    settings = settings or Settings()
    if not settings.behaviours:
        settings = replace(settings, behaviours=(LATEST,))
    notes: list[str] = []
    if settings.everything_unknown:
        return [], [f"app {new.label}: not compared ({settings.everything_unknown})"]
    if old.unknown:
        return [], [f"app {old.label}: migrations not compared ({old.unknown})"]
    if settings.fields_unknown:
        notes.append(f"app {new.label}: field arguments not compared ({settings.fields_unknown})")
    changes: list[Change] = []
    unclear = {
        key
        for key, model in new.models.items()
        if not _decided(model.options.get("proxy"), model.options.get("managed"))
        or settings.patched.get(model.name, frozenset()) & {"*"}
    }
    for key in sorted(unclear):
        model = new.models[key]
        reason = (
            "changed by the project at run time"
            if "*" in settings.patched.get(model.name, frozenset())
            else "proxy/managed cannot be read"
        )
        notes.append(f"{new.label}.{model.name}: {reason}")
    maybe = maybe | unclear
    new = replace(new, models={k: m for k, m in new.models.items() if k not in unclear})
    old_concrete = {k for k, m in old.models.items() if _group(m) != "proxy"}
    new_concrete = {k for k, m in new.models.items() if _group(m) != "proxy"}
    old_proxy = {k for k, m in old.models.items() if _group(m) == "proxy"}
    new_proxy = {k for k, m in new.models.items() if _group(m) == "proxy"}

    # A concrete model with a base miglint cannot read: that base's metaclass may make
    # proxies of it in this app from classes defined anywhere (django-typed-models).
    proxies_made = any(m.foreign_base for k, m in new.models.items() if k in new_concrete)
    for key in sorted(old_concrete - new_concrete) + sorted(old_proxy - new_proxy):
        if key in old_proxy and proxies_made:
            notes.append(
                f"{old.label}.{old.models[key].name}: a proxy that a model's unreadable base "
                "class may make, not found in the models"
            )
            continue
        if key in maybe or new.partial:
            notes.append(
                f"{old.label}.{old.models[key].name}: not found in the models "
                f"({new.partial or 'a class miglint cannot classify has that name'})"
            )
            continue
        changes.append(Change(f"Delete model {old.models[key].name}"))
    for key in sorted(new_concrete - old_concrete):
        model = new.models[key]
        if model.unknown:
            notes.append(f"{new.label}.{model.name}: {model.unknown}")
            continue
        changes.append(Change(f"Create model {model.name}", model.path, model.span))
    for key in sorted(new_proxy - old_proxy):
        model = new.models[key]
        if model.unknown:
            notes.append(f"{new.label}.{model.name}: {model.unknown}")
            continue
        changes.append(Change(f"Create proxy model {model.name}", model.path, model.span))

    for key in sorted(set(old.models) & set(new.models)):
        before, after = old.models[key], new.models[key]
        if (key in old_proxy) != (key in new_proxy):
            continue
        if before.unknown or after.unknown:
            notes.append(f"{new.label}.{after.name}: {before.unknown or after.unknown}")
            continue
        changes.extend(_ModelComparison(before, after, settings, notes).changes())
    return changes, notes


class _ModelComparison:
    """One model kept between the migrations and the models: what changed in it."""

    def __init__(
        self, old: ModelState, new: ModelState, settings: Settings, notes: list[str]
    ) -> None:
        undecided = new.options.get("__undecided__")
        patched = settings.patched.get(new.name, frozenset())
        if not isinstance(undecided, Undecided) and "" in patched:
            undecided = Undecided("Meta changed by the project at run time")
        if isinstance(undecided, Undecided):
            # Meta is set conditionally or inherited from what miglint cannot read.
            new = replace(
                new,
                options={
                    **{k: v for k, v in new.options.items() if k in ("proxy", "managed")},
                    **{
                        key: undecided
                        for key in (*settings.option_keys, *_OTHER_OPTIONS, "__undecided__")
                    },
                },
            )
        self.old = old
        self.new = new
        self.settings = settings
        self.notes = notes
        self.patched = patched
        self.where = f"{new.app_label}.{new.name}"

    def change(self, description: str, span: s.Span | None = None) -> Change:
        return Change(description, self.new.path, span or self.new.span)

    def unknown(self, what: str, reason: str) -> None:
        self.notes.append(f"{self.where}{what}: {reason}")

    def changes(self) -> list[Change]:
        old, new = self.old, self.new
        changes: list[Change] = []
        name = new.key
        if new.partial:
            self.unknown("", f"only what is visible compared ({new.partial})")
        changes.extend(self.options())
        if _group(old) == _group(new):
            for option, verb in (("db_table", "Rename table for"), ("db_table_comment", "Alter")):
                answer = self.same_option(option)
                if answer is False and option == "db_table":
                    target = new.options.get("db_table")
                    changes.append(
                        self.change(f"{verb} {name} to {target if target else '(default)'}")
                    )
                elif answer is False:
                    changes.append(self.change(f"Alter {name} table comment"))
        if not (_group(old) == "model" and _group(new) == "model"):
            return changes
        changes.extend(self.fields())
        before, after = old.managers, new.managers
        if _decided(before, after):
            same = same_value(after, before)
            if same is False:
                changes.append(self.change(f"Change managers on {name}"))
            elif same is None:
                self.unknown(".managers", "not compared (objects miglint cannot compare)")
        together = self.same_option("unique_together", frozenset())
        if together is False:
            after_value = new.options.get("unique_together") or frozenset()
            count = len(after_value) if isinstance(after_value, frozenset) else 0
            changes.append(self.change(f"Alter unique_together for {name} ({count} constraint(s))"))
        if self.same_option("order_with_respect_to") is False:
            target = new.options.get("order_with_respect_to")
            changes.append(self.change(f"Set order_with_respect_to on {name} to {target}"))
        changes.extend(self.entries("indexes", "index"))
        changes.extend(self.entries("constraints", "constraint"))
        return changes

    def same_option(self, option: str, default: object = None) -> bool | None:
        before = self.old.options.get(option, default)
        after = self.new.options.get(option, default)
        if before is None:
            before = default
        if after is None:
            after = default
        if not _decided(before, after):
            return None
        if option not in self.new.options and option in self.old.options and self.new.opaque_base:
            # A base class miglint cannot read may set it.
            self.unknown(f" Meta.{option}", "not compared (may come from a base class)")
            return None
        same = same_value(after, before)
        if same is None:
            self.unknown(f" Meta.{option}", "not compared (objects miglint cannot compare)")
        return same

    def options(self) -> list[Change]:
        old, new = self.old, self.new
        if "__undecided__" in new.options:
            undecided = new.options["__undecided__"]
            assert isinstance(undecided, Undecided)
            self.unknown("", f"Meta options not compared ({undecided.reason})")
            return []
        if self.settings.options_unknown:
            self.unknown("", f"Meta options not compared ({self.settings.options_unknown})")
            return []
        keys = self.settings.option_keys
        before = {k: v for k, v in old.options.items() if k in keys}
        after = {k: v for k, v in new.options.items() if k in keys}
        for key in sorted(set(before) | set(after)):
            skip = not _decided(before.get(key), after.get(key))
            if not skip and key not in after and new.opaque_base:
                skip = True
            if skip:
                self.unknown(f" Meta.{key}", "not compared")
                before.pop(key, None)
                after.pop(key, None)
        same = same_mapping(after, before)
        if same is None:
            self.unknown("", "Meta options not compared (objects miglint cannot compare)")
        if same is False:
            return [self.change(f"Change Meta options on {new.key}")]
        return []

    def fields(self) -> list[Change]:
        old, new = self.old, self.new
        changes: list[Change] = []
        model = new.key
        for name in old.fields:
            if name in new.fields or new.partial or name in self.patched:
                continue
            changes.append(self.change(f"Remove field {name} from {model}"))
        context = FieldContext(
            new.app_label,
            new.name,
            old.options.get("default_related_name"),
            new.options.get("default_related_name"),
        )
        for name, after in new.fields.items():
            before = old.fields.get(name)
            if before is None:
                if after.cls == "?" or name in self.patched:
                    self.unknown(f".{name}", after.unknown or "changed by the project at run time")
                    continue
                changes.append(self.change(f"Add field {name} to {model}", after.span))
                continue
            if after.unknown or before.unknown:
                self.unknown(f".{name}", f"not compared ({after.unknown or before.unknown})")
                continue
            if (before.cls == "ManyToManyField") != (after.cls == "ManyToManyField"):
                changes.append(self.change(f"Remove field {name} from {model}", after.span))
                changes.append(self.change(f"Add field {name} to {model}", after.span))
                continue
            if name in self.patched:
                self.unknown(f".{name}", "not compared (changed by the project at run time)")
                continue
            if self.settings.fields_unknown and before.cls == after.cls:
                # Listed once for the app (see compare_app).
                continue
            try:
                same = same_field(before, after, self.settings.behaviours, context)
            except VersionDependent as versions:
                self.unknown(
                    f".{name}",
                    f"not compared (a change only for {versions}, and the project's Django "
                    "version is unknown: set django-version)",
                )
                continue
            if same is None:
                self.unknown(f".{name}", "not compared (values miglint cannot compare)")
            elif not same:
                changes.append(self.change(f"Alter field {name} on {model}", after.span))
        return changes

    def entries(self, option: str, what: str) -> list[Change]:
        """Indexes or constraints added and removed, compared by membership as Django does;
        an index without a name in the models matches any index with the same definition."""
        before = self.old.options.get(option, ())
        after = self.new.options.get(option, ())
        if not _decided(before, after):
            return []
        assert isinstance(before, tuple) and isinstance(after, tuple)

        def same(model_entry: object, migration_entry: object) -> bool | None:
            assert isinstance(model_entry, tuple) and isinstance(migration_entry, tuple)
            name, body = model_entry
            if name is not None and name != migration_entry[0]:
                return False
            return same_value(body, migration_entry[1])

        unsure = False
        added = []
        for entry in after:
            answers = [same(entry, m) for m in before]
            if True in answers:
                continue
            if None in answers:
                unsure = True
                continue
            added.append(entry)
        removed = []
        for migration_entry in before:
            answers = [same(e, migration_entry) for e in after]
            if True in answers:
                continue
            if None in answers:
                unsure = True
                continue
            removed.append(migration_entry)
        if unsure:
            self.unknown(f" Meta.{option}", "some not compared (objects miglint cannot compare)")
        if removed and self.new.opaque_base:
            self.unknown(f" Meta.{option}", "removals not reported (a base class may add them)")
            removed = []
        model = self.new.key
        changes = []
        added_names = {entry[0] for entry in added if isinstance(entry, tuple)}
        for entry in removed:
            assert isinstance(entry, tuple)
            verb = "Alter" if entry[0] in added_names else "Remove"
            where = "on" if verb == "Alter" else "from"
            changes.append(self.change(f"{verb} {what} {entry[0]} {where} {model}"))
        removed_names = {entry[0] for entry in removed if isinstance(entry, tuple)}
        for entry in added:
            assert isinstance(entry, tuple)
            if entry[0] not in removed_names:
                label = entry[0] or "(unnamed)"
                changes.append(self.change(f"Create {what} {label} on {model}"))
        return changes


def _decided(*values: object) -> bool:
    return not any(isinstance(value, Undecided) for value in values)


@dataclass(frozen=True)
class Behaviour:
    """What `makemigrations` compares in a range of Django versions, where versions differ."""

    label: str
    since: tuple[int, int] | None
    until: tuple[int, int] | None
    # 4.0+: related fields deconstruct related_name/related_query_name as given. Before,
    # both sides were rendered models: names filled in from %(class)s, %(app_label)s and
    # Meta.default_related_name, and a hidden ManyToManyField's name replaced.
    given_related_names: bool
    # 3.2+: a hidden ManyToManyField's replacement name holds the app label.
    hidden_name_with_app: bool
    # 5.0+: choices normalised to a list of (value, label) pairs.
    normalized_choices: bool
    # 5.2+: ManyToManyField.deconstruct() keeps through_fields.
    through_fields: bool

    def covers(self, version: tuple[int, int]) -> bool:
        return (self.since is None or version >= self.since) and (
            self.until is None or version < self.until
        )


BEHAVIOURS = (
    Behaviour("Django < 3.2", None, (3, 2), False, False, False, False),
    Behaviour("Django 3.2", (3, 2), (4, 0), False, True, False, False),
    Behaviour("Django 4.0-4.2", (4, 0), (5, 0), True, True, False, False),
    Behaviour("Django 5.0-5.1", (5, 0), (5, 2), True, True, True, False),
    Behaviour("Django 5.2+", (5, 2), None, True, True, True, True),
)
LATEST = BEHAVIOURS[-1]


def behaviours_for(version: tuple[int, int] | None) -> tuple[Behaviour, ...]:
    """The behaviour of `version`, or every behaviour when the version is unknown."""
    if version is None:
        return BEHAVIOURS
    return tuple(b for b in BEHAVIOURS if b.covers(version)) or (LATEST,)


@dataclass(frozen=True)
class FieldContext:
    """Where a field sits, for the names Django used to fill in before 4.0."""

    app_label: str
    model_name: str
    old_default_related_name: object = None
    new_default_related_name: object = None


class VersionDependent(Exception):
    """Equal under some Django versions and not under others (the version is unknown)."""


def same_field(
    old: FieldState,
    new: FieldState,
    behaviours: tuple[Behaviour, ...] = (LATEST,),
    context: FieldContext | None = None,
) -> bool | None:
    """Equal as Django's deep_deconstruct() comparison sees them: True, False, or None when
    that cannot be known. Raises VersionDependent when the answer differs between the
    `behaviours` (several only when the project's Django version is unknown)."""
    if new.auto_pk:
        return old.cls in AUTO_FIELDS and old.kwargs.get("primary_key") is True
    if old.auto_pk:
        return new.cls in AUTO_FIELDS and new.kwargs.get("primary_key") is True
    if old.cls != new.cls:
        return False
    before, after = dict(old.kwargs), dict(new.kwargs)
    if old.raw and new.base is not None:
        # The migration wrote the subclass's deconstruct(): its base class's rules apply.
        try:
            before = normalize_kwargs(new.base, before, "", "")
        except Undecidable:
            return None
    elif old.raw != new.raw:
        return None
    for key in ("to",):
        if _setting(before.get(key)) or _setting(after.get(key)):
            before.pop(key, None)
            after.pop(key, None)
    # A project's subclass of a Django field deconstructs as that field does.
    cls = new.base or new.cls
    answers: dict[Behaviour, bool | None] = {}
    for behaviour in behaviours:
        try:
            answers[behaviour] = same_mapping(
                _as_written(new, cls, after, behaviour, context, model_side=True),
                _as_written(old, cls, before, behaviour, context, model_side=False),
            )
        except Undecidable:
            answers[behaviour] = None
    if len(set(answers.values())) > 1:
        changed = [b.label for b, same in answers.items() if same is False]
        raise VersionDependent(", ".join(changed) or "some versions")
    return answers[behaviours[0]]


def _as_written(
    state: FieldState,
    cls: str,
    kwargs: dict[str, object],
    behaviour: Behaviour,
    context: FieldContext | None,
    *,
    model_side: bool,
) -> dict[str, object]:
    """The field's keyword arguments as `behaviour`'s autodetector compares them."""
    result = dict(kwargs)
    if not behaviour.through_fields:
        result.pop("through_fields", None)
    if not behaviour.normalized_choices and state.raw_choices is not None:
        result["choices"] = state.raw_choices
    if not behaviour.given_related_names and cls in RELATED_FIELDS:
        if context is None:
            raise Undecidable("related names filled in by the model class")
        default = (
            context.new_default_related_name if model_side else context.old_default_related_name
        )
        _fill_related_names(result, state, cls, behaviour, context, default, model_side)
    return result


def _fill_related_names(
    kwargs: dict[str, object],
    state: FieldState,
    cls: str,
    behaviour: Behaviour,
    context: FieldContext,
    default_related_name: object,
    model_side: bool,
) -> None:
    """related_name and related_query_name as a model rendered by Django before 4.0 held
    them (RelatedField.contribute_to_class, ManyToManyField.contribute_to_class). The
    models side was rendered twice (once from the class, once from its cloned state)."""
    model = context.model_name.lower()
    app = context.app_label.lower()
    hidden = (
        f"_{app}_{model}_{state.name}_+"
        if behaviour.hidden_name_with_app
        else f"_{model}_{state.name}_+"
    )
    m2m = cls == "ManyToManyField"
    name = kwargs.get("related_name")
    if m2m and state.symmetrical_self:
        name = f"{state.name}_rel_+"
        if model_side:
            # The clone points at "app.Model", no longer "self": hidden on the second pass.
            name = hidden
    elif m2m and isinstance(name, str) and name.endswith("+"):
        name = hidden
    if not name:
        if isinstance(default_related_name, Undecided):
            raise Undecidable(default_related_name.reason)
        name = default_related_name
    filled = {"class": model, "model_name": model, "app_label": app}
    for key, value in (
        ("related_name", name),
        ("related_query_name", kwargs.get("related_query_name")),
    ):
        if isinstance(value, str):
            try:
                kwargs[key] = value % filled
            except (KeyError, ValueError, TypeError):
                raise Undecidable(f"{key} {value!r}") from None
        elif value is not None:
            raise Undecidable(f"{key} miglint cannot read")


def same_value(model: object, migration: object, depth: int = 0) -> bool | None:
    """Whether a value read from the models equals one a migration holds, as Python's ==
    compares the objects Django builds from them; None when that cannot be known.

    The models side may hold an object bound to a module-level name (a migration may
    import that name, or write how the object deconstructs) and enum members (equal to the
    member however a migration writes it, and to its value when it is an int or str enum).
    """
    if isinstance(model, Undecided) or isinstance(migration, Undecided):
        return None
    if model == migration:
        return True
    if depth > 40:
        return None
    if (
        isinstance(model, tuple)
        and model[:1] in (("ref",), ("enum",))
        and not (isinstance(migration, tuple) and migration[:1] == model[:1])
    ):
        # A name from outside the project (`format_presets.choices`, `storages["public"]`):
        # Django compares the value it stands for, which a migration writes out.
        return None
    if isinstance(model, tuple) and model[:1] == ("object",) and len(model) == 3:
        if migration == ("ref", model[1]):
            return True
        if model[2][:1] == ("opaque",) or (
            isinstance(migration, tuple) and migration[:1] == ("ref",)
        ):
            # Another name may be bound to the same object.
            return None
        return same_value(model[2], migration, depth + 1)
    if isinstance(model, tuple) and model[:1] == ("external-model",) and len(model) == 3:
        # A model class imported from a package outside the tree, its label guessed from
        # the package's folder: the package's AppConfig may set another label.
        _, guess, name = model
        if migration == f"{guess}.{name}":
            return True
        if isinstance(migration, str) and migration.rpartition(".")[2] == name:
            return None
        return False
    if isinstance(model, tuple) and model[:1] == ("enum-member",) and len(model) == 5:
        _, cls, name, member_value, mixin = model
        if isinstance(migration, tuple) and migration[:2] == ("enum", cls):
            return bool(migration[2] == name)
        if migration == ("call", cls, (member_value,), frozenset()):
            return True
        if mixin and not isinstance(migration, tuple | frozenset):
            return bool(migration == member_value)
        if isinstance(migration, tuple) and migration[:1] in (("ref",), ("call",)):
            # Another name or object: it may stand for the same member.
            return None
        return False
    if isinstance(model, frozenset) and isinstance(migration, frozenset):
        return _same_mapping(model, migration, depth)
    if (
        isinstance(model, tuple)
        and isinstance(migration, tuple)
        and len(model) == len(migration)
        and _soft(model)
    ):
        results = [same_value(a, b, depth + 1) for a, b in zip(model, migration, strict=True)]
        if False in results:
            return False
        return None if None in results else True
    return False


def _same_mapping(
    model: frozenset[object], migration: frozenset[object], depth: int
) -> bool | None:
    """Keyword arguments of a call (frozensets of (name, value) pairs) compared by name."""
    pairs_model = _pairs(model)
    pairs_migration = _pairs(migration)
    if len(pairs_model) != len(model) or len(pairs_migration) != len(migration):
        return None if _soft(tuple(model)) else False
    if set(pairs_model) != set(pairs_migration):
        return False
    return same_mapping(pairs_model, pairs_migration, depth + 1)


def same_mapping(
    model: Mapping[Any, object], migration: Mapping[Any, object], depth: int = 0
) -> bool | None:
    """Two dicts of canonical values: False if a key or a value surely differs."""
    if set(model) != set(migration):
        return False
    results = [same_value(model[key], migration[key], depth) for key in model]
    if False in results:
        return False
    return None if None in results else True


def _pairs(items: frozenset[object]) -> dict[object, object]:
    result: dict[object, object] = {}
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            result[item[0]] = item[1]
    return result


def _soft(value: object, depth: int = 0) -> bool:
    """Whether `value` holds a models-side object or enum member anywhere inside."""
    if depth > 40:
        return True
    if isinstance(value, tuple):
        if value[:1] in (("object",), ("enum-member",), ("external-model",), ("ref",), ("enum",)):
            return True
        return any(_soft(item, depth + 1) for item in value)
    if isinstance(value, frozenset):
        return any(_soft(item, depth + 1) for item in value)
    return False


def _setting(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and value[0] == "setting"


def first_location(changes: list[Change], fallback: str) -> tuple[str, s.Span]:
    """Where to report: the first change in the models source, else line 1 of `fallback`."""
    located = [c for c in changes if c.path and c.span]
    if not located:
        return fallback, s.Span(1, 1, 1, 1)
    best = min(located, key=lambda c: (c.path or "", c.span.line if c.span else 0))
    assert best.path is not None and best.span is not None
    return best.path, s.Span(best.span.line, best.span.column, best.span.line, best.span.column)


def models_file(paths: Mapping[str, str] | tuple[str, ...], app_path: str) -> str:
    """The file to report a change without a location in: models.py or models/__init__.py."""
    for candidate in ("models.py", os.path.join("models", "__init__.py")):
        path = os.path.join(app_path, candidate)
        if path in paths:
            return path
    return next(iter(paths))
