"""Values of migrations and models in the "canonical" form the state compares.

Every value is turned into a plain, hashable form: literals stay literals, lists and tuples
are tagged, names become `("ref", last_component)`, calls `("call", name, args, kwargs)`,
Django's named constants and enum members their values. Names are resolved through a
`Scope` (a file's imports, constants and classes); whatever cannot be decided from source is
`Undecidable` or `Undecided`, never guessed.
"""

from __future__ import annotations

import datetime
import decimal
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from miglint.source import syntax as s
from miglint.source.parse import import_aliases, qualify

_TRANSLATION = frozenset(
    {"_", "gettext", "gettext_lazy", "ugettext", "ugettext_lazy", "gettext_noop", "_lazy"}
)


# on_delete handlers: functions a migration names.
_ON_DELETE = frozenset({"CASCADE", "PROTECT", "SET_NULL", "SET_DEFAULT", "DO_NOTHING", "RESTRICT"})


_RANGE_OPERATORS = {
    "EQUAL": "=",
    "NOT_EQUAL": "<>",
    "CONTAINS": "@>",
    "CONTAINED_BY": "<@",
    "OVERLAPS": "&&",
    "FULLY_LT": "<<",
    "FULLY_GT": ">>",
    "NOT_LT": "&>",
    "NOT_GT": "&<",
    "ADJACENT_TO": "-|-",
}


# Django's named constants and enum members, as a migration writes them.
_DJANGO_VALUES: dict[str, object] = {
    **{f"RangeOperators.{name}": value for name, value in _RANGE_OPERATORS.items()},
    "Deferrable.DEFERRED": ("enum-member", "Deferrable", "DEFERRED", "deferred", False),
    "Deferrable.IMMEDIATE": ("enum-member", "Deferrable", "IMMEDIATE", "immediate", False),
}


# `module.Enum['MEMBER']`: how a migration writes an enum member (Django 3.0 and later).
_ENUM_SUBSCRIPT = re.compile(r"([A-Za-z_][\w.]*)\[\s*(['\"])(\w+)\2\s*\]")


# Lowercase callables that migrations write as calls (functools.partial, storages...).
_DECONSTRUCTIBLE_FUNCTIONS = frozenset({"partial"})


class Undecidable(Exception):
    """A value miglint cannot know from source; the comparison that needs it is skipped."""


@dataclass(frozen=True)
class Undecided:
    """Stands in the state for a value that could not be read (with the reason why)."""

    reason: str


@dataclass(frozen=True)
class Resolved:
    """A name a scope resolved to an already canonical value (an enum member, a model)."""

    value: object


class Scope(Protocol):
    """How names in a source file are resolved: its imports, constants, classes."""

    def qualify(self, dotted: str) -> str: ...

    def lookup(self, dotted: str) -> s.Value | Resolved | None: ...

    def check_object(self, func: str) -> None:
        """Raise Undecidable when an object built by calling `func` is not written in a
        migration as that call."""


class ProjectCode(Protocol):
    """The project's own classes as a migration names them (by their dotted path)."""

    def check_object(self, qualified: str, from_path: str) -> None:
        """Raise Undecidable unless an object of this class is written as its call.
        `from_path` is the file that imports it (for relative imports)."""

    def operation_effect(self, qualified: str, from_path: str) -> str | None:
        """What an operation class of the project does to the model state: "none", the
        name of the Django operation it behaves like, or None when that is not known."""


class ImportScope:
    """A scope that knows a file's imports only (migration files), and optionally the
    project's classes they name."""

    def __init__(
        self, imports: Iterable[s.Import], code: ProjectCode | None = None, path: str = ""
    ) -> None:
        self.aliases = import_aliases(imports)
        self.code = code
        self.path = path

    def qualify(self, dotted: str) -> str:
        return qualify(dotted, self.aliases)

    def lookup(self, dotted: str) -> s.Value | Resolved | None:
        return None

    def check_object(self, func: str) -> None:
        if self.code is not None:
            qualified = self.qualify(func)
            if not qualified.startswith("django."):
                self.code.check_object(qualified, self.path)


def canonical(value: s.Value | s.Missing, scope: Scope, depth: int = 0) -> object:
    """`value` in a plain, hashable form that compares the way Django compares it."""
    if depth > 20:
        raise Undecidable("value nested too deeply")
    if isinstance(value, s.Missing):
        raise Undecidable("missing value")
    if value is None or isinstance(value, bool | int | float | complex | str | bytes):
        return value
    if isinstance(value, s.Seq):
        items = tuple(canonical(item, scope, depth + 1) for item in value.items)
        return ("set", frozenset(items)) if value.kind == "set" else (value.kind, items)
    if isinstance(value, s.Dict):
        pairs = [
            (canonical(k, scope, depth + 1), canonical(v, scope, depth + 1)) for k, v in value.items
        ]
        return ("dict", tuple(sorted(pairs, key=repr)))
    if isinstance(value, s.Ref):
        return _canonical_ref(value, scope, depth)
    if isinstance(value, s.Call):
        return _canonical_call(value, scope, depth)
    if isinstance(value, s.Concat):
        parts = [canonical(part, scope, depth + 1) for part in value.parts]
        kinds = {part[0] for part in parts if isinstance(part, tuple) and part}
        if (
            len(kinds) == 1
            and kinds <= {"list", "tuple"}
            and all(isinstance(p, tuple) for p in parts)
        ):
            joined: list[object] = []
            for part in parts:
                assert isinstance(part, tuple)
                joined.extend(part[1])
            return (kinds.pop(), tuple(joined))
        if all(isinstance(part, str) for part in parts):
            return "".join(str(part) for part in parts)
        raise Undecidable("a concatenation miglint cannot evaluate")
    if isinstance(value, s.Unknown):
        member = _ENUM_SUBSCRIPT.fullmatch(value.source) if value.kind == "subscript" else None
        if member is not None:
            return ("enum", member.group(1).rpartition(".")[2], member.group(3))
        raise Undecidable(f"`{value.source}`")
    raise Undecidable(repr(value))


def _canonical_ref(value: s.Ref, scope: Scope, depth: int) -> object:
    found = scope.lookup(value.name)
    if isinstance(found, Resolved):
        return found.value
    if found is not None:
        return canonical(found, scope, depth + 1)
    qualified = scope.qualify(value.name)
    if qualified.startswith(("settings.", "django.conf.settings.")):
        return ("setting", value.last)
    return external_reference(qualified, value.name)


def external_reference(qualified: str, written: str) -> object:
    """A name defined outside the tree: a function or class a migration names the same way,
    a Django constant with a known value, or Undecidable for any other constant."""
    parts = qualified.split(".")
    if qualified.startswith("django."):
        known = _DJANGO_VALUES.get(".".join(parts[-2:]))
        if known is not None:
            return known
        if parts[-1] in _ON_DELETE:
            return ("ref", parts[-1])
    if any(_is_constant(part) for part in (parts[1:] or parts)) or parts[-1] == "NOT_PROVIDED":
        # A constant (or an attribute of one) defined where miglint cannot see: its value
        # is what a migration holds.
        raise Undecidable(f"the value of {written}")
    return ("ref", parts[-1])


def _is_constant(name: str) -> bool:
    bare = name.strip("_")
    return bare.isupper() and len(bare) > 1


def _canonical_call(call: s.Call, scope: Scope, depth: int) -> object:
    if call.has_star:
        raise Undecidable(f"`{call.func}(*...)`")
    name = scope.qualify(call.func).rpartition(".")[2]
    args = [canonical(arg, scope, depth + 1) for arg in call.args]
    kwargs = {k.name: canonical(k.value, scope, depth + 1) for k in call.kwargs}
    if name in _TRANSLATION and len(args) == 1 and not kwargs and isinstance(args[0], str):
        return args[0]
    if name == "pgettext_lazy" and len(args) == 2 and isinstance(args[1], str):
        return args[1]
    if name == "get_user_model" and not args:
        return ("setting", "AUTH_USER_MODEL")
    if name == "Decimal" and len(args) == 1 and not kwargs:
        return _canonical_decimal(args[0])
    if name in ("set", "frozenset", "list", "tuple", "dict") and not args and not kwargs:
        empty: dict[str, object] = {"set": ("set", frozenset()), "frozenset": ("set", frozenset())}
        return empty.get(name, (name, ()))
    if name in ("set", "frozenset", "list", "tuple") and len(args) == 1 and not kwargs:
        items = sequence_items(args[0])
        if items is None and isinstance(args[0], tuple) and args[0][:1] == ("set",):
            items = tuple(args[0][1])
        if items is not None:
            kind = "set" if name in ("set", "frozenset") else name
            return ("set", frozenset(items)) if kind == "set" else (kind, items)
    if name in ("date", "datetime", "time", "timedelta"):
        return _canonical_datetime(name, args, kwargs)
    if name == "Q":
        return _canonical_q(args, kwargs)
    if name.lstrip("_")[:1].islower() and name not in _DECONSTRUCTIBLE_FUNCTIONS:
        # A function call: the migration holds the value it returned at import time.
        raise Undecidable(f"the result of {call.func}()")
    scope.check_object(call.func)
    return ("call", name, tuple(args), frozenset(kwargs.items()))


def _canonical_decimal(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ("call", "Decimal", (value,), frozenset())
    try:
        number = decimal.Decimal(value)
    except decimal.InvalidOperation:
        raise Undecidable("a Decimal miglint cannot read") from None
    if number.is_snan():
        raise Undecidable("a signalling NaN")
    # Compared as Python compares it: Decimal("30") == 30.
    return number


def _canonical_datetime(name: str, args: list[object], kwargs: dict[str, object]) -> object:
    if "tzinfo" in kwargs:
        if kwargs["tzinfo"] != ("ref", "utc"):
            raise Undecidable("a datetime with a time zone")
        kwargs = {**kwargs, "tzinfo": datetime.timezone.utc}
    values = [*args, *kwargs.values()]
    if not all(
        (isinstance(v, int | float) and not isinstance(v, bool)) or v is datetime.timezone.utc
        for v in values
    ):
        raise Undecidable(f"a {name} miglint cannot evaluate")
    factory = {
        "date": datetime.date,
        "datetime": datetime.datetime,
        "time": datetime.time,
        "timedelta": datetime.timedelta,
    }[name]
    try:
        return (name, repr(factory(*args, **kwargs)))
    except (TypeError, ValueError, OverflowError):
        raise Undecidable(f"an invalid {name}") from None


def _canonical_q(args: list[object], kwargs: dict[str, object]) -> object:
    connector = kwargs.pop("_connector", "AND")
    negated = kwargs.pop("_negated", False)
    children = [*args, *(("tuple", (key, kwargs[key])) for key in sorted(kwargs))]
    return ("Q", tuple(children), connector, negated)


def unify_sequences(value: object) -> object:
    """Lists and tuples as one kind: index and constraint classes normalise them."""
    if isinstance(value, tuple) and value and value[0] in ("list", "tuple") and len(value) == 2:
        return ("seq", tuple(unify_sequences(item) for item in value[1]))
    if isinstance(value, tuple):
        return tuple(unify_sequences(item) for item in value)
    if isinstance(value, frozenset):
        return frozenset(unify_sequences(item) for item in value)
    return value


def sequence_items(value: object) -> tuple[object, ...] | None:
    """The items of a canonical list or tuple, else None."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] in ("list", "tuple"):
        items = value[1]
        assert isinstance(items, tuple)
        return items
    return None
