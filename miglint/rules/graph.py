"""Rules about files and the graph: parse errors, conflicts, missing nodes, cycles, squashes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from miglint.core.finding import SAFE, UNSAFE, Edit, Finding, Severity
from miglint.graph.nodes import NodeKey
from miglint.project.load import Project
from miglint.rules.base import Invalid, Rule
from miglint.source.facts import Note
from miglint.source.syntax import Span

if TYPE_CHECKING:
    from miglint.fixes.source import FixSource


def _name(key: NodeKey, project: Project) -> str:
    migration = project.graph.disk.get(key)
    return migration.label if migration else f"{key[0]}.{key[1]}"


# Fix hints for files Django cannot load, by `SourceError.cause`.
_UNREADABLE_FIX = {
    "syntax": "Fix the syntax error: Django cannot import this file either.",
    "encoding": "Save the file as UTF-8, or declare its encoding with a `# -*- coding: ... -*-` line.",
    "binary": (
        "Remove this file from the migrations package (Django imports every module in it), "
        "or restore its source."
    ),
    "read": "Make the file readable, or remove it from the migrations package.",
    "size": (
        "Nothing to fix for Django; to have miglint check it, split it into smaller "
        "migrations, or exclude it in `[tool.miglint] exclude`."
    ),
    "limit": (
        "Nothing to fix for Django; to have miglint check it, break the deeply nested "
        "expression into named parts."
    ),
}
_NO_CLASS_FIX = (
    "Move helper modules out of the migrations package, or start their names with an "
    "underscore (Django skips those)."
)
_BASE_FIX = "Derive the class from Django's: `class Migration(migrations.Migration):`."
_OPERATIONS_FIX = "Make `operations` a list of operations."
_ENTRY_FIX = (
    "Write each entry as an `(app_label, migration_name)` tuple, or "
    "`migrations.swappable_dependency(settings.AUTH_USER_MODEL)` for a swappable model."
)


class ParseError(Rule):
    """Django's loader imports every module in a migrations package (except names starting
    with `_` or `~`) and stops when it cannot: a syntax error, bytes that are not valid
    source (not UTF-8, NUL bytes), a module without a `Migration` class
    (`BadMigrationError`), or a `dependencies`, `run_before` or `replaces` entry it cannot
    use as a graph key (a list instead of a tuple, a string, a tuple of three...). Then
    `migrate`, `makemigrations` and every command that builds the graph fail, for the
    whole project. miglint lints the rest of the tree, but cannot check this file.

    A file miglint does not read for its own limits (over 5 MB, nested too deeply) is
    reported as a warning: Django may load it. An entry that Django accepts but reads
    differently from the pair it looks like (it replaces nothing, say) is a warning too.
    """

    code = "MIG000"
    name = "parse-error"
    severity = Severity.ERROR
    summary = "A migration file Django cannot load: broken syntax or encoding, no Migration class, or a dependency entry its loader rejects."
    fix = (
        "Fix what stops Django from loading the file (the message says what), or move a "
        "helper module out of the migrations package (or start its name with an underscore)."
    )
    VALID = (
        """\
from django.conf import settings
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
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
        """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ["shop", "0001_initial"],
    ]
    operations = []
""",
    )

    def check(self, project: Project) -> Iterator[Finding]:
        for migration in project.migrations:
            facts = migration.facts
            if facts.error is not None:
                error = facts.error
                own_limit = error.cause in ("size", "limit")
                yield self.at(
                    migration,
                    Span(error.line, error.column, error.line, error.column),
                    f"miglint does not read this migration ({error.message}); Django may still "
                    "load it"
                    if own_limit
                    else f"cannot parse migration: {error.message}",
                    fix=_UNREADABLE_FIX.get(error.cause, self.fix),
                    severity=Severity.WARNING if own_limit else None,
                )
            elif not facts.has_class:
                yield self.at(
                    migration,
                    Span(1, 1, 1, 1),
                    f"{migration.name}.py is in a migrations package but has no Migration "
                    "class; Django's loader refuses it (BadMigrationError)",
                    fix=_NO_CLASS_FIX,
                )
            else:
                # One finding per file and kind: Django fails on the file as a whole.
                for kind in ("rejected", "unusual"):
                    notes = [note for note in facts.notes if note.kind == kind]
                    if not notes:
                        continue
                    more = ""
                    if len(notes) > 1:
                        which = "that Django rejects" if kind == "rejected" else "like it"
                        more = f" (and {len(notes) - 1} more {which})"
                    attributes = notes[0].attributes
                    yield self.at(
                        migration,
                        notes[0].span,
                        notes[0].message + more,
                        fix=_BASE_FIX
                        if not attributes
                        else _OPERATIONS_FIX
                        if "operations" in attributes
                        else _ENTRY_FIX,
                        severity=Severity.WARNING if kind == "unusual" else None,
                    )


# Fix hints for dynamic migrations, by `Note.kind` (and attribute).
_DYNAMIC_FIX = {
    "operations": (
        "If the choice is deliberate (per database vendor, say), add "
        "`# miglint: ignore[MIG005]`; otherwise keep one `operations` list and decide inside "
        "an operation (a `RunPython` that checks `schema_editor.connection.vendor`)."
    ),
    "dependencies": (
        "Fine when deliberate (Django documents `if global_apps.is_installed(...)` for an "
        "optional app); miglint builds the graph without it. Add `# miglint: ignore[MIG005]`."
    ),
    "computed": (
        "miglint builds the graph without these entries: if they are deliberate "
        "(`swapper.dependency(...)`, a setting), add `# miglint: ignore[MIG005]`; else write "
        "`(app_label, migration_name)` tuples."
    ),
    "replaces": (
        "miglint cannot tell what this squash replaces, so its graph may differ from "
        "Django's: if the list is deliberate, add `# miglint: ignore[MIG005]`; else write "
        "`(app_label, migration_name)` tuples."
    ),
    "inherited": "Set `dependencies` and `operations` on the Migration class itself.",
    "imported": (
        "Define `class Migration(migrations.Migration)` in the file itself, so that its "
        "dependencies and operations can be read."
    ),
    "not-literal": "Write it as `True` or `False`, or add `# miglint: ignore[MIG005]`.",
}


class DynamicMigration(Rule):
    """Django imports a migration file, so a `Migration` class may decide its operations or
    dependencies when it is loaded: an `if connection.vendor == ...` in the class body,
    `dependencies.append(...)` for an optional app, an entry computed by a function, a
    class imported from another module. That is valid, and sometimes the documented way,
    but what runs then depends on the database, the settings or the installed apps, which
    no reader of the file (nor miglint) can see.

    miglint reads the plain assignments and says what it could not read: the graph is built
    without the dynamic entries (and an app whose graph is uncertain gets no MIG001);
    operations chosen at load time are not checked, and they make the app's model state
    unknown to MIG401.
    """

    code = "MIG005"
    name = "dynamic-migration"
    severity = Severity.WARNING
    summary = "A valid migration whose dependencies or operations are chosen when Django loads it."
    fix = (
        "If the choice is deliberate, add `# miglint: ignore[MIG005]`; otherwise keep the class "
        "static (literal `dependencies`, one `operations` list) and decide inside an operation, "
        "e.g. a `RunPython` that checks `schema_editor.connection.vendor`."
    )
    VALID = (
        """\
from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
""",
        """\
from django.db import connection, migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = []
    vendor = connection.vendor
    if vendor == "sqlite":
        label = "sqlite"
""",
    )
    INVALID = (
        """\
from django.db import connection, migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    if connection.vendor == "postgresql":
        operations = [migrations.RunSQL("CREATE EXTENSION pg_trgm", "DROP EXTENSION pg_trgm")]
    else:
        operations = []
""",
        """\
from django.apps import apps as global_apps
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = []
    if global_apps.is_installed("legacy"):
        dependencies.append(("legacy", "0001_initial"))
""",
    )

    def check(self, project: Project) -> Iterator[Finding]:
        for migration in project.migrations:
            if not migration.readable:
                continue
            notes = [note for note in migration.facts.notes if note.dynamic]
            if not notes:
                continue
            # One finding per migration: it is one fact about the file, however many parts.
            parts = _dynamic_parts(notes)
            shown = "; ".join(parts[:3]) + (
                f"; and {len(parts) - 3} more" if len(parts) > 3 else ""
            )
            yield self.at(migration, notes[0].span, shown, fix=_dynamic_fix(notes[0]))


def _dynamic_parts(notes: list[Note]) -> list[str]:
    """What the notes say, in order, with the computed entries of one attribute said once."""
    groups: dict[object, list[Note]] = {}
    for index, note in enumerate(notes):
        groups.setdefault(note.attributes if note.kind == "computed" else index, []).append(note)
    parts = []
    for group in groups.values():
        if len(group) == 1:
            parts.append(group[0].message)
            continue
        sources = ", ".join(f"`{source}`" for source in dict.fromkeys(n.source for n in group))
        parts.append(
            f"{len(group)} entries of `{group[0].attributes[0]}` are computed when Django "
            f"loads the file ({sources})"
        )
    return parts


def _dynamic_fix(note: Note) -> str:
    if note.kind in ("branch", "changed"):
        if "operations" in note.attributes:
            return _DYNAMIC_FIX["operations"]
        if {"dependencies", "run_before", "replaces"} & set(note.attributes):
            return _DYNAMIC_FIX["dependencies"]
        return _DYNAMIC_FIX["not-literal"]
    if note.kind == "computed" and "replaces" in note.attributes:
        return _DYNAMIC_FIX["replaces"]
    return _DYNAMIC_FIX.get(note.kind, _DYNAMIC_FIX["computed"])


# What `makemigrations --merge` writes (Django 5.2, without its header comment).
_MERGE = """\
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('shop', '{}'),
        ('shop', '{}'),
    ]

    operations = [
    ]
"""


class ConflictingLeaves(Rule):
    """Two migrations that both depend on the same parent and that nothing depends on (two
    "leaf nodes") usually come from two branches that each added a migration. `migrate`
    refuses to run ("Conflicting migrations detected") until a merge migration joins them,
    so the deploy fails.

    It is reported once per app, on the newest leaf (or on the leaf named on the command
    line or changed under review), and the message names every leaf.
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
    _PRODUCT_CHANGE = (
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("shop", "0001_initial")]\n'
        '    operations = [migrations.AddField("product", "{name}", models.TextField(null=True))]\n'
    )
    INVALID = (
        Invalid(
            {
                "shop/migrations/0001_initial.py": _INITIAL,
                "shop/migrations/0002_add_price.py": _CHILD.format(deps='("shop", "0001_initial")'),
                "shop/migrations/0002_add_sku.py": _CHILD.format(deps='("shop", "0001_initial")'),
            },
            {
                "shop/migrations/0003_merge_0002_add_price_0002_add_sku.py": _MERGE.format(
                    "0002_add_price", "0002_add_sku"
                ),
            },
            SAFE,
        ),
        # Both branches change the same model: the order may matter, so unsafe.
        Invalid(
            {
                "shop/migrations/0001_initial.py": _INITIAL,
                "shop/migrations/0002_note.py": _PRODUCT_CHANGE.format(name="note"),
                "shop/migrations/0002_label.py": _PRODUCT_CHANGE.format(name="label"),
            },
            {
                "shop/migrations/0003_merge_0002_label_0002_note.py": _MERGE.format(
                    "0002_label", "0002_note"
                ),
            },
            UNSAFE,
        ),
    )
    autofix = (
        "`--fix` writes the merge migration `python manage.py makemigrations --merge` would "
        "write (as Django 5.2 does, without its header comment): numbered after the highest "
        "leaf, named `NNNN_merge_<leaves>` (or `NNNN_merge_<timestamp>` when the names are "
        "long), depending on every leaf, with no operations. Safe when the branches change "
        "different models; unsafe when they change the same one, or run RunPython, RunSQL or "
        "operations miglint cannot read (check that their order does not matter). Not "
        "offered when the leaves share no ancestor (Django refuses too)."
    )

    def edit(self, finding: Finding, source: FixSource) -> Edit | None:
        migration = source.migration
        from miglint.fixes.merge import merge_migration

        return None if migration is None else merge_migration(source, migration.app_key)

    def check(self, project: Project) -> Iterator[Finding]:
        # Apps whose graph miglint cannot know in full: a file it cannot read, or edges
        # chosen when Django loads a file, may be what merges the branches.
        uncertain = {
            m.app_key
            for m in project.migrations
            if not m.readable or m.facts.uncertain("dependencies", "run_before", "replaces")
        }
        for app_key in project.graph.app_keys():
            if app_key in uncertain:
                continue
            leaves = project.graph.leaf_nodes(app_key)
            if len(leaves) < 2 or set(leaves) & project.graph.overlapping_squashes:
                # Two squashes of the same migrations: MIG004 says why one is left over.
                continue
            migrations = [project.graph.nodes[key] for key in leaves]
            label = migrations[0].app
            names = ", ".join(m.name for m in migrations)
            # One finding per app, on the newest leaf (the one a change most likely added),
            # preferring a file named on the command line or changed under review.
            reviewed = project.only_paths or project.changed_paths or frozenset()
            candidates = [m for m in migrations if m.path in reviewed] or migrations
            newest = max(candidates, key=lambda m: (_number(m.name), m.name))
            yield self.at(
                newest,
                newest.facts.class_span,
                f"conflicting migrations in app {label!r}: {len(leaves)} leaf nodes "
                f"({names}); `migrate` will refuse to run until they are merged",
                fix=f"Run `python manage.py makemigrations --merge {label}`.",
            )


def _number(name: str) -> int:
    """The leading number of a migration name (`0012_price` -> 12), else -1."""
    digits = name[: len(name) - len(name.lstrip("0123456789"))]
    return int(digits) if digits else -1


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
        # A squash whose `replaces` is computed when Django loads it may replace (and so
        # stand in for) the migration that looks missing.
        unsure = {m.app_key for m in project.migrations if m.facts.uncertain("replaces")}
        for missing in project.graph.missing:
            if missing.target[0] in unsure:
                continue
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
            if len(cycle) == 1 and cycle[0] in project.graph.squash_loops:
                continue  # MIG004 says which replaced migration makes the squash loop.
            migration = project.graph.nodes[cycle[0]]
            path = " -> ".join(_name(key, project) for key in (*cycle, cycle[0]))
            yield self.at(
                migration,
                migration.facts.class_span,
                f"circular dependency: {path}; Django's loader fails with CircularDependencyError",
            )


class BrokenSquash(Rule):
    """A squashed migration (one with `replaces`) stands in for the migrations it lists:
    Django's loader removes them from the graph and points every dependency on them at the
    squash. It fails when a squash lists itself in `replaces` (it is dropped from the graph),
    when a squash depends on a migration it replaces or a replaced migration depends on its
    squash (the squash then depends on itself: `CircularDependencyError`), and, on some
    runs only, when a squash replaces another
    squash that is still on disk ('Unable to find replacement node': the order in which
    Django takes them is not fixed). Two squashes on disk that replace some of the same
    migrations load, but one is applied after the other (the operations they share run
    twice) or is left over as a second leaf.

    A squash whose replaced files were already deleted is normal and fine, and so is
    `replaces` naming migrations of an app label that no longer exists: that is how an app
    is renamed (the new app's migrations replace the old app's, one for one).
    """

    code = "MIG004"
    name = "broken-squash"
    severity = Severity.ERROR
    summary = (
        "A squashed migration Django's loader rejects (on every run or on some) or places wrongly."
    )
    fix = "Regenerate the squash with `squashmigrations`, or fix its `replaces` and `dependencies`."
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
        {
            # The app `store` was renamed `shop`: each new migration replaces its old twin.
            "shop/migrations/0001_initial.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                '    replaces = [("store", "0001_initial")]\n    operations = []\n'
            ),
            "shop/migrations/0002_price.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                '    replaces = [("store", "0002_price")]\n'
                '    dependencies = [("shop", "0001_initial")]\n    operations = []\n'
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
            "shop/migrations/0001_squashed_0002_price.py": _SQUASH.format(
                extra='    dependencies = [("shop", "0001_initial")]\n'
            ),
        },
        {
            "shop/migrations/0001_squashed_0002_price.py": _SQUASH.format(extra=""),
            "shop/migrations/0001_squashed_0003_sku.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                '    replaces = [("shop", "0001_squashed_0002_price"), ("shop", "0003_sku")]\n'
                "    operations = []\n"
            ),
        },
    )

    def check(self, project: Project) -> Iterator[Finding]:
        for problem in project.graph.squash_problems:
            migration = problem.migration
            span = migration.facts.class_span
            if problem.dependency is not None:
                span = problem.dependency.span
            yield self.at(migration, span, problem.message)
