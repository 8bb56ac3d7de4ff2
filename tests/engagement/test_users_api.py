from typing import Any

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from engagement.models import AuditEvent, OutboxMessage, User
from tests.factories import CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/users/"


def test_admin_creates_a_coach_with_cohorts_who_then_sees_only_those(
    auth_client: APIClient,
) -> None:
    mine, other = CohortFactory(), CohortFactory()
    LearnerFactory(cohort=mine)
    LearnerFactory(cohort=other)
    body = {
        "username": "coach9",
        "email": "c9@example.org",
        "role": "coach",
        "password": "a-Strong-pass-123",
        "cohort_ids": [str(mine.id)],
    }
    response = auth_client.post(URL, body, format="json")
    assert response.status_code == 201, response.data
    coach_client = APIClient()
    coach_client.force_authenticate(User.objects.get(username="coach9"))
    rows = coach_client.get("/api/v1/learners/").data["results"]
    assert [row["cohort"] for row in rows] == [mine.id]
    assert AuditEvent.objects.filter(action="user.create", target_id=response.data["id"]).exists()


def test_invited_users_get_a_password_link_by_email(
    auth_client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(
            URL, {"username": "ana", "email": "ana@example.org", "role": "analyst"}, format="json"
        )
    assert response.status_code == 201
    assert not User.objects.get(username="ana").has_usable_password()
    assert len(mail.outbox) == 1
    assert OutboxMessage.objects.get().idempotency_key == f"invite:{response.data['id']}"
    link = mail.outbox[0].body.split("http://127.0.0.1:8000")[1].strip()
    form = Client().get(link, follow=True)
    assert form.status_code == 200
    assert b"new_password1" in form.content
    no_email = auth_client.post(URL, {"username": "x", "role": "analyst"}, format="json")
    assert no_email.status_code == 400
    assert "email" in no_email.data


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "w", "role": "coach", "password": "123"}, "password"),
        ({"username": "w", "role": "wizard", "password": "a-Strong-pass-123"}, "role"),
        # A valid address longer than the column (254): a 400, not a database error.
        (
            {
                "username": "w",
                "role": "coach",
                "password": "a-Strong-pass-123",
                "email": f"{'a' * 64}@{'.'.join(['b' * 60] * 4)}.org",
            },
            "email",
        ),
        ({"username": "admin1", "role": "coach", "password": "a-Strong-pass-123"}, "username"),
        (
            {
                "username": "w",
                "role": "coach",
                "cohort_ids": ["0190a5f2-0000-7000-8000-000000000000"],
            },
            "cohort_ids",
        ),
    ],
)
def test_bad_user_input_is_400(auth_client: APIClient, body: dict, field: str) -> None:
    response = auth_client.post(URL, {"email": "w@example.org", **body}, format="json")
    assert response.status_code == 400
    assert field in response.data
    if field == "email":  # the same rule when the email is changed
        response = auth_client.patch(
            f"{URL}{UserFactory().id}/", {"email": body["email"]}, format="json"
        )
    assert response.status_code == 400
    assert field in response.data


def test_change_role_cohorts_and_deactivate(auth_client: APIClient) -> None:
    coach = UserFactory(role="coach")
    cohort = CohortFactory()
    response = auth_client.patch(
        f"{URL}{coach.id}/", {"cohort_ids": [str(cohort.id)], "role": "analyst"}, format="json"
    )
    assert response.status_code == 200
    assert response.data["role"] == "analyst"
    assert auth_client.post(f"{URL}{coach.id}/deactivate/").data["is_active"] is False
    client = APIClient()
    assert (
        client.post(
            "/api/v1/auth/token/", {"username": coach.username, "password": "a-Strong-pass-123"}
        ).status_code
        == 401
    )
    actions = list(
        AuditEvent.objects.filter(target_id=str(coach.id)).values_list("action", flat=True)
    )
    assert actions.count("user.update") == 2


def test_unknown_user_is_404(auth_client: APIClient) -> None:
    assert auth_client.get(f"{URL}0190a5f2-0000-7000-8000-000000000000/").status_code == 404
    assert auth_client.get(f"{URL}nope/").status_code == 404


def test_reassigning_cohorts_replaces_the_old_ones(auth_client: APIClient) -> None:
    coach = UserFactory(role="coach")
    first, second = CohortFactory(), CohortFactory()
    LearnerFactory(cohort=first)
    LearnerFactory(cohort=second)
    auth_client.patch(f"{URL}{coach.id}/", {"cohort_ids": [str(first.id)]}, format="json")
    auth_client.patch(f"{URL}{coach.id}/", {"cohort_ids": [str(second.id)]}, format="json")
    coach_client = APIClient()
    coach_client.force_authenticate(coach)
    assert [row["cohort"] for row in coach_client.get("/api/v1/learners/").data["results"]] == [
        second.id
    ]
