"""Personal data the configured keys cannot decrypt is a server error, never "no such learner"."""

from typing import Any

import pytest
from cryptography.fernet import Fernet
from rest_framework.test import APIClient

from tests.factories import CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db

PER_LEARNER_ROUTES = [
    ("get", ""),
    ("get", "export/"),
    ("get", "events/"),
    ("get", "risk/"),
    ("get", "risk/history/"),
    ("patch", ""),
    ("delete", ""),
    ("post", "erase/"),
]


@pytest.fixture
def client_seeing_500s(api_client: APIClient, user: Any) -> APIClient:
    api_client.raise_request_exception = False
    api_client.force_authenticate(user)
    return api_client


@pytest.mark.parametrize(("method", "route"), PER_LEARNER_ROUTES)
def test_an_existing_learner_under_the_wrong_key_is_a_logged_json_500_not_a_404(
    client_seeing_500s: APIClient,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    method: str,
    route: str,
) -> None:
    learner = LearnerFactory(name="Ottoline Keyless", email="ok@example.org")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response = getattr(client_seeing_500s, method)(
        f"/api/v1/learners/{learner.id}/{route}", {}, format="json"
    )
    assert response.status_code == 500
    assert response.json()["request_id"] == response["X-Request-ID"]
    assert "Ottoline" not in caplog.text and "ok@example.org" not in caplog.text
    assert "Learner.name cannot be decrypted" in caplog.text


@pytest.mark.parametrize("learner_id", ["nope", "0190f0d8-0000-7000-8000-000000000000", "1"])
def test_only_a_malformed_or_unknown_id_is_not_found(
    client_seeing_500s: APIClient, settings: Any, learner_id: str
) -> None:
    LearnerFactory()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response = client_seeing_500s.get(f"/api/v1/learners/{learner_id}/")
    assert response.status_code == 404
    assert response.json()["detail"] == "No learner with this id."


@pytest.mark.parametrize(
    "route", ["cohorts/{}/", "users/{}/", "api-keys/{}/", "jobs/{}/", "learners/{}/"]
)
@pytest.mark.parametrize("object_id", ["not-a-uuid", "0190f0d8-0000-7000-8000-000000000000"])
def test_every_detail_route_answers_404_for_a_malformed_or_unknown_id(
    auth_client: APIClient, route: str, object_id: str
) -> None:
    response = auth_client.get(f"/api/v1/{route.format(object_id)}")
    assert response.status_code == 404, response.content


def test_a_coach_outside_the_cohort_still_gets_404(api_client: APIClient) -> None:
    coach = UserFactory(role="coach")
    learner = LearnerFactory(cohort=CohortFactory())
    api_client.force_authenticate(coach)
    assert api_client.get(f"/api/v1/learners/{learner.id}/").status_code == 404
