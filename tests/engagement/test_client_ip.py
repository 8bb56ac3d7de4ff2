"""Clients cannot pick their IP: X-Forwarded-For counts only as far as trusted proxies wrote it."""

from typing import Any

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from engagement.api.throttling import AnonymousRateThrottle, ScopedClientRateThrottle
from engagement.models import AuditEvent
from engagement.request_context import client_ip

PEER = "10.0.0.9"


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "203.0.113.7", PEER),
        (0, "", PEER),
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),
        (2, "198.51.100.1, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (2, "203.0.113.7", PEER),
        (1, " , ", PEER),
    ],
)
def test_client_ip_trusts_only_the_configured_proxies(
    settings: Any, proxies: int, forwarded_for: str, expected: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=PEER, HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected


@pytest.mark.django_db
def test_a_forged_forwarded_for_does_not_escape_the_anonymous_throttle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(AnonymousRateThrottle, "THROTTLE_RATES", {"anonymous": "2/min"})
    client = APIClient()
    codes = [
        client.get("/api/schema/", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 429]


@pytest.mark.django_db
def test_a_forged_forwarded_for_does_not_escape_the_login_throttle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ScopedClientRateThrottle, "THROTTLE_RATES", {"login": "2/min"})
    client = APIClient()
    codes = [
        client.post(
            "/api/v1/auth/token/",
            {"username": "nobody", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        ).status_code
        for n in range(3)
    ]
    assert codes == [401, 401, 429]


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_has_its_own_budget_and_audit_ip(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    monkeypatch.setattr(ScopedClientRateThrottle, "THROTTLE_RATES", {"login": "1/min"})
    client = APIClient()
    for n in range(2):
        response = client.post(
            "/api/v1/auth/token/",
            {"username": "nobody", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"spoofed, 203.0.113.{n}",
        )
        assert response.status_code == 401
    assert set(AuditEvent.objects.values_list("ip", flat=True)) == {"203.0.113.0", "203.0.113.1"}
