"""Data-migration hygiene: what the functions given to RunPython do with models: today's
model imported instead of `apps.get_model` (MIG601), `save()`, `delete()` or `create()` per
object in a loop (MIG602), a whole table read at once without batching (MIG603).

The functions are read by `runpython` (the module-level functions named in RunPython and
those they call; a function imported from another module cannot be seen and is skipped).
What a function does with its `apps, schema_editor` arguments is in `runpython_arguments`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from miglint.core.finding import UNSAFE, Edit, Finding, Severity
from miglint.graph.nodes import Migration
from miglint.project.load import Project
from miglint.rules.base import Invalid, MigrationRule
from miglint.source import syntax as s

if TYPE_CHECKING:
    from miglint.fixes.source import FixSource
from miglint.rules.runpython import (
    MANAGERS,
    RunPythonFunction,
    binding_of,
    enclosing_loops,
    from_manager,
    reads_table,
    receiver_of,
    resolved_chain,
    runpython_functions,
)

_IMPORTED_ORDER = """\
from django.db import migrations

from shop.models import Order


def fill_totals(apps, schema_editor):
    for order in Order.objects.filter(total=None).iterator():
        order.total = 0
        order.save()


class Migration(migrations.Migration):
    operations = [migrations.RunPython(fill_totals, migrations.RunPython.noop)]
"""
_ADMIN = """\
from django.db import migrations


def create_admin(apps, schema_editor):
    from django.contrib.auth.models import User

    User.objects.create_superuser("admin", "admin@example.com", "changeme")


class Migration(migrations.Migration):
    operations = [migrations.RunPython(code=create_admin, reverse_code=migrations.RunPython.noop)]
"""
_USER_MODEL = """\
from django.contrib.auth import get_user_model
from django.db import migrations


def forwards(apps, schema_editor):
    User = get_user_model()
    User.objects.filter(email="").update(is_active=False)


class Migration(migrations.Migration):
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
"""


class RunPythonImportsModel(MigrationRule):
    """A migration runs against the models *as they were* at that point in history, which is
    what `apps.get_model("app", "Model")` returns inside RunPython. A model imported from
    the app's `models.py` (or `get_user_model()`, or the global `django.apps.apps`
    registry) is today's model: once a later migration adds a field to it, this migration
    selects a column that does not exist yet on a fresh database, and `migrate` fails for
    every new developer, test run and environment. When the model is renamed or deleted the
    import itself breaks the migration.

    Importing other things from a `models` module (choices enums, constants, helper
    functions) is not reported; nor is `from django.db import models`. A module-level
    import is reported only when a RunPython function uses it as a model: a manager such as
    `Model.objects`, `Model.DoesNotExist`, `Model._meta`, or an instance it saves or deletes
    (`Model(...).save()`). Calling a class from a `models` module is not enough: libraries
    document `TagsManager(...)` (django-taggit) or `MPTTOptions(...)` (django-mptt) there for
    use in migrations, and an unsaved instance never meets the database.
    """

    code = "MIG601"
    name = "runpython-imports-model"
    severity = Severity.WARNING
    summary = (
        "A RunPython function uses a model imported from models.py instead of apps.get_model()."
    )
    fix = 'Use the historical model: `Order = apps.get_model("shop", "Order")` inside the function.'
    VALID = (
        """\
from django.db import migrations


def fill_totals(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    Order.objects.filter(total=None).update(total=0)


class Migration(migrations.Migration):
    operations = [migrations.RunPython(fill_totals, migrations.RunPython.noop)]
""",
        """\
from django.db import migrations

from shop.models import OrderStatus


def mark_paid(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    Order.objects.filter(paid=True).update(status=OrderStatus.PAID)


class Migration(migrations.Migration):
    operations = [migrations.RunPython(mark_paid, migrations.RunPython.noop)]
""",
        """\
import mptt.models
from django.db import migrations
from taggit.managers import TaggableManager
from taggit.models import TagsManager


def rebuild_tree(apps, schema_editor):
    Category = apps.get_model("shop", "Category")
    Category._mptt_meta = mptt.models.MPTTOptions(Category.MPTTMeta)
    Category.tags = TagsManager(Category, through=None)
    TaggableManager().contribute_to_class(Category, "labels")


class Migration(migrations.Migration):
    operations = [migrations.RunPython(rebuild_tree, migrations.RunPython.noop)]
""",
        """\
import shop.models
from django.db import migrations, models


class Migration(migrations.Migration):
    operations = [
        migrations.AddField(
            "order", "code", models.CharField(default=shop.models.new_code, max_length=8)
        ),
    ]
""",
    )
    INVALID = (
        Invalid(
            _IMPORTED_ORDER,
            _IMPORTED_ORDER.replace("from shop.models import Order\n\n\n", "\n").replace(
                "schema_editor):\n",
                'schema_editor):\n    Order = apps.get_model("shop", "Order")\n',
            ),
            UNSAFE,
        ),
        Invalid(
            _ADMIN,
            _ADMIN.replace(
                "    from django.contrib.auth.models import User\n",
                '    User = apps.get_model("auth", "User")\n',
            ),
            UNSAFE,
        ),
        Invalid(
            _USER_MODEL,
            _USER_MODEL.replace(
                "from django.contrib.auth import get_user_model\n",
                "from django.conf import settings\n",
            ).replace("get_user_model()", "apps.get_model(settings.AUTH_USER_MODEL)"),
            UNSAFE,
        ),
        # The model module imported whole: not fixed.
        """\
from django.db import migrations

from shop import models


def fill_totals(apps, schema_editor):
    models.Order.objects.filter(total=None).update(total=0)


class Migration(migrations.Migration):
    operations = [migrations.RunPython(fill_totals, migrations.RunPython.noop)]
""",
    )
    autofix = (
        "`--fix --unsafe-fixes` gives the RunPython function its own historical model: "
        '`Order = apps.get_model("shop", "Order")` as its first line (using the name of its '
        "first parameter), for a model imported by name from a `models` module of an app in the "
        "tree or of django.contrib; the import goes when nothing else uses it (an import "
        "inside the function is replaced). `get_user_model()` becomes "
        "`apps.get_model(settings.AUTH_USER_MODEL)`. Unsafe: the historical model has no "
        "custom methods or managers, and it must exist at that point of the history. Models "
        "reached through a module (`models.Order`), functions the RunPython function calls "
        "and the global registry are not fixed."
    )

    def check_migration(self, migration: Migration, project: Project) -> Iterator[Finding]:
        for use in _model_uses(migration):
            yield self.at(migration, use.span, use.message, fix=use.fix)

    def edit(self, finding: Finding, source: FixSource) -> Edit | None:
        from miglint.fixes import historical

        migration = source.migration
        if migration is None:
            return None
        span = s.Span(finding.line, finding.column, finding.end_line, finding.end_column)
        uses = list(_model_uses(migration))
        for use in uses:
            if use.span != span or use.message != finding.message or not _asks_apps(use):
                continue
            if use.kind == "user":
                return historical.user_model(source, use.found.function, use.span)
            if use.kind == "model" and use.imported is not None:
                # A model imported at module level is fixed in every function that uses it
                # at once, so that the import can go.
                functions = [use.found.function] + [
                    other.found.function
                    for other in uses
                    if not use.inside
                    and other is not use
                    and other.kind == "model"
                    and other.imported == use.imported
                    and not other.inside
                    and _asks_apps(other)
                ]
                return historical.historical_model(source, functions, use.imported, use.inside)
        return None


def _asks_apps(use: _ModelUse) -> bool:
    """The function is the one RunPython calls, with `apps` as its first argument (not a
    helper it calls, nor one that functools.partial binds arguments of)."""
    found = use.found
    return found.direct and not found.bound and bool(found.function.params)


@dataclass(frozen=True)
class _ModelUse:
    """A use of today's model in a RunPython function (what MIG601 reports)."""

    found: RunPythonFunction
    name: str
    span: s.Span
    message: str
    fix: str
    # "model" (`from app.models import Model`), "module" (`models.Model`, `app.models.Model`),
    # "user" (get_user_model()) or "registry" (django.apps.apps.get_model).
    kind: str
    # The import it comes from, and whether that import is inside the function.
    imported: s.Import | None = None
    inside: bool = False


def _model_uses(migration: Migration) -> Iterator[_ModelUse]:
    reported: set[tuple[str, str]] = set()
    for found in runpython_functions(migration):
        for use in _uses(found, migration.facts.imports):
            if (found.function.name, use.name) in reported:
                continue
            reported.add((found.function.name, use.name))
            yield use


def _uses(found: RunPythonFunction, module_imports: tuple[s.Import, ...]) -> Iterator[_ModelUse]:
    function = found.function
    body = function.body
    local = {binding.name for binding in body.bindings}
    imports = [(i, False) for i in module_imports] + [(i, True) for i in body.imports]
    for imported, inside in imports:
        kind = _models_import(imported)
        if kind is None or (imported.alias in local and not inside):
            continue
        for call in body.calls:
            model = _model_use(call.callee, imported.alias, kind)
            if model is None:
                continue
            where = "inside the function" if inside else f"on line {imported.span.line}"
            yield _ModelUse(
                found,
                model,
                imported.span if inside else call.span,
                f"{function.name}() uses {model}, imported from {imported.module} {where}: "
                "that is today's model, not the historical one this migration runs against",
                f'Use the historical model: `{model} = apps.get_model("<app_label>", '
                f'"{model}")` inside the function.',
                "model" if kind == "model" else "module",
                imported,
                inside,
            )
            break
    for call in body.calls:
        if call.callee == "get_user_model" or call.callee.endswith(".get_user_model"):
            yield _ModelUse(
                found,
                "get_user_model",
                call.span,
                f"{function.name}() calls get_user_model(), which returns today's user "
                "model, not the historical one",
                "Use `apps.get_model(settings.AUTH_USER_MODEL)` inside the function.",
                "user",
            )
            break
    registry = {
        i.alias
        for i in (*module_imports, *body.imports)
        if i.module == "django.apps" and i.name == "apps"
    }
    for call in body.calls:
        receiver, method = receiver_of(call.callee)
        if method == "get_model" and receiver in registry and receiver not in function.params:
            yield _ModelUse(
                found,
                "apps",
                call.span,
                f"{function.name}() calls {call.callee}() on the global app registry "
                "(django.apps.apps), which holds today's models",
                "Call get_model() on the `apps` argument RunPython passes to the function.",
                "registry",
            )
            break


def _models_import(imported: s.Import) -> str | None:
    """How an import brings in an app's models: "model" (`from shop.models import Order`),
    "module" (`from shop import models`), "dotted" (`import shop.models`), or None."""
    parts = imported.module.lstrip(".").split(".")
    if imported.name is None:
        if parts[-1] != "models" or _db_models(parts) or len(parts) < 2:
            return None
        # `import shop.models` binds `shop`; `import shop.models as m` binds the module.
        return "dotted" if imported.alias == parts[0] else "module"
    if imported.name == "models":
        # `from django.db import models` is the field library; `from .. import models` the app's.
        return None if parts[-1] == "db" else "module"
    if "models" not in parts or _db_models(parts):
        return None
    name = imported.name
    return "model" if name[:1].isupper() and not name.isupper() else None


def _db_models(parts: list[str]) -> bool:
    """`django.db.models` and its kin (`django.contrib.gis.db.models`): not an app's models."""
    index = parts.index("models") if "models" in parts else -1
    return index > 0 and parts[index - 1] == "db"


_MODEL_ACCESS = re.compile(r"^\.(?:objects|_default_manager|_base_manager|DoesNotExist|_meta)\b")
# An instance that is written: `Order(...).save()`.
_SAVED = re.compile(r"^\(\)\.(?:save|delete)$")


def _model_use(callee: str, alias: str, kind: str) -> str | None:
    """The model named by `callee` when it uses the imported `alias` as a model (through a
    manager, `_meta`, `DoesNotExist`, or an instance it saves or deletes), else None. A bare
    call `Name(...)` is no model use: managers, options and helpers are called that way
    (`TagsManager(...)`, `MPTTOptions(...)`), and a model instance that is not saved never
    meets the database."""
    if kind == "model":
        rest = callee[len(alias) :] if callee.startswith(alias) else None
        if rest is not None and (_MODEL_ACCESS.match(rest) or _SAVED.match(rest)):
            return alias
        return None
    prefix = alias + "."
    if not callee.startswith(prefix):
        return None
    rest = callee[len(prefix) :]
    if kind == "dotted":
        # `shop.models.Order...`: skip to what follows the `models` module.
        _, _, rest = rest.partition("models.")
        if not rest:
            return None
    model, _, after = rest.partition(".")
    if not model[:1].isupper() or model.isupper():
        return None
    if model.endswith("()"):
        # `models.Order(...).save()`
        return model[:-2] if _SAVED.match("()." + after) else None
    return model if _MODEL_ACCESS.match("." + after) else None


class SaveInLoop(MigrationRule):
    """`obj.save()`, `obj.delete()` or `Model.objects.create()` inside a loop over a queryset
    sends one query per row. On a table of a million rows that is a million round trips
    inside one transaction, holding locks for the whole migration, and a deploy that
    takes hours. The historical models RunPython gets have no custom `save()` or `delete()`
    methods, so nothing is lost by writing in bulk: `queryset.update(...)` (with `F()` and
    `Case`/`When` expressions), `bulk_update(objs, fields, batch_size=...)`,
    `bulk_create(objs, batch_size=...)`, `queryset.delete()`.

    A loop over a literal list or tuple (seeding a few fixed rows) is not reported: a
    handful of `create()` calls is fine. Nor is a loop over Django's small bookkeeping
    tables (`Permission`, `Group`, `ContentType`, `Site`).

    When the loop also reads the whole table at once (MIG603's hazard: no `.iterator()`, no
    batching), this finding says so too and MIG603 stays quiet on that loop: writing in bulk
    with `queryset.update(...)` removes the loop, and with it both problems.
    """

    code = "MIG602"
    name = "save-in-loop"
    severity = Severity.WARNING
    summary = "save(), delete() or create() called per object in a loop over a queryset."
    fix = "Write in bulk: queryset.update(), bulk_update(objs, fields, batch_size=...), bulk_create(), queryset.delete()."
    VALID = (
        """\
from django.db import migrations
from django.db.models import F


def fill_totals(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    Order.objects.update(total=F("price") * F("quantity"))


class Migration(migrations.Migration):
    operations = [migrations.RunPython(fill_totals, migrations.RunPython.noop)]
""",
        """\
from django.db import migrations


def seed_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ("editors", "reviewers", "admins"):
        Group.objects.create(name=name)


class Migration(migrations.Migration):
    operations = [migrations.RunPython(seed_groups, migrations.RunPython.noop)]
""",
        """\
from django.db import migrations


def fill_slugs(apps, schema_editor):
    Article = apps.get_model("blog", "Article")
    batch = []
    for article in Article.objects.filter(slug="").iterator(chunk_size=2000):
        article.slug = article.title.lower().replace(" ", "-")
        batch.append(article)
    Article.objects.bulk_update(batch, ["slug"], batch_size=2000)


class Migration(migrations.Migration):
    operations = [migrations.RunPython(fill_slugs, migrations.RunPython.noop)]
""",
    )
    INVALID = (
        """\
from django.db import migrations


def combine_names(apps, schema_editor):
    Person = apps.get_model("people", "Person")
    for person in Person.objects.all():
        person.name = f"{person.first_name} {person.last_name}"
        person.save()


class Migration(migrations.Migration):
    operations = [migrations.RunPython(combine_names, migrations.RunPython.noop)]
""",
        """\
import functools

from django.db import migrations


def copy_addresses(apps, schema_editor, kind):
    Customer = apps.get_model("shop", "Customer")
    Address = apps.get_model("shop", "Address")
    customers = Customer.objects.exclude(street="")
    for customer in customers.iterator():
        Address.objects.create(customer=customer, street=customer.street, kind=kind)


class Migration(migrations.Migration):
    operations = [
        migrations.RunPython(
            code=functools.partial(copy_addresses, kind="billing"),
            reverse_code=migrations.RunPython.noop,
        )
    ]
""",
    )

    def check_migration(self, migration: Migration, project: Project) -> Iterator[Finding]:
        for found in runpython_functions(migration):
            body = found.function.body
            for call, loop, message, fix in per_row_writes(body):
                if _unbatched(body, loop) is not None:
                    # MIG603's hazard on the same loop, reported here: one finding per loop.
                    message += "; the loop also loads every row into memory at once (MIG603)"
                    if fix == _UPDATE:
                        fix = _UPDATE_IN_BATCHES
                yield self.at(migration, call.span, message, fix=fix)


_INSERT = "Build the objects in a list and insert them with `bulk_create(objs, batch_size=...)`."
_UPDATE = (
    "Use `queryset.update(...)` (with F() or Case/When expressions), or "
    "`bulk_update(objs, fields, batch_size=...)`."
)
_UPDATE_IN_BATCHES = (
    "Use `queryset.update(...)` (with F() or Case/When expressions), or call `bulk_update()` "
    "every few thousand objects while iterating `queryset.iterator(chunk_size=...)`."
)


def per_row_writes(body: s.FunctionBody) -> Iterator[tuple[s.BodyCall, s.Loop, str, str]]:
    """Each save(), delete() or create() run once per row of a queryset loop in `body`, with
    that loop, what it does and how to write in bulk instead."""
    for call in body.calls:
        if call.loop < 0:
            continue
        loop = next(
            (
                loop
                for loop in enclosing_loops(body, call.loop)
                if loop.kind != "while" and reads_table(resolved_chain(body, loop.iterable))
            ),
            None,
        )
        if loop is None or _small_table(resolved_chain(body, loop.iterable), body):
            continue
        found = _per_row(call, loop, body)
        if found is not None:
            yield call, loop, *found


def _per_row(call: s.BodyCall, loop: s.Loop, body: s.FunctionBody) -> tuple[str, str] | None:
    receiver, method = receiver_of(call.callee)
    rows = resolved_chain(body, loop.iterable)
    where = f"for each row of `{rows}`"
    if method == "save" and re.fullmatch(r"[A-Z]\w*\(\)", receiver):
        return f"`{call.callee}()` runs one INSERT {where}", _INSERT
    if method == "save" and receiver.isidentifier():
        return f"`{call.callee}()` runs one query {where}", _UPDATE
    if method == "delete" and receiver.isidentifier():
        # Django refuses delete() on a sliced queryset: go through the primary keys.
        at_once = (
            "`Model.objects.filter(pk__in=list(queryset.values_list('pk', flat=True))).delete()`"
            if "[" in rows
            else "`queryset.delete()`"
        )
        return f"`{call.callee}()` runs one DELETE {where}", f"Delete the rows at once: {at_once}."
    if method == "create":
        head = receiver.partition(".")[0]
        related = receiver.count(".") == 1 and head in loop.targets
        if related or receiver.rpartition(".")[2] in MANAGERS:
            return f"`{call.callee}()` runs one INSERT {where}", _INSERT
    return None


class UnbatchedDataMigration(MigrationRule):
    """Iterating `Model.objects.all()` (or a filter of it) loads every row into memory at
    once: Django fetches the whole result and caches it in the queryset before the first
    iteration step. On a large table the migration process runs out of memory (or swaps)
    halfway through a deploy. `.iterator(chunk_size=...)` streams the rows; slicing by
    primary key processes them in batches.

    A loop inside a `while` loop (the usual hand-written batching) and a sliced queryset are
    not reported, nor are Django's small bookkeeping tables (`Permission`, `Group`,
    `ContentType`, `Site`).

    When the loop appends every row to a list that one `bulk_update()` or `bulk_create()`
    gets after the loop, `.iterator()` alone would not help (the list holds every row): the
    finding says to write every few thousand objects inside the loop instead. A loop that
    also saves, deletes or creates once per row is MIG602's finding, which says this too.
    """

    code = "MIG603"
    name = "unbatched-data-migration"
    severity = Severity.WARNING
    summary = "A RunPython loop reads a whole table at once, without .iterator() or batching."
    fix = "Iterate `queryset.iterator(chunk_size=2000)`, or process primary-key ranges in batches."
    VALID = (
        """\
from django.db import migrations


def fill_slugs(apps, schema_editor):
    Article = apps.get_model("blog", "Article")
    batch = []
    for article in Article.objects.filter(slug="").iterator(chunk_size=2000):
        article.slug = article.title.lower().replace(" ", "-")
        batch.append(article)
        if len(batch) == 2000:
            Article.objects.bulk_update(batch, ["slug"])
            batch = []
    Article.objects.bulk_update(batch, ["slug"])


class Migration(migrations.Migration):
    operations = [migrations.RunPython(fill_slugs, migrations.RunPython.noop)]
""",
        """\
from django.db import migrations


def seed(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ["editors", "admins"]:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
""",
    )
    INVALID = (
        """\
from django.db import migrations


def fill_slugs(apps, schema_editor):
    Article = apps.get_model("blog", "Article")
    articles = Article.objects.filter(slug="")
    updated = []
    for article in articles:
        article.slug = article.title.lower().replace(" ", "-")
        updated.append(article)
    Article.objects.bulk_update(updated, ["slug"], batch_size=1000)


class Migration(migrations.Migration):
    operations = [migrations.RunPython(fill_slugs, migrations.RunPython.noop)]
""",
    )

    def check_migration(self, migration: Migration, project: Project) -> Iterator[Finding]:
        # A loop that also writes row by row is MIG602's finding, which says this too.
        left_to_save_in_loop = self.reported_by(project, SaveInLoop.code, migration.path)
        for found in runpython_functions(migration):
            body = found.function.body
            writing = {id(loop) for _, loop, _, _ in per_row_writes(body)}
            for loop in body.loops:
                chain = _unbatched(body, loop)
                if chain is None or (left_to_save_in_loop and id(loop) in writing):
                    continue
                name = found.function.name
                kept = _kept_for_bulk(body, loop)
                if kept is None:
                    yield self.at(
                        migration,
                        loop.span,
                        f"{name}() iterates `{chain}` without `.iterator()` or batching: every "
                        "row is loaded into memory at once",
                    )
                    continue
                listed, method = kept
                yield self.at(
                    migration,
                    loop.span,
                    f"{name}() iterates `{chain}` and keeps every row in `{listed}` for one "
                    f"{method}() after the loop: the whole table is in memory at once, so "
                    "`.iterator()` alone would not help",
                    fix=(
                        f"Call {method}() every few thousand objects inside the loop (and iterate "
                        "`queryset.iterator(chunk_size=...)`), or use `queryset.update(...)`."
                    ),
                )


def _unbatched(body: s.FunctionBody, loop: s.Loop) -> str | None:
    """The queryset a loop reads whole (no `.iterator()`, slice or outer batching loop)."""
    if loop.kind == "while":
        return None
    chain = resolved_chain(body, loop.iterable)
    if not from_manager(chain) or ".iterator()" in chain or "[" in chain:
        return None
    if any(outer.kind == "while" for outer in enclosing_loops(body, loop.parent)):
        return None
    if _small_table(chain, body) or _grouped(chain):
        return None
    return chain


def _kept_for_bulk(body: s.FunctionBody, loop: s.Loop) -> tuple[str, str] | None:
    """(list, method) when the loop appends its rows to a list that bulk_update() or
    bulk_create() gets only after the loop: every row stays in memory either way."""
    index = next(position for position, other in enumerate(body.loops) if other is loop)
    inside = {
        position
        for position in range(len(body.loops))
        if index in (position, *_ancestors(body, position))
    }
    appended = {
        receiver_of(call.callee)[0]
        for call in body.calls
        if call.loop in inside
        and receiver_of(call.callee)[1] == "append"
        and len(call.args) == 1
        and isinstance(call.args[0], s.Ref)
        and call.args[0].name in loop.targets
    }
    for call in body.calls:
        method = receiver_of(call.callee)[1]
        if call.loop in inside or method not in ("bulk_update", "bulk_create") or not call.args:
            continue
        first = call.args[0]
        if isinstance(first, s.Ref) and first.name in appended:
            return first.name, method
    return None


def _ancestors(body: s.FunctionBody, index: int) -> Iterator[int]:
    parent = body.loops[index].parent
    while 0 <= parent < len(body.loops):
        yield parent
        parent = body.loops[parent].parent


def _grouped(chain: str) -> bool:
    """DISTINCT or GROUP BY (`values().annotate()`) rows: a few groups, not the whole table."""
    return ".distinct()" in chain or (".values" in chain and ".annotate()" in chain)


_SMALL_MODELS = ("Permission", "Group", "ContentType", "Site")
_SMALL_MODEL_NAME = re.compile(r"""["'](?:\w+\.)?(?:""" + "|".join(_SMALL_MODELS) + r""")["']""")


def _small_table(chain: str, body: s.FunctionBody) -> bool:
    """The chain reads one of Django's small bookkeeping tables (by name or get_model)."""
    root = re.split(r"[.(\[]", chain, maxsplit=1)[0]
    if root in _SMALL_MODELS:
        return True
    binding = binding_of(body, root)
    if binding is None or not binding.chain.endswith("get_model()"):
        return False
    source = binding.value.source if isinstance(binding.value, s.Unknown) else ""
    return bool(_SMALL_MODEL_NAME.search(source))
