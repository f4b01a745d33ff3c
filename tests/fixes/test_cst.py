"""The rewrites fixes are made of: text in, text out; what is not rewritten stays as it was."""

from __future__ import annotations

from typing import Any

import libcst as cst
import pytest

from miglint.fixes import cst as c
from miglint.fixes import statements
from miglint.fixes import text as textmod
from miglint.fixes.source import FixSource, SourceFile


def source_of(text: str) -> FixSource:
    project: Any = None
    return FixSource(project, None, SourceFile("f.py", text))


def _keyword(source: str) -> str | None:
    def rewrite(call: cst.Call) -> cst.Call:
        return c.with_keyword(call, "reverse_sql", cst.parse_expression("migrations.RunSQL.noop"))

    return c.rewrite_call(source, rewrite)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('RunSQL("x")', 'RunSQL("x", reverse_sql=migrations.RunSQL.noop)'),
        ("RunSQL()", "RunSQL(reverse_sql=migrations.RunSQL.noop)"),
        ('RunSQL("x",)', 'RunSQL("x", reverse_sql=migrations.RunSQL.noop,)'),
        # One argument per line, with a trailing comma: a line of its own, before the `)`.
        (
            'RunSQL(\n            "x",\n            elidable=True,\n        )',
            'RunSQL(\n            "x",\n            elidable=True,\n'
            "            reverse_sql=migrations.RunSQL.noop,\n        )",
        ),
        # Without a trailing comma, and a comment after the last argument that stays there.
        (
            'RunSQL(\n    "x"  # the index\n)',
            'RunSQL(\n    "x",  # the index\n    reverse_sql=migrations.RunSQL.noop\n)',
        ),
        (
            'RunSQL(\n    "x",  # the index\n)',
            'RunSQL(\n    "x",  # the index\n    reverse_sql=migrations.RunSQL.noop,\n)',
        ),
        # Arguments on the opening line, `)` on a line of its own.
        ('RunSQL("x"\n)', 'RunSQL("x", reverse_sql=migrations.RunSQL.noop\n)'),
    ],
)
def test_with_keyword_follows_the_layout_of_the_call(before: str, after: str) -> None:
    assert _keyword(before) == after


def test_rewrite_call_declines_what_is_not_a_call() -> None:
    assert _keyword("x + 1") is None
    assert _keyword("f(") is None


def _apply(text: str, edits: list[Any] | None) -> str | None:
    return None if edits is None else textmod.apply(text, edits)


def _attribute(text: str) -> str | None:
    return _apply(text, statements.set_class_attribute(source_of(text), "atomic", "False"))


def test_atomic_goes_after_the_docstring_replaces_and_initial_spaced_like_the_next_line() -> None:
    text = (
        "class Migration(migrations.Migration):\n"
        '    """Add the index."""\n\n'
        "    initial = True\n\n"
        "    # Before the orders.\n"
        "    dependencies = []\n"
    )
    assert _attribute(text) == (
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
    # Only options: after the last one, also at the end of a file without a final newline.
    assert _attribute("class Migration(Base):\n    initial = True") == (
        "class Migration(Base):\n    initial = True\n    atomic = False\n"
    )


def test_an_existing_atomic_gets_the_new_value_and_keeps_its_comment() -> None:
    text = "class Migration(Base):\n    atomic = True  # the default\n    operations = []\n"
    assert _attribute(text) == (
        "class Migration(Base):\n    atomic = False  # the default\n    operations = []\n"
    )


def test_no_class_attribute_without_a_migration_class_body() -> None:
    assert _attribute("Migration = make()\n") is None
    assert _attribute("class Migration(Base): pass\n") is None
    assert _attribute("class Migration(Base):\n    x = 1; operations = []\n") is None


def _import(text: str) -> str | None:
    found = statements.ensure_import(
        source_of(text), "django.contrib.postgres.operations", "AddIndexConcurrently"
    )
    return None if found is None else _apply(text, found[0])


def test_import_goes_in_order_among_the_first_imports() -> None:
    assert _import('"""Doc."""\n\nimport x\nfrom django.db import migrations\n\n\nA = 1\n') == (
        '"""Doc."""\n\nimport x\n'
        "from django.contrib.postgres.operations import AddIndexConcurrently\n"
        "from django.db import migrations\n\n\nA = 1\n"
    )
    # Comments that head the file stay first.
    assert _import("# Generated\n\nfrom django.db import migrations\nfrom zoo import z\n") == (
        "# Generated\n\nfrom django.contrib.postgres.operations import AddIndexConcurrently\n"
        "from django.db import migrations\nfrom zoo import z\n"
    )
    assert _import('"""Doc."""\n\n# Django\nfrom django.db import migrations\n') == (
        '"""Doc."""\n\n'
        "from django.contrib.postgres.operations import AddIndexConcurrently\n"
        "# Django\nfrom django.db import migrations\n"
    )
    assert _import("from django.db import migrations\r\n") == (
        "from django.contrib.postgres.operations import AddIndexConcurrently\r\n"
        "from django.db import migrations\r\n"
    )


def test_an_existing_import_is_used_and_a_taken_name_refused() -> None:
    text = "from django.contrib.postgres.operations import AddIndexConcurrently as AIC\n"
    found = statements.ensure_import(
        source_of(text), "django.contrib.postgres.operations", "AddIndexConcurrently"
    )
    assert found == ([], "AIC")
    assert _import("from mine import AddIndexConcurrently\n") is None
    assert _import("def AddIndexConcurrently():\n    pass\n") is None
    assert _import("try:\n    AddIndexConcurrently = 1\nexcept ImportError:\n    pass\n") is None


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("from a.models import X\n\n\nY = 1\n", "Y = 1\n"),
        ("import os\n\nfrom a.models import X\n\n\nY = 1\n", "import os\n\n\nY = 1\n"),
        ("from a.models import X, Z\nZ\n", "from a.models import Z\nZ\n"),
        (
            "from a.models import (\n    Z,\n    X,\n)\nZ\n",
            "from a.models import (\n    Z,\n)\nZ\n",
        ),
        # Still used, also from a function that does not bind it itself: kept.
        ("from a.models import X\nX.objects\n", "from a.models import X\nX.objects\n"),
        (
            "from a.models import X\ndef f():\n    return X\n",
            "from a.models import X\ndef f():\n    return X\n",
        ),
        # Used only where a function binds the name itself: removed.
        (
            "import os\nfrom a.models import X\ndef f(X):\n    return X\n",
            "import os\ndef f(X):\n    return X\n",
        ),
        # The comment above the import stays.
        ("import os\n# models\nfrom a.models import X\nY = 1\n", "import os\n# models\nY = 1\n"),
    ],
)
def test_remove_unused_import(before: str, after: str) -> None:
    assert _apply(before, statements.remove_unused_import(source_of(before), "X")) == after


def test_without_import_keeps_the_rest_of_the_statement() -> None:
    assert c.without_import("from a import (X as Y, Z)", "Y") == "from a import (Z)"
    assert c.without_import("from a import X", "X") is None
    assert c.without_import("import X", "X") is None


def test_calls_beyond_libcst_budget_are_not_rewritten() -> None:
    # libcst takes tens of seconds on a long attribute chain, and crashes on deep nesting.
    chain = "x" + ".y" * 20_000
    assert _keyword(f"RunSQL({chain})") is None
    assert _keyword("RunSQL(" + "(" * 150 + "1" + ")" * 150 + ")") is None
    assert c.without_import("from a import (X, " + "Y, " * 100_000 + ")", "X") is None
