"""Migration source -> frozen facts: the Migration class, its graph edges and its operations.

Only what the text states is recorded. What cannot be read statically (an operations list
built by a function call, a comprehension) is kept as an unknown operation, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from miglint import syntax as s
from miglint.pysource import SourceError, decode, parse_source

# `django.db.migrations` re-exports the operations; qualnames are normalised to it.
DJANGO_MIGRATIONS = "django.db.migrations"
_OPERATION_MODULES = (
    "django.db.migrations.operations.fields",
    "django.db.migrations.operations.models",
    "django.db.migrations.operations.special",
    "django.db.migrations.operations.base",
    "django.db.migrations.operations",
)


@dataclass(frozen=True)
class Note:
    """Something in a readable file that miglint could not fully read."""

    message: str
    span: s.Span


@dataclass(frozen=True)
class Dependency:
    """`(app_label, migration_name)`; `app` is None when it names a swappable setting."""

    app: str | None
    name: str
    span: s.Span = field(default=s.NO_SPAN, compare=False)
    # The setting of `swappable_dependency(settings.X)`, e.g. "AUTH_USER_MODEL".
    setting: str | None = None

    @property
    def key(self) -> tuple[str, str] | None:
        return None if self.app is None else (self.app, self.name)


@dataclass(frozen=True)
class Operation:
    """One entry of `operations`; `call` is None when the entry cannot be read."""

    name: str
    qualname: str
    call: s.Call | None
    span: s.Span = field(compare=False)
    source: str = ""
    # Filled for SeparateDatabaseAndState only.
    database_operations: tuple[Operation, ...] = ()
    state_operations: tuple[Operation, ...] = ()

    @property
    def known(self) -> bool:
        return self.call is not None

    @property
    def is_django(self) -> bool:
        """True for Django's own operations (also when imported by a path miglint cannot see)."""
        return self.qualname.startswith("django.") or "." not in self.qualname

    def is_(self, *names: str) -> bool:
        """This is one of Django's operations named `names` (e.g. `op.is_("RemoveField")`)."""
        return self.name in names and self.is_django

    def argument(self, position: int, keyword: str) -> s.Value | s.Missing:
        if self.call is None:
            return s.MISSING
        return self.call.argument(position, keyword)

    def argument_span(self, position: int, keyword: str) -> s.Span:
        return self.span if self.call is None else self.call.argument_span(position, keyword)


@dataclass(frozen=True)
class Suppression:
    line: int
    # None: a bare `# miglint: ignore` that silences every code.
    codes: tuple[str, ...] | None
    file_level: bool


@dataclass(frozen=True)
class MigrationFacts:
    """Everything miglint knows about one migration file, from its text alone."""

    has_class: bool = False
    class_span: s.Span = s.NO_SPAN
    dependencies: tuple[Dependency, ...] = ()
    replaces: tuple[Dependency, ...] = ()
    run_before: tuple[Dependency, ...] = ()
    initial: bool | None = None
    atomic: bool = True
    operations: tuple[Operation, ...] = ()
    # Names of module-level functions, for resolving RunPython(code=...) references.
    functions: tuple[str, ...] = ()
    # The module-level functions themselves, with what their bodies do (for MIG6xx).
    function_defs: tuple[s.FunctionDef, ...] = ()
    imports: tuple[s.Import, ...] = ()
    suppressions: tuple[Suppression, ...] = ()
    notes: tuple[Note, ...] = ()
    error: SourceError | None = None
    # Module-level names bound to strings or lists of strings, for RunSQL(sql=FORWARD_SQL).
    constants: tuple[tuple[str, s.Value], ...] = ()

    @property
    def operations_known(self) -> bool:
        return all(op.known for op in self.operations)


_SUPPRESSION = re.compile(
    r"#\s*miglint\s*:\s*(?P<kind>ignore-file|ignore)\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE
)


def find_suppressions(text: str) -> tuple[Suppression, ...]:
    """Every `# miglint: ignore[...]` and `# miglint: ignore-file[...]` comment in `text`."""
    if "miglint" not in text:
        return ()
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if "miglint" not in line:
            continue
        for match in _SUPPRESSION.finditer(line):
            codes_text = match.group("codes")
            codes = (
                None
                if codes_text is None
                else tuple(code.strip().upper() for code in codes_text.split(",") if code.strip())
            )
            found.append(Suppression(number, codes, match.group("kind").lower() == "ignore-file"))
    return tuple(found)


def parse_migration_bytes(data: bytes) -> MigrationFacts:
    """Facts of a migration file given as raw bytes; a broken file gives facts with `error`."""
    try:
        text = decode(data)
    except SourceError as error:
        return MigrationFacts(error=error)
    return parse_migration(text)


def parse_migration(text: str) -> MigrationFacts:
    suppressions = find_suppressions(text)
    try:
        module = parse_source(text)
    except SourceError as error:
        return MigrationFacts(error=error, suppressions=suppressions)
    return _MigrationReader(module).facts(suppressions)


def migration_facts(module: s.Module, text: str) -> MigrationFacts:
    """Facts of a module already read by either front-end; `text` is its source."""
    return _MigrationReader(module).facts(find_suppressions(text))


class _MigrationReader:
    def __init__(self, module: s.Module) -> None:
        self.module = module
        self.notes: list[Note] = []
        self.imports = tuple(st for st in module.body if isinstance(st, s.Import))
        self.aliases = import_aliases(self.imports)
        self.globals: dict[str, s.Value] = {}
        # The Migration class body's own names (`state_operations = [...]` used in its
        # `operations`): Python looks them up before the module's while the class is built.
        self.class_names: dict[str, s.Value] = {}
        for statement in module.body:
            if isinstance(statement, s.Assign) and not statement.augmented:
                for target in statement.targets:
                    self.globals[target] = statement.value

    def facts(self, suppressions: tuple[Suppression, ...]) -> MigrationFacts:
        function_defs = tuple(st for st in self.module.body if isinstance(st, s.FunctionDef))
        functions = tuple(function.name for function in function_defs)
        migration_class = None
        for statement in self.module.body:
            if isinstance(statement, s.ClassDef) and statement.name == "Migration":
                migration_class = statement
        if migration_class is None:
            return MigrationFacts(
                functions=functions,
                function_defs=function_defs,
                imports=self.imports,
                suppressions=suppressions,
            )
        attributes: dict[str, s.Value] = {}
        for statement in migration_class.body:
            if isinstance(statement, s.Other) and statement.kind in _BRANCHING:
                # e.g. `if django.VERSION >= (4, 0): operations = [...]`: the edges and
                # operations may differ from what the plain assignments say.
                self.notes.append(
                    Note(
                        f"{'an' if statement.kind[0] in 'AEIOU' else 'a'} "
                        f"`{statement.kind.lower()}` statement in the Migration class may set "
                        "its dependencies or operations; miglint reads only plain assignments",
                        statement.span,
                    )
                )
            if not isinstance(statement, s.Assign):
                continue
            for target in statement.targets:
                if statement.augmented and target in attributes:
                    previous = attributes[target]
                    attributes[target] = s.Concat((previous, statement.value), statement.span)
                else:
                    attributes[target] = statement.value
        self.class_names = attributes
        bases = [
            qualify(b.name, self.aliases) for b in migration_class.bases if isinstance(b, s.Ref)
        ]
        if "dependencies" not in attributes and not any(b in _DJANGO_MIGRATION for b in bases):
            self.notes.append(
                Note(
                    f"the Migration class derives from {', '.join(bases) or 'an expression'} and "
                    "sets no `dependencies`; they may come from that base class",
                    _header(migration_class.span),
                )
            )
        return MigrationFacts(
            has_class=True,
            class_span=_header(migration_class.span),
            dependencies=self.dependencies(attributes.get("dependencies"), "dependencies"),
            replaces=self.dependencies(attributes.get("replaces"), "replaces"),
            run_before=self.dependencies(attributes.get("run_before"), "run_before"),
            initial=self.flag(attributes, "initial", None),
            atomic=self.flag(attributes, "atomic", True) is not False,
            operations=self.operations(attributes.get("operations"), migration_class.span),
            functions=functions,
            function_defs=function_defs,
            imports=self.imports,
            suppressions=suppressions,
            notes=tuple(self.notes),
            constants=self.constants(),
        )

    def constants(self) -> tuple[tuple[str, s.Value], ...]:
        return tuple(
            (name, value)
            for name, value in self.globals.items()
            if isinstance(value, str)
            or (isinstance(value, s.Seq) and all(isinstance(i, str | s.Seq) for i in value.items))
        )

    def resolve(self, value: s.Value, depth: int = 0) -> s.Value:
        """Follow a bare name to its module-level assignment (a few levels at most)."""
        while isinstance(value, s.Ref) and "." not in value.name and depth < 8:
            name = value.name
            if name in self.class_names and self.class_names[name] is not value:
                value = self.class_names[name]
            elif name in self.globals:
                value = self.globals[name]
            else:
                break
            depth += 1
        return value

    def flag(
        self, attributes: Mapping[str, s.Value], name: str, default: bool | None
    ) -> bool | None:
        if name not in attributes:
            return default
        value = self.resolve(attributes[name])
        if isinstance(value, bool):
            return value
        self.notes.append(
            Note(f"`{name}` is not a literal True/False", s.span_of(value) or s.NO_SPAN)
        )
        return default

    def items(self, value: s.Value | None, what: str) -> Iterator[tuple[s.Value, s.Span]]:
        """The entries of a list attribute, following names and `+`; notes what it cannot read."""
        if value is None:
            return
        value = self.resolve(value)
        if isinstance(value, s.Seq):
            spans = value.item_spans or (value.span,) * len(value.items)
            for item, span in zip(value.items, spans, strict=False):
                yield item, span
        elif isinstance(value, s.Concat):
            for part in value.parts:
                yield from self.items(part, what)
        else:
            span = s.span_of(value) or s.NO_SPAN
            source = value.source if isinstance(value, s.Unknown) else _describe(value)
            yield s.Unknown(source, "unreadable", span), span

    def dependencies(self, value: s.Value | None, what: str) -> tuple[Dependency, ...]:
        result = []
        for item, span in self.items(value, what):
            dependency = self.dependency(self.resolve(item), span)
            if dependency is None:
                self.notes.append(
                    Note(
                        f"cannot read an entry of `{what}` "
                        f"({_describe(item)}): expected an (app_label, migration_name) pair",
                        span,
                    )
                )
            else:
                result.append(dependency)
        return tuple(result)

    def dependency(self, item: s.Value, span: s.Span) -> Dependency | None:
        if isinstance(item, s.Seq) and item.kind in ("tuple", "list") and len(item.items) == 2:
            app, name = (self.resolve(part) for part in item.items)
            if isinstance(app, str) and isinstance(name, str):
                return Dependency(app, name, span)
            if (
                isinstance(name, str)
                and isinstance(app, s.Ref)
                and app.name.startswith("settings.")
            ):
                return Dependency(None, name, span, setting=app.name.partition(".")[2])
            return None
        if isinstance(item, s.Call) and item.name == "swappable_dependency" and item.args:
            setting = self.resolve(item.args[0])
            if isinstance(setting, str) and "." in setting:
                return Dependency(setting.split(".", 1)[0], "__first__", span)
            if isinstance(setting, s.Ref):
                return Dependency(None, "__first__", span, setting=setting.last)
        return None

    def operations(self, value: s.Value | None, class_span: s.Span) -> tuple[Operation, ...]:
        if value is None:
            return ()
        return tuple(self.operation(item, span) for item, span in self.items(value, "operations"))

    def operation(self, item: s.Value, span: s.Span) -> Operation:
        item = self.resolve(item)
        if not isinstance(item, s.Call):
            source = item.source if isinstance(item, s.Unknown) else _describe(item)
            return Operation("<unknown>", "", None, s.span_of(item) or span, source)
        qualname = qualify(item.func, self.aliases)
        operation = Operation(item.name, qualname, item, item.span)
        if item.name == "SeparateDatabaseAndState" and operation.is_django:
            database = item.argument(0, "database_operations")
            state = item.argument(1, "state_operations")
            return Operation(
                item.name,
                qualname,
                item,
                item.span,
                database_operations=self.nested(database),
                state_operations=self.nested(state),
            )
        return operation

    def nested(self, value: s.Value | s.Missing) -> tuple[Operation, ...]:
        if isinstance(value, s.Missing) or value is None:
            return ()
        return tuple(self.operation(item, span) for item, span in self.items(value, "operations"))


_DJANGO_MIGRATION = frozenset(
    {f"{DJANGO_MIGRATIONS}.Migration", f"{DJANGO_MIGRATIONS}.migration.Migration"}
)
# Compound statements (same names in `ast` and libcst) that can assign class attributes.
_BRANCHING = frozenset(
    {"If", "For", "AsyncFor", "While", "Try", "TryStar", "With", "AsyncWith", "Match"}
)


def import_aliases(imports: Iterable[s.Import]) -> dict[str, str]:
    """Local name -> the dotted path it was imported as."""
    aliases: dict[str, str] = {}
    for imported in imports:
        if imported.name is None:
            # `import a.b` binds `a`; `import a.b as c` binds `c` to `a.b`.
            head = imported.module.partition(".")[0]
            aliases[imported.alias] = head if imported.alias == head else imported.module
        elif imported.name != "*":
            aliases[imported.alias] = f"{imported.module}.{imported.name}"
    return aliases


def qualify(dotted: str, aliases: Mapping[str, str]) -> str:
    """Resolve the first component of `dotted` through the imports; normalise Django paths."""
    head, _, rest = dotted.partition(".")
    if head in aliases:
        dotted = aliases[head] + ("." + rest if rest else "")
    for module in _OPERATION_MODULES:
        if dotted.startswith(module + "."):
            return DJANGO_MIGRATIONS + dotted[len(module) :]
    return dotted


def _describe(value: s.Value) -> str:
    if isinstance(value, s.Unknown):
        return value.source
    if isinstance(value, s.Ref):
        return value.name
    if isinstance(value, s.Call):
        return f"{value.func}(...)"
    if isinstance(value, s.Seq):
        return f"a {value.kind} of {len(value.items)}"
    if isinstance(value, s.Dict):
        return "a dict"
    if isinstance(value, s.Concat):
        return "a concatenation"
    return repr(value)


def _header(span: s.Span) -> s.Span:
    """The `class Migration` words of a class statement, not its whole body."""
    return s.Span(span.line, span.column, span.line, span.column + len("class Migration"))
