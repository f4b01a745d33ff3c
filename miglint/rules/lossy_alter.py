"""MIG103: an AlterField that narrows a column (shorter, fewer digits, text to number, NOT
NULL), which loses data or fails on the rows already there.

What the field was before comes from the app's field history (`miglint.state.history`);
whatever it cannot tell is not compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from miglint.core.finding import Finding, Severity
from miglint.graph.nodes import Migration
from miglint.project.load import Project
from miglint.rules.base import Rule
from miglint.rules.data_loss import model_label, name_or_unknown, table_is_new, with_history
from miglint.rules.deploy_context import Context, column_type
from miglint.rules.deploy_context import rewrites as deploy_rewrites
from miglint.source import syntax as s
from miglint.source.facts import Operation
from miglint.state.history import (
    Before,
    FieldDefinition,
    OperationPath,
    database_operations,
    field_definition,
    nullable,
)


@dataclass(frozen=True)
class _Shape:
    """What a column can hold, as far as narrowing goes."""

    kind: str  # string, integer, float, decimal, datetime, date, time, boolean
    label: str
    # string: most characters (None: unlimited); integer: range; decimal: digits and places.
    length: int | None = None
    low: int = 0
    high: int = 0
    digits: int = 0
    places: int = 0


# Django's default max_length per string field (None: unlimited, as TextField).
_STRINGS: dict[str, int | None] = {
    "CharField": None,
    "SlugField": 50,
    "EmailField": 254,
    "URLField": 200,
    "FilePathField": 100,
    "FileField": 100,
    "ImageField": 100,
}


# Bits of each integer field; positive ones hold no negative numbers.
_INTEGERS = {
    "SmallIntegerField": 16,
    "SmallAutoField": 16,
    "PositiveSmallIntegerField": 16,
    "IntegerField": 32,
    "AutoField": 32,
    "PositiveIntegerField": 32,
    "BigIntegerField": 64,
    "BigAutoField": 64,
    "PositiveBigIntegerField": 64,
}


_SIMPLE = {
    "FloatField": "float",
    "DateTimeField": "datetime",
    "DateField": "date",
    "TimeField": "time",
    "BooleanField": "boolean",
    "NullBooleanField": "boolean",
}


# A double holds every integer up to 2**53 exactly, and about 15 significant digits.
_FLOAT_EXACT = 2**53


_FLOAT_DIGITS = 15


# The longest text of a double, e.g. "-1.2345678901234567e+308".
_FLOAT_TEXT = 24


def _shape(definition: FieldDefinition, database: str | None) -> _Shape | None:
    """The shape of one of Django's fields; None for other fields or unreadable arguments."""
    call, name = definition.call, definition.class_name
    if call.has_star or not definition.is_django:
        return None
    if name == "TextField":
        return _Shape("string", "TextField")
    if name in _STRINGS:
        given = call.kwarg("max_length")
        length = _STRINGS[name] if given is s.MISSING else given
        if not (length is None or (isinstance(length, int) and not isinstance(length, bool))):
            return None
        label = f"{name}(max_length={length})" if length is not None else name
        return _Shape("string", label, length=length)
    if name in _INTEGERS:
        bits = _INTEGERS[name]
        if name.startswith("Positive"):
            # MySQL stores positive integer fields UNSIGNED, with twice the range.
            high = 2**bits - 1 if database == "mysql" else 2 ** (bits - 1) - 1
            return _Shape("integer", name, low=0, high=high)
        return _Shape("integer", name, low=-(2 ** (bits - 1)), high=2 ** (bits - 1) - 1)
    if name == "DecimalField":
        digits, places = call.kwarg("max_digits"), call.kwarg("decimal_places")
        if not (isinstance(digits, int) and isinstance(places, int)):
            return None
        label = f"DecimalField(max_digits={digits}, decimal_places={places})"
        return _Shape("decimal", label, digits=digits, places=places)
    if name in _SIMPLE:
        return _Shape(_SIMPLE[name], name)
    return None


def _integer_digits(shape: _Shape) -> int:
    return shape.digits - shape.places


def _number_text(shape: _Shape) -> int:
    """The most characters a number of this shape takes as text."""
    if shape.kind == "integer":
        return max(len(str(shape.low)), len(str(shape.high)))
    if shape.kind == "decimal":
        return shape.digits + (2 if shape.places else 1)
    return _FLOAT_TEXT


def _narrowing(old: _Shape, new: _Shape) -> str | None:
    """What converting `old` to `new` does to existing values; None when nothing is lost."""
    fail = "make the migration fail"
    if new.kind == "string":
        if old.kind in ("integer", "decimal", "float") and new.length is not None:
            if _number_text(old) > new.length:
                return f"numbers longer than {new.length} characters {fail}"
            return None
        if (
            old.kind == "string"
            and new.length is not None
            and (old.length is None or new.length < old.length)
        ):
            return (
                f"values longer than {new.length} characters {fail} "
                "(or are cut short on MySQL without strict mode)"
            )
        return None
    if old.kind == "string" and new.kind in ("integer", "decimal", "float"):
        return (
            f"text that is not a number will {fail}, and formatting such as leading zeros is lost"
        )
    if new.kind == "integer":
        return _to_integer(old, new)
    if new.kind == "decimal":
        return _to_decimal(old, new)
    if new.kind == "float":
        if old.kind == "integer" and max(-old.low, old.high) > _FLOAT_EXACT:
            return "integers beyond 2**53 lose their last digits as floating point numbers"
        if old.kind == "decimal" and old.digits > _FLOAT_DIGITS:
            return (
                f"values with more than {_FLOAT_DIGITS} significant digits lose their last "
                "digits as floating point numbers"
            )
        return None
    if old.kind == "datetime" and new.kind == "date":
        return "the time of day of every value is lost"
    if old.kind == "datetime" and new.kind == "time":
        return "the date of every value is lost"
    if old.kind == "integer" and new.kind == "boolean":
        return "a boolean keeps only true or false: every other number is lost"
    return None


def _to_integer(old: _Shape, new: _Shape) -> str | None:
    out_of_range = f"values outside {new.low}..{new.high} make the migration fail"
    if old.kind == "integer":
        if old.low < new.low or old.high > new.high:
            return out_of_range + " (or are clipped on MySQL without strict mode)"
        return None
    if old.kind == "float":
        return "the fractional part of every value is rounded away"
    if old.kind == "decimal":
        reasons = []
        if old.places > 0:
            reasons.append("the fractional part of every value is rounded away")
        largest = 10 ** _integer_digits(old) - 1
        if largest > new.high or -largest < new.low:
            reasons.append(out_of_range)
        return "; ".join(reasons) or None
    return None


def _to_decimal(old: _Shape, new: _Shape) -> str | None:
    room = _integer_digits(new)
    too_long = (
        f"values with more than {room} digits before the decimal point make the migration fail"
    )
    if old.kind == "integer":
        if len(str(max(-old.low, old.high))) > room:
            return too_long
        return None
    if old.kind == "float":
        return f"values are rounded to {new.places} decimal places, and {too_long}"
    if old.kind == "decimal":
        reasons = []
        if _integer_digits(old) > room:
            reasons.append(too_long)
        if new.places < old.places:
            reasons.append(
                f"digits after the {_ordinal(new.places)} decimal place are rounded away"
                if new.places
                else "the fractional part of every value is rounded away"
            )
        return "; ".join(reasons) or None
    return None


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _first_data_step(migration: Migration) -> OperationPath | None:
    """Where the migration first runs code or SQL (RunPython, RunSQL) on the database."""
    for path, operation in database_operations(migration.facts.operations):
        if operation.is_("RunPython", "RunSQL"):
            return path
    return None


def _has_default(call: s.Call) -> bool:
    default = call.kwarg("default")
    return (default is not s.MISSING and default is not None) or (
        call.kwarg("db_default") is not s.MISSING
    )


def _null_to_not_null(before: Before, old: FieldDefinition, new: FieldDefinition) -> str | None:
    """NULL -> NOT NULL with nothing to fill the NULLs: Django only fills them from a default,
    and a data step of the app since the field became nullable is taken to have filled them."""
    if "ManyToManyField" in (old.class_name, new.class_name) or new.call.has_star:
        return None
    if before.data_step_since_nullable:
        return None
    if nullable(old.call) is True and nullable(new.call) is False and not _has_default(new.call):
        return _NULL_ROWS
    return None


_NULL_ROWS = "rows that hold NULL make the migration fail"


_INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=200)),
                ("description", models.TextField(blank=True)),
                ("price", models.DecimalField(decimal_places=2, max_digits=10)),
                ("stock", models.BigIntegerField(default=0)),
                ("code", models.CharField(max_length=20)),
                ("updated", models.DateTimeField(null=True)),
            ],
        ),
    ]
"""


# Product gets a nullable `sku`: the start of the "fill it, then make it NOT NULL" examples.
_NULLABLE_SKU = {
    "shop/migrations/0001_initial.py": _INITIAL,
    "shop/migrations/0002_product_sku.py": """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.AddField("product", "sku", models.CharField(max_length=40, null=True)),
    ]
""",
}


def _altered(operations: str, name: str = "0002_alter_product") -> dict[str, str]:
    """A two-migration example: the initial Product model, then `operations`."""
    return {
        "shop/migrations/0001_initial.py": _INITIAL,
        f"shop/migrations/{name}.py": (
            "from django.db import migrations, models\n\n\n"
            "class Migration(migrations.Migration):\n"
            '    dependencies = [("shop", "0001_initial")]\n'
            f"    operations = [\n{operations}\n    ]\n"
        ),
    }


class LossyAlterField(Rule):
    """An `AlterField` that narrows a column converts every existing value to the new type:
    a shorter `max_length`, fewer `max_digits` or `decimal_places`, a smaller integer type,
    text to number, a float or decimal to an integer, a date-time to a date. Values that do
    not fit either make the migration fail halfway through a deploy (PostgreSQL, MySQL in
    strict mode) or are silently cut, rounded or clipped (MySQL without strict mode, and
    rounding everywhere). Making a nullable column NOT NULL without a default fails on
    every row that is NULL.

    What the field was before comes from the app's migration history (its CreateModel,
    AddField or previous AlterField, following renames); when miglint cannot read it, it
    reports nothing. Widening (a longer `max_length`, CharField to TextField, IntegerField
    to BigIntegerField) is safe. AlterField in `SeparateDatabaseAndState`'s
    `state_operations` runs no SQL and is not checked, and neither is a field of a table
    created in the same migration or in the change under review (it has no rows yet), or
    of a model that the same migration then deletes (MIG102 reports that). A column the same
    migration added holds only its default so far: narrowing it cuts nothing, but making it
    NOT NULL still fails on the NULLs it was filled with. When the same migration runs a data
    step (RunPython or RunSQL) before the AlterField, that step is taken to prepare the
    existing rows (as when `makemigrations` is told "I will handle the NULL rows myself"),
    and nothing is reported.

    Making a field NOT NULL is also not reported when the app ran a data step (RunPython, or
    RunSQL that changes rows) in any migration since the field last became nullable: "add it
    nullable, fill it in a data migration, then make it NOT NULL" is the recipe Django's
    documentation gives. An operation miglint does not know, and a migration it cannot read
    completely (operations behind an `if`, for one), count as data steps too: they may fill
    the rows. Narrowing
    stays reported after such an earlier data step: it may have filled some other field
    (nothing says which), and a narrowing that goes wrong cuts values short silently on
    MySQL, where a NOT NULL that goes wrong only stops the migration.

    Most narrowings also change the column type, so the database rewrites the table under
    an exclusive lock (MIG504's hazard). What the user must do first is check the data, so
    MIG103 reports such an AlterField, its message says the table is rewritten too, and
    MIG504 leaves it alone: one finding per operation.

    On PostgreSQL, SET NOT NULL also reads every row while the table is locked ACCESS
    EXCLUSIVE (MIG510's hazard): the message says so, and the hint gives the route that
    avoids the scan (CHECK (column IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT
    NULL).
    """

    code = "MIG103"
    name = "lossy-alter-field"
    severity = Severity.ERROR
    summary = "AlterField that narrows a column (shorter, fewer digits, text to number, NOT NULL)."
    fix = (
        "Check the existing data first (the longest value, the NULL rows) and clean or fill it "
        "in an earlier data migration, or keep the wider type."
    )
    fix_rewrite = (
        "Check the existing data first (the longest value) and clean it in an earlier data "
        "migration; on a large table, add a new column, backfill it in batches and switch to it."
    )
    VALID = (
        _altered(
            "        migrations.AlterField(\n"
            '            model_name="product",\n'
            '            name="name",\n'
            "            field=models.CharField(max_length=255),\n"
            "        ),"
        ),
        _altered(
            '        migrations.AlterField("product", "code", models.TextField()),\n'
            '        migrations.AlterField("product", "stock", models.BigIntegerField(default=0)),\n'
            "        migrations.AlterField(\n"
            '            "product", "updated", models.DateTimeField(default=None, db_default=models.functions.Now())\n'
            "        ),"
        ),
        _altered(
            "        migrations.RunSQL(\n"
            '            "UPDATE shop_product SET updated = created WHERE updated IS NULL;",\n'
            "            migrations.RunSQL.noop,\n"
            "        ),\n"
            "        migrations.AlterField(\n"
            '            model_name="product",\n'
            '            name="updated",\n'
            "            field=models.DateTimeField(),\n"
            "        ),"
        ),
        {
            **_NULLABLE_SKU,
            "shop/migrations/0003_fill_product_sku.py": """\
from django.db import migrations


def fill_skus(apps, schema_editor):
    Product = apps.get_model("shop", "Product")
    for product in Product.objects.filter(sku=None):
        product.sku = f"SKU-{product.pk}"
        product.save(update_fields=["sku"])


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_product_sku")]
    operations = [migrations.RunPython(fill_skus, migrations.RunPython.noop)]
""",
            "shop/migrations/0004_product_sku_not_null.py": """\
from django.db import migrations, models


class Migration(migrations.Migration):
    # 0003 filled the rows that 0002 left NULL.
    dependencies = [("shop", "0003_fill_product_sku")]
    operations = [
        migrations.AlterField("product", "sku", models.CharField(max_length=40)),
    ]
""",
        },
        _altered(
            "        migrations.SeparateDatabaseAndState(\n"
            "            state_operations=[\n"
            '                migrations.AlterField("product", "name", models.CharField(max_length=50)),\n'
            "            ],\n"
            "        ),"
        ),
        """\
from django.db import migrations, models


class Migration(migrations.Migration):
    # Nothing in the tree says what the field was before: nothing to compare with.
    dependencies = [("catalog", "0007_previous")]
    operations = [
        migrations.AlterField("product", "name", models.CharField(max_length=50)),
    ]
""",
    )
    INVALID = (
        _altered(
            "        migrations.AlterField(\n"
            '            model_name="product",\n'
            '            name="name",\n'
            "            field=models.CharField(max_length=100),\n"
            "        ),"
        ),
        _altered(
            '        migrations.AlterField("product", "description", models.CharField(max_length=500)),'
        ),
        _altered(
            "        migrations.AlterField(\n"
            '            model_name="product",\n'
            '            name="price",\n'
            "            field=models.IntegerField(),\n"
            "        ),"
        ),
        _altered('        migrations.AlterField("product", "code", models.IntegerField()),'),
        _altered('        migrations.AlterField("product", "stock", models.IntegerField()),'),
        _altered(
            '        migrations.AlterField("product", "updated", models.DateField(null=True)),'
        ),
        _altered('        migrations.AlterField("product", "updated", models.DateTimeField()),'),
        _altered(
            "        migrations.AlterField(\n"
            '            "product", "price", models.DecimalField(max_digits=8, decimal_places=2)\n'
            "        ),"
        ),
        {
            **_altered(
                '        migrations.RenameModel("Product", "Item"),\n'
                '        migrations.RenameField("item", "name", "title"),'
            ),
            "shop/migrations/0003_alter_item_title.py": """\
from django.db.migrations import AlterField, Migration as BaseMigration
from django.db.models import CharField


class Migration(BaseMigration):
    dependencies = [("shop", "0002_alter_product")]
    operations = [AlterField("item", "title", CharField(max_length=80))]
""",
        },
        {
            # The RunSQL between only adds an index: nothing filled the NULL rows.
            **_NULLABLE_SKU,
            "shop/migrations/0003_product_sku_index.py": """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_product_sku")]
    operations = [
        migrations.RunSQL(
            "CREATE INDEX shop_product_sku ON shop_product (sku);",
            "DROP INDEX shop_product_sku;",
        ),
    ]
""",
            "shop/migrations/0004_product_sku_not_null.py": """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0003_product_sku_index")]
    operations = [
        migrations.AlterField("product", "sku", models.CharField(max_length=40)),
    ]
""",
        },
        {
            # A data step in an earlier migration does not make a narrowing safe.
            "shop/migrations/0001_initial.py": _INITIAL,
            "shop/migrations/0002_fill_codes.py": """\
from django.db import migrations


def fill_codes(apps, schema_editor):
    apps.get_model("shop", "Product").objects.filter(code="").update(code="none")


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(fill_codes, migrations.RunPython.noop)]
""",
            "shop/migrations/0003_shorter_name.py": """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_fill_codes")]
    operations = [
        migrations.AlterField("product", "name", models.CharField(max_length=100)),
    ]
""",
        },
    )

    fix_not_null = (
        "Fill the NULL rows in an earlier data migration; on a large table, then add CHECK "
        "(column IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in a later migration, and only "
        "then SET NOT NULL (PostgreSQL 12+ trusts the check and skips the scan)."
    )

    def check(self, project: Project) -> Iterator[Finding]:
        postgres = Context.of(project).database == "postgresql"
        for migration, operation, message, rewrites in self.narrowing(project):
            if rewrites:
                message += "; it also rewrites the table under an exclusive lock (MIG504)"
            fix = self.fix_rewrite if rewrites else None
            if postgres and _NULL_ROWS in message:
                # SET NOT NULL reads the whole table under ACCESS EXCLUSIVE (MIG510's hazard).
                message += (
                    "; on PostgreSQL the NOT NULL check also reads every row while the table "
                    "is locked ACCESS EXCLUSIVE"
                )
                fix = self.fix_not_null
            yield self.at(migration, operation.span, message, fix=fix)

    def narrowing(self, project: Project) -> Iterator[tuple[Migration, Operation, str, bool]]:
        """Each AlterField this rule reports, its message, and whether it also rewrites the
        table (MIG504's hazard, left to this rule)."""
        context = Context.of(project)
        database = context.database
        for migration, path, operation, before in with_history(project, "AlterField"):
            new = field_definition(operation.argument(2, "field"), migration)
            if before is None or before.field is None or new is None:
                continue
            if table_is_new(context, migration, before):
                continue
            data_step = _first_data_step(migration)
            if data_step is not None and data_step < path:
                # Django's "handle the existing rows myself": a data step prepares them first.
                continue
            old = before.field
            old_shape, new_shape = _shape(old, database), _shape(new, database)
            reasons = []
            # A column this migration added holds only its default so far: nothing to cut.
            added_here = before.field_added_in == migration.key
            if old_shape is not None and new_shape is not None and not added_here:
                reasons.append(_narrowing(old_shape, new_shape))
            reasons.append(_null_to_not_null(before, old, new))
            found = [reason for reason in reasons if reason]
            if not found:
                continue
            model = model_label(operation, before, "model_name")
            field = f"{migration.app}.{model}.{name_or_unknown(operation.argument(1, 'name'))}"
            old_label = old_shape.label if old_shape else old.class_name
            new_label = new_shape.label if new_shape else new.class_name
            previous = f"{migration.app}.{old.migration[1]}"
            if old_label != new_label:
                change = f"narrows {field} from {old_label} (in {previous}) to {new_label}"
            else:
                change = f"makes {field} NOT NULL (nullable in {previous}) with no default"
            old_type, new_type = column_type(old.call), column_type(new.call)
            rewrites = (
                old_type is not None
                and new_type is not None
                and deploy_rewrites(old_type, new_type, database)
            )
            message = f"AlterField {change}: " + "; ".join(found)
            yield migration, operation, message, rewrites
