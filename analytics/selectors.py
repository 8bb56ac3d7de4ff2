"""Reads of the analytics app: the dashboard's figures, scoped to the caller and cached briefly.

Live figures (learners studying, high risk now, alerts waiting, distributions, caseloads, the
learners needing attention) come from ``learners.contracts``; trends and "7 days ago" come from
the daily snapshots, so they cost O(days), not O(events). Every figure is cached through
:func:`analytics.cache.cached` (``ANALYTICS_CACHE_SECONDS``, keyed by the caller's scope and the
data versions); the rows that name learners are not.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone

from analytics.cache import cached
from analytics.models import DailySnapshot
from engagement.models import User
from learners import contracts
from nudges import contracts as nudge_contracts

#: Trends cover this many days unless asked otherwise, and never more than the maximum.
TREND_DAYS_DEFAULT = 30
TREND_DAYS_MAX = 365
#: Rows of the "needs attention" and "in the last 24 hours" lists.
ATTENTION_ROWS = 10


@dataclass(frozen=True, slots=True)
class Kpi:
    """A figure now (live) and its change over 7 days, from the snapshots: ``previous`` is the
    row of ``reference_day`` (7 days before today) and ``change`` today's row minus it, both
    over only the cohorts that have a row on both days, so a cohort created or backfilled in
    between does not count as a change (``None`` when no cohort has both rows).
    ``available`` stays true (the API keeps it for figures an app may bring later). The nudge
    figures cover the UTC calendar month so far, from ``period_start``, and have no 7-day
    change; the re-engagement rate is ``None`` while nothing was sent."""

    value: float | None
    previous: float | None
    change: float | None
    available: bool = True
    note: str = ""
    reference_day: date | None = None
    period_start: date | None = None


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
    """A UTC day of the engagement trend; the counts are ``None`` on a day without a snapshot."""

    day: date
    active_learners: int | None
    events_total: int | None
    events: Mapping[str, int | None]


@dataclass(frozen=True, slots=True)
class RiskDay:
    """A UTC day of the risk trend; the counts are ``None`` on a day without a snapshot."""

    day: date
    studying: int | None
    high: int | None
    medium: int | None
    low: int | None
    unscored: int | None


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
    high_risk_trend: tuple[tuple[date, int | None], ...]


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _snapshots(*, actor: Any) -> QuerySet[DailySnapshot]:
    """Snapshots of the caller's cohorts (a coach's: one subquery-free id list)."""
    cohort_ids = contracts.visible_cohort_ids(actor=actor)
    snapshots = DailySnapshot.objects.order_by()
    return snapshots if cohort_ids is None else snapshots.filter(cohort_id__in=cohort_ids)


def _window(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _daily_sums(
    *, actor: Any, first: date, last: date, columns: Sequence[str]
) -> list[tuple[date, dict[str, int | None]]]:
    """Every day from ``first`` to ``last``, oldest first, with the sum over the caller's
    cohorts of each of ``columns``, all ``None`` on a day without a snapshot: trends show a gap
    there rather than skipping the day (one query)."""
    sums = {
        row["day"]: {column: row[f"{column}_sum"] for column in columns}
        for row in _snapshots(actor=actor)
        .filter(day__range=(first, last))
        .values("day")
        .annotate(**{f"{column}_sum": Sum(column) for column in columns})
        .order_by("day")
    }
    missing: dict[str, int | None] = dict.fromkeys(columns)
    return [(day, sums.get(day, missing)) for day in _window(first, last)]


#: The snapshot columns behind the KPIs that have a 7-day change.
KPI_COLUMNS = ("studying", "high", "alerts_waiting")


def _week_change(*, actor: Any, today: date) -> dict[str, tuple[int, int] | None]:
    """Per column of ``KPI_COLUMNS``: (the row 7 days before today, today's row), summed over
    the cohorts with a row on both days; ``None`` when there is no such cohort (one query)."""
    before = today - timedelta(days=7)
    rows: dict[date, dict[Any, tuple[int, ...]]] = {before: {}, today: {}}
    for cohort_id, day, *figures in (
        _snapshots(actor=actor)
        .filter(day__in=(before, today))
        .values_list("cohort_id", "day", *KPI_COLUMNS)
    ):
        rows[day][cohort_id] = tuple(figures)
    both = rows[before].keys() & rows[today].keys()
    if not both:
        return dict.fromkeys(KPI_COLUMNS)
    return {
        column: (
            sum(rows[before][cohort][n] for cohort in both),
            sum(rows[today][cohort][n] for cohort in both),
        )
        for n, column in enumerate(KPI_COLUMNS)
    }


def _kpi(value: float, week: tuple[int, int] | None, reference_day: date) -> Kpi:
    if week is None:
        return Kpi(value=value, previous=None, change=None, reference_day=reference_day)
    previous, now = week
    return Kpi(value=value, previous=previous, change=now - previous, reference_day=reference_day)


def _nudge_kpis(*, actor: Any, now: datetime) -> tuple[Kpi, Kpi, Kpi]:
    """Nudges sent, their re-engagement rate and the LLM cost over the caller's cohorts, this
    UTC calendar month so far (two queries, through ``nudges.contracts``)."""
    month = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    figures = nudge_contracts.nudge_figures(
        since=month, until=now, cohort_ids=contracts.visible_cohort_ids(actor=actor)
    )
    start = month.date()
    return (
        Kpi(value=figures.sent, previous=None, change=None, period_start=start),
        Kpi(value=figures.rate, previous=None, change=None, period_start=start),
        Kpi(value=float(figures.llm_cost), previous=None, change=None, period_start=start),
    )


def overview(*, actor: Any, now: datetime | None = None) -> Overview:
    """The overview's KPIs: live figures, with today's snapshot row compared to the row of 7
    days before over the cohorts present on both days (see :class:`Kpi`)."""
    now = _now(now)

    def compute() -> Overview:
        summaries = contracts.cohort_summaries(actor=actor)
        week = _week_change(actor=actor, today=now.date())
        then = now.date() - timedelta(days=7)
        sent, rate, cost = _nudge_kpis(actor=actor, now=now)
        return Overview(
            as_of=now,
            learners_studying=_kpi(sum(s.studying for s in summaries), week["studying"], then),
            high_risk=_kpi(sum(s.high_risk for s in summaries), week["high"], then),
            alerts_waiting=_kpi(
                contracts.alerts_waiting(actor=actor), week["alerts_waiting"], then
            ),
            nudges_sent=sent,
            re_engagement_rate=rate,
            llm_cost_month=cost,
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
    """Every UTC day of the last ``days`` (today included, partial): active learners and events
    by kind over the caller's cohorts, ``None`` on days without a snapshot (one query)."""
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
                day=day,
                active_learners=row["active_learners"],
                events_total=row["events_total"],
                events={kind: row[column] for column, kind in columns.items()},
            )
            for day, row in rows
        )

    return cached("engagement", actor=actor, now=now, compute=compute, days=days)


#: The band counts of a snapshot, summed per day by ``risk_trend``.
RISK_COLUMNS = ("studying", "high", "medium", "low", "unscored")


def risk_trend(
    *, actor: Any, days: int = TREND_DAYS_DEFAULT, now: datetime | None = None
) -> tuple[RiskDay, ...]:
    """Every UTC day of the last ``days``: studying learners by band as of the day's end,
    ``None`` on days without a snapshot (one query)."""
    now = _now(now)
    first, last = _trend_days(now, days)

    def compute() -> tuple[RiskDay, ...]:
        rows = _daily_sums(actor=actor, first=first, last=last, columns=RISK_COLUMNS)
        return tuple(
            RiskDay(day=day, **{column: row[column] for column in RISK_COLUMNS})
            for day, row in rows
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
    """The caller's top high-risk learners nobody has acted on (pseudonyms for analysts). Which
    learners is cached like a figure; their rows are read per request by primary key (see
    ``analytics.cache``)."""
    now = _now(now)
    learner_ids = cached(
        "attention-ids",
        actor=actor,
        now=now,
        compute=lambda: contracts.attention_learner_ids(actor=actor, now=now, limit=ATTENTION_ROWS),
    )
    return contracts.learners_needing_attention(actor=actor, learner_ids=learner_ids, now=now)


def last_24_hours(*, actor: Any, now: datetime | None = None) -> contracts.BandChanges:
    """Who entered and who left the high band in the last 24 hours: the counts and which
    learners are cached like figures, the rows read per request by primary key."""
    now = _now(now)
    picked = cached(
        "band-change-ids",
        actor=actor,
        now=now,
        compute=lambda: contracts.risk_band_change_ids(
            actor=actor, since=now - timedelta(hours=24), limit=ATTENTION_ROWS
        ),
    )
    return contracts.risk_band_changes(actor=actor, picked=picked, now=now)


def cohort_cards(
    *, actor: Any, days: int = TREND_DAYS_DEFAULT, now: datetime | None = None
) -> tuple[CohortCard, ...]:
    """The cohorts page: each of the caller's cohorts with its coaches' names and its daily
    high-risk counts over ``days`` (from the snapshots; ``None`` on a day without one); four
    queries whatever the cohorts."""
    now = _now(now)
    first, last = _trend_days(now, days)

    def compute() -> tuple[CohortCard, ...]:
        summaries = contracts.cohort_summaries(actor=actor)
        coaches = contracts.cohort_coaches(actor=actor)
        names = _coach_names([user_id for ids in coaches.values() for user_id in ids])
        highs: dict[uuid.UUID, dict[date, int]] = {}
        for cohort_id, day, high in (
            DailySnapshot.objects.filter(
                cohort_id__in=[summary.cohort_id for summary in summaries],
                day__range=(first, last),
            )
            .order_by("day")
            .values_list("cohort_id", "day", "high")
        ):
            highs.setdefault(cohort_id, {})[day] = high
        window = _window(first, last)
        return tuple(
            CohortCard(
                summary=summary,
                coaches=tuple(
                    sorted(names[user_id] for user_id in coaches.get(summary.cohort_id, ()))
                ),
                high_risk_trend=tuple(
                    (day, highs.get(summary.cohort_id, {}).get(day)) for day in window
                ),
            )
            for summary in summaries
        )

    return cached("cohort-cards", actor=actor, now=now, compute=compute, days=days)
