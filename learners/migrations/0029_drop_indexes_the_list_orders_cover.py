"""Drop the single-column indexes on ``risk_score`` and ``last_active_at``: the list orders of
``0028_learner_list_indexes`` (``risk_score NULLS FIRST, id`` and ``last_active_at NULLS FIRST,
id``) serve every range and order they served, and each index is written again on every rescore
and every ingested batch that moves a learner's ``last_active_at``."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("learners", "0028_learner_list_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="learner", name="learner_risk_score"),
        migrations.RemoveIndex(model_name="learner", name="learner_last_active"),
    ]
