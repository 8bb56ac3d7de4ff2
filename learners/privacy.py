"""Data-subject rights and safe copies: export everything we hold on a learner, erase a learner,
re-encrypt under a new key, and anonymise a whole database for development use.
"""

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from engagement.accounts import users_anonymise
from engagement.audit import Actor, audit_list, audit_record
from learners.api.serializers import (
    ActivityEventOutputSerializer,
    CohortOutputSerializer,
    LearnerOutputSerializer,
    RiskAssessmentOutputSerializer,
)
from learners.cache import learner_detail_forget
from learners.models import ActivityEvent, Learner

CHUNK = 2000


def learner_export(*, actor: Actor, learner: Learner) -> dict[str, Any]:
    """Everything the platform holds about one learner, as one JSON-ready document."""
    events = ActivityEvent.objects.filter(learner=learner).order_by("occurred_at", "id")
    history = (
        audit_list()
        .filter(target_type="learners.learner", target_id=str(learner.pk))
        .order_by("occurred_at", "id")
    )
    document = {
        "exported_at": timezone.now().isoformat(),
        "learner": dict(LearnerOutputSerializer(learner).data),
        "cohort": dict(CohortOutputSerializer(learner.cohort).data),
        "activity": ActivityEventOutputSerializer(events, many=True).data,
        "risk_assessments": RiskAssessmentOutputSerializer(
            learner.risk_assessments.select_related("model").order_by("as_of"), many=True
        ).data,
        "risk_feedback": list(
            learner.risk_feedback.order_by("created_at").values("created_at", "kind", "note")
        ),
        "audit_trail": list(history.values("occurred_at", "action", "actor_type", "changes")),
    }
    audit_record(actor=actor, action="learner.export", target=learner)
    return document


def _anonymous_event_id(source_event_id: str) -> str:
    """A stable stand-in for the source system's event id, useless without our key."""
    digest = hmac.new(settings.FIELD_HASH_KEY.encode(), source_event_id.encode(), hashlib.sha256)
    return f"erased-{digest.hexdigest()[:40]}"


@transaction.atomic
def learner_erase(*, actor: Actor, learner: Learner) -> Learner:
    """Remove personal data; keep activity only in anonymised form so aggregates stay intact.

    Name, email and the source system's identifiers go; the row stays (as a pseudonymous
    learner) with its status, progress and activity times, kinds, durations and scores.
    """
    learner.name = learner.email = ""
    learner.external_id = f"erased-{learner.pk}"
    learner.nudge_opt_out = True
    learner.erased_at = timezone.now()
    learner.save()
    for chunk in _chunks(ActivityEvent.objects.filter(learner=learner).order_by("id")):
        for event in chunk:
            event.source_event_id = _anonymous_event_id(event.source_event_id)
            event.metadata = {}
        ActivityEvent.objects.bulk_update(chunk, ["source_event_id", "metadata"])
    learner.risk_feedback.update(note="")
    learner_detail_forget([learner.pk])
    audit_record(actor=actor, action="learner.erase", target=learner)
    return learner


def _chunks(queryset: QuerySet[Any]) -> Iterator[list[Any]]:
    """Rows in primary-key order, ``CHUNK`` at a time, without holding the table in memory."""
    last = None
    while True:
        page = queryset.filter(pk__gt=last) if last is not None else queryset
        rows = list(page[:CHUNK])
        if not rows:
            return
        yield rows
        last = rows[-1].pk


def learners_reencrypt() -> int:
    """Re-encrypt every learner's personal data under the primary key; returns rows rewritten.

    Reading decrypts with any configured key and writing encrypts with the first one, so after
    this runs, older keys can be removed from ``FIELD_ENCRYPTION_KEYS``.
    """
    rewritten = 0
    for chunk in _chunks(Learner.objects.order_by("pk")):
        Learner.objects.bulk_update(chunk, ["name", "email"])
        rewritten += len(chunk)
    audit_record(
        actor=None,
        action="crypto.rotate",
        target_type="learners.learner",
        changes={"rows": rewritten},
    )
    return rewritten


def database_anonymise() -> dict[str, int]:
    """Replace every person's data with fakes so the database is safe to use in development."""
    learners = 0
    for chunk in _chunks(Learner.objects.order_by("pk")):
        for learner in chunk:
            learner.name = f"Learner {str(learner.pk)[-8:]}"
            learner.email = f"learner-{str(learner.pk)[-8:]}@example.invalid"
            learner.refresh_lookup_keys()
        Learner.objects.bulk_update(chunk, ["name", "email", "email_hash", "name_tokens"])
        learners += len(chunk)
    events = ActivityEvent.objects.exclude(metadata={}).update(metadata={})
    users = users_anonymise()
    audit_record(
        actor=None, action="database.anonymise", changes={"learners": learners, "users": users}
    )
    return {"learners": learners, "events_cleared": events, "users": users}
