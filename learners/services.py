"""Every write to cohorts, learners and activity: the API, admin and commands all call these."""

import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from engagement.audit import Actor, audit_changes, audit_record, audit_record_many
from engagement.crypto import keyed_hash, word_tokens
from engagement.errors import Conflict, ValidationFailed
from engagement.ids import uuid7, uuid7_hex_batch
from engagement.input_bounds import text_problem
from engagement.iterables import chunked
from engagement.jobs import job_enqueue
from engagement.models import Job, Role, User
from engagement.roles import role_of
from engagement.services import model_update
from learners import tasks  # its schedules call the request services below
from learners.activity_listeners import activity_notify
from learners.cache import learner_detail_forget, learners_data_changed
from learners.ingestion.events import EventRecord, LearnerRef, parse_event
from learners.ingestion.storage import (
    EventRow,
    activity_events_insert,
    learners_activity_raise,
    learners_by_key,
    learners_existing,
)
from learners.ingestion.validation import Errors, learner_row
from learners.models import (
    COACH_NOTE_MAX_LENGTH,
    FINISHED_STATUSES,
    ActivityEvent,
    CoachNote,
    Cohort,
    Learner,
    RiskModel,
    course_closed_at,
)
from learners.monitoring import ingestion_count
from learners.risk.dataset import DEFAULT_CUTOFF_DAYS, cutoff_days_check
from learners.risk.kind_selection import kind_check
from learners.risk.services import rescore_as_of_check

# The same answer wherever the existing learner is: it names no cohort, id or person (see
# docs/security.md, "Existence of a learner").
DUPLICATE_IDENTITY = "A learner with this source and external id already exists."
COHORT_FIELDS = ("name", "course_code", "starts_on", "ends_on", "timezone")
LEARNER_FIELDS = (
    "cohort",
    "source",
    "external_id",
    "name",
    "email",
    "status",
    "enrolled_at",
    "finished_at",
    "nudge_opt_out",
    "locale",
    "timezone",
)
PERSONAL_FIELDS = ("name", "email")
# The fields ``learner_prepare`` derives from each given one.
LEARNER_DERIVED_FIELDS = {
    "name": ("name_tokens",),
    "email": ("email", "email_hash"),
    "status": ("finished_at",),
}
# What a CSV import writes over a stored learner (besides the lookup keys derived from them).
IMPORTED_FIELDS = ("cohort", "name", "email", "enrolled_at", "status", "finished_at")
# What the risk features read of a learner and of their cohort: a change makes the risk stale.
LEARNER_SCORING_FIELDS = frozenset({"cohort", "status", "enrolled_at", "finished_at"})
COHORT_SCORING_FIELDS = frozenset({"starts_on", "ends_on"})
IMPORT_CHUNK_SIZE = 5000


@dataclass
class IngestReport:
    """What happened to a batch: counts plus, for each refused item, its position and reasons."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def merge(self, other: "IngestReport") -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)


logger = logging.getLogger(__name__)
#: Why an event that is neither new nor a duplicate was refused (the database skipped it).
NOT_STORED = "Could not be stored (the database refused its values); nothing was kept."


# Cohorts ---------------------------------------------------------------------------------------


def cohort_create(
    *,
    actor: Actor,
    name: str,
    starts_on: date,
    course_code: str = "",
    ends_on: date | None = None,
    timezone: str = "UTC",
) -> Cohort:
    cohort = Cohort(
        name=name, course_code=course_code, starts_on=starts_on, ends_on=ends_on, timezone=timezone
    )
    cohort.full_clean()
    cohort.save()
    audit_record(actor=actor, action="cohort.create", target=cohort, changes={"name": name})
    learners_data_changed()
    return cohort


def cohort_update(*, actor: Actor, cohort: Cohort, data: Mapping[str, Any]) -> Cohort:
    cohort, changed = model_update(instance=cohort, fields=COHORT_FIELDS, data=data)
    if "name" in changed:  # learner details show their cohort's name
        learner_detail_forget(cohort.learners.values_list("id", flat=True))
    if COHORT_SCORING_FIELDS.intersection(changed):
        cohort.learners.update(risk_stale=True, updated_at=timezone.now())
        tasks.rescore_stale_soon()
    if changed:
        learners_data_changed()
        audit_record(
            actor=actor,
            action="cohort.update",
            target=cohort,
            changes=audit_changes({f: data[f] for f in changed}),
        )
    return cohort


def cohort_delete(*, actor: Actor, cohort: Cohort) -> None:
    cohorts_delete(actor=actor, cohorts=[cohort])


@transaction.atomic
def cohorts_delete(*, actor: Actor, cohorts: Iterable[Cohort]) -> None:
    """Delete cohorts, each audited as ``cohort.delete``; refuse (all of them) while one still
    has learners: their history would be orphaned."""
    cohorts = list(cohorts)
    if Learner.objects.filter(cohort__in=cohorts).exists():
        which = "This cohort still has" if len(cohorts) == 1 else "A selected cohort still has"
        raise Conflict(f"{which} learners; move or delete them first.")
    audit_record_many(actor=actor, events=(("cohort.delete", cohort, {}) for cohort in cohorts))
    Cohort.objects.filter(pk__in=[cohort.pk for cohort in cohorts]).delete()
    learners_data_changed()


# Learners --------------------------------------------------------------------------------------


def learner_prepare(
    learner: Learner, *, changed: Iterable[str] | None = None, now: datetime | None = None
) -> list[str]:
    """Derive what a learner row stores besides the values given, before it is written.

    Every writer calls this (API, admin, CSV import, erasure, anonymisation, demo data): bulk
    writes skip ``Model.save()``, so the rules cannot live there.

    - The email is trimmed and lower-cased; its keyed hash and the name's word tokens are how
      the encrypted values are looked up (``engagement.crypto``).
    - A learner still studying has no ``finished_at``; one who finished without a time given
      finished when their course closed (``course_closed_at``, as of ``now``).

    Returns the derived fields that follow from ``changed`` (every field when ``None``), for
    ``update_fields``.
    """
    learner.email = (learner.email or "").strip().lower()
    learner.email_hash = keyed_hash(learner.email)
    learner.name_tokens = " ".join(word_tokens(learner.name or ""))
    if learner.status not in FINISHED_STATUSES:
        learner.finished_at = None
    elif learner.finished_at is None:
        learner.finished_at = course_closed_at(
            learner.cohort.ends_on,
            now or timezone.now(),
            timezone_name=learner.cohort.timezone,
            enrolled_at=learner.enrolled_at,
        )
    given = LEARNER_DERIVED_FIELDS.keys() if changed is None else changed
    return sorted({field for name in given for field in LEARNER_DERIVED_FIELDS.get(name, ())})


def learner_create(
    *,
    actor: Actor,
    cohort: Cohort,
    source: str,
    external_id: str,
    enrolled_at: datetime,
    **extra: Any,
) -> Learner:
    """Create one learner; the unique insert itself decides a taken identity, so a race cannot 500."""
    unknown = set(extra) - set(LEARNER_FIELDS)
    if unknown:
        raise ValidationFailed(detail={name: ["Unknown field."] for name in sorted(unknown)})
    learner = Learner(
        cohort=cohort, source=source, external_id=external_id, enrolled_at=enrolled_at, **extra
    )
    learner.full_clean(validate_constraints=False)
    learner_prepare(learner)
    learner.validate_constraints(exclude={"external_id"})
    try:
        with transaction.atomic():
            learner.save()
    except IntegrityError:
        if not Learner.objects.filter(source=source, external_id=external_id).exists():
            raise
        raise ValidationFailed(detail={"external_id": [DUPLICATE_IDENTITY]}) from None
    audit_record(
        actor=actor, action="learner.create", target=learner, changes={"cohort": str(cohort.pk)}
    )
    learners_data_changed()
    tasks.rescore_stale_soon()
    return learner


def learner_update(*, actor: Actor, learner: Learner, data: Mapping[str, Any]) -> Learner:
    learner, changed = model_update(
        instance=learner,
        fields=LEARNER_FIELDS,
        data=data,
        derive=lambda learner, changed: learner_prepare(learner, changed=changed),
    )
    if LEARNER_SCORING_FIELDS.intersection(changed):
        Learner.objects.filter(pk=learner.pk).update(risk_stale=True)
        learner.risk_stale = True
        tasks.rescore_stale_soon()
    if changed:
        learner_detail_forget([learner.id])
        learners_data_changed()
        changes = audit_changes({name: data[name] for name in changed}, personal=PERSONAL_FIELDS)
        audit_record(actor=actor, action="learner.update", target=learner, changes=changes)
    return learner


def learner_delete(*, actor: Actor, learner: Learner) -> None:
    learners_delete(actor=actor, learners=[learner])


@transaction.atomic
def learners_delete(*, actor: Actor, learners: Iterable[Learner]) -> None:
    """Delete learners with their activity and risk history, each audited as
    ``learner.delete``."""
    learners = list(learners)
    ids = [learner.pk for learner in learners]
    audit_record_many(actor=actor, events=(("learner.delete", learner, {}) for learner in learners))
    Learner.objects.filter(pk__in=ids).delete()
    learner_detail_forget(ids)
    learners_data_changed()


# Activity ingestion ----------------------------------------------------------------------------


def coach_note_create(*, actor: User, learner: Learner, body: str) -> CoachNote:
    """Add a coach's note to a learner; audited without its text (a note is personal data).

    Checked here so that every door (API, page) refuses the same notes: browsers send line breaks
    as CRLF, so those count as one character each, and text PostgreSQL cannot store is refused.
    """
    text = body.replace("\r\n", "\n").strip()
    if problem := text_problem(text):
        raise ValidationFailed(detail={"body": [f"Must be valid text: it {problem}."]})
    if not text:
        raise ValidationFailed(detail={"body": ["Write something first: the note is empty."]})
    if len(text) > COACH_NOTE_MAX_LENGTH:
        raise ValidationFailed(
            detail={
                "body": [
                    f"At most {COACH_NOTE_MAX_LENGTH:,} characters; this note has {len(text):,}."
                ]
            }
        )
    note = CoachNote.objects.create(learner=learner, author=actor, body=text)
    audit_record(
        actor=actor, action="learner.note.create", target=learner, changes={"note": str(note.pk)}
    )
    return note


def coach_note_delete(*, actor: User, note: CoachNote) -> None:
    """Delete a note: its author may, and admins may; other coaches of the cohort may not."""
    if role_of(actor) != Role.ADMIN and note.author_id != actor.pk:
        raise PermissionDenied("Only the note's author or an admin may delete it.")
    audit_record(
        actor=actor,
        action="learner.note.delete",
        target_type="learners.learner",
        target_id=str(note.learner_id),
        changes={"note": str(note.pk)},
    )
    note.delete()


def _resolve_learners(refs: Iterable[LearnerRef]) -> dict[LearnerRef, uuid.UUID]:
    """Look every reference up in at most two queries (by id, by source + external id)."""
    by_id = {ref.learner_id for ref in refs if ref.learner_id}
    by_external = {(ref.source, ref.external_id) for ref in refs if not ref.learner_id}
    found: dict[LearnerRef, uuid.UUID] = {}
    if by_id:
        for learner_id in learners_existing(by_id):
            found[LearnerRef(learner_id=learner_id)] = learner_id
    if by_external:
        for (source, external_id), learner_id in learners_by_key(by_external).items():
            found[LearnerRef(source=source, external_id=external_id)] = learner_id
    return found


def _unknown_learner(ref: LearnerRef) -> Errors:
    if ref.learner_id:
        return {"learner_id": [f"No learner with id '{ref.learner_id}'."]}
    return {
        "learner_external_id": [
            f"No learner with source '{ref.source}' and external id '{ref.external_id}'."
        ]
    }


def events_store(
    *, records: Sequence[tuple[int, EventRecord]], report: IngestReport | None = None
) -> IngestReport:
    """Store already-validated events idempotently: a few statements whatever the batch size.

    New ``(source, source_event_id)`` pairs are inserted, pairs already stored (or repeated
    within the batch) count as duplicates, rows the database skips for another reason are
    rejected, and each touched learner's ``last_active_at`` moves to its newest new event.
    Safe against concurrent batches that overlap.
    """
    report = report or IngestReport()
    learners = _resolve_learners({record.learner for _, record in records})
    ingested_at = timezone.now()
    ids = _event_ids(len(records))
    rows: list[tuple[int, EventRow]] = []
    seen: set[tuple[str, str]] = set()
    for (index, record), event_id in zip(records, ids, strict=True):
        learner_id = learners.get(record.learner)
        if learner_id is None:
            report.rejected.append({"index": index, "errors": _unknown_learner(record.learner)})
            continue
        key = (record.source, record.source_event_id)
        if key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        rows.append((index, _event_row(record, event_id, learner_id, ingested_at)))
    if rows:
        _account_insert(rows, report)
    return report


def _account_insert(rows: list[tuple[int, EventRow]], report: IngestReport) -> None:
    """Insert the rows and count each exactly: landed, already stored (a duplicate), or refused.

    A row that neither landed nor has its ``(source, source_event_id)`` stored was skipped by the
    database for another reason (a failed check): it is refused, never passed off as a duplicate.
    """
    landed = _insert_new_events([row for _, row in rows])
    stored = _stored_event_keys(
        {(row.source, row.source_event_id) for _, row in rows if row.id not in landed}
    )
    for index, row in rows:
        if row.id in landed:
            report.accepted += 1
        elif (row.source, row.source_event_id) in stored:
            report.duplicates += 1
        else:
            logger.error("Event %s/%s was not stored.", row.source, row.source_event_id)
            report.rejected.append({"index": index, "errors": {"non_field_errors": [NOT_STORED]}})


def _stored_event_keys(keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these ``(source, source_event_id)`` pairs are stored, in one query."""
    if not keys:
        return set()
    rows = ActivityEvent.objects.filter(
        source__in={source for source, _ in keys},
        source_event_id__in={event_id for _, event_id in keys},
    ).values_list("source", "source_event_id")
    return {key for key in rows if key in keys}


def _event_ids(count: int) -> list[uuid.UUID]:
    """``count`` new UUIDv7s sharing this millisecond, from one read of the system's randomness
    (half the cost of generating each on its own, which a 5,000-event batch notices)."""
    return [uuid.UUID(text) for text in uuid7_hex_batch(count)]


def _event_row(
    record: EventRecord, event_id: uuid.UUID, learner_id: uuid.UUID, ingested_at: datetime
) -> EventRow:
    return EventRow(
        id=event_id,
        learner_id=learner_id,
        kind=record.kind,
        occurred_at=record.occurred_at,
        duration_seconds=record.duration_seconds,
        score=record.score,
        source=record.source,
        source_event_id=record.source_event_id,
        metadata=record.metadata,
        ingested_at=ingested_at,
    )


def _insert_new_events(rows: list[EventRow]) -> set[uuid.UUID]:
    """Insert, skipping conflicts; returns the ids (generated here) of the rows that landed.

    Rows go in sorted by their unique key so that concurrent overlapping batches take row
    locks in the same order and cannot deadlock. The touched learners are updated after the
    insert has committed, in a short statement of their own, so the insert never waits on a
    learner row and a learner row is never held for the length of an insert.
    """
    rows.sort(key=lambda row: (row.source, row.source_event_id))
    landed = activity_events_insert(rows)
    if landed:
        new = [row for row in rows if row.id in landed]
        latest: dict[uuid.UUID, datetime] = {}
        for row in new:
            if row.learner_id not in latest or latest[row.learner_id] < row.occurred_at:
                latest[row.learner_id] = row.occurred_at
        learners_touch_activity(latest=latest)
        activity_notify((row.learner_id, row.occurred_at) for row in new)
    return landed


def learners_touch_activity(*, latest: Mapping[uuid.UUID, datetime]) -> None:
    """Move each learner's ``last_active_at`` up to the newest of their just-stored events and
    mark them for rescoring; ``latest`` maps learner id to that newest ``occurred_at``.

    Call it once the events have committed. The end state is that of recomputing
    ``last_active_at`` from every stored event (events only ever arrive, so the maximum only
    grows), without reading any history. Only rows that change are locked and written, in id
    order, so concurrent batches that share learners queue instead of deadlocking.
    """
    if not latest:
        return
    learners_activity_raise(latest, now=timezone.now())
    learner_detail_forget(latest)
    tasks.rescore_stale_soon()


def events_ingest(
    *, items: Sequence[Any], door: str = "api", now: datetime | None = None
) -> IngestReport:
    """Validate a batch item by item and store the valid ones; re-sending it changes nothing.

    ``door`` (``api`` or ``csv``) names where the batch came in, for the ingestion metrics.
    """
    now = now or timezone.now()
    report = IngestReport()
    valid: list[tuple[int, EventRecord]] = []
    for index, item in enumerate(items):
        record, errors = parse_event(item, now=now)
        if record is None:
            report.rejected.append({"index": index, "errors": errors})
        else:
            valid.append((index, record))
    events_store(records=valid, report=report)
    report.rejected.sort(key=lambda row: row["index"])
    ingestion_count(
        door, accepted=report.accepted, duplicates=report.duplicates, rejected=len(report.rejected)
    )
    return report


# CSV imports -----------------------------------------------------------------------------------


def events_import(
    *,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    via: str,
    chunk_size: int = IMPORT_CHUNK_SIZE,
    now: datetime | None = None,
) -> Iterator[IngestReport]:
    """Import activity rows ``(line_number, row)`` chunk by chunk; yields one report per chunk.

    Rejected entries carry the line number as ``index``. Columns follow the public CSV format
    (``learner_external_id, source, kind, occurred_at, duration_seconds, score, source_event_id``).
    Events are not audited one by one (as on the API); each chunk leaves one ``events.import``
    event with its counts and ``via`` naming the door. The Python path: PostgreSQL imports files
    set-based (``learners.ingestion.activity_copy``) and sends here what it cannot vouch for.
    """
    now = now or timezone.now()
    for chunk in chunked(rows, chunk_size):
        items = [{**row, "learner_source": row.get("source")} for _, row in chunk]
        report = events_ingest(items=items, door="csv", now=now)
        for rejected in report.rejected:
            rejected["index"] = chunk[rejected["index"]][0]
        events_import_record(report, via=via)
        yield report


def events_import_record(report: IngestReport, *, via: str) -> None:
    """Leave the ``events.import`` audit event of one imported chunk (its counts, its door)."""
    audit_record(
        actor=None,
        action="events.import",
        target_type=ActivityEvent._meta.label_lower,
        changes={
            "via": via,
            "accepted": report.accepted,
            "duplicates": report.duplicates,
            "rejected": len(report.rejected),
        },
    )


def _cohorts_for(
    names: set[str], first_dates: dict[str, date]
) -> tuple[dict[str, Cohort], list[Cohort]]:
    """Cohorts by name, and the ones created here: missing cohorts are created, starting on
    their first enrolment."""
    cohorts = {cohort.name: cohort for cohort in Cohort.objects.filter(name__in=names)}
    missing = [
        Cohort(id=uuid7(), name=name, starts_on=first_dates[name])
        for name in names - cohorts.keys()
    ]
    if not missing:
        return cohorts, []
    Cohort.objects.bulk_create(missing, ignore_conflicts=True)
    cohorts.update(
        {cohort.name: cohort for cohort in Cohort.objects.filter(name__in=names - cohorts.keys())}
    )
    return cohorts, [cohort for cohort in missing if cohorts[cohort.name].pk == cohort.pk]


def _stored_learners(keys: set[tuple[str, str]]) -> dict[tuple[str, str], Learner]:
    """The learners already stored under these ``(source, external_id)`` keys, in one query."""
    rows = Learner.objects.filter(
        source__in={source for source, _ in keys},
        external_id__in={external_id for _, external_id in keys},
    ).only("id", "source", "external_id", *IMPORTED_FIELDS)
    return {
        (learner.source, learner.external_id): learner
        for learner in rows
        if (learner.source, learner.external_id) in keys
    }


def _upsert_learners(
    values: list[dict[str, Any]],
    cohorts: dict[str, Cohort],
    stored: dict[tuple[str, str], Learner],
) -> list[Learner]:
    """Insert or update by ``(source, external_id)``; returns the learners as written.

    A row without ``finished_at`` keeps the stored one (unless the row moves the enrolment past
    it): re-importing a file does not move the time a learner finished (and with it their final
    risk) to the time of the import."""
    now = timezone.now()
    learners = [
        Learner(
            id=uuid7(),
            cohort=cohorts[row.pop("cohort")],
            created_at=now,
            updated_at=now,
            risk_stale=True,
            **row,
        )
        for row in values
    ]
    for learner in learners:
        before = stored.get((learner.source, learner.external_id))
        if learner.finished_at is None and before is not None:
            kept = before.finished_at
            learner.finished_at = kept if kept and kept >= learner.enrolled_at else None
        learner_prepare(learner, now=now)
    Learner.objects.bulk_create(
        learners,
        update_conflicts=True,
        unique_fields=["source", "external_id"],
        update_fields=[*IMPORTED_FIELDS, "email_hash", "name_tokens", "risk_stale", "updated_at"],
    )
    return learners


def _import_audit_events(
    learners: list[Learner],
    stored: dict[tuple[str, str], Learner],
    created_cohorts: list[Cohort],
    *,
    via: str,
) -> Iterator[tuple[str, Cohort | Learner, dict[str, Any]]]:
    """The events the API would write for the same changes, each naming the command (``via``):
    cohorts created, learners created, learners whose imported fields changed."""
    for cohort in created_cohorts:
        yield "cohort.create", cohort, {"name": cohort.name, "via": via}
    for learner in learners:
        before = stored.get((learner.source, learner.external_id))
        if before is None:
            yield "learner.create", learner, {"cohort": str(learner.cohort_id), "via": via}
            continue
        changed = {
            name: learner.serializable_value(name)
            for name in IMPORTED_FIELDS
            if learner.serializable_value(name) != before.serializable_value(name)
        }
        if changed:
            changes = audit_changes(changed, personal=PERSONAL_FIELDS)
            yield "learner.update", before, {**changes, "via": via}


def learners_import(
    *,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    via: str,
    chunk_size: int = IMPORT_CHUNK_SIZE,
) -> Iterator[IngestReport]:
    """Upsert learners by ``(source, external_id)`` chunk by chunk; yields one report per chunk.

    ``accepted`` counts rows written (created or updated); later rows for the same learner in a
    chunk win. Cohorts named in the file are created when missing. Each created cohort, created
    learner and changed learner gets its audit event (system actor, ``via`` naming the door),
    written in bulk with the chunk.
    """
    now = timezone.now()
    for chunk in chunked(rows, chunk_size):
        report = IngestReport()
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for line, row in chunk:
            values, errors = learner_row(row, now=now)
            if values is None:
                report.rejected.append({"index": line, "errors": errors})
                continue
            key = (values["source"], values["external_id"])
            report.duplicates += key in latest
            latest[key] = values
        if latest:
            first_dates: dict[str, date] = {}
            for values in latest.values():
                first_dates[values["cohort"]] = min(
                    first_dates.get(values["cohort"], date.max), values["enrolled_at"].date()
                )
            with transaction.atomic():
                cohorts, created_cohorts = _cohorts_for(set(first_dates), first_dates)
                stored = _stored_learners(set(latest))
                learners = _upsert_learners(list(latest.values()), cohorts, stored)
                audit_record_many(
                    actor=None,
                    events=_import_audit_events(learners, stored, created_cohorts, via=via),
                )
            learner_detail_forget(
                [learner.id for learner in learners] + [learner.id for learner in stored.values()]
            )
            learners_data_changed()
            tasks.rescore_stale_soon()
        report.accepted = len(latest)
        yield report


# Risk models ------------------------------------------------------------------------------------


def risk_model_notes_set(*, actor: Actor, model: RiskModel, notes: str) -> RiskModel:
    """The staff's notes on a model version (the only field written by hand), audited."""
    if model.notes != notes:
        model.notes = notes
        model.save(update_fields=["notes", "updated_at"])
        audit_record(
            actor=actor, action="risk_model.update", target=model, changes={"notes": "(changed)"}
        )
    return model


# Background work: one request service per job kind ----------------------------------------------


def learners_rescore_request(
    *,
    cohort_id: uuid.UUID | str | None = None,
    as_of: datetime | None = None,
    stale_only: bool = False,
    requested_by: User | None = None,
    idempotency_key: str = "",
    in_process: bool = False,
) -> Job:
    """Ask for a ``learners.rescore`` job (see ``learners.risk.services.learners_rescore``).

    The cohort must exist and ``as_of`` must be a time scores may be taken as of (not in the
    future, not before the cohort started): refused with ``ValidationFailed`` naming the field.
    """
    cohort_pk = None
    if cohort_id is not None:
        try:
            cohort_pk = Cohort.objects.filter(pk=cohort_id).values_list("pk", flat=True).first()
        except DjangoValidationError:  # not an id at all
            cohort_pk = None
        if cohort_pk is None:
            missing = "No cohort with this id."
            raise ValidationFailed(missing, detail={"cohort_id": [missing]})
    if as_of is not None:
        try:
            rescore_as_of_check(as_of, cohort_id=cohort_pk)
        except ValueError as exc:
            raise ValidationFailed(str(exc), detail={"as_of": [str(exc)]}) from exc
    params = {
        "cohort_id": None if cohort_pk is None else str(cohort_pk),
        "as_of": None if as_of is None else as_of.isoformat(),
        "stale_only": stale_only,
    }
    return job_enqueue(
        tasks.learners_rescore_task,
        params,
        requested_by=requested_by,
        idempotency_key=idempotency_key,
        in_process=in_process,
    )


def risk_model_train_request(
    *,
    cutoff_days: int = DEFAULT_CUTOFF_DAYS,
    kind: str = "auto",
    activate: bool = False,
    force: bool = False,
    requested_by: User | None = None,
    idempotency_key: str = "",
    in_process: bool = False,
) -> Job:
    """Ask for a ``learners.train_risk_model`` job (see ``learners.risk.services.risk_model_train``).

    A cutoff outside the training range, an unknown kind or ``force`` without ``activate`` (it
    would silently do nothing) is refused with ``ValidationFailed``.
    """
    cutoff_days_check(cutoff_days)
    kind_check(kind)
    if force and not activate:
        reason = "Only applies together with activate."
        raise ValidationFailed(f"Invalid force: {reason}", detail={"force": [reason]})
    return job_enqueue(
        tasks.risk_model_train_task,
        {"cutoff_days": cutoff_days, "kind": kind, "activate": activate, "force": force},
        requested_by=requested_by,
        idempotency_key=idempotency_key,
        in_process=in_process,
    )


def ingest_limit() -> int:
    """Largest batch one ingestion request may carry (``INGEST_MAX_EVENTS``)."""
    return int(settings.INGEST_MAX_EVENTS)
