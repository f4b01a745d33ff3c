"""Model state built by replaying migrations, in the shape Django's autodetector compares.

Fields are kept as Django's `Field.deconstruct()` would return them (class name plus the
keyword arguments that differ from their defaults), with every value turned into a plain,
hashable "canonical" form: literals stay literals, lists and tuples are tagged, names become
`("ref", last_component)`, calls `("call", name, args, kwargs)`. Whatever cannot be decided
from source (a lambda, a custom field class, an unreadable operation) is marked, never guessed.
"""

from __future__ import annotations

import datetime
import decimal
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from miglint.source import syntax as s
from miglint.source.parse import Operation, import_aliases, qualify

if TYPE_CHECKING:
    from miglint.graph.nodes import App
    from miglint.project.load import Project

# Field.deconstruct() leaves these out when they hold their default (compared with `is`).
_FIELD_DEFAULTS: dict[str, object] = {
    "verbose_name": None,
    "primary_key": False,
    "max_length": None,
    "unique": False,
    "blank": False,
    "null": False,
    "db_index": False,
    "editable": True,
    "serialize": True,
    "unique_for_date": None,
    "unique_for_month": None,
    "unique_for_year": None,
    "choices": None,
    "help_text": "",
    "db_column": None,
    "db_comment": None,
    "db_tablespace": None,
    "auto_created": False,
    "error_messages": None,
}
_FIELD_POSITIONAL = (
    "verbose_name",
    "name",
    "primary_key",
    "max_length",
    "unique",
    "blank",
    "null",
    "db_index",
    "rel",
    "default",
    "editable",
    "serialize",
    "unique_for_date",
    "unique_for_month",
    "unique_for_year",
    "choices",
    "help_text",
    "db_column",
    "db_tablespace",
    "auto_created",
    "validators",
    "error_messages",
    "db_comment",
    "db_default",
)
_DATE_POSITIONAL = ("verbose_name", "name", "auto_now", "auto_now_add")
_RELATED_POSITIONAL = {
    "ForeignKey": (
        "to",
        "on_delete",
        "related_name",
        "related_query_name",
        "limit_choices_to",
        "parent_link",
        "to_field",
        "db_constraint",
    ),
    "OneToOneField": ("to", "on_delete", "to_field"),
    "ManyToManyField": (
        "to",
        "related_name",
        "related_query_name",
        "limit_choices_to",
        "symmetrical",
        "through",
        "through_fields",
        "db_constraint",
        "db_table",
        "swappable",
    ),
}
# Django's own field classes whose deconstruct() miglint reproduces -> positional parameters.
FIELD_POSITIONAL: dict[str, tuple[str, ...]] = {
    **{
        name: _FIELD_POSITIONAL
        for name in (
            "Field",
            "AutoField",
            "BigAutoField",
            "SmallAutoField",
            "BigIntegerField",
            "BinaryField",
            "BooleanField",
            "CharField",
            "CommaSeparatedIntegerField",
            "DurationField",
            "EmailField",
            "FloatField",
            "IntegerField",
            "IPAddressField",
            "NullBooleanField",
            "PositiveBigIntegerField",
            "PositiveIntegerField",
            "PositiveSmallIntegerField",
            "SlugField",
            "SmallIntegerField",
            "TextField",
        )
    },
    "DateField": _DATE_POSITIONAL,
    "DateTimeField": _DATE_POSITIONAL,
    "TimeField": _DATE_POSITIONAL,
    "DecimalField": ("verbose_name", "name", "max_digits", "decimal_places"),
    "FileField": ("verbose_name", "name", "upload_to", "storage"),
    "ImageField": ("verbose_name", "name", "width_field", "height_field"),
    "FilePathField": (
        "verbose_name",
        "name",
        "path",
        "match",
        "recursive",
        "allow_files",
        "allow_folders",
    ),
    "GenericIPAddressField": ("verbose_name", "name", "protocol", "unpack_ipv4"),
    "URLField": ("verbose_name", "name"),
    "UUIDField": ("verbose_name",),
    "JSONField": ("verbose_name", "name", "encoder", "decoder"),
    **_RELATED_POSITIONAL,
}
RELATED_FIELDS = frozenset(_RELATED_POSITIONAL)
# Fields whose db_index defaults to True (deconstruct() writes only db_index=False).
_INDEXED_BY_DEFAULT = frozenset({"SlugField", "ForeignKey", "OneToOneField"})
AUTO_FIELDS = frozenset({"AutoField", "BigAutoField", "SmallAutoField"})
# Module prefixes under which Django's field classes live (migrations name them fully).
_FIELD_MODULES = ("django.db.models", "django.db.models.fields")
# Fields Django keeps out of migrations (private fields).
PRIVATE_FIELDS = frozenset({"GenericForeignKey", "GenericRelation"})
_TRANSLATION = frozenset(
    {"_", "gettext", "gettext_lazy", "ugettext", "ugettext_lazy", "gettext_noop", "_lazy"}
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


# --- fields -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldState:
    """One field as Django's deconstruct() gives it: class name and significant kwargs."""

    name: str
    cls: str
    kwargs: Mapping[str, object]
    span: s.Span = field(default=s.NO_SPAN, compare=False)
    # Why this field cannot be compared (a custom class, an unreadable argument), if so.
    unknown: str | None = None
    # An implicit primary key (`id`) whose class depends on settings.
    auto_pk: bool = False
    # A project's subclass of this Django field class (same deconstruct() rules).
    base: str | None = None
    # A class miglint does not know: kwargs kept as written in the migration.
    raw: bool = False
    # `choices` as Django before 5.0 kept them (only the outer sequence made a list), when
    # that differs from the normalised form in `kwargs`.
    raw_choices: object = None
    # A ManyToManyField to "self" that Django makes symmetrical (its hidden related_name).
    symmetrical_self: bool = False


def field_class(call: s.Call, scope: Scope) -> str | None:
    """The Django field class `call` builds ("CharField"), or None for any other class."""
    qualified = scope.qualify(call.func)
    module, _, name = qualified.rpartition(".")
    if name not in FIELD_POSITIONAL and name not in PRIVATE_FIELDS:
        return None
    if module in _FIELD_MODULES or module.startswith("django.db.models.fields"):
        return name
    if module.startswith("django.contrib.contenttypes") and name in PRIVATE_FIELDS:
        return name
    return None


def relation_label(value: object, app_label: str, model_name: str) -> object:
    """A relation target the way Django deconstructs it: "app_label.model_name", lowercase."""
    if isinstance(value, tuple) and value and value[0] == "model":
        return value[1]
    if isinstance(value, tuple) and value and value[0] == "external-model":
        # A model of a package outside the tree: its app label is a guess (see same_value).
        return value
    if isinstance(value, tuple) and value == ("setting", "AUTH_USER_MODEL"):
        return value
    if isinstance(value, str):
        if value == "self":
            return f"{app_label}.{model_name}".lower()
        if "." in value:
            return value.lower()
        return f"{app_label}.{value}".lower()
    raise Undecidable("a relation target miglint cannot resolve")


def deconstruct_field(
    name: str,
    call: s.Call,
    scope: Scope,
    app_label: str,
    model_name: str,
    base: str | None = None,
) -> FieldState:
    """The field built by `call`, normalised as Django's deconstruct() would return it.

    `base` names the Django field class a project's own subclass behaves like (it does not
    override __init__ or deconstruct). A class miglint does not know at all is kept with its
    arguments as written (`raw`): a migration wrote them from that class's deconstruct().
    """
    cls = base or field_class(call, scope)
    last = call.func.rpartition(".")[2]
    if (
        cls is None
        and isinstance(scope, ImportScope)
        and "." not in call.func
        and call.func not in scope.aliases
    ):
        # Not imported: a class computed in the migration itself, e.g.
        # `models_AutoField = import_string(settings.DEFAULT_AUTO_FIELD)`.
        return FieldState(name, last, {}, call.span, unknown=f"{call.func}: not an imported class")
    if cls is None:
        try:
            if call.args or call.has_star:
                raise Undecidable(f"positional arguments to {call.func}")
            raw, _ = _given_kwargs((), call, scope)
        except Undecidable as error:
            return FieldState(name, last, {}, call.span, unknown=f"{call.func}: {error}")
        return FieldState(name, last, raw, call.span, raw=True)
    try:
        given, raw_choices = _given_kwargs(FIELD_POSITIONAL.get(cls, ()), call, scope)
        symmetrical = given.get("symmetrical")
        target = given.get("to")
        symmetrical_self = cls == "ManyToManyField" and (
            (target == "self" and symmetrical is not False)
            or (symmetrical is True and target == model_name)
        )
        kwargs = normalize_kwargs(cls, given, app_label, model_name)
    except Undecidable as error:
        return FieldState(name, cls, {}, call.span, unknown=str(error))
    if raw_choices == kwargs.get("choices"):
        raw_choices = None
    return FieldState(
        name,
        last if base else cls,
        kwargs,
        call.span,
        base=base,
        raw_choices=raw_choices,
        symmetrical_self=symmetrical_self,
    )


def _given_kwargs(
    positional: tuple[str, ...], call: s.Call, scope: Scope
) -> tuple[dict[str, object], object]:
    """The canonical keyword arguments of a field call, and its choices as Django before
    5.0 kept them (None without choices)."""
    if call.has_star:
        raise Undecidable("*args or **kwargs in the field's arguments")
    if len(call.args) > len(positional):
        raise Undecidable("more positional arguments than miglint knows")
    given: dict[str, s.Value] = dict(zip(positional, call.args, strict=False))
    for keyword in call.kwargs:
        given[keyword.name] = keyword.value
    given.pop("name", None)
    kwargs: dict[str, object] = {}
    raw_choices: object = None
    for key, raw in given.items():
        if key == "choices":
            kwargs[key] = normalize_choices(raw, scope)
            raw_choices = _choices_before_5(raw, scope)
        else:
            kwargs[key] = canonical(raw, scope)
    return kwargs, raw_choices


def _choices_before_5(value: s.Value | s.Missing, scope: Scope) -> object:
    """Before Django 5.0, Field.deconstruct() wrote list(choices): inner sequences as given,
    a dict as its keys, a Choices class as its members."""
    built = canonical(value, scope)
    if isinstance(built, tuple) and built[:1] == ("choices-class",):
        return ("choices class, unsupported before Django 5.0",)
    if isinstance(built, tuple) and built[:1] == ("dict",):
        return ("choices dict, unsupported before Django 5.0",)
    items = sequence_items(built)
    return ("list", items) if items is not None else built


def normalize_kwargs(
    cls: str, given: Mapping[str, object], app_label: str, model_name: str
) -> dict[str, object]:
    """What `cls`.deconstruct() keeps of canonical keyword arguments (idempotent)."""
    kwargs = dict(given)
    for key, default in _FIELD_DEFAULTS.items():
        if (key == "db_index" and cls in _INDEXED_BY_DEFAULT) or (
            key == "editable" and cls == "BinaryField"
        ):
            continue
        if key in kwargs and type(kwargs[key]) is type(default) and kwargs[key] == default:
            del kwargs[key]
    if "validators" in kwargs and sequence_items(kwargs["validators"]) == ():
        del kwargs["validators"]
    if cls in RELATED_FIELDS:
        _relation_kwargs(cls, kwargs, app_label, model_name)
    else:
        _plain_kwargs(cls, kwargs)
    return kwargs


def _relation_kwargs(cls: str, kwargs: dict[str, object], app_label: str, model_name: str) -> None:
    if "to" not in kwargs:
        raise Undecidable("a relation without `to`")
    kwargs["to"] = relation_label(kwargs["to"], app_label, model_name)
    for key in ("symmetrical", "swappable", "from_fields", "to_fields", "rel"):
        kwargs.pop(key, None)
    if kwargs.get("related_name", 0) is None:
        del kwargs["related_name"]
    if kwargs.get("related_query_name", 0) is None:
        del kwargs["related_query_name"]
    if not kwargs.get("limit_choices_to", True):
        del kwargs["limit_choices_to"]
    if kwargs.get("db_constraint") is True:
        del kwargs["db_constraint"]
    if cls == "ManyToManyField":
        if "through" in kwargs:
            if kwargs["through"] is None:
                del kwargs["through"]
            else:
                kwargs["through"] = relation_label(kwargs["through"], app_label, model_name)
        if kwargs.get("db_table", 0) is None:
            del kwargs["db_table"]
        if kwargs.get("through_fields", 0) is None:
            del kwargs["through_fields"]
        elif "through_fields" in kwargs:
            kwargs["through_fields"] = unify_sequences(kwargs["through_fields"])
        return
    # Migrations written before Django 2.0 have no on_delete: it was CASCADE.
    kwargs.setdefault("on_delete", ("ref", "CASCADE"))
    if kwargs.get("parent_link") is False:
        del kwargs["parent_link"]
    if kwargs.get("to_field", 0) in (None, "id"):
        del kwargs["to_field"]
    if kwargs.get("db_index", True) is True:
        kwargs.pop("db_index", None)
    else:
        kwargs["db_index"] = False
    if cls == "OneToOneField":
        kwargs.pop("unique", None)


def _drop(kwargs: dict[str, object], key: str, *defaults: object) -> None:
    if key in kwargs and any(
        type(kwargs[key]) is type(default) and kwargs[key] == default for default in defaults
    ):
        del kwargs[key]


def _plain_kwargs(cls: str, kwargs: dict[str, object]) -> None:
    if cls in ("CharField", "TextField", "SlugField", "EmailField", "URLField"):
        _drop(kwargs, "db_collation", None)
    if cls == "SlugField":
        _drop(kwargs, "max_length", 50)
        if kwargs.get("db_index", True) is True:
            kwargs.pop("db_index", None)
        else:
            kwargs["db_index"] = False
        _drop(kwargs, "allow_unicode", False)
    elif cls == "URLField":
        _drop(kwargs, "max_length", 200)
    elif cls == "EmailField":
        kwargs.setdefault("max_length", 254)
    elif cls in ("FileField", "ImageField"):
        _drop(kwargs, "max_length", 100)
        kwargs.setdefault("upload_to", "")
        _drop(kwargs, "storage", None)
        _drop(kwargs, "width_field", None)
        _drop(kwargs, "height_field", None)
    elif cls == "FilePathField":
        _drop(kwargs, "path", "")
        _drop(kwargs, "match", None)
        _drop(kwargs, "recursive", False)
        _drop(kwargs, "allow_files", True)
        _drop(kwargs, "allow_folders", False)
        _drop(kwargs, "max_length", 100)
    elif cls == "DecimalField":
        _drop(kwargs, "max_digits", None)
        _drop(kwargs, "decimal_places", None)
    elif cls in ("DateField", "DateTimeField", "TimeField"):
        _drop(kwargs, "auto_now", False)
        _drop(kwargs, "auto_now_add", False)
        if kwargs.get("auto_now") or kwargs.get("auto_now_add"):
            kwargs.pop("editable", None)
            kwargs.pop("blank", None)
    elif cls == "GenericIPAddressField":
        _drop(kwargs, "protocol", "both")
        _drop(kwargs, "unpack_ipv4", False)
        _drop(kwargs, "max_length", 39)
    elif cls in ("IPAddressField", "UUIDField"):
        kwargs.pop("max_length", None)
    elif cls == "BinaryField":
        if kwargs.get("editable") is True:
            kwargs["editable"] = True
        else:
            kwargs.pop("editable", None)
    elif cls in AUTO_FIELDS:
        kwargs.pop("blank", None)
        kwargs["primary_key"] = True
    elif cls == "NullBooleanField":
        kwargs.pop("null", None)
        kwargs.pop("blank", None)
    elif cls == "JSONField":
        _drop(kwargs, "encoder", None)
        _drop(kwargs, "decoder", None)


def normalize_choices(value: s.Value | s.Missing, scope: Scope) -> object:
    """`choices` as Django 5 normalises them: a list of (value, label) tuples, groups too."""
    resolved = _resolve_syntax(value, scope)
    if isinstance(resolved, s.Dict):
        pairs = [(canonical(k, scope), _choice_group(v, scope)) for k, v in resolved.items]
        return ("list", tuple(("tuple", pair) for pair in pairs))
    result = canonical(resolved, scope)
    if isinstance(result, tuple) and result and result[0] == "choices-class":
        return result[1]
    if isinstance(result, tuple) and result[:1] in (("call",), ("object",)):
        # An object Django iterates into a list: what it yields is not in the source.
        raise Undecidable("choices given as an object")
    return _normalize_choice_list(result, depth=0)


def _resolve_syntax(value: s.Value | s.Missing, scope: Scope) -> s.Value | s.Missing:
    for _ in range(8):
        if not isinstance(value, s.Ref):
            break
        found = scope.lookup(value.name)
        if found is None or isinstance(found, Resolved):
            break
        value = found
    return value


def _choice_group(value: s.Value, scope: Scope) -> object:
    resolved = _resolve_syntax(value, scope)
    if isinstance(resolved, s.Dict):
        pairs = [(canonical(k, scope), canonical(v, scope)) for k, v in resolved.items]
        return ("list", tuple(("tuple", pair) for pair in pairs))
    return _normalize_choice_list(canonical(resolved, scope), depth=1)


def _normalize_choice_list(value: object, depth: int) -> object:
    items = sequence_items(value)
    if items is None or depth >= 2:
        return value
    if any(isinstance(item, str | bytes) for item in items):
        return value
    pairs = []
    for item in items:
        pair = sequence_items(item)
        if pair is None or len(pair) != 2:
            return value
        pairs.append(("tuple", (pair[0], _normalize_choice_list(pair[1], depth + 1))))
    return ("list", tuple(pairs))


# --- models and apps ----------------------------------------------------------------------


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
            resolved = _resolve_syntax(value, scope)
            if isinstance(resolved, s.Concat):
                raise Undecidable(f"{key} built from several lists")
            if not isinstance(resolved, s.Seq):
                raise Undecidable(f"{key} miglint cannot read")
            return tuple(
                index_entry(_resolve_syntax(item, scope), scope, app_label, model_name, key)  # type: ignore[arg-type]
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
