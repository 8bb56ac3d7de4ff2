"""The LLM's requests- and tokens-per-minute budget, shared by every worker through the cache.

A campaign run takes a request from the budget before each generation and settles it after:
a nudge written without asking the LLM (the template, a cached answer) gives the request back,
one that asked adds the tokens it used. Counters live in one-minute windows of the shared
cache (Redis in production), so two workers running campaigns at once stay within one budget.
A window may overshoot its token limit by the answers in flight when it fills: tokens are known
only once spent.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from nudges.models import Nudge

KEY_PREFIX = "nudges:llm-budget"
WINDOW_SECONDS = 60
# Counters outlive their minute a little, so a late settle still finds its window.
COUNTER_SECONDS = 3 * WINDOW_SECONDS
# Longest single sleep while waiting for room: a cancelled run stops waiting this soon.
WAIT_STEP_SECONDS = 1.0


class BudgetWaitStopped(Exception):
    """The run was stopped (cancelled, or another thread failed) while waiting for room."""


def _counter_add(key: str, amount: int) -> int:
    """Add to a shared counter that may not exist yet (or has just expired); the new value."""
    while True:
        cache.add(key, 0, timeout=COUNTER_SECONDS)
        try:
            return int(cache.incr(key, amount))
        except ValueError:  # expired between add and incr
            continue


@dataclass
class LLMBudget:
    """``LLM_REQUESTS_PER_MINUTE`` and ``LLM_TOKENS_PER_MINUTE`` unless given."""

    requests_per_minute: int = field(default_factory=lambda: settings.LLM_REQUESTS_PER_MINUTE)
    tokens_per_minute: int = field(default_factory=lambda: settings.LLM_TOKENS_PER_MINUTE)
    stop: threading.Event = field(default_factory=threading.Event)
    #: Called at each step of a wait: a run checks there that it was not cancelled.
    waiting: Callable[[], None] = lambda: None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def _keys(self, window: int) -> tuple[str, str]:
        return f"{KEY_PREFIX}:requests:{window}", f"{KEY_PREFIX}:tokens:{window}"

    def acquire(self) -> int:
        """Wait for a minute with room for one more request, take it and return that minute.

        Raises :class:`BudgetWaitStopped` when ``stop`` is set while waiting.
        """
        while True:
            now = self.clock()
            window = int(now // WINDOW_SECONDS)
            requests_key, tokens_key = self._keys(window)
            if int(cache.get(tokens_key, 0)) < self.tokens_per_minute:
                if _counter_add(requests_key, 1) <= self.requests_per_minute:
                    return window
                _counter_add(requests_key, -1)
            if self.stop.is_set():
                raise BudgetWaitStopped()
            self.waiting()
            self.sleep(min(WAIT_STEP_SECONDS, (window + 1) * WINDOW_SECONDS - now))

    def settle(self, window: int, nudge: Nudge) -> None:
        """Give the request back if the LLM was not asked for ``nudge``, else count its tokens."""
        requests_key, tokens_key = self._keys(window)
        call = nudge.llm_call if nudge.llm_call_id else None
        if call is None or call.cache_hit:
            _counter_add(requests_key, -1)
        elif call.tokens_in + call.tokens_out:
            _counter_add(tokens_key, call.tokens_in + call.tokens_out)

    def release(self, window: int) -> None:
        """Give back a request that was never made."""
        _counter_add(self._keys(window)[0], -1)
