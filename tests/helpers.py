"""Build small projects on disk and lint them, as a user's tree would be linted."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from miglint.core.finding import Finding
from miglint.project.config import Config, find_config_file, load_config
from miglint.project.load import Project, load_project
from miglint.rules import all_rules, rule_for_code
from miglint.run.lint import lint

MIGRATION_HEADER = "from django.db import migrations, models\n\n\n"


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write `files` under `root`, adding `__init__.py` to every migrations folder."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        if path.parent.name == "migrations":
            (path.parent / "__init__.py").touch()
    return root


def migration(*, dependencies: str = "", operations: str = "", extra: str = "") -> str:
    """A migration file's text with the given dependency and operation lines."""
    return (
        MIGRATION_HEADER
        + "class Migration(migrations.Migration):\n"
        + extra
        + f"    dependencies = [{dependencies}]\n"
        + f"    operations = [\n{operations}\n    ]\n"
    )


def load(root: Path, config: Config | None = None) -> Project:
    """The project at `root`, with its own `[tool.miglint]` when it has a config file."""
    if config is None:
        found = find_config_file(str(root))
        inside = found is not None and Path(found).parent == root
        config = load_config(found, known_codes()) if inside else Config(root=str(root))
    return load_project([str(root)], config)


def known_codes() -> set[str]:
    return {rule.code for rule in all_rules()}


def lint_tree(root: Path, *codes: str, config: Config | None = None) -> list[Finding]:
    """Findings of the rules with `codes` (all rules when none) on the tree at `root`."""
    rules = None
    if codes:
        found = [rule_for_code(code) for code in codes]
        assert all(found), codes
        rules = [rule for rule in found if rule is not None]
    return lint(load(root, config), rules)


def run_cli(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m miglint ARGS` in `cwd` as a user would."""
    environment = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "miglint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
