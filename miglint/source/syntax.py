"""A small, parser-neutral picture of Python source: the statements and values miglint reads.

Both front-ends in `pysource` (the fast `ast` one and the `libcst` fallback) produce these
types, so everything after parsing is written once. Values that are not plain literals are
kept as symbolic `Ref`s and `Call`s, or as `Unknown` with their source text: never guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Union


@dataclass(frozen=True)
class Span:
    """A source range: 1-based lines and columns, `end_column` exclusive (as in SARIF)."""

    line: int
    column: int
    end_line: int
    end_column: int


NO_SPAN = Span(1, 1, 1, 1)


@dataclass(frozen=True)
class Ref:
    """A name or dotted attribute chain, e.g. `settings.AUTH_USER_MODEL` or `models.CASCADE`."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def last(self) -> str:
        return self.name.rpartition(".")[2]


@dataclass(frozen=True)
class Keyword:
    name: str
    value: Value
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Call:
    """A call whose callee is a name or dotted name: `migrations.AddField(...)`."""

    func: str
    args: tuple[Value, ...] = ()
    kwargs: tuple[Keyword, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False)
    arg_spans: tuple[Span, ...] = field(default=(), compare=False)
    # `*args` or `**kwargs` in the call: some arguments cannot be known.
    has_star: bool = False

    @property
    def name(self) -> str:
        """The callee's last component: `AddField` for `migrations.AddField`."""
        return self.func.rpartition(".")[2]

    def kwarg(self, name: str) -> Value | Missing:
        for keyword in self.kwargs:
            if keyword.name == name:
                return keyword.value
        return MISSING

    def argument(self, position: int, name: str) -> Value | Missing:
        """The argument given at `position` or as keyword `name`, else MISSING."""
        if position < len(self.args):
            return self.args[position]
        return self.kwarg(name)

    def argument_span(self, position: int, name: str) -> Span:
        if position < len(self.arg_spans):
            return self.arg_spans[position]
        for keyword in self.kwargs:
            if keyword.name == name:
                return keyword.span
        return self.span


@dataclass(frozen=True)
class Seq:
    kind: Literal["list", "tuple", "set"]
    items: tuple[Value, ...]
    span: Span = field(default=NO_SPAN, compare=False)
    item_spans: tuple[Span, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Dict:
    items: tuple[tuple[Value, Value], ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Concat:
    """`a + b` where the parts are not all constants (e.g. a list plus another list)."""

    parts: tuple[Value, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Unknown:
    """An expression miglint does not interpret (lambda, comprehension, f-string, ...)."""

    source: str
    kind: str = "expression"
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Missing:
    """Marks an argument that was not given at all (as opposed to an explicit `None`)."""

    def __bool__(self) -> bool:
        return False


MISSING = Missing()

Value = Union[None, bool, int, float, complex, str, bytes, Ref, Call, Seq, Dict, Concat, Unknown]


@dataclass(frozen=True)
class Import:
    """`import a.b as c` (module='a.b', alias='c') or `from a import b as c` (module='a', name='b')."""

    module: str
    name: str | None
    alias: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Assign:
    targets: tuple[str, ...]
    value: Value
    span: Span = field(default=NO_SPAN, compare=False)
    # `x += value` rather than `x = value`.
    augmented: bool = False
    annotated: bool = False


@dataclass(frozen=True)
class Loop:
    """A `for`, `while` or comprehension inside a function body.

    `iterable` is the looped-over expression as a chain (see `BodyCall.callee`); `parent` is
    the index of the enclosing loop in `FunctionBody.loops`, -1 at the top.
    """

    kind: str
    iterable: str
    targets: tuple[str, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False)
    parent: int = -1


@dataclass(frozen=True)
class BodyCall:
    """A call inside a function body.

    `callee` renders the called expression as a chain: names and attributes as written,
    `()` for a call, `[]` for an index, `[:]` for a slice, `<literal>` for a literal and `?`
    for anything else, e.g. `Order.objects.filter().update` or `schema_editor.execute`.
    `loop` is the index of the innermost enclosing loop in `FunctionBody.loops`, or -1.
    """

    callee: str
    args: tuple[Value, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False)
    loop: int = -1


@dataclass(frozen=True)
class Binding:
    """`name = value` inside a function body; `chain` renders the value as in BodyCall."""

    name: str
    chain: str
    value: Value = None
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class FunctionBody:
    """What miglint reads inside a function: its imports, calls, loops and local names."""

    imports: tuple[Import, ...] = ()
    calls: tuple[BodyCall, ...] = ()
    loops: tuple[Loop, ...] = ()
    bindings: tuple[Binding, ...] = ()


@dataclass(frozen=True)
class FunctionDef:
    name: str
    span: Span = field(default=NO_SPAN, compare=False)
    is_async: bool = False
    # Positional parameter names; how many have no default; whether it takes *args.
    params: tuple[str, ...] = ()
    required: int = 0
    varargs: bool = False
    body: FunctionBody = FunctionBody()


@dataclass(frozen=True)
class ClassDef:
    name: str
    bases: tuple[Value, ...]
    body: tuple[Statement, ...]
    span: Span = field(default=NO_SPAN, compare=False)
    keywords: tuple[Keyword, ...] = ()
    decorators: tuple[Value, ...] = ()


@dataclass(frozen=True)
class Other:
    """A statement miglint does not model (if/for/try/expression...).

    `kind` is the statement's `ast` class name (`If`, `Expr`, `Delete`...); `names` are the
    names it may bind or change when it runs, sorted: assignment, `del`, `for`, `with`,
    `except` and import targets, `def`/`class` names, and the root name of every target
    attribute or subscript (`operations[3] = ...`) and method call (`dependencies.append`).
    Bodies of functions, classes and lambdas inside it are not entered.
    """

    kind: str
    span: Span = field(default=NO_SPAN, compare=False)
    names: tuple[str, ...] = ()


Statement = Union[Import, Assign, FunctionDef, ClassDef, Other]


@dataclass(frozen=True)
class Module:
    body: tuple[Statement, ...]
    # Which front-end read it: "ast" normally, "libcst" for syntax newer than this Python.
    parser: str = "ast"


def walk_values(value: Value | Missing) -> Iterator[Value]:
    """Every value nested in `value`, itself included, depth first."""
    stack: list[Value | Missing] = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, Missing):
            continue
        yield current
        if isinstance(current, Call):
            stack.extend(reversed([*current.args, *(k.value for k in current.kwargs)]))
        elif isinstance(current, Seq | Concat):
            stack.extend(reversed(current.items if isinstance(current, Seq) else current.parts))
        elif isinstance(current, Dict):
            for key, item in reversed(current.items):
                stack.extend([item, key])


def literal(value: Value | Missing) -> object:
    """`value` as a plain Python object when it is made only of literals, else MISSING."""
    if isinstance(value, Missing | Ref | Call | Concat | Unknown):
        return MISSING
    if isinstance(value, Seq):
        items = [literal(item) for item in value.items]
        if any(item is MISSING for item in items):
            return MISSING
        if value.kind == "list":
            return items
        if value.kind == "tuple":
            return tuple(items)
        try:
            return frozenset(items)
        except TypeError:
            return MISSING
    if isinstance(value, Dict):
        pairs = [(literal(k), literal(v)) for k, v in value.items]
        if any(k is MISSING or v is MISSING for k, v in pairs):
            return MISSING
        try:
            return dict(pairs)
        except TypeError:
            return MISSING
    return value


def dict_item(value: Value | Missing, key: str) -> Value | Missing:
    """The entry `key` of a literal dict (e.g. a migration's `options={...}`), else MISSING."""
    if isinstance(value, Dict):
        for name, item in value.items:
            if name == key:
                return item
    return MISSING


def span_of(value: Value | Missing) -> Span | None:
    """The source range of a non-literal value; literals carry none."""
    if isinstance(value, Ref | Call | Seq | Dict | Concat | Unknown):
        return value.span
    return None
