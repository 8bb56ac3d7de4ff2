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


def _audit(action: str, user_id: object) -> dict[str, object]:
    event = AuditEvent.objects.get(action=action, target_id=str(user_id))
    return {"actor_id": event.actor_id, "changes": event.changes}


def test_admin_user_writes_are_audited_as_through_the_api(client: Client) -> None:
    admin = UserFactory(role="admin")
    client.force_login(admin)
    api = APIClient()
    api.force_authenticate(admin)
    cohort, other = CohortFactory(), CohortFactory()
    password = "a-Strong-pass-123"
    add_page = client.get("/admin/engagement/user/add/").content.decode()
    assert 'name="password1"' in add_page and 'name="usable_password"' not in add_page
    created = {"role": "coach", "cohort_ids": [str(cohort.id)], "password": password}
    assert api.post(URL, {**created, "username": "by-api"}, format="json").status_code == 201
    response = client.post(
        "/admin/engagement/user/add/",
        {
            "username": "by-admin",
            "role": "coach",
            "cohorts": [str(cohort.id)],
            "password1": password,
            "password2": password,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    by_api, by_admin = User.objects.get(username="by-api"), User.objects.get(username="by-admin")
    expected = {
        "actor_id": str(admin.id),
        "changes": {"role": "coach", "invited": False, "cohorts": [str(cohort.id)]},
    }
    assert _audit("user.create", by_api.id) == _audit("user.create", by_admin.id) == expected

    changed = {"email": "new@example.org", "role": "analyst", "cohort_ids": [str(other.id)]}
    assert api.patch(f"{URL}{by_api.id}/", changed, format="json").status_code == 200
    response = client.post(
        f"/admin/engagement/user/{by_admin.id}/change/",
        {
            "username": "by-admin",
            "email": "new@example.org",
            "role": "analyst",
            "is_active": "on",
            "cohorts": [str(other.id)],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert _audit("user.update", by_api.id) == _audit("user.update", by_admin.id)
    assert _audit("user.update", by_admin.id)["changes"] == {
        "email": "(changed)",
        "role": "analyst",
        "cohorts": [str(other.id)],
    }
    assert user_scopes.user_cohort_ids(user=by_admin) == [other.id]
    assert not AuditEvent.objects.filter(action="user.cohorts").exists()


def test_admin_name_changes_are_saved_and_audited_without_the_names(client: Client) -> None:
    client.force_login(UserFactory(role="admin"))
    coach = UserFactory(role="coach", first_name="Ada")
    response = client.post(
        f"/admin/engagement/user/{coach.id}/change/",
        {
            "username": "renamed",
            "first_name": "Grace",
            "email": coach.email,
            "role": "coach",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    coach.refresh_from_db()
    assert (coach.username, coach.first_name) == ("renamed", "Grace")
    assert _audit("user.update", coach.id)["changes"] == {
        "username": "(changed)",
        "first_name": "(changed)",
    }
