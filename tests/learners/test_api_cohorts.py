import pytest
from rest_framework.test import APIClient

from tests.factories import CohortFactory, LearnerFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/cohorts/"


def test_requires_authentication(api_client: APIClient) -> None:
    assert api_client.get(URL).status_code == 401
    assert api_client.post(URL, {"name": "X", "starts_on": "2026-01-01"}).status_code == 401


def test_create_and_read_back(auth_client: APIClient) -> None:
    body = {
        "name": "Data 101 — Spring",
        "course_code": "DATA101",
        "starts_on": "2026-03-01",
        "ends_on": "2026-06-01",
    }
    response = auth_client.post(URL, body, format="json")
    assert response.status_code == 201, response.data
    cohort_id = response.data["id"]
    detail = auth_client.get(f"{URL}{cohort_id}/")
    assert detail.status_code == 200
    assert detail.data["name"] == "Data 101 — Spring"
    assert detail.data["timezone"] == "UTC"


def test_self_paced_cohort_has_no_end(auth_client: APIClient) -> None:
    response = auth_client.post(
        URL, {"name": "Self-paced", "starts_on": "2026-01-01"}, format="json"
    )
    assert response.status_code == 201
    assert response.data["ends_on"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"starts_on": "2026-01-01"}, "name"),
        ({"name": "A", "starts_on": "not-a-date"}, "starts_on"),
        ({"name": "A", "starts_on": "2026-02-01", "ends_on": "2026-01-01"}, "ends_on"),
        ({"name": "A", "starts_on": "2026-02-01", "timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_invalid_input_is_explained(auth_client: APIClient, body: dict, field: str) -> None:
    response = auth_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.data


def test_duplicate_name_is_refused(auth_client: APIClient) -> None:
    CohortFactory(name="Taken")
    response = auth_client.post(URL, {"name": "Taken", "starts_on": "2026-01-01"}, format="json")
    assert response.status_code == 400
    assert "name" in response.data


def test_unknown_and_malformed_ids_are_404(auth_client: APIClient) -> None:
    assert auth_client.get(f"{URL}0190a5f2-0000-7000-8000-000000000000/").status_code == 404
    assert auth_client.get(f"{URL}not-a-uuid/").status_code == 404


def test_partial_update(auth_client: APIClient) -> None:
    cohort = CohortFactory()
    response = auth_client.patch(f"{URL}{cohort.id}/", {"course_code": "NEW1"}, format="json")
    assert response.status_code == 200
    cohort.refresh_from_db()
    assert cohort.course_code == "NEW1"
    bad = auth_client.patch(f"{URL}{cohort.id}/", {"ends_on": "2000-01-01"}, format="json")
    assert bad.status_code == 400
    assert "ends_on" in bad.data


def test_delete_refuses_cohort_with_learners(auth_client: APIClient) -> None:
    learner = LearnerFactory()
    response = auth_client.delete(f"{URL}{learner.cohort_id}/")
    assert response.status_code == 409
    assert "learners" in response.data["detail"]
    empty = CohortFactory()
    assert auth_client.delete(f"{URL}{empty.id}/").status_code == 204
    assert auth_client.get(f"{URL}{empty.id}/").status_code == 404


def test_list_is_paginated(auth_client: APIClient) -> None:
    CohortFactory.create_batch(3)
    response = auth_client.get(URL, {"page_size": 2})
    assert response.status_code == 200
    assert response.data["count"] == 3
    assert len(response.data["results"]) == 2
    assert response.data["next"]
