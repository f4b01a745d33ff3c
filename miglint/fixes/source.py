"""A migration file as a fix sees it: its text, and how to write it back byte for byte.

Rules get a `FixSource` in their `edit` hook. Statement-level edits come from the file's
`ast`; libcst parses only the call a fix rewrites, and is imported only then, so runs that
show no fixes never import it.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from miglint.core.finding import Edit, Finding, TextEdit
from miglint.fixes import text as textmod
from miglint.source.facts import Operation
from miglint.source.pysource import SourceError, decode, parse_source, read_file
from miglint.source.syntax import Span
from miglint.state.history import database_operations

if TYPE_CHECKING:
    from miglint.fixes.cst import CallRewrite
    from miglint.graph.nodes import Migration
    from miglint.project.load import Project


@dataclass(frozen=True)
class SourceFile:
    """A file's text with the encoding to write it back in; `data` is None for a new file."""

    path: str
    text: str
    encoding: str = "utf-8"
    data: bytes | None = None

    def encode(self, text: str) -> bytes | None:
        """`text` in the file's encoding (with its BOM, if it had one); None if it cannot be."""
        try:
            return text.encode(self.encoding)
        except (UnicodeEncodeError, LookupError):
            return None


def read_source(path: str) -> SourceFile | None:
    """The file at `path` as text, or None when it cannot be read or decoded."""
    try:
        data = read_file(path)
        text = decode(data)
    except SourceError:
        return None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    return SourceFile(path, text, encoding, data)


def parses(text: str) -> bool:
    """Whether miglint (and so Python) can parse `text`."""
    try:
        parse_source(text)
    except SourceError:
        return False
    return True


class FixSource:
    """What a rule's `edit` hook works on: the project, the migration of the finding (None
    for a file that is not a migration), and that file's current text, with the helpers
    that turn positions into text edits."""

    def __init__(self, project: Project, migration: Migration | None, source: SourceFile) -> None:
        self.project = project
        self.migration = migration
        self.source = source

    @property
    def path(self) -> str:
        return self.source.path

    @property
    def text(self) -> str:
        return self.source.text

    @cached_property
    def index(self) -> textmod.LineIndex:
        return textmod.LineIndex(self.text)

    @cached_property
    def newline(self) -> str:
        return textmod.newline_of(self.text)

    @cached_property
    def module(self) -> ast.Module | None:
        """The file's `ast` (None for syntax this Python does not read: no statement-level
        fix is offered then)."""
        try:
            return ast.parse(self.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None

    def operation_at(self, finding: Finding, *names: str) -> Operation | None:
        """The operation (run on the database, one of `names`) that `finding` points at."""
        if self.migration is None:
            return None
        span = Span(finding.line, finding.column, finding.end_line, finding.end_column)
        for _, operation in database_operations(self.migration.facts.operations):
            if operation.span == span and operation.is_(*names):
                return operation
        return None

    def function(self, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The module-level function `name` (its last definition, as Python binds it)."""
        found = None
        for statement in self.module.body if self.module is not None else []:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                found = statement if statement.name == name else found
        return found

    @cached_property
    def _calls(self) -> list[ast.Call]:
        module = self.module
        return [node for node in ast.walk(module) if isinstance(node, ast.Call)] if module else []

    def call_node(self, span: Span) -> ast.Call | None:
        """The `ast` call at `span` (an operation's or argument's range in the facts)."""
        for node in self._calls:
            if node.lineno == span.line and self.span(node) == span:
                return node
        return None

    def line(self, number: int) -> str:
        """Line `number` (1-based) without its line ending; "" past the end."""
        starts = self.index.starts
        if not 1 <= number <= len(starts):
            return ""
        end = starts[number] if number < len(starts) else len(self.text)
        return self.text[starts[number - 1] : end].rstrip("\r\n")

    def span(self, node: ast.AST) -> Span:
        """The range of an `ast` node, in characters."""
        line, end_line = getattr(node, "lineno", 1), getattr(node, "end_lineno", None)
        column, end_column = getattr(node, "col_offset", 0), getattr(node, "end_col_offset", 0)
        if end_line is None:
            end_line, end_column = line, column
        return Span(
            line,
            _characters(self.line(line), column) + 1,
            end_line,
            _characters(self.line(end_line), end_column) + 1,
        )

    def slice(self, span: Span) -> str:
        start = self.index.offset(span.line, span.column)
        return self.text[start : self.index.offset(span.end_line, span.end_column)]

    def starts_line(self, node: ast.stmt) -> bool:
        span = self.span(node)
        return not self.line(span.line)[: span.column - 1].strip()

    def indent(self, node: ast.stmt) -> str:
        span = self.span(node)
        return self.line(span.line)[: span.column - 1]

    def replace(self, span: Span, content: str) -> TextEdit:
        return TextEdit(self.path, span.line, span.column, span.end_line, span.end_column, content)

    def _at(self, offset: int, end: int, content: str) -> TextEdit:
        line, column = self.index.position(offset)
        end_line, end_column = self.index.position(end)
        return TextEdit(self.path, line, column, end_line, end_column, content)

    def insert(self, line: int, content: str) -> TextEdit:
        """Insert `content` (whole lines) at the start of line `line`."""
        offset = self.index.offset(line, 1)
        return self._at(offset, offset, content)

    def insert_after_line(self, line: int, text: str) -> TextEdit:
        """Insert the line `text` after line `line` (also at the end of the file)."""
        if line < len(self.index.starts):
            return self.insert(line + 1, text + self.newline)
        end = len(self.text)
        ending = "" if self.text.endswith(("\n", "\r")) else self.newline
        return self._at(end, end, ending + text + self.newline)

    def delete_lines(self, start: int, end: int) -> TextEdit:
        """Delete lines `start` up to (not including) `end`."""
        return self._at(self.index.offset(start, 1), self.index.offset(end, 1), "")

    def call_edit(self, span: Span, rewrite: CallRewrite) -> TextEdit | None:
        """The edit that rewrites the call at `span` with libcst (see miglint.fixes.cst)."""
        from miglint.fixes.cst import rewrite_call

        rewritten = rewrite_call(self.slice(span), rewrite)
        return None if rewritten is None else self.replace(span, rewritten)

    def edit(self, edits: Sequence[TextEdit], applicability: str, message: str) -> Edit | None:
        """The fix made of `edits`, or None when they change nothing or the result would
        not parse (a fix never leaves a broken file) or cannot be written back."""
        if not edits:
            return None
        try:
            new_text = textmod.apply(self.text, edits)
        except ValueError:
            return None
        if new_text == self.text or not parses(new_text) or self.source.encode(new_text) is None:
            return None
        ordered = sorted(edits, key=lambda e: (e.line, e.column, e.end_line, e.end_column))
        return Edit(applicability, message, tuple(ordered))

    def new_file(self, path: str, content: str, applicability: str, message: str) -> Edit | None:
        """The edit that creates the file `path` with `content` (in this file's line ending)."""
        content = textmod.with_newline(content, self.newline)
        if not parses(content):
            return None
        return Edit(applicability, message, (TextEdit(path, 1, 1, 1, 1, content),))


def _characters(line: str, byte_offset: int) -> int:
    """The character column of a UTF-8 byte offset in `line` (as `ast` gives columns)."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))
