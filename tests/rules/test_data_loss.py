"""MIG101 remove-field, MIG102 delete-model, MIG103 lossy-alter-field: migration text in,
findings out."""

from __future__ import annotations

from pathlib import Path

import pytest

from miglint.core.finding import Finding, Severity
from miglint.project.config import Config
from miglint.project.load import load_project
from miglint.run.lint import lint
from tests.helpers import lint_tree, migration, write_tree

INITIAL = "shop/migrations/0001_initial.py"
SECOND = "shop/migrations/0002_change.py"
AFTER_INITIAL = '("shop", "0001_initial")'


def run(tmp_path: Path, files: dict[str, str], code: str, **config: object) -> list[Finding]:
    write_tree(tmp_path, files)
    settings = Config(root=str(tmp_path), **config)  # type: ignore[arg-type]
    findings = lint_tree(tmp_path, "MIG000", code, config=settings)
    assert not [f for f in findings if f.code == "MIG000"], "the example must parse"
    return findings


def where(findings: list[Finding]) -> list[tuple[str, int, int, int, int]]:
    return [(Path(f.path).name, f.line, f.column, f.end_line, f.end_column) for f in findings]


def create_product(*fields: str, options: str = "") -> str:
    """An initial migration creating Product with the given `("name", field)` lines."""
    lines = "".join(f"                {field},\n" for field in fields)
    extra = f"            options={options},\n" if options else ""
    return migration(
        operations=(
            "        migrations.CreateModel(\n"
            '            name="Product",\n'
            "            fields=[\n"
            '                ("id", models.BigAutoField(primary_key=True, serialize=False)),\n'
            f"{lines}"
            "            ],\n"
            f"{extra}"
            "        ),"
        )
    )


# MIG101 remove-field


def test_remove_field_points_at_the_operation_and_says_what_is_lost(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product('("sku", models.CharField(max_length=32))'),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=(
                "        migrations.RemoveField(\n"
                '            model_name="product",\n'
                '            name="sku",\n'
                "        ),"
            ),
        ),
    }
    findings = run(tmp_path, files, "MIG101")
    assert where(findings) == [("0002_change.py", 7, 9, 10, 10)]
    finding = findings[0]
    assert finding.severity is Severity.ERROR
    assert finding.rule == "remove-field"
    assert finding.migration == "0002_change" and finding.app == "shop"
    assert "drops the column of shop.Product.sku and every value in it" in finding.message
    assert "rolling back re-creates it empty" in finding.message
    # NOT NULL with no default: the release without the field cannot insert rows either.
    assert "NOT NULL with no database default" in finding.message
    assert finding.fix is not None and "nullable" in finding.fix and len(finding.fix) < 200


def test_remove_field_imported_by_name_with_positional_arguments(tmp_path: Path) -> None:
    source = (
        "from django.db.migrations import Migration as Base, RemoveField\n\n\n"
        "class Migration(Base):\n"
        '    operations = [RemoveField("product", "sku"), RemoveField("order", name="note")]\n'
    )
    findings = run(tmp_path, {INITIAL: source}, "MIG101")
    assert where(findings) == [
        ("0001_initial.py", 5, 19, 5, 48),
        ("0001_initial.py", 5, 50, 5, 83),
    ]
    assert "shop.product.sku" in findings[0].message
    assert "shop.order.note" in findings[1].message


def test_remove_field_in_operations_built_with_plus(tmp_path: Path) -> None:
    source = (
        "from django.db import migrations\n\n"
        'DROP = [migrations.RemoveField("product", "sku")]\n\n\n'
        "class Migration(migrations.Migration):\n"
        '    operations = [migrations.DeleteModel("Cart")] + DROP\n'
    )
    assert where(run(tmp_path, {INITIAL: source}, "MIG101")) == [("0001_initial.py", 3, 9, 3, 49)]


def test_state_operations_never_lose_data(tmp_path: Path) -> None:
    operations = (
        "        migrations.SeparateDatabaseAndState(\n"
        '            state_operations=[migrations.RemoveField("product", "sku")],\n'
        "            database_operations=[\n"
        '                migrations.RunSQL("SELECT 1", migrations.RunSQL.noop),\n'
        "            ],\n"
        "        ),\n"
        "        migrations.RunSQL(\n"
        '            "SELECT 1", migrations.RunSQL.noop,\n'
        '            state_operations=[migrations.RemoveField("product", "name")],\n'
        "        ),"
    )
    assert run(tmp_path, {INITIAL: migration(operations=operations)}, "MIG101") == []


def test_database_operations_of_separate_database_and_state_do(tmp_path: Path) -> None:
    operations = (
        "        migrations.SeparateDatabaseAndState(\n"
        "            [migrations.RemoveField('product', 'sku')],\n"
        "            [migrations.RemoveField('product', 'sku')],\n"
        "        ),"
    )
    findings = run(tmp_path, {INITIAL: migration(operations=operations)}, "MIG101")
    assert where(findings) == [("0001_initial.py", 8, 14, 8, 54)]


@pytest.mark.parametrize(
    "options",
    ['{"managed": False}', '{"proxy": True}', '{"managed": False, "db_table": "erp_product"}'],
)
def test_models_without_a_table_lose_nothing(tmp_path: Path, options: str) -> None:
    files = {
        INITIAL: create_product('("sku", models.CharField(max_length=32))', options=options),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=(
                '        migrations.RemoveField("product", "sku"),\n'
                '        migrations.DeleteModel("Product"),'
            ),
        ),
    }
    assert run(tmp_path, files, "MIG101") == []
    assert run(tmp_path, files, "MIG102") == []


def test_a_model_made_managed_again_has_a_table(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product(
            '("sku", models.CharField(max_length=32))', options='{"managed": False}'
        ),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            # Django resets `managed` when the new options leave it out.
            operations=(
                '        migrations.AlterModelOptions(name="product", options={}),\n'
                '        migrations.RemoveField("product", "sku"),'
            ),
        ),
    }
    assert where(run(tmp_path, files, "MIG101")) == [("0002_change.py", 8, 9, 8, 49)]


def test_many_to_many_fields(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product(
            '("tags", models.ManyToManyField(to="shop.tag"))',
            '("suppliers", models.ManyToManyField(through="shop.Supply", to="shop.supplier"))',
        ),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=(
                '        migrations.RemoveField("product", "tags"),\n'
                '        migrations.RemoveField("product", "suppliers"),'
            ),
        ),
    }
    findings = run(tmp_path, files, "MIG101")
    # A custom `through` model keeps its table: only the automatic link table is dropped.
    assert where(findings) == [("0002_change.py", 7, 9, 7, 50)]
    assert "drops the link table of the many-to-many field shop.Product.tags" in findings[0].message


def test_a_table_created_in_the_same_migration_has_no_data_to_lose(tmp_path: Path) -> None:
    # A squash replays history on an empty database: the table it creates holds no rows.
    squash = create_product(
        '("sku", models.CharField(max_length=32))', '("name", models.CharField(max_length=99))'
    ).replace(
        "    ]\n",
        '        migrations.RemoveField("product", "sku"),\n'
        '        migrations.AlterField("product", "name", models.CharField(max_length=10)),\n'
        '        migrations.DeleteModel("product"),\n'
        "    ]\n",
    )
    files = {"shop/migrations/0001_squashed_0009.py": squash}
    assert run(tmp_path, files, "MIG101") == []
    assert run(tmp_path, files, "MIG102") == []
    assert run(tmp_path, files, "MIG103") == []


def test_a_table_created_in_the_change_under_review_has_no_data_to_lose(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product('("sku", models.CharField(max_length=32))'),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations='        migrations.RemoveField("product", "sku"),',
        ),
    }
    write_tree(tmp_path, files)
    # Both files are the change (as pre-commit passes the staged files).
    named = [str(tmp_path / INITIAL), str(tmp_path / SECOND)]
    project = load_project(named, Config(root=str(tmp_path)))
    assert [f for f in lint(project) if f.code == "MIG101"] == []
    project = load_project([str(tmp_path / SECOND)], Config(root=str(tmp_path)))
    assert [f.code for f in lint(project) if f.code == "MIG101"] == ["MIG101"]


def test_inline_suppression(tmp_path: Path) -> None:
    operations = (
        "        # miglint: ignore[MIG101]\n"
        '        migrations.RemoveField("product", "sku"),\n'
        '        migrations.RemoveField("product", "name"),  # miglint: ignore[MIG101]\n'
        '        migrations.AlterModelOptions("product", {}),\n'
        '        migrations.RemoveField("product", "price"),'
    )
    findings = run(tmp_path, {INITIAL: migration(operations=operations)}, "MIG101")
    assert [f.line for f in findings] == [11]


# MIG102 delete-model


def test_delete_model(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product(),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations='        migrations.DeleteModel(\n            name="product",\n        ),',
        ),
    }
    findings = run(tmp_path, files, "MIG102")
    assert where(findings) == [("0002_change.py", 7, 9, 9, 10)]
    assert findings[0].severity is Severity.ERROR
    # The model's name as its CreateModel wrote it (Django compares names case-insensitively).
    assert "drops the table of shop.Product and every row in it" in findings[0].message
    assert "rolling back re-creates it empty" in findings[0].message


def test_delete_model_in_state_operations_only(tmp_path: Path) -> None:
    operations = (
        "        migrations.SeparateDatabaseAndState(\n"
        '            state_operations=[migrations.DeleteModel("Cart")],\n'
        "        ),"
    )
    assert run(tmp_path, {INITIAL: migration(operations=operations)}, "MIG102") == []


def test_delete_model_after_rename_follows_the_new_name(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product(options='{"proxy": True}'),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=(
                '        migrations.RenameModel("Product", "Item"),\n'
                '        migrations.DeleteModel("ITEM"),'
            ),
        ),
    }
    assert run(tmp_path, files, "MIG102") == []


# MIG103 lossy-alter-field


def alter(old: str, new: str, tmp_path: Path, **config: object) -> list[Finding]:
    files = {
        INITIAL: create_product(f'("value", {old})'),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=f'        migrations.AlterField("product", "value", {new}),',
        ),
    }
    return run(tmp_path, files, "MIG103", **config)


NARROWING = [
    (
        "models.CharField(max_length=200)",
        "models.CharField(max_length=100)",
        "values longer than 100 characters make the migration fail",
    ),
    ("models.TextField()", "models.CharField(max_length=255)", "values longer than 255"),
    ("models.CharField()", "models.CharField(max_length=255)", "values longer than 255"),
    ("models.CharField(max_length=100)", "models.SlugField()", "values longer than 50"),
    ("models.URLField(max_length=500)", "models.URLField()", "values longer than 200"),
    (
        "models.CharField(max_length=20)",
        "models.IntegerField()",
        "text that is not a number will make the migration fail",
    ),
    ("models.TextField()", "models.DecimalField(max_digits=5, decimal_places=2)", "leading zeros"),
    (
        "models.DecimalField(max_digits=10, decimal_places=2)",
        "models.IntegerField()",
        "the fractional part of every value is rounded away",
    ),
    (
        "models.DecimalField(max_digits=10, decimal_places=2)",
        "models.DecimalField(max_digits=8, decimal_places=2)",
        "values with more than 6 digits before the decimal point make the migration fail",
    ),
    (
        "models.DecimalField(max_digits=10, decimal_places=4)",
        "models.DecimalField(max_digits=10, decimal_places=2)",
        "digits after the 2nd decimal place are rounded away",
    ),
    (
        "models.DecimalField(max_digits=10, decimal_places=2)",
        "models.DecimalField(max_digits=12, decimal_places=6)",
        "more than 6 digits before the decimal point",
    ),
    ("models.FloatField()", "models.IntegerField()", "fractional part"),
    ("models.FloatField()", "models.DecimalField(max_digits=9, decimal_places=2)", "rounded to 2"),
    (
        "models.BigIntegerField()",
        "models.IntegerField()",
        "values outside -2147483648..2147483647 make the migration fail",
    ),
    ("models.IntegerField()", "models.SmallIntegerField()", "outside -32768..32767"),
    ("models.IntegerField()", "models.PositiveIntegerField()", "outside 0..2147483647"),
    ("models.BigIntegerField()", "models.FloatField()", "beyond 2**53"),
    ("models.IntegerField()", "models.DecimalField(max_digits=5, decimal_places=0)", "5 digits"),
    ("models.IntegerField()", "models.CharField(max_length=5)", "numbers longer than 5"),
    ("models.DateTimeField()", "models.DateField()", "the time of day of every value is lost"),
    ("models.DateTimeField()", "models.TimeField()", "the date of every value is lost"),
    (
        "models.CharField(max_length=20, null=True)",
        "models.CharField(max_length=20)",
        "rows that hold NULL make the migration fail",
    ),
    ("models.NullBooleanField()", "models.BooleanField()", "rows that hold NULL"),
    (
        'models.ForeignKey(null=True, on_delete=models.CASCADE, to="shop.tag")',
        'models.ForeignKey(on_delete=models.CASCADE, to="shop.tag")',
        "rows that hold NULL",
    ),
    ("models.IntegerField(null=True)", "models.IntegerField(default=None)", "rows that hold NULL"),
]


@pytest.mark.parametrize(("old", "new", "expected"), NARROWING)
def test_narrowing(tmp_path: Path, old: str, new: str, expected: str) -> None:
    findings = alter(old, new, tmp_path)
    assert where(findings) == [("0002_change.py", 7, 9, 7, 52 + len(new))]
    assert expected in findings[0].message
    assert findings[0].severity is Severity.ERROR


WIDENING = [
    ("models.CharField(max_length=100)", "models.CharField(max_length=200)"),
    ("models.CharField(max_length=100)", "models.TextField()"),
    ("models.CharField(max_length=100)", "models.CharField()"),
    ("models.SlugField()", "models.CharField(max_length=50)"),
    ("models.CharField(max_length=100)", "models.CharField(max_length=100, unique=True)"),
    ("models.IntegerField()", "models.BigIntegerField()"),
    ("models.SmallIntegerField()", "models.IntegerField()"),
    ("models.PositiveIntegerField()", "models.IntegerField()"),
    ("models.AutoField(primary_key=True)", "models.BigAutoField(primary_key=True)"),
    ("models.IntegerField()", "models.FloatField()"),
    ("models.IntegerField()", "models.DecimalField(max_digits=12, decimal_places=2)"),
    ("models.IntegerField()", "models.CharField(max_length=11)"),
    ("models.IntegerField()", "models.TextField()"),
    (
        "models.DecimalField(max_digits=8, decimal_places=2)",
        "models.DecimalField(max_digits=10, decimal_places=2)",
    ),
    ("models.DecimalField(max_digits=8, decimal_places=2)", "models.FloatField()"),
    ("models.DateField()", "models.DateTimeField()"),
    ("models.BooleanField()", "models.IntegerField()"),
    ("models.CharField(max_length=20)", "models.CharField(max_length=20, null=True)"),
    ("models.CharField(max_length=20, null=True)", "models.CharField(max_length=20, default='')"),
    ("models.DateTimeField(null=True)", "models.DateTimeField(db_default=Now())"),
    ("models.IntegerField(null=True)", "models.IntegerField(null=NULLABLE)"),
    ("models.CharField(max_length=LENGTH)", "models.CharField(max_length=10)"),
    ("models.CharField(max_length=200)", "models.CharField(max_length=LENGTH)"),
    ("models.CharField(max_length=200)", "fields.EncryptedCharField(max_length=100)"),
    ("fields.EncryptedCharField(max_length=200)", "models.CharField(max_length=100)"),
    ("models.ManyToManyField(to='shop.tag')", "models.ManyToManyField(to='shop.tag', blank=True)"),
    ("models.CharField(max_length=200)", "models.CharField(*args, max_length=100)"),
]


@pytest.mark.parametrize(("old", "new"), WIDENING)
def test_widening_or_unknown_is_fine(tmp_path: Path, old: str, new: str) -> None:
    assert alter(old, new, tmp_path) == []


def test_positive_integers_are_unsigned_on_mysql(tmp_path: Path) -> None:
    old, new = "models.PositiveIntegerField()", "models.IntegerField()"
    assert alter(old, new, tmp_path / "default") == []
    findings = alter(old, new, tmp_path / "mysql", database="mysql")
    assert "outside -2147483648..2147483647" in findings[0].message


def test_message_names_the_field_both_definitions_and_where_the_old_one_is(
    tmp_path: Path,
) -> None:
    findings = alter(
        "models.CharField(max_length=200)", "models.CharField(max_length=100)", tmp_path
    )
    assert findings[0].message.startswith(
        "AlterField narrows shop.Product.value from CharField(max_length=200) "
        "(in shop.0001_initial) to CharField(max_length=100): "
    )
    null = alter("models.IntegerField(null=True)", "models.IntegerField()", tmp_path / "null")
    assert null[0].message.startswith(
        "AlterField makes shop.Product.value NOT NULL (nullable in shop.0001_initial) with no default"
    )


def test_previous_definition_from_add_field_and_earlier_alter_field(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product(),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=(
                "        migrations.AddField(\n"
                '            model_name="product",\n'
                '            name="sku",\n'
                '            field=models.CharField(default="", max_length=64),\n'
                "            preserve_default=False,\n"
                "        ),"
            ),
        ),
        "shop/migrations/0003_widen.py": migration(
            dependencies='("shop", "0002_change")',
            operations='        migrations.AlterField("product", "sku", models.TextField()),',
        ),
        "shop/migrations/0004_narrow.py": migration(
            dependencies='("shop", "0003_widen")',
            operations=(
                "        migrations.AlterField(\n"
                '            "product", "sku", models.CharField(max_length=64, unique=True)\n'
                "        ),"
            ),
        ),
    }
    findings = run(tmp_path, files, "MIG103")
    assert where(findings) == [("0004_narrow.py", 7, 9, 9, 10)]
    assert "from TextField (in shop.0003_widen)" in findings[0].message


def test_history_follows_graph_order_not_file_names(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product('("name", models.CharField(max_length=50))'),
        # Applied second, although its name sorts last.
        "shop/migrations/0003_widen.py": migration(
            dependencies=AFTER_INITIAL,
            operations='        migrations.AlterField("product", "name", models.TextField()),',
        ),
        "shop/migrations/0002_narrow.py": migration(
            dependencies='("shop", "0003_widen")',
            operations=(
                '        migrations.AlterField("product", "name", models.CharField(max_length=80)),'
            ),
        ),
    }
    findings = run(tmp_path, files, "MIG103")
    assert where(findings) == [("0002_narrow.py", 7, 9, 7, 82)]


def test_history_follows_renames_and_ignores_model_name_case(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product('("name", models.CharField(max_length=200))'),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=(
                '        migrations.RenameModel(old_name="Product", new_name="Item"),\n'
                '        migrations.RenameField(model_name="item", old_name="name", new_name="title"),'
            ),
        ),
        "shop/migrations/0003_alter_item_title.py": (
            "from django.db.migrations import AlterField, Migration as BaseMigration\n"
            "from django.db.models import CharField\n\n\n"
            "class Migration(BaseMigration):\n"
            '    dependencies = [("shop", "0002_change")]\n'
            '    operations = [AlterField("ITEM", "title", CharField(max_length=80))]\n'
        ),
    }
    findings = run(tmp_path, files, "MIG103")
    assert where(findings) == [("0003_alter_item_title.py", 7, 19, 7, 72)]
    assert (
        "shop.Item.title from CharField(max_length=200) (in shop.0001_initial)"
        in findings[0].message
    )


def test_renamed_away_field_is_unknown(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product('("name", models.CharField(max_length=200))'),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=(
                '        migrations.RenameField("product", "name", "title"),\n'
                '        migrations.AddField("product", "name", models.CharField(max_length=10, null=True)),\n'
                '        migrations.AlterField("product", "name", models.CharField(max_length=10, default="")),'
            ),
        ),
    }
    assert run(tmp_path, files, "MIG103") == []


def test_unknown_previous_definition_gives_no_finding(tmp_path: Path) -> None:
    files = {
        INITIAL: migration(
            operations=(
                "        migrations.CreateModel(\n"
                '            name="Product",\n'
                "            fields=FIELDS,\n"
                "        ),"
            )
        ),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations='        migrations.AlterField("product", "name", models.CharField(max_length=1)),',
        ),
    }
    assert run(tmp_path, files, "MIG103") == []


def test_an_unreadable_operation_forgets_the_history(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product('("name", models.CharField(max_length=200))'),
        SECOND: (
            "from django.db import migrations\n\n"
            "from shop.ops import make_operations\n\n\n"
            "class Migration(migrations.Migration):\n"
            '    dependencies = [("shop", "0001_initial")]\n'
            "    operations = make_operations()\n"
        ),
        "shop/migrations/0003_narrow.py": migration(
            dependencies='("shop", "0002_change")',
            operations='        migrations.AlterField("product", "name", models.CharField(max_length=1)),',
        ),
    }
    assert run(tmp_path, files, "MIG103") == []


def test_separate_database_and_state(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product('("name", models.CharField(max_length=200))'),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=(
                "        migrations.SeparateDatabaseAndState(\n"
                "            state_operations=[\n"
                '                migrations.AlterField("product", "name", models.CharField(max_length=20)),\n'
                "            ],\n"
                "            database_operations=[\n"
                '                migrations.AlterField("product", "name", models.CharField(max_length=100)),\n'
                "            ],\n"
                "        ),"
            ),
        ),
        # The state now says max_length=20, so going to 30 widens.
        "shop/migrations/0003_widen.py": migration(
            dependencies='("shop", "0002_change")',
            operations='        migrations.AlterField("product", "name", models.CharField(max_length=30)),',
        ),
    }
    findings = run(tmp_path, files, "MIG103")
    assert where(findings) == [("0002_change.py", 12, 17, 12, 91)]
    assert "from CharField(max_length=200)" in findings[0].message


def test_squash_and_the_migrations_it_replaces(tmp_path: Path) -> None:
    narrow = '        migrations.AlterField("product", "name", models.CharField(max_length=10)),'
    files = {
        INITIAL: create_product('("name", models.CharField(max_length=200))'),
        SECOND: migration(dependencies=AFTER_INITIAL, operations=narrow),
        "shop/migrations/0001_squashed_0002_change.py": migration(
            extra='    replaces = [("shop", "0001_initial"), ("shop", "0002_change")]\n',
            operations=create_product('("name", models.CharField(max_length=200))')
            .split("operations = [\n", 1)[1]
            .rsplit("\n    ]", 1)[0]
            + "\n"
            + narrow,
        ),
    }
    findings = run(tmp_path, files, "MIG103")
    # The squash creates the table it narrows: on the fresh database that runs it, the table
    # is empty. The replaced migration narrows a released table.
    assert sorted(Path(f.path).name for f in findings) == ["0002_change.py"]


def test_other_apps_fields_are_not_confused(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product('("name", models.CharField(max_length=200))'),
        "billing/migrations/0001_initial.py": migration(
            operations=(
                '        migrations.CreateModel("Product", [("name", models.CharField(max_length=5))]),\n'
                '        migrations.AlterField("product", "name", models.CharField(max_length=10)),'
            )
        ),
    }
    assert run(tmp_path, files, "MIG103") == []


def test_a_data_step_before_the_alter_field_prepares_the_rows(tmp_path: Path) -> None:
    prepare = (
        '        migrations.AddField("product", "sku", models.CharField(max_length=40, null=True)),\n'
        "        migrations.RunPython(fill_skus, migrations.RunPython.noop),\n"
        '        migrations.AlterField("product", "sku", models.CharField(max_length=40)),'
    )
    too_late = (
        '        migrations.AddField("product", "sku", models.CharField(max_length=40, null=True)),\n'
        '        migrations.AlterField("product", "sku", models.CharField(max_length=40)),\n'
        "        migrations.RunPython(fill_skus, migrations.RunPython.noop),"
    )
    trimmed = (
        '        migrations.RunSQL("UPDATE shop_product SET name = SUBSTRING(name, 1, 70)"),\n'
        '        migrations.AlterField("product", "name", models.CharField(max_length=70)),'
    )
    for name, operations, expected in (
        ("prepare", prepare, []),
        ("too_late", too_late, [8]),
        ("trimmed", trimmed, []),
    ):
        files = {
            INITIAL: create_product('("name", models.CharField(max_length=200))'),
            SECOND: migration(dependencies=AFTER_INITIAL, operations=operations),
        }
        findings = run(tmp_path / name, files, "MIG103")
        assert [f.line for f in findings] == expected, name


# MIG103: "add it nullable, fill it in a data migration, make it NOT NULL" (wagtail, oscar, cms)


def chain(*steps: str, first: str = "") -> dict[str, str]:
    """Product created with `first` fields, then one migration per operations text in order."""
    files = {INITIAL: create_product(*([first] if first else []))}
    previous = "0001_initial"
    for number, operations in enumerate(steps, start=2):
        name = f"{number:04d}_step"
        files[f"shop/migrations/{name}.py"] = migration(
            dependencies=f'("shop", "{previous}")', operations=operations
        )
        previous = name
    return files


ADD_NULLABLE = (
    '        migrations.AddField("product", "sku", models.CharField(max_length=40, null=True)),'
)
FILL = "        migrations.RunPython(fill_skus, migrations.RunPython.noop),"
NOT_NULL = '        migrations.AlterField("product", "sku", models.CharField(max_length=40)),'


def not_null_lines(tmp_path: Path, files: dict[str, str]) -> list[tuple[str, int]]:
    return [(Path(f.path).name, f.line) for f in run(tmp_path, files, "MIG103")]


@pytest.mark.parametrize(
    "between",
    [
        FILL,
        # RunSQL that changes rows (wagtail and others backfill with UPDATE).
        '        migrations.RunSQL("UPDATE shop_product SET sku = id::text WHERE sku IS NULL", "")',
        # Inside SeparateDatabaseAndState's database_operations it still runs.
        "        migrations.SeparateDatabaseAndState(database_operations=[\n"
        "            migrations.RunPython(fill_skus, migrations.RunPython.noop),\n"
        "        ]),",
        # An operation miglint does not know: wagtail's BootstrapTranslatableModel is a RunPython.
        '        i18n.BootstrapTranslatableModel("shop.Product"),',
    ],
)
def test_a_data_step_in_a_migration_between_prepares_the_rows(tmp_path: Path, between: str) -> None:
    files = chain(ADD_NULLABLE, between, NOT_NULL)
    files["shop/migrations/0003_step.py"] = (
        "from wagtail.models import i18n\n" + files["shop/migrations/0003_step.py"]
    )
    assert not_null_lines(tmp_path, files) == []


def test_operations_behind_an_if_may_be_the_data_step(tmp_path: Path) -> None:
    """wagtail 0056_page_locale_fields_populate: `if swapper.is_swapped(...): operations = []
    else: operations = [BootstrapTranslatableModel(...)]`."""
    files = chain(ADD_NULLABLE, "", NOT_NULL)
    files["shop/migrations/0003_step.py"] = (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("shop", "0002_step")]\n'
        "    if SWAPPED:\n"
        "        operations = []\n"
        "    else:\n"
        '        operations = [BootstrapTranslatableModel("shop.Product")]\n'
    )
    write_tree(tmp_path, files)
    findings = lint_tree(tmp_path, "MIG005", "MIG103")
    # miglint says it cannot follow the `if`, and does not claim the NULLs are still there.
    assert [(f.code, f.migration) for f in findings] == [("MIG005", "0003_step")]


@pytest.mark.parametrize(
    ("between", "why"),
    [
        ("", "no data step at all"),
        (
            '        migrations.RunSQL("CREATE INDEX sku_idx ON shop_product (sku)", "")',
            "a RunSQL that only adds an index",
        ),
        (
            "        migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop),",
            "a noop placeholder, as squashes leave them",
        ),
        (
            "        migrations.SeparateDatabaseAndState(state_operations=[\n"
            '            migrations.AlterModelOptions("product", {"ordering": ["sku"]}),\n'
            "        ]),",
            "state operations run nothing",
        ),
    ],
)
def test_without_a_data_step_the_nulls_are_still_there(
    tmp_path: Path, between: str, why: str
) -> None:
    assert not_null_lines(tmp_path, chain(ADD_NULLABLE, between, NOT_NULL)) == [
        ("0004_step.py", 7)
    ], why


def test_a_data_step_before_the_field_became_nullable_fills_nothing(tmp_path: Path) -> None:
    files = chain(FILL, ADD_NULLABLE, NOT_NULL)
    assert not_null_lines(tmp_path, files) == [("0004_step.py", 7)]
    # NOT NULL, then nullable again: the earlier fill is from before the NULLs came back.
    again = '        migrations.AlterField("product", "sku", models.CharField(max_length=40, null=True)),'
    files = chain(ADD_NULLABLE, FILL, NOT_NULL, again, NOT_NULL)
    assert not_null_lines(tmp_path / "again", files) == [("0006_step.py", 7)]


def test_nullable_since_the_first_definition_across_alter_fields(tmp_path: Path) -> None:
    """django-silk's prof_file: nullable in 0004, still nullable (longer) in 0005, NOT NULL in
    0006; a fill between 0004 and 0005 counts, though 0005 wrote the last definition."""
    longer = '        migrations.AlterField("product", "sku", models.CharField(max_length=80, null=True)),'
    not_null = '        migrations.AlterField("product", "sku", models.CharField(max_length=80)),'
    assert not_null_lines(tmp_path, chain(ADD_NULLABLE, FILL, longer, not_null)) == []
    assert not_null_lines(tmp_path / "unfilled", chain(ADD_NULLABLE, longer, not_null)) == [
        ("0004_step.py", 7)
    ]


def test_renames_keep_the_fill(tmp_path: Path) -> None:
    """wagtail 0070 renames PageRevision to Revision next to the nullable fields it adds."""
    files = chain(
        ADD_NULLABLE,
        FILL,
        '        migrations.RenameModel("Product", "Item"),\n'
        '        migrations.RenameField("item", "sku", "code"),',
        '        migrations.AlterField("item", "code", models.CharField(max_length=40)),',
    )
    assert not_null_lines(tmp_path, files) == []


def test_only_a_data_step_of_the_same_app_counts(tmp_path: Path) -> None:
    files = chain(ADD_NULLABLE)
    files["other/migrations/0001_fill.py"] = migration(
        dependencies='("shop", "0002_step")', operations=FILL
    )
    files["shop/migrations/0003_step.py"] = migration(
        dependencies='("shop", "0002_step"), ("other", "0001_fill")', operations=NOT_NULL
    )
    assert not_null_lines(tmp_path, files) == [("0003_step.py", 7)]


def test_a_narrowing_stays_reported_after_an_earlier_data_step(tmp_path: Path) -> None:
    """wagtail images 0015 fills filter_spec, 0016 then narrows focal_point_key 18 -> 17: the
    data step says nothing about the narrowed field."""
    files = chain(
        FILL,
        '        migrations.AlterField("product", "key", models.CharField(max_length=17)),',
        first='("key", models.CharField(max_length=18, null=True))',
    )
    findings = run(tmp_path, files, "MIG103")
    assert [(Path(f.path).name, f.line) for f in findings] == [("0003_step.py", 7)]
    assert "narrows shop.Product.key from CharField(max_length=18)" in findings[0].message


def test_a_model_the_migration_then_deletes_is_one_delete_model_finding(tmp_path: Path) -> None:
    # makemigrations removes a model's relations and constraints before deleting it.
    files = {
        INITIAL: create_product(
            '("sku", models.CharField(max_length=32))',
            '("name", models.CharField(max_length=99))',
            '("maker", models.ForeignKey(on_delete=models.CASCADE, to="shop.maker"))',
        ),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=(
                '        migrations.RemoveField("product", "maker"),\n'
                '        migrations.AlterField("product", "name", models.CharField(max_length=9)),\n'
                '        migrations.RenameModel("Product", "Article"),\n'
                '        migrations.RemoveField("article", "sku"),\n'
                '        migrations.DeleteModel("Article"),'
            ),
        ),
    }
    write_tree(tmp_path, files)
    findings = lint_tree(tmp_path)
    assert [(f.code, f.line) for f in findings if f.path.endswith("0002_change.py")] == [
        ("MIG102", 11)
    ]


def test_a_model_deleted_from_the_state_only_keeps_its_table(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product('("sku", models.CharField(max_length=32))'),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=(
                '        migrations.RemoveField("product", "sku"),\n'
                "        migrations.SeparateDatabaseAndState(\n"
                '            state_operations=[migrations.DeleteModel("Product")],\n'
                "        ),"
            ),
        ),
    }
    assert [f.line for f in run(tmp_path, files, "MIG101")] == [7]


def test_links_to_rows_of_a_model_the_migration_deletes_go_with_it(tmp_path: Path) -> None:
    initial = migration(
        operations=(
            '        migrations.CreateModel("Coupon", [("id", models.AutoField(primary_key=True))]),\n'
            "        migrations.CreateModel(\n"
            '            "Order",\n'
            "            [\n"
            '                ("id", models.AutoField(primary_key=True)),\n'
            '                ("coupon", models.ForeignKey(null=True, on_delete=models.SET_NULL, to="shop.coupon")),\n'
            '                ("coupons", models.ManyToManyField(to="shop.Coupon")),\n'
            '                ("promo", models.ForeignKey(null=True, on_delete=models.SET_NULL, to="promo.coupon")),\n'
            "            ],\n"
            "        ),"
        )
    )
    files = {
        INITIAL: initial,
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=(
                '        migrations.RemoveField("order", "coupon"),\n'
                '        migrations.RemoveField("order", "coupons"),\n'
                '        migrations.RemoveField("order", "promo"),\n'
                '        migrations.DeleteModel("Coupon"),'
            ),
        ),
    }
    # Only the link to another app's Coupon is data of its own.
    assert [f.line for f in run(tmp_path, files, "MIG101")] == [9]


def test_a_column_given_a_database_default_by_runsql_takes_inserts_without_it(
    tmp_path: Path,
) -> None:
    files = {
        INITIAL: create_product(
            '("sku", models.CharField(max_length=32))', options='{"db_table": "catalogue_item"}'
        ),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=(
                "        migrations.RunSQL(\n"
                "            \"ALTER TABLE catalogue_item ALTER COLUMN sku SET DEFAULT ''\",\n"
                "            migrations.RunSQL.noop,\n"
                "        ),"
            ),
        ),
        "shop/migrations/0003_remove_product_sku.py": migration(
            dependencies='("shop", "0002_change")',
            operations='        migrations.RemoveField("product", "sku"),',
        ),
    }
    (finding,) = run(tmp_path, files, "MIG101")
    assert "NOT NULL" not in finding.message
    assert finding.fix is not None and "later release" in finding.fix


def test_a_column_added_by_the_same_migration_holds_only_its_default(tmp_path: Path) -> None:
    files = {
        INITIAL: create_product('("name", models.CharField(max_length=99))'),
        SECOND: migration(
            dependencies=AFTER_INITIAL,
            operations=(
                '        migrations.AddField("product", "note", models.TextField(null=True)),\n'
                '        migrations.AlterField("product", "note", models.CharField(max_length=9, null=True)),\n'
                '        migrations.AddField("product", "flag", models.BooleanField(null=True)),\n'
                '        migrations.AlterField("product", "flag", models.BooleanField()),\n'
                '        migrations.AddField("product", "tmp", models.IntegerField(default=0)),\n'
                '        migrations.RemoveField("product", "tmp"),'
            ),
        ),
    }
    # Nothing to cut short or lose; but every existing row holds NULL in `flag`.
    assert [(f.code, f.line) for f in run(tmp_path, files, "MIG103")] == [("MIG103", 10)]
    assert run(tmp_path, files, "MIG101") == []
