"""A learner's export carries their nudges; erasure empties their text and stops delivery."""

from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from nudges.models import Category, ContactOptOut, Nudge, NudgeStatus
from tests.factories import LearnerFactory
from tests.nudges.lifecycle_factories import make_nudge, sent_nudge

pytestmark = pytest.mark.django_db

SENT = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def test_the_export_lists_the_learners_nudges_and_opt_outs(auth_client: APIClient) -> None:
    learner = LearnerFactory()
    sent = sent_nudge(learner, SENT, subject="Hello Ada", body="Lesson 4 awaits.")
    make_nudge()  # someone else's
    ContactOptOut.objects.create(learner=learner, category=Category.PROGRESS, source="staff")

    document = auth_client.get(f"/api/v1/learners/{learner.pk}/export/").json()

    assert document["format_version"] == 3
    assert list(document)[-2:] == ["nudges", "audit_trail"]
    (message,) = document["nudges"]["messages"]
    assert message == {
        "id": str(sent.pk),
        "channel": "email",
        "category": "reengagement",
        "status": "sent",
        "source": "template",
        "subject": "Hello Ada",
        "body": "Lesson 4 awaits.",
        "created_at": message["created_at"],
        "sent_at": "2026-10-01T09:00:00Z",
        "read_at": None,
        "opened_at": None,
        "clicked_at": None,
    }
    assert [row["category"] for row in document["nudges"]["opted_out_of"]] == ["progress"]


def test_erasure_empties_every_nudge_and_cancels_those_not_sent(auth_client: APIClient) -> None:
    learner = LearnerFactory()
    sent = sent_nudge(learner, SENT, delivered_at=SENT, risk_snapshot={"first_name": "Ada"})
    draft = make_nudge(learner=learner, rejected_text="Ada, call 555-0100")
    scheduled = make_nudge(learner=learner, status=NudgeStatus.SCHEDULED, scheduled_for=SENT)
    other = make_nudge()

    assert auth_client.post(f"/api/v1/learners/{learner.pk}/erase/").status_code == 200

    rows: dict[Any, Nudge] = Nudge.objects.in_bulk([sent.pk, draft.pk, scheduled.pk, other.pk])
    assert rows[sent.pk].status == NudgeStatus.SENT  # counts and rates hold
    assert rows[draft.pk].status == rows[scheduled.pk].status == NudgeStatus.CANCELLED
    for nudge_id in (sent.pk, draft.pk, scheduled.pk):
        nudge = rows[nudge_id]
        assert (nudge.subject, nudge.body, nudge.rejected_text, nudge.risk_snapshot) == (
            "",
            "",
            "",
            {},
        )
    assert rows[other.pk].body == other.body and rows[other.pk].status == NudgeStatus.DRAFT
