"""The caseload on a tablet (768 by 1024): the learner and risk columns in view, no sideways scroll."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from learners.risk.services import learners_rescore
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import (
    ActivityEventFactory,
    CohortAssignmentFactory,
    CohortFactory,
    LearnerFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_caseload_fits_a_tablet_with_lower_priority_columns_hidden(
    live_server: Any, browser: Any, rules_model: Any
) -> None:
    now = timezone.now()
    cohort = CohortFactory(name="Tablet cohort with a rather long name")
    coach = UserFactory(username="coach-tablet", role="coach")
    CohortAssignmentFactory(user=coach, cohort=cohort)
    for number in range(3):
        learner = LearnerFactory(
            cohort=cohort, name=f"Tablet Learner{number}", enrolled_at=now - timedelta(days=50)
        )
        ActivityEventFactory(learner=learner, occurred_at=now - timedelta(days=10 + number))
    learners_rescore()

    context = browser.new_context(viewport={"width": 768, "height": 1024})
    page = context.new_page()
    sign_in(page, live_server.url, coach.username)
    page.goto(f"{live_server.url}/dashboard/learners/")
    screenshot(page, "caseload-tablet-768")

    wrap = page.locator("table.caseload").locator("xpath=..")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), "the table scrolls sideways"
    for heading in ("Learner", "Risk", "Last activity"):
        cell = page.locator("table.caseload th", has_text=heading).first
        assert cell.is_visible(), heading
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 768, heading
    assert page.locator("table.caseload td a", has_text="Tablet Learner0").is_visible()
    for hidden in ("Status", "Enrolled"):
        assert not page.locator("table.caseload th", has_text=hidden).first.is_visible(), hidden
    context.close()
