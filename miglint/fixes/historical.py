"""MIG601's fix: a RunPython function asks `apps.get_model()` for the historical model instead
of using today's model class imported from an app's `models` module.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from miglint import syntax as s
from miglint.finding import UNSAFE, Edit
from miglint.fixes.source import FixSource
from miglint.nodes import Migration
from miglint.project import Project

if TYPE_CHECKING:
    import libcst as cst

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


def historical_model(
    source: FixSource, function: s.FunctionDef, imported: s.Import, inside: bool
) -> Edit | None:
    """`Model = apps.get_model("app", "Model")` first in `function`, for the model it imports
    from an app's `models` module (`imported`, at module level or `inside` the function)."""
    import libcst as cst

    from miglint.fixes import cst as c

    tree = source.tree
    migration = source.migration
    if tree is None or migration is None or imported.name is None:
        return None
    label = app_label_of(source.project, migration, imported.module)
    node = tree.function(function.name)
    if label is None or node is None or not node.params.params:
        return None
    apps = node.params.params[0].name.value
    assignment = cst.parse_statement(
        f'{imported.alias} = {apps}.get_model("{label}", "{imported.name}")'
    )
    if inside:
        updated = _replace_local_import(node, imported, assignment)
        if updated is None:
            return None
        module = c.replace_nodes(tree.module, {node: updated})
    else:
        inserted = c.insert_in_function(node, [assignment])
        if inserted is None:
            return None
        module = c.replace_nodes(tree.module, {node: inserted})
        module = c.remove_unused_import(module, imported.alias)
    return source.edit(
        module.code,
        UNSAFE,
        f'Use the historical model: `{imported.alias} = {apps}.get_model("{label}", '
        f'"{imported.name}")` in {function.name}()',
    )


def _replace_local_import(
    function: cst.FunctionDef, imported: s.Import, assignment: cst.BaseStatement
) -> cst.FunctionDef | None:
    """`function` with its own `from ... import Model` replaced by `assignment` (or, when the
    line imports more, without that name and with `assignment` after it)."""
    import libcst as cst

    if not isinstance(function.body, cst.IndentedBlock):
        return None
    body = list(function.body.body)
    for position, statement in enumerate(body):
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            continue
        node = statement.body[0]
        if not isinstance(node, cst.ImportFrom) or isinstance(node.names, cst.ImportStar):
            continue
        aliases = list(node.names)
        matching = [alias for alias in aliases if _local_name(alias) == imported.alias]
        if not matching or _module_text(node) != imported.module:
            continue
        if len(aliases) == 1:
            body[position] = assignment.with_changes(
                leading_lines=statement.leading_lines,
                trailing_whitespace=statement.trailing_whitespace,
            )
        else:
            remaining = [alias for alias in aliases if alias is not matching[0]]
            if node.rpar is None or aliases[-1].comma is cst.MaybeSentinel.DEFAULT:
                remaining[-1] = remaining[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            body[position] = statement.with_changes(body=[node.with_changes(names=remaining)])
            body.insert(position + 1, assignment)
        return function.with_changes(body=function.body.with_changes(body=body))
    return None


def _local_name(alias: cst.ImportAlias) -> str | None:
    import libcst as cst

    local = alias.asname.name if alias.asname else alias.name
    return local.value if isinstance(local, cst.Name) else None


def _module_text(node: cst.ImportFrom) -> str:
    from miglint.fixes import cst as c

    dots = "." * len(node.relative)
    return dots + ("" if node.module is None else c.dotted_name(node.module) or "")


def user_model(source: FixSource, function: s.FunctionDef, span: s.Span) -> Edit | None:
    """`get_user_model()` in `function` -> `apps.get_model(settings.AUTH_USER_MODEL)`."""
    import libcst as cst

    from miglint.fixes import cst as c

    tree = source.tree
    node = tree.function(function.name) if tree is not None else None
    if tree is None or node is None or not node.params.params:
        return None
    call = tree.call_at(span)
    if call is None or call.args or not tree.contains(node, call):
        return None
    callee = c.dotted_name(call.func)
    if callee is None or callee.rpartition(".")[2] != "get_user_model":
        return None
    bindings = c.module_bindings(tree.module)
    settings = next(
        (name for name, target in bindings.items() if target == "django.conf.settings"), None
    )
    if settings is None and "settings" in bindings:
        return None
    apps = node.params.params[0].name.value
    replacement = cst.parse_expression(
        f"{apps}.get_model({settings or 'settings'}.AUTH_USER_MODEL)"
    )
    module = c.replace_nodes(tree.module, {call: replacement})
    if "." not in callee:
        module = c.remove_unused_import(module, callee)
    imported = c.ensure_import(module, "django.conf", "settings")
    if imported is None:
        return None
    return source.edit(
        imported[0].code,
        UNSAFE,
        f"Use the historical user model: `{apps}.get_model(settings.AUTH_USER_MODEL)` in "
        f"{function.name}()",
    )
