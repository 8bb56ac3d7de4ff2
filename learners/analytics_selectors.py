"""Set-based reads for the analytics app (exposed through ``learners.contracts`` only).

Two kinds of reads: counts per cohort for one day, taken as of an instant (the daily snapshot),
and the caller's learners who need a coach now or changed band lately. Each is a fixed number of
queries, whatever the number of learners, cohorts or assessments. Band history comes from the
kept ``RiskAssessment`` rows: a learner's band at an instant is that of their latest assessment
at or before it (``as_of``), so the history is as dense as the scoring runs were.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery

from engagement.models import Role
from learners.models import (
    STUDYING_STATUSES,
    ActivityEvent,
    Cohort,
    CohortAssignment,
    Learner,
    LearnerStatus,
    RiskAlert,
    RiskAlertStatus,
    RiskAssessment,
    RiskBand,
)
from learners.risk.explanations import explained_factors
from learners.risk.selectors import current_assessments
from learners.selectors import cohort_list, high_risk_without_action_q, learner_queryset

UNSCORED = "unscored"


def band_at(instant: datetime) -> Subquery:
    """The band of the outer learner's latest assessment at or before ``instant`` (NULL when
    none): an index range read on (learner, -as_of) per row."""
    return Subquery(
        RiskAssessment.objects.filter(learner_id=OuterRef("pk"), as_of__lte=instant)
        .order_by("-as_of", "-computed_at", "-id")
        .values("band")[:1]
    )


def cohort_day_counts(*, start: datetime, end: datetime, as_of: datetime) -> list[dict[str, Any]]:
    """Every cohort's counts for the day ``[start, end)``: learners, statuses and bands as of
    ``as_of`` (the end of the day, or now for today), events and active learners within the day,
    alerts waiting at ``as_of``. Six queries whatever the number of cohorts and learners.

    A learner counts from ``enrolled_at``; completed or withdrawn from ``finished_at`` (statuses
    before that are not kept, so a finished learner counts as studying until then).
    """
    rows: dict[Any, dict[str, Any]] = {
        cohort_id: {
            "cohort_id": cohort_id,
            "learners": 0,
            "completed": 0,
            "withdrawn": 0,
            "studying": 0,
            **dict.fromkeys(RiskBand.values, 0),
            UNSCORED: 0,
            "active_learners": 0,
            "events": {},
            "alerts_waiting": 0,
        }
        for cohort_id in Cohort.objects.order_by().values_list("id", flat=True)
    }
    enrolled = Learner.objects.filter(enrolled_at__lte=as_of).order_by()
    finished = Q(finished_at__lte=as_of)
    for row in enrolled.values("cohort_id").annotate(
        total=Count("id"),
        completed=Count("id", filter=finished & Q(status=LearnerStatus.COMPLETED)),
        withdrawn=Count("id", filter=finished & Q(status=LearnerStatus.WITHDRAWN)),
    ):
        counts = rows[row["cohort_id"]]
        counts["learners"] = row["total"]
        counts["completed"] = row["completed"]
        counts["withdrawn"] = row["withdrawn"]
        counts["studying"] = row["total"] - row["completed"] - row["withdrawn"]
    studying = enrolled.filter(Q(finished_at__isnull=True) | Q(finished_at__gt=as_of))
    for row in (
        studying.annotate(band_then=band_at(as_of))
        .values("cohort_id", "band_then")
        .annotate(total=Count("id"))
    ):
        rows[row["cohort_id"]][row["band_then"] or UNSCORED] += row["total"]
    events = ActivityEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end).order_by()
    for row in events.values("learner__cohort_id", "kind").annotate(total=Count("id")):
        rows[row["learner__cohort_id"]]["events"][row["kind"]] = row["total"]
    for row in events.values("learner__cohort_id").annotate(
        total=Count("learner_id", distinct=True)
    ):
        rows[row["learner__cohort_id"]]["active_learners"] = row["total"]
    waiting = RiskAlert.objects.filter(created_at__lte=as_of).filter(
        Q(status=RiskAlertStatus.PENDING) | Q(digested_at__gt=as_of)
    )
    for row in waiting.order_by().values("learner__cohort_id").annotate(total=Count("id")):
        rows[row["learner__cohort_id"]]["alerts_waiting"] = row["total"]
    return list(rows.values())


def alerts_waiting_count(*, actor: Any) -> int:
    """Pending risk alerts of the caller's learners (one query)."""
    return RiskAlert.objects.filter(
        status=RiskAlertStatus.PENDING, learner__in=learner_queryset(actor=actor).values("pk")
    ).count()


def cohort_coach_ids(*, actor: Any) -> dict[Any, list[Any]]:
    """Active coaches assigned to each of the caller's cohorts (one query)."""
    coaches: dict[Any, list[Any]] = {}
    for cohort_id, user_id in (
        CohortAssignment.objects.filter(
            cohort_id__in=cohort_list(actor=actor).order_by().values("pk"),
            user__role=Role.COACH,
            user__is_active=True,
        )
        .order_by("assigned_at")
        .values_list("cohort_id", "user_id")
    ):
        coaches.setdefault(cohort_id, []).append(user_id)
    return coaches


def needing_attention(*, actor: Any, now: datetime, limit: int) -> list[dict[str, Any]]:
    """The caller's studying high-risk learners with no coach mark within
    ``RISK_FEEDBACK_QUIET_DAYS``, riskiest first, with their top factor and since when they are
    high: two queries."""
    learners = list(
        learner_queryset(actor=actor)
        .filter(high_risk_without_action_q(now))
        .order_by("-risk_score", "id")[:limit]
    )
    assessments = current_assessments(learner_ids=[learner.pk for learner in learners])
    since = _high_run_starts([learner.pk for learner in learners])
    rows = []
    for learner in learners:
        assessment = assessments.get(learner.pk)
        factors = (
            explained_factors(
                (f for f in assessment.factors if f["contribution"] > 0),
                assessment.features["raw"],
            )
            if assessment is not None
            else []
        )
        rows.append(
            {
                "learner": learner,
                "score": learner.risk_score,
                "top_factor": factors[0]["explanation"] if factors else "",
                "high_since": since.get(learner.pk, learner.risk_scored_at),
            }
        )
    return rows


def _high_run_starts(learner_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """Per learner, the first assessment of their current run of high ones (one query over
    their assessment history, newest first)."""
    starts: dict[uuid.UUID, datetime] = {}
    ended: set[uuid.UUID] = set()
    for learner_id, band, as_of in (
        RiskAssessment.objects.filter(learner_id__in=set(learner_ids))
        .order_by("learner_id", "-as_of", "-computed_at")
        .values_list("learner_id", "band", "as_of")
    ):
        if learner_id in ended:
            continue
        if band == RiskBand.HIGH:
            starts[learner_id] = as_of
        else:
            ended.add(learner_id)
    return starts


def band_changes(*, actor: Any, since: datetime) -> QuerySet[Learner]:
    """The caller's learners scored after ``since`` (nobody else can have changed band),
    annotated with their band then (``band_before``, NULL if not scored by then) and now
    (``band_now``: their current band, one index read fewer per learner than the history)."""
    return (
        learner_queryset(actor=actor)
        .filter(risk_scored_at__gt=since)
        .annotate(band_before=band_at(since), band_now=F("risk_band"))
    )


BECAME_HIGH = Q(band_now=RiskBand.HIGH, status__in=STUDYING_STATUSES) & (
    ~Q(band_before=RiskBand.HIGH) | Q(band_before__isnull=True)
)
RECOVERED = Q(band_before=RiskBand.HIGH) & ~Q(band_now=RiskBand.HIGH)


def band_change_rows(*, actor: Any, since: datetime, limit: int) -> dict[str, Any]:
    """Counts of learners who entered and who left the high band since ``since``, and the top
    rows of each (riskiest new ones; most improved recovered ones): three queries."""
    changes = band_changes(actor=actor, since=since)
    counts = changes.aggregate(
        became_high=Count("id", filter=BECAME_HIGH), recovered=Count("id", filter=RECOVERED)
    )
    return {
        **counts,
        "became_high_rows": list(changes.filter(BECAME_HIGH).order_by("-risk_score", "id")[:limit]),
        "recovered_rows": list(
            changes.filter(RECOVERED).order_by(F("risk_score").asc(nulls_last=True), "id")[:limit]
        ),
    }
