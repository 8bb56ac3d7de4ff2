"""One definition of progress: the learner record shows the progress the risk explanation gives."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from learners.models import EventKind
from learners.risk.services import learners_rescore
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory

pytestmark = pytest.mark.django_db


def _lessons(learner: object, count: int) -> None:
    for day in range(count):
        ActivityEventFactory(
            learner=learner,
            kind=EventKind.LESSON_COMPLETED,
            occurred_at=timezone.now() - timedelta(days=day + 1),
        )


def test_the_record_and_the_explanation_give_the_same_progress(auth_client: APIClient) -> None:
    cohort = CohortFactory()
    enrolled = timezone.now() - timedelta(days=20)
    leader, halfway = LearnerFactory.create_batch(2, cohort=cohort, enrolled_at=enrolled)
    _lessons(leader, 4)
    _lessons(halfway, 2)

    learners_rescore()

    record = auth_client.get(f"/api/v1/learners/{halfway.pk}/").data
    risk = auth_client.get(f"/api/v1/learners/{halfway.pk}/risk/").data
    (gap,) = [factor for factor in risk["factors"] if factor["factor"] == "progress_gap"]
    assert record["progress"] == 0.5
    assert gap["explanation"].startswith("Progress 50% ")
    assert auth_client.get(f"/api/v1/learners/{leader.pk}/").data["progress"] == 1.0


def test_progress_is_not_written_through_the_api(auth_client: APIClient) -> None:
    learner = LearnerFactory(progress=0.0)
    response = auth_client.patch(
        f"/api/v1/learners/{learner.pk}/", {"progress": 0.9, "locale": "fr"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.data["progress"] == 0.0 and response.data["locale"] == "fr"
