"""Model state read from models source: what is resolved, and what is left undecided."""

from __future__ import annotations

import os
from pathlib import Path

from miglint.models_state import read_app_models
from miglint.state import AppState, Undecided
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
