"""What only a real PostgreSQL shows: concurrent senders of the same nudges, and of different
nudges to the same learners (the contact policy's per-learner lock)."""

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from engagement.errors import Conflict
from engagement.models import AuditEvent, OutboxMessage
from nudges.lifecycle import nudge_cancel, nudge_send, nudges_send, nudges_send_due
from nudges.models import Channel, Nudge, NudgeStatus
from nudges.policy import Rule
from tests.factories import LearnerFactory
from tests.nudges.lifecycle_factories import NOON, make_nudge, pin_policy, sent_nudge

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


# One learner, several senders: the policy lock ------------------------------------------------


def waiting_for_an_advisory_lock() -> bool:
    """Whether a session of this test database waits for an advisory lock (pg_locks is live,
    not a snapshot)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return bool(cursor.fetchone()[0])


def send_in_thread(nudge_id: uuid.UUID) -> dict[str, int]:
    try:
        return nudges_send(nudge_ids=[nudge_id], actor=None, now=NOON)
    finally:
        connection.close()


def until_blocked_or_done(other: Future[Any]) -> None:
    """Wait for the other sender to either finish or queue behind our lock (a guard against
    hanging, not a timing assertion: either way the test goes on and judges the outcome)."""
    deadline = time.monotonic() + 60
    while not (other.done() or waiting_for_an_advisory_lock()):
        if time.monotonic() > deadline:
            raise AssertionError("the second sender neither finished nor waited")
        time.sleep(0.01)


@pytest.mark.parametrize(("sent_before", "rule"), [(1, Rule.WEEKLY_LIMIT), (0, Rule.MIN_GAP)])
def test_a_second_sender_to_the_same_learner_sees_what_the_first_sent(
    settings: Any, sent_before: int, rule: str
) -> None:
    """The first sender's transaction is held open after it sent: the second (another nudge,
    the same learner) must wait for it, then find the limit or the gap reached."""
    pin_policy(settings)
    learner = LearnerFactory()
    for _ in range(sent_before):
        sent_nudge(learner, NOON - timedelta(days=3))
    first, second = (make_nudge(learner=learner, channel=Channel.IN_APP) for _ in range(2))

    with ThreadPoolExecutor(max_workers=1) as pool:
        with transaction.atomic():
            assert nudges_send(nudge_ids=[first.pk], actor=None, now=NOON)["sent"] == 1
            other = pool.submit(send_in_thread, second.pk)
            until_blocked_or_done(other)
        counts = other.result()

    assert counts == {"sent": 0, "scheduled": 0, "suppressed": 1}
    second.refresh_from_db()
    assert (second.status, second.suppressed_rule) == (NudgeStatus.SUPPRESSED, rule)
    assert OutboxMessage.objects.count() == 1


def test_concurrent_batches_to_the_same_learners_send_each_one_nudge_without_deadlock(
    settings: Any,
) -> None:
    """Each worker sends its own nudges to the same two learners, half of them written (so
    judged) in the other learner order: the learner locks are taken in one order whatever the
    batch, and the gap holds."""
    pin_policy(settings)
    learners = [LearnerFactory(), LearnerFactory()]
    batches = [
        [
            make_nudge(learner=learner, channel=Channel.IN_APP).pk
            for learner in (learners if n % 2 else learners[::-1])
        ]
        for n in range(WORKERS)
    ]

    results = race(lambda n: nudges_send(nudge_ids=batches[n], actor=None, now=NOON))

    assert sum(result["sent"] for result in results) == 2
    assert sum(result["suppressed"] for result in results) == 2 * WORKERS - 2
    for learner in learners:
        sent = Nudge.objects.filter(learner=learner, status=NudgeStatus.SENT)
        assert sent.count() == 1
    assert set(
        Nudge.objects.filter(status=NudgeStatus.SUPPRESSED).values_list(
            "suppressed_rule", flat=True
        )
    ) == {Rule.MIN_GAP}


def test_the_policy_lock_is_one_query_for_any_number_of_learners() -> None:
    def lock_queries(count: int) -> int:
        nudges = [make_nudge(channel=Channel.IN_APP) for _ in range(count)]
        with CaptureQueriesContext(connection) as captured:
            nudges_send(nudge_ids=[nudge.pk for nudge in nudges], actor=None, now=NOON)
        return sum("pg_advisory_xact_lock" in query["sql"] for query in captured.captured_queries)

    assert lock_queries(1) == lock_queries(25) == 1
