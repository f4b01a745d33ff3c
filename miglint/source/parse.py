"""Migration source -> frozen facts: the Migration class, its graph edges and its operations.

Only what the text states is recorded. What cannot be read statically (an operations list
built by a function call, a comprehension) is kept as an unknown operation, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from miglint.source import syntax as s
from miglint.source.facts import Dependency, MigrationFacts, Note, Operation, Suppression
from miglint.source.pysource import SourceError, decode, parse_source

# `django.db.migrations` re-exports the operations; qualnames are normalised to it.
DJANGO_MIGRATIONS = "django.db.migrations"
_OPERATION_MODULES = (
    "django.db.migrations.operations.fields",
    "django.db.migrations.operations.models",
    "django.db.migrations.operations.special",
    "django.db.migrations.operations.base",
    "django.db.migrations.operations",
)


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


# The attributes of a Migration class that Django's loader and executor read.
MIGRATION_ATTRIBUTES = ("dependencies", "replaces", "run_before", "initial", "atomic", "operations")


class _MigrationReader:
    def __init__(self, module: s.Module) -> None:
        self.module = module
        self.notes: list[Note] = []
        self.imports = tuple(st for st in module.body if isinstance(st, s.Import))
        self.aliases = import_aliases(self.imports)
        self.globals: dict[str, s.Value] = {}
        # Module-level names that a statement other than an assignment may change (an `if`
        # that appends to a list, a loop...), with the first such statement.
        self.changed_globals: dict[str, s.Other] = {}
        for statement in module.body:
            if isinstance(statement, s.Assign):
                for target in statement.targets:
                    previous = self.globals.get(target)
                    self.globals[target] = (
                        s.Concat((previous, statement.value), statement.span)
                        if statement.augmented and previous is not None
                        else statement.value
                    )
            elif isinstance(statement, s.Other):
                for name in statement.names:
                    self.changed_globals.setdefault(name, statement)
        # Names assigned in the Migration class body, which its own expressions see first.
        self.scope: dict[str, s.Value] = {}

    def facts(self, suppressions: tuple[Suppression, ...]) -> MigrationFacts:
        function_defs = tuple(st for st in self.module.body if isinstance(st, s.FunctionDef))
        functions = tuple(function.name for function in function_defs)
        migration_class = None
        for statement in self.module.body:
            if isinstance(statement, s.ClassDef) and statement.name == "Migration":
                migration_class = statement
        if migration_class is None:
            return self.without_class(functions, function_defs, suppressions)
        attributes: dict[str, s.Value] = {}
        spans: dict[str, s.Span] = {}
        # Statements that may change attributes at run time, with the attributes each one
        # still decides (a later plain assignment decides it again).
        changes: list[tuple[s.Statement, set[str]]] = []
        for statement in migration_class.body:
            if isinstance(statement, s.Assign):
                for target in statement.targets:
                    spans[target] = statement.span
                    if statement.augmented and target in attributes:
                        previous = attributes[target]
                        attributes[target] = s.Concat((previous, statement.value), statement.span)
                    else:
                        attributes[target] = statement.value
                        for _, changed in changes:
                            changed.discard(target)
                continue
            touched = {a for a in MIGRATION_ATTRIBUTES if a in _bound_names(statement)}
            if not touched:
                continue
            changes.append((statement, touched))
            if "operations" in touched:
                marker = s.Unknown(
                    "operations chosen when Django loads the file", "dynamic", statement.span
                )
                previous = attributes.get("operations")
                attributes["operations"] = (
                    marker if previous is None else s.Concat((previous, marker), statement.span)
                )
        for statement, changed in changes:
            if changed:
                ordered = tuple(a for a in MIGRATION_ATTRIBUTES if a in changed)
                self.notes.append(_change_note(statement, ordered, "the Migration class"))
        self.scope = {k: v for k, v in attributes.items() if k not in MIGRATION_ATTRIBUTES}
        class_span = _header(migration_class.span)
        bases = [
            qualify(b.name, self.aliases) for b in migration_class.bases if isinstance(b, s.Ref)
        ]
        if not migration_class.bases and not migration_class.keywords:
            self.notes.append(
                Note(
                    "the Migration class has no base class; Django's loader fails with "
                    "TypeError when it creates it as Migration(name, app_label)",
                    class_span,
                    "rejected",
                )
            )
        elif not any(b in _DJANGO_MIGRATION for b in bases):
            inherited = tuple(a for a in ("dependencies", "operations") if a not in attributes)
            if inherited:
                self.notes.append(
                    Note(
                        f"the Migration class derives from {', '.join(bases) or 'an expression'} "
                        f"and sets no {_quoted(inherited)}; they may come from that base class",
                        class_span,
                        "inherited",
                        inherited,
                    )
                )
            if "operations" in inherited:
                attributes["operations"] = s.Unknown(
                    "operations of a base class", "dynamic", class_span
                )
        return MigrationFacts(
            has_class=True,
            class_span=class_span,
            dependencies=self.entries(attributes, spans, "dependencies"),
            replaces=self.entries(attributes, spans, "replaces"),
            run_before=self.entries(attributes, spans, "run_before"),
            initial=self.flag(attributes, spans, "initial", None),
            atomic=self.flag(attributes, spans, "atomic", True) is not False,
            operations=self.operations(attributes, spans),
            functions=functions,
            function_defs=function_defs,
            imports=self.imports,
            suppressions=suppressions,
            notes=tuple(self.notes),
            constants=self.constants(),
        )

    def without_class(
        self,
        functions: tuple[str, ...],
        function_defs: tuple[s.FunctionDef, ...],
        suppressions: tuple[Suppression, ...],
    ) -> MigrationFacts:
        """Facts of a module with no `class Migration` statement at its top level: none, or
        a Migration that Django may still find (imported, assigned, defined under an `if`)."""
        note = None
        for statement in self.module.body:
            note = _migration_binding(statement) or note
        if note is None or note.kind == "rejected":
            # With no binding at all, Django's loader raises BadMigrationError (MIG000).
            return MigrationFacts(
                has_class=note is not None,
                class_span=note.span if note else s.NO_SPAN,
                notes=(note,) if note else (),
                functions=functions,
                function_defs=function_defs,
                imports=self.imports,
                suppressions=suppressions,
            )
        unknown = Operation("<unknown>", "", None, note.span, "operations of that class")
        return MigrationFacts(
            has_class=True,
            class_span=note.span,
            operations=(unknown,),
            functions=functions,
            function_defs=function_defs,
            imports=self.imports,
            suppressions=suppressions,
            notes=(note,),
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
        """Follow a bare name to its assignment in the class or the module (a few levels)."""
        while isinstance(value, s.Ref) and "." not in value.name and depth < 8:
            if value.name in self.scope:
                value = self.scope[value.name]
            elif value.name in self.globals:
                value = self.globals[value.name]
            else:
                break
            depth += 1
        return value

    def flag(
        self,
        attributes: Mapping[str, s.Value],
        spans: Mapping[str, s.Span],
        name: str,
        default: bool | None,
    ) -> bool | None:
        if name not in attributes:
            return default
        value = self.resolve(attributes[name])
        if value is None and default is None:
            return None  # `initial = None` is Django's own default ("decide from the graph")
        if value is None or isinstance(value, bool | int | float | str | bytes):
            # Django reads the flag by its truth value.
            return bool(value)
        self.notes.append(
            Note(
                f"`{name}` is computed when Django loads the file ({_describe(value)})",
                s.span_of(value) or spans.get(name, s.NO_SPAN),
                "not-literal",
                (name,),
            )
        )
        return default

    def items(
        self, value: s.Value | None, what: str, depth: int = 0
    ) -> Iterator[tuple[s.Value, s.Span]]:
        """The entries of a list attribute, following names and `+`; an entry miglint cannot
        read is an `Unknown`."""
        if value is None:
            return
        changed = value.name if isinstance(value, s.Ref) else None
        if changed in self.changed_globals and changed not in self.scope:
            statement = self.changed_globals[changed]
            self.notes.append(_change_note(statement, (what,), "the module", changed))
            if what == "operations":
                yield s.Unknown(changed, "dynamic", statement.span), statement.span
        value = self.resolve(value)
        if isinstance(value, s.Seq):
            spans = value.item_spans or (value.span,) * len(value.items)
            for item, span in zip(value.items, spans, strict=False):
                yield item, span
        elif isinstance(value, s.Concat) and depth < 16:
            for part in value.parts:
                yield from self.items(part, what, depth + 1)
        elif isinstance(value, s.Dict) and what != "operations":
            # `list()` of a dict, as Django takes the attribute, is its keys.
            for key, _ in value.items:
                yield key, value.span
        else:
            span = s.span_of(value) or s.NO_SPAN
            source = value.source if isinstance(value, s.Unknown) else _describe(value)
            yield s.Unknown(source, "unreadable", span), span

    def entries(
        self, attributes: Mapping[str, s.Value], spans: Mapping[str, s.Span], what: str
    ) -> tuple[Dependency, ...]:
        """The `(app_label, migration_name)` pairs of `dependencies`, `replaces` or
        `run_before`; every other entry becomes a note."""
        if what not in attributes:
            return ()
        value = attributes[what]
        resolved = self.resolve(value)
        span = s.span_of(value) or spans.get(what, s.NO_SPAN)
        if resolved is None or isinstance(resolved, bool | int | float | complex):
            self.notes.append(
                Note(
                    f"`{what}` is {resolved!r}, not a list; Django's loader fails with "
                    f"TypeError ('{type(resolved).__name__}' object is not iterable)",
                    span,
                    "rejected",
                    (what,),
                )
            )
            return ()
        if isinstance(resolved, str | bytes):
            if resolved and what != "replaces":
                self.notes.append(
                    Note(
                        f"`{what}` is the string {resolved!r}, not a list (each character would be "
                        "an entry); Django's loader fails with IndexError",
                        span,
                        "rejected",
                        (what,),
                    )
                )
            elif resolved:
                self.notes.append(
                    Note(
                        f"`replaces` is the string {resolved!r}, not a list; Django reads each "
                        "character as an entry, so it replaces nothing",
                        span,
                        "unusual",
                        (what,),
                    )
                )
            return ()
        result = []
        for item, item_span in self.items(value, what):
            found = self.entry(item, item_span, what)
            if isinstance(found, Note):
                self.notes.append(found)
            else:
                result.append(found)
        return tuple(result)

    def entry(self, item: s.Value, span: s.Span, what: str) -> Dependency | Note:
        """One entry of `dependencies`, `replaces` or `run_before`, as Django's loader takes it."""
        item = self.resolve(item)
        if isinstance(item, s.Seq) and item.kind == "tuple" and len(item.items) == 2:
            app, name = (self.resolve(part) for part in item.items)
            if isinstance(app, str) and isinstance(name, str):
                return Dependency(app, name, span)
            if (
                isinstance(name, str)
                and isinstance(app, s.Ref)
                and app.name.startswith("settings.")
            ):
                return Dependency(None, name, span, setting=app.name.partition(".")[2])
        if isinstance(item, s.Call) and item.name == "swappable_dependency" and not item.has_star:
            setting = item.argument(0, "value")
            setting = setting if isinstance(setting, s.Missing) else self.resolve(setting)
            # Django: SwappableTuple((value.split(".", 1)[0], "__first__"), value).
            if isinstance(setting, str):
                return Dependency(setting.split(".", 1)[0], "__first__", span)
            if isinstance(setting, s.Ref):
                return Dependency(None, "__first__", span, setting=setting.last)
        verdict = self.verdict(item, what)
        if verdict is None:
            # An Unknown "unreadable" stands for a whole part of the list (`[...] + X`).
            whole = isinstance(item, s.Unknown) and item.kind == "unreadable"
            return Note(
                f"{'part' if whole else 'an entry'} of `{what}`, `{_describe(item)}`, is computed "
                "when Django loads the file",
                span,
                "computed",
                (what,),
                _describe(item),
            )
        kind, reason = verdict
        return Note(f"`{what}` lists {_describe(item)}: {reason}", span, kind, (what,))

    def verdict(self, item: s.Value, what: str) -> tuple[str, str] | None:
        """("rejected" | "unusual", why) for an entry that is not an (app_label, name) pair
        as Django's loader would take it; None when it cannot be known statically.

        It mirrors MigrationLoader.build_graph: `dependencies` and `run_before` entries are
        indexed ([0], [1]) and used as graph keys (hashed); `replaces` entries are only
        hashed and looked up, so any hashable value is accepted there and replaces nothing.
        """
        fails = "Django's loader fails with"
        if isinstance(item, s.Ref):
            if qualify(item.name, self.aliases) != "django.conf.settings.AUTH_USER_MODEL":
                return None
            if what == "replaces":
                return "unusual", "a model label, not a migration; it replaces nothing"
            return (
                "rejected",
                "a model label such as 'auth.User', not a migration; "
                f"{fails} NodeNotFoundError (write "
                "migrations.swappable_dependency(settings.AUTH_USER_MODEL))",
            )
        if isinstance(item, s.Dict) or (isinstance(item, s.Seq) and item.kind != "tuple"):
            kind = "dict" if isinstance(item, s.Dict) else item.kind
            if what == "replaces":
                return "rejected", f"a {kind} cannot be a graph key; {fails} TypeError"
            if isinstance(item, s.Dict):
                return "rejected", f"a dict is not an (app_label, name) pair; {fails} KeyError"
            if item.kind == "set":
                return "rejected", f"{fails} TypeError ('set' object is not subscriptable)"
            second = self.scalar(item.items[1]) if len(item.items) > 1 else None
            if what == "dependencies" and second in ("__first__", s.MISSING):
                # Django skips a same-app `__first__` entry before it hashes it.
                return "unusual", (
                    "a list, not a tuple; Django's loader fails with TypeError (unhashable "
                    "type: 'list') unless it names the migration's own app's `__first__`"
                )
            error = "IndexError" if len(item.items) < 2 else "TypeError (unhashable type: 'list')"
            return "rejected", f"a list, not a tuple; {fails} {error}"
        if isinstance(item, s.Seq):
            if len(item.items) == 2:
                # Not two strings (entry() took those): a name that is not a string is never
                # a migration, whatever the app; otherwise it depends on what is not known.
                first, second = (self.scalar(part) for part in item.items)
                if second is s.MISSING or (isinstance(second, str) and first is s.MISSING):
                    return None
                if what == "replaces":
                    return (
                        "unusual",
                        "not a pair of strings; it names no migration, so it replaces nothing",
                    )
                if second in ("__first__", "__latest__"):
                    return "rejected", f"not a pair of strings; {fails} ValueError (unknown app)"
                return "rejected", f"not a pair of strings; {fails} NodeNotFoundError"
            if what == "replaces":
                return (
                    "unusual",
                    f"a tuple of {len(item.items)}; it names no migration and replaces nothing",
                )
            if len(item.items) < 2:
                return "rejected", f"a tuple of {len(item.items)}, not a pair; {fails} IndexError"
            second = self.scalar(item.items[1])
            if second is s.MISSING:
                return None
            if second in ("__first__", "__latest__"):
                return "unusual", (
                    f"a tuple of {len(item.items)}, not a pair; Django reads only "
                    "its first two items here"
                )
            return (
                "rejected",
                f"a tuple of {len(item.items)}, not a pair; {fails} NodeNotFoundError",
            )
        if isinstance(item, str | bytes):
            if what == "replaces":
                return "unusual", "a string, not a pair; it names no migration and replaces nothing"
            error = "IndexError" if len(item) < 2 else "NodeNotFoundError"
            return "rejected", f"a string, not an (app_label, name) pair; {fails} {error}"
        if item is None or isinstance(item, bool | int | float | complex):
            if what == "replaces":
                return "unusual", "not a pair; it names no migration and replaces nothing"
            return "rejected", f"not an (app_label, name) pair; {fails} TypeError"
        return None

    def scalar(self, value: s.Value) -> object:
        """`value` when it is (or names) a plain constant, else MISSING."""
        value = self.resolve(value)
        if value is None or isinstance(value, str | bytes | bool | int | float | complex):
            return value
        return s.MISSING

    def operations(
        self, attributes: Mapping[str, s.Value], spans: Mapping[str, s.Span]
    ) -> tuple[Operation, ...]:
        if "operations" not in attributes:
            return ()
        value = attributes["operations"]
        resolved = self.resolve(value)
        if resolved is None or isinstance(resolved, bool | int | float | complex):
            self.notes.append(
                Note(
                    f"`operations` is {resolved!r}, not a list; Django's loader fails with "
                    f"TypeError ('{type(resolved).__name__}' object is not iterable)",
                    spans.get("operations", s.NO_SPAN),
                    "rejected",
                    ("operations",),
                )
            )
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
        if len(value.items) > 4 or any(isinstance(i, s.Seq | s.Dict) for i in value.items):
            return f"a {value.kind} of {len(value.items)}"
        inner = ", ".join(_describe(item) for item in value.items)
        if value.kind == "tuple":
            return f"({inner},)" if len(value.items) == 1 else f"({inner})"
        return f"[{inner}]" if value.kind == "list" else f"{{{inner}}}"
    if isinstance(value, s.Dict):
        return "a dict"
    if isinstance(value, s.Concat):
        return "a concatenation"
    return repr(value)


def _migration_binding(statement: s.Statement) -> Note | None:
    """What a module-level statement other than `class Migration(...)` says about the name
    `Migration`: a note when it may bind it, None when it does not."""
    if isinstance(statement, s.Import) and statement.alias in ("Migration", "*"):
        source = (
            f"import {statement.module}"
            if statement.name is None
            else f"from {statement.module} import {statement.name}"
        )
        verb = "may come" if statement.name == "*" else "comes"
        return Note(
            f"the Migration class {verb} from `{source}`; miglint cannot read it",
            statement.span,
            "imported",
        )
    if isinstance(statement, s.Assign) and "Migration" in statement.targets:
        if isinstance(statement.value, s.Ref | s.Call | s.Unknown | s.Concat):
            return Note(
                f"`Migration` is {_describe(statement.value)}, not a class statement; "
                "miglint cannot read it",
                statement.span,
                "imported",
            )
        return Note(
            f"`Migration` is {_describe(statement.value)}, not a class; Django's loader fails "
            "with TypeError when it calls Migration(name, app_label)",
            statement.span,
            "rejected",
        )
    if isinstance(statement, s.FunctionDef) and statement.name == "Migration":
        if statement.required <= 2 and (len(statement.params) >= 2 or statement.varargs):
            return Note(
                "`Migration` is a function, not a class statement; miglint cannot read what "
                "it returns",
                statement.span,
                "imported",
            )
        return Note(
            "`Migration` is a function that cannot be called as Migration(name, app_label), "
            "as Django's loader does; it fails with TypeError",
            statement.span,
            "rejected",
        )
    if isinstance(statement, s.Other) and "Migration" in statement.names:
        keyword = _KEYWORDS.get(statement.kind)
        where = f"{_article(keyword)} `{keyword}` statement" if keyword else "a statement"
        return Note(
            f"the Migration class is defined inside {where}; miglint cannot read it",
            _keyword_span(statement),
            "imported",
        )
    return None


def _bound_names(statement: s.Statement) -> tuple[str, ...]:
    """The names a statement of a class body or module may bind or change."""
    if isinstance(statement, s.Other):
        return statement.names
    if isinstance(statement, s.Import):
        return (statement.alias,)
    if isinstance(statement, s.FunctionDef | s.ClassDef):
        return (statement.name,)
    if isinstance(statement, s.Assign):
        return statement.targets
    return ()


# Compound statements (their `ast` names) and the keyword each starts with.
_KEYWORDS = {
    "If": "if",
    "For": "for",
    "AsyncFor": "async for",
    "While": "while",
    "Try": "try",
    "TryStar": "try",
    "With": "with",
    "AsyncWith": "async with",
    "Match": "match",
}


def _change_note(
    statement: s.Statement, attributes: tuple[str, ...], where: str, via: str | None = None
) -> Note:
    """The note for a statement that decides `attributes` when Django loads the file."""
    names = _quoted(attributes)
    keyword = _KEYWORDS.get(statement.kind) if isinstance(statement, s.Other) else None
    if via is not None:
        what = f"{names} uses `{via}`, which "
        verb = "chooses" if keyword else "changes"
        doer = f"{_article(keyword)} `{keyword}` statement" if keyword else "a statement"
        message = f"{what}{doer} in {where} {verb} when Django loads the file"
    elif keyword:
        message = (
            f"{_article(keyword)} `{keyword}` statement in {where} chooses {names} "
            "when Django loads the file"
        )
    else:
        message = f"a statement in {where} changes {names} when Django loads the file"
    return Note(message, _keyword_span(statement), "branch" if keyword else "changed", attributes)


def _keyword_span(statement: s.Statement) -> s.Span:
    """The keyword of a compound statement (`if`), else the whole statement."""
    span = getattr(statement, "span", s.NO_SPAN)
    keyword = _KEYWORDS.get(statement.kind) if isinstance(statement, s.Other) else None
    if keyword is None:
        return span
    return s.Span(span.line, span.column, span.line, span.column + len(keyword))


def _article(word: str | None) -> str:
    return "an" if word and word[0] in "aeiouAEIOU" else "a"


def _quoted(names: tuple[str, ...]) -> str:
    quoted = [f"`{name}`" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _header(span: s.Span) -> s.Span:
    """The `class Migration` words of a class statement, not its whole body."""
    return s.Span(span.line, span.column, span.line, span.column + len("class Migration"))
