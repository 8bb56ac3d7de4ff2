from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from engagement.api_keys import api_key_authenticate, api_key_create
from engagement.models import ApiKey, AuditEvent
from engagement.registry import registry
from learners.scopes import ApiKeyScope
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db


def _event(learner_id: str) -> dict:
    return {
        "learner_id": learner_id,
        "source": "lms",
        "source_event_id": "k-1",
        "kind": "login",
        "occurred_at": "2026-10-01T10:00:00Z",
    }


def test_lifecycle_through_the_api(auth_client: APIClient) -> None:
    created = auth_client.post(
        "/api/v1/api-keys/", {"name": "Moodle feed", "scopes": ["events:write"]}, format="json"
    )
    assert created.status_code == 201, created.data
    secret = created.data["key"]
    assert secret.startswith(f"lep_{created.data['prefix']}_")
    stored = ApiKey.objects.get(pk=created.data["id"])
    assert secret.split("_", 2)[2] not in stored.secret_hash
    listed = auth_client.get("/api/v1/api-keys/").data["results"][0]
    assert "key" not in listed

    learner = LearnerFactory()
    api_client = APIClient()
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert (
        api_client.post("/api/v1/events/", [_event(str(learner.id))], format="json").status_code
        == 200
    )
    assert ApiKey.objects.get(pk=stored.pk).last_used_at is not None
    assert api_client.get("/api/v1/learners/").status_code == 403

    assert auth_client.post(f"/api/v1/api-keys/{stored.pk}/revoke/").status_code == 200
    refused = api_client.post("/api/v1/events/", [_event(str(learner.id))], format="json")
    assert refused.status_code == 401
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"api_key.create", "api_key.revoke"} <= actions


def test_expired_and_malformed_keys_are_refused(user: Any) -> None:
    issued = api_key_create(name="old", scopes=["learners:read"], created_by=user)
    assert api_key_authenticate(raw_key=issued.secret) == issued.api_key
    ApiKey.objects.filter(pk=issued.api_key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert api_key_authenticate(raw_key=issued.secret) is None
    assert api_key_authenticate(raw_key="lep_nope_nope") is None
    assert api_key_authenticate(raw_key="garbage") is None
    wrong_secret = issued.secret[:-2] + ("AA" if not issued.secret.endswith("AA") else "BB")
    assert api_key_authenticate(raw_key=wrong_secret) is None


def test_invalid_creation_is_400(auth_client: APIClient) -> None:
    assert (
        auth_client.post(
            "/api/v1/api-keys/", {"name": "x", "scopes": []}, format="json"
        ).status_code
        == 400
    )
    for scopes in (["root"], [["events:write"]], [{"a": 1}]):
        response = auth_client.post(
            "/api/v1/api-keys/", {"name": "x", "scopes": scopes}, format="json"
        )
        assert response.status_code == 400, scopes
        assert "scopes" in response.data
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = auth_client.post(
        "/api/v1/api-keys/",
        {"name": "x", "scopes": ["inbox:read"], "expires_at": past},
        format="json",
    )
    assert response.status_code == 400
    assert "expires_at" in response.data


def test_empty_api_key_header_is_401(api_client: APIClient) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Api-Key ")
    assert api_client.get("/api/v1/learners/").status_code == 401


def test_unknown_key_id_is_404(auth_client: APIClient) -> None:
    assert (
        auth_client.get("/api/v1/api-keys/0190a5f2-0000-7000-8000-000000000000/").status_code == 404
    )


@pytest.mark.parametrize("scopes", [[], ["root"], ["inbox:read", "events:writ"]])
def test_a_bad_scope_list_names_the_valid_scopes(auth_client: APIClient, scopes: list) -> None:
    response = auth_client.post("/api/v1/api-keys/", {"name": "x", "scopes": scopes}, format="json")
    assert response.status_code == 400
    message = str(response.data["scopes"])
    assert all(scope in message for scope in registry.api_key_scopes()), message


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"),
    [
        ("post", "/api/v1/events/", [], "events:write"),
        ("post", "/api/v1/xapi/statements", [], "xapi:write"),
        ("get", "/api/v1/learners/", None, "learners:read"),
    ],
)
def test_a_key_lacking_a_scope_is_told_which_one(
    user: Any, method: str, path: str, body: Any, scope: str
) -> None:
    issued = api_key_create(name="inbox", scopes=[ApiKeyScope.INBOX_READ], created_by=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.secret}")
    response = getattr(client, method)(path, body, format="json")
    assert response.status_code == 403
    assert response.data["detail"] == f"This API key lacks the '{scope}' scope."


def test_a_key_on_a_staff_route_is_told_keys_cannot_call_it(user: Any) -> None:
    issued = api_key_create(name="all", scopes=list(registry.api_key_scopes()), created_by=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.secret}")
    response = client.get("/api/v1/users/")
    assert response.status_code == 403
    assert "API keys cannot call this endpoint" in response.data["detail"]
