"""Nudges in a real browser under the real CSP: a coach drafts a nudge from the learner page,
approves it and sends it, and finds it sent in the learner's nudges.

The writing and sending services stand in for nudges.generation and nudges.lifecycle here (they
record what the pages asked and move the nudge as the services would), so the test follows the
pages: forms, CSRF, redirects and messages.
"""

from typing import Any

import pytest
from django.utils import timezone

from nudges import generation, lifecycle
from nudges.models import Nudge, NudgeSource, NudgeStatus
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _draft(*, learner_id: Any, channel: str, actor: Any) -> Nudge:
    return Nudge.objects.create(
        learner_id=learner_id,
        channel=channel,
        source=NudgeSource.TEMPLATE,
        fallback_reason="no_key",
        subject="Your course misses you, Dana",
        body="Hello Dana, one short lesson today gets you back on track.",
        created_by=actor,
    )


def _move(status: str) -> Any:
    def answer(*, nudge: Nudge, actor: Any) -> Nudge:
        now = timezone.now()
        times = {"approved_at": now} if status == NudgeStatus.APPROVED else {"sent_at": now}
        Nudge.objects.filter(pk=nudge.pk).update(status=status, **times)
        nudge.refresh_from_db()
        return nudge

    return answer


def test_a_coach_drafts_approves_and_sends_a_nudge(
    live_server: Any, page: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.OPENAI_API_KEY = ""
    monkeypatch.setattr(generation, "nudge_generate", _draft)
    monkeypatch.setattr(lifecycle, "nudge_approve", _move(NudgeStatus.APPROVED))
    monkeypatch.setattr(lifecycle, "nudge_send", _move(NudgeStatus.SENT))
    cohort = CohortFactory(name="Autumn intake")
    coach = UserFactory(username="coach-nudges", role="coach")
    CohortAssignmentFactory(user=coach, cohort=cohort)
    learner = LearnerFactory(cohort=cohort, name="Drifting Dana")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    sign_in(page, live_server.url, "coach-nudges")
    page.goto(f"{live_server.url}/dashboard/learners/{learner.pk}/")
    panel = page.locator("#nudges")
    assert "drafts come from the template" in panel.inner_text()
    page.select_option("#nudge-channel", "in_app")
    panel.locator("text=Draft a nudge").click()
    page.wait_for_selector(".message:has-text('no LLM key is configured')")
    nudge = Nudge.objects.get(learner=learner)
    assert nudge.channel == "in_app"
    assert page.url == f"{live_server.url}/dashboard/nudges/{nudge.pk}/"
    assert "one short lesson today" in page.locator("[data-field=body]").inner_text()
    screenshot(page, "dashboard-nudge-draft")

    page.click("button:has-text('Approve')")
    page.wait_for_selector(".message:has-text('Approved')")
    assert page.locator("[data-field=status]").inner_text() == "Approved"
    page.click("button:has-text('Send')")
    page.wait_for_selector(".message:has-text('Sent.')")
    assert page.locator("[data-field=status]").inner_text() == "Sent"
    assert page.locator("button:has-text('Send')").count() == 0

    page.click("text=The learner")
    row = page.locator(f"#nudges [data-nudge='{nudge.pk}']")
    assert "Sent" in row.inner_text()
    assert not [line for line in console if "Content Security Policy" in line]
