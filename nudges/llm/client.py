"""The LLM client: chat completions through the official ``openai`` SDK, made dependable.

Any OpenAI-compatible server will do (``OPENAI_BASE_URL``); no ``OPENAI_API_KEY`` means no LLM
and the template path. Around the SDK (its own retries off, so every attempt is ours and
recorded):

- retries on 429, 5xx, timeouts and lost connections, with exponential back-off and jitter,
  waiting what ``Retry-After`` says when the server says it (``retry_delay``);
- a circuit breaker shared by every process through the cache (``nudges.llm.circuit``);
- a response cache (``LLM_CACHE_SECONDS``, 24 h) keyed by model, prompt version and the rendered
  messages, so the same request never costs twice;
- structured output ``{"subject", "body"}`` asked for by JSON schema and validated here,
  whatever the server did with the schema;
- streaming, for the dashboard's preview;
- one ``LLMCall`` per request (retries included) with tokens, Decimal cost, latency, cache
  hit, outcome and error class (``nudges.llm.calls``).

Only what the caller rendered into the request reaches the provider; nothing here logs it.
"""

import functools
import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx2
from django.conf import settings
from django.core.cache import cache

from nudges.llm.calls import llm_call_record
from nudges.llm.circuit import circuit_failure, circuit_open, circuit_success
from nudges.models import LLMCall, LLMOutcome

if TYPE_CHECKING:
    import openai

T = TypeVar("T")

NOT_CONFIGURED = "not_configured"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
CACHE_KEY_PREFIX = "nudges:llm:reply:"

#: Structured output: a JSON object with exactly a subject and a body.
RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "nudge",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"subject": {"type": "string"}, "body": {"type": "string"}},
            "required": ["subject", "body"],
            "additionalProperties": False,
        },
    },
}

#: Outcomes that say the provider is unwell: they count towards opening the circuit.
CIRCUIT_OUTCOMES = frozenset(
    {LLMOutcome.TIMEOUT, LLMOutcome.RATE_LIMITED, LLMOutcome.SERVER_ERROR, LLMOutcome.ERROR}
)

#: What a call may raise: the SDK's errors, the transport's mid-stream, a body that is not JSON.


def _openai() -> ModuleType:
    """The SDK, imported when first used: its import takes about a second, which every process
    (a command, a worker, the web server) would otherwise pay at start whether it asks the LLM
    or not."""
    import openai

    return openai


def _call_errors() -> tuple[type[BaseException], ...]:
    """What a call may raise that ends as a recorded failure (or a retry)."""
    return (_openai().OpenAIError, httpx2.HTTPError, ValueError)


@dataclass(frozen=True, slots=True)
class LLMRequest:
    """One chat completion asked for structured output ``{"subject", "body"}``."""

    prompt_id: uuid.UUID | None
    model: str
    system: str
    user: str
    temperature: float
    max_tokens: int
    purpose: str = "nudge"


@dataclass(frozen=True, slots=True)
class LLMReply:
    subject: str
    body: str
    call: LLMCall


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """``delta`` (text so far grows by ``text``), ``done`` (``text`` is the final body JSON
    validated) or ``error`` (``text`` is the reason)."""

    kind: str
    text: str


class LLMFailure(Exception):
    """No usable answer: ``reason`` is an ``LLMOutcome`` value or ``not_configured``; ``call``
    the recorded call (none when the LLM was not asked)."""

    def __init__(self, reason: str, call: LLMCall | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.call = call


class InvalidReply(ValueError):
    """The answer is not the ``{"subject", "body"}`` object asked for."""


class _AttemptsFailed(Exception):
    """The last attempt's fault, once retrying is over."""

    def __init__(self, outcome: str, error: BaseException, attempts: int) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.error_class = type(error).__name__
        self.attempts = attempts


def llm_configured() -> bool:
    """Whether an API key is set: without one, nudges come from the templates."""
    return bool(settings.OPENAI_API_KEY)


def llm_complete(request: LLMRequest) -> LLMReply:
    """The validated subject and body for the request, from the cache or the LLM; raises
    ``LLMFailure`` (with the recorded call) when there is no usable answer."""
    request = _with_model(request)
    cached = _cached_or_refused(request)
    if cached is not None:
        return cached
    started = time.monotonic()
    try:
        completion, attempts = _with_retries(
            lambda: _sdk_client().chat.completions.create(**_create_params(request))
        )
    except _AttemptsFailed as failed:
        raise _failure(request, failed, started) from failed
    usage = completion.usage
    content = completion.choices[0].message.content if completion.choices else None
    return _accept(
        request,
        content,
        tokens_in=usage.prompt_tokens if usage else 0,
        tokens_out=usage.completion_tokens if usage else 0,
        latency_ms=_elapsed_ms(started),
        attempts=attempts,
    )


def llm_stream(request: LLMRequest) -> Iterator[StreamEvent]:
    """The answer as it is written (``delta`` events), then ``done`` with the validated
    ``{"subject", "body"}`` JSON, or ``error`` with the reason; never raises for an LLM fault."""
    request = _with_model(request)
    try:
        cached = _cached_or_refused(request)
        if cached is not None:
            text = json.dumps({"subject": cached.subject, "body": cached.body})
            yield StreamEvent("delta", text)
            yield StreamEvent("done", text)
            return
        started = time.monotonic()
        params = {**_create_params(request), "stream": True}
        params["stream_options"] = {"include_usage": True}
        try:
            stream, attempts = _with_retries(
                lambda: _sdk_client().chat.completions.create(**params)
            )
            content, tokens_in, tokens_out = yield from _read_stream(
                request, stream, attempts, started
            )
        except _AttemptsFailed as failed:
            raise _failure(request, failed, started) from failed
        reply = _accept(
            request,
            content,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_ms=_elapsed_ms(started),
            attempts=attempts,
        )
    except LLMFailure as failure:
        yield StreamEvent("error", failure.reason)
        return
    yield StreamEvent("done", json.dumps({"subject": reply.subject, "body": reply.body}))


def _with_model(request: LLMRequest) -> LLMRequest:
    """A request without a model (its prompt names none) is for ``OPENAI_MODEL``."""
    return request if request.model else replace(request, model=str(settings.OPENAI_MODEL))


def _cached_or_refused(request: LLMRequest) -> LLMReply | None:
    """The cached answer (recorded as a cache hit), or ``None`` when the LLM is to be asked;
    ``LLMFailure`` when it may not be: no key, or the circuit open (recorded)."""
    if not llm_configured():
        raise LLMFailure(NOT_CONFIGURED)
    cached = cache.get(response_cache_key(request))
    if cached is not None:
        call = _record(request, LLMOutcome.OK, cache_hit=True)
        return LLMReply(subject=cached["subject"], body=cached["body"], call=call)
    if circuit_open():
        raise LLMFailure(LLMOutcome.CIRCUIT_OPEN, _record(request, LLMOutcome.CIRCUIT_OPEN))
    return None


def _read_stream(
    request: LLMRequest, stream: "openai.Stream[Any]", attempts: int, started: float
) -> Generator[StreamEvent, None, tuple[str, int, int]]:
    """Relay the content as it comes; return it whole with the tokens the server counted. A
    reader that stops listening still leaves the call recorded."""
    parts: list[str] = []
    tokens_in = tokens_out = 0
    try:
        with stream:
            for chunk in stream:
                if chunk.usage is not None:
                    tokens_in, tokens_out = chunk.usage.prompt_tokens, chunk.usage.completion_tokens
                for choice in chunk.choices:
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                        yield StreamEvent("delta", choice.delta.content)
    except _call_errors() as error:
        raise _AttemptsFailed(_outcome_of(error), error, attempts) from error
    except GeneratorExit:
        _record(
            request,
            LLMOutcome.ERROR,
            error_class="StreamClosedByReader",
            latency_ms=_elapsed_ms(started),
            attempts=attempts,
        )
        raise
    return "".join(parts), tokens_in, tokens_out


def _accept(request: LLMRequest, content: str | None, **spent: int) -> LLMReply:
    """The server answered: close the circuit, validate the answer, cache and record it."""
    circuit_success()
    try:
        subject, body = parse_reply(content)
    except InvalidReply as error:
        call = _record(request, LLMOutcome.INVALID, error_class=type(error).__name__, **spent)
        raise LLMFailure(LLMOutcome.INVALID, call) from error
    answer = {"subject": subject, "body": body}
    cache.set(response_cache_key(request), answer, timeout=settings.LLM_CACHE_SECONDS)
    return LLMReply(subject=subject, body=body, call=_record(request, LLMOutcome.OK, **spent))


def parse_reply(content: str | None) -> tuple[str, str]:
    """The subject and body of a structured answer, stripped; ``InvalidReply`` unless it is a
    JSON object with both as non-empty strings (a Markdown code fence around it is tolerated:
    servers that ignore the schema often add one)."""
    text = (content or "").strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InvalidReply("the answer is not JSON") from error
    if not isinstance(data, dict):
        raise InvalidReply("the answer is not a JSON object")
    subject, body = data.get("subject"), data.get("body")
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidReply("the answer has no subject")
    if not isinstance(body, str) or not body.strip():
        raise InvalidReply("the answer has no body")
    return subject.strip(), body.strip()


def response_cache_key(request: LLMRequest) -> str:
    """The response cache's key: model, prompt version and the rendered messages (with the
    sampling settings, for requests made without a stored prompt)."""
    material = json.dumps(
        [
            request.model,
            str(request.prompt_id or ""),
            request.system,
            request.user,
            request.temperature,
            request.max_tokens,
        ]
    )
    return CACHE_KEY_PREFIX + hashlib.sha256(material.encode()).hexdigest()


def retry_delay(
    retry: int,
    retry_after: float | None,
    *,
    base: float,
    maximum: float,
    rng: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before retry number ``retry`` (from 0): the server's ``Retry-After``
    when it gave one (``None``, do not retry, when that is longer than ``maximum``), else
    ``base * 2**retry`` capped at ``maximum``, jittered to between half and all of it so
    workers that failed together do not come back together."""
    if retry_after is not None:
        return retry_after if retry_after <= maximum else None
    backoff = min(maximum, base * 2**retry)
    return backoff * (0.5 + rng() / 2)


def retry_after_seconds(headers: httpx2.Headers) -> float | None:
    """The wait a response asks for: ``retry-after-ms``, or ``Retry-After`` in seconds or as
    an HTTP date; ``None`` when absent or unreadable."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / divisor)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _with_retries(operation: Callable[[], T]) -> tuple[T, int]:
    """The operation's result and how many attempts it took; ``_AttemptsFailed`` with the last
    fault when it is not worth retrying or the retries (``LLM_MAX_RETRIES``) are spent."""
    max_retries = int(settings.LLM_MAX_RETRIES)
    attempt = 0
    while True:
        attempt += 1
        try:
            return operation(), attempt
        except _call_errors() as error:
            outcome = _outcome_of(error)
            failed = _AttemptsFailed(outcome, error, attempt)
            if not _retryable(error) or attempt > max_retries:
                raise failed from error
            response = getattr(error, "response", None)
            delay = retry_delay(
                attempt - 1,
                retry_after_seconds(response.headers) if response is not None else None,
                base=float(settings.LLM_RETRY_BASE_SECONDS),
                maximum=float(settings.LLM_RETRY_MAX_SECONDS),
            )
            if delay is None:
                raise failed from error
            time.sleep(delay)


def _outcome_of(error: BaseException) -> str:
    sdk = _openai()
    if isinstance(error, sdk.APITimeoutError | httpx2.TimeoutException):
        return LLMOutcome.TIMEOUT
    if isinstance(error, sdk.RateLimitError):
        return LLMOutcome.RATE_LIMITED
    if isinstance(error, sdk.APIStatusError) and error.status_code >= 500:
        return LLMOutcome.SERVER_ERROR
    if isinstance(error, sdk.APIResponseValidationError) or (
        isinstance(error, ValueError) and not isinstance(error, sdk.OpenAIError)
    ):
        return LLMOutcome.INVALID
    return LLMOutcome.ERROR


def _retryable(error: BaseException) -> bool:
    """Timeouts, lost connections, 408, 409 (a lock), 429 and 5xx: worth asking again."""
    sdk = _openai()
    if isinstance(error, sdk.APIStatusError):
        return error.status_code in (408, 409, 429) or error.status_code >= 500
    return isinstance(error, sdk.APIConnectionError)


def _failure(request: LLMRequest, failed: _AttemptsFailed, started: float) -> LLMFailure:
    """Record a call that ended in a fault, count it against the circuit, and say why."""
    if failed.outcome in CIRCUIT_OUTCOMES:
        circuit_failure()
    call = _record(
        request,
        failed.outcome,
        error_class=failed.error_class,
        latency_ms=_elapsed_ms(started),
        attempts=failed.attempts,
    )
    return LLMFailure(failed.outcome, call)


def _record(request: LLMRequest, outcome: str, **fields: Any) -> LLMCall:
    return llm_call_record(
        prompt_id=request.prompt_id,
        model=request.model,
        purpose=request.purpose,
        outcome=outcome,
        **fields,
    )


def _create_params(request: LLMRequest) -> dict[str, Any]:
    return {
        "model": request.model,
        "messages": [
            {"role": "system", "content": request.system},
            {"role": "user", "content": request.user},
        ],
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "response_format": RESPONSE_FORMAT,
    }


def _sdk_client() -> "openai.OpenAI":
    return _sdk_client_for(
        str(settings.OPENAI_API_KEY),
        str(settings.OPENAI_BASE_URL) or DEFAULT_BASE_URL,
        float(settings.OPENAI_TIMEOUT),
    )


@functools.lru_cache(maxsize=8)
def _sdk_client_for(api_key: str, base_url: str, timeout: float) -> "openai.OpenAI":
    """One SDK client (and its connection pool) per configuration, shared by threads; its own
    retries are off: ours are the ones recorded."""
    return _openai().OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
