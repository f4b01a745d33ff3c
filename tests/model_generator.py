"""Random Django models and random edits of them, rendered as models.py source.

A model is a list of fields, each a field class with keyword arguments given as source
text; an edit changes the spec (drift) or only how it is written (cosmetic: Django sees no
change). Everything is driven by one `random.Random`, so hypothesis can shrink the seed.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field

FieldSpec = tuple[str, dict[str, str]]

_SIMPLE: list[tuple[str, list[tuple[str, list[str]]]]] = [
    (
        "CharField",
        [
            ("max_length", ["10", "20", "100", "255"]),
            ("null", ["True"]),
            ("blank", ["True"]),
            ("default", ['"x"', '""']),
            ("help_text", ['"help"', '"other help"']),
            ("verbose_name", ['"label"', '"title"']),
            ("db_index", ["True"]),
            ("unique", ["True"]),
            ("db_column", ['"col_x"']),
            ("choices", ['[("a", "A"), ("b", "B")]', "COLORS", "Kind.choices"]),
            ("db_comment", ['"a comment"']),
        ],
    ),
    ("TextField", [("null", ["True"]), ("blank", ["True"]), ("default", ['""', '"t"'])]),
    (
        "IntegerField",
        [
            ("default", ["0", "1", "LIMIT"]),
            ("null", ["True"]),
            ("choices", ["Level.choices", "Level", "[(1, 'one'), (2, 'two')]"]),
            ("validators", ["[MinValueValidator(1)]", "[MaxValueValidator(10)]"]),
        ],
    ),
    ("BigIntegerField", [("default", ["0", "7"]), ("null", ["True"])]),
    ("PositiveIntegerField", [("default", ["0", "3"]), ("db_index", ["True"])]),
    ("SmallIntegerField", [("default", ["0"])]),
    ("FloatField", [("default", ["0.5", "1.0"]), ("null", ["True"])]),
    ("BooleanField", [("default", ["False", "True"]), ("help_text", ['"flag"'])]),
    (
        "DecimalField",
        [
            ("max_digits", ["8", "10"]),
            ("decimal_places", ["2", "3"]),
            ("default", ["Decimal('0.00')", "0", "Decimal('1.5')"]),
            ("null", ["True"]),
        ],
    ),
    (
        "DateTimeField",
        [
            ("auto_now", ["True"]),
            ("auto_now_add", ["True"]),
            ("null", ["True"]),
            ("default", ["timezone.now"]),
        ],
    ),
    ("DateField", [("null", ["True"]), ("default", ["datetime.date(2020, 1, 1)"])]),
    ("TimeField", [("null", ["True"])]),
    ("DurationField", [("default", ["datetime.timedelta(hours=1)", "datetime.timedelta(days=2)"])]),
    ("EmailField", [("max_length", ["254", "100"]), ("blank", ["True"]), ("unique", ["True"])]),
    ("URLField", [("max_length", ["200", "300"]), ("blank", ["True"])]),
    ("SlugField", [("max_length", ["50", "80"]), ("db_index", ["False"]), ("unique", ["True"])]),
    ("UUIDField", [("default", ["uuid.uuid4"]), ("editable", ["False"]), ("unique", ["True"])]),
    ("JSONField", [("default", ["dict", "list"]), ("blank", ["True"]), ("null", ["True"])]),
    ("FileField", [("upload_to", ['"files/"', '"docs/"', "upload_path"]), ("blank", ["True"])]),
    ("GenericIPAddressField", [("protocol", ['"both"', '"IPv4"']), ("null", ["True"])]),
    ("BinaryField", [("null", ["True"]), ("editable", ["True"])]),
]
_ON_DELETE = ["models.CASCADE", "models.PROTECT", "models.SET_NULL", "models.DO_NOTHING"]

HEADER = """\
import datetime
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

LIMIT = 5
COLORS = (("r", _("Red")), ("g", _("Green")))


def upload_path(instance, filename):
    return filename


class Kind(models.TextChoices):
    SMALL = "s", _("Small")
    LARGE = "l"


class Level(models.IntegerChoices):
    LOW = 1, "Low"
    HIGH = 2
"""


@dataclass
class ModelSpec:
    name: str
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    parent: str = "models.Model"
    abstract: bool = False
    methods: bool = False


def _field(rng: random.Random, models: list[str]) -> FieldSpec:
    roll = rng.random()
    if roll < 0.15 and models:
        cls = rng.choice(["ForeignKey", "ForeignKey", "OneToOneField", "ManyToManyField"])
        target = rng.choice([*models, "settings.AUTH_USER_MODEL", '"self"'])
        kwargs: dict[str, str] = {"to": target if target != '"self"' else '"self"'}
        if cls != "ManyToManyField":
            kwargs["on_delete"] = rng.choice(_ON_DELETE)
            if kwargs["on_delete"] == "models.SET_NULL" or rng.random() < 0.3:
                kwargs["null"] = "True"
        elif rng.random() < 0.5:
            kwargs["blank"] = "True"
        if rng.random() < 0.5:
            kwargs["related_name"] = '"+"'
        return cls, kwargs
    cls, options = rng.choice(_SIMPLE)
    kwargs = {}
    for key, values in options:
        required = key in ("max_length", "max_digits", "decimal_places") and cls in (
            "CharField",
            "DecimalField",
        )
        if required or rng.random() < 0.3:
            kwargs[key] = rng.choice(values)
    if cls == "CharField" and kwargs.get("choices") in ("COLORS", '[("a", "A"), ("b", "B")]'):
        kwargs.pop("default", None)
    if kwargs.get("auto_now") and kwargs.get("auto_now_add"):
        del kwargs["auto_now_add"]
    if "auto_now" in kwargs or "auto_now_add" in kwargs:
        kwargs.pop("default", None)
    if cls == "CharField" and "choices" in kwargs and kwargs["choices"].startswith("Kind"):
        kwargs["max_length"] = "10"
    if kwargs.get("unique") == "True" and cls in ("BinaryField",):
        del kwargs["unique"]
    return cls, kwargs


def random_app(rng: random.Random) -> list[ModelSpec]:
    specs: list[ModelSpec] = []
    if rng.random() < 0.3:
        base = ModelSpec("Stamped", abstract=True)
        base.fields["created"] = ("DateTimeField", {"auto_now_add": "True"})
        base.fields["note"] = ("TextField", {"blank": "True"})
        if rng.random() < 0.5:
            base.meta["ordering"] = '["-created"]'
        specs.append(base)
    for index in range(rng.randint(1, 3)):
        model = ModelSpec(f"Model{index}{rng.choice('ABC')}")
        names = [m.name for m in specs if not m.abstract]
        if specs and specs[0].abstract and rng.random() < 0.6:
            model.parent = specs[0].name
        elif names and rng.random() < 0.15:
            model.parent = rng.choice(names)
        for number in range(rng.randint(1, 5)):
            model.fields[f"m{index}f{number}_{rng.choice('xyz')}"] = _field(
                rng, [*names, model.name]
            )
        if rng.random() < 0.4:
            _meta_edit(rng, model)
        specs.append(model)
    return specs


def _meta_edit(rng: random.Random, model: ModelSpec) -> None:
    names = list(model.fields)
    choice = rng.choice(
        [
            "ordering",
            "verbose_name",
            "verbose_name_plural",
            "db_table",
            "index",
            "constraint",
            "unique_together",
            "permissions",
            "get_latest_by",
            "drop",
        ]
    )
    if choice == "drop" and model.meta:
        del model.meta[rng.choice(list(model.meta))]
    elif choice == "ordering":
        model.meta["ordering"] = rng.choice(['["id"]', '["-id"]', '("id",)', '["pk"]'])
    elif choice == "verbose_name":
        model.meta["verbose_name"] = rng.choice(['"thing"', '_("item")'])
    elif choice == "verbose_name_plural":
        model.meta["verbose_name_plural"] = rng.choice(['"things"', '"items"'])
    elif choice == "db_table":
        model.meta["db_table"] = rng.choice(
            [f'"t_{model.name.lower()}"', f'"x_{model.name.lower()}"']
        )
    elif choice == "index" and names:
        chosen = rng.sample(names, min(len(names), rng.randint(1, 2)))
        concrete = [n for n in chosen if _indexable(model.fields[n])]
        if concrete:
            named = rng.random() < 0.7
            name = f', name="{model.name.lower()[:10]}_{rng.randint(0, 99)}_idx"' if named else ""
            model.meta["indexes"] = f"[models.Index(fields={concrete!r}{name})]"
    elif choice == "constraint" and names:
        concrete = [n for n in names if _indexable(model.fields[n])][:2]
        if concrete:
            model.meta["constraints"] = (
                f"[models.UniqueConstraint(fields={concrete!r}, "
                f'name="{model.name.lower()}_{rng.randint(0, 99)}_uniq")]'
            )
    elif choice == "unique_together" and len(names) >= 2:
        concrete = [n for n in names if _indexable(model.fields[n])][:2]
        if len(concrete) == 2:
            model.meta["unique_together"] = rng.choice(
                [f"[{tuple(concrete)!r}]", f"{tuple(concrete)!r}"]
            )
    elif choice == "permissions":
        model.meta["permissions"] = rng.choice(['[("can_x", "Can x")]', '(("can_y", "Can y"),)'])
    elif choice == "get_latest_by":
        model.meta["get_latest_by"] = '"id"'


def _indexable(spec: FieldSpec) -> bool:
    return spec[0] not in ("ManyToManyField", "JSONField", "BinaryField", "TextField")


def drift(rng: random.Random, specs: list[ModelSpec]) -> list[ModelSpec]:
    """A copy of `specs` with one change Django would write a migration for (usually)."""
    specs = copy.deepcopy(specs)
    concrete = [m for m in specs if not m.abstract]
    model = rng.choice(specs)
    kind = rng.choice(["add", "remove", "alter", "alter", "rename", "meta", "model", "class"])
    names = [m.name for m in concrete]
    if kind == "add" or not model.fields:
        model.fields[f"new_{rng.randint(0, 999)}"] = _field(rng, names)
    elif kind == "remove":
        del model.fields[rng.choice(list(model.fields))]
    elif kind == "alter":
        name = rng.choice(list(model.fields))
        cls, kwargs = model.fields[name]
        options = dict(next((o for c, o in _SIMPLE if c == cls), []))
        if options and rng.random() < 0.8:
            key = rng.choice(list(options))
            values = [v for v in options[key] if v != kwargs.get(key)]
            if key in kwargs and (not values or rng.random() < 0.4):
                if key not in ("max_length", "max_digits", "decimal_places"):
                    del kwargs[key]
                elif values:
                    kwargs[key] = rng.choice(values)
            elif values:
                kwargs[key] = rng.choice(values)
        elif "related_name" in kwargs:
            del kwargs["related_name"]
        else:
            kwargs["null"] = "False" if kwargs.get("null") == "True" else "True"
        model.fields[name] = (cls, kwargs)
    elif kind == "rename":
        old = rng.choice(list(model.fields))
        model.fields = {
            (f"{key}_renamed" if key == old else key): value for key, value in model.fields.items()
        }
    elif kind == "meta":
        _meta_edit(rng, model)
    elif kind == "model":
        if concrete and rng.random() < 0.4 and len(concrete) > 1:
            victim = concrete[-1]
            specs.remove(victim)
            for other in specs:
                if other.parent == victim.name:
                    other.parent = "models.Model"
                for key, (_, kwargs) in list(other.fields.items()):
                    if kwargs.get("to") == victim.name:
                        del other.fields[key]
        else:
            extra = ModelSpec(f"Extra{rng.randint(0, 99)}")
            extra.fields["label"] = ("CharField", {"max_length": "30"})
            specs.append(extra)
    else:
        name = rng.choice(list(model.fields))
        cls, kwargs = model.fields[name]
        if cls in ("IntegerField", "BigIntegerField", "SmallIntegerField", "PositiveIntegerField"):
            model.fields[name] = (
                rng.choice(["BigIntegerField", "SmallIntegerField", "IntegerField"]),
                {k: v for k, v in kwargs.items() if k in ("default", "null")},
            )
        elif cls == "CharField":
            model.fields[name] = (
                "TextField",
                {k: v for k, v in kwargs.items() if k in ("null", "blank")},
            )
        else:
            model.fields[name] = ("CharField", {"max_length": "12", "null": "True"})
    for spec in specs:
        _drop_stale_meta(spec)
    return specs


def _drop_stale_meta(spec: ModelSpec) -> None:
    """Meta entries that name fields which no longer exist would not load in Django."""
    for key in ("indexes", "constraints", "unique_together", "get_latest_by"):
        value = spec.meta.get(key)
        if value is None:
            continue
        quoted = [part for part in value.replace("'", '"').split('"')[1::2]]
        fields = [q for q in quoted if q.startswith(("m", "new_", "created", "note", "id"))]
        if any(f not in spec.fields and f not in ("id", "created", "note") for f in fields):
            del spec.meta[key]


def cosmetic(rng: random.Random, specs: list[ModelSpec]) -> list[ModelSpec]:
    """A copy marked to be written differently but meaning the same to Django."""
    specs = copy.deepcopy(specs)
    for spec in specs:
        spec.methods = rng.random() < 0.7
    return specs


def render(specs: list[ModelSpec], rng: random.Random | None = None) -> str:
    """models.py for `specs`; with `rng`, in a randomly different but equivalent style."""
    lines = [HEADER]
    for spec in specs:
        lines.append(f"\nclass {spec.name}({spec.parent}):")
        for name, (cls, kwargs) in spec.fields.items():
            lines.append(f"    {name} = {_render_field(cls, kwargs, rng, spec.name)}")
        if spec.methods:
            lines.append("\n    def __str__(self):\n        return str(self.pk)\n")
            lines.append("    @property\n    def label(self):\n        return 'x'\n")
        meta = dict(spec.meta)
        if spec.abstract:
            meta["abstract"] = "True"
        if meta:
            lines.append("\n    class Meta:")
            for key, value in meta.items():
                lines.append(f"        {key} = {value}")
        if not spec.fields and not meta and not spec.methods:
            lines.append("    pass")
        lines.append("")
    return "\n".join(lines)


def _render_field(cls: str, kwargs: dict[str, str], rng: random.Random | None, owner: str) -> str:
    kwargs = dict(kwargs)
    args: list[str] = []
    if "to" in kwargs:
        target = kwargs.pop("to")
        args.append(target if target.startswith(("settings", '"')) else f'"{target}"')
        by_class = not target.startswith(("settings", '"')) and target != owner
        if rng is not None and by_class and rng.random() < 0.5:
            args[0] = target
    elif rng is not None and "verbose_name" in kwargs and rng.random() < 0.5:
        args.append(kwargs.pop("verbose_name"))
    items = list(kwargs.items())
    if rng is not None:
        rng.shuffle(items)
        if rng.random() < 0.3 and "null" not in kwargs:
            items.append(("null", "False"))
        if rng.random() < 0.3 and "help_text" not in kwargs:
            items.append(("help_text", '""'))
        if cls == "SlugField" and "max_length" not in kwargs and rng.random() < 0.5:
            items.append(("max_length", "50"))
        if cls == "EmailField" and "max_length" not in kwargs and rng.random() < 0.5:
            items.append(("max_length", "254"))
    rendered = ", ".join([*args, *(f"{k}={v}" for k, v in items)])
    return f"models.{cls}({rendered})"
