"""Shapes of real trees that once fooled miglint."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from miglint.core.finding import Severity
from miglint.run.lint import lint
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


# Released Django packages from PyPI: their migrations load in Django, so miglint must
# find no broken graph in them. Pinned, so that the expectations stay true.
RELEASED = [
    "Django==5.2.8",
    "wagtail==8.0.1",
    "django-oscar==4.2.1",
    "django-allauth==65.22.1",
    "django-cms==5.1.3",
    "django-filer==3.6.0",
    "django-taggit==6.1.0",
    "django-guardian==3.5.2",
    "django-celery-beat==2.9.0",
    "django-otp==1.7.5",
    "django-axes==8.3.1",
    "django-silk==5.6.0",
    "django-constance==4.4.0",
    "django-reversion==6.4.0",
    "django-waffle==5.0.0",
    "djangorestframework==3.18.3",
]


@pytest.fixture(scope="module")
def released_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheels of RELEASED, unpacked side by side (one folder per package)."""
    root = tmp_path_factory.mktemp("released")
    wheels = root / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--only-binary",
            ":all:",
            "-d",
            str(wheels),
            *RELEASED,
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    tree = root / "tree"
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(tree / wheel.name.split("-")[0].lower())
    return tree


def test_released_packages_have_no_graph_errors_and_no_missing_migrations(
    released_packages: Path,
) -> None:
    project = load(released_packages)
    labels = {app.label for app in project.apps}
    assert {"auth", "contenttypes", "wagtailcore", "order", "account", "cms"} <= labels
    assert len(project.migrations) > 600
    findings = lint(project)
    graph_errors = [
        f"{f.path}:{f.line}: {f.code} {f.message}"
        for f in findings
        if f.code in {"MIG001", "MIG002", "MIG003", "MIG004", "MIG401"}
        or (f.code == "MIG000" and f.severity is Severity.ERROR)
    ]
    assert graph_errors == []


def test_a_field_class_computed_in_the_migration_is_not_compared(tmp_path: Path) -> None:
    # django-oscar builds its primary keys from settings.DEFAULT_AUTO_FIELD at import time.
    write_tree(
        tmp_path,
        {
            "shop/models.py": (
                "from django.db import models\n\n\n"
                "class Item(models.Model):\n    name = models.CharField(max_length=10)\n"
            ),
            "shop/migrations/0001_initial.py": (
                "from django.conf import settings\n"
                "from django.db import migrations, models\n"
                "from django.utils.module_loading import import_string\n\n"
                "models_AutoField = import_string(settings.DEFAULT_AUTO_FIELD)\n\n\n"
                "class Migration(migrations.Migration):\n"
                "    initial = True\n"
                "    operations = [\n"
                "        migrations.CreateModel(\n"
                '            name="Item",\n'
                "            fields=[\n"
                '                ("id", models_AutoField(auto_created=True, primary_key=True, '
                'serialize=False, verbose_name="ID")),\n'
                '                ("name", models.CharField(max_length=10)),\n'
                "            ],\n"
                "        ),\n"
                "    ]\n"
            ),
        },
    )
    assert [f.message for f in lint(load(tmp_path)) if f.code == "MIG401"] == []
