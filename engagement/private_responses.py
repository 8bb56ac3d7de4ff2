"""``Cache-Control: private, no-store`` on every answer that may carry personal data.

Dashboard pages and their downloads (CSV exports) show learners' names and notes, and API
answers to a signed-in caller or an API key carry the same: no shared cache (a proxy, a CDN)
may keep them, and the browser may not store them on disk for the next person at the desk.
Static files are answered by WhiteNoise before this middleware and keep their long-lived
caching; the API schema and its docs hold no personal data and are left alone.
"""

from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control

from engagement.error_views import API_PREFIX, DASHBOARD_PREFIX

PUBLIC_API_PREFIXES = ("/api/schema/", "/api/docs/")


def is_private(request: HttpRequest) -> bool:
    """Whether the answer to ``request`` may hold personal data: any dashboard page, and any
    API answer to an authenticated caller (DRF sets ``request.user`` for tokens and keys)."""
    path = request.path
    if path.startswith(DASHBOARD_PREFIX):
        return True
    if not path.startswith(API_PREFIX) or path.startswith(PUBLIC_API_PREFIXES):
        return False
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


class PrivateResponsesMiddleware:
    """Mark the answers :func:`is_private` names as ``private, no-store``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if is_private(request):
            patch_cache_control(response, private=True, no_store=True)
        return response
