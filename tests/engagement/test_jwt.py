import jwt
import pytest
from rest_framework.test import APIClient

from engagement.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _login(client: APIClient, username: str = "coach1") -> dict:
    response = client.post(
        "/api/v1/auth/token/", {"username": username, "password": "a-Strong-pass-123"}
    )
    assert response.status_code == 200, response.data
    return response.data


def test_tokens_carry_iat_and_jti_and_expire_quickly(api_client: APIClient) -> None:
    UserFactory(username="coach1")
    access = jwt.decode(_login(api_client)["access"], options={"verify_signature": False})
    assert {"iat", "jti", "exp"} <= set(access)
    assert access["exp"] - access["iat"] <= 15 * 60


def test_refresh_rotates_and_blacklists_the_old_token(api_client: APIClient) -> None:
    UserFactory(username="coach1")
    first = _login(api_client)
    rotated = api_client.post("/api/v1/auth/token/refresh/", {"refresh": first["refresh"]})
    assert rotated.status_code == 200
    assert rotated.data["refresh"] != first["refresh"]
    reused = api_client.post("/api/v1/auth/token/refresh/", {"refresh": first["refresh"]})
    assert reused.status_code == 401


def test_logout_revokes_refresh_and_access(api_client: APIClient) -> None:
    UserFactory(username="coach1")
    tokens = _login(api_client)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get("/api/v1/cohorts/").status_code == 200
    assert (
        api_client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}).status_code == 204
    )
    assert api_client.get("/api/v1/cohorts/").status_code == 401
    api_client.credentials()
    assert (
        api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).status_code
        == 401
    )
    assert AuditEvent.objects.filter(action="auth.logout").count() == 1


def test_logout_needs_the_callers_own_valid_refresh_token(api_client: APIClient) -> None:
    UserFactory(username="coach1")
    UserFactory(username="coach2")
    mine = _login(api_client, "coach1")
    theirs = _login(api_client, "coach2")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {mine['access']}")
    assert (
        api_client.post("/api/v1/auth/logout/", {"refresh": theirs["refresh"]}).status_code == 400
    )
    assert api_client.post("/api/v1/auth/logout/", {"refresh": "garbage"}).status_code == 400
    assert api_client.post("/api/v1/auth/logout/", {}).status_code == 400


def test_successful_and_failed_logins_are_audited(api_client: APIClient) -> None:
    UserFactory(username="coach1")
    _login(api_client)
    api_client.post("/api/v1/auth/token/", {"username": "coach1", "password": "wrong"})
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "auth.login_failed" in actions
    assert "auth.login" in actions
