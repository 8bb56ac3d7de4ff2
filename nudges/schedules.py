"""The nudges app's periodic tasks (registered with Celery beat from ``NudgesConfig.ready()``)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Every minute: scheduled nudges now due (quiet hours over, a chosen time reached).
    "nudges-send-due": {"task": "nudges.send_due", "schedule": crontab()},
}
