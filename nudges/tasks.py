"""Thin Celery tasks of the nudges app."""

from engagement.celery import app
from nudges.lifecycle import nudges_send_due


@app.task(name="nudges.send_due", acks_late=True, soft_time_limit=60, time_limit=90)
def nudges_send_due_task() -> dict[str, int]:
    """Safe to run twice: each due nudge moves once (conditional UPDATE on its status)."""
    return nudges_send_due()
