"""Shapes of real trees that once fooled miglint."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import load, write_tree


def test_djangos_own_migrations_framework_package_is_not_an_app(tmp_path: Path) -> None:
    # django/db/migrations holds the framework: a bare `class Migration:` and a
    # migration template in a string, but no migration files.
    write_tree(
        tmp_path,
        {
            "django/db/migrations/__init__.py": "from .migration import Migration\n",
            "django/db/migrations/migration.py": "class Migration:\n    operations = []\n",
            "django/db/migrations/writer.py": (
                'TEMPLATE = """\\\nfrom django.db import migrations\n\n'
                'class Migration(migrations.Migration):\n    operations = []\n"""\n'
            ),
            "shop/migrations/0001_initial.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n    operations = []\n"
            ),
        },
    )
    assert [app.label for app in load(tmp_path).apps] == ["shop"]
