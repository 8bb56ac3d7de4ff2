"""Ship the rules weights for engagement since enrolment as a new ``rules`` version.

It becomes the active model only where the shipped rules v1 is still active (or none is): a
deployment that activated a trained model keeps it, and can activate this version when it
chooses. Migrations record nothing in the audit log (v1 was shipped the same way).
"""

from django.db import migrations

SHIPPED_RULES_VERSION = 1
NOTES = "Rules weighing engagement since enrolment (docs/risk.md, 'Why these rules weights')."

# Frozen copy of learners.risk.model.RULES_PARAMETERS as shipped (later edits make new versions).
RULES_PARAMETERS = {
    "intercept": -0.4,
    "centres": {
        "events_vs_peers": 0.5,
        "active_share": 0.25,
        "days_inactive": 2.0,
        "progress_gap": 0.0,
        "assessment_mean": 0.7,
        "new_learner": 0.0,
    },
    "weights": {
        "events_vs_peers": -0.6,
        "active_share": -1.0,
        "days_inactive": 0.08,
        "progress_gap": 2.5,
        "assessment_mean": -2.0,
        "new_learner": -0.4,
    },
    "thresholds": {"medium": 0.5, "high": 0.75},
}


def create_rules_model(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    risk_model = apps.get_model("learners", "RiskModel")
    active = risk_model.objects.filter(is_active=True).first()
    takes_over = active is None or (
        active.version == SHIPPED_RULES_VERSION and active.kind == "rules"
    )
    if active is not None and takes_over:
        risk_model.objects.filter(pk=active.pk).update(is_active=False)
    latest = risk_model.objects.order_by("-version").first()
    risk_model.objects.create(
        version=(latest.version if latest else 0) + 1,
        kind="rules",
        parameters=RULES_PARAMETERS,
        is_active=takes_over,
        notes=NOTES,
    )


def remove_rules_model(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    risk_model = apps.get_model("learners", "RiskModel")
    shipped = risk_model.objects.filter(kind="rules", notes=NOTES)
    was_active = shipped.filter(is_active=True).exists()
    shipped.delete()
    if was_active:
        risk_model.objects.filter(version=SHIPPED_RULES_VERSION, kind="rules").update(
            is_active=True
        )


class Migration(migrations.Migration):
    dependencies = [("learners", "0020_risk_model_kind_boosted")]

    operations = [migrations.RunPython(create_rules_model, remove_rules_model)]
