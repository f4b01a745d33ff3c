"""Locks and rewrites (MIG510-MIG514) on migrations written as real projects write them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from miglint.core.finding import Finding, Severity
from tests.helpers import lint_tree, run_cli, write_tree

INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.CharField(db_index=True, max_length=32)),
                ("total", models.DecimalField(decimal_places=2, max_digits=10)),
                ("quantity", models.IntegerField(default=1)),
                ("comment", models.TextField(blank=True, null=True)),
                ("customer", models.ForeignKey(on_delete=models.deletion.CASCADE, to="auth.user")),
            ],
            options={
                "index_together": {("number", "quantity")},
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("quantity__gt", 0)), fields=("number",), name="open_number"
                    ),
                    models.UniqueConstraint(fields=("number", "customer"), name="number_customer"),
                ],
            },
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["total"], name="order_total_idx"),
        ),
    ]
"""

POSTGRES = '[tool.miglint]\ndatabase = "postgresql"\n'


def change(operations: str, *, atomic: bool = True, imports: str = "", name: str = "0002") -> str:
    return (
        f"{imports}from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        + ("    atomic = False\n" if not atomic else "")
        + '    dependencies = [("orders", "0001_initial")]\n\n'
        + f"    operations = [\n{operations}    ]\n"
    )


def project(
    tmp_path: Path,
    operations: str,
    *,
    database: str | None = "postgresql",
    extra: dict[str, str] | None = None,
    **kwargs: bool | str,
) -> Path:
    files = {
        "orders/migrations/0001_initial.py": INITIAL,
        "orders/migrations/0002_change.py": change(operations, **kwargs),  # type: ignore[arg-type]
        **(extra or {}),
    }
    if database:
        files["pyproject.toml"] = f'[tool.miglint]\ndatabase = "{database}"\n'
    return write_tree(tmp_path, files)


def found(tmp_path: Path, *codes: str) -> list[Finding]:
    return [f for f in lint_tree(tmp_path, *codes) if f.code in codes]


def codes(findings: list[Finding]) -> list[str]:
    return sorted(f.code for f in findings)


# --- MIG510 add-constraint-validated -------------------------------------------------------

CHECK = (
    "        migrations.AddConstraint(\n"
    '            model_name="order",\n'
    '            constraint=models.CheckConstraint(condition=models.Q(("quantity__gte", 0)), name="quantity_gte_0"),\n'
    "        ),\n"
)
POSTGRES_OPERATIONS = (
    "from django.contrib.postgres.operations import AddConstraintNotValid, ValidateConstraint\n"
)


def test_check_constraint_on_an_existing_table(tmp_path: Path) -> None:
    project(tmp_path, CHECK)
    (finding,) = found(tmp_path, "MIG510")
    assert finding.severity == Severity.WARNING
    assert (finding.line, finding.end_line) == (8, 11)
    assert "quantity_gte_0" in finding.message and "ACCESS EXCLUSIVE" in finding.message
    assert finding.fix is not None and "AddConstraintNotValid" in finding.fix


def test_a_guessed_backend_is_said(tmp_path: Path) -> None:
    project(
        tmp_path,
        CHECK,
        database=None,
        imports="from django.contrib.postgres.fields import ArrayField  # noqa\n",
    )
    (finding,) = found(tmp_path, "MIG510")
    assert "guessed from django.contrib.postgres imports" in finding.message


def test_the_hint_follows_the_django_version(tmp_path: Path) -> None:
    project(tmp_path, CHECK, database=None)
    (tmp_path / "pyproject.toml").write_text(POSTGRES + 'django-version = "3.2"\n')
    (finding,) = found(tmp_path, "MIG510")
    assert finding.fix is not None
    assert "AddConstraintNotValid" not in finding.fix and "NOT VALID" in finding.fix


def test_not_valid_then_validate_is_the_safe_way(tmp_path: Path) -> None:
    project(
        tmp_path,
        "        AddConstraintNotValid(\n"
        '            "order",\n'
        '            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="quantity_gte_0"),\n'
        "        ),\n",
        imports=POSTGRES_OPERATIONS,
        extra={
            "orders/migrations/0003_validate.py": POSTGRES_OPERATIONS
            + "from django.db import migrations\n\n\n"
            "class Migration(migrations.Migration):\n"
            '    dependencies = [("orders", "0002_change")]\n'
            '    operations = [ValidateConstraint("order", "quantity_gte_0")]\n'
        },
    )
    assert found(tmp_path, "MIG510") == []


def test_constraints_of_a_new_table_and_state_only_ones(tmp_path: Path) -> None:
    project(
        tmp_path,
        "        migrations.CreateModel(\n"
        '            name="Refund",\n'
        '            fields=[("id", models.BigAutoField(primary_key=True, serialize=False)), ("amount", models.IntegerField())],\n'
        "        ),\n"
        '        migrations.AddConstraint("refund", models.CheckConstraint(condition=models.Q(amount__gt=0), name="positive")),\n'
        "        migrations.SeparateDatabaseAndState(\n"
        "            state_operations=[\n"
        + CHECK.replace("        ", "                ", 1)
        + "            ],\n"
        "            database_operations=[\n"
        '                migrations.RunSQL("ALTER TABLE orders_order ADD CONSTRAINT quantity_gte_0 CHECK (quantity >= 0) NOT VALID"),\n'
        "            ],\n"
        "        ),\n",
    )
    assert found(tmp_path, "MIG510") == []


@pytest.mark.parametrize("database", [None, "mysql", "sqlite"])
def test_check_constraints_are_judged_for_postgresql_only(
    tmp_path: Path, database: str | None
) -> None:
    project(tmp_path, CHECK, database=database)
    assert found(tmp_path, "MIG510") == []


def test_exclusion_constraint_says_what_is_possible(tmp_path: Path) -> None:
    # No database configured: the django.contrib.postgres import says PostgreSQL.
    project(
        tmp_path,
        "        migrations.AddConstraint(\n"
        '            "order",\n'
        '            ExclusionConstraint(name="one_open_order", expressions=[("customer", RangeOperators.EQUAL)]),\n'
        "        ),\n",
        database=None,
        imports="from django.contrib.postgres.constraints import ExclusionConstraint\n"
        "from django.contrib.postgres.fields import RangeOperators\n",
    )
    (finding,) = found(tmp_path, "MIG510")
    # Only PostgreSQL has exclusion constraints: nothing was guessed.
    assert "ExclusionConstraint" in finding.message and "guessed" not in finding.message
    assert finding.fix is not None and "cannot" in finding.fix and "lock_timeout" in finding.fix


@pytest.mark.parametrize(
    ("sql", "reported"),
    [
        ("ALTER TABLE orders_order ADD CONSTRAINT qty CHECK (quantity >= 0)", True),
        ("ALTER TABLE orders_order ADD CHECK (quantity >= 0)", True),
        ("ALTER TABLE orders_order ADD CONSTRAINT qty CHECK (quantity >= 0) NOT VALID", False),
        ("ALTER TABLE orders_order VALIDATE CONSTRAINT qty", False),
        # The CHECK of a column added with it is validated as the column is added.
        ("ALTER TABLE orders_order ADD COLUMN n integer NULL CHECK (n >= 0)", False),
        ("ALTER TABLE orders_order ADD CONSTRAINT x EXCLUDE USING gist (customer_id WITH =)", True),
        ("ALTER TABLE orders_order ALTER COLUMN comment SET NOT NULL", True),
        (
            "ALTER TABLE orders_order ADD CONSTRAINT c CHECK (comment IS NOT NULL) NOT VALID; "
            "ALTER TABLE orders_order VALIDATE CONSTRAINT c; "
            "ALTER TABLE orders_order ALTER COLUMN comment SET NOT NULL",
            False,
        ),
        ("CREATE TABLE t (a int); ALTER TABLE t ADD CONSTRAINT a CHECK (a > 0)", False),
    ],
)
def test_runsql(tmp_path: Path, sql: str, reported: bool) -> None:
    project(tmp_path, f"        migrations.RunSQL({sql!r}, migrations.RunSQL.noop),\n")
    assert codes(found(tmp_path, "MIG510")) == (["MIG510"] if reported else [])


NULLABLE_TO_REQUIRED = (
    '        migrations.AlterField("order", "comment", models.TextField(blank=True{})),\n'
)


def test_not_null_with_a_default_is_a_scan_under_lock(tmp_path: Path) -> None:
    project(tmp_path, NULLABLE_TO_REQUIRED.format(', default=""'))
    (finding,) = found(tmp_path, "MIG510", "MIG103")
    assert finding.code == "MIG510" and "NOT NULL" in finding.message
    assert finding.fix is not None and "IS NOT NULL) NOT VALID" in finding.fix


def test_not_null_without_a_default_is_mig103s_and_says_the_lock(tmp_path: Path) -> None:
    project(tmp_path, NULLABLE_TO_REQUIRED.format(""))
    (finding,) = found(tmp_path, "MIG510", "MIG103")
    assert finding.code == "MIG103"
    assert "ACCESS EXCLUSIVE" in finding.message
    assert finding.fix is not None and "VALIDATE CONSTRAINT" in finding.fix
    # Not on other backends: the lock is PostgreSQL's.
    project(tmp_path, NULLABLE_TO_REQUIRED.format(""), database="mysql")
    (finding,) = found(tmp_path, "MIG510", "MIG103")
    assert "ACCESS EXCLUSIVE" not in finding.message


def test_not_null_after_a_data_migration_filled_the_rows(tmp_path: Path) -> None:
    project(
        tmp_path,
        "        migrations.RunSQL(\"UPDATE orders_order SET comment = '' WHERE comment IS NULL\", migrations.RunSQL.noop),\n"
        + NULLABLE_TO_REQUIRED.format(""),
    )
    assert codes(found(tmp_path, "MIG510", "MIG103")) == ["MIG510"]


def test_not_null_through_a_validated_check_is_the_safe_way(tmp_path: Path) -> None:
    project(
        tmp_path,
        "        AddConstraintNotValid(\n"
        '            "order", models.CheckConstraint(condition=models.Q(comment__isnull=False), name="comment_set")\n'
        "        ),\n",
        imports=POSTGRES_OPERATIONS,
        extra={
            "orders/migrations/0003_validate.py": POSTGRES_OPERATIONS
            + "from django.db import migrations, models\n\n\n"
            "class Migration(migrations.Migration):\n"
            '    dependencies = [("orders", "0002_change")]\n'
            '    operations = [ValidateConstraint("order", "comment_set")]\n',
            "orders/migrations/0004_required.py": "from django.db import migrations, models\n\n\n"
            "class Migration(migrations.Migration):\n"
            '    dependencies = [("orders", "0003_validate")]\n'
            "    operations = [\n"
            + NULLABLE_TO_REQUIRED.format(', default=""')
            + '        migrations.RemoveConstraint("order", "comment_set"),\n'
            "    ]\n",
        },
    )
    assert found(tmp_path, "MIG510") == []


# --- MIG511 remove-index-not-concurrently ---------------------------------------------------


def test_remove_index_points_at_the_whole_operation(tmp_path: Path) -> None:
    project(
        tmp_path,
        "        migrations.RemoveIndex(\n"
        '            model_name="order",\n'
        '            name="order_total_idx",\n'
        "        ),\n",
    )
    (finding,) = found(tmp_path, "MIG511")
    assert (finding.line, finding.column, finding.end_line, finding.end_column) == (8, 9, 11, 10)
    assert "order_total_idx" in finding.message and "ACCESS EXCLUSIVE" in finding.message
    assert finding.fix is not None and "RemoveIndexConcurrently" in finding.fix


def test_remove_index_concurrently_in_a_non_atomic_migration(tmp_path: Path) -> None:
    project(
        tmp_path,
        '        RemoveIndexConcurrently("order", "order_total_idx"),\n',
        atomic=False,
        imports="from django.contrib.postgres.operations import RemoveIndexConcurrently\n",
    )
    assert found(tmp_path, "MIG511", "MIG508") == []


@pytest.mark.parametrize(
    ("operation", "reported"),
    [
        ('migrations.AlterField("order", "number", models.CharField(max_length=32))', True),
        (
            'migrations.AlterField("order", "number", models.CharField(db_index=False, max_length=32))',
            True,
        ),
        (
            'migrations.AlterField("order", "customer", models.ForeignKey(db_index=False, '
            'on_delete=models.deletion.CASCADE, to="auth.user"))',
            True,
        ),
        # The unique constraint brings its own index (MIG506 reports adding it).
        (
            'migrations.AlterField("order", "number", models.CharField(max_length=32, unique=True))',
            False,
        ),
        (
            'migrations.AlterField("order", "number", models.CharField(db_index=True, max_length=40))',
            False,
        ),
        # A class of another package may index itself (django-extensions' AutoSlugField).
        (
            'migrations.AlterField("order", "number", AutoSlugField(max_length=32, populate_from="total"))',
            False,
        ),
        (
            'migrations.AlterField("order", "number", AutoSlugField(db_index=False, max_length=32))',
            True,
        ),
        ('migrations.AlterIndexTogether("order", set())', True),
        ('migrations.AlterIndexTogether("order", set([]))', True),
        (
            'migrations.AlterIndexTogether("order", {("number", "quantity"), ("number", "total")})',
            False,
        ),
        # A conditional UniqueConstraint is an index; a plain one is a constraint.
        ('migrations.RemoveConstraint("order", "open_number")', True),
        ('migrations.RemoveConstraint("order", "number_customer")', False),
        ('migrations.RunSQL("DROP INDEX IF EXISTS order_total_idx", migrations.RunSQL.noop)', True),
        # An index no migration makes may not be there: then nothing is locked.
        ('migrations.RunSQL("DROP INDEX IF EXISTS legacy_idx", migrations.RunSQL.noop)', False),
        ('migrations.RunSQL("DROP INDEX legacy_idx", migrations.RunSQL.noop)', True),
    ],
)
def test_indexes_dropped_by_other_operations(
    tmp_path: Path, operation: str, reported: bool
) -> None:
    imports = "from django_extensions.db.fields import AutoSlugField\n"
    project(tmp_path, f"        {operation},\n", imports=imports)
    assert codes(found(tmp_path, "MIG511")) == (["MIG511"] if reported else [])


def test_dropping_an_index_the_migration_made(tmp_path: Path) -> None:
    # A rebuild: the new index is made first, then the one it replaces goes (reported), then
    # a helper index made here is dropped again (waits for nothing new: not reported).
    project(
        tmp_path,
        "        migrations.RunSQL(\n"
        '            "CREATE INDEX order_total_v2 ON orders_order (total, id);"\n'
        '            "DROP INDEX order_total_idx;"\n'
        '            "DROP INDEX order_total_v2;",\n'
        "            migrations.RunSQL.noop,\n"
        "        ),\n",
    )
    assert [f.message.split(" without")[0] for f in found(tmp_path, "MIG511")] == [
        "RunSQL drops index order_total_idx"
    ]


@pytest.mark.parametrize("database", [None, "mysql"])
def test_remove_index_is_judged_for_postgresql_only(tmp_path: Path, database: str | None) -> None:
    project(
        tmp_path, '        migrations.RemoveIndex("order", "order_total_idx"),\n', database=database
    )
    assert found(tmp_path, "MIG511") == []


def test_indexes_of_a_new_table(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": POSTGRES,
            "orders/migrations/0001_initial.py": INITIAL.replace('    ]\n"""', "    ]\n").replace(
                '            index=models.Index(fields=["total"], name="order_total_idx"),\n        ),\n',
                '            index=models.Index(fields=["total"], name="order_total_idx"),\n        ),\n'
                '        migrations.RemoveIndex("order", "order_total_idx"),\n',
            ),
        },
    )
    assert found(tmp_path, "MIG511") == []


# --- MIG512 table-rewrite-on-add-field ------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "imports", "database", "reported"),
    [
        (
            "models.UUIDField(db_default=RandomUUID())",
            "from django.contrib.postgres.functions import RandomUUID\n",
            None,
            True,
        ),
        (
            "models.FloatField(db_default=Random())",
            "from django.db.models.functions import Random\n",
            "postgresql",
            True,
        ),
        # Random() exists on every backend: without PostgreSQL, miglint does not know.
        (
            "models.FloatField(db_default=Random())",
            "from django.db.models.functions import Random\n",
            None,
            False,
        ),
        (
            'models.UUIDField(db_default=models.Func(function="gen_random_uuid"))',
            "",
            "postgresql",
            True,
        ),
        (
            "models.DateTimeField(db_default=Now())",
            "from django.db.models.functions import Now\n",
            "postgresql",
            False,
        ),
        ("models.IntegerField(db_default=0)", "", "postgresql", False),
        ("models.UUIDField(default=uuid.uuid4, null=True)", "import uuid\n", "postgresql", False),
        (
            'models.GeneratedField(db_persist=True, expression=models.F("quantity") * 2, output_field=models.IntegerField())',
            "",
            None,
            True,
        ),
        (
            'models.GeneratedField(db_persist=True, expression=models.F("quantity") * 2, output_field=models.IntegerField())',
            "",
            "mysql",
            True,
        ),
        (
            'models.GeneratedField(db_persist=False, expression=models.F("quantity") * 2, output_field=models.IntegerField())',
            "",
            "mysql",
            False,
        ),
    ],
)
def test_columns_that_fill_every_row(
    tmp_path: Path, field: str, imports: str, database: str | None, reported: bool
) -> None:
    project(
        tmp_path,
        f'        migrations.AddField(model_name="order", name="extra", field={field}),\n',
        database=database,
        imports=imports,
    )
    assert codes(found(tmp_path, "MIG512")) == (["MIG512"] if reported else [])


def test_a_new_auto_increment_key(tmp_path: Path) -> None:
    project(
        tmp_path,
        '        migrations.RemoveField("order", "id"),\n'
        '        migrations.AddField("order", "uid", models.BigAutoField(primary_key=True, serialize=False)),\n',
        database=None,
    )
    (finding,) = found(tmp_path, "MIG512")
    assert "auto-increment" in finding.message and finding.line == 9
    assert finding.fix is not None and "sequence" in finding.fix


def test_volatile_default_on_a_new_table(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": POSTGRES,
            "orders/migrations/0001_initial.py": INITIAL.replace(
                "    operations = [\n",
                "    operations = [\n"
                '        migrations.CreateModel("Token", [("id", models.BigAutoField(primary_key=True, serialize=False))]),\n'
                '        migrations.AddField("token", "value", models.UUIDField(db_default=RandomUUID())),\n',
            ).replace(
                "from django.db import",
                "from django.contrib.postgres.functions import RandomUUID\nfrom django.db import",
            ),
        },
    )
    assert found(tmp_path, "MIG512") == []


@pytest.mark.parametrize(
    ("sql", "reported"),
    [
        ("ALTER TABLE orders_order ADD COLUMN token uuid DEFAULT gen_random_uuid() NOT NULL", True),
        ("ALTER TABLE orders_order ADD COLUMN seq bigserial", True),
        (
            "ALTER TABLE orders_order ADD COLUMN twice int GENERATED ALWAYS AS (quantity * 2) STORED",
            True,
        ),
        ("ALTER TABLE orders_order ADD COLUMN seen timestamptz DEFAULT now()", False),
        ("ALTER TABLE orders_order ADD COLUMN token uuid NULL", False),
    ],
)
def test_runsql_columns_that_fill_every_row(tmp_path: Path, sql: str, reported: bool) -> None:
    project(tmp_path, f"        migrations.RunSQL({sql!r}, migrations.RunSQL.noop),\n")
    assert codes(found(tmp_path, "MIG512")) == (["MIG512"] if reported else [])


# --- MIG513 missing-lock-timeout ------------------------------------------------------------

TIMEOUT = "        migrations.RunSQL(\"SET LOCAL lock_timeout = '3s'\", migrations.RunSQL.noop),\n"
ADD = '        migrations.AddField("order", "paid", models.BooleanField(null=True)),\n'
RENAME = '        migrations.RenameField("order", "comment", "note"),\n'


def test_one_finding_per_migration_at_its_first_lock(tmp_path: Path) -> None:
    project(
        tmp_path, ADD + RENAME + '        migrations.RemoveIndex("order", "order_total_idx"),\n'
    )
    (finding,) = found(tmp_path, "MIG513")
    assert finding.severity == Severity.INFO and finding.line == 8
    assert "AddField Order.paid" in finding.message and "orders_order" in finding.message
    assert "2 more operations" in finding.message
    assert finding.fix is not None and "SET LOCAL lock_timeout" in finding.fix


def test_a_timeout_set_before_the_locks(tmp_path: Path) -> None:
    project(tmp_path, TIMEOUT + ADD + RENAME)
    assert found(tmp_path, "MIG513") == []


def test_a_timeout_set_after_a_lock_does_not_cover_it(tmp_path: Path) -> None:
    project(tmp_path, ADD + TIMEOUT + RENAME)
    (finding,) = found(tmp_path, "MIG513")
    assert finding.line == 8 and "more" not in finding.message


@pytest.mark.parametrize(
    ("sql", "atomic", "covered"),
    [
        ("SET lock_timeout = '3s'", True, True),
        ("SET lock_timeout TO 3000", False, True),
        ("SELECT set_config('lock_timeout', '3s', true)", True, True),
        # SET LOCAL ends with its own statement's transaction outside an atomic migration.
        ("SET LOCAL lock_timeout = '3s'", False, False),
        ("SET lock_timeout = 0", True, False),
        ("SET statement_timeout = '3s'", True, False),
    ],
)
def test_what_sets_a_timeout(tmp_path: Path, sql: str, atomic: bool, covered: bool) -> None:
    project(
        tmp_path,
        f"        migrations.RunSQL({sql!r}, migrations.RunSQL.noop),\n" + ADD,
        atomic=atomic,
    )
    assert codes(found(tmp_path, "MIG513")) == ([] if covered else ["MIG513"])


def test_a_timeout_in_a_runpython_function(tmp_path: Path) -> None:
    project(
        tmp_path,
        "        migrations.RunPython(set_timeout, migrations.RunPython.noop),\n" + ADD,
        imports="def set_timeout(apps, schema_editor):\n"
        "    schema_editor.execute(\"SET LOCAL lock_timeout = '2s'\")\n\n\n",
    )
    assert found(tmp_path, "MIG513") == []


@pytest.mark.parametrize(
    ("settings", "reported"),
    [
        (
            "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'OPTIONS': {'options': '-c lock_timeout=5s'}}}",
            False,
        ),
        (
            "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'OPTIONS': {'options': '-c lock_timeout=0'}}}",
            True,
        ),
        ("DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql'}}", True),
        # Options miglint cannot read may set one.
        (
            "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'OPTIONS': {'options': env('PGOPTIONS')}}}",
            False,
        ),
    ],
)
def test_a_timeout_in_the_settings(tmp_path: Path, settings: str, reported: bool) -> None:
    project(tmp_path, ADD, database=None, extra={"config/settings.py": settings + "\n"})
    assert codes(found(tmp_path, "MIG513")) == (["MIG513"] if reported else [])


def test_unreadable_options_are_said_with_verbose(tmp_path: Path) -> None:
    project(
        tmp_path,
        ADD,
        extra={
            "config/settings.py": "DATABASES = {'default': {'OPTIONS': {'options': env('X')}}}\n"
        },
    )
    result = run_cli(".", "-v", "--select", "MIG513", cwd=tmp_path)
    assert result.returncode == 0
    assert "MIG513: not checked" in result.stderr and "config/settings.py" in result.stderr


@pytest.mark.parametrize(
    "operations",
    [
        # Runs no SQL.
        '        migrations.AlterField("order", "quantity", models.IntegerField(default=1, help_text="items")),\n',
        '        migrations.AlterModelOptions("order", {"ordering": ["number"]}),\n',
        # Weaker locks: SHARE for CREATE INDEX (MIG505's finding), SHARE UPDATE EXCLUSIVE.
        '        migrations.AddIndex("order", models.Index(fields=["quantity"], name="order_qty_idx")),\n',
        '        migrations.RenameIndex("order", new_name="order_sum_idx", old_name="order_total_idx"),\n',
        # A new table, and operations on it.
        '        migrations.CreateModel("Refund", [("id", models.BigAutoField(primary_key=True, serialize=False))]),\n'
        '        migrations.AddField("refund", "order", models.ForeignKey(null=True, on_delete=models.CASCADE, to="orders.order")),\n',
        # ALTER TABLE renames a sequence too: no rows, no queries to queue.
        '        migrations.RunSQL("ALTER TABLE orders_order_id_seq RENAME TO orders_purchase_id_seq", migrations.RunSQL.noop),\n',
        # A table no migration made may not be there.
        '        migrations.RunSQL("DROP TABLE IF EXISTS old_vendor_rates", migrations.RunSQL.noop),\n',
        # State only.
        "        migrations.SeparateDatabaseAndState(state_operations=[\n"
        '            migrations.RemoveField("order", "comment"),\n'
        "        ]),\n",
    ],
)
def test_operations_that_lock_nothing_existing(tmp_path: Path, operations: str) -> None:
    project(tmp_path, operations)
    assert found(tmp_path, "MIG513") == []


@pytest.mark.parametrize(
    "operations",
    [
        '        migrations.AlterField("order", "number", models.CharField(db_index=True, max_length=64)),\n',
        '        migrations.AlterField("order", "comment", models.TextField(blank=True, null=True, db_default="")),\n',
        '        migrations.RemoveField("order", "comment"),\n',
        '        migrations.DeleteModel("Order"),\n',
        '        migrations.RemoveConstraint("order", "number_customer"),\n',
        '        migrations.AlterUniqueTogether("order", {("number", "total")}),\n',
        '        migrations.RunSQL("LOCK TABLE orders_order", migrations.RunSQL.noop),\n',
        '        migrations.RunSQL("DROP TABLE IF EXISTS orders_order", migrations.RunSQL.noop),\n',
        '        migrations.RunSQL("ALTER TABLE orders_order DROP COLUMN comment", migrations.RunSQL.noop),\n',
    ],
)
def test_operations_that_lock_an_existing_table(tmp_path: Path, operations: str) -> None:
    project(tmp_path, operations)
    assert codes(found(tmp_path, "MIG513")) == ["MIG513"]


@pytest.mark.parametrize("database", [None, "mysql", "sqlite"])
def test_lock_timeout_is_postgresql_only(tmp_path: Path, database: str | None) -> None:
    project(tmp_path, ADD, database=database)
    assert found(tmp_path, "MIG513") == []


def test_unmanaged_and_proxy_models_have_no_table_to_lock(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": POSTGRES,
            "reports/migrations/0001_initial.py": change(
                '        migrations.CreateModel("Sales", [("id", models.IntegerField(primary_key=True, serialize=False))], options={"managed": False, "db_table": "sales_view"}),\n'
            ).replace('    dependencies = [("orders", "0001_initial")]\n', "    initial = True\n"),
            "reports/migrations/0002_more.py": change(
                '        migrations.AddField("sales", "region", models.TextField(null=True)),\n'
                '        migrations.DeleteModel("Sales"),\n'
            ).replace("orders", "reports"),
        },
    )
    assert found(tmp_path, "MIG513", "MIG514") == []


# --- MIG514 int-primary-key -----------------------------------------------------------------

ORDER_32 = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ],
        ),
    ]
"""


def test_int_key_names_the_setting_it_came_from(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "orders/migrations/0001_initial.py": ORDER_32,
            "shop/settings.py": "DEBUG = False\nDEFAULT_AUTO_FIELD = 'django.db.models.AutoField'\n",
        },
    )
    (finding,) = found(tmp_path, "MIG514")
    assert finding.severity == Severity.INFO and finding.line == 8
    assert "AutoField" in finding.message and "2,147,483,647" in finding.message
    assert "shop/settings.py line 2" in finding.message
    assert finding.fix is not None and "BigAutoField" in finding.fix


def test_int_key_names_the_app_config(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "orders/migrations/0001_initial.py": ORDER_32,
            "orders/apps.py": "from django.apps import AppConfig\n\n\nclass OrdersConfig(AppConfig):\n"
            "    name = 'orders'\n    default_auto_field = 'django.db.models.AutoField'\n",
        },
    )
    (finding,) = found(tmp_path, "MIG514")
    assert "default_auto_field is AutoField" in finding.message
    assert "orders/apps.py line 6" in finding.message


@pytest.mark.parametrize(
    "later",
    [
        '        migrations.AlterField("order", "id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),\n',
        '        migrations.RunSQL("ALTER TABLE orders_order ALTER COLUMN id TYPE bigint", migrations.RunSQL.noop),\n',
        '        migrations.DeleteModel("Order"),\n',
    ],
)
def test_a_key_widened_or_dropped_later(tmp_path: Path, later: str) -> None:
    write_tree(
        tmp_path,
        {
            "orders/migrations/0001_initial.py": ORDER_32,
            "orders/migrations/0002_change.py": change(later),
        },
    )
    assert found(tmp_path, "MIG514") == []


def test_a_key_narrowed_later_is_reported_where_it_narrows(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "orders/migrations/0001_initial.py": ORDER_32.replace("AutoField", "BigAutoField"),
            "orders/migrations/0002_change.py": change(
                '        migrations.RenameModel("Order", "Purchase"),\n'
                '        migrations.AlterField("purchase", "id", models.IntegerField(primary_key=True, serialize=False)),\n'
            ),
        },
    )
    (finding,) = found(tmp_path, "MIG514")
    assert finding.path.endswith("0002_change.py") and finding.line == 9
    assert "Purchase.id" in finding.message and "orders_purchase" in finding.message


@pytest.mark.parametrize("database", ["sqlite", "oracle"])
def test_int_keys_are_64_bit_or_wider_elsewhere(tmp_path: Path, database: str) -> None:
    write_tree(
        tmp_path,
        {
            "orders/migrations/0001_initial.py": ORDER_32,
            "pyproject.toml": f'[tool.miglint]\ndatabase = "{database}"\n',
        },
    )
    assert found(tmp_path, "MIG514") == []


def test_a_baseline_keeps_old_tables_quiet_and_new_ones_reported(tmp_path: Path) -> None:
    write_tree(tmp_path, {"orders/migrations/0001_initial.py": ORDER_32})
    assert run_cli("baseline", cwd=tmp_path).returncode == 0
    write_tree(
        tmp_path,
        {
            "orders/migrations/0002_refund.py": change(
                '        migrations.CreateModel("Refund", [("id", models.AutoField(auto_created=True, primary_key=True, serialize=False))]),\n'
            )
        },
    )
    result = run_cli(".", "--select", "MIG514", "--format", "json", cwd=tmp_path)
    assert [(row["code"], row["path"]) for row in json.loads(result.stdout)] == [
        ("MIG514", "orders/migrations/0002_refund.py")
    ]
    # Info: never fails the check by default.
    assert result.returncode == 0
