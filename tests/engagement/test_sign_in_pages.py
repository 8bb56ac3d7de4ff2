"""Sign-in pages, the home redirect and the API index."""

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from engagement.api.throttling import ScopedClientRateThrottle
from engagement.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a-Strong-pass-123"


def _sign_in(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/accounts/login/", {"username": username, "password": password, "next": "/api/v1/"}
    )


def _page_of(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert "Learner Engagement Platform" in html
    assert "<script" not in html and "//cdn" not in html
    return html


def test_sign_in_page_renders_under_the_csp(client: Client) -> None:
    response = client.get("/accounts/login/")
    html = _page_of(response)
    assert 'name="username"' in html and 'name="password"' in html
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_every_account_page_renders(client: Client) -> None:
    user = UserFactory()
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    for path in (
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/done/",
        f"/accounts/reset/{uid}/not-a-token/",
    ):
        _page_of(client.get(path))
    confirm = client.get(
        f"/accounts/reset/{uid}/{default_token_generator.make_token(user)}/", follow=True
    )
    assert 'name="new_password1"' in _page_of(confirm)
    client.force_login(user)
    assert 'name="old_password"' in _page_of(client.get("/accounts/password_change/"))
    _page_of(client.get("/accounts/password_change/done/"))
    assert "signed out" in _page_of(client.post("/accounts/logout/"))


def test_signing_in_leads_on_and_is_audited(client: Client) -> None:
    user = UserFactory()
    response = _sign_in(client, user.username)
    assert response.status_code == 302 and response["Location"] == "/api/v1/"
    assert client.get("/api/v1/").status_code == 200
    assert AuditEvent.objects.filter(action="auth.login", target_id=str(user.pk)).exists()
    refused = _sign_in(Client(), user.username, "wrong")
    assert refused.status_code == 200
    assert "correct username and password" in refused.content.decode()


def test_the_sign_in_page_shares_the_lockout_of_every_password_login(
    client: Client, settings: Any
) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    user = UserFactory()
    api = APIClient()
    for _ in range(2):
        api.post("/api/v1/auth/token/", {"username": user.username, "password": "wrong"})
    assert _sign_in(client, user.username, "wrong").status_code == 200
    assert _sign_in(client, user.username).status_code == 200  # locked: even the right password
    assert "_auth_user_id" not in client.session


def test_the_sign_in_page_is_throttled_per_ip_like_the_token_endpoints(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ScopedClientRateThrottle, "THROTTLE_RATES", {"login": "2/min"})
    user = UserFactory()
    for _ in range(2):
        assert _sign_in(client, user.username, "wrong").status_code == 200
    refused = _sign_in(client, user.username)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "Too many sign-in attempts" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 2
    token = APIClient().post("/api/v1/auth/token/", {"username": user.username, "password": "x"})
    assert token.status_code == 429


def test_the_admin_sign_in_is_throttled_too(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ScopedClientRateThrottle, "THROTTLE_RATES", {"login": "1/min"})
    admin = UserFactory(role="admin")
    form = {"username": admin.username, "password": PASSWORD, "next": "/admin/"}
    assert client.get("/admin/login/").status_code == 200
    assert client.post("/admin/login/", {**form, "password": "wrong"}).status_code == 200
    refused = client.post("/admin/login/", form)
    assert refused.status_code == 429 and "Retry-After" in refused
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_signing_out_is_offered_on_get_and_done_on_post(client: Client) -> None:
    client.force_login(UserFactory(role="coach"))
    page = client.get("/accounts/logout/")
    assert page.status_code == 200
    assert b'action="/accounts/logout/"' in page.content
    assert client.get("/api/v1/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 200
    assert client.get("/api/v1/").status_code in {401, 403}


@pytest.mark.django_db
def test_the_browsable_api_offers_a_sign_out(client: Client) -> None:
    client.force_login(UserFactory(role="coach", username="casey"))
    page = client.get("/api/v1/learners/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert b'action="/accounts/logout/"' in page.content and b"casey" in page.content


def test_home_leads_people_to_the_dashboard_or_to_sign_in(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fdashboard%2F"
    client.force_login(UserFactory(role="coach"))
    assert client.get("/")["Location"] == "/dashboard/"
    assert client.get("/accounts/login/")["Location"] == "/"


def test_api_index_lists_the_main_endpoints_for_staff(auth_client: APIClient) -> None:
    assert APIClient().get("/api/v1/").status_code == 401
    index = auth_client.get("/api/v1/").data
    for name in ("learner", "cohort", "user", "api-key", "job", "risk-model", "xapi-about"):
        assert index[name].startswith("http://testserver/api/v1/"), name
    assert index["learner"] == "http://testserver/api/v1/learners/"
    assert "learner-detail" not in index and "api-root" not in index


@pytest.mark.parametrize("role", ["admin", "coach", "analyst"])
def test_the_api_index_lists_only_what_the_caller_may_read(role: str) -> None:
    """Clients (and schemathesis) follow the index: nothing in it may answer 403 or 405."""
    client = APIClient()
    client.force_authenticate(UserFactory(role=role))
    index = client.get("/api/v1/").data
    for name in ("events-ingest", "token-obtain", "risk-model-train", "risk-rescore", "logout"):
        assert name not in index, name
    assert ("user" in index) == (role == "admin")
    assert "learner" in index and "job" in index
    for name, url in index.items():
        assert client.get(url).status_code == 200, name


def test_sign_in_pages_are_translation_ready(client: Client) -> None:
    """Every text of the sign-in pages goes through the translation tags; the page says its
    language."""
    folder = Path(settings.BASE_DIR) / "templates" / "registration"
    for template in folder.glob("*.html"):
        assert "{% load i18n" in template.read_text(), template.name
    page = client.get("/accounts/login/").content.decode()
    assert f'<html lang="{settings.LANGUAGE_CODE}">' in page
