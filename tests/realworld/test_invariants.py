"""The corpus checker itself: each invariant fails on the findings it is meant to reject."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import write_tree
from tests.realworld.invariants import Violation, check_project, sql_creates, sql_drops

SEVERITY = {"MIG000": "error", "MIG001": "error", "MIG004": "error", "MIG101": "error"}


def finding(
    code: str, path: str, line: int, column: int = 9, message: str = "", **extra: Any
) -> dict[str, Any]:
    return {
        "code": code,
        "rule": "rule",
        "severity": extra.pop("severity", SEVERITY.get(code, "warning")),
        "path": path,
        "line": line,
        "column": column,
        "end_line": line,
        "end_column": column + 1,
        "message": message,
        "app": extra.pop("app", "shop"),
        "migration": path.rpartition("/")[2].removesuffix(".py"),
        "fix": None,
        "edit": None,
    }


def graph_of(*paths: str, label: str = "shop") -> dict[str, Any]:
    """miglint's `graph --format json` for one app whose migrations apply in this order."""
    nodes = [{"name": p.rpartition("/")[2][:-3], "path": p} for p in paths]
    return {"apps": {label: {"path": label, "nodes": nodes, "leaves": [nodes[-1]["name"]]}}}


def migration(*operations: str, extra: str = "", header: str = "") -> str:
    """A migration file whose operations start on line 6 (FIRST), one per line."""
    body = "".join(f"        {op},\n" for op in operations)
    return (
        f"from django.db import migrations, models\n{header}\n\n"
        f"class Migration(migrations.Migration):\n"
        f"    operations = [\n{body}    ]\n{extra}"
    )


FIRST = 6


def invariants(violations: list[Violation]) -> list[tuple[str, str, int]]:
    return [(v.invariant, v.path, v.line) for v in violations]


# --- MIG401, MIG004, MIG000 --------------------------------------------------------------


def test_any_missing_migration_and_a_broken_squash_error_are_violations(tmp_path: Path) -> None:
    findings = [
        finding("MIG401", "shop/models.py", 4),
        finding("MIG004", "shop/migrations/0002_squashed.py", 5),
        finding("MIG004", "shop/migrations/0003_squashed.py", 5, severity="warning"),
    ]
    assert invariants(check_project(tmp_path, findings)) == [
        ("MIG401", "shop/models.py", 4),
        ("MIG004", "shop/migrations/0002_squashed.py", 5),
    ]


@pytest.mark.parametrize(
    ("source", "violates"),
    [
        # Parses, defines Migration: Django loads it, so it is no parse error.
        (migration('migrations.RunSQL("SELECT 1", "SELECT 1")'), True),
        # Syntax newer than Python 3.11 that libcst reads (PEP 758), Migration class inside.
        (
            "from django.db import migrations\n\ntry:\n    import x\nexcept ImportError, ValueError:\n"
            "    x = None\n\n\nclass Migration(migrations.Migration):\n    operations = []\n",
            True,
        ),
        ("class Migration(:\n", False),  # a real syntax error
        ("import os\n", False),  # no Migration class
        (  # a dependency Django's loader rejects
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
            '    dependencies = [("shop", "0001", "extra")]\n    operations = []\n',
            False,
        ),
        (b"class Migration:\n    x = '\0'\n", False),  # NUL byte: not loadable
    ],
)
def test_a_parse_error_on_a_loadable_file_is_a_violation(
    tmp_path: Path, source: str | bytes, violates: bool
) -> None:
    path = tmp_path / "shop/migrations/0002_x.py"
    path.parent.mkdir(parents=True)
    path.write_bytes(source if isinstance(source, bytes) else source.encode())
    findings = [
        finding("MIG000", "shop/migrations/0002_x.py", 1),
        finding("MIG000", "shop/migrations/0002_x.py", 2, severity="warning"),
    ]
    found = [v for v in check_project(tmp_path, findings) if v.invariant == "MIG000"]
    assert bool(found) is violates


# --- Duplicates --------------------------------------------------------------------------

REMOVALS = migration(
    'migrations.RemoveField(model_name="order", name="a")',
    'migrations.RemoveField(model_name="order", name="b")',
)


def test_remove_field_and_not_null_removal_on_one_operation_are_one_hazard(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path, {"shop/migrations/0002_x.py": REMOVALS})
    path = "shop/migrations/0002_x.py"
    one = [finding("MIG101", path, 6), finding("MIG509", path, 6)]
    assert invariants(check_project(tmp_path, one)) == [("duplicate", path, 6)]
    two = [finding("MIG101", path, 6), finding("MIG509", path, 7)]
    assert check_project(tmp_path, two) == []


def test_narrowing_and_type_change_on_one_alter_field_are_one_hazard(tmp_path: Path) -> None:
    source = migration(
        'migrations.AlterField(\n            model_name="order",\n            name="code",\n'
        "            field=models.CharField(max_length=5),\n        )"
    )
    write_tree(tmp_path, {"shop/migrations/0002_x.py": source})
    path = "shop/migrations/0002_x.py"
    # The findings point at different lines of the same operation.
    found = check_project(tmp_path, [finding("MIG103", path, 6), finding("MIG504", path, 9)])
    assert [(v.invariant, v.codes) for v in found] == [("duplicate", ("MIG103", "MIG504"))]


LOOPS = """\
from django.db import migrations


def forwards(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    for order in Order.objects.all():
        order.total = 1
        order.save()
    for item in Order.objects.filter(x=1):
        for line in item.lines.all():
            line.save()


class Migration(migrations.Migration):
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
"""


def test_save_in_loop_and_unbatched_loop_on_one_loop_are_one_hazard(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shop/migrations/0002_x.py": LOOPS})
    path = "shop/migrations/0002_x.py"
    same = [finding("MIG603", path, 6, 5), finding("MIG602", path, 8, 9)]
    assert invariants(check_project(tmp_path, same)) == [("duplicate", path, 6)]
    # MIG603 on the outer loop, MIG602 in the inner one: two loops, two hazards.
    nested = [finding("MIG603", path, 9, 5), finding("MIG602", path, 11, 13)]
    assert check_project(tmp_path, nested) == []


def test_the_same_code_twice_at_one_place_is_a_duplicate(tmp_path: Path) -> None:
    path = "shop/migrations/0002_x.py"
    write_tree(tmp_path, {path: REMOVALS})
    found = check_project(
        tmp_path,
        [
            finding("MIG104", path, 6, 9, "RunSQL drops column a of shop_order"),
            finding("MIG104", path, 6, 9, "RunSQL drops column b of shop_order"),
            finding("MIG104", path, 7, 9, "RunSQL drops column c of shop_order"),
        ],
    )
    assert [(v.invariant, v.line, v.why) for v in found] == [
        ("duplicate", 6, "2 MIG104 findings at one place")
    ]


def test_irreversibility_is_reported_once_per_migration(tmp_path: Path) -> None:
    one, other = "shop/migrations/0002_x.py", "shop/migrations/0003_y.py"
    write_tree(tmp_path, {one: REMOVALS, other: REMOVALS})
    found = check_project(
        tmp_path,
        [
            finding("MIG202", one, 6),
            finding("MIG202", one, 7),
            finding("MIG201", one, 7),
            finding("MIG202", other, 6),
        ],
    )
    assert [(v.invariant, v.path, v.codes) for v in found] == [("duplicate", one, ("MIG202",))]


def test_conflicting_leaves_are_reported_once_per_app(tmp_path: Path) -> None:
    findings = [
        finding("MIG001", "shop/migrations/0003_a.py", 1),
        finding("MIG001", "shop/migrations/0003_b.py", 1),
        finding("MIG001", "blog/migrations/0002_a.py", 1, app="blog"),
    ]
    assert invariants(check_project(tmp_path, findings)) == [
        ("duplicate", "shop/migrations/0003_a.py", 1)
    ]


def test_column_findings_on_a_model_the_migration_then_deletes_are_duplicates(
    tmp_path: Path,
) -> None:
    path = "shop/migrations/0002_x.py"
    source = migration(
        'migrations.RemoveField(model_name="order", name="a")',
        'migrations.RemoveField(model_name="item", name="a")',
        'migrations.DeleteModel(name="Order")',
    )
    write_tree(tmp_path, {path: source})
    found = check_project(
        tmp_path,
        [finding("MIG101", path, 6), finding("MIG101", path, 7), finding("MIG102", path, 8)],
    )
    assert invariants(found) == [("duplicate", path, 6)]
    assert "order" in found[0].why


# --- Contradictions ----------------------------------------------------------------------

STATE_ONLY_REMOVAL = migration(
    "migrations.SeparateDatabaseAndState(\n"
    '            state_operations=[migrations.RemoveField(model_name="order", name="note")],\n'
    "        )",
    "migrations.SeparateDatabaseAndState(\n"
    '            state_operations=[migrations.DeleteModel(name="Tag")],\n'
    "        )",
)
CREATE = migration(
    'migrations.CreateModel(name="Order", fields=[("note", models.TextField())])',
    'migrations.CreateModel(name="Tag", fields=[("orders", models.ManyToManyField("Order"))], '
    'options={"db_table": "tags"})',
)
DROPS = migration(
    'migrations.RunSQL("ALTER TABLE shop_order DROP COLUMN note", migrations.RunSQL.noop)',
    'migrations.RunSQL("DROP TABLE tags_orders; DROP TABLE tags", migrations.RunSQL.noop)',
    'migrations.RunSQL("ALTER TABLE shop_order DROP COLUMN total", migrations.RunSQL.noop)',
)


def test_dropping_what_an_earlier_migration_removed_from_the_state_is_not_data_loss(
    tmp_path: Path,
) -> None:
    paths = [f"shop/migrations/{n}.py" for n in ("0001_initial", "0002_state", "0003_drop")]
    write_tree(tmp_path, dict(zip(paths, (CREATE, STATE_ONLY_REMOVAL, DROPS), strict=True)))
    findings = [
        finding("MIG104", paths[2], 6, message="RunSQL drops column note of shop_order"),
        finding("MIG104", paths[2], 7, message="RunSQL drops table tags_orders"),
        finding("MIG104", paths[2], 7, 40, message="RunSQL drops table tags"),
        finding("MIG104", paths[2], 8, message="RunSQL drops column total of shop_order"),
    ]
    found = check_project(tmp_path, findings, graph_of(*paths))
    assert [(v.invariant, v.line) for v in found] == [
        ("contradiction", 6),
        ("contradiction", 7),
        ("contradiction", 7),
    ]
    assert "removed from the state only" in found[0].why
    # Without the graph the order is unknown: nothing is claimed.
    assert check_project(tmp_path, findings) == []
    # The same drops in a project that never removed them from the state: data loss.
    write_tree(tmp_path, {paths[1]: migration()})
    assert check_project(tmp_path, findings, graph_of(*paths)) == []


def test_dropping_a_helper_table_the_same_sql_created_is_not_data_loss(tmp_path: Path) -> None:
    path = "shop/migrations/0002_x.py"
    sql = "CREATE TABLE tmp_keys (id int); INSERT INTO tmp_keys SELECT id FROM shop_order; DROP TABLE tmp_keys"
    write_tree(tmp_path, {path: migration(f'migrations.RunSQL("{sql}", "")')})
    findings = [finding("MIG104", path, 6, message="RunSQL drops table tmp_keys: rows are lost")]
    found = check_project(tmp_path, findings, graph_of(path))
    assert [(v.invariant, v.why.split(":")[0]) for v in found] == [
        ("contradiction", "tmp_keys was created by this migration")
    ]


@pytest.mark.parametrize(
    ("code", "operation", "extra", "violates"),
    [
        ("MIG201", "migrations.RunPython(f, migrations.RunPython.noop)", "", True),
        ("MIG201", "migrations.RunPython(f, reverse_code=g)", "", True),
        ("MIG201", "migrations.RunPython(f)", "", False),
        ("MIG201", "migrations.RunPython(f, None)", "", False),
        ("MIG202", 'migrations.RunSQL("DELETE FROM t", "")', "", True),
        ("MIG202", 'migrations.RunSQL("DELETE FROM t")', "", False),
        ("MIG501", 'migrations.AddField("o", "n", models.IntegerField(db_default=0))', "", True),
        ("MIG501", 'migrations.AddField("o", "n", models.IntegerField(null=True))', "", True),
        ("MIG501", 'migrations.AddField("o", "n", models.IntegerField(default=0))', "", False),
        ("MIG505", 'AddIndexConcurrently("o", models.Index(fields=["n"], name="i"))', "", True),
        ("MIG505", 'migrations.AddIndex("o", models.Index(fields=["n"], name="i"))', "", False),
        (
            "MIG507",
            'migrations.AddField("o", "c", models.ForeignKey("C", models.CASCADE, db_constraint=False))',
            "",
            True,
        ),
        (
            "MIG507",
            'migrations.AddField("o", "c", models.ForeignKey("C", models.CASCADE))',
            "",
            False,
        ),
        (
            "MIG508",
            'AddIndexConcurrently("o", models.Index(fields=["n"], name="i"))',
            "    atomic = False\n",
            True,
        ),
        ("MIG508", 'AddIndexConcurrently("o", models.Index(fields=["n"], name="i"))', "", False),
        ("MIG301", "migrations.RunPython(f, g)", "", True),
        ("MIG301", "CryptoExtension()", "", False),
        (
            "MIG101",
            'migrations.SeparateDatabaseAndState(state_operations=[migrations.RemoveField("o", "n")])',
            "",
            True,
        ),
        (
            "MIG101",
            'migrations.SeparateDatabaseAndState(database_operations=[migrations.RemoveField("o", "n")])',
            "",
            False,
        ),
    ],
)
def test_a_finding_on_code_that_follows_the_rules_fix_is_a_contradiction(
    tmp_path: Path, code: str, operation: str, extra: str, violates: bool
) -> None:
    path = "shop/migrations/0002_x.py"
    operations = [operation]
    if code == "MIG301" and not violates:
        operations.append("migrations.RunPython(f, g)")
    source = migration(
        *operations, extra=extra, header="from x import AddIndexConcurrently, CryptoExtension, f, g"
    )
    write_tree(tmp_path, {path: source})
    line = next(n for n, text in enumerate(source.splitlines(), 1) if "operations = [" in text) + 1
    found = check_project(tmp_path, [finding(code, path, line)], graph_of(path))
    assert [v.invariant for v in found] == (["contradiction"] if violates else [])


def test_not_null_removal_after_making_the_field_nullable_is_a_contradiction(
    tmp_path: Path,
) -> None:
    paths = [f"shop/migrations/{n}.py" for n in ("0001_initial", "0002_nullable", "0003_remove")]
    write_tree(
        tmp_path,
        {
            paths[0]: migration('migrations.CreateModel("Order", [("n", models.IntegerField())])'),
            paths[1]: migration(
                'migrations.AlterField("order", "n", models.IntegerField(null=True))'
            ),
            paths[2]: migration('migrations.RemoveField("order", "n")'),
        },
    )
    findings = [finding("MIG509", paths[2], 6)]
    assert invariants(check_project(tmp_path, findings, graph_of(*paths))) == [
        ("contradiction", paths[2], 6)
    ]
    assert check_project(tmp_path, findings, graph_of(paths[0], paths[2])) == []


def test_unbatched_loop_over_an_iterator_is_a_contradiction(tmp_path: Path) -> None:
    source = LOOPS.replace("Order.objects.all()", "Order.objects.all().iterator(chunk_size=500)")
    path = "shop/migrations/0002_x.py"
    write_tree(tmp_path, {path: source})
    found = check_project(tmp_path, [finding("MIG603", path, 6, 5)])
    assert [v.invariant for v in found] == ["contradiction"]


def test_rename_model_with_an_explicit_table_is_a_contradiction(tmp_path: Path) -> None:
    paths = ["shop/migrations/0001_initial.py", "shop/migrations/0002_rename.py"]
    write_tree(
        tmp_path,
        {
            paths[0]: migration(
                'migrations.CreateModel("Order", [], options={"db_table": "orders"})'
            ),
            paths[1]: migration('migrations.RenameModel("Order", "Purchase")'),
        },
    )
    found = check_project(tmp_path, [finding("MIG503", paths[1], 6)], graph_of(*paths))
    assert [v.invariant for v in found] == ["contradiction"]


# --- SQL reading -------------------------------------------------------------------------


def test_sql_drops_reads_columns_and_tables_but_not_constraints() -> None:
    sql = (
        'ALTER TABLE "shop_order" DROP CONSTRAINT c, DROP COLUMN IF EXISTS note, DROP "total";\n'
        "DROP TABLE IF EXISTS public.tags, shop_item CASCADE;\n"
        "ALTER TABLE shop_item ALTER COLUMN x DROP NOT NULL, DROP DEFAULT"
    )
    assert sql_drops(sql) == (
        {("shop_order", "note"), ("shop_order", "total")},
        {"tags", "shop_item"},
    )
    assert sql_creates("CREATE TEMP TABLE IF NOT EXISTS a AS SELECT 1; SELECT * INTO b FROM c") == {
        "a",
        "b",
    }


@pytest.mark.parametrize(
    ("before", "alter", "violates"),
    [
        # A default: Django writes it into the NULL rows before adding NOT NULL.
        ("", 'migrations.AlterField("order", "n", models.IntegerField(default=0))', True),
        # A data step earlier in the same migration fills the NULLs.
        (
            "migrations.RunPython(fill, migrations.RunPython.noop)",
            'migrations.AlterField("order", "n", models.IntegerField())',
            True,
        ),
        (
            'migrations.RunSQL("UPDATE shop_order SET n = 0 WHERE n IS NULL", "")',
            'migrations.AlterField("order", "n", models.IntegerField())',
            True,
        ),
        # Nothing fills them.
        ("", 'migrations.AlterField("order", "n", models.IntegerField())', False),
        (
            'migrations.RunSQL("SELECT 1", "")',
            'migrations.AlterField("order", "n", models.IntegerField())',
            False,
        ),
    ],
)
def test_not_null_after_filling_the_nulls_is_a_contradiction(
    tmp_path: Path, before: str, alter: str, violates: bool
) -> None:
    paths = ["shop/migrations/0001_initial.py", "shop/migrations/0002_not_null.py"]
    operations = [op for op in (before, alter) if op]
    write_tree(
        tmp_path,
        {
            paths[0]: migration(
                'migrations.CreateModel("Order", [("n", models.IntegerField(null=True))])'
            ),
            paths[1]: migration(*operations, header="from x import fill"),
        },
    )
    message = (
        "AlterField makes shop.Order.n NOT NULL (nullable in shop.0001_initial) with no default"
    )
    findings = [finding("MIG103", paths[1], FIRST + len(operations) - 1, message=message)]
    found = check_project(tmp_path, findings, graph_of(*paths))
    assert [v.invariant for v in found] == (["contradiction"] if violates else [])


def test_not_null_after_a_data_step_in_an_earlier_migration_is_a_contradiction(
    tmp_path: Path,
) -> None:
    paths = [f"shop/migrations/{n}.py" for n in ("0001_initial", "0002_fill", "0003_not_null")]
    write_tree(
        tmp_path,
        {
            paths[0]: migration(
                'migrations.CreateModel("Order", [("n", models.IntegerField(null=True))])'
            ),
            paths[1]: migration(
                "migrations.RunPython(fill, migrations.RunPython.noop)", header="from x import fill"
            ),
            paths[2]: migration('migrations.AlterField("order", "n", models.IntegerField())'),
        },
    )
    findings = [finding("MIG103", paths[2], FIRST, message="AlterField makes ... NOT NULL")]
    assert [v.invariant for v in check_project(tmp_path, findings, graph_of(*paths))] == [
        "contradiction"
    ]
    # The data step ran before the field became nullable: its NULLs are not filled.
    order = graph_of(paths[1], paths[0], paths[2])
    assert check_project(tmp_path, findings, order) == []


def test_renaming_a_field_whose_column_stays_is_a_contradiction(tmp_path: Path) -> None:
    paths = ["shop/migrations/0001_initial.py", "shop/migrations/0002_rename.py"]
    fields = '[("code", models.TextField(db_column="legacy_code")), ("tmp", models.UUIDField(null=True))]'
    write_tree(
        tmp_path,
        {
            paths[0]: migration(f'migrations.CreateModel("Order", {fields})'),
            paths[1]: migration(
                'migrations.RenameField("order", "code", "sku")',
                'migrations.RenameField("order", "tmp", "ref")',
                # The rename made the column `ref`: db_column="ref_id" renames it again (a
                # true MIG502); the same AlterField once more keeps the column (no rename).
                'migrations.AlterField("order", "ref", models.UUIDField(db_column="ref_id"))',
                'migrations.AlterField("order", "ref", models.UUIDField(db_column="ref_id"))',
            ),
        },
    )
    findings = [finding("MIG502", paths[1], FIRST + n) for n in range(4)]
    found = check_project(tmp_path, findings, graph_of(*paths))
    assert [(v.invariant, v.line) for v in found] == [
        ("contradiction", FIRST),
        ("contradiction", FIRST + 3),
    ]


@pytest.mark.parametrize(
    ("code", "sql", "violates"),
    [
        ("MIG505", "CREATE INDEX CONCURRENTLY i ON shop_order (n)", True),
        ("MIG505", "CREATE INDEX i ON shop_order (n)", False),
        (
            "MIG506",
            "CREATE UNIQUE INDEX CONCURRENTLY u ON shop_order (n); "
            "ALTER TABLE shop_order ADD CONSTRAINT u UNIQUE USING INDEX u",
            True,
        ),
        ("MIG506", "ALTER TABLE shop_order ADD CONSTRAINT u UNIQUE (n)", False),
        (
            "MIG507",
            "ALTER TABLE shop_order ADD CONSTRAINT f FOREIGN KEY (c) REFERENCES c (id) NOT VALID",
            True,
        ),
        ("MIG507", "ALTER TABLE shop_order VALIDATE CONSTRAINT f", True),
        (
            "MIG507",
            "ALTER TABLE shop_order ADD CONSTRAINT f FOREIGN KEY (c) REFERENCES c (id)",
            False,
        ),
    ],
)
def test_sql_written_as_the_deploy_fix_says_is_a_contradiction(
    tmp_path: Path, code: str, sql: str, violates: bool
) -> None:
    path = "shop/migrations/0002_x.py"
    write_tree(tmp_path, {path: migration(f'migrations.RunSQL("{sql}", "")')})
    found = check_project(tmp_path, [finding(code, path, FIRST)], graph_of(path))
    assert [v.invariant for v in found] == (["contradiction"] if violates else [])
