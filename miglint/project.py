"""Everything the rules see: the apps, their parsed migrations and the graph, built once."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from miglint.baseline import Baseline, PriorVersions, digests_of, find_baseline, read_baseline
from miglint.config import Config
from miglint.discover import discover, project_root_for
from miglint.django_version import detect_django_version
from miglint.djangosettings import SettingsFacts
from miglint.graph import MigrationGraph, build_graph
from miglint.nodes import App, Migration, NodeKey
from miglint.parse import MigrationFacts, parse_migration_bytes
from miglint.pysource import SourceError, read_file

if TYPE_CHECKING:
    from miglint.history import History
    from miglint.tablestate import Step

# Reads one migration file into facts; the cache wraps this.
FileParser = Callable[[str], MigrationFacts]
# Reads many migration files into facts, in order (see miglint.cache, miglint.parallel).
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
    # else read from its requirement and lock files (miglint.django_version); None: unknown.
    django_version: tuple[int, int] | None = None
    # Folders with Django models but no migrations miglint found for them.
    unmigrated_models: tuple[str, ...] = ()
    # The migrations recorded by `miglint baseline`, when the project has a baseline file.
    baseline: Baseline | None = None
    # The changed migrations as they were at `--diff BASE`, for MIG006.
    previous: PriorVersions | None = None
    # The digest of each migration's meaning by path, when there is a baseline.
    digests: Mapping[str, str] = field(default_factory=dict)
    # What the project's settings modules say literally (lock_timeout, DEFAULT_AUTO_FIELD...).
    settings: SettingsFacts = field(default_factory=SettingsFacts)

    @cached_property
    def by_key(self) -> dict[NodeKey, Migration]:
        return {migration.key: migration for migration in self.migrations}

    @cached_property
    def apps_by_key(self) -> dict[str, App]:
        return {app.key: app for app in self.apps}

    @cached_property
    def table_steps(self) -> tuple[Step, ...]:
        """Every operation that runs SQL with its table as it was just before (one replay,
        shared by the deploy-safety rules)."""
        from miglint.tablestate import steps

        return tuple(steps(self))

    @cached_property
    def _field_histories(self) -> dict[str, History]:
        return {}

    def field_history(self, app_key: str) -> History:
        """What each AlterField, RemoveField and DeleteModel of the app saw before it ran (one
        walk per app, shared by the data-loss and mixing rules)."""
        from miglint.history import app_history

        if app_key not in self._field_histories:
            self._field_histories[app_key] = app_history(self, app_key)
        return self._field_histories[app_key]

    def app_migrations(self, app_key: str) -> list[Migration]:
        """The app's migrations in the order `migrate` applies them; broken files last."""
        ordered = [self.graph.disk[key] for key in self.graph.app_order(app_key)]
        placed = {m.key for m in ordered}
        rest = [m for m in self.migrations if m.app_key == app_key and m.key not in placed]
        return ordered + rest


def load_project(
    paths: Sequence[str],
    config: Config,
    parse_file: FileParser = read_and_parse,
    parse_files: BatchParser | None = None,
    baseline: bool = True,
) -> Project:
    """The project under `paths`; `parse_files`, when given, reads all migration files at
    once (from the cache, on several cores) instead of `parse_file` one by one. Its
    baseline file is read unless `baseline` is False (raises BaselineError when broken)."""
    roots: list[str] = []
    only: set[str] = set()
    for path in paths:
        if not os.path.lexists(path):
            raise PathError(f"{path}: no such file or folder")
        absolute = os.path.abspath(path)
        if os.path.isdir(absolute):
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
    files = [(app, path) for app in found.apps for path in app.migration_paths]
    every_path = [path for _, path in files]
    parsed = parse_files(every_path) if parse_files else [parse_file(p) for p in every_path]
    migrations = []
    for (app, path), facts in zip(files, parsed, strict=True):
        name = os.path.splitext(os.path.basename(path))[0]
        migrations.append(Migration(app.label, app.key, name, path, facts))
    migrations.sort(key=lambda m: m.key)
    labels = {app.label: app.key for app in found.apps if app.key == app.label}
    graph = build_graph(migrations, labels)
    django_version = config.django_version or detect_django_version(
        roots, [app.path for app in found.apps]
    )
    return Project(
        roots=tuple(roots),
        config=config,
        apps=found.apps,
        migrations=tuple(migrations),
        graph=graph,
        warnings=tuple(warnings),
        notices=found.notices,
        unmigrated_models=found.unmigrated_models,
        baseline=recorded,
        digests=digests_of(migrations) if recorded is not None else {},
        only_paths=frozenset(only) if only else None,
        django_version=django_version,
        settings=found.settings,
    )


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
