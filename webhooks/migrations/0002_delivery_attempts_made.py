"""Delivery.attempts_made: the latest attempt's number, kept on the row (was an aggregate)."""

from django.db import migrations, models
from django.db.models import Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def count_attempts(apps, schema_editor):
    """Each existing delivery's counter starts at the highest attempt number it has."""
    Delivery = apps.get_model("webhooks", "Delivery")
    Attempt = apps.get_model("webhooks", "Attempt")
    highest = (
        Attempt.objects.filter(delivery=OuterRef("pk"))
        .values("delivery")
        .annotate(n=Max("number"))
        .values("n")
    )
    Delivery.objects.using(schema_editor.connection.alias).update(
        attempts_made=Coalesce(Subquery(highest), Value(0))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="attempts_made",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(count_attempts, migrations.RunPython.noop),
    ]
