"""The project's Django version, read from requirement and lock files (nothing is run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from miglint.project.config import ConfigError, load_config
from miglint.project.django_version import (
    detect_django_version,
    lowest_allowed,
    requirement_version,
)
from tests.helpers import load, migration, write_tree

APP = {"shop/migrations/0001_initial.py": migration(), "shop/models.py": ""}


@pytest.mark.parametrize(
    ("specifier", "expected"),
    [
        ("==4.2.7", (4, 2)),
        ("==4.2.*", (4, 2)),
        (">=4.2,<5.0", (4, 2)),
        ("<5.0,>=3.2.19", (3, 2)),
        ("~=4.2.3", (4, 2)),
        (">3.1", (3, 1)),
        ("^4.1", (4, 1)),
        ("~5.0", (5, 0)),
        ("4.2", (4, 2)),
        ("(>=5.2.15,<5.3)", (5, 2)),
        (">= 6.0.2, < 6.1", (6, 0)),
        (">=3.2,<4 || >=4.2", (3, 2)),
        ("<5", None),
        ("*", None),
        ("", None),
        ("!=4.0", None),
    ],
)
def test_a_range_gives_the_lowest_version_it_allows(
    specifier: str, expected: tuple[int, int] | None
) -> None:
    assert lowest_allowed(specifier) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Django==3.2.25", (3, 2)),
        ("django[argon2,bcrypt]>=5.1  # security releases", (5, 1)),
        ("Django==4.2.16; python_version >= '3.10'", (4, 2)),
        ("django==4.2.16 --hash=sha256:0123abcd", (4, 2)),
        ("django-filter==24.3", None),
        ("djangorestframework==3.15", None),
        ("django @ https://example.com/django-5.0.tar.gz", None),
        ("-r base.txt", None),
        ("Django", None),
    ],
)
def test_requirement_lines(line: str, expected: tuple[int, int] | None) -> None:
    assert requirement_version(line) == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"requirements.txt": "celery==5.3\nDjango==4.1.13\n"}, (4, 1)),
        (
            {
                "requirements.txt": "Django==4.2.1 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n"
            },
            (4, 2),
        ),
        ({"requirements/base.txt": "django>=3.2,<4.0\n"}, (3, 2)),
        ({"requirements/prod.in": "django~=5.0.1\n"}, (5, 0)),
        ({"MANIFEST.in": "include django==9.9\n"}, None),
        ({"pyproject.toml": '[project]\nname = "x"\ndependencies = ["Django>=4.2,<5"]\n'}, (4, 2)),
        (
            {
                "pyproject.toml": '[project]\nname = "x"\ndependencies = []\n'
                '[project.optional-dependencies]\nweb = ["django~=5.1.0"]\n'
            },
            (5, 1),
        ),
        (
            {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\nDjango = "^4.2"\n'},
            (4, 2),
        ),
        (
            {
                "pyproject.toml": "[tool.poetry.dependencies]\n"
                'django = { version = "~3.2", extras = ["argon2"] }\n'
            },
            (3, 2),
        ),
        (
            {
                "pyproject.toml": '[tool.uv]\nexclude-newer-package = { django = "2026-01-01" }\n',
                "setup.cfg": "[options]\ninstall_requires =\n    requests\n    Django>=3.1\n",
            },
            (3, 1),
        ),
        (
            {
                "setup.py": 'from setuptools import setup\nsetup(install_requires=["Django>=2.2,<3"])\n'
            },
            (2, 2),
        ),
        ({"setup.py": 'REQS = """\ndjango==3.2.14\nPillow==9.2\n"""\n'}, (3, 2)),
        ({"setup.py": 'setup(keywords=["django"], classifiers=["Framework :: Django"])\n'}, None),
        ({"Pipfile": '[packages]\ndjango = "==4.0.10"\n'}, (4, 0)),
        ({"Pipfile": '[packages]\nDjango = "*"\n'}, None),
        (
            {
                "Pipfile": '[packages]\nDjango = "*"\n',
                "Pipfile.lock": '{"default": {"django": {"version": "==5.0.4"}}, "develop": {}}',
            },
            (5, 0),
        ),
        (
            {
                "pyproject.toml": '[project]\nname = "x"\ndependencies = ["django<4.3"]\n',
                "uv.lock": 'version = 1\n\n[[package]]\nname = "django"\nversion = "4.2.17"\n'
                'source = { registry = "https://pypi.org/simple" }\n',
            },
            (4, 2),
        ),
        (
            {
                "requirements.txt": "Django>=3.0\n",
                "poetry.lock": '[[package]]\nname = "django-filter"\nversion = "9.1"\n\n'
                '[[package]]\nname = "Django"\nversion = "3.2.12"\n',
            },
            (3, 2),
        ),
        ({"setup.py": "setup(install_requires=[" + "(" * 5000}, None),
        ({"pyproject.toml": "[project\nnot toml"}, None),
        ({"Pipfile.lock": "{not json"}, None),
    ],
)
def test_files_at_the_root(
    tmp_path: Path, files: dict[str, str], expected: tuple[int, int] | None
) -> None:
    write_tree(tmp_path, files)
    assert detect_django_version([str(tmp_path)]) == expected


def test_the_nearest_folder_that_names_django_answers(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write_tree(
        tmp_path,
        {
            "requirements.txt": "Django==3.2\n",
            "backend/requirements.txt": "Django==5.1.2\n",
            "backend/docs/readme.txt": "",
        },
    )
    assert detect_django_version([str(tmp_path / "backend")]) == (5, 1)
    assert detect_django_version([str(tmp_path / "backend" / "docs")]) == (5, 1)
    assert detect_django_version([str(tmp_path)]) == (3, 2)


def test_the_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    write_tree(tmp_path, {"requirements.txt": "Django==3.2\n", "repo/app/models.py": ""})
    (tmp_path / "repo" / ".git").mkdir()
    assert detect_django_version([str(tmp_path / "repo" / "app")]) is None


def test_a_backend_below_the_root_is_read_when_the_root_says_nothing(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            **{f"apps/api/{path}": text for path, text in APP.items()},
            "apps/api/requirements/base.txt": "Django==4.2.30\n",
            "apps/web/package.json": "{}",
        },
    )
    project = load(tmp_path)
    assert project.django_version == (4, 2)


def test_two_backends_that_disagree_leave_the_version_unknown(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            **{f"one/{path}": text for path, text in APP.items()},
            **{f"two/{path}": text for path, text in APP.items()},
            "one/requirements.txt": "Django==4.2\n",
            "two/requirements.txt": "Django==5.2\n",
        },
    )
    assert load(tmp_path).django_version is None


def test_the_config_key_overrides_the_files(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            **APP,
            "requirements.txt": "Django==5.2\n",
            "pyproject.toml": '[tool.miglint]\ndjango-version = "4.2"\n',
        },
    )
    assert load(tmp_path).django_version == (4, 2)
    (tmp_path / "pyproject.toml").unlink()
    assert load(tmp_path).django_version == (5, 2)


@pytest.mark.parametrize("value", ['"four"', "4.2", '"4"', '">=4.2"'])
def test_a_bad_config_version_is_a_config_error(tmp_path: Path, value: str) -> None:
    path = tmp_path / "miglint.toml"
    path.write_text(f"django-version = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="django-version"):
        load_config(str(path), {"MIG401"})
