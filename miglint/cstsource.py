"""The libcst front-end: turns a libcst tree into `syntax` types.

Used for files the running interpreter's `ast` rejects but libcst reads (newer syntax).
"""

from __future__ import annotations

from typing import Literal

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from miglint import syntax as s
from miglint.pysource import UNKNOWN_SOURCE_CHARS


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
        return s.Span(
            position.start.line,
            position.start.column + 1,
            position.end.line,
            position.end.column + 1,
        )

    def source(self, node: cst.CSTNode) -> str:
        text = self.tree.code_for_node(node).strip()
        if len(text) > UNKNOWN_SOURCE_CHARS:
            text = text[: UNKNOWN_SOURCE_CHARS - 3] + "..."
        return text

    def statements(self, nodes: object) -> tuple[s.Statement, ...]:
        result: list[s.Statement] = []
        for node in nodes:  # type: ignore[attr-defined]
            if isinstance(node, cst.SimpleStatementLine):
                for small in node.body:
                    result.extend(self.small_statement(small, self.span(node)))
            elif isinstance(node, cst.FunctionDef):
                result.append(
                    s.FunctionDef(node.name.value, self.span(node), node.asynchronous is not None)
                )
            elif isinstance(node, cst.ClassDef):
                result.append(self.class_def(node))
            else:
                result.append(s.Other(type(node).__name__, self.span(node)))
        return tuple(result)

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
                return [s.Other("ImportStar", span)]
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
        return [s.Other(type(node).__name__, span)]

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
        elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(left, str) and isinstance(right, str):
                return left + right
            parts: list[s.Value] = []
            for side in (left, right):
                parts.extend(side.parts if isinstance(side, s.Concat) else (side,))
            return s.Concat(tuple(parts), self.span(node))
        elif isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            operand = self.value(node.expression)
            if isinstance(operand, int | float) and not isinstance(operand, bool):
                return -operand
        elif isinstance(node, cst.Lambda):
            return s.Unknown(self.source(node), "lambda", self.span(node))
        return s.Unknown(self.source(node), type(node).__name__.lower(), self.span(node))

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
        parts: list[s.Value] = []
        items: list[s.Value] = []
        spans: list[s.Span] = []
        for element in node.elements:
            if isinstance(element, cst.StarredElement):
                if items:
                    parts.append(s.Seq(kind, tuple(items), self.span(node), tuple(spans)))
                    items, spans = [], []
                parts.append(self.value(element.value))
            else:
                items.append(self.value(element.value))
                spans.append(self.span(element.value))
        if not parts:
            return s.Seq(kind, tuple(items), self.span(node), tuple(spans))
        if items:
            parts.append(s.Seq(kind, tuple(items), self.span(node), tuple(spans)))
        return s.Concat(tuple(parts), self.span(node))
