import pytest
from django.test import Client
from rest_framework.test import APIClient

from engagement.api.throttling import PrincipalRateThrottle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_repeated_failures_lock_the_username_even_for_the_right_password(
    api_client: APIClient, settings
) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    UserFactory(username="target")
    for _ in range(3):
        assert (
            api_client.post(
                "/api/v1/auth/token/", {"username": "target", "password": "nope"}
            ).status_code
            == 401
        )
    right = api_client.post(
        "/api/v1/auth/token/", {"username": "target", "password": "a-Strong-pass-123"}
    )
    assert right.status_code == 401
    assert not Client().login(username="target", password="a-Strong-pass-123")


def test_a_success_clears_earlier_failures(api_client: APIClient, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    UserFactory(username="target")
    for _ in range(2):
        api_client.post("/api/v1/auth/token/", {"username": "target", "password": "nope"})
    assert (
        api_client.post(
            "/api/v1/auth/token/", {"username": "target", "password": "a-Strong-pass-123"}
        ).status_code
        == 200
    )
    for _ in range(2):
        api_client.post("/api/v1/auth/token/", {"username": "target", "password": "nope"})
    assert (
        api_client.post(
            "/api/v1/auth/token/", {"username": "target", "password": "a-Strong-pass-123"}
        ).status_code
        == 200
    )


def test_throttled_requests_get_429_with_retry_after(
    auth_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "2/min"})
    assert auth_client.get("/api/v1/cohorts/").status_code == 200
    assert auth_client.get("/api/v1/cohorts/").status_code == 200
    refused = auth_client.get("/api/v1/cohorts/")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60


def test_login_endpoint_is_throttled_per_ip(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "2/min"})
    for _ in range(2):
        api_client.post("/api/v1/auth/token/", {"username": "a", "password": "b"})
    refused = api_client.post("/api/v1/auth/token/", {"username": "a", "password": "b"})
    assert refused.status_code == 429
    assert "Retry-After" in refused
