"""The LLM circuit breaker: after ``LLM_CIRCUIT_FAILURES`` failed calls in a row, skip the LLM
for ``LLM_CIRCUIT_COOLDOWN_SECONDS``.

The state lives in the Django cache (Redis in production), so every web and Celery process
opens and closes the same circuit: one worker's failures spare the others their timeouts. After
the cool-down one call goes through (half-open): a success closes the circuit, a failure opens
it again at once, since the count of failures in a row is still at the threshold.
"""

import time

from django.conf import settings
from django.core.cache import cache

FAILURES_KEY = "nudges:llm:circuit:failures"
OPEN_UNTIL_KEY = "nudges:llm:circuit:open_until"


def circuit_open() -> bool:
    """Whether calls are skipped now."""
    open_until = cache.get(OPEN_UNTIL_KEY)
    return open_until is not None and float(open_until) > time.time()


def circuit_failure() -> None:
    """Count a failed call (after its retries); open the circuit at the threshold."""
    cooldown = int(settings.LLM_CIRCUIT_COOLDOWN_SECONDS)
    # Failures older than ten cool-downs without a success in between no longer count.
    window = max(cooldown * 10, 60)
    cache.add(FAILURES_KEY, 0, timeout=window)
    try:
        # None when the cache is down (its errors are swallowed): the circuit stays closed.
        failures = cache.incr(FAILURES_KEY) or 0
    except ValueError:  # expired between add and incr
        cache.set(FAILURES_KEY, 1, timeout=window)
        failures = 1
    cache.touch(FAILURES_KEY, timeout=window)
    if cooldown and failures >= int(settings.LLM_CIRCUIT_FAILURES):
        cache.set(OPEN_UNTIL_KEY, time.time() + cooldown, timeout=cooldown)


def circuit_success() -> None:
    """A call answered: close the circuit."""
    cache.delete_many([FAILURES_KEY, OPEN_UNTIL_KEY])
