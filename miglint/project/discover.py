"""Paths -> Django apps -> their migration files and models files.

The walk never follows a symbolic link to a folder, never leaves the given tree, and
skips virtualenvs, VCS folders, `node_modules`, `site-packages` and configured excludes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from miglint.core import inputs
from miglint.graph.nodes import App
from miglint.project.config import skipped_folder
from miglint.project.djangosettings import SettingsFacts, is_settings_module, read_settings
from miglint.source import syntax as s
from miglint.source.pysource import SourceError, decode, parse_source, read_file

_MIGRATION_CLASS = re.compile(rb"^class\s+Migration\b", re.MULTILINE)
# Folders whose apps are copies (test fixtures, docs); a real app of the same label wins.
SECONDARY_PARTS = {"tests", "test", "testing", "fixtures", "examples", "example", "docs"}


@dataclass(frozen=True)
class Discovery:
    apps: tuple[App, ...]
    # Problems met on the way (unreadable folders, links out of the tree), one line each.
    warnings: tuple[str, ...]
    # Notices about the tree (e.g. two apps sharing a label).
    notices: tuple[str, ...]
    # Folders with a Django models module but no migrations that miglint found for them.
    unmigrated_models: tuple[str, ...] = ()
    settings: SettingsFacts = field(default_factory=SettingsFacts)


def is_migration_module(filename: str) -> bool:
    """Django loads every module of a migrations package not starting with `_` or `~`."""
    return filename.endswith(".py") and filename[0] not in "_~"


def discover(
    roots: list[str],
    excluded: Callable[[str], bool],
    migration_modules: Sequence[tuple[str, str]] = (),
) -> Discovery:
    """The apps under `roots`: every `migrations` package, and the packages that
    `migration_modules` (the config's) or a settings module's MIGRATION_MODULES names."""
    warnings: list[str] = []
    notices: list[str] = []
    migration_dirs: list[str] = []
    folders: list[str] = []
    settings_files: list[str] = []
    model_dirs: list[str] = []
    for root in roots:
        for directory, files in _walk(root, excluded, warnings):
            folders.append(directory)
            name = os.path.basename(directory)
            if name == "migrations":
                migration_dirs.append(directory)
            if "models.py" in files or (name == "models" and "__init__.py" in files):
                model_dirs.append(directory if "models.py" in files else os.path.dirname(directory))
            if not _secondary(directory, root):
                settings_files.extend(
                    os.path.join(directory, file)
                    for file in files
                    if is_settings_module(name, file)
                )
    settings = read_settings(sorted(set(settings_files)))
    mapped = _mapped_folders(settings, migration_modules, folders, notices, warnings)
    apps = []
    seen: set[str] = set()
    for directory in sorted(set(migration_dirs)):
        if directory in seen or directory in mapped.values():
            continue
        seen.add(directory)
        app = _app_for(directory, warnings)
        if app is None:
            continue
        if app.label in mapped:
            notices.append(
                f"{_shown(directory)}: not read, MIGRATION_MODULES gives app {app.label!r} the "
                f"migrations in {_shown(mapped[app.label])}"
            )
            continue
        apps.append(app)
    for label, directory in sorted(mapped.items()):
        app = _app_for(directory, warnings, label, folders)
        if app is not None:
            apps.append(app)
    apps, shared = _assign_keys(apps)
    with_migrations = {os.path.realpath(app.path) for app in apps}
    unmigrated = sorted(
        {d for d in model_dirs if os.path.realpath(d) not in with_migrations and _is_django(d)}
    )
    return Discovery(
        tuple(apps), tuple(warnings), tuple(notices + shared), tuple(unmigrated), settings
    )


def _shown(path: str) -> str:
    return os.path.relpath(path).replace(os.sep, "/")


def _secondary(directory: str, root: str) -> bool:
    """A folder of tests, examples or templates (their settings describe another project)."""
    relative = os.path.relpath(directory, root).replace(os.sep, "/").lower()
    parts = relative.split("/")
    return bool(set(parts) & SECONDARY_PARTS) or any(
        word in part for part in parts for word in ("test", "example", "template", "sample")
    )


def _is_django(app_dir: str) -> bool:
    """Whether the app's models module mentions Django at all (a cheap filter)."""
    for candidate in ("models.py", os.path.join("models", "__init__.py")):
        try:
            data = read_file(os.path.join(app_dir, candidate))
        except SourceError:
            continue
        return b"django" in data or b"models.Model" in data
    return False


def _mapped_folders(
    settings: SettingsFacts,
    configured: Sequence[tuple[str, str]],
    folders: list[str],
    notices: list[str],
    warnings: list[str],
) -> dict[str, str]:
    """App label -> the folder holding its migrations, for the apps whose migrations live
    in another module (the config's `migration-modules` first, then MIGRATION_MODULES)."""
    result: dict[str, str] = {}
    for label, module in configured:
        found = _module_folder(module, folders)
        if found is None:
            notices.append(
                f"migration-modules: {module!r} (app {label!r}) is not a folder in the tree; "
                f"app {label!r} is read from its `migrations` package"
            )
        else:
            result[label] = found
    by_label: dict[str, set[str]] = {}
    for entry in settings.migration_modules:
        # `None` turns migrations off (test settings do it for speed): never a reason to
        # skip migrations that are on disk.
        if entry.label not in result and entry.module is not None:
            by_label.setdefault(entry.label, set()).add(entry.module)
    for label, modules in sorted(by_label.items()):
        located = {m: _module_folder(m, folders) for m in sorted(modules)}
        existing = {folder for folder in located.values() if folder is not None}
        if len(existing) == 1:
            result[label] = existing.pop()
        elif len(existing) > 1:
            notices.append(
                f"MIGRATION_MODULES gives app {label!r} different modules in different settings "
                f"({', '.join(sorted(modules))}); each is read from its `migrations` package"
            )
        else:
            warnings.append(
                f"MIGRATION_MODULES: {', '.join(sorted(modules))} (app {label!r}) is not in "
                "the tree"
            )
    return result


def _module_folder(module: str, folders: list[str]) -> str | None:
    """The folder in the tree that the dotted `module` names: the one whose path ends with
    its parts, preferring a real app over a copy under tests/ and the shallowest."""
    suffix = os.sep + os.sep.join(module.split("."))
    matches = [folder for folder in folders if folder.endswith(suffix)]
    if not matches:
        return None
    return min(matches, key=_rank)


def _rank(path: str) -> tuple[bool, int, str]:
    parts = set(path.replace(os.sep, "/").lower().split("/"))
    return (bool(parts & SECONDARY_PARTS), path.count(os.sep), path)


def _walk(
    root: str, excluded: Callable[[str], bool], warnings: list[str]
) -> Iterator[tuple[str, set[str]]]:
    """Every folder under `root` (itself included) worth looking into, in sorted order,
    with the names of the plain files in it."""
    root = os.path.abspath(root)
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            entries = sorted(inputs.scandir(directory), key=lambda e: e.name, reverse=True)
        except OSError as error:
            warnings.append(f"{directory}: cannot read folder: {error.strerror}")
            yield directory, set()
            continue
        files: set[str] = set()
        folders: list[str] = []
        for entry in entries:
            try:
                if entry.is_symlink():
                    continue
                if not entry.is_dir(follow_symlinks=False):
                    if entry.is_file(follow_symlinks=False):
                        files.add(entry.name)
                    continue
            except OSError:
                continue
            name = entry.name
            if skipped_folder(name) or excluded(entry.path):
                continue
            if inputs.exists(os.path.join(entry.path, "pyvenv.cfg")):
                continue
            folders.append(entry.path)
        yield directory, files
        stack.extend(folders)


def _migration_files(directory: str, warnings: list[str]) -> list[str]:
    files = []
    try:
        entries = inputs.scandir(directory)
    except OSError as error:
        warnings.append(f"{directory}: cannot read folder: {error.strerror}")
        return []
    for entry in entries:
        if not is_migration_module(entry.name):
            continue
        try:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if os.path.dirname(target) != os.path.realpath(directory) or not inputs.isfile(
                    target
                ):
                    warnings.append(f"{entry.path}: symbolic link out of its folder, not followed")
                    continue
            elif not entry.is_file(follow_symlinks=False):
                continue
        except OSError:
            continue
        files.append(entry.path)
    return sorted(files)


def _has_migration_class(paths: list[str]) -> bool:
    """Whether any file defines a top-level `class Migration(...)` with a base class.

    The text search is only a quick filter: Django's own django/db/migrations package
    has a bare `class Migration:` and a `class Migration(...)` inside a template string.
    """
    for path in paths:
        try:
            data = read_file(path)
        except SourceError:
            # Unreadable files still belong to the package; the parse step reports them.
            return True
        match = _MIGRATION_CLASS.search(data)
        if not match:
            continue
        try:
            module = _parse_through_line(data, match.end())
        except SourceError:
            # A broken migration file is still a migration file: MIG000 reports it.
            return True
        if any(
            isinstance(st, s.ClassDef) and st.name == "Migration" and st.bases for st in module.body
        ):
            return True
    return False


def _parse_through_line(data: bytes, offset: int) -> s.Module:
    """The module up to the end of the line at `offset` (with a stub body), else all of it.

    Enough to tell a class statement from text in a string, without parsing a huge
    migration twice (the parse step reads it in full anyway).
    """
    end = data.find(b"\n", offset)
    if end >= 0:
        try:
            return parse_source(decode(data[:end] + b"\n    pass\n"))
        except SourceError:
            pass
    return parse_source(decode(data))


def _app_for(
    migrations_dir: str,
    warnings: list[str],
    mapped_label: str | None = None,
    folders: Sequence[str] = (),
) -> App | None:
    """The app whose migrations are in `migrations_dir`; `mapped_label` when a
    MIGRATION_MODULES entry put them there (the app's own folder is then looked up)."""
    files = _migration_files(migrations_dir, warnings)
    if not files or not _has_migration_class(files):
        return None
    app_dir = os.path.dirname(migrations_dir)
    label, source, auto_field = app_config(app_dir)
    if mapped_label is not None and label != mapped_label:
        found = _app_folder(mapped_label, folders)
        if found is not None:
            app_dir, auto_field = found, app_config(found)[2]
        label, source = mapped_label, "MIGRATION_MODULES"
    return App(
        label=label,
        key=label,
        path=app_dir,
        migrations_path=migrations_dir,
        migration_paths=tuple(files),
        models_paths=_models_paths(app_dir),
        label_source=source,
        default_auto_field=auto_field,
    )


def _app_folder(label: str, folders: Sequence[str]) -> str | None:
    """The only folder named `label` that holds a models module and has that app label."""
    found = [
        folder
        for folder in folders
        if os.path.basename(folder) == label
        and _models_paths(folder)
        and app_label(folder)[0] == label
    ]
    return found[0] if len(found) == 1 else None


def _models_paths(app_dir: str) -> tuple[str, ...]:
    paths = []
    models_file = os.path.join(app_dir, "models.py")
    if inputs.isfile(models_file) and not inputs.islink(models_file):
        paths.append(models_file)
    package = os.path.join(app_dir, "models")
    if inputs.isdir(package) and not inputs.islink(package):
        for directory, subdirs, filenames in inputs.walk(package):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith((".", "__")))
            for filename in sorted(filenames):
                path = os.path.join(directory, filename)
                if filename.endswith(".py") and not inputs.islink(path):
                    paths.append(path)
    return tuple(paths)


def app_label(app_dir: str) -> tuple[str, str]:
    """The label Django gives the app: a literal `AppConfig.label` in apps.py, else the folder."""
    label, source, _ = app_config(app_dir)
    return label, source


def app_config(app_dir: str) -> tuple[str, str, tuple[str, int] | None]:
    """What the app's AppConfig says literally: its label (else the folder's name) with
    where it came from, and its `default_auto_field` with its line. The config is looked for
    in apps.py, as Django does; an app whose apps.py defines none but whose `__init__.py`
    does (plugin frameworks name that class in INSTALLED_APPS) uses that one."""
    folder = os.path.basename(app_dir)
    for filename in ("apps.py", "__init__.py"):
        configs, module = _configs_in(os.path.join(app_dir, filename))
        if module is None or not configs:
            continue
        label, source, chosen = _label_of(module, configs, folder, filename)
        auto_field = None
        for statement in chosen.body if chosen else ():
            if (
                isinstance(statement, s.Assign)
                and "default_auto_field" in statement.targets
                and isinstance(statement.value, str)
            ):
                auto_field = (statement.value, statement.span.line)
        return label, source, auto_field
    return folder, "folder", None


def _configs_in(path: str) -> tuple[list[s.ClassDef], s.Module | None]:
    """The AppConfig subclasses that the module at `path` defines, and the module (None
    when it cannot be read)."""
    try:
        if not inputs.is_plain_file(path):
            return [], None
        module = parse_source(decode(read_file(path)))
    except (OSError, SourceError):
        return [], None
    configs = [
        st
        for st in module.body
        if isinstance(st, s.ClassDef)
        and any(isinstance(b, s.Ref) and b.last.endswith("AppConfig") for b in st.bases)
    ]
    return configs, module


def _label_of(
    module: s.Module, configs: list[s.ClassDef], folder: str, filename: str
) -> tuple[str, str, s.ClassDef | None]:
    chosen = _default_config(configs)
    if chosen is None:
        return folder, "folder", None
    constants = {
        target: st.value
        for st in module.body
        if isinstance(st, s.Assign) and isinstance(st.value, str)
        for target in st.targets
    }
    attributes = {
        target: constants.get(st.value.name, st.value) if isinstance(st.value, s.Ref) else st.value
        for st in chosen.body
        if isinstance(st, s.Assign)
        for target in st.targets
    }
    if "label" in attributes:
        label = attributes["label"]
        # A label computed at run time cannot be known: the folder name is the best guess.
        if isinstance(label, str) and label.isidentifier():
            return label, filename, chosen
        return folder, "folder", chosen
    name = attributes.get("name")
    if isinstance(name, str) and name:
        return name.rpartition(".")[2], filename, chosen
    return folder, "folder", chosen


def _default_config(configs: list[s.ClassDef]) -> s.ClassDef | None:
    """The AppConfig Django picks for an app module: the only one not marked `default =
    False`, else the only one marked `default = True`, else none (a plain AppConfig)."""

    def default(config: s.ClassDef) -> object:
        values = [
            st.value for st in config.body if isinstance(st, s.Assign) and "default" in st.targets
        ]
        return values[-1] if values else None

    candidates = [config for config in configs if default(config) is not False]
    if len(candidates) == 1:
        return candidates[0]
    marked = [config for config in candidates if default(config) is True]
    return marked[0] if len(marked) == 1 else None


def _assign_keys(apps: list[App]) -> tuple[list[App], list[str]]:
    """Give each app a unique key; a second app with a known label gets its own graph."""

    def rank(app: App) -> tuple[bool, int, str]:
        parts = set(app.path.replace(os.sep, "/").lower().split("/"))
        return (bool(parts & SECONDARY_PARTS), app.path.count(os.sep), app.path)

    by_label: dict[str, list[App]] = {}
    for app in apps:
        by_label.setdefault(app.label, []).append(app)
    result: list[App] = []
    notices: list[str] = []
    for label in sorted(by_label):
        group = sorted(by_label[label], key=rank)
        primary, others = group[0], group[1:]
        result.append(primary)
        for other in others:
            key = f"{label}@{os.path.relpath(other.path)}".replace(os.sep, "/")
            result.append(App(**{**other.__dict__, "key": key}))
        if others:
            notices.append(
                f"{len(group)} apps share the label {label!r} ("
                + ", ".join(os.path.relpath(a.path) for a in group)
                + f"); each is checked as its own graph, and a dependency on {label!r} goes "
                f"to the nearest of them in the tree (else to {os.path.relpath(primary.path)})"
            )
    return sorted(result, key=lambda a: a.key), notices


# What marks the root of a project, strongest first: miglint's own files (a config or a
# baseline), Django's manage.py, then the repository or the Python package's root.
BASELINE_FILE = "miglint-baseline.json"
_ROOT_MARKERS: tuple[tuple[str, ...], ...] = (
    ("miglint.toml", ".miglint.toml", BASELINE_FILE),
    ("manage.py",),
    (".git", "pyproject.toml", "setup.py", "setup.cfg"),
)


def project_root_for(path: str, cwd: str) -> str:
    """The root of the project a file belongs to, so that the whole graph around it is read.

    Looks upward from the file (no further than the repository root): the nearest folder
    with a miglint config or baseline, else with manage.py, else the repository or package
    root; else the current folder when the file is in it; else the folder above its app.
    """
    folder = os.path.dirname(os.path.abspath(path))
    ancestors = []
    current = folder
    while True:
        ancestors.append(current)
        if inputs.exists(os.path.join(current, ".git")):
            break
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for tier, markers in enumerate(_ROOT_MARKERS):
        for directory in ancestors:
            if any(inputs.lexists(os.path.join(directory, name)) for name in markers) or (
                tier == 0 and _has_miglint_table(os.path.join(directory, "pyproject.toml"))
            ):
                return directory
    cwd = os.path.abspath(cwd)
    if folder == cwd or folder.startswith(cwd.rstrip(os.sep) + os.sep):
        return cwd
    app = os.path.dirname(folder) if os.path.basename(folder) == "migrations" else folder
    return os.path.dirname(app)


def _has_miglint_table(pyproject: str) -> bool:
    try:
        return b"[tool.miglint" in read_file(pyproject)
    except SourceError:
        return False
