"""The LLM client against the local OpenAI-compatible server: the real SDK over HTTP."""

import json
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from nudges.llm.calls import llm_cost
from nudges.llm.client import (
    NOT_CONFIGURED,
    InvalidReply,
    LLMFailure,
    LLMRequest,
    StreamEvent,
    llm_complete,
    llm_configured,
    llm_stream,
    parse_reply,
    retry_after_seconds,
    retry_delay,
)
from nudges.llm.fake_server import NORMAL_BODY, NORMAL_SUBJECT, FakeLLMServer, count_tokens
from nudges.models import LLMCall, LLMOutcome, PromptTemplate

pytestmark = pytest.mark.django_db

SYSTEM = "You write short, kind re-engagement messages."
USER = "First name: Ada. Cohort: Data 101. Days inactive: 9."


def _request(**changes: Any) -> LLMRequest:
    fields: dict[str, Any] = {
        "prompt_id": None,
        "model": "gpt-4o-mini",
        "system": SYSTEM,
        "user": USER,
        "temperature": 0.4,
        "max_tokens": 400,
    }
    return LLMRequest(**{**fields, **changes})


def _answer_tokens() -> int:
    return count_tokens(json.dumps({"subject": NORMAL_SUBJECT, "body": NORMAL_BODY}))


def test_a_completion_is_validated_recorded_and_costed(fake_llm: FakeLLMServer) -> None:
    reply = llm_complete(_request())

    assert (reply.subject, reply.body) == (NORMAL_SUBJECT, NORMAL_BODY)
    call = LLMCall.objects.get()
    assert call == reply.call
    tokens_in, tokens_out = count_tokens(SYSTEM + USER), _answer_tokens()
    assert (call.tokens_in, call.tokens_out) == (tokens_in, tokens_out)
    assert call.cost == llm_cost("gpt-4o-mini", tokens_in, tokens_out) > 0
    assert (call.outcome, call.attempts, call.cache_hit, call.error_class) == ("ok", 1, False, "")
    assert call.purpose == "nudge"
    sent = fake_llm.requests[0]["json"]
    assert sent["response_format"]["json_schema"]["schema"]["required"] == ["subject", "body"]
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert (sent["model"], sent["max_tokens"], sent["temperature"]) == ("gpt-4o-mini", 400, 0.4)


def test_cost_is_decimal_from_the_price_table(settings: Any) -> None:
    assert llm_cost("gpt-4o-mini", 1000, 500) == Decimal("0.000450")
    assert llm_cost("gpt-4o", 1_000_000, 1_000_000) == Decimal("12.500000")
    assert llm_cost("some-local-model", 1000, 1000) == Decimal(0)
    settings.LLM_PRICES = {"some-local-model": (Decimal("1"), Decimal("2"))}
    assert llm_cost("some-local-model", 1000, 1000) == Decimal("0.003000")


def test_a_cache_hit_makes_no_second_call(fake_llm: FakeLLMServer) -> None:
    first = llm_complete(_request())
    second = llm_complete(_request())

    assert len(fake_llm.requests) == 1
    assert (second.subject, second.body) == (first.subject, first.body)
    assert second.call.cache_hit and second.call.outcome == "ok"
    assert (second.call.tokens_in, second.call.tokens_out, second.call.cost) == (0, 0, 0)


def test_the_cache_key_holds_model_prompt_version_and_messages(fake_llm: FakeLLMServer) -> None:
    prompt = PromptTemplate.objects.create(
        key="checkin", version=1, system_text=SYSTEM, user_text=USER
    )
    llm_complete(_request())
    llm_complete(_request(model="gpt-4o"))
    llm_complete(_request(prompt_id=prompt.pk))
    llm_complete(_request(user=USER + " Progress: 40%."))
    llm_complete(_request(prompt_id=prompt.pk))

    assert len(fake_llm.requests) == 4
    assert LLMCall.objects.filter(prompt=prompt, cache_hit=True).count() == 1


def test_retries_wait_what_retry_after_says(fake_llm: FakeLLMServer) -> None:
    """The server's wait (a fraction of a second here), not the far shorter back-off."""
    fake_llm.configure(script=["rate_limited", "rate_limited"], retry_after="0.2")

    reply = llm_complete(_request())

    first, second, third = (request["at"] for request in fake_llm.requests)
    assert second - first >= 0.2 and third - second >= 0.2
    assert (reply.call.outcome, reply.call.attempts) == ("ok", 3)


def test_a_retry_after_longer_than_the_maximum_fails_at_once(
    fake_llm: FakeLLMServer, settings: Any
) -> None:
    settings.LLM_RETRY_MAX_SECONDS = 2.0
    fake_llm.configure(mode="rate_limited", retry_after="120")

    with pytest.raises(LLMFailure) as failure:
        llm_complete(_request())

    assert failure.value.reason == "rate_limited"
    assert len(fake_llm.requests) == 1
    call = failure.value.call
    assert call is not None
    assert (call.outcome, call.attempts, call.error_class) == ("rate_limited", 1, "RateLimitError")


def test_server_errors_are_retried_until_the_retries_are_spent(
    fake_llm: FakeLLMServer, settings: Any
) -> None:
    settings.LLM_MAX_RETRIES = 2
    fake_llm.configure(mode="server_error")

    with pytest.raises(LLMFailure) as failure:
        llm_complete(_request())

    assert failure.value.reason == "server_error"
    assert len(fake_llm.requests) == 3
    call = LLMCall.objects.get()
    assert (call.outcome, call.attempts, call.error_class) == (
        "server_error",
        3,
        "InternalServerError",
    )
    assert (call.tokens_in, call.tokens_out, call.cost) == (0, 0, 0)


def test_a_server_error_then_an_answer_succeeds(fake_llm: FakeLLMServer) -> None:
    fake_llm.configure(script=["server_error"])

    assert llm_complete(_request()).call.attempts == 2


def test_a_slow_server_times_out(fake_llm: FakeLLMServer, settings: Any) -> None:
    settings.OPENAI_TIMEOUT = 0.2
    settings.LLM_MAX_RETRIES = 1
    fake_llm.configure(mode="slow", slow_seconds=1.0)

    with pytest.raises(LLMFailure) as failure:
        llm_complete(_request())

    assert failure.value.reason == "timeout"
    assert len(fake_llm.requests) == 2
    assert LLMCall.objects.get().error_class == "APITimeoutError"


@pytest.mark.parametrize("mode", ["malformed", "garbage"])
def test_an_answer_that_is_not_the_json_asked_for_is_invalid_and_not_cached(
    fake_llm: FakeLLMServer, mode: str
) -> None:
    fake_llm.configure(mode=mode)

    for _ in range(2):
        with pytest.raises(LLMFailure) as failure:
            llm_complete(_request())
        assert failure.value.reason == "invalid"

    assert len(fake_llm.requests) == 2, "not retried, and not cached"
    assert set(LLMCall.objects.values_list("outcome", flat=True)) == {"invalid"}


def test_an_invalid_answer_still_costs_its_tokens(fake_llm: FakeLLMServer) -> None:
    fake_llm.configure(mode="malformed")

    with pytest.raises(LLMFailure):
        llm_complete(_request())

    call = LLMCall.objects.get()
    assert call.tokens_out > 0 and call.cost > 0


def test_without_a_key_nothing_is_asked(fake_llm: FakeLLMServer, settings: Any) -> None:
    settings.OPENAI_API_KEY = ""

    assert not llm_configured()
    with pytest.raises(LLMFailure) as failure:
        llm_complete(_request())

    assert (failure.value.reason, failure.value.call) == (NOT_CONFIGURED, None)
    assert list(llm_stream(_request())) == [StreamEvent("error", NOT_CONFIGURED)]
    assert fake_llm.requests == [] and not LLMCall.objects.exists()


def test_a_server_that_cannot_be_reached_fails_as_an_error(settings: Any) -> None:
    settings.OPENAI_API_KEY = "local-test-key"
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    settings.LLM_MAX_RETRIES = 1
    settings.LLM_RETRY_BASE_SECONDS = 0.01

    with pytest.raises(LLMFailure) as failure:
        llm_complete(_request())

    assert failure.value.reason == "error"
    assert LLMCall.objects.get().error_class == "APIConnectionError"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"subject": " Hi ", "body": " Come back "}', ("Hi", "Come back")),
        ('```json\n{"subject": "Hi", "body": "Come back"}\n```', ("Hi", "Come back")),
    ],
)
def test_parse_reply_accepts_the_structured_answer(content: str, expected: tuple) -> None:
    assert parse_reply(content) == expected


@pytest.mark.parametrize(
    "content",
    [None, "", "Hi!", "[1]", '{"subject": "Hi"}', '{"subject": "", "body": "x"}', '{"body": 3}'],
)
def test_parse_reply_refuses_anything_else(content: str | None) -> None:
    with pytest.raises(InvalidReply):
        parse_reply(content)


def test_retry_delay_backs_off_exponentially_with_jitter() -> None:
    delays = [retry_delay(n, None, base=0.5, maximum=3.0, rng=lambda: 1.0) for n in range(4)]
    assert delays == [0.5, 1.0, 2.0, 3.0]
    assert retry_delay(1, None, base=0.5, maximum=3.0, rng=lambda: 0.0) == 0.5
    assert retry_delay(0, 2.5, base=0.5, maximum=3.0) == 2.5
    assert retry_delay(0, 30.0, base=0.5, maximum=3.0) is None


def test_retry_after_is_read_in_every_form() -> None:
    assert retry_after_seconds(httpx2.Headers({"Retry-After": "7"})) == 7.0
    assert retry_after_seconds(httpx2.Headers({"retry-after-ms": "250"})) == 0.25
    assert retry_after_seconds(httpx2.Headers({"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx2.Headers({})) is None
    past = retry_after_seconds(httpx2.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert past == 0.0


def _stream(request: LLMRequest) -> tuple[list[str], StreamEvent]:
    events = list(llm_stream(request))
    *deltas, last = events
    assert all(event.kind == "delta" for event in deltas)
    return [event.text for event in deltas], last


def test_streaming_yields_the_text_as_written_then_the_validated_answer(
    fake_llm: FakeLLMServer,
) -> None:
    deltas, last = _stream(_request(purpose="preview"))

    answer = json.dumps({"subject": NORMAL_SUBJECT, "body": NORMAL_BODY})
    assert len(deltas) > 1 and "".join(deltas) == answer
    assert last.kind == "done"
    assert json.loads(last.text) == {"subject": NORMAL_SUBJECT, "body": NORMAL_BODY}
    call = LLMCall.objects.get()
    assert (call.purpose, call.outcome, call.tokens_out) == ("preview", "ok", _answer_tokens())
    assert call.cost > 0
    assert fake_llm.requests[0]["json"]["stream"] is True


def test_a_streamed_answer_is_cached_for_the_next_request(fake_llm: FakeLLMServer) -> None:
    _stream(_request())

    reply = llm_complete(_request())
    deltas, last = _stream(_request())

    assert len(fake_llm.requests) == 1
    assert reply.call.cache_hit and last.kind == "done" and len(deltas) == 1


def test_streaming_retries_before_the_first_chunk(fake_llm: FakeLLMServer) -> None:
    fake_llm.configure(script=["server_error"])

    _, last = _stream(_request())

    assert last.kind == "done"
    assert LLMCall.objects.get().attempts == 2


@pytest.mark.parametrize(
    ("mode", "reason"), [("malformed", "invalid"), ("server_error", "server_error")]
)
def test_streaming_ends_with_an_error_event_on_a_fault(
    fake_llm: FakeLLMServer, settings: Any, mode: str, reason: str
) -> None:
    settings.LLM_MAX_RETRIES = 0
    fake_llm.configure(mode=mode)

    _, last = _stream(_request())

    assert last == StreamEvent("error", reason)
    assert LLMCall.objects.get().outcome == reason


def test_a_stream_its_reader_abandons_is_still_recorded(fake_llm: FakeLLMServer) -> None:
    events = llm_stream(_request())
    assert next(events).kind == "delta"
    events.close()

    call = LLMCall.objects.get()
    assert (call.outcome, call.error_class) == (LLMOutcome.ERROR, "StreamClosedByReader")


def test_a_request_without_a_model_uses_openai_model(
    fake_llm: FakeLLMServer, settings: Any
) -> None:
    settings.OPENAI_MODEL = "gpt-4.1-mini"

    reply = llm_complete(_request(model=""))

    assert fake_llm.requests[0]["json"]["model"] == "gpt-4.1-mini"
    assert reply.call.model == "gpt-4.1-mini" and reply.call.cost > 0
