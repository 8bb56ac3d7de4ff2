"""Rate limits on the shared cache (Redis in production): per user or API key, and per IP.

Each throttle counts requests in fixed windows of its rate's duration (a minute for
``60/min``), aligned to the clock: one integer per caller and window in the cache, added to
atomically, so a request costs the same whatever the rate allows (DRF's own throttles rewrite a
list of every timestamp in the window). On Redis the count is one round trip (a script doing
``INCR``, and ``EXPIRE`` for a new counter); on other caches ``incr``, with ``add`` opening a
window. A caller may thus spend up to twice the rate across a window boundary, never more in any
one window; a refused caller is told to retry when the window ends.

Every throttle that counts by IP takes it from :func:`engagement.request_context.client_ip`,
which trusts ``X-Forwarded-For`` only as far as ``TRUSTED_PROXY_COUNT`` proxies wrote it. Rates
are registered per scope by the app that owns it (:mod:`engagement.registry`).
"""

import logging
import math
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.http import HttpRequest
from django_redis.cache import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from engagement.registry import registry
from engagement.request_context import client_ip


def window_key(key: str, *, now: float, duration: int) -> str:
    """The counter of ``key``'s window that holds ``now``: windows are numbered from the epoch."""
    return f"{key}_{int(now // duration)}"


def count_request(key: str, *, duration: int) -> int | None:
    """Add one to the counter ``key`` and return the new count, or ``None`` when the cache cannot
    count (Redis unreachable: throttles fail open, as every other cache use does).

    The counter lives ``duration`` seconds from its first request: past its window's end, and
    gone by the end of the next, so a caller has at most two."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        return _count_in_redis(backend, key, duration=duration)
    return _count_in_cache(backend, key, duration=duration)


#: One atomic command (EVALSHA): the counter never exists without its expiry. Cheaper in CPU
#: than a MULTI/EXEC pipeline of INCR and EXPIRE, and the expiry runs from the first request as
#: with :func:`_count_in_cache`.
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def _count_in_redis(backend: RedisCache, key: str, *, duration: int) -> int | None:
    client = backend.client.get_client(write=True)
    try:
        count = client.register_script(_COUNT_SCRIPT)(
            keys=[backend.client.make_key(key)], args=[duration]
        )
    except (RedisConnectionError, RedisTimeoutError):
        # The cache's own outage logger: one warning per interval, however many requests fail.
        logging.getLogger(settings.CACHE_ERROR_LOGGER).warning(
            "Throttle not counted", exc_info=True
        )
        return None
    return int(count)


def _count_in_cache(backend: BaseCache, key: str, *, duration: int) -> int:
    try:
        return backend.incr(key)
    except ValueError:  # no counter yet: open the window (or count in the one a racer opened)
        return 1 if backend.add(key, 1, duration) else backend.incr(key)


class FixedWindowThrottle(SimpleRateThrottle):
    """DRF's rate throttle counting per fixed window instead of keeping every timestamp."""

    num_requests: int
    duration: int
    now: float

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        count = count_request(
            window_key(self.key, now=self.now, duration=self.duration), duration=self.duration
        )
        return count is None or count <= self.num_requests

    def wait(self) -> float:
        """Seconds until the current window ends and a new budget opens (never 0)."""
        return self.duration - self.now % self.duration


class ClientIpIdent:
    """Identify anonymous callers by the address :func:`client_ip` trusts, not DRF's guess."""

    def get_ident(self, request: Request) -> str:
        return client_ip(request) or "unknown"


class RegisteredRate:
    """The scope's registered rate; a rate set on the class (``THROTTLE_RATES``) takes precedence."""

    scope: str | None
    THROTTLE_RATES: dict[str, str | None]

    def get_rate(self) -> str | None:
        if self.scope is None:
            return None
        return self.THROTTLE_RATES.get(self.scope) or registry.throttle_rate(self.scope)


class PrincipalRateThrottle(RegisteredRate, FixedWindowThrottle):
    """One budget per authenticated caller: a user, or an API key (keys never share a budget)."""

    scope = "principal"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonymousRateThrottle(ClientIpIdent, RegisteredRate, FixedWindowThrottle):
    """A small budget per client IP for unauthenticated calls (token endpoints, probes of the API)."""

    scope = "anonymous"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ScopedClientRateThrottle(
    ClientIpIdent, RegisteredRate, ScopedRateThrottle, FixedWindowThrottle
):
    """DRF's per-view scopes (``throttle_scope``), counting anonymous callers by client IP.

    :class:`ScopedRateThrottle` picks the view's scope and rate, then counts through
    :class:`FixedWindowThrottle`, which comes after it in the method resolution order."""


class _Scope:
    """What :class:`ScopedRateThrottle` reads of a view: its ``throttle_scope``."""

    def __init__(self, scope: str) -> None:
        self.throttle_scope = scope


def attempt_wait(request: HttpRequest, scope: str) -> int | None:
    """Count one attempt made outside DRF (a sign-in or password-reset page) against ``scope``,
    per client IP; ``None`` when allowed, otherwise the seconds to wait."""
    throttle = ScopedClientRateThrottle()
    if throttle.allow_request(request, _Scope(scope)):  # type: ignore[arg-type]
        return None
    return math.ceil(throttle.wait() or 1)


def login_attempt_wait(request: HttpRequest) -> int | None:
    """Count one password attempt made outside DRF (the sign-in page) against the ``login`` scope:
    the same budget per client IP as the token endpoints."""
    return attempt_wait(request, "login")
