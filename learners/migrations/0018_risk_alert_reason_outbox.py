"""The digest hands mail to the outbox, which retries failures: no alert waits for a failed mail
any more. Alerts left pending for that reason are retried by the next digest as before."""

from typing import Any

from django.db import migrations, models


def forget_mail_failed(apps: Any, schema_editor: Any) -> None:
    apps.get_model("learners", "RiskAlert").objects.filter(reason="mail_failed").update(reason="")


class Migration(migrations.Migration):
    dependencies = [
        ("learners", "0017_cohort_assignment"),
    ]

    operations = [
        migrations.RunPython(forget_mail_failed, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="riskalert",
            name="reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "-"),
                    (
                        "no_recipient",
                        "Nobody to receive it: no coach or admin with an email address",
                    ),
                ],
                default="",
                max_length=16,
            ),
        ),
    ]
