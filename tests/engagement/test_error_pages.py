"""Errors under /api/ answer JSON with the request id, wherever they are raised; HTML elsewhere."""

from collections.abc import Callable
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.test import APIClient

from engagement.urls import handler400, handler403, handler404, handler500, urlpatterns
from learners import services

pytestmark = pytest.mark.django_db


def _plain_view_that_fails(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a plain Django view")


# This module doubles as a URLconf: the project's routes and error handlers plus a failing view.
urlpatterns = [*urlpatterns, path("api/v1/plain-failure/", _plain_view_that_fails)]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


class FailingMiddleware:
    """Raises on every request, as a buggy middleware would."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raise RuntimeError("a bug in a middleware")


@pytest.fixture
def client_seeing_500s(api_client: APIClient, user: Any) -> APIClient:
    api_client.raise_request_exception = False
    api_client.force_authenticate(user)
    return api_client


def _assert_json_500(response: Any) -> None:
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "request_id"}
    assert body["request_id"] == response["X-Request-ID"]


def test_an_uncaught_error_in_an_api_view_answers_json_with_the_request_id(
    client_seeing_500s: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(**kwargs: Any) -> None:
        raise RuntimeError("a bug in a service")

    monkeypatch.setattr(services, "events_ingest", fail)
    response = client_seeing_500s.post(
        "/api/v1/events/", [{"kind": "login"}], HTTP_X_REQUEST_ID="trace-123"
    )
    _assert_json_500(response)
    assert response.json()["request_id"] == "trace-123"
    assert "bug" not in response.json()["detail"]


@pytest.mark.urls(__name__)
def test_an_error_in_a_plain_django_view_under_api_answers_json(
    client_seeing_500s: APIClient,
) -> None:
    _assert_json_500(client_seeing_500s.get("/api/v1/plain-failure/"))


@pytest.mark.parametrize("position", ["outermost", "innermost"])
def test_an_error_in_a_middleware_answers_json_under_api_and_html_elsewhere(
    client_seeing_500s: APIClient, settings: Any, position: str
) -> None:
    failing = f"{__name__}.FailingMiddleware"
    settings.MIDDLEWARE = (
        [failing, *settings.MIDDLEWARE]
        if position == "outermost"
        else [*settings.MIDDLEWARE, failing]
    )
    _assert_json_500(client_seeing_500s.get("/api/v1/learners/"))
    page = client_seeing_500s.get("/admin/")
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")


def test_unknown_api_routes_answer_json_404_and_others_html(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."
    assert response.json()["request_id"] == response["X-Request-ID"]
    page = api_client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


@pytest.mark.urls(__name__)
def test_with_debug_on_api_errors_are_json_not_the_debug_pages(
    client_seeing_500s: APIClient, settings: Any
) -> None:
    """``make run`` serves with DEBUG on: its API clients must not get Django's debug pages."""
    settings.DEBUG = True
    _assert_json_500(client_seeing_500s.get("/api/v1/plain-failure/"))
    missing = client_seeing_500s.get("/api/v1/risk/models/-1/")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "Not Found."
    assert missing.json()["request_id"] == missing["X-Request-ID"]
    page = client_seeing_500s.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
