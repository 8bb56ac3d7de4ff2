"""Error pages: JSON under ``/api/`` (with the request id), Django's HTML pages elsewhere.

DRF views answer their own errors; these cover whatever happens outside them (middleware, URL
routing, plain Django views) and every uncaught exception, so that an API client never has to
read HTML. Wired as ``handler400/403/404/500`` in ``engagement.urls``.
"""

import uuid

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from engagement import request_context

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _json_error(detail: str, status: int) -> JsonResponse:
    context = request_context.current()
    request_id = context.request_id if context else uuid.uuid4().hex
    response = JsonResponse({"detail": detail, "request_id": request_id}, status=status)
    response[request_context.REQUEST_ID_HEADER] = request_id
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json_error("Bad request.", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json_error("You do not have permission to perform this action.", 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json_error("Not found.", 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """A 500 that gives API clients the request id to quote, and nothing about the failure."""
    if _is_api(request):
        return _json_error("A server error occurred; quote the request id when reporting it.", 500)
    return defaults.server_error(request)
