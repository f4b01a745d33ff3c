"""`--diff BASE` and the files of a change: what is reported, and where."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.helpers import MIGRATION_HEADER, run_cli, write_tree

MODELS = """\
from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=10)
    sku = models.CharField(max_length=10)
"""

INITIAL = (
    MIGRATION_HEADER
    + """class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=10)),
                ("sku", models.CharField(max_length=10)),
            ],
        ),
    ]
"""
)

REMOVE_SKU = (
    MIGRATION_HEADER
    + """class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RemoveField(model_name="product", name="sku")]
"""
)

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]


def committed(root: Path, files: dict[str, str]) -> Path:
    write_tree(root, {"shop/__init__.py": "", "billing/__init__.py": "", **files})
    subprocess.run([*GIT, "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "base"], cwd=root, check=True)
    return root


def mig401(root: Path, *args: str) -> list[dict[str, object]]:
    result = run_cli("--format", "json", "--select", "MIG401", *args, cwd=root)
    assert result.returncode in (0, 1), result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


BASE_TREE = {"shop/models.py": MODELS, "shop/migrations/0001_initial.py": INITIAL}


def test_a_migration_that_leaves_the_models_behind_is_reported_on_the_migration(
    tmp_path: Path,
) -> None:
    root = committed(tmp_path, BASE_TREE)
    write_tree(root, {"shop/migrations/0002_remove_sku.py": REMOVE_SKU})
    (row,) = mig401(root, "--diff", "HEAD", ".")
    assert row["path"] == "shop/migrations/0002_remove_sku.py"
    assert row["migration"] == "0002_remove_sku"
    assert "its models match the state before this migration" in str(row["message"])
    assert "Add field sku to product" in str(row["message"])
    fix = str(row["fix"])
    assert "makemigrations" in fix and "do not run" in fix
    # The models are as before that last migration: without --diff, the same finding.
    assert mig401(root, ".") == [row]


def test_a_change_that_edits_only_an_older_migration_is_reported_on_it(
    tmp_path: Path,
) -> None:
    adds = (
        MIGRATION_HEADER
        + """class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("product", "price", models.IntegerField(default=0))]
"""
    )
    models = MODELS + "    price = models.IntegerField(default=0)\n"
    root = committed(
        tmp_path,
        {**BASE_TREE, "shop/models.py": models, "shop/migrations/0002_price.py": adds},
    )
    initial = root / "shop" / "migrations" / "0001_initial.py"
    name = '("name", models.CharField(max_length=10))'
    initial.write_text(initial.read_text().replace(name, name.replace("10", "12")))
    (row,) = mig401(root, "--diff", "HEAD", ".")
    assert row["path"] == "shop/migrations/0001_initial.py"
    assert "edits its migrations but not its models" in str(row["message"])
    assert "Alter field name on product" in str(row["message"])
    # Without --diff the models are not those before the last migration: makemigrations.
    (plain,) = mig401(root, ".")
    assert plain["path"] == "shop/models.py" and "Run `python manage.py" in str(plain["fix"])


def test_the_staged_migration_alone_gives_the_same_finding(tmp_path: Path) -> None:
    # pre-commit passes the staged files only.
    write_tree(tmp_path, {**BASE_TREE, "shop/migrations/0002_remove_sku.py": REMOVE_SKU})
    (row,) = mig401(tmp_path, "shop/migrations/0002_remove_sku.py")
    assert row["path"] == "shop/migrations/0002_remove_sku.py"


def test_a_models_change_is_reported_on_the_models_with_the_makemigrations_hint(
    tmp_path: Path,
) -> None:
    root = committed(tmp_path, BASE_TREE)
    (root / "shop" / "models.py").write_text(
        MODELS.replace("max_length=10)\n    sku", "max_length=20)\n    sku")
    )
    (row,) = mig401(root, "--diff", "HEAD", ".")
    assert row["path"] == "shop/models.py"
    assert "Alter field name on product" in str(row["message"])
    assert "makemigrations shop" in str(row["fix"])


def test_drift_of_an_app_the_change_does_not_touch_is_left_out(tmp_path: Path) -> None:
    root = committed(
        tmp_path,
        {**BASE_TREE, "shop/migrations/0002_remove_sku.py": REMOVE_SKU},
    )
    write_tree(
        root,
        {
            "billing/migrations/0001_initial.py": MIGRATION_HEADER
            + "class Migration(migrations.Migration):\n    operations = []\n"
        },
    )
    assert mig401(root, "--diff", "HEAD", ".") == []
    assert len(mig401(root, ".")) == 1


def test_deleting_the_migration_that_made_a_field_is_reported(tmp_path: Path) -> None:
    adds = (
        MIGRATION_HEADER
        + """class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("product", "price", models.IntegerField(default=0))]
"""
    )
    models = MODELS + "    price = models.IntegerField(default=0)\n"
    root = committed(
        tmp_path,
        {**BASE_TREE, "shop/models.py": models, "shop/migrations/0002_price.py": adds},
    )
    (root / "shop" / "migrations" / "0002_price.py").unlink()
    (row,) = mig401(root, "--diff", "HEAD", ".")
    assert row["path"] == "shop/migrations/0001_initial.py"
    assert "Add field price to product" in str(row["message"])
