"""nudge_generate: every request ends as a stored draft; the LLM's message when it may be sent,
else the template of the learner's top factor saying why (unit tests of generation's own logic:
the LLM client is replaced here; ``test_generation_real_server`` runs each guardrail, each fault
and the preview over HTTP against the local server)."""

from collections.abc import Iterator
from typing import Any

import pytest

from engagement.errors import NotFound, ValidationFailed
from engagement.models import AuditEvent, Role
from nudges import generation
from nudges.llm.client import LLMReply, LLMRequest, StreamEvent
from nudges.models import Campaign, LLMCall, LLMOutcome, Nudge, PromptTemplate
from nudges.prompts import prompt_version_create
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory
from tests.nudges.generation_factories import scored_learner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rules_model")]

GOOD_SUBJECT = "Your PY101 course misses you"
GOOD_BODY = "Hi Ada,\n\nA short session this week would help you pick up where you left off."


class FakeLLM:
    """Stands in for ``llm_complete``: records each request and answers."""

    def __init__(self) -> None:
        self.requests: list[LLMRequest] = []

    def __call__(self, request: LLMRequest) -> LLMReply:
        self.requests.append(request)
        call = LLMCall.objects.create(model=request.model, outcome=LLMOutcome.OK)
        return LLMReply(subject=GOOD_SUBJECT, body=GOOD_BODY, call=call)


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> FakeLLM:
    fake = FakeLLM()
    monkeypatch.setattr(generation, "llm_configured", lambda: True)
    monkeypatch.setattr(generation, "flag_enabled", lambda name, cohort_id=None: True)
    monkeypatch.setattr(generation, "llm_complete", fake)
    return fake


def _generate(learner: Any, actor: Any, **options: Any) -> Nudge:
    return generation.nudge_generate(learner_id=learner.pk, channel="email", actor=actor, **options)


def test_the_llms_message_becomes_the_draft_with_its_prompt_and_call(
    llm: FakeLLM, user: Any
) -> None:
    learner = scored_learner()

    nudge = _generate(learner, user)

    assert (nudge.status, nudge.source, nudge.fallback_reason) == ("draft", "llm", "")
    assert (nudge.subject, nudge.body) == (GOOD_SUBJECT, GOOD_BODY)
    assert nudge.prompt == PromptTemplate.objects.get(key="reengage", locale="en", is_active=True)
    assert nudge.llm_call is not None and nudge.llm_call.outcome == "ok"
    assert nudge.created_by == user
    assert nudge.risk_snapshot["band"] == learner.risk_band
    assert "Ada" not in str(nudge.risk_snapshot)
    [request] = llm.requests
    assert request.prompt_id == nudge.prompt.pk
    assert "Learner's first name: Ada\n" in request.user
    assert "Lovelace" not in request.system + request.user
    assert learner.email not in request.user
    audit = AuditEvent.objects.get(action="nudge.generate")
    assert audit.target_id == str(nudge.pk)
    assert audit.changes == {
        "source": "llm",
        "channel": "email",
        "fallback_reason": "",
        "prompt_version": 1,
    }


def test_a_french_learner_gets_the_french_prompt(llm: FakeLLM, user: Any) -> None:
    nudge = _generate(scored_learner(locale="fr"), user)
    assert nudge.prompt is not None and nudge.prompt.locale == "fr"
    assert "Rédigez le message en français" in llm.requests[0].user


def test_without_a_key_the_template_says_no_key_and_the_llm_is_not_asked(
    llm: FakeLLM, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generation, "llm_configured", lambda: False)
    nudge = _generate(scored_learner(locale="fr"), user)
    assert (nudge.source, nudge.fallback_reason, nudge.llm_call) == ("template", "no_key", None)
    assert nudge.body.startswith("Bonjour Ada,")
    assert llm.requests == []


def test_a_stored_version_that_cannot_render_yields_the_template_and_a_stored_nudge(
    llm: FakeLLM, user: Any
) -> None:
    # Written directly (as before the sandbox refused nested specifications): generation and the
    # preview fall back instead of failing the request or a whole campaign.
    PromptTemplate.objects.filter(key="reengage", locale="en").update(is_active=False)
    PromptTemplate.objects.create(
        key="reengage",
        version=9,
        locale="en",
        system_text="Be kind.",
        user_text="Hi {first_name:{first_name}}",
        is_active=True,
    )
    learner = scored_learner()
    nudge = _generate(learner, user)
    assert (nudge.source, nudge.fallback_reason, nudge.status) == (
        "template",
        "prompt_refused",
        "draft",
    )
    assert llm.requests == []
    [done] = list(generation.nudge_preview(learner_id=learner.pk, actor=user))
    assert (done.kind, done.data["fallback_reason"]) == ("done", "prompt_refused")


def test_with_the_flag_off_for_the_cohort_the_template_says_flag_off(
    llm: FakeLLM, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    learner = scored_learner()
    asked: list[tuple[str, Any]] = []

    def flag(name: str, cohort_id: Any = None) -> bool:
        asked.append((name, cohort_id))
        return False

    monkeypatch.setattr(generation, "flag_enabled", flag)
    nudge = _generate(learner, user)
    assert (nudge.source, nudge.fallback_reason) == ("template", "flag_off")
    assert asked == [("nudges_llm_generation", learner.cohort_id)]
    assert llm.requests == []


def test_a_prompt_key_or_version_is_used_and_an_unknown_key_falls_back(
    llm: FakeLLM, user: Any
) -> None:
    learner = scored_learner()
    other = prompt_version_create(
        key="welcome",
        locale="en",
        system_text="S",
        user_text="First name {first_name}",
        actor=user,
        activate=True,
        model="gpt-4.1-mini",
        temperature=0.9,
        max_tokens=123,
    )
    assert _generate(learner, user, prompt_key="welcome").prompt == other
    request = llm.requests[-1]
    assert (request.user, request.model, request.temperature, request.max_tokens) == (
        "First name Ada",
        "gpt-4.1-mini",
        0.9,
        123,
    )
    assert _generate(learner, user, prompt=other).prompt == other
    missing = _generate(learner, user, prompt_key="nothing-here")
    assert (missing.source, missing.fallback_reason, missing.prompt) == (
        "template",
        "no_prompt",
        None,
    )
    assert len(llm.requests) == 2


def test_use_template_writes_the_template_without_asking_or_a_reason(
    llm: FakeLLM, user: Any
) -> None:
    nudge = _generate(scored_learner(), user, use_template=True)
    assert (nudge.source, nudge.fallback_reason) == ("template", "")
    assert llm.requests == []


def test_a_campaign_occurrence_makes_one_nudge_per_learner(llm: FakeLLM, user: Any) -> None:
    learner = scored_learner()
    campaign = Campaign.objects.create(name="Come back")

    first = _generate(learner, user, campaign=campaign, occurrence="2026-12-01")
    again = _generate(learner, user, campaign=campaign, occurrence="2026-12-01")
    next_day = _generate(learner, user, campaign=campaign, occurrence="2026-12-02")

    assert again == first
    assert next_day != first
    assert len(llm.requests) == 2


def test_an_occurrence_made_meanwhile_by_another_worker_is_returned(
    llm: FakeLLM, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    learner = scored_learner()
    campaign = Campaign.objects.create(name="Come back")
    made = _generate(learner, user, campaign=campaign, occurrence="")
    lookups = iter([None, made])  # not there when this worker looked, there when it wrote
    monkeypatch.setattr(generation, "_campaign_nudge", lambda *args: next(lookups))

    assert _generate(learner, user, campaign=campaign, occurrence="") == made
    assert Nudge.objects.count() == 1


def test_a_coach_writes_only_for_learners_of_their_cohorts(llm: FakeLLM) -> None:
    coach = UserFactory(role=Role.COACH)
    mine = scored_learner()
    CohortAssignmentFactory(user=coach, cohort=mine.cohort)
    theirs = scored_learner(cohort=CohortFactory())

    assert _generate(mine, coach).source == "llm"
    with pytest.raises(NotFound):
        _generate(theirs, coach)
    assert not Nudge.objects.filter(learner=theirs).exists()


def test_an_unscored_learner_gets_no_nudge(llm: FakeLLM, user: Any) -> None:
    learner = LearnerFactory()
    with pytest.raises(ValidationFailed) as refused:
        _generate(learner, user)
    assert list(refused.value.detail) == ["learner"]
    assert not Nudge.objects.exists()


def _streaming(monkeypatch: pytest.MonkeyPatch, *events: tuple[str, str]) -> None:
    def stream(request: LLMRequest) -> Iterator[StreamEvent]:
        assert request.purpose == "preview"
        for kind, text in events:
            yield StreamEvent(kind, text)

    monkeypatch.setattr(generation, "llm_stream", stream)


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ((("delta", '{"subj'), ("error", "timeout")), "timeout"),
        ((("error", "not_configured"),), "no_key"),
        ((("done", "not json"),), "invalid"),
        ((("done", '{"subject": "x"}'),), "invalid"),
    ],
)
def test_a_failed_preview_says_why_then_shows_the_template(
    llm: FakeLLM,
    user: Any,
    monkeypatch: pytest.MonkeyPatch,
    events: tuple[tuple[str, str], ...],
    reason: str,
) -> None:
    _streaming(monkeypatch, *events)
    shown = list(generation.nudge_preview(learner_id=scored_learner().pk, actor=user))
    assert [event.kind for event in shown][-2:] == ["error", "done"]
    assert shown[-2].data == {"reason": reason}
    assert (shown[-1].data["source"], shown[-1].data["fallback_reason"]) == ("template", reason)


def test_without_a_key_the_preview_is_the_template_at_once(
    llm: FakeLLM, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generation, "llm_configured", lambda: False)
    [done] = generation.nudge_preview(learner_id=scored_learner().pk, actor=user)
    assert (done.kind, done.data["source"], done.data["fallback_reason"]) == (
        "done",
        "template",
        "no_key",
    )
