"""Deploy-safety rules (MIG501-MIG509) on migrations written as real projects write them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from miglint.core.finding import Finding, Severity
from miglint.project.config import Config
from miglint.project.load import load_project
from miglint.rules import rule_for_code
from miglint.run.lint import lint
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
                ("number", models.CharField(max_length=32)),
                ("total", models.DecimalField(decimal_places=2, max_digits=10)),
                ("quantity", models.IntegerField(default=1)),
                ("comment", models.TextField(blank=True, null=True)),
            ],
            options={"ordering": ["-id"]},
        ),
    ]
"""


def change(
    operations: str, *, atomic: bool = True, imports: str = "", initial: bool = False
) -> str:
    return (
        f"{imports}from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        + ("    atomic = False\n" if not atomic else "")
        + ("    initial = True\n" if initial else "")
        + '    dependencies = [("orders", "0001_initial")]\n\n'
        + f"    operations = [\n{operations}    ]\n"
    )


def project(
    tmp_path: Path, operations: str, database: str | None = None, **kwargs: bool | str
) -> Path:
    files = {
        "orders/migrations/0001_initial.py": INITIAL,
        "orders/migrations/0002_change.py": change(operations, **kwargs),  # type: ignore[arg-type]
    }
    if database:
        files["pyproject.toml"] = f'[tool.miglint]\ndatabase = "{database}"\n'
    return write_tree(tmp_path, files)


def codes(findings: list[Finding]) -> list[str]:
    return sorted(finding.code for finding in findings)


def deploy(tmp_path: Path, *rules: str) -> list[Finding]:
    return [f for f in lint_tree(tmp_path, *rules) if f.code.startswith("MIG5")]


# --- MIG501 --------------------------------------------------------------------------------


def test_makemigrations_one_off_default_is_a_warning_with_the_recipe(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        migrations.AddField(
            model_name="order",
            name="currency",
            field=models.CharField(default="EUR", max_length=3),
            preserve_default=False,
        ),
""",
    )
    (finding,) = deploy(tmp_path, "MIG501")
    assert finding.severity == Severity.WARNING
    assert (finding.line, finding.migration) == (8, "0002_change")
    assert "Order.currency" in finding.message and "one-off default" in finding.message
    assert finding.fix is not None and "db_default" in finding.fix


def test_no_default_at_all_is_an_error(tmp_path: Path) -> None:
    project(
        tmp_path,
        '        migrations.AddField("order", "customer", models.ForeignKey('
        'on_delete=models.PROTECT, to="auth.user")),\n',
    )
    findings = deploy(tmp_path, "MIG501")
    assert [(f.code, f.severity) for f in findings] == [("MIG501", Severity.ERROR)]


def test_safe_add_fields(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        migrations.AddField("order", "paid", models.BooleanField(db_default=False)),
        migrations.AddField("order", "note", models.TextField(null=True, blank=True)),
        migrations.AddField("order", "tags", models.ManyToManyField(to="auth.group")),
        migrations.AddField("order", "created", models.DateTimeField(db_default=models.functions.Now())),
""",
    )
    assert deploy(tmp_path, "MIG501") == []


def test_runsql_add_not_null_without_default(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        migrations.RunSQL(
            \"\"\"
            ALTER TABLE orders_order ADD COLUMN currency varchar(3) NULL;
            ALTER TABLE orders_order ADD COLUMN region integer NOT NULL;
            \"\"\",
            reverse_sql=migrations.RunSQL.noop,
        ),
""",
    )
    (finding,) = deploy(tmp_path, "MIG501")
    assert finding.line == 11 and finding.severity == Severity.ERROR
    assert "region" in finding.message


# --- new tables ------------------------------------------------------------------------------


def test_everything_is_safe_on_a_table_created_in_the_same_migration(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "orders/migrations/0001_initial.py": INITIAL[: INITIAL.rindex("    ]")]
            + """\
        migrations.AddField("order", "customer", models.ForeignKey(on_delete=models.PROTECT, to="auth.user")),
        migrations.AddField("order", "code", models.CharField(max_length=8, unique=True, default="")),
        migrations.AddIndex("order", models.Index(fields=["number"], name="order_number_idx")),
        migrations.AlterUniqueTogether("order", {("number", "customer")}),
        migrations.RenameField("order", "comment", "remark"),
        migrations.AlterField("order", "quantity", models.BigIntegerField(default=1)),
        migrations.RemoveField("order", "total"),
        migrations.RunSQL("CREATE INDEX order_remark ON orders_order (remark)", migrations.RunSQL.noop),
    ]
""",
            "pyproject.toml": '[tool.miglint]\ndatabase = "postgresql"\n',
        },
    )
    assert deploy(tmp_path) == []


def test_initial_migrations_written_together_are_one_change(tmp_path: Path) -> None:
    # makemigrations writes 0002_initial for foreign keys that close a dependency cycle.
    project(
        tmp_path,
        '        migrations.AddField("order", "customer", models.ForeignKey('
        'on_delete=models.PROTECT, to="auth.user")),\n',
        initial=True,
    )
    assert deploy(tmp_path) == []


def test_files_named_on_the_command_line_are_the_change(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "orders/migrations/0001_initial.py": INITIAL,
            "orders/migrations/0002_change.py": change(
                '        migrations.AddField("order", "ref", models.IntegerField(default=0)),\n'
            ),
        },
    )
    config = Config(root=str(tmp_path))
    rule = rule_for_code("MIG501")
    assert rule is not None
    everything = lint(load_project([str(tmp_path)], config), [rule])
    assert codes(everything) == ["MIG501"]
    # Both files in the change: the table is new, nothing to report.
    paths = [
        str(tmp_path / "orders/migrations/0001_initial.py"),
        str(tmp_path / "orders/migrations/0002_change.py"),
    ]
    assert lint(load_project(paths, config), [rule]) == []
    # Only the second file: the table was released before.
    assert codes(lint(load_project(paths[1:], config), [rule])) == ["MIG501"]


# --- MIG502 / MIG503 -------------------------------------------------------------------------


def test_renames(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        migrations.RenameField(model_name="order", old_name="number", new_name="reference"),
        migrations.RenameModel(old_name="Order", new_name="Purchase"),
        migrations.AlterModelTable(name="purchase", table="sales_purchase"),
""",
    )
    assert codes(deploy(tmp_path)) == ["MIG502", "MIG503", "MIG503"]


def test_rename_that_keeps_the_column_is_safe(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        migrations.AlterField("order", "number", models.CharField(max_length=32, db_column="number")),
        migrations.RenameField("order", "number", "reference"),
        migrations.AlterModelTable("order", "orders_order"),
""",
    )
    assert deploy(tmp_path) == []


# --- MIG504 ----------------------------------------------------------------------------------


def test_type_changes_by_backend(tmp_path: Path) -> None:
    operations = """\
        migrations.AlterField("order", "number", models.CharField(max_length=64)),
        migrations.AlterField("order", "total", models.DecimalField(decimal_places=2, max_digits=12)),
        migrations.AlterField("order", "comment", models.CharField(max_length=500, null=True)),
        migrations.AlterField("order", "quantity", models.BigIntegerField(default=1)),
        migrations.AlterField("order", "id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
"""
    # PostgreSQL: wider varchar and more digits are catalogue-only; text -> varchar rewrites,
    # but it also narrows: MIG103 reports line 10 and says it rewrites the table.
    project(tmp_path / "pg", operations, "postgresql")
    assert [f.line for f in deploy(tmp_path / "pg", "MIG504")] == [11]
    project(tmp_path / "mysql", operations, "mysql")
    assert [f.line for f in deploy(tmp_path / "mysql", "MIG504")] == [8, 9, 11]
    project(tmp_path / "unset", operations)
    assert [f.line for f in deploy(tmp_path / "unset", "MIG504")] == [11]
    (narrowing,) = lint_tree(tmp_path / "unset", "MIG103")
    assert (
        narrowing.line == 10 and "rewrites the table under an exclusive lock" in narrowing.message
    )
    assert narrowing.fix is not None and "new column" in narrowing.fix
    # Without MIG103, MIG504 reports the rewrite.
    (tmp_path / "unset" / "pyproject.toml").write_text('[tool.miglint]\nignore = ["MIG103"]\n')
    assert [f.line for f in deploy(tmp_path / "unset", "MIG504")] == [10, 11]


def test_alter_field_without_type_change_is_quiet(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        migrations.AlterField("order", "number", models.CharField(max_length=32, help_text="Visible to the customer")),
        migrations.AlterField("order", "quantity", models.IntegerField(default=2, verbose_name="qty")),
        migrations.AlterField("order", "comment", models.TextField(blank=True)),
""",
        "mysql",
    )
    assert deploy(tmp_path, "MIG504") == []


# --- MIG505 ----------------------------------------------------------------------------------

INDEX = '        migrations.AddIndex("order", models.Index(fields=["number"], name="order_number_idx")),\n'


def test_add_index_needs_postgresql(tmp_path: Path) -> None:
    project(tmp_path / "pg", INDEX, "postgresql")
    (finding,) = deploy(tmp_path / "pg", "MIG505")
    assert "CONCURRENTLY" in finding.message and "AddIndexConcurrently" in (finding.fix or "")
    project(tmp_path / "sqlite", INDEX, "sqlite")
    assert deploy(tmp_path / "sqlite", "MIG505") == []
    project(tmp_path / "unset", INDEX)
    assert deploy(tmp_path / "unset", "MIG505") == []


def test_django_contrib_postgres_is_a_hint_for_postgresql(tmp_path: Path) -> None:
    project(
        tmp_path,
        INDEX
        + '        migrations.AddField("order", "tags", ArrayField(models.CharField(max_length=10), null=True)),\n',
        imports="from django.contrib.postgres.fields import ArrayField\n",
    )
    (finding,) = deploy(tmp_path, "MIG505")
    assert "guessed from django.contrib.postgres" in finding.message


def test_concurrent_index_in_a_non_atomic_migration_is_the_safe_recipe(tmp_path: Path) -> None:
    project(
        tmp_path,
        '        AddIndexConcurrently("order", models.Index(fields=["number"], name="order_number_idx")),\n'
        '        migrations.RunSQL("CREATE INDEX CONCURRENTLY IF NOT EXISTS order_total ON orders_order (total)",'
        ' "DROP INDEX CONCURRENTLY IF EXISTS order_total"),\n',
        "postgresql",
        atomic=False,
        imports="from django.contrib.postgres.operations import AddIndexConcurrently\n",
    )
    assert deploy(tmp_path) == []


def test_runsql_index_on_an_existing_table(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        migrations.RunSQL(
            sql=[
                "CREATE TABLE orders_archive (id bigint)",
                "CREATE INDEX archive_id ON orders_archive (id)",
                "CREATE INDEX order_total ON orders_order (total)",
            ],
            reverse_sql=["DROP TABLE orders_archive", "DROP INDEX order_total"],
        ),
""",
        "postgresql",
    )
    (finding,) = deploy(tmp_path, "MIG505")
    assert finding.line == 12 and "orders_order" in finding.message


def test_indexes_an_added_field_brings(tmp_path: Path) -> None:
    # MIG507's recipe (db_constraint=False) still builds the foreign key's index; a SlugField
    # is indexed unless told otherwise.
    project(
        tmp_path,
        '        migrations.AddField("order", "shop", models.ForeignKey(db_constraint=False, null=True, on_delete=models.CASCADE, to="auth.group")),\n'
        '        migrations.AddField("order", "slug", models.SlugField(null=True)),\n'
        '        migrations.AddField("order", "owner", models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=models.CASCADE, to="auth.user")),\n'
        '        migrations.AddField("order", "buyer", models.ForeignKey(null=True, on_delete=models.CASCADE, to="auth.user")),\n',
        "postgresql",
    )
    found = sorted((f.line, f.code) for f in deploy(tmp_path, "MIG505", "MIG507"))
    # The buyer's index is part of MIG507's finding on it.
    assert found == [(8, "MIG505"), (9, "MIG505"), (11, "MIG507")]


# --- MIG506 / MIG507 -------------------------------------------------------------------------


def test_unique_and_foreign_keys(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        migrations.AddField("order", "invoice", models.OneToOneField(null=True, on_delete=models.SET_NULL, to="auth.user")),
        migrations.AddConstraint("order", models.UniqueConstraint(fields=["number"], name="uniq_order_number")),
        migrations.AddConstraint("order", models.CheckConstraint(condition=models.Q(quantity__gte=0), name="qty_positive")),
""",
    )
    assert [(f.code, f.line) for f in deploy(tmp_path, "MIG506", "MIG507")] == [
        ("MIG506", 8),
        ("MIG507", 8),
        ("MIG506", 9),
    ]


def test_unique_with_a_default_always_fails(tmp_path: Path) -> None:
    project(
        tmp_path,
        '        migrations.AddField("order", "uuid", models.UUIDField(default=uuid.uuid4, unique=True)),\n',
        imports="import uuid\n",
    )
    (finding,) = deploy(tmp_path, "MIG506")
    assert finding.severity == Severity.ERROR and "same value" in finding.message


def test_foreign_key_not_reported_on_sqlite_nor_without_constraint(tmp_path: Path) -> None:
    fk = '        migrations.AddField("order", "owner", models.ForeignKey(null=True, on_delete=models.CASCADE, to="auth.user")),\n'
    project(tmp_path / "sqlite", fk, "sqlite")
    assert deploy(tmp_path / "sqlite", "MIG507") == []
    project(
        tmp_path / "pg", fk.replace("null=True", "null=True, db_constraint=False"), "postgresql"
    )
    assert deploy(tmp_path / "pg", "MIG507") == []


def test_two_step_foreign_key_in_runsql(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE orders_order ADD CONSTRAINT owner_fk FOREIGN KEY (owner_id) "
                    "REFERENCES auth_user (id) DEFERRABLE INITIALLY DEFERRED NOT VALID",
                    "ALTER TABLE orders_order DROP CONSTRAINT owner_fk",
                ),
            ],
            state_operations=[
                migrations.AlterField("order", "quantity", models.IntegerField(default=3)),
            ],
        ),
        migrations.RunSQL("ALTER TABLE orders_order VALIDATE CONSTRAINT owner_fk", migrations.RunSQL.noop),
""",
        "postgresql",
    )
    assert deploy(tmp_path) == []


# --- MIG508 ----------------------------------------------------------------------------------


def test_concurrent_operations_in_an_atomic_migration(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        RemoveIndexConcurrently("order", "order_number_idx"),
        migrations.RunSQL(
            sql="VACUUM ANALYZE orders_order",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS order_total",
        ),
""",
        imports="from django.contrib.postgres.operations import RemoveIndexConcurrently\n",
    )
    findings = deploy(tmp_path, "MIG508")
    assert [(f.line, f.severity) for f in findings] == [
        (9, Severity.ERROR),
        (11, Severity.ERROR),
        (12, Severity.ERROR),
    ]
    assert "reverse_sql" in findings[2].message


# --- MIG509 ----------------------------------------------------------------------------------


REMOVALS = """\
        migrations.RemoveField(model_name="order", name="number"),
        migrations.RemoveField(model_name="order", name="comment"),
        migrations.SeparateDatabaseAndState(state_operations=[migrations.RemoveField("order", "quantity")]),
"""


def test_remove_field_of_a_not_null_column_is_one_mig101_finding(tmp_path: Path) -> None:
    project(tmp_path, REMOVALS)
    findings = [f for f in lint_tree(tmp_path) if f.line == 8]
    assert [f.code for f in findings] == ["MIG101"]
    assert "NOT NULL with no database default" in findings[0].message
    assert findings[0].fix is not None and "null=True" in findings[0].fix
    # The nullable column loses its data, but inserts keep working.
    (nullable,) = [f for f in lint_tree(tmp_path) if f.line == 9]
    assert nullable.code == "MIG101" and "NOT NULL" not in nullable.message


def test_remove_field_without_mig101(tmp_path: Path) -> None:
    project(tmp_path, REMOVALS)
    (tmp_path / "pyproject.toml").write_text('[tool.miglint]\nignore = ["MIG101"]\n')
    (finding,) = deploy(tmp_path, "MIG509")
    assert finding.line == 8 and "Order.number" in finding.message
    (tmp_path / "pyproject.toml").write_text(
        '[tool.miglint.per-file-ignores]\n"orders/migrations/0002_*.py" = ["MIG101"]\n'
    )
    (finding,) = deploy(tmp_path, "MIG509")
    assert finding.line == 8


def test_remove_field_with_unknown_history_is_quiet(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "orders/migrations/0001_initial.py": INITIAL.replace(
                "migrations.CreateModel(", "build_model(", 1
            ).replace("from django.db", "from orders.utils import build_model\nfrom django.db"),
            "orders/migrations/0002_change.py": change(
                '        migrations.RemoveField("order", "number"),\n'
            ),
        },
    )
    assert deploy(tmp_path, "MIG509") == []


def test_unreadable_runsql_is_never_a_hazard(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunSQL(f"CREATE INDEX {NAME} ON orders_order (number)"),
        migrations.RunSQL("ALTER TABLE orders_order ADD COLUMN x int NOT NULL DEFAULT 'unterminated"),
""",
        "postgresql",
    )
    assert deploy(tmp_path) == []


def test_tables_created_in_the_diff_are_new(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.miglint]\ndatabase = "postgresql"\n',
            "orders/migrations/0001_initial.py": INITIAL,
        },
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*git, "-C", str(tmp_path), "add", "."], check=True)
    subprocess.run([*git, "-C", str(tmp_path), "commit", "-q", "-m", "base"], check=True)
    write_tree(
        tmp_path,
        {
            "orders/migrations/0002_invoice.py": change(
                '        migrations.CreateModel("Invoice", [("id", models.BigAutoField(primary_key=True))]),\n'
            ),
            "orders/migrations/0003_invoice_index.py": change(
                '        migrations.AddIndex("invoice", models.Index(fields=["id"], name="inv_idx")),\n'
                + INDEX
            ).replace('"0001_initial"', '"0002_invoice"'),
        },
    )
    in_diff = run_cli("--diff", "HEAD", "--select", "MIG505", "--format", "json", ".", cwd=tmp_path)
    assert in_diff.returncode != 2, in_diff.stderr
    reported = [(f["path"], f["line"]) for f in json.loads(in_diff.stdout)]
    # Invoice was created in the change: only the index on the released Order table counts.
    assert reported == [("orders/migrations/0003_invoice_index.py", 9)]
    everything = run_cli("--select", "MIG505", "--format", "json", ".", cwd=tmp_path)
    assert len(json.loads(everything.stdout)) == 2


def test_implicit_defaults_and_fields_of_other_packages(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        migrations.AddField("order", "slug", models.SlugField(blank=True)),
        migrations.AddField("order", "seen", models.DateTimeField(auto_now=True)),
        migrations.AddField("order", "code", oscar.models.fields.NullCharField(max_length=8)),
        migrations.AddField("order", "price", djmoney.models.fields.MoneyField(max_digits=8, null=False)),
""",
        imports="import djmoney.models.fields\nimport oscar.models.fields\n",
    )
    findings = deploy(tmp_path, "MIG501")
    assert [(f.line, f.severity) for f in findings] == [
        (10, Severity.WARNING),
        (11, Severity.WARNING),
        (13, Severity.ERROR),
    ]
    assert "an empty string as Django's implicit default" in findings[0].message
    assert "the current time" in findings[1].message


def test_runsql_state_operations_create_tables(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        migrations.RunSQL(
            "CREATE TABLE orders_refund (id bigserial PRIMARY KEY)",
            "DROP TABLE orders_refund",
            state_operations=[
                migrations.CreateModel("Refund", [("id", models.BigAutoField(primary_key=True))]),
            ],
        ),
        migrations.AddField("refund", "amount", models.IntegerField()),
""",
    )
    assert deploy(tmp_path) == []


def test_a_table_the_migration_then_drops_is_left_to_delete_model(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        migrations.AddField("order", "code", models.CharField(max_length=8, unique=True, default="")),
        migrations.AddIndex("order", models.Index(fields=["number"], name="order_number_idx")),
        migrations.RenameField("order", "total", "amount"),
        migrations.DeleteModel("Order"),
""",
        database="postgresql",
    )
    # The DROP TABLE also locks the table with no lock_timeout set: MIG513 (info) says so there.
    assert [(f.code, f.line) for f in lint_tree(tmp_path) if f.line > 1] == [
        ("MIG102", 11),
        ("MIG513", 11),
    ]


def test_a_concurrent_index_fails_in_an_atomic_migration_whatever_follows(tmp_path: Path) -> None:
    project(
        tmp_path,
        """\
        AddIndexConcurrently("order", models.Index(fields=["number"], name="order_number_idx")),
        migrations.DeleteModel("Order"),
""",
        imports="from django.contrib.postgres.operations import AddIndexConcurrently\n",
    )
    assert [f.code for f in deploy(tmp_path, "MIG508")] == ["MIG508"]


def test_primary_keys_and_foreign_keys_get_no_index_of_their_own(tmp_path: Path) -> None:
    # Multi-table inheritance introduced later: the old id becomes the parent link.
    project(
        tmp_path,
        """\
        migrations.AlterField("order", "id", models.OneToOneField(auto_created=True, on_delete=models.CASCADE, parent_link=True, primary_key=True, serialize=False, to="orders.basket")),
        migrations.AlterField("order", "number", models.ForeignKey(on_delete=models.CASCADE, to="orders.basket")),
        migrations.AlterField("order", "comment", models.TextField(blank=True, null=True, db_index=True)),
""",
        database="postgresql",
    )
    found = sorted((f.line, f.code) for f in deploy(tmp_path, "MIG502", "MIG505", "MIG507"))
    assert found == [
        (8, "MIG502"),
        (8, "MIG507"),
        (9, "MIG502"),
        (9, "MIG507"),
        (10, "MIG505"),
    ]


def test_a_database_default_set_by_runsql_in_the_same_migration(tmp_path: Path) -> None:
    # What db_default does, written by hand on projects before Django 5.0.
    project(
        tmp_path,
        """\
        migrations.AddField("order", "paid", models.BooleanField(default=False)),
        migrations.AddField("order", "channel", models.CharField(max_length=8, default="web")),
        migrations.AddField("order", "gift", models.NullBooleanField()),
        migrations.RunSQL(
            \"\"\"
            ALTER TABLE orders_order ALTER COLUMN paid SET DEFAULT false;
            ALTER TABLE orders_order ALTER COLUMN number SET DEFAULT '';
            \"\"\",
            migrations.RunSQL.noop,
        ),
""",
    )
    # Only `channel` loses its database default; NullBooleanField is nullable.
    assert [f.line for f in deploy(tmp_path, "MIG501")] == [9]


@pytest.mark.parametrize(
    ("config", "suggests_db_default", "suggests_runsql"),
    [
        ('django-version = "4.2"\n', False, True),
        ('django-version = "5.0"\n', True, False),
        ("", True, True),
    ],
)
def test_the_hint_fits_the_django_version(
    tmp_path: Path, config: str, suggests_db_default: bool, suggests_runsql: bool
) -> None:
    project(
        tmp_path,
        """\
        migrations.AddField("order", "paid", models.BooleanField(default=False)),
        migrations.AddField("order", "channel", models.CharField(max_length=8)),
""",
    )
    (tmp_path / "pyproject.toml").write_text("[tool.miglint]\n" + config)
    findings = deploy(tmp_path, "MIG501")
    assert len(findings) == 2
    for finding in findings:
        assert finding.fix is not None
        assert ("db_default" in finding.fix) is suggests_db_default
        assert ("SET DEFAULT" in finding.fix) is suggests_runsql
        if suggests_db_default and suggests_runsql:
            assert "on Django 5.0+" in finding.fix


# A legacy table that another system owns, read through an unmanaged model; a later
# migration brings the model in line with the table (as makemigrations writes it).
LEGACY_INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Ticket",
            fields=[("id", models.AutoField(primary_key=True, serialize=False))],
            options={"db_table": "ticket", "managed": False},
        ),
    ]
"""
LEGACY_FIELDS = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("legacy", "0001_initial")]

    operations = [
        migrations.AlterModelTable(name="ticket", table="ticket_view"),
        migrations.AddField("ticket", "summary", models.TextField()),
        migrations.AddField("ticket", "owner", models.CharField(max_length=50, unique=True)),
        migrations.AlterField("ticket", "id", models.BigIntegerField(primary_key=True, serialize=False)),
        migrations.AddIndex("ticket", models.Index(fields=["owner"], name="ticket_owner_idx")),
        migrations.RenameField("ticket", "summary", "title"),
    ]
"""


@pytest.mark.parametrize("managed", [False, True])
def test_operations_on_an_unmanaged_model_run_no_sql(tmp_path: Path, managed: bool) -> None:
    """Django's migrate turns away operations on unmanaged (and proxy) models: nothing is
    locked, rewritten or lost, so no deploy rule reports them. The same migrations on a
    managed model are reported."""
    initial = LEGACY_INITIAL if not managed else LEGACY_INITIAL.replace(', "managed": False', "")
    write_tree(
        tmp_path,
        {
            "legacy/migrations/0001_initial.py": initial,
            "legacy/migrations/0002_fields.py": LEGACY_FIELDS,
            "pyproject.toml": '[tool.miglint]\ndatabase = "postgresql"\n',
        },
    )
    codes = {f.code for f in lint_tree(tmp_path) if f.code.startswith("MIG5")}
    if managed:
        assert {"MIG501", "MIG502", "MIG504", "MIG505", "MIG506"} <= codes
    else:
        assert codes == set()
