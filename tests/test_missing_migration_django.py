"""MIG401 against Django itself: hand-written and generated apps, migrated by the real
`makemigrations`, edited (or not), then checked by Django and by miglint."""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.django_oracle import run_django
from tests.helpers import run_cli, write_tree
from tests.missing_migration_cases import (
    MAKE_SCRIPT,
    Case,
    describe,
    models_source,
    run_cases,
    tally,
)
from tests.model_generator import cosmetic, drift, random_app, render

BASE = """
class Category(models.Model):
    name = models.CharField(max_length=50)

class Product(models.Model):
    name = models.CharField("product name", max_length=100, help_text="shown to buyers")
    slug = models.SlugField(unique=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="products")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "products"
"""

# (name, first, final): final None means "no edit" (the project must be clean).
HAND_CASES: list[tuple[str, str, str | None]] = [
    ("base_clean", BASE, None),
    (
        "add_field",
        BASE,
        BASE.replace(
            "    created =", "    sku = models.CharField(max_length=20, null=True)\n    created ="
        ),
    ),
    ("remove_field", BASE, BASE.replace("    slug = models.SlugField(unique=True)\n", "")),
    ("alter_max_length", BASE, BASE.replace("max_length=100", "max_length=120")),
    ("alter_help_text", BASE, BASE.replace("shown to buyers", "shown to customers")),
    ("alter_verbose_positional", BASE, BASE.replace('"product name", ', "")),
    ("alter_related_name", BASE, BASE.replace('related_name="products"', 'related_name="items"')),
    ("alter_on_delete", BASE, BASE.replace("on_delete=models.CASCADE", "on_delete=models.PROTECT")),
    ("alter_db_index", BASE, BASE.replace("unique=True)", "unique=True, db_index=False)")),
    (
        "slug_default_max_length_clean",
        BASE,
        BASE.replace(
            "SlugField(unique=True)", "SlugField(max_length=50, unique=True, db_index=True)"
        ),
    ),
    ("alter_ordering", BASE, BASE.replace('ordering = ["name"]', 'ordering = ["-name"]')),
    ("ordering_tuple_vs_list", BASE, BASE.replace('ordering = ["name"]', 'ordering = ("name",)')),
    (
        "add_model",
        BASE,
        BASE + "\nclass Tag(models.Model):\n    label = models.CharField(max_length=10)\n",
    ),
    (
        "delete_model",
        BASE + "\nclass Tag(models.Model):\n    label = models.CharField(max_length=10)\n",
        BASE,
    ),
    ("rename_field", BASE, BASE.replace("    slug =", "    handle =")),
    (
        "explicit_defaults_clean",
        BASE,
        BASE.replace(
            "max_length=50)",
            "max_length=50, null=False, blank=False, help_text='', db_column=None, verbose_name=None)",
        ),
    ),
    (
        "auto_now_blank_clean",
        BASE,
        BASE.replace("auto_now_add=True)", "auto_now_add=True, blank=True, editable=False)"),
    ),
    ("fk_string_ref_clean", BASE, BASE.replace("ForeignKey(Category,", 'ForeignKey("Category",')),
    (
        "fk_app_ref_clean",
        BASE,
        BASE.replace("ForeignKey(Category,", 'ForeignKey("fk_app_ref_clean.category",'),
    ),
    (
        "add_index",
        BASE,
        BASE.replace(
            'verbose_name_plural = "products"',
            'verbose_name_plural = "products"\n        indexes = [models.Index(fields=["name"], name="name_idx")]',
        ),
    ),
    ("add_unnamed_index_second", BASE, None),
    (
        "add_constraint",
        BASE,
        BASE.replace(
            'verbose_name_plural = "products"',
            'verbose_name_plural = "products"\n        constraints = [models.UniqueConstraint(fields=["name", "category"], name="uniq_name_cat")]',
        ),
    ),
    (
        "unique_together_add",
        BASE,
        BASE.replace(
            'verbose_name_plural = "products"',
            'verbose_name_plural = "products"\n        unique_together = ("name", "category")',
        ),
    ),
    (
        "verbose_name_option",
        BASE,
        BASE.replace('verbose_name_plural = "products"', 'verbose_name_plural = "goods"'),
    ),
    (
        "db_table_option",
        BASE,
        BASE.replace(
            'verbose_name_plural = "products"',
            'verbose_name_plural = "products"\n        db_table = "catalog_product"',
        ),
    ),
    (
        "add_method_clean",
        BASE,
        BASE.replace(
            "    class Meta:",
            "    def __str__(self):\n        return self.name\n\n    @property\n    def label(self):\n        return self.name.upper()\n\n    class Meta:",
        ),
    ),
    (
        "user_fk_add",
        BASE,
        BASE.replace(
            "    created =",
            "    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)\n    created =",
        ),
    ),
    (
        "decimal_default_clean",
        BASE,
        BASE.replace("default=0)", "default=0)").replace(
            "from django.db", "from decimal import Decimal\nfrom django.db"
        ),
    ),
    (
        "email_field_clean",
        BASE
        + "\nclass Contact(models.Model):\n    email = models.EmailField()\n    url = models.URLField(max_length=200)\n    ip = models.GenericIPAddressField(protocol='both')\n    data = models.JSONField(default=dict, blank=True)\n    uid = models.UUIDField(null=True)\n    when = models.DateField(null=True)\n    flag = models.BooleanField(default=False)\n    big = models.BigIntegerField(default=1)\n    f = models.FileField(upload_to='x/')\n",
        None,
    ),
    (
        "email_max_length_change",
        BASE + "\nclass Contact(models.Model):\n    email = models.EmailField()\n",
        BASE + "\nclass Contact(models.Model):\n    email = models.EmailField(max_length=200)\n",
    ),
    (
        "m2m_add",
        BASE,
        BASE.replace(
            "    created =",
            "    related = models.ManyToManyField('self', blank=True)\n    created =",
        ),
    ),
    ("proxy_add", BASE, BASE + "\nclass Cheap(Product):\n    class Meta:\n        proxy = True\n"),
    (
        "unmanaged_field_change_clean",
        BASE
        + "\nclass Legacy(models.Model):\n    code = models.CharField(max_length=5)\n\n    class Meta:\n        managed = False\n        db_table = 'legacy'\n",
        BASE
        + "\nclass Legacy(models.Model):\n    code = models.CharField(max_length=9)\n\n    class Meta:\n        managed = False\n        db_table = 'legacy'\n",
    ),
    (
        "unmanaged_add",
        BASE,
        BASE
        + "\nclass Legacy(models.Model):\n    code = models.CharField(max_length=5)\n\n    class Meta:\n        managed = False\n",
    ),
    (
        "manager_shim_clean",
        BASE.replace("    class Meta:", "    items = models.Manager()\n\n    class Meta:"),
        None,
    ),
    (
        "manager_rename",
        BASE.replace("    class Meta:", "    items = models.Manager()\n\n    class Meta:"),
        BASE.replace("    class Meta:", "    stock = models.Manager()\n\n    class Meta:"),
    ),
    ("null_to_not_null", BASE.replace("max_length=50)", "max_length=50, null=True)"), BASE),
]

CHOICES_FIRST = """
class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    LIVE = "live"

class Level(models.IntegerChoices):
    LOW = 1
    HIGH = 2, "Very high"

COLORS = (("r", "Red"), ("g", "Green"))
SIZE = 30

class Order(models.Model):
    status = models.CharField(max_length=SIZE, choices=Status.choices, default=Status.DRAFT)
    level = models.IntegerField(choices=Level, default=Level.LOW)
    color = models.CharField(max_length=1, choices=COLORS, blank=True)
    grouped = models.CharField(max_length=3, choices=[("Group", [("a", "A"), ("b", "B")]), ("c", "C")])
"""

ABSTRACT_FIRST = """
class Stamped(models.Model):
    created = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["-created"]

class Base(Stamped):
    title = models.CharField(max_length=10)

    class Meta(Stamped.Meta):
        abstract = True

class Article(Base):
    body = models.TextField()

class Place(models.Model):
    name = models.CharField(max_length=10)

class Restaurant(Place):
    seats = models.IntegerField(default=0)

class Plain(Stamped):
    note = None

    class Meta:
        verbose_name = "plain"
"""

HAND_CASES += [
    ("choices_clean", CHOICES_FIRST, None),
    (
        "choices_enum_member_change",
        CHOICES_FIRST,
        CHOICES_FIRST.replace('LIVE = "live"', 'LIVE = "live", "Published"'),
    ),
    ("choices_constant_change", CHOICES_FIRST, CHOICES_FIRST.replace("SIZE = 30", "SIZE = 40")),
    (
        "choices_default_change",
        CHOICES_FIRST,
        CHOICES_FIRST.replace("default=Level.LOW", "default=Level.HIGH"),
    ),
    (
        "choices_tuple_clean",
        CHOICES_FIRST,
        CHOICES_FIRST.replace(
            'choices=[("Group", [("a", "A"), ("b", "B")]), ("c", "C")]',
            'choices=(("Group", (("a", "A"), ("b", "B"))), ("c", "C"))',
        ),
    ),
    ("abstract_clean", ABSTRACT_FIRST, None),
    (
        "abstract_parent_change",
        ABSTRACT_FIRST,
        ABSTRACT_FIRST.replace(
            "note = models.TextField(blank=True)", "note = models.TextField(blank=True, null=True)"
        ),
    ),
    (
        "abstract_meta_change",
        ABSTRACT_FIRST,
        ABSTRACT_FIRST.replace('ordering = ["-created"]', 'ordering = ["created"]'),
    ),
    (
        "mti_child_change",
        ABSTRACT_FIRST,
        ABSTRACT_FIRST.replace(
            "seats = models.IntegerField(default=0)", "seats = models.IntegerField(default=1)"
        ),
    ),
]


def _cases() -> list[Case]:
    cases = []
    for name, first, final in HAND_CASES:
        cases.append(Case(name, models_source(first), models_source(final) if final else None))
    return cases


def test_hand_written_cases_agree_with_django(tmp_path: Path) -> None:
    outcomes = run_cases(tmp_path, _cases())
    tally(outcomes, "hand-written apps")
    disagreements = [describe(o) for o in outcomes if not o.agree]
    assert not disagreements, "\n\n".join(disagreements)


def generated_cases(rng: random.Random, count: int, prefix: str) -> list[Case]:
    """`count` random apps: clean, cosmetically rewritten, drifted, migrated twice."""
    cases = []
    for index in range(count):
        specs = random_app(rng)
        first = render(specs)
        second = None
        roll = rng.random()
        if roll < 0.25:
            specs = drift(rng, specs)
            second = render(specs)
        kind = rng.random()
        if kind < 0.25:
            final = None
        elif kind < 0.45:
            final = render(cosmetic(rng, specs), rng)
        else:
            final = render(drift(rng, specs), rng if rng.random() < 0.5 else None)
        cases.append(Case(f"{prefix}{index}", first, final, second))
    return cases


# Each example is a batch of 40 apps (three Django subprocesses); shrinking a batch would
# rerun it many times, and the failure message already shows every disagreeing app.
@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_generated_cases_agree_with_django(seed: int) -> None:
    # A seed rather than st.randoms(): the generator draws thousands of numbers per batch.
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as directory:
        outcomes = run_cases(Path(directory), generated_cases(rng, 40, "gen"))
    tally(outcomes, f"generated apps, seed {seed}")
    disagreements = [describe(o) for o in outcomes if not o.agree]
    assert not disagreements, "\n\n".join(disagreements)


MANAGE_PY = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

SETTINGS = """\
SECRET_KEY = "test"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""


def test_django_check_reports_djangos_own_answer(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "manage.py": MANAGE_PY,
            "proj/__init__.py": "",
            "proj/settings.py": SETTINGS,
            "shop/__init__.py": "",
            "shop/models.py": models_source(BASE),
            "shop/migrations/__init__.py": "",
        },
    )
    run_django(tmp_path, MAKE_SCRIPT.format(labels=["shop"]), apps=["shop"])
    env = {"MIGLINT_PYTHON": sys.executable}
    clean = run_cli("check", ".", "--django-check", "--select", "MIG401", cwd=tmp_path, env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    # A change miglint cannot see (a field added by a function at import time).
    (tmp_path / "shop" / "models.py").write_text(
        models_source(BASE)
        + "\nProduct.add_to_class('sku', models.CharField(max_length=5, null=True))\n"
    )
    static = run_cli("check", ".", "--select", "MIG401", cwd=tmp_path, env=env)
    assert static.returncode == 0, static.stdout
    checked = run_cli(
        "check",
        ".",
        "--django-check",
        "--select",
        "MIG401",
        "--format",
        "json",
        cwd=tmp_path,
        env=env,
    )
    assert checked.returncode == 1, checked.stderr
    findings = json.loads(checked.stdout)
    assert [(f["code"], f["app"], f["path"]) for f in findings] == [
        ("MIG401", "shop", "shop/models.py")
    ]
    assert "Add field sku to product" in findings[0]["message"]


def test_django_check_without_manage_py_is_a_clear_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shop/models.py": models_source(BASE)})
    result = run_cli("check", ".", "--django-check", cwd=tmp_path)
    assert result.returncode == 2
    assert "no manage.py" in result.stderr
    assert "Traceback" not in result.stderr


def test_django_check_help_says_it_executes_project_code(tmp_path: Path) -> None:
    result = run_cli("check", "--help", cwd=tmp_path)
    assert "--django-check" in result.stdout
    assert "EXECUTES" in " ".join(result.stdout.split())
