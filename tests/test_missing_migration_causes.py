"""MIG401 on patterns of real projects that once gave false findings. Each small app is
checked by Django's own `makemigrations --check` and by MIG401: they must agree, and what
MIG401 cannot know must show up as "not compared" with -v rather than as a finding.

The apps are written for this test; the patterns come from public projects (patched
deconstruct, Meta lists built in code, third-party bases, generated history models...).
"""

from __future__ import annotations

import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest

from miglint.rules.missing_migration import MissingMigration
from tests.django_oracle import run_django
from tests.helpers import load, migration, write_tree
from tests.missing_migration_cases import (
    CHECK_SCRIPT,
    MAKE_SCRIPT,
    Case,
    _apps_with_changes,
    describe,
    models_source,
    run_cases,
    tally,
)

DJANGO = version("django")


def _app(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def notices(root: Path) -> list[str]:
    return list(MissingMigration().notices(load(root)))


def findings(root: Path) -> dict[str, str]:
    """App label -> MIG401's message."""
    return {finding.app or "": finding.message for finding in MissingMigration().check(load(root))}


def django_says(root: Path, extra_settings: str = "") -> dict[str, str]:
    """App label -> what `makemigrations --check --dry-run` lists, for the apps under root."""
    answers = run_django(root, CHECK_SCRIPT.format(sample=[]), extra_settings=extra_settings)
    code, output = answers["*"]
    assert code in (0, 1), output
    return _apps_with_changes(output)


# --- project-wide changes to what makemigrations compares ---------------------------------

QUIET_FIELDS_APPS = _app(
    """
    from django.apps import AppConfig


    class QuietConfig(AppConfig):
        name = "{name}"

        def ready(self):
            from django.db import models

            original = models.Field.deconstruct

            def without_texts(field):
                name, path, args, kwargs = original(field)
                kwargs.pop("help_text", None)
                return name, path, args, kwargs

            models.Field.deconstruct = without_texts
    """
)

NOTE = """
class Note(models.Model):
    title = models.CharField(max_length=40, help_text="Shown in lists")
"""

OPTIONS_APPS = _app(
    """
    from django.apps import AppConfig
    from django.db.migrations.operations import AlterModelOptions


    class LabelsConfig(AppConfig):
        name = "{name}"

        def ready(self):
            if "verbose_name" in AlterModelOptions.ALTER_OPTION_KEYS:
                AlterModelOptions.ALTER_OPTION_KEYS.remove("verbose_name")
    """
)

LABELLED = """
class Label(models.Model):
    text = models.CharField(max_length=10)

    class Meta:
        verbose_name = "label"
        ordering = ["text"]
"""

OWN_COMMAND = _app(
    """
    from django.core.management.commands import makemigrations
    from django.db.migrations.autodetector import MigrationAutodetector


    class InitialOnly(MigrationAutodetector):
        # Writes the first migration of an app, never a later one.

        def changes(self, *args, **kwargs):
            found = super().changes(*args, **kwargs)
            return {
                label: [m for m in items if m.initial]
                for label, items in found.items()
                if any(m.initial for m in items)
            }


    class Command(makemigrations.Command):
        autodetector = InitialOnly
    """
)

GUARDED_COMMAND = _app(
    """
    from django.core.management.commands.makemigrations import Command as Base


    class Command(Base):
        def handle(self, *args, **options):
            # Only checks may run here.
            super().handle(*args, **options)
    """
)

READY_CHANGES_FIELD = _app(
    """
    from django.apps import AppConfig


    class WideConfig(AppConfig):
        name = "{name}"

        def ready(self):
            from .models import Code

            Code._meta.get_field("value").max_length = 30
    """
)

CODE = """
class Code(models.Model):
    value = models.CharField(max_length=20)
"""


def _apps(template: str, name: str) -> dict[str, str]:
    return {"apps.py": template.replace("{name}", name)}


_COMMAND = "management/commands/makemigrations.py"
_PACKAGE = {"management/__init__.py": "", "management/commands/__init__.py": ""}

# Each patch changes makemigrations for the whole project: one project per patch.
PATCHED_PROJECTS: dict[str, list[Case]] = {
    # Field.deconstruct without help_text: a new help_text writes no migration, a new
    # field still does.
    "deconstruct": [
        Case(
            "quiet_text",
            models_source(NOTE),
            models_source(NOTE.replace("Shown in lists", "Shown everywhere")),
            files=_apps(QUIET_FIELDS_APPS, "quiet_text"),
        ),
        Case(
            "quiet_new_field",
            models_source(NOTE),
            models_source(NOTE + "    body = models.TextField(default='')\n"),
        ),
    ],
    # ALTER_OPTION_KEYS without verbose_name: only the other options count.
    "option keys": [
        Case(
            "labels_name",
            models_source(LABELLED),
            models_source(LABELLED.replace('"label"', '"tag"')),
            files=_apps(OPTIONS_APPS, "labels_name"),
        ),
        Case(
            "labels_order",
            models_source(LABELLED),
            models_source(LABELLED.replace('["text"]', '["-text"]')),
        ),
    ],
    # An autodetector of the project's own: nothing can be compared.
    "own autodetector": [
        Case(
            "own_detector",
            models_source(CODE),
            models_source(CODE.replace("20", "25")),
            files={**_PACKAGE, _COMMAND: OWN_COMMAND},
        ),
    ],
    # A command that only guards makemigrations compares as Django does.
    "guarded command": [
        Case(
            "guarded",
            models_source(CODE),
            models_source(CODE.replace("20", "25")),
            files={**_PACKAGE, _COMMAND: GUARDED_COMMAND},
        ),
    ],
    # ready() widens a field: the migration holds 30 while models.py says 20.
    "ready": [
        Case("widened", models_source(CODE), None, files=_apps(READY_CHANGES_FIELD, "widened")),
        Case(
            "untouched",
            models_source(CODE.replace("Code", "Tally")),
            models_source(CODE.replace("Code", "Tally").replace("20", "25")),
        ),
    ],
}


@pytest.mark.parametrize(
    ("patch", "changed", "unknown"),
    [
        ("deconstruct", {"quiet_new_field"}, "app quiet_text: field arguments not compared (the"),
        ("option keys", {"labels_order"}, None),
        ("own autodetector", set(), "app own_detector: not compared (the project changes"),
        ("guarded command", {"guarded"}, None),
        ("ready", {"untouched"}, "widened.Code.value: not compared (changed by the project"),
    ],
)
def test_project_patches_are_compared_as_django_compares_or_left_unknown(
    tmp_path: Path, patch: str, changed: set[str], unknown: str | None
) -> None:
    outcomes = run_cases(tmp_path, PATCHED_PROJECTS[patch])
    tally(outcomes, f"project patch: {patch}")
    assert [describe(o) for o in outcomes if not o.agree] == []
    assert {o.case.name for o in outcomes if o.django_changes} == changed
    if unknown is not None:
        assert unknown in "\n".join(notices(tmp_path))


# --- values: names, objects, enums, lists built in code ------------------------------------

STORAGES = _app(
    """
    from django.core.files.storage import FileSystemStorage
    from django.utils.deconstruct import deconstructible
    from django.utils.functional import LazyObject


    class VaultStorage(LazyObject):
        def _setup(self):
            self._wrapped = FileSystemStorage(location="/tmp/vault")


    vault = VaultStorage()


    @deconstructible
    class NamedStorage(FileSystemStorage):
        def __init__(self, name="plain", **kwargs):
            self.label = name
            super().__init__(**kwargs)
    """
)

VALUES = """
import enum
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db.models import Deferrable, Q

from . import storage as storages
from .storage import NamedStorage


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Colour(str, enum.Enum):
    RED = "r"
    BLUE = "b"


class Shape(enum.Enum):
    ROUND = "o"
    SQUARE = "s"


class Regions:
    def __iter__(self):
        return iter([("n", "North"), ("s", "South")])


class Base(models.Model):
    code = models.CharField(max_length=10)

    class Meta:
        abstract = True
        indexes = [models.Index(fields=["code"], name="%(class)s_code_idx")]


class Parcel(Base):
    level = models.IntegerField(default=Level.HIGH, choices=[(1, "low"), (2, "high")])
    colour = models.CharField(max_length=1, default=Colour.RED)
    shape = models.CharField(max_length=1, default=Shape.ROUND.value)
    region = models.CharField(max_length=1, choices=Regions())
    weight = models.DecimalField(
        max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal(30))]
    )
    scan = models.FileField(storage=storages.vault)
    label = models.FileField(storage=NamedStorage("labels"))

    class Meta(Base.Meta):
        verbose_name = "parcel"
        verbose_name_plural = verbose_name
        indexes = [models.Index(fields=["level"], name="parcel_level_idx")]
        indexes.extend(Base.Meta.indexes)
        indexes += [models.Index(fields=["weight"], name="parcel_weight_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "level"], name="parcel_code_level_uniq", deferrable=Deferrable.DEFERRED
            ),
            models.UniqueConstraint("code", name="parcel_code_uniq"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="parcel_weight_positive"),
        ]


class Crate(Base):
    class Meta:
        indexes = [*Base.Meta.indexes, models.Index(fields=["id"], name="crate_id_idx")]
"""


def _value_cases() -> list[Case]:
    files = {"storage.py": STORAGES}
    return [
        Case("values_clean", models_source(VALUES), None, files=files),
        Case(
            "values_member",
            models_source(VALUES),
            models_source(VALUES.replace("default=Level.HIGH", "default=Level.LOW")),
            files=files,
        ),
        Case(
            "values_extended_index",
            models_source(VALUES),
            models_source(VALUES.replace("%(class)s_code_idx", "%(class)s_code_ix")),
            files=files,
        ),
        Case(
            "values_deferrable",
            models_source(VALUES),
            models_source(VALUES.replace("Deferrable.DEFERRED", "Deferrable.IMMEDIATE")),
            files=files,
        ),
        Case(
            "values_plural",
            models_source(VALUES),
            models_source(VALUES.replace('verbose_name = "parcel"', 'verbose_name = "box"')),
            files=files,
        ),
        Case(
            "values_storage_args",
            models_source(VALUES),
            models_source(VALUES.replace('NamedStorage("labels")', 'NamedStorage("stickers")')),
            files=files,
        ),
    ]


def test_values_django_computes_compare_as_django_compares_them(tmp_path: Path) -> None:
    outcomes = run_cases(tmp_path, _value_cases())
    tally(outcomes, "values")
    assert [describe(o) for o in outcomes if not o.agree] == []
    assert {o.case.name for o in outcomes if not o.django_changes} == {"values_clean"}
    lines = "\n".join(notices(tmp_path))
    # Compared, not skipped: the Meta lists, the enum members, the storage class.
    assert "values_clean.Parcel Meta" not in lines
    assert "values_clean.Parcel.level" not in lines
    assert "values_clean.Parcel.label" not in lines
    # An object Django iterates for choices is not in the source, and a lazy storage
    # object is written as what it wraps.
    assert "values_clean.Parcel.region: not compared" in lines
    assert "values_clean.Parcel.scan: not compared" in lines


def test_a_migration_may_name_the_same_object_or_a_number_as_another_type(
    tmp_path: Path,
) -> None:
    """Hand-edited migrations of the kind real projects carry: the storage imported by
    name, an IntEnum default written as its number, a Decimal bound written as an int,
    and a storage class whose __eq__ always says yes."""
    write_tree(
        tmp_path,
        {
            "requirements.txt": f"Django=={DJANGO}\n",
            "depot/__init__.py": "",
            "depot/storage.py": STORAGES
            + "\n\nclass AnyStorage:\n    def __eq__(self, other):\n        return True\n",
            "depot/models.py": models_source(
                """
                import enum
                from decimal import Decimal

                from django.core.validators import MinValueValidator

                from .storage import NamedStorage, vault


                class Level(enum.IntEnum):
                    LOW = 1
                    HIGH = 2


                class Box(models.Model):
                    level = models.IntegerField(default=Level.HIGH)
                    weight = models.IntegerField(validators=[MinValueValidator(Decimal(30))])
                    scan = models.FileField(storage=vault)
                    label = models.FileField(storage=NamedStorage("labels"))
                """
            ),
            "depot/migrations/0001_initial.py": _app(
                """
                import django.core.validators
                from django.db import migrations, models

                import depot.storage
                from depot.storage import vault


                class Migration(migrations.Migration):
                    initial = True
                    dependencies = []
                    operations = [
                        migrations.CreateModel(
                            name="Box",
                            fields=[
                                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                                ("level", models.IntegerField(default=2)),
                                ("weight", models.IntegerField(validators=[django.core.validators.MinValueValidator(30)])),
                                ("scan", models.FileField(storage=vault, upload_to="")),
                                ("label", models.FileField(storage=depot.storage.AnyStorage(), upload_to="")),
                            ],
                        ),
                    ]
                """
            ),
        },
    )
    assert django_says(tmp_path) == {}
    assert findings(tmp_path) == {}
    lines = "\n".join(notices(tmp_path))
    assert "depot.Box.label: not compared" in lines
    assert "depot.Box.scan" not in lines and "depot.Box.level" not in lines


# --- which classes are the app's models ----------------------------------------------------

VENDOR_TREE = _app(
    """
    from django.db import models
    from django.db.models.signals import class_prepared


    class TreeBase(models.base.ModelBase):
        def __new__(mcs, name, bases, attrs, **kwargs):
            cls = super().__new__(mcs, name, bases, attrs, **kwargs)
            if not cls._meta.abstract:
                index = models.Index(fields=["depth"], name=f"{cls._meta.model_name}_depth_idx")
                cls._meta.indexes = [*cls._meta.indexes, index]
            return cls


    class TreeNode(models.Model, metaclass=TreeBase):
        depth = models.PositiveIntegerField(default=0)

        class Meta:
            abstract = True


    class History:
        def contribute_to_class(self, cls, name):
            class_prepared.connect(self.add_model, sender=cls, weak=False)

        def add_model(self, sender, **kwargs):
            meta = type("Meta", (), {"app_label": sender._meta.app_label})
            attrs = {
                "__module__": sender.__module__,
                "changed": models.DateTimeField(auto_now=True),
                "Meta": meta,
            }
            type(f"Historical{sender.__name__}", (models.Model,), attrs)
    """
)


def test_bases_and_generators_outside_the_tree_leave_what_they_add_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    project = tmp_path / "project"
    write_tree(site, {"vendorlib/__init__.py": "", "vendorlib/models.py": VENDOR_TREE})
    monkeypatch.setenv("PYTHONPATH", str(site))
    outcomes = run_cases(
        project,
        [
            Case(
                "outline",
                models_source(
                    """
                    from vendorlib.models import History, TreeNode


                    class Stamped(models.Model):
                        created = models.DateTimeField(auto_now_add=True)

                        class Meta:
                            abstract = True


                    class Page(Stamped, TreeNode):
                        title = models.CharField(max_length=20)
                        history = History()

                        class Meta:
                            ordering = ["title"]
                            indexes = [models.Index(fields=["title"], name="page_title_idx")]
                    """
                ),
                None,
            )
        ],
    )
    assert [describe(o) for o in outcomes if not o.agree] == []
    assert not outcomes[0].django_changes
    lines = "\n".join(notices(project))
    assert "outline.Page Meta.indexes: removals not reported" in lines
    assert "outline.HistoricalPage: not found in the models" in lines


LIBRARY = _app(
    """
    from django.db import models

    if True:  # chosen at import time, as forkable apps do

        class Item(models.Model):
            name = models.CharField(max_length=10)

            class Meta:
                app_label = "forked"
    """
)


def test_models_from_elsewhere_belong_where_django_registers_them(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "requirements.txt": f"Django=={DJANGO}\n",
            "library/__init__.py": "",
            "library/shared_models.py": LIBRARY,
            "forked/__init__.py": "",
            "forked/migrations/__init__.py": "",
            "forked/models.py": "from library.shared_models import *  # noqa\n",
            "hub/__init__.py": "",
            "hub/migrations/__init__.py": "",
            "hub/models.py": models_source(
                """
                from .extras.models import Extra


                class Post(models.Model):
                    extra = models.ForeignKey(Extra, on_delete=models.CASCADE)
                """
            ),
            "hub/extras/__init__.py": "",
            "hub/extras/migrations/__init__.py": "",
            "hub/extras/models.py": models_source(
                "class Extra(models.Model):\n    note = models.TextField()\n"
            ),
        },
    )
    run_django(tmp_path, MAKE_SCRIPT.format(labels=["forked", "hub", "extras"]))
    assert django_says(tmp_path) == {}
    assert findings(tmp_path) == {}
    assert "forked.Item: not found in the models (models may come from `from library" in (
        "\n".join(notices(tmp_path))
    )


# --- Django versions -------------------------------------------------------------------------

VERSIONED_MODELS = models_source(
    """
    class Tag(models.Model):
        name = models.CharField(max_length=5)


    class Owned(models.Model):
        tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="%(class)s_owned")
        tags = models.ManyToManyField(Tag, related_name="+")
        kind = models.CharField(max_length=1, choices=[("a", "Alpha")])

        class Meta:
            abstract = True


    class Card(Owned):
        holders = models.ManyToManyField(Tag, through="Holding", through_fields=("card", "tag"))


    class Holding(models.Model):
        card = models.ForeignKey(Card, on_delete=models.CASCADE)
        tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    """
)

# What Django 3.2 writes for these models (checked with Django 3.2 when this was written):
# related names filled in from the class, the hidden name of a related_name="+" field, no
# through_fields, and choices as given (lists then; the models have tuples since).
WRITTEN_BY_32 = _app(
    """
    from django.db import migrations, models
    import django.db.models.deletion


    class Migration(migrations.Migration):
        initial = True
        dependencies = []
        operations = [
            migrations.CreateModel(
                name="Tag",
                fields=[
                    ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                    ("name", models.CharField(max_length=5)),
                ],
            ),
            migrations.CreateModel(
                name="Card",
                fields=[
                    ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                    ("kind", models.CharField(choices=[["a", "Alpha"]], max_length=1)),
                ],
            ),
            migrations.CreateModel(
                name="Holding",
                fields=[
                    ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                    ("card", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="cards.card")),
                    ("tag", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="cards.tag")),
                ],
            ),
            migrations.AddField(
                model_name="card",
                name="holders",
                field=models.ManyToManyField(through="cards.Holding", to="cards.Tag"),
            ),
            migrations.AddField(
                model_name="card",
                name="tag",
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="card_owned", to="cards.tag"),
            ),
            migrations.AddField(
                model_name="card",
                name="tags",
                field=models.ManyToManyField(related_name="_cards_card_tags_+", to="cards.Tag"),
            ),
        ]
    """
)


@pytest.mark.parametrize(
    ("requirement", "changed"),
    [
        # Django 3.2 compares the names the model class fills in, and choices as given.
        ("Django==3.2.25", {"kind"}),
        # 4.0+ compares related names as given; 5.0+ choices as (value, label) pairs;
        # 5.2 also compares through_fields.
        ("Django>=4.2,<5.0", {"tag", "tags", "kind"}),
        (f"Django=={DJANGO}", {"tag", "tags", "holders"}),
    ],
)
def test_fields_compare_as_the_projects_django_writes_them(
    tmp_path: Path, requirement: str, changed: set[str]
) -> None:
    write_tree(
        tmp_path,
        {
            "requirements.txt": requirement + "\n",
            "cards/__init__.py": "",
            "cards/models.py": VERSIONED_MODELS,
            "cards/migrations/0001_initial.py": WRITTEN_BY_32,
        },
    )
    message = findings(tmp_path).get("cards", "")
    names = ("tag", "tags", "holders", "kind")
    assert {name for name in names if f"field {name} on" in message} == changed
    if requirement == f"Django=={DJANGO}":
        # The oracle runs this version: it agrees.
        django = django_says(tmp_path)
        assert {name for name in names if f"field {name} on" in django["cards"]} == changed


def test_with_the_version_unknown_version_dependent_fields_are_not_compared(
    tmp_path: Path,
) -> None:
    write_tree(
        tmp_path,
        {
            "cards/__init__.py": "",
            "cards/models.py": VERSIONED_MODELS,
            "cards/migrations/0001_initial.py": WRITTEN_BY_32,
        },
    )
    assert findings(tmp_path) == {}
    lines = "\n".join(notices(tmp_path))
    for name in ("tag", "tags", "holders", "kind"):
        assert f"cards.Card.{name}: not compared (a change only for" in lines
    assert "set django-version" in lines


# --- operations ------------------------------------------------------------------------------

SHELF = models_source(
    """
    class Shelf(models.Model):
        label = models.CharField(max_length=10)
        height = models.IntegerField(default=0)
    """
)


def _shelf_migrations(second: str) -> dict[str, str]:
    return {
        "requirements.txt": f"Django=={DJANGO}\n",
        "racks/__init__.py": "",
        "racks/models.py": SHELF,
        "racks/operations.py": _app(
            """
            from django.db import migrations
            from django.db.migrations.operations.base import Operation


            class Backfill(migrations.RunPython):
                def __init__(self):
                    super().__init__(migrations.RunPython.noop)


            class AddHeight(Operation):
                def state_forwards(self, app_label, state):
                    from django.db import models

                    state.add_field(app_label, "shelf", "height", models.IntegerField(default=0), True)

                def database_forwards(self, app_label, schema_editor, from_state, to_state):
                    pass
            """
        ),
        "racks/migrations/0001_initial.py": _app(
            """
            from django.db import migrations, models


            class Migration(migrations.Migration):
                initial = True
                dependencies = []
                operations = [
                    migrations.CreateModel(
                        name="Shelf",
                        fields=[
                            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                            ("label", models.CharField(max_length=10)),
                        ],
                    ),
                ]
            """
        ),
        "racks/migrations/0002_height.py": _app(second),
    }


STATE_FROM_SQL = """
from django.db import migrations, models

from racks.operations import Backfill


class Migration(migrations.Migration):
    dependencies = [("racks", "0001_initial")]
    operations = [
        migrations.RunSQL(
            "ALTER TABLE racks_shelf ADD COLUMN height integer NOT NULL DEFAULT 0",
            reverse_sql="ALTER TABLE racks_shelf DROP COLUMN height",
            state_operations=[
                migrations.AddField("shelf", "height", models.IntegerField(default=0)),
            ],
        ),
        Backfill(),
    ]
"""


@pytest.mark.parametrize(
    ("second", "changed", "unknown"),
    [
        # RunSQL's state_operations change the state; a RunPython subclass does not.
        (STATE_FROM_SQL, False, False),
        # RunPython has no state side: the field is missing.
        (
            "from django.db import migrations\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('racks', '0001_initial')]\n"
            "    operations = [migrations.RunPython(migrations.RunPython.noop)]\n",
            True,
            False,
        ),
        # An operation of the project's own state_forwards: what it does is unknown.
        (
            "from django.db import migrations\n\nfrom racks.operations import AddHeight\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('racks', '0001_initial')]\n"
            "    operations = [AddHeight()]\n",
            False,
            True,
        ),
    ],
)
def test_operations_change_the_state_as_their_state_forwards_does(
    tmp_path: Path, second: str, changed: bool, unknown: bool
) -> None:
    write_tree(tmp_path, _shelf_migrations(second))
    assert ("racks" in django_says(tmp_path)) is changed
    assert ("racks" in findings(tmp_path)) is changed
    lines = "\n".join(notices(tmp_path))
    assert ("custom operation AddHeight" in lines) is unknown


def test_relations_to_a_name_renames_reused_are_unknown(tmp_path: Path) -> None:
    """Exercise was renamed to Translation, then ExerciseBase to Exercise: an older
    relation from another app to "exercises.exercise" now means Translation."""
    write_tree(
        tmp_path,
        {
            "requirements.txt": f"Django=={DJANGO}\n",
            "exercises/__init__.py": "",
            "exercises/models.py": models_source(
                """
                class Exercise(models.Model):
                    code = models.CharField(max_length=5)


                class Translation(models.Model):
                    text = models.TextField()
                """
            ),
            "exercises/migrations/0001_initial.py": _app(
                """
                from django.db import migrations, models


                class Migration(migrations.Migration):
                    initial = True
                    dependencies = []
                    operations = [
                        migrations.CreateModel(
                            name="ExerciseBase",
                            fields=[
                                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                                ("code", models.CharField(max_length=5)),
                            ],
                        ),
                        migrations.CreateModel(
                            name="Exercise",
                            fields=[
                                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                                ("text", models.TextField()),
                            ],
                        ),
                    ]
                """
            ),
            "exercises/migrations/0002_renames.py": _app(
                """
                from django.db import migrations


                class Migration(migrations.Migration):
                    dependencies = [("exercises", "0001_initial"), ("logs", "0001_initial")]
                    operations = [
                        migrations.RenameModel("Exercise", "Translation"),
                        migrations.RenameModel("ExerciseBase", "Exercise"),
                    ]
                """
            ),
            "logs/__init__.py": "",
            "logs/models.py": models_source(
                """
                class Entry(models.Model):
                    translation = models.ForeignKey("exercises.Translation", on_delete=models.CASCADE)
                """
            ),
            "logs/migrations/0001_initial.py": _app(
                """
                from django.db import migrations, models
                import django.db.models.deletion


                class Migration(migrations.Migration):
                    initial = True
                    dependencies = [("exercises", "0001_initial")]
                    operations = [
                        migrations.CreateModel(
                            name="Entry",
                            fields=[
                                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                                ("translation", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="exercises.exercise")),
                            ],
                        ),
                    ]
                """
            ),
        },
    )
    assert django_says(tmp_path) == {}
    assert findings(tmp_path) == {}
    assert "logs.Entry.translation: not compared (a relation to exercises.exercise" in (
        "\n".join(notices(tmp_path))
    )


# --- released packages whose own CI runs makemigrations --check ------------------------------

SLOTS = """
SLOTS = ("left", "right", "top")


def _one_slot_at_most():
    # At most one slot is set: all empty, or one set and the others empty.
    condition = models.Q(**{f"{slot}__isnull": True for slot in SLOTS})
    for slot in SLOTS:
        clause = models.Q(**{f"{slot}__isnull": False})
        for other in SLOTS:
            if other != slot:
                clause &= models.Q(**{f"{other}__isnull": True})
        condition |= clause
    return condition


class Mount(models.Model):
    left = models.IntegerField(null=True)
    right = models.IntegerField(null=True)
    top = models.IntegerField(null=True)
    rank = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=_one_slot_at_most(), name="mount_one_slot"),
            models.CheckConstraint(condition=models.Q(rank__gte=0), name="mount_rank_min"),
        ]
"""


def test_a_constraint_built_by_a_helper_function_is_unknown_and_its_neighbours_compared(
    tmp_path: Path,
) -> None:
    """A private helper's result is what makemigrations writes out literally: miglint
    cannot evaluate it, so that constraint is not compared; the one beside it still is."""
    outcomes = run_cases(
        tmp_path,
        [
            Case("mounts", models_source(SLOTS)),
            Case(
                "mounts_rank",
                models_source(SLOTS),
                models_source(SLOTS.replace("rank__gte=0", "rank__gte=1")),
            ),
        ],
    )
    tally(outcomes, "constraints built by helpers")
    assert [describe(o) for o in outcomes if not o.agree] == []
    assert {o.case.name for o in outcomes if o.django_changes} == {"mounts_rank"}
    assert "Alter constraint mount_rank_min on mount" in outcomes[1].miglint_messages[0]
    assert "mounts.Mount Meta.constraints: some not compared" in "\n".join(notices(tmp_path))


def test_helper_functions_on_both_sides_are_not_compared_by_their_names(tmp_path: Path) -> None:
    """The migration builds the same condition with a helper of its own, named otherwise."""
    write_tree(
        tmp_path,
        {
            "requirements.txt": f"Django=={DJANGO}\n",
            "mounts/__init__.py": "",
            "mounts/models.py": models_source(SLOTS),
            "mounts/migrations/0001_initial.py": _app(
                """
                from django.db import migrations, models

                _SLOTS = ("left", "right", "top")


                def _condition():
                    result = models.Q(**{f"{slot}__isnull": True for slot in _SLOTS})
                    for slot in _SLOTS:
                        clause = models.Q(**{f"{slot}__isnull": False})
                        for other in _SLOTS:
                            if other != slot:
                                clause &= models.Q(**{f"{other}__isnull": True})
                        result |= clause
                    return result


                class Migration(migrations.Migration):
                    initial = True
                    dependencies = []
                    operations = [
                        migrations.CreateModel(
                            name="Mount",
                            fields=[
                                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                                ("left", models.IntegerField(null=True)),
                                ("right", models.IntegerField(null=True)),
                                ("top", models.IntegerField(null=True)),
                                ("rank", models.IntegerField(default=0)),
                            ],
                        ),
                        migrations.AddConstraint(
                            model_name="mount",
                            constraint=models.CheckConstraint(condition=_condition(), name="mount_one_slot"),
                        ),
                        migrations.AddConstraint(
                            model_name="mount",
                            constraint=models.CheckConstraint(condition=models.Q(rank__gte=0), name="mount_rank_min"),
                        ),
                    ]
                """
            ),
        },
    )
    assert django_says(tmp_path) == {}
    assert findings(tmp_path) == {}


INDEX_CLASSES = _app(
    """
    from django.db import models


    class SkippedOnSqlite(models.Index):
        # A project's index class, named for what it does rather than for what it is.
        def create_sql(self, model, schema_editor, using="", **kwargs):
            return super().create_sql(model, schema_editor, using=using, **kwargs)


    class OncePerPlace(models.UniqueConstraint):
        pass
    """
)

VISITS = """
from .indexing import OncePerPlace, SkippedOnSqlite


class Visit(models.Model):
    seen = models.DateTimeField(auto_now=True)
    place = models.CharField(max_length=10)

    class Meta:
        indexes = [SkippedOnSqlite("seen", name="visit_seen_idx")]
        constraints = [OncePerPlace("place", name="visit_place_once")]
"""


def test_field_names_given_to_an_index_class_of_any_name_are_expressions(
    tmp_path: Path,
) -> None:
    """Index.__init__ turns "seen" into F("seen"), which makemigrations writes; so does a
    subclass whose name does not end in Index. A constraint class of the project's may or
    may not be a UniqueConstraint: not compared."""
    files = {"indexing.py": INDEX_CLASSES}
    outcomes = run_cases(
        tmp_path,
        [
            Case("visits", models_source(VISITS), files=files),
            Case(
                "visits_place",
                models_source(VISITS),
                models_source(VISITS.replace('("seen", name', '("place", name')),
                files=files,
            ),
        ],
    )
    tally(outcomes, "index classes of the project")
    assert [describe(o) for o in outcomes if not o.agree] == []
    assert {o.case.name for o in outcomes if o.django_changes} == {"visits_place"}
    lines = "\n".join(notices(tmp_path))
    assert "visits.Visit Meta.indexes" not in lines
    assert "visits.Visit Meta.constraints: some not compared" in lines


VENDOR_APP = {
    "vendorkit/__init__.py": "",
    "vendorkit/app/__init__.py": "",
    "vendorkit/app/apps.py": _app(
        """
        from django.apps import AppConfig


        class GadgetsConfig(AppConfig):
            name = "vendorkit.app"
            label = "gadgets"
        """
    ),
    "vendorkit/app/models.py": models_source(
        """
        class Gadget(models.Model):
            name = models.CharField(max_length=10)


        class Widget(models.Model):
            name = models.CharField(max_length=10)
        """
    ),
    "vendorkit/app/migrations/0001_initial.py": _app(
        """
        from django.db import migrations, models


        class Migration(migrations.Migration):
            initial = True
            dependencies = []
            operations = [
                migrations.CreateModel(
                    name="Gadget",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=10)),
                    ],
                ),
                migrations.CreateModel(
                    name="Widget",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=10)),
                    ],
                ),
            ]
        """
    ),
}


@pytest.mark.parametrize(("target", "changed"), [("Gadget", False), ("Widget", True)])
def test_a_model_of_an_installed_package_has_the_label_of_its_app_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, changed: bool
) -> None:
    """`from vendorkit.app import models` names models of the app labelled "gadgets" (its
    AppConfig says so; miglint cannot see it): the folder's name is only a guess."""
    site, project = tmp_path / "site", tmp_path / "project"
    write_tree(site, VENDOR_APP)
    monkeypatch.setenv("PYTHONPATH", str(site))
    models = models_source(
        f"""
        from vendorkit.app import models as kit


        class Order(models.Model):
            gadget = models.OneToOneField(kit.{target}, on_delete=models.CASCADE, primary_key=True)
        """
    )
    write_tree(
        project,
        {
            "requirements.txt": f"Django=={DJANGO}\n",
            "orders/__init__.py": "",
            "orders/migrations/__init__.py": "",
            "orders/models.py": models_source(
                """
                from vendorkit.app import models as kit


                class Order(models.Model):
                    gadget = models.OneToOneField(kit.Gadget, on_delete=models.CASCADE, primary_key=True)
                """
            ),
        },
    )
    apps = ["vendorkit.app", "orders"]
    run_django(project, MAKE_SCRIPT.format(labels=["orders"]), apps=apps)
    assert "gadgets.gadget" in (project / "orders/migrations/0001_initial.py").read_text()
    (project / "orders/models.py").write_text(models)
    answers = run_django(project, CHECK_SCRIPT.format(sample=[]), apps=apps)
    assert ("orders" in _apps_with_changes(answers["*"][1])) is changed
    assert ("orders" in findings(project)) is changed
    if not changed:
        assert "orders.Order.gadget: not compared" in "\n".join(notices(project))


STATE_APPS = _app(
    """
    from django.apps import AppConfig


    class TrackingConfig(AppConfig):
        name = "{name}"

        def ready(self):
            # The state models register when this runs, as makemigrations starts.
            from . import state_models  # noqa: F401
    """
)

STATE_MODELS = _app(
    """
    from django.db import models


    class TicketState(models.Model):
        state = models.CharField(max_length=20)
    """
)


def test_models_a_module_outside_the_models_defines_are_unknown_not_deleted(
    tmp_path: Path,
) -> None:
    """The app's AppConfig.ready() imports the module that defines some of its models.
    Which code imports a module is not known statically: those models are not compared.
    A class of the same name that is not a model does not count."""
    helpers = {"helpers.py": "class Ticket:\n    pass\n"}
    outcomes = run_cases(
        tmp_path,
        [
            Case(
                "tracking",
                models_source("class Ticket(models.Model):\n    title = models.TextField()\n"),
                files={
                    **_apps(STATE_APPS, "tracking"),
                    "state_models.py": STATE_MODELS,
                },
            ),
            Case(
                "tracking_gone",
                models_source("class Ticket(models.Model):\n    title = models.TextField()\n"),
                models_source("class Note(models.Model):\n    title = models.TextField()\n"),
                files=helpers,
            ),
        ],
    )
    tally(outcomes, "models defined elsewhere")
    assert [describe(o) for o in outcomes if not o.agree] == []
    assert {o.case.name for o in outcomes if o.django_changes} == {"tracking_gone"}
    assert "Delete model Ticket" in outcomes[1].miglint_messages[0]
    lines = "\n".join(notices(tmp_path))
    assert "tracking.TicketState: defined in " in lines
    assert "tracking/state_models.py, which the models modules do not import" in lines


def test_an_app_labelled_in_its_package_init_is_compared_under_that_label(
    tmp_path: Path,
) -> None:
    """The AppConfig that sets the label lives in the package's __init__.py (installed by
    its dotted path), not in apps.py; the migrations call the app by that label, and so
    does miglint."""
    write_tree(
        tmp_path,
        {
            "requirements.txt": f"Django=={DJANGO}\n",
            "storeapp/__init__.py": _app(
                """
                from django.apps import AppConfig


                class StoreConfig(AppConfig):
                    name = "storeapp"
                    label = "store"
                """
            ),
            "storeapp/migrations/__init__.py": "",
            "storeapp/models.py": models_source(
                """
                class Shelf(models.Model):
                    code = models.CharField(max_length=5)


                class Item(models.Model):
                    shelf = models.ForeignKey(Shelf, on_delete=models.CASCADE)
                    parent = models.ForeignKey("self", null=True, on_delete=models.SET_NULL)
                """
            ),
        },
    )
    apps = ["storeapp.StoreConfig"]
    run_django(tmp_path, MAKE_SCRIPT.format(labels=["store"]), apps=apps)
    models = tmp_path / "storeapp/models.py"
    models.write_text(models.read_text() + "    note = models.TextField(default='')\n")
    run_django(tmp_path, MAKE_SCRIPT.format(labels=["store"]), apps=apps)
    answers = run_django(tmp_path, CHECK_SCRIPT.format(sample=[]), apps=apps)
    assert _apps_with_changes(answers["*"][1]) == {}
    assert findings(tmp_path) == {}
    models.write_text(models.read_text().replace("max_length=5", "max_length=6"))
    answers = run_django(tmp_path, CHECK_SCRIPT.format(sample=[]), apps=apps)
    assert "Alter field code on shelf" in _apps_with_changes(answers["*"][1])["store"]
    assert "Alter field code on shelf" in findings(tmp_path)["store"]


def test_subclasses_of_a_concrete_model_with_an_unreadable_base_are_unknown(
    tmp_path: Path,
) -> None:
    """django-typed-models style: the concrete base inherits a third-party class whose
    metaclass turns each subclass into a proxy of the base's app, so the subclasses, defined
    in other apps, have their CreateModel in the base's migrations. miglint cannot see the
    metaclass: the subclasses and the fields that point at them are unknown, listed with -v.
    A model deriving from such a third-party class directly is still compared."""
    proxy = (
        "        migrations.CreateModel(\n"
        '            name="{name}", fields=[], options={{"proxy": True, "indexes": []}},\n'
        '            bases=("files.filenode",),\n'
        "        ),\n"
    )
    write_tree(
        tmp_path,
        {
            "files/__init__.py": "",
            "files/models.py": _app(
                """
                from django.db import models
                from typedmodels.models import TypedModel


                class FileNode(TypedModel, models.Model):
                    name = models.TextField()


                class Tag(TypedModel, models.Model):
                    label = models.TextField()
                """
            ),
            "files/migrations/__init__.py": "",
            "files/migrations/0001_initial.py": migration(
                operations='        migrations.CreateModel("FileNode", [("id", '
                'models.AutoField(primary_key=True)), ("name", models.TextField())]),\n'
                + proxy.format(name="BoxFile")
            ),
            "box/__init__.py": "",
            "box/models.py": _app(
                """
                from django.db import models
                from files.models import FileNode


                class BoxFile(FileNode):
                    pass


                class Settings(models.Model):
                    root = models.ForeignKey(BoxFile, null=True, on_delete=models.CASCADE)
                """
            ),
            "box/migrations/__init__.py": "",
            "box/migrations/0001_initial.py": migration(
                dependencies='("files", "0001_initial")',
                operations='        migrations.CreateModel("Settings", [("id", '
                'models.AutoField(primary_key=True)), ("root", models.ForeignKey('
                'null=True, on_delete=models.CASCADE, to="files.boxfile"))]),\n',
            ),
        },
    )
    found = findings(tmp_path)
    # Tag derives from the third-party class directly and has no migration: still found.
    assert set(found) == {"files"}
    assert "Create model Tag" in found["files"]
    assert "BoxFile" not in found["files"]
    listed = "\n".join(notices(tmp_path))
    assert "inherits from FileNode" in listed


def test_values_named_from_outside_the_project_are_not_differences(tmp_path: Path) -> None:
    """A choices list from an installed package and a storage from Django's STORAGES
    registry: the migration holds the values they stood for when it was made, which
    miglint cannot know. A field whose other arguments differ is still found."""
    write_tree(
        tmp_path,
        {
            "media/__init__.py": "",
            "media/models.py": _app(
                """
                from django.core.files.storage import storages
                from django.db import models
                from le_utils.constants import format_presets


                class File(models.Model):
                    preset = models.CharField(max_length=150, choices=format_presets.choices)
                    avatar = models.ImageField(null=True, storage=storages["public"])
                    title = models.CharField(max_length=20, choices=format_presets.choices)
                """
            ),
            "media/migrations/__init__.py": "",
            "media/migrations/0001_initial.py": migration(
                operations='        migrations.CreateModel("File", [\n'
                '            ("id", models.AutoField(primary_key=True)),\n'
                '            ("preset", models.CharField(max_length=150, choices=[("hi", "High"), '
                '("lo", "Low")])),\n'
                '            ("avatar", models.ImageField(null=True, storage=S3Storage('
                'bucket_name="media"))),\n'
                '            ("title", models.CharField(max_length=10, choices=[("hi", "High")])),\n'
                "        ]),\n"
            ),
        },
    )
    found = findings(tmp_path)
    assert set(found) == {"media"}
    assert "Alter field title on file" in found["media"]
    assert "preset" not in found["media"] and "avatar" not in found["media"]


def test_a_meta_held_by_a_plain_mixin_is_the_one_django_finds(tmp_path: Path) -> None:
    """A model class without its own Meta gets the first `Meta` along its MRO: a concrete
    parent's was taken by ModelBase, but a plain mixin keeps its own, so a subclass that
    names no Meta becomes the proxy that the mixin's Meta describes."""
    write_tree(
        tmp_path,
        {
            "forms/__init__.py": "",
            "forms/migrations/__init__.py": "",
            "forms/models.py": _app(
                """
                from django.db import models


                class FormMixin:
                    def title(self):
                        return self.name.title()

                    class Meta:
                        app_label = "viewer"
                        proxy = True


                class Form(FormMixin, models.Model):
                    name = models.CharField(max_length=50)

                    class Meta:
                        app_label = "forms"
                """
            ),
            "viewer/__init__.py": "",
            "viewer/migrations/__init__.py": "",
            "viewer/models.py": _app(
                """
                from forms.models import Form


                class Definition(Form):
                    pass
                """
            ),
        },
    )
    run_django(tmp_path, MAKE_SCRIPT.format(labels=["forms", "viewer"]))
    made = (tmp_path / "viewer/migrations/0001_initial.py").read_text()
    assert "'proxy': True" in made and "Definition" in made
    assert django_says(tmp_path) == {}
    assert findings(tmp_path) == {}
    # Drift is still found: the mixin's Meta orders the proxy now.
    models = tmp_path / "forms/models.py"
    models.write_text(
        models.read_text().replace("proxy = True", 'proxy = True\n        ordering = ["name"]', 1)
    )
    assert "Change Meta options on definition" in django_says(tmp_path)["viewer"]
    assert "Change Meta options on definition" in findings(tmp_path)["viewer"]


def test_a_proxy_of_a_custom_user_is_still_compared(tmp_path: Path) -> None:
    """Django's own abstract bases (AbstractUser) have Django's metaclass: a proxy or a
    subclass of a user model built on them is placed as usual, and its drift is found."""
    write_tree(
        tmp_path,
        {
            "accounts/__init__.py": "",
            "accounts/models.py": _app(
                """
                from django.contrib.auth.models import AbstractUser


                class User(AbstractUser):
                    pass


                class Staff(User):
                    class Meta:
                        proxy = True
                """
            ),
            "accounts/migrations/__init__.py": "",
        },
    )
    run_django(
        tmp_path,
        MAKE_SCRIPT.format(labels=["accounts"]),
        extra_settings='AUTH_USER_MODEL = "accounts.User"',
    )
    assert findings(tmp_path) == {}
    models = tmp_path / "accounts/models.py"
    models.write_text(
        models.read_text() + "\n\nclass Manager(User):\n    class Meta:\n        proxy = True\n"
    )
    assert "Create proxy model Manager" in findings(tmp_path)["accounts"]
    # A proxy taken out of the models is a deletion Django finds, and so does miglint.
    models.write_text(models.read_text().replace("class Staff(User)", "class Staff(object)"))
    assert "Delete model Staff" in django_says(tmp_path)["accounts"]
    assert "Delete model Staff" in findings(tmp_path)["accounts"]
