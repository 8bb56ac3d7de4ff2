"""Rate limits on the shared cache (Redis in production): per user or API key, and per IP.

Every throttle that counts by IP takes it from :func:`engagement.request_context.client_ip`,
which trusts ``X-Forwarded-For`` only as far as ``TRUSTED_PROXY_COUNT`` proxies wrote it. Rates
are registered per scope by the app that owns it (:mod:`engagement.registry`).
"""

import math
from typing import Any

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from engagement.registry import registry
from engagement.request_context import client_ip


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


class PrincipalRateThrottle(RegisteredRate, SimpleRateThrottle):
    """One budget per authenticated caller: a user, or an API key (keys never share a budget)."""

    scope = "principal"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonymousRateThrottle(ClientIpIdent, RegisteredRate, SimpleRateThrottle):
    """A small budget per client IP for unauthenticated calls (token endpoints, probes of the API)."""

    scope = "anonymous"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ScopedClientRateThrottle(ClientIpIdent, RegisteredRate, ScopedRateThrottle):
    """DRF's per-view scopes (``throttle_scope``), counting anonymous callers by client IP."""


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
