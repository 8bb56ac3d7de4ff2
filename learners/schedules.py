"""The learners app's periodic tasks (registered with Celery beat from ``LearnersConfig.ready()``)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # 02:15 UTC, before coaches start: inactivity raises risk even when no event arrives.
    "rescore-daily": {"task": "learners.rescore_daily", "schedule": crontab(hour=2, minute=15)},
    # Every 10 minutes: learners whose new events arrived since their last score.
    "rescore-stale": {"task": "learners.rescore_stale", "schedule": crontab(minute="*/10")},
    # 06:00 UTC, after the daily rescore: coaches get the learners newly in the high band.
    "risk-digest": {"task": "learners.risk_digest", "schedule": crontab(hour=6, minute=0)},
    # Hourly: uploaded import files whose job never ended, past IMPORT_UPLOAD_RETENTION_HOURS.
    "import-uploads-clear": {
        "task": "learners.import_uploads_clear",
        "schedule": crontab(minute=40),
    },
}
