"""One structured log line per request: what was asked of which route, by whom, with what outcome.

It names the route pattern (``api/v1/learners/(?P<pk>[^/.]+)/$``), never the raw path or query string,
and the user by id: no names, emails or ids of learners reach the log. The request id comes from
:mod:`engagement.request_context` (the log formatter adds it).
"""

import time
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse

logger = structlog.get_logger("engagement.request")
UNMATCHED_ROUTE = "<unmatched>"


def route_of(request: HttpRequest) -> str:
    """The URL pattern that served the request, or a fixed marker when none matched."""
    match = request.resolver_match
    return match.route if match is not None and match.route else UNMATCHED_ROUTE


def user_id_of(request: HttpRequest) -> str | None:
    """The authenticated caller's id (a staff user's pk or ``api-key:<id>``), else ``None``."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return str(user.pk)


class RequestLogMiddleware:
    """Log method, route, status, duration and user of every request, once it is answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        status = response.status_code
        (logger.error if status >= 500 else logger.info)(
            "request",
            method=request.method,
            route=route_of(request),
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            user_id=user_id_of(request),
        )
        return response
