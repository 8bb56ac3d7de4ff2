"""Each learner's last change of band: the band before it and when the current band began.

Scoring keeps both from now on (``learners.risk.services._update_current_risk``); this fills
them once from the kept assessments, in two set-based UPDATEs that SQLite and PostgreSQL both
run (correlated subqueries, each an index range read on ``(learner, -as_of)``):

1. the latest assessment, up to the current one, in another band than the current band gives
   the previous band and, held for a moment in ``risk_band_changed_at``, its time;
2. the earliest assessment after that one (up to the current) is when the current band began;
   with no assessment kept, the current one's time.
"""

from typing import Any

from django.db import migrations, models
from django.db.models import Q

LEARNER = "learners_learner"
ASSESSMENT = "learners_riskassessment"
OTHER_BAND = (
    f"FROM {ASSESSMENT} a WHERE a.learner_id = {LEARNER}.id "
    f"AND a.band <> {LEARNER}.risk_band AND a.as_of <= {LEARNER}.risk_scored_at"
)
LAST_OTHER = f"""
UPDATE {LEARNER} SET
    risk_band_previous = COALESCE(
        (SELECT a.band {OTHER_BAND} ORDER BY a.as_of DESC, a.computed_at DESC, a.id DESC LIMIT 1),
        ''
    ),
    risk_band_changed_at = (SELECT MAX(a.as_of) {OTHER_BAND})
WHERE risk_band <> ''
"""
RUN_START = f"""
UPDATE {LEARNER} SET
    risk_band_changed_at = COALESCE(
        (
            SELECT MIN(a.as_of) FROM {ASSESSMENT} a
            WHERE a.learner_id = {LEARNER}.id AND a.as_of <= {LEARNER}.risk_scored_at
            AND ({LEARNER}.risk_band_changed_at IS NULL OR a.as_of > {LEARNER}.risk_band_changed_at)
        ),
        risk_scored_at
    )
WHERE risk_band <> ''
"""


def fill(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(LAST_OTHER)
    schema_editor.execute(RUN_START)


class Migration(migrations.Migration):
    dependencies = [
        ("learners", "0024_caseload_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="learner",
            name="risk_band_previous",
            field=models.CharField(
                blank=True,
                choices=[("low", "Low"), ("medium", "Medium"), ("high", "High")],
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="learner",
            name="risk_band_changed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="learner",
            index=models.Index(
                condition=Q(status__in=("active", "paused")),
                fields=["risk_band_changed_at"],
                name="learner_studying_band_changed",
            ),
        ),
        # After the index: PostgreSQL refuses to index a table with the fill's trigger events
        # still pending in the same transaction.
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
