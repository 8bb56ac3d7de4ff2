"""Reads of the analytics app: the dashboard's figures, scoped to the caller and cached briefly.

Live figures (learners studying, high risk now, alerts waiting, distributions, caseloads, the
learners needing attention) come from ``learners.contracts``; trends and "7 days ago" come from
the daily snapshots, so they cost O(days), not O(events). Every answer is cached through
:func:`analytics.cache.cached` (``ANALYTICS_CACHE_SECONDS``, keyed by the caller's scope).
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone

from analytics.cache import cached
from analytics.models import DailySnapshot
from engagement.models import User
from learners import contracts

#: Trends cover this many days unless asked otherwise, and never more than the maximum.
TREND_DAYS_DEFAULT = 30
TREND_DAYS_MAX = 365
#: Rows of the "needs attention" and "since yesterday" lists.
ATTENTION_ROWS = 10
#: Where the figures the nudges app brings will come from, until it is installed.
NUDGES_PENDING = "Arrives with the nudges app."


@dataclass(frozen=True, slots=True)
class Kpi:
    """A figure now, the same figure 7 days ago (from the snapshots; ``None`` without one) and
    the change; ``available`` is false for figures whose app is not installed yet."""

    value: float | None
    previous: float | None
    change: float | None
    available: bool = True
    note: str = ""


@dataclass(frozen=True, slots=True)
class Overview:
    as_of: datetime
    learners_studying: Kpi
    high_risk: Kpi
    alerts_waiting: Kpi
    nudges_sent: Kpi
    re_engagement_rate: Kpi
    llm_cost_month: Kpi


@dataclass(frozen=True, slots=True)
class EngagementDay:
    day: date
    active_learners: int
    events_total: int
    events: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class RiskDay:
    day: date
    studying: int
    high: int
    medium: int
    low: int
    unscored: int


@dataclass(frozen=True, slots=True)
class CoachCaseload:
    coach_id: Any
    coach_name: str
    cohorts: int
    learners: int
    high_risk: int
    high_risk_without_action: int


@dataclass(frozen=True, slots=True)
class CohortCard:
    """A cohort on the cohorts page: its counts, its coaches and its high-risk trend."""

    summary: contracts.CohortSummary
    coaches: tuple[str, ...]
    high_risk_trend: tuple[tuple[date, int], ...]


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _snapshots(*, actor: Any) -> QuerySet[DailySnapshot]:
    """Snapshots of the caller's cohorts (a coach's: one subquery-free id list)."""
    cohort_ids = contracts.visible_cohort_ids(actor=actor)
    snapshots = DailySnapshot.objects.order_by()
    return snapshots if cohort_ids is None else snapshots.filter(cohort_id__in=cohort_ids)


def _daily_sums(
    *, actor: Any, first: date, last: date, columns: Sequence[str]
) -> QuerySet[DailySnapshot, dict[str, Any]]:
    """Per day from ``first`` to ``last`` that has snapshots, oldest first: the sum over the
    caller's cohorts of each of ``columns``, as ``<column>_sum`` (one query)."""
    return (
        _snapshots(actor=actor)
        .filter(day__range=(first, last))
        .values("day")
        .annotate(**{f"{column}_sum": Sum(column) for column in columns})
        .order_by("day")
    )


def _kpi(value: float, previous: float | None) -> Kpi:
    return Kpi(
        value=value, previous=previous, change=None if previous is None else value - previous
    )


def _unavailable() -> Kpi:
    return Kpi(value=None, previous=None, change=None, available=False, note=NUDGES_PENDING)


def overview(*, actor: Any, now: datetime | None = None) -> Overview:
    """The overview's KPIs; "previous" is the snapshot of the day 7 days before today."""
    now = _now(now)

    def compute() -> Overview:
        summaries = contracts.cohort_summaries(actor=actor)
        week_ago = _snapshots(actor=actor).filter(day=now.date() - timedelta(days=7))
        then = week_ago.aggregate(
            studying=Sum("studying"),
            high=Sum("high"),
            alerts=Sum("alerts_waiting"),
        )
        return Overview(
            as_of=now,
            learners_studying=_kpi(sum(s.studying for s in summaries), then["studying"]),
            high_risk=_kpi(sum(s.high_risk for s in summaries), then["high"]),
            alerts_waiting=_kpi(contracts.alerts_waiting(actor=actor), then["alerts"]),
            nudges_sent=_unavailable(),
            re_engagement_rate=_unavailable(),
            llm_cost_month=_unavailable(),
        )

    return cached("overview", actor=actor, now=now, compute=compute)


def cohort_distribution(
    *, actor: Any, now: datetime | None = None
) -> tuple[contracts.CohortSummary, ...]:
    """The caller's cohorts with their learners by status and the studying ones by band."""
    return cached(
        "cohorts",
        actor=actor,
        now=_now(now),
        compute=lambda: contracts.cohort_summaries(actor=actor),
    )


def _trend_days(now: datetime, days: int) -> tuple[date, date]:
    today = now.date()
    return today - timedelta(days=days - 1), today


def engagement_trend(
    *, actor: Any, days: int = TREND_DAYS_DEFAULT, now: datetime | None = None
) -> tuple[EngagementDay, ...]:
    """Per day of the last ``days`` (today included) that has snapshots: active learners and
    events by kind over the caller's cohorts (one query)."""
    now = _now(now)
    first, last = _trend_days(now, days)
    columns = {f"events_{kind}": kind for kind in contracts.EVENT_KINDS}

    def compute() -> tuple[EngagementDay, ...]:
        rows = _daily_sums(
            actor=actor,
            first=first,
            last=last,
            columns=["active_learners", "events_total", *columns],
        )
        return tuple(
            EngagementDay(
                day=row["day"],
                active_learners=row["active_learners_sum"],
                events_total=row["events_total_sum"],
                events={kind: row[f"{column}_sum"] for column, kind in columns.items()},
            )
            for row in rows
        )

    return cached("engagement", actor=actor, now=now, compute=compute, days=days)


#: The band counts of a snapshot, summed per day by ``risk_trend``.
RISK_COLUMNS = ("studying", "high", "medium", "low", "unscored")


def risk_trend(
    *, actor: Any, days: int = TREND_DAYS_DEFAULT, now: datetime | None = None
) -> tuple[RiskDay, ...]:
    """Per day of the last ``days`` that has snapshots: studying learners by band (one query)."""
    now = _now(now)
    first, last = _trend_days(now, days)

    def compute() -> tuple[RiskDay, ...]:
        rows = _daily_sums(actor=actor, first=first, last=last, columns=RISK_COLUMNS)
        return tuple(
            RiskDay(day=row["day"], **{column: row[f"{column}_sum"] for column in RISK_COLUMNS})
            for row in rows
        )

    return cached("risk", actor=actor, now=now, compute=compute, days=days)


def _coach_names(user_ids: Sequence[Any]) -> dict[Any, str]:
    return {
        user.pk: user.get_full_name() or user.username
        for user in User.objects.filter(pk__in=set(user_ids)).only(
            "pk", "first_name", "last_name", "username"
        )
    }


def caseloads(*, actor: Any, now: datetime | None = None) -> tuple[CoachCaseload, ...]:
    """Per coach of the caller's cohorts: learners studying, high risk, high risk nobody has
    acted on (three queries), most unattended first."""
    now = _now(now)

    def compute() -> tuple[CoachCaseload, ...]:
        loads = contracts.caseloads(actor=actor, now=now)
        names = _coach_names([load.coach_id for load in loads])
        rows = [
            CoachCaseload(
                coach_id=load.coach_id,
                coach_name=names.get(load.coach_id, ""),
                cohorts=load.cohorts,
                learners=load.learners,
                high_risk=load.high_risk,
                high_risk_without_action=load.high_risk_without_action,
            )
            for load in loads
        ]
        return tuple(sorted(rows, key=lambda row: (-row.high_risk_without_action, row.coach_name)))

    return cached("caseloads", actor=actor, now=now, compute=compute)


def needing_attention(
    *, actor: Any, now: datetime | None = None
) -> tuple[contracts.AttentionLearner, ...]:
    """The caller's top high-risk learners nobody has acted on (pseudonyms for analysts)."""
    now = _now(now)
    return cached(
        "attention",
        actor=actor,
        now=now,
        compute=lambda: contracts.learners_needing_attention(
            actor=actor, now=now, limit=ATTENTION_ROWS
        ),
    )


def since_yesterday(*, actor: Any, now: datetime | None = None) -> contracts.BandChanges:
    """Who entered and who left the high band in the last 24 hours."""
    now = _now(now)
    return cached(
        "changes",
        actor=actor,
        now=now,
        compute=lambda: contracts.risk_band_changes(
            actor=actor, since=now - timedelta(hours=24), now=now, limit=ATTENTION_ROWS
        ),
    )


def cohort_cards(
    *, actor: Any, days: int = TREND_DAYS_DEFAULT, now: datetime | None = None
) -> tuple[CohortCard, ...]:
    """The cohorts page: each of the caller's cohorts with its coaches' names and its daily
    high-risk counts over ``days`` (from the snapshots); four queries whatever the cohorts."""
    now = _now(now)
    first, last = _trend_days(now, days)

    def compute() -> tuple[CohortCard, ...]:
        summaries = contracts.cohort_summaries(actor=actor)
        coaches = contracts.cohort_coaches(actor=actor)
        names = _coach_names([user_id for ids in coaches.values() for user_id in ids])
        trends: dict[uuid.UUID, list[tuple[date, int]]] = {}
        for cohort_id, day, high in (
            DailySnapshot.objects.filter(
                cohort_id__in=[summary.cohort_id for summary in summaries],
                day__range=(first, last),
            )
            .order_by("day")
            .values_list("cohort_id", "day", "high")
        ):
            trends.setdefault(cohort_id, []).append((day, high))
        return tuple(
            CohortCard(
                summary=summary,
                coaches=tuple(
                    sorted(names[user_id] for user_id in coaches.get(summary.cohort_id, ()))
                ),
                high_risk_trend=tuple(trends.get(summary.cohort_id, ())),
            )
            for summary in summaries
        )

    return cached("cohort-cards", actor=actor, now=now, compute=compute, days=days)
