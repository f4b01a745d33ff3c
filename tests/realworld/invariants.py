"""What must hold for miglint's findings on any real, deployed Django project.

The projects of the corpus run in production and load in Django, so whatever miglint
says about them must be true, and said once. `check_project` takes the findings of
`miglint --format json` on one project (and its `graph --format json`) and returns every
finding that breaks one of these promises (DESIGN: "certain or silent", "one hazard, one
finding"):

- MIG401: none at all (released projects ship their migrations with their models);
- MIG004: no error (Django loads these squashes and app renames);
- MIG000: no error on a file that Python 3.11 or libcst parses and that defines a
  `Migration` class (those load; a dynamic one is MIG005, a warning);
- duplicates: no two findings on one operation (or loop, migration, app) for one hazard,
  the groups below;
- contradictions: no finding on code that does what the rule's own fix recommends.

The checker reads the migration files itself with `ast` (it is test code; nothing is
imported or run) to know which operation, loop and migration a finding sits on.
"""

from __future__ import annotations

import ast
import posixpath
import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Finding = Mapping[str, Any]

# --- One hazard, one finding: the groups -------------------------------------------------

# Codes that name one hazard when they sit on the same operation (or the same loop of a
# RunPython function): at most one finding of each group per operation.
SAME_OPERATION: tuple[tuple[frozenset[str], str], ...] = (
    # RemoveField loses the column's data (MIG101); that the column is NOT NULL without a
    # default (MIG509) is the same removal seen from a rolling deploy: one finding.
    (frozenset({"MIG101", "MIG509"}), "RemoveField reported as data loss and as NOT NULL removal"),
    # A narrowing AlterField (MIG103) is a column type change (MIG504): one ALTER, one finding.
    (frozenset({"MIG103", "MIG504"}), "one AlterField reported as lossy and as a type change"),
    # Saving row by row (MIG602) inside a loop over a whole table (MIG603): the same loop.
    (frozenset({"MIG602", "MIG603"}), "one loop reported as save-in-loop and as unbatched"),
)

# Codes about a migration as a whole: at most one finding per migration file.
ONCE_PER_MIGRATION: tuple[tuple[frozenset[str], str], ...] = (
    # Django refuses to unapply the whole migration at its first irreversible operation:
    # one "cannot be rolled back" per migration for RunPython (its message can list the
    # others), one for RunSQL. A RunPython and a RunSQL need two different fixes
    # (reverse_code, reverse_sql), so each keeps its own finding.
    (frozenset({"MIG201"}), "RunPython irreversibility reported more than once"),
    (frozenset({"MIG202"}), "RunSQL irreversibility reported more than once"),
    # A file that cannot be read (MIG000) or is read only in part (MIG005): one finding.
    (frozenset({"MIG000", "MIG005"}), "the file's readability reported more than once"),
)

# Codes about an app's graph: at most one finding per app (per migrations folder).
ONCE_PER_APP: tuple[tuple[frozenset[str], str], ...] = (
    # Conflicting leaves need one merge migration, however many leaves there are.
    (frozenset({"MIG001"}), "conflicting leaves reported more than once for one app"),
)

# Findings about one column that lose their meaning when the same migration then deletes
# the whole table: only the DeleteModel finding (MIG102) stays.
COLUMN_CODES = frozenset({"MIG101", "MIG103", "MIG504", "MIG509"})

# Data-loss and deploy-safety findings, which an operation that only changes Django's
# state (`state_operations`) never causes: it runs no SQL.
SQL_HAZARD_CODES = frozenset(
    {"MIG101", "MIG102", "MIG103", "MIG104"} | {f"MIG5{n:02d}" for n in range(1, 15)}
)

# Django's operations (and django.contrib.postgres's), by class name.
OPERATIONS = frozenset(
    {
        "CreateModel",
        "DeleteModel",
        "RenameModel",
        "AlterModelTable",
        "AlterModelTableComment",
        "AlterUniqueTogether",
        "AlterIndexTogether",
        "AlterOrderWithRespectTo",
        "AlterModelOptions",
        "AlterModelManagers",
        "AddField",
        "RemoveField",
        "AlterField",
        "RenameField",
        "AddIndex",
        "RemoveIndex",
        "RenameIndex",
        "AddConstraint",
        "RemoveConstraint",
        "AlterConstraint",
        "SeparateDatabaseAndState",
        "RunSQL",
        "RunPython",
        "AddIndexConcurrently",
        "RemoveIndexConcurrently",
        "AddConstraintNotValid",
        "ValidateConstraint",
        "CreateExtension",
        "CreateCollation",
        "RemoveCollation",
    }
)


@dataclass(frozen=True)
class Violation:
    """A finding (or a set of findings) that breaks one of the promises."""

    invariant: str  # MIG401, MIG004, MIG000, duplicate, contradiction, cache
    path: str
    line: int
    codes: tuple[str, ...]
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {','.join(self.codes)} [{self.invariant}] {self.why}"


# --- Reading migrations ------------------------------------------------------------------


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _keyword(call: ast.Call, name: str, position: int | None = None) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if position is not None and len(call.args) > position:
        argument = call.args[position]
        if not isinstance(argument, ast.Starred):
            return argument
    return None


def _string(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _is_none(node: ast.expr | None) -> bool:
    return node is None or (isinstance(node, ast.Constant) and node.value is None)


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


@dataclass(frozen=True)
class Operation:
    """One operation call of a migration, where it sits and on which side it runs."""

    kind: str
    call: ast.Call
    side: str  # "both", "database" (database_operations) or "state" (state_operations)
    index: int  # order of appearance in the migration

    @property
    def start(self) -> int:
        return self.call.lineno

    @property
    def end(self) -> int:
        return self.call.end_lineno or self.call.lineno

    def contains(self, line: int) -> bool:
        return self.start <= line <= self.end

    @property
    def model(self) -> str | None:
        """The model the operation is about, lower case (`model_name` or `name`)."""
        if self.kind in ("CreateModel", "DeleteModel", "AlterModelTable", "RenameModel"):
            name = _string(_keyword(self.call, "name", 0))
            if self.kind == "RenameModel":
                name = _string(_keyword(self.call, "old_name", 0))
        else:
            name = _string(_keyword(self.call, "model_name", 0))
        return name.lower() if name else None

    @property
    def field_name(self) -> str | None:
        if self.kind in ("AddField", "RemoveField", "AlterField"):
            return _string(_keyword(self.call, "name", 1))
        return None

    @property
    def field_call(self) -> ast.Call | None:
        if self.kind in ("AddField", "AlterField"):
            value = _keyword(self.call, "field", 2)
            return value if isinstance(value, ast.Call) else None
        return None

    @property
    def runs_sql(self) -> bool:
        return self.side != "state"


@dataclass
class MigrationFile:
    """What the checker needs to know of one migration file."""

    path: str
    tree: ast.Module | None
    operations: list[Operation] = field(default_factory=list)
    atomic: bool = True
    has_migration_class: bool = False
    loops: list[ast.For | ast.AsyncFor | ast.While] = field(default_factory=list)
    constants: dict[str, ast.expr] = field(default_factory=dict)

    def operation_at(self, line: int) -> Operation | None:
        """The innermost operation whose call spans `line`."""
        found = [op for op in self.operations if op.contains(line)]
        return min(found, key=lambda op: (op.end - op.start, -op.start, -op.index), default=None)

    def loop_at(self, line: int) -> ast.For | ast.AsyncFor | ast.While | None:
        """The innermost loop that starts at or spans `line`."""
        found = [
            loop for loop in self.loops if loop.lineno <= line <= (loop.end_lineno or loop.lineno)
        ]
        return max(found, key=lambda loop: loop.lineno, default=None)

    def sql_strings(self, operation: Operation) -> list[str]:
        """The literal SQL of a RunSQL's forward `sql` (module constants resolved)."""
        return _strings(_keyword(operation.call, "sql", 0), self.constants)


def _strings(node: ast.expr | None, constants: Mapping[str, ast.expr], depth: int = 0) -> list[str]:
    if node is None or depth > 5:
        return []
    if isinstance(node, ast.Name) and node.id in constants:
        return _strings(constants[node.id], constants, depth + 1)
    found: list[str] = []
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            found.append(child.value)
        elif isinstance(child, ast.Name) and child.id in constants and child is not node:
            found += _strings(constants[child.id], constants, depth + 1)
    return found


def read_migration(path: Path, relative: str) -> MigrationFile:
    """Parse one migration file with ast; an unparsable file has no tree and no operations."""
    try:
        with warnings.catch_warnings():
            # Real migrations have strings like "\-" that Python warns about.
            warnings.simplefilter("ignore")
            tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError, RecursionError):
        return MigrationFile(relative, None)
    migration = MigrationFile(relative, tree)
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    migration.constants[target.id] = statement.value
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.AsyncFor | ast.While):
            migration.loops.append(node)
    classes = [st for st in tree.body if isinstance(st, ast.ClassDef) and st.name == "Migration"]
    if not classes:
        return migration
    migration.has_migration_class = True
    body = classes[-1].body
    for statement in body:
        if not isinstance(statement, ast.Assign):
            continue
        names = [t.id for t in statement.targets if isinstance(t, ast.Name)]
        if "atomic" in names and isinstance(statement.value, ast.Constant):
            migration.atomic = bool(statement.value.value)
        if "operations" in names:
            _collect(statement.value, "both", migration, frozenset())
    return migration


def _collect(node: ast.AST, side: str, migration: MigrationFile, seen: frozenset[str]) -> None:
    """Every operation under an operations list expression, with the side it runs on.

    Elements of the list are operations whatever their class (a project's own operation
    counts as one); inside other expressions only Django's operation classes are.
    """
    if isinstance(node, ast.Name):
        if node.id in migration.constants and node.id not in seen:
            _collect(migration.constants[node.id], side, migration, seen | {node.id})
    elif isinstance(node, ast.List | ast.Tuple | ast.Set):
        for element in node.elts:
            if isinstance(element, ast.Call):
                _operation(element, side, migration, seen)
            else:
                _collect(element, side, migration, seen)
    elif isinstance(node, ast.ListComp | ast.GeneratorExp) and isinstance(node.elt, ast.Call):
        _operation(node.elt, side, migration, seen)
    elif isinstance(node, ast.Call) and _callee(node) in OPERATIONS:
        _operation(node, side, migration, seen)
    else:
        for child in ast.iter_child_nodes(node):
            _collect(child, side, migration, seen)


def _operation(call: ast.Call, side: str, migration: MigrationFile, seen: frozenset[str]) -> None:
    kind = _callee(call)
    if kind not in OPERATIONS and not kind[:1].isupper():
        # `list(...)`, `chain(...)`, a helper function: look inside for operations.
        for child in ast.iter_child_nodes(call):
            _collect(child, side, migration, seen)
        return
    migration.operations.append(Operation(kind, call, side, len(migration.operations)))
    for keyword in call.keywords:
        if keyword.arg == "state_operations":
            _collect(keyword.value, "state", migration, seen)
        elif keyword.arg == "database_operations":
            _collect(keyword.value, "database" if side != "state" else "state", migration, seen)


class Project:
    """One project's migration files, read on demand, and its graph as miglint prints it."""

    def __init__(self, root: Path, graph: Mapping[str, Any] | None = None) -> None:
        self.root = root
        self._files: dict[str, MigrationFile] = {}
        # Migration path -> (app label, position in the app's migrate order).
        self.order: dict[str, tuple[str, int]] = {}
        self.apps: dict[str, list[str]] = defaultdict(list)
        for label, app in ((graph or {}).get("apps") or {}).items():
            for position, node in enumerate(app.get("nodes", [])):
                self.order[node["path"]] = (label, position)
                self.apps[label].append(node["path"])

    def migration(self, relative: str) -> MigrationFile:
        if relative not in self._files:
            self._files[relative] = read_migration(self.root / relative, relative)
        return self._files[relative]

    def earlier(self, relative: str) -> list[MigrationFile]:
        """The migrations of the same app that `migrate` applies before this one."""
        if relative not in self.order:
            return []
        label, position = self.order[relative]
        return [self.migration(path) for path in self.apps[label][:position]]

    def label(self, relative: str) -> str | None:
        return self.order[relative][0] if relative in self.order else None


# --- The invariants ----------------------------------------------------------------------


def _violation(invariant: str, findings: Sequence[Finding], why: str) -> Violation:
    first = min(findings, key=lambda f: (f["line"], f["code"]))
    codes = tuple(sorted({f["code"] for f in findings}))
    return Violation(invariant, first["path"], first["line"], codes, why)


def missing_migration(findings: Iterable[Finding]) -> list[Violation]:
    return [
        _violation("MIG401", [f], f"released project reported as drifting: {f['message']}")
        for f in findings
        if f["code"] == "MIG401"
    ]


def broken_squash(findings: Iterable[Finding]) -> list[Violation]:
    return [
        _violation("MIG004", [f], f"Django loads this project: {f['message']}")
        for f in findings
        if f["code"] == "MIG004" and f["severity"] == "error"
    ]


def _parses_with_libcst(source: bytes) -> bool:
    # libcst crashes the process on very deep nesting; such files are not asked.
    if len(source) > 256_000 or b"\0" in source:
        return False
    try:
        import libcst
    except ImportError:  # pragma: no cover - libcst is a dependency of miglint
        return False
    try:
        module = libcst.parse_module(source)
    except Exception:
        return False
    return any(
        isinstance(statement, libcst.ClassDef) and statement.name.value == "Migration"
        for statement in module.body
    )


def _dependency_entries(migration: MigrationFile) -> list[ast.expr]:
    if migration.tree is None:
        return []
    entries: list[ast.expr] = []
    for node in migration.tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Migration":
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and any(
                        isinstance(t, ast.Name) and t.id == "dependencies"
                        for t in statement.targets
                    )
                    and isinstance(statement.value, ast.List | ast.Tuple)
                ):
                    entries += statement.value.elts
    return entries


def _rejected_dependency(migration: MigrationFile) -> bool:
    """A literal dependency entry that Django's loader cannot use (not two strings)."""
    for entry in _dependency_entries(migration):
        if isinstance(entry, ast.Constant):
            return True
        pair = isinstance(entry, ast.List | ast.Tuple) and len(entry.elts) == 2
        if isinstance(entry, ast.List | ast.Tuple) and (
            not pair
            or any(isinstance(e, ast.Constant) and not isinstance(e.value, str) for e in entry.elts)
        ):
            return True
    return False


def parse_error_on_loadable(project: Project, findings: Iterable[Finding]) -> list[Violation]:
    violations = []
    for finding in findings:
        if finding["code"] != "MIG000" or finding["severity"] != "error":
            continue
        migration = project.migration(finding["path"])
        loadable = migration.has_migration_class
        if not loadable and migration.tree is None:
            try:
                source = (project.root / finding["path"]).read_bytes()
            except OSError:
                source = b""
            loadable = _parses_with_libcst(source)
        if loadable and not _rejected_dependency(migration):
            violations.append(
                _violation(
                    "MIG000",
                    [finding],
                    "the file parses and defines a Migration class: "
                    f"not a parse error ({finding['message']})",
                )
            )
    return violations


def _unit(project: Project, finding: Finding) -> tuple[str, int, int] | None:
    """The operation or loop a finding sits on: (kind, first line, column) or None."""
    path = finding["path"]
    if not path.endswith(".py") or "/migrations/" not in f"/{path}":
        return None
    migration = project.migration(path)
    loop = migration.loop_at(finding["line"])
    operation = migration.operation_at(finding["line"])
    if operation is not None and (loop is None or operation.start > loop.lineno):
        return ("operation", operation.start, operation.call.col_offset)
    if loop is not None:
        return ("loop", loop.lineno, loop.col_offset)
    return None


def duplicates(project: Project, findings: Sequence[Finding]) -> list[Violation]:
    violations: list[Violation] = []
    # The same code twice at one place: one statement, one finding (its message may list
    # several columns or tables).
    by_place: dict[tuple[str, int, int, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        by_place[(finding["path"], finding["line"], finding["column"], finding["code"])].append(
            finding
        )
    for (_, _, _, code), group in sorted(by_place.items()):
        if len(group) > 1:
            violations.append(
                _violation("duplicate", group, f"{len(group)} {code} findings at one place")
            )
    by_unit: dict[tuple[str, tuple[str, int, int]], list[Finding]] = defaultdict(list)
    for finding in findings:
        unit = _unit(project, finding)
        if unit is not None:
            by_unit[(finding["path"], unit)].append(finding)
    for (_, unit), group in sorted(by_unit.items()):
        for codes, why in SAME_OPERATION:
            members = [f for f in group if f["code"] in codes]
            if len({f["code"] for f in members}) > 1:
                violations.append(_violation("duplicate", members, f"{why} ({unit[0]})"))
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_file[finding["path"]].append(finding)
    for _, group in sorted(by_file.items()):
        for codes, why in ONCE_PER_MIGRATION:
            members = [f for f in group if f["code"] in codes]
            if len(members) > 1:
                violations.append(_violation("duplicate", members, f"{why} ({len(members)}x)"))
    by_app: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        by_app[(str(finding["app"]), posixpath.dirname(finding["path"]))].append(finding)
    for _, group in sorted(by_app.items()):
        for codes, why in ONCE_PER_APP:
            members = [f for f in group if f["code"] in codes]
            if len(members) > 1:
                violations.append(_violation("duplicate", members, f"{why} ({len(members)}x)"))
    violations += _columns_of_deleted_models(project, findings)
    return violations


def _columns_of_deleted_models(project: Project, findings: Sequence[Finding]) -> list[Violation]:
    violations = []
    for finding in findings:
        if finding["code"] not in COLUMN_CODES or "/migrations/" not in f"/{finding['path']}":
            continue
        migration = project.migration(finding["path"])
        operation = migration.operation_at(finding["line"])
        if operation is None or operation.model is None or operation.kind == "RunSQL":
            continue
        deleted = [
            op
            for op in migration.operations
            if op.kind == "DeleteModel"
            and op.runs_sql
            and op.model == operation.model
            and op.index > operation.index
        ]
        if deleted:
            violations.append(
                _violation(
                    "duplicate",
                    [finding],
                    f"column finding on model {operation.model}, which this migration deletes "
                    f"(line {deleted[0].start}): only the DeleteModel finding",
                )
            )
    return violations


# --- Contradictions ----------------------------------------------------------------------

_IDENT = r"[\w.\"`\[\]]+"
_ALTER_TABLE = re.compile(
    rf"ALTER\s+TABLE\s+(?:ONLY\s+)?(?:IF\s+EXISTS\s+)?(?P<table>{_IDENT})(?P<rest>[^;]*)",
    re.IGNORECASE,
)
_DROP_COLUMN = re.compile(
    rf"DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?(?P<column>{_IDENT})", re.IGNORECASE
)
_DROP_TABLE = re.compile(
    rf"DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?P<tables>{_IDENT}(?:\s*,\s*{_IDENT})*)", re.IGNORECASE
)
_CREATE_TABLE = re.compile(
    rf"CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+)?TABLE\s+"
    rf"(?:IF\s+NOT\s+EXISTS\s+)?(?P<table>{_IDENT})|SELECT\b[^;]*?\bINTO\s+(?:TEMP(?:ORARY)?\s+)?"
    rf"(?:TABLE\s+)?(?P<into>{_IDENT})",
    re.IGNORECASE,
)
_NOT_COLUMNS = {"constraint", "index", "key", "default", "not", "primary", "foreign", "check"}
_MESSAGE_COLUMN = re.compile(r"drops? column (?P<column>\S+) of (?P<table>[^\s:,]+)")
_MESSAGE_TABLE = re.compile(r"drops? table (?P<table>[^\s:,]+)")


def _name(identifier: str) -> str:
    return identifier.strip().split(".")[-1].strip('"`[]').lower()


def sql_drops(sql: str) -> tuple[set[tuple[str, str]], set[str]]:
    """The (table, column) pairs and the tables that SQL text drops."""
    columns: set[tuple[str, str]] = set()
    for match in _ALTER_TABLE.finditer(sql):
        table = _name(match["table"])
        for clause in re.split(r",(?![^()]*\))", match["rest"]):
            drop = _DROP_COLUMN.match(clause.strip())
            if drop and _name(drop["column"]) not in _NOT_COLUMNS:
                columns.add((table, _name(drop["column"])))
    tables = {_name(t) for match in _DROP_TABLE.finditer(sql) for t in match["tables"].split(",")}
    return columns, tables


def sql_creates(sql: str) -> set[str]:
    return {_name(m["table"] or m["into"]) for m in _CREATE_TABLE.finditer(sql)}


def is_data_step(migration: MigrationFile, op: Operation) -> bool:
    """RunPython, or RunSQL with an UPDATE: what fills NULLs before a column becomes NOT NULL."""
    if not op.runs_sql:
        return False
    if op.kind == "RunPython":
        return True
    sql = "\n".join(migration.sql_strings(op)) if op.kind == "RunSQL" else ""
    return re.search(r"\bUPDATE\b", sql, re.IGNORECASE) is not None


def _statements(sql: str) -> list[str]:
    return [part.strip() for part in sql.split(";") if part.strip()]


@dataclass
class _ModelHistory:
    """Table names and field definitions of one app, replayed from its migrations in order."""

    label: str
    tables: dict[str, str] = field(default_factory=dict)
    fields: dict[tuple[str, str], ast.Call | None] = field(default_factory=dict)
    state_only_columns: set[tuple[str, str]] = field(default_factory=set)
    state_only_tables: set[str] = field(default_factory=set)
    # Nullable fields that a data step (RunPython, an UPDATE) ran after: their NULLs filled.
    filled: set[tuple[str, str]] = field(default_factory=set)

    def table(self, model: str) -> str:
        return self.tables.get(model, f"{self.label}_{model}".lower())

    def copy(self) -> _ModelHistory:
        return _ModelHistory(
            self.label,
            dict(self.tables),
            dict(self.fields),
            set(self.state_only_columns),
            set(self.state_only_tables),
            set(self.filled),
        )

    def replay(self, migration: MigrationFile) -> None:
        for operation in migration.operations:
            self.apply(migration, operation)

    def apply(self, migration: MigrationFile, op: Operation) -> None:
        if is_data_step(migration, op):
            self.filled |= {
                key
                for key, definition in self.fields.items()
                if definition is not None and _is_true(_keyword(definition, "null"))
            }
        model = op.model
        if model is None:
            return
        if op.kind == "CreateModel":
            options = _keyword(op.call, "options", 2)
            if isinstance(options, ast.Dict):
                for key, value in zip(options.keys, options.values, strict=True):
                    if _string(key) == "db_table" and _string(value):
                        self.tables[model] = str(_string(value)).lower()
            fields = _keyword(op.call, "fields", 1)
            if isinstance(fields, ast.List | ast.Tuple):
                for entry in fields.elts:
                    if isinstance(entry, ast.Tuple) and len(entry.elts) == 2:
                        field_name, definition = _string(entry.elts[0]), entry.elts[1]
                        if field_name and isinstance(definition, ast.Call):
                            self._define(op, model, field_name, definition)
        elif op.kind == "AlterModelTable":
            table = _string(_keyword(op.call, "table", 1))
            if table:
                self.tables[model] = table.lower()
            else:
                self.tables.pop(model, None)
        elif op.kind == "RenameModel":
            new_model = (_string(_keyword(op.call, "new_name", 1)) or "").lower()
            if new_model and model in self.tables:
                self.tables[new_model] = self.tables.pop(model)
            for known_model, name in list(self.fields):
                if known_model == model and new_model:
                    self.fields[(new_model, name)] = self.fields.pop((model, name))
        elif op.kind == "RenameField":
            old = _string(_keyword(op.call, "old_name", 1))
            new = _string(_keyword(op.call, "new_name", 2))
            if old and new and (model, old) in self.fields:
                self.fields[(model, new)] = self.fields.pop((model, old))
        elif op.kind in ("AddField", "AlterField") and op.field_name and op.field_call:
            self._define(op, model, op.field_name, op.field_call)
        elif op.kind == "RemoveField" and op.field_name:
            if op.side == "state" and not self._dropped_by_database_side(migration, op):
                column = self.column(model, op.field_name)
                self.state_only_columns.add((self.table(model), column))
                self.state_only_tables.update(self._link_tables(model, op.field_name))
            self.fields.pop((model, op.field_name), None)
        elif op.kind == "DeleteModel" and op.side == "both":
            self.tables.pop(model, None)
            for known_model, name in list(self.fields):
                if known_model == model:
                    del self.fields[(known_model, name)]
        elif (
            op.kind == "DeleteModel"
            and op.side == "state"
            and not any(
                o.kind == "DeleteModel" and o.side == "database" and o.model == model
                for o in migration.operations
            )
        ):
            self.state_only_tables.add(self.table(model))
            for known_model, name in list(self.fields):
                if known_model == model:
                    self.state_only_tables.update(self._link_tables(model, name))

    def _link_tables(self, model: str, name: str) -> set[str]:
        """The table Django made for a many-to-many field without `through`."""
        definition = self.fields.get((model, name))
        if (
            definition is None
            or _callee(definition) != "ManyToManyField"
            or _keyword(definition, "through") is not None
        ):
            return set()
        db_table = _string(_keyword(definition, "db_table"))
        return {(db_table or f"{self.table(model)}_{name}").lower()}

    def _define(self, op: Operation, model: str, name: str, definition: ast.Call) -> None:
        # A definition that only the state sees, or only the database, leaves the column
        # unknown: forget it rather than guess.
        self.fields[(model, name)] = definition if op.side == "both" else None
        if _is_true(_keyword(definition, "null")):
            self.filled.discard((model, name))

    def column(self, model: str, name: str) -> str:
        definition = self.fields.get((model, name))
        if definition is not None:
            db_column = _string(_keyword(definition, "db_column"))
            if db_column:
                return db_column.lower()
            if _callee(definition) in ("ForeignKey", "OneToOneField", "ForeignObject"):
                return f"{name}_id".lower()
        return name.lower()

    def _dropped_by_database_side(self, migration: MigrationFile, op: Operation) -> bool:
        column = self.column(str(op.model), str(op.field_name))
        for other in migration.operations:
            if other.side != "database":
                continue
            if other.kind == "RemoveField" and (other.model, other.field_name) == (
                op.model,
                op.field_name,
            ):
                return True
            if other.kind == "RunSQL":
                dropped, _ = sql_drops("\n".join(migration.sql_strings(other)))
                if any(c == column for _, c in dropped):
                    return True
        return False


def _history_before(project: Project, relative: str) -> _ModelHistory | None:
    label = project.label(relative)
    if label is None:
        return None
    history = _ModelHistory(label)
    for earlier in project.earlier(relative):
        history.replay(earlier)
    return history


def _targets(
    finding: Finding, columns: set[tuple[str, str]], tables: set[str]
) -> tuple[set[tuple[str, str]], set[str]]:
    """What a MIG104 finding is about: from its message when it says, else the whole SQL."""
    message = finding["message"]
    column = _MESSAGE_COLUMN.search(message)
    if column:
        return {(_name(column["table"]), _name(column["column"]))}, set()
    table = _MESSAGE_TABLE.search(message)
    if table:
        return set(), {_name(table["table"])}
    return columns, tables


def contradictions(project: Project, findings: Sequence[Finding]) -> list[Violation]:
    violations: list[Violation] = []
    histories: dict[str, _ModelHistory | None] = {}
    for finding in findings:
        path = finding["path"]
        if "/migrations/" not in f"/{path}" or not path.endswith(".py"):
            continue
        migration = project.migration(path)
        site = _Site(
            project, migration, migration.operation_at(finding["line"]), finding, histories
        )
        why = _contradiction(site)
        if why:
            violations.append(_violation("contradiction", [finding], why))
    return violations


@dataclass(frozen=True)
class _Site:
    """Where a finding sits, for the contradiction checks."""

    project: Project
    migration: MigrationFile
    operation: Operation | None
    finding: Finding
    histories: dict[str, _ModelHistory | None]

    def history(self) -> _ModelHistory | None:
        """The app's tables and fields just before the finding's operation runs."""
        path = self.migration.path
        if path not in self.histories:
            self.histories[path] = _history_before(self.project, path)
        before = self.histories[path]
        if before is None or self.operation is None:
            return before
        history = before.copy()
        for operation in self.migration.operations:
            if operation.index >= self.operation.index:
                break
            history.apply(self.migration, operation)
        return history


def _atomic_false(site: _Site) -> str | None:
    if not site.migration.atomic:
        return "the migration is already `atomic = False`, as MIG508's fix says"
    return None


def _loop_over_iterator(site: _Site) -> str | None:
    loop = site.migration.loop_at(site.finding["line"])
    if isinstance(loop, ast.For | ast.AsyncFor) and any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "iterator"
        for n in ast.walk(loop.iter)
    ):
        return "the loop already iterates `.iterator()`, as MIG603's fix says"
    return None


def _only_data_steps(site: _Site) -> str | None:
    runs = [
        op
        for op in site.migration.operations
        if op.runs_sql and op.kind != "SeparateDatabaseAndState"
    ]
    if runs and all(op.kind == "RunPython" for op in runs):
        return "the migration holds only data steps, as MIG301's fix says"
    return None


def _state_only(site: _Site) -> str | None:
    if site.operation is not None and site.operation.side == "state":
        return f"{site.operation.kind} in state_operations runs no SQL (MIG101's fix recommends it)"
    return None


def _has_reverse(site: _Site) -> str | None:
    operation = site.operation
    if operation is None or operation.kind not in ("RunPython", "RunSQL"):
        return None
    name = "reverse_code" if operation.kind == "RunPython" else "reverse_sql"
    if _is_none(_keyword(operation.call, name, 1)):
        return None
    return f"the {operation.kind} has a {name}, as the rule's fix says"


def _concurrent_index(site: _Site) -> str | None:
    operation = site.operation
    if operation is not None and operation.kind in (
        "AddIndexConcurrently",
        "RemoveIndexConcurrently",
    ):
        return f"{operation.kind} is what MIG505's fix recommends"
    return None


def _nullable_or_db_default(site: _Site) -> str | None:
    operation = site.operation
    definition = operation.field_call if operation is not None else None
    if operation is None or operation.kind != "AddField" or definition is None:
        return None
    if _keyword(definition, "db_default") is not None:
        return "the field has db_default, as MIG501's fix says"
    if _is_true(_keyword(definition, "null")):
        return "the field is null=True, as MIG501's fix says"
    return None


def _no_db_constraint(site: _Site) -> str | None:
    definition = site.operation.field_call if site.operation is not None else None
    db_constraint = _keyword(definition, "db_constraint") if definition is not None else None
    if isinstance(db_constraint, ast.Constant) and db_constraint.value is False:
        return "the field has db_constraint=False, as MIG507's fix says"
    return None


def _made_nullable_earlier(site: _Site) -> str | None:
    operation = site.operation
    if operation is None or operation.kind != "RemoveField" or not operation.field_name:
        return None
    history = site.history()
    known = history.fields.get((str(operation.model), operation.field_name)) if history else None
    if known is not None and (
        _is_true(_keyword(known, "null")) or _keyword(known, "db_default") is not None
    ):
        return "an earlier migration made the field nullable or gave it a db_default (MIG509's fix)"
    return None


def _explicit_db_table(site: _Site) -> str | None:
    operation = site.operation
    if operation is None or operation.kind != "RenameModel" or not operation.model:
        return None
    history = site.history()
    if history is not None and operation.model in history.tables:
        return "the model has an explicit db_table, so Django renames no table (MIG503's fix)"
    return None


def _drop_of_what_fix_recommends(site: _Site) -> str | None:
    operation = site.operation
    if operation is None or operation.kind != "RunSQL":
        return None
    history = site.history()
    if history is None:
        return None
    return _drop_after_state_only_removal(site.migration, operation, site.finding, history)


def _not_null_with_fill(site: _Site) -> str | None:
    operation = site.operation
    definition = operation.field_call if operation is not None else None
    if operation is None or operation.kind != "AlterField" or definition is None:
        return None
    if "NOT NULL" not in site.finding["message"]:
        return None
    if (
        _keyword(definition, "default") is not None
        or _keyword(definition, "db_default") is not None
    ):
        return "the field has a default, which Django writes into the NULL rows (MIG103's fix)"
    if any(
        is_data_step(site.migration, op) and op.index < operation.index
        for op in site.migration.operations
    ):
        return "a data step earlier in this migration fills the NULLs, as MIG103's fix says"
    history = site.history()
    if history is not None and (str(operation.model), str(operation.field_name)) in history.filled:
        return "a data step after the field became nullable fills the NULLs (MIG103's fix)"
    return None


def _column_kept(site: _Site) -> str | None:
    operation = site.operation
    if operation is None or operation.kind not in ("RenameField", "AlterField"):
        return None
    history = site.history()
    if history is None or not operation.model:
        return None
    if operation.kind == "RenameField":
        old = _string(_keyword(operation.call, "old_name", 1))
        known = history.fields.get((operation.model, old or ""))
        if known is not None and _string(_keyword(known, "db_column")):
            return "the field has a db_column, so Django renames no column (MIG502's fix)"
        return None
    definition = operation.field_call
    name = operation.field_name
    new_column = _string(_keyword(definition, "db_column")) if definition is not None else None
    if (
        name
        and new_column
        and (operation.model, name) in history.fields
        and history.fields[(operation.model, name)] is not None
        and new_column.lower() == history.column(operation.model, name)
    ):
        return "the new db_column is the old column's name, as MIG502's fix says"
    return None


def _safe_sql(site: _Site) -> str | None:
    """RunSQL written the way the deploy rules' fixes recommend."""
    operation = site.operation
    if operation is None or operation.kind != "RunSQL":
        return None
    statements = [s.upper() for s in _statements("\n".join(site.migration.sql_strings(operation)))]
    code = site.finding["code"]
    if code == "MIG505":
        relevant = [s for s in statements if re.search(r"\bCREATE\s+(UNIQUE\s+)?INDEX\b", s)]
        if relevant and all("CONCURRENTLY" in s for s in relevant):
            return "every CREATE INDEX is CONCURRENTLY, as MIG505's fix says"
    if code == "MIG506":
        relevant = [s for s in statements if "UNIQUE" in s]
        if relevant and all(
            re.search(r"CREATE\s+UNIQUE\s+INDEX\s+CONCURRENTLY", s) or "USING INDEX" in s
            for s in relevant
        ):
            return "a unique index built CONCURRENTLY and attached USING INDEX (MIG506's fix)"
    if code == "MIG507":
        relevant = [s for s in statements if "FOREIGN KEY" in s or "VALIDATE CONSTRAINT" in s]
        if relevant and all("NOT VALID" in s or "VALIDATE CONSTRAINT" in s for s in relevant):
            return "foreign keys added NOT VALID (or validated separately), as MIG507's fix says"
    return None


# Per code, the checks that find a finding on code which already follows the rule's fix.
_CONTRADICTIONS: dict[str, tuple[Callable[[_Site], str | None], ...]] = {
    "MIG103": (_not_null_with_fill,),
    "MIG104": (_drop_of_what_fix_recommends,),
    "MIG201": (_has_reverse,),
    "MIG202": (_has_reverse,),
    "MIG301": (_only_data_steps,),
    "MIG501": (_nullable_or_db_default,),
    "MIG502": (_column_kept,),
    "MIG503": (_explicit_db_table,),
    "MIG505": (_concurrent_index, _safe_sql),
    "MIG506": (_safe_sql,),
    "MIG507": (_no_db_constraint, _safe_sql),
    "MIG508": (_atomic_false,),
    "MIG509": (_made_nullable_earlier,),
    "MIG603": (_loop_over_iterator,),
}


def _contradiction(site: _Site) -> str | None:
    code = site.finding["code"]
    checks = _CONTRADICTIONS.get(code, ())
    if code in SQL_HAZARD_CODES:
        checks = (_state_only, *checks)
    for check in checks:
        why = check(site)
        if why:
            return why
    return None


def _drop_after_state_only_removal(
    migration: MigrationFile, operation: Operation, finding: Finding, history: _ModelHistory
) -> str | None:
    sql = "\n".join(migration.sql_strings(operation))
    columns, tables = sql_drops(sql)
    columns, tables = _targets(finding, columns, tables)
    if not columns and not tables:
        return None
    created = set()
    for other in migration.operations:
        if other.kind == "RunSQL" and other.index <= operation.index:
            created |= sql_creates("\n".join(migration.sql_strings(other)))
        elif other.kind == "CreateModel" and other.runs_sql and other.model:
            created.add(history.table(other.model))
    reasons = []
    for table, column in sorted(columns):
        if table in created:
            reasons.append(f"{table} was created by this migration")
        elif (table, column) in history.state_only_columns:
            reasons.append(f"{table}.{column} was removed from the state only earlier")
        else:
            return None
    for table in sorted(tables):
        if table in created:
            reasons.append(f"{table} was created by this migration")
        elif table in history.state_only_tables:
            reasons.append(f"{table} was deleted from the state only earlier")
        else:
            return None
    return (
        "; ".join(reasons)
        + ": dropping it is what MIG101/MIG102's fix recommends (or a helper table)"
    )


def check_project(
    root: Path, findings: Sequence[Finding], graph: Mapping[str, Any] | None = None
) -> list[Violation]:
    """Every violation of the invariants by miglint's findings on the project at `root`."""
    project = Project(root, graph)
    return [
        *missing_migration(findings),
        *broken_squash(findings),
        *parse_error_on_loadable(project, findings),
        *duplicates(project, findings),
        *contradictions(project, findings),
    ]


def by_invariant(violations: Iterable[Violation]) -> Iterator[tuple[str, list[Violation]]]:
    grouped: dict[str, list[Violation]] = defaultdict(list)
    for violation in violations:
        grouped[violation.invariant].append(violation)
    for invariant in ("MIG401", "MIG004", "MIG000", "duplicate", "contradiction", "cache"):
        if grouped.get(invariant):
            yield invariant, grouped[invariant]
