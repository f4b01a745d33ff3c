"""miglint reads the project it checks and never runs any of it.

A canary project whose every Python file (migrations, models, apps.py, settings, manage.py,
conftest.py, `__init__.py`, and modules named like the libraries miglint imports) writes a
marker file and kills the process when executed or imported. Every command, in every
format, runs over it as a user (and the Action) would start it; the marker never appears.
The commands and formats are read from miglint's own parser, so new ones are covered.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from miglint.cli.main import build_parser
from tests.helpers import write_tree

MIGLINT = Path(sys.executable).with_name("miglint")
PACKAGE = Path(__file__).resolve().parents[2] / "miglint"

# Module names a hostile tree may use to shadow what miglint (or Python at start-up) imports.
SHADOWS = (
    "sitecustomize",
    "usercustomize",
    "argparse",
    "json",
    "tomllib",
    "typing",
    "enum",
    "dataclasses",
    "libcst",
    "sqlparse",
    "github",
    "requests",
    "urllib3",
    "miglint",
    "django",
    "settings",
)


def canary(marker: Path, where: str) -> str:
    """Python text that leaves a trace in `marker` and ends the process when executed."""
    return (
        "import os\n"
        f"with open({str(marker)!r}, 'a') as _trace:\n"
        f"    _trace.write({where!r} + '\\n')\n"
        "os._exit(97)\n"
    )


def canary_project(root: Path, marker: Path) -> Path:
    def trap(where: str, rest: str = "") -> str:
        return canary(marker, where) + rest

    migration = (
        "from django.db import migrations, models\n\n\n"
        "def forwards(apps, schema_editor):\n"
        "    " + canary(marker, "RunPython").replace("\n", "\n    ").rstrip() + "\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [{deps}]\n"
        "    operations = [\n"
        "        migrations.CreateModel('Item', [('id', models.AutoField(primary_key=True))]),\n"
        "        migrations.RunPython(forwards),\n"
        # A model of an earlier release (a table created here has nothing to lose).
        "        migrations.RemoveField('order', 'price'),\n"
        "    ]\n"
    )
    files: dict[str, str] = {
        "manage.py": trap("manage.py"),
        "conftest.py": trap("conftest.py"),
        "setup.py": trap("setup.py"),
        "noxfile.py": trap("noxfile.py"),
        "project/__init__.py": trap("project/__init__.py"),
        "project/settings.py": trap("settings.py", "INSTALLED_APPS = ['shop']\n"),
        "project/urls.py": trap("urls.py"),
        "shop/__init__.py": trap("shop/__init__.py"),
        "shop/apps.py": trap(
            "apps.py",
            "from django.apps import AppConfig\n\n\n"
            "class ShopConfig(AppConfig):\n    name = 'shop'\n    label = 'shop'\n",
        ),
        "shop/models.py": trap(
            "models.py",
            "from django.db import models\n\n\nclass Item(models.Model):\n"
            "    name = models.CharField(max_length=10)\n",
        ),
        "shop/models_extra/__init__.py": trap("models package"),
        "shop/migrations/0001_initial.py": trap("0001", migration.format(deps="")),
        "shop/migrations/0002_second.py": trap(
            "0002", migration.format(deps="('shop', '0001_initial')")
        ),
        "shop/migrations/0002_other.py": trap(
            "0002_other", migration.format(deps="('shop', '0001_initial')")
        ),
        "shop/migrations/_helpers.py": trap("_helpers"),
        "shop/management/commands/thing.py": trap("management command"),
        "pyproject.toml": "[tool.miglint]\nfail-on = 'never'\n",
    }
    for name in SHADOWS:
        files[f"{name}.py"] = trap(f"shadow {name}")
        files[f"shop/migrations/{name}.py"] = trap(f"migrations shadow {name}")
    write_tree(root, files)
    (root / "shop/migrations/__init__.py").write_text(trap("migrations/__init__"))
    # A .pth file is executed by `site` when it sits in a site folder; here it must stay text.
    (root / "evil.pth").write_text("import os; os._exit(98)\n")
    return root


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser, _ = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("miglint has no subcommands")


def formats(parser: argparse.ArgumentParser) -> list[str | None]:
    for action in parser._actions:
        if "--format" in action.option_strings and action.choices:
            return sorted(action.choices)
    return [None]


def command_lines(tree: Path) -> Iterator[list[str]]:
    """One command line per subcommand and output format, with every argument it needs."""
    values = {"app": "shop", "target": "zero", "code": "MIG101", "migration": "0001_initial"}
    for name, parser in subcommands().items():
        for fmt in formats(parser):
            line = [name] + (["--format", fmt] if fmt else [])
            for action in parser._actions:
                if action.option_strings or action.dest == "help":
                    continue
                if action.dest in ("paths", "path"):
                    line.append(str(tree))
                elif action.choices:
                    line.append(sorted(action.choices)[0])
                elif action.nargs not in ("?", "*"):
                    line.append(values.get(action.dest, "shop"))
            yield line


def actions_environment(tree: Path, runner: Path) -> dict[str, str]:
    """A minimal Actions environment: push event, an API nobody listens on."""
    event = runner / "event.json"
    event.write_text(json.dumps({"after": "0" * 39 + "1", "before": "0" * 40}))
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(tree),
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "octo-org/shop",
        "GITHUB_SHA": "0" * 39 + "1",
        "GITHUB_API_URL": "http://127.0.0.1:9",
        "GITHUB_STEP_SUMMARY": str(runner / "summary.md"),
        "GITHUB_OUTPUT": str(runner / "output.txt"),
        "INPUT_GITHUB_TOKEN": "ghs_canarytoken",
        "INPUT_PATH": ".",
        "INPUT_FAIL_ON": "error",
        "MIGLINT_GITHUB_TIMEOUT": "2",
        "MIGLINT_GITHUB_BACKOFF": "0",
    }


def run(line: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MIGLINT), *line],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def clean_environment(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "INPUT_", "RUNNER_", "PYTHON", "DJANGO_"))
    }
    # The project's settings module, as a developer's shell may have it set.
    env.update(
        {"NO_COLOR": "1", "DJANGO_SETTINGS_MODULE": "project.settings", "HOME": str(tmp_path)}
    )
    return env


def test_every_command_in_every_format_leaves_the_canary_alone(tmp_path: Path) -> None:
    marker = tmp_path / "EXECUTED"
    tree = canary_project(tmp_path / "project tree", marker)
    runner = tmp_path / "runner"
    runner.mkdir()
    env = clean_environment(tmp_path)
    lines = list(command_lines(tree))
    names = {line[0] for line in lines}
    assert {"check", "rules", "action"} <= names, names
    ran = []
    for line in lines:
        extra = actions_environment(tree, runner) if line[0] == "action" else {}
        result = run(line, tree, {**env, **extra})
        ran.append((line, result.returncode))
        assert not marker.exists(), f"{line} executed {marker.read_text()}"
        # Every command line is valid: a usage error (2) would mean the command never ran.
        assert result.returncode in (0, 1), (line, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr, (line, result.stderr)
    # The default command too, from inside the tree, on its `.`.
    result = run([], tree, env)
    assert not marker.exists()
    # The canary project was really linted: its migrations gave findings (without the
    # baseline that `miglint baseline`, one of the command lines above, recorded).
    checked = run(
        ["check", "--no-baseline", "--format", "json", "--fail-on", "warning", "."], tree, env
    )
    codes = {row["code"] for row in json.loads(checked.stdout)}
    assert {"MIG000", "MIG101", "MIG201"} <= codes, codes
    assert not marker.exists()


def test_the_canary_would_have_fired(tmp_path: Path) -> None:
    """The traps are live: importing the project does write the marker."""
    marker = tmp_path / "EXECUTED"
    tree = canary_project(tmp_path / "tree", marker)
    result = subprocess.run(
        [sys.executable, "-c", "import shop.migrations"],
        cwd=tree,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 97
    assert marker.read_text().splitlines() == ["shop/__init__.py"]


def test_python_m_miglint_from_inside_the_tree_is_covered_by_the_readme() -> None:
    """`python -m` puts the current folder first on sys.path, so it is documented as unsafe."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    assert "python -P -m miglint" in readme


# Calls that would run (or load code from) text, and the modules they come from.
FORBIDDEN_CALLS = {"exec", "eval", "compile", "__import__", "execfile", "breakpoint"}
FORBIDDEN_MODULES = {"runpy", "pickle", "marshal", "shelve", "dill", "cloudpickle"}
# Also never imported (as call prefixes these names are too common to scan for).
FORBIDDEN_IMPORTS = FORBIDDEN_MODULES | {"code", "codeop", "imp", "zipimport"}
# Each `importlib.import_module` of miglint's own modules, by file, with why it is safe.
ALLOWED_IMPORT_MODULE = {
    "cli/main.py": "subcommand modules named in cli.main._EXTRA_COMMANDS (miglint's own)",
    "rules/__init__.py": "the modules of the miglint.rules package itself",
}
# Modules allowed in one file each, with why it is safe.
ALLOWED_MODULES = {
    ("run/cache.py", "marshal"): "plain values of the cache's own files; a file is unmarshalled "
    "only after its MAC (keyed with the user's secret, kept outside the tree) verified",
}
# Attribute calls that load code or objects from files or text.
FORBIDDEN_ATTRIBUTES = {
    ("importlib", "import_module"),
    ("importlib", "reload"),
    ("importlib.util", "spec_from_file_location"),
    ("importlib.util", "module_from_spec"),
    ("importlib.machinery", "SourceFileLoader"),
    ("ast", "literal_eval"),
    ("yaml", "load"),
    ("yaml", "unsafe_load"),
    ("os", "system"),
    ("os", "popen"),
    ("os", "execv"),
    ("os", "execvp"),
}


def package_sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        yield relative, ast.parse(path.read_text(encoding="utf-8"), filename=relative)


def dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def forbidden_uses(relative: str, tree: ast.Module) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names]
            for name in names:
                if (relative, name) in ALLOWED_MODULES:
                    continue
                if name.partition(".")[0] in FORBIDDEN_IMPORTS:
                    problems.append(f"{relative}:{node.lineno}: imports {name}")
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        if name is None:
            continue
        module, _, attribute = name.rpartition(".")
        if (relative, module) in ALLOWED_MODULES:
            continue
        if name in FORBIDDEN_CALLS or module.partition(".")[0] in FORBIDDEN_MODULES:
            problems.append(f"{relative}:{node.lineno}: calls {name}()")
        elif attribute == "import_module" and relative in ALLOWED_IMPORT_MODULE:
            continue
        elif (module, attribute) in FORBIDDEN_ATTRIBUTES or attribute == "import_module":
            problems.append(f"{relative}:{node.lineno}: calls {name}()")
    return problems


def test_the_package_never_calls_code_loaders() -> None:
    problems = [p for relative, tree in package_sources() for p in forbidden_uses(relative, tree)]
    assert problems == []


def test_import_module_only_loads_miglint_modules() -> None:
    """The allowed `import_module` calls take names under `miglint.` only."""
    from miglint.cli.main import _EXTRA_COMMANDS

    assert all(target.startswith("miglint.") for target in _EXTRA_COMMANDS.values())
    source = (PACKAGE / "rules/__init__.py").read_text(encoding="utf-8")
    assert 'import_module(f"{__name__}.' in source


def test_the_static_check_sees_each_kind_of_loader() -> None:
    sample = ast.parse(
        "import pickle\nfrom marshal import loads\nexec(x)\neval(y)\n"
        "importlib.import_module(path)\nrunpy.run_path(p)\nast.literal_eval(s)\n"
    )
    found = forbidden_uses("report/text.py", sample)
    assert [problem.partition(": ")[0] for problem in found] == [
        f"report/text.py:{line}" for line in (1, 2, 3, 4, 5, 6, 7)
    ]
