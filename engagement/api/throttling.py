"""Rate limits on the shared cache (Redis in production): per user or API key, and per IP."""

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class PrincipalRateThrottle(SimpleRateThrottle):
    """One budget per authenticated caller: a user, or an API key (keys never share a budget)."""

    scope = "principal"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonymousRateThrottle(SimpleRateThrottle):
    """A small budget per client IP for unauthenticated calls (token endpoints, probes of the API)."""

    scope = "anonymous"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
