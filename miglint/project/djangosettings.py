"""Literal values of a project's Django settings modules, read as text, never imported.

The settings that change what miglint checks: `MIGRATION_MODULES` (where an app keeps its
migrations), the `ENGINE` of the default database (which backend the deploy rules judge
for), a `lock_timeout` in a database's `OPTIONS` (MIG513) and `DEFAULT_AUTO_FIELD` (MIG514).
Only literal values count: `MIGRATION_MODULES = {"dojo": "dojo.db_migrations"}`,
also inside an `if`, a `try`, a `with` or a settings class, and
`DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", ...}}` (other keys may
be anything). A value computed at run time (an environment variable, a function) is not
guessed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from miglint.source.pysource import SourceError, decode, read_file

# Settings modules are small; a bigger file named like one is not read.
MAX_SETTINGS_BYTES = 1024 * 1024
_INTERESTING = (
    b"MIGRATION_MODULES",
    b"DATABASES",
    b"DEFAULT_AUTO_FIELD",
    b"ZERO_DOWNTIME_MIGRATIONS_LOCK_TIMEOUT",
)
# `-c lock_timeout=5s` or `--lock_timeout=5s` in libpq's `options`.
_LOCK_TIMEOUT = re.compile(r"(?:-c\s*|--)lock_timeout\s*=\s*([^\s]*)")
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
class Assigned:
    """A literal setting, where it is assigned."""

    value: str
    settings_path: str
    line: int


@dataclass(frozen=True)
class SettingsFacts:
    migration_modules: tuple[MigrationModule, ...] = ()
    engines: tuple[Engine, ...] = ()
    # Settings modules that set the default database in a way that cannot be read (from
    # the environment, a URL, an empty dict to be filled elsewhere, an unknown backend).
    unknown_engines: tuple[str, ...] = ()
    # A lock_timeout other than 0 that connections get: `-c lock_timeout=...` in a
    # database's OPTIONS["options"], or django-pg-zero-downtime-migrations' setting.
    lock_timeouts: tuple[Assigned, ...] = ()
    # Settings modules whose database OPTIONS["options"] cannot be read (not a literal).
    unknown_options: tuple[str, ...] = ()
    # Literal DEFAULT_AUTO_FIELD assignments.
    default_auto_fields: tuple[Assigned, ...] = ()

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
    timeouts: list[Assigned] = []
    unknown_options: list[str] = []
    auto_fields: list[Assigned] = []
    for path in paths:
        tree = _parse(path)
        if tree is None:
            continue
        for statement in _statements(tree.body):
            modules.extend(_migration_modules(statement, path))
            for options, line in _connection_options(statement):
                found = _lock_timeout(options)
                if found is None:
                    unknown_options.append(path)
                elif found:
                    timeouts.append(Assigned(found, path, line))
            for name, value, line in _literal_settings(statement):
                if name == "DEFAULT_AUTO_FIELD":
                    auto_fields.append(Assigned(value, path, line))
                elif name == "ZERO_DOWNTIME_MIGRATIONS_LOCK_TIMEOUT" and not _zero(value):
                    timeouts.append(Assigned(value, path, line))
            engine = _default_engine(statement)
            if engine is _NOT_SET:
                continue
            backend = backend_of(engine) if isinstance(engine, str) else None
            if isinstance(engine, str) and backend is not None:
                engines.append(Engine(backend, engine, path))
            else:
                unknown.append(path)
    return SettingsFacts(
        tuple(modules),
        tuple(engines),
        tuple(sorted(set(unknown))),
        tuple(timeouts),
        tuple(sorted(set(unknown_options))),
        tuple(auto_fields),
    )


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


def _literal_settings(statement: ast.stmt) -> Iterator[tuple[str, str, int]]:
    """`NAME = "literal"`: the name, the string and its line."""
    for target, value in _assignments(statement):
        name, text = _name(target), _string(value)
        if name is not None and text is not None:
            yield name, text, statement.lineno


def _connection_options(statement: ast.stmt) -> Iterator[tuple[ast.expr, int]]:
    """The `options` value (libpq's command-line options) a statement gives any database's
    OPTIONS: in `DATABASES = {...}`, `DATABASES["x"] = {...}`, `DATABASES["x"]["OPTIONS"] =
    {...}` or `DATABASES["x"]["OPTIONS"]["options"] = "..."`."""
    for target, value in _assignments(statement):
        path = _subscripts(target)
        if path is None or path[0] != "DATABASES" or len(path) > 4:
            continue
        # The keys the target names must lead to the options: (alias, "OPTIONS", "options").
        levels: tuple[str | None, ...] = (None, "OPTIONS", "options")
        named = path[1:]
        if any(
            key != level for key, level in zip(named, levels, strict=False) if level is not None
        ):
            continue
        nodes = [value]
        for wanted in levels[len(named) :]:
            nodes = [
                item
                for node in nodes
                if isinstance(node, ast.Dict)
                for key, item in zip(node.keys, node.values, strict=True)
                if key is not None and (wanted is None or _string(key) == wanted)
            ]
        for node in nodes:
            yield node, statement.lineno


def _subscripts(node: ast.expr) -> list[str] | None:
    """`DATABASES["default"]["OPTIONS"]` -> ["DATABASES", "default", "OPTIONS"]."""
    keys: list[str] = []
    while isinstance(node, ast.Subscript):
        key = _string(node.slice)
        if key is None:
            return None
        keys.append(key)
        node = node.value
    name = _name(node)
    return None if name is None else [name, *reversed(keys)]


def _lock_timeout(options: ast.expr) -> str | None:
    """The lock_timeout libpq `options` set ("" when none, or 0), or None when they cannot
    be read. An f-string that spells `lock_timeout=` sets one whatever its value."""
    text = _string(options)
    if text is None:
        if isinstance(options, ast.JoinedStr) and any(
            "lock_timeout" in (_string(part) or "") for part in options.values
        ):
            return "(computed)"
        return None
    found: list[str] = _LOCK_TIMEOUT.findall(text)
    if not found or _zero(found[-1]):
        return ""
    return found[-1]


def _zero(value: str) -> bool:
    """A timeout of 0 (off) as PostgreSQL reads it: `0`, `'0'`, `0ms`, `0s`."""
    digits = re.match(r"\s*'?([0-9]+(?:\.[0-9]*)?)", value)
    return digits is not None and float(digits.group(1)) == 0
