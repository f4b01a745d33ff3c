"""Differential tests: miglint's graph against Django's own MigrationLoader.

Every project is written to disk as real migration files. miglint reads them as text;
one long-lived Django process (settings are process-global) imports the same files
through `MIGRATION_MODULES` and builds its graph. Both answers are compared:

- Django's NodeNotFoundError <=> a MIG002 missing node (or a MIG004 squash Django cannot
  place), and the node Django names is one miglint names;
- CircularDependencyError <=> a MIG003 cycle;
- when Django loads the project: the same nodes, leaves, conflicts (MIG001), and the same
  forwards/backwards plans for every node.

Django reads a migrations package as a set of names, so its result can depend on hash
order (nested or overlapping squashes, a same-app `run_before` with `__first__`). The
Django process builds each project twice, in sorted and in reverse order of files; when
the two answers differ the project is "order-dependent" and miglint must match one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miglint.core.finding import Severity
from miglint.graph.graph import MigrationGraph
from miglint.project.config import Config
from miglint.project.load import load_project
from miglint.run.lint import lint
from miglint.source.facts import Dependency

LABELS = ("a", "b", "c", "shop", "billing", "accounts")

_WORKER = """\
import importlib, json, sys
sys.path.insert(0, {root!r})
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"]
    + ["_oracle_apps." + label for label in {labels!r}],
    DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}},
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    SECRET_KEY="oracle",
    MIGRATION_MODULES={{}},
)
django.setup()
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.exceptions import NodeNotFoundError, CircularDependencyError


class OrderedLoader(MigrationLoader):
    reverse = False

    def load_disk(self):
        super().load_disk()
        self.disk_migrations = dict(sorted(self.disk_migrations.items(), reverse=self.reverse))


def report(labels, reverse):
    OrderedLoader.reverse = reverse
    result = {{"error": None}}
    try:
        loader = OrderedLoader(None, ignore_no_migrations=True)
    except NodeNotFoundError as error:
        result["error"] = {{"type": "NodeNotFoundError", "node": list(error.node)}}
        return result
    except CircularDependencyError as error:
        result["error"] = {{"type": "CircularDependencyError", "message": str(error)}}
        return result
    except Exception as error:
        result["error"] = {{"type": type(error).__name__, "message": str(error)}}
        return result
    graph = loader.graph
    nodes = sorted(key for key in graph.nodes if key[0] in labels)
    result["nodes"] = nodes
    result["leaves"] = [key for key in graph.leaf_nodes() if key[0] in labels]
    result["conflicts"] = {{
        app: names for app, names in loader.detect_conflicts().items() if app in labels
    }}
    result["forwards"] = {{
        "%s.%s" % key: [k for k in graph.forwards_plan(key) if k[0] in labels] for key in nodes
    }}
    result["backwards"] = {{
        "%s.%s" % key: [k for k in graph.backwards_plan(key) if k[0] in labels] for key in nodes
    }}
    return result


for line in sys.stdin:
    request = json.loads(line)
    settings.MIGRATION_MODULES = {{label: None for label in {labels!r}}}
    settings.MIGRATION_MODULES.update(request["modules"])
    importlib.invalidate_caches()
    labels = set(request["modules"])
    if request.get("facts"):
        loader = MigrationLoader(None, load=False, ignore_no_migrations=True)
        loader.load_disk()
        answer = {{
            "%s.%s" % key: {{
                "dependencies": [list(d) for d in migration.dependencies],
                "replaces": [list(d) for d in migration.replaces],
                "run_before": [list(d) for d in migration.run_before],
                "initial": migration.initial,
                "atomic": migration.atomic,
                "operations": [type(op).__name__ for op in migration.operations],
            }}
            for key, migration in loader.disk_migrations.items()
            if key[0] in labels
        }}
    else:
        answer = [report(labels, False), report(labels, True)]
    print(json.dumps(answer), flush=True)
"""


class DjangoWorker:
    """One Django process answering "what does MigrationLoader make of this project?"."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0
        for label in LABELS:
            package = root / "_oracle_apps" / label
            package.mkdir(parents=True)
            (package / "__init__.py").touch()
        (root / "_oracle_apps" / "__init__.py").touch()
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WORKER.format(root=str(root), labels=LABELS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=root,
        )

    def new_case(self) -> Path:
        self.count += 1
        case = self.root / f"case{self.count}"
        case.mkdir()
        (case / "__init__.py").touch()
        return case

    def load(self, case: Path, facts: bool = False) -> Any:
        """Django's report for the project at `case`, in sorted and in reverse file order;
        with `facts`, what Django reads from each migration file instead."""
        modules = {}
        for init in sorted(case.rglob("migrations/__init__.py")):
            app_dir = init.parent.parent
            relative = app_dir.relative_to(self.root)
            for depth in range(1, len(relative.parts)):
                package = self.root.joinpath(*relative.parts[:depth], "__init__.py")
                package.touch()
            (app_dir / "__init__.py").touch()
            modules[app_dir.name] = ".".join(relative.parts) + ".migrations"
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"modules": modules, "facts": facts}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the Django oracle process died"
        return json.loads(line)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def django(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DjangoWorker]:
    worker = DjangoWorker(tmp_path_factory.mktemp("oracle"))
    yield worker
    worker.close()
    # The figures for the report (visible with `pytest -s`).
    print(
        f"\ncompared {TALLY.compared} projects with Django: {TALLY.agreed} agreed, "
        f"{TALLY.order_dependent} where Django's answer depends on file order; "
        f"Django's outcomes: {TALLY.errors}"
    )


# A project: {label: {migration name: Spec}}.
@dataclass
class Spec:
    dependencies: list[tuple[str, str]]
    run_before: list[tuple[str, str]]
    replaces: list[tuple[str, str]]


Project = dict[str, dict[str, Spec]]


def source(spec: Spec) -> str:
    lines = ["from django.db import migrations", "", "", "class Migration(migrations.Migration):"]
    for attribute in ("dependencies", "run_before", "replaces"):
        value = getattr(spec, attribute)
        if value:
            lines.append(f"    {attribute} = {value!r}")
    lines.append("    operations = []")
    return "\n".join(lines) + "\n"


def write_project(case: Path, project: Project) -> None:
    for label, migrations in project.items():
        folder = case / label / "migrations"
        folder.mkdir(parents=True)
        (folder / "__init__.py").touch()
        for name, spec in migrations.items():
            (folder / f"{name}.py").write_text(source(spec), encoding="utf-8")


@dataclass
class Outcome:
    """What one side made of a project, in the terms both sides share."""

    error: str | None
    # For NodeNotFoundError: the nodes that can be named as missing.
    missing: set[tuple[str, str]]
    nodes: list[tuple[str, str]]
    leaves: list[tuple[str, str]]
    conflicts: dict[str, list[str]]
    forwards: dict[str, list[tuple[str, str]]]
    backwards: dict[str, list[tuple[str, str]]]


def miglint_outcome(case: Path) -> tuple[Outcome, MigrationGraph]:
    project = load_project([str(case)], Config(root=str(case)))
    graph = project.graph
    unplaceable = {p.migration.key for p in graph.squash_problems if p.fatal}
    missing = {m.target for m in graph.missing} | unplaceable
    error = "NodeNotFoundError" if missing else "CircularDependencyError" if graph.cycles else None
    nodes = sorted(graph.nodes)
    leaves = graph.leaf_nodes()
    conflicts = {
        app: sorted(name for _, name in graph.leaf_nodes(app))
        for app in graph.app_keys()
        if len(graph.leaf_nodes(app)) > 1
    }
    if error is not None:
        return Outcome(error, missing, [], [], {}, {}, {}), graph
    return (
        Outcome(
            error,
            missing,
            nodes,
            leaves,
            conflicts,
            {".".join(key): graph.forwards_plan(key) for key in nodes},
            {".".join(key): graph.backwards_plan(key) for key in nodes},
        ),
        graph,
    )


def django_outcome(report: dict[str, Any]) -> Outcome:
    error = report["error"]

    def keys(items: list[list[str]]) -> list[tuple[str, str]]:
        return [(app, name) for app, name in items]

    if error is not None:
        node = {tuple(error["node"])} if "node" in error else set()
        return Outcome(error["type"], node, [], [], {}, {}, {})  # type: ignore[arg-type]
    return Outcome(
        None,
        set(),
        keys(report["nodes"]),
        keys(report["leaves"]),
        report["conflicts"],
        {name: keys(plan) for name, plan in report["forwards"].items()},
        {name: keys(plan) for name, plan in report["backwards"].items()},
    )


def agrees(ours: Outcome, theirs: Outcome) -> bool:
    if ours.error != theirs.error:
        return False
    if theirs.error == "NodeNotFoundError":
        return theirs.missing <= ours.missing
    if theirs.error is not None:
        return True
    return ours == theirs


@dataclass
class Tally:
    compared: int = 0
    agreed: int = 0
    order_dependent: int = 0
    errors: dict[str, int] | None = None


TALLY = Tally(errors={})


def compare(django: DjangoWorker, project: Project) -> tuple[Outcome, Outcome]:
    """Write `project`, load it with both, assert they agree; returns (miglint, Django)."""
    case = django.new_case()
    write_project(case, project)
    return compare_case(django, case)


def compare_case(django: DjangoWorker, case: Path) -> tuple[Outcome, Outcome]:
    ours, _ = miglint_outcome(case)
    sorted_order, reverse_order = (django_outcome(r) for r in django.load(case))
    TALLY.compared += 1
    assert TALLY.errors is not None
    key = str(sorted_order.error)
    TALLY.errors[key] = TALLY.errors.get(key, 0) + 1
    if sorted_order != reverse_order:
        # Django's own answer depends on the order it lists files in: match one of them.
        TALLY.order_dependent += 1
        assert agrees(ours, sorted_order) or agrees(ours, reverse_order), (
            project_text(case),
            ours,
            sorted_order,
            reverse_order,
        )
    else:
        assert agrees(ours, sorted_order), (project_text(case), ours, sorted_order)
    TALLY.agreed += 1
    return ours, sorted_order


def project_text(case: Path) -> str:
    parts = []
    for path in sorted(case.rglob("migrations/0*.py")):
        text = path.read_text(encoding="utf-8").split("class Migration(migrations.Migration):")[1]
        parts.append(f"{path.relative_to(case)}:{text}")
    return "\n".join(parts)


def linear(
    app: str, count: int, first_dependencies: list[tuple[str, str]] | None = None
) -> dict[str, Spec]:
    """`count` migrations of `app`, each depending on the previous one."""
    names = [f"{i:04d}_m" for i in range(1, count + 1)]
    migrations = {}
    for index, name in enumerate(names):
        dependencies = [(app, names[index - 1])] if index else list(first_dependencies or [])
        migrations[name] = Spec(dependencies, [], [])
    return migrations


def spec(
    *dependencies: tuple[str, str],
    run_before: tuple[tuple[str, str], ...] = (),
    replaces: tuple[tuple[str, str], ...] = (),
) -> Spec:
    return Spec(list(dependencies), list(run_before), list(replaces))


SQUASH = "0001_squashed_0003_m"
HAND_WRITTEN: dict[str, Project] = {
    "linear": {"a": linear("a", 4)},
    "empty app next to a real one": {"a": linear("a", 1), "b": {}},
    "branching conflict": {
        "shop": {
            "0001_m": spec(),
            "0002_price": spec(("shop", "0001_m")),
            "0002_sku": spec(("shop", "0001_m")),
        }
    },
    "three-way conflict": {
        "shop": {
            "0001_m": spec(),
            "0002_x": spec(("shop", "0001_m")),
            "0002_y": spec(("shop", "0001_m")),
            "0003_z": spec(("shop", "0001_m")),
        }
    },
    "merge migration": {
        "shop": {
            "0001_m": spec(),
            "0002_price": spec(("shop", "0001_m")),
            "0002_sku": spec(("shop", "0001_m")),
            "0003_merge": spec(("shop", "0002_price"), ("shop", "0002_sku")),
        }
    },
    "two roots, one leaf": {
        "a": {"0001_x": spec(), "0001_y": spec(), "0002_m": spec(("a", "0001_x"), ("a", "0001_y"))}
    },
    "cross-app dependencies": {
        "shop": linear("shop", 3),
        "billing": {
            "0001_m": spec(("shop", "0002_m")),
            "0002_m": spec(("billing", "0001_m"), ("shop", "0003_m")),
        },
    },
    "a dependency on another app does not end a conflict": {
        "shop": {
            "0001_m": spec(),
            "0002_x": spec(("shop", "0001_m")),
            "0002_y": spec(("shop", "0001_m")),
        },
        "billing": {"0001_m": spec(("shop", "0002_x"))},
    },
    "__first__ of another app": {
        "shop": linear("shop", 3),
        "billing": {"0001_m": spec(("shop", "__first__"))},
    },
    "__latest__ of another app": {
        "shop": linear("shop", 3),
        "billing": {"0001_m": spec(("shop", "__latest__"))},
    },
    "__latest__ of an app in conflict picks the least leaf": {
        "shop": {
            "0001_m": spec(),
            "0002_x": spec(("shop", "0001_m")),
            "0002_y": spec(("shop", "0001_m")),
        },
        "billing": {"0001_m": spec(("shop", "__latest__"))},
    },
    "__first__ of the own app is ignored": {"a": {"0001_m": spec(("a", "__first__"))}},
    "__latest__ of the own app is a missing node": {"a": {"0001_m": spec(("a", "__latest__"))}},
    "__first__ of an app with no migrations": {"a": {"0001_m": spec(("b", "__first__"))}, "b": {}},
    "run_before another app": {
        "shop": linear("shop", 2),
        "billing": {"0001_m": spec(run_before=(("shop", "0002_m"),))},
    },
    "run_before in the same app": {
        "a": {
            "0001_m": spec(),
            "0002_m": spec(("a", "0001_m")),
            "0001_pre": spec(run_before=(("a", "0001_m"),)),
        }
    },
    "run_before a missing node": {
        "a": {"0001_m": spec(run_before=(("b", "0009_gone"),))},
        "b": linear("b", 1),
    },
    "run_before closing a cycle": {
        "a": linear("a", 2),
        "b": {"0001_m": spec(("a", "0002_m"), run_before=(("a", "0001_m"),))},
    },
    "squash with replaced files present": {
        "a": {
            **linear("a", 4),
            SQUASH: spec(replaces=(("a", "0001_m"), ("a", "0002_m"), ("a", "0003_m"))),
        }
    },
    "squash with replaced files deleted": {
        "a": {
            SQUASH: spec(replaces=(("a", "0001_m"), ("a", "0002_m"), ("a", "0003_m"))),
            "0004_m": spec(("a", "0003_m")),
        }
    },
    "squash with replaced files partially deleted": {
        "a": {
            "0002_m": spec(("a", "0001_m")),
            SQUASH: spec(replaces=(("a", "0001_m"), ("a", "0002_m"), ("a", "0003_m"))),
            "0004_m": spec(("a", "0003_m")),
        }
    },
    "other apps depend on replaced migrations": {
        "a": {
            SQUASH: spec(replaces=(("a", "0001_m"), ("a", "0002_m"), ("a", "0003_m"))),
            "0004_m": spec(("a", "0003_m")),
        },
        "b": {"0001_m": spec(("a", "0002_m")), "0002_m": spec(("b", "0001_m"), ("a", "0004_m"))},
    },
    "__first__ of a squashed app": {
        "a": {
            SQUASH: spec(replaces=(("a", "0001_m"), ("a", "0002_m"), ("a", "0003_m"))),
            "0004_m": spec(("a", "0003_m")),
        },
        "b": {"0001_m": spec(("a", "__first__"))},
    },
    "squash depending on a migration it replaces": {
        "a": {
            **linear("a", 3),
            SQUASH: spec(
                ("a", "0001_m"), replaces=(("a", "0001_m"), ("a", "0002_m"), ("a", "0003_m"))
            ),
        }
    },
    "replaced migration depending on its squash": {
        "a": {
            "0001_m": spec(),
            "0002_m": spec(("a", SQUASH)),
            SQUASH: spec(replaces=(("a", "0001_m"), ("a", "0002_m"))),
        }
    },
    "squash replacing a migration of another app": {
        "a": {"0001_squashed_0002_m": spec(replaces=(("a", "0001_m"), ("b", "0001_m")))},
        "b": {"0001_m": spec(), "0002_m": spec(("b", "0001_m"))},
    },
    "nested squash, inner replaced files deleted": {
        "a": {
            "0001_squashed_0002_m": spec(replaces=(("a", "0001_m"), ("a", "0002_m"))),
            "0001_squashed_0004_m": spec(
                replaces=(("a", "0001_squashed_0002_m"), ("a", "0003_m"), ("a", "0004_m"))
            ),
            "0003_m": spec(("a", "0002_m")),
            "0004_m": spec(("a", "0003_m")),
            "0005_m": spec(("a", "0004_m")),
        }
    },
    "nested squash, everything deleted but the outer": {
        "a": {
            "0001_squashed_0004_m": spec(
                replaces=(("a", "0001_squashed_0002_m"), ("a", "0003_m"), ("a", "0004_m"))
            ),
            "0005_m": spec(("a", "0004_m")),
        }
    },
    "overlapping squashes, replaced files deleted": {
        "a": {
            "0001_squashed_0002_m": spec(replaces=(("a", "0001_m"), ("a", "0002_m"))),
            "0001_squashed_0003_m": spec(
                replaces=(("a", "0001_m"), ("a", "0002_m"), ("a", "0003_m"))
            ),
            "0004_m": spec(("a", "0003_m")),
        }
    },
    "overlapping squashes, replaced files present": {
        "a": {
            **linear("a", 4),
            "0001_squashed_0002_m": spec(replaces=(("a", "0001_m"), ("a", "0002_m"))),
            "0001_squashed_0003_m": spec(
                replaces=(("a", "0001_m"), ("a", "0002_m"), ("a", "0003_m"))
            ),
        }
    },
    "overlapping squashes, the second starting later": {
        "a": {
            **linear("a", 4),
            "0001_squashed_0002_m": spec(replaces=(("a", "0001_m"), ("a", "0002_m"))),
            "0002_squashed_0003_m": spec(
                ("a", "0001_m"), replaces=(("a", "0002_m"), ("a", "0003_m"))
            ),
        }
    },
    "missing node in the same app": {"a": {"0001_m": spec(), "0002_m": spec(("a", "0001_inital"))}},
    "missing node in another app": {"a": linear("a", 2), "b": {"0001_m": spec(("a", "0003_m"))}},
    "missing node referenced twice": {
        "a": linear("a", 1),
        "b": {"0001_m": spec(("a", "0009_x"))},
        "c": {"0001_m": spec(("a", "0009_x"))},
    },
    "cycle within an app": {
        "a": {"0001_m": spec(("a", "0002_m")), "0002_m": spec(("a", "0001_m"))}
    },
    "self dependency": {"a": {"0001_m": spec(("a", "0001_m"))}},
    "cycle across apps": {
        "a": {"0001_m": spec(), "0002_m": spec(("a", "0001_m"), ("b", "0002_m"))},
        "b": {"0001_m": spec(("a", "0002_m")), "0002_m": spec(("b", "0001_m"))},
    },
    "cycle across three apps": {
        "a": {"0001_m": spec(("c", "0001_m"))},
        "b": {"0001_m": spec(("a", "0001_m"))},
        "c": {"0001_m": spec(("b", "0001_m"))},
    },
    "missing node and a cycle: Django reports the missing node": {
        "a": {"0001_m": spec(("b", "0001_m"))},
        "b": {"0001_m": spec(("a", "0001_m"), ("a", "0002_gone"))},
    },
    "an app renamed: its migrations replace the old label's": {
        "shop": {
            "0001_m": spec(replaces=(("store", "0001_m"),)),
            "0002_m": spec(("shop", "0001_m"), replaces=(("store", "0002_m"),)),
        },
        "billing": {"0001_m": spec(("store", "0002_m"))},
    },
    "an app renamed, its copied migrations still naming the old label": {
        "shop": {
            "0001_m": spec(replaces=(("store", "0001_m"),)),
            "0002_m": spec(("store", "0001_m"), replaces=(("store", "0002_m"),)),
            "0003_m": spec(("store", "0002_m"), replaces=(("store", "0003_m"),)),
        },
        "billing": {"0001_m": spec(("store", "0003_m"))},
    },
    "an app renamed and squashed": {
        "shop": {
            "0001_squashed_0002_m": spec(replaces=(("store", "0001_m"), ("store", "0002_m"))),
            "0003_m": spec(("shop", "0001_squashed_0002_m")),
        },
        "billing": {"0001_m": spec(("store", "0001_m")), "0002_m": spec(("billing", "0001_m"))},
    },
    "dependency on auth (outside the tree)": {
        "accounts": {"0001_m": spec(("auth", "0012_alter_user_first_name_max_length"))},
    },
    "dependency on contenttypes __first__": {
        "accounts": {"0001_m": spec(("contenttypes", "__first__"))},
    },
}


@pytest.mark.parametrize("name", list(HAND_WRITTEN))
def test_hand_written_project_matches_django(django: DjangoWorker, name: str) -> None:
    compare(django, HAND_WRITTEN[name])


def test_dependency_on_an_app_outside_the_tree_is_deliberately_not_an_error(
    django: DjangoWorker,
) -> None:
    # Django has no such app installed and fails; miglint cannot see installed apps, so a
    # label it does not find in the tree (a third-party app) is never reported.
    case = django.new_case()
    write_project(case, {"a": {"0001_m": spec(("thirdparty", "0001_initial"))}})
    ours, graph = miglint_outcome(case)
    theirs = django_outcome(django.load(case)[0])
    assert theirs.error == "NodeNotFoundError"
    assert ours.error is None and graph.missing == []


def test_swappable_and_settings_dependencies_match_django(django: DjangoWorker) -> None:
    case = django.new_case()
    folder = case / "accounts" / "migrations"
    folder.mkdir(parents=True)
    (folder / "__init__.py").touch()
    (folder / "0001_initial.py").write_text(
        "from django.conf import settings\n"
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    initial = True\n"
        "    dependencies = [\n"
        "        migrations.swappable_dependency(settings.AUTH_USER_MODEL),\n"
        '        ("contenttypes", "0002_remove_content_type_name"),\n'
        "    ]\n"
        "    operations = []\n",
        encoding="utf-8",
    )
    (folder / "0002_profile.py").write_text(
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("accounts", "0001_initial"), migrations.swappable_dependency("auth.User")]\n'
        "    operations = []\n",
        encoding="utf-8",
    )
    ours, _ = compare_case(django, case)
    assert ours.leaves == [("accounts", "0002_profile")]


# Entries of `dependencies`, `run_before` or `replaces` that are not plain pairs, as a user
# might write them; miglint must say "rejected" exactly when Django's loader fails.
ODD_ENTRIES = (
    ("dependencies", '["shop", "0001_initial"]'),
    ("dependencies", '["shop", "__first__"]'),
    ("dependencies", '("shop",)'),
    ("dependencies", "()"),
    ("dependencies", '("shop", "0001_initial", "x")'),
    ("dependencies", '("billing", "__first__", "x")'),
    ("dependencies", '"shop.0001_initial"'),
    ("dependencies", '"s"'),
    ("dependencies", '("shop", None)'),
    ("dependencies", '(None, "__first__")'),
    ("dependencies", '(1, "0001_initial")'),
    ("dependencies", '{"shop", "0001_initial"}'),
    ("dependencies", '{"shop": "0001_initial"}'),
    ("dependencies", "1"),
    ("dependencies", "None"),
    ("dependencies", "settings.AUTH_USER_MODEL"),
    ("dependencies", 'migrations.swappable_dependency("billing.Invoice")'),
    ("dependencies", "PREVIOUS"),
    ("run_before", '["billing", "0001_initial"]'),
    ("run_before", '("billing",)'),
    ("run_before", '("billing", "0001_initial", "x")'),
    ("run_before", '("billing", "__first__", "x")'),
    ("run_before", '"billing.0001_initial"'),
    ("replaces", '["shop", "0001_initial"]'),
    ("replaces", '{"shop", "0001_initial"}'),
    ("replaces", '("shop", "0001_initial", "x")'),
    ("replaces", '"shop.0001_initial"'),
    ("replaces", "None"),
    ("replaces", "1"),
)
# Whole attributes that are not lists.
ODD_VALUES = (
    ("dependencies", "None"),
    ("dependencies", '"shop"'),
    ("dependencies", '""'),
    ("dependencies", '{("shop", "0001_initial"): "why"}'),
    ("run_before", "0"),
    ("replaces", "None"),
    ("replaces", '"ab"'),
)


def _odd_case(django: DjangoWorker, attribute: str, value: str) -> Path:
    case = django.new_case()
    head = (
        "from django.conf import settings\nfrom django.db import migrations\n\n"
        'PREVIOUS = ("shop", "0001_initial")\n\n\n'
        "class Migration(migrations.Migration):\n"
    )
    files = {
        "shop/migrations/0001_initial.py": head + "    operations = []\n",
        "shop/migrations/0002_odd.py": head
        + ('    dependencies = [("shop", "0001_initial")]\n' if attribute != "dependencies" else "")
        + f"    {attribute} = {value}\n    operations = []\n",
        "billing/migrations/0001_initial.py": head + "    operations = []\n",
    }
    for relative, text in files.items():
        path = case / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(text, encoding="utf-8")
    return case


@pytest.mark.parametrize(
    ("attribute", "value"),
    [*((a, f"[{v}]") for a, v in ODD_ENTRIES), *ODD_VALUES],
)
def test_odd_dependency_entries_are_rejected_exactly_when_django_fails(
    django: DjangoWorker, attribute: str, value: str
) -> None:
    case = _odd_case(django, attribute, value)
    theirs = django.load(case)[0]["error"]
    project = load_project([str(case)], Config(root=str(case)))
    [odd] = [m for m in project.migrations if m.name == "0002_odd"]
    kinds = {note.kind for note in odd.facts.notes}
    rejected = [f for f in lint(project) if f.code == "MIG000" and f.severity is Severity.ERROR]
    if theirs is None:
        assert "rejected" not in kinds and not rejected, (value, odd.facts.notes)
    else:
        assert kinds == {"rejected"}, (value, theirs, odd.facts.notes)
        [finding] = rejected
        # The message names the exception Django's loader raises.
        assert theirs["type"] in finding.message, (finding.message, theirs)
        assert "Django's loader fails" in finding.message


APPS = ("a", "b", "c")


@st.composite
def projects(draw: st.DrawFn) -> Project:
    """Random projects: chains with branches and merges, cross-app edges (so cycles),
    `__first__`/`__latest__`, `run_before`, missing targets, and squashes whose replaced
    files are all present, all deleted or partly deleted."""
    labels = draw(st.lists(st.sampled_from(APPS), min_size=1, max_size=3, unique=True))
    sizes = {label: draw(st.integers(1, 5)) for label in labels}
    names = {label: [f"{i:04d}_m" for i in range(1, sizes[label] + 1)] for label in labels}
    every = [(label, name) for label in labels for name in names[label]]
    project: Project = {label: {} for label in labels}
    for label in labels:
        for index, name in enumerate(names[label]):
            dependencies: list[tuple[str, str]] = []
            if index:
                # Usually the previous migration; sometimes an older one (a branch).
                parent = draw(st.integers(0, index - 1) | st.just(index - 1))
                dependencies.append((label, names[label][parent]))
                if index > 1 and draw(st.integers(0, 9)) == 0:
                    dependencies.append((label, names[label][draw(st.integers(0, index - 1))]))
            for _ in range(draw(st.integers(0, 2)) if draw(st.booleans()) else 0):
                other = draw(st.sampled_from(every))
                kind = draw(st.integers(0, 9))
                if kind == 0:
                    other = (other[0], "__first__")
                elif kind == 1:
                    other = (other[0], "__latest__")
                elif kind == 2:
                    other = (other[0], "0099_gone")
                if other[0] != label or kind > 2:
                    dependencies.append(other)
            run_before = []
            if draw(st.integers(0, 7)) == 0:
                target = draw(st.sampled_from(every))
                if target[0] != label:
                    run_before.append(target)
            project[label][name] = Spec(sorted(set(dependencies)), run_before, [])
    for label in labels:
        if sizes[label] < 2 or not draw(st.booleans()):
            continue
        start = draw(st.integers(0, sizes[label] - 2))
        end = draw(st.integers(start + 1, sizes[label] - 1))
        replaced = names[label][start : end + 1]
        inside = {(label, name) for name in replaced}
        outside = {
            dependency
            for name in replaced
            for dependency in project[label][name].dependencies
            if dependency not in inside
        }
        squash = f"{start + 1:04d}_squashed_{end + 1:04d}_m"
        if draw(st.integers(0, 9)) == 0:
            # A broken squash: it depends on one of the migrations it replaces.
            outside.add((label, replaced[-1]))
        project[label][squash] = Spec(sorted(outside), [], sorted(inside))
        keep = draw(st.sampled_from(["all", "none", "some"]))
        for name in replaced:
            if keep == "none" or (keep == "some" and draw(st.booleans())):
                del project[label][name]
        if end + 1 < sizes[label] and draw(st.integers(0, 3)) == 0:
            # A squash of the squash and the next migration (nested squashes).
            following = names[label][end + 1]
            outer = f"{start + 1:04d}_squashed_{end + 2:04d}_m"
            project[label][outer] = Spec(
                sorted(outside), [], sorted({(label, squash), (label, following)})
            )
            for name in (squash, following):
                if draw(st.booleans()):
                    del project[label][name]
    return project


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(project=projects())
def test_random_projects_match_django(django: DjangoWorker, project: Project) -> None:
    compare(django, project)


def _parse_corpus() -> dict[str, str]:
    from tests import test_parse as corpus

    files = {name: text for name, text in corpus.CORPUS.items() if "migration_helpers" not in text}
    # The "built operations" file, with its helper defined where Django can import it.
    files["built operations"] = corpus.BUILT_OPERATIONS.replace(
        "from shop.migration_helpers import make_operations\n",
        "\n\ndef make_operations():\n    return [migrations.RunSQL('SELECT 1', migrations.RunSQL.noop)]\n",
    )
    return files


def test_parsed_facts_match_what_django_reads(django: DjangoWorker) -> None:
    """Dependencies, replaces, run_before, initial, atomic and operations of every file of the
    parse corpus, as miglint reads them from the text and as Django gets them by importing."""
    compared = 0
    for name, text in _parse_corpus().items():
        case = django.new_case()
        folder = case / "shop" / "migrations"
        folder.mkdir(parents=True)
        (folder / "__init__.py").touch()
        (folder / "0001_file.py").write_bytes(text.encode("utf-8"))
        [theirs] = django.load(case, facts=True).values()
        [migration] = load_project([str(case)], Config(root=str(case))).migrations
        facts = migration.facts

        def pairs(dependencies: tuple[Dependency, ...]) -> list[list[str]]:
            # swappable_dependency(settings.AUTH_USER_MODEL) is auth's with default settings.
            return [[d.app or "auth", d.name] for d in dependencies]

        assert pairs(facts.dependencies) == theirs["dependencies"], name
        assert pairs(facts.replaces) == theirs["replaces"], name
        assert pairs(facts.run_before) == theirs["run_before"], name
        assert facts.initial == theirs["initial"], name
        assert facts.atomic == theirs["atomic"], name
        ours = [op.name for op in facts.operations]
        if facts.operations_known:
            assert ours == theirs["operations"], name
        else:
            # Unknown entries stand for any number of operations, in place.
            known = iter(theirs["operations"])
            assert all(op in known for op in ours if op != "<unknown>"), name
        compared += 1
    assert compared >= 12


def test_django_contrib_apps_match_django(tmp_path: Path) -> None:
    """Real migrations: Django's own contrib apps, read from the installed Django."""
    import django as django_package

    from tests.django_oracle import run_django

    contrib = Path(django_package.__file__).parent / "contrib"
    script = """
from django.db.migrations.loader import MigrationLoader
loader = MigrationLoader(None)
print(json.dumps({
    "nodes": sorted(loader.graph.nodes),
    "leaves": loader.graph.leaf_nodes(),
    "conflicts": loader.detect_conflicts(),
}))
"""
    apps = [
        f"django.contrib.{name}"
        for name in ("admin", "flatpages", "messages", "redirects", "sessions", "sites")
    ]
    theirs = run_django(tmp_path, script, apps=apps)
    project = load_project([str(contrib)], Config(root=str(contrib)))
    graph = project.graph
    assert [list(key) for key in sorted(graph.nodes)] == theirs["nodes"]
    assert [list(key) for key in graph.leaf_nodes()] == theirs["leaves"]
    assert theirs["conflicts"] == {} and graph.missing == [] and graph.cycles == []


def test_nested_squash_on_disk_fails_in_the_order_the_message_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.django_oracle import loader_report

    inner = spec(replaces=(("shop", "0001_m"), ("shop", "0002_m")))
    outer = spec(replaces=(("shop", "0001_squashed_0002_m"), ("shop", "0003_m")))
    same = tmp_path / "same"
    write_project(same, {"shop": {"0001_squashed_0002_m": inner, "0001_squashed_0003_m": outer}})
    [finding] = [
        f for f in lint(load_project([str(same)], Config(root=str(same)))) if f.code == "MIG004"
    ]
    assert "no fixed order" in finding.message and "INSTALLED_APPS" not in finding.message
    outcomes = set()
    for seed in range(8):
        # Django lists a migrations package as a set of names: its order follows the hash seed.
        monkeypatch.setenv("PYTHONHASHSEED", str(seed))
        error = loader_report(same)["error"]
        outcomes.add(None if error is None else error["type"])
    assert outcomes == {None, "NodeNotFoundError"}

    across = tmp_path / "across"
    write_project(
        across,
        {
            "outer": {
                "0001_squashed_m": spec(
                    replaces=(("inner", "0001_squashed_0002_m"), ("inner", "0003_m"))
                )
            },
            "inner": {
                "0001_squashed_0002_m": spec(replaces=(("inner", "0001_m"), ("inner", "0002_m")))
            },
        },
    )
    project = load_project([str(across)], Config(root=str(across)))
    [finding] = [f for f in lint(project) if f.code == "MIG004"]
    assert "when 'outer' is listed before 'inner' in INSTALLED_APPS" in finding.message
    assert loader_report(across, apps=["outer", "inner"])["error"]["type"] == "NodeNotFoundError"
    assert loader_report(across, apps=["inner", "outer"])["error"] is None
