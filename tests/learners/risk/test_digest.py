"""The high-risk digest: every alert is handed to the outbox for each recipient, or stays pending
with the reason; the mails leave after the digest commits."""

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from smtplib import SMTPRecipientsRefused
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagement.models import OutboxMessage
from engagement.outbox import outbox_sweep
from learners.models import Cohort, Learner, RiskAlert, RiskAlertDelivery
from learners.risk.feedback import risk_digest_send, risk_feedback_create
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db

Digest = Callable[..., dict[str, int]]


@pytest.fixture
def digest(django_capture_on_commit_callbacks: Callable[..., Any]) -> Digest:
    """Run the digest and, as its commit would, the outbox deliveries (eager tasks)."""

    def run(**kwargs: Any) -> dict[str, int]:
        with django_capture_on_commit_callbacks(execute=True):
            return risk_digest_send(**kwargs)

    return run


def coach_of(cohort: Cohort, **fields: Any) -> Any:
    coach = UserFactory(role="coach", **fields)
    CohortAssignmentFactory(user=coach, cohort=cohort)
    return coach


def alert_for(learner: Learner, score: float = 0.8) -> RiskAlert:
    return RiskAlert.objects.create(learner=learner, score=score, as_of=timezone.now())


def recipients() -> list[list[str]]:
    return sorted(message.to for message in mail.outbox)


@pytest.fixture
def refused(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """Addresses the mail server refuses while the set holds them."""
    addresses: set[str] = set()
    deliver: Callable[..., int] = EmailBackend.send_messages

    def send_messages(self: EmailBackend, messages: list[Any]) -> int:
        for message in messages:
            if set(message.to) & addresses:
                raise SMTPRecipientsRefused({message.to[0]: (550, b"refused")})
        return deliver(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", send_messages)
    yield addresses


def test_a_cohort_without_a_coach_goes_to_the_active_admins_with_an_email(digest: Digest) -> None:
    UserFactory(role="admin", email="admin@example.org")
    UserFactory(role="admin", email="")
    UserFactory(role="admin", email="gone@example.org", is_active=False)
    coach_of(CohortFactory(), email="other@example.org")  # another cohort's coach
    alert = alert_for(LearnerFactory(cohort=CohortFactory()))
    result = digest()
    assert result == {
        "alerts": 1,
        "quieted": 0,
        "closed": 0,
        "delivered": 1,
        "pending": 0,
        "emails": 1,
    }
    assert recipients() == [["admin@example.org"]]
    alert.refresh_from_db()
    assert (alert.status, alert.reason) == ("delivered", "")
    assert alert.digested_at is not None


def test_coaches_without_an_email_address_count_as_no_coach(digest: Digest) -> None:
    cohort = CohortFactory()
    coach_of(cohort, email="")
    coach_of(cohort, email="away@example.org", is_active=False)
    UserFactory(role="admin", email="admin@example.org")
    alert_for(LearnerFactory(cohort=cohort))
    digest()
    assert recipients() == [["admin@example.org"]]


def test_an_alert_nobody_can_receive_stays_pending_with_the_reason_until_someone_can(
    digest: Digest,
) -> None:
    cohort = CohortFactory()
    alert = alert_for(LearnerFactory(cohort=cohort))
    UserFactory(role="admin", email="")
    result = digest()
    assert result == {
        "alerts": 1,
        "quieted": 0,
        "closed": 0,
        "delivered": 0,
        "pending": 1,
        "emails": 0,
    }
    assert mail.outbox == []
    alert.refresh_from_db()
    assert (alert.status, alert.reason, alert.digested_at) == ("pending", "no_recipient", None)
    assert digest()["pending"] == 1  # tried again, still nobody
    coach_of(cohort, email="coach@example.org")
    assert digest()["delivered"] == 1
    assert recipients() == [["coach@example.org"]]
    alert.refresh_from_db()
    assert (alert.status, alert.reason) == ("delivered", "")


def test_the_mails_leave_after_commit_through_the_outbox_one_per_recipient() -> None:
    cohort = CohortFactory()
    coach_of(cohort, email="first@example.org")
    coach_of(cohort, email="second@example.org")
    alert_for(LearnerFactory(cohort=cohort))
    assert risk_digest_send()["emails"] == 2
    assert mail.outbox == []  # nothing is sent inside the digest's transaction
    messages = OutboxMessage.objects.all()
    assert [m.status for m in messages] == ["pending", "pending"]
    assert all(m.idempotency_key.startswith("risk-digest:") for m in messages)
    assert len({m.idempotency_key for m in messages}) == 2


def test_a_mail_failure_is_retried_by_the_outbox_and_mails_nobody_twice(
    refused: set[str], digest: Digest
) -> None:
    cohort = CohortFactory()
    coach_of(cohort, email="first@example.org")
    coach_of(cohort, email="second@example.org")
    alert = alert_for(LearnerFactory(cohort=cohort))
    refused.add("second@example.org")
    result = digest()
    assert result == {
        "alerts": 1,
        "quieted": 0,
        "closed": 0,
        "delivered": 1,
        "pending": 0,
        "emails": 2,
    }
    alert.refresh_from_db()
    assert (alert.status, alert.reason) == ("delivered", "")
    assert recipients() == [["first@example.org"]]
    waiting = OutboxMessage.objects.get(status="pending")
    assert (waiting.attempts, waiting.last_error) == (1, "SMTPRecipientsRefused")

    refused.clear()
    past = timezone.now() - timedelta(minutes=2)  # its back-off has run out
    OutboxMessage.objects.filter(pk=waiting.pk).update(next_attempt_at=past)
    assert outbox_sweep() == 1
    assert recipients() == [["first@example.org"], ["second@example.org"]]
    assert RiskAlertDelivery.objects.filter(alert=alert).count() == 2
    assert digest() == {
        "alerts": 0,
        "quieted": 0,
        "closed": 0,
        "delivered": 0,
        "pending": 0,
        "emails": 0,
    }
    assert len(mail.outbox) == 2


def test_a_failure_is_logged_without_personal_data(
    refused: set[str], caplog: pytest.LogCaptureFixture, digest: Digest
) -> None:
    cohort = CohortFactory()
    coach_of(cohort, email="coach@example.org")
    learner = LearnerFactory(cohort=cohort, name="Zebedee Quill", email="zq@example.org")
    alert_for(learner)
    refused.add("coach@example.org")
    with caplog.at_level(logging.WARNING):
        digest()
    message = OutboxMessage.objects.get()
    assert str(message.pk) in caplog.text and "SMTPRecipientsRefused" in caplog.text
    for personal in ("Zebedee", "zq@example.org", "coach@example.org", str(learner.external_id)):
        assert personal not in caplog.text


def test_alerts_quieted_by_feedback_are_recorded_as_quieted(digest: Digest) -> None:
    cohort = CohortFactory()
    coach = coach_of(cohort, email="coach@example.org")
    learner = LearnerFactory(cohort=cohort)
    alert = RiskAlert.objects.create(
        learner=learner, score=0.7, as_of=timezone.now() - timedelta(days=1)
    )
    risk_feedback_create(actor=coach, learner=learner, kind="acknowledged")
    learner.risk_feedback.update(score_at_feedback=0.7)
    assert digest()["quieted"] == 1
    assert mail.outbox == []
    alert.refresh_from_db()
    assert (alert.status, alert.reason) == ("quieted", "")
    assert alert.digested_at is not None


@pytest.mark.parametrize("status", ["completed", "withdrawn"])
def test_alerts_of_learners_who_finished_meanwhile_are_closed_unmailed(
    status: str, digest: Digest
) -> None:
    cohort = CohortFactory()
    coach_of(cohort, email="coach@example.org")
    finished = LearnerFactory(cohort=cohort)
    closed = alert_for(finished)
    still_studying = alert_for(LearnerFactory(cohort=cohort))
    Learner.objects.filter(pk=finished.pk).update(status=status, finished_at=timezone.now())
    summary = digest()
    assert (summary["alerts"], summary["closed"], summary["delivered"]) == (2, 1, 1)
    assert [message.body.count("\n- ") for message in mail.outbox] == [1]
    closed.refresh_from_db()
    still_studying.refresh_from_db()
    assert (closed.status, closed.reason, still_studying.status) == ("closed", "", "delivered")
    assert closed.digested_at is not None


def digest_queries(cohorts: int) -> int:
    UserFactory(role="admin", email="admin@example.org")
    for index in range(cohorts):
        cohort = CohortFactory()
        if index % 2:
            coach_of(cohort)
        for learner in LearnerFactory.create_batch(2, cohort=cohort):
            alert_for(learner)
    with CaptureQueriesContext(connection) as queries:
        result = risk_digest_send()
    assert result["delivered"] == 2 * cohorts
    return len(queries)


def test_the_digest_makes_the_same_few_queries_whatever_the_number_of_alerts() -> None:
    few = digest_queries(2)
    RiskAlert.objects.all().delete()
    many = digest_queries(10)
    assert few == many <= 12  # two of them write the outbox messages


def test_admins_see_pending_alerts_and_why(client: Client) -> None:
    alert_for(LearnerFactory(cohort=CohortFactory()))
    admin = UserFactory(role="admin", email="")
    risk_digest_send()
    client.force_login(admin)
    page = client.get("/admin/learners/riskalert/?status__exact=pending&reason__exact=no_recipient")
    assert page.status_code == 200
    assert "Nobody to receive it" in page.content.decode()
    alert = RiskAlert.objects.get()
    detail = client.get(f"/admin/learners/riskalert/{alert.pk}/change/")
    assert detail.status_code == 200
