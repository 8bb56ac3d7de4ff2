"""The analytics app's periodic tasks (registered with Celery beat from ``AnalyticsConfig.ready()``)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # 00:10 UTC: close yesterday's snapshot (as of its end), start today's, and write any day of
    # the last 35 that has none (days lost while the workers or beat were down).
    "analytics-snapshots-nightly": {
        "task": "analytics.snapshots_catch_up",
        "schedule": crontab(hour=0, minute=10),
    },
    # Every hour at :40: today's partial row, so trends show today.
    "analytics-snapshots-hourly": {
        "task": "analytics.snapshots_refresh",
        "schedule": crontab(minute=40),
        "kwargs": {"days": 1},
    },
}
