"""The caseload page's query count does not grow with its rows (5 or 50), for every role."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from learners.risk.services import learners_rescore
from tests.factories import (
    ActivityEventFactory,
    CohortAssignmentFactory,
    CohortFactory,
    LearnerFactory,
    UserFactory,
)
from tests.learners.pages.conftest import URL, signed_in

pytestmark = pytest.mark.django_db

# session, user, the viewer's cohorts (the select), the capped count, the rows with their
# cohort, the current assessments of the rows
QUERIES = 6


@pytest.mark.parametrize("size", [5, 50])
@pytest.mark.parametrize("role", ["admin", "coach", "analyst"])
def test_query_count_is_constant(
    rules_model: Any, django_assert_num_queries: Any, size: int, role: str
) -> None:
    cohort = CohortFactory()
    now = timezone.now()
    for number in range(size):
        learner = LearnerFactory(cohort=cohort, enrolled_at=now - timedelta(days=40))
        ActivityEventFactory(learner=learner, occurred_at=now - timedelta(days=number % 20 + 1))
    learners_rescore()
    viewer = UserFactory(username=f"viewer-{role}", role=role)
    if role == "coach":
        CohortAssignmentFactory(user=viewer, cohort=cohort)
    client = signed_in(viewer)
    with django_assert_num_queries(QUERIES):
        response = client.get(URL, {"per_page": "50", "band": ["high", "medium", "low"]})
    assert response.status_code == 200
    page = response.context["page"]
    assert len(page.rows) == size
    assert all(row.top_factor for row in page.rows if row.band == "high")
