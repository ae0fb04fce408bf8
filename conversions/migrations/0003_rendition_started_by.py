from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("conversions", "0002_rendition_attempts"),
    ]

    operations = [
        migrations.AddField(
            model_name="rendition",
            name="started_by",
            field=models.CharField(blank=True, max_length=255),
        ),
    ]
