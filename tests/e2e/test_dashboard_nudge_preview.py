"""The nudge preview in a real browser under the real CSP: a coach previews the nudge a learner
would get, streamed from the local OpenAI-compatible server through the SSE endpoint, sees the
text arrive, then the checked message (or the template and why), and nothing is saved. Without
JavaScript the preview is hidden and the draft form still drafts.
"""

import json
from typing import Any

import pytest
from django.core.cache import cache
from waffle import get_waffle_switch_model

from learners.contracts import learner_risk_snapshot
from learners.models import Learner
from nudges.fallback_templates import fallback_message
from nudges.flags import LLM_GENERATION
from nudges.llm.fake_server import FakeLLMServer
from nudges.models import LLMCall, Nudge
from nudges.prompts import prompt_version_create
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import CohortAssignmentFactory, UserFactory
from tests.nudges.conftest import fake_llm, fake_llm_server  # noqa: F401 (fixtures)
from tests.nudges.generation_factories import scored_learner

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

SUBJECT = "Tu curso PY101 te espera"
BODY = (
    "Hola, Ada:\n\nLa próxima lección de PY101 ya está lista. Una sesión breve esta semana basta."
)

#: Records each text the stream element shows, so the test sees it grow as the events arrive.
WATCH_STREAM = """() => {
  window.seenStream = [];
  const stream = document.querySelector("[data-preview-stream]");
  new MutationObserver(() => window.seenStream.push(stream.textContent))
    .observe(stream, {childList: true, characterData: true, subtree: true});
}"""


def _coach_and_learner() -> Learner:
    """A Spanish-speaking learner scored high, the coach of their cohort, the LLM switched on
    and the shipped English prompt (it asks for the learner's language) active."""
    get_waffle_switch_model().objects.update_or_create(
        name=LLM_GENERATION, defaults={"active": True}
    )
    prompt_version_create(
        key="reengage",
        locale="en",
        system_text="Write in {language}. Answer with JSON.",
        user_text="First name: {first_name}. Course: {course}. Days away: {days_inactive}.",
        actor=None,
        activate=True,
    )
    learner = scored_learner(locale="es")
    coach = UserFactory(username="coach-preview", role="coach")
    CohortAssignmentFactory(user=coach, cohort=learner.cohort)
    return learner


def test_a_coach_previews_a_streamed_nudge_and_nothing_is_saved(
    live_server: Any,
    page: Any,
    rules_model: Any,
    fake_llm: FakeLLMServer,  # noqa: F811
) -> None:
    fake_llm.configure(mode="custom", subject=SUBJECT, body=BODY)
    learner = _coach_and_learner()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    sign_in(page, live_server.url, "coach-preview")
    page.goto(f"{live_server.url}/dashboard/learners/{learner.pk}/")
    preview = page.locator("#nudge-preview")
    assert preview.is_visible()
    page.evaluate(WATCH_STREAM)
    preview.locator("button:has-text('Preview')").click()
    page.wait_for_selector("[data-preview-message][data-source=llm]")

    streamed = json.dumps({"subject": SUBJECT, "body": BODY})  # as the server writes it
    seen = page.evaluate("window.seenStream")
    assert seen[-1] == streamed
    assert any(0 < len(text) < len(streamed) and streamed.startswith(text) for text in seen)
    assert int(preview.locator("[data-preview-stream]").get_attribute("data-preview-deltas")) > 1
    assert preview.locator("[data-preview-subject]").inner_text() == SUBJECT
    assert "La próxima lección de PY101" in preview.locator("[data-preview-body]").inner_text()
    assert "Written by the LLM" in preview.locator("[data-preview-status]").inner_text()
    assert "Nothing is saved" in preview.inner_text()
    asked = fake_llm.requests[-1]["json"]
    assert asked["stream"] is True
    assert asked["messages"][0]["content"] == "Write in Spanish. Answer with JSON."
    preview.locator("[data-preview-saved]").scroll_into_view_if_needed()
    screenshot(page, "dashboard-nudge-preview-llm")

    fake_llm.configure(mode="shaming")
    cache.clear()  # else the same prompt gets the cached answer, not the server's new one
    preview.locator("button:has-text('Preview')").click()
    page.wait_for_selector("[data-preview-message][data-source=template]")
    status = preview.locator("[data-preview-status]").inner_text()
    assert status == "From the template: the LLM wrote a message that failed a check: tone."
    assert not preview.locator("[data-preview-stream]").is_visible()  # the rejected text
    snapshot = learner_risk_snapshot(learner.pk)
    assert snapshot is not None
    assert preview.locator("[data-preview-subject]").inner_text() == fallback_message(snapshot)[0]
    preview.locator("[data-preview-saved]").scroll_into_view_if_needed()
    screenshot(page, "dashboard-nudge-preview-template")

    assert not Nudge.objects.filter(learner=learner).exists()
    assert list(LLMCall.objects.values_list("purpose", "outcome")) == [
        ("preview", "ok"),
        ("preview", "ok"),
    ]
    assert not [line for line in console if "Content Security Policy" in line]


def test_without_javascript_the_preview_is_hidden_and_the_form_drafts(
    live_server: Any,
    browser: Any,
    rules_model: Any,
    fake_llm: FakeLLMServer,  # noqa: F811
) -> None:
    fake_llm.configure(mode="custom", subject=SUBJECT, body=BODY)
    learner = _coach_and_learner()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()

    sign_in(page, live_server.url, "coach-preview")
    page.goto(f"{live_server.url}/dashboard/learners/{learner.pk}/")
    assert not page.locator("#nudge-preview").is_visible()
    page.locator("#nudges button:has-text('Draft a nudge')").click()
    page.wait_for_selector(".message:has-text('Draft written by the LLM')")
    nudge = Nudge.objects.get(learner=learner)
    assert page.url == f"{live_server.url}/dashboard/nudges/{nudge.pk}/"
    assert nudge.subject == SUBJECT
    context.close()
