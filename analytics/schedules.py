"""The analytics app's periodic tasks (registered with Celery beat from ``AnalyticsConfig.ready()``)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # 00:10 UTC: close yesterday's snapshot (as of its end) and start today's.
    "analytics-snapshots-nightly": {
        "task": "analytics.snapshots_refresh",
        "schedule": crontab(hour=0, minute=10),
        "kwargs": {"days": 2},
    },
    # Every hour at :40: today's partial row, so trends show today.
    "analytics-snapshots-hourly": {
        "task": "analytics.snapshots_refresh",
        "schedule": crontab(minute=40),
        "kwargs": {"days": 1},
    },
}
