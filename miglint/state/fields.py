"""A field as Django's `Field.deconstruct()` gives it: class name plus the keyword arguments
that differ from their defaults, in canonical form (see `values`), for both sides the
autodetector compares (migrations and models).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from miglint.source import syntax as s
from miglint.state.values import (
    ImportScope,
    Resolved,
    Scope,
    Undecidable,
    canonical,
    sequence_items,
    unify_sequences,
)

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
    resolved = resolve_syntax(value, scope)
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


def resolve_syntax(value: s.Value | s.Missing, scope: Scope) -> s.Value | s.Missing:
    for _ in range(8):
        if not isinstance(value, s.Ref):
            break
        found = scope.lookup(value.name)
        if found is None or isinstance(found, Resolved):
            break
        value = found
    return value


def _choice_group(value: s.Value, scope: Scope) -> object:
    resolved = resolve_syntax(value, scope)
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
