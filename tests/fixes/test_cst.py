"""libcst rewrites used by fixes: text in, text out; what is not rewritten stays as it was."""

from __future__ import annotations

import libcst as cst
import pytest

from miglint.fixes import cst as c


def _keyword(source: str) -> str:
    tree = c.Tree.parse(source)
    assert tree is not None
    calls = [node for node in tree.positions if isinstance(node, cst.Call)]
    call = min(calls, key=lambda node: (tree.span(node).line, tree.span(node).column))
    updated = c.with_keyword(call, "reverse_sql", cst.parse_expression("migrations.RunSQL.noop"))
    return c.replace_nodes(tree.module, {call: updated}).code


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('RunSQL("x")\n', 'RunSQL("x", reverse_sql=migrations.RunSQL.noop)\n'),
        ("RunSQL()\n", "RunSQL(reverse_sql=migrations.RunSQL.noop)\n"),
        ('RunSQL("x",)\n', 'RunSQL("x", reverse_sql=migrations.RunSQL.noop,)\n'),
        # One argument per line, with a trailing comma: a line of its own, before the `)`.
        (
            'RunSQL(\n    "x",\n    elidable=True,\n)\n',
            'RunSQL(\n    "x",\n    elidable=True,\n    reverse_sql=migrations.RunSQL.noop,\n)\n',
        ),
        # Without a trailing comma, and a comment after the last argument that stays there.
        (
            'RunSQL(\n    "x"  # the index\n)\n',
            'RunSQL(\n    "x",  # the index\n    reverse_sql=migrations.RunSQL.noop\n)\n',
        ),
        (
            'RunSQL(\n    "x",  # the index\n)\n',
            'RunSQL(\n    "x",  # the index\n    reverse_sql=migrations.RunSQL.noop,\n)\n',
        ),
        # Arguments on the opening line, `)` on a line of its own.
        (
            'RunSQL("x"\n)\n',
            'RunSQL("x", reverse_sql=migrations.RunSQL.noop\n)\n',
        ),
    ],
)
def test_with_keyword_follows_the_layout_of_the_call(before: str, after: str) -> None:
    assert _keyword(before) == after


def _attribute(source: str) -> str | None:
    module = c.set_class_attribute(cst.parse_module(source), "atomic", "False")
    return None if module is None else module.code


def test_atomic_goes_after_the_docstring_replaces_and_initial_spaced_like_the_next_line() -> None:
    source = (
        "class Migration(migrations.Migration):\n"
        '    """Add the index."""\n\n'
        "    initial = True\n\n"
        "    # Before the orders.\n"
        "    dependencies = []\n"
    )
    assert _attribute(source) == (
        "class Migration(migrations.Migration):\n"
        '    """Add the index."""\n\n'
        "    initial = True\n"
        "    atomic = False\n\n"
        "    # Before the orders.\n"
        "    dependencies = []\n"
    )
    django_style = (
        "class Migration(migrations.Migration):\n\n    dependencies = []\n\n    operations = []\n"
    )
    assert _attribute(django_style) == (
        "class Migration(migrations.Migration):\n\n    atomic = False\n\n"
        "    dependencies = []\n\n    operations = []\n"
    )


def test_an_existing_atomic_gets_the_new_value_and_keeps_its_comment() -> None:
    source = "class Migration(Base):\n    atomic = True  # the default\n    operations = []\n"
    assert _attribute(source) == (
        "class Migration(Base):\n    atomic = False  # the default\n    operations = []\n"
    )


def test_no_class_attribute_without_a_migration_class_body() -> None:
    assert _attribute("Migration = make()\n") is None
    assert _attribute("class Migration(Base): pass\n") is None


def _import(source: str) -> str | None:
    found = c.ensure_import(
        cst.parse_module(source), "django.contrib.postgres.operations", "AddIndexConcurrently"
    )
    return None if found is None else found[0].code


def test_import_goes_in_order_among_the_first_imports() -> None:
    assert _import('"""Doc."""\n\nimport x\nfrom django.db import migrations\n\n\nA = 1\n') == (
        '"""Doc."""\n\nimport x\n'
        "from django.contrib.postgres.operations import AddIndexConcurrently\n"
        "from django.db import migrations\n\n\nA = 1\n"
    )
    assert _import("# comment\nfrom django.db import migrations\nfrom zoo import z\n") == (
        "# comment\nfrom django.contrib.postgres.operations import AddIndexConcurrently\n"
        "from django.db import migrations\nfrom zoo import z\n"
    )


def test_an_existing_import_is_used_and_a_taken_name_refused() -> None:
    source = "from django.contrib.postgres.operations import AddIndexConcurrently as AIC\n"
    found = c.ensure_import(
        cst.parse_module(source), "django.contrib.postgres.operations", "AddIndexConcurrently"
    )
    assert found is not None and found[1] == "AIC" and found[0].code == source
    assert _import("from mine import AddIndexConcurrently\n") is None
    assert _import("def AddIndexConcurrently():\n    pass\n") is None


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("from a.models import X\n\n\nY = 1\n", "Y = 1\n"),
        ("from a.models import X, Z\nZ\n", "from a.models import Z\nZ\n"),
        (
            "from a.models import (\n    Z,\n    X,\n)\nZ\n",
            "from a.models import (\n    Z,\n)\nZ\n",
        ),
        # Still used: kept.
        ("from a.models import X\nX.objects\n", "from a.models import X\nX.objects\n"),
        # The comment above the import stays.
        ("# models\nfrom a.models import X\nY = 1\n", "# models\nY = 1\n"),
    ],
)
def test_remove_unused_import(before: str, after: str) -> None:
    assert c.remove_unused_import(cst.parse_module(before), "X").code == after
