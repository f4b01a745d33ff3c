"""Compare the state the migrations build with the state the models describe, as Django's
MigrationAutodetector does (non-interactively: a rename is a removal plus an addition).

Each difference is described in the words of the operation Django would write
("Add field sku to product"). Anything marked unknown on either side is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from miglint import syntax as s
from miglint.state import (
    ALTER_OPTION_KEYS,
    AUTO_FIELDS,
    AppState,
    FieldState,
    ModelState,
    Undecidable,
    Undecided,
    normalize_kwargs,
)

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


def compare_app(
    old: AppState, new: AppState, maybe: frozenset[str] = frozenset()
) -> tuple[list[Change], list[str]]:
    """The changes makemigrations would find in one app, and what could not be compared."""
    notes: list[str] = []
    if old.unknown:
        return [], [f"app {old.label}: migrations not compared ({old.unknown})"]
    changes: list[Change] = []
    unclear = {
        key
        for key, model in new.models.items()
        if not _decided(model.options.get("proxy"), model.options.get("managed"))
    }
    for key in sorted(unclear):
        notes.append(f"{new.label}.{new.models[key].name}: proxy/managed cannot be read")
    maybe = maybe | unclear
    new = replace(new, models={k: m for k, m in new.models.items() if k not in unclear})
    old_concrete = {k for k, m in old.models.items() if _group(m) != "proxy"}
    new_concrete = {k for k, m in new.models.items() if _group(m) != "proxy"}
    old_proxy = {k for k, m in old.models.items() if _group(m) == "proxy"}
    new_proxy = {k for k, m in new.models.items() if _group(m) == "proxy"}

    for key in sorted(old_concrete - new_concrete) + sorted(old_proxy - new_proxy):
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
        changes.extend(_compare_model(before, after, notes))
    return changes, notes


def _compare_model(old: ModelState, new: ModelState, notes: list[str]) -> list[Change]:
    changes: list[Change] = []
    undecided = new.options.get("__undecided__")
    if isinstance(undecided, Undecided):
        # Meta is set conditionally or inherited from what miglint cannot read.
        new = replace(
            new,
            options={
                key: undecided for key in (*ALTER_OPTION_KEYS, *_OTHER_OPTIONS, "__undecided__")
            },
        )
    name = new.key
    kept_model = _group(old) == "model" and _group(new) == "model"
    if new.partial:
        notes.append(f"{new.app_label}.{new.name}: only what is visible compared ({new.partial})")
    changes.extend(_compare_options(old, new, notes))
    if _group(old) == _group(new):
        table_before, table_after = old.options.get("db_table"), new.options.get("db_table")
        if _decided(table_before, table_after) and table_before != table_after:
            target = table_after if table_after is not None else "(default)"
            changes.append(Change(f"Rename table for {name} to {target}", new.path, new.span))
        comment_before = old.options.get("db_table_comment")
        comment_after = new.options.get("db_table_comment")
        if _decided(comment_before, comment_after) and comment_before != comment_after:
            changes.append(Change(f"Alter {name} table comment", new.path, new.span))
    if not kept_model:
        return changes
    changes.extend(_compare_fields(old, new, notes))
    before, after = old.managers, new.managers
    if _decided(before, after) and before != after:
        changes.append(Change(f"Change managers on {name}", new.path, new.span))
    together_before = old.options.get("unique_together") or frozenset()
    together_after = new.options.get("unique_together") or frozenset()
    if _decided(together_before, together_after) and together_before != together_after:
        count = len(together_after) if isinstance(together_after, frozenset) else 0
        changes.append(
            Change(f"Alter unique_together for {name} ({count} constraint(s))", new.path, new.span)
        )
    wrt_before, wrt_after = (
        old.options.get("order_with_respect_to"),
        new.options.get("order_with_respect_to"),
    )
    if _decided(wrt_before, wrt_after) and wrt_before != wrt_after:
        changes.append(
            Change(f"Set order_with_respect_to on {name} to {wrt_after}", new.path, new.span)
        )
    changes.extend(_compare_entries(old, new, "indexes", "index"))
    changes.extend(_compare_entries(old, new, "constraints", "constraint"))
    return changes


def _decided(*values: object) -> bool:
    return not any(isinstance(value, Undecided) for value in values)


def _compare_options(old: ModelState, new: ModelState, notes: list[str]) -> list[Change]:
    if "__undecided__" in new.options:
        undecided = new.options["__undecided__"]
        assert isinstance(undecided, Undecided)
        notes.append(f"{new.app_label}.{new.name}: Meta options not compared ({undecided.reason})")
        return []
    before = {k: v for k, v in old.options.items() if k in ALTER_OPTION_KEYS}
    after = {k: v for k, v in new.options.items() if k in ALTER_OPTION_KEYS}
    for key in set(before) | set(after):
        if not _decided(before.get(key), after.get(key)):
            notes.append(f"{new.app_label}.{new.name}: Meta.{key} not compared")
            before.pop(key, None)
            after.pop(key, None)
    if before != after:
        return [Change(f"Change Meta options on {new.key}", new.path, new.span)]
    return []


def _compare_fields(old: ModelState, new: ModelState, notes: list[str]) -> list[Change]:
    changes: list[Change] = []
    model = new.key
    for name in old.fields:
        if name in new.fields or new.partial:
            continue
        changes.append(Change(f"Remove field {name} from {model}", new.path, new.span))
    for name, after in new.fields.items():
        before_field = old.fields.get(name)
        if before_field is None:
            if after.cls == "?":
                notes.append(f"{new.app_label}.{new.name}.{name}: {after.unknown}")
                continue
            changes.append(Change(f"Add field {name} to {model}", new.path, after.span))
            continue
        if after.unknown or before_field.unknown:
            notes.append(
                f"{new.app_label}.{new.name}.{name}: not compared "
                f"({after.unknown or before_field.unknown})"
            )
            continue
        if not same_field(before_field, after):
            if (before_field.cls == "ManyToManyField") != (after.cls == "ManyToManyField"):
                changes.append(Change(f"Remove field {name} from {model}", new.path, after.span))
                changes.append(Change(f"Add field {name} to {model}", new.path, after.span))
                continue
            changes.append(Change(f"Alter field {name} on {model}", new.path, after.span))
    return changes


def same_field(old: FieldState, new: FieldState) -> bool:
    """Equal as Django's deep_deconstruct() comparison sees them."""
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
            return True
    elif old.raw != new.raw:
        return True
    for key in ("to",):
        if _setting(before.get(key)) or _setting(after.get(key)):
            before.pop(key, None)
            after.pop(key, None)
    return before == after


def _setting(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and value[0] == "setting"


def _compare_entries(old: ModelState, new: ModelState, option: str, what: str) -> list[Change]:
    """Indexes or constraints added and removed, compared by membership as Django does;
    an index without a name in the models matches any index with the same definition."""
    before, after = old.options.get(option, ()), new.options.get(option, ())
    if not _decided(before, after):
        return []
    assert isinstance(before, tuple) and isinstance(after, tuple)

    def same(model_entry: object, migration_entry: object) -> bool:
        assert isinstance(model_entry, tuple) and isinstance(migration_entry, tuple)
        name, body = model_entry
        return body == migration_entry[1] and (name is None or name == migration_entry[0])

    added = [e for e in after if not any(same(e, m) for m in before)]
    removed = [m for m in before if not any(same(e, m) for e in after)]
    model = new.key
    changes = []
    added_names = {entry[0] for entry in added if isinstance(entry, tuple)}
    for entry in removed:
        assert isinstance(entry, tuple)
        verb = "Alter" if entry[0] in added_names else "Remove"
        where = "on" if verb == "Alter" else "from"
        changes.append(Change(f"{verb} {what} {entry[0]} {where} {model}", new.path, new.span))
    removed_names = {entry[0] for entry in removed if isinstance(entry, tuple)}
    for entry in added:
        assert isinstance(entry, tuple)
        if entry[0] not in removed_names:
            label = entry[0] or "(unnamed)"
            changes.append(Change(f"Create {what} {label} on {model}", new.path, new.span))
    return changes


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
