"""Literal values of a project's Django settings modules, read as text, never imported.

Two settings change what miglint checks: `MIGRATION_MODULES` (where an app keeps its
migrations) and the `ENGINE` of the default database (which backend the deploy rules judge
for). Only literal values count: `MIGRATION_MODULES = {"dojo": "dojo.db_migrations"}`,
also inside an `if`, a `try`, a `with` or a settings class, and
`DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", ...}}` (other keys may
be anything). A value computed at run time (an environment variable, a function) is not
guessed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from miglint.pysource import SourceError, decode, read_file

# Settings modules are small; a bigger file named like one is not read.
MAX_SETTINGS_BYTES = 1024 * 1024
_INTERESTING = (b"MIGRATION_MODULES", b"DATABASES")
_NOT_THE_PROJECT = ("test", "example", "sample", "template")
# `try: ... except* ...:` (Python 3.11+) holds statements too.
_TRY = (ast.Try, getattr(ast, "TryStar", ast.Try))


@dataclass(frozen=True)
class MigrationModule:
    label: str
    # The dotted module, or None when the setting turns the app's migrations off.
    module: str | None
    settings_path: str


@dataclass(frozen=True)
class Engine:
    backend: str
    engine: str
    settings_path: str


@dataclass(frozen=True)
class SettingsFacts:
    migration_modules: tuple[MigrationModule, ...] = ()
    engines: tuple[Engine, ...] = ()
    # Settings modules that set the default database in a way that cannot be read (from
    # the environment, a URL, an empty dict to be filled elsewhere, an unknown backend).
    unknown_engines: tuple[str, ...] = ()

    @property
    def database(self) -> str | None:
        """The backend of the default database when every settings module that sets it
        says so literally, and they agree; else None (unknown)."""
        backends = {engine.backend for engine in self.engines}
        if self.unknown_engines or len(backends) != 1:
            return None
        return backends.pop()


def is_settings_module(folder_name: str, file_name: str) -> bool:
    """A module named like Django settings: `settings.py`, `settings_prod.py`,
    `settings.dist.py`, or any module of a `settings` package; not test settings, nor
    examples and templates of settings (they describe someone else's project)."""
    name = file_name.lower()
    if not name.endswith(".py") or name.startswith("_"):
        return False
    if any(word in name for word in _NOT_THE_PROJECT):
        return False
    return "settings" in name or folder_name.lower() == "settings"


def backend_of(engine: str) -> str | None:
    """miglint's `database` name for a database ENGINE, or None when it is not known."""
    last = engine.rpartition(".")[2].lower()
    if last.startswith("postgresql") or last == "postgis":
        return "postgresql"
    if last == "mysql":
        return "mysql"
    if last in ("sqlite3", "spatialite"):
        return "sqlite"
    if last == "oracle":
        return "oracle"
    return None


def read_settings(paths: Iterable[str]) -> SettingsFacts:
    modules: list[MigrationModule] = []
    engines: list[Engine] = []
    unknown: list[str] = []
    for path in paths:
        tree = _parse(path)
        if tree is None:
            continue
        for statement in _statements(tree.body):
            modules.extend(_migration_modules(statement, path))
            engine = _default_engine(statement)
            if engine is _NOT_SET:
                continue
            backend = backend_of(engine) if isinstance(engine, str) else None
            if isinstance(engine, str) and backend is not None:
                engines.append(Engine(backend, engine, path))
            else:
                unknown.append(path)
    return SettingsFacts(tuple(modules), tuple(engines), tuple(sorted(set(unknown))))


def _parse(path: str) -> ast.Module | None:
    try:
        data = read_file(path)
        if len(data) > MAX_SETTINGS_BYTES or not any(word in data for word in _INTERESTING):
            return None
        return ast.parse(decode(data))
    except (SourceError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run when the module (or a settings class) is loaded: into `if`,
    `try`, `with` and class bodies, not into functions."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If | ast.For | ast.While):
            yield from _statements(statement.body)
            yield from _statements(statement.orelse)
        elif isinstance(statement, _TRY):
            yield from _statements(statement.body)
            for handler in statement.handlers:
                yield from _statements(handler.body)
            yield from _statements(statement.orelse)
            yield from _statements(statement.finalbody)
        elif isinstance(statement, ast.With | ast.ClassDef):
            yield from _statements(statement.body)


def _assignments(statement: ast.stmt) -> Iterator[tuple[ast.expr, ast.expr]]:
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            yield target, statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        yield statement.target, statement.value


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def _string(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _subscript(node: ast.expr) -> tuple[str | None, str | None]:
    """`NAME["key"]` -> (NAME, key)."""
    if isinstance(node, ast.Subscript):
        return _name(node.value), _string(node.slice)
    return None, None


def _migration_modules(statement: ast.stmt, path: str) -> Iterator[MigrationModule]:
    for target, value in _assignments(statement):
        if _name(target) == "MIGRATION_MODULES" and isinstance(value, ast.Dict):
            for key, item in zip(value.keys, value.values, strict=True):
                label = _string(key)
                if label is not None:
                    yield from _entry(label, item, path)
        name, label = _subscript(target)
        if name == "MIGRATION_MODULES" and label is not None:
            yield from _entry(label, value, path)


def _entry(label: str, value: ast.expr, path: str) -> Iterator[MigrationModule]:
    module = _string(value)
    if module is not None and all(part.isidentifier() for part in module.split(".")):
        yield MigrationModule(label, module, path)
    elif isinstance(value, ast.Constant) and value.value is None:
        yield MigrationModule(label, None, path)


def _dict_item(node: ast.expr, key: str) -> ast.expr | None:
    if isinstance(node, ast.Dict):
        for name, value in zip(node.keys, node.values, strict=True):
            if name is not None and _string(name) == key:
                return value
    return None


# What `_default_engine` returns for a statement that does not set the default database.
_NOT_SET = object()


def _default_engine(statement: ast.stmt) -> object:
    """The literal ENGINE a statement gives the default database; None when it sets the
    default database some other way; _NOT_SET when it does not touch it."""
    for target, value in _assignments(statement):
        if _name(target) == "DATABASES":
            default = _dict_item(value, "default")
            return None if default is None else _string(_dict_item(default, "ENGINE"))
        name, key = _subscript(target)
        if name == "DATABASES" and key == "default":
            return _string(_dict_item(value, "ENGINE"))
        # DATABASES["default"]["ENGINE"] = "..."
        if isinstance(target, ast.Subscript) and _string(target.slice) == "ENGINE":
            name, key = _subscript(target.value)
            if name == "DATABASES" and key == "default":
                return _string(value)
    return _NOT_SET
