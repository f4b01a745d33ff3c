"""MIG605's fix: a RunPython function that takes fewer than the two positional arguments
Django passes gets the missing parameters (`apps`, `schema_editor`), unused by its body."""

from __future__ import annotations

from miglint.core.finding import UNSAFE, Edit
from miglint.fixes.source import FixSource
from miglint.source import syntax as s

PARAMETERS = ("apps", "schema_editor")


def missing_parameters(source: FixSource, function: s.FunctionDef) -> Edit | None:
    """`def backwards(apps):` -> `def backwards(apps, schema_editor):`. Unsafe: code that
    failed with TypeError now runs, and its author should read it once."""
    node = source.function(function.name)
    if node is None:
        return None
    arguments = node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    if len(positional) >= 2 or arguments.vararg or arguments.defaults:
        return None
    if not positional and (arguments.kwonlyargs or arguments.kwarg):
        return None
    taken = {a.arg for a in (*positional, *arguments.kwonlyargs, arguments.kwarg) if a}
    wanted = PARAMETERS[len(positional) :]
    if taken & set(wanted):
        return None
    added = ", ".join(wanted)
    if positional:
        end = source.span(positional[-1])
        edit = source.replace(
            s.Span(end.end_line, end.end_column, end.end_line, end.end_column), f", {added}"
        )
    else:
        line = source.span(node).line
        text = source.line(line)
        opening = text.find("(", text.find(node.name))
        if opening < 0 or text[opening + 1 :].lstrip()[:1] != ")":
            return None
        edit = source.replace(s.Span(line, opening + 2, line, opening + 2), added)
    return source.edit(
        [edit],
        UNSAFE,
        f"Add the parameter{'s' if len(wanted) > 1 else ''} {added} that Django passes "
        f"to {function.name}()",
    )
