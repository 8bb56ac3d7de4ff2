"""Data-subject rights and safe copies: export everything we hold on a learner, erase a learner,
re-encrypt under a new key, and anonymise a whole database for development use.
"""

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from engagement.accounts import users_anonymise
from engagement.audit import Actor, audit_list, audit_record
from learners.cache import learner_detail_forget, learners_data_changed
from learners.models import ActivityEvent, CoachNote, Cohort, ImportUpload, Learner, RiskAssessment
from learners.nudge_privacy import privacy_hooks
from learners.risk.explanations import assessment_factors
from learners.selectors import learner_pseudonym
from learners.services import learner_prepare

CHUNK = 2000
#: Uploads read per round trip when re-encrypting (each may hold a file of many MiB).
UPLOAD_CHUNK = 20


# The export document ----------------------------------------------------------------------------
#
# Built here, field by field, and never from the API's serializers: the API may change, the
# export format changes only on purpose, with ``EXPORT_FORMAT_VERSION`` (see docs/security.md,
# "Personal data export").

EXPORT_FORMAT_VERSION = 3


def _time(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, microseconds kept."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _export_learner(learner: Learner) -> dict[str, Any]:
    return {
        "id": str(learner.pk),
        "source": learner.source,
        "external_id": learner.external_id,
        "cohort": str(learner.cohort_id),
        "cohort_name": learner.cohort.name,
        "name": learner.name,
        "email": learner.email,
        "status": learner.status,
        "enrolled_at": _time(learner.enrolled_at),
        "finished_at": _time(learner.finished_at),
        "progress": learner.progress,
        "last_active_at": _time(learner.last_active_at),
        "nudge_opt_out": learner.nudge_opt_out,
        "locale": learner.locale,
        "timezone": learner.timezone,
        "risk_score": learner.risk_score,
        "risk_band": learner.risk_band or None,
        "risk_scored_at": _time(learner.risk_scored_at),
        "created_at": _time(learner.created_at),
        "updated_at": _time(learner.updated_at),
    }


def _export_cohort(cohort: Cohort) -> dict[str, Any]:
    return {
        "id": str(cohort.pk),
        "name": cohort.name,
        "course_code": cohort.course_code,
        "starts_on": _date(cohort.starts_on),
        "ends_on": _date(cohort.ends_on),
        "timezone": cohort.timezone,
        "created_at": _time(cohort.created_at),
        "updated_at": _time(cohort.updated_at),
    }


def _export_event(event: ActivityEvent) -> dict[str, Any]:
    return {
        "id": str(event.pk),
        "kind": event.kind,
        "occurred_at": _time(event.occurred_at),
        "duration_seconds": event.duration_seconds,
        "score": event.score,
        "source": event.source,
        "source_event_id": event.source_event_id,
        "metadata": event.metadata,
        "ingested_at": _time(event.ingested_at),
    }


def _export_assessment(assessment: RiskAssessment) -> dict[str, Any]:
    return {
        "id": str(assessment.pk),
        "as_of": _time(assessment.as_of),
        "score": assessment.score,
        "band": assessment.band,
        "model_version": assessment.model.version,
        "factors": [
            {
                "factor": factor["factor"],
                "value": float(factor["value"]),
                "contribution": float(factor["contribution"]),
                "explanation": factor["explanation"],
            }
            for factor in assessment_factors(assessment)
        ],
        "computed_at": _time(assessment.computed_at),
    }


def learner_export(*, actor: Actor, learner: Learner) -> dict[str, Any]:
    """Everything the platform holds about one learner, as one JSON-ready document (audited).

    Format ``EXPORT_FORMAT_VERSION`` (docs/security.md): ``format_version``, ``exported_at``,
    ``learner``, ``cohort``, ``activity`` (oldest first), ``risk_assessments`` (oldest first,
    each factor worded), ``risk_feedback``, ``coach_notes``, a section per privacy hook
    (``nudges``) and ``audit_trail`` (the events about the learner).
    Times are ISO 8601 UTC strings, ids are strings, absent values are ``null``.
    """
    events = ActivityEvent.objects.filter(learner=learner).order_by("occurred_at", "id")
    assessments = learner.risk_assessments.select_related("model").order_by("as_of", "id")
    feedback = learner.risk_feedback.order_by("created_at", "id")
    notes = learner.coach_notes.order_by("created_at", "id")
    history = (
        audit_list()
        .filter(target_type="learners.learner", target_id=str(learner.pk))
        .order_by("occurred_at", "id")
    )
    document = {
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": _time(timezone.now()),
        "learner": _export_learner(learner),
        "cohort": _export_cohort(learner.cohort),
        "activity": [_export_event(event) for event in events.iterator()],
        "risk_assessments": [_export_assessment(assessment) for assessment in assessments],
        "risk_feedback": [
            {"created_at": _time(row.created_at), "kind": row.kind, "note": row.note}
            for row in feedback
        ],
        "coach_notes": [
            {"created_at": _time(note.created_at), "body": note.body} for note in notes
        ],
        **{hook.key: hook.export(learner.pk) for hook in privacy_hooks()},
        "audit_trail": [
            {
                "occurred_at": _time(event.occurred_at),
                "action": event.action,
                "actor_type": event.actor_type,
                "changes": event.changes,
            }
            for event in history
        ],
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

    Name, email, the source system's identifiers, feedback notes, coach notes and what each
    privacy hook holds (the nudges' text) go; the row
    stays (as a pseudonymous learner) with its status, progress and activity times, kinds,
    durations and scores.
    """
    learner.name = learner.email = ""
    learner.external_id = f"erased-{learner.pk}"
    learner.nudge_opt_out = True
    learner.erased_at = timezone.now()
    learner_prepare(learner)
    learner.save()
    for chunk in _chunks(ActivityEvent.objects.filter(learner=learner).order_by("id")):
        for event in chunk:
            event.source_event_id = _anonymous_event_id(event.source_event_id)
            event.metadata = {}
        ActivityEvent.objects.bulk_update(chunk, ["source_event_id", "metadata"])
    learner.risk_feedback.update(note="")
    learner.coach_notes.all().delete()
    for hook in privacy_hooks():
        hook.erase(learner.pk)
    learner_detail_forget([learner.pk])
    learners_data_changed()
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
    """Re-encrypt every learner's personal data (name, email, coach notes, uploaded import files
    and their refused lines) under the primary key; returns the learners rewritten.

    Reading decrypts with any configured key and writing encrypts with the first one, so after
    this runs, older keys can be removed from ``FIELD_ENCRYPTION_KEYS``.
    """
    rewritten = 0
    for chunk in _chunks(Learner.objects.order_by("pk")):
        Learner.objects.bulk_update(chunk, ["name", "email"])
        rewritten += len(chunk)
    for notes in _chunks(CoachNote.objects.order_by("pk")):
        CoachNote.objects.bulk_update(notes, ["body"])
    uploads = ImportUpload.objects.exclude(content="", refused="").order_by("pk")
    for upload in uploads.only("id", "content", "refused").iterator(UPLOAD_CHUNK):
        upload.save(update_fields=["content", "refused"])  # one by one: each may be 25 MiB
    audit_record(
        actor=None,
        action="crypto.rotate",
        target_type="learners.learner",
        changes={"rows": rewritten},
    )
    return rewritten


ANONYMISED_NOTE = "(note removed when the database was anonymised)"


def database_anonymise() -> dict[str, int]:
    """Replace every person's data with fakes so the database is safe to use in development."""
    learners = 0
    for chunk in _chunks(Learner.objects.order_by("pk")):
        for learner in chunk:
            learner.name = learner_pseudonym(learner.pk)
            learner.email = f"learner-{str(learner.pk)[-8:]}@example.invalid"
            learner_prepare(learner)
        Learner.objects.bulk_update(chunk, ["name", "email", "email_hash", "name_tokens"])
        learners += len(chunk)
    events = ActivityEvent.objects.exclude(metadata={}).update(metadata={})
    # Uploaded files and their refused rows hold names, emails and external ids as uploaded.
    uploads = ImportUpload.objects.update(content="", refused="")
    notes = CoachNote.objects.update(body=ANONYMISED_NOTE)
    users = users_anonymise()
    audit_record(
        actor=None, action="database.anonymise", changes={"learners": learners, "users": users}
    )
    return {
        "learners": learners,
        "events_cleared": events,
        "notes_cleared": notes,
        "imports_cleared": uploads,
        "users": users,
    }
