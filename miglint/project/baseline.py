"""The baseline: every migration of a project as it was when `miglint baseline` ran.

A project with history adopts miglint by recording where it stands: afterwards the hazard
rules (MIG1xx-MIG6xx) report only on migrations that are not recorded, while the graph
rules and MIG401 still look at everything, and MIG006 reports a recorded migration whose
meaning changed since.

The file, `miglint-baseline.json` at the project root (next to the config file), holds one
line per migration: `"app": {"name": "digest"}`, sorted, so that it is small, reviewable
and diffs well, and byte-identical when nothing changed. The digest is of the migration's
meaning, not its bytes: its dependencies, `replaces`, `run_before`, `initial`, `atomic`
and operations as miglint reads them, with imports resolved (`migrations.AddField` and an
imported `AddField` are one thing), so comments, formatting, quotes and import style do not
count. What only affects rolling back (`reverse_code`, `reverse_sql`) does not count
either: changing it changes nothing a database has already run.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import tokenize
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from miglint.core import inputs
from miglint.graph.nodes import App, Migration
from miglint.project.config import Config, ConfigError
from miglint.project.discover import BASELINE_FILE, SECONDARY_PARTS
from miglint.source import syntax as s
from miglint.source.facts import Dependency, MigrationFacts, Operation
from miglint.source.frontend import UNKNOWN_SOURCE_CHARS
from miglint.source.parse import import_aliases, qualify
from miglint.source.pysource import SourceError, decode, read_file

# The digest scheme; a baseline made with another one is read for its names only.
VERSION = 1
DIGEST_CHARS = 12
# The digest of a migration miglint cannot read (its edits are not compared).
UNREADABLE = "-"
ABOUT = (
    "Migrations recorded by `miglint baseline`: the hazard rules (MIG1xx-MIG6xx) skip "
    "them and MIG006 reports edits to them. Update it with `miglint baseline`."
)
# Rules whose findings the baseline never hides: the graph and missing migrations are
# about the project as it is now.
ALWAYS_REPORTED_CODES = frozenset({"MIG401"})
_REVERSE_ARGUMENTS = {
    "django.db.migrations.RunPython": (1, "reverse_code"),
    "django.db.migrations.RunSQL": (1, "reverse_sql"),
}


class BaselineError(ConfigError):
    """A baseline file miglint cannot read (exit status 2)."""


def hides(code: str) -> bool:
    """Whether the baseline hides findings of `code` on recorded migrations."""
    return code[:4] in ("MIG1", "MIG2", "MIG3", "MIG4", "MIG5", "MIG6") and (
        code not in ALWAYS_REPORTED_CODES
    )


@dataclass(frozen=True)
class Baseline:
    path: str
    # App id -> migration name -> digest (see `app_id`).
    entries: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # False when the file was written with another digest scheme: digests not compared.
    comparable: bool = True

    @property
    def folder(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))

    def recorded(self, migration: Migration, app: App) -> str | None:
        """The recorded digest of `migration`, or None when it is not in the baseline."""
        return self.entries.get(app_id(app, self.folder), {}).get(migration.name)

    def __len__(self) -> int:
        return sum(len(names) for names in self.entries.values())


@dataclass(frozen=True)
class PriorVersions:
    """The migrations a change touched, as they were at a git ref (`--diff BASE`) and as
    they are now: absolute path -> `meaning()` (only those readable at both)."""

    ref: str
    before: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    after: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def app_id(app: App, folder: str) -> str:
    """The app's label; an app under a tests/ or examples/ folder, or a second app with the
    same label, also names its folder, relative to the baseline's (so that linting only
    part of the tree, where a copy may be the only app with its label, finds it too)."""
    relative = os.path.relpath(app.path, folder).replace(os.sep, "/")
    secondary = set(relative.lower().split("/")) & SECONDARY_PARTS
    if app.key == app.label and not secondary:
        return app.label
    return f"{app.label}@{relative}"


# --- the file ---------------------------------------------------------------------------


def find_baseline(config: Config, paths: Sequence[str]) -> str | None:
    """The baseline file of a run: next to the config file when there is one, else the
    nearest one above the first path (no further than the repository root)."""
    if config.path is not None:
        candidate = os.path.join(os.path.dirname(os.path.abspath(config.path)), BASELINE_FILE)
        return candidate if inputs.isfile(candidate) else None
    first = os.path.abspath(paths[0] if paths else ".")
    directory = first if inputs.isdir(first) else os.path.dirname(first)
    while True:
        candidate = os.path.join(directory, BASELINE_FILE)
        if inputs.isfile(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory or inputs.exists(os.path.join(directory, ".git")):
            return None
        directory = parent


def baseline_target(config: Config, path: str) -> str:
    """Where `miglint baseline PATH` writes: the baseline in use, else next to the config
    file, else in PATH."""
    existing = find_baseline(config, [path])
    if existing is not None:
        return existing
    if config.path is not None:
        return os.path.join(os.path.dirname(os.path.abspath(config.path)), BASELINE_FILE)
    return os.path.join(os.path.abspath(path), BASELINE_FILE)


def read_baseline(path: str) -> Baseline:
    try:
        document = json.loads(read_file(path))
    except SourceError as error:
        raise BaselineError(f"{path}: cannot read the baseline: {error}") from None
    except (ValueError, RecursionError):
        raise BaselineError(
            f"{path}: not a miglint baseline (invalid JSON); write it again with "
            "`miglint baseline`, or ignore it with --no-baseline"
        ) from None
    migrations = document.get("migrations") if isinstance(document, dict) else None
    valid = isinstance(migrations, dict) and all(
        isinstance(app, str)
        and isinstance(names, dict)
        and all(isinstance(n, str) and isinstance(d, str) for n, d in names.items())
        for app, names in migrations.items()
    )
    if not valid or not isinstance(migrations, dict):
        raise BaselineError(
            f'{path}: not a miglint baseline (expected {{"migrations": {{app: {{name: '
            "digest}}}}); write it again with `miglint baseline`, or use --no-baseline"
        )
    return Baseline(path, migrations, comparable=document.get("version") == VERSION)


def entries_of(
    digests: Mapping[str, str], migrations: Sequence[Migration], apps: Sequence[App], folder: str
) -> dict[str, dict[str, str]]:
    """What `miglint baseline` records for `migrations`, given their digests by path."""
    by_key = {app.key: app for app in apps}
    entries: dict[str, dict[str, str]] = {}
    for migration in migrations:
        app = by_key[migration.app_key]
        entries.setdefault(app_id(app, folder), {})[migration.name] = digests[migration.path]
    return entries


def digests_of(migrations: Sequence[Migration]) -> dict[str, str]:
    """The digest of each migration by path (the file is read again only for expressions
    too long for the parse facts to keep whole)."""
    return {m.path: digest(m.facts, partial(read_text, m.path)) for m in migrations}


def read_text(path: str) -> str | None:
    try:
        return decode(read_file(path))
    except SourceError:
        return None


def render(entries: Mapping[str, Mapping[str, str]]) -> str:
    """The file's text: stable for the same entries, one line per migration."""
    document = {"about": ABOUT, "version": VERSION, "migrations": entries}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


# --- the digest ---------------------------------------------------------------------------


# Gives the migration's source text, when an expression must be read whole from it.
TextLoader = Callable[[], "str | None"]


def digest(facts: MigrationFacts, text: TextLoader | None = None) -> str:
    """A short hash of what the migration does, or UNREADABLE."""
    if facts.error is not None or not facts.has_class:
        return UNREADABLE
    return digest_of_meaning(meaning(facts, text))


def digest_of_meaning(parts: Mapping[str, Any]) -> str:
    text = json.dumps(parts, separators=(",", ":"), ensure_ascii=True, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=DIGEST_CHARS // 2).hexdigest()


def meaning(facts: MigrationFacts, text: TextLoader | None = None) -> dict[str, Any]:
    """The parts of a migration that a database sees, in a canonical form."""
    reader = _Canonical(facts, text)
    return {
        "dependencies": sorted((_dependency(d) for d in facts.dependencies), key=_sort_key),
        "replaces": sorted((_dependency(d) for d in facts.replaces), key=_sort_key),
        "run_before": sorted((_dependency(d) for d in facts.run_before), key=_sort_key),
        "initial": facts.initial,
        "atomic": facts.atomic,
        "operations": [reader.operation(op) for op in facts.operations],
    }


def _dependency(dependency: Dependency) -> list[str | None]:
    return [dependency.app, dependency.name, dependency.setting]


class _Canonical:
    def __init__(self, facts: MigrationFacts, text: TextLoader | None) -> None:
        self.aliases = import_aliases(facts.imports)
        self.constants = dict(facts.constants)
        self.load_text = text
        self.lines: list[str] | None = None

    def operation(self, operation: Operation) -> Any:
        if operation.call is None:
            return ["?", self.source(operation.source, operation.span)]
        return self.value(operation.call, 0)

    def source(self, source: str, span: s.Span) -> str:
        """The expression's canonical text, read whole from the file when the facts keep
        only its beginning."""
        if is_cut(source) and self.load_text is not None:
            if self.lines is None:
                self.lines = _LINE_BREAK.split(self.load_text() or "")
            whole = _slice(self.lines, span)
            if whole:
                return normal_source(whole)
        return normal_source(source)

    def value(self, value: s.Value, depth: int) -> Any:
        if depth > 200:
            return ["..."]
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float | complex | bytes):
            return [type(value).__name__, repr(value)]
        if isinstance(value, s.Ref):
            if value.name in self.constants:
                return self.value(self.constants[value.name], depth + 1)
            return ["ref", qualify(value.name, self.aliases)]
        if isinstance(value, s.Call):
            return self.call(value, depth)
        if isinstance(value, s.Seq):
            items = [self.value(item, depth + 1) for item in value.items]
            if value.kind == "set":
                items.sort(key=_sort_key)
            return [value.kind, items]
        if isinstance(value, s.Dict):
            pairs = [[self.value(k, depth + 1), self.value(v, depth + 1)] for k, v in value.items]
            return ["dict", sorted(pairs, key=_sort_key)]
        if isinstance(value, s.Concat):
            return ["+", [self.value(part, depth + 1) for part in value.parts]]
        return ["?", value.kind, self.source(value.source, value.span)]

    def call(self, call: s.Call, depth: int) -> Any:
        name = qualify(call.func, self.aliases)
        position, keyword = _REVERSE_ARGUMENTS.get(name, (-1, ""))
        args = [self.value(a, depth + 1) for i, a in enumerate(call.args) if i != position]
        kwargs = sorted(
            ([k.name, self.value(k.value, depth + 1)] for k in call.kwargs if k.name != keyword),
            key=_sort_key,
        )
        return ["call", name, args, kwargs, call.has_star]


def _sort_key(item: Any) -> str:
    return json.dumps(item, sort_keys=True)


_COMMENT = re.compile(r"#[^\n]*")
# How much of a cut-off expression counts: cutting happens on raw text, so a reformatted
# expression is cut elsewhere; the first characters that are not blanks are the same.
_CUT_PREFIX = 40


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def is_cut(source: str) -> bool:
    """Whether the parse facts kept only the beginning of this expression's source."""
    return source.endswith("...") and len(source) >= UNKNOWN_SOURCE_CHARS - 3


def _slice(lines: list[str], span: s.Span) -> str:
    """The text of `span` (1-based lines and columns, end exclusive)."""
    if not 1 <= span.line <= span.end_line <= len(lines):
        return ""
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    parts = [lines[span.line - 1][span.column - 1 :]]
    parts.extend(lines[span.line : span.end_line - 1])
    parts.append(lines[span.end_line - 1][: span.end_column - 1])
    return "\n".join(parts)


def normal_source(source: str) -> str:
    """Source text of an expression in one canonical form: its syntax tree when it is whole,
    so comments, blanks, quotes, brackets and trailing commas do not count."""
    cut = is_cut(source)
    if not cut:
        try:
            # In brackets: an expression written over several lines inside the call's
            # own brackets is not valid on its own.
            tree = ast.parse(f"(\n{source}\n)", mode="eval")
            return json.dumps(_tree_form(tree.body, 0), separators=(",", ":"))
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            pass
    text = source[:-3] if cut else source
    tokens: list[str] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING:
                tokens.append(_string_token(token.string))
            elif token.type not in _LAYOUT:
                tokens.append(token.string)
    except (tokenize.TokenError, SyntaxError):
        # Cut off, or not Python: what was read so far, then the rest without blanks.
        if not tokens:
            tokens = ["".join(_COMMENT.sub("", text).split())]
    joined = "".join("".join(tokens).split())
    if not cut:
        return re.sub(r",(?=[)\]}])", "", joined)
    # The text was cut at a fixed length: brackets and commas a formatter adds move the cut.
    return re.sub(r"[(),]", "", joined)[:_CUT_PREFIX]


def _tree_form(node: object, depth: int) -> Any:
    """A syntax tree as nested lists: node types and the fields that are set, no positions
    (fields that are empty are left out, so that Python versions agree)."""
    if depth > 100:
        return "..."
    if isinstance(node, ast.AST):
        form: list[Any] = [type(node).__name__]
        for name in node._fields:
            value = getattr(node, name, None)
            if name in ("ctx", "kind") or value is None or value == []:
                continue
            form.append([name, _tree_form(value, depth + 1)])
        return form
    if isinstance(node, list):
        return [_tree_form(item, depth + 1) for item in node]
    if isinstance(node, bool | int | str) or node is None:
        return node
    return [type(node).__name__, repr(node)]


def _string_token(text: str) -> str:
    """A string literal written one way: 'a' and "a" are the same string."""
    try:
        node = ast.parse(text, mode="eval").body
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    return repr(node.value) if isinstance(node, ast.Constant) else text


_LAYOUT = frozenset(
    {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENDMARKER,
    }
)
