"""Writes of the analytics app: daily snapshots, computed set-based and upserted."""

from datetime import date, datetime, timedelta

from django.utils import timezone

from analytics.cache import analytics_cache_forget
from analytics.models import EVENT_COLUMNS, DailySnapshot
from learners import contracts

_UPDATED = [
    "learners",
    "studying",
    "completed",
    "withdrawn",
    "high",
    "medium",
    "low",
    "unscored",
    "active_learners",
    "events_total",
    *EVENT_COLUMNS,
    "alerts_waiting",
    "as_of",
    "computed_at",
]


def snapshots_write(day: date | None = None, *, now: datetime | None = None) -> int:
    """Compute every cohort's snapshot of ``day`` (UTC; default today, as of now) and store it,
    replacing the day's rows: re-running a day is harmless. Seven queries whatever the number of
    cohorts and learners; returns the number of rows written."""
    now = now or timezone.now()
    day = day or now.date()
    rows = [
        DailySnapshot(
            cohort_id=figures.cohort_id,
            day=figures.day,
            learners=figures.learners,
            studying=figures.studying,
            completed=figures.completed,
            withdrawn=figures.withdrawn,
            high=figures.high,
            medium=figures.medium,
            low=figures.low,
            unscored=figures.unscored,
            active_learners=figures.active_learners,
            events_total=sum(figures.events.values()),
            **{f"events_{kind}": count for kind, count in figures.events.items()},
            alerts_waiting=figures.alerts_waiting,
            as_of=figures.as_of,
            computed_at=now,
        )
        for figures in contracts.cohort_days(day=day, now=now)
    ]
    DailySnapshot.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["cohort", "day"],
        update_fields=_UPDATED,
    )
    analytics_cache_forget()
    return len(rows)


def snapshots_backfill(*, since: date, until: date, now: datetime | None = None) -> int:
    """Write every day from ``since`` to ``until`` (inclusive; none after today): a few queries
    per day, never per learner. Returns the number of days written."""
    now = now or timezone.now()
    until = min(until, now.date())
    days = 0
    day = since
    while day <= until:
        snapshots_write(day, now=now)
        days += 1
        day += timedelta(days=1)
    return days


def snapshots_refresh(*, days: int = 1, now: datetime | None = None) -> int:
    """Rewrite the last ``days`` days ending today (today's row is partial, as of now): what the
    scheduled task runs. Returns the number of days written."""
    now = now or timezone.now()
    today = now.date()
    return snapshots_backfill(since=today - timedelta(days=days - 1), until=today, now=now)
