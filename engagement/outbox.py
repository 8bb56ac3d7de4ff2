"""The outbox: side effects (mail today, nudges and webhooks later) are written as rows in the
transaction that causes them and delivered after it commits, at least once (ADR 0004).

A service enqueues inside its transaction; a rollback leaves no row, so nothing is sent::

    outbox_enqueue(
        channel="email",
        payload={"to": user.email, "subject": "...", "body": "..."},
        idempotency_key=f"invite:{user.pk}",
    )

After commit a Celery task (:func:`engagement.tasks.outbox_deliver_task`) claims the row in one
UPDATE, so two workers never both send it, and hands it to the channel's handler. A failure
backs off exponentially with jitter; the periodic :func:`outbox_sweep` delivers what is due (a
retry, a dispatch lost while the broker was down, a message whose worker was lost while
``sending``). A worker lost after sending means the message is sent again: each delivery carries
the idempotency key (for mail, a Message-ID derived from it) so the receiver can de-duplicate.

Apps add channels from their ``AppConfig.ready()`` with ``registry.add_outbox_channel(name,
handler)`` (:mod:`engagement.registry`); a handler sends one message or raises, and must
tolerate being called again for a message it already sent (pass ``message.idempotency_key`` on). Logs name message ids, channels and attempts only: the
payload holds the recipient and is never logged, and ``last_error`` is the error's type. The
payload is kept only while it may still be needed: a sent or cancelled message keeps none.
"""

import hashlib
import logging
import random
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from celery.schedules import crontab
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from engagement.audit import Actor, audit_record
from engagement.filters import OutboxFilter, filtered
from engagement.ids import row_by_id
from engagement.metrics import outbox_deliveries
from engagement.models import OutboxMessage, OutboxStatus
from engagement.registry import registry

logger = logging.getLogger(__name__)

MessageId = uuid.UUID | str

# A claim lasts this long: past it, the worker is taken for lost and the message is claimed
# again. Longer than the delivery task's hard time limit, so a live worker never loses it.
SENDING_LEASE = timedelta(minutes=5)
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# The sweep leaves fresh messages to their own on-commit dispatch for this long.
SWEEP_GRACE = timedelta(minutes=1)
SWEEP_BATCH = 200
# Every minute: messages due for a retry, or whose dispatch or worker was lost.
BEAT_SCHEDULE = {"outbox-sweep": {"task": "engagement.outbox_sweep", "schedule": crontab()}}
ERROR_MAX_LENGTH = 200
EMAIL_CHANNEL = "email"
RETRYABLE_STATUSES = (OutboxStatus.PENDING, OutboxStatus.FAILED)
# What the admin and the API show of a message: its delivery, not its payload (``recipient`` is
# the masked address of :func:`outbox_recipient_masked`).
SHOWN_FIELDS = (
    "id",
    "channel",
    "recipient",
    "status",
    "attempts",
    "max_attempts",
    "next_attempt_at",
    "last_error",
    "idempotency_key",
    "sent_at",
    "created_at",
    "updated_at",
)


def email_message_id(idempotency_key: str) -> str:
    """The same Message-ID for every delivery of one message, whichever worker sends it."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<outbox.{digest}@{urlsplit(settings.SITE_URL).hostname or 'localhost'}>"


def email_send(message: OutboxMessage) -> None:
    """The ``email`` channel: payload ``to`` (one address), ``subject`` and ``body``."""
    payload = message.payload
    EmailMessage(
        subject=payload["subject"],
        body=payload["body"],
        to=[payload["to"]],
        headers={"Message-ID": email_message_id(message.idempotency_key)},
    ).send()


def _dispatch(message_id: str) -> None:
    from engagement.tasks import outbox_deliver_task  # the task module imports this one

    outbox_deliver_task.delay(message_id)


def _dispatch_after_commit(message_id: str) -> None:
    """A broker down at commit is logged and left to the sweep, never the caller's failure."""
    transaction.on_commit(lambda: _dispatch(message_id), robust=True)


def outbox_enqueue(
    *, channel: str, payload: Mapping[str, Any], idempotency_key: str
) -> OutboxMessage:
    """Write one message in the caller's transaction and deliver it after commit.

    A repeated ``idempotency_key`` returns the existing message and sends nothing more.
    """
    return outbox_enqueue_many(channel=channel, messages={idempotency_key: payload})[0]


def outbox_enqueue_many(
    *, channel: str, messages: Mapping[str, Mapping[str, Any]]
) -> list[OutboxMessage]:
    """:func:`outbox_enqueue` for ``{idempotency_key: payload}`` in two queries whatever the
    number; returns the messages in the order given."""
    if registry.outbox_channel(channel) is None:
        raise ValueError(f"Unknown outbox channel {channel!r}.")
    now = timezone.now()
    rows = [
        OutboxMessage(
            channel=channel, payload=dict(payload), idempotency_key=key, next_attempt_at=now
        )
        for key, payload in messages.items()
    ]
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
    stored = {
        message.idempotency_key: message
        for message in OutboxMessage.objects.filter(idempotency_key__in=list(messages))
    }
    for row in rows:
        if stored[row.idempotency_key].pk == row.pk:  # new: an existing one is on its way
            _dispatch_after_commit(str(row.pk))
    return [stored[key] for key in messages]


def _due(now: datetime) -> QuerySet[OutboxMessage]:
    """Messages to (re)try by ``now``: pending ones, and those whose worker's lease ran out."""
    return OutboxMessage.objects.filter(
        status__in=(OutboxStatus.PENDING, OutboxStatus.SENDING),
        next_attempt_at__lte=now,
        attempts__lt=F("max_attempts"),
    )


def outbox_claim(*, message_id: MessageId, now: datetime | None = None) -> OutboxMessage | None:
    """Take the message for one attempt, or ``None`` if it is not due or another worker has it.

    One conditional UPDATE: of concurrent claimers, only one changes the row.
    """
    now = now or timezone.now()
    claimed = (
        _due(now)
        .filter(pk=message_id)
        .update(
            status=OutboxStatus.SENDING,
            attempts=F("attempts") + 1,
            next_attempt_at=now + SENDING_LEASE,
            updated_at=now,
        )
    )
    return OutboxMessage.objects.get(pk=message_id) if claimed else None


def outbox_backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: doubling from a minute up to an hour, with
    jitter (a random half to all of it) so that messages failing together spread out."""
    delay = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)
    return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


def _fail(message: OutboxMessage, error: BaseException, now: datetime) -> None:
    final = message.attempts >= message.max_attempts
    OutboxMessage.objects.filter(
        pk=message.pk, status=OutboxStatus.SENDING, attempts=message.attempts
    ).update(
        status=OutboxStatus.FAILED if final else OutboxStatus.PENDING,
        next_attempt_at=now if final else now + outbox_backoff(message.attempts),
        last_error=type(error).__name__[:ERROR_MAX_LENGTH],
        updated_at=now,
    )
    outbox_deliveries.labels(channel=message.channel, status="failed" if final else "retry").inc()
    logger.warning(
        "outbox message %s (%s) attempt %s of %s failed%s: %s",
        message.pk,
        message.channel,
        message.attempts,
        message.max_attempts,
        " for good" if final else "",
        type(error).__name__,
    )


def outbox_deliver(*, message_id: MessageId, now: datetime | None = None) -> OutboxMessage | None:
    """Claim the message and send it through its channel; ``None`` if it was not claimed.

    Call it outside any transaction: the claim must be visible to other workers while sending.
    """
    message = outbox_claim(message_id=message_id, now=now)
    if message is None:
        logger.info("outbox message %s not claimed: not due or taken", message_id)
        return None
    handler = registry.outbox_channel(message.channel)
    try:
        if handler is None:
            raise ImproperlyConfigured("no handler for this channel")
        handler(message)
    except Exception as error:
        _fail(message, error, now or timezone.now())
    else:
        sent_at = timezone.now()
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxStatus.SENT,
            payload={},
            sent_at=Coalesce("sent_at", sent_at),
            last_error="",
            updated_at=sent_at,
        )
        outbox_deliveries.labels(channel=message.channel, status="sent").inc()
        logger.info(
            "outbox message %s (%s) sent on attempt %s",
            message.pk,
            message.channel,
            message.attempts,
        )
    message.refresh_from_db()
    return message


def outbox_due_ids(*, now: datetime, limit: int = SWEEP_BATCH) -> list[str]:
    """Ids of up to ``limit`` messages due by ``now``, longest due first (one query)."""
    ids = _due(now).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
    return [str(pk) for pk in ids]


def outbox_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Send a delivery task for each due message (retries, lost dispatches, lost workers) and
    fail those whose worker was lost on their last attempt; returns how many were dispatched.

    Messages younger than :data:`SWEEP_GRACE` are left to their own on-commit dispatch.
    """
    now = now or timezone.now()
    lost = OutboxMessage.objects.filter(
        status=OutboxStatus.SENDING, next_attempt_at__lte=now, attempts__gte=F("max_attempts")
    ).update(status=OutboxStatus.FAILED, last_error="WorkerLost", updated_at=now)
    ids = outbox_due_ids(now=now - SWEEP_GRACE, limit=limit)
    for message_id in ids:
        _dispatch(message_id)
    if ids or lost:
        logger.info("outbox sweep: %s dispatched, %s lost on their last attempt", len(ids), lost)
    return len(ids)


def _lock_retryable(message_ids: Iterable[MessageId]) -> list[str]:
    """Those of ``message_ids`` still pending or failed, locked until the transaction ends."""
    locked = OutboxMessage.objects.select_for_update().filter(
        pk__in=message_ids, status__in=RETRYABLE_STATUSES
    )
    return [str(pk) for pk in locked.values_list("pk", flat=True)]


@transaction.atomic
def outbox_retry(*, message_ids: Iterable[MessageId], actor: Actor) -> int:
    """Deliver pending or failed messages now, granting a failed one one more attempt."""
    now = timezone.now()
    ids = _lock_retryable(message_ids)
    OutboxMessage.objects.filter(pk__in=ids).update(
        status=OutboxStatus.PENDING,
        next_attempt_at=now,
        max_attempts=Greatest(F("max_attempts"), F("attempts") + 1),
        updated_at=now,
    )
    for message_id in ids:
        _dispatch_after_commit(message_id)
    if ids:
        audit_record(actor=actor, action="outbox.retry", changes={"messages": sorted(ids)})
    return len(ids)


@transaction.atomic
def outbox_cancel(*, message_ids: Iterable[MessageId], actor: Actor) -> int:
    """Never send these pending or failed messages (one being sent cannot be stopped)."""
    ids = _lock_retryable(message_ids)
    OutboxMessage.objects.filter(pk__in=ids).update(
        status=OutboxStatus.CANCELLED, payload={}, updated_at=timezone.now()
    )
    if ids:
        audit_record(actor=actor, action="outbox.cancel", changes={"messages": sorted(ids)})
    return len(ids)


def outbox_recipient_masked(message: OutboxMessage) -> str:
    """Enough of the recipient to tell messages apart (``a***@example.org``), no more."""
    recipient = message.payload.get("to") if isinstance(message.payload, dict) else None
    if not isinstance(recipient, str) or not recipient:
        return ""
    local, _, domain = recipient.partition("@")
    return f"{local[:1]}***@{domain}" if domain else f"{local[:1]}***"


def outbox_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[OutboxMessage]:
    """Messages newest first, narrowed by ``filters`` (see :class:`OutboxFilter`)."""
    return filtered(OutboxFilter, OutboxMessage.objects.order_by("-created_at", "-id"), filters)


def outbox_get(*, message_id: MessageId) -> OutboxMessage:
    return row_by_id(outbox_list(), message_id, missing="No outbox message with this id.")
