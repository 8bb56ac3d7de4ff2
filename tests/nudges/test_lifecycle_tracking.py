"""Email open and click tracking as staff read it: ``opened_at`` and ``clicked_at`` in the API's
nudge and on the dashboard's nudge pages (analysts included: times, never the text)."""

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from rest_framework.test import APIClient

from engagement.models import OutboxMessage
from engagement.outbox import outbox_deliver
from nudges.delivery import click_url, open_url, tracking_set
from nudges.lifecycle import nudge_send
from nudges.models import Channel, Nudge
from tests.factories import CohortFactory, LearnerFactory, UserFactory
from tests.nudges.lifecycle_factories import NOON, make_nudge

pytestmark = pytest.mark.django_db

LINK = "https://lms.example.org/lesson/4"


def sent(nudge: Nudge) -> Nudge:
    nudge_send(nudge=nudge, actor=None, now=NOON)
    outbox_deliver(message_id=OutboxMessage.objects.get(idempotency_key=f"nudge:{nudge.pk}").pk)
    nudge.refresh_from_db()
    return nudge


@pytest.fixture
def nudges() -> dict[str, Nudge]:
    """An email opened and clicked in a tracked cohort, and one to an untracked cohort."""
    cohort = CohortFactory()
    tracking_set(cohort_id=cohort.pk, enabled=True, actor=None)
    tracked = sent(make_nudge(learner=LearnerFactory(cohort=cohort), body=f"See {LINK} today."))
    untracked = sent(make_nudge(body=f"See {LINK} today."))
    visitor = Client()
    visitor.get(urlsplit(open_url(tracked.pk)).path)
    visitor.get(urlsplit(click_url(tracked.pk, LINK)).path)
    tracked.refresh_from_db()
    assert tracked.opened_at is not None and tracked.clicked_at is not None
    return {"tracked": tracked, "untracked": untracked}


def api_get(role: str, path: str) -> Any:
    client = APIClient()
    client.force_authenticate(UserFactory(role=role))
    response = client.get(f"/api/v1/nudges/{path}")
    assert response.status_code == 200
    return response.json()


def page(role: str, path: str) -> str:
    client = Client()
    client.force_login(UserFactory(role=role))
    response = client.get(f"/dashboard/nudges/{path}")
    assert response.status_code == 200
    return response.content.decode()


def iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_the_api_shows_when_a_tracked_email_was_opened_and_clicked(
    nudges: dict[str, Nudge], role: str
) -> None:
    tracked, untracked = nudges["tracked"], nudges["untracked"]
    detail = api_get(role, f"{tracked.pk}/")
    assert (detail["opened_at"], detail["clicked_at"]) == (
        iso(tracked.opened_at),
        iso(tracked.clicked_at),
    )
    assert (detail["body"] is None) == (role == "analyst")
    rows = {row["id"]: row for row in api_get(role, "")["results"]}
    assert rows[str(tracked.pk)]["opened_at"] == detail["opened_at"]
    assert (rows[str(untracked.pk)]["opened_at"], rows[str(untracked.pk)]["clicked_at"]) == (
        None,
        None,
    )


def test_the_nudge_page_shows_opened_and_clicked_or_says_they_are_not_recorded(
    nudges: dict[str, Nudge],
) -> None:
    tracked = page("analyst", f"{nudges['tracked'].pk}/")
    assert 'data-field="opened-at"><time' in tracked
    assert 'data-field="clicked-at"><time' in tracked
    untracked = page("admin", f"{nudges['untracked'].pk}/")
    assert 'data-field="opened-at"><span class="muted">Not recorded' in untracked
    draft = page("admin", f"{make_nudge(channel=Channel.IN_APP).pk}/")
    assert 'data-field="opened-at"' not in draft


def test_the_nudges_list_has_an_opened_and_clicked_column(nudges: dict[str, Nudge]) -> None:
    body = page("admin", "")
    assert "Opened · clicked" in body
    tracked_row = body.split(f'data-nudge="{nudges["tracked"].pk}"')[1].split("</tr>")[0]
    untracked_row = body.split(f'data-nudge="{nudges["untracked"].pk}"')[1].split("</tr>")[0]
    assert tracked_row.count("<time") == 4  # created, sent, opened, clicked
    assert untracked_row.count("<time") == 2
