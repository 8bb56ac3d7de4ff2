"""What only a real PostgreSQL shows: concurrent senders of the same nudges."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from engagement.errors import Conflict
from engagement.models import AuditEvent, OutboxMessage
from nudges.lifecycle import nudge_cancel, nudge_send, nudges_send_due
from nudges.models import Channel, Nudge, NudgeStatus
from tests.nudges.lifecycle_factories import NOON, make_nudge

WORKERS = 6

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(work: Callable[[int], Any]) -> list[Any]:
    """``work(n)`` in WORKERS threads released together; each result or the error raised."""
    start = threading.Barrier(WORKERS)

    def run(n: int) -> Any:
        try:
            start.wait()
            return work(n)
        except Conflict as error:
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(run, range(WORKERS)))


def test_concurrent_sends_of_one_nudge_send_it_once() -> None:
    nudge = make_nudge(channel=Channel.IN_APP)

    results = race(lambda _: nudge_send(nudge=Nudge.objects.get(pk=nudge.pk), actor=None, now=NOON))

    assert sum(isinstance(result, Nudge) for result in results) == 1
    assert sum(isinstance(result, Conflict) for result in results) == WORKERS - 1
    assert OutboxMessage.objects.count() == 1
    assert AuditEvent.objects.filter(action="nudge.send").count() == 1


def test_concurrent_due_runs_and_a_cancel_move_each_nudge_once() -> None:
    due = [
        make_nudge(channel=Channel.IN_APP, status=NudgeStatus.SCHEDULED, scheduled_for=NOON)
        for _ in range(10)
    ]
    cancelled = due[0]

    def work(n: int) -> Any:
        if n == 0:
            return nudge_cancel(nudge=Nudge.objects.get(pk=cancelled.pk), actor=None)
        return nudges_send_due(now=NOON + timedelta(minutes=1))

    results = race(work)

    counts = [result for result in results if isinstance(result, dict)]
    statuses = dict(Nudge.objects.values_list("pk", "status"))
    sent = [pk for pk, status in statuses.items() if status == NudgeStatus.SENT]
    assert sum(count["sent"] for count in counts) == len(sent)
    assert OutboxMessage.objects.count() == len(sent)
    assert len(sent) + (statuses[cancelled.pk] == NudgeStatus.CANCELLED) == 10
    assert AuditEvent.objects.filter(action="nudge.send").count() == len(sent)
