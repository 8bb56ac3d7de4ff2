"""The user scope port: the users API and admin assign cohorts only through a registered provider."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from engagement import user_scopes
from engagement.models import AuditEvent, User
from engagement.registry import registry
from tests.factories import CohortAssignmentFactory, CohortFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/users/"


@pytest.fixture
def no_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform as if no installed app assigned cohorts."""
    monkeypatch.setattr(registry, "user_scope_provider", lambda: None)


def test_learners_registers_its_provider_when_it_loads() -> None:
    coach, cohort = UserFactory(role="coach"), CohortFactory(name="Spring")
    assignment = CohortAssignmentFactory(user=coach, cohort=cohort)
    assert str(assignment) == f"assigned {assignment.assigned_at:%Y-%m-%d}"
    assert user_scopes.user_cohort_ids(user=coach) == [cohort.pk]
    assert (str(cohort.pk), "Spring") in user_scopes.user_cohort_choices()


def test_unknown_cohorts_are_refused_whole(auth_client: APIClient) -> None:
    coach, kept = UserFactory(role="coach"), CohortFactory()
    CohortAssignmentFactory(user=coach, cohort=kept)
    unknown = "0190a5f2-0000-7000-8000-000000000000"
    response = auth_client.patch(
        f"{URL}{coach.id}/", {"cohort_ids": [str(CohortFactory().id), unknown]}, format="json"
    )
    assert response.status_code == 400
    assert response.data == {"cohort_ids": ["One or more cohorts do not exist."]}
    assert user_scopes.user_cohort_ids(user=coach) == [kept.pk]


def test_without_a_provider_users_work_but_no_cohorts_can_be_given(
    no_provider: None, auth_client: APIClient
) -> None:
    body = {"username": "c1", "role": "coach", "password": "a-Strong-pass-123"}
    refused = auth_client.post(
        URL, {**body, "cohort_ids": [str(CohortFactory().id)]}, format="json"
    )
    assert refused.status_code == 400
    assert refused.data == {"cohort_ids": [user_scopes.NO_PROVIDER]}
    assert not User.objects.filter(username="c1").exists()
    created = auth_client.post(URL, {**body, "cohort_ids": []}, format="json")
    assert created.status_code == 201
    coach = User.objects.get(username="c1")
    assert user_scopes.user_cohort_ids(user=coach) == []
    assert user_scopes.user_cohort_choices() == []


def test_without_a_provider_the_admin_user_form_offers_no_cohorts(
    no_provider: None, client: Client
) -> None:
    client.force_login(UserFactory(role="admin"))
    cohort = CohortFactory()
    coach = UserFactory(role="coach")
    page = client.get(f"/admin/engagement/user/{coach.id}/change/")
    assert page.status_code == 200
    assert str(cohort.id) not in page.content.decode()


def test_admin_cohort_changes_are_audited_with_the_cohorts(client: Client) -> None:
    admin = UserFactory(role="admin")
    client.force_login(admin)
    cohort = CohortFactory()
    response = client.post(
        "/admin/engagement/user/add/",
        {
            "username": "newcoach",
            "role": "coach",
            "cohorts": [str(cohort.id)],
            "password1": "a-Strong-pass-123",
            "password2": "a-Strong-pass-123",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="user.cohorts")
    assert event.changes == {"cohorts": [str(cohort.id)]}
    assert event.actor_id == str(admin.id)
