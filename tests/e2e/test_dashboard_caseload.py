"""A coach works the caseload table in a real browser, under the real CSP."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from engagement.db_routing import REPLICA_DB_ALIAS
from learners.models import Learner, RiskFeedback
from learners.risk.services import learners_rescore
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import (
    ActivityEventFactory,
    CohortAssignmentFactory,
    CohortFactory,
    LearnerFactory,
    UserFactory,
)

# Outside a test transaction, list reads go to the replica (a mirror of the test database).
pytestmark = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS])


def _seed() -> tuple[Any, list[Any]]:
    now = timezone.now()
    mine, other = CohortFactory(name="Spring cohort"), CohortFactory(name="Autumn cohort")
    coach = UserFactory(username="coach-caseload", role="coach")
    CohortAssignmentFactory(user=coach, cohort=mine)
    drifting = []
    for number, days in enumerate((19, 25, 14)):
        learner = LearnerFactory(
            cohort=mine,
            name=f"Drifting Learner{number}",
            enrolled_at=now - timedelta(days=50),
        )
        ActivityEventFactory(learner=learner, occurred_at=now - timedelta(days=days))
        drifting.append(learner)
    steady = LearnerFactory(
        cohort=mine, name="Steady Learner", enrolled_at=now - timedelta(days=40)
    )
    for day in range(1, 30):
        ActivityEventFactory(learner=steady, occurred_at=now - timedelta(days=day))
    outsider = LearnerFactory(
        cohort=other, name="Outside Learner", enrolled_at=now - timedelta(days=50)
    )
    ActivityEventFactory(learner=outsider, occurred_at=now - timedelta(days=20))
    learners_rescore()
    for learner, days in zip(drifting, (19, 25, 14), strict=True):
        Learner.objects.filter(pk=learner.pk).update(last_active_at=now - timedelta(days=days))
    Learner.objects.filter(pk=steady.pk).update(last_active_at=now - timedelta(days=1))
    return coach, drifting


def test_coach_filters_sorts_and_acknowledges_learners(
    live_server: Any, page: Any, rules_model: Any
) -> None:
    coach, drifting = _seed()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    sign_in(page, live_server.url, coach.username)
    page.click("nav a:has-text('Learners')")
    page.wait_for_url(f"{live_server.url}/dashboard/learners/")
    table = page.locator("table.caseload tbody")
    assert "Outside Learner" not in table.inner_text()
    assert "Steady Learner" in table.inner_text()
    options = page.locator("#id_cohort option").all_inner_texts()
    assert options == ["All my cohorts", "Spring cohort"]
    screenshot(page, "caseload-1-coach-opens-learners")

    band = Learner.objects.get(pk=drifting[0].pk).risk_band
    page.check(f"input[name=band][value={band}]")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(f"**/dashboard/learners/?*band={band}*")
    assert "Steady Learner" not in table.inner_text()
    assert table.locator("tr").count() == 3
    screenshot(page, "caseload-2-filtered-by-band")

    page.click("th a:has-text('Last activity')")
    page.wait_for_url("**ordering=last_active**")
    assert page.locator("th[aria-sort=ascending]").inner_text() == "Last activity"
    names = table.locator("td:nth-child(2) a").all_inner_texts()
    assert names == ["Drifting Learner1", "Drifting Learner0", "Drifting Learner2"]
    screenshot(page, "caseload-3-sorted-by-last-activity")

    page.check("input.select-row >> nth=0")
    page.check("input.select-row >> nth=1")
    screenshot(page, "caseload-4-two-selected")
    page.click("button[value=acknowledge]")
    page.wait_for_selector(".messages")
    assert "Marked 2 learners as acknowledged." in page.inner_text(".messages")
    assert "ordering=last_active" in page.url
    marked = set(RiskFeedback.objects.values_list("learner__name_tokens", flat=True))
    assert len(marked) == 2
    screenshot(page, "caseload-5-acknowledged")

    page.check("#select-page")
    assert page.locator("input.select-row:checked").count() == 3
    assert not [text for text in console if "Content Security Policy" in text]
