"""Bad configuration: exit status 2 and one line naming the file, the key and the reason;
never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import migration, write_tree

MIGLINT = Path(sys.executable).with_name("miglint")

# pyproject.toml text -> words the one-line error must contain (besides the file name).
CASES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "invalid TOML": (b"[tool.miglint\nselect = [\n", ("invalid TOML",)),
    "unclosed list": (b"[tool.miglint]\nselect = [\n", ("invalid TOML",)),
    "not UTF-8": (b"[tool.miglint]\nselect = ['\xff']\n", ("invalid TOML", "UTF-8")),
    "deeply nested": (b"[tool.miglint]\nx = " + b"[" * 5000 + b"]" * 5000, ("invalid TOML",)),
    "unknown key": (b"[tool.miglint]\nbogus = 1\n", ("tool.miglint.bogus", "unknown setting")),
    "unknown code": (b"[tool.miglint]\nselect = ['MIG999']\n", ("tool.miglint.select", "MIG999")),
    "unknown ignore code": (b"[tool.miglint]\nignore = ['XYZ']\n", ("tool.miglint.ignore", "XYZ")),
    "select is a number": (b"[tool.miglint]\nselect = 3\n", ("tool.miglint.select", "list")),
    "select has numbers": (b"[tool.miglint]\nselect = [1]\n", ("tool.miglint.select", "list")),
    "severity level is a number": (
        b"[tool.miglint]\nseverity = {MIG101 = 7}\n",
        ("tool.miglint.severity.MIG101", "severity"),
    ),
    "severity of an unknown code": (
        b"[tool.miglint]\nseverity = {MIG999 = 'error'}\n",
        ("tool.miglint.severity", "MIG999"),
    ),
    "severity is a string": (b"[tool.miglint]\nseverity = 'error'\n", ("tool.miglint.severity",)),
    "per-file-ignores is a number": (
        b"[tool.miglint]\nper-file-ignores = 5\n",
        ("tool.miglint.per-file-ignores", "table"),
    ),
    "per-file-ignores entry is not a list": (
        b"[tool.miglint.per-file-ignores]\n'a/*' = 3\n",
        ("tool.miglint.per-file-ignores.a/*", "list"),
    ),
    "per-file-ignores unknown code": (
        b"[tool.miglint.per-file-ignores]\n'a/*' = ['NOPE']\n",
        ("per-file-ignores.a/*", "NOPE"),
    ),
    "exclude is a string": (b"[tool.miglint]\nexclude = 'x'\n", ("tool.miglint.exclude", "list")),
    "fail-on is a number": (b"[tool.miglint]\nfail-on = 3\n", ("tool.miglint.fail-on", "3")),
    "fail-on unknown": (b"[tool.miglint]\nfail_on = 'sometimes'\n", ("fail_on", "sometimes")),
    "database unknown": (b"[tool.miglint]\ndatabase = 'access'\n", ("database", "access")),
    "miglint is not a table": (b"[tool]\nmiglint = 3\n", ("tool.miglint", "table")),
    "tool is not a table": (b"tool = 3\n[x]\n", ("tool", "table")),
}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MIGLINT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )


def project(root: Path, config: bytes, name: str = "pyproject.toml") -> Path:
    write_tree(root, {"shop/migrations/0001_initial.py": migration(), name: config})
    return root


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("miglint: error: "), lines
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_pyproject(tmp_path: Path, name: str) -> None:
    text, words = CASES[name]
    project(tmp_path, text)
    # Searched for, a pyproject.toml counts only with a [tool.miglint...] header in it.
    given = () if b"[tool.miglint" in text else ("--config", "pyproject.toml")
    result = run("check", *given, ".", cwd=tmp_path)
    assert_one_line_error(result, "pyproject.toml", *words)


@pytest.mark.parametrize(
    "name", ["invalid TOML", "unknown key", "select is a number", "severity level is a number"]
)
def test_a_bad_miglint_toml_given_with_config(tmp_path: Path, name: str) -> None:
    text, words = CASES[name]
    project(tmp_path, text, "conf/miglint.toml")
    result = run("check", "--config", "conf/miglint.toml", ".", cwd=tmp_path)
    assert_one_line_error(result, "conf/miglint.toml", *words[1:])


def test_a_pyproject_without_a_miglint_table_is_not_a_config(tmp_path: Path) -> None:
    result = run("check", ".", cwd=project(tmp_path, b"tool = 3\n[project]\nname = 1\n"))
    assert result.returncode == 0, result.stderr


def test_a_config_path_that_is_a_folder(tmp_path: Path) -> None:
    project(tmp_path, b"", "conf/empty.txt")
    assert_one_line_error(run("--config", "conf", ".", cwd=tmp_path), "conf", "folder")


def test_a_config_path_that_does_not_exist(tmp_path: Path) -> None:
    project(tmp_path, b"", "x.txt")
    assert_one_line_error(run("--config", "nope.toml", ".", cwd=tmp_path), "nope.toml", "not found")


def test_a_config_path_that_is_a_fifo(tmp_path: Path) -> None:
    project(tmp_path, b"", "x.txt")
    os.mkfifo(tmp_path / "fifo.toml")
    assert_one_line_error(run("--config", "fifo.toml", ".", cwd=tmp_path), "fifo.toml")


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--select", "MIG999"), ("--ignore", "NOPE"), ("--select", "MIG1,,BAD"), ("--fail-on", "x")],
)
def test_bad_command_line_settings(tmp_path: Path, flag: str, value: str) -> None:
    project(tmp_path, b"", "x.txt")
    result = run("check", f"{flag}={value}", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert flag in result.stderr or value in result.stderr


def test_a_pyproject_folder_and_a_fifo_are_not_configs(tmp_path: Path) -> None:
    """Found while searching upward, neither a folder nor a FIFO blocks or breaks the run."""
    write_tree(tmp_path, {"shop/migrations/0001_initial.py": migration()})
    (tmp_path / "pyproject.toml").mkdir()
    os.mkfifo(tmp_path / "miglint.toml")
    result = run("check", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "No problems found.\n"
