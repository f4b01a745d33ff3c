"""Rules about files and the graph: parse errors, conflicts, missing nodes, cycles, squashes."""

from __future__ import annotations

from collections.abc import Iterator

from miglint.finding import Finding, Severity
from miglint.nodes import Migration, NodeKey
from miglint.project import Project
from miglint.rules.base import Rule
from miglint.syntax import Span


def _name(key: NodeKey, project: Project) -> str:
    migration = project.graph.disk.get(key)
    return migration.label if migration else f"{key[0]}.{key[1]}"


class ParseError(Rule):
    """Django cannot load a migration file it cannot import, nor one without a `Migration`
    class: `migrate`, `makemigrations` and every management command that builds the graph
    stop with an error. miglint reads the rest of the tree, but it cannot check what is in
    this file, nor the graph edges it would have added.

    Parts of a readable file that miglint cannot interpret statically (a `dependencies`
    entry that is not an `(app_label, migration_name)` pair, an `operations` list built by a
    function) are reported as warnings: the graph may be missing an edge there.
    """

    code = "MIG000"
    name = "parse-error"
    severity = Severity.ERROR
    summary = "A migration file that cannot be parsed or has no Migration class."
    fix = "Fix the syntax error, or move helper modules out of the migrations package (or name them with a leading underscore)."
    VALID = (
        """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = []
    operations = []
""",
        {
            "shop/migrations/0001_initial.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n    operations = []\n"
            ),
            "shop/migrations/_helpers.py": "def forwards(apps, schema_editor):\n    pass\n",
        },
    )
    INVALID = (
        """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0001_initial"
    ]
""",
        {
            "shop/migrations/0001_initial.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n    operations = []\n"
            ),
            "shop/migrations/utils.py": "def forwards(apps, schema_editor):\n    pass\n",
        },
    )

    def check(self, project: Project) -> Iterator[Finding]:
        for migration in project.migrations:
            facts = migration.facts
            if facts.error is not None:
                error = facts.error
                span = Span(error.line, error.column, error.line, error.column)
                yield self.at(migration, span, f"cannot parse migration: {error.message}")
            elif not facts.has_class:
                yield self.at(
                    migration,
                    Span(1, 1, 1, 1),
                    f"{migration.name}.py is in a migrations package but has no Migration "
                    "class; Django's loader refuses it (BadMigrationError)",
                )
            else:
                for note in facts.notes:
                    yield self.at(
                        migration,
                        note.span,
                        f"cannot read statically: {note.message}",
                        severity=Severity.WARNING,
                        fix="Write it as a literal so that tools (and readers) can follow it.",
                    )


class ConflictingLeaves(Rule):
    """Two migrations that both depend on the same parent and that nothing depends on (two
    "leaf nodes") usually come from two branches that each added a migration. `migrate`
    refuses to run ("Conflicting migrations detected") until a merge migration joins them,
    so the deploy fails.
    """

    code = "MIG001"
    name = "conflicting-leaves"
    severity = Severity.ERROR
    summary = "An app with more than one leaf migration (needs a merge migration)."
    fix = "Run `python manage.py makemigrations --merge APP`, or rebase and renumber one branch."
    _INITIAL = (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n    initial = True\n    operations = []\n"
    )
    _CHILD = (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [{deps}]\n    operations = []\n"
    )
    VALID = (
        {
            "shop/migrations/0001_initial.py": _INITIAL,
            "shop/migrations/0002_add_price.py": _CHILD.format(deps='("shop", "0001_initial")'),
            "shop/migrations/0002_add_sku.py": _CHILD.format(deps='("shop", "0001_initial")'),
            "shop/migrations/0003_merge.py": _CHILD.format(
                deps='("shop", "0002_add_price"), ("shop", "0002_add_sku")'
            ),
        },
    )
    INVALID = (
        {
            "shop/migrations/0001_initial.py": _INITIAL,
            "shop/migrations/0002_add_price.py": _CHILD.format(deps='("shop", "0001_initial")'),
            "shop/migrations/0002_add_sku.py": _CHILD.format(deps='("shop", "0001_initial")'),
        },
    )

    def check(self, project: Project) -> Iterator[Finding]:
        uncertain = {m.app_key for m in project.migrations if not m.readable or m.facts.notes}
        for app_key in project.graph.app_keys():
            if app_key in uncertain:
                continue
            leaves = project.graph.leaf_nodes(app_key)
            if len(leaves) < 2:
                continue
            migrations = [project.graph.nodes[key] for key in leaves]
            label = migrations[0].app
            names = ", ".join(m.name for m in migrations)
            for migration in migrations:
                yield self.at(
                    migration,
                    migration.facts.class_span,
                    f"conflicting migrations in app {label!r}: {len(leaves)} leaf nodes "
                    f"({names}); `migrate` will refuse to run until they are merged with "
                    f"`python manage.py makemigrations --merge {label}`",
                    fix=f"Run `python manage.py makemigrations --merge {label}`.",
                )


class MissingDependency(Rule):
    """A dependency (or `run_before`) that names a migration of an app in this tree that does
    not exist, usually a file renamed or deleted on another branch. Django's loader stops
    with `NodeNotFoundError`, so no management command that loads migrations works.

    Dependencies on apps that are not in the scanned tree (`auth`, `contenttypes`,
    third-party apps) are not checked: miglint cannot see them.
    """

    code = "MIG002"
    name = "missing-dependency"
    severity = Severity.ERROR
    summary = "A dependency on a migration that does not exist."
    fix = "Point the dependency at the migration that exists (see `miglint graph`)."
    VALID = (
        {
            "shop/migrations/0001_initial.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                '    dependencies = [("auth", "0012_alter_user_first_name_max_length")]\n'
                "    operations = []\n"
            ),
            "shop/migrations/0002_price.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                '    dependencies = [("shop", "0001_initial")]\n'
                "    operations = []\n"
            ),
        },
    )
    INVALID = (
        {
            "shop/migrations/0001_initial.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n    operations = []\n"
            ),
            "shop/migrations/0002_price.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                '    dependencies = [("shop", "0001_inital")]\n'
                "    operations = []\n"
            ),
        },
    )

    def check(self, project: Project) -> Iterator[Finding]:
        for missing in project.graph.missing:
            migration = missing.migration
            app = missing.target[0].partition("@")[0]
            known = sorted(key[1] for key in project.graph.disk if key[0] == missing.target[0])
            hint = _closest(missing.target[1], known)
            fix = (
                f"Did you mean ('{app}', '{hint}')?"
                if hint
                else f"Point it at one of {app}'s migrations (see `miglint graph --app {app}`)."
            )
            where = "run_before" if missing.via == "run_before" else "dependencies"
            yield self.at(
                migration,
                missing.dependency.span,
                f"{migration.label} lists ('{app}', '{missing.target[1]}') in {where}, but no "
                f"such migration exists; Django's loader fails with NodeNotFoundError",
                fix=fix,
            )


def _closest(name: str, candidates: list[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


class CircularDependency(Rule):
    """Migrations that depend on each other in a loop can never be applied: Django's loader
    raises `CircularDependencyError` before running anything. The usual cause is two apps
    whose migrations depend on each other's later migrations.
    """

    code = "MIG003"
    name = "circular-dependency"
    severity = Severity.ERROR
    summary = "A cycle in the migration graph."
    fix = "Break the loop: move the operation that needs the other app into a later migration that depends on it."
    VALID = (
        {
            "shop/migrations/0001_initial.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n    operations = []\n"
            ),
            "billing/migrations/0001_initial.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                '    dependencies = [("shop", "0001_initial")]\n    operations = []\n'
            ),
        },
    )
    INVALID = (
        {
            "shop/migrations/0001_initial.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                '    dependencies = [("billing", "0001_initial")]\n    operations = []\n'
            ),
            "billing/migrations/0001_initial.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                '    dependencies = [("shop", "0001_initial")]\n    operations = []\n'
            ),
        },
    )

    def check(self, project: Project) -> Iterator[Finding]:
        for cycle in project.graph.cycles:
            migration = project.graph.nodes[cycle[0]]
            path = " -> ".join(_name(key, project) for key in (*cycle, cycle[0]))
            yield self.at(
                migration,
                migration.facts.class_span,
                f"circular dependency: {path}; Django's loader fails with CircularDependencyError",
            )


class BrokenSquash(Rule):
    """A squashed migration (one with `replaces`) stands in for the migrations it lists.
    Django's loader rejects or silently rewires a squash that replaces migrations of another
    app, that is itself replaced by another squash still on disk, that depends on one of the
    migrations it replaces, or whose replaced migrations depend on it.

    A squash whose replaced files were already deleted is normal and fine.
    """

    code = "MIG004"
    name = "broken-squash"
    severity = Severity.ERROR
    summary = "A squashed migration Django's loader would reject or resolve surprisingly."
    fix = "Regenerate the squash with `squashmigrations`, or fix its `replaces` list."
    _SQUASH = (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        '    replaces = [("shop", "0001_initial"), ("shop", "0002_price")]\n'
        "{extra}    operations = []\n"
    )
    VALID = (
        {
            "shop/migrations/0001_squashed_0002_price.py": _SQUASH.format(extra=""),
            "shop/migrations/0003_sku.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                '    dependencies = [("shop", "0002_price")]\n    operations = []\n'
            ),
        },
    )
    INVALID = (
        {
            "shop/migrations/0001_initial.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n    operations = []\n"
            ),
            "shop/migrations/0002_price.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                '    dependencies = [("shop", "0001_squashed_0002_price")]\n    operations = []\n'
            ),
            "shop/migrations/0001_squashed_0002_price.py": _SQUASH.format(extra=""),
        },
        {
            "shop/migrations/0001_squashed_0002_price.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                '    replaces = [("shop", "0001_initial"), ("billing", "0002_price")]\n'
                "    operations = []\n"
            ),
        },
    )

    def check(self, project: Project) -> Iterator[Finding]:
        graph = project.graph
        for problem in graph.squash_problems:
            yield self.at(
                problem.migration,
                problem.migration.facts.class_span,
                f"{problem.migration.label}: {problem.message}",
            )
        for migration in project.migrations:
            if not migration.readable or not migration.facts.replaces:
                continue
            replaced = {(d.app, d.name) for d in migration.facts.replaces}
            own = (migration.app, graph.own_labels.get(migration.app_key))
            foreign = [
                d for d in migration.facts.replaces if d.app is not None and d.app not in own
            ]
            if foreign:
                # One finding per squash: it is one decision, however many entries it has.
                names = ", ".join(f"{d.app}.{d.name}" for d in foreign[:3])
                more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
                yield self.at(
                    migration,
                    foreign[0].span,
                    f"{migration.label} replaces {names}{more}, migrations of another app; "
                    "Django then depends on the order of INSTALLED_APPS to place them",
                )
            for dependency in migration.facts.dependencies:
                if (dependency.app, dependency.name) in replaced:
                    yield self.at(
                        migration,
                        dependency.span,
                        f"{migration.label} depends on {dependency.app}.{dependency.name}, which it "
                        "replaces; once the squash stands in for it, it depends on itself",
                    )
            yield from self._replaced_depending_on(migration, replaced, project)

    def _replaced_depending_on(
        self, squash: Migration, replaced: set[tuple[str | None, str]], project: Project
    ) -> Iterator[Finding]:
        for migration in project.migrations:
            if (migration.app, migration.name) not in replaced or not migration.readable:
                continue
            for dependency in migration.facts.dependencies:
                if (dependency.app, dependency.name) == (squash.app, squash.name):
                    yield self.at(
                        migration,
                        dependency.span,
                        f"{migration.label} is replaced by {squash.label} but depends on it; "
                        "the squash would depend on itself",
                    )
