"""The libcst front-end: turns a libcst tree into `syntax` types.

Used for files the running interpreter's `ast` rejects but libcst reads (newer syntax).
"""

from __future__ import annotations

import ast
from typing import Literal

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from miglint.source import syntax as s
from miglint.source.frontend import (
    ITERATION_WRAPPERS,
    concatenation,
    fold,
    render_chain,
    sequence,
    shorten,
)

# libcst node names -> the `ast` names the fast front-end gives `Unknown.kind`.
_AST_KINDS = {
    "FormattedString": "joinedstr",
    "ConcatenatedString": "joinedstr",
    "Comparison": "compare",
    "BooleanOperation": "boolop",
    "BinaryOperation": "binop",
    "UnaryOperation": "unaryop",
}
# libcst statement names that differ from `ast`'s (`syntax.Other.kind` uses `ast`'s).
_AST_STATEMENTS = {"Del": "Delete"}
# libcst operators -> the `ast` operators constant folding knows.
_AST_OPERATORS: dict[type[cst.BaseBinaryOp], ast.operator] = {
    cst.Add: ast.Add(),
    cst.Subtract: ast.Sub(),
    cst.Multiply: ast.Mult(),
    cst.Divide: ast.Div(),
    cst.FloorDivide: ast.FloorDiv(),
    cst.Power: ast.Pow(),
}


def module(tree: cst.Module) -> s.Module:
    wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    return s.Module(_Reader(tree, positions).statements(tree.body), parser="libcst")


class _Reader:
    def __init__(self, tree: cst.Module, positions: object) -> None:
        self.tree = tree
        self.positions = positions

    def span(self, node: cst.CSTNode) -> s.Span:
        position = self.positions[node]  # type: ignore[index]
        assert isinstance(position, CodeRange)
        start, end = position.start, position.end
        if isinstance(node, cst.Tuple | cst.GeneratorExp) and node.lpar and node.rpar:
            # `ast` counts a tuple's own (innermost) parentheses as part of it; so must we.
            start = self.positions[node.lpar[-1]].start  # type: ignore[index]
            end = self.positions[node.rpar[0]].end  # type: ignore[index]
        return s.Span(start.line, start.column + 1, end.line, end.column + 1)

    def source(self, node: cst.CSTNode) -> str:
        if getattr(node, "lpar", None) and not isinstance(node, cst.Tuple | cst.GeneratorExp):
            # `ast` leaves an expression's parentheses out of its source; so must we.
            node = node.with_changes(lpar=[], rpar=[])
        return shorten(self.tree.code_for_node(node).strip())

    def statements(self, nodes: object) -> tuple[s.Statement, ...]:
        result: list[s.Statement] = []
        for node in nodes:  # type: ignore[attr-defined]
            if isinstance(node, cst.SimpleStatementLine):
                for small in node.body:
                    result.extend(self.small_statement(small, self.span(node)))
            elif isinstance(node, cst.FunctionDef):
                result.append(self.function(node))
            elif isinstance(node, cst.ClassDef):
                result.append(self.class_def(node))
            else:
                kind = type(node).__name__
                if isinstance(node, cst.For | cst.With) and node.asynchronous is not None:
                    kind = "Async" + kind
                result.append(s.Other(kind, self.span(node), _changed_names(node)))
        return tuple(result)

    def function(self, node: cst.FunctionDef) -> s.FunctionDef:
        positional = [*node.params.posonly_params, *node.params.params]
        return s.FunctionDef(
            node.name.value,
            self.span(node),
            node.asynchronous is not None,
            tuple(p.name.value for p in positional),
            sum(1 for p in positional if p.default is None),
            isinstance(node.params.star_arg, cst.Param),
            self.body(node.body),
        )

    def body(self, block: cst.BaseSuite) -> s.FunctionBody:
        """The libcst twin of `pysource._AstBodyReader`."""
        imports: list[s.Import] = []
        calls: list[s.BodyCall] = []
        loops: list[s.Loop] = []
        bindings: list[s.Binding] = []
        stack: list[tuple[cst.CSTNode, int]] = [(block, -1)]
        while stack:
            node, loop = stack.pop()
            children: list[tuple[cst.CSTNode, int]] = []
            if isinstance(node, cst.For | cst.While):
                iterable = _iterated(node.iter) if isinstance(node, cst.For) else node.test
                targets = (
                    tuple(n.value for n in _names(node.target)) if isinstance(node, cst.For) else ()
                )
                kind = "for" if isinstance(node, cst.For) else "while"
                loops.append(s.Loop(kind, _chain(iterable), targets, self.span(node), loop))
                inner = len(loops) - 1
                first = node.iter if isinstance(node, cst.For) else node.test
                children = [(first, loop), (node.body, inner)]
                if node.orelse is not None:
                    children.append((node.orelse, loop))
            elif isinstance(node, cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp):
                comp = node.for_in
                targets = tuple(n.value for n in _names(comp.target))
                span = self.span(node)
                iterated = _chain(_iterated(comp.iter))
                loops.append(s.Loop("comprehension", iterated, targets, span, loop))
                inner = len(loops) - 1
                elements = (node.key, node.value) if isinstance(node, cst.DictComp) else (node.elt,)
                children = [(comp.iter, loop), *((n, inner) for n in comp.ifs)]
                if comp.inner_for_in is not None:
                    children.append((comp.inner_for_in, inner))
                children += [(n, inner) for n in elements]
            else:
                if isinstance(node, cst.Call):
                    args = tuple(
                        self.light(a.value)
                        for a in node.args[:4]
                        if not a.star and a.keyword is None
                    )
                    calls.append(s.BodyCall(_chain(node.func), args, self.span(node), loop))
                elif isinstance(node, cst.Import | cst.ImportFrom):
                    found = self.small_statement(node, self.span(node))
                    imports.extend(i for i in found if isinstance(i, s.Import))
                elif (
                    isinstance(node, cst.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0].target, cst.Name)
                ):
                    name = node.targets[0].target.value
                    value = node.value
                    bindings.append(
                        s.Binding(name, _chain(value), self.light(value), self.span(node))
                    )
                children = [(child, loop) for child in node.children]
            stack.extend(reversed(children))
        return s.FunctionBody(tuple(imports), tuple(calls), tuple(loops), tuple(bindings))

    def light(self, node: cst.BaseExpression) -> s.Value:
        if isinstance(node, cst.SimpleString | cst.Integer | cst.Float):
            return node.evaluated_value
        if isinstance(node, cst.Name | cst.Attribute):
            return self.value(node)
        return s.Unknown(
            self.source(node).partition("\n")[0], type(node).__name__.lower(), self.span(node)
        )

    def class_def(self, node: cst.ClassDef) -> s.ClassDef:
        body = node.body.body
        return s.ClassDef(
            node.name.value,
            tuple(self.value(arg.value) for arg in node.bases if arg.star == ""),
            self.statements(body),
            self.span(node),
            tuple(
                s.Keyword(arg.keyword.value, self.value(arg.value), self.span(arg))
                for arg in node.keywords
                if arg.keyword is not None
            ),
            tuple(self.value(d.decorator) for d in node.decorators),
        )

    def small_statement(self, node: cst.BaseSmallStatement, span: s.Span) -> list[s.Statement]:
        if isinstance(node, cst.Import):
            return [
                s.Import(
                    self.dotted(alias.name) or "",
                    None,
                    self.alias(alias) or (self.dotted(alias.name) or "").partition(".")[0],
                    span,
                )
                for alias in node.names
            ]
        if isinstance(node, cst.ImportFrom):
            dots = "." * len(node.relative)
            module_name = dots + (self.dotted(node.module) or "" if node.module else "")
            if isinstance(node.names, cst.ImportStar):
                return [s.Import(module_name, "*", "*", span)]
            return [
                s.Import(
                    module_name,
                    self.dotted(alias.name) or "",
                    self.alias(alias) or self.dotted(alias.name) or "",
                    span,
                )
                for alias in node.names
            ]
        if isinstance(node, cst.Assign):
            targets = [t.target.value for t in node.targets if isinstance(t.target, cst.Name)]
            if len(targets) == len(node.targets):
                return [s.Assign(tuple(targets), self.value(node.value), span)]
        elif isinstance(node, cst.AnnAssign):
            if isinstance(node.target, cst.Name) and node.value is not None:
                return [
                    s.Assign((node.target.value,), self.value(node.value), span, annotated=True)
                ]
        elif (
            isinstance(node, cst.AugAssign)
            and isinstance(node.target, cst.Name)
            and isinstance(node.operator, cst.AddAssign)
        ):
            return [s.Assign((node.target.value,), self.value(node.value), span, augmented=True)]
        kind = type(node).__name__
        return [s.Other(_AST_STATEMENTS.get(kind, kind), span, _changed_names(node))]

    def alias(self, alias: cst.ImportAlias) -> str | None:
        if alias.asname is None:
            return None
        name = alias.asname.name
        return name.value if isinstance(name, cst.Name) else None

    def dotted(self, node: cst.BaseExpression) -> str | None:
        parts: list[str] = []
        while isinstance(node, cst.Attribute):
            parts.append(node.attr.value)
            node = node.value
        if not isinstance(node, cst.Name):
            return None
        parts.append(node.value)
        return ".".join(reversed(parts))

    def value(self, node: cst.BaseExpression) -> s.Value:
        if isinstance(node, cst.Name):
            if node.value in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[node.value]
            return s.Ref(node.value, self.span(node))
        if isinstance(node, cst.Attribute):
            name = self.dotted(node)
            if name is not None:
                return s.Ref(name, self.span(node))
        elif isinstance(node, cst.Integer | cst.Float | cst.Imaginary | cst.SimpleString):
            return node.evaluated_value
        elif isinstance(node, cst.ConcatenatedString):
            evaluated = node.evaluated_value
            if isinstance(evaluated, str | bytes):
                return evaluated
        elif isinstance(node, cst.Call):
            func = self.dotted(node.func)
            if func is not None:
                return self.call(func, node)
        elif isinstance(node, cst.List | cst.Tuple | cst.Set):
            return self.sequence(node)
        elif isinstance(node, cst.Dict):
            if all(isinstance(e, cst.DictElement) for e in node.elements):
                return s.Dict(
                    tuple(
                        (self.value(e.key), self.value(e.value))
                        for e in node.elements
                        if isinstance(e, cst.DictElement)
                    ),
                    self.span(node),
                )
        elif isinstance(node, cst.BinaryOperation):
            left, right = self.value(node.left), self.value(node.right)
            operator = _AST_OPERATORS.get(type(node.operator))
            folded = None if operator is None else fold(left, operator, right)
            if folded is not None:
                return folded
            if isinstance(node.operator, cst.Add):
                return concatenation(left, right, self.span(node))
        elif isinstance(node, cst.UnaryOperation) and isinstance(
            node.operator, cst.Minus | cst.Plus
        ):
            operand = self.value(node.expression)
            if isinstance(operand, int | float | complex) and not isinstance(operand, bool):
                return -operand if isinstance(node.operator, cst.Minus) else operand
        elif isinstance(node, cst.Lambda):
            return s.Unknown(self.source(node), "lambda", self.span(node))
        kind = type(node).__name__
        return s.Unknown(self.source(node), _AST_KINDS.get(kind, kind.lower()), self.span(node))

    def call(self, func: str, node: cst.Call) -> s.Call:
        args: list[s.Value] = []
        spans: list[s.Span] = []
        keywords: list[s.Keyword] = []
        has_star = False
        for arg in node.args:
            if arg.star:
                has_star = True
            elif arg.keyword is not None:
                keywords.append(s.Keyword(arg.keyword.value, self.value(arg.value), self.span(arg)))
            elif not has_star:
                args.append(self.value(arg.value))
                spans.append(self.span(arg.value))
        return s.Call(func, tuple(args), tuple(keywords), self.span(node), tuple(spans), has_star)

    def sequence(self, node: cst.List | cst.Tuple | cst.Set) -> s.Value:
        kind: Literal["list", "tuple", "set"] = (
            "list"
            if isinstance(node, cst.List)
            else "tuple"
            if isinstance(node, cst.Tuple)
            else "set"
        )
        elements = [
            (self.value(element.value), None)
            if isinstance(element, cst.StarredElement)
            else (self.value(element.value), self.span(element.value))
            for element in node.elements
        ]
        return sequence(kind, elements, self.span(node))


def _iterated(node: cst.BaseExpression) -> cst.BaseExpression:
    """What a loop really iterates: `qs` for `enumerate(qs)` (see `pysource._iterated`)."""
    while (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value in ITERATION_WRAPPERS
        and node.args
    ):
        node = node.args[0].value
    return node


def _names(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            found.append(current)
        else:
            stack.extend(reversed(current.children))
    return found


# Nodes whose `target` is assigned (or deleted) when they run.
_TARGETED = (
    cst.AssignTarget,
    cst.AugAssign,
    cst.AnnAssign,
    cst.Del,
    cst.For,
    cst.CompFor,
    cst.NamedExpr,
)


def _changed_names(node: cst.CSTNode) -> tuple[str, ...]:
    """`pysource.changed_names` for libcst nodes (see `syntax.Other.names`)."""
    names: set[str] = set()
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.FunctionDef | cst.ClassDef):
            names.add(current.name.value)
            continue
        if isinstance(current, cst.Lambda):
            continue
        if isinstance(current, _TARGETED):
            names.update(_target_names(current.target))
        elif isinstance(current, cst.WithItem) and current.asname is not None:
            names.update(_target_names(current.asname.name))
        elif isinstance(current, cst.ExceptHandler | cst.ExceptStarHandler):
            if current.name is not None and isinstance(current.name.name, cst.Name):
                names.add(current.name.name.value)
        elif isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
            names.update(_root_name(current.func.value))
        elif isinstance(current, cst.Import | cst.ImportFrom):
            if not isinstance(current.names, cst.ImportStar):
                for alias in current.names:
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        names.add(alias.asname.name.value)
                    else:
                        names.update(_root_name(alias.name))
        elif isinstance(current, cst.MatchAs | cst.MatchStar) and current.name is not None:
            names.add(current.name.value)
        elif isinstance(current, cst.MatchMapping) and current.rest is not None:
            names.add(current.rest.value)
        stack.extend(current.children)
    return tuple(sorted(names))


def _target_names(node: cst.BaseExpression) -> tuple[str, ...]:
    """The names an assignment target binds, or the root name of the object it changes."""
    if isinstance(node, cst.Name):
        return (node.value,)
    if isinstance(node, cst.Tuple | cst.List):
        return tuple(name for element in node.elements for name in _target_names(element.value))
    if isinstance(node, cst.StarredElement):
        return _target_names(node.value)
    if isinstance(node, cst.Attribute | cst.Subscript):
        return _root_name(node.value)
    return ()


def _root_name(node: cst.BaseExpression) -> tuple[str, ...]:
    """`a` for `a`, `a.b`, `a[0].b`; nothing for a call's result or a literal."""
    while isinstance(node, cst.Attribute | cst.Subscript):
        node = node.value
    return (node.value,) if isinstance(node, cst.Name) else ()


def _chain(node: cst.BaseExpression) -> str:
    """`pysource.chain` for libcst nodes."""
    return render_chain(node, _chain_step)


def _chain_step(node: cst.BaseExpression) -> tuple[str, cst.BaseExpression | None]:
    if isinstance(node, cst.Attribute):
        return "." + node.attr.value, node.value
    if isinstance(node, cst.Call):
        return "()", node.func
    if isinstance(node, cst.Subscript):
        sliced = any(isinstance(e.slice, cst.Slice) for e in node.slice)
        return ("[:]" if sliced else "[]"), node.value
    if isinstance(node, cst.Name):
        return node.value, None
    if isinstance(
        node, cst.BaseNumber | cst.BaseString | cst.List | cst.Tuple | cst.Set | cst.Dict
    ):
        return "<literal>", None
    return "?", None
