"""What `migrate APP TARGET` would run, planned statically as Django's executor plans it.

Every migration on disk is taken as applied (the state after a full `migrate`), so the plan
is what rolling back to TARGET unapplies: the target's children in its app and everything
that depends on them, in any app, in `MigrationExecutor.migration_plan`'s order. Each step
says whether Django can reverse it and what data the step destroys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from miglint import sql
from miglint.graph.graph import MigrationGraph, build_graph
from miglint.graph.nodes import Migration, NodeKey
from miglint.project.load import Project
from miglint.source import syntax as s
from miglint.source.facts import Operation
from miglint.state.history import database_operations

ZERO = "zero"


class PlanError(Exception):
    """A plan that cannot be made: unknown app or target, or a graph Django cannot load."""


@dataclass(frozen=True)
class PlanStep:
    migration: Migration
    backwards: bool
    reversible: bool
    # Why the step cannot be reversed, and what else a rollback of it does not undo.
    reasons: tuple[str, ...] = ()
    # The data this step drops (columns, tables, rows).
    destroys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    app: str
    # The resolved migration name, or "zero".
    target: str
    direction: str
    steps: tuple[PlanStep, ...]
    # What may make the plan differ from Django's (unreadable files, conflicts).
    warnings: tuple[str, ...] = ()

    @property
    def irreversible(self) -> tuple[PlanStep, ...]:
        return tuple(step for step in self.steps if not step.reversible)


def make_plan(project: Project, app: str, target: str) -> Plan:
    """Plan `migrate app target` on a database where every migration on disk is applied."""
    app_key = _app_key(project, app)
    graph = project.graph
    _check_graph(graph)
    warnings = list(_warnings(project))
    if target == ZERO:
        keys = _unapply_all(graph, app_key)
        return _plan(app, ZERO, "backwards", keys, graph, warnings)
    key = resolve_target(project, app_key, app, target)
    if key not in graph.nodes:
        # A migration replaced by a squash: Django plans on the graph without replacements.
        graph = _without_replacements(project)
        _check_graph(graph)
    children = sorted(child for child in graph.children[key] if child[0] == app_key)
    applied = set(graph.nodes)
    keys = []
    for child in children:
        for node in graph.backwards_plan(child):
            if node in applied:
                keys.append(node)
                applied.discard(node)
    direction = "backwards" if children else "forwards"
    return _plan(app, key[1], direction, keys, graph, warnings)


def _plan(
    app: str,
    target: str,
    direction: str,
    keys: list[NodeKey],
    graph: MigrationGraph,
    warnings: list[str],
) -> Plan:
    steps = tuple(backwards_step(graph.nodes[key]) for key in keys)
    return Plan(app, target, direction, steps, tuple(warnings))


def _app_key(project: Project, app: str) -> str:
    for candidate in project.apps:
        if candidate.label == app and candidate.key == app:
            return candidate.key
    known = ", ".join(sorted({a.label for a in project.apps})) or "none found"
    raise PlanError(f"unknown app {app!r}: no migrations package with that label (apps: {known})")


def resolve_target(project: Project, app_key: str, app: str, target: str) -> NodeKey:
    """The migration TARGET names, by prefix as `migrate` accepts it (Django's errors)."""
    matches = sorted(
        key for key in project.graph.disk if key[0] == app_key and key[1].startswith(target)
    )
    if len(matches) > 1:
        names = ", ".join(key[1] for key in matches)
        raise PlanError(
            f"more than one migration matches {target!r} in app {app!r} ({names}); "
            "please be more specific"
        )
    if not matches:
        raise PlanError(f"cannot find a migration matching {target!r} from app {app!r}")
    return matches[0]


def _check_graph(graph: MigrationGraph) -> None:
    if graph.missing:
        missing = graph.missing[0]
        raise PlanError(
            f"{missing.migration.label} depends on {missing.target[0]}.{missing.target[1]}, "
            "which does not exist: Django cannot load the migrations (see `miglint check`)"
        )
    if graph.cycles:
        cycle = " -> ".join(f"{a}.{n}" for a, n in graph.cycles[0])
        raise PlanError(f"circular dependency {cycle}: Django cannot load the migrations")


def _warnings(project: Project) -> Iterator[str]:
    for migration in project.migrations:
        if not migration.readable:
            yield f"{migration.label} cannot be read; the plan leaves it out"
    for app_key in project.graph.app_keys():
        leaves = project.graph.leaf_nodes(app_key)
        if len(leaves) > 1:
            names = ", ".join(name for _, name in leaves)
            yield (
                f"app {app_key!r} has conflicting leaf migrations ({names}); `migrate` refuses "
                "to run until they are merged"
            )


def _unapply_all(graph: MigrationGraph, app_key: str) -> list[NodeKey]:
    """`migrate APP zero`: unapply from each root of the app (Django's order)."""
    applied = set(graph.nodes)
    keys: list[NodeKey] = []
    for root in graph.root_nodes(app_key):
        for node in graph.backwards_plan(root):
            if node in applied:
                keys.append(node)
                applied.discard(node)
    return keys


def _without_replacements(project: Project) -> MigrationGraph:
    """The graph Django's loader builds with `replace_migrations = False`."""
    migrations = [
        dataclasses.replace(m, facts=dataclasses.replace(m.facts, replaces=()))
        for m in project.migrations
    ]
    labels = {app.label: app.key for app in project.apps if app.key == app.label}
    return build_graph(migrations, labels)


def backwards_step(migration: Migration) -> PlanStep:
    """Unapplying `migration`: can Django do it, and what does it drop."""
    if not migration.readable:
        return PlanStep(
            migration, True, True, ("the file cannot be read; reversibility not checked",)
        )
    reasons: list[str] = []
    destroys: list[str] = []
    reversible = True
    functions = {f.name: f for f in migration.facts.function_defs}
    for index, operation in enumerate(migration.facts.operations, start=1):
        problem = _irreversible(operation)
        if problem is not None:
            reversible = False
            reasons.append(problem)
        elif operation.call is None:
            reasons.append(
                f"operation {index} ({operation.source or 'unreadable'}) cannot be read "
                "statically; reversibility not checked"
            )
        elif not operation.is_django and not operation.name.startswith("<"):
            reasons.append(
                f"{operation.name} is a custom operation; miglint assumes it is reversible "
                "(Django's default)"
            )
    for _, operation in database_operations(migration.facts.operations):
        destroys.extend(_undo_destroys(migration, operation, functions))
        reasons.extend(_not_restored(migration, operation))
    return PlanStep(migration, True, reversible, tuple(reasons), tuple(destroys))


def _irreversible(operation: Operation) -> str | None:
    """Why Django cannot unapply `operation`, or None."""
    if operation.is_("SeparateDatabaseAndState"):
        for _, inner in database_operations(operation.database_operations):
            problem = _irreversible(inner)
            if problem is not None:
                return (
                    f"SeparateDatabaseAndState runs {problem.partition(' ')[0]} without a "
                    "reverse: unapplying it fails with NotImplementedError"
                )
        return None
    for name, keyword in (("RunPython", "reverse_code"), ("RunSQL", "reverse_sql")):
        if not operation.is_(name) or operation.call is None or operation.call.has_star:
            continue
        reverse = operation.argument(1, keyword)
        if reverse is s.MISSING or reverse is None:
            first = operation.argument(0, "code" if name == "RunPython" else "sql")
            what = _short(first)
            written = "no" if reverse is s.MISSING else f"{keyword}=None, no"
            return f"{name}({what}) has {written} {keyword}: Django raises IrreversibleError"
    return None


def _short(value: s.Value | s.Missing) -> str:
    if isinstance(value, s.Ref):
        return value.name
    if isinstance(value, s.Call):
        return f"{value.func}(...)"
    if isinstance(value, str):
        text = " ".join(value.split())
        return repr(text if len(text) <= 40 else text[:37] + "...")
    return "..."


def _model(migration: Migration, value: s.Value | s.Missing) -> str:
    name = value if isinstance(value, str) else "?"
    return f"{migration.app}.{name}"


def _undo_destroys(
    migration: Migration, operation: Operation, functions: dict[str, s.FunctionDef]
) -> Iterator[str]:
    """What reversing `operation` drops."""
    if operation.is_("AddField"):
        model = _model(migration, operation.argument(0, "model_name"))
        name = operation.argument(1, "name")
        field = operation.argument(2, "field")
        label = f"{model}.{name if isinstance(name, str) else '?'}"
        if isinstance(field, s.Call) and field.name == "ManyToManyField":
            yield f"table of many-to-many field {label}"
        else:
            yield f"column {label}"
    elif operation.is_("CreateModel"):
        options = operation.argument(2, "options")
        if s.dict_item(options, "proxy") is True or s.dict_item(options, "managed") is False:
            return
        yield f"table {_model(migration, operation.argument(0, 'name'))}"
    elif operation.is_("RunSQL"):
        reverse_sql = sql.runsql_argument(operation.argument(1, "reverse_sql"), operation.span)
        yield from _sql_destroys(reverse_sql, "reverse_sql")
    elif operation.is_("RunPython"):
        reverse = operation.argument(1, "reverse_code")
        if isinstance(reverse, s.Call) and reverse.name == "partial" and reverse.args:
            reverse = reverse.args[0]
        if isinstance(reverse, s.Ref) and reverse.name in functions:
            body = functions[reverse.name].body
            if any(call.callee.endswith(".delete") for call in body.calls):
                yield f"rows deleted by {reverse.name}()"


def _not_restored(migration: Migration, operation: Operation) -> Iterator[str]:
    """What rolling back `operation` re-creates empty: the data it dropped stays lost."""
    if operation.is_("RemoveField"):
        model = _model(migration, operation.argument(0, "model_name"))
        name = operation.argument(1, "name")
        yield (
            f"rolling back RemoveField re-creates column {model}."
            f"{name if isinstance(name, str) else '?'} empty: its data is not restored"
        )
    elif operation.is_("DeleteModel"):
        yield (
            f"rolling back DeleteModel re-creates table "
            f"{_model(migration, operation.argument(0, 'name'))} empty: its rows are not restored"
        )


def _sql_destroys(argument: sql.SqlArgument, which: str) -> Iterator[str]:
    for statement in argument.statements():
        for hazard in statement.hazards:
            if hazard.kind not in sql.DESTRUCTIVE:
                continue
            target = hazard.table or "?"
            if hazard.column:
                target = f"{target}.{hazard.column}"
            yield f"{hazard.kind.replace('-', ' ')} {target} ({which})"
