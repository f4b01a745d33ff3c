"""SQL text to significant tokens, statement by statement, with their offsets.

sqlparse's lexer does the hard part (comments, quoted identifiers, strings, dollar-quoted
bodies) and its splitter cuts the statements; comments and white space are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Token:
    # "word" (keyword or bare name), "quoted" (quoted identifier), "string", "number",
    # "punct", "operator", "placeholder" or "other".
    kind: str
    value: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        return self.value.upper() if self.kind == "word" else ""


def statement_tokens(sql: str) -> list[list[Token]] | None:
    """The significant tokens of each statement, or None when the lexer met an error."""
    # Imported here: sqlparse costs ~30 ms to import, and most runs have no RunSQL.
    from sqlparse import lexer
    from sqlparse import tokens as T
    from sqlparse.engine import StatementSplitter

    statements: list[list[Token]] = []
    offset = 0
    splitter = StatementSplitter()  # type: ignore[no-untyped-call]
    for statement in splitter.process(lexer.tokenize(sql)):  # type: ignore[no-untyped-call]
        current: list[Token] = []
        for token in statement.flatten():
            ttype, value = token.ttype, token.value
            start, end = offset, offset + len(value)
            if not sql.startswith(value, start):
                return None  # the splitter lost text: positions would be wrong
            offset = end
            if ttype in T.Error:
                return None
            if ttype in T.Comment or ttype in T.Whitespace or ttype in T.Newline:
                continue
            if ttype in T.Text and not value.strip():
                continue
            current.extend(_token(ttype, value, start, end))
        if current:
            statements.append(current)
    if sql[offset:].strip():
        return None
    return statements


def _token(ttype: Any, value: str, start: int, end: int) -> list[Token]:
    from sqlparse import tokens as T

    if ttype in T.Keyword:
        words = value.split()
        if len(words) == 1:
            return [Token("word", value, start, end)]
        # 'IF NOT EXISTS' and 'NOT NULL' come as one token: one word each.
        result, position = [], start
        for word in words:
            at = value.find(word, position - start) + start
            result.append(Token("word", word, at, at + len(word)))
            position = at + len(word)
        return result
    if ttype in T.Name.Placeholder:
        return [Token("placeholder", value, start, end)]
    if ttype in T.Name:
        kind = "quoted" if value[:1] in ('"', "`", "[") else "word"
        return [Token(kind, value, start, end)]
    if ttype in T.Literal.String.Symbol:
        return [Token("quoted", value, start, end)]
    if ttype in T.Literal.Number:
        return [Token("number", value, start, end)]
    if ttype in T.Literal:
        return [Token("string", value, start, end)]
    if ttype in T.Punctuation:
        return [Token("punct", value, start, end)]
    if ttype in T.Operator or ttype in T.Wildcard:
        return [Token("operator", value, start, end)]
    return [Token("other", value, start, end)]
