"""Odd but parseable migrations never crash the operation rules (MIG101-MIG301)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import lint_tree, migration, write_tree

CODES = ("MIG101", "MIG102", "MIG103", "MIG201", "MIG202", "MIG301")
OPERATIONS = (
    "CreateModel",
    "DeleteModel",
    "RenameModel",
    "AlterModelOptions",
    "AddField",
    "RemoveField",
    "AlterField",
    "RenameField",
    "RunPython",
    "RunSQL",
    "SeparateDatabaseAndState",
)
ATOMS = st.sampled_from(
    [
        '"product"',
        '"Product"',
        '"name"',
        "None",
        "0",
        "-1",
        "True",
        "b'x'",
        "NAME",
        "f(x)",
        "lambda: 1",
        '"UPDATE t SET a = 1; -- x"',
        '"ALTER TABLE t ADD b int /* ; */; \'"',
        '"$$ unterminated"',
        "migrations.RunPython.noop",
        "models.CharField(max_length=10)",
        "models.CharField(max_length=-5, null=True)",
        "models.DecimalField(max_digits='a', decimal_places=None)",
        "models.IntegerField(*a)",
        "{'managed': False, 1: 2}",
        "{**options}",
        "[('name', models.TextField()), ('x',), 5]",
    ]
)


def values(depth: int = 2) -> st.SearchStrategy[str]:
    if depth == 0:
        return ATOMS
    inner = values(depth - 1)
    return st.one_of(
        ATOMS,
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(inner, max_size=3).map(lambda items: "(" + "".join(i + ", " for i in items) + ")"),
        calls(depth - 1),
    )


def calls(depth: int) -> st.SearchStrategy[str]:
    names = st.sampled_from(OPERATIONS)
    keywords = st.sampled_from(
        [
            "name",
            "model_name",
            "field",
            "fields",
            "options",
            "code",
            "reverse_code",
            "sql",
            "reverse_sql",
            "state_operations",
            "database_operations",
            "old_name",
            "new_name",
        ]
    )
    arguments = st.lists(values(depth) if depth else ATOMS, max_size=3)
    keyword_arguments = st.dictionaries(keywords, values(depth) if depth else ATOMS, max_size=3)
    return st.builds(
        lambda name, args, kwargs: (
            f"migrations.{name}("
            + ", ".join([*args, *(f"{k}={v}" for k, v in kwargs.items())])
            + ")"
        ),
        names,
        arguments,
        keyword_arguments,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(calls(2), max_size=4), min_size=1, max_size=3))
def test_odd_operations_never_crash(migrations_operations: list[list[str]]) -> None:
    files = {}
    previous = None
    for number, operations in enumerate(migrations_operations, start=1):
        name = f"{number:04d}_m"
        files[f"shop/migrations/{name}.py"] = migration(
            dependencies=f'("shop", "{previous}")' if previous else "",
            operations="".join(f"        {op},\n" for op in operations),
        )
        previous = name
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_tree(root, files)
        findings = lint_tree(root, "MIG000", *CODES)
    # Every file is readable Python: only the operation rules may speak.
    assert all(f.code in CODES or f.severity.name == "WARNING" for f in findings)
