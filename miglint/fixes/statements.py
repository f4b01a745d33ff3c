"""Statement-level edits from the file's `ast`: a line added to the Migration class or to a
function, an import added or removed. They are text edits at line boundaries, spaced like the
code around them, so nothing else in the file moves.

"The lines above a statement" are the blank and comment lines between it and the statement
before it (what libcst calls its leading lines): comments there belong to the statement and
stay with it; a new line takes over the blank lines when there are only blank lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence

from miglint.core.finding import TextEdit
from miglint.fixes.source import FixSource


def migration_class(module: ast.Module) -> ast.ClassDef | None:
    """The module-level `class Migration` (the last one, as Python binds it)."""
    found = None
    for statement in module.body:
        if isinstance(statement, ast.ClassDef) and statement.name == "Migration":
            found = statement
    return found


def first_line(statement: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(statement, "decorator_list", [])
    return min([statement.lineno, *(d.lineno for d in decorators)])


def _end_line(statement: ast.stmt) -> int:
    return statement.end_lineno or statement.lineno


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _assigned(statement: ast.stmt) -> tuple[str, ast.expr] | None:
    """(name, value) of `name = value` or `name: T = value`."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        if isinstance(target, ast.Name):
            return target.id, statement.value
    if (
        isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and statement.value is not None
    ):
        return statement.target.id, statement.value
    return None


def header_end(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The last line of a class or def header, at least (its bases, arguments, annotation)."""
    parts: list[ast.AST] = []
    if isinstance(node, ast.ClassDef):
        parts += [*node.bases, *node.keywords]
    else:
        arguments = node.args
        parts += [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        parts += [a for a in (arguments.vararg, arguments.kwarg, node.returns) if a is not None]
        parts += [d for d in (*arguments.defaults, *arguments.kw_defaults) if d is not None]
    return max([node.lineno, *(getattr(p, "end_lineno", None) or node.lineno for p in parts)])


class Block:
    """A body of statements (of the module, a class or a function) in one file."""

    def __init__(self, source: FixSource, body: Sequence[ast.stmt], floor: int) -> None:
        self.source = source
        self.body = body
        # The last line before the block's first statement that is not part of its lines.
        self.floor = floor

    def previous_end(self, position: int) -> int:
        return _end_line(self.body[position - 1]) if position else self.floor

    def alone_on_its_lines(self, position: int) -> bool:
        """The statement starts its line and shares no line with its neighbours."""
        statement = self.body[position]
        if not self.source.starts_line(statement):
            return False
        if position and _end_line(self.body[position - 1]) >= first_line(statement):
            return False
        following = self.body[position + 1] if position + 1 < len(self.body) else None
        return following is None or first_line(following) > _end_line(statement)

    def lines_above(self, position: int) -> list[int]:
        """The blank and comment lines right above the statement at `position`."""
        top = first_line(self.body[position])
        line = top
        while line - 1 > self.previous_end(position) and _blank_or_comment(
            self.source.line(line - 1)
        ):
            line -= 1
        return list(range(line, top))

    def insert_before(self, position: int, text: str, take_blank_lines: bool) -> TextEdit | None:
        """Insert the line `text` (indented like the statement at `position`) before that
        statement: right below the statement before it, or, with `take_blank_lines` and only
        blank lines above, after a copy of those blank lines."""
        if not self.alone_on_its_lines(position):
            return None
        statement = self.body[position]
        source = self.source
        indent = source.indent(statement)
        newline = source.newline
        above = self.lines_above(position)
        blank = all(not source.line(line).strip() for line in above)
        if take_blank_lines and blank:
            return source.insert(
                first_line(statement), indent + text + newline + newline * len(above)
            )
        where = above[0] if above else first_line(statement)
        return source.insert(where, indent + text + newline)

    def insert_after(self, position: int, text: str) -> TextEdit | None:
        """Insert the line `text` right after the statement at `position`, indented alike."""
        if not self.alone_on_its_lines(position):
            return None
        statement = self.body[position]
        return self.source.insert_after_line(
            _end_line(statement), self.source.indent(statement) + text
        )


def _blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def set_class_attribute(source: FixSource, name: str, value: str) -> list[TextEdit] | None:
    """The Migration class with `name = value`: an existing plain assignment in its body gets
    the new value; else a line is added after the docstring, `replaces` and `initial` (where
    Django's writer puts its options), spaced like the statement that follows it."""
    module = source.module
    found = migration_class(module) if module is not None else None
    if found is None or found.body[0].lineno == found.lineno:
        return None
    block = Block(source, found.body, header_end(found))
    for statement in reversed(found.body):
        assigned = _assigned(statement)
        if assigned is not None and assigned[0] == name:
            return [source.replace(source.span(assigned[1]), value)]
    position = 1 if _is_docstring(found.body[0]) else 0
    while position < len(found.body) and (_assigned(found.body[position]) or ("",))[0] in (
        "replaces",
        "initial",
    ):
        position += 1
    text = f"{name} = {value}"
    if position < len(found.body):
        edit = block.insert_before(position, text, take_blank_lines=True)
    else:
        edit = block.insert_after(position - 1, text)
    return None if edit is None else [edit]


def insert_in_function(
    source: FixSource, function: ast.FunctionDef | ast.AsyncFunctionDef, text: str
) -> TextEdit | None:
    """The line `text` first in `function`'s body (after its docstring)."""
    body = function.body
    if body[0].lineno == function.lineno:
        return None
    block = Block(source, body, header_end(function))
    if _is_docstring(body[0]):
        return block.insert_after(0, text)
    return block.insert_before(0, text, take_blank_lines=False)


def _future(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.ImportFrom) and statement.module == "__future__"


def module_text(node: ast.ImportFrom) -> str:
    return "." * node.level + (node.module or "")


def module_bindings(module: ast.Module) -> dict[str, str | None]:
    """Names bound at module level: `module.name` for a `from` import, None for anything else
    (an assignment, a def, a plain import, a name bound under an `if` or `try`)."""
    bound: dict[str, str | None] = {}
    for statement in module.body:
        if isinstance(statement, ast.ImportFrom):
            for alias in statement.names:
                if alias.name != "*":
                    bound.setdefault(
                        alias.asname or alias.name, f"{module_text(statement)}.{alias.name}"
                    )
        for name in _bound_names(statement):
            bound.setdefault(name, None)
    return bound


def _bound_names(node: ast.AST) -> Iterator[str]:
    """Names a module-level statement binds (not those inside functions or classes)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield node.name
        return
    if isinstance(node, ast.Lambda):
        return
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        yield node.id
    elif isinstance(node, ast.Import | ast.ImportFrom):
        for alias in node.names:
            yield (alias.asname or alias.name).partition(".")[0]
    elif isinstance(node, ast.ExceptHandler) and node.name:
        yield node.name
    for child in ast.iter_child_nodes(node):
        yield from _bound_names(child)


def ensure_import(
    source: FixSource, module_name: str, name: str
) -> tuple[list[TextEdit], str] | None:
    """The edits that add `from module_name import name` (none when it is imported already)
    and the local name to use; None when that name is bound to something else."""
    module = source.module
    if module is None:
        return None
    bound = module_bindings(module)
    for local, target in bound.items():
        if target == f"{module_name}.{name}":
            return [], local
    if name in bound:
        return None
    body = module.body
    block = Block(source, body, 0)
    text = f"from {module_name} import {name}"
    position = 0
    while position < len(body) and (_is_docstring(body[position]) or _future(body[position])):
        position += 1
    first = position
    while position < len(body) and isinstance(body[position], ast.Import | ast.ImportFrom):
        statement = body[position]
        if isinstance(statement, ast.ImportFrom) and module_text(statement) > module_name:
            break
        position += 1
    if position == first and position < len(body):
        # First of the imports: after the blank lines above them, before their comments,
        # except above the module's first statement, where comments head the file.
        if not block.alone_on_its_lines(position):
            return None
        above = block.lines_above(position) if position else []
        where = next(
            (line for line in above if source.line(line).strip()), first_line(body[position])
        )
        return [source.insert(where, text + source.newline)], name
    if position == 0:
        # A module with no statement (but comments, maybe): at its end.
        return [source.insert_after_line(len(source.index.starts), text)], name
    edit = block.insert_after(position - 1, text)
    return None if edit is None else ([edit], name)


def remove_unused_import(
    source: FixSource,
    local: str,
    binding_functions: Sequence[str] = (),
    replaced: Sequence[ast.AST] = (),
) -> list[TextEdit]:
    """The edits that remove the module-level `from ... import ... as local` when nothing
    else refers to `local`: the fix adds a binding of it in the `binding_functions`, or
    replaces the `replaced` nodes. None when it is still used."""
    module = source.module
    ignored = {id(node) for root in replaced for node in ast.walk(root)}
    if module is None or _referenced(module, local, set(binding_functions), False, ignored):
        return []
    block = Block(source, module.body, 0)
    for position, statement in enumerate(module.body):
        if not isinstance(statement, ast.ImportFrom):
            continue
        names = [alias.asname or alias.name for alias in statement.names]
        if local not in names:
            continue
        if not block.alone_on_its_lines(position):
            return []
        if len(names) > 1:
            return _without_name(source, statement, local)
        return [_delete_statement(block, position)]
    return []


def _without_name(source: FixSource, statement: ast.stmt, local: str) -> list[TextEdit]:
    from miglint.fixes.cst import without_import

    span = source.span(statement)
    rewritten = without_import(source.slice(span), local)
    return [] if rewritten is None else [source.replace(span, rewritten)]


def _delete_statement(block: Block, position: int) -> TextEdit:
    """Delete the statement at `position` with its lines, spacing what follows as before:
    comments above it stay; the first statement of a block leaves its blank lines to what
    follows; any other takes its blank lines with it."""
    source = block.source
    statement = block.body[position]
    above = block.lines_above(position)
    end = _end_line(statement) + 1
    start = first_line(statement)
    if any(source.line(line).strip() for line in above):
        pass
    elif position == 0:
        if position + 1 < len(block.body):
            end = first_line(block.body[position + 1])
    elif above:
        start = above[0]
    return source.delete_lines(start, end)


def _referenced(
    node: ast.AST, name: str, binding_functions: set[str], shadowed: bool, ignored: set[int]
) -> bool:
    """Whether `node` refers to the module-level `name` somewhere it is not shadowed by a
    function's own binding of it (nodes in `ignored` do not count)."""
    for child in ast.iter_child_nodes(node):
        if id(child) in ignored:
            continue
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            local = (
                shadowed
                or _binds(child, name)
                or (not isinstance(child, ast.Lambda) and child.name in binding_functions)
            )
            if _referenced(child, name, binding_functions, local, ignored):
                return True
        elif (isinstance(child, ast.Name) and child.id == name and not shadowed) or _referenced(
            child, name, binding_functions, shadowed, ignored
        ):
            return True
    return False


def _binds(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, name: str) -> bool:
    """Whether `name` is local to `function` (a parameter, or bound in its body)."""
    arguments = function.args
    parameters = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    parameters += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    if any(parameter.arg == name for parameter in parameters):
        return True
    if isinstance(function, ast.Lambda):
        return False
    for statement in function.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Global | ast.Nonlocal) and name in node.names:
                return False
        if name in set(_bound_names(statement)):
            return True
    return False
