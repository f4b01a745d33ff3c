"""The `sql` and `reverse_sql` arguments of RunSQL: their SQL strings and where they are.

A literal string, a list or tuple of them (or of `(sql, params)` pairs), `RunSQL.noop`, or
a module constant bound to one of these is read; anything else is unreadable, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from miglint.source import syntax as s
from miglint.sql.kinds import Statement
from miglint.sql.statements import analyse


@dataclass(frozen=True)
class SqlPiece:
    """One SQL string of a RunSQL argument and where its literal is in the file."""

    sql: str
    span: s.Span


@dataclass(frozen=True)
class SqlArgument:
    """The `sql` or `reverse_sql` of a RunSQL, as far as it can be read."""

    pieces: tuple[SqlPiece, ...] = ()
    # Some part is not a literal (a name, an f-string, a function call): not read.
    unreadable: bool = False
    # Given as `RunSQL.noop` (or an empty string).
    noop: bool = False
    given: bool = True

    def statements(self) -> tuple[Statement, ...]:
        return analyse([piece.sql for piece in self.pieces])

    def span_of(self, statement: Statement) -> s.Span:
        return statement_span(self.pieces[statement.piece], statement)


def runsql_argument(
    value: s.Value | s.Missing, span: s.Span, names: Mapping[str, s.Value] | None = None
) -> SqlArgument:
    """The SQL strings of a RunSQL `sql`/`reverse_sql` value at `span` in the file.

    `names` are the module's constants (`FORWARD_SQL = "..."`): a bare name is read as the
    value bound to it, reported at the place it is used."""
    names = names or {}
    resolved = _resolve(value, names)
    # A constant's SQL is reported where the constant is used.
    fixed_span = span if resolved is not value else None
    value = resolved
    if isinstance(value, s.Missing) or value is None:
        return SqlArgument(given=False)
    if isinstance(value, s.Ref) and value.last == "noop":
        return SqlArgument(noop=True)
    if isinstance(value, str):
        return SqlArgument((SqlPiece(value, span),), noop=not value.strip())
    pieces: list[SqlPiece] = []
    unreadable = False
    for entry, entry_span in _items(value, span):
        item = _resolve(entry, names)
        item_span = fixed_span or (entry_span if item is entry else s.span_of(entry) or span)
        if isinstance(item, str):
            pieces.append(SqlPiece(item, item_span))
        elif isinstance(item, s.Seq) and item.kind in ("list", "tuple") and item.items:
            # A (sql, params) pair.
            head = item.items[0]
            if isinstance(head, str) and len(item.items) <= 2:
                head_span = item.item_spans[0] if item.item_spans and item is entry else item_span
                pieces.append(SqlPiece(head, fixed_span or head_span))
            else:
                unreadable = True
        elif isinstance(item, s.Ref) and item.last == "noop":
            continue
        else:
            unreadable = True
    return SqlArgument(tuple(pieces), unreadable=unreadable)


def _resolve(value: s.Value | s.Missing, names: Mapping[str, s.Value]) -> s.Value | s.Missing:
    if isinstance(value, s.Ref) and "." not in value.name and value.name in names:
        return names[value.name]
    return value


def _items(value: s.Value, span: s.Span) -> Iterable[tuple[s.Value, s.Span]]:
    if isinstance(value, s.Seq) and value.kind in ("list", "tuple"):
        spans = value.item_spans or (value.span,) * len(value.items)
        yield from zip(value.items, spans, strict=False)
    elif isinstance(value, s.Concat):
        for part in value.parts:
            yield from _items(part, s.span_of(part) or span)
    else:
        yield value, span


def statement_span(piece: SqlPiece, statement: Statement) -> s.Span:
    """Where `statement` is in the file: its own lines when the literal's lines can be
    matched with the string's lines, else the whole literal."""
    span = piece.span
    file_lines = span.end_line - span.line
    breaks = piece.sql.count("\n")
    if breaks == file_lines:
        first = span.line  # the string starts on the literal's first line
    elif breaks == file_lines - 1:
        first = span.line + 1  # `"""\` : the string starts on the next line
    else:
        return span
    line = first + statement.line
    end_line = first + statement.end_line
    starts_inside = statement.line > 0 or first > span.line
    ends_inside = statement.end_line > 0 or first > span.line
    column = statement.column + 1 if starts_inside else span.column
    if ends_inside:
        end_column = statement.end_column + 1
    elif span.line == span.end_line:
        end_column = span.end_column
    else:
        end_column = column + 1
    return s.Span(line, column, end_line, max(end_column, column + 1 if line == end_line else 1))
