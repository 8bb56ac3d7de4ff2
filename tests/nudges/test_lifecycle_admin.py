"""The admin of nudges (read-only; actions through the lifecycle services) and of the cohorts
opted in to tracking (through the audited service)."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from engagement.models import AuditEvent
from nudges.models import Nudge, NudgeStatus, TrackingCohort
from tests.factories import CohortFactory, UserFactory
from tests.nudges.lifecycle_factories import make_nudge

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/nudges/nudge/"


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    return client


def test_the_changelist_shows_no_text_and_costs_the_same_for_many(admin_client: Client) -> None:
    secret = make_nudge(body="Private words for Ada").body
    with CaptureQueriesContext(connection) as few:
        response = admin_client.get(CHANGELIST)
    assert response.status_code == 200 and secret not in response.content.decode()
    for _ in range(10):
        make_nudge()
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(CHANGELIST).status_code == 200
    assert len(many) == len(few)


@pytest.mark.parametrize(("action", "status"), [("approve", "approved"), ("cancel", "cancelled")])
def test_actions_go_through_the_services(admin_client: Client, action: str, status: str) -> None:
    draft, sent = make_nudge(), make_nudge(status=NudgeStatus.SENT)
    response = admin_client.post(
        CHANGELIST, {"action": action, "_selected_action": [str(draft.pk), str(sent.pk)]}
    )
    assert response.status_code == 302
    assert Nudge.objects.get(pk=draft.pk).status == status
    assert Nudge.objects.get(pk=sent.pk).status == NudgeStatus.SENT  # refused, reported
    assert AuditEvent.objects.filter(action=f"nudge.{action}").count() == 1


def test_tracking_cohorts_are_added_and_removed_through_the_service(
    admin_client: Client,
) -> None:
    cohort = CohortFactory()
    added = admin_client.post("/admin/nudges/trackingcohort/add/", {"cohort": str(cohort.pk)})
    assert added.status_code == 302
    row = TrackingCohort.objects.get()
    deleted = admin_client.post(f"/admin/nudges/trackingcohort/{row.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not TrackingCohort.objects.exists()
    changes: list[Any] = [
        event.changes for event in AuditEvent.objects.filter(action="nudges.tracking")
    ]
    assert sorted(change["tracking"] for change in changes) == [False, True]
