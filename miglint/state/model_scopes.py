"""How names resolve in models source: a module's names (`ModuleScope`), a model's `Meta`
(`MetaScope`) and a class body (`ClassScope`), with the models reader (`ClassResolver`)
following imports and base classes. Names of models, Choices members and Django's own
deconstructible classes become canonical values (see `values`); what cannot be decided is
`Undecidable`.
"""

from __future__ import annotations

import builtins
from typing import cast

from miglint.source import syntax as s
from miglint.source.parse import qualify
from miglint.state.model_source import (
    USER_SETTING,
    ClassInfo,
    ClassRef,
    ClassResolver,
    Module,
    external_model,
)
from miglint.state.values import Resolved, Undecidable, Undecided, canonical


class ModuleScope:
    """Names as seen from one module of the project: imports, constants, classes."""

    def __init__(self, reader: ClassResolver, module: Module) -> None:
        self.reader = reader
        self.module = module

    def qualify(self, dotted: str) -> str:
        target = self.reader.resolve(dotted, self.module)
        if isinstance(target, tuple) and target[0] == "external":
            return str(target[1])
        return qualify(dotted, self.module.aliases)

    def lookup(self, dotted: str) -> s.Value | Resolved | None:
        target = self.reader.resolve(dotted, self.module)
        kind = target[0] if isinstance(target, tuple) else None
        if isinstance(target, tuple) and kind == "value":
            value, owner, bound = target[1], target[2], str(target[3])
            assert isinstance(owner, Module)
            scope = self if owner is self.module else ModuleScope(self.reader, owner)
            if isinstance(value, s.Call) and value.name[:1].isupper():
                # An object bound to a name: a migration may import that name (the same
                # object) or write how the object deconstructs.
                try:
                    built = canonical(value, scope)
                except Undecidable as error:
                    return Resolved(("object", bound, ("opaque", str(error))))
                if isinstance(built, tuple) and built[:1] == ("call",):
                    return Resolved(("object", bound, built))
                return Resolved(built)
            if owner is self.module:
                return cast(s.Value, value)
            return Resolved(canonical(cast(s.Value, value), scope))
        if isinstance(target, ClassRef):
            info = self.reader.info(target)
            if info.kind == "model":
                doubt = self.reader.placement_unknown(info)
                if doubt is not None:
                    raise Undecidable(f"{target.node.name} {doubt}")
                return Resolved(
                    ("model", f"{self.reader.label_of(info)}.{target.node.name}".lower())
                )
            if info.kind == "choices":
                if isinstance(info.choices, Undecided):
                    raise Undecidable(info.choices.reason)
                return Resolved(("choices-class", info.choices))
            # Any other class is written in a migration as a reference to it.
            return None
        if isinstance(target, tuple) and kind == "attribute":
            ref, rest = target[1], target[2]
            assert isinstance(ref, ClassRef) and isinstance(rest, str)
            return self._attribute(ref, rest)
        if isinstance(target, tuple) and kind == "external":
            qualified = str(target[1])
            model = external_model(qualified)
            if model is not None and qualified.startswith("django."):
                return Resolved(("model", model))
            if model is not None:
                # The package's AppConfig may give its app another label than the folder's.
                label, _, name = model.partition(".")
                return Resolved(("external-model", label, name))
            if qualified.startswith("django.conf.settings.") and qualified != USER_SETTING:
                # A migration holds the setting's value, which is not in the source.
                raise Undecidable(f"the value of {dotted}")
            return None
        if kind == "function":
            return None
        if kind in ("value-attribute", "module"):
            raise Undecidable(f"the value of {dotted}")
        if "." not in dotted and hasattr(builtins, dotted):
            return None
        # Defined conditionally, star-imported from outside the tree, or not at all.
        raise Undecidable(f"{dotted} cannot be resolved")

    def check_object(self, func: str) -> None:
        """Raise Undecidable unless an object built by `func(...)` is written in a migration
        as that same call (a deconstructible class that keeps its constructor arguments)."""
        target = self.reader.resolve(func, self.module)
        if not isinstance(target, ClassRef):
            return
        info = self.reader.info(target)
        if info.kind in ("model", "field", "manager", "choices"):
            return
        reason = _deconstruction(info)
        if reason is not None:
            raise Undecidable(
                f"how {target.node.name} objects are written in a migration: {reason}"
            )

    def _attribute(self, ref: ClassRef, rest: str) -> s.Value | Resolved | None:
        info = self.reader.info(ref)
        member, _, attribute = rest.partition(".")
        if info.kind == "enum":
            return _enum_member(info, ref.node.name, member, attribute)
        if info.kind == "model" and member == "Meta" and attribute and "." not in attribute:
            found = (info.meta or {}).get(attribute)
            if found is None or info.meta_undecided:
                raise Undecidable(f"{ref.node.name}.{rest}")
            meta_value, owner = found
            return Resolved(canonical(meta_value, ModuleScope(self.reader, owner)))
        if info.kind != "choices":
            inner = ClassScope(self.reader, ref)
            if member in inner.values or member in inner.classes:
                return inner.lookup(rest)
            methods = {st.name for st in ref.node.body if isinstance(st, s.FunctionDef)}
            if member in methods and not attribute:
                # A method or static function: a migration names it.
                return Resolved(("ref", member))
            raise Undecidable(f"{ref.node.name}.{rest}")
        if isinstance(info.choices, Undecided):
            raise Undecidable(info.choices.reason)
        if member == "choices":
            return Resolved(info.choices)
        if member in ("values", "labels", "names"):
            position = {"values": 0, "labels": 1}.get(member)
            items = tuple(
                name if position is None else pair[position] for name, pair in info.members.items()
            )
            return Resolved(("list", items))
        if member in info.members:
            value, label = info.members[member]
            if attribute in ("", "value"):
                return Resolved(value)
            if attribute == "label":
                return Resolved(label)
        raise Undecidable(f"{ref.node.name}.{rest}")


def adds_itself(info: ClassInfo) -> bool:
    """Whether a field class of the project's defines contribute_to_class (it may add
    itself as a private field) or derives from a private field."""
    stack, seen = [info], 0
    while stack and seen < 50:
        current = stack.pop()
        seen += 1
        if current.private or current.ref is None:
            return True
        if any(
            isinstance(st, s.FunctionDef) and st.name == "contribute_to_class"
            for st in current.ref.node.body
        ):
            return True
        stack.extend(current.parents)
    return False


def changes_field(info: ClassInfo) -> bool:
    """Whether a class (or a plain class it derives from) overrides what a field's
    deconstruct() depends on."""
    overrides = {"__init__", "deconstruct", "contribute_to_class"}
    stack, seen = [info], 0
    while stack and seen < 50:
        current = stack.pop()
        seen += 1
        if current.ref is None:
            return True
        defined = {st.name for st in current.ref.node.body if isinstance(st, s.FunctionDef)}
        if defined & overrides:
            return True
        stack.extend(p for p in current.parents if p.kind in ("plain", "unknown"))
    return False


def _enum_member(info: ClassInfo, cls: str, member: str, attribute: str) -> Resolved:
    """`Color.RED` (an enum member, as Django compares it), `.value` or `.name`."""
    if member not in info.members:
        raise Undecidable(f"{cls}.{member}")
    value, _ = info.members[member]
    if attribute == "name":
        return Resolved(member)
    if isinstance(value, Undecided):
        raise Undecidable(value.reason)
    if attribute == "value":
        return Resolved(value)
    if attribute:
        raise Undecidable(f"{cls}.{member}.{attribute}")
    return Resolved(("enum-member", cls, member, value, info.enum_mixin))


def _deconstruction(info: ClassInfo) -> str | None:
    """Why objects of a project class may not be written as their constructor call (None:
    they are, as `@deconstructible` or a Django base class writes them)."""
    chain: list[ClassInfo] = []
    stack = [info]
    while stack and len(chain) < 50:
        current = stack.pop()
        if current.ref is None or current in chain:
            continue
        chain.append(current)
        stack.extend(current.parents)
    decorated = False
    for current in chain:
        assert current.ref is not None
        defined = {st.name for st in current.ref.node.body if isinstance(st, s.FunctionDef)}
        if defined & {"deconstruct", "__eq__", "__new__", "__reduce__"}:
            return f"{current.ref.node.name} defines its own " + ", ".join(
                sorted(defined & {"deconstruct", "__eq__", "__new__", "__reduce__"})
            )
        for decorator in current.ref.node.decorators:
            if isinstance(decorator, s.Ref) and decorator.last == "deconstructible":
                decorated = True
            elif isinstance(decorator, s.Call) and decorator.name == "deconstructible":
                if decorator.args or decorator.kwargs:
                    return f"{current.ref.node.name} is deconstructible under another path"
                decorated = True
    if decorated or info.django_base:
        return None
    return f"{info.ref.node.name if info.ref else 'the class'} is not deconstructible"


class MetaScope(ModuleScope):
    """Names as seen from a model's `class Meta` body: its own attributes (e.g.
    `verbose_name_plural = verbose_name`), then the module's names."""

    def __init__(
        self, reader: ClassResolver, module: Module, meta: dict[str, tuple[s.Value, Module]]
    ) -> None:
        super().__init__(reader, module)
        self.meta = meta

    def lookup(self, dotted: str) -> s.Value | Resolved | None:
        found = self.meta.get(dotted)
        if found is not None and found[1] is self.module:
            value = found[0]
            if not (isinstance(value, s.Ref) and value.name == dotted):
                return value
        return super().lookup(dotted)


class ClassScope(ModuleScope):
    """Names as seen from a class body: its own earlier attributes and nested classes
    (e.g. `STATUS_CHOICES` or `class Status(TextChoices)` inside the model), then the module."""

    def __init__(self, reader: ClassResolver, ref: ClassRef) -> None:
        super().__init__(reader, ref.module)
        self.ref = ref
        self.values: dict[str, s.Value] = {}
        self.classes: dict[str, ClassRef] = {}
        for statement in ref.node.body:
            if isinstance(statement, s.Assign) and not statement.augmented:
                for target in statement.targets:
                    self.values[target] = statement.value
            elif isinstance(statement, s.ClassDef) and statement.name != "Meta":
                qualname = f"{ref.qualname or ref.node.name}.{statement.name}"
                self.classes[statement.name] = ClassRef(ref.module, statement, qualname)

    def lookup(self, dotted: str) -> s.Value | Resolved | None:
        head, _, rest = dotted.partition(".")
        if head in self.classes:
            nested = self.classes[head]
            if rest:
                return self._attribute(nested, rest)
            info = self.reader.info(nested)
            if info.kind == "choices":
                if isinstance(info.choices, Undecided):
                    raise Undecidable(info.choices.reason)
                return Resolved(("choices-class", info.choices))
            return None
        if head in self.values and not rest:
            value = self.values[head]
            if isinstance(value, s.Ref) and value.name == dotted:
                # `X = X` in a class body reads the module's X.
                return super().lookup(dotted)
            return value
        if head in self.values:
            raise Undecidable(f"attribute of class attribute {dotted}")
        return super().lookup(dotted)
