"""Nudges in a real browser under the real CSP: a coach drafts a nudge from the learner page,
approves it and sends it, and finds it sent in the learner's nudges.

Nothing stands in: the learner is scored by the rules model, ``nudges.generation`` writes the
draft from the template (no LLM key) and ``nudges.lifecycle`` sends it through the outbox.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from engagement.models import OutboxMessage
from learners.contracts import learner_risk_snapshot
from learners.risk.services import learners_rescore
from nudges.fallback_templates import fallback_message
from nudges.lifecycle import outbox_key
from nudges.models import Nudge
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import (
    ActivityEventFactory,
    CohortAssignmentFactory,
    CohortFactory,
    LearnerFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("rules_model"),
]


def test_a_coach_drafts_approves_and_sends_a_nudge(
    live_server: Any, page: Any, settings: Any
) -> None:
    settings.OPENAI_API_KEY = ""
    # Sending must not depend on the hour the test runs at in the learner's time zone.
    settings.NUDGE_QUIET_HOURS_START = settings.NUDGE_QUIET_HOURS_END = 0
    cohort = CohortFactory(name="Autumn intake")
    coach = UserFactory(username="coach-nudges", role="coach")
    CohortAssignmentFactory(user=coach, cohort=cohort)
    last_seen = timezone.now() - timedelta(days=30)
    learner = LearnerFactory(cohort=cohort, name="Dana Drift", last_active_at=last_seen)
    ActivityEventFactory(learner=learner, occurred_at=last_seen)
    learners_rescore(learner_ids=[learner.pk])
    snapshot = learner_risk_snapshot(learner.pk)
    assert snapshot is not None
    subject, body = fallback_message(snapshot)
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
    assert (nudge.channel, nudge.source, nudge.fallback_reason) == ("in_app", "template", "no_key")
    assert (nudge.subject, nudge.body) == (subject, body)
    assert nudge.created_by == coach
    assert page.url == f"{live_server.url}/dashboard/nudges/{nudge.pk}/"
    assert page.locator("[data-field=body]").inner_text().strip() == body.strip()
    screenshot(page, "dashboard-nudge-draft")

    page.click("button:has-text('Approve')")
    page.wait_for_selector(".message:has-text('Approved')")
    assert page.locator("[data-field=status]").inner_text() == "Approved"
    page.click("button:has-text('Send')")
    page.wait_for_selector(".message:has-text('Sent.')")
    assert page.locator("[data-field=status]").inner_text() == "Sent"
    assert page.locator("button:has-text('Send')").count() == 0
    nudge.refresh_from_db()
    assert (nudge.status, nudge.approved_by) == ("sent", coach)
    assert nudge.sent_at is not None
    assert OutboxMessage.objects.filter(idempotency_key=outbox_key(nudge.pk)).count() == 1

    page.click("text=The learner")
    row = page.locator(f"#nudges [data-nudge='{nudge.pk}']")
    assert "Sent" in row.inner_text()
    assert not [line for line in console if "Content Security Policy" in line]
