"""Coach feedback on assessments and the daily high-risk digest that respects it."""

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from engagement.accounts import COHORT_PERMISSION
from engagement.audit import Actor, audit_record
from engagement.models import User
from engagement.wording import counted
from learners.models import CohortCoachPermission, Learner, RiskAlert, RiskAssessment, RiskFeedback


def risk_feedback_create(
    *, actor: Actor, learner: Learner, kind: str, note: str = ""
) -> RiskFeedback:
    """Record a coach's verdict on the learner's latest assessment."""
    assessment = RiskAssessment.objects.filter(learner=learner).order_by("-as_of", "-id").first()
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


def _coaches_by_cohort(cohort_ids: set[Any]) -> dict[Any, list[User]]:
    codename = COHORT_PERMISSION.split(".")[1]
    grants = CohortCoachPermission.objects.filter(
        content_object_id__in=cohort_ids, permission__codename=codename, user__is_active=True
    ).select_related("user")
    coaches: dict[Any, list[User]] = defaultdict(list)
    for grant in grants:
        if grant.user.email:
            coaches[grant.content_object_id].append(grant.user)
    return coaches


@transaction.atomic
def risk_digest_send(*, now: datetime | None = None) -> dict[str, int]:
    """Mail each coach the learners of their cohorts who entered the high band since the last
    digest, skipping those quieted by feedback; every pending alert is then marked digested."""
    now = now or timezone.now()
    alerts = list(
        RiskAlert.objects.select_for_update()
        .filter(digested_at__isnull=True)
        .select_related("learner")
    )
    quiet = _quieted(alerts, now)
    coaches = _coaches_by_cohort({a.learner.cohort_id for a in alerts})
    per_coach: dict[Any, list[RiskAlert]] = defaultdict(list)
    recipients: dict[Any, User] = {}
    for alert in alerts:
        if alert.pk in quiet:
            continue
        for coach in coaches.get(alert.learner.cohort_id, []):
            per_coach[coach.pk].append(alert)
            recipients[coach.pk] = coach
    messages = [_message(recipients[pk], items) for pk, items in per_coach.items()]
    send_mass_mail(messages, fail_silently=False)
    RiskAlert.objects.filter(pk__in=[a.pk for a in alerts]).update(digested_at=now)
    return {"alerts": len(alerts), "quieted": len(quiet), "emails": len(messages)}


def _message(coach: User, alerts: list[RiskAlert]) -> tuple[str, str, None, list[str]]:
    lines = [
        f"- {alert.learner.name or alert.learner.external_id}: risk {alert.score:.0%} "
        f"({settings.SITE_URL}/api/v1/learners/{alert.learner_id}/risk/)"
        for alert in sorted(alerts, key=lambda a: -a.score)
    ]
    body = "These learners entered the high-risk band since the last digest:\n\n" + "\n".join(lines)
    subject = f"{counted(len(alerts), 'learner')} newly at high risk"
    return subject, body, None, [coach.email]
