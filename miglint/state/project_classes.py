"""The project's own classes that migration files name (`myapp.storage.PrivateStorage`, an
operation subclass), read from source with the models reader to tell how Django treats
them: whether an object of the class is written in a migration as its call, and what an
operation class does to the model state (the `ProjectCode` that `values` and `state` ask).
"""

from __future__ import annotations

import re

from miglint.graph.nodes import App
from miglint.source import syntax as s
from miglint.state.effects import EXTENSION_OPERATIONS
from miglint.state.model_scopes import ModuleScope
from miglint.state.model_source import ClassInfo, ClassRef, Module, Reader, read_text
from miglint.state.models import ModelsReader

_MIGRATIONS = ("django.db.migrations.", "django.contrib.postgres.operations.")


# Django's operations that change no model state.
_STATELESS = frozenset(
    {
        "RunPython",
        *EXTENSION_OPERATIONS,
        "CreateCollation",
        "RemoveCollation",
        "ValidateConstraint",
    }
)


class ProjectClasses:
    """The project's own classes named by a migration (`myapp.storage.PrivateStorage`),
    read from source to tell how Django treats them."""

    def __init__(self, app: App, apps: tuple[App, ...], top: str, read: Reader = read_text):
        self.reader = ModelsReader(app, apps, top, read)

    def _class(self, qualified: str, from_path: str) -> tuple[ClassRef, Module] | None:
        owner, _, name = qualified.rpartition(".")
        # No dot: a class defined (or imported) in the migration file itself.
        path = self.reader.module_file(owner, from_path) if owner.strip(".") else from_path
        module = self.reader.module(path) if path else None
        if module is None:
            return None
        target = self.reader.resolve(name, module)
        return (target, module) if isinstance(target, ClassRef) else None

    def check_object(self, qualified: str, from_path: str) -> None:
        found = self._class(qualified, from_path)
        if found is not None:
            ref, module = found
            ModuleScope(self.reader, module).check_object(ref.node.name)

    def operation_effect(self, qualified: str, from_path: str) -> str | None:
        found = self._class(qualified, from_path)
        if found is None:
            return None
        return _operation_effect(self.reader, self.reader.info(found[0]))


def _operation_effect(reader: ModelsReader, info: ClassInfo) -> str | None:
    """ "none" for an operation class that changes no model state, the Django operation a
    subclass behaves like, or None when its state_forwards() is its own."""
    django: set[str] = set()
    stack, seen = [info], 0
    while stack and seen < 50:
        current = stack.pop()
        seen += 1
        if current.ref is None:
            return None
        methods = {st.name: st for st in current.ref.node.body if isinstance(st, s.FunctionDef)}
        forwards = methods.get("state_forwards")
        if forwards is not None:
            return "none" if _does_nothing(current.ref.module, forwards) else None
        for base in current.ref.node.bases:
            target = (
                reader.resolve(base.name, current.ref.module) if isinstance(base, s.Ref) else None
            )
            if isinstance(target, ClassRef):
                stack.append(reader.info(target))
            elif isinstance(target, tuple) and target[0] == "external":
                qualified = str(target[1])
                if not qualified.startswith(_MIGRATIONS):
                    return None
                django.add(qualified.rpartition(".")[2])
            elif not (isinstance(base, s.Ref) and base.name == "object"):
                return None
    if django and django <= _STATELESS:
        return "none"
    if len(django) == 1 and "Operation" not in django:
        name = django.pop()
        # Its own __init__ may take other arguments than the Django operation's.
        return None if _defines(info, "__init__") else name
    return None


def _defines(info: ClassInfo, method: str) -> bool:
    stack, seen = [info], 0
    while stack and seen < 50:
        current = stack.pop()
        seen += 1
        if current.ref is not None and any(
            isinstance(st, s.FunctionDef) and st.name == method for st in current.ref.node.body
        ):
            return True
        stack.extend(current.parents)
    return False


def _does_nothing(module: Module, function: s.FunctionDef) -> bool:
    """Whether a method's body is only `pass`, a docstring or a bare return."""
    lines = module.text.splitlines()[function.span.line : function.span.end_line]
    body = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    if len(body) > 3:
        return False
    text = " ".join(body)
    return bool(re.fullmatch(r"""(("{3}|'{3}|["']).*?\2\s*)?(pass|return( None)?|\.\.\.)?""", text))
