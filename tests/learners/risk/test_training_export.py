"""The training data export: features, outcome and coach feedback, with no personal data."""

import csv
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from learners.risk.features import FEATURE_NAMES
from learners.risk.feedback import risk_feedback_create
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory

pytestmark = pytest.mark.django_db


def test_export_carries_outcomes_features_and_feedback(tmp_path: Path) -> None:
    cohort = CohortFactory()
    enrolled = timezone.now() - timedelta(days=90)
    done = LearnerFactory(
        cohort=cohort, status="completed", enrolled_at=enrolled, name="Secret Person"
    )
    gone = LearnerFactory(cohort=cohort, status="withdrawn", enrolled_at=enrolled)
    LearnerFactory(cohort=cohort, status="active", enrolled_at=enrolled)
    for learner in (done, gone):
        ActivityEventFactory(learner=learner, occurred_at=enrolled + timedelta(days=3))
    risk_feedback_create(actor=None, learner=gone, kind="incorrect", note="private note")
    path = tmp_path / "training.csv"
    out = StringIO()
    call_command("export_training_data", str(path), "--cutoff-day", "14", stdout=out)
    assert "Wrote 2 learners" in out.getvalue()
    text = path.read_text()
    assert "Secret Person" not in text and "private note" not in text
    rows = {row["learner_id"]: row for row in csv.DictReader(StringIO(text))}
    assert rows[str(done.pk)]["outcome"] == "0" and rows[str(gone.pk)]["outcome"] == "1"
    assert rows[str(gone.pk)]["feedback_marks"] == "1"
    assert rows[str(gone.pk)]["latest_feedback"] == "incorrect"
    assert rows[str(done.pk)]["latest_feedback"] == ""
    assert set(FEATURE_NAMES) <= set(rows[str(done.pk)])
