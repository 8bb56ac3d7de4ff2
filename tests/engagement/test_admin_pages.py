import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from engagement.api_keys import api_key_authenticate, api_key_create
from engagement.audit import audit_record
from engagement.models import ApiKey, AuditEvent, Job, User
from engagement.outbox import EMAIL_CHANNEL, outbox_enqueue
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
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    secret = shown[0].rsplit(" ", 1)[1]
    api_key = ApiKey.objects.get(name="LMS")
    assert any(f"LMS ({api_key.prefix})" in message for message in shown)
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


def test_api_key_changes_are_audited_and_keys_are_revoked_not_deleted(
    admin_client_in: Client,
) -> None:
    issued = api_key_create(name="LMS", scopes=["events:write"], created_by=None)
    url = f"/admin/engagement/apikey/{issued.api_key.pk}/"

    response = admin_client_in.post(
        f"{url}change/",
        {
            "name": "LMS (prod)",
            "scopes": '["xapi:write"]',
            "expires_at_0": "2099-01-01",
            "expires_at_1": "10:00:00",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    event = AuditEvent.objects.get(action="api_key.update")
    assert event.changes == {
        "name": "LMS (prod)",
        "scopes": "xapi:write",
        "expires_at": "2099-01-01T10:00:00+00:00",
    }
    assert api_key_authenticate(raw_key=issued.secret) == issued.api_key  # same secret
    assert admin_client_in.get(f"{url}delete/").status_code == 403


def test_deleting_users_in_admin_is_audited(admin_client_in: Client) -> None:
    coach, analyst = UserFactory(role="coach"), UserFactory(role="analyst")
    admin_client_in.post(f"/admin/engagement/user/{coach.pk}/delete/", {"post": "yes"})
    admin_client_in.post(
        "/admin/engagement/user/",
        {"action": "delete_selected", "_selected_action": [str(analyst.pk)], "post": "yes"},
    )

    assert not User.objects.filter(pk__in=[coach.pk, analyst.pk]).exists()
    deleted = AuditEvent.objects.filter(action="user.delete").values_list("target_id", flat=True)
    assert set(deleted) == {str(coach.pk), str(analyst.pk)}


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("scopes", {"scopes": '["everything"]'}),
        ("scopes", {"scopes": "5"}),
        ("scopes", {"scopes": '[["events:write"]]'}),
        ("scopes", {"scopes": '[{"a": 1}]'}),
        ("expires_at", {"expires_at_0": "2020-01-01", "expires_at_1": "10:00:00"}),
    ],
)
def test_api_key_rules_refused_in_admin_are_shown_on_the_form(
    admin_client_in: Client, field: str, body: dict[str, str]
) -> None:
    page = admin_client_in.post(
        "/admin/engagement/apikey/add/",
        {
            "name": "LMS",
            "scopes": '["events:write"]',
            "expires_at_0": "",
            "expires_at_1": "",
            **body,
        },
    )

    assert page.status_code == 200  # the form again, not an error page
    assert field in page.context["adminform"].form.errors
    assert not ApiKey.objects.exists()


def _platform_rows(count: int) -> None:
    """``count`` of each row the platform's admin lists, each naming its user where it has one."""
    for index in range(count):
        user = UserFactory(role="coach")
        api_key_create(name=f"key {index}", scopes=["events:write"], created_by=user)
        Job.objects.create(kind="learners.rescore", requested_by=user)
        audit_record(actor=user, action="probe")
        outbox_enqueue(
            channel=EMAIL_CHANNEL,
            payload={"to": f"u{index}@example.org", "subject": "s", "body": "b"},
            idempotency_key=f"admin-list-{index}-{user.pk}",
        )


@pytest.mark.parametrize("model", ["user", "apikey", "job", "auditevent", "outboxmessage"])
def test_platform_changelists_do_not_grow_queries_with_rows(
    admin_client_in: Client, model: str
) -> None:
    url = f"/admin/engagement/{model}/"
    _platform_rows(2)
    with CaptureQueriesContext(connection) as few:
        assert admin_client_in.get(url).status_code == 200
    _platform_rows(12)
    with CaptureQueriesContext(connection) as many:
        assert admin_client_in.get(url).status_code == 200
    assert len(many) == len(few)


def test_a_password_set_on_the_admin_page_is_audited_without_the_password(
    admin_client_in: Client,
) -> None:
    coach = UserFactory(role="coach")
    new_password = "An0ther-Strong-pass!"
    response = admin_client_in.post(
        f"/admin/engagement/user/{coach.pk}/password/",
        {"password1": new_password, "password2": new_password, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    coach.refresh_from_db()
    assert coach.check_password(new_password)
    event = AuditEvent.objects.get(action="user.password", target_id=str(coach.pk))
    assert event.changes == {"password": "(changed)"}
    assert new_password not in str(event.changes)
