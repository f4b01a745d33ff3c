"""An app's models.py (or models/ package) read as source, into the state shape of `state`.

Model classes are found by following base classes through the app's own modules and the
project's other apps (abstract bases, multi-table and proxy inheritance); fields are
deconstructed as Django would; Meta options, managers with `use_in_migrations`, module
constants and `TextChoices`/`IntegerChoices` classes are resolved. Whatever depends on code
miglint cannot see (a third-party base class or field, a field added by a function) marks
that model or field as unknown: its comparison is skipped, and the reason is kept.
"""

from __future__ import annotations

import builtins
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import cast

from miglint.core import inputs
from miglint.graph.nodes import App
from miglint.project.patches import python_files
from miglint.source import syntax as s
from miglint.source.parse import import_aliases
from miglint.source.pysource import SourceError, parse_source, read_file
from miglint.state.fields import FIELD_POSITIONAL, FieldState, deconstruct_field, field_class
from miglint.state.model_scopes import (
    ClassScope,
    MetaScope,
    ModuleScope,
    adds_itself,
    changes_field,
)
from miglint.state.model_source import (
    ClassInfo,
    ClassRef,
    Elsewhere,
    Module,
    Reader,
    read_text,
)
from miglint.state.state import AppState, ModelState, index_entry, option_value
from miglint.state.values import Undecidable, Undecided, canonical

# Meta attributes that become model options (django.db.models.options.DEFAULT_NAMES).
META_OPTIONS = (
    "verbose_name",
    "verbose_name_plural",
    "db_table",
    "db_table_comment",
    "ordering",
    "unique_together",
    "permissions",
    "get_latest_by",
    "order_with_respect_to",
    "db_tablespace",
    "abstract",
    "managed",
    "proxy",
    "swappable",
    "auto_created",
    "default_permissions",
    "select_on_save",
    "default_related_name",
    "required_db_features",
    "required_db_vendor",
    "base_manager_name",
    "default_manager_name",
    "indexes",
    "constraints",
)
_MODEL_BASES = frozenset({"django.db.models.Model", "django.db.models.base.Model"})
# Django's own abstract models: a model, but with fields miglint does not list.
_DJANGO_ABSTRACT_PREFIXES = ("django.contrib.",)
_MANAGER_CLASSES = frozenset(
    {
        "django.db.models.Manager",
        "django.db.models.manager.Manager",
        "django.db.models.manager.BaseManager",
        "django.db.models.BaseManager",
    }
)
# Managers of django.contrib whose use_in_migrations is True.
_MIGRATION_MANAGERS = frozenset(
    {"django.contrib.auth.models.UserManager", "django.contrib.auth.base_user.UserManager"}
)
_PRIVATE = frozenset({"GenericForeignKey", "GenericRelation"})
# Django's classes whose objects deconstruct into their constructor call.
_DECONSTRUCTIBLE = (
    "django.core.validators.",
    "django.core.files.storage.",
    "django.contrib.auth.validators.",
    "django.contrib.postgres.",
    "django.db.models.",
)
_GIS_MODELS = "django.contrib.gis.db.models"
_CHOICES_BASES = frozenset({"TextChoices", "IntegerChoices", "Choices"})
_ENUMS = frozenset(
    {"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag", "enum.ReprEnum"}
)
# Members of these equal their values (IntEnum(1) == 1), as Django's comparison sees them.
_MIXIN_ENUMS = frozenset({"enum.IntEnum", "enum.StrEnum", "enum.IntFlag"})
_DYNAMIC = re.compile(r"\b(add_to_class|contribute_to_class)\s*\(")
_COMPOUND = frozenset(
    {"If", "Try", "TryStar", "For", "While", "With", "Match", "AsyncFor", "AsyncWith"}
)


class ModelsReader:
    """Reads one app's models; other modules of the project are read on demand."""

    def __init__(self, app: App, apps: tuple[App, ...], top: str, read: Reader = read_text) -> None:
        self.app = app
        self.apps = apps
        self.top = top
        self.read = read
        self.modules: dict[str, Module | None] = {}
        self.infos: dict[tuple[str, str], ClassInfo] = {}
        self.notes: list[str] = []
        self.files: dict[tuple[str, str], str | None] = {}
        # Class attributes built by classes miglint cannot read, which may add models.
        self.generators: list[str] = []

    # --- modules -----------------------------------------------------------------------

    def module(self, path: str) -> Module | None:
        if path in self.modules:
            return self.modules[path]
        self.modules[path] = None
        text = self.read(path)
        if text is None:
            return None
        try:
            tree = parse_source(text)
        except SourceError:
            return None
        imports = [st for st in tree.body if isinstance(st, s.Import)]
        constants: dict[str, s.Value] = {}
        classes: dict[str, s.ClassDef] = {}
        functions: set[str] = set()
        for statement in tree.body:
            if isinstance(statement, s.Assign) and not statement.augmented:
                for target in statement.targets:
                    constants[target] = statement.value
                    classes.pop(target, None)
            elif isinstance(statement, s.ClassDef):
                classes[statement.name] = statement
                constants.pop(statement.name, None)
            elif isinstance(statement, s.FunctionDef):
                functions.add(statement.name)
        stars = tuple(st.module for st in imports if st.name == "*")
        module = Module(
            path,
            tree,
            text,
            _aliases(imports),
            constants,
            classes,
            frozenset(functions),
            stars,
        )
        self.modules[path] = module
        return module

    def module_file(self, dotted: str, from_path: str) -> str | None:
        """The file of module `dotted` imported from `from_path`, if it is in the project."""
        key = (dotted, os.path.dirname(from_path) if dotted.startswith(".") else "")
        if key not in self.files:
            self.files[key] = self._module_file(dotted, from_path)
        return self.files[key]

    def _module_file(self, dotted: str, from_path: str) -> str | None:
        level = len(dotted) - len(dotted.lstrip("."))
        parts = [p for p in dotted[level:].split(".") if p]
        if level:
            base = os.path.dirname(from_path)
            for _ in range(level - 1):
                base = os.path.dirname(base)
            return _module_at(base, parts)
        if parts and parts[0] == "django":
            # Django's own classes are known by name, even in a tree that holds Django.
            return None
        directory = os.path.dirname(self.app.path)
        while True:
            found = _module_at(directory, parts)
            if found is not None:
                return found
            parent = os.path.dirname(directory)
            if parent == directory or not parent.startswith(self.top):
                return None
            directory = parent

    # --- names -------------------------------------------------------------------------

    def resolve(self, dotted: str, module: Module, depth: int = 0) -> object:
        """What `dotted` names in `module`: a ClassRef, ("value", Value, Module, name),
        ("module", Module), ("external", qualified name), ("function", name) or None."""
        if depth > 12:
            return None
        head, _, rest = dotted.partition(".")
        target: object = None
        if head in module.classes:
            target = ClassRef(module, module.classes[head])
        elif head in module.constants:
            value = module.constants[head]
            if isinstance(value, s.Ref) and value.name != dotted:
                target = self.resolve(value.name, module, depth + 1)
            else:
                target = ("value", value, module, head)
        elif head in module.functions:
            target = ("function", head)
        elif head in module.aliases:
            target = self.imported(module.aliases[head], module, depth)
        else:
            for star in module.star_imports:
                path = self.module_file(star, module.path)
                other = self.module(path) if path else None
                if other is not None:
                    found = self.resolve(head, other, depth + 1)
                    if found is not None:
                        target = found
                        break
        if not rest:
            return target
        if isinstance(target, tuple) and target[0] == "module":
            inner = target[1]
            assert isinstance(inner, Module)
            return self.resolve(rest, inner, depth + 1)
        if isinstance(target, tuple) and target[0] == "external":
            return ("external", f"{target[1]}.{rest}")
        if isinstance(target, ClassRef):
            return ("attribute", target, rest)
        if isinstance(target, tuple) and target[0] == "value":
            return ("value-attribute", dotted)
        return None

    def imported(self, qualified: str, module: Module, depth: int) -> object:
        """Follow an import: a module or a name in a module of the project, else external."""
        path = self.module_file(qualified, module.path)
        if path is not None:
            found = self.module(path)
            return ("module", found) if found is not None else None
        owner, _, name = qualified.rpartition(".")
        if owner:
            path = self.module_file(owner, module.path)
            if path is not None:
                found = self.module(path)
                if found is None:
                    return None
                return self.resolve(name, found, depth + 1)
        if qualified.startswith("."):
            return None
        if qualified.startswith(_GIS_MODELS):
            # GeoDjango's models module re-exports django.db.models.
            qualified = "django.db.models" + qualified[len(_GIS_MODELS) :]
        return ("external", qualified)

    # --- classes -----------------------------------------------------------------------

    def info(self, ref: ClassRef, depth: int = 0) -> ClassInfo:
        key = ref.key
        if key in self.infos:
            return self.infos[key]
        self.infos[key] = ClassInfo("unknown", ref)  # cycle guard
        info = self._info(ref, depth)
        self.infos[key] = info
        return info

    def _info(self, ref: ClassRef, depth: int) -> ClassInfo:
        info = ClassInfo("plain", ref)
        kinds: list[str] = []
        for base in ref.node.bases:
            if not isinstance(base, s.Ref):
                kinds.append("unknown")
                continue
            target = self.resolve(base.name, ref.module)
            if isinstance(target, ClassRef) and depth < 30:
                parent = self.info(target, depth + 1)
                info.parents.append(parent)
                kinds.append(parent.kind)
                if parent.kind == "model":
                    info.opaque_bases.extend(parent.opaque_bases)
            elif isinstance(target, tuple) and target[0] == "external":
                qualified = str(target[1])
                kinds.append(_external_kind(qualified))
                info.django_base = info.django_base or qualified.startswith(_DECONSTRUCTIBLE)
                if kinds[-1] == "model" and qualified not in _MODEL_BASES:
                    info.opaque_bases.append(qualified)
                    info.direct_opaque = True
                if kinds[-1] == "manager":
                    info.use_in_migrations = (
                        True
                        if qualified in _MIGRATION_MANAGERS
                        else None
                        if qualified not in _MANAGER_CLASSES
                        else False
                    )
                if kinds[-1] == "choices":
                    info.qualified = qualified
                if kinds[-1] == "field":
                    name = qualified.rpartition(".")[2]
                    info.field_base = name if name in FIELD_POSITIONAL else None
                    info.private = info.private or name in _PRIVATE
                if kinds[-1] == "enum":
                    info.enum_mixin = info.enum_mixin or qualified in _MIXIN_ENUMS
            elif target is None and "." not in base.name and hasattr(builtins, base.name):
                # object, str, int, dict...: `class Color(str, Enum)` compares equal to str.
                kinds.append("plain")
                info.enum_mixin = info.enum_mixin or base.name in ("str", "int")
            else:
                kinds.append("unknown")
        if any(p.kind == "enum" and p.enum_mixin for p in info.parents):
            info.enum_mixin = True
        info.django_base = info.django_base or any(p.django_base for p in info.parents)
        for kind in ("model", "choices", "manager", "field", "enum"):
            if kind in kinds:
                info.kind = kind
                break
        else:
            if "unknown" in kinds:
                info.kind = "unknown"
        metaclass = [k for k in ref.node.keywords if k.name == "metaclass"]
        if info.kind == "model" and metaclass:
            # A metaclass of its own can add fields and options miglint cannot see.
            info.opaque_bases.append(f"metaclass of {ref.node.name}")
            info.direct_opaque = True
        if info.kind == "model":
            if "unknown" in kinds:
                info.opaque_bases.append("a base class miglint cannot resolve")
                info.direct_opaque = True
            self._read_meta(info)
        elif info.kind == "manager":
            for parent in info.parents:
                if parent.kind == "manager" and parent.use_in_migrations is not False:
                    info.use_in_migrations = parent.use_in_migrations
            for statement in ref.node.body:
                if isinstance(statement, s.Assign) and "use_in_migrations" in statement.targets:
                    flag = statement.value
                    info.use_in_migrations = flag if isinstance(flag, bool) else None
        elif info.kind == "choices":
            self._read_choices(info)
        elif info.kind == "enum":
            self._read_enum(info)
        elif info.kind == "field":
            info.private = info.private or any(p.private for p in info.parents)
            bases = {p.field_base for p in info.parents if p.kind == "field"}
            if info.field_base is not None:
                bases.add(info.field_base)
            # A mixin of the project's or from a package may take arguments of its own
            # (and drop them before Django sees them), or write deconstruct() differently.
            mixins_known = (
                all(
                    p.kind == "field" or (p.kind == "plain" and not changes_field(p))
                    for p in info.parents
                )
                and "unknown" not in kinds
            )
            simple = (
                len(bases) == 1 and None not in bases and not changes_field(info) and mixins_known
            )
            info.field_base = bases.pop() if simple else None
        return info

    def _read_meta(self, info: ClassInfo) -> None:
        assert info.ref is not None
        meta_node = next(
            (st for st in info.ref.node.body if isinstance(st, s.ClassDef) and st.name == "Meta"),
            None,
        )
        attributes: dict[str, tuple[s.Value, Module]] = {}
        if meta_node is None:
            # Without its own Meta, a class gets the first abstract parent's Meta (MRO).
            inherited = self._inherited_meta(info)
            if info.opaque_bases or any(p.meta_undecided for p in info.parents):
                info.meta_undecided = "Meta may be inherited from a base miglint cannot read"
            if inherited is not None:
                attributes = dict(inherited)
                attributes.pop("abstract", None)
            info.meta = attributes
            info.abstract = False
            return
        for base in meta_node.bases:
            if not isinstance(base, s.Ref) or base.name == "object":
                continue
            owner, _, attribute = base.name.rpartition(".")
            target = self.resolve(owner, info.ref.module) if owner and attribute == "Meta" else None
            parent_meta = self.infos.get(target.key) if isinstance(target, ClassRef) else None
            if isinstance(target, ClassRef) and parent_meta is None:
                parent_meta = self.info(target)
            if parent_meta is None or parent_meta.meta is None:
                info.meta_undecided = f"Meta inherits from {base.name}"
                continue
            inherited_attrs = dict(parent_meta.meta)
            if parent_meta.abstract:
                inherited_attrs.pop("abstract", None)
            attributes.update(inherited_attrs)
        self._read_meta_body(info, meta_node, attributes, info.ref.module)
        info.meta = attributes
        abstract = attributes.get("abstract")
        info.abstract = abstract is not None and abstract[0] is True

    def _read_meta_body(
        self,
        info: ClassInfo,
        meta_node: s.ClassDef,
        attributes: dict[str, tuple[s.Value, Module]],
        module: Module,
    ) -> None:
        """The options a Meta class's body sets, into `attributes`; what miglint cannot
        read makes `info`'s Meta undecided."""
        for statement in meta_node.body:
            if isinstance(statement, s.Assign):
                for target_name in statement.targets:
                    previous = attributes.get(target_name)
                    if not statement.augmented:
                        attributes[target_name] = (statement.value, module)
                    elif previous is not None and previous[1] is module:
                        # `indexes += [...]`
                        joined = s.Concat((previous[0], statement.value), statement.span)
                        attributes[target_name] = (joined, module)
                    else:
                        info.meta_undecided = f"Meta extends {target_name} miglint cannot read"
            elif isinstance(statement, s.Other) and statement.kind in _COMPOUND:
                info.meta_undecided = "Meta sets options conditionally"
            elif isinstance(statement, s.Other) and statement.kind == "Expr":
                self._meta_expression(info, attributes, module, statement)
            elif isinstance(statement, s.Other) and statement.kind not in ("Pass", "AnnAssign"):
                info.meta_undecided = "Meta runs code miglint cannot read"

    def _meta_expression(
        self,
        info: ClassInfo,
        attributes: dict[str, tuple[s.Value, Module]],
        module: Module,
        statement: s.Other,
    ) -> None:
        """A docstring, or `indexes.extend(Parent.Meta.indexes)` / `.append(...)` in Meta."""
        source = _source_of(module.text, statement.span).strip()
        if source[:1] in ("'", '"') or source[:2].lower() in ('r"', "r'", 'b"', "b'"):
            return
        found = re.fullmatch(r"(\w+)\s*\.\s*(extend|append)\s*\((.*)\)", source, re.DOTALL)
        previous = attributes.get(found.group(1)) if found else None
        argument = _expression(found.group(3)) if found else None
        if found is None or previous is None or previous[1] is not module or argument is None:
            info.meta_undecided = "Meta runs code miglint cannot read"
            return
        if found.group(2) == "append":
            argument = s.Seq("list", (argument,), statement.span)
        joined = s.Concat((previous[0], argument), statement.span)
        attributes[found.group(1)] = (joined, module)

    def list_items(
        self, value: s.Value, module: Module, depth: int = 0
    ) -> list[tuple[s.Value, Module]]:
        """The items of a list option (Meta.indexes), each with the module it is read in:
        literal lists, `+`, `*unpacking`, names and `Parent.Meta.indexes`."""
        if depth > 20:
            raise Undecidable("a list nested too deeply")
        if isinstance(value, s.Seq):
            return [(item, module) for item in value.items]
        if isinstance(value, s.Concat):
            return [
                pair for part in value.parts for pair in self.list_items(part, module, depth + 1)
            ]
        if isinstance(value, s.Ref):
            target = self.resolve(value.name, module)
            if isinstance(target, tuple) and target[0] == "value":
                owner = target[2]
                assert isinstance(owner, Module)
                return self.list_items(cast(s.Value, target[1]), owner, depth + 1)
            if isinstance(target, tuple) and target[0] == "attribute":
                ref, rest = target[1], str(target[2])
                assert isinstance(ref, ClassRef)
                head, _, attribute = rest.partition(".")
                parent = self.info(ref)
                found = (parent.meta or {}).get(attribute) if head == "Meta" else None
                if found is not None and not parent.meta_undecided and "." not in attribute:
                    return self.list_items(found[0], found[1], depth + 1)
        raise Undecidable(f"a list miglint cannot read: {_describe_value(value)}")

    def _inherited_meta(self, info: ClassInfo) -> dict[str, tuple[s.Value, Module]] | None:
        """The Meta a class without its own gets: Django looks `Meta` up along the MRO,
        where a concrete model no longer has one (ModelBase took it), an abstract model
        keeps its own and a plain mixin class holds its Meta as any attribute."""
        for parent in info.parents:
            if parent.kind == "plain" and parent.ref is not None:
                found = self._mixin_meta(info, parent)
                if found is not None:
                    return found
                continue
            if parent.kind != "model":
                continue
            if parent.abstract and parent.meta is not None:
                return parent.meta
            found = self._inherited_meta(parent)
            if found is not None:
                return found
        return None

    def _mixin_meta(
        self, info: ClassInfo, mixin: ClassInfo
    ) -> dict[str, tuple[s.Value, Module]] | None:
        """The `Meta` a plain mixin class (or its own bases) holds, as literal options;
        a Meta miglint cannot read makes `info`'s Meta undecided."""
        assert mixin.ref is not None
        node = next(
            (st for st in mixin.ref.node.body if isinstance(st, s.ClassDef) and st.name == "Meta"),
            None,
        )
        if node is None:
            for parent in mixin.parents:
                if parent.kind == "plain" and parent.ref is not None:
                    found = self._mixin_meta(info, parent)
                    if found is not None:
                        return found
            return None
        attributes: dict[str, tuple[s.Value, Module]] = {}
        self._read_meta_body(info, node, attributes, mixin.ref.module)
        if any(not (isinstance(b, s.Ref) and b.name == "object") for b in node.bases):
            info.meta_undecided = f"Meta of {mixin.ref.node.name} inherits options"
        attributes.pop("abstract", None)
        return attributes

    def _read_choices(self, info: ClassInfo) -> None:
        assert info.ref is not None
        integer = any(
            isinstance(b, s.Ref) and b.last == "IntegerChoices" for b in info.ref.node.bases
        ) or any(
            p.kind == "choices" and p.qualified.endswith("IntegerChoices") for p in info.parents
        )
        scope = ModuleScope(self, info.ref.module)
        pairs: list[object] = []
        empty: object = None
        seen_values: set[object] = set()
        try:
            for statement in info.ref.node.body:
                if not isinstance(statement, s.Assign) or statement.augmented:
                    if isinstance(statement, s.Other):
                        raise Undecidable("choices with statements miglint cannot read")
                    continue
                for name in statement.targets:
                    if name == "__empty__":
                        empty = canonical(statement.value, scope)
                        continue
                    if name.startswith("_") or name == "do_not_call_in_templates":
                        continue
                    value, label = self._member(statement.value, name, scope)
                    if value in seen_values:
                        continue
                    seen_values.add(value)
                    info.members[name] = (value, label)
                    pairs.append(("tuple", (value, label)))
        except Undecidable as error:
            info.choices = Undecided(f"choices {info.ref.node.name}: {error}")
            return
        if empty is not None:
            pairs.insert(0, ("tuple", (None, empty)))
        info.choices = ("list", tuple(pairs))
        del integer

    def _read_enum(self, info: ClassInfo) -> None:
        """Members of an enum.Enum subclass: name -> (value, or Undecided; the name)."""
        assert info.ref is not None
        scope = ModuleScope(self, info.ref.module)
        for parent in info.parents:
            info.members.update(parent.members)
        for statement in info.ref.node.body:
            if not isinstance(statement, s.Assign) or statement.augmented:
                continue
            for name in statement.targets:
                if name.startswith("_"):
                    continue
                try:
                    value = canonical(statement.value, scope)
                except Undecidable as error:
                    value = Undecided(f"{info.ref.node.name}.{name}: {error}")
                info.members[name] = (value, name)

    def _member(self, value: s.Value, name: str, scope: ModuleScope) -> tuple[object, object]:
        label: object = name.replace("_", " ").title()
        if isinstance(value, s.Seq) and value.kind == "tuple":
            items = [canonical(item, scope) for item in value.items]
            if len(items) > 1 and isinstance(items[-1], str):
                label = items.pop()
            if len(items) != 1:
                raise Undecidable("a member value miglint cannot build")
            return items[0], label
        member = canonical(value, scope)
        if isinstance(member, tuple):
            raise Undecidable(f"member {name} miglint cannot evaluate")
        return member, label

    # --- models ------------------------------------------------------------------------

    def model_modules(self) -> tuple[list[Module], list[Module], list[ClassRef], str | None]:
        """(modules Django imports with the app's models, other model files, classes that
        the models modules import from outside the app, why the set of models is partial)."""
        partial: str | None = None
        loaded: list[Module] = []
        unreachable: list[Module] = []
        imported: list[ClassRef] = []
        paths = list(self.app.models_paths)
        package_init = os.path.join(self.app.path, "models", "__init__.py")
        single = os.path.join(self.app.path, "models.py")
        entry = package_init if package_init in paths else single if single in paths else None
        if entry is None and paths:
            partial = "the models package has no __init__.py"
        queue = [entry] if entry else list(paths)
        seen: set[str] = set()
        while queue:
            path = queue.pop(0)
            if path in seen or len(seen) > 500:
                continue
            seen.add(path)
            module = self.module(path)
            if module is None:
                partial = f"{os.path.relpath(path)} cannot be read"
                continue
            loaded.append(module)
            if any(st.kind in _COMPOUND for st in module.tree.body if isinstance(st, s.Other)):
                partial = f"{os.path.relpath(path)} defines things conditionally"
            if _DYNAMIC.search(module.text):
                partial = f"{os.path.relpath(path)} adds fields with add_to_class()"
            for statement in module.tree.body:
                if not isinstance(statement, s.Import):
                    continue
                target = self._import_target(statement, path)
                if target is not None and self._own_module(target):
                    queue.append(target)
                elif statement.name == "*":
                    found = self._star_models(target, statement.module)
                    partial = found[1] or partial
                    imported.extend(found[0])
                elif (
                    statement.name is not None
                    and statement.name[:1].isupper()
                    and target is not None
                    and not any(target.startswith(app.path + os.sep) for app in self.apps)
                ):
                    # A class from a shared module (not an app's): it registers with
                    # this app if its Meta.app_label says so.
                    ref = self.resolve(statement.alias, module)
                    if isinstance(ref, ClassRef):
                        imported.append(ref)
        for path in paths:
            if path not in seen:
                module = self.module(path)
                if module is not None:
                    unreachable.append(module)
        return loaded, unreachable, imported, partial

    def _import_target(self, statement: s.Import, path: str) -> str | None:
        """The project file an import of a models module reads, if any."""
        candidates = [statement.module]
        if statement.name and statement.name != "*":
            candidates.insert(0, f"{statement.module}.{statement.name}")
        for candidate in candidates:
            target = self.module_file(candidate, path) if candidate.strip(".") else None
            if candidate.strip(".") == "" and statement.name:
                target = self.module_file("." * len(candidate) + statement.name, path)
            if target is not None:
                return target
        return None

    def _own_module(self, path: str) -> bool:
        """A module of this app (not of an app nested in it, nor a migration)."""
        if not path.startswith(self.app.path + os.sep):
            return False
        if os.sep + "migrations" + os.sep in path[len(self.app.path) :]:
            return False
        return not any(
            other.path != self.app.path
            and len(other.path) > len(self.app.path)
            and path.startswith(other.path + os.sep)
            for other in self.apps
        )

    def _star_models(self, path: str | None, written: str) -> tuple[list[ClassRef], str | None]:
        """Classes `from X import *` brings from outside the app, and why that set may be
        incomplete (X cannot be read, or defines things conditionally)."""
        module = self.module(path) if path is not None else None
        if module is None:
            return [], f"models may come from `from {written} import *`"
        reason = None
        if any(st.kind in _COMPOUND for st in module.tree.body if isinstance(st, s.Other)):
            reason = f"models may come from `from {written} import *` (defined conditionally)"
        if module.star_imports:
            reason = f"models may come from `from {written} import *`"
        return [ClassRef(module, node) for node in module.classes.values()], reason

    def app_state(
        self, expected: frozenset[str] = frozenset(), elsewhere: Elsewhere | None = None
    ) -> tuple[AppState, set[str]]:
        """The app's models; `expected` are the models its migrations build (lowercase
        names), and `elsewhere` finds the project's other files that may define those
        missing from the models modules."""
        loaded, unreachable, imported, partial = self.model_modules()
        models: dict[str, ModelState] = {}
        maybe: set[str] = set()
        groups: list[tuple[list[ClassRef], bool, bool]] = [
            ([ClassRef(m, node) for m in loaded for node in m.classes.values()], True, False),
            (imported, True, True),
            (
                [ClassRef(m, node) for m in unreachable for node in m.classes.values()],
                False,
                False,
            ),
        ]
        self._add_models(groups, models, maybe)
        missing = expected - set(models) - maybe
        if missing and elsewhere is not None:
            # Django registers a model class whenever its module is imported, by
            # AppConfig.ready() or any other code: a model defined in another module
            # may still be registered, so it is not a deletion.
            known = {os.path.abspath(m.path) for m in loaded + unreachable}
            found = [
                p
                for p in elsewhere(self.app.path, frozenset(missing))
                if os.path.abspath(p) not in known
            ]
            others = [
                ClassRef(module, node)
                for path in found
                for module in [self.module(path)]
                if module is not None
                for node in module.classes.values()
                if node.name.lower() in missing
            ]
            self._add_models([(others, False, True)], models, maybe)
            for path in found:
                module = self.module(path)
                if module is None:
                    continue
                # A class of that name defined in a block (if, try): it may be a model.
                top_level = {name.lower() for name in module.classes}
                maybe.update(
                    name
                    for name in missing - set(models) - top_level
                    if re.search(rf"class\s+{re.escape(name)}\b", module.text, re.I)
                )
        notes = tuple(self.notes)
        if maybe:
            partial = partial or "classes miglint cannot classify: " + ", ".join(sorted(maybe))
        if self.generators:
            partial = partial or f"{self.generators[0]} may add models"
        return AppState(self.app.label, models, None, partial, notes), maybe

    def _add_models(
        self,
        groups: list[tuple[list[ClassRef], bool, bool]],
        models: dict[str, ModelState],
        maybe: set[str],
    ) -> None:
        """The app's models among `groups` of classes into `models`, classes that may be
        models into `maybe`. Each group says whether Django surely registers its classes,
        and whether they come from modules outside the app (which register with an app
        only through Meta.app_label or the app their module is in)."""
        for refs, registered, outside in groups:
            for ref in refs:
                node = ref.node
                info = self.info(ref)
                if info.kind == "unknown":
                    maybe.add(node.name.lower())
                    continue
                if info.kind != "model" or info.abstract:
                    continue
                label = self._app_label(info)
                if label is None or (outside and not self._placed(info)):
                    # Which app it registers with depends on code miglint cannot see.
                    maybe.add(node.name.lower())
                    continue
                if label != self.app.label:
                    continue
                if not registered:
                    maybe.add(node.name.lower())
                state = self.model_state(info)
                if not registered:
                    where = os.path.relpath(ref.module.path)
                    state = _replace(
                        state,
                        unknown=state.unknown
                        or f"defined in {where}, which the models modules do not import "
                        "(Django registers it only if some code does)",
                    )
                models.setdefault(state.key, state)

    def _placed(self, info: ClassInfo) -> bool:
        """Whether a model's app is known: Meta.app_label, or its module is in an app."""
        assert info.ref is not None
        path = info.ref.module.path
        return "app_label" in (info.meta or {}) or any(
            path.startswith(app.path + os.sep) for app in self.apps
        )

    def _app_label(self, info: ClassInfo) -> str | None:
        """The app a model registers with: Meta.app_label, else the app its module is in."""
        meta = info.meta or {}
        if "app_label" in meta:
            value = meta["app_label"][0]
            return value if isinstance(value, str) else None
        return self.label_of(info)

    def model_state(self, info: ClassInfo) -> ModelState:
        assert info.ref is not None
        node = info.ref.node
        name = node.name
        label = self.app.label
        partial: list[str] = []
        if info.opaque_bases:
            partial.append("inherits from " + ", ".join(sorted(set(info.opaque_bases))))
        fields: dict[str, FieldState] = {}
        managers: list[tuple[str, object]] = []
        managers_undecided: str | None = None
        # Fields of abstract parents first, then the class's own (which override them).
        for parent in self._abstract_chain(info):
            assert parent.ref is not None
            self._collect(parent.ref, name, fields, managers, partial, inherited=True)
        own_managers: list[tuple[str, object]] = []
        self._collect(info.ref, name, fields, own_managers, partial, inherited=False)
        for field_name, current in list(fields.items()):
            if current.cls == "<removed>":
                del fields[field_name]
            elif current.kwargs.get("primary_key") is True and current.unknown is None:
                # Options.setup_pk() sets serialize=False on the primary key.
                fields[field_name] = _replace_field(
                    current, kwargs={**current.kwargs, "serialize": False}
                )
        concrete = _concrete_ancestors(info)
        proxy = _meta_flag(info, "proxy")
        if concrete and not proxy:
            for index, parent in enumerate(_concrete_parents(concrete)):
                assert parent.ref is not None
                parent_label = f"{self.label_of(parent)}.{parent.ref.node.name}".lower()
                declared = [
                    key
                    for key, f in fields.items()
                    if f.cls == "OneToOneField"
                    and f.kwargs.get("parent_link") is True
                    and f.kwargs.get("to") == parent_label
                ]
                if declared:
                    if index == 0:
                        link = fields[declared[0]]
                        fields[declared[0]] = _replace_field(
                            link, kwargs={**link.kwargs, "primary_key": True, "serialize": False}
                        )
                    continue
                kwargs: dict[str, object] = {
                    "auto_created": True,
                    "on_delete": ("ref", "CASCADE"),
                    "parent_link": True,
                    "to": parent_label,
                }
                if index == 0:
                    kwargs.update(primary_key=True, serialize=False)
                ptr = f"{parent.ref.node.name.lower()}_ptr"
                fields[ptr] = FieldState(ptr, "OneToOneField", kwargs, node.span)
        elif not proxy and not any(
            f.kwargs.get("primary_key") is True for f in fields.values() if f.unknown is None
        ):
            if info.opaque_bases or any(f.unknown is not None for f in fields.values()):
                # A field miglint cannot read may be the primary key.
                auto = FieldState("id", "?", {}, node.span, unknown="the primary key is unknown")
            else:
                auto = FieldState("id", "AutoField", {}, node.span, auto_pk=True)
            fields = {"id": auto, **fields}
        options: dict[str, object] = {}
        scope_cache: dict[str, ModuleScope] = {}
        for key, (value, module) in (info.meta or {}).items():
            if key not in META_OPTIONS:
                continue
            scope = scope_cache.setdefault(module.path, MetaScope(self, module, info.meta or {}))
            if key in ("indexes", "constraints"):
                options[key] = self._entries(key, value, module, label, name)
            else:
                options[key] = option_value(key, value, scope, label, name)
        if info.meta_undecided:
            options["__undecided__"] = Undecided(info.meta_undecided)
        all_managers = own_managers + [m for m in managers if m[0] not in dict(own_managers)]
        result_managers: object
        try:
            result_managers = self._migration_managers(info, all_managers, options)
        except Undecidable as error:
            managers_undecided = str(error)
            result_managers = Undecided(managers_undecided)
        return ModelState(
            label,
            name,
            fields,
            options,
            result_managers,
            node.span,
            info.ref.module.path,
            unknown=self.placement_unknown(info),
            partial="; ".join(partial) or None,
            opaque_base=bool(info.opaque_bases),
            foreign_base=bool(_foreign_bases(info)),
        )

    def _entries(self, key: str, value: s.Value, module: Module, label: str, name: str) -> object:
        """Meta.indexes or Meta.constraints as (name or None, canonical body) entries."""
        try:
            return tuple(
                index_entry(item, ModuleScope(self, owner), label, name, key)
                for item, owner in self.list_items(value, module)
            )
        except Undecidable as error:
            return Undecided(f"Meta.{key}: {error}")

    def placement_unknown(self, info: ClassInfo) -> str | None:
        """Why what Django makes of the model class cannot be known, or None: it inherits
        from a concrete model that has a base miglint cannot read, whose metaclass may make
        the subclass a proxy or put it in the parent's app (django-typed-models does both;
        a class deriving from an abstract third-party base, such as MPTTModel, is not in
        doubt)."""
        if "app_label" in (info.meta or {}):
            return None
        stack = list(info.parents)
        while stack:
            parent = stack.pop()
            if parent.kind != "model":
                continue
            if not parent.abstract and _foreign_bases(parent):
                assert parent.ref is not None
                return (
                    f"inherits from {parent.ref.node.name}, a model with a base class miglint "
                    "cannot read (its metaclass may make this class a proxy or a model of "
                    "another app)"
                )
            stack.extend(parent.parents)
        return None

    def label_of(self, info: ClassInfo) -> str:
        assert info.ref is not None
        meta = info.meta or {}
        if "app_label" in meta and isinstance(meta["app_label"][0], str):
            return meta["app_label"][0]
        path = info.ref.module.path
        best = ""
        label = self.app.label
        for app in self.apps:
            if path.startswith(app.path + os.sep) and len(app.path) > len(best):
                best, label = app.path, app.label
        return label

    def _abstract_chain(self, info: ClassInfo) -> Iterator[ClassInfo]:
        """Abstract model ancestors whose fields the model copies, farthest first."""
        seen: set[int] = set()

        def walk(current: ClassInfo) -> Iterator[ClassInfo]:
            for parent in reversed(current.parents):
                if parent.kind != "model" or not parent.abstract or id(parent) in seen:
                    continue
                seen.add(id(parent))
                yield from walk(parent)
                yield parent

        yield from walk(info)

    def _collect(
        self,
        ref: ClassRef,
        model_name: str,
        fields: dict[str, FieldState],
        managers: list[tuple[str, object]],
        partial: list[str],
        *,
        inherited: bool,
    ) -> None:
        scope = ClassScope(self, ref)
        label = self.app.label
        for statement in ref.node.body:
            if isinstance(statement, s.Other) and statement.kind in _COMPOUND:
                partial.append(f"{ref.node.name} defines attributes conditionally")
                continue
            if isinstance(statement, s.FunctionDef | s.ClassDef) and statement.name in fields:
                # A later method or property of the same name replaces the field.
                fields[statement.name] = FieldState(statement.name, "<removed>", {}, statement.span)
                continue
            if not isinstance(statement, s.Assign) or statement.augmented:
                continue
            value = statement.value
            for name in statement.targets:
                if value is None:
                    fields[name] = FieldState(name, "<removed>", {}, statement.span)
                    continue
                if isinstance(value, s.Unknown) and value.kind == "call":
                    partial.append(f"{ref.node.name}.{name} is built by `{value.source}`")
                    managers.append((name, Undecided(value.source)))
                    fields.pop(name, None)
                    continue
                if not isinstance(value, s.Call):
                    continue
                kind, detail = self._call_kind(value, ref.module)
                if kind == "field":
                    if field_class(value, scope) in ("GenericForeignKey", "GenericRelation"):
                        continue
                    fields[name] = _with_span(
                        deconstruct_field(name, value, scope, label, model_name), statement.span
                    )
                elif kind == "field-subclass":
                    assert isinstance(detail, str)
                    fields[name] = _with_span(
                        deconstruct_field(name, value, scope, label, model_name, base=detail),
                        statement.span,
                    )
                elif kind == "custom-field":
                    # A class that adds itself to the model its own way may be a private
                    # field (like GenericForeignKey), which no migration holds.
                    fields[name] = FieldState(
                        name,
                        "?" if detail else value.func,
                        {},
                        statement.span,
                        unknown=f"custom field class {value.func}",
                    )
                    partial.append(f"{ref.node.name}.{name} uses {value.func}")
                elif kind == "manager":
                    managers.append((name, detail))
                elif kind == "unknown":
                    # Maybe a field, maybe not: cls "?" keeps it out of added/removed fields.
                    fields[name] = FieldState(
                        name, "?", {}, statement.span, unknown=f"{value.func} is not resolvable"
                    )
                    partial.append(f"{ref.node.name}.{name} uses {value.func}")
                    managers.append((name, Undecided(value.func)))
                    # Like simple_history's HistoricalRecords(), it may add models.
                    self.generators.append(f"{ref.node.name}.{name} = {value.func}(...)")

    def _call_kind(self, call: s.Call, module: Module) -> tuple[str, object]:
        """ "field", "custom-field", "manager" (with its canonical entry), "other", "unknown"."""
        scope = ModuleScope(self, module)
        if field_class(call, scope) is not None:
            return "field", None
        target = self.resolve(call.func, module)
        if isinstance(target, ClassRef):
            info = self.info(target)
            if info.kind == "field" and info.private:
                return "private-field", None
            if info.kind == "field":
                return (
                    ("field-subclass", info.field_base)
                    if info.field_base
                    else ("custom-field", adds_itself(info))
                )
            if info.kind == "manager":
                return "manager", self._manager_entry(call, info, scope)
            if info.kind in ("plain", "choices", "model"):
                return "other", None
            return "unknown", None
        if isinstance(target, tuple) and target[0] == "external":
            qualified = str(target[1])
            kind = _external_kind(qualified)
            if kind == "field":
                return "custom-field", None
            if kind == "manager":
                flag: bool | None = (
                    True
                    if qualified in _MIGRATION_MANAGERS
                    else False
                    if qualified in _MANAGER_CLASSES
                    else None
                )
                return "manager", self._manager_tuple(call, flag, scope)
            if qualified.startswith(("django.", "datetime.", "decimal.", "uuid.")):
                return "other", None
            return "unknown", None
        if isinstance(target, tuple) and target[0] == "value":
            return "unknown", None
        if target is None and "." not in call.func and hasattr(builtins, call.func):
            return "other", None
        return "unknown", None

    def _manager_entry(self, call: s.Call, info: ClassInfo, scope: ModuleScope) -> object:
        return self._manager_tuple(call, info.use_in_migrations, scope)

    def _manager_tuple(self, call: s.Call, flag: bool | None, scope: ModuleScope) -> object:
        if flag is None:
            return Undecided(f"manager {call.func}")
        try:
            built = canonical(call, scope)
        except Undecidable as error:
            return Undecided(str(error))
        return ("manager", flag, built)

    def _migration_managers(
        self, info: ClassInfo, managers: list[tuple[str, object]], options: dict[str, object]
    ) -> object:
        """The managers ModelState.from_model keeps: use_in_migrations ones, and shims."""
        for parent in info.parents:
            if parent.kind == "model" and not parent.abstract and parent.ref is not None:
                raise Undecidable("managers inherited from a concrete parent")
        if info.opaque_bases:
            raise Undecidable("managers may come from " + ", ".join(sorted(set(info.opaque_bases))))
        if not managers:
            return ()
        default_name = options.get("default_manager_name")
        base_name = options.get("base_manager_name")
        names = [name for name, _ in managers]
        default = default_name if isinstance(default_name, str) else names[0]
        result: list[tuple[str, object]] = []
        seen: set[str] = set()
        shim_default = False
        for name, entry in managers:
            if name in seen:
                continue
            if isinstance(entry, Undecided):
                raise Undecidable(entry.reason)
            assert isinstance(entry, tuple)
            _, flag, built = entry
            if flag:
                result.append((name, built))
            elif name in (default, base_name):
                result.append((name, ("call", "Manager", (), frozenset())))
                shim_default = shim_default or name == default
            else:
                continue
            seen.add(name)
        if len(result) == 1 and result[0][0] == "objects" and shim_default:
            return ()
        return tuple(result)


def _source_of(text: str, span: s.Span) -> str:
    """The source text of a statement (spans count characters in ASCII files)."""
    lines = text.splitlines()[span.line - 1 : span.end_line]
    if not lines:
        return ""
    if len(lines) == 1:
        return lines[0][span.column - 1 : span.end_column - 1]
    return "\n".join([lines[0][span.column - 1 :], *lines[1:-1], lines[-1][: span.end_column - 1]])


def _expression(source: str) -> s.Value | None:
    """One expression's source as a value (for an argument read from source text)."""
    try:
        module = parse_source(f"_value = ({source})\n")
    except SourceError:
        return None
    statement = module.body[0] if len(module.body) == 1 else None
    return statement.value if isinstance(statement, s.Assign) else None


def _describe_value(value: s.Value) -> str:
    if isinstance(value, s.Unknown):
        return f"`{value.source}`"
    return type(value).__name__.lower()


def _aliases(imports: list[s.Import]) -> dict[str, str]:
    """Local name -> dotted import path; `from . import x` is `.x` (a sibling module)."""
    aliases = import_aliases(imports)
    for imported in imports:
        if imported.name not in (None, "*") and imported.module.strip(".") == "":
            aliases[imported.alias] = imported.module + str(imported.name)
    return aliases


def _with_span(state: FieldState, span: s.Span) -> FieldState:
    return _replace_field(state, span=span)


def _replace(state: ModelState, **changes: object) -> ModelState:
    return replace(state, **changes)  # type: ignore[arg-type]


def _replace_field(state: FieldState, **changes: object) -> FieldState:
    return replace(state, **changes)  # type: ignore[arg-type]


def _meta_flag(info: ClassInfo, key: str) -> bool:
    value = (info.meta or {}).get(key)
    return value is not None and value[0] is True


def _concrete_ancestors(info: ClassInfo, depth: int = 0) -> list[ClassInfo]:
    """Concrete model parents, also those an abstract parent passes on to its children."""
    found: list[ClassInfo] = []
    for parent in info.parents:
        if parent.kind != "model":
            continue
        if not parent.abstract:
            found.append(parent)
        elif depth < 30:
            found.extend(p for p in _concrete_ancestors(parent, depth + 1) if p not in found)
    return found


def _concrete_parents(parents: list[ClassInfo]) -> list[ClassInfo]:
    """Concrete model parents, proxies replaced by the model they stand for."""
    result = []
    for parent in parents:
        while _meta_flag(parent, "proxy"):
            concrete = [p for p in parent.parents if p.kind == "model" and not p.abstract]
            if not concrete:
                break
            parent = concrete[0]
        result.append(parent)
    return result


def _module_at(base: str, parts: list[str]) -> str | None:
    if not parts:
        init = os.path.join(base, "__init__.py")
        return init if inputs.isfile(init) else None
    path = os.path.join(base, *parts)
    if inputs.isfile(path + ".py"):
        return path + ".py"
    init = os.path.join(path, "__init__.py")
    if inputs.isfile(init):
        return init
    return None


def _foreign_bases(info: ClassInfo) -> list[str]:
    """The bases miglint cannot read that are not Django's own abstract models (AbstractUser
    and the like have Django's metaclass and place nothing elsewhere)."""
    return [base for base in info.opaque_bases if not base.startswith("django.")]


def _external_kind(qualified: str) -> str:
    """What a class imported from outside the project is, as far as miglint knows."""
    module, _, name = qualified.rpartition(".")
    if qualified in _MODEL_BASES:
        return "model"
    if qualified in _MANAGER_CLASSES or qualified in _MIGRATION_MANAGERS:
        return "manager"
    if module == "django.db.models" and name in _CHOICES_BASES:
        return "choices"
    if module.startswith("django.db.models") and name.endswith("Field"):
        return "field"
    if module.startswith(_DJANGO_ABSTRACT_PREFIXES) and name.startswith("Abstract"):
        return "model"
    if module.startswith("django.contrib.auth") and name == "PermissionsMixin":
        return "model"
    if module.startswith("django.") and name in ("Manager", "BaseManager"):
        return "manager"
    if module.startswith("django.db.models") and name == "QuerySet":
        return "plain"
    if qualified in _ENUMS:
        return "enum"
    if module.startswith("django.") and (name.endswith("Field") or name in _PRIVATE):
        return "field"
    if module.startswith("django.") and ".models" not in module:
        # Django's validators, storages, expressions...: not fields, models or managers.
        return "plain"
    return "unknown"


def read_app_models(
    app: App,
    apps: tuple[App, ...],
    top: str,
    read: Reader = read_text,
    expected: frozenset[str] = frozenset(),
    elsewhere: Elsewhere | None = None,
) -> tuple[AppState, frozenset[str]]:
    """The app's models as Django would build its state from them, and the names of
    classes that may be models miglint cannot read (never reported as deleted/created).
    Models of `expected` (the migrations' model names) that the models modules do not
    define are looked for with `elsewhere` (see `files_defining`)."""
    reader = ModelsReader(app, apps, top, read)
    state, maybe = reader.app_state(expected, elsewhere)
    return state, frozenset(maybe)


def files_defining(
    roots: Sequence[str], excluded: Callable[[str], bool] = lambda path: False
) -> Elsewhere:
    """Finds the files of the project (under the app's folder, then `roots`) that may
    define a class of one of the given lowercase names."""

    # The project's files, walked once for all the apps that need them (the folders it
    # listed are noted for each of them).
    walked = inputs.Shared(lambda: list(python_files(roots, excluded)))

    def find(app_path: str, names: frozenset[str]) -> list[str]:
        words = b"|".join(re.escape(name.encode()) for name in sorted(names))
        pattern = re.compile(rb"^[ \t]*class[ \t]+(?:" + words + rb")\b", re.I | re.M)
        every = walked.get()
        # The app's own folder first (it may be under a tests folder the walk skips).
        inside = list(python_files([app_path], excluded))
        seen = set(inside)
        found = []
        for path in inside + [p for p in every if p not in seen]:
            try:
                data = read_file(path)
            except SourceError:
                continue
            if pattern.search(data):
                found.append(path)
        return found

    return find
