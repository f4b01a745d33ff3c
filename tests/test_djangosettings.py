"""Settings modules read as text: MIGRATION_MODULES and the default database's ENGINE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from miglint.project.config import Config
from miglint.project.djangosettings import backend_of, is_settings_module, read_settings
from miglint.project.load import load_project
from tests.helpers import migration, run_cli, write_tree

DROP = '        migrations.RemoveField(model_name="finding", name="legacy"),'


def settings(tmp_path: Path, text: str) -> str:
    path = tmp_path / "settings.py"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_migration_modules_inside_an_if_and_a_settings_class(tmp_path: Path) -> None:
    path = settings(
        tmp_path,
        "import os\n"
        "if os.environ.get('TRACK'):\n"
        "    MIGRATION_MODULES = {'dojo': 'dojo.db_migrations', 'auth': None}\n"
        "class Base:\n"
        "    MIGRATION_MODULES = {'blog': 'store.blog_migrations'}\n"
        "MIGRATION_MODULES['wiki'] = 'wiki.old_migrations'\n"
        "MIGRATION_MODULES = dict(computed=make())\n"
        "def later():\n"
        "    MIGRATION_MODULES = {'inside': 'a.function'}\n",
    )
    found = {(m.label, m.module) for m in read_settings([path]).migration_modules}
    assert found == {
        ("dojo", "dojo.db_migrations"),
        ("auth", None),
        ("blog", "store.blog_migrations"),
        ("wiki", "wiki.old_migrations"),
    }


@pytest.mark.parametrize(
    ("text", "database"),
    [
        (
            "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': env()}}",
            "postgresql",
        ),
        (
            "DATABASES = {'default': {'ENGINE': 'django.contrib.gis.db.backends.postgis'}}",
            "postgresql",
        ),
        ("DATABASES = {'default': {'ENGINE': 'django.db.backends.mysql'}}", "mysql"),
        ("DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3'}}", "sqlite"),
        ("DATABASES = {'default': {'ENGINE': 'django.db.backends.oracle'}}", "oracle"),
        ("DATABASES = {}\nDATABASES['default'] = {'ENGINE': 'django.db.backends.mysql'}", None),
        ("DATABASES = {'default': {}}\nDATABASES['default']['ENGINE'] = 'x.mysql'", None),
        ("DATABASES = {'default': dj_database_url.config()}", None),
        ("DATABASES = {'default': {'ENGINE': os.environ['DB_ENGINE']}}", None),
        ("DATABASES = {'default': {'ENGINE': 'django_cockroachdb'}}", None),
        (
            "if X:\n    DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3'}}\n"
            "else:\n    DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql'}}",
            None,
        ),
        ("DATABASES = {'other': {'ENGINE': 'django.db.backends.mysql'}}", None),
        ("DEBUG = True", None),
    ],
)
def test_the_default_database_only_when_certain(
    tmp_path: Path, text: str, database: str | None
) -> None:
    assert read_settings([settings(tmp_path, text + "\n")]).database == database


def test_literal_subscript_assignment_of_the_engine(tmp_path: Path) -> None:
    text = "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3'}}\n"
    text += "DATABASES['default']['ENGINE'] = 'django.db.backends.sqlite3'\n"
    assert read_settings([settings(tmp_path, text)]).database == "sqlite"


def test_which_files_are_settings_modules() -> None:
    assert is_settings_module("project", "settings.py")
    assert is_settings_module("settings", "production.py")
    assert is_settings_module("settings", "settings.dist.py")
    assert not is_settings_module("settings", "test.py")
    assert not is_settings_module("project", "test_settings.py")
    assert not is_settings_module("project", "settings.example.py")
    assert not is_settings_module("project", "views.py")
    assert backend_of("django_prometheus.db.backends.postgresql") == "postgresql"


def test_broken_or_hostile_settings_are_skipped(tmp_path: Path) -> None:
    broken = settings(tmp_path, "MIGRATION_MODULES = {\n")
    deep = tmp_path / "deep_settings.py"
    deep.write_text("DATABASES = " + "[" * 5000 + "]" * 5000 + "\n")
    assert read_settings([broken, str(deep)]).migration_modules == ()


DOJO = {
    "dojo/__init__.py": "",
    "dojo/models.py": "from django.db import models\n",
    "dojo/settings/settings.dist.py": (
        "if env('TRACK'):\n    MIGRATION_MODULES = {'dojo': 'dojo.db_migrations'}\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql'}}\n"
    ),
    "dojo/db_migrations/__init__.py": "",
    "dojo/db_migrations/0001_initial.py": migration(),
    "dojo/db_migrations/0002_drop.py": migration(
        dependencies='("dojo", "0001_initial")', operations=DROP
    ),
    # Test settings turn migrations off for speed: never a reason to skip them.
    "dojo/settings/unittests.py": "MIGRATION_MODULES = {'dojo': None}\n",
}


def test_migrations_kept_in_another_module_are_linted(tmp_path: Path) -> None:
    write_tree(tmp_path, DOJO)
    project = load_project([str(tmp_path)], Config(root=str(tmp_path)))
    assert [(app.label, Path(app.migrations_path).name) for app in project.apps] == [
        ("dojo", "db_migrations")
    ]
    assert project.apps[0].models_paths == (str(tmp_path / "dojo" / "models.py"),)
    assert project.config.database == "postgresql"
    result = run_cli(".", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    assert {row["code"] for row in json.loads(result.stdout)} >= {"MIG101"}


def test_the_config_names_the_module_and_wins_over_settings(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            **DOJO,
            "dojo/settings/settings.dist.py": "",
            "dojo/migrations/0001_initial.py": migration(),
            "pyproject.toml": "[tool.miglint]\nmigration-modules = { dojo = 'dojo.db_migrations' }\n",
        },
    )
    result = run_cli(".", "--format", "json", cwd=tmp_path)
    paths = {row["path"] for row in json.loads(result.stdout)}
    assert paths == {"dojo/db_migrations/0002_drop.py"}
    assert "dojo/migrations" in result.stderr  # says which package it did not read


def test_a_config_module_that_is_not_in_the_tree_is_said(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": migration(),
            "pyproject.toml": "[tool.miglint]\nmigration-modules = { shop = 'shop.nowhere' }\n",
        },
    )
    result = run_cli(".", cwd=tmp_path)
    assert result.returncode == 0 and "shop.nowhere" in result.stderr


def test_models_without_migrations_are_said_in_one_line(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {"dojo/models.py": "from django.db import models\n", "dojo/__init__.py": ""}
    )
    result = run_cli(".", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.count("\n") == 1
    assert "dojo" in result.stdout and "migration-modules" in result.stdout


@pytest.mark.parametrize(
    ("text", "timeouts", "unknown"),
    [
        (
            "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql',\n"
            "    'OPTIONS': {'options': '-c lock_timeout=5s -c statement_timeout=60s'}}}",
            ["5s"],
            False,
        ),
        (
            "DATABASES = {'default': {'OPTIONS': {'options': '--lock_timeout=3000'}}}",
            ["3000"],
            False,
        ),
        # Any database of the project, and the assignment forms settings modules use.
        ("DATABASES = {'replica': {'OPTIONS': {'options': '-c lock_timeout=2s'}}}", ["2s"], False),
        (
            "DATABASES = {'default': env.db()}\n"
            "DATABASES['default']['OPTIONS'] = {'options': '-clock_timeout=4s'}",
            ["4s"],
            False,
        ),
        ("DATABASES['default']['OPTIONS']['options'] = '-c lock_timeout=1s'", ["1s"], False),
        (
            "DATABASES['default']['OPTIONS']['options'] = f'-c lock_timeout={T}'",
            ["(computed)"],
            False,
        ),
        # A lock_timeout of 0 is no timeout; other options are not one either.
        ("DATABASES = {'default': {'OPTIONS': {'options': '-c lock_timeout=0'}}}", [], False),
        ("DATABASES = {'default': {'OPTIONS': {'options': '-c statement_timeout=5s'}}}", [], False),
        ("DATABASES = {'default': {'OPTIONS': {'sslmode': 'require'}}}", [], False),
        ("DATABASES = {'default': dj_database_url.config()}", [], False),
        # Options miglint cannot read.
        ("DATABASES = {'default': {'OPTIONS': {'options': env('PG_OPTIONS')}}}", [], True),
        # django-pg-zero-downtime-migrations sets it on every migration.
        ("ZERO_DOWNTIME_MIGRATIONS_LOCK_TIMEOUT = '2s'", ["2s"], False),
        ("ZERO_DOWNTIME_MIGRATIONS_LOCK_TIMEOUT = '0'", [], False),
        (
            "def configure():\n    DATABASES = {'x': {'OPTIONS': {'options': '-c lock_timeout=1s'}}}",
            [],
            False,
        ),
    ],
)
def test_lock_timeout_in_the_connection_options(
    tmp_path: Path, text: str, timeouts: list[str], unknown: bool
) -> None:
    found = read_settings([settings(tmp_path, text + "\n")])
    assert [timeout.value for timeout in found.lock_timeouts] == timeouts
    assert bool(found.unknown_options) is unknown


def test_default_auto_field_with_its_line(tmp_path: Path) -> None:
    path = settings(tmp_path, "DEBUG = False\nDEFAULT_AUTO_FIELD = 'django.db.models.AutoField'\n")
    (auto_field,) = read_settings([path]).default_auto_fields
    assert (auto_field.value, auto_field.settings_path, auto_field.line) == (
        "django.db.models.AutoField",
        path,
        2,
    )


def test_an_app_configs_default_auto_field(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "wiki/apps.py": (
                "from django.apps import AppConfig\n\n\n"
                "class WikiConfig(AppConfig):\n"
                "    name = 'kb.wiki'\n"
                "    default_auto_field = 'django.db.models.AutoField'\n"
            ),
            "wiki/migrations/0001_initial.py": migration(),
            "blog/migrations/0001_initial.py": migration(),
        },
    )
    project = load_project([str(tmp_path)], Config(root=str(tmp_path)))
    assert {app.label: app.default_auto_field for app in project.apps} == {
        "blog": None,
        "wiki": ("django.db.models.AutoField", 6),
    }
