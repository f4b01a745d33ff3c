"""`[tool.miglint]` in pyproject.toml (or a miglint.toml), merged with command-line flags."""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from miglint.core import inputs
from miglint.core.finding import Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_FILES = ("miglint.toml", ".miglint.toml", "pyproject.toml")
FAIL_ON = ("error", "warning", "info", "never")
DATABASES = ("postgresql", "mysql", "sqlite", "oracle")
# Folders never worth walking into.
DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    "__pycache__",
    "node_modules",
    "site-packages",
    "dist-packages",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".miglint_cache",
)


def skipped_folder(name: str) -> bool:
    """A folder that is never looked into: hidden, one of DEFAULT_EXCLUDE, or a project
    template's placeholder (`{{cookiecutter.project_slug}}`, `{% if ... %}`), whose
    files are templates, not Python Django imports."""
    return name.startswith(".") or name in DEFAULT_EXCLUDE or "{{" in name or "{%" in name


class ConfigError(Exception):
    """A configuration the user wrote that miglint cannot use (exit status 2)."""


@dataclass(frozen=True)
class Config:
    # The file the settings came from, and the folder relative paths are taken from.
    path: str | None = None
    root: str = "."
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    fail_on: str = "error"
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    database: str | None = None
    # `django-version = "4.2"`: overrides what the requirement and lock files say.
    django_version: tuple[int, int] | None = None
    # App label -> dotted module of its migrations, as Django's MIGRATION_MODULES setting.
    migration_modules: tuple[tuple[str, str], ...] = ()

    def enabled(self, code: str) -> bool:
        """Whether findings of `code` are reported under select/ignore."""
        selected = (
            True
            if self.select is None
            else _matches(code, self.select) or _matches(code, self.extend_select)
        )
        return selected and not _matches(code, self.ignore)

    def severity_of(self, code: str, default: Severity) -> Severity:
        return self.severity.get(code, default)

    def ignored_for_path(self, code: str, path: str) -> bool:
        """Whether a per-file-ignores glob covers `path` for `code`."""
        relative = _relative(path, self.root)
        for pattern, codes in self.per_file_ignores:
            if _matches(code, codes) and path_matches(relative, pattern):
                return True
        return False

    def excluded(self, path: str) -> bool:
        relative = _relative(path, self.root)
        return any(path_matches(relative, pattern) for pattern in self.exclude)


def _relative(path: str, root: str) -> str:
    try:
        relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    except ValueError:
        relative = path
    return relative.replace(os.sep, "/")


def path_matches(relative: str, pattern: str) -> bool:
    """Glob match as in gitignore: a pattern without '/' matches any path component."""
    pattern = pattern.replace(os.sep, "/").rstrip("/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    if "/" not in pattern:
        return any(fnmatch.fnmatchcase(part, pattern) for part in relative.split("/"))
    pattern = pattern.lstrip("/")
    if fnmatch.fnmatchcase(relative, pattern):
        return True
    # A folder pattern covers everything below it.
    parts = relative.split("/")
    return any(fnmatch.fnmatchcase("/".join(parts[:i]), pattern) for i in range(1, len(parts)))


def _matches(code: str, selectors: Iterable[str]) -> bool:
    return any(selector == "ALL" or code.startswith(selector) for selector in selectors)


def find_config_file(start: str) -> str | None:
    """The nearest miglint.toml, or pyproject.toml with a [tool.miglint] table, upward."""
    directory = os.path.abspath(start)
    if not inputs.isdir(directory):
        directory = os.path.dirname(directory)
    while True:
        for name in CONFIG_FILES:
            candidate = os.path.join(directory, name)
            if inputs.isfile(candidate) and (
                name != "pyproject.toml" or _has_miglint_table(candidate)
            ):
                return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _has_miglint_table(path: str) -> bool:
    try:
        return b"[tool.miglint" in inputs.read_file(path)
    except inputs.Unreadable:
        return False


# The rules miglint knows: codes, or a mapping of code -> rule name (then names are
# accepted wherever codes are, e.g. `ignore = ["remove-field"]`).
KnownRules = Iterable[str] | Mapping[str, str]


def load_config(path: str | None, known_codes: KnownRules) -> Config:
    """Read and check a config file; `path=None` gives the defaults rooted at the cwd."""
    if path is None:
        return Config(root=os.getcwd())
    try:
        document = tomllib.loads(inputs.read_file(path).decode())
    except inputs.Unreadable as error:
        reason = str(error).removeprefix("cannot read file: ")
        raise ConfigError(f"{path}: cannot read config file: {reason}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 (at byte {error.start})") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    tool = document.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: tool: expected a table, got {type(tool).__name__}")
    if os.path.basename(path) == "pyproject.toml":
        table = tool.get("miglint", {})
        prefix = "tool.miglint"
    else:
        table = tool.get("miglint", document)
        prefix = "tool.miglint" if table is not document else ""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{prefix}] must be a table")
    return parse_settings(table, path, prefix, known_codes)


def parse_settings(
    table: Mapping[str, Any], path: str, prefix: str, known_codes: KnownRules
) -> Config:
    def where(key: str) -> str:
        return f"{path}: {prefix + '.' if prefix else ''}{key}"

    def code_list(key: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where(key)}: expected a list of rule codes")
        return tuple(check_codes(value, known_codes, where(key)))

    config = Config(path=path, root=os.path.dirname(os.path.abspath(path)))
    values: dict[str, Any] = {}
    for key, value in table.items():
        normal = key.replace("_", "-")
        if normal in ("select", "ignore", "extend-select"):
            values[normal.replace("-", "_")] = code_list(key, value)
        elif normal == "exclude":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where(key)}: expected a list of glob patterns")
            values["exclude"] = tuple(value)
        elif normal == "fail-on":
            if value not in FAIL_ON:
                raise ConfigError(
                    f"{where(key)}: expected one of {', '.join(FAIL_ON)}, got {value!r}"
                )
            values["fail_on"] = value
        elif normal == "database":
            if value not in DATABASES:
                raise ConfigError(
                    f"{where(key)}: expected one of {', '.join(DATABASES)}, got {value!r}"
                )
            values["database"] = value
        elif normal == "django-version":
            match = (
                re.fullmatch(r"(\d+)\.(\d+)(?:\.\d+)?", value) if isinstance(value, str) else None
            )
            if match is None:
                raise ConfigError(f'{where(key)}: expected a version such as "4.2", got {value!r}')
            values["django_version"] = (int(match.group(1)), int(match.group(2)))
        elif normal == "severity":
            if not isinstance(value, dict):
                raise ConfigError(
                    f'{where(key)}: expected a table of CODE = "error"|"warning"|"info"'
                )
            severities = {}
            for code, level in value.items():
                (checked,) = check_codes([code], known_codes, where(key), exact=True)
                try:
                    severities[checked] = Severity.parse(str(level))
                except ValueError as error:
                    raise ConfigError(f"{where(key)}.{code}: {error}") from None
            values["severity"] = severities
        elif normal == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f'{where(key)}: expected a table of "glob" = [codes]')
            values["per_file_ignores"] = tuple(
                (pattern, code_list(f"{key}.{pattern}", codes)) for pattern, codes in value.items()
            )
        elif normal == "migration-modules":
            values["migration_modules"] = _migration_modules(value, where(key))
        else:
            raise ConfigError(
                f"{where(key)}: unknown setting (known: select, ignore, extend-select, severity, "
                "exclude, fail-on, per-file-ignores, database, django-version, migration-modules)"
            )
    return replace(config, **values)


def _migration_modules(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    """`{ app_label = "dotted.module" }`, checked as Django would need it."""
    expected = '{ app_label = "dotted.module.path" }'
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table like {expected}")
    pairs = []
    for label, module in value.items():
        if not label.isidentifier():
            raise ConfigError(f"{where}: {label!r} is not an app label")
        if not isinstance(module, str) or not all(p.isidentifier() for p in module.split(".")):
            raise ConfigError(
                f"{where}.{label}: expected a dotted module path such as "
                f'"{label}.db_migrations", got {module!r}'
            )
        pairs.append((label, module))
    return tuple(sorted(pairs))


def check_codes(
    codes: Iterable[str], known_codes: KnownRules, where: str, exact: bool = False
) -> list[str]:
    """Upper-case `codes` and make sure each names (or, unless `exact`, prefixes) a rule;
    a rule's name (`remove-field`) stands for its code when `known_codes` maps codes to names."""
    names = (
        {name: code for code, name in known_codes.items()}
        if isinstance(known_codes, Mapping)
        else {}
    )
    known_codes = set(known_codes)
    checked = []
    for raw in codes:
        code = names.get(raw.strip().lower(), raw.strip().upper())
        if code == "ALL" and not exact:
            checked.append(code)
            continue
        valid = code in known_codes if exact else any(k.startswith(code) for k in known_codes)
        if not code or not valid:
            raise ConfigError(f"{where}: unknown rule code or name {raw!r} (see `miglint rules`)")
        checked.append(code)
    return checked
