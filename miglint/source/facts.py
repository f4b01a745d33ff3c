"""The frozen facts of a migration file, as `parse` reads them and every later stage uses
them: `MigrationFacts` (the Migration class, its graph edges, its operations, its
module-level functions, imports and constants, its suppression comments, and notes on what
could not be read), `Operation`, `Dependency`, `Suppression` and `Note`. Only what the text
states is recorded; nothing here reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from miglint.source import syntax as s
from miglint.source.pysource import SourceError


@dataclass(frozen=True)
class Note:
    """Something in a readable file that miglint does not read as a plain literal.

    `kind` says what it is. Django loads the file but miglint cannot see the value:
    "branch" (an `if`/`for`/`try`... in the class sets an attribute), "changed" (a statement
    changes one, e.g. `dependencies.append(...)`), "computed" (an entry computed by a call
    or a name miglint cannot follow), "inherited" (from a base class), "imported" (the
    `Migration` class itself is not defined in the file), "not-literal" (`atomic`,
    `initial`). Django's loader fails on it: "rejected". Django accepts it but reads it as
    something other than the `(app_label, migration_name)` pair it looks like: "unusual".
    """

    message: str
    span: s.Span
    kind: str = "computed"
    # The Migration attributes it leaves uncertain; () for the class as a whole.
    attributes: tuple[str, ...] = ()
    # For "computed": the expression, as written.
    source: str = ""

    @property
    def dynamic(self) -> bool:
        """Valid for Django, but chosen or computed when Django imports the file."""
        return self.kind not in ("rejected", "unusual")


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

    def uncertain(self, *attributes: str) -> bool:
        """Whether what Django makes of any of `attributes` may differ from what miglint read
        (a dynamic part of the file, or an entry it does not take as a plain pair)."""
        return any(
            not note.attributes or set(note.attributes) & set(attributes) for note in self.notes
        )
