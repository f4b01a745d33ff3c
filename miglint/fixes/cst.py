"""libcst rewrites of one call or one import statement, for fixes.

A fix rewrites only the expression it changes: the call's source text (from the finding's
facts) is parsed on its own, changed with libcst, and written back in its place, so every
comment, blank line and quote outside it is kept, and large files cost no more than small
ones. Only `miglint.fixes` modules import this one, and only when fixes are computed.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from miglint.source.pysource import within_libcst_budget

_NO_SPACE = cst.SimpleWhitespace("")
_SPACE = cst.SimpleWhitespace(" ")

CallRewrite = Callable[[cst.Call], cst.Call | None]


def rewrite_call(source: str, rewrite: CallRewrite) -> str | None:
    """`source` (the text of one call) rewritten by `rewrite`; None when it is not a call
    libcst reads back exactly, or `rewrite` declines."""
    if not within_libcst_budget(source):
        return None
    try:
        node = cst.parse_expression(source)
    except (cst.ParserSyntaxError, RecursionError, MemoryError, ValueError):
        return None
    empty = cst.Module(body=[])
    if not isinstance(node, cst.Call) or empty.code_for_node(node) != source:
        return None
    updated = rewrite(node)
    return None if updated is None else empty.code_for_node(updated)


def without_import(source: str, local: str) -> str | None:
    """`source` (the text of a `from ... import a, b` statement) without the name bound as
    `local`; None when it is not such a statement or binds nothing else."""
    if not within_libcst_budget(source):
        return None
    try:
        line = cst.parse_statement(source)
    except (cst.ParserSyntaxError, RecursionError, MemoryError, ValueError):
        return None
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    node = line.body[0]
    if not isinstance(node, cst.ImportFrom) or isinstance(node.names, cst.ImportStar):
        return None
    names = list(node.names)
    remaining = [alias for alias in names if bound_name(alias) != local]
    if len(remaining) in (0, len(names)):
        return None
    if node.rpar is None or names[-1].comma is cst.MaybeSentinel.DEFAULT:
        remaining[-1] = remaining[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    elif remaining[-1] is not names[-1]:
        remaining[-1] = remaining[-1].with_changes(comma=names[-1].comma)
    updated = line.with_changes(body=[node.with_changes(names=remaining)])
    code = cst.Module(body=[]).code_for_node(updated)
    return code[: -len("\n")] if code.endswith("\n") and not source.endswith("\n") else code


def bound_name(alias: cst.ImportAlias) -> str | None:
    local = alias.asname.name if alias.asname else alias.name
    return local.value if isinstance(local, cst.Name) else None


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
