"""HTTP behaviour every dashboard page shares: the methods it answers (405 with ``Allow``
otherwise, HEAD wherever GET), ``Cache-Control: private, no-store`` on personal data, dashboard
error pages for requests Django cannot read and for a failed CSRF check, and page numbers."""

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from engagement.dashboard import parse_page_number
from engagement.models import Job, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

_CONVERTER_VALUES = {"uuid": str(uuid.uuid4()), "int": "1", "str": "x", "slug": "x", "path": "x"}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def _dashboard_paths() -> list[str]:
    """Every route under ``/dashboard/`` in the URLconf, its parameters filled in."""
    paths = []
    for route in _routes(get_resolver().url_patterns):
        if not route.startswith("dashboard/"):
            continue
        filled = re.sub(
            r"<(?:(\w+):)?\w+>", lambda m: _CONVERTER_VALUES[str(m.group(1) or "str")], route
        )
        paths.append(f"/{filled}")
    return sorted(set(paths))


DASHBOARD_PATHS = _dashboard_paths()


def _body(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


def admin_client() -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(role=Role.ADMIN))
    return client


def test_the_walk_finds_the_contract_pages() -> None:
    assert {"/dashboard/", "/dashboard/learners/", "/dashboard/cohorts/"} <= set(DASHBOARD_PATHS)
    assert "/dashboard/imports/" in DASHBOARD_PATHS and "/dashboard/account/" in DASHBOARD_PATHS


@pytest.mark.parametrize("path", DASHBOARD_PATHS)
def test_every_dashboard_route_refuses_put_and_delete_and_answers_head_as_get(path: str) -> None:
    client = admin_client()
    for method in (client.put, client.delete, client.patch):
        refused = method(path)
        assert refused.status_code == 405, (method, path)
        assert "GET" in refused["Allow"] or "POST" in refused["Allow"]
        assert "PUT" not in refused["Allow"] and "DELETE" not in refused["Allow"]
    got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code, path
    assert _body(head) == b""
    if got.status_code != 405:
        assert "HEAD" in got.get("Allow", "HEAD")


@pytest.mark.parametrize(
    "path", ["/dashboard/", "/dashboard/cohorts/", "/dashboard/jobs/", "/dashboard/risk-models/"]
)
def test_read_only_pages_refuse_post_with_a_dashboard_page(path: str) -> None:
    response = admin_client().post(path, {"anything": "1"})
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    html = response.content.decode()
    assert "This page answers only GET, HEAD requests." in html
    assert 'href="/dashboard/jobs/"' in html  # the navigation is there


def test_a_method_is_checked_before_sign_in() -> None:
    response = Client().put("/dashboard/learners/")
    assert response.status_code == 405 and response["Allow"] == "GET, POST, HEAD"


@pytest.mark.parametrize(
    "path", ["/dashboard/learners/", "/dashboard/learners/export.csv", "/dashboard/account/"]
)
def test_head_works_where_get_does(path: str) -> None:
    client = admin_client()
    assert client.get(path).status_code == 200
    head = client.head(path)
    assert head.status_code == 200 and _body(head) == b""


def test_an_empty_post_to_the_account_page_is_a_400_with_a_message() -> None:
    response = admin_client().post("/dashboard/account/")
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


# Cache-Control ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/dashboard/", "/dashboard/learners/", "/dashboard/learners/export.csv"]
)
def test_dashboard_pages_and_downloads_are_private_and_not_stored(path: str) -> None:
    response = admin_client().get(path)
    assert response.status_code == 200
    assert _directives(response) >= {"private", "no-store"}


def test_dashboard_redirects_and_error_pages_are_not_stored_either() -> None:
    assert {"private", "no-store"} <= _directives(Client().get("/dashboard/learners/"))
    missing = admin_client().get(f"/dashboard/jobs/{uuid.uuid4()}/")
    assert missing.status_code == 404 and {"private", "no-store"} <= _directives(missing)


def test_api_answers_to_authenticated_callers_are_private(user: Any) -> None:
    api = APIClient()
    api.force_authenticate(user)
    response = api.get("/api/v1/learners/")
    assert response.status_code == 200
    assert {"private", "no-store"} <= _directives(response)
    refused = APIClient().get("/api/v1/learners/")
    assert refused.status_code == 401 and "Cache-Control" not in refused


def test_the_schema_and_static_files_keep_their_caching(user: Any) -> None:
    api = APIClient()
    api.force_authenticate(user)
    schema = api.get("/api/schema/")
    assert schema.status_code == 200 and "no-store" not in schema.get("Cache-Control", "")
    static = Client().get("/static/dashboard/dashboard.css")
    assert static.status_code == 200 and "no-store" not in static.get("Cache-Control", "")


def _directives(response: Any) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


# Error pages with DEBUG off --------------------------------------------------------------------


def _assert_dashboard_error(response: Any, status: int, message: str) -> None:
    assert response.status_code == status
    html = response.content.decode()
    assert message in html
    assert 'href="/dashboard/jobs/"' in html  # the navigation, not Django's bare page


@pytest.fixture
def debug_off(settings: Any) -> Any:
    settings.DEBUG = False
    return settings


def test_too_many_fields_on_a_dashboard_page_is_a_dashboard_400(debug_off: Any) -> None:
    debug_off.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    client = admin_client()
    posted = client.post("/dashboard/learners/", {f"field{i}": "x" for i in range(10)})
    _assert_dashboard_error(posted, 400, "The form sent too many fields or files at once")
    query = "&".join(f"p{i}=1" for i in range(10))
    _assert_dashboard_error(
        client.get(f"/dashboard/learners/?{query}"), 400, "too many fields or files"
    )


def test_a_multipart_body_without_a_boundary_is_a_dashboard_400(debug_off: Any) -> None:
    response = admin_client().post(
        "/dashboard/imports/", data=b"--x--", content_type="multipart/form-data"
    )
    _assert_dashboard_error(response, 400, "The form sent could not be read")


def test_a_bad_request_elsewhere_keeps_djangos_page(debug_off: Any) -> None:
    debug_off.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    client = Client(raise_request_exception=False)
    response = client.post("/accounts/login/", {f"field{i}": "x" for i in range(10)})
    assert response.status_code == 400 and "Bad Request" in response.content.decode()


def test_a_failed_csrf_check_on_a_dashboard_form_says_the_form_expired(debug_off: Any) -> None:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(UserFactory(role=Role.ADMIN))
    response = client.post("/dashboard/account/", {"timezone": "Europe/Paris"})
    _assert_dashboard_error(response, 403, "Your form expired; reload the page and try again.")
    login = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x"})
    assert login.status_code == 403 and "CSRF" in login.content.decode()


# Page numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number"), [("", 1), ("1", 1), ("007", 7), ("2147483647", 2**31 - 1)]
)
def test_page_numbers_are_ascii_digits_and_empty_is_the_first(raw: str, number: int) -> None:
    assert parse_page_number(raw) == number


@pytest.mark.parametrize(
    "raw", ["0", "-1", "+1", " 1", "1.0", "\uff11", "\u0663", "12345678901", "9" * 5000]
)
def test_anything_else_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=r"Give a page number of 1 or more\."):
        parse_page_number(raw)


@pytest.mark.parametrize("path", ["/dashboard/jobs/", "/dashboard/learners/"])
def test_lists_read_page_numbers_the_same_way(path: str) -> None:
    client = admin_client()
    Job.objects.create(kind="learners.rescore")
    assert client.get(path, {"page": ""}).status_code == 200
    for raw in ("\uff11", "0", "x", "9" * 5000):
        refused = client.get(path, {"page": raw})
        assert refused.status_code == 400, (path, raw)
        assert "Give a page number of 1 or more." in refused.content.decode()
