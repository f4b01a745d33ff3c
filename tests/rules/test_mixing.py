"""MIG301 mixed-schema-and-data: migration text in, findings out."""

from __future__ import annotations

from pathlib import Path

import pytest

from miglint.core.finding import Finding, Severity
from tests.helpers import lint_tree, write_tree

PATH = "shop/migrations/0002_mixed.py"
HEADER = (
    "from django.db import migrations, models\n"
    "from django.db.migrations import AddField, RunPython\n\n\n"
    "def forwards(apps, schema_editor):\n    pass\n\n\n"
    "class Migration(migrations.Migration):\n"
    '    dependencies = [("shop", "0001_initial")]\n'
    "    operations = [\n"
)
FIRST_LINE = HEADER.count("\n") + 1
ADD_FIELD = 'migrations.AddField("order", "total", models.IntegerField(default=0))'
RUN_PYTHON = "migrations.RunPython(forwards, migrations.RunPython.noop)"


def lint(tmp_path: Path, operations: list[str]) -> list[Finding]:
    source = HEADER + "".join(f"        {op},\n" for op in operations) + "    ]\n"
    write_tree(tmp_path, {PATH: source})
    findings = lint_tree(tmp_path, "MIG301", "MIG000")
    assert not [f for f in findings if f.code == "MIG000"], "the example must parse"
    return findings


def test_runpython_next_to_add_field(tmp_path: Path) -> None:
    findings = lint(tmp_path, [ADD_FIELD, RUN_PYTHON])
    assert [(f.line, f.column, f.end_line, f.end_column) for f in findings] == [
        (FIRST_LINE + 1, 9, FIRST_LINE + 1, 9 + len(RUN_PYTHON))
    ]
    finding = findings[0]
    assert finding.severity is Severity.WARNING
    assert finding.rule == "mixed-schema-and-data"
    assert finding.message == (
        f"RunPython in the same migration as schema changes: AddField (line {FIRST_LINE})"
    )
    assert (
        finding.fix == "Move the data step (RunPython / data RunSQL) into a migration of its own."
    )


def test_one_finding_per_migration_naming_every_step_and_long_lists_are_cut(
    tmp_path: Path,
) -> None:
    operations = [
        'AddField("order", "a", models.IntegerField(null=True))',
        'migrations.AddIndex("order", models.Index(fields=["a"], name="a_idx"))',
        'migrations.AlterField("order", "b", models.IntegerField(null=True))',
        'migrations.RemoveField("order", "c")',
        "RunPython(code=forwards)",
        'migrations.RunSQL("UPDATE shop_order SET a = 1", migrations.RunSQL.noop)',
    ]
    (finding,) = lint(tmp_path, operations)
    assert finding.line - FIRST_LINE == 4
    assert finding.message == (
        "RunPython (and 1 more data step: line 17) in the same migration as schema changes: "
        "AddField (line 12), AddIndex (line 13), AlterField (line 14) and 1 more"
    )


@pytest.mark.parametrize(
    "sql",
    [
        '"UPDATE shop_order SET total = 0"',
        "\"  insert into shop_log (msg) values ('x')\"",
        '"DELETE FROM shop_cart WHERE created < now()"',
        '"-- backfill\\nUPDATE shop_order SET total = 0;"',
        '"/* a; b */ MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE"',
        '"SELECT 1; TRUNCATE shop_cart"',
        '["SELECT 1", "COPY shop_order FROM STDIN"]',
        '[("UPDATE shop_order SET status = %s", ["new"])]',
        '("UPDATE a SET b = 1;"\n         "UPDATE c SET d = 2;")',
        "sql=\"REPLACE INTO shop_setting VALUES ('a', 1)\"",
    ],
)
def test_runsql_that_changes_data(tmp_path: Path, sql: str) -> None:
    operations = [ADD_FIELD, f"migrations.RunSQL({sql}, reverse_sql=migrations.RunSQL.noop)"]
    assert [f.line - FIRST_LINE for f in lint(tmp_path, operations)] == [1]


@pytest.mark.parametrize(
    "sql",
    [
        "\"SELECT setval('shop_order_id_seq', 1000)\"",
        '"CREATE INDEX shop_order_total ON shop_order (total)"',
        "\"COMMENT ON COLUMN shop_order.total IS 'update; delete'\"",
        '"-- UPDATE shop_order SET total = 0\\nALTER TABLE shop_order ALTER total SET DEFAULT 0"',
        '"/* DELETE FROM x; */ DROP VIEW shop_totals"',
        '"CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN UPDATE t SET a = 1; RETURN NEW; END $$ '
        'LANGUAGE plpgsql"',
        '"CREATE FUNCTION g() RETURNS void AS $body$ DELETE FROM t; $body$ LANGUAGE sql"',
        "SQL_FROM_A_FILE",
        "migrations.RunSQL.noop",
        '""',
    ],
)
def test_runsql_that_does_not_change_data(tmp_path: Path, sql: str) -> None:
    operations = [ADD_FIELD, f"migrations.RunSQL({sql}, reverse_sql=migrations.RunSQL.noop)"]
    assert lint(tmp_path, operations) == []


def test_ddl_runsql_is_a_schema_change(tmp_path: Path) -> None:
    operations = ['migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN note text")', RUN_PYTHON]
    findings = lint(tmp_path, operations)
    assert [f.line - FIRST_LINE for f in findings] == [1]
    assert f"RunSQL (line {FIRST_LINE})" in findings[0].message


def test_one_runsql_with_both_alone_is_not_mixed_with_itself(tmp_path: Path) -> None:
    operations = ['migrations.RunSQL("CREATE TABLE t (a int); INSERT INTO t VALUES (1)")']
    assert lint(tmp_path, operations) == []


@pytest.mark.parametrize(
    "operations",
    [
        [RUN_PYTHON],
        [ADD_FIELD, 'migrations.AddField("order", "x", models.IntegerField(null=True))'],
        [
            "migrations.SeparateDatabaseAndState(state_operations=[" + ADD_FIELD + "])",
            RUN_PYTHON,
        ],
        ['migrations.AlterModelOptions("order", {"ordering": ["-id"]})', RUN_PYTHON],
        ['migrations.AlterModelManagers("order", [])', RUN_PYTHON],
        ['migrations.RunSQL("SELECT 1", state_operations=[' + ADD_FIELD + "])", RUN_PYTHON],
        ['myapp.operations.CustomOperation("order")', RUN_PYTHON],
    ],
)
def test_not_mixed(tmp_path: Path, operations: list[str]) -> None:
    assert lint(tmp_path, operations) == []


def test_database_operations_of_separate_database_and_state_count(tmp_path: Path) -> None:
    operations = [
        "migrations.SeparateDatabaseAndState(database_operations=[" + ADD_FIELD + "])",
        RUN_PYTHON,
    ]
    findings = lint(tmp_path, operations)
    assert [f.line - FIRST_LINE for f in findings] == [1]


def test_postgres_operations_are_schema_changes(tmp_path: Path) -> None:
    source = (
        "from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension\n"
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    atomic = False\n"
        "    operations = [\n"
        "        TrigramExtension(),\n"
        "        migrations.RunPython(forwards, migrations.RunPython.noop),\n"
        "    ]\n"
    )
    write_tree(tmp_path, {PATH: source})
    findings = lint_tree(tmp_path, "MIG301")
    assert [f.line for f in findings] == [9]
    assert "TrigramExtension (line 8)" in findings[0].message


def test_operations_joined_with_plus(tmp_path: Path) -> None:
    source = (
        "from django.db import migrations, models\n\n\n"
        "def forwards(apps, schema_editor):\n    pass\n\n\n"
        "SCHEMA = [migrations.AddField('order', 'x', models.IntegerField(null=True))]\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    operations = SCHEMA + [migrations.RunPython(forwards, migrations.RunPython.noop)]\n"
    )
    write_tree(tmp_path, {PATH: source})
    findings = lint_tree(tmp_path, "MIG301")
    assert [(f.line, f.column) for f in findings] == [(12, 28)]
    assert "AddField (line 8)" in findings[0].message


def test_a_noop_runpython_changes_no_data(tmp_path: Path) -> None:
    operations = [
        ADD_FIELD,
        "migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop, elidable=True)",
        "RunPython(code=RunPython.noop, reverse_code=forwards)",
    ]
    assert lint(tmp_path, operations) == []


def test_alter_field_that_runs_no_sql_is_not_a_schema_change(tmp_path: Path) -> None:
    initial = (
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    initial = True\n"
        "    operations = [\n"
        "        migrations.CreateModel(\n"
        '            name="Order",\n'
        "            fields=[\n"
        '                ("status", models.CharField(max_length=10, choices=[("n", "N")])),\n'
        '                ("code", models.CharField(max_length=10)),\n'
        "            ],\n"
        "        ),\n"
        "    ]\n"
    )
    cases = {
        # Only arguments Django keeps out of the database.
        "choices": (
            'migrations.AlterField("order", "status", models.CharField(max_length=10, '
            'choices=[("new", "New")], help_text="state", verbose_name="State", blank=True))',
            [],
        ),
        "length": (
            'migrations.AlterField("order", "status", models.CharField(max_length=20))',
            [1],
        ),
        "column": (
            'migrations.AlterField("order", "code", models.CharField(max_length=10, db_column="c"))',
            [1],
        ),
        "class": ('migrations.AlterField("order", "code", models.SlugField(max_length=10))', [1]),
        "unknown history": (
            'migrations.AlterField("order", "missing", models.CharField(max_length=10))',
            [1],
        ),
    }
    for name, (alter, expected) in cases.items():
        root = tmp_path / name.replace(" ", "_")
        source = HEADER + f"        {alter},\n        {RUN_PYTHON},\n    ]\n"
        write_tree(root, {"shop/migrations/0001_initial.py": initial, PATH: source})
        findings = lint_tree(root, "MIG301")
        assert [f.line - FIRST_LINE for f in findings] == expected, name


SETUP = """\
from django.db import migrations, models


def set_up(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '5s'")
    statement = "PRAGMA foreign_keys = OFF"
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(statement)
    {extra}


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.RunPython(set_up, migrations.RunPython.noop),
        migrations.AddField("order", "total", models.IntegerField(default=0)),
    ]
"""


@pytest.mark.parametrize(
    ("extra", "reported"),
    [
        ("pass", False),
        ("helper(schema_editor)", False),
        ('schema_editor.execute("UPDATE shop_order SET total = 0")', True),
        ('apps.get_model("shop", "Order").objects.update(total=0)', True),
        ("schema_editor.execute(build_sql())", True),
    ],
)
def test_a_runpython_that_only_sets_up_the_connection_changes_no_data(
    tmp_path: Path, extra: str, reported: bool
) -> None:
    helper = (
        '\n\ndef helper(schema_editor):\n    schema_editor.execute("SET search_path TO shop")\n'
    )
    write_tree(tmp_path, {PATH: SETUP.format(extra=extra) + helper})
    assert bool(lint_tree(tmp_path, "MIG301")) is reported
