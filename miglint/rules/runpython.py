"""The functions given to RunPython, as the data-migration rules (MIG6xx) read them.

The functions are the module-level functions named in `RunPython(code, reverse_code)` (also
by keyword and through `functools.partial`), plus the module-level functions they call; a
function imported from another module cannot be seen and is skipped. Chains (`Order.objects.filter().update`)
are resolved through the function's local names, so the rules can tell which calls read or
write a table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from miglint.graph.nodes import Migration
from miglint.source import syntax as s
from miglint.source.facts import Operation
from miglint.state.history import database_operations

if TYPE_CHECKING:
    pass


MANAGERS = ("objects", "_default_manager", "_base_manager")


# Calls that return a queryset (or a manager's): iterating one reads rows from a table.
_QUERYSET_CALLS = (
    "all",
    "filter",
    "exclude",
    "iterator",
    "select_related",
    "prefetch_related",
    "order_by",
    "only",
    "defer",
    "distinct",
    "annotate",
    "using",
    "values",
    "values_list",
)


_QUERYSET_CALL = re.compile(r"\.(?:" + "|".join(_QUERYSET_CALLS) + r")\(\)")


_MANAGER = re.compile(r"\.(?:" + "|".join(MANAGERS) + r")(?:\.|$)")


@dataclass(frozen=True)
class RunPythonFunction:
    """A module-level function that RunPython runs, directly or through the functions it calls."""

    function: s.FunctionDef
    operation: Operation
    # "code" or "reverse_code"; the function reached through calls keeps its caller's role.
    role: str
    # Where the operation names it.
    span: s.Span
    # Positional arguments bound by functools.partial (the direct function only).
    bound: int = 0
    direct: bool = True
    # Parameters bound by name through functools.partial; None when `*`/`**` hide them.
    keywords: tuple[str, ...] | None = ()


def runpython_functions(migration: Migration) -> Iterator[RunPythonFunction]:
    """Every function the migration's RunPython operations run, each once per role."""
    facts = migration.facts
    functions = {function.name: function for function in facts.function_defs}
    seen: set[tuple[str, str]] = set()
    for _, operation in database_operations(facts.operations):
        if not operation.is_("RunPython") or operation.call is None:
            continue
        for position, role in ((0, "code"), (1, "reverse_code")):
            value = operation.argument(position, role)
            bound = 0
            keywords: tuple[str, ...] | None = ()
            if isinstance(value, s.Call) and value.name == "partial" and value.args:
                bound = len(value.args) - 1
                keywords = None if value.has_star else tuple(k.name for k in value.kwargs)
                value = value.args[0]
            if not isinstance(value, s.Ref) or value.name not in functions:
                continue
            span = operation.argument_span(position, role)
            queue = [functions[value.name]]
            direct = True
            while queue:
                function = queue.pop(0)
                if (function.name, role) in seen:
                    continue
                seen.add((function.name, role))
                yield RunPythonFunction(function, operation, role, span, bound, direct, keywords)
                direct = False
                queue.extend(
                    functions[call.callee]
                    for call in function.body.calls
                    if call.callee in functions
                )


def enclosing_loops(body: s.FunctionBody, index: int) -> Iterator[s.Loop]:
    while 0 <= index < len(body.loops):
        loop = body.loops[index]
        yield loop
        index = loop.parent


def binding_of(body: s.FunctionBody, name: str) -> s.Binding | None:
    found = None
    for binding in body.bindings:
        if binding.name == name:
            found = binding
    return found


def resolved_chain(body: s.FunctionBody, chain: str) -> str:
    """`chain`, or what a bare local name in it was assigned from (one level)."""
    if chain.isidentifier():
        binding = binding_of(body, chain)
        if binding is not None:
            return binding.chain
    return chain


def reads_table(chain: str) -> bool:
    """The chain is a queryset of a model (`Order.objects.filter()`, `order.lines.all()`)."""
    return bool(_MANAGER.search(chain) or _QUERYSET_CALL.search(chain))


def from_manager(chain: str) -> bool:
    return bool(_MANAGER.search(chain))


def receiver_of(callee: str) -> tuple[str, str]:
    receiver, _, method = callee.rpartition(".")
    return receiver, method
