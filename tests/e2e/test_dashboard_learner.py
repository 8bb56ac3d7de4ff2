"""The learner page in a real browser under the real CSP: a coach signs in, reads why a learner
is at risk, marks the assessment and leaves a note, and sees both at once."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from learners.risk.feedback import risk_feedback_create
from learners.risk.services import learners_rescore
from learners.services import coach_note_create
from tests.e2e.conftest import screenshot, submit_sign_in
from tests.factories import (
    ActivityEventFactory,
    CohortAssignmentFactory,
    CohortFactory,
    LearnerFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_a_coach_reads_the_explanation_and_leaves_feedback_and_a_note(
    live_server: Any, page: Any, rules_model: Any
) -> None:
    cohort = CohortFactory(name="Autumn intake")
    coach = UserFactory(username="coach-learner", role="coach")
    CohortAssignmentFactory(user=coach, cohort=cohort)
    learner = LearnerFactory(
        cohort=cohort,
        name="Drifting Dana",
        enrolled_at=timezone.now() - timedelta(days=50),
    )
    ActivityEventFactory(learner=learner, occurred_at=timezone.now() - timedelta(days=19))
    learners_rescore(learner_ids=[learner.pk])
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    learner_path = f"/dashboard/learners/{learner.pk}/"
    page.goto(f"{live_server.url}{learner_path}")
    page.wait_for_selector("input[name=username]")
    assert "/accounts/login/" in page.url
    submit_sign_in(page, "coach-learner")
    page.wait_for_url(f"{live_server.url}{learner_path}")

    assert page.locator("h1").inner_text() == "Drifting Dana"
    risk = page.locator("#risk")
    assert "No activity for 19 days" in risk.inner_text()
    assert "Best lever" in risk.inner_text()
    screenshot(page, "dashboard-learner")

    page.click("button[name=kind][value=acknowledged]")
    page.wait_for_selector(".message:has-text('Feedback recorded')")
    page.fill("#note-body", "Phoned Dana: back on Monday.")
    page.click("text=Add note")
    page.wait_for_selector(".message:has-text('Note added')")
    assert "Latest: Acknowledged" in page.locator("#risk").inner_text()
    assert "Phoned Dana: back on Monday." in page.locator("#notes").inner_text()
    page.locator("#notes").scroll_into_view_if_needed()
    shot = screenshot(page, "dashboard-learner-feedback-and-note")
    assert shot.stat().st_size > 20_000

    page.click("text=Add note")  # empty: refused with the reason, nothing stored
    assert "the note is empty" in page.locator("#note-error").inner_text()
    screenshot(page, "dashboard-learner-empty-note")
    assert not [text for text in console if "Content Security Policy" in text]


def test_an_analyst_sees_the_learner_page_without_personal_data(
    live_server: Any, page: Any, rules_model: Any
) -> None:
    marker = "zqe2eplanted"
    UserFactory(username="analyst-learner", role="analyst")
    learner = LearnerFactory(
        name=f"Ann {marker}",
        email=f"{marker}@example.org",
        external_id=f"{marker}-ext",
        source=f"{marker}-src",
        enrolled_at=timezone.now() - timedelta(days=40),
    )
    ActivityEventFactory(
        learner=learner,
        source_event_id=f"{marker}-evt",
        metadata={"comment": marker},
        occurred_at=timezone.now() - timedelta(days=3),
    )
    learners_rescore(learner_ids=[learner.pk])
    coach = UserFactory(role="coach")
    risk_feedback_create(actor=coach, learner=learner, kind="incorrect", note=f"{marker} note")
    coach_note_create(actor=coach, learner=learner, body=f"{marker} coach note")

    page.goto(f"{live_server.url}/accounts/login/?next=/dashboard/learners/{learner.pk}/")
    submit_sign_in(page, "analyst-learner")
    page.wait_for_selector("#risk")
    assert page.locator("h1").inner_text() == f"Learner {str(learner.pk)[-8:]}"
    assert "Incorrectly flagged" in page.locator("#risk").inner_text()
    assert marker not in page.content().lower()
    assert page.locator("form[action*='/notes/'], form[action*='/feedback/']").count() == 0
    screenshot(page, "dashboard-learner-analyst")
