"""Project code that changes what makemigrations compares, found by reading the tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from miglint.project.patches import ProjectPatches, find_patches
from miglint.state.state import ALTER_OPTION_KEYS
from tests.helpers import write_tree


def patches_in(tmp_path: Path, files: dict[str, str]) -> ProjectPatches:
    write_tree(tmp_path, files)
    return find_patches([str(tmp_path)], ALTER_OPTION_KEYS)


@pytest.mark.parametrize(
    "source",
    [
        "from django.db import models\nmodels.Field.deconstruct = lambda self: None\n",
        "from django.db.models import Field\n\ndef ready():\n    Field.deconstruct = f\n",
        "from django.db import models\nsetattr(models.Field, 'deconstruct', f)\n",
        "import django.db.models\ndjango.db.models.fields.CharField.deconstruct = f\n",
    ],
)
def test_a_replaced_deconstruct_is_found_wherever_it_is_written(
    tmp_path: Path, source: str
) -> None:
    found = patches_in(tmp_path, {"core/patches.py": source})
    assert found.deconstruct is not None and "core/patches.py" in found.deconstruct


@pytest.mark.parametrize(
    ("source", "keys"),
    [
        ("AlterModelOptions.ALTER_OPTION_KEYS.remove('verbose_name')\n", ["-verbose_name"]),
        (
            "AlterModelOptions.ALTER_OPTION_KEYS.remove('verbose_name')\n"
            "AlterModelOptions.ALTER_OPTION_KEYS.remove('verbose_name_plural')\n",
            ["-verbose_name", "-verbose_name_plural"],
        ),
        ("AlterModelOptions.ALTER_OPTION_KEYS.append('db_table_comment')\n", ["+db_table_comment"]),
        ("AlterModelOptions.ALTER_OPTION_KEYS += ['x', 'y']\n", ["+x", "+y"]),
    ],
)
def test_edits_to_alter_option_keys_are_applied(
    tmp_path: Path, source: str, keys: list[str]
) -> None:
    found = patches_in(tmp_path, {"core/apps.py": source})
    expected = [k for k in ALTER_OPTION_KEYS if f"-{k}" not in keys]
    expected += [k[1:] for k in keys if k.startswith("+")]
    assert found.option_keys == tuple(expected)
    assert found.option_keys_unknown is None


def test_option_keys_set_from_code_are_unknown(tmp_path: Path) -> None:
    found = patches_in(
        tmp_path, {"core/apps.py": "AlterModelOptions.ALTER_OPTION_KEYS = compute_keys()\n"}
    )
    assert found.option_keys_unknown is not None


def test_an_own_autodetector_is_found_and_a_guarding_command_is_not(tmp_path: Path) -> None:
    command = "shop/management/commands/makemigrations.py"
    guard = (
        "from django.core.management.commands.makemigrations import Command as Base\n\n"
        "class Command(Base):\n"
        "    def handle(self, *args, **options):\n"
        "        if not options['check_changes']:\n            raise SystemExit(2)\n"
        "        super().handle(*args, **options)\n"
    )
    assert patches_in(tmp_path / "a", {command: guard}).autodetector is None
    own = guard.replace("class Command(Base):", "class Command(Base):\n    autodetector = Mine\n")
    assert patches_in(tmp_path / "b", {command: own}).autodetector is not None
    subclass = (
        "from django.db.migrations.autodetector import MigrationAutodetector\n\n"
        "class Lenient(MigrationAutodetector):\n    pass\n"
    )
    assert patches_in(tmp_path / "c", {"core/detect.py": subclass}).autodetector is not None


def test_models_changed_at_start_up_are_named_with_their_fields(tmp_path: Path) -> None:
    apps = (
        "from django.apps import AppConfig\n\n"
        "class ShopConfig(AppConfig):\n"
        "    def ready(self):\n"
        "        from .models import Order, Product\n"
        "        Product._meta.get_field('photo').storage = other\n"
        "        Order.add_to_class(name='total', value=models.IntegerField())\n"
        "        Order._meta.ordering = ['-id']\n"
    )
    views = "def view(request):\n    Invoice._meta.get_field('number').verbose_name = 'No.'\n"
    found = patches_in(tmp_path, {"shop/apps.py": apps, "shop/views.py": views})
    assert found.models == {
        "Product": frozenset({"photo"}),
        "Order": frozenset({"total", ""}),
    }
    assert found.any_model is None


def test_models_changed_through_a_variable_at_start_up_are_any_model(tmp_path: Path) -> None:
    source = "for model in registry:\n    model._meta.get_field('id').verbose_name = 'ID'\n"
    assert patches_in(tmp_path, {"shop/models.py": source}).any_model is not None


def test_tests_migrations_and_broken_files_are_not_read(tmp_path: Path) -> None:
    patch = "from django.db import models\nmodels.Field.deconstruct = f\n"
    found = patches_in(
        tmp_path,
        {
            "shop/tests/test_fields.py": patch,
            "shop/test_more.py": patch,
            "conftest.py": patch,
            "shop/migrations/0001_initial.py": patch,
            "shop/broken.py": "deconstruct = (\n",
            "shop/nul.py": "x = 1\0\n",
        },
    )
    assert found.deconstruct is None
    assert found.models == {}
