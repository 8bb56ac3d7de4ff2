"""Set-based reads for the analytics app (exposed through ``learners.contracts`` only).

Two kinds of reads: counts per cohort for one day, taken as of an instant (the daily snapshot),
and the caller's learners who need a coach now or changed band lately. Each is a fixed number of
queries, whatever the number of learners, cohorts or assessments. Band history for the daily
counts comes from the kept ``RiskAssessment`` rows: a learner's band at an instant is that of
their latest assessment at or before it (``as_of``), so the history is as dense as the scoring
runs were. Recent changes of band come from the learner row (``risk_band_previous``,
``risk_band_changed_at``), kept by scoring.
"""

from datetime import datetime
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import NullIf

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

    A cohort created between the first query and a later one (the queries are not one snapshot
    of the database) gets its row from the first query that sees it.
    """
    rows: dict[Any, dict[str, Any]] = {}

    def row(cohort_id: Any) -> dict[str, Any]:
        if cohort_id not in rows:
            rows[cohort_id] = {
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
        return rows[cohort_id]

    for cohort_id in Cohort.objects.order_by().values_list("id", flat=True):
        row(cohort_id)
    enrolled = Learner.objects.filter(enrolled_at__lte=as_of).order_by()
    finished = Q(finished_at__lte=as_of)
    for found in enrolled.values("cohort_id").annotate(
        total=Count("id"),
        completed=Count("id", filter=finished & Q(status=LearnerStatus.COMPLETED)),
        withdrawn=Count("id", filter=finished & Q(status=LearnerStatus.WITHDRAWN)),
    ):
        counts = row(found["cohort_id"])
        counts["learners"] = found["total"]
        counts["completed"] = found["completed"]
        counts["withdrawn"] = found["withdrawn"]
        counts["studying"] = found["total"] - found["completed"] - found["withdrawn"]
    studying = enrolled.filter(Q(finished_at__isnull=True) | Q(finished_at__gt=as_of))
    for found in (
        studying.annotate(band_then=band_at(as_of))
        .values("cohort_id", "band_then")
        .annotate(total=Count("id"))
    ):
        row(found["cohort_id"])[found["band_then"] or UNSCORED] += found["total"]
    events = ActivityEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end).order_by()
    for found in events.values("learner__cohort_id", "kind").annotate(total=Count("id")):
        row(found["learner__cohort_id"])["events"][found["kind"]] = found["total"]
    for found in events.values("learner__cohort_id").annotate(
        total=Count("learner_id", distinct=True)
    ):
        row(found["learner__cohort_id"])["active_learners"] = found["total"]
    waiting = RiskAlert.objects.filter(created_at__lte=as_of).filter(
        Q(status=RiskAlertStatus.PENDING) | Q(digested_at__gt=as_of)
    )
    for found in waiting.order_by().values("learner__cohort_id").annotate(total=Count("id")):
        row(found["learner__cohort_id"])["alerts_waiting"] = found["total"]
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


def needing_attention_ids(*, actor: Any, now: datetime, limit: int) -> list[Any]:
    """Ids of the caller's studying high-risk learners with no coach mark within
    ``RISK_FEEDBACK_QUIET_DAYS``, riskiest first (one query): the costly part of the
    needs-attention list, plain data a caller may cache."""
    return list(
        learner_queryset(actor=actor)
        .filter(high_risk_without_action_q(now))
        .order_by("-risk_score", "id")
        .values_list("id", flat=True)[:limit]
    )


def needing_attention(*, actor: Any, now: datetime, learner_ids: list[Any]) -> list[dict[str, Any]]:
    """The learners ``learner_ids`` names (from :func:`needing_attention_ids`) that are still the
    caller's and still need attention, in that order, with their top factor and since when they
    are high (``risk_band_changed_at``, kept by scoring): two queries by primary key."""
    found = in_bulk_ordered(
        learner_queryset(actor=actor).filter(high_risk_without_action_q(now)), learner_ids
    )
    assessments = current_assessments(learner_ids=[learner.pk for learner in found])
    rows = []
    for learner in found:
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
                "high_since": learner.risk_band_changed_at or learner.risk_scored_at,
            }
        )
    return rows


def in_bulk_ordered(learners: QuerySet[Learner], learner_ids: list[Any]) -> list[Learner]:
    """The learners of ``learners`` among ``learner_ids``, in that order (one query); ids the
    queryset no longer holds are left out."""
    if not learner_ids:
        return []
    found = learners.in_bulk(learner_ids)
    return [found[learner_id] for learner_id in learner_ids if learner_id in found]


def band_changes(*, actor: Any, since: datetime) -> QuerySet[Learner]:
    """The caller's studying learners whose band changed after ``since`` (a range read on the
    partial index ``learner_studying_band_changed``), annotated with the band before that change
    (``band_before``, NULL if they were first scored then) and now (``band_now``).

    A learner whose band changed twice in the window is judged by the last change: high, medium,
    then low within a day is "left medium", not "left high"."""
    return (
        learner_queryset(actor=actor)
        .filter(status__in=STUDYING_STATUSES, risk_band_changed_at__gt=since)
        .annotate(
            band_before=NullIf(F("risk_band_previous"), Value("")),
            band_now=F("risk_band"),
        )
    )


BECAME_HIGH = Q(risk_band=RiskBand.HIGH)
RECOVERED = Q(risk_band_previous=RiskBand.HIGH)


def band_change_ids(*, actor: Any, since: datetime, limit: int) -> dict[str, Any]:
    """Counts of studying learners who entered and who left the high band since ``since``, and
    the ids of the top rows of each (riskiest new ones; most improved recovered ones): three
    queries, plain data a caller may cache."""
    changes = band_changes(actor=actor, since=since)
    counts = changes.aggregate(
        became_high=Count("id", filter=BECAME_HIGH), recovered=Count("id", filter=RECOVERED)
    )
    return {
        **counts,
        "became_high_ids": list(
            changes.filter(BECAME_HIGH)
            .order_by("-risk_score", "id")
            .values_list("id", flat=True)[:limit]
        ),
        "recovered_ids": list(
            changes.filter(RECOVERED)
            .order_by(F("risk_score").asc(nulls_last=True), "id")
            .values_list("id", flat=True)[:limit]
        ),
    }


def band_change_rows(*, actor: Any, since: datetime, picked: dict[str, Any]) -> dict[str, Any]:
    """The learners ``picked`` (from :func:`band_change_ids`) names that are still the caller's
    and changed band since ``since``, in its order, annotated as :func:`band_changes` does:
    one query by primary key for both lists."""
    changes = band_changes(actor=actor, since=since)
    found = changes.in_bulk([*picked["became_high_ids"], *picked["recovered_ids"]])
    return {
        key: [found[learner_id] for learner_id in picked[f"{key}_ids"] if learner_id in found]
        for key in ("became_high", "recovered")
    }
