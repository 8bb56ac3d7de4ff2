"""The LLM client (interface; the llm area replaces this file)."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from nudges.models import LLMCall


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


def llm_configured() -> bool:
    raise NotImplementedError


def llm_complete(request: LLMRequest) -> LLMReply:
    raise NotImplementedError


def llm_stream(request: LLMRequest) -> Iterator[StreamEvent]:
    raise NotImplementedError
