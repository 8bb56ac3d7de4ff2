"""Ship the documented rules model as version 1, active, so scoring works from the first day."""

from django.db import migrations

# Frozen copy of learners.risk.model.RULES_PARAMETERS as shipped (later edits make new versions).
RULES_PARAMETERS = {
    "intercept": -1.6,
    "centres": {
        "days_inactive": 2.0,
        "active_days_ratio": 1.0,
        "activity_trend": 0.0,
        "assessment_mean": 0.7,
        "assessment_count": 2.0,
        "time_trend": 0.0,
        "social": 0.0,
        "progress_gap": 0.0,
        "new_learner": 0.0,
    },
    "weights": {
        "days_inactive": 0.12,
        "active_days_ratio": -0.9,
        "activity_trend": -0.45,
        "assessment_mean": -2.5,
        "assessment_count": -0.08,
        "time_trend": -0.2,
        "social": -0.3,
        "progress_gap": 2.2,
        "new_learner": -0.4,
    },
    "thresholds": {"medium": 0.35, "high": 0.6},
}


def create_rules_model(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    risk_model = apps.get_model("learners", "RiskModel")
    if not risk_model.objects.exists():
        risk_model.objects.create(
            version=1,
            kind="rules",
            parameters=RULES_PARAMETERS,
            is_active=True,
            notes="Default rules with documented weights (learners/risk/model.py).",
        )


def remove_rules_model(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    apps.get_model("learners", "RiskModel").objects.filter(version=1, kind="rules").delete()


class Migration(migrations.Migration):
    dependencies = [("learners", "0004_risk_models")]

    operations = [migrations.RunPython(create_rules_model, remove_rules_model)]
