"""A coach signs in and reads the overview of their own cohorts, in a real browser."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from analytics.services import snapshots_backfill
from tests.analytics.conftest import assess
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import (
    ActivityEventFactory,
    CohortAssignmentFactory,
    CohortFactory,
    LearnerFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_a_coach_reads_the_overview_of_their_cohorts(
    live_server: Any, page: Any, rules_model: Any
) -> None:
    now = timezone.now()
    mine, theirs = CohortFactory(name="Evening cohort"), CohortFactory(name="Hidden cohort")
    coach = UserFactory(username="coach-overview", role="coach")
    CohortAssignmentFactory(user=coach, cohort=mine)
    for index, cohort in enumerate([mine, mine, mine, theirs]):
        learner = LearnerFactory(
            cohort=cohort, name=f"Learner Person{index}", enrolled_at=now - timedelta(days=40)
        )
        assess(learner, rules_model, now - timedelta(days=10), "low", 0.2)
        band = "high" if index % 2 == 0 else "medium"
        assess(learner, rules_model, now - timedelta(hours=3), band, 0.9, current=True)
        for day in range(0, 20, 3):
            ActivityEventFactory(
                learner=learner, kind="login", occurred_at=now - timedelta(days=day)
            )
    snapshots_backfill(since=(now - timedelta(days=14)).date(), until=now.date())
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    sign_in(page, live_server.url, "coach-overview")

    high = page.locator("[data-kpi=high-risk]")
    assert high.locator(".kpi-value").inner_text() == "2"
    week_ago = (now - timedelta(days=7)).date()
    assert f"compared with {week_ago:%-d %b} (UTC)" in high.inner_text()
    nudges = page.locator("[data-kpi=nudges]")
    assert nudges.locator(".kpi-value").inner_text() == "0"
    assert f"Since {now.date().replace(day=1):%-d %b} (UTC)" in nudges.inner_text()
    body = page.inner_text("main")
    assert "Evening cohort" in body
    assert "Hidden cohort" not in body
    assert "Learner Person3" not in body
    attention = page.locator("section[aria-labelledby=attention-heading]")
    assert attention.locator("tbody tr").count() == 2
    for heading in ("Risk by cohort", "Engagement, last 30 days", "Risk, last 30 days"):
        assert page.locator(f"h2:has-text('{heading}')").count() == 1
    # Risk by cohort, daily active learners, events by kind, risk bands.
    assert page.locator("main svg[role=img]").count() == 4
    assert page.locator("main svg title:has-text('Events by kind per day (UTC)')").count() == 1
    assert "In the last 24 hours" in body
    assert (
        "Evening cohort"
        in page.locator("section[aria-labelledby=distribution-heading] svg").text_content()
    )
    screenshot(page, "dashboard-overview-coach")
    page.locator("#engagement-heading").scroll_into_view_if_needed()
    screenshot(page, "dashboard-overview-coach-trends")

    page.click("nav a:has-text('Cohorts')")
    page.wait_for_url(f"{live_server.url}/dashboard/cohorts/")
    assert "Evening cohort" in page.inner_text("main")
    assert "Hidden cohort" not in page.inner_text("main")
    assert page.locator("main svg[role=img]").count() == 1
    screenshot(page, "dashboard-cohorts-coach")
    assert not [text for text in console if "Content Security Policy" in text]
