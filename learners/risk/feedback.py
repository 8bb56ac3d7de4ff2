"""Coach feedback on assessments and the daily high-risk digest that respects it."""

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from engagement.audit import Actor, audit_record, audit_record_many
from engagement.models import Role, User
from engagement.outbox import EMAIL_CHANNEL, outbox_enqueue_many
from engagement.wording import counted
from learners.models import (
    STUDYING_STATUSES,
    CohortAssignment,
    Learner,
    RiskAlert,
    RiskAlertDelivery,
    RiskAlertReason,
    RiskAlertStatus,
    RiskFeedback,
)
from learners.risk.selectors import current_assessments, learner_assessments_to_current


def risk_feedback_create(
    *, actor: Actor, learner: Learner, kind: str, note: str = ""
) -> RiskFeedback:
    """Record a coach's verdict on the learner's current assessment."""
    assessment = learner_assessments_to_current(learner=learner).first()
    feedback = RiskFeedback.objects.create(
        learner=learner,
        assessment=assessment,
        kind=kind,
        note=note,
        score_at_feedback=assessment.score if assessment else (learner.risk_score or 0.0),
        created_by=actor if isinstance(actor, User) else None,
    )
    audit_record(actor=actor, action="risk.feedback", target=learner, changes={"kind": kind})
    return feedback


@transaction.atomic
def risk_feedback_create_many(
    *, actor: Actor, learner_ids: Collection[uuid.UUID], kind: str, note: str = ""
) -> int:
    """Record the same verdict on the current assessment of each of ``learner_ids`` (a coach's
    bulk "mark acknowledged"), audited per learner as :func:`risk_feedback_create` is, in four
    statements whatever their number. The caller has checked the ids are in its scope."""
    learners = list(Learner.objects.filter(pk__in=learner_ids).only("id", "risk_score"))
    current = current_assessments(learner_ids=[learner.pk for learner in learners])
    author = actor if isinstance(actor, User) else None
    RiskFeedback.objects.bulk_create(
        RiskFeedback(
            learner=learner,
            assessment=current.get(learner.pk),
            kind=kind,
            note=note,
            score_at_feedback=(
                current[learner.pk].score if learner.pk in current else (learner.risk_score or 0.0)
            ),
            created_by=author,
        )
        for learner in learners
    )
    audit_record_many(
        actor=actor,
        events=(("risk.feedback", learner, {"kind": kind}) for learner in learners),
    )
    return len(learners)


def _quieted(alerts: list[RiskAlert], now: datetime) -> set[Any]:
    """Alerts to hold back: the learner was marked recently and the risk has not risen further."""
    since = now - timedelta(days=settings.RISK_FEEDBACK_QUIET_DAYS)
    latest: dict[Any, float] = {}
    marks = RiskFeedback.objects.filter(
        learner_id__in={a.learner_id for a in alerts}, created_at__gte=since
    )
    for learner_id, score in marks.order_by("created_at").values_list(
        "learner_id", "score_at_feedback"
    ):
        latest[learner_id] = score
    rise = settings.RISK_FEEDBACK_RISE
    return {
        a.pk for a in alerts if a.learner_id in latest and a.score < latest[a.learner_id] + rise
    }


def _recipients_by_cohort(cohort_ids: set[Any]) -> dict[Any, list[User]]:
    """Each cohort's active coaches with an email address; a cohort without one goes to the
    active admins with an email address; a cohort nobody can receive maps to an empty list."""
    assignments = (
        CohortAssignment.objects.filter(cohort_id__in=cohort_ids, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
    )
    recipients: dict[Any, list[User]] = {cohort_id: [] for cohort_id in cohort_ids}
    for assignment in assignments:
        recipients[assignment.cohort_id].append(assignment.user)
    if any(not users for users in recipients.values()):
        admins = list(
            User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True)
            .exclude(email="")
            .order_by("username")
        )
        recipients = {cohort_id: users or admins for cohort_id, users in recipients.items()}
    return recipients


@transaction.atomic
def risk_digest_send(*, now: datetime | None = None) -> dict[str, int]:
    """Hand each recipient's digest of the pending alerts of their cohorts to the outbox,
    skipping those quieted by feedback and closing those of learners who finished meanwhile.

    The mails are written in this transaction and leave after it commits (no lock is held while
    sending; the outbox retries failures). An alert is delivered once every recipient's digest
    holds it, and stays pending with the reason (nobody to receive it) otherwise, to be retried
    by the next run; deliveries are recorded per recipient, so nobody gets an alert twice.
    """
    now = now or timezone.now()
    alerts = list(
        RiskAlert.objects.select_for_update(of=("self",))
        .filter(status=RiskAlertStatus.PENDING)
        .select_related("learner")
    )
    closed = [alert.pk for alert in alerts if alert.learner.status not in STUDYING_STATUSES]
    alerts = [alert for alert in alerts if alert.learner.status in STUDYING_STATUSES]
    quiet = _quieted(alerts, now)
    alerts = [alert for alert in alerts if alert.pk not in quiet]
    recipients = _recipients_by_cohort({alert.learner.cohort_id for alert in alerts})
    delivered = set(
        RiskAlertDelivery.objects.filter(alert__in=alerts).values_list("alert_id", "recipient_id")
    )
    due: dict[Any, list[RiskAlert]] = defaultdict(list)
    users: dict[Any, User] = {}
    for alert in alerts:
        for user in recipients[alert.learner.cohort_id]:
            if (alert.pk, user.pk) not in delivered:
                due[user.pk].append(alert)
                users[user.pk] = user
    outbox_enqueue_many(
        channel=EMAIL_CHANNEL,
        messages={
            _digest_key(user_id, items): _message(users[user_id], items)
            for user_id, items in due.items()
        },
    )
    RiskAlertDelivery.objects.bulk_create(
        [
            RiskAlertDelivery(alert=alert, recipient_id=user_id, delivered_at=now)
            for user_id, items in due.items()
            for alert in items
        ]
    )
    done = [alert.pk for alert in alerts if recipients[alert.learner.cohort_id]]
    nobody = [alert.pk for alert in alerts if not recipients[alert.learner.cohort_id]]
    settled = (
        (RiskAlertStatus.CLOSED, closed),
        (RiskAlertStatus.QUIETED, quiet),
        (RiskAlertStatus.DELIVERED, done),
    )
    for status, ids in settled:
        if ids:
            RiskAlert.objects.filter(pk__in=ids).update(status=status, reason="", digested_at=now)
    if nobody:
        RiskAlert.objects.filter(pk__in=nobody).update(reason=RiskAlertReason.NO_RECIPIENT)
    return {
        "alerts": len(alerts) + len(quiet) + len(closed),
        "quieted": len(quiet),
        "closed": len(closed),
        "delivered": len(done),
        "pending": len(nobody),
        "emails": len(due),
    }


def _digest_key(user_id: Any, alerts: list[RiskAlert]) -> str:
    """One key per recipient and set of alerts: a run repeated after a crash mails nobody twice."""
    alert_ids = ",".join(sorted(str(alert.pk) for alert in alerts))
    return f"risk-digest:{user_id}:{hashlib.sha256(alert_ids.encode()).hexdigest()[:32]}"


def _message(user: User, alerts: list[RiskAlert]) -> dict[str, str]:
    lines = [
        f"- {alert.learner.name or alert.learner.external_id}: risk {alert.score:.0%} "
        f"({settings.SITE_URL}/api/v1/learners/{alert.learner_id}/risk/)"
        for alert in sorted(alerts, key=lambda a: -a.score)
    ]
    body = "These learners entered the high-risk band since the last digest:\n\n" + "\n".join(lines)
    subject = f"{counted(len(alerts), 'learner')} newly at high risk"
    return {"to": user.email, "subject": subject, "body": body}
