"""The overview page after writes the cache must not hide: a coach's mark, a lost cohort."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from learners.models import CohortAssignment
from tests.analytics.conftest import MARKER, assess
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(world: dict[str, Any], settings: Any) -> dict[str, Any]:
    """A coach's high-risk learner, named with the marker, and the cache on for ten minutes."""
    settings.ANALYTICS_CACHE_SECONDS = 600
    cache.clear()
    now = timezone.now()
    learner = LearnerFactory(
        cohort=world["cohort"], name=f"Ann {MARKER}", enrolled_at=now - timedelta(days=20)
    )
    assess(learner, world["model"], now - timedelta(days=2), "high", 0.9)  # not since yesterday
    assess(learner, world["model"], now - timedelta(hours=1), "high", 0.9, current=True)
    client = Client()
    client.force_login(world["coach"])
    return {**world, "learner": learner, "client": client}


def test_an_acknowledged_learner_leaves_needs_attention_at_once(page: dict[str, Any]) -> None:
    client = page["client"]
    assert MARKER in client.get("/dashboard/").content.decode()
    response = client.post(
        f"/dashboard/learners/{page['learner'].pk}/feedback/", {"kind": "acknowledged"}
    )
    assert response.status_code in (302, 303)
    assert MARKER not in client.get("/dashboard/").content.decode()


def test_a_coach_removed_from_the_cohort_no_longer_sees_its_learners(page: dict[str, Any]) -> None:
    client = page["client"]
    body = client.get("/dashboard/").content.decode()
    assert MARKER in body and "Alpha cohort" in body
    CohortAssignment.objects.filter(user=page["coach"]).delete()
    body = client.get("/dashboard/").content.decode()
    assert MARKER not in body and "Alpha cohort" not in body
