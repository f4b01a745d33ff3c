"""MIG401 on apps written the way real projects write them: custom users, abstract bases in
a shared package, models/ packages, custom fields and managers, constraints with Q, choices
from other modules. Clean ones must stay clean; drift must be found (Django decides)."""

from __future__ import annotations

from pathlib import Path

from tests.missing_migration_cases import Case, describe, run_cases, tally

HEAD = "from django.db import models\nfrom django.conf import settings\n"

SHARED = {
    "common/__init__.py": "",
    "common/models.py": HEAD
    + '''
class TimeStamped(models.Model):
    """Abstract base used by several apps."""

    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        get_latest_by = "created"


class Owned(TimeStamped):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="%(app_label)s_%(class)s_set"
    )

    class Meta(TimeStamped.Meta):
        abstract = True
        indexes = [models.Index(fields=["created"], name="%(app_label)s_%(class)s_cr")]
''',
    "libfields/__init__.py": "",
    "libfields/fields.py": HEAD
    + '''
class MoneyField(models.DecimalField):
    """A third-party style field that adds a second column."""

    def __init__(self, *args, currency="EUR", **kwargs):
        self.currency = currency
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["currency"] = self.currency
        return name, "libfields.fields.MoneyField", args, kwargs

    def contribute_to_class(self, cls, name, **kwargs):
        super().contribute_to_class(cls, name, **kwargs)
        if not cls._meta.abstract:
            models.CharField(max_length=3, default=self.currency).contribute_to_class(
                cls, name + "_currency"
            )


class LowerField(models.CharField):
    def get_prep_value(self, value):
        return super().get_prep_value(value).lower()
''',
}

USERS = (
    HEAD
    + """from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    bio = models.TextField(blank=True)
"""
)

SHOP = (
    HEAD
    + '''from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from common.models import Owned, TimeStamped
from libfields.fields import LowerField, MoneyField

from .constants import CODE_LENGTH, Size


class PublishedManager(models.Manager):
    use_in_migrations = True

    def get_queryset(self):
        return super().get_queryset().filter(published=True)


class PlainManager(models.Manager):
    pass


class ProductQuerySet(models.QuerySet):
    def cheap(self):
        return self.filter(price__lt=10)


class Product(Owned):
    """A product."""

    name = models.CharField(_("name"), max_length=100)
    code = LowerField(max_length=CODE_LENGTH, unique=True)
    price = MoneyField(default=0)
    size = models.CharField(max_length=2, choices=Size.choices, default=Size.MEDIUM)
    published = models.BooleanField(default=False, db_index=True)
    tags = models.ManyToManyField("Tag", through="Tagging", blank=True)

    objects = models.Manager()
    live = PublishedManager()
    plain = PlainManager()

    class Meta(Owned.Meta):
        ordering = ("name",)
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="price_positive"),
            models.UniqueConstraint(Lower("name"), name="unique_lower_name"),
        ]

    def __str__(self):
        return self.name


class Tag(TimeStamped):
    label = models.SlugField()
    items = ProductQuerySet.as_manager()


class Tagging(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    weight = models.PositiveSmallIntegerField(default=1)

    class Meta:
        unique_together = [("product", "tag")]
        order_with_respect_to = "product"


class Special(Product):
    ribbon = models.CharField(max_length=20, blank=True)


class Cheap(Product):
    class Meta:
        proxy = True
        verbose_name = "cheap product"
'''
)

CONSTANTS = """from django.db import models

CODE_LENGTH = 16


class Size(models.TextChoices):
    SMALL = "s", "Small"
    MEDIUM = "m", "Medium"
    LARGE = "l"
    __empty__ = "(unknown)"
"""

PACKAGE_INIT = "from .catalog import *  # noqa\nfrom .orders import Order\n"
PACKAGE_CATALOG = (
    HEAD
    + """from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType

__all__ = ["Item", "Note"]


def default_code():
    return "x"


class Item(models.Model):
    code = models.CharField(max_length=10, default=default_code)
    kind = models.CharField(max_length=1, choices={"a": "Alpha", "b": "Beta"})
    when = models.DateTimeField(db_default=models.functions.Now())


class Note(models.Model):
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    text = models.TextField(db_comment="free text")

    class Meta:
        db_table_comment = "notes"
        indexes = [models.Index(fields=["content_type", "object_id"])]
"""
)
PACKAGE_ORDERS = (
    HEAD
    + """from .catalog import Item


class Order(models.Model):
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    quantity = models.IntegerField(default=1)
"""
)


def _cases(prefix: str) -> list[Case]:
    shop_files = {"constants.py": CONSTANTS}
    package = {
        "models/__init__.py": PACKAGE_INIT,
        "models/catalog.py": PACKAGE_CATALOG,
        "models/orders.py": PACKAGE_ORDERS,
    }
    return [
        Case(f"{prefix}shop", SHOP, None, files=shop_files),
        Case(f"{prefix}pkg", None, None, files=package),
        Case(
            f"{prefix}shop_name",
            SHOP,
            SHOP.replace("max_length=100", "max_length=90"),
            files=shop_files,
        ),
        Case(
            f"{prefix}shop_constant",
            SHOP,
            None,
            files=shop_files,
            final_files={"constants.py": CONSTANTS.replace("CODE_LENGTH = 16", "CODE_LENGTH = 20")},
        ),
        Case(
            f"{prefix}shop_enum",
            SHOP,
            None,
            files=shop_files,
            final_files={"constants.py": CONSTANTS.replace('LARGE = "l"', 'LARGE = "l", "Big"')},
        ),
        Case(
            f"{prefix}shop_manager",
            SHOP,
            SHOP.replace("    use_in_migrations = True\n", ""),
            files=shop_files,
        ),
        Case(
            f"{prefix}shop_plain_manager_clean",
            SHOP,
            SHOP.replace("    plain = PlainManager()\n", ""),
            files=shop_files,
        ),
        Case(
            f"{prefix}shop_check",
            SHOP,
            SHOP.replace("price__gte=0", "price__gte=1"),
            files=shop_files,
        ),
        Case(
            f"{prefix}shop_mti",
            SHOP,
            SHOP.replace("max_length=20, blank=True", "max_length=30, blank=True"),
            files=shop_files,
        ),
        Case(
            f"{prefix}shop_proxy_meta",
            SHOP,
            SHOP.replace('"cheap product"', '"bargain"'),
            files=shop_files,
        ),
        Case(
            f"{prefix}shop_through",
            SHOP,
            SHOP.replace("default=1)", "default=2)"),
            files=shop_files,
        ),
        Case(
            f"{prefix}shop_wrt",
            SHOP,
            SHOP.replace('        order_with_respect_to = "product"\n', ""),
            files=shop_files,
        ),
        Case(
            f"{prefix}pkg_orders",
            None,
            None,
            files=package,
            final_files={"models/orders.py": PACKAGE_ORDERS.replace("default=1", "default=2")},
        ),
        Case(
            f"{prefix}pkg_new_model",
            None,
            None,
            files=package,
            final_files={
                "models/orders.py": PACKAGE_ORDERS
                + "\n\nclass Refund(models.Model):\n    order = models.ForeignKey(Order, on_delete=models.CASCADE)\n"
            },
        ),
        Case(
            f"{prefix}pkg_dict_choices",
            None,
            None,
            files=package,
            final_files={
                "models/catalog.py": PACKAGE_CATALOG.replace('"b": "Beta"', '"b": "Bravo"')
            },
        ),
    ]


def test_real_world_styles_agree_with_django(tmp_path: Path) -> None:
    cases = [Case("users", USERS), *_cases("r")]
    outcomes = run_cases(
        tmp_path, cases, shared=SHARED, extra_settings='AUTH_USER_MODEL="users.User",'
    )
    tally(outcomes, "real-world styles")
    disagreements = [describe(o) for o in outcomes if not o.agree]
    assert not disagreements, "\n\n".join(disagreements)


def test_custom_user_model_drift_is_found(tmp_path: Path) -> None:
    cases = [Case("members", USERS, USERS.replace("blank=True", "blank=True, null=True"))]
    outcomes = run_cases(
        tmp_path, cases, shared=SHARED, extra_settings='AUTH_USER_MODEL="members.User",'
    )
    assert [o.django_changes for o in outcomes] == [True]
    assert outcomes[0].agree, describe(outcomes[0])
