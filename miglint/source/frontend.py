"""What the two front-ends share, written once: `pysource` (ast) and `cstsource` (libcst).

Both turn a tree into the same `syntax` values; what does not depend on the tree's library
lives here: the limits of what is kept, constant folding, and how a sequence with starred
elements, a `+` that cannot be folded and a chain of attributes and calls become values.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from typing import Literal, TypeVar

from miglint.source import syntax as s

# Longest source text kept for an unknown value (longer text ends in "...").
UNKNOWN_SOURCE_CHARS = 120
# Longest chain rendered; a longer one ends in `?` (chains this long are never meaningful).
MAX_CHAIN_PARTS = 40
# Calls that wrap the iterable of a loop without changing what is iterated.
ITERATION_WRAPPERS = frozenset({"enumerate", "list", "sorted", "reversed", "tuple", "set"})


Node = TypeVar("Node")


def render_chain(node: Node, step: Callable[[Node], tuple[str, Node | None]]) -> str:
    """An expression as a chain (`Order.objects.filter().update`, `qs[:]`, `<literal>`), from
    the front-end's `step`: a node's own part of the chain and the node it continues from,
    None where the chain starts. A chain longer than MAX_CHAIN_PARTS starts with `?`."""
    parts: list[str] = []
    current = node
    while len(parts) < MAX_CHAIN_PARTS:
        part, following = step(current)
        parts.append(part)
        if following is None:
            break
        current = following
    else:
        parts.append("?")
    return "".join(reversed(parts))


def shorten(text: str) -> str:
    """`text` cut to UNKNOWN_SOURCE_CHARS, ending in "..." when it was longer."""
    if len(text) > UNKNOWN_SOURCE_CHARS:
        return text[: UNKNOWN_SOURCE_CHARS - 3] + "..."
    return text


def sequence(
    kind: Literal["list", "tuple", "set"],
    elements: Iterable[tuple[s.Value, s.Span | None]],
    span: s.Span,
) -> s.Value:
    """A list, tuple or set display from its elements in order, each a value with its span,
    or with None for a starred element (`*rest`): a `Seq`, or a `Concat` of the runs
    between starred elements and the starred values themselves."""
    parts: list[s.Value] = []
    items: list[s.Value] = []
    spans: list[s.Span] = []
    for value, element_span in elements:
        if element_span is None:
            if items:
                parts.append(s.Seq(kind, tuple(items), span, tuple(spans)))
                items, spans = [], []
            parts.append(value)
        else:
            items.append(value)
            spans.append(element_span)
    if not parts:
        return s.Seq(kind, tuple(items), span, tuple(spans))
    if items:
        parts.append(s.Seq(kind, tuple(items), span, tuple(spans)))
    return s.Concat(tuple(parts), span)


def concatenation(left: s.Value, right: s.Value, span: s.Span) -> s.Concat:
    """`left + right` that cannot be folded: one `Concat` of both sides' parts."""
    parts: list[s.Value] = []
    for side in (left, right):
        parts.extend(side.parts if isinstance(side, s.Concat) else (side,))
    return s.Concat(tuple(parts), span)


_NUMBER = (int, float)


def fold(left: s.Value, op: ast.operator, right: s.Value) -> s.Value | None:
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
