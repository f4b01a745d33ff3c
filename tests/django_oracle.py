"""Ask Django itself about a small project on disk: the oracle for differential tests.

Django runs in a subprocess (settings are process-global, and the project's code must
never run inside the miglint test process). The script given to `run_django` runs with
Django configured for the listed apps and an in-memory SQLite database; it must print
one JSON document as its last line of output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

_BOOTSTRAP = """\
import json, sys
sys.path.insert(0, {root!r})
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS={apps!r},
    DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}},
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    USE_TZ=True,
    SECRET_KEY="oracle",
    {extra}
)
django.setup()
"""

BASE_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]


def app_modules(root: Path) -> list[str]:
    """Dotted module paths of every folder under `root` that has a migrations package."""
    modules = []
    for migrations in sorted(root.rglob("migrations")):
        if migrations.is_dir() and (migrations / "__init__.py").exists():
            app_dir = migrations.parent
            relative = app_dir.relative_to(root)
            # Every folder on the way must be a package for Django to import the app.
            for depth in range(1, len(relative.parts) + 1):
                init = root.joinpath(*relative.parts[:depth]) / "__init__.py"
                if not init.exists():
                    init.touch()
            modules.append(".".join(relative.parts))
    return modules


def run_django(
    root: Path,
    script: str,
    apps: list[str] | None = None,
    extra_settings: str = "",
    timeout: float = 300,
) -> Any:
    """Run `script` with Django set up for the apps under `root`; return its JSON output."""
    installed = BASE_APPS + (app_modules(root) if apps is None else apps)
    source = _BOOTSTRAP.format(root=str(root), apps=installed, extra=extra_settings)
    source += textwrap.dedent(script)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", source],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"Django oracle printed nothing:\n{result.stderr}")
    return json.loads(lines[-1])


LOADER_SCRIPT = """
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.exceptions import NodeNotFoundError, CircularDependencyError
report = {"error": None, "conflicts": {}, "leaves": [], "nodes": []}
try:
    loader = MigrationLoader(None, ignore_no_migrations=True)
except NodeNotFoundError as error:
    report["error"] = {"type": "NodeNotFoundError", "node": list(error.node), "message": str(error)}
except CircularDependencyError as error:
    report["error"] = {"type": "CircularDependencyError", "message": str(error)}
except Exception as error:
    report["error"] = {"type": type(error).__name__, "message": str(error)}
else:
    report["conflicts"] = {app: list(names) for app, names in loader.detect_conflicts().items()}
    report["leaves"] = [list(key) for key in loader.graph.leaf_nodes()]
    report["nodes"] = sorted([list(key) for key in loader.graph.nodes])
print(json.dumps(report))
"""


def loader_report(root: Path, apps: list[str] | None = None) -> dict[str, Any]:
    """What Django's MigrationLoader makes of the project: error, conflicts, leaves, nodes."""
    report: dict[str, Any] = run_django(root, LOADER_SCRIPT, apps)
    return report
