import django.db.models.deletion
from django.db import migrations, models

import engagement.ids


class Migration(migrations.Migration):
    dependencies = [
        ("learners", "0027_caseload_band_indexes"),
        ("nudges", "0002_generation_default_prompts"),
    ]

    operations = [
        migrations.AddField(
            model_name="nudge",
            name="delivered_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="TrackingCohort",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=engagement.ids.uuid7,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "cohort",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="learners.cohort",
                    ),
                ),
            ],
        ),
    ]
