"""Read Python source files as hostile text and turn them into `syntax.Module`.

`ast` of the running interpreter reads almost every file, twenty times faster than libcst.
When it rejects a file, libcst (which knows syntax newer than this Python, such as 3.14's
`except A, B:`) gets a second look; only when both reject it is the file broken. Nothing
here imports, compiles to bytecode or executes the text.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from typing import Literal

from miglint import syntax as s

MAX_FILE_BYTES = 5 * 1024 * 1024
# libcst's native parser crashes the process on a few thousand nested brackets.
MAX_LIBCST_NESTING = 100
UNKNOWN_SOURCE_CHARS = 120

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SourceError(Exception):
    """A file that cannot be read or parsed: what went wrong, and where."""

    message: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return self.message


def decode(data: bytes) -> str:
    """Decode file bytes as Python does: BOM, then a PEP 263 coding line, else UTF-8."""
    if len(data) > MAX_FILE_BYTES:
        raise SourceError(
            f"file is too large to lint ({len(data) / 1024 / 1024:.1f} MB; "
            f"the limit is {MAX_FILE_BYTES // 1024 // 1024} MB)"
        )
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise SourceError("file contains a NUL byte (is it a binary file?)", line)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise SourceError(f"bad encoding declaration: {error.msg}", error.lineno or 1) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise SourceError(
            f"file is not valid {encoding} (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); declare its encoding with a PEP 263 coding line",
            line,
        ) from None
    except LookupError:
        raise SourceError(f"unknown source encoding {encoding!r}") from None
    return text.removeprefix("\ufeff")


def parse_source(text: str) -> s.Module:
    """Parse `text`; raise SourceError with the position of the first problem."""
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        first_error = error
    except (RecursionError, MemoryError):
        raise SourceError("file is too deeply nested to parse") from None
    except ValueError as error:
        raise SourceError(f"cannot parse file: {error}") from None
    else:
        try:
            return _AstReader(text).module(tree)
        except RecursionError:
            raise SourceError("file is too deeply nested to parse") from None
    message = first_error.msg or "invalid syntax"
    line = first_error.lineno or 1
    column = first_error.offset or 1
    if "too many nested" in message or _bracket_depth(text) > MAX_LIBCST_NESTING:
        raise SourceError(f"syntax error: {message}", line, column)
    module = _parse_with_libcst(text)
    if module is None:
        raise SourceError(f"syntax error: {message}", line, column)
    return module


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
        segment = ast.get_source_segment(self.text, node) or type(node).__name__
        if len(segment) > UNKNOWN_SOURCE_CHARS:
            segment = segment[: UNKNOWN_SOURCE_CHARS - 3] + "..."
        return segment

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
            return [s.FunctionDef(node.name, span, isinstance(node, ast.AsyncFunctionDef))]
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
        return [s.Other(type(node).__name__, span)]

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
        parts: list[s.Value] = []
        items: list[s.Value] = []
        spans: list[s.Span] = []
        for element in node.elts:
            if isinstance(element, ast.Starred):
                if items:
                    parts.append(s.Seq(kind, tuple(items), self.span(node), tuple(spans)))
                    items, spans = [], []
                parts.append(self.value(element.value))
            else:
                items.append(self.value(element))
                spans.append(self.span(element))
        if not parts:
            return s.Seq(kind, tuple(items), self.span(node), tuple(spans))
        if items:
            parts.append(s.Seq(kind, tuple(items), self.span(node), tuple(spans)))
        return s.Concat(tuple(parts), self.span(node))

    def binary(self, node: ast.BinOp) -> s.Value:
        left = self.value(node.left)
        right = self.value(node.right)
        folded = _fold(left, node.op, right)
        if folded is not None:
            return folded
        if isinstance(node.op, ast.Add):
            parts: list[s.Value] = []
            for side in (left, right):
                parts.extend(side.parts if isinstance(side, s.Concat) else (side,))
            return s.Concat(tuple(parts), self.span(node))
        return s.Unknown(self.source(node), "binop", self.span(node))


_NUMBER = (int, float)


def _fold(left: s.Value, op: ast.operator, right: s.Value) -> s.Value | None:
    """Constant-fold `left op right` for plain numbers and strings, else None."""
    if isinstance(left, bool) or isinstance(right, bool):
        return None
    if isinstance(op, ast.Add):
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        if isinstance(left, _NUMBER) and isinstance(right, _NUMBER):
            return left + right
        return None
    if not (isinstance(left, _NUMBER) and isinstance(right, _NUMBER)):
        return None
    try:
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.FloorDiv):
            return left // right
        if isinstance(op, ast.Div):
            return left / right
        if isinstance(op, ast.Pow) and abs(right) < 64:
            result: s.Value = left**right
            return result
    except (ZeroDivisionError, OverflowError):
        return None
    return None


def _parse_with_libcst(text: str) -> s.Module | None:
    """Read `text` with libcst, for syntax newer than the running Python; None if it fails."""
    import libcst

    from miglint import cstsource

    try:
        tree = libcst.parse_module(text)
    except (libcst.ParserSyntaxError, RecursionError, MemoryError, ValueError):
        return None
    return cstsource.module(tree)
