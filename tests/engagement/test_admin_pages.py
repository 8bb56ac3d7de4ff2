import pytest
from django.contrib.messages import get_messages
from django.test import Client

from engagement.api_keys import api_key_authenticate
from engagement.audit import audit_record
from engagement.models import ApiKey, AuditEvent, User
from engagement.user_scopes import user_cohort_ids
from tests.factories import CohortFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_in(client: Client) -> Client:
    client.force_login(UserFactory(role="admin"))
    return client


def test_admin_creates_a_coach_with_cohorts(admin_client_in: Client) -> None:
    cohort = CohortFactory()
    response = admin_client_in.post(
        "/admin/engagement/user/add/",
        {
            "username": "newcoach",
            "email": "nc@example.org",
            "role": "coach",
            "cohorts": [str(cohort.id)],
            "password1": "a-Strong-pass-123",
            "password2": "a-Strong-pass-123",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    coach = User.objects.get(username="newcoach")
    assert not coach.is_staff
    assert user_cohort_ids(user=coach) == [cohort.id]
    assert AuditEvent.objects.filter(action="user.create", target_id=str(coach.id)).exists()
    page = admin_client_in.get(f"/admin/engagement/user/{coach.id}/change/")
    assert page.status_code == 200
    assert f'value="{cohort.id}" selected' in page.content.decode()


def test_admin_issues_api_keys_once_and_revokes_them(admin_client_in: Client) -> None:
    response = admin_client_in.post(
        "/admin/engagement/apikey/add/",
        {"name": "LMS", "scopes": '["events:write"]', "expires_at_0": "", "expires_at_1": ""},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    secret = next(str(m) for m in get_messages(response.wsgi_request)).rsplit(" ", 1)[1]
    api_key = ApiKey.objects.get(name="LMS")
    assert api_key_authenticate(raw_key=secret) == api_key
    admin_client_in.post(
        "/admin/engagement/apikey/", {"action": "revoke", "_selected_action": [str(api_key.pk)]}
    )
    assert api_key_authenticate(raw_key=secret) is None


def test_audit_log_is_read_only_in_admin(admin_client_in: Client) -> None:
    event = audit_record(actor=None, action="probe")
    assert admin_client_in.get("/admin/engagement/auditevent/").status_code == 200
    assert admin_client_in.get("/admin/engagement/auditevent/add/").status_code == 403
    assert (
        admin_client_in.post(
            f"/admin/engagement/auditevent/{event.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()
