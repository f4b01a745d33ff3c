"""A migration file as a fix sees it: its text, and how to write it back byte for byte.

Rules get a `FixSource` in their `edit` hook. It parses the file with libcst only when a
hook asks for the tree, so that runs which show no fixes never import libcst.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from miglint.finding import Edit, Finding, TextEdit
from miglint.fixes import text as textmod
from miglint.history import database_operations
from miglint.parse import Operation
from miglint.pysource import SourceError, decode, parse_source, read_file
from miglint.syntax import Span

if TYPE_CHECKING:
    from miglint.fixes.cst import Tree
    from miglint.nodes import Migration
    from miglint.project import Project


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
    for a file that is not a migration), and that file's current text."""

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

    def operation_at(self, finding: Finding, *names: str) -> Operation | None:
        """The operation (run on the database, one of `names`) that `finding` points at."""
        if self.migration is None:
            return None
        span = Span(finding.line, finding.column, finding.end_line, finding.end_column)
        for _, operation in database_operations(self.migration.facts.operations):
            if operation.span == span and operation.is_(*names):
                return operation
        return None

    @cached_property
    def tree(self) -> Tree | None:
        """The file parsed by libcst with node positions; None when it cannot be (too big,
        too deep, or syntax libcst does not know)."""
        from miglint.fixes.cst import Tree

        return Tree.parse(self.text)

    def edit(self, new_text: str, applicability: str, message: str) -> Edit | None:
        """The edit that turns the file into `new_text`, or None when nothing changes or the
        result would not parse (a fix never leaves a broken file)."""
        if new_text == self.text or not parses(new_text):
            return None
        if self.source.encode(new_text) is None:
            return None
        return Edit(applicability, message, textmod.diff_edits(self.path, self.text, new_text))

    def new_file(self, path: str, content: str, applicability: str, message: str) -> Edit | None:
        """The edit that creates the file `path` with `content` (in this file's line ending)."""
        content = textmod.with_newline(content, textmod.newline_of(self.text))
        if not parses(content):
            return None
        return Edit(applicability, message, (TextEdit(path, 1, 1, 1, 1, content),))
