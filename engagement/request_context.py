"""Per-request context (request id, client IP, actor) for the audit log and logs.

A context variable rather than a thread-local, so it is right under ASGI too. Services read it
through :func:`current`; nothing outside a request sees one (``None``).
"""

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TypeGuard

from django.conf import settings
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    ip: str | None


_current: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def current() -> RequestContext | None:
    return _current.get()


def valid_request_id(offered: object) -> TypeGuard[str]:
    """1 to 64 of ``A-Z a-z 0-9 . _ -``: safe in headers, logs and the audit log as given."""
    return isinstance(offered, str) and _VALID_REQUEST_ID.fullmatch(offered) is not None


def enter(*, request_id: str, ip: str | None) -> Token[RequestContext | None]:
    """Make this the current context (a request, or a task queued by one) until :func:`leave`."""
    return _current.set(RequestContext(request_id=request_id, ip=ip))


def leave(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, for throttles and the audit log; a client cannot choose it.

    With ``TRUSTED_PROXY_COUNT`` = 0 it is the peer's address (``REMOTE_ADDR``). With N trusted
    proxies in front, each appends the address it received from to ``X-Forwarded-For``, so the
    client is the N-th entry from the right; entries further left were written by the client.
    A header shorter than that did not pass through all the proxies: the peer's address stands.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    return hops[-proxies] if len(hops) >= proxies else remote


class RequestContextMiddleware:
    """Give every request an id (the caller's ``X-Request-ID`` if sane) and echo it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if valid_request_id(offered) else uuid.uuid4().hex
        token = enter(request_id=request_id, ip=client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            leave(token)
        response[REQUEST_ID_HEADER] = request_id
        return response
