"""Hostile migration files: each gives at most one MIG000 error (or warnings) for itself,
never a traceback, a crash or a hang, and the rest of the tree is still linted.

Each case runs `miglint` in its own process (a segfault or a hang in a parser would take a
test process down with it) with a generous timeout; a hang fails by TimeoutExpired.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import MIGRATION_HEADER, migration, write_tree

# Far above what any case needs on a slow machine; only a hang reaches it.
TIMEOUT = 120
BAD = "shop/migrations/0002_bad.py"
GOOD_APP = {
    "good/migrations/0001_initial.py": migration(
        operations="        migrations.RemoveField('item', 'price'),"
    ),
}
SHOP = {"shop/migrations/0001_initial.py": migration()}
VALID_HEAD = MIGRATION_HEADER + "class Migration(migrations.Migration):\n"
DEPENDS = "    dependencies = [('shop', '0001_initial')]\n"


def deep(text: str) -> bytes:
    return (VALID_HEAD + DEPENDS + text + "\n").encode()


CASES: dict[str, bytes] = {
    "syntax error": deep("    operations = [\n        migrations.RunSQL('x'\n"),
    "unclosed string": deep("    operations = ['''\n"),
    "tab and space mix": deep("    operations = []\n\tinitial = True"),
    "not utf-8": deep("    operations = []  # caf\xe9").replace(b"\xc3\xa9", b"\xe9"),
    "unknown coding": b"# -*- coding: klingon -*-\n" + deep("    operations = []"),
    "nul byte": deep("    operations = []\x00"),
    "binary junk": bytes(range(256)) * 64,
    "utf-16 without coding": deep("    operations = []").decode().encode("utf-16"),
    "bom then latin-1 coding": b"\xef\xbb\xbf# coding: latin-1\n" + deep("    operations = []"),
    "lone surrogate escape": deep("    operations = ['\\udc80']"),
    "50 MB": deep("    operations = []") + b"#" * (50 * 1024 * 1024) + b"\n",
    "10,000 nested brackets": deep("    operations = " + "[" * 10_000 + "]" * 10_000),
    "10,000 nested brackets, unclosed": deep("    operations = " + "[" * 10_000),
    "10,000 nested calls": deep("    operations = " + "f(" * 10_000 + ")" * 10_000),
    "10,000-deep attribute chain": deep("    operations = [a" + ".b" * 10_000 + "]"),
    "10,000-deep attribute chain and a syntax error": deep(
        "    operations = [a" + ".b" * 10_000 + "]\n    x = = 1"
    ),
    "10,000 subscripts and a syntax error": deep(
        "    operations = [a" + "[0]" * 10_000 + "]\n    x = = 1"
    ),
    "10,000 calls in a chain and a syntax error": deep(
        "    operations = [a" + "()" * 10_000 + "]\n    x = = 1"
    ),
    "10,000 additions and a syntax error": deep(
        "    operations = [a" + " + a" * 10_000 + "]\n    x = = 1"
    ),
    "10,000 adjacent strings and a syntax error": deep(
        "    operations = [" + "'a' " * 10_000 + "]\n    x = = 1"
    ),
    "10,000 nots and a syntax error": deep(
        "    operations = [" + "not " * 10_000 + "a]\n    x = = 1"
    ),
    "10,000 lambdas and a syntax error": deep(
        "    operations = [" + "lambda: " * 10_000 + "a]\n    x = = 1"
    ),
    "10,000 conditionals and a syntax error": deep(
        "    operations = [" + "a if b else " * 10_000 + "a]\n    x = = 1"
    ),
    "10,000 unary minus": deep("    operations = [" + "-" * 10_000 + "1]"),
    "10,000 powers": deep("    operations = [" + "2 ** " * 10_000 + "1]"),
    "10,000 string additions": deep("    operations = ['a'" + " + 'a'" * 10_000 + "]"),
    "200 indented blocks": deep(
        "".join("    " + " " * i + "if a:\n" for i in range(200)) + " " * 204 + "pass"
    ),
    "100,000-line list of numbers with a syntax error": deep(
        "    x = [\n" + "        1,\n" * 100_000 + "    ]\n    x = = 1"
    ),
    "empty file": b"",
    "only a comment": b"# nothing here\n",
    "no operations": deep(""),
    "class body is pass": (VALID_HEAD + "    pass\n").encode(),
    "operations is a number": deep("    operations = 3"),
    "operations is a string": deep("    operations = 'migrations.RemoveField()'"),
    "operations is a call": deep("    operations = build_operations()"),
    "operations is a dict": deep("    operations = {'a': migrations.RemoveField('a', 'b')}"),
    "operations contains junk": deep("    operations = [1, None, 'x', [2], lambda: 3, ...]"),
    "dependencies are not pairs": deep(
        "    dependencies = [('shop',), 'shop', 3, ('shop', '0001_initial', 'x'), None]\n"
        "    operations = []"
    ),
    "dependencies are numbers": deep("    dependencies = [(1, 2)]\n    operations = []"),
    "dependencies is a string": deep("    dependencies = 'shop'\n    operations = []"),
    "dependency names are not strings": deep(
        "    dependencies = [('shop', b'0001_initial'), (None, None), (shop, name)]\n"
        "    operations = []"
    ),
    "replaces is junk": deep("    replaces = 12\n    operations = []"),
    "run_before is junk": deep("    run_before = [[[]]]\n    operations = []"),
    "initial is not a bool": deep("    initial = 'yes'\n    atomic = 0\n    operations = []"),
    "operation names are not strings": deep(
        "    operations = [migrations.RemoveField(1, 2), migrations.DeleteModel(name=None),"
        " migrations.AddField(b'x', 3.5, field=7), migrations.RunSQL(sql=5, reverse_sql=[1])]"
    ),
    "operations with star arguments": deep(
        "    operations = [migrations.RemoveField(*args), migrations.AddField(**kw), *more]"
    ),
    "huge integers": deep("    operations = [migrations.AlterField('a', 'b', " + "9" * 5000 + ")]"),
    "constant folding bombs": deep(
        "    operations = [migrations.RunSQL('x' * 10 ** 12), migrations.RunSQL(2 ** 10 ** 9)]"
    ),
    "Migration nested in an if": deep("    operations = []").replace(
        b"class Migration", b"if True:\n  class Migration"
    ),
    "Migration is not a class": (MIGRATION_HEADER + "Migration = 3\n").encode(),
    "Migration is a function": (MIGRATION_HEADER + "def Migration():\n    pass\n").encode(),
    "two Migration classes": deep("    operations = []") + deep("    operations = []"),
    "Migration without a base": (
        MIGRATION_HEADER + "class Migration:\n    operations = []\n"
    ).encode(),
    "form feeds and carriage returns": deep("    operations = []\r\x0c\r\n\r"),
    "a line of 1 MB": deep("    operations = []  # " + "x" * 1024 * 1024),
    "newer syntax (3.12 type alias)": deep("    operations = []\ntype Ops = list[int]"),
}


def hostile_tree(root: Path, bad: bytes) -> Path:
    write_tree(root, {**GOOD_APP, **SHOP, BAD: bad})
    return root


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "miglint", "check", "--format", "json", "--fail-on", "never", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_file_gives_one_finding_and_the_rest_is_linted(tmp_path: Path, name: str) -> None:
    result = lint(hostile_tree(tmp_path, CASES[name]))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    findings = json.loads(result.stdout)
    mine = [f for f in findings if f["path"] == BAD]
    errors = [f for f in mine if f["code"] == "MIG000" and f["severity"] == "error"]
    assert len(errors) <= 1, errors
    assert all(f["code"] == "MIG000" or f["severity"] != "error" for f in mine) or not errors
    # The neighbours are still read: the good app's data loss is reported.
    assert any(f["path"] == "good/migrations/0001_initial.py" for f in findings), findings
    for finding in mine:
        assert finding["line"] >= 1 and finding["column"] >= 1
        assert len(finding["message"]) < 1000


@pytest.mark.parametrize(
    "name",
    [
        "syntax error",
        "not utf-8",
        "nul byte",
        "10,000 nested brackets",
        "10,000-deep attribute chain and a syntax error",
        "empty file",
    ],
)
def test_broken_files_are_reported_as_mig000_errors(tmp_path: Path, name: str) -> None:
    findings = json.loads(lint(hostile_tree(tmp_path, CASES[name])).stdout)
    errors = [f for f in findings if f["path"] == BAD and f["code"] == "MIG000"]
    assert [f["severity"] for f in errors] == ["error"]


def test_a_file_miglint_will_not_read_but_django_can_is_a_warning(tmp_path: Path) -> None:
    findings = json.loads(lint(hostile_tree(tmp_path, CASES["50 MB"])).stdout)
    [finding] = [f for f in findings if f["path"] == BAD and f["code"] == "MIG000"]
    assert finding["severity"] == "warning" and "too large" in finding["message"]


def test_messages_say_what_is_wrong(tmp_path: Path) -> None:
    expected = {
        "not utf-8": "not valid utf-8",
        "nul byte": "NUL byte",
        "50 MB": "too large",
        "unknown coding": "klingon",
        "10,000 nested brackets": "nested",
        "empty file": "no Migration class",
    }
    for name, words in expected.items():
        findings = json.loads(lint(hostile_tree(tmp_path / name, CASES[name])).stdout)
        messages = " ".join(f["message"] for f in findings if f["path"] == BAD)
        assert words.lower() in messages.lower(), (name, messages)


def test_a_pep_263_coding_line_is_honoured(tmp_path: Path) -> None:
    text = (
        "# -*- coding: latin-1 -*-\n"
        + MIGRATION_HEADER
        + "class Migration(migrations.Migration):\n"
        + "    operations = [migrations.RemoveField('caf\xe9', 'cr\xe8me')]\n"
    )
    findings = json.loads(lint(hostile_tree(tmp_path, text.encode("latin-1"))).stdout)
    mine = [f for f in findings if f["path"] == BAD]
    assert [f["code"] for f in mine if f["code"] == "MIG000"] == []
    assert any(f["code"] == "MIG101" and "crème" in f["message"] for f in mine), mine


def test_clean_files_with_odd_shapes_are_no_error(tmp_path: Path) -> None:
    for name in ("no operations", "form feeds and carriage returns", "a line of 1 MB"):
        findings = json.loads(lint(hostile_tree(tmp_path / name, CASES[name])).stdout)
        assert [f for f in findings if f["path"] == BAD and f["severity"] == "error"] == [], name


def test_a_100000_operation_migration_is_linted(tmp_path: Path) -> None:
    # 3.9 MB: within the 5 MB limit, so it is read, not refused.
    operations = "migrations.AlterModelOptions('i', {}),\n" * 100_000
    text = VALID_HEAD + DEPENDS + "    operations = [\n" + operations + "    ]\n"
    result = lint(hostile_tree(tmp_path, text.encode()))
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)
    assert [f for f in findings if f["path"] == BAD and f["code"] == "MIG000"] == []
    assert any(f["path"] == "good/migrations/0001_initial.py" for f in findings)


def test_many_bad_files_at_once(tmp_path: Path) -> None:
    """All the cases side by side in one tree: one run, each file judged on its own."""
    files = {**GOOD_APP, **SHOP}
    small = {name: data for name, data in CASES.items() if len(data) < 1024 * 1024}
    for number, data in enumerate(small.values(), start=2):
        files[f"shop/migrations/{number:04d}_case.py"] = data  # type: ignore[assignment]
    result = lint(write_tree(tmp_path, files))
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)
    per_file: dict[str, int] = {}
    for finding in findings:
        if finding["code"] == "MIG000" and finding["severity"] == "error":
            per_file[finding["path"]] = per_file.get(finding["path"], 0) + 1
    assert max(per_file.values()) == 1
    assert any(f["path"] == "good/migrations/0001_initial.py" for f in findings)
