"""Generation end to end: ``nudge_generate``, the nudge API and the SSE preview with the real
``openai`` SDK talking over HTTP to the local OpenAI-compatible server (``fake_llm``), nothing
patched. Each guardrail with a message that breaks it, the fallback on each fault, the cache and
the cost, and streaming (issue 13, "Tests that must exist")."""

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from nudges.generation import nudge_generate
from nudges.guardrails import RULES
from nudges.llm.calls import llm_cost
from nudges.llm.fake_server import (
    GUARDRAIL_MODES,
    NORMAL_BODY,
    NORMAL_SUBJECT,
    TOO_EARLY,
    FakeLLMServer,
    count_tokens,
)
from nudges.models import LLMCall, Nudge, PromptTemplate
from tests.nudges.generation_factories import scored_learner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rules_model")]

#: The fake server's mode whose answer breaks each guardrail rule.
BREAKS: dict[str, str] = {
    "length": "too_long",
    "email": "pii_email",
    "phone": "pii_phone",
    "other_name": "other_name",
    "link": "link",
    "number": "number",
    "tone": "shaming",
}


@pytest.fixture
def fast(fake_llm: FakeLLMServer, settings: Any) -> FakeLLMServer:
    """The local server with short waits: one retry, a 0.2 s timeout, 10 ms back-off."""
    settings.LLM_MAX_RETRIES = 1
    settings.OPENAI_TIMEOUT = 0.2
    settings.LLM_RETRY_BASE_SECONDS = 0.01
    settings.LLM_RETRY_MAX_SECONDS = 1.0
    return fake_llm


def _generate(learner: Any, actor: Any) -> Nudge:
    return nudge_generate(learner_id=learner.pk, channel="email", actor=actor)


def _rejected(mode: str) -> str:
    subject, body = GUARDRAIL_MODES[mode]
    return f"{subject.strip()}\n\n{body.strip()}"


def test_every_guardrail_has_a_mode_that_breaks_it() -> None:
    assert set(BREAKS) == set(RULES)
    assert set(BREAKS.values()) == set(GUARDRAIL_MODES)


def test_the_llms_message_is_the_draft_with_its_prompt_tokens_and_cost(
    fast: FakeLLMServer, user: Any
) -> None:
    nudge = _generate(scored_learner(), user)

    assert (nudge.status, nudge.source, nudge.fallback_reason) == ("draft", "llm", "")
    assert (nudge.subject, nudge.body) == (NORMAL_SUBJECT, NORMAL_BODY)
    assert (nudge.rejected_text, nudge.guardrail_failures) == ("", [])
    assert nudge.prompt == PromptTemplate.objects.get(key="reengage", locale="en", is_active=True)
    [asked] = fast.requests
    sent = asked["json"]
    assert sent["model"] == "gpt-4o-mini"
    assert "Learner's first name: Ada\n" in sent["messages"][1]["content"]
    call = LLMCall.objects.get()
    assert nudge.llm_call == call
    assert (call.outcome, call.cache_hit, call.attempts, call.prompt) == (
        "ok",
        False,
        1,
        nudge.prompt,
    )
    prompt_text = "".join(message["content"] for message in sent["messages"])
    answer = json.dumps({"subject": NORMAL_SUBJECT, "body": NORMAL_BODY})
    assert (call.tokens_in, call.tokens_out) == (count_tokens(prompt_text), count_tokens(answer))
    assert call.cost == llm_cost("gpt-4o-mini", call.tokens_in, call.tokens_out) > 0


def test_a_second_identical_request_is_a_cache_hit_without_a_second_http_request(
    fast: FakeLLMServer, user: Any
) -> None:
    learner = scored_learner()

    first = _generate(learner, user)
    second = _generate(learner, user)

    assert len(fast.requests) == 1
    assert second.pk != first.pk
    assert (second.source, second.subject, second.body) == ("llm", first.subject, first.body)
    assert second.llm_call is not None and second.llm_call.cache_hit
    assert (second.llm_call.tokens_in, second.llm_call.tokens_out, second.llm_call.cost) == (
        0,
        0,
        0,
    )


@pytest.mark.parametrize("rule", RULES)
def test_a_message_breaking_a_guardrail_yields_the_template_keeping_it_for_review(
    fast: FakeLLMServer, user: Any, rule: str
) -> None:
    mode = BREAKS[rule]
    fast.configure(mode=mode)

    nudge = _generate(scored_learner(), user)

    assert (nudge.status, nudge.source, nudge.fallback_reason) == (
        "draft",
        "template",
        f"guardrail:{rule}",
    )
    assert nudge.guardrail_failures == [rule]
    assert nudge.rejected_text == _rejected(mode)
    subject, body = GUARDRAIL_MODES[mode]
    assert nudge.body.startswith("Hi Ada,")
    assert body.strip() not in nudge.body and subject.strip() != nudge.subject
    assert len(fast.requests) == 1
    call = LLMCall.objects.get()
    assert nudge.llm_call == call
    assert (call.outcome, call.cache_hit) == ("ok", False) and call.tokens_out > 0


def test_the_api_answers_a_rejected_message_with_the_template_never_the_rejected_text(
    fast: FakeLLMServer, auth_client: APIClient
) -> None:
    fast.configure(mode="pii_email")
    learner = scored_learner()

    response = auth_client.post(
        f"/api/v1/learners/{learner.pk}/nudges/", {"channel": "email"}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["source"], body["fallback_reason"], body["guardrail_failures"]) == (
        "template",
        "guardrail:email",
        ["email"],
    )
    assert (body["status"], body["prompt_version"]) == ("draft", 1)
    assert "jordan.miller@example.com" not in response.content.decode()
    nudge = Nudge.objects.get(pk=body["id"])
    assert nudge.rejected_text == _rejected("pii_email")
    assert nudge.llm_call is not None and nudge.llm_call.outcome == "ok"


@pytest.mark.parametrize(
    ("configure", "reason", "error_class", "requests"),
    [
        ({"mode": "slow", "slow_seconds": 1.0}, "timeout", "APITimeoutError", 2),
        ({"mode": "rate_limited", "retry_after": "0.01"}, "rate_limited", "RateLimitError", 2),
        ({"mode": "server_error"}, "server_error", "InternalServerError", 2),
        ({"mode": "malformed"}, "invalid", "InvalidReply", 1),
        ({"mode": "garbage"}, "invalid", "JSONDecodeError", 1),
    ],
)
def test_each_fault_yields_the_template_with_the_reason_and_the_call_recorded(
    fast: FakeLLMServer,
    user: Any,
    configure: dict[str, Any],
    reason: str,
    error_class: str,
    requests: int,
) -> None:
    fast.configure(**configure)

    nudge = _generate(scored_learner(), user)

    assert (nudge.status, nudge.source, nudge.fallback_reason) == ("draft", "template", reason)
    assert nudge.body.startswith("Hi Ada,")
    assert (nudge.rejected_text, nudge.guardrail_failures) == ("", [])
    assert nudge.prompt is not None and nudge.prompt.version == 1
    assert len(fast.requests) == requests, "retried only what is worth retrying"
    call = LLMCall.objects.get()
    assert nudge.llm_call == call
    assert (call.outcome, call.error_class, call.attempts) == (reason, error_class, requests)


def test_a_429_is_retried_after_its_retry_after_and_the_answer_used(
    fast: FakeLLMServer, user: Any
) -> None:
    # The server refuses a request that comes back before its Retry-After is over (``too_early``):
    # with a 10 ms back-off, only a client waiting the 0.2 s asked gets the answer.
    fast.configure(script=["rate_limited"], retry_after="0.2", enforce_retry_after=True)

    nudge = _generate(scored_learner(), user)

    assert [request["mode"] for request in fast.requests] == ["rate_limited", "normal"]
    assert TOO_EARLY not in {request["mode"] for request in fast.requests}
    assert (nudge.source, nudge.fallback_reason, nudge.body) == ("llm", "", NORMAL_BODY)
    assert nudge.llm_call is not None
    assert (nudge.llm_call.outcome, nudge.llm_call.attempts) == ("ok", 2)


def test_an_unreachable_server_yields_the_template_saying_error(user: Any, settings: Any) -> None:
    settings.OPENAI_API_KEY = "local-test-key"
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    settings.LLM_MAX_RETRIES = 0

    nudge = _generate(scored_learner(), user)

    assert (nudge.source, nudge.fallback_reason) == ("template", "error")
    assert nudge.llm_call is not None and nudge.llm_call.error_class == "APIConnectionError"


def test_an_open_circuit_yields_the_template_without_asking_the_server(
    fast: FakeLLMServer, user: Any, settings: Any
) -> None:
    settings.LLM_CIRCUIT_FAILURES = 1
    settings.LLM_MAX_RETRIES = 0
    fast.configure(script=["server_error"])
    learner = scored_learner()

    failed = _generate(learner, user)
    skipped = _generate(learner, user)

    assert (failed.fallback_reason, skipped.fallback_reason) == ("server_error", "circuit_open")
    assert len(fast.requests) == 1
    assert skipped.llm_call is not None and skipped.llm_call.outcome == "circuit_open"


def test_without_a_key_the_template_says_no_key_and_nothing_is_asked(
    fast: FakeLLMServer, user: Any, settings: Any
) -> None:
    settings.OPENAI_API_KEY = ""

    nudge = _generate(scored_learner(), user)

    assert (nudge.source, nudge.fallback_reason, nudge.llm_call) == ("template", "no_key", None)
    assert fast.requests == [] and not LLMCall.objects.exists()


# The SSE preview -------------------------------------------------------------------------------


def _events(client: APIClient, learner: Any) -> list[tuple[str, Any]]:
    response = client.get(
        "/api/v1/nudges/stream/", {"learner": str(learner.pk)}, HTTP_ACCEPT="text/event-stream"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    events = []
    for chunk in response.streaming_content:
        for block in chunk.decode().strip().split("\n\n"):
            kind, data = block.split("\n")
            events.append((kind.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def test_the_preview_streams_the_answer_as_written_then_the_checked_message(
    fast: FakeLLMServer, auth_client: APIClient
) -> None:
    events = _events(auth_client, scored_learner())

    *deltas, (last, done) = events
    assert len(deltas) > 1 and {kind for kind, _ in deltas} == {"delta"}
    answer = json.dumps({"subject": NORMAL_SUBJECT, "body": NORMAL_BODY})
    assert "".join(data["text"] for _, data in deltas) == answer
    assert last == "done"
    assert (done["source"], done["fallback_reason"], done["prompt_version"]) == ("llm", "", 1)
    assert (done["subject"], done["body"]) == (NORMAL_SUBJECT, NORMAL_BODY)
    assert fast.requests[0]["json"]["stream"] is True
    assert not Nudge.objects.exists()
    call = LLMCall.objects.get()
    assert (call.purpose, call.outcome) == ("preview", "ok") and call.tokens_out > 0


def test_the_preview_of_a_message_breaking_a_guardrail_ends_with_the_template(
    fast: FakeLLMServer, auth_client: APIClient
) -> None:
    fast.configure(mode="shaming")

    *deltas, (last, done) = _events(auth_client, scored_learner())

    assert deltas and {kind for kind, _ in deltas} == {"delta"}
    assert "lazy" in "".join(data["text"] for _, data in deltas)
    assert last == "done"
    assert (done["source"], done["fallback_reason"], done["guardrail_failures"]) == (
        "template",
        "guardrail:tone",
        ["tone"],
    )
    assert done["body"].startswith("Hi Ada,") and "lazy" not in done["body"]
    assert not Nudge.objects.exists()


@pytest.mark.parametrize(
    ("configure", "reason", "requests"),
    [
        ({"mode": "slow", "slow_seconds": 1.0}, "timeout", 2),
        ({"mode": "rate_limited", "retry_after": "0.01"}, "rate_limited", 2),
        ({"mode": "server_error"}, "server_error", 2),
        ({"mode": "malformed"}, "invalid", 1),
        ({"mode": "garbage"}, "invalid", 1),
    ],
)
def test_a_preview_failing_on_the_server_says_why_then_shows_the_template(
    fast: FakeLLMServer,
    auth_client: APIClient,
    configure: dict[str, Any],
    reason: str,
    requests: int,
) -> None:
    fast.configure(**configure)

    *_, (error, why), (last, done) = _events(auth_client, scored_learner())

    assert (error, why, last) == ("error", {"reason": reason}, "done")
    assert (done["source"], done["fallback_reason"]) == ("template", reason)
    assert done["body"].startswith("Hi Ada,")
    assert len(fast.requests) == requests
    assert LLMCall.objects.get().outcome == reason
