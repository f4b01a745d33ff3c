"""MIG601-MIG604 on data migrations written the ways people write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from miglint.source import syntax as s
from tests.helpers import lint_tree, write_tree

CODES = ("MIG601", "MIG602", "MIG603", "MIG604")
PATH = "shop/migrations/0002_data.py"


def _findings(
    tmp_path: Path, source: str, extra: dict[str, str] | None = None
) -> list[tuple[str, int]]:
    write_tree(tmp_path, {PATH: source, **(extra or {})})
    return [(f.code, f.line) for f in lint_tree(tmp_path, *CODES) if f.path.endswith(PATH)]


def _migration(
    functions: str, operation: str = "migrations.RunPython(forwards, migrations.RunPython.noop)"
) -> str:
    return (
        "from django.db import migrations\n"
        + functions
        + "\n\nclass Migration(migrations.Migration):\n"
        + '    dependencies = [("shop", "0001_initial")]\n'
        + f"    operations = [{operation}]\n"
    )


CASES = [
    pytest.param(
        # Django's documentation example: a save per row of a whole table.
        _migration(
            "\n\ndef forwards(apps, schema_editor):\n"
            '    Person = apps.get_model("yourappname", "Person")\n'
            "    for person in Person.objects.all():\n"
            '        person.name = f"{person.first_name} {person.last_name}"\n'
            "        person.save()\n"
        ),
        [("MIG602", 8)],
        id="django-docs-combine-names",
    ),
    pytest.param(
        _migration(
            "from django.contrib.auth.models import User\n\n\n"
            "def forwards(apps, schema_editor):\n"
            '    User.objects.filter(email="").update(is_active=False)\n'
        ),
        [("MIG601", 6)],
        id="module-level-auth-user-import",
    ),
    pytest.param(
        _migration(
            "from shop.models import Order\n\n\n"
            "def forwards(apps, schema_editor):\n"
            '    Order = apps.get_model("shop", "Order")\n'
            "    Order.objects.update(total=0)\n"
        ),
        [],
        id="stale-import-shadowed-by-get-model",
    ),
    pytest.param(
        _migration(
            "from shop.models import Order, OrderStatus\n\n\n"
            "def forwards(apps, schema_editor):\n"
            '    apps.get_model("shop", "Order").objects.update(status=OrderStatus.NEW)\n'
            "    return isinstance(None, Order)\n"
        ),
        [],
        id="enum-import-and-isinstance-are-not-model-use",
    ),
    pytest.param(
        _migration(
            "\n\ndef forwards(apps, schema_editor):\n"
            "    from shop import models as shop_models\n"
            "    for order in shop_models.Order.objects.iterator():\n"
            "        pass\n"
        ),
        [("MIG601", 5)],
        id="models-module-imported-in-function",
    ),
    pytest.param(
        _migration(
            "\n\ndef forwards(apps, schema_editor):\n"
            '    Group = apps.get_model("auth", "Group")\n'
            '    Perm = apps.get_model("auth", "Permission")\n'
            '    editors = Group.objects.get(name="editors")\n'
            '    for permission in Perm.objects.filter(codename__startswith="change_"):\n'
            "        editors.permissions.add(permission)\n"
            "    for group in Group.objects.all():\n"
            "        group.permissions.clear()\n"
        ),
        [],
        id="bookkeeping-tables-are-small",
    ),
    pytest.param(
        # django/contrib/contenttypes/migrations/0002_remove_content_type_name.py
        _migration(
            "\n\ndef forwards(apps, schema_editor):\n"
            "    alias = schema_editor.connection.alias\n"
            '    ContentType = apps.get_model("contenttypes", "ContentType")\n'
            "    for ct in ContentType.objects.using(alias):\n"
            "        try:\n"
            "            ct.name = apps.get_model(ct.app_label, ct.model)._meta.object_name\n"
            "        except LookupError:\n"
            "            ct.name = ct.model\n"
            "        ct.save()\n"
        ),
        [],
        id="django-contenttypes-0002",
    ),
    pytest.param(
        _migration(
            "from .. import models as app_models\n\n\n"
            "def forwards(apps, schema_editor):\n"
            "    app_models.Order.objects.update(total=0)\n"
        ),
        [("MIG601", 6)],
        id="relative-import-of-the-apps-models",
    ),
    pytest.param(
        _migration(
            "from django.apps import apps as global_apps\n\n\n"
            "def forwards(apps, schema_editor):\n"
            '    Order = global_apps.get_model("shop", "Order")\n'
            "    Order.objects.update(total=0)\n"
        ),
        [("MIG601", 6)],
        id="global-app-registry",
    ),
    pytest.param(
        _migration(
            "\n\ndef forwards(apps, schema_editor):\n"
            '    Group = apps.get_model("auth", "Group")\n'
            '    for name in ["editors", "admins"]:\n'
            "        Group.objects.create(name=name)\n"
            '    Tag = apps.get_model("shop", "Tag")\n'
            '    [Tag.objects.get_or_create(name=n) for n in ("a", "b")]\n'
        ),
        [],
        id="seeding-fixed-rows",
    ),
    pytest.param(
        _migration(
            "\n\ndef forwards(apps, schema_editor):\n"
            '    Order = apps.get_model("shop", "Order")\n'
            "    stale = Order.objects.filter(paid=False)\n"
            "    for order in stale.iterator(chunk_size=500):\n"
            "        order.delete()\n"
        ),
        [("MIG602", 8)],
        id="delete-per-row-through-a-local-queryset",
    ),
    pytest.param(
        _migration(
            "\n\ndef forwards(apps, schema_editor):\n"
            '    User = apps.get_model("auth", "User")\n'
            '    Profile = apps.get_model("shop", "Profile")\n'
            "    for user in User.objects.filter(profile=None).iterator():\n"
            "        Profile(user=user).save()\n"
        ),
        [("MIG602", 8)],
        id="constructor-save-per-row",
    ),
    pytest.param(
        _migration(
            "\n\ndef forwards(apps, schema_editor):\n"
            '    Author = apps.get_model("shop", "Author")\n'
            "    for author in Author.objects.all():\n"
            "        for book in author.books.all():\n"
            "            book.title = book.title.strip()\n"
            "            book.save()\n"
            "        author.books.create(title='untitled')\n"
        ),
        [("MIG602", 9), ("MIG602", 10)],
        id="nested-related-managers",
    ),
    pytest.param(
        _migration(
            "\n\ndef _touch(Order):\n"
            "    for order in Order.objects.filter(total=None):\n"
            "        order.save()\n\n\n"
            "def forwards(apps, schema_editor):\n"
            '    _touch(apps.get_model("shop", "Order"))\n'
        ),
        [("MIG602", 6)],
        id="helper-called-from-runpython",
    ),
    pytest.param(
        _migration(
            "from functools import partial\n\n\n"
            "def set_flag(apps, schema_editor, value):\n"
            '    Order = apps.get_model("shop", "Order")\n'
            "    for order in Order.objects.all():\n"
            "        order.flag = value\n"
            "        order.save()\n",
            "migrations.RunPython(code=partial(set_flag, value=True), "
            "reverse_code=partial(set_flag, value=False))",
        ),
        [("MIG602", 9)],
        id="partial-by-keyword-for-both-directions",
    ),
    pytest.param(
        _migration(
            "from shop.migrations_helpers import forwards\n",
            "migrations.RunPython(forwards)",
        ),
        [],
        id="function-from-another-module-is-not-seen",
    ),
    pytest.param(
        _migration(
            "\n\ndef forwards(apps, schema_editor):\n"
            '    Order = apps.get_model("shop", "Order")\n'
            "    last = 0\n"
            "    while True:\n"
            "        batch = list(Order.objects.filter(pk__gt=last).order_by('pk')[:1000])\n"
            "        if not batch:\n"
            "            break\n"
            "        for order in batch:\n"
            "            order.total = 0\n"
            "        Order.objects.bulk_update(batch, ['total'])\n"
            "        last = batch[-1].pk\n"
        ),
        [],
        id="hand-written-batches",
    ),
    pytest.param(
        _migration(
            "\n\ndef forwards(apps, schema_editor):\n"
            '    sql = "ALTER TABLE shop_order ADD COLUMN legacy integer"\n'
            "    schema_editor.execute(sql)\n"
            '    schema_editor.execute("UPDATE shop_order SET total = 0")\n'
            "    schema_editor.execute(f\"DROP INDEX {'idx'}\")\n"
            '    schema_editor.add_field(apps.get_model("shop", "Order"), None)\n'
        ),
        [("MIG604", 6), ("MIG604", 8), ("MIG604", 9)],
        id="ddl-through-the-schema-editor",
    ),
    pytest.param(
        _migration(
            "\n\ndef forwards(apps, schema_editor):\n"
            "    with schema_editor.connection.cursor() as cursor:\n"
            '        cursor.execute("SELECT id FROM shop_order")\n'
            "        rows = cursor.fetchall()\n"
        ),
        [],
        id="queries-through-a-cursor",
    ),
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_data_migration(tmp_path: Path, source: str, expected: list[tuple[str, int]]) -> None:
    assert sorted(_findings(tmp_path, source), key=lambda f: (f[1], f[0])) == sorted(
        expected, key=lambda f: (f[1], f[0])
    )


def test_lambda_and_noop_are_skipped(tmp_path: Path) -> None:
    source = _migration(
        "",
        "migrations.RunPython(lambda apps, editor: None, migrations.RunPython.noop)",
    )
    assert _findings(tmp_path, source) == []


def test_newer_syntax_read_by_libcst_still_finds_hazards(tmp_path: Path) -> None:
    # `except A, B:` (Python 3.14) makes this file go through the libcst front-end.
    source = _migration(
        "\n\ndef forwards(apps, schema_editor):\n"
        "    from django.contrib.auth.models import User\n"
        "    try:\n"
        "        for user in User.objects.all():\n"
        "            user.save()\n"
        "    except ValueError, TypeError:\n"
        "        pass\n"
    )
    found = _findings(tmp_path, source)
    assert ("MIG601", 5) in found
    assert ("MIG602", 8) in found


@pytest.mark.parametrize(
    ("definition", "operation", "problem"),
    [
        ("def forwards(apps):", "migrations.RunPython(forwards)", "it takes 1 positional argument"),
        ("def forwards():", "migrations.RunPython(code=forwards)", "it takes 0 positional"),
        (
            "def forwards(apps, schema_editor, value):",
            "migrations.RunPython(forwards)",
            "missing 'value'",
        ),
        (
            "def forwards(apps, schema_editor):",
            "migrations.RunPython(functools.partial(forwards, 1))",
            "it takes 2 positional arguments",
        ),
        (
            "def forwards(flag, apps, schema_editor):",
            "migrations.RunPython(functools.partial(forwards, flag=True))",
            "'flag' is given twice",
        ),
        (
            "def forwards(flag, apps, schema_editor):",
            "migrations.RunPython(functools.partial(forwards, True))",
            None,
        ),
        ("def forwards(apps, schema_editor, value=1):", "migrations.RunPython(forwards)", None),
        ("def forwards(*args, **kwargs):", "migrations.RunPython(forwards)", None),
        ("def forwards(apps, *rest):", "migrations.RunPython(forwards)", None),
        (
            "def forwards(apps, schema_editor, value):",
            "migrations.RunPython(functools.partial(forwards, value=2))",
            None,
        ),
        (
            "def forwards(apps):",
            "migrations.RunPython(functools.partial(forwards, **OPTIONS))",
            None,
        ),
    ],
)
def test_runpython_signature(
    tmp_path: Path, definition: str, operation: str, problem: str | None
) -> None:
    source = (
        "import functools\n\nfrom django.db import migrations\n\n\n"
        f"{definition}\n    pass\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    operations = [{operation}]\n"
    )
    write_tree(tmp_path, {PATH: source})
    messages = [f.message for f in lint_tree(tmp_path, "MIG605")]
    if problem is None:
        assert messages == []
    else:
        assert len(messages) == 1 and problem in messages[0], messages


def test_both_front_ends_read_function_bodies_alike() -> None:
    import libcst

    from miglint.source import cstsource, pysource

    source = (
        "def forwards(apps, schema_editor):\n"
        "    from shop.models import Order\n"
        "    qs = Order.objects.filter(paid=True)\n"
        "    [o.save() for o in Order.objects.all() if o.total for line in o.lines.all()]\n"
        "    {k: v.delete() for k, v in enumerate(qs)}\n"
        "    for i, order in enumerate(qs.select_related('customer')):\n"
        "        while order.total > 0:\n"
        "            order.total -= 1\n"
        "        schema_editor.execute('ALTER TABLE x ADD y int', [i])\n"
    )
    by_ast = pysource.parse_source(source).body[0]
    by_cst = cstsource.module(libcst.parse_module(source)).body[0]
    assert isinstance(by_ast, s.FunctionDef) and isinstance(by_cst, s.FunctionDef)
    for function in (by_ast, by_cst):
        assert function.params == ("apps", "schema_editor")
    ast_body, cst_body = by_ast.body, by_cst.body
    assert ast_body.imports == cst_body.imports
    assert ast_body.bindings == cst_body.bindings

    def loops(body: s.FunctionBody) -> list[tuple[str, str, tuple[str, ...], int]]:
        return sorted((lp.kind, lp.iterable, lp.targets, lp.span.line) for lp in body.loops)

    def calls(body: s.FunctionBody) -> list[tuple[str, str, int, str]]:
        return sorted(
            (
                c.callee,
                repr(c.args),
                c.span.line,
                body.loops[c.loop].iterable if c.loop >= 0 else "",
            )
            for c in body.calls
        )

    assert loops(ast_body) == loops(cst_body)
    assert calls(ast_body) == calls(cst_body)


def test_grouped_and_distinct_rows_are_not_a_whole_table(tmp_path: Path) -> None:
    # django-cms and wagtail loop over a few groups of duplicates, not over every row.
    source = _migration(
        "\n\ndef forwards(apps, schema_editor):\n"
        '    Page = apps.get_model("shop", "Page")\n'
        '    for language in Page.objects.values_list("language").distinct():\n'
        "        print(language)\n"
        '    for group in Page.objects.values("slug").annotate(n=Count("id")).filter(n__gt=1):\n'
        "        print(group)\n"
    )
    assert [code for code, _ in _findings(tmp_path, source) if code == "MIG603"] == []


def test_deleting_rows_of_a_sliced_queryset_suggests_what_django_allows(tmp_path: Path) -> None:
    source = _migration(
        "\n\ndef forwards(apps, schema_editor):\n"
        '    Url = apps.get_model("shop", "Url")\n'
        '    for url in Url.objects.order_by("-pk")[1:]:\n'
        "        url.delete()\n"
    )
    write_tree(tmp_path, {PATH: source})
    (finding,) = lint_tree(tmp_path, "MIG602")
    assert finding.fix is not None
    assert "pk__in" in finding.fix and "`queryset.delete()`" not in finding.fix


def test_a_loop_that_saves_each_row_of_a_whole_table_is_one_finding(tmp_path: Path) -> None:
    source = _migration(
        "\n\ndef forwards(apps, schema_editor):\n"
        '    Invoice = apps.get_model("billing", "Invoice")\n'
        "    for invoice in Invoice.objects.filter(number=None):\n"
        '        invoice.number = f"INV-{invoice.pk:06}"\n'
        "        invoice.save(update_fields=['number'])\n"
    )
    write_tree(tmp_path, {PATH: source})
    (finding,) = lint_tree(tmp_path, *CODES)
    assert finding.code == "MIG602" and finding.line == 8
    assert "loads every row into memory at once" in finding.message
    assert finding.fix is not None and ".iterator(chunk_size=" in finding.fix
    # A project that does not select MIG602 still hears about the memory.
    (tmp_path / "pyproject.toml").write_text('[tool.miglint]\nignore = ["MIG602"]\n')
    (finding,) = lint_tree(tmp_path, *CODES)
    assert finding.code == "MIG603" and finding.line == 6


def test_rows_kept_for_one_bulk_update_are_not_helped_by_iterator(tmp_path: Path) -> None:
    source = _migration(
        "\n\ndef forwards(apps, schema_editor):\n"
        '    Ticket = apps.get_model("desk", "Ticket")\n'
        "    changed = []\n"
        "    for ticket in Ticket.objects.exclude(priority=None):\n"
        "        ticket.priority = ticket.priority * 10\n"
        "        changed.append(ticket)\n"
        '    Ticket.objects.bulk_update(changed, ["priority"], batch_size=500)\n'
    )
    write_tree(tmp_path, {PATH: source})
    (finding,) = lint_tree(tmp_path, *CODES)
    assert finding.code == "MIG603" and finding.line == 7
    assert "keeps every row in `changed` for one bulk_update()" in finding.message
    assert finding.fix is not None and "inside the loop" in finding.fix
    assert not finding.fix.startswith("Iterate")


@pytest.mark.parametrize(
    ("body", "reported"),
    [
        ("    Order(total=0).get_absolute_url()\n", False),
        ("    TagsManager(Order, through=None)\n", False),
        ("    shop.models.Order(total=0)\n", False),
        ("    Order(total=0).save()\n", True),
        ("    shop.models.Order(total=0).delete()\n", True),
        ("    shop.models.Order.objects.count()\n", True),
    ],
)
def test_only_a_use_as_a_model_counts(tmp_path: Path, body: str, reported: bool) -> None:
    source = _migration(
        "import shop.models\nfrom shop.models import Order, TagsManager\n\n\n"
        "def forwards(apps, schema_editor):\n" + body
    )
    write_tree(tmp_path, {PATH: source})
    assert bool(lint_tree(tmp_path, "MIG601")) is reported
