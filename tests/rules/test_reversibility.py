"""MIG201 runpython-no-reverse and MIG202 runsql-no-reverse: migration text in, findings out,
checked against what Django itself calls irreversible."""

from __future__ import annotations

from pathlib import Path

from miglint.core.finding import Finding, Severity
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
    """All `operations` in one migration."""
    source = HEADER + "".join(f"        {op},\n" for op in operations) + "    ]\n"
    write_tree(tmp_path, {PATH: source})
    findings = lint_tree(tmp_path, "MIG000", *codes)
    assert not [f for f in findings if f.code == "MIG000"], "the example must parse"
    return findings


def lint_each(tmp_path: Path, operations: list[str], *codes: str) -> list[int]:
    """Each operation in a migration of its own: which ones (0-based) have findings."""
    files = {
        f"shop/migrations/{index:04}_op.py": HEADER + f"        {op},\n    ]\n"
        for index, op in enumerate(operations)
    }
    write_tree(tmp_path, files)
    findings = lint_tree(tmp_path, "MIG000", *codes)
    assert not [f for f in findings if f.code == "MIG000"], "the examples must parse"
    assert all(f.line == FIRST_LINE for f in findings)
    return sorted(int(Path(f.path).name[:4]) for f in findings)


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
    operations = [op for op, _ in RUNPYTHON]
    assert lint_each(tmp_path, operations, "MIG201") == [
        i for i, (_, bad) in enumerate(RUNPYTHON) if bad
    ]


def test_runsql_without_reverse(tmp_path: Path) -> None:
    operations = [op for op, _ in RUNSQL]
    assert lint_each(tmp_path, operations, "MIG202") == [
        i for i, (_, bad) in enumerate(RUNSQL) if bad
    ]


def test_one_finding_per_migration_at_the_first_operation_naming_the_others(
    tmp_path: Path,
) -> None:
    findings = lint(tmp_path, [op for op, _ in RUNPYTHON], "MIG201")
    (finding,) = findings
    assert finding.severity is Severity.ERROR
    # Django's rollback stops at the first irreversible operation of the migration.
    assert (finding.line, finding.column, finding.end_line, finding.end_column) == (
        FIRST_LINE,
        9,
        FIRST_LINE,
        39,
    )
    bad = [FIRST_LINE + i for i, (_, flag) in enumerate(RUNPYTHON) if flag]
    assert finding.message == (
        "RunPython with no reverse_code (and 5 more RunPython operations without one: lines "
        + ", ".join(str(line) for line in bad[1:])
        + "): rolling back shop.0002_data raises IrreversibleError, which blocks every "
        "rollback past it"
    )
    assert finding.fix is not None and "migrations.RunPython.noop" in finding.fix


def test_a_long_list_of_operations_is_cut_short(tmp_path: Path) -> None:
    findings = lint(tmp_path, ['migrations.RunSQL("SELECT 1")'] * 18, "MIG202")
    (finding,) = findings
    assert "(and 17 more RunSQL operations without one: lines " in finding.message
    assert " and 12 more): rolling back" in finding.message
    (single,) = lint(tmp_path, ["migrations.RunSQL('SELECT 1', reverse_sql=None)"], "MIG202")
    assert single.message.startswith("RunSQL with reverse_sql=None: rolling back shop.0002_data")


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
    # Each finding stands for its operation and the lines its message names.
    named = set()
    for finding in findings:
        named.add(finding.line - FIRST_LINE)
        if "lines " in finding.message or "line " in finding.message:
            listed = finding.message.split("line", 1)[1].split(")", 1)[0].lstrip("s ")
            named.update(int(n) - FIRST_LINE for n in listed.split(", "))
    assert sorted(named) == [i for i, flag in enumerate(irreversible) if flag]
