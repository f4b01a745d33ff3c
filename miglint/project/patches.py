"""Project code that changes what `makemigrations` compares, found by reading it (never run).

Some projects replace `Field.deconstruct` (to leave `help_text` or `choices` out of
migrations), edit `AlterModelOptions.ALTER_OPTION_KEYS`, bring their own autodetector or
`makemigrations` command, or change a model's fields from `AppConfig.ready()`. MIG401 then
compares accordingly, or leaves what they touch unknown.

Every Python file under the linted roots is read, except migrations and tests (they do not
run when `makemigrations` does); a byte search skips files that cannot hold a patch.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from miglint.core import inputs
from miglint.project.config import skipped_folder
from miglint.source.pysource import SourceError, decode, read_file

# Words a patch must contain (a fast substring search), then a closer look where needed.
_WORDS = (b"ALTER_OPTION_KEYS", b"utodetector", b"add_to_class", b"contribute_to_class")
_DECONSTRUCT = re.compile(rb"deconstruct\s*=[^=]|[\"']deconstruct[\"']")
_META = re.compile(
    rb"_meta\.[\w.]*(?:\([^()\n]*\)[\w.]*)?\s*\+?=[^=]|"
    rb"_meta\.\w+\.(?:append|extend|insert|remove|add_field)\("
)
# What a makemigrations command must touch to change the comparison itself.
_COMPARING = re.compile(r"[Aa]utodetector|questioner|\.changes\(|arrange_for_graph|ProjectState")
_TEST_FOLDERS = frozenset({"tests", "test", "testing"})
# A file bigger than this is generated or vendored, not a patch.
_MAX_BYTES = 1024 * 1024
_LIST_METHODS = frozenset({"remove", "append", "extend", "insert", "pop", "clear", "discard"})


@dataclass(frozen=True)
class ProjectPatches:
    # Where the project replaces Field.deconstruct (or a field class's), if it does.
    deconstruct: str | None = None
    # AlterModelOptions.ALTER_OPTION_KEYS after the project's edits (None: untouched).
    option_keys: tuple[str, ...] | None = None
    # Why the project's ALTER_OPTION_KEYS cannot be read.
    option_keys_unknown: str | None = None
    # Where the project brings its own autodetector or makemigrations command.
    autodetector: str | None = None
    # Model class name -> field names changed at run time ("" Meta, "*" the whole model).
    models: dict[str, frozenset[str]] = field(default_factory=dict)
    # Where models are changed through a variable (which model is unknown).
    any_model: str | None = None


def find_patches(
    roots: Sequence[str],
    option_keys: tuple[str, ...],
    excluded: Callable[[str], bool] = lambda path: False,
) -> ProjectPatches:
    """The patches in the Python files under `roots`; `option_keys` is Django's own
    ALTER_OPTION_KEYS, which the project's edits start from."""
    reader = _Reader(list(option_keys))
    for path in python_files(roots, excluded):
        reader.read(path)
    return reader.result()


def python_files(roots: Sequence[str], excluded: Callable[[str], bool]) -> Iterator[str]:
    """The project's modules that may run when makemigrations does: every Python file
    under `roots` but migrations, tests, virtualenvs and excluded paths."""
    seen: set[str] = set()
    for root in roots:
        stack = [os.path.abspath(root)]
        while stack:
            directory = stack.pop()
            if directory in seen:
                continue
            seen.add(directory)
            try:
                entries = sorted(inputs.scandir(directory), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                    is_file = entry.is_file(follow_symlinks=False)
                except OSError:
                    continue
                if is_dir:
                    if (
                        skipped_folder(name)
                        or name in _TEST_FOLDERS
                        or name == "migrations"
                        or excluded(entry.path)
                        or inputs.exists(os.path.join(entry.path, "pyvenv.cfg"))
                    ):
                        continue
                    stack.append(entry.path)
                elif is_file and name.endswith(".py") and not _is_test(name):
                    yield entry.path


def _may_patch(data: bytes) -> bool:
    if any(word in data for word in _WORDS):
        return True
    if b"deconstruct" in data and _DECONSTRUCT.search(data):
        return True
    return b"_meta." in data and _META.search(data) is not None


def _is_test(name: str) -> bool:
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def _chain(node: ast.expr) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"]; calls in the chain as "name()" (e.g. get_field())."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            inner = _chain(node.func)
            if inner is None:
                return None
            argument = node.args[0] if node.args else None
            label = (
                f"{inner[-1]}({argument.value!r})"
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str)
                else f"{inner[-1]}()"
            )
            return [*inner[:-1], label, *reversed(parts)]
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return list(reversed(parts))
        else:
            return None


class _Reader:
    def __init__(self, option_keys: list[str]) -> None:
        self.option_keys = option_keys
        self.keys_touched = False
        self.keys_unknown: str | None = None
        self.deconstruct: str | None = None
        self.autodetector: str | None = None
        self.models: dict[str, set[str]] = {}
        self.any_model: str | None = None

    def result(self) -> ProjectPatches:
        return ProjectPatches(
            self.deconstruct,
            tuple(self.option_keys) if self.keys_touched else None,
            self.keys_unknown,
            self.autodetector,
            {name: frozenset(fields) for name, fields in self.models.items()},
            self.any_model,
        )

    def read(self, path: str) -> None:
        try:
            data = read_file(path)
        except SourceError:
            return
        if len(data) > _MAX_BYTES:
            return
        command = path.endswith(os.path.join("commands", "makemigrations.py"))
        if not command and not _may_patch(data):
            return
        try:
            text = decode(data)
            tree = ast.parse(text)
        except (SourceError, SyntaxError, ValueError, RecursionError, MemoryError):
            return
        where = os.path.relpath(path)
        try:
            if command:
                self.command(tree, text, where)
            self.statements(tree.body, where, startup=True)
        except RecursionError:
            return

    def command(self, tree: ast.Module, text: str, where: str) -> None:
        """A makemigrations command of the project's changes what is compared only if it
        reaches into the autodetector (a guard around super().handle() does not)."""
        for statement in tree.body:
            if isinstance(statement, ast.ClassDef) and statement.name == "Command":
                source = ast.get_source_segment(text, statement) or ""
                if _COMPARING.search(source):
                    self.autodetector = self.autodetector or f"{where}: its own makemigrations"

    def statements(self, body: list[ast.stmt], where: str, *, startup: bool) -> None:
        for statement in body:
            self.statement(statement, where, startup=startup)

    def statement(self, node: ast.stmt, where: str, *, startup: bool) -> None:
        at = f"{where}:{node.lineno}"
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                chain = _chain(base)
                if chain and chain[-1] == "MigrationAutodetector":
                    self.autodetector = self.autodetector or f"{at}: its own autodetector"
            self.statements(node.body, where, startup=startup)
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            # ready() runs when makemigrations starts; other functions run later, but a
            # replaced deconstruct or option list counts wherever it is written.
            self.statements(node.body, where, startup=node.name == "ready")
            return
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                self.assignment(target, node, at, startup=startup)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            self.call(node.value, at, startup=startup)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                self.statement(child, where, startup=startup)

    def assignment(self, target: ast.expr, node: ast.stmt, at: str, *, startup: bool) -> None:
        chain = _chain(target)
        if not chain:
            return
        if chain[-1] == "deconstruct" and len(chain) > 1 and chain[-2].endswith("Field"):
            self.deconstruct = self.deconstruct or f"{at} replaces {'.'.join(chain)}"
        elif chain[-1] == "autodetector" or chain[-1] == "MigrationAutodetector":
            self.autodetector = self.autodetector or f"{at}: its own autodetector"
        elif chain[-1] == "ALTER_OPTION_KEYS":
            if len(chain) == 1:
                return
            value = getattr(node, "value", None)
            keys = _strings(value)
            if keys is None:
                self.keys_unknown = f"{at} sets ALTER_OPTION_KEYS"
            elif isinstance(node, ast.AugAssign):
                self.option_keys.extend(keys)
            else:
                self.option_keys[:] = keys
            self.keys_touched = True
        elif startup:
            self.model_change(chain, at)

    def call(self, call: ast.Call, at: str, *, startup: bool) -> None:
        chain = _chain(call.func)
        if not chain:
            return
        if chain[-1] == "setattr" and len(call.args) >= 2:
            owner = _chain(call.args[0])
            attribute = call.args[1]
            if owner and isinstance(attribute, ast.Constant) and isinstance(attribute.value, str):
                self.assignment(
                    ast.Attribute(value=call.args[0], attr=attribute.value, ctx=ast.Store()),
                    ast.Expr(call),
                    at,
                    startup=startup,
                )
            return
        if len(chain) >= 2 and chain[-2] == "ALTER_OPTION_KEYS" and chain[-1] in _LIST_METHODS:
            keys = [_strings(argument) for argument in call.args]
            single = [_string(argument) for argument in call.args]
            self.keys_touched = True
            if chain[-1] == "remove" and single and single[0] is not None:
                if single[0] in self.option_keys:
                    self.option_keys.remove(single[0])
            elif chain[-1] == "append" and single and single[0] is not None:
                self.option_keys.append(single[0])
            elif chain[-1] == "extend" and keys and keys[0] is not None:
                self.option_keys.extend(keys[0])
            elif chain[-1] == "insert" and len(single) == 2 and single[1] is not None:
                self.option_keys.append(single[1])
            else:
                self.keys_unknown = f"{at} changes ALTER_OPTION_KEYS"
            return
        if not startup:
            return
        if chain[-1] == "add_to_class" and len(chain) >= 2:
            name = _argument(call, 0, "name")
            self.touch(chain[-2], name if name is not None else "*", at)
        elif chain[-1] == "contribute_to_class":
            cls = (
                call.args[0]
                if call.args
                else next((k.value for k in call.keywords if k.arg == "cls"), None)
            )
            owner = _chain(cls) if cls is not None else None
            name = _argument(call, 1, "name")
            if owner:
                self.touch(owner[-1], name if name is not None else "*", at)
        elif "_meta" in chain[:-1] and chain[-1] in _LIST_METHODS | {"add_field"}:
            self.model_change(chain, at)

    def model_change(self, chain: list[str], at: str) -> None:
        """`Model._meta.get_field("name").attribute = ...` and other changes to a model."""
        if "_meta" not in chain:
            return
        position = chain.index("_meta")
        if position == 0:
            return
        owner = chain[position - 1]
        rest = chain[position + 1 :]
        if rest and rest[0].startswith("get_field("):
            found = re.fullmatch(r"get_field\('([^']*)'\)", rest[0])
            self.touch(owner, found.group(1) if found else "*", at)
        elif rest and rest[0] in ("fields", "local_fields", "local_many_to_many", "private_fields"):
            self.touch(owner, "*", at)
        else:
            self.touch(owner, "", at)

    def touch(self, owner: str, name: str, at: str) -> None:
        if owner[:1].isupper():
            self.models.setdefault(owner, set()).add(name)
        elif owner not in ("self",):
            # A variable: which models it changes is not known here.
            self.any_model = self.any_model or f"{at} changes models through `{owner}`"


def _argument(call: ast.Call, position: int, keyword: str) -> str | None:
    """A string argument given by position or keyword, else None."""
    if len(call.args) > position:
        return _string(call.args[position])
    for item in call.keywords:
        if item.arg == keyword:
            return _string(item.value)
    return None


def _string(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _strings(node: ast.expr | None) -> list[str] | None:
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        items = [_string(element) for element in node.elts]
        if all(item is not None for item in items):
            return [item for item in items if item is not None]
    return None
