"""Where MIG401 reports drift: on the app's last migration when the models are as they were
before it (makemigrations would undo that migration), else on the models."""

from __future__ import annotations

import json
import textwrap
from importlib.metadata import version
from pathlib import Path

from tests.django_oracle import run_django
from tests.helpers import MIGRATION_HEADER, run_cli, write_tree
from tests.missing_migration_cases import CHECK_SCRIPT, MAKE_SCRIPT, _apps_with_changes

BOOK = """\
from django.db import models


class Book(models.Model):
    title = models.CharField(max_length=50)
"""

INITIAL = (
    MIGRATION_HEADER
    + """class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Book",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(max_length=50)),
            ],
        ),
    ]
"""
)

# Written by hand: the field was never added to models.py.
ADD_ISBN = (
    MIGRATION_HEADER
    + """class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]
    operations = [
        migrations.AddField("book", "isbn", models.CharField(max_length=13, default="")),
    ]
"""
)

LEAF = "library/migrations/0002_book_isbn.py"


def mig401(root: Path, *args: str) -> list[dict[str, object]]:
    result = run_cli("--format", "json", "--select", "MIG401", *args, cwd=root)
    assert result.returncode in (0, 1), result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def django_changes(root: Path) -> dict[str, str]:
    code, output = run_django(root, CHECK_SCRIPT.format(sample=[]))["*"]
    assert code in (0, 1), output
    return _apps_with_changes(output)


def library(root: Path, models: str = BOOK, **more: str) -> Path:
    return write_tree(
        root,
        {
            "requirements.txt": f"Django=={version('django')}\n",
            "library/__init__.py": "",
            "library/models.py": models,
            "library/migrations/0001_initial.py": INITIAL,
            LEAF: ADD_ISBN,
            **more,
        },
    )


def test_a_migration_the_models_do_not_follow_is_reported_on_that_migration(
    tmp_path: Path,
) -> None:
    library(tmp_path)
    assert "Remove field isbn from book" in django_changes(tmp_path)["library"]
    (row,) = mig401(tmp_path, ".")
    assert row["path"] == LEAF
    assert row["migration"] == "0002_book_isbn"
    assert row["line"] == 4  # the Migration class
    message, fix = str(row["message"]), str(row["fix"])
    assert "its models match the state before this migration" in message
    assert "Remove field isbn from book" in message
    assert "do not run makemigrations" in fix and "Run `python manage.py" not in fix
    # The same finding when only that migration is named (pre-commit passes staged files).
    assert mig401(tmp_path, LEAF) == [row]


def test_a_model_change_reverted_after_its_migration_is_reported_on_the_migration(
    tmp_path: Path,
) -> None:
    write_tree(
        tmp_path,
        {
            "requirements.txt": f"Django=={version('django')}\n",
            "library/__init__.py": "",
            "library/migrations/__init__.py": "",
            "library/models.py": BOOK,
        },
    )
    run_django(tmp_path, MAKE_SCRIPT.format(labels=["library"]))
    (tmp_path / "library/models.py").write_text(BOOK.replace("max_length=50", "max_length=80"))
    run_django(tmp_path, MAKE_SCRIPT.format(labels=["library"]))
    (leaf,) = (tmp_path / "library/migrations").glob("0002_*.py")
    (tmp_path / "library/models.py").write_text(BOOK)
    assert "Alter field title on book" in django_changes(tmp_path)["library"]
    (row,) = mig401(tmp_path, ".")
    assert row["path"] == f"library/migrations/{leaf.name}"
    assert "Alter field title on book" in str(row["message"])
    assert mig401(tmp_path, f"library/migrations/{leaf.name}") == [row]


def test_models_that_changed_besides_stay_the_models_finding(tmp_path: Path) -> None:
    # Not only the last migration is missing from the models: makemigrations is the fix.
    library(tmp_path, BOOK.replace("max_length=50", "max_length=60"))
    (row,) = mig401(tmp_path, ".")
    assert row["path"] == "library/models.py"
    assert "Alter field title on book" in str(row["message"])
    assert "Remove field isbn from book" in str(row["message"])
    assert "makemigrations library" in str(row["fix"])


def test_an_unmigrated_model_change_stays_on_the_models(tmp_path: Path) -> None:
    library(tmp_path, BOOK + '    isbn = models.CharField(max_length=13, default="")\n')
    assert mig401(tmp_path, ".") == []
    (tmp_path / "library/models.py").write_text(
        BOOK + '    isbn = models.CharField(max_length=20, default="")\n'
    )
    (row,) = mig401(tmp_path, ".")
    assert row["path"] == "library/models.py"
    assert "makemigrations library" in str(row["fix"])


def test_two_leaves_leave_the_finding_on_the_models(tmp_path: Path) -> None:
    other = MIGRATION_HEADER + textwrap.dedent(
        """\
        class Migration(migrations.Migration):
            dependencies = [("library", "0001_initial")]
            operations = []
        """
    )
    library(tmp_path, **{"library/migrations/0002_other.py": other})
    (row,) = mig401(tmp_path, ".")
    assert row["path"] == "library/models.py"


def test_what_cannot_be_compared_before_the_migration_leaves_it_on_the_models(
    tmp_path: Path,
) -> None:
    """Before the last migration the field held a value miglint cannot evaluate: whether
    the models match that state is not known, so the finding stays where it was."""
    computed = INITIAL.replace(
        "models.CharField(max_length=50)", "models.CharField(max_length=50, default=pick())"
    ).replace("class Migration", "def pick():\n    return 'x'\n\n\nclass Migration")
    resets = (
        MIGRATION_HEADER
        + """class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]
    operations = [
        migrations.AlterField("book", "title", models.CharField(max_length=50, default="y")),
    ]
"""
    )
    write_tree(
        tmp_path,
        {
            "library/__init__.py": "",
            "library/models.py": BOOK.replace("max_length=50", "max_length=50, default='x'"),
            "library/migrations/0001_initial.py": computed,
            "library/migrations/0002_default.py": resets,
        },
    )
    (row,) = mig401(tmp_path, ".")
    assert row["path"] == "library/models.py"
    assert "Alter field title on book" in str(row["message"])
