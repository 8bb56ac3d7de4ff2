"""Coach feedback on assessments and the daily high-risk digest that respects it."""

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from smtplib import SMTPException
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from engagement.audit import Actor, audit_record
from engagement.models import Role, User
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
from learners.risk.selectors import learner_assessments_to_current

logger = logging.getLogger(__name__)


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


def _mail(messages: dict[Any, EmailMessage]) -> set[Any]:
    """Send each recipient's message on one connection; returns the recipients it reached.

    Failures are logged by user id and error type only: the messages hold learners' names."""
    if not messages:
        return set()
    connection = get_connection()
    try:
        connection.open()
    except (SMTPException, OSError) as error:
        logger.warning("Risk digest: no connection to the mail server: %s", type(error).__name__)
        return set()
    sent: set[Any] = set()
    try:
        for user_id, message in messages.items():
            message.connection = connection
            try:
                message.send()
            except (SMTPException, OSError) as error:
                logger.warning(
                    "Risk digest not delivered to user %s: %s", user_id, type(error).__name__
                )
                continue
            sent.add(user_id)
    finally:
        connection.close()
    return sent


@transaction.atomic
def risk_digest_send(*, now: datetime | None = None) -> dict[str, int]:
    """Mail each recipient the pending alerts of their cohorts, skipping those quieted by
    feedback and closing those of learners who finished meanwhile; an alert is delivered once every recipient got it, and stays pending with the
    reason otherwise, to be retried by the next run without mailing anyone twice."""
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
    sent = _mail({user_id: _message(users[user_id], items) for user_id, items in due.items()})
    RiskAlertDelivery.objects.bulk_create(
        [
            RiskAlertDelivery(alert=alert, recipient_id=user_id, delivered_at=now)
            for user_id in sent
            for alert in due[user_id]
        ]
    )
    delivered |= {(alert.pk, user_id) for user_id in sent for alert in due[user_id]}
    done: list[Any] = []
    waiting: dict[str, list[Any]] = defaultdict(list)
    for alert in alerts:
        wanted = recipients[alert.learner.cohort_id]
        if not wanted:
            waiting[RiskAlertReason.NO_RECIPIENT].append(alert.pk)
        elif all((alert.pk, user.pk) in delivered for user in wanted):
            done.append(alert.pk)
        else:
            waiting[RiskAlertReason.MAIL_FAILED].append(alert.pk)
    settled = (
        (RiskAlertStatus.CLOSED, closed),
        (RiskAlertStatus.QUIETED, quiet),
        (RiskAlertStatus.DELIVERED, done),
    )
    for status, ids in settled:
        if ids:
            RiskAlert.objects.filter(pk__in=ids).update(status=status, reason="", digested_at=now)
    for reason, ids in waiting.items():
        RiskAlert.objects.filter(pk__in=ids).update(reason=reason)
    return {
        "alerts": len(alerts) + len(quiet) + len(closed),
        "quieted": len(quiet),
        "closed": len(closed),
        "delivered": len(done),
        "pending": sum(len(ids) for ids in waiting.values()),
        "emails": len(sent),
    }


def _message(user: User, alerts: list[RiskAlert]) -> EmailMessage:
    lines = [
        f"- {alert.learner.name or alert.learner.external_id}: risk {alert.score:.0%} "
        f"({settings.SITE_URL}/api/v1/learners/{alert.learner_id}/risk/)"
        for alert in sorted(alerts, key=lambda a: -a.score)
    ]
    body = "These learners entered the high-risk band since the last digest:\n\n" + "\n".join(lines)
    subject = f"{counted(len(alerts), 'learner')} newly at high risk"
    return EmailMessage(subject, body, None, [user.email])
