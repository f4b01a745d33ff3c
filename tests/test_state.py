"""Model state from migrations: values and fields normalised as Django deconstructs them,
operations replayed as their state_forwards() do."""

from __future__ import annotations

from pathlib import Path

import pytest

from miglint.source import syntax as s
from miglint.source.parse import parse_migration
from miglint.source.pysource import parse_source
from miglint.state.fields import FieldState, deconstruct_field
from miglint.state.state import migration_states, replay_app
from miglint.state.values import ImportScope, Undecidable, canonical
from tests.helpers import load, migration, write_tree

IMPORTS = (
    "import datetime\nfrom decimal import Decimal\nfrom django.db import models\n"
    "from django.utils.translation import gettext_lazy as _\n"
)


def value(source: str) -> object:
    module = parse_source(IMPORTS + f"x = {source}\n")
    statement = module.body[-1]
    assert isinstance(statement, s.Assign)
    imports = [st for st in module.body if isinstance(st, s.Import)]
    return canonical(statement.value, ImportScope(imports))


def field(source: str, model: str = "product") -> FieldState:
    module = parse_source(IMPORTS + f"x = {source}\n")
    statement = module.body[-1]
    assert isinstance(statement, s.Assign) and isinstance(statement.value, s.Call)
    imports = [st for st in module.body if isinstance(st, s.Import)]
    return deconstruct_field("x", statement.value, ImportScope(imports), "shop", model)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ('_("Name")', '"Name"'),
        ("Decimal(0)", "Decimal('0')"),
        # Compared with ==, as the autodetector compares them (checked against Django 5.2).
        ("Decimal('0.0')", "Decimal('0')"),
        ("Decimal(30)", "30"),
        ("datetime.timedelta(hours=24)", "datetime.timedelta(days=1)"),
        ("models.Q(a=1, b=2)", 'models.Q(("a", 1), ("b", 2))'),
        ('{"b": 1, "a": 2}', '{"a": 2, "b": 1}'),
        ("models.CASCADE", "django.db.models.deletion.CASCADE"),
        ("set()", "set([])"),
    ],
)
def test_values_that_django_sees_as_equal(left: str, right: str) -> None:
    assert value(left) == value(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ('["name"]', '("name",)'),
        ("Decimal('0.1')", "0.1"),
        ("models.Q(a=1)", "models.Q(a=1, _negated=True)"),
    ],
)
def test_values_that_django_sees_as_different(left: str, right: str) -> None:
    assert value(left) != value(right)


@pytest.mark.parametrize("source", ["MAX_LENGTH", "get_default()", "lambda: 1", "f'{x}'"])
def test_values_only_known_at_import_time_are_undecidable(source: str) -> None:
    with pytest.raises(Undecidable):
        value(source)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("models.SlugField()", "models.SlugField(max_length=50, db_index=True)"),
        (
            'models.CharField("label", max_length=3)',
            'models.CharField(verbose_name="label", max_length=3)',
        ),
        ("models.EmailField()", "models.EmailField(max_length=254)"),
        ("models.URLField()", "models.URLField(max_length=200, blank=False, null=False)"),
        (
            'models.ForeignKey("Category", models.CASCADE)',
            'models.ForeignKey(on_delete=models.CASCADE, to="shop.category", db_index=True)',
        ),
        (
            'models.ForeignKey("self", on_delete=models.CASCADE)',
            'models.ForeignKey("shop.Product", on_delete=models.CASCADE)',
        ),
        ("models.DateTimeField(auto_now=True, blank=True)", "models.DateTimeField(auto_now=True)"),
        (
            "models.OneToOneField('x.Y', on_delete=models.CASCADE, unique=True)",
            "models.OneToOneField('x.y', on_delete=models.CASCADE)",
        ),
        (
            'models.CharField(max_length=1, choices=(("a", "A"),))',
            'models.CharField(max_length=1, choices=[("a", "A")])',
        ),
        (
            'models.CharField(max_length=1, choices={"a": "A"})',
            'models.CharField(max_length=1, choices=[("a", "A")])',
        ),
        ("models.BinaryField(editable=False)", "models.BinaryField()"),
    ],
)
def test_fields_deconstruct_like_django(left: str, right: str) -> None:
    first, second = field(left), field(right)
    assert first.unknown is None and second.unknown is None
    assert (first.cls, dict(first.kwargs)) == (second.cls, dict(second.kwargs))


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("models.SlugField()", "models.SlugField(db_index=False)"),
        ("models.BinaryField()", "models.BinaryField(editable=True)"),
        (
            "models.ForeignKey('a.b', on_delete=models.CASCADE)",
            "models.ForeignKey('a.b', on_delete=models.PROTECT)",
        ),
        ("models.CharField(max_length=5)", "models.CharField(max_length=5, help_text='h')"),
        ("models.IntegerField()", "models.BigIntegerField()"),
    ],
)
def test_field_changes_django_would_migrate(left: str, right: str) -> None:
    first, second = field(left), field(right)
    assert (first.cls, dict(first.kwargs)) != (second.cls, dict(second.kwargs))


def test_a_field_class_miglint_does_not_know_keeps_its_arguments_as_written() -> None:
    custom = field("thirdparty.fields.MoneyField(max_digits=5, currency='EUR')")
    assert custom.raw and custom.cls == "MoneyField"
    assert dict(custom.kwargs) == {"max_digits": 5, "currency": "EUR"}


def replay(*operations: str) -> dict[str, object]:
    facts = parse_migration(migration(operations=",\n".join(operations)))
    state, _ = replay_app("shop", [("0001", facts.operations, facts.imports)])
    assert state.unknown is None
    return dict(state.models)


CREATE = """migrations.CreateModel(
    name="Product",
    fields=[
        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
        ("name", models.CharField(max_length=10)),
    ],
    options={"ordering": ["name"], "verbose_name": "product"},
)"""


def test_replay_follows_every_field_operation() -> None:
    models = replay(
        CREATE,
        'migrations.AddField("product", "sku", models.CharField(default="x", max_length=5), preserve_default=False)',
        'migrations.RenameField("product", "name", "title")',
        'migrations.AlterField("product", "title", models.CharField(max_length=20))',
        'migrations.RemoveField("product", "id")',
    )
    product = models["product"]
    assert set(product.fields) == {"title", "sku"}  # type: ignore[attr-defined]
    assert dict(product.fields["sku"].kwargs) == {"max_length": 5}  # type: ignore[attr-defined]
    assert dict(product.fields["title"].kwargs) == {"max_length": 20}  # type: ignore[attr-defined]


def test_alter_model_options_replaces_every_option_it_covers() -> None:
    models = replay(CREATE, 'migrations.AlterModelOptions("product", {"verbose_name": "item"})')
    options = models["product"].options  # type: ignore[attr-defined]
    assert "ordering" not in options and options["verbose_name"] == "item"


def test_meta_operations_build_normalised_options() -> None:
    models = replay(
        CREATE,
        'migrations.AlterUniqueTogether("product", ("name", "id"))',
        'migrations.AddIndex("product", models.Index(fields=("name",), name="n_idx"))',
        'migrations.AddConstraint("product", models.UniqueConstraint(fields=["name"], name="u"))',
        'migrations.RemoveConstraint("product", "u")',
        'migrations.RenameIndex("product", new_name="name_idx", old_name="n_idx")',
        'migrations.AlterModelTable("product", "catalog")',
    )
    options = models["product"].options  # type: ignore[attr-defined]
    assert options["unique_together"] == frozenset({("name", "id")})
    assert [entry[0] for entry in options["indexes"]] == ["name_idx"]
    assert options["constraints"] == ()
    assert options["db_table"] == "catalog"


def test_separate_database_and_state_counts_by_its_state_side() -> None:
    models = replay(
        CREATE,
        """migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL("ALTER TABLE x ADD y int")],
            state_operations=[migrations.AddField("product", "y", models.IntegerField())],
        )""",
        "migrations.RunPython(migrations.RunPython.noop)",
    )
    assert "y" in models["product"].fields  # type: ignore[attr-defined]


def test_rename_model_repoints_relations() -> None:
    models = replay(
        CREATE,
        """migrations.CreateModel(name="Line", fields=[
            ("product", models.ForeignKey(on_delete=models.CASCADE, to="shop.product")),
        ])""",
        'migrations.RenameModel("Product", "Article")',
    )
    assert set(models) == {"article", "line"}
    assert models["line"].fields["product"].kwargs["to"] == "shop.article"  # type: ignore[attr-defined]


def test_squashed_migrations_are_replayed_once(tmp_path: Path) -> None:
    create = CREATE.replace("ordering", "get_latest_by").replace('["name"]', '"name"')
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": migration(operations=create),
            "shop/migrations/0002_remove.py": migration(
                dependencies='("shop", "0001_initial")',
                operations='migrations.RemoveField("product", "name")',
            ),
            "shop/migrations/0001_squashed_0002.py": migration(
                operations=create + ',\nmigrations.RemoveField("product", "name")',
                extra='    replaces = [("shop", "0001_initial"), ("shop", "0002_remove")]\n',
            ),
            "shop/migrations/0003_add.py": migration(
                dependencies='("shop", "0002_remove")',
                operations='migrations.AddField("product", "sku", models.IntegerField())',
            ),
        },
    )
    states = migration_states(load(tmp_path))
    assert set(states["shop"].models["product"].fields) == {"id", "sku"}


def test_runsql_state_operations_change_the_state_and_runpython_has_none() -> None:
    models = replay(
        CREATE,
        """migrations.RunSQL(
            "ALTER TABLE shop_product ADD COLUMN price integer",
            "ALTER TABLE shop_product DROP COLUMN price",
            [migrations.AddField("product", "price", models.IntegerField(null=True))],
        )""",
        """migrations.RunSQL(
            sql="ALTER TABLE shop_product ADD COLUMN stock integer",
            state_operations=[
                migrations.SeparateDatabaseAndState(
                    state_operations=[migrations.AddField("product", "stock", models.IntegerField(null=True))],
                ),
            ],
        )""",
        'migrations.RunSQL("ALTER TABLE shop_product ADD COLUMN ghost integer")',
        "migrations.RunPython(migrations.RunPython.noop)",
    )
    assert set(models["product"].fields) == {"id", "name", "price", "stock"}  # type: ignore[attr-defined]


def test_runsql_state_operations_miglint_cannot_read_make_the_app_unknown() -> None:
    facts = parse_migration(
        migration(operations=CREATE + ',\nmigrations.RunSQL("SELECT 1", state_operations=LATER)')
    )
    state, _ = replay_app("shop", [("0002", facts.operations, facts.imports)])
    assert state.unknown is not None and "state_operations" in state.unknown


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("django.contrib.postgres.fields.RangeOperators.OVERLAPS", "&&"),
        ("django.contrib.postgres.fields.ranges.RangeOperators.ADJACENT_TO", "-|-"),
        ("myapp.enums.Colour['RED']", ("enum", "Colour", "RED")),
        (
            "models.Deferrable.DEFERRED",
            ("enum-member", "Deferrable", "DEFERRED", "deferred", False),
        ),
        ("django.db.models.deletion.SET_NULL", ("ref", "SET_NULL")),
    ],
)
def test_named_constants_have_the_value_a_migration_writes(source: str, expected: object) -> None:
    assert value(source) == expected


@pytest.mark.parametrize(
    "source", ["panimg.models.ColorSpace.GRAY.value", "models.NOT_PROVIDED", "lib.Level.HIGH"]
)
def test_attributes_of_constants_outside_the_tree_are_undecidable(source: str) -> None:
    with pytest.raises(Undecidable):
        value(source)


def test_relations_follow_renames_in_other_apps_unless_a_name_was_reused(tmp_path: Path) -> None:
    def fk(app: str, to: str, depends: str) -> str:
        return migration(
            dependencies=depends,
            operations=f"""migrations.CreateModel(name="Use", fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("target", models.ForeignKey(on_delete=models.CASCADE, to="{to}")),
            ])""",
        )

    def create(name: str) -> str:
        return f"""migrations.CreateModel(name="{name}", fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
        ])"""

    write_tree(
        tmp_path,
        {
            "books/migrations/0001_initial.py": migration(
                operations=",\n".join([create("Old"), create("Work"), create("Base")])
            ),
            "books/migrations/0002_renames.py": migration(
                dependencies='("books", "0001_initial"), ("notes", "0001_initial"), '
                '("marks", "0001_initial")',
                operations='migrations.RenameModel("Old", "Newer"), '
                'migrations.RenameModel("Work", "Edition"), '
                'migrations.RenameModel("Base", "Work")',
            ),
            "notes/migrations/0001_initial.py": fk(
                "notes", "books.old", '("books", "0001_initial")'
            ),
            "marks/migrations/0001_initial.py": fk(
                "marks", "books.work", '("books", "0001_initial")'
            ),
        },
    )
    states = migration_states(load(tmp_path))
    assert states["notes"].models["use"].fields["target"].kwargs["to"] == "books.newer"
    reused = states["marks"].models["use"].fields["target"]
    assert reused.unknown is not None and "books.work" in reused.unknown
    # Inside the app, renames were followed when they ran.
    assert set(states["books"].models) == {"newer", "edition", "work"}
