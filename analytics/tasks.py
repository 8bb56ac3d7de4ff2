"""Thin Celery tasks of the analytics app (scheduled in ``analytics/schedules.py``).

Both are idempotent (a day's rows are upserted whole), so they are acknowledged once run, given
back when the worker is lost, retried on database trouble and bounded in time.
"""

from typing import Any

from django.db import OperationalError

from analytics.services import snapshots_catch_up, snapshots_refresh
from engagement.celery import app

RETRY_BASE_SECONDS = 60


def _snapshot_task(name: str, *, minutes: int) -> dict[str, Any]:
    """Celery options of a snapshot task: late acknowledgement, redelivery after a lost worker,
    three retries on database trouble, a soft limit of ``minutes`` and the hard one a minute on."""
    return {
        "name": name,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "autoretry_for": (OperationalError,),
        "max_retries": 3,
        "retry_backoff": RETRY_BASE_SECONDS,
        "soft_time_limit": minutes * 60,
        "time_limit": (minutes + 1) * 60,
    }


@app.task(**_snapshot_task("analytics.snapshots_refresh", minutes=10))
def snapshots_refresh_task(days: int = 1) -> int:
    """Rewrite the last ``days`` daily snapshots ending today."""
    return snapshots_refresh(days=days)


@app.task(**_snapshot_task("analytics.snapshots_catch_up", minutes=30))
def snapshots_catch_up_task() -> int:
    """Close yesterday, start today and write every missing day of the last five weeks."""
    return snapshots_catch_up()
