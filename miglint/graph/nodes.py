"""The things the graph is made of: apps and their migrations, with their place on disk."""

from __future__ import annotations

from dataclasses import dataclass

from miglint.source.facts import MigrationFacts

# (app key, migration name). The app key is the app label, except for a second app that
# reuses a label (e.g. a copy under tests/), whose key also names its folder.
NodeKey = tuple[str, str]


@dataclass(frozen=True)
class App:
    label: str
    key: str
    path: str
    migrations_path: str
    migration_paths: tuple[str, ...]
    models_paths: tuple[str, ...]
    # Where the label came from: "apps.py" or "__init__.py" (the AppConfig's label or
    # name), "MIGRATION_MODULES", or "folder".
    label_source: str = "folder"
    # A literal `default_auto_field` of the app's AppConfig in apps.py, and its line.
    default_auto_field: tuple[str, int] | None = None


@dataclass(frozen=True)
class Migration:
    app: str
    app_key: str
    name: str
    path: str
    facts: MigrationFacts

    @property
    def key(self) -> NodeKey:
        return (self.app_key, self.name)

    @property
    def label(self) -> str:
        """`app.name`, as Django prints a migration."""
        return f"{self.app}.{self.name}"

    @property
    def readable(self) -> bool:
        """The file parsed and holds a Migration class."""
        return self.facts.error is None and self.facts.has_class
