"""Everything the rules see: the apps, their parsed migrations and the graph, built once."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from miglint.core import inputs
from miglint.graph.graph import MigrationGraph, build_graph
from miglint.graph.nodes import App, Migration, NodeKey
from miglint.project.baseline import (
    Baseline,
    PriorVersions,
    digests_of,
    find_baseline,
    read_baseline,
)
from miglint.project.config import Config
from miglint.project.discover import discover, project_root_for
from miglint.project.django_version import detect_django_version
from miglint.project.djangosettings import SettingsFacts
from miglint.source.facts import MigrationFacts
from miglint.source.parse import parse_migration_bytes
from miglint.source.pysource import SourceError, read_file

if TYPE_CHECKING:
    from miglint.project.patches import ProjectPatches

# Reads one migration file into facts; the cache wraps this.
FileParser = Callable[[str], MigrationFacts]
# Reads many migration files into facts, in order (see miglint.run.cache, miglint.run.parallel).
BatchParser = Callable[[Sequence[str]], list[MigrationFacts]]


class PathError(Exception):
    """A path given on the command line that does not exist (exit status 2)."""


def read_and_parse(path: str) -> MigrationFacts:
    try:
        data = read_file(path)
    except SourceError as error:
        return MigrationFacts(error=error)
    return parse_migration_bytes(data)


@dataclass(frozen=True)
class Project:
    roots: tuple[str, ...]
    config: Config
    apps: tuple[App, ...]
    # Every migration file of every app, sorted by (app key, name).
    migrations: tuple[Migration, ...]
    graph: MigrationGraph = field(compare=False)
    warnings: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    # When files were named on the command line: report only on these (absolute paths).
    only_paths: frozenset[str] | None = None
    # The files of the change under review (`--diff BASE`), when known: the deploy rules
    # take tables created anywhere in it as new.
    changed_paths: frozenset[str] | None = None
    # The Django version the project uses, (major, minor): `django-version` in the config,
    # else read from its requirement and lock files (miglint.project.django_version); None: unknown.
    django_version: tuple[int, int] | None = None
    # Folders with Django models but no migrations miglint found for them.
    unmigrated_models: tuple[str, ...] = ()
    # The migrations recorded by `miglint baseline`, when the project has a baseline file.
    baseline: Baseline | None = None
    # The changed migrations as they were at `--diff BASE`, for MIG006.
    previous: PriorVersions | None = None
    # The digest of each migration's meaning by path, when there is a baseline.
    digests: Mapping[str, str] = field(default_factory=dict)
    # The apps whose findings are wanted (app keys), None for all. When set, `migrations`
    # holds only the migrations of these apps and of the apps they depend on (miglint.run.cache
    # reuses stored findings for the others), and rules may skip the other apps' own work.
    analysed: frozenset[str] | None = None
    # Every module imported by a migration of any app (also of apps not loaded).
    imported_modules: frozenset[str] = frozenset()
    # The project's changes to what makemigrations compares, when already known (the
    # cache keeps them); None: MIG401 reads the project for them.
    patches: ProjectPatches | None = None
    # What the project's settings modules say literally (lock_timeout, DEFAULT_AUTO_FIELD...).
    settings: SettingsFacts = field(default_factory=SettingsFacts)
    # What later stages work out from the project once and share between rules (the table
    # steps, each app's field history: see miglint.state); never part of its value, and
    # not carried over by `dataclasses.replace`.
    memo: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    @cached_property
    def by_key(self) -> dict[NodeKey, Migration]:
        return {migration.key: migration for migration in self.migrations}

    @cached_property
    def apps_by_key(self) -> dict[str, App]:
        return {app.key: app for app in self.apps}

    @property
    def change_under_review(self) -> frozenset[NodeKey]:
        """The migrations named on the command line or changed since `--diff BASE` (by
        real path); worked out once, as every deploy rule asks."""
        return self._change_under_review.get()

    @cached_property
    def _change_under_review(self) -> inputs.Shared[frozenset[NodeKey]]:
        def work_out() -> frozenset[NodeKey]:
            paths = set(self.only_paths or ()) | set(self.changed_paths or ())
            if not paths:
                return frozenset()
            real = {os.path.realpath(path) for path in paths}
            resolved = real_paths(m.path for m in self.migrations)
            return frozenset(m.key for m in self.migrations if resolved[m.path] in real)

        # Asked on behalf of one app after another: each depends on what it looked at.
        return inputs.Shared(work_out)

    def analyses(self, app_key: str) -> bool:
        """Whether findings about this app are wanted."""
        return self.analysed is None or app_key in self.analysed

    def analysed_apps(self) -> Iterator[App]:
        """The apps whose findings are wanted; what is read while one is being looked at
        is recorded as that app's input (see miglint.core.inputs)."""
        for app in self.apps:
            if self.analysed is None or app.key in self.analysed:
                with inputs.acting_for(frozenset((app.key,))):
                    yield app

    def analysed_migrations(self) -> Iterator[Migration]:
        """The migrations of the apps whose findings are wanted."""
        if self.analysed is None:
            yield from self.migrations
            return
        for migration in self.migrations:
            if migration.app_key in self.analysed:
                yield migration

    def app_migrations(self, app_key: str) -> list[Migration]:
        """The app's migrations in the order `migrate` applies them; broken files last."""
        ordered = [self.graph.disk[key] for key in self.graph.app_order(app_key)]
        placed = {m.key for m in ordered}
        rest = [m for m in self.migrations if m.app_key == app_key and m.key not in placed]
        return ordered + rest


@dataclass(frozen=True)
class Survey:
    """The project before its migrations are read: where it is, its configuration, its apps
    and their files, its baseline, Django version and settings (the same whatever apps are
    analysed)."""

    roots: tuple[str, ...]
    config: Config
    apps: tuple[App, ...]
    warnings: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    only_paths: frozenset[str] | None = None
    django_version: tuple[int, int] | None = None
    unmigrated_models: tuple[str, ...] = ()
    baseline: Baseline | None = None
    settings: SettingsFacts = field(default_factory=SettingsFacts)

    def migration_files(self, app_keys: frozenset[str] | None = None) -> list[tuple[App, str]]:
        """(app, path) of every migration file of the apps `app_keys` (default: all)."""
        return [
            (app, path)
            for app in self.apps
            if app_keys is None or app.key in app_keys
            for path in app.migration_paths
        ]


def survey_project(paths: Sequence[str], config: Config, baseline: bool = True) -> Survey:
    """Find the project under `paths`: its apps, settings, baseline (unless `baseline` is
    False; raises BaselineError when broken) and Django version."""
    roots: list[str] = []
    only: set[str] = set()
    for path in paths:
        if not inputs.lexists(path):
            raise PathError(f"{path}: no such file or folder")
        absolute = os.path.abspath(path)
        if inputs.isdir(absolute):
            roots.append(absolute)
        else:
            # A file is linted within its whole project, so the graph around it is known.
            only.add(absolute)
            roots.append(project_root_for(absolute, os.getcwd()))
    roots = _outermost(roots)
    baseline_path = find_baseline(config, paths) if baseline else None
    recorded = read_baseline(baseline_path) if baseline_path is not None else None
    found = discover(roots, config.excluded, config.migration_modules)
    warnings = list(found.warnings)
    if config.database is None and found.settings.database is not None:
        # The deploy rules judge for the backend the settings name, as if configured.
        config = replace(config, database=found.settings.database)
        sources = sorted({os.path.relpath(e.settings_path) for e in found.settings.engines})
        warnings.append(
            f"database: {config.database}, from the default database's ENGINE in "
            + ", ".join(sources)
        )
    django_version = config.django_version or detect_django_version(
        roots, [app.path for app in found.apps]
    )
    return Survey(
        roots=tuple(roots),
        config=config,
        apps=found.apps,
        warnings=tuple(warnings),
        notices=found.notices,
        only_paths=frozenset(only) if only else None,
        django_version=django_version,
        unmigrated_models=found.unmigrated_models,
        baseline=recorded,
        settings=found.settings,
    )


def assemble(
    survey: Survey,
    facts: Mapping[str, MigrationFacts],
    analysed: frozenset[str] | None = None,
    imported_modules: frozenset[str] | None = None,
    patches: ProjectPatches | None = None,
) -> Project:
    """The project of `survey` with the migrations whose `facts` (by path) are given: every
    app's, or (with `analysed`) those of the apps to analyse and of the apps they depend
    on; `imported_modules` then says what the migrations of all apps import."""
    migrations = []
    for app, path in survey.migration_files():
        if path in facts:
            name = os.path.splitext(os.path.basename(path))[0]
            migrations.append(Migration(app.label, app.key, name, path, facts[path]))
    migrations.sort(key=lambda m: m.key)
    labels = {app.label: app.key for app in survey.apps if app.key == app.label}
    graph = build_graph(migrations, labels)
    if imported_modules is None:
        imported_modules = modules_imported(m.facts for m in migrations)
    return Project(
        roots=survey.roots,
        config=survey.config,
        apps=survey.apps,
        migrations=tuple(migrations),
        graph=graph,
        warnings=survey.warnings,
        notices=survey.notices,
        unmigrated_models=survey.unmigrated_models,
        baseline=survey.baseline,
        digests=digests_of(migrations) if survey.baseline is not None else {},
        only_paths=survey.only_paths,
        django_version=survey.django_version,
        settings=survey.settings,
        analysed=analysed,
        imported_modules=imported_modules,
        patches=patches,
    )


def modules_imported(facts: Iterable[MigrationFacts]) -> frozenset[str]:
    return frozenset(imported.module for each in facts for imported in each.imports)


def load_project(
    paths: Sequence[str],
    config: Config,
    parse_file: FileParser = read_and_parse,
    parse_files: BatchParser | None = None,
    baseline: bool = True,
) -> Project:
    """The project under `paths`; `parse_files`, when given, reads all migration files at
    once (on several cores) instead of `parse_file` one by one. Its baseline file is read
    unless `baseline` is False (raises BaselineError when broken)."""
    survey = survey_project(paths, config, baseline)
    every_path = [path for _, path in survey.migration_files()]
    parsed = parse_files(every_path) if parse_files else [parse_file(p) for p in every_path]
    return assemble(survey, dict(zip(every_path, parsed, strict=True)))


def real_paths(paths: Iterable[str]) -> dict[str, str]:
    """os.path.realpath of each path, each folder resolved once (a project's thousands of
    migrations sit in a few dozen folders)."""
    folders: dict[str, str] = {}
    result = {}
    for path in paths:
        folder, name = os.path.split(path)
        real_folder = folders.get(folder)
        if real_folder is None:
            real_folder = folders[folder] = os.path.realpath(folder)
        candidate = os.path.join(real_folder, name)
        result[path] = os.path.realpath(candidate) if inputs.islink(candidate) else candidate
    return result


def _outermost(folders: list[str]) -> list[str]:
    """`folders` without repeats and without those inside another one, in order."""
    result: list[str] = []
    for folder in folders:
        inside = any(
            folder == other or folder.startswith(other.rstrip(os.sep) + os.sep) for other in result
        )
        if not inside:
            result = [
                other for other in result if not other.startswith(folder.rstrip(os.sep) + os.sep)
            ]
            result.append(folder)
    return result


def newer_migration(project: Project, app: App) -> Migration | None:
    """With the change under review known (`--diff`, the Action, or the files given on the
    command line as pre-commit gives the staged ones): the app's last changed migration
    when the change edits its migrations (or deletes one) and none of its models files, so
    the migrations are the newer side; else None."""
    change = project.changed_paths if project.changed_paths is not None else project.only_paths
    if change is None:
        return None
    changed = {os.path.realpath(path) for path in change}
    if any(os.path.realpath(path) in changed for path in app.models_paths):
        return None
    migrations = project.app_migrations(app.key)
    edited = [m for m in migrations if os.path.realpath(m.path) in changed]
    folder = os.path.realpath(app.migrations_path)
    deleted = any(os.path.dirname(path) == folder and not inputs.exists(path) for path in changed)
    if edited:
        return edited[-1]
    if deleted and migrations:
        return migrations[-1]
    return None
