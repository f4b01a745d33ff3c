"""libcst helpers for fixes: find nodes by position, rewrite them, keep everything else.

A fix rewrites the libcst tree of one file and turns the difference back into text edits
(`FixSource.edit`), so every comment, blank line and quote outside what changes is kept.
Only `miglint.fixes` modules import this one, and only when fixes are computed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import libcst as cst
from libcst.metadata import GlobalScope, MetadataWrapper, PositionProvider, ScopeProvider

from miglint.pysource import within_libcst_budget
from miglint.syntax import Span

_NO_SPACE = cst.SimpleWhitespace("")
_SPACE = cst.SimpleWhitespace(" ")


class Tree:
    """A module parsed by libcst, with the source range of each node."""

    def __init__(self, module: cst.Module, positions: Mapping[cst.CSTNode, Any]) -> None:
        self.module = module
        self.positions = positions
        self._calls: dict[tuple[int, int], list[cst.Call]] | None = None

    @classmethod
    def parse(cls, text: str) -> Tree | None:
        if not within_libcst_budget(text):
            return None
        try:
            wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
            positions = wrapper.resolve(PositionProvider)
        except (cst.ParserSyntaxError, RecursionError, MemoryError, ValueError):
            return None
        return cls(wrapper.module, positions)

    def span(self, node: cst.CSTNode) -> Span:
        where = self.positions[node]
        return Span(where.start.line, where.start.column + 1, where.end.line, where.end.column + 1)

    def call_at(self, span: Span) -> cst.Call | None:
        """The call that starts where `span` does (the one ending there too, when calls are
        chained), or None."""
        if self._calls is None:
            self._calls = {}
            for node, where in self.positions.items():
                if isinstance(node, cst.Call):
                    key = (where.start.line, where.start.column + 1)
                    self._calls.setdefault(key, []).append(node)
        found = self._calls.get((span.line, span.column), [])
        exact = [call for call in found if self._ends_at(call, span)]
        if len(exact) == 1:
            return exact[0]
        return found[0] if len(found) == 1 else None

    def _ends_at(self, node: cst.CSTNode, span: Span) -> bool:
        end = self.positions[node].end
        return (end.line, end.column + 1) == (span.end_line, span.end_column)

    def function(self, name: str) -> cst.FunctionDef | None:
        """The module-level function `name` (the last definition, as Python binds it)."""
        found = None
        for statement in self.module.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
                found = statement
        return found

    def contains(self, outer: cst.CSTNode, inner: cst.CSTNode) -> bool:
        a, b = self.positions[outer], self.positions[inner]
        return (a.start.line, a.start.column) <= (b.start.line, b.start.column) and (
            b.end.line,
            b.end.column,
        ) <= (a.end.line, a.end.column)


def replace_nodes(
    module: cst.Module, replacements: Mapping[cst.CSTNode, cst.CSTNode]
) -> cst.Module:
    """`module` with each key node (by identity) replaced by its value."""
    by_id = {id(old): new for old, new in replacements.items()}

    class Replace(cst.CSTTransformer):
        def on_leave(self, original: Any, updated: Any) -> Any:
            return by_id.get(id(original), updated)

    result = module.visit(Replace())
    assert isinstance(result, cst.Module)
    return result


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a name or attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted_name(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


def has_star(call: cst.Call) -> bool:
    return any(arg.star for arg in call.args)


def migration_class(module: cst.Module) -> cst.ClassDef | None:
    """The module-level `class Migration` (the last one, as Python binds it)."""
    found = None
    for statement in module.body:
        if isinstance(statement, cst.ClassDef) and statement.name.value == "Migration":
            found = statement
    return found


def _assigned_name(statement: cst.BaseStatement) -> str | None:
    """`x` for a line that is only `x = ...` (or `x: T = ...`)."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        return target.value if isinstance(target, cst.Name) else None
    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
        return small.target.value if small.value is not None else None
    return None


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def _blank_lines(lines: Sequence[cst.EmptyLine]) -> tuple[cst.EmptyLine, ...]:
    """The leading lines of a statement when they are only blank lines (no comments)."""
    return tuple(lines) if all(line.comment is None for line in lines) else ()


def set_class_attribute(module: cst.Module, name: str, value: str) -> cst.Module | None:
    """The Migration class with `name = value`: an existing plain assignment in its body gets
    the new value; else a line is added after the docstring, `replaces` and `initial` (where
    Django's writer puts its options), spaced like the statement that follows it."""
    found = migration_class(module)
    if found is None or not isinstance(found.body, cst.IndentedBlock):
        return None
    body = list(found.body.body)
    expression = cst.parse_expression(value)
    for position in range(len(body) - 1, -1, -1):
        statement = body[position]
        if _assigned_name(statement) == name:
            assert isinstance(statement, cst.SimpleStatementLine)
            small = statement.body[0]
            assert isinstance(small, cst.Assign | cst.AnnAssign)
            body[position] = statement.with_changes(body=[small.with_changes(value=expression)])
            break
    else:
        position = 1 if body and _is_docstring(body[0]) else 0
        while position < len(body) and _assigned_name(body[position]) in ("replaces", "initial"):
            position += 1
        following = body[position] if position < len(body) else None
        spacing = (
            _blank_lines(following.leading_lines)
            if isinstance(following, cst.SimpleStatementLine | cst.BaseCompoundStatement)
            else ()
        )
        line = cst.SimpleStatementLine(
            [cst.Assign([cst.AssignTarget(cst.Name(name))], expression)], leading_lines=spacing
        )
        body.insert(position, line)
    updated = found.with_changes(body=found.body.with_changes(body=body))
    return replace_nodes(module, {found: updated})


def _import_aliases(statement: cst.BaseStatement) -> Iterator[tuple[cst.ImportFrom, str, str]]:
    """(statement, imported name, local name) of each `from X import a as b` on a line."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return
    for small in statement.body:
        if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
            for alias in small.names:
                local = alias.asname.name if alias.asname else alias.name
                if isinstance(local, cst.Name) and isinstance(alias.name, cst.Name):
                    yield small, alias.name.value, local.value


def _module_of(node: cst.ImportFrom) -> str:
    dots = "." * len(node.relative)
    name = "" if node.module is None else (dotted_name(node.module) or "")
    return dots + name


def module_bindings(module: cst.Module) -> dict[str, str | None]:
    """Names bound at module level: `module.name` for a `from` import, None for anything else
    (an assignment, a def, a plain import, a name bound under an `if` or `try`)."""
    bound: dict[str, str | None] = {}
    for statement in module.body:
        for node, name, local in _import_aliases(statement):
            bound.setdefault(local, f"{_module_of(node)}.{name}")
        for name in _names_bound_in(statement):
            bound.setdefault(name, None)
    return bound


def _names_bound_in(statement: cst.CSTNode) -> Iterator[str]:
    class Collect(cst.CSTVisitor):
        def __init__(self) -> None:
            self.names: list[str] = []

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            self.names.append(node.name.value)
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            self.names.append(node.name.value)
            return False

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            if isinstance(node.target, cst.Name):
                self.names.append(node.target.value)

        def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
            local = node.asname.name if node.asname else node.name
            name = dotted_name(local) if isinstance(local, cst.Name | cst.Attribute) else None
            if name:
                self.names.append(name.partition(".")[0])

    collect = Collect()
    statement.visit(collect)
    yield from collect.names


def ensure_import(module: cst.Module, source: str, name: str) -> tuple[cst.Module, str] | None:
    """`module` with `from source import name` (added unless it is there), and the local name
    to use; None when that name is already bound to something else."""
    wanted = f"{source}.{name}"
    bound = module_bindings(module)
    for local, target in bound.items():
        if target == wanted:
            return module, local
    if name in bound:
        return None
    line = cst.parse_statement(f"from {source} import {name}")
    body = list(module.body)
    # After the docstring and `from __future__`, in order among the first imports.
    position = 0
    while position < len(body) and (
        _is_docstring(body[position]) or _future_import(body[position])
    ):
        position += 1
    first = position
    while position < len(body) and _is_import_line(body[position]):
        imports = list(_import_aliases(body[position]))
        if imports and _module_of(imports[0][0]) > source:
            break
        position += 1
    if position == first and position < len(body):
        # First of the imports: it takes the blank lines above them, comments stay below.
        following = body[position]
        lines = list(following.leading_lines)
        blank = 0
        while blank < len(lines) and lines[blank].comment is None:
            blank += 1
        line = line.with_changes(leading_lines=lines[:blank])
        body[position] = following.with_changes(leading_lines=lines[blank:])
    body.insert(position, line)
    return module.with_changes(body=body), name


def _is_import_line(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, cst.Import | cst.ImportFrom) for small in statement.body
    )


def _future_import(statement: cst.BaseStatement) -> bool:
    return any(_module_of(node) == "__future__" for node, _, _ in _import_aliases(statement))


def remove_unused_import(module: cst.Module, local: str) -> cst.Module:
    """`module` without the module-level `from ... import ... as local` when nothing in the
    module refers to `local` any more (a name only bound there, never used)."""
    try:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        scopes = wrapper.resolve(ScopeProvider)
    except Exception:
        return module
    global_scope = next((s for s in scopes.values() if isinstance(s, GlobalScope)), None)
    if global_scope is None or local not in global_scope:
        return module
    assignments = list(global_scope[local])
    if len(assignments) != 1 or assignments[0].references:
        return module
    module = wrapper.module
    body = list(module.body)
    for position, statement in enumerate(body):
        for node, _, bound in _import_aliases(statement):
            if bound != local:
                continue
            assert isinstance(statement, cst.SimpleStatementLine)
            assert not isinstance(node.names, cst.ImportStar)
            remaining = [
                alias
                for alias in node.names
                if (alias.asname.name if alias.asname else alias.name).value != local  # type: ignore[union-attr]
            ]
            if remaining:
                last = remaining[-1]
                if node.rpar is None or node.names[-1].comma is cst.MaybeSentinel.DEFAULT:
                    remaining[-1] = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
                elif last is not node.names[-1]:
                    remaining[-1] = last.with_changes(comma=node.names[-1].comma)
                updated = node.with_changes(names=remaining)
                return replace_nodes(module, {node: updated})
            if len(statement.body) != 1:
                return module
            del body[position]
            comments = [line for line in statement.leading_lines if line.comment is not None]
            if position < len(body) and (comments or position == 0):
                # The comments above the import stay, above what follows it; what follows
                # the first statement of a module is spaced as it was.
                following = body[position]
                kept = following.leading_lines if comments else []
                body[position] = following.with_changes(
                    leading_lines=[*statement.leading_lines, *kept]
                )
            return module.with_changes(body=body)
    return module


def with_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """`call` with `name=value` appended to its arguments, laid out like the others (on its
    own line when they are one per line; a trailing comma and comments stay where they are)."""
    new = cst.Arg(
        value=value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(whitespace_before=_NO_SPACE, whitespace_after=_NO_SPACE),
    )
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    trailing = isinstance(last.comma, cst.Comma)
    tail = (
        last.comma.whitespace_after
        if isinstance(last.comma, cst.Comma)
        else last.whitespace_after_arg
    )
    separator = _argument_separator(call)
    if isinstance(tail, cst.ParenthesizedWhitespace) and separator is not None:
        # One argument per line: the new one goes on a line of its own, before the line
        # that closes the call.
        after_last = cst.ParenthesizedWhitespace(
            first_line=tail.first_line,
            empty_lines=tail.empty_lines,
            indent=separator.indent,
            last_line=separator.last_line,
        )
        closing = cst.ParenthesizedWhitespace(indent=tail.indent, last_line=tail.last_line)
        comma_before = (
            last.comma.whitespace_before if isinstance(last.comma, cst.Comma) else _NO_SPACE
        )
        args[-1] = last.with_changes(
            comma=cst.Comma(whitespace_before=comma_before, whitespace_after=after_last),
            whitespace_after_arg=_NO_SPACE,
        )
        if trailing:
            new = new.with_changes(comma=cst.Comma(whitespace_after=closing))
        else:
            new = new.with_changes(whitespace_after_arg=closing)
    else:
        args[-1] = last.with_changes(
            comma=cst.Comma(whitespace_after=_SPACE), whitespace_after_arg=_NO_SPACE
        )
        if trailing:
            assert isinstance(last.comma, cst.Comma)
            new = new.with_changes(comma=last.comma, whitespace_after_arg=last.whitespace_after_arg)
        else:
            new = new.with_changes(whitespace_after_arg=last.whitespace_after_arg)
    args.append(new)
    return call.with_changes(args=args)


def _argument_separator(call: cst.Call) -> cst.ParenthesizedWhitespace | None:
    """The whitespace that puts an argument of `call` on its own line, when they are so."""
    for arg in call.args[:-1]:
        if isinstance(arg.comma, cst.Comma) and isinstance(
            arg.comma.whitespace_after, cst.ParenthesizedWhitespace
        ):
            return arg.comma.whitespace_after
    if isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
        return call.whitespace_before_args
    return None


def argument(call: cst.Call, position: int, keyword: str) -> cst.Arg | None:
    """The argument given at `position` (positionally) or as `keyword`."""
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    if position < len(positional):
        return positional[position]
    return keyword_argument(call, keyword)


def keyword_argument(call: cst.Call, keyword: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg
    return None


def set_argument(
    call: cst.Call, position: int, keyword: str, value: cst.BaseExpression
) -> cst.Call:
    """`call` with the argument at `position` or named `keyword` set to `value` (appended as
    `keyword=value` when it is not given)."""
    found = argument(call, position, keyword)
    if found is None:
        return with_keyword(call, keyword, value)
    args = [arg.with_changes(value=value) if arg is found else arg for arg in call.args]
    return call.with_changes(args=args)


def insert_in_function(
    function: cst.FunctionDef, statements: Sequence[cst.BaseStatement]
) -> cst.FunctionDef | None:
    """`function` with `statements` first in its body (after its docstring)."""
    if not isinstance(function.body, cst.IndentedBlock):
        return None
    body = list(function.body.body)
    position = 1 if body and _is_docstring(body[0]) else 0
    body[position:position] = statements
    return function.with_changes(body=function.body.with_changes(body=body))
