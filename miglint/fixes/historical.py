"""MIG601's fix: a RunPython function asks `apps.get_model()` for the historical model instead
of using today's model class imported from an app's `models` module.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Sequence

from miglint.core.finding import UNSAFE, Edit, TextEdit
from miglint.fixes import statements
from miglint.fixes.source import FixSource
from miglint.graph.nodes import Migration
from miglint.project.load import Project
from miglint.source import syntax as s

# django.contrib apps with models, by module: their app label.
_CONTRIB_LABELS = {
    f"django.contrib.{name}": name
    for name in ("admin", "auth", "contenttypes", "flatpages", "redirects", "sessions", "sites")
}


def app_label_of(project: Project, migration: Migration, module: str) -> str | None:
    """The label of the app whose `models` module `module` names, when it is certain: an app
    of the tree (its folder path ends with the module path), a django.contrib app, or, for
    `from ..models import X` in a migrations package, the migration's own app."""
    dots = len(module) - len(module.lstrip("."))
    parts = module.lstrip(".").split(".")
    if "models" not in parts:
        return None
    package = parts[: parts.index("models")]
    if dots:
        app = project.apps_by_key.get(migration.app_key)
        inside_app = app is not None and os.path.dirname(
            os.path.abspath(app.migrations_path)
        ) == os.path.abspath(app.path)
        return migration.app if dots == 2 and not package and inside_app else None
    if not package:
        return None
    dotted = ".".join(package)
    if dotted in _CONTRIB_LABELS:
        return _CONTRIB_LABELS[dotted]
    labels = {
        app.label
        for app in project.apps
        if tuple(os.path.abspath(app.path).split(os.sep)[-len(package) :]) == tuple(package)
    }
    return labels.pop() if len(labels) == 1 else None


def _function(
    source: FixSource, name: str
) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, str] | None:
    """The module-level function `name` (the last definition) and its first parameter, the
    `apps` that RunPython passes."""
    found = source.function(name)
    if found is None:
        return None
    parameters = [*found.args.posonlyargs, *found.args.args]
    return (found, parameters[0].arg) if parameters else None


def historical_model(
    source: FixSource, functions: Sequence[s.FunctionDef], imported: s.Import, inside: bool
) -> Edit | None:
    """`Model = apps.get_model("app", "Model")` first in each of `functions`, for the model
    `imported` from an app's `models` module: at module level, then the import goes when
    nothing else uses it; or `inside` the (one) function, whose import it replaces."""
    migration = source.migration
    if migration is None or imported.name is None or not functions:
        return None
    label = app_label_of(source.project, migration, imported.module)
    if label is None:
        return None
    edits: list[TextEdit] = []
    names = list(dict.fromkeys(function.name for function in functions))
    for name in names:
        found = _function(source, name)
        if found is None:
            return None
        node, apps = found
        assignment = f'{imported.alias} = {apps}.get_model("{label}", "{imported.name}")'
        if inside:
            replaced = _replace_local_import(source, node, imported, assignment)
            if replaced is None:
                return None
            edits += replaced
            break
        inserted = statements.insert_in_function(source, node, assignment)
        if inserted is None:
            return None
        edits.append(inserted)
    if not inside:
        edits += statements.remove_unused_import(source, imported.alias, names)
    where = ", ".join(f"{name}()" for name in (names[:1] if inside else names))
    return source.edit(
        edits,
        UNSAFE,
        f'Use the historical model: `{imported.alias} = apps.get_model("{label}", '
        f'"{imported.name}")` in {where}',
    )


def _replace_local_import(
    source: FixSource,
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    imported: s.Import,
    assignment: str,
) -> list[TextEdit] | None:
    """The function's own `from ... import Model` replaced by `assignment` (or, when the
    line imports more, that name taken out and `assignment` on the next line)."""
    from miglint.fixes.cst import without_import

    block = statements.Block(source, function.body, statements.header_end(function))
    for position, statement in enumerate(function.body):
        if not isinstance(statement, ast.ImportFrom):
            continue
        names = [alias.asname or alias.name for alias in statement.names]
        if imported.alias not in names or statements.module_text(statement) != imported.module:
            continue
        if not block.alone_on_its_lines(position):
            return None
        span = source.span(statement)
        if len(names) == 1:
            return [source.replace(span, assignment)]
        rest = without_import(source.slice(span), imported.alias)
        after = block.insert_after(position, assignment)
        if rest is None or after is None:
            return None
        return [source.replace(span, rest), after]
    return None


def user_model(source: FixSource, function: s.FunctionDef, span: s.Span) -> Edit | None:
    """`get_user_model()` in `function` -> `apps.get_model(settings.AUTH_USER_MODEL)`."""
    module = source.module
    found = _function(source, function.name)
    call = source.call_node(span)
    if module is None or found is None or call is None or call.args or call.keywords:
        return None
    node, apps = found
    if not node.lineno <= call.lineno <= (node.end_lineno or node.lineno):
        return None
    callee = source.slice(source.span(call.func))
    if callee.rpartition(".")[2] != "get_user_model":
        return None
    bindings = statements.module_bindings(module)
    settings = next((n for n, target in bindings.items() if target == "django.conf.settings"), None)
    import_edits: list[TextEdit] = []
    if settings is None:
        imported = statements.ensure_import(source, "django.conf", "settings")
        if imported is None:
            return None
        import_edits, settings = imported
    replacement = f"{apps}.get_model({settings}.AUTH_USER_MODEL)"
    edits = [source.replace(source.span(call), replacement), *import_edits]
    if isinstance(call.func, ast.Name):
        edits += statements.remove_unused_import(source, callee, replaced=[call])
    return source.edit(
        edits,
        UNSAFE,
        f"Use the historical user model: `{replacement}` in {function.name}()",
    )
