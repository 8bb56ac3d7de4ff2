"""The nudges' part of a learner's export and erasure (a ``learners`` privacy hook registered
from ``NudgesConfig.ready()``): every nudge with its text is exported; erasure empties the
text, the rejected text and the risk snapshot of every nudge, and cancels those not sent yet."""

import uuid
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from nudges.lifecycle import CANCELLABLE
from nudges.models import ContactOptOut, Nudge, NudgeStatus

EXPORT_KEY = "nudges"


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def nudges_export(learner_id: uuid.UUID) -> dict[str, Any]:
    """The learner's nudges, oldest first, and the categories they opted out of (two queries)."""
    nudges = Nudge.objects.filter(learner_id=learner_id).order_by("created_at", "id")
    opt_outs = ContactOptOut.objects.filter(learner_id=learner_id).order_by("created_at", "id")
    return {
        "messages": [
            {
                "id": str(nudge.pk),
                "channel": nudge.channel,
                "category": nudge.category,
                "status": nudge.status,
                "source": nudge.source,
                "subject": nudge.subject,
                "body": nudge.body,
                "created_at": _time(nudge.created_at),
                "sent_at": _time(nudge.sent_at),
                "read_at": _time(nudge.read_at),
                "opened_at": _time(nudge.opened_at),
                "clicked_at": _time(nudge.clicked_at),
            }
            for nudge in nudges
        ],
        "opted_out_of": [
            {"category": row.category, "created_at": _time(row.created_at)} for row in opt_outs
        ],
    }


def nudges_erase(learner_id: uuid.UUID) -> None:
    """Nothing personal stays: nudges not delivered yet are cancelled (never delivered: the
    channel finds them cancelled), every nudge loses its text; statuses and times of the others
    stay, so counts and rates hold (two queries)."""
    now = timezone.now()
    nudges = Nudge.objects.filter(learner_id=learner_id)
    nudges.filter(
        Q(status__in=CANCELLABLE) | Q(status=NudgeStatus.SENT, delivered_at__isnull=True)
    ).update(status=NudgeStatus.CANCELLED, updated_at=now)
    nudges.update(subject="", body="", rejected_text="", risk_snapshot={}, updated_at=now)
