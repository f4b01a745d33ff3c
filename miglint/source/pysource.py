"""Read Python source files as hostile text and turn them into `syntax.Module`.

`ast` of the running interpreter reads almost every file, twenty times faster than libcst.
When it rejects a file, libcst (which knows syntax newer than this Python, such as 3.14's
`except A, B:`) gets a second look; only when both reject it is the file broken. Nothing
here imports, compiles to bytecode or executes the text.
"""

from __future__ import annotations

import ast
import gc
import io
import re
import tokenize
from dataclasses import dataclass
from typing import Literal

from miglint.core import inputs
from miglint.source import syntax as s
from miglint.source.frontend import (
    ITERATION_WRAPPERS,
    UNKNOWN_SOURCE_CHARS,
    concatenation,
    fold,
    render_chain,
    sequence,
    shorten,
)

MAX_FILE_BYTES = inputs.READ_LIMIT
# libcst's native parser crashes the process (stack overflow) on a few thousand nested
# brackets and takes minutes on long chains (`a.b.b...`, `x[0][0]...`, `a + a + ...`), so
# it only ever sees files within these budgets (hand-written migrations are far inside).
MAX_LIBCST_NESTING = 100
MAX_LIBCST_DEPTH = 200
MAX_LIBCST_CHARS = 256 * 1024

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SourceError(Exception):
    """A file that cannot be read or parsed: what went wrong, and where."""

    message: str
    line: int = 1
    column: int = 1
    # What went wrong: "read", "size", "binary", "encoding", "syntax" (Python cannot parse
    # it either), or "limit" (a limit of miglint's, not of Python's).
    cause: str = "syntax"

    def __str__(self) -> str:
        return self.message


def read_file(path: str) -> bytes:
    """The bytes of the plain file at `path` (see miglint.core.inputs.read_file, which records
    the read for the cache), with SourceError when it cannot be read."""
    try:
        return inputs.read_file(path)
    except inputs.Unreadable as error:
        raise SourceError(str(error), cause="read") from None


def decode(data: bytes) -> str:
    """Decode file bytes as Python does: BOM, then a PEP 263 coding line, else UTF-8."""
    if len(data) > MAX_FILE_BYTES:
        raise SourceError(
            f"file is too large to lint (more than {MAX_FILE_BYTES // 1024 // 1024} MB)",
            cause="size",
        )
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise SourceError("file contains a NUL byte (is it a binary file?)", line, cause="binary")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        # tokenize says "invalid or missing encoding declaration" for any non-UTF-8 byte
        # in the first two lines; a file with no declaration at all is just not UTF-8.
        if error.msg.startswith("invalid or missing") and not _has_coding_line(data):
            encoding = "utf-8"
        else:
            raise SourceError(
                f"bad encoding declaration: {error.msg}", error.lineno or 1, cause="encoding"
            ) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise SourceError(
            f"file is not valid {encoding} (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); declare its encoding with a PEP 263 coding line",
            line,
            cause="encoding",
        ) from None
    except LookupError:
        raise SourceError(f"unknown source encoding {encoding!r}", cause="encoding") from None
    return text.removeprefix("\ufeff")


def _has_coding_line(data: bytes) -> bool:
    return any(b"coding" in line for line in data.split(b"\n", 2)[:2])


def parse_source(text: str) -> s.Module:
    """Parse `text`; raise SourceError with the position of the first problem."""
    # A big file makes millions of acyclic objects at once; cycle collection only slows it.
    # (Not a contextlib manager: it would assign to the frozen SourceError's traceback.)
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse_source(text)
    finally:
        if collecting:
            gc.enable()


def _parse_source(text: str) -> s.Module:
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        first_error = error
    except (RecursionError, MemoryError):
        raise SourceError("file is too deeply nested to parse", cause="limit") from None
    except ValueError as error:
        raise SourceError(f"cannot parse file: {error}") from None
    else:
        try:
            return _AstReader(text).module(tree)
        except (RecursionError, MemoryError):
            raise SourceError("file is too deeply nested to parse", cause="limit") from None
    message = first_error.msg or "invalid syntax"
    line = first_error.lineno or 1
    column = first_error.offset or 1
    if "too many nested" in message or not _within_libcst_budget(text):
        raise SourceError(f"syntax error: {message}", line, column)
    module = _parse_with_libcst(text)
    if module is None:
        raise SourceError(f"syntax error: {message}", line, column)
    return module


def _within_libcst_budget(text: str) -> bool:
    """Whether libcst may be given `text` (see MAX_LIBCST_*)."""
    if len(text) > MAX_LIBCST_CHARS or _bracket_depth(text) > MAX_LIBCST_NESTING:
        return False
    depth = _expression_depth(text)
    return depth is not None and depth <= MAX_LIBCST_DEPTH


_OPEN = frozenset("([{")
_CLOSE = frozenset(")]}")
_SEPARATORS = frozenset({",", ";", "=", ":="})
_OPERATOR_WORDS = frozenset({"not", "and", "or", "if", "else", "lambda", "await", "in", "is"})


def _expression_depth(text: str) -> int | None:
    """An upper bound of the parse tree's depth from tokens alone; None if `text` does not
    tokenize. Each operator between two separators may add a level, so does each bracket
    and each indented block."""
    counts = [0]  # operators in the current comma-separated part, per open bracket
    total = deepest = indent = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind, string = token.type, token.string
            if kind == tokenize.OP:
                if string in _OPEN:
                    counts[-1] += 1
                    total += 1
                    counts.append(0)
                elif string in _CLOSE:
                    if len(counts) > 1:
                        total -= counts.pop()
                elif string in _SEPARATORS:
                    total -= counts[-1]
                    counts[-1] = 0
                else:
                    counts[-1] += 1
                    total += 1
            elif kind == tokenize.STRING or (kind == tokenize.NAME and string in _OPERATOR_WORDS):
                # Adjacent strings nest too: libcst reads `"a" "b" "c"` as a chain of pairs.
                counts[-1] += 1
                total += 1
            elif kind == tokenize.NEWLINE:
                counts, total = [0], 0
            elif kind == tokenize.INDENT:
                indent += 1
            elif kind == tokenize.DEDENT:
                indent -= 1
            deepest = max(deepest, total + len(counts) + indent)
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return deepest


def _bracket_depth(text: str) -> int:
    """The deepest bracket nesting, counted roughly (brackets in strings count too)."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth = max(depth - 1, 0)
    return deepest


def _utf8_column(line_text: str, byte_offset: int) -> int:
    return len(line_text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


class _AstReader:
    """Converts an `ast` tree into `syntax` types."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.ascii = text.isascii()
        self._lines: list[str] | None = None

    def _line(self, number: int) -> str:
        if self._lines is None:
            self._lines = _LINE_BREAK.split(self.text)
        return self._lines[number - 1] if 0 < number <= len(self._lines) else ""

    def span(self, node: ast.AST) -> s.Span:
        line = getattr(node, "lineno", 1)
        column = getattr(node, "col_offset", 0)
        end_line = getattr(node, "end_lineno", None) or line
        end_column = getattr(node, "end_col_offset", None)
        if end_column is None:
            end_column = column
        if not self.ascii:
            column = _utf8_column(self._line(line), column)
            end_column = _utf8_column(self._line(end_line), end_column)
        return s.Span(line, column + 1, end_line, end_column + 1)

    def source(self, node: ast.AST) -> str:
        return shorten(ast.get_source_segment(self.text, node) or type(node).__name__)

    def short_source(self, node: ast.AST) -> str:
        """The first line of `node`'s source, cut short (cheaper than `source` in a loop)."""
        line = getattr(node, "lineno", 1)
        start = getattr(node, "col_offset", 0)
        end = getattr(node, "end_col_offset", None)
        if getattr(node, "end_lineno", line) != line:
            end = None
        text = self._line(line)
        if self.ascii:
            text = text[start:end]
        else:
            # ast offsets count UTF-8 bytes.
            text = text.encode("utf-8")[start:end].decode("utf-8", errors="ignore")
        return text[:UNKNOWN_SOURCE_CHARS]

    def module(self, tree: ast.Module) -> s.Module:
        return s.Module(self.statements(tree.body), parser="ast")

    def statements(self, nodes: list[ast.stmt]) -> tuple[s.Statement, ...]:
        result: list[s.Statement] = []
        for node in nodes:
            result.extend(self.statement(node))
        return tuple(result)

    def statement(self, node: ast.stmt) -> list[s.Statement]:
        span = self.span(node)
        if isinstance(node, ast.Import):
            return [
                s.Import(alias.name, None, alias.asname or alias.name.partition(".")[0], span)
                for alias in node.names
            ]
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            return [
                s.Import(module, alias.name, alias.asname or alias.name, span)
                for alias in node.names
            ]
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if len(targets) == len(node.targets):
                return [s.Assign(tuple(targets), self.value(node.value), span)]
        elif isinstance(node, ast.AnnAssign):
            if isinstance(node.target, ast.Name) and node.value is not None:
                value = self.value(node.value)
                return [s.Assign((node.target.id,), value, span, annotated=True)]
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name) and isinstance(node.op, ast.Add):
                return [s.Assign((node.target.id,), self.value(node.value), span, augmented=True)]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return [self.function(node, span)]
        elif isinstance(node, ast.ClassDef):
            return [
                s.ClassDef(
                    node.name,
                    tuple(self.value(base) for base in node.bases),
                    self.statements(node.body),
                    span,
                    tuple(
                        s.Keyword(k.arg, self.value(k.value), self.span(k))
                        for k in node.keywords
                        if k.arg is not None
                    ),
                    tuple(self.value(d) for d in node.decorator_list),
                )
            ]
        return [s.Other(type(node).__name__, span, changed_names(node))]

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, span: s.Span) -> s.FunctionDef:
        arguments = node.args
        params = tuple(a.arg for a in (*arguments.posonlyargs, *arguments.args))
        return s.FunctionDef(
            node.name,
            span,
            isinstance(node, ast.AsyncFunctionDef),
            params,
            len(params) - len(arguments.defaults),
            arguments.vararg is not None,
            _AstBodyReader(self).read(node.body),
        )

    def dotted(self, node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(node.id)
        return ".".join(reversed(parts))

    def value(self, node: ast.expr) -> s.Value:
        if isinstance(node, ast.Constant):
            if node.value is Ellipsis:
                return s.Unknown("...", "ellipsis", self.span(node))
            constant: s.Value = node.value
            return constant
        if isinstance(node, ast.Name | ast.Attribute):
            name = self.dotted(node)
            if name is not None:
                return s.Ref(name, self.span(node))
        elif isinstance(node, ast.Call):
            func = self.dotted(node.func)
            if func is not None:
                return self.call(func, node)
        elif isinstance(node, ast.List | ast.Tuple | ast.Set):
            return self.sequence(node)
        elif isinstance(node, ast.Dict):
            if all(key is not None for key in node.keys):
                return s.Dict(
                    tuple(
                        (self.value(k), self.value(v))
                        for k, v in zip(node.keys, node.values, strict=True)
                        if k is not None
                    ),
                    self.span(node),
                )
        elif isinstance(node, ast.BinOp):
            return self.binary(node)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.value(node.operand)
            if isinstance(operand, int | float | complex) and not isinstance(operand, bool):
                return -operand if isinstance(node.op, ast.USub) else operand
        elif isinstance(node, ast.Lambda):
            return s.Unknown(self.source(node), "lambda", self.span(node))
        return s.Unknown(self.source(node), type(node).__name__.lower(), self.span(node))

    def call(self, func: str, node: ast.Call) -> s.Call:
        args: list[s.Value] = []
        spans: list[s.Span] = []
        has_star = False
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                has_star = True
                break
            args.append(self.value(arg))
            spans.append(self.span(arg))
        keywords: list[s.Keyword] = []
        for keyword in node.keywords:
            if keyword.arg is None:
                has_star = True
                continue
            keywords.append(s.Keyword(keyword.arg, self.value(keyword.value), self.span(keyword)))
        return s.Call(
            func, tuple(args), tuple(keywords), self.span(node), tuple(spans), has_star=has_star
        )

    def sequence(self, node: ast.List | ast.Tuple | ast.Set) -> s.Value:
        kind: Literal["list", "tuple", "set"] = (
            "list"
            if isinstance(node, ast.List)
            else "tuple"
            if isinstance(node, ast.Tuple)
            else "set"
        )
        elements = [
            (self.value(element.value), None)
            if isinstance(element, ast.Starred)
            else (self.value(element), self.span(element))
            for element in node.elts
        ]
        return sequence(kind, elements, self.span(node))

    def binary(self, node: ast.BinOp) -> s.Value:
        left = self.value(node.left)
        right = self.value(node.right)
        folded = fold(left, node.op, right)
        if folded is not None:
            return folded
        if isinstance(node.op, ast.Add):
            return concatenation(left, right, self.span(node))
        return s.Unknown(self.source(node), "binop", self.span(node))


_STORE = (ast.Store, ast.Del)


def changed_names(node: ast.stmt) -> tuple[str, ...]:
    """The names `node` may bind or change when it runs (see `syntax.Other.names`)."""
    names: set[str] = set()
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(current.name)
            continue
        if isinstance(current, ast.Lambda):
            continue
        if isinstance(current, ast.Name) and isinstance(current.ctx, _STORE):
            names.add(current.id)
        elif isinstance(current, ast.Attribute | ast.Subscript) and isinstance(current.ctx, _STORE):
            names.update(_root_name(current.value))
        elif isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
            names.update(_root_name(current.func.value))
        elif isinstance(current, ast.Import | ast.ImportFrom):
            for alias in current.names:
                if alias.name != "*":
                    names.add(alias.asname or alias.name.partition(".")[0])
        elif isinstance(current, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
            if current.name:
                names.add(current.name)
        elif isinstance(current, ast.MatchMapping) and current.rest:
            names.add(current.rest)
        stack.extend(ast.iter_child_nodes(current))
    return tuple(sorted(names))


def _root_name(node: ast.expr) -> tuple[str, ...]:
    """`a` for `a`, `a.b`, `a[0].b`; nothing for a call's result or a literal."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return (node.id,) if isinstance(node, ast.Name) else ()


def chain(node: ast.expr) -> str:
    """`node` as a chain: `Order.objects.filter().update`, `qs[:]`, `<literal>` (see BodyCall)."""
    return render_chain(node, _chain_step)


def _chain_step(node: ast.expr) -> tuple[str, ast.expr | None]:
    if isinstance(node, ast.Attribute):
        return "." + node.attr, node.value
    if isinstance(node, ast.Call):
        return "()", node.func
    if isinstance(node, ast.Subscript):
        return ("[:]" if isinstance(node.slice, ast.Slice) else "[]"), node.value
    if isinstance(node, ast.Name):
        return node.id, None
    if isinstance(node, ast.Constant | ast.List | ast.Tuple | ast.Set | ast.Dict):
        return "<literal>", None
    return "?", None


def _iterated(node: ast.expr) -> ast.expr:
    """What a loop really iterates: `qs` for `enumerate(qs)` or `list(qs)`."""
    while (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ITERATION_WRAPPERS
        and node.args
    ):
        node = node.args[0]
    return node


def _target_names(node: ast.expr) -> tuple[str, ...]:
    return tuple(n.id for n in ast.walk(node) if isinstance(n, ast.Name))


_LOOP_NODES = frozenset(
    {ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp}
)
# Node fields that never hold a node worth visiting (contexts, operators, strings).
_LEAF_FIELDS = frozenset({"ctx", "op", "kind", "type_comment", "id", "attr", "arg", "name"})


class _AstBodyReader:
    """Collects a function body's imports, calls, loops and local names, without recursion
    (a 10,000-term expression must not exhaust the stack)."""

    def __init__(self, reader: _AstReader) -> None:
        self.reader = reader
        self.imports: list[s.Import] = []
        self.calls: list[s.BodyCall] = []
        self.loops: list[s.Loop] = []
        self.bindings: list[s.Binding] = []

    def read(self, body: list[ast.stmt]) -> s.FunctionBody:
        # Child fields per node type, without contexts and operators (most of a tree's nodes).
        fields_of: dict[type[ast.AST], tuple[str, ...]] = {}
        stack: list[tuple[ast.AST, int]] = [(node, -1) for node in body]
        while stack:
            node, loop = stack.pop()
            kind = type(node)
            if kind is ast.Name or kind is ast.Constant:
                continue
            if kind is ast.Call:
                self.call(node, loop)  # type: ignore[arg-type]
            elif kind in _LOOP_NODES:
                stack.extend(self.loop_children(node, loop))
                continue
            elif kind is ast.Import or kind is ast.ImportFrom:
                found = self.reader.statement(node)  # type: ignore[arg-type]
                self.imports.extend(i for i in found if isinstance(i, s.Import))
                continue
            elif kind is ast.Assign:
                self.assign(node, loop)  # type: ignore[arg-type]
            fields = fields_of.get(kind)
            if fields is None:
                fields = fields_of[kind] = tuple(f for f in kind._fields if f not in _LEAF_FIELDS)
            for name in fields:
                value = getattr(node, name, None)
                if type(value) is list:
                    stack.extend((item, loop) for item in value if isinstance(item, ast.AST))
                elif isinstance(value, ast.AST):
                    stack.append((value, loop))
        self.calls.sort(key=lambda call: (call.span.line, call.span.column))
        return s.FunctionBody(
            tuple(self.imports), tuple(self.calls), tuple(self.loops), tuple(self.bindings)
        )

    def loop_children(self, node: ast.AST, loop: int) -> list[tuple[ast.AST, int]]:
        """Record the loop `node` and return its children, each with the loop it runs in."""
        children: list[tuple[ast.AST, int]]
        if isinstance(node, ast.For | ast.AsyncFor):
            inner = self.loop("for", node.iter, node.target, node, loop)
            children = [(node.iter, loop), *((n, inner) for n in node.body)]
            children += [(n, loop) for n in node.orelse]
        elif isinstance(node, ast.While):
            span = self.reader.span(node)
            inner = self.add_loop(s.Loop("while", chain(node.test), (), span, loop))
            children = [(node.test, loop), *((n, inner) for n in node.body)]
            children += [(n, loop) for n in node.orelse]
        else:
            assert isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp)
            first = node.generators[0]
            inner = self.loop("comprehension", first.iter, first.target, node, loop)
            children = [(first.iter, loop), *((n, inner) for n in first.ifs)]
            children += [(n, inner) for n in node.generators[1:]]
            elements = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
            children += [(n, inner) for n in elements]
        return children

    def assign(self, node: ast.Assign, loop: int) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            span = self.reader.span(node)
            self.bindings.append(
                s.Binding(node.targets[0].id, chain(value), self.light(value), span)
            )

    def add_loop(self, loop: s.Loop) -> int:
        self.loops.append(loop)
        return len(self.loops) - 1

    def loop(
        self, kind: str, iterable: ast.expr, target: ast.expr, node: ast.AST, parent: int
    ) -> int:
        return self.add_loop(
            s.Loop(
                kind,
                chain(_iterated(iterable)),
                _target_names(target),
                self.reader.span(node),
                parent,
            )
        )

    def call(self, node: ast.Call, loop: int) -> None:
        args = tuple(self.light(arg) for arg in node.args[:4] if not isinstance(arg, ast.Starred))
        self.calls.append(s.BodyCall(chain(node.func), args, self.reader.span(node), loop))

    def light(self, node: ast.expr) -> s.Value:
        """A cheap value: constants and names as such, anything else as its (short) source."""
        if isinstance(node, ast.Constant) and node.value is not Ellipsis:
            constant: s.Value = node.value
            return constant
        if isinstance(node, ast.Name | ast.Attribute):
            name = self.reader.dotted(node)
            if name is not None:
                return s.Ref(name, self.reader.span(node))
        return s.Unknown(
            self.reader.short_source(node), type(node).__name__.lower(), self.reader.span(node)
        )


def _parse_with_libcst(text: str) -> s.Module | None:
    """Read `text` with libcst, for syntax newer than the running Python; None if it fails."""
    import libcst

    from miglint.source import cstsource

    try:
        return cstsource.module(libcst.parse_module(text))
    except Exception:
        # Hostile input for a fallback parser: whatever goes wrong, the file is unreadable.
        return None


def within_libcst_budget(text: str) -> bool:
    """Whether libcst may be given `text` (see MAX_LIBCST_*): for fixes, which rewrite files
    with libcst."""
    return _within_libcst_budget(text)
