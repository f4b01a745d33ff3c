"""MIG104 destructive-sql on RunSQL as real projects write it."""

from __future__ import annotations

from pathlib import Path

from miglint.core.finding import Finding, Severity
from miglint.project.config import Config
from miglint.project.load import load_project
from miglint.run.lint import lint
from tests.helpers import lint_tree, write_tree


def runsql_migration(body: str, header: str = "") -> str:
    return (
        "from django.db import migrations\n"
        + header
        + "\n\nclass Migration(migrations.Migration):\n"
        + '    dependencies = [("shop", "0001_initial")]\n\n'
        + f"    operations = [\n{body}    ]\n"
    )


INITIAL = (
    "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
    "    initial = True\n    operations = []\n"
)


def mig104(tmp_path: Path, body: str, header: str = "") -> list[Finding]:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_sql.py": runsql_migration(body, header),
        },
    )
    return lint_tree(tmp_path, "MIG104")


def test_points_at_the_line_of_each_statement(tmp_path: Path) -> None:
    findings = mig104(
        tmp_path,
        '''\
        migrations.RunSQL(
            """
            -- Old rows were migrated in 0001; DROP TABLE shop_legacy would lose the audit log.
            UPDATE shop_product SET price = 0 WHERE price IS NULL;
            DELETE FROM shop_cart;
            TRUNCATE shop_session;
            ALTER TABLE shop_product DROP COLUMN legacy_code, DROP CONSTRAINT legacy_check;
            UPDATE shop_product SET currency = 'EUR';
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
''',
    )
    assert [(f.line, f.column, f.severity) for f in findings] == [
        (12, 13, Severity.ERROR),
        (13, 13, Severity.ERROR),
        (14, 13, Severity.ERROR),
        (15, 13, Severity.WARNING),
    ]
    assert "deletes every row of shop_cart" in findings[0].message
    assert "legacy_code" in findings[2].message
    assert "currency" in findings[3].message


def test_list_of_statements_and_params(tmp_path: Path) -> None:
    findings = mig104(
        tmp_path,
        """\
        migrations.RunSQL(
            [
                ("DELETE FROM shop_price WHERE valid_until < %s", ["2020-01-01"]),
                ("DROP TABLE IF EXISTS shop_price_backup", None),
                "DROP SCHEMA IF EXISTS staging CASCADE",
            ],
            migrations.RunSQL.noop,
        ),
""",
    )
    assert [(f.line, f.message.split(":")[0]) for f in findings] == [
        (11, "RunSQL drops table shop_price_backup"),
        (12, "RunSQL drops schema staging and every table in it"),
    ]


def test_reverse_sql_is_not_checked(tmp_path: Path) -> None:
    assert (
        mig104(
            tmp_path,
            """\
        migrations.RunSQL(
            "CREATE TABLE shop_stats (day date PRIMARY KEY, orders int)",
            "DROP TABLE shop_stats",
        ),
""",
        )
        == []
    )


def test_tables_created_in_the_migration_may_be_dropped(tmp_path: Path) -> None:
    body = """\
        migrations.CreateModel(name="Import", fields=[("id", models.AutoField(primary_key=True))]),
        migrations.RunSQL(
            [
                "CREATE TEMPORARY TABLE tmp_ids AS SELECT id FROM shop_product",
                "DELETE FROM shop_import",
                "DROP TABLE tmp_ids",
            ],
            migrations.RunSQL.noop,
        ),
"""
    assert mig104(tmp_path, body, header="from django.db import models\n") == []


def test_functions_comments_and_quoted_names_are_not_statements(tmp_path: Path) -> None:
    body = '''\
        migrations.RunSQL(
            sql="""
            /* DROP TABLE shop_product; */
            CREATE OR REPLACE FUNCTION shop_purge() RETURNS trigger AS $purge$
            BEGIN
                DELETE FROM shop_log WHERE created < now() - interval '30 days';
                DELETE FROM shop_cache;
                RETURN NULL;
            END;
            $purge$ LANGUAGE plpgsql;
            DO $$ BEGIN TRUNCATE shop_tmp; END $$;
            UPDATE "delete" SET "drop" = 1 WHERE id = 1;
            INSERT INTO shop_note (text) VALUES ('DROP TABLE shop_product; DELETE FROM x');
            COMMENT ON TABLE shop_product IS 'never TRUNCATE this';
            """,
            reverse_sql="DROP FUNCTION shop_purge()",
        ),
'''
    assert mig104(tmp_path, body) == []


def test_unreadable_sql_is_not_reported(tmp_path: Path) -> None:
    body = """\
        migrations.RunSQL(CLEANUP_SQL, migrations.RunSQL.noop),
        migrations.RunSQL(f"DELETE FROM {TABLE}", migrations.RunSQL.noop),
        migrations.RunSQL("DELETE FROM shop_x WHERE note = 'unterminated", migrations.RunSQL.noop),
        migrations.RunSQL("DELIMITER //\\nCREATE PROCEDURE p() BEGIN DELETE FROM t; END //", ""),
"""
    header = "from shop.sql import CLEANUP_SQL\n"
    assert mig104(tmp_path, body, header=header + 'TABLE = "t"\n') == []


def test_separate_database_and_state(tmp_path: Path) -> None:
    findings = mig104(
        tmp_path,
        """\
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL("DROP TABLE shop_old", migrations.RunSQL.noop)],
            state_operations=[],
        ),
""",
    )
    assert [f.line for f in findings] == [9]


def test_sql_in_module_constants(tmp_path: Path) -> None:
    header = (
        'FORWARD = """\nUPDATE shop_product SET active = true WHERE active IS NULL;\n"""\n'
        'CLEANUP = ["DELETE FROM shop_session", "VACUUM shop_session"]\n'
        'BACKWARD = "DROP TABLE shop_product"\n'
    )
    findings = mig104(
        tmp_path,
        """\
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunSQL(sql=CLEANUP, reverse_sql=migrations.RunSQL.noop),
""",
        header=header,
    )
    assert [(f.line, f.message.split(" (")[0]) for f in findings] == [
        (14, "RunSQL deletes every row of shop_session")
    ]


# The recipe MIG101 and MIG102 recommend: out of the model state first, dropped later.
SHOP = (
    "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
    "    initial = True\n    operations = [\n"
    "        migrations.CreateModel(\n"
    '            "Product",\n'
    "            [\n"
    '                ("id", models.AutoField(primary_key=True)),\n'
    '                ("legacy_code", models.CharField(max_length=20, null=True)),\n'
    '                ("maker", models.ForeignKey(null=True, on_delete=models.SET_NULL, to="shop.maker")),\n'
    '                ("tags", models.ManyToManyField(to="shop.tag")),\n'
    '                ("kept", models.TextField(null=True)),\n'
    "            ],\n"
    "        ),\n"
    '        migrations.CreateModel("Wishlist", [("id", models.AutoField(primary_key=True))], '
    'options={"db_table": "shop_wishes"}),\n'
    "    ]\n"
)
STATE_ONLY = """\
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField("product", "legacy_code"),
                migrations.RemoveField("product", "maker"),
                migrations.RemoveField("product", "tags"),
                migrations.DeleteModel("Wishlist"),
            ],
        ),
"""
DROPS = '''\
        migrations.RunSQL(
            """
            ALTER TABLE shop_product DROP COLUMN legacy_code, DROP COLUMN maker_id;
            DROP TABLE shop_product_tags;
            DROP TABLE shop_wishes;
            ALTER TABLE shop_product DROP COLUMN kept;
            """,
            migrations.RunSQL.noop,
        ),
'''


def _recipe(tmp_path: Path, files: dict[str, str], *named: str) -> list[Finding]:
    write_tree(tmp_path, {"shop/migrations/0001_initial.py": SHOP, **files})
    if not named:
        return lint_tree(tmp_path, "MIG104")
    project = load_project([str(tmp_path / path) for path in named], Config(root=str(tmp_path)))
    return [f for f in lint(project) if f.code == "MIG104"]


def test_dropping_what_an_earlier_migration_took_out_of_the_state_is_the_last_step(
    tmp_path: Path,
) -> None:
    files = {
        "shop/migrations/0002_state.py": runsql_migration(STATE_ONLY),
        "shop/migrations/0003_drop.py": runsql_migration(DROPS).replace(
            '"0001_initial"', '"0002_state"'
        ),
    }
    (finding,) = _recipe(tmp_path, files)
    # Only the column that is still in the model state is data the code may use.
    assert finding.message == "RunSQL drops column kept of shop_product: its values are lost"


def test_dropping_in_the_same_migration_or_the_same_change_is_not_the_recipe(
    tmp_path: Path,
) -> None:
    together = {"shop/migrations/0002_both.py": runsql_migration(STATE_ONLY + DROPS)}
    assert len(_recipe(tmp_path / "one", together)) == 4
    files = {
        "shop/migrations/0002_state.py": runsql_migration(STATE_ONLY),
        "shop/migrations/0003_drop.py": runsql_migration(DROPS).replace(
            '"0001_initial"', '"0002_state"'
        ),
    }
    # Both files in the change under review: they deploy together, old code still running.
    named = ("shop/migrations/0002_state.py", "shop/migrations/0003_drop.py")
    assert len(_recipe(tmp_path / "two", files, *named)) == 4
    assert len(_recipe(tmp_path / "two", files, named[1])) == 1


HELPER_TABLE = '''\
        migrations.RunSQL(
            """
            DROP TABLE IF EXISTS shop_price_snapshot;
            CREATE TABLE shop_price_snapshot AS SELECT id, price FROM shop_product;
            UPDATE shop_product SET price = price * 2 WHERE id IN (SELECT id FROM shop_price_snapshot);
            DROP TABLE shop_price_snapshot;
            """,
            migrations.RunSQL.noop,
        ),
'''


def test_a_helper_table_only_this_migration_creates_may_be_dropped_before_and_after(
    tmp_path: Path,
) -> None:
    # The first DROP removes a leftover of an earlier, failed run of this very migration.
    assert mig104(tmp_path, HELPER_TABLE) == []


def test_recreating_a_table_that_another_migration_created_loses_its_rows(tmp_path: Path) -> None:
    earlier = runsql_migration(
        '        migrations.RunSQL("CREATE TABLE shop_price_snapshot (id int)", "DROP TABLE shop_price_snapshot"),\n'
    )
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_snapshot.py": earlier,
            "shop/migrations/0003_sql.py": runsql_migration(HELPER_TABLE).replace(
                '"0001_initial"', '"0002_snapshot"'
            ),
        },
    )
    (finding,) = lint_tree(tmp_path, "MIG104")
    assert finding.path.endswith("0003_sql.py") and finding.line == 10
    assert "drops table shop_price_snapshot" in finding.message


def test_values_copied_elsewhere_first_are_not_lost(tmp_path: Path) -> None:
    findings = mig104(
        tmp_path,
        '''\
        migrations.RunSQL(
            """
            INSERT INTO shop_archive (id, code, label) SELECT id, code, name FROM shop_item;
            ALTER TABLE shop_item DROP COLUMN code, DROP COLUMN name, DROP COLUMN price;
            CREATE TABLE shop_old_log AS SELECT * FROM shop_log;
            DROP TABLE shop_log;
            INSERT INTO shop_group (SELECT id, name, '' AS note FROM auth_group);
            DELETE FROM auth_group;
            DELETE FROM shop_cart;
            """,
            migrations.RunSQL.noop,
        ),
''',
    )
    assert [f.message for f in findings] == [
        "RunSQL drops column price of shop_item: its values are lost",
        "RunSQL deletes every row of shop_cart (DELETE without WHERE)",
    ]
