"""The outbox: written in the caller's transaction, delivered after commit, at least once."""

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from smtplib import SMTPRecipientsRefused
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from engagement import outbox
from engagement.accounts import user_create
from engagement.models import AuditEvent, OutboxMessage, OutboxStatus
from engagement.outbox import (
    EMAIL_CHANNEL,
    SENDING_LEASE,
    SWEEP_GRACE,
    email_message_id,
    outbox_backoff,
    outbox_cancel,
    outbox_claim,
    outbox_deliver,
    outbox_enqueue,
    outbox_enqueue_many,
    outbox_retry,
    outbox_sweep,
)
from engagement.registry import Registry, registry
from engagement.tasks import outbox_sweep_task
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/outbox/"
CaptureOnCommit = Callable[..., Any]


def email(key: str = "k1", to: str = "someone@example.org") -> OutboxMessage:
    return outbox_enqueue(
        channel=EMAIL_CHANNEL,
        payload={"to": to, "subject": "Hello", "body": "Body text"},
        idempotency_key=key,
    )


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BaseException]]:
    """A ``test`` channel that raises the errors queued in the list, then succeeds."""
    errors: list[BaseException] = []
    sent: list[str] = []

    def handler(message: OutboxMessage) -> None:
        if errors:
            raise errors.pop(0)
        sent.append(str(message.pk))

    monkeypatch.setitem(registry._outbox_channels, "test", handler)
    yield errors


def queued(key: str = "t1", **fields: Any) -> OutboxMessage:
    message = outbox_enqueue(channel="test", payload={"to": "x@example.org"}, idempotency_key=key)
    if fields:
        OutboxMessage.objects.filter(pk=message.pk).update(**fields)
        message.refresh_from_db()
    return message


# Enqueue and the transaction ------------------------------------------------------------------


def test_a_committed_message_is_mailed_after_commit_with_a_message_id_from_its_key(
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = email("invite:abc")
        assert mail.outbox == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    assert [m.to for m in mail.outbox] == [["someone@example.org"]]
    assert mail.outbox[0].extra_headers["Message-ID"] == email_message_id("invite:abc")
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, "")
    assert message.sent_at is not None
    assert message.payload == {}  # the recipient and body are not kept once sent


@pytest.mark.django_db(transaction=True)
def test_with_eager_tasks_an_invitation_leaves_when_the_creation_commits() -> None:
    user = user_create(actor=None, username="ann", email="ann@example.org", role="coach")
    assert [m.to for m in mail.outbox] == [["ann@example.org"]]
    message = OutboxMessage.objects.get()
    assert (message.idempotency_key, message.status) == (f"invite:{user.pk}", "sent")


def test_the_message_id_is_stable_per_key_and_differs_between_keys() -> None:
    assert email_message_id("a") == email_message_id("a") != email_message_id("b")
    assert email_message_id("a").endswith("@127.0.0.1>")


def test_a_rolled_back_transaction_sends_nothing(
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        email()
        raise RuntimeError("the caller failed")
    assert callbacks == []
    assert mail.outbox == []
    assert not OutboxMessage.objects.exists()


def test_a_rolled_back_user_creation_invites_nobody(
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        user_create(actor=None, username="ann", email="ann@example.org", role="coach")
        raise RuntimeError("a later step failed")
    assert mail.outbox == []
    assert not OutboxMessage.objects.exists()


def test_a_repeated_key_returns_the_existing_message_and_sends_it_once(
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = email("same")
        again = email("same", to="other@example.org")
    assert again.pk == first.pk
    assert again.payload["to"] == "someone@example.org"
    assert len(callbacks) == 1 and len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True) as later:
        outbox_enqueue_many(
            channel=EMAIL_CHANNEL,
            messages={"same": {"to": "x@example.org"}, "new": {"to": "n@example.org"}},
        )
    assert len(later) == 1
    assert OutboxMessage.objects.count() == 2


def test_an_unknown_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown outbox channel"):
        outbox_enqueue(channel="pigeon", payload={}, idempotency_key="p")


def test_channels_are_registered_once_and_from_ready_only() -> None:
    assert registry.outbox_channel(EMAIL_CHANNEL) is outbox.email_send
    with pytest.raises(ImproperlyConfigured, match="every app is ready already"):
        registry.add_outbox_channel("pigeon", lambda message: None)
    fresh = Registry(apps_ready=lambda: False)
    fresh.add_outbox_channel("pigeon", print)
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        fresh.add_outbox_channel("pigeon", print)


def test_a_broker_failure_at_commit_leaves_the_message_for_the_sweep(
    django_capture_on_commit_callbacks: CaptureOnCommit, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broker_down(message_id: str) -> None:
        raise ConnectionRefusedError("broker")

    monkeypatch.setattr(outbox, "_dispatch", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        message = email()
    message.refresh_from_db()
    assert message.status == "pending" and mail.outbox == []
    monkeypatch.undo()
    assert outbox_sweep(now=timezone.now() + SWEEP_GRACE) == 1
    message.refresh_from_db()
    assert message.status == "sent" and len(mail.outbox) == 1


# The state machine ----------------------------------------------------------------------------


def test_only_one_claim_wins_and_a_message_not_due_is_not_claimed(flaky: list) -> None:
    message = queued()
    claimed = outbox_claim(message_id=message.pk)
    assert claimed is not None and (claimed.status, claimed.attempts) == ("sending", 1)
    assert outbox_claim(message_id=message.pk) is None
    later = queued("t2", next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert outbox_claim(message_id=later.pk) is None
    assert outbox_deliver(message_id=later.pk) is None


def test_a_failure_backs_off_with_jitter_and_is_retried_when_due(flaky: list) -> None:
    message = queued()
    flaky.append(SMTPRecipientsRefused({"x@example.org": (550, b"no")}))
    before = timezone.now()
    failed = outbox_deliver(message_id=message.pk)
    assert failed is not None
    assert (failed.status, failed.attempts, failed.last_error) == (
        "pending",
        1,
        "SMTPRecipientsRefused",
    )
    wait = failed.next_attempt_at - before
    assert timedelta(seconds=29) <= wait <= timedelta(seconds=61)
    assert outbox_deliver(message_id=message.pk) is None  # not due yet
    sent = outbox_deliver(message_id=message.pk, now=failed.next_attempt_at)
    assert sent is not None and (sent.status, sent.attempts, sent.last_error) == ("sent", 2, "")


def test_backoff_doubles_up_to_an_hour_and_jitters_down_to_half(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox.random, "uniform", lambda low, high: high)
    assert [outbox_backoff(n).total_seconds() for n in (1, 2, 3, 7, 20)] == [
        60,
        120,
        240,
        3600,
        3600,
    ]
    monkeypatch.setattr(outbox.random, "uniform", lambda low, high: low)
    assert outbox_backoff(1) == timedelta(seconds=30)


def test_the_last_failed_attempt_fails_the_message_for_good(flaky: list) -> None:
    message = queued(max_attempts=2)
    flaky.extend([OSError("down"), OSError("down")])
    outbox_deliver(message_id=message.pk)
    failed = outbox_deliver(message_id=message.pk, now=timezone.now() + timedelta(hours=2))
    assert failed is not None and (failed.status, failed.attempts) == ("failed", 2)
    assert outbox_claim(message_id=message.pk, now=timezone.now() + timedelta(days=1)) is None


def test_a_message_left_sending_by_a_lost_worker_is_claimed_again_after_its_lease(
    flaky: list,
) -> None:
    message = queued()
    assert outbox_claim(message_id=message.pk) is not None  # the worker dies here
    assert outbox_claim(message_id=message.pk) is None  # still within its lease
    after_lease = timezone.now() + SENDING_LEASE + timedelta(seconds=1)
    sent = outbox_deliver(message_id=message.pk, now=after_lease)
    assert sent is not None and (sent.status, sent.attempts) == ("sent", 2)


def test_a_worker_lost_on_the_last_attempt_fails_the_message_at_the_sweep(flaky: list) -> None:
    message = queued(max_attempts=1)
    assert outbox_claim(message_id=message.pk) is not None
    assert outbox_sweep(now=timezone.now() + SENDING_LEASE * 2) == 0
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("failed", "WorkerLost")


def test_a_message_without_a_handler_is_retried_not_lost() -> None:
    message = OutboxMessage.objects.create(
        channel="gone", payload={}, idempotency_key="g", next_attempt_at=timezone.now()
    )
    failed = outbox_deliver(message_id=message.pk)
    assert failed is not None
    assert (failed.status, failed.last_error) == ("pending", "ImproperlyConfigured")


def test_outcomes_are_logged_without_personal_data(
    flaky: list, caplog: pytest.LogCaptureFixture
) -> None:
    message = queued()
    flaky.append(SMTPRecipientsRefused({"x@example.org": (550, b"x@example.org refused")}))
    with caplog.at_level(logging.INFO, logger="engagement.outbox"):
        outbox_deliver(message_id=message.pk)
        outbox_deliver(message_id=message.pk, now=timezone.now() + timedelta(hours=1))
    assert f"outbox message {message.pk} (test) attempt 1 of 5 failed" in caplog.text
    assert "SMTPRecipientsRefused" in caplog.text
    assert f"outbox message {message.pk} (test) sent on attempt 2" in caplog.text
    assert "x@example.org" not in caplog.text


# The sweep ------------------------------------------------------------------------------------


def sweep_queries(count: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[str]]:
    dispatched: list[str] = []
    monkeypatch.setattr(outbox, "_dispatch", dispatched.append)
    old = timezone.now() - timedelta(minutes=10)
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            channel=EMAIL_CHANNEL, payload={}, idempotency_key=f"s{count}-{n}", next_attempt_at=old
        )
        for n in range(count)
    )
    with CaptureQueriesContext(connection) as queries:
        assert outbox_sweep() == count
    return len(queries), dispatched


def test_the_sweep_finds_due_messages_in_a_fixed_number_of_queries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    few, _ = sweep_queries(2, monkeypatch)
    OutboxMessage.objects.all().delete()
    many, dispatched = sweep_queries(30, monkeypatch)
    assert few == many == 2
    assert len(set(dispatched)) == 30


def test_the_sweep_leaves_fresh_sent_and_cancelled_messages_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dispatched: list[str] = []
    monkeypatch.setattr(outbox, "_dispatch", dispatched.append)
    old = timezone.now() - timedelta(minutes=10)
    due = email("due")
    OutboxMessage.objects.filter(pk=due.pk).update(next_attempt_at=old)
    email("fresh")
    for key, status in (("sent", "sent"), ("cancelled", "cancelled"), ("failed", "failed")):
        OutboxMessage.objects.filter(pk=email(key).pk).update(status=status, next_attempt_at=old)
    assert outbox_sweep() == 1
    assert dispatched == [str(due.pk)]


def test_the_periodic_task_sweeps(django_capture_on_commit_callbacks: CaptureOnCommit) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        message = email()
    OutboxMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - SWEEP_GRACE * 2
    )
    assert outbox_sweep_task.delay().get(disable_sync_subtasks=False) == 1  # an eager result
    message.refresh_from_db()
    assert message.status == "sent" and len(mail.outbox) == 1


def test_the_sweep_stops_at_its_batch_size(monkeypatch: pytest.MonkeyPatch) -> None:
    dispatched: list[str] = []
    monkeypatch.setattr(outbox, "_dispatch", dispatched.append)
    for n in range(3):
        email(f"b{n}")
    assert outbox_sweep(now=timezone.now() + SWEEP_GRACE, limit=2) == 2


# Retry and cancel -----------------------------------------------------------------------------


def test_retry_now_grants_a_failed_message_one_more_attempt_and_is_audited(
    flaky: list, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    message = queued(max_attempts=1)
    flaky.append(OSError("down"))
    outbox_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == "failed"
    admin = UserFactory(role="admin")
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_retry(message_ids=[message.pk], actor=admin) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.max_attempts) == ("sent", 2, 2)
    assert outbox_retry(message_ids=[message.pk], actor=admin) == 0  # sent: nothing to retry
    assert AuditEvent.objects.filter(action="outbox.retry").count() == 1


def test_cancel_stops_pending_and_failed_messages_but_not_sent_ones() -> None:
    pending, sent = email("p"), email("s")
    OutboxMessage.objects.filter(pk=sent.pk).update(status=OutboxStatus.SENT)
    assert outbox_cancel(message_ids=[pending.pk, sent.pk], actor=None) == 1
    pending.refresh_from_db()
    assert (pending.status, pending.payload) == ("cancelled", {})
    assert outbox_claim(message_id=pending.pk) is None


def test_recipients_are_masked_whatever_their_form() -> None:
    def masked(payload: Any) -> str:
        return outbox.outbox_recipient_masked(OutboxMessage(payload=payload))

    assert masked({"to": "ann@example.org"}) == "a***@example.org"
    assert masked({"to": "learner-0042"}) == "l***"
    assert masked({"to": ""}) == masked({}) == masked([]) == ""


# Admin ----------------------------------------------------------------------------------------


def test_the_admin_lists_messages_without_their_payload_and_retries_through_the_service(
    client: Client, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    message = email(to="zqrecipient@example.org")
    OutboxMessage.objects.filter(pk=message.pk).update(status="failed", attempts=5)
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    listing = client.get("/admin/engagement/outboxmessage/?status__exact=failed")
    assert listing.status_code == 200 and str(message.pk) in listing.content.decode()
    detail = client.get(f"/admin/engagement/outboxmessage/{message.pk}/change/").content.decode()
    assert "z***@example.org" in detail
    assert "zqrecipient" not in detail and "Body text" not in detail
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/engagement/outboxmessage/",
            {"action": "retry_now", "_selected_action": [str(message.pk)]},
            follow=True,
        )
    assert "Retrying 1 message" in response.content.decode()
    message.refresh_from_db()
    assert message.status == "sent"
    client.post(
        "/admin/engagement/outboxmessage/",
        {"action": "cancel", "_selected_action": [str(message.pk)]},
    )
    message.refresh_from_db()
    assert message.status == "sent"


# API ------------------------------------------------------------------------------------------


def test_the_outbox_api_needs_a_signed_in_admin() -> None:
    message = email()
    assert APIClient().get(URL).status_code == 401
    for role in ("coach", "analyst"):
        client = APIClient()
        client.force_authenticate(UserFactory(role=role))
        assert client.get(URL).status_code == 403
        assert client.get(f"{URL}{message.pk}/").status_code == 403


def test_admins_list_and_read_messages_with_the_recipient_masked(
    auth_client: APIClient,
) -> None:
    message = email(to="zqrecipient@example.org")
    listing = auth_client.get(URL)
    assert listing.status_code == 200
    assert [row["id"] for row in listing.data["results"]] == [str(message.pk)]
    detail = auth_client.get(f"{URL}{message.pk}/")
    assert detail.status_code == 200
    assert detail.data["recipient"] == "z***@example.org"
    assert detail.data["status"] == "pending" and detail.data["channel"] == "email"
    assert "payload" not in detail.data
    assert "zqrecipient" not in detail.content.decode()
    assert auth_client.get(f"{URL}{AuditEvent().pk}/").status_code == 404


def test_the_outbox_list_takes_the_same_queries_for_few_messages_or_many(
    auth_client: APIClient,
) -> None:
    def listed(count: int) -> tuple[int, int]:
        for n in range(count):
            email(f"q{count}-{n}")
        with CaptureQueriesContext(connection) as queries:
            response = auth_client.get(URL)
        assert response.status_code == 200
        return response.data["count"], len(queries)

    (few, few_queries), (many, many_queries) = listed(2), listed(20)
    assert (few, many) == (2, 22)
    assert few_queries == many_queries


def test_the_outbox_list_filters_by_status_and_channel(auth_client: APIClient, flaky: list) -> None:
    sent, pending = email("a"), queued("b")
    OutboxMessage.objects.filter(pk=sent.pk).update(status="sent")
    by_status = auth_client.get(URL, {"status": "sent"})
    assert [row["id"] for row in by_status.data["results"]] == [str(sent.pk)]
    both = auth_client.get(f"{URL}?status=sent&status=pending")
    assert len(both.data["results"]) == 2
    by_channel = auth_client.get(URL, {"channel": "test"})
    assert [row["id"] for row in by_channel.data["results"]] == [str(pending.pk)]
    bad = auth_client.get(URL, {"status": "lost"})
    assert bad.status_code == 400
    assert "status" in bad.data


def test_the_outbox_is_in_the_openapi_schema(auth_client: APIClient) -> None:
    schema = auth_client.get("/api/schema/", {"format": "json"}).json()
    assert {"/api/v1/outbox/", "/api/v1/outbox/{id}/"} <= set(schema["paths"])
    parameters = {p["name"] for p in schema["paths"]["/api/v1/outbox/"]["get"]["parameters"]}
    assert {"status", "channel"} <= parameters


# Password reset -------------------------------------------------------------------------------


def test_password_reset_mails_go_through_the_outbox(
    client: Client, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    UserFactory(email="reset@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password_reset/", {"email": "reset@example.org"})
    assert response.status_code == 302
    message = OutboxMessage.objects.get()
    assert message.idempotency_key.startswith("password-reset:")
    assert message.status == "sent"
    assert [m.to for m in mail.outbox] == [["reset@example.org"]]
    assert "/accounts/reset/" in mail.outbox[0].body
