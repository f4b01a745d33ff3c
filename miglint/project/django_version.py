"""The Django version a project uses, read from its requirement and lock files (never run).

Each folder from a linted root upward (to the repository root) is read in this order, and
the first folder that names Django answers:

1. lock files (`poetry.lock`, `uv.lock`, `Pipfile.lock`): the version they pin;
2. requirement files (`requirements*.txt`, `requirements*.in`, `requirements/*.txt` and
   `*.in`, other `*.in` of pip-tools);
3. `pyproject.toml` (`[project]` dependencies, then its optional dependencies and
   dependency groups, then `[tool.poetry]` dependencies), `setup.cfg`
   (`install_requires`), `setup.py` (requirement strings written as literals), `Pipfile`.

A pin (`==4.2.7`) gives its version. A range gives the lowest version it allows
(`>=4.2,<5.0` and `~=4.2.3` give 4.2, Poetry's `^4.1` gives 4.1); a range without a lower
bound (`<5`, `*`) says nothing. Where several entries of one kind disagree, the lowest wins.
When no folder at or above the roots names Django, the folders between the roots and the
apps are read the same way (a backend in a sub-folder of a monorepo), if they agree.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence

from miglint.core import inputs
from miglint.source.pysource import SourceError, decode, read_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

Version = tuple[int, int]

_LOCK_FILES = ("poetry.lock", "uv.lock", "Pipfile.lock")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
_CLAUSE = re.compile(r"^\s*(===|==|~=|!=|<=|>=|<|>|\^|~|=)?\s*v?(\d+)(?:\.(\d+|\*))?[\w.*+!-]*\s*$")
_LOCKED = re.compile(
    r'^\[\[package\]\]\s*\nname\s*=\s*"[Dd]jango"\s*\nversion\s*=\s*"([^"]+)"', re.MULTILINE
)
# Folders read at most; a requirements/ folder with hundreds of files is not worth it.
_MAX_FILES = 64


def parse_version(text: str) -> Version | None:
    """ "4.2" or "4.2.7" as (4, 2); None for anything else."""
    match = re.fullmatch(r"\s*(\d+)\.(\d+)(?:\.\d+)?\s*", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def lowest_allowed(specifier: str) -> Version | None:
    """The lowest (major, minor) a PEP 440 or Poetry version specifier allows, if bounded."""
    specifier = specifier.strip().strip("()").strip()
    lowest: Version | None = None
    if "||" in specifier:
        return _lowest(lowest_allowed(part) for part in specifier.split("||"))
    for clause in re.split(r",|\s+(?=[<>=~!^])", specifier):
        if not clause.strip():
            continue
        match = _CLAUSE.match(clause)
        if match is None:
            return None
        operator = match.group(1) or "=="
        if match.group(3) is None and operator in ("~=",):
            return None
        if operator in ("<", "<=", "!="):
            continue
        minor = match.group(3)
        found = (int(match.group(2)), 0 if minor in (None, "*") else int(minor))
        lowest = found if lowest is None else max(lowest, found)
    return lowest


def requirement_version(line: str) -> Version | None:
    """The version a PEP 508 requirement line gives Django (None: not Django, or no bound)."""
    line = re.split(r"\s#|;|\s--?[a-z]", line, maxsplit=1)[0].strip()
    if not line or line.startswith(("#", "-")) or "@" in line:
        return None
    match = _NAME.match(line)
    if match is None or _normalize(match.group(1)) != "django":
        return None
    return lowest_allowed(match.group(3))


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lowest(versions: Iterable[Version | None]) -> Version | None:
    known = [version for version in versions if version is not None]
    return min(known) if known else None


def _read_text(path: str) -> str | None:
    if not inputs.isfile(path):
        return None
    try:
        return decode(read_file(path))
    except SourceError:
        return None


def _lines(text: str) -> Iterator[str]:
    """Logical lines of a requirements file (backslash continuations joined)."""
    yield from text.replace("\\\r\n", " ").replace("\\\n", " ").splitlines()


def from_requirements(text: str) -> Version | None:
    return _lowest(requirement_version(line) for line in _lines(text))


def _toml(text: str) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return {}


def from_lock(name: str, text: str) -> Version | None:
    """The version of Django a poetry.lock, uv.lock or Pipfile.lock pins."""
    if name == "Pipfile.lock":
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            return None
        default = document.get("default") if isinstance(document, dict) else None
        entry = default.get("django") if isinstance(default, dict) else None
        version = entry.get("version") if isinstance(entry, dict) else None
        return lowest_allowed(version) if isinstance(version, str) else None
    # Both formats write `name` then `version` first in each [[package]]; a regular
    # expression reads a lock file of thousands of packages faster than a TOML parser.
    return _lowest(parse_version(version) for version in _LOCKED.findall(text))


def _poetry_constraint(value: object) -> Version | None:
    if isinstance(value, str):
        return lowest_allowed(value) if value.strip() != "*" else None
    if isinstance(value, dict):
        return _poetry_constraint(value.get("version"))
    if isinstance(value, list):
        return _lowest(_poetry_constraint(item) for item in value)
    return None


def _django_entry(table: object) -> object:
    if not isinstance(table, dict):
        return None
    for key, value in table.items():
        if isinstance(key, str) and _normalize(key) == "django":
            return value
    return None


def _string_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def from_pyproject(text: str) -> Version | None:
    document = _toml(text)
    project = document.get("project")
    project = project if isinstance(project, dict) else {}
    found = _lowest(requirement_version(line) for line in _string_list(project.get("dependencies")))
    if found is not None:
        return found
    groups: list[object] = []
    optional = project.get("optional-dependencies")
    if isinstance(optional, dict):
        groups.extend(optional.values())
    dependency_groups = document.get("dependency-groups")
    if isinstance(dependency_groups, dict):
        groups.extend(dependency_groups.values())
    found = _lowest(requirement_version(line) for group in groups for line in _string_list(group))
    if found is not None:
        return found
    tool = document.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    if not isinstance(poetry, dict):
        return None
    found = _poetry_constraint(_django_entry(poetry.get("dependencies")))
    if found is not None:
        return found
    poetry_groups = poetry.get("group")
    if isinstance(poetry_groups, dict):
        return _lowest(
            _poetry_constraint(_django_entry(group.get("dependencies")))
            for group in poetry_groups.values()
            if isinstance(group, dict)
        )
    return None


def from_pipfile(text: str) -> Version | None:
    return _poetry_constraint(_django_entry(_toml(text).get("packages")))


def from_setup_cfg(text: str) -> Version | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
        requires = parser.get("options", "install_requires", fallback="")
    except (configparser.Error, ValueError):
        return None
    return from_requirements(requires)


def from_setup_py(text: str) -> Version | None:
    """Requirement strings written as literals in setup.py (the file is parsed, not run)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    strings = (
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    )
    return _lowest(from_requirements(string) for string in strings)


def _requirement_files(folder: str) -> list[str]:
    names: list[str] = []
    for name in inputs.matching(folder, ("requirements*.txt", "*.in")):
        pip_tools = name.endswith(".in") and name != "MANIFEST.in"
        if (name.startswith("requirements") and name.endswith(".txt")) or pip_tools:
            names.append(os.path.join(folder, name))
    nested = os.path.join(folder, "requirements")
    if inputs.isdir(nested) and not inputs.islink(nested):
        try:
            inner = sorted(inputs.listdir(nested))
        except OSError:
            inner = []
        names.extend(os.path.join(nested, n) for n in inner if n.endswith((".txt", ".in")))
    return names[:_MAX_FILES]


def folder_version(folder: str) -> Version | None:
    """What the files of one folder say about Django, or None if they say nothing."""
    for name in _LOCK_FILES:
        text = _read_text(os.path.join(folder, name))
        found = from_lock(name, text) if text is not None else None
        if found is not None:
            return found
    found = _lowest(
        from_requirements(text)
        for text in (_read_text(path) for path in _requirement_files(folder))
        if text is not None
    )
    if found is not None:
        return found
    readers = (
        ("pyproject.toml", from_pyproject),
        ("setup.cfg", from_setup_cfg),
        ("setup.py", from_setup_py),
        ("Pipfile", from_pipfile),
    )
    for name, reader in readers:
        text = _read_text(os.path.join(folder, name))
        found = reader(text) if text is not None else None
        if found is not None:
            return found
    return None


def _upward(start: str) -> Iterator[str]:
    """`start` and its parents, up to the repository root (a folder holding .git)."""
    directory = os.path.abspath(start)
    while True:
        yield directory
        parent = os.path.dirname(directory)
        if parent == directory or inputs.exists(os.path.join(directory, ".git")):
            return
        directory = parent


def detect_django_version(roots: Sequence[str], app_paths: Sequence[str] = ()) -> Version | None:
    """The project's Django version from the files at or above `roots`, else from the
    folders between a root and its apps (when they agree); None when unknown."""
    seen: set[str] = set()
    for root in roots:
        for folder in _upward(root):
            if folder in seen:
                continue
            seen.add(folder)
            found = folder_version(folder)
            if found is not None:
                return found
    answers: dict[str, Version | None] = {}
    below: set[Version] = set()
    for app_path in app_paths:
        inside = [r for r in roots if app_path.startswith(os.path.join(r, ""))]
        folder = os.path.abspath(app_path)
        while inside and folder.startswith(os.path.join(inside[0], "")):
            if folder not in answers:
                answers[folder] = folder_version(folder)
            found = answers[folder]
            if found is not None:
                below.add(found)
                break
            folder = os.path.dirname(folder)
    return below.pop() if len(below) == 1 else None
