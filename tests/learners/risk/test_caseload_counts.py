"""Only learners still studying count as high risk: alerts, run summaries, caseload filters.
Finished learners keep their final assessment on their own record."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from learners.models import Learner, RiskAlert
from learners.risk.services import learners_rescore
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db


def _silent(**kwargs: Any) -> Any:
    """A learner quiet for 45 days: the rules model puts them in the high band."""
    learner = LearnerFactory(enrolled_at=timezone.now() - timedelta(days=60), **kwargs)
    ActivityEventFactory(learner=learner, occurred_at=timezone.now() - timedelta(days=45))
    return learner


def test_a_run_alerts_and_counts_only_learners_still_studying() -> None:
    cohort = CohortFactory()
    studying = _silent(cohort=cohort)
    left_today = _silent(cohort=cohort, status="withdrawn", finished_at=timezone.now())
    closed = CohortFactory(starts_on=date(2026, 1, 5), ends_on=date(2026, 4, 30))
    LearnerFactory(cohort=closed, status="withdrawn", enrolled_at=datetime(2026, 1, 5, tzinfo=UTC))

    summary = learners_rescore(as_of=timezone.now() - timedelta(days=1))  # before one left

    assert set(RiskAlert.objects.values_list("learner_id", flat=True)) == {studying.pk}
    assert summary.entered_high == 1
    assert summary.bands == {"high": 1} and summary.finished == 2
    assert summary.as_dict()["finished"] == 2
    assert Learner.objects.get(pk=left_today.pk).risk_band == "high"  # kept on their record


def test_rescore_command_reports_the_studying_bands_and_the_finished_apart() -> None:
    _silent()
    _silent(status="completed")
    out = StringIO()
    call_command("rescore", stdout=out)
    assert "studying 1 high; 1 finished;" in out.getvalue()


def test_the_risk_band_filter_is_the_caseload_unless_a_status_is_asked(
    auth_client: APIClient,
) -> None:
    studying = LearnerFactory()
    finished = LearnerFactory(status="withdrawn")
    Learner.objects.update(risk_band="high", risk_score=0.9)
    caseload = auth_client.get("/api/v1/learners/", {"risk_band": "high"}).data
    assert [row["id"] for row in caseload["results"]] == [str(studying.pk)]
    asked = auth_client.get("/api/v1/learners/", {"risk_band": "high", "status": "withdrawn"})
    assert [row["id"] for row in asked.data["results"]] == [str(finished.pk)]
    assert auth_client.get(f"/api/v1/learners/{finished.pk}/").data["risk_band"] == "high"


def test_the_admin_risk_band_filter_is_the_caseload(client: Client) -> None:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    LearnerFactory(external_id="still-here")
    LearnerFactory(external_id="gone-now", status="completed")
    Learner.objects.update(risk_band="high", risk_score=0.9)
    page = client.get("/admin/learners/learner/", {"risk_band": "high"}).content.decode()
    assert "still-here" in page and "gone-now" not in page
    asked = client.get(
        "/admin/learners/learner/", {"risk_band": "high", "status__exact": "completed"}
    )
    assert "gone-now" in asked.content.decode()
