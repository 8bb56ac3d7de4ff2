"""A backfill (a rescore as of a past time) writes history; the current risk is the latest one."""

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from engagement.ids import uuid7
from engagement.models import Job
from learners.models import EventKind, Learner, RiskAlert, RiskAssessment
from learners.risk.services import learners_rescore, rescore_as_of_check
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory

pytestmark = pytest.mark.django_db


def days_ago(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


def back_after_a_long_silence(cohort: Any) -> Any:
    """Busy lately, lessons done (low risk now), silent for six weeks before (high risk a month
    ago)."""
    learner = LearnerFactory(cohort=cohort, enrolled_at=days_ago(90))
    ActivityEventFactory(learner=learner, occurred_at=days_ago(85))
    for day in range(1, 20):
        ActivityEventFactory(learner=learner, occurred_at=days_ago(day))
        ActivityEventFactory(
            learner=learner, kind=EventKind.LESSON_COMPLETED, occurred_at=days_ago(day)
        )
    return learner


def test_a_backfill_adds_history_and_leaves_the_current_risk_and_the_caseload(
    auth_client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    cohort = CohortFactory(starts_on=date(2026, 1, 5))
    learner = back_after_a_long_silence(cohort)
    learners_rescore()
    now = Learner.objects.get(pk=learner.pk)
    assert now.risk_band == "low" and not now.risk_stale
    risk_url = f"/api/v1/learners/{learner.pk}/risk/"
    assert auth_client.get(risk_url).json()["previous"] is None  # its rendering now cached
    as_of = days_ago(30)

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(
            "/api/v1/risk/rescore/",
            {"cohort_id": str(cohort.pk), "as_of": as_of.isoformat()},
            format="json",
        )

    assert response.status_code == 202
    job = auth_client.get(f"/api/v1/jobs/{response.json()['id']}/").json()
    assert job["status"] == "succeeded"
    backfilled = RiskAssessment.objects.get(learner=learner, as_of=as_of)
    assert backfilled.band == "high"  # history: how it looked a month ago
    stored = Learner.objects.get(pk=learner.pk)
    assert (stored.risk_score, stored.risk_band, stored.risk_scored_at) == (
        now.risk_score,
        "low",
        now.risk_scored_at,
    )
    assert not RiskAlert.objects.exists()
    detail = auth_client.get(risk_url).json()
    assert detail["as_of"] == now.risk_scored_at.isoformat() and detail["band"] == "low"
    assert detail["stale"] is False
    assert detail["previous"]["as_of"] == as_of.isoformat()
    caseload = auth_client.get("/api/v1/learners/", {"risk_band": "high"}).json()
    assert caseload["results"] == []
    assert job["result"]["history_only"] == 1


def test_a_backfill_of_a_learner_never_scored_leaves_them_stale_for_a_rescore_as_of_now(
    auth_client: APIClient,
) -> None:
    learner = back_after_a_long_silence(CohortFactory(starts_on=date(2026, 1, 5)))
    as_of = days_ago(30)

    learners_rescore(as_of=as_of)

    stored = Learner.objects.get(pk=learner.pk)
    assert stored.risk_scored_at == as_of and stored.risk_stale
    assert auth_client.get(f"/api/v1/learners/{learner.pk}/risk/").json()["stale"] is True
    learners_rescore(stale_only=True)
    rescored_at = Learner.objects.get(pk=learner.pk).risk_scored_at
    assert rescored_at is not None and rescored_at > as_of


def test_learners_not_enrolled_at_as_of_are_not_scored() -> None:
    cohort = CohortFactory(starts_on=date(2026, 1, 5))
    early = back_after_a_long_silence(cohort)
    late = LearnerFactory(cohort=cohort, enrolled_at=days_ago(5))

    summary = learners_rescore(as_of=days_ago(10))

    assert summary.learners == 1 and summary.not_enrolled == 1
    assert summary.as_dict()["not_enrolled"] == 1
    assert set(RiskAssessment.objects.values_list("learner_id", flat=True)) == {early.pk}
    assert Learner.objects.get(pk=late.pk).risk_scored_at is None


def test_as_of_is_bounded_by_the_requested_cohorts_start(auth_client: APIClient) -> None:
    CohortFactory(starts_on=date(2025, 1, 1))
    late = CohortFactory(starts_on=date(2026, 11, 11), timezone="Pacific/Kiritimati")
    LearnerFactory(cohort=late, enrolled_at=days_ago(1))

    response = auth_client.post(
        "/api/v1/risk/rescore/",
        {"cohort_id": str(late.pk), "as_of": "2026-01-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["as_of"]
    assert "2026-11-11, when the cohort started" in response.json()["as_of"][0]
    assert not RiskAssessment.objects.exists()
    # The cohort's day begins in its own zone: 11 November starts at 10:00 UTC on the 10th.
    assert rescore_as_of_check(
        datetime.fromisoformat("2026-11-10T10:00:00+00:00"), cohort_id=late.pk
    )
    with pytest.raises(ValueError, match="when the cohort started"):
        rescore_as_of_check(datetime.fromisoformat("2026-11-10T09:59:00+00:00"), cohort_id=late.pk)
    with pytest.raises(ValueError, match="not a cohort id"):
        rescore_as_of_check(days_ago(1), cohort_id="nope")


def test_a_rescore_of_an_unknown_cohort_is_refused_before_any_job(auth_client: APIClient) -> None:
    response = auth_client.post("/api/v1/risk/rescore/", {"cohort_id": str(uuid7())}, format="json")
    assert response.status_code == 400
    assert response.json() == {"cohort_id": ["No cohort with this id."]}
    assert not Job.objects.exists()
