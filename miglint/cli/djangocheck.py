"""`--django-check`: ask the project's own `makemigrations --check --dry-run` (opt-in).

This IMPORTS AND RUNS the project's code (settings, models, apps' ready()), in a
subprocess, with the interpreter that runs the project. It is never on by default.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

from miglint.core.finding import Finding, Severity
from miglint.graph.nodes import App

TIMEOUT_SECONDS = 600
_SKIP_DIRS = {
    ".git",
    ".hg",
    "node_modules",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    "site-packages",
}


class DjangoCheckError(Exception):
    """The check could not run (no manage.py, the project failed to import, ...)."""


def find_manage_py(paths: Sequence[str]) -> str:
    """manage.py in or above the first path, else the shallowest one below it."""
    start = os.path.abspath(paths[0] if paths else ".")
    directory = start if os.path.isdir(start) else os.path.dirname(start)
    current = directory
    while True:
        candidate = os.path.join(current, "manage.py")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    found: list[tuple[int, str]] = []
    for root, dirs, files in os.walk(directory):
        depth = root[len(directory) :].count(os.sep)
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        if depth >= 4:
            dirs[:] = []
        if "manage.py" in files:
            found.append((depth, os.path.join(root, "manage.py")))
    if not found:
        raise DjangoCheckError(
            f"--django-check: no manage.py in, above or below {directory}; "
            "run miglint from the project folder"
        )
    return min(found)[1]


def project_python() -> str:
    """The interpreter to run manage.py with: $MIGLINT_PYTHON, else `python` on PATH."""
    return (
        os.environ.get("MIGLINT_PYTHON")
        or shutil.which("python")
        or shutil.which("python3")
        or sys.executable
    )


def parse_output(output: str) -> dict[str, list[str]]:
    """App label -> the operations makemigrations would write, from its dry-run output."""
    changes: dict[str, list[str]] = {}
    current: str | None = None
    for line in output.splitlines():
        if line.startswith("Migrations for '") and line.count("'") >= 2:
            current = line.split("'")[1]
            changes[current] = []
        elif current is not None:
            stripped = line.strip()
            # "+ Add field x to y" (Django 5.1+: +, -, ~, p, s, ?) or "- Add field ..." before.
            if len(stripped) > 2 and stripped[1] == " " and not stripped.endswith(".py"):
                changes[current].append(stripped[2:])
    return changes


def django_check(paths: Sequence[str], apps: Sequence[App]) -> list[Finding]:
    """MIG401 findings from Django's own answer; raises DjangoCheckError if it cannot run."""
    manage = find_manage_py(paths)
    command = [project_python(), manage, "makemigrations", "--check", "--dry-run", "--no-input"]
    try:
        result = subprocess.run(
            command,
            cwd=os.path.dirname(manage),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DjangoCheckError(f"--django-check: cannot run {' '.join(command)}: {error}") from None
    if result.returncode == 0:
        return []
    changes = parse_output(result.stdout)
    if result.returncode != 1 or not changes:
        last = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
        raise DjangoCheckError(
            f"--django-check: `{' '.join(command[1:])}` failed (exit {result.returncode}): {last}"
        )
    by_label = {app.label: app for app in apps if app.key == app.label}
    findings = []
    for label, operations in sorted(changes.items()):
        app = by_label.get(label)
        path = manage
        if app is not None and app.models_paths:
            path = app.models_paths[0]
        shown = "; ".join(operations[:5]) + (
            f"; and {len(operations) - 5} more" if len(operations) > 5 else ""
        )
        findings.append(
            Finding(
                code="MIG401",
                rule="missing-migration",
                severity=Severity.ERROR,
                path=path,
                line=1,
                column=1,
                end_line=1,
                end_column=1,
                message=f"Django's makemigrations --check: app {label!r} has model changes "
                f"without a migration: {shown or 'see makemigrations'}",
                app=label,
                fix=f"Run `python manage.py makemigrations {label}` and commit the new migration.",
            )
        )
    return findings
