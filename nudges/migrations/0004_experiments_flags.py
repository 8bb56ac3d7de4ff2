"""The nudges feature flags: waffle switches created on (a programme opts out, per cohort or
altogether, in the admin), and the proxy model the admin edits them through."""

from typing import Any

from django.db import migrations

FLAGS = {
    "nudges_llm_generation": "Nudges are written by the LLM (off: the deterministic template).",
    "nudges_auto_approval": "Campaigns set to auto-approve send without review (off: staff review).",
    "nudges_automations": "Recurring campaigns run on their schedule (off: they wait).",
}


def create_switches(apps: Any, schema_editor: Any) -> None:
    switch = apps.get_model("waffle", "Switch")
    for name, note in FLAGS.items():
        switch.objects.get_or_create(name=name, defaults={"active": True, "note": note})


def delete_switches(apps: Any, schema_editor: Any) -> None:
    apps.get_model("waffle", "Switch").objects.filter(name__in=FLAGS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("nudges", "0003_lifecycle_delivery"),
        ("waffle", "0004_update_everyone_nullbooleanfield"),
    ]

    operations = [
        migrations.CreateModel(
            name="FeatureFlag",
            fields=[],
            options={"verbose_name": "feature flag", "proxy": True, "indexes": [], "constraints": []},
            bases=("waffle.switch",),
        ),
        migrations.RunPython(create_switches, delete_switches),
    ]
