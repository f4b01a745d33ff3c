"""Model state read from models source: what is resolved, and what is left undecided."""

from __future__ import annotations

import os
from pathlib import Path

from miglint.state.models import read_app_models
from miglint.state.state import AppState
from miglint.state.values import Undecided
from tests.helpers import load, migration, write_tree

HEAD = "from django.db import models\n\n\n"


def read(
    tmp_path: Path, files: dict[str, str], app: str = "shop"
) -> tuple[AppState, frozenset[str]]:
    write_tree(tmp_path, {f"{app}/migrations/0001_initial.py": migration(), **files})
    project = load(tmp_path)
    chosen = next(a for a in project.apps if a.label == app)
    return read_app_models(chosen, project.apps, os.path.dirname(str(tmp_path)))


def test_abstract_bases_multi_table_and_proxy_models(tmp_path: Path) -> None:
    state, _ = read(
        tmp_path,
        {
            "common/__init__.py": "",
            "common/models.py": HEAD + "class Stamped(models.Model):\n"
            "    created = models.DateTimeField(auto_now_add=True)\n"
            "    class Meta:\n        abstract = True\n        ordering = ['-created']\n",
            "shop/models.py": HEAD + "from common.models import Stamped\n\n"
            "class Place(Stamped):\n    name = models.CharField(max_length=5)\n\n"
            "class Shop(Place):\n    open = models.BooleanField(default=True)\n\n"
            "class Cheap(Shop):\n    class Meta:\n        proxy = True\n",
        },
    )
    place, shop, cheap = state.models["place"], state.models["shop"], state.models["cheap"]
    assert set(place.fields) == {"id", "created", "name"}
    assert place.options["ordering"] == ("list", ("-created",))
    assert set(shop.fields) == {"place_ptr", "open"}
    assert shop.fields["place_ptr"].kwargs["to"] == "shop.place"
    assert shop.fields["place_ptr"].kwargs["primary_key"] is True
    # Shop has no Meta: Python finds Stamped.Meta through Place, and Django keeps it.
    assert shop.options["ordering"] == ("list", ("-created",))
    assert cheap.proxy


def test_choices_and_constants_are_resolved_where_django_finds_them(tmp_path: Path) -> None:
    state, _ = read(
        tmp_path,
        {
            "shop/constants.py": "SIZE = 12\n",
            "shop/models.py": HEAD + "from .constants import SIZE\n\n"
            "class Product(models.Model):\n"
            "    KINDS = (('a', 'A'),)\n"
            "    class Status(models.TextChoices):\n"
            "        DRAFT = 'd', 'Draft'\n"
            "        LIVE = 'l'\n"
            "    kind = models.CharField(max_length=SIZE, choices=KINDS)\n"
            "    status = models.CharField(max_length=1, choices=Status, default=Status.LIVE)\n",
        },
    )
    fields = state.models["product"].fields
    assert dict(fields["kind"].kwargs) == {
        "max_length": 12,
        "choices": ("list", (("tuple", ("a", "A")),)),
    }
    assert fields["status"].kwargs["default"] == "l"
    assert fields["status"].kwargs["choices"] == (
        "list",
        (("tuple", ("d", "Draft")), ("tuple", ("l", "Live"))),
    )


def test_models_package_reachable_modules(tmp_path: Path) -> None:
    state, maybe = read(
        tmp_path,
        {
            "shop/models/__init__.py": "from .catalog import *\n",
            "shop/models/catalog.py": HEAD + "class Item(models.Model):\n    pass\n",
            "shop/models/unused.py": HEAD + "class Orphan(models.Model):\n    pass\n",
        },
    )
    assert state.models["item"].unknown is None
    # Django registers Orphan only if something imports it: never reported as created.
    assert state.models["orphan"].unknown is not None and "orphan" in maybe


def test_what_depends_on_unseen_code_is_marked(tmp_path: Path) -> None:
    state, maybe = read(
        tmp_path,
        {
            "shop/models.py": HEAD + "from thirdparty.models import TimeStampedModel\n"
            "from thirdparty.fields import MoneyField\n\n"
            "class LowerField(models.CharField):\n    pass\n\n"
            "class Order(TimeStampedModel):\n    code = models.CharField(max_length=3)\n\n"
            "class Line(models.Model):\n"
            "    price = MoneyField(max_digits=5)\n"
            "    code = LowerField(max_length=4)\n"
            "    when = models.DateField(default=compute_default())\n",
        },
    )
    assert "order" in maybe  # its base may or may not be a model
    line = state.models["line"]
    assert line.partial is not None  # MoneyField may add columns
    assert line.fields["price"].cls == "?"
    assert line.fields["code"].base == "CharField" and line.fields["code"].unknown is None
    assert line.fields["when"].unknown is not None
    assert isinstance(line.managers, Undecided)


def test_conditional_definitions_make_the_app_partial(tmp_path: Path) -> None:
    state, _ = read(
        tmp_path,
        {
            "shop/models.py": HEAD
            + "try:\n    from extra import Thing\nexcept ImportError:\n    Thing = None\n\n"
            "class Product(models.Model):\n    name = models.CharField(max_length=3)\n"
            "    def name(self):\n        return 'x'\n",
        },
    )
    assert state.partial is not None
    # A method defined after a field of the same name replaces it, as in Python.
    assert set(state.models["product"].fields) == {"id"}


def test_names_are_resolved_or_left_undecided_never_guessed(tmp_path: Path) -> None:
    state, _ = read(
        tmp_path,
        {
            "shop/limits.py": "NAME_LENGTH = 30\nKINDS = [('a', 'A')]\n",
            "shop/models.py": HEAD
            + "from . import limits\n"
            + "from .limits import *\n"
            + "from vendor.colours import ColorSpace\n\n"
            "class Product(models.Model):\n"
            "    name = models.CharField(max_length=limits.NAME_LENGTH)\n"
            "    kind = models.CharField(max_length=1, choices=KINDS)\n"
            "    colour = models.CharField(max_length=5, default=ColorSpace.GRAY.value)\n"
            "    size = models.IntegerField(default=UNDEFINED_SIZE)\n",
        },
    )
    fields = state.models["product"].fields
    assert fields["name"].kwargs["max_length"] == 30  # `from . import limits`
    assert fields["kind"].unknown is None  # a star import inside the tree
    assert fields["colour"].unknown is not None  # an attribute of a package's constant
    assert fields["size"].unknown is not None  # defined nowhere miglint can see


def test_enum_members_and_values(tmp_path: Path) -> None:
    state, _ = read(
        tmp_path,
        {
            "shop/models.py": HEAD + "import enum\n\n"
            "class Level(enum.IntEnum):\n    LOW = 1\n    HIGH = 2\n\n"
            "class Shape(enum.Enum):\n    ROUND = 'o'\n\n"
            "class Product(models.Model):\n"
            "    level = models.IntegerField(default=Level.HIGH)\n"
            "    shape = models.CharField(max_length=1, default=Shape.ROUND)\n"
            "    code = models.CharField(max_length=1, default=Shape.ROUND.value)\n"
            "    named = models.CharField(max_length=5, default=Shape.ROUND.name)\n",
        },
    )
    fields = state.models["product"].fields
    assert fields["level"].kwargs["default"] == ("enum-member", "Level", "HIGH", 2, True)
    assert fields["shape"].kwargs["default"] == ("enum-member", "Shape", "ROUND", "o", False)
    assert fields["code"].kwargs["default"] == "o"
    assert fields["named"].kwargs["default"] == "ROUND"


def test_meta_reads_its_own_names_and_lists_built_in_code(tmp_path: Path) -> None:
    state, _ = read(
        tmp_path,
        {
            "shop/models.py": HEAD + "class Base(models.Model):\n"
            "    code = models.CharField(max_length=3)\n"
            "    class Meta:\n"
            "        abstract = True\n"
            "        indexes = [models.Index(fields=['code'], name='%(class)s_code')]\n\n"
            "class Product(Base):\n"
            "    class Meta(Base.Meta):\n"
            "        '''Products.'''\n"
            "        verbose_name = 'item'\n"
            "        verbose_name_plural = verbose_name\n"
            "        indexes = [models.Index(fields=['id'], name='product_id')]\n"
            "        indexes.extend(Base.Meta.indexes)\n"
            "        indexes += [models.Index(fields=['code', 'id'], name='both')]\n\n"
            "class Odd(Base):\n"
            "    class Meta:\n"
            "        indexes = []\n"
            "        indexes.sort()\n",
        },
    )
    product = state.models["product"]
    assert product.options["verbose_name_plural"] == "item"
    assert [entry[0] for entry in product.options["indexes"]] == [  # type: ignore[attr-defined]
        "product_id",
        "product_code",
        "both",
    ]
    assert "__undecided__" in state.models["odd"].options


def test_models_of_a_nested_app_and_of_other_apps_are_theirs(tmp_path: Path) -> None:
    state, maybe = read(
        tmp_path,
        {
            "shop/extras/__init__.py": "",
            "shop/extras/migrations/0001_initial.py": migration(),
            "shop/extras/models.py": HEAD + "class Extra(models.Model):\n    pass\n",
            "catalog/__init__.py": "",
            "catalog/migrations/0001_initial.py": migration(),
            "catalog/models.py": HEAD + "class Item(models.Model):\n    pass\n",
            "shop/models.py": HEAD
            + "from .extras.models import Extra\nfrom catalog.models import Item\n\n"
            "class Order(models.Model):\n    extra = models.ForeignKey(Extra, models.CASCADE)\n",
        },
    )
    assert set(state.models) == {"order"}
    assert state.models["order"].fields["extra"].kwargs["to"] == "extras.extra"
    assert not maybe


def test_geodjango_models_module_is_djangos(tmp_path: Path) -> None:
    state, maybe = read(
        tmp_path,
        {
            "shop/models.py": "from django.contrib.gis.db import models\n\n\n"
            "class Store(models.Model):\n"
            "    name = models.CharField(max_length=10)\n"
            "    where = models.PointField()\n",
        },
    )
    store = state.models["store"]
    assert not maybe and store.fields["name"].kwargs == {"max_length": 10}
    assert store.fields["where"].unknown is not None  # a field class miglint does not model


def test_operations_built_on_djangos_stateless_ones_change_nothing(tmp_path: Path) -> None:
    from miglint.rules.missing_migration import MissingMigration

    write_tree(
        tmp_path,
        {
            "shop/models.py": HEAD + "class Item(models.Model):\n    pass\n",
            "shop/ops.py": "from django.contrib.postgres.operations import CreateExtension\n"
            "from django.db import migrations\n\n"
            "class Trigram(CreateExtension):\n    pass\n\n"
            "class Seed(migrations.RunPython):\n"
            "    def __init__(self):\n        super().__init__(migrations.RunPython.noop)\n",
            "shop/migrations/0001_initial.py": migration(
                operations="migrations.CreateModel(name='Item', fields=[('id', models.AutoField("
                "auto_created=True, primary_key=True, serialize=False, verbose_name='ID'))]),\n"
                "Trigram('pg_trgm'),\nSeed()",
                extra="    initial = True\n",
            ).replace(
                "from django.db import migrations, models\n",
                "from django.db import migrations, models\n\nfrom shop.ops import Seed, Trigram\n",
            ),
        },
    )
    project = load(tmp_path)
    assert list(MissingMigration().check(project)) == []
    assert not [n for n in MissingMigration().notices(project) if "custom operation" in n]
