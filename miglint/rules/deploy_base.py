"""What a deploy-safety rule is: `DeployRule` (the backend, the change under review and the
new tables every one of them follows, one table step at a time), the helpers they read a
step's field with, and the small released project their VALID / INVALID examples change.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from typing import ClassVar

from miglint.core.finding import Finding
from miglint.graph.nodes import NodeKey
from miglint.project.load import Project
from miglint.rules.base import Rule
from miglint.rules.deploy_context import (
    EMPTY_STRINGS_ALLOWED,
    Context,
    field_call,
    flag,
)
from miglint.source import syntax as s
from miglint.state.history import dropped_later
from miglint.state.tablestate import Step, table_steps

HEADER = "from django.db import migrations, models\n\n\n"


def example_migration(operations: str, dependencies: str = "", extra: str = "") -> str:
    return (
        HEADER
        + "class Migration(migrations.Migration):\n"
        + extra
        + f"    dependencies = [{dependencies}]\n\n"
        + "    operations = [\n"
        + operations
        + "    ]\n"
    )


# A released table: shop.Product, created by 0001 (examples put the change in 0002).
PRODUCT = example_migration(
    """\
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
                ("code", models.CharField(max_length=20)),
                ("stock", models.IntegerField(default=0)),
            ],
        ),
""",
    extra="    initial = True\n",
)


INITIAL = "shop/migrations/0001_initial.py"


CHANGE = "shop/migrations/0002_change.py"


DEPENDS = '("shop", "0001_initial")'


def on_product(operations: str, extra: str = "") -> dict[str, str]:
    """An example: `operations` run on the released Product table."""
    return {INITIAL: PRODUCT, CHANGE: example_migration(operations, DEPENDS, extra)}


def new_product(operations: str, extra: str = "") -> str:
    """An example: `operations` run on Product in the migration that creates it."""
    return example_migration(
        """\
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
                ("code", models.CharField(max_length=20)),
            ],
        ),
"""
        + operations,
        extra=extra,
    )


POSTGRES = {"pyproject.toml": '[tool.miglint]\ndatabase = "postgresql"\n'}


DJANGO_5 = {"pyproject.toml": '[tool.miglint]\ndjango-version = "5.2"\n'}


# A project that selects only the deploy rules (MIG509 defers to MIG101 otherwise).
ONLY_MIG5 = {"pyproject.toml": '[tool.miglint]\nselect = ["MIG5"]\n'}


CONCURRENT_IMPORT = "from django.contrib.postgres.operations import AddIndexConcurrently\n"


NEW_TABLES = """
New tables are never reported: a table created in the same migration, in another migration
of the change under review (the files named on the command line, as pre-commit passes them,
or the files changed since `--diff BASE`), or in an `initial = True` migration when this one
is initial too (Django writes `0001_initial` and `0002_initial` together). miglint has no
deploy history: a table created in any other migration is taken to be in production.
Operations on a model that the same migration then deletes are not reported either: the
DeleteModel is the hazard (MIG102), and the columns and indexes go with the table."""


class DeployRule(Rule):
    """A rule over each operation that runs SQL, with the table it names as it was before."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # Every page says the same thing about new tables.
        if cls.__doc__ and cls.about_tables and "New tables are never reported" not in cls.__doc__:
            cls.__doc__ = inspect.cleandoc(cls.__doc__) + "\n" + NEW_TABLES

    # The hazard depends on the table's rows (new tables, and tables the migration then
    # deletes, are safe); False for a rule whose operation fails whatever the table holds.
    about_tables: ClassVar[bool] = True
    # Backends the hazard exists on; None: every backend (also when the backend is unknown).
    backends: ClassVar[frozenset[str] | None] = None
    # The hazard exists on these backends, but not on all: when the backend is unknown
    # the rule stays quiet unless `when_unknown` is True.
    when_unknown: ClassVar[bool] = True
    # The operations the rule looks at (RunSQL for the DDL counterparts).
    operations: ClassVar[frozenset[str]] = frozenset()

    def check(self, project: Project) -> Iterator[Finding]:
        context = Context.of(project)
        if self.backends is not None:
            if context.database is None and not self.when_unknown:
                return
            if context.database is not None and context.database not in self.backends:
                return
        for step in self.steps(project):
            yield from self.check_step(step, context)

    def steps(self, project: Project) -> Iterator[Step]:
        """The steps of the rule's operations, without those on a model that the same
        migration then deletes (MIG102 reports the table; its columns and indexes go with it)."""
        dropped: dict[NodeKey, frozenset[s.Span]] = {}
        for step in table_steps(project):
            operation = step.operation
            if operation.name not in self.operations:
                continue
            migration = step.migration
            if not self.about_tables:
                yield step
                continue
            if migration.key not in dropped:
                dropped[migration.key] = dropped_later(migration.facts.operations)
            if operation.span not in dropped[migration.key]:
                yield step

    def check_step(self, step: Step, context: Context) -> Iterable[Finding]:
        raise NotImplementedError


def text_or_unknown(value: s.Value | s.Missing) -> str:
    return value if isinstance(value, str) else "?"


def step_field(step: Step) -> tuple[str, s.Call] | None:
    """The field name and definition of an AddField/AlterField step."""
    name = step.operation.argument(1, "name")
    call = field_call(step.operation.argument(2, "field"))
    if not isinstance(name, str) or call is None:
        return None
    return name, call


def step_field_before(step: Step) -> s.Call | None:
    """The definition, before the step, of the field its operation names, when known."""
    return field_call(step.field_before)


def implicit_default(call: s.Call) -> str | None:
    """What Django fills existing rows with when the field gives no default."""
    if flag(call, "auto_now") is True or flag(call, "auto_now_add") is True:
        return "the current time"
    if flag(call, "blank") is True and call.name in EMPTY_STRINGS_ALLOWED:
        return "an empty string"
    return None
