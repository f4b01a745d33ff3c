"""Each rule's fix on migrations written the ways real projects write them: text in, text out
(or no fix offered, where it could not be made cleanly)."""

from __future__ import annotations

from pathlib import Path

from miglint.fixes import text as textmod
from miglint.fixes.operations import concurrent_index
from miglint.fixes.source import FixSource, read_source
from miglint.project.load import Project
from miglint.rules import rule_for_code
from miglint.run.apply_fixes import fix_project
from miglint.run.lint import lint
from tests.helpers import load, write_tree

PATH = "shop/migrations/0002_change.py"
INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[("id", models.AutoField(primary_key=True)), ("total", models.IntegerField())],
        ),
    ]
"""


def fixed(
    tmp_path: Path, code: str, text: str, extra: dict[str, str] | None = None, path: str = PATH
) -> str | None:
    """The migration at `path` after `--fix --unsafe-fixes` of `code`; None: nothing fixed."""
    write_tree(
        tmp_path,
        {"shop/migrations/0001_initial.py": INITIAL, path: text, **(extra or {})},
    )
    rule = rule_for_code(code)
    assert rule is not None
    project = load(tmp_path)
    assert code in [f.code for f in lint(project, [rule])], "the example must be reported"

    def findings(project: Project) -> list:  # type: ignore[type-arg]
        return lint(project, [rule])

    run = fix_project(project, findings, unsafe=True)
    return run.texts.get(str(tmp_path / path)) if run.fixed else None


def test_a_model_used_by_both_functions_is_fetched_in_each_and_its_import_goes(
    tmp_path: Path,
) -> None:
    text = """\
from django.db import migrations

from shop.models import Order


def forwards(apps, schema_editor):
    Order.objects.update(total=1)


def backwards(registry, schema_editor):
    Order.objects.update(total=0)


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
"""
    assert fixed(tmp_path, "MIG601", text) == text.replace(
        "from shop.models import Order\n\n\n", "\n"
    ).replace(
        "def forwards(apps, schema_editor):\n",
        'def forwards(apps, schema_editor):\n    Order = apps.get_model("shop", "Order")\n',
    ).replace(
        "def backwards(registry, schema_editor):\n",
        'def backwards(registry, schema_editor):\n    Order = registry.get_model("shop", "Order")\n',
    )


def test_an_import_still_used_elsewhere_stays(tmp_path: Path) -> None:
    text = """\
from django.db import migrations

from shop.models import STATUSES, Order


def forwards(apps, schema_editor):
    Order.objects.filter(status__in=STATUSES).update(total=1)


def describe():
    return Order.__name__


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
"""
    assert fixed(tmp_path, "MIG601", text) == text.replace(
        "def forwards(apps, schema_editor):\n",
        'def forwards(apps, schema_editor):\n    Order = apps.get_model("shop", "Order")\n',
    )


def test_relative_and_nested_app_imports_name_the_right_app(tmp_path: Path) -> None:
    relative = """\
from django.db import migrations

from ..models import Order, STATUSES


def forwards(apps, schema_editor):
    \"\"\"Reset the totals.\"\"\"
    Order.objects.filter(status__in=STATUSES).update(total=0)


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
"""
    assert fixed(tmp_path / "a", "MIG601", relative) == relative.replace(
        "from ..models import Order, STATUSES", "from ..models import STATUSES"
    ).replace(
        '    """Reset the totals."""\n',
        '    """Reset the totals."""\n    Order = apps.get_model("shop", "Order")\n',
    )
    nested = relative.replace("..models", "apps.shop.models")
    result = fixed(
        tmp_path / "b",
        "MIG601",
        nested,
        {"apps/shop/migrations/0001_initial.py": INITIAL},
        path="apps/shop/migrations/0002_change.py",
    )
    assert result is not None and 'apps.get_model("shop", "Order")' in result


def test_a_model_of_a_package_outside_the_tree_is_not_fixed(tmp_path: Path) -> None:
    text = """\
from django.db import migrations

from billing.models import Invoice


def forwards(apps, schema_editor):
    Invoice.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
"""
    assert fixed(tmp_path, "MIG601", text) is None


def test_existing_atomic_true_becomes_false(tmp_path: Path) -> None:
    text = """\
from django.db import migrations


class Migration(migrations.Migration):
    atomic = True  # as everywhere

    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY order_total ON shop_order (total)",
            "DROP INDEX CONCURRENTLY order_total",
        ),
    ]
"""
    assert fixed(tmp_path, "MIG508", text) == text.replace("atomic = True", "atomic = False")


def test_add_index_written_with_imported_names_and_crlf(tmp_path: Path) -> None:
    text = (
        "from django.contrib.postgres.operations import AddIndexConcurrently as Concurrent\r\n"
        "from django.db.migrations import AddIndex, Migration\r\n"
        "from django.db.models import Index\r\n"
        "\r\n"
        "\r\n"
        "class Migration(Migration):\r\n"
        '    dependencies = [("shop", "0001_initial")]\r\n'
        "    operations = [\r\n"
        '        AddIndex("order", Index(fields=["total"], name="order_total")),\r\n'
        "    ]\r\n"
    )
    result = fixed(
        tmp_path,
        "MIG505",
        text,
        {"pyproject.toml": '[tool.miglint]\ndatabase = "postgresql"\n'},
    )
    assert result == text.replace('        AddIndex("order"', '        Concurrent("order"').replace(
        "class Migration(Migration):\r\n", "class Migration(Migration):\r\n    atomic = False\r\n"
    )


def test_negative_and_string_defaults_become_database_defaults(tmp_path: Path) -> None:
    text = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="order",
            name="rank",
            field=models.IntegerField(
                default=-1,
            ),
        ),
    ]
"""
    config = {"pyproject.toml": '[tool.miglint]\ndjango-version = "5.1"\n'}
    assert fixed(tmp_path, "MIG501", text, config) == text.replace(
        "                default=-1,\n",
        "                default=-1,\n                db_default=-1,\n",
    )


def test_a_callable_default_is_not_made_a_database_default(tmp_path: Path) -> None:
    text = """\
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.AddField(
            "order", "created", models.DateTimeField(default=django.utils.timezone.now)
        ),
    ]
"""
    config = {"pyproject.toml": '[tool.miglint]\ndjango-version = "5.2"\n'}
    assert fixed(tmp_path, "MIG501", text, config) is None


def test_runpython_operations_from_a_module_constant_are_fixed_where_they_are(
    tmp_path: Path,
) -> None:
    text = """\
from django.db import migrations


def forwards(apps, schema_editor):
    pass


OPERATIONS = [
    migrations.RunPython(forwards),
    migrations.RunSQL("UPDATE shop_order SET total = 0 WHERE total < 0"),
]


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = OPERATIONS
"""
    assert fixed(tmp_path, "MIG201", text) == text.replace(
        "RunPython(forwards)", "RunPython(forwards, reverse_code=migrations.RunPython.noop)"
    )


def test_a_function_without_parameters_gets_both(tmp_path: Path) -> None:
    text = """\
from django.db import migrations


def forwards():
    print("nothing to do")


def backwards(apps, editor, *, verbose=False):
    pass


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
"""
    assert fixed(tmp_path, "MIG605", text) == text.replace(
        "def forwards():", "def forwards(apps, schema_editor):"
    )


def test_a_parameter_with_a_default_is_not_followed_by_new_ones(tmp_path: Path) -> None:
    text = """\
from django.db import migrations


def forwards(apps=None):
    pass


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
"""
    assert fixed(tmp_path, "MIG605", text) is None


def test_remove_index_becomes_remove_index_concurrently(tmp_path: Path) -> None:
    """The fix for the removal of an index (made by the fix layer for the rule that reports
    it): unsafe when other operations lose their transaction."""
    text = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [
        migrations.RemoveIndex("order", "order_total_idx"),
        migrations.RunSQL("SELECT 1", migrations.RunSQL.noop),
    ]
"""
    write_tree(tmp_path, {"shop/migrations/0001_initial.py": INITIAL, PATH: text})
    project = load(tmp_path)
    (migration,) = [m for m in project.migrations if m.path.endswith(PATH)]
    source = read_source(migration.path)
    assert source is not None
    edit = concurrent_index(FixSource(project, migration, source), migration.facts.operations[0])
    assert edit is not None and edit.applicability == "unsafe"
    assert textmod.apply(text, edit.edits) == (
        "from django.contrib.postgres.operations import RemoveIndexConcurrently\n"
        + text.replace(
            "class Migration(migrations.Migration):\n",
            "class Migration(migrations.Migration):\n    atomic = False\n",
        ).replace("migrations.RemoveIndex(", "RemoveIndexConcurrently(")
    )
