"""The analytics app's tunables, read from the environment when the app loads."""

from typing import Any

from engagement.environment import Environment


def tunables() -> dict[str, Any]:
    """``ANALYTICS_CACHE_SECONDS``: how long a dashboard figure may be served from the cache
    (0: never cached); a snapshot write makes every cached figure stale at once."""
    return {"ANALYTICS_CACHE_SECONDS": Environment().int("ANALYTICS_CACHE_SECONDS", default=60)}
