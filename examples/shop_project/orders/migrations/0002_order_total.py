# Adds a stored total and fills it from the order lines.

from django.db import migrations, models
from django.db.models import F, Sum


def fill_totals(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    for order in Order.objects.annotate(sum=Sum(F("lines__quantity") * F("lines__unit_price"))):
        order.total = order.sum or 0
        order.save(update_fields=["total"])


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="total",
            field=models.DecimalField(decimal_places=2, default=0, max_digits=10),
        ),
        migrations.RunPython(fill_totals),
    ]
