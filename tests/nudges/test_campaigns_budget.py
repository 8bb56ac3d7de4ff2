"""The LLM budget shared through the cache: requests and tokens per minute, waits, stops."""

import threading
from typing import Any

import pytest

from nudges.budget import BudgetWaitStopped, LLMBudget
from nudges.models import LLMCall, Nudge


class Clock:
    """A clock that a wait moves forward instead of sleeping."""

    def __init__(self, now: float = 600.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _budget(clock: Clock, **limits: Any) -> LLMBudget:
    return LLMBudget(clock=clock, sleep=clock.sleep, **limits)


def _nudge(tokens: int = 0, *, asked: bool = True, cache_hit: bool = False) -> Nudge:
    if not asked:
        return Nudge(body="template")
    call = LLMCall(model="m", tokens_in=tokens // 2, tokens_out=tokens - tokens // 2)
    call.cache_hit = cache_hit
    return Nudge(body="llm", llm_call=call)


def test_requests_beyond_the_minute_wait_for_the_next_one() -> None:
    clock = Clock()
    budget = _budget(clock, requests_per_minute=2, tokens_per_minute=10_000)

    first, second = budget.acquire(), budget.acquire()
    assert clock.slept == []
    third = budget.acquire()

    assert first == second == 10
    assert third == 11
    assert clock.now == 660  # waited to the start of the next minute, no longer


def test_a_nudge_written_without_asking_the_llm_gives_its_request_back() -> None:
    clock = Clock()
    budget = _budget(clock, requests_per_minute=1, tokens_per_minute=10_000)

    budget.settle(budget.acquire(), _nudge(asked=False))
    budget.settle(budget.acquire(), _nudge(40, cache_hit=True))
    budget.settle(budget.acquire(), _nudge(40))
    assert clock.slept == []
    budget.acquire()

    assert clock.now == 660


def test_tokens_spent_fill_the_minute() -> None:
    clock = Clock()
    budget = _budget(clock, requests_per_minute=100, tokens_per_minute=100)

    budget.settle(budget.acquire(), _nudge(60))
    budget.settle(budget.acquire(), _nudge(60))
    budget.acquire()

    assert clock.now == 660


def test_two_budgets_share_the_counters_as_two_workers_would() -> None:
    clock = Clock()
    one = _budget(clock, requests_per_minute=1, tokens_per_minute=100)
    other = _budget(clock, requests_per_minute=1, tokens_per_minute=100)

    one.acquire()
    other.acquire()

    assert clock.now == 660


def test_a_stopped_run_stops_waiting_and_a_cancelled_one_is_told_while_waiting() -> None:
    clock = Clock()
    stop = threading.Event()
    budget = LLMBudget(
        requests_per_minute=1, tokens_per_minute=100, clock=clock, sleep=clock.sleep, stop=stop
    )
    budget.acquire()
    stop.set()
    with pytest.raises(BudgetWaitStopped):
        budget.acquire()

    def cancelled() -> None:
        raise RuntimeError("cancelled")

    waiting = LLMBudget(
        requests_per_minute=1,
        tokens_per_minute=100,
        clock=clock,
        sleep=clock.sleep,
        waiting=cancelled,
    )
    with pytest.raises(RuntimeError, match="cancelled"):
        waiting.acquire()
