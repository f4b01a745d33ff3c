"""MIG201 runpython-no-reverse and MIG202 runsql-no-reverse: migration text in, findings out,
checked against what Django itself calls irreversible."""

from __future__ import annotations

from pathlib import Path

from miglint.finding import Finding, Severity
from tests.django_oracle import run_django
from tests.helpers import lint_tree, write_tree

PATH = "shop/migrations/0002_data.py"
HEADER = (
    "import functools\n\n"
    "from django.db import migrations\n"
    "from django.db.migrations import RunPython, RunSQL\n\n\n"
    "def forwards(apps, schema_editor):\n    pass\n\n\n"
    "def backwards(apps, schema_editor):\n    pass\n\n\n"
    "class Migration(migrations.Migration):\n"
    "    operations = [\n"
)
FIRST_LINE = HEADER.count("\n") + 1


def lint(tmp_path: Path, operations: list[str], *codes: str) -> list[Finding]:
    source = HEADER + "".join(f"        {op},\n" for op in operations) + "    ]\n"
    write_tree(tmp_path, {PATH: source})
    findings = lint_tree(tmp_path, "MIG000", *codes)
    assert not [f for f in findings if f.code == "MIG000"], "the example must parse"
    return findings


def lines(findings: list[Finding]) -> list[int]:
    """Which operations (0-based, one per line) have findings."""
    return [f.line - FIRST_LINE for f in findings]


RUNPYTHON = [
    ("migrations.RunPython(forwards)", True),
    ("RunPython(code=forwards)", True),
    ("migrations.RunPython(forwards, reverse_code=None)", True),
    ("migrations.RunPython(forwards, None)", True),
    ("migrations.RunPython(functools.partial(forwards), atomic=False)", True),
    ("migrations.RunPython(forwards, migrations.RunPython.noop)", False),
    ("RunPython(forwards, RunPython.noop)", False),
    ("RunPython(code=forwards, reverse_code=backwards)", False),
    ("migrations.RunPython(forwards, lambda apps, schema_editor: None)", False),
    ("migrations.RunPython(forwards, functools.partial(backwards))", False),
    (
        "migrations.SeparateDatabaseAndState(database_operations=[migrations.RunPython(forwards)])",
        True,
    ),
    # State operations never run, forwards or backwards.
    (
        "migrations.SeparateDatabaseAndState(state_operations=[migrations.RunPython(forwards)])",
        False,
    ),
]
RUNSQL = [
    ('migrations.RunSQL("UPDATE shop_product SET active = true; DELETE FROM shop_cart;")', True),
    ('RunSQL(sql=["SELECT 1", "SELECT 2"])', True),
    ('migrations.RunSQL([("UPDATE t SET a = %s", [1])], reverse_sql=None)', True),
    ('migrations.RunSQL("SELECT 1", migrations.RunSQL.noop)', False),
    ('RunSQL("SELECT 1", reverse_sql=RunSQL.noop)', False),
    ('migrations.RunSQL("CREATE INDEX i ON t (a)", "DROP INDEX i")', False),
    ('migrations.RunSQL(["SELECT 1"], reverse_sql=[])', False),
    ('migrations.RunSQL("SELECT 1", "")', False),
    (
        'migrations.SeparateDatabaseAndState(database_operations=[migrations.RunSQL("SELECT 1")])',
        True,
    ),
]


def test_runpython_without_reverse(tmp_path: Path) -> None:
    findings = lint(tmp_path, [op for op, _ in RUNPYTHON], "MIG201")
    assert lines(findings) == [i for i, (_, bad) in enumerate(RUNPYTHON) if bad]
    assert {f.severity for f in findings} == {Severity.ERROR}
    first = findings[0]
    assert (first.line, first.column, first.end_line, first.end_column) == (
        FIRST_LINE,
        9,
        FIRST_LINE,
        39,
    )
    assert first.message == (
        "RunPython with no reverse_code: rolling back shop.0002_data raises IrreversibleError, "
        "which blocks every rollback past it; pass reverse_code "
        "(migrations.RunPython.noop when there is nothing to undo)"
    )
    assert "reverse_code=None" in findings[2].message
    # Inside SeparateDatabaseAndState the finding points at the RunPython itself.
    nested = findings[-1]
    assert (
        nested.column
        == len("        migrations.SeparateDatabaseAndState(database_operations=[") + 1
    )


def test_runsql_without_reverse(tmp_path: Path) -> None:
    findings = lint(tmp_path, [op for op, _ in RUNSQL], "MIG202")
    assert lines(findings) == [i for i, (_, bad) in enumerate(RUNSQL) if bad]
    assert {f.severity for f in findings} == {Severity.ERROR}
    assert findings[0].message.startswith("RunSQL with no reverse_sql: rolling back shop.0002_data")
    assert "reverse_sql=None" in findings[2].message


def test_unknown_arguments_are_not_guessed(tmp_path: Path) -> None:
    operations = ["migrations.RunPython(*ARGS)", "migrations.RunSQL(**OPTIONS)"]
    assert lint(tmp_path, operations, "MIG201", "MIG202") == []


ORACLE = """
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import SeparateDatabaseAndState
loader = MigrationLoader(None, ignore_no_migrations=True)
node = loader.graph.nodes[("shop", "0002_data")]
flags = []
for operation in node.operations:
    inner = operation.database_operations if isinstance(operation, SeparateDatabaseAndState) else [operation]
    flags.append(not all(op.reversible for op in inner))
print(json.dumps(flags))
"""


def test_agrees_with_django(tmp_path: Path) -> None:
    operations = [op for op, _ in RUNPYTHON + RUNSQL]
    findings = lint(tmp_path, operations, "MIG201", "MIG202")
    (tmp_path / "shop" / "__init__.py").touch()
    irreversible = run_django(tmp_path, ORACLE, apps=["shop"])
    assert lines(findings) == [i for i, flag in enumerate(irreversible) if flag]
