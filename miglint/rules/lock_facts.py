"""What the PostgreSQL lock rules (MIG510-MIG514) share: the indexes and constraints the
project's migrations make, whether an AlterField takes a field's own index away, and the
calls inside a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from miglint import sql as sqlmod
from miglint.project.load import Project
from miglint.rules.deploy_base import text_or_unknown
from miglint.rules.deploy_context import (
    NO_COLUMN,
    flag,
    given,
    is_django_field,
    is_indexed,
    runsql_statements,
)
from miglint.source import syntax as s
from miglint.state.tablestate import Step, table_steps

POSTGRES_OPERATIONS = "from django.contrib.postgres.operations import {}\n"


POSITIVE_FIELDS = frozenset(
    {"PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField"}
)


def has_table(step: Step) -> bool:
    """The operation's model keeps a table (not a proxy or unmanaged model)."""
    return step.table is None or step.table.has_table is not False


def calls_in(value: s.Value | s.Missing) -> Iterator[s.Call]:
    """Every call inside a value (Q(...) & Q(...) is read as what it contains)."""
    if isinstance(value, s.Call):
        yield value
        for item in (*value.args, *(keyword.value for keyword in value.kwargs)):
            yield from calls_in(item)
    elif isinstance(value, s.Seq | s.Concat):
        for item in value.items if isinstance(value, s.Seq) else value.parts:
            yield from calls_in(item)
    elif isinstance(value, s.Dict):
        for key, item in value.items:
            yield from calls_in(key)
            yield from calls_in(item)


# What makes Django build a UniqueConstraint as a unique index rather than a constraint.
INDEX_BACKED = ("condition", "include", "opclasses")


def indexes_made(step: Step) -> set[str]:
    """The names (lower-cased) of the indexes a step creates: AddIndex, a CreateModel's
    `indexes`, CREATE INDEX in RunSQL."""
    operation = step.operation
    found: list[s.Value | s.Missing] = []
    if operation.is_("AddIndex", "AddIndexConcurrently"):
        found.append(operation.argument(1, "index"))
    elif operation.is_("CreateModel"):
        listed = s.dict_item(operation.argument(2, "options"), "indexes")
        found.extend(listed.items if isinstance(listed, s.Seq) else ())
    names = {
        name.lower()
        for index in found
        if isinstance(index, s.Call)
        for name in (index.kwarg("name"),)
        if isinstance(name, str)
    }
    names.update(
        sqlmod.bare_name(statement.statement.index)
        for statement in runsql_statements(step)
        if statement.statement.index
    )
    return names


def known_indexes(project: Project) -> frozenset[str]:
    """Every index name a migration of the project creates."""
    return frozenset(name for step in table_steps(project) for name in indexes_made(step))


_IF_EXISTS = re.compile(
    r"^\s*(?:drop\s+(?:table|index)(?:\s+concurrently)?|alter\s+table)\s+if\s+exists\b", re.I
)


def maybe_absent(statement: sqlmod.Statement, name: str | None, known: Iterable[str]) -> bool:
    """`... IF EXISTS` of a table or index no migration of the project creates: it may not
    be there, and then nothing is locked."""
    if name is None or not _IF_EXISTS.match(statement.text):
        return False
    return sqlmod.bare_name(name).lower() not in known


def made_here(hazard: sqlmod.Hazard, made: set[str]) -> bool:
    """A DROP INDEX of an index the same migration made."""
    return hazard.detail is not None and sqlmod.bare_name(hazard.detail) in made


def drops_index(before: s.Call, after: s.Call) -> bool:
    """AlterField takes the field's own index away: it had one (db_index, or a foreign key's
    or slug's default) and gets neither an index nor a unique constraint (which brings one)."""
    if before.name in NO_COLUMN or after.name in NO_COLUMN or after.has_star:
        return False
    if flag(before, "primary_key") is not False or flag(after, "primary_key") is not False:
        return False
    had = is_indexed(before) is True and flag(before, "unique") is False
    # A field class of another package may index itself (AutoSlugField is a SlugField).
    loses = flag(after, "db_index", None) is False or (
        is_django_field(after) and is_indexed(after) is False
    )
    return had and loses and flag(after, "unique") is False


def index_backed(constraint: s.Call) -> bool:
    """A UniqueConstraint Django creates with CREATE UNIQUE INDEX (and drops with DROP INDEX)."""
    if constraint.name != "UniqueConstraint":
        return False
    return bool(constraint.args) or any(given(constraint, name) for name in INDEX_BACKED)


def track_constraints(step: Step, constraints: dict[tuple[str, str, str], s.Call]) -> None:
    """Keep, per app, model and name, the constraints CreateModel and AddConstraint add."""
    operation = step.operation
    app = step.migration.app_key
    if operation.is_("CreateModel"):
        model = text_or_unknown(operation.argument(0, "name")).lower()
        listed = s.dict_item(operation.argument(2, "options"), "constraints")
        items = listed.items if isinstance(listed, s.Seq) else ()
    elif operation.is_("AddConstraint", "AddConstraintNotValid"):
        model = text_or_unknown(operation.argument(0, "model_name")).lower()
        items = (operation.argument(1, "constraint"),)  # type: ignore[assignment]
    elif operation.is_("RemoveConstraint"):
        model = text_or_unknown(operation.argument(0, "model_name")).lower()
        constraints.pop((app, model, text_or_unknown(operation.argument(1, "name"))), None)
        return
    else:
        return
    for item in items:
        if isinstance(item, s.Call):
            name = item.kwarg("name")
            if isinstance(name, str):
                constraints[(app, model, name)] = item
