"""Model changes without a migration: models.py against the state the migrations build."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace

from miglint.core.finding import Finding, Severity
from miglint.graph.nodes import App, Migration
from miglint.project.load import Project, newer_migration
from miglint.project.patches import find_patches
from miglint.rules.base import Rule
from miglint.state.autodetect import (
    Change,
    Settings,
    behaviours_for,
    compare_app,
    first_location,
    models_file,
)
from miglint.state.models import files_defining, read_app_models
from miglint.state.project_classes import ProjectClasses
from miglint.state.state import ALTER_OPTION_KEYS, AppState, migration_states

_INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("status", models.CharField(choices=[("draft", "Draft"), ("live", "Live")], default="draft", max_length=10)),
            ],
            options={"ordering": ["name"]},
        ),
    ]
"""

_MODELS = """\
from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    LIVE = "live", _("Live")


class Product(models.Model):
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
{extra}
    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
"""


@dataclass(frozen=True)
class AppDrift:
    """What makemigrations would write for one app, and what miglint could not compare."""

    app: App
    changes: tuple[Change, ...]
    notes: tuple[str, ...]
    # The app's last migration, when the models match the state before it: the drift is
    # that migration's doing (a change made in a migration only, or reverted in models.py).
    undone: Migration | None = None


def analyse(project: Project) -> list[AppDrift]:
    """Compare every app that has models files with the state its migrations build."""
    if not project.apps:
        return []
    top = os.path.commonpath([os.path.dirname(root) for root in project.roots] or ["/"])
    # Compared under the labels the apps' migrations use (an AppConfig.label discovery
    # could not read); findings keep the app as discovery named it.
    labelled = {
        app.key: replace(app, label=project.graph.own_labels.get(app.key, app.label))
        for app in project.apps
    }
    apps = tuple(labelled.values())

    def code(app: App) -> ProjectClasses:
        return ProjectClasses(labelled[app.key], apps, top)

    states = migration_states(project, code)
    settings = comparison_settings(project)
    elsewhere = files_defining(project.roots, project.config.excluded)
    result = []
    models: dict[str, tuple[AppState, frozenset[str]]] = {}
    for app in project.analysed_apps():
        if not app.models_paths:
            result.append(AppDrift(app, (), (f"app {app.label}: no models.py, not compared",)))
            continue
        old = states[app.key]
        new, maybe = read_app_models(
            labelled[app.key], apps, top, expected=frozenset(old.models), elsewhere=elsewhere
        )
        models[app.key] = (new, maybe)
        changes, notes = compare_app(old, new, maybe, settings)
        notes = [*notes, *old.notes]
        result.append(AppDrift(app, tuple(changes), tuple(notes)))
    last = {
        drift.app.key: leaf
        for drift in result
        if drift.changes and (leaf := _only_leaf(project, drift.app)) is not None
    }
    if not last:
        return result
    before = migration_states(project, code, without_last=frozenset(last))
    for index, drift in enumerate(result):
        if drift.app.key not in last or before[drift.app.key].unknown:
            continue
        new, maybe = models[drift.app.key]
        changes, notes = compare_app(before[drift.app.key], new, maybe, settings)
        # Certain only if nothing is left uncompared that was compared with the migration.
        if not changes and set(notes) | set(before[drift.app.key].notes) <= set(drift.notes):
            result[index] = replace(drift, undone=last[drift.app.key])
    return result


def _only_leaf(project: Project, app: App) -> Migration | None:
    """The app's last migration when it has exactly one leaf, read without trouble."""
    leaves = project.graph.leaf_nodes(app.key)
    order = project.graph.app_order(app.key)
    if len(leaves) != 1 or not order or order[-1] != leaves[0]:
        return None
    migration = project.graph.disk.get(leaves[0])
    return migration if migration is not None and migration.readable else None


def comparison_settings(project: Project) -> Settings:
    """How the project's makemigrations compares: its Django version and its patches."""
    patches = project.patches or find_patches(
        project.roots, ALTER_OPTION_KEYS, project.config.excluded
    )
    everything = patches.autodetector or patches.any_model
    return Settings(
        behaviours=behaviours_for(project.django_version),
        option_keys=patches.option_keys or ALTER_OPTION_KEYS,
        options_unknown=patches.option_keys_unknown,
        fields_unknown=(
            f"the project replaces Field.deconstruct: {patches.deconstruct}"
            if patches.deconstruct
            else None
        ),
        patched=patches.models,
        everything_unknown=f"the project changes what makemigrations compares: {everything}"
        if everything
        else None,
    )


class MissingMigration(Rule):
    """`makemigrations` would write a migration: a model, field or Meta option was changed
    without one. Deploying that code runs against a schema that does not match it (missing
    columns, wrong constraints), and the next developer's `makemigrations` picks up your
    change inside their unrelated migration.

    miglint reads models.py (or the models/ package) as source and compares it with the state
    that replaying the app's migrations builds, the way the project's Django version's
    autodetector does (a renamed field shows as a removal plus an addition, as in
    `makemigrations --check`). It is certain or silent: what depends on code it cannot see
    (a third-party base class or field class, fields added by a function, choices built at
    import time, a custom operation's state_forwards) is not compared, and the project's own
    changes to the comparison (a replaced `Field.deconstruct`, an edited
    `ALTER_OPTION_KEYS`, its own autodetector, fields changed in `AppConfig.ready()`) are
    followed or leave what they touch uncompared. `-v` lists everything not compared, and
    why. `--django-check` asks Django itself instead (it imports your project).

    When the models match the state before the app's last migration (a change made only
    in a hand-written migration, or reverted in models.py afterwards), the finding sits on
    that migration, whatever is named on the command line: a new `makemigrations` would
    undo it. With `--diff` (or files given on the command line) a change that edits an
    app's migrations but not its models is reported on the migration too: the fix is then
    in the models or the migration, not a new `makemigrations`.
    """

    code = "MIG401"
    name = "missing-migration"
    severity = Severity.ERROR
    summary = "models.py differs from the state the migrations build (unapplied model changes)."
    fix = "Run `python manage.py makemigrations APP` and commit the new migration."
    VALID = (
        {
            "shop/models.py": _MODELS.format(extra=""),
            "shop/migrations/0001_initial.py": _INITIAL,
        },
        {
            "shop/models.py": _MODELS.format(
                extra="    sku = models.CharField(max_length=20)  # miglint: ignore[MIG401]\n"
            ),
            "shop/migrations/0001_initial.py": _INITIAL,
        },
    )
    INVALID = (
        {
            "shop/models.py": _MODELS.format(extra="    sku = models.CharField(max_length=20)\n"),
            "shop/migrations/0001_initial.py": _INITIAL,
        },
        {
            "shop/models.py": _MODELS.format(extra="").replace("max_length=100", "max_length=200"),
            "shop/migrations/0001_initial.py": _INITIAL,
        },
    )

    def check(self, project: Project) -> Iterator[Finding]:
        for drift in analyse(project):
            if not drift.changes:
                continue
            described = [change.description for change in drift.changes]
            shown = "; ".join(described[:5]) + (
                f"; and {len(described) - 5} more" if len(described) > 5 else ""
            )
            label = drift.app.label
            if drift.undone is not None:
                # The models are as they were before the app's last migration: running
                # makemigrations would write a migration that undoes it.
                yield self.finding(
                    drift.undone.path,
                    drift.undone.facts.class_span,
                    f"app {label!r}: its models match the state before this migration, so "
                    f"they do not have its changes; makemigrations would write: {shown}",
                    app=label,
                    migration=drift.undone,
                    fix="Change the models to match this migration (make in models.py the "
                    "change it makes), or fix the migration (delete it if it was never "
                    "applied); do not run makemigrations, which would undo it.",
                )
                continue
            newer = newer_migration(project, drift.app)
            if newer is not None:
                # The change under review edits the migrations, not the models: running
                # makemigrations would undo what the migration does.
                yield self.finding(
                    newer.path,
                    newer.facts.class_span,
                    f"app {label!r}: this change edits its migrations but not its models, "
                    f"and they disagree; makemigrations would write: {shown}",
                    app=label,
                    migration=newer,
                    fix="Change the models to match the migration (e.g. remove from models.py "
                    "a field the migration removes), or fix the migration; do not run "
                    "makemigrations, which would undo it.",
                )
                continue
            fallback = models_file(drift.app.models_paths, drift.app.path)
            path, span = first_location(list(drift.changes), fallback)
            yield self.finding(
                path,
                span,
                f"app {label!r} has model changes without a migration: {shown}",
                app=label,
                fix=f"Run `python manage.py makemigrations {label}` and commit the new migration.",
            )

    def notices(self, project: Project) -> Iterator[str]:
        for drift in analyse(project):
            for note in drift.notes:
                yield f"MIG401: {note}"
