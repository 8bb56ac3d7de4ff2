"""Nobody removes their own admin access, and an active admin always remains, by every door."""

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from engagement.models import Role, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/users/"


def _api(actor: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(actor)
    return client


def _admin_form(user: User, **changes: Any) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "role": user.role,
        "is_active": "on" if user.is_active else "",
        "cohorts": [],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        **changes,
    }


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("", {"role": "coach"}, "role"),
        ("", {"is_active": False}, "is_active"),
        ("", {"role": "analyst", "is_active": False}, "is_active"),
        ("deactivate/", None, "is_active"),
    ],
)
def test_an_admin_cannot_demote_or_deactivate_themselves(
    path: str, body: dict | None, field: str
) -> None:
    me, _other = UserFactory(role="admin"), UserFactory(role="admin")
    client = _api(me)
    url = f"{URL}{me.id}/{path}"
    response = client.post(url) if path else client.patch(url, body, format="json")
    assert response.status_code == 400
    assert "your own admin account" in response.data[field][0]
    me.refresh_from_db()
    assert (me.role, me.is_active) == (Role.ADMIN, True)


@pytest.mark.parametrize("body", [{"role": "coach"}, {"is_active": False}])
def test_a_superuser_of_another_role_counts_as_an_admin(body: dict) -> None:
    last = UserFactory(role="admin")
    UserFactory(role="admin", is_active=False)
    superuser = UserFactory(role="coach", is_superuser=True, is_staff=True)
    response = _api(superuser).patch(f"{URL}{last.id}/", body, format="json")
    assert response.status_code == 200  # the superuser still acts as an admin
    assert _api(superuser).patch(f"{URL}{superuser.id}/", body, format="json").status_code == 400


def test_the_last_active_admin_stays_when_an_automation_demotes_them() -> None:
    from engagement.accounts import user_update
    from engagement.errors import ValidationFailed

    last = UserFactory(role="admin")
    with pytest.raises(ValidationFailed) as refused:
        user_update(actor=None, user=last, data={"role": Role.COACH})
    assert "no active admin" in refused.value.detail["role"][0]


def test_an_admin_may_remove_another_admin_while_one_remains() -> None:
    me, other = UserFactory(role="admin"), UserFactory(role="admin")
    client = _api(me)
    assert client.patch(f"{URL}{other.id}/", {"role": "coach"}, format="json").status_code == 200
    assert client.post(f"{URL}{UserFactory(role='admin').id}/deactivate/").status_code == 200
    assert (
        client.patch(f"{URL}{me.id}/", {"email": "me@example.org"}, format="json").status_code
        == 200
    )


def test_django_admin_refuses_self_demotion_on_the_form(client: Client) -> None:
    me = UserFactory(role="admin")
    UserFactory(role="admin")
    client.force_login(me)
    response = client.post(f"/admin/engagement/user/{me.pk}/change/", _admin_form(me, role="coach"))
    assert response.status_code == 200
    assert "your own admin account" in response.content.decode()
    me.refresh_from_db()
    assert me.role == Role.ADMIN


def test_django_admin_deletion_cannot_remove_every_admin(client: Client) -> None:
    me, other = UserFactory(role="admin"), UserFactory(role="admin")
    client.force_login(me)
    response = client.post(
        "/admin/engagement/user/",
        {"action": "delete_selected", "_selected_action": [me.pk, other.pk], "post": "yes"},
    )
    assert response.status_code == 200
    assert "your own admin account" in response.content.decode()
    assert User.objects.filter(pk__in=[me.pk, other.pk]).count() == 2
    response = client.post(f"/admin/engagement/user/{other.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=other.pk).exists()
