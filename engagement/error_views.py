"""Error pages: JSON under ``/api/`` (with the request id), dashboard pages under ``/dashboard/``
(403 and 404), Django's HTML pages elsewhere.

DRF views answer their own errors; these cover whatever happens outside them (middleware, URL
routing, plain Django views) and every uncaught exception, so that an API client never has to
read HTML. Wired as ``handler400/403/404/500`` in ``engagement.urls``; with ``DEBUG`` on (as in
``make run``) Django answers with its HTML debug pages instead of these handlers, and
:class:`ApiJsonErrorsMiddleware` turns those into the same JSON.
"""

import uuid
from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views import defaults
from rest_framework.response import Response

from engagement import dashboard, request_context

API_PREFIX = "/api/"
DASHBOARD_PREFIX = "/dashboard/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _json_error(detail: str, status: int) -> JsonResponse:
    context = request_context.current()
    request_id = context.request_id if context else uuid.uuid4().hex
    response = JsonResponse({"detail": detail, "request_id": request_id}, status=status)
    response[request_context.REQUEST_ID_HEADER] = request_id
    return response


SERVER_ERROR = "A server error occurred; quote the request id when reporting it."


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json_error("Bad request.", 400)
    return defaults.bad_request(request, exception)


def _is_dashboard(request: HttpRequest) -> bool:
    return request.path.startswith(DASHBOARD_PREFIX)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json_error("You do not have permission to perform this action.", 403)
    if _is_dashboard(request):
        return dashboard.error_page(
            request, 403, gettext("Your role does not give access to this page.")
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Under ``/dashboard/`` a dashboard page: a missing object reads the same as a missing page
    (a coach cannot tell a learner outside their cohorts from one that does not exist)."""
    if _is_api(request):
        return _json_error("Not found.", 404)
    if _is_dashboard(request):
        return dashboard.error_page(
            request, 404, gettext("There is nothing here, or it is not yours to see.")
        )
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """A 500 that gives API clients the request id to quote, and nothing about the failure."""
    if _is_api(request):
        return _json_error(SERVER_ERROR, 500)
    return defaults.server_error(request)


class ApiJsonErrorsMiddleware:
    """Under ``/api/``, an error page Django rendered as HTML (its debug pages when ``DEBUG`` is
    on) becomes ``{"detail", "request_id"}``. DRF's own responses are left alone: the browsable
    API renders its errors for browsers on purpose. The failure was logged where it happened."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            _is_api(request)
            and response.status_code >= 400
            and not isinstance(response, Response)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            status = response.status_code
            detail = SERVER_ERROR if status >= 500 else f"{HTTPStatus(status).phrase}."
            return _json_error(detail, status)
        return response
