"""Thin Celery tasks of the platform: the outbox's delivery and its periodic sweep."""

from engagement.celery import app
from engagement.outbox import outbox_deliver, outbox_sweep


@app.task(
    name="engagement.outbox_deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=90,
)
def outbox_deliver_task(message_id: str) -> str | None:
    """Idempotent: a message already claimed, sent or cancelled is left alone."""
    message = outbox_deliver(message_id=message_id)
    return message.status if message else None


@app.task(name="engagement.outbox_sweep", acks_late=True, soft_time_limit=60, time_limit=90)
def outbox_sweep_task() -> int:
    return outbox_sweep()
