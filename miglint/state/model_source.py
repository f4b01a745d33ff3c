"""A models module as the models reader holds it, and what the name scopes ask of the reader.

`Module` (a file's syntax tree with its imports, constants and classes), `ClassRef` (a class
in a module), `ClassInfo` (what a class is: a model, a Choices enum, a manager, a field...),
`read_text` (a file read through the recorder) and `ClassResolver`, the part of
`models.ModelsReader` that `model_scopes` uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from miglint.source import syntax as s
from miglint.source.pysource import SourceError, decode, read_file

USER_SETTING = "django.conf.settings.AUTH_USER_MODEL"


Reader = Callable[[str], str | None]


# (app folder, lowercase class names) -> files that may define such classes.
Elsewhere = Callable[[str, frozenset[str]], list[str]]


def read_text(path: str) -> str | None:
    try:
        return decode(read_file(path))
    except SourceError:
        return None


@dataclass(frozen=True)
class Module:
    path: str
    tree: s.Module
    text: str
    aliases: dict[str, str]
    constants: dict[str, s.Value]
    classes: dict[str, s.ClassDef]
    functions: frozenset[str]
    star_imports: tuple[str, ...]


@dataclass(frozen=True)
class ClassRef:
    module: Module
    node: s.ClassDef
    # "Outer.Inner" for a class nested in another class's body.
    qualname: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.module.path, self.qualname or self.node.name)


@dataclass
class ClassInfo:
    """What a class is: a model (abstract or not), a Choices enum, a manager, or unknown."""

    kind: str  # "model", "choices", "manager", "field", "enum", "plain", "unknown"
    ref: ClassRef | None = None
    parents: list[ClassInfo] = field(default_factory=list)
    # External base classes that may add fields (e.g. django.contrib's AbstractUser).
    opaque_bases: list[str] = field(default_factory=list)
    meta: dict[str, tuple[s.Value, Module]] | None = None
    meta_undecided: str | None = None
    abstract: bool = False
    # A direct base miglint cannot read may hold a Meta the class inherits.
    direct_opaque: bool = False
    use_in_migrations: bool | None = False
    # For a project's field class: the Django field class it behaves like, if it changes
    # nothing deconstruct() depends on (no __init__, deconstruct or contribute_to_class).
    field_base: str | None = None
    # A field class built on GenericRelation/GenericForeignKey: kept out of migrations.
    private: bool = False
    choices: object = None
    members: dict[str, tuple[object, object]] = field(default_factory=dict)
    qualified: str = ""
    # An enum.Enum subclass whose members equal their values (IntEnum, StrEnum, (str, Enum)).
    enum_mixin: bool = False
    # A deconstructible class of Django's (a validator, a storage...) is among its bases.
    django_base: bool = False


def external_model(qualified: str) -> str | None:
    """ "app_label.model" for a model class imported from an installed package's models
    module (e.g. django.contrib.auth.models.User -> auth.user), else None."""
    module, _, name = qualified.rpartition(".")
    parts = module.split(".")
    if "models" not in parts or not name[:1].isupper() or name.isupper():
        return None
    index = parts.index("models")
    if index == 0:
        return None
    return f"{parts[index - 1]}.{name}".lower()


class ClassResolver(Protocol):
    """What the name scopes ask of the models reader (`models.ModelsReader`)."""

    def resolve(self, dotted: str, module: Module, depth: int = 0) -> object:
        """What `dotted` names in `module` (see ModelsReader.resolve)."""

    def info(self, ref: ClassRef, depth: int = 0) -> ClassInfo:
        """What the class is."""

    def label_of(self, info: ClassInfo) -> str:
        """The app label of a model class."""

    def placement_unknown(self, info: ClassInfo) -> str | None:
        """Why the app (and proxy-ness) of a model class cannot be known, or None."""
