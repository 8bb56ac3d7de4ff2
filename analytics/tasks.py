"""Thin Celery tasks of the analytics app (scheduled in ``analytics/schedules.py``)."""

from analytics.services import snapshots_refresh
from engagement.celery import app


@app.task(name="analytics.snapshots_refresh", acks_late=True)
def snapshots_refresh_task(days: int = 1) -> int:
    """Rewrite the last ``days`` daily snapshots ending today; idempotent (rows are upserted)."""
    return snapshots_refresh(days=days)
