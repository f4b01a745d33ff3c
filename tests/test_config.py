"""`[tool.miglint]`: where it is found, what it changes, and how bad settings are reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from miglint.core.finding import Severity
from miglint.project.config import Config, ConfigError, find_config_file, load_config, path_matches
from tests.helpers import migration, run_cli, write_tree

KNOWN = {"MIG000", "MIG001", "MIG002", "MIG101", "MIG301"}

CONFLICT = {
    "shop/migrations/0001_initial.py": migration(),
    "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
    "shop/migrations/0002_sku.py": migration(dependencies='("shop", "0001_initial")'),
}


def write_config(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_nearest_pyproject_with_a_miglint_table_wins(tmp_path: Path) -> None:
    write_config(tmp_path / "pyproject.toml", "[tool.miglint]\nignore = ['MIG301']\n")
    inner = tmp_path / "backend"
    inner.mkdir()
    write_config(inner / "pyproject.toml", "[project]\nname = 'x'\n")
    assert find_config_file(str(inner)) == str(tmp_path / "pyproject.toml")
    write_config(inner / "miglint.toml", "ignore = ['MIG101']\n")
    assert find_config_file(str(inner)) == str(inner / "miglint.toml")


def test_settings_are_read(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "pyproject.toml",
        """
[tool.miglint]
select = ["MIG0", "MIG101"]
ignore = ["mig002"]
severity = { MIG001 = "warning" }
exclude = ["legacy"]
fail-on = "warning"
database = "postgresql"

[tool.miglint.per-file-ignores]
"*/migrations/0001_*.py" = ["MIG101"]
""",
    )
    config = load_config(path, KNOWN)
    assert config.select == ("MIG0", "MIG101") and config.ignore == ("MIG002",)
    assert config.enabled("MIG001") and not config.enabled("MIG002")
    assert not config.enabled("MIG301")
    assert config.severity_of("MIG001", Severity.ERROR) is Severity.WARNING
    assert config.fail_on == "warning" and config.database == "postgresql"
    assert config.ignored_for_path("MIG101", str(tmp_path / "shop/migrations/0001_initial.py"))
    assert not config.ignored_for_path("MIG101", str(tmp_path / "shop/migrations/0002_x.py"))
    assert config.excluded(str(tmp_path / "src" / "legacy"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[tool.miglint]\nselect = ['MIG999']\n", "MIG999"),
        ("[tool.miglint]\nselec = ['MIG101']\n", "selec"),
        ("[tool.miglint]\nselect = 3\n", "select"),
        ("[tool.miglint]\nfail-on = 'sometimes'\n", "fail-on"),
        ("[tool.miglint]\nseverity = { MIG101 = 'fatal' }\n", "MIG101"),
        ("[tool.miglint]\ndatabase = 'mongodb'\n", "database"),
        ("[tool.miglint]\nignore = ['remove-feild']\n", "remove-feild"),
        ("[tool.miglint]\nmigration-modules = ['dojo']\n", "migration-modules"),
        ("[tool.miglint]\nmigration-modules = { dojo = 'dojo/db' }\n", "dojo"),
        ("[tool.miglint.per-file-ignores]\n'x' = 5\n", "per-file-ignores"),
        ("[tool.miglint\n", "invalid TOML"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write_config(tmp_path / "pyproject.toml", text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, KNOWN)
    assert expected in str(raised.value)
    assert str(tmp_path / "pyproject.toml") in str(raised.value)


def test_glob_matching() -> None:
    assert path_matches("a/legacy/b.py", "legacy")
    assert path_matches("shop/migrations/0001_initial.py", "shop/migrations/*")
    assert path_matches("shop/migrations/0001_initial.py", "shop")
    assert not path_matches("shop/migrations/0001_initial.py", "billing/*")
    assert path_matches("x/shop/migrations/0001_a.py", "*/migrations/0001_*.py")


def test_config_changes_what_the_cli_reports(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    assert run_cli(".", cwd=tmp_path).returncode == 1
    write_config(tmp_path / "pyproject.toml", "[tool.miglint]\nseverity = { MIG001 = 'warning' }\n")
    result = run_cli("--format", "json", ".", cwd=tmp_path)
    assert result.returncode == 0
    assert {row["severity"] for row in json.loads(result.stdout)} == {"warning"}
    assert run_cli(".", "--fail-on", "warning", cwd=tmp_path).returncode == 1


def test_config_found_from_the_first_path(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_tree(project, CONFLICT)
    write_config(project / "pyproject.toml", "[tool.miglint]\nignore = ['MIG001']\n")
    assert run_cli("project", cwd=tmp_path).returncode == 0


def test_exclude_skips_folders(tmp_path: Path) -> None:
    write_tree(tmp_path / "legacy", CONFLICT)
    write_config(tmp_path / "pyproject.toml", "[tool.miglint]\nexclude = ['legacy']\n")
    result = run_cli(".", cwd=tmp_path)
    assert result.returncode == 0 and "No Django migrations found" in result.stdout


def test_per_file_ignores_from_the_cli(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    write_config(
        tmp_path / "pyproject.toml",
        "[tool.miglint.per-file-ignores]\n'shop/migrations/0002_*.py' = ['MIG001']\n",
    )
    assert run_cli(".", cwd=tmp_path).returncode == 0


def test_explicit_config_file(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    write_config(tmp_path / "ci.toml", "ignore = ['MIG001']\n")
    assert run_cli(".", "--config", "ci.toml", cwd=tmp_path).returncode == 0
    missing = run_cli(".", "--config", "nope.toml", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.toml" in missing.stderr


def test_cli_flags_override_the_file(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    write_config(tmp_path / "pyproject.toml", "[tool.miglint]\nfail-on = 'never'\n")
    assert run_cli(".", cwd=tmp_path).returncode == 0
    assert run_cli(".", "--fail-on", "error", cwd=tmp_path).returncode == 1


def test_defaults() -> None:
    config = Config()
    assert config.enabled("MIG101") and config.fail_on == "error"


def test_rule_names_stand_for_their_codes(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    assert run_cli(".", "--ignore", "conflicting-leaves", cwd=tmp_path).returncode == 0
    assert run_cli(".", "--select", "remove-field", cwd=tmp_path).returncode == 0
    write_config(
        tmp_path / "pyproject.toml",
        "[tool.miglint]\nignore = ['conflicting-leaves']\n"
        "[tool.miglint.per-file-ignores]\n'legacy/*' = ['remove-field']\n",
    )
    assert run_cli(".", cwd=tmp_path).returncode == 0
    names = {"MIG001": "conflicting-leaves", "MIG101": "remove-field"}
    config = load_config(str(tmp_path / "pyproject.toml"), names)
    assert config.ignore == ("MIG001",)


def test_migration_modules_are_read(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "pyproject.toml",
        "[tool.miglint]\nmigration-modules = { dojo = 'dojo.db_migrations' }\n",
    )
    assert load_config(path, KNOWN).migration_modules == (("dojo", "dojo.db_migrations"),)
