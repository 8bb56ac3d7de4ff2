"""Responses schemathesis found contradicting /api/schema/, checked against the same document."""

from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from engagement.models import Role
from learners.models import RiskBand
from tests.contract.schema import api_schema, assert_documented
from tests.factories import ActivityEventFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_PATHS = ("/api/v1/auth/token/", "/api/v1/auth/token/refresh/", "/api/v1/auth/token/verify/")


def test_every_operation_documents_the_refusals_any_caller_may_get() -> None:
    """Throttling applies everywhere; authentication and roles everywhere but the token doors."""
    missing = []
    for result in api_schema().get_all_operations():
        operation = result.ok()
        codes = {"429"} if operation.path in TOKEN_PATHS else {"401", "403", "429"}
        documented = set(operation.definition.raw["responses"])
        if codes - documented:
            missing.append(f"{operation.method.upper()} {operation.path}: {codes - documented}")
    assert missing == []


def _bands(client: APIClient, unscored_id: str) -> tuple[Any, Any, dict[str, Any]]:
    listed = client.get("/api/v1/learners/")
    detail = client.get(f"/api/v1/learners/{unscored_id}/")
    return listed, detail, {row["id"]: row["risk_band"] for row in listed.json()["results"]}


def test_unscored_learners_have_a_null_risk_band(auth_client: APIClient) -> None:
    unscored = LearnerFactory()
    scored = LearnerFactory(cohort=unscored.cohort, risk_score=0.8, risk_band=RiskBand.HIGH)

    listed, detail, bands = _bands(auth_client, unscored.pk)

    assert bands == {str(unscored.pk): None, str(scored.pk): "high"}
    assert detail.json()["risk_band"] is None
    assert_documented(listed, path="/api/v1/learners/", method="get")
    assert_documented(detail, path="/api/v1/learners/{id}/", method="get")


def test_pseudonymised_learners_have_a_null_risk_band_too() -> None:
    unscored = LearnerFactory()
    scored = LearnerFactory(cohort=unscored.cohort, risk_score=0.8, risk_band=RiskBand.HIGH)
    client = APIClient()
    client.force_authenticate(UserFactory(role=Role.ANALYST))

    _, detail, bands = _bands(client, unscored.pk)

    assert bands == {str(unscored.pk): None, str(scored.pk): "high"}
    assert detail.json()["risk_band"] is None


def test_a_user_without_an_email_address_fits_the_schema(auth_client: APIClient) -> None:
    nameless = UserFactory(email="", role=Role.COACH)

    response = auth_client.get(f"/api/v1/users/{nameless.pk}/")

    assert response.json()["email"] == ""
    assert_documented(response, path="/api/v1/users/{id}/", method="get")


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/v1/auth/token/", {}, 400),
        ("/api/v1/auth/token/", {"username": "nobody", "password": "wrong-pass"}, 401),
        ("/api/v1/auth/token/refresh/", {}, 400),
        ("/api/v1/auth/token/refresh/", {"refresh": "not-a-token"}, 401),
        ("/api/v1/auth/token/verify/", {}, 400),
        ("/api/v1/auth/token/verify/", {"token": "not-a-token"}, 401),
    ],
)
def test_token_endpoint_refusals_are_documented(
    api_client: APIClient, path: str, body: dict[str, Any], status: int
) -> None:
    response = api_client.post(path, body, format="json")

    assert response.status_code == status
    assert_documented(response, path=path, method="post")


@pytest.mark.parametrize("path", TOKEN_PATHS)
def test_throttled_token_requests_are_documented(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "1/min"})
    api_client.post(path, {}, format="json")

    refused = api_client.post(path, {}, format="json")

    assert refused.status_code == 429
    assert_documented(refused, path=path, method="post")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"source": "lms"}', "application/json"),
        ("[]", "application/json"),
        ("[{]", "application/json"),
        ("source=lms", "application/x-www-form-urlencoded"),
        ('[{"source": "lms"}]', "application/json"),
    ],
)
def test_refused_event_batches_fit_the_documented_400(
    auth_client: APIClient, body: str, content_type: str
) -> None:
    response = auth_client.post("/api/v1/events/", body, content_type=content_type)

    assert response.status_code == 400
    assert_documented(response, path="/api/v1/events/", method="post")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/events/"),
        ("post", "/api/v1/xapi/statements"),
        ("put", "/api/v1/xapi/statements"),
    ],
)
def test_ingestion_refused_to_a_role_is_documented(method: str, path: str) -> None:
    client = APIClient()
    client.force_authenticate(UserFactory(role=Role.ANALYST))
    client.credentials(HTTP_X_EXPERIENCE_API_VERSION="1.0.3")

    response = getattr(client, method)(path, [], format="json")

    assert response.status_code == 403
    assert_documented(response, path=path, method=method)


@pytest.mark.parametrize("method", ["trace", "delete", "patch"])
def test_xapi_statements_answer_405_to_methods_they_lack(
    auth_client: APIClient, method: str
) -> None:
    response = auth_client.generic(method.upper(), "/api/v1/xapi/statements")

    assert response.status_code == 405
    assert "Allow" in response


def test_pseudonymised_responses_fit_the_schema() -> None:
    learner = LearnerFactory()
    ActivityEventFactory(learner=learner, metadata={"course": "Data 101"})
    client = APIClient()
    client.force_authenticate(UserFactory(role=Role.ANALYST))

    for path, template in [
        ("/api/v1/learners/", "/api/v1/learners/"),
        (f"/api/v1/learners/{learner.pk}/", "/api/v1/learners/{id}/"),
        (f"/api/v1/learners/{learner.pk}/events/", "/api/v1/learners/{id}/events/"),
    ]:
        response = client.get(path)
        assert response.status_code == 200
        assert "email" not in response.content.decode()
        assert_documented(response, path=template, method="get")
