"""A nudge's lifecycle: draft → approved → scheduled → sent / failed, or cancelled / suppressed
(with the policy rule that suppressed it).

Every transition is one conditional UPDATE on the nudge's current status, so of two callers
(a task run twice, two coaches clicking) only one moves it; sending writes the nudge's outbox
message (idempotency key ``nudge:<id>``) in the same transaction, so a nudge is handed to its
channel at most once, and the channel (``nudges.delivery``) hands it on at most once even when
a worker dies mid-send. Sending always goes through the contact policy (``nudges.policy``):
the policy may suppress it, or defer it to the end of the learner's quiet hours (status
``scheduled``); a beat task (:func:`nudges_send_due`) sends what is due, judged again then.

``sent`` means handed to the outbox in a committed transaction; a channel that fails on its
last attempt turns the nudge ``failed`` with the error's type.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, DateTimeField, F, UUIDField, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from engagement.audit import Actor, audit_changes, audit_record, audit_record_many
from engagement.errors import Conflict, ValidationFailed
from engagement.models import User
from engagement.outbox import outbox_enqueue_many
from learners.contracts import learner_contacts, visible_cohort_ids
from nudges.guardrails import staff_text_failures
from nudges.models import Category, Channel, Nudge, NudgeSource, NudgeStatus
from nudges.policy import SEND_NOW, Decision, policy_decide, policy_lock

#: The outbox channel of each nudge channel (registered by ``nudges.apps``).
OUTBOX_CHANNELS = {Channel.EMAIL: "nudge_email", Channel.IN_APP: "in_app"}
SENDABLE = (NudgeStatus.DRAFT, NudgeStatus.APPROVED, NudgeStatus.SCHEDULED)
CANCELLABLE = SENDABLE
#: Scheduled nudges sent per run of the beat task (the rest wait for the next minute).
SEND_DUE_BATCH = 500
#: The one answer for a learner unknown or outside the caller's cohorts.
NO_LEARNER = "No learner with this id."


def outbox_key(nudge_id: uuid.UUID | str) -> str:
    return f"nudge:{nudge_id}"


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


def _refused(nudge: Nudge, verb: str, allowed: Iterable[str]) -> Conflict:
    current = Nudge.objects.filter(pk=nudge.pk).values_list("status", flat=True).first()
    names = ", ".join(allowed)
    return Conflict(
        detail={"status": [f"Only a nudge that is {names} can be {verb}; this one is {current}."]}
    )


def _staff_rule_message(rule: str, limit: int) -> str:
    """A guardrail a field of staff-written text broke, in plain words."""
    domains = ", ".join(settings.NUDGE_ALLOWED_LINK_DOMAINS)
    return {
        "length": f"At most {limit} characters (the limit for every nudge).",
        "email": "No email addresses: a nudge carries no contact details.",
        "phone": "No phone numbers: a nudge carries no contact details.",
        "link": (
            f"Links only to {domains} (or their subdomains)."
            if domains
            else "No links: no website is allowed in nudges."
        ),
        "tone": 'No shaming or threatening words (such as "lazy", "or else", "last warning").',
    }[rule]


def _manual_text_errors(*, channel: str, subject: str, body: str) -> dict[str, list[str]]:
    """Why staff-written text may not be a nudge, by field: an email needs a subject (of one
    line: a mail header), every nudge a body, and both pass the guardrails that apply to staff
    (``STAFF_RULES``)."""
    errors: dict[str, list[str]] = {}
    limits = {"subject": settings.NUDGE_MAX_SUBJECT_CHARS, "body": settings.NUDGE_MAX_BODY_CHARS}
    for field, rules in staff_text_failures(subject=subject, body=body).items():
        errors[field] = [_staff_rule_message(rule, limits[field]) for rule in rules]
    if channel == Channel.EMAIL and not subject.strip():
        errors.setdefault("subject", []).insert(0, "An email needs a subject.")
    if "\n" in subject or "\r" in subject:
        errors.setdefault("subject", []).append("A subject is one line.")
    if not body.strip():
        errors.setdefault("body", []).insert(0, "Write the message.")
    return errors


@transaction.atomic
def nudge_create_manual(
    *,
    learner_id: uuid.UUID,
    channel: str,
    subject: str,
    body: str,
    actor: Actor,
    category: str = Category.REENGAGEMENT,
) -> Nudge:
    """A draft nudge written by staff (``source=manual``) for a learner in the actor's cohorts,
    held to the guardrails that protect learners from any text (``STAFF_RULES``).

    ``ValidationFailed`` names each field and why; a learner unknown or outside the actor's
    cohorts is the same ``{"learner": [...]}`` answer, so nothing is disclosed.
    """
    errors = _manual_text_errors(channel=channel, subject=subject, body=body)
    contact = learner_contacts([learner_id]).get(learner_id)
    cohorts = visible_cohort_ids(actor=actor)
    if contact is None or (cohorts is not None and contact.cohort_id not in cohorts):
        errors["learner"] = [NO_LEARNER]
    if errors:
        raise ValidationFailed(detail=errors)
    nudge = Nudge.objects.create(
        learner_id=learner_id,
        channel=channel,
        category=category,
        source=NudgeSource.MANUAL,
        subject=subject,
        body=body,
        created_by=_user(actor),
    )
    audit_record(
        actor=actor,
        action="nudge.create",
        target=nudge,
        changes=audit_changes(
            {
                "learner": str(learner_id),
                "channel": channel,
                "source": NudgeSource.MANUAL,
                "subject": subject,
                "body": body,
            },
            personal=("subject", "body"),
        ),
    )
    return nudge


@transaction.atomic
def nudge_approve(*, nudge: Nudge, actor: Actor) -> Nudge:
    """A draft becomes approved: it may be sent (now, later, or by a campaign)."""
    now = timezone.now()
    moved = Nudge.objects.filter(pk=nudge.pk, status=NudgeStatus.DRAFT).update(
        status=NudgeStatus.APPROVED, approved_by=_user(actor), approved_at=now, updated_at=now
    )
    if not moved:
        raise _refused(nudge, "approved", [NudgeStatus.DRAFT])
    audit_record(actor=actor, action="nudge.approve", target=nudge, changes={"status": "approved"})
    nudge.refresh_from_db()
    return nudge


@transaction.atomic
def nudge_cancel(*, nudge: Nudge, actor: Actor) -> Nudge:
    """A nudge not sent yet (draft, approved or scheduled) will never be sent."""
    moved = Nudge.objects.filter(pk=nudge.pk, status__in=CANCELLABLE).update(
        status=NudgeStatus.CANCELLED, updated_at=timezone.now()
    )
    if not moved:
        raise _refused(nudge, "cancelled", CANCELLABLE)
    audit_record(actor=actor, action="nudge.cancel", target=nudge, changes={"status": "cancelled"})
    nudge.refresh_from_db()
    return nudge


def nudge_send(
    *, nudge: Nudge, actor: Actor, at: datetime | None = None, now: datetime | None = None
) -> Nudge:
    """Send a draft (approving it), approved or scheduled nudge now, or schedule it for ``at``.

    Now: the contact policy suppresses it, defers it past the learner's quiet hours, or lets it
    go to its channel. Later: it waits as ``scheduled`` and the policy judges it when due.
    ``Conflict`` for a nudge in any other status (sent already, cancelled, ...).
    """
    now = now or timezone.now()
    if at is not None and at > now:
        return _schedule(nudge=nudge, actor=actor, at=at, now=now)
    counts = nudges_send(nudge_ids=[nudge.pk], actor=actor, now=now)
    if not any(counts.values()):
        raise _refused(nudge, "sent", SENDABLE)
    nudge.refresh_from_db()
    return nudge


@transaction.atomic
def _schedule(*, nudge: Nudge, actor: Actor, at: datetime, now: datetime) -> Nudge:
    moved = Nudge.objects.filter(pk=nudge.pk, status__in=SENDABLE).update(
        status=NudgeStatus.SCHEDULED, scheduled_for=at, updated_at=now, **_approval(actor, now)
    )
    if not moved:
        raise _refused(nudge, "scheduled", SENDABLE)
    audit_record(
        actor=actor,
        action="nudge.schedule",
        target=nudge,
        changes={"status": "scheduled", "scheduled_for": at.isoformat()},
    )
    nudge.refresh_from_db()
    return nudge


def _approval(actor: Actor, now: datetime) -> dict[str, Any]:
    """Sending or scheduling a draft approves it: who and when, unless approved already."""
    user = _user(actor)
    approval: dict[str, Any] = {
        "approved_at": Coalesce(F("approved_at"), Value(now, output_field=DateTimeField()))
    }
    if user is not None:
        approval["approved_by"] = Coalesce(
            F("approved_by"), Value(user.pk, output_field=UUIDField())
        )
    return approval


@transaction.atomic
def nudges_send(
    *, nudge_ids: Sequence[uuid.UUID], actor: Actor, now: datetime | None = None
) -> dict[str, int]:
    """Send the sendable nudges among ``nudge_ids`` now, as far as the contact policy allows,
    in a constant number of queries; returns how many were ``sent``, ``scheduled`` (deferred
    by quiet hours) and ``suppressed``. Nudges no longer sendable (sent, cancelled, taken by
    another caller) are left alone and not counted.

    The rows are locked first, then their learners (:func:`~nudges.policy.policy_lock`), so
    concurrent callers (PostgreSQL) judge the policy one after the other, whether they send the
    same nudges or different nudges to the same learners; every transition is conditional on
    the status it leaves.
    """
    now = now or timezone.now()
    nudges = list(
        Nudge.objects.select_for_update()
        .filter(pk__in=nudge_ids, status__in=SENDABLE)
        .only("id", "learner_id", "channel", "category", "subject", "body", "created_at")
        .order_by("created_at", "id")
    )
    policy_lock(nudge.learner_id for nudge in nudges)
    decisions = policy_decide(nudges, now=now)
    sendable = Nudge.objects.filter(status__in=SENDABLE)
    approval = _approval(actor, now)
    sent = [nudge for nudge in nudges if decisions[nudge.pk] == SEND_NOW]
    deferred = [nudge for nudge in nudges if decisions[nudge.pk].deferred]
    suppressed: dict[str, list[Nudge]] = defaultdict(list)
    for nudge in nudges:
        if decisions[nudge.pk].suppressed:
            suppressed[decisions[nudge.pk].rule].append(nudge)
    if sent:
        sendable.filter(pk__in=[nudge.pk for nudge in sent]).update(
            status=NudgeStatus.SENT, sent_at=now, scheduled_for=None, updated_at=now, **approval
        )
        for channel, outbox_channel in OUTBOX_CHANNELS.items():
            messages = {
                outbox_key(nudge.pk): {"nudge": str(nudge.pk)}
                for nudge in sent
                if nudge.channel == channel
            }
            if messages:
                outbox_enqueue_many(channel=outbox_channel, messages=messages)
    if deferred:
        sendable.filter(pk__in=[nudge.pk for nudge in deferred]).update(
            status=NudgeStatus.SCHEDULED,
            scheduled_for=Case(
                *(When(pk=nudge.pk, then=Value(decisions[nudge.pk].send_at)) for nudge in deferred)
            ),
            updated_at=now,
            **approval,
        )
    for rule, rows in suppressed.items():
        sendable.filter(pk__in=[nudge.pk for nudge in rows]).update(
            status=NudgeStatus.SUPPRESSED, suppressed_rule=rule, updated_at=now
        )
    audit_record_many(
        actor=actor,
        events=[("nudge.send", nudge, _outcome(decisions[nudge.pk])) for nudge in nudges],
    )
    return {
        "sent": len(sent),
        "scheduled": len(deferred),
        "suppressed": sum(len(rows) for rows in suppressed.values()),
    }


def _outcome(decision: Decision) -> dict[str, str]:
    """What the audit log says of one nudge's send: its new status and the rule, if any."""
    if decision.suppressed:
        return {"status": NudgeStatus.SUPPRESSED, "rule": decision.rule}
    if decision.deferred and decision.send_at is not None:
        return {
            "status": NudgeStatus.SCHEDULED,
            "rule": decision.rule,
            "scheduled_for": decision.send_at.isoformat(),
        }
    return {"status": NudgeStatus.SENT}


def nudges_send_due(*, now: datetime | None = None, limit: int = SEND_DUE_BATCH) -> dict[str, int]:
    """Send the scheduled nudges whose time has come (the beat task, every minute), oldest due
    first; the policy judges each again now. Safe to run twice at once: a nudge moves once."""
    now = now or timezone.now()
    due = list(
        Nudge.objects.filter(status=NudgeStatus.SCHEDULED, scheduled_for__lte=now)
        .order_by("scheduled_for", "id")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return {"sent": 0, "scheduled": 0, "suppressed": 0}
    return nudges_send(nudge_ids=due, actor=None, now=now)


def nudge_mark_read(*, nudge: Nudge, actor: Actor) -> Nudge:
    """The learner read an in-app nudge (a receipt from their platform); the first read counts
    and a second receipt changes nothing."""
    now = timezone.now()
    if Nudge.objects.filter(pk=nudge.pk, read_at__isnull=True).update(read_at=now):
        audit_record(actor=actor, action="nudge.read", target=nudge, changes={"read": True})
    nudge.refresh_from_db()
    return nudge
