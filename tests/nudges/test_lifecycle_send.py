"""Approve, send, cancel and schedule: conditional transitions, the outbox, at-most-once."""

import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO
from smtplib import SMTPRecipientsRefused
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django.utils import timezone

from engagement.errors import Conflict, ValidationFailed
from engagement.models import AuditEvent, OutboxMessage, OutboxStatus
from engagement.outbox import SENDING_LEASE, outbox_claim, outbox_deliver
from nudges.delivery import nudge_email_send
from nudges.lifecycle import (
    nudge_approve,
    nudge_cancel,
    nudge_create_manual,
    nudge_send,
    nudges_send,
    nudges_send_due,
    outbox_key,
)
from nudges.models import Channel, Nudge, NudgeSource, NudgeStatus
from nudges.privacy import nudges_erase
from nudges.tasks import nudges_send_due_task
from tests.factories import CohortAssignmentFactory, LearnerFactory, UserFactory
from tests.nudges.lifecycle_factories import NOON, make_nudge, pin_policy

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _policy(settings: Any) -> None:
    pin_policy(settings)


@pytest.fixture
def coach() -> Any:
    return UserFactory(role="coach")


def deliver(nudge: Nudge, now: datetime | None = None) -> OutboxMessage | None:
    """Deliver the nudge's outbox message as the task after commit would."""
    message = OutboxMessage.objects.get(idempotency_key=outbox_key(nudge.pk))
    return outbox_deliver(message_id=message.pk, now=now)


# Approve and cancel ----------------------------------------------------------------------------


def test_approving_a_draft_records_who_and_when_and_is_audited(coach: Any) -> None:
    nudge = nudge_approve(nudge=make_nudge(), actor=coach)

    assert nudge.status == NudgeStatus.APPROVED
    assert nudge.approved_by == coach and nudge.approved_at is not None
    event = AuditEvent.objects.get(action="nudge.approve")
    assert event.target_id == str(nudge.pk) and event.actor_id == str(coach.pk)


@pytest.mark.parametrize("status", [s for s in NudgeStatus.values if s != NudgeStatus.DRAFT])
def test_only_a_draft_can_be_approved(coach: Any, status: str) -> None:
    nudge = make_nudge(status=status)
    with pytest.raises(Conflict) as refused:
        nudge_approve(nudge=nudge, actor=coach)
    assert "status" in refused.value.detail
    assert Nudge.objects.get(pk=nudge.pk).status == status


@pytest.mark.parametrize("status", ["draft", "approved", "scheduled"])
def test_a_nudge_not_sent_yet_can_be_cancelled(coach: Any, status: str) -> None:
    nudge = nudge_cancel(nudge=make_nudge(status=status), actor=coach)
    assert nudge.status == NudgeStatus.CANCELLED
    assert AuditEvent.objects.filter(action="nudge.cancel", target_id=str(nudge.pk)).exists()


@pytest.mark.parametrize("status", ["sent", "failed", "cancelled", "suppressed"])
def test_a_nudge_past_sending_cannot_be_cancelled(coach: Any, status: str) -> None:
    with pytest.raises(Conflict):
        nudge_cancel(nudge=make_nudge(status=status), actor=coach)


def test_a_stale_instance_cannot_move_a_nudge_another_caller_moved(coach: Any) -> None:
    nudge = make_nudge()
    stale = Nudge.objects.get(pk=nudge.pk)
    nudge_cancel(nudge=nudge, actor=coach)
    with pytest.raises(Conflict):
        nudge_approve(nudge=stale, actor=coach)
    with pytest.raises(Conflict):
        nudge_send(nudge=stale, actor=coach, now=NOON)
    assert not OutboxMessage.objects.exists()


# Manual nudges -----------------------------------------------------------------------------------


TONE = 'No shaming or threatening words (such as "lazy", "or else", "last warning").'


@pytest.fixture
def learner(coach: Any) -> Any:
    """A learner in the coach's cohort."""
    learner = LearnerFactory()
    CohortAssignmentFactory(user=coach, cohort=learner.cohort)
    return learner


def test_staff_write_a_manual_draft(coach: Any, learner: Any) -> None:
    nudge = nudge_create_manual(
        learner_id=learner.pk, channel=Channel.EMAIL, subject="Hi", body="See you!", actor=coach
    )
    assert (nudge.source, nudge.status, nudge.created_by) == (
        NudgeSource.MANUAL,
        NudgeStatus.DRAFT,
        coach,
    )
    event = AuditEvent.objects.get(action="nudge.create")
    assert event.changes["body"] == "(changed)" and "See you" not in str(event.changes)


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"subject": "", "body": "Hello"}, {"subject": ["An email needs a subject."]}),
        ({"subject": "Hi", "body": "  "}, {"body": ["Write the message."]}),
        (
            {"subject": "x" * 121, "body": "x" * 1201},
            {
                "subject": ["At most 120 characters (the limit for every nudge)."],
                "body": ["At most 1200 characters (the limit for every nudge)."],
            },
        ),
        (
            {"subject": "Hi", "body": "Write to me at coach@school.example."},
            {"body": ["No email addresses: a nudge carries no contact details."]},
        ),
        (
            {"subject": "Call +33 6 12 34 56 78", "body": "Hello"},
            {"subject": ["No phone numbers: a nudge carries no contact details."]},
        ),
        (
            {"subject": "Hi", "body": "See https://evil.example/x and https://learn.example.org/"},
            {"body": ["Links only to learn.example.org (or their subdomains)."]},
        ),
        (
            {"subject": "Last warning", "body": "Don't be lazy."},
            {
                "subject": [TONE],
                "body": [TONE],
            },
        ),
    ],
)
def test_a_manual_nudge_is_held_to_the_guardrails_staff_text_must_pass(
    coach: Any, learner: Any, settings: Any, fields: dict[str, str], errors: dict[str, Any]
) -> None:
    settings.NUDGE_MAX_SUBJECT_CHARS, settings.NUDGE_MAX_BODY_CHARS = 120, 1200
    settings.NUDGE_ALLOWED_LINK_DOMAINS = ["learn.example.org"]
    with pytest.raises(ValidationFailed) as refused:
        nudge_create_manual(learner_id=learner.pk, channel=Channel.EMAIL, actor=coach, **fields)
    assert refused.value.detail == errors
    assert not Nudge.objects.exists()


def test_every_rule_a_field_breaks_is_named(coach: Any, learner: Any, settings: Any) -> None:
    settings.NUDGE_ALLOWED_LINK_DOMAINS = []
    with pytest.raises(ValidationFailed) as refused:
        nudge_create_manual(
            learner_id=learner.pk,
            channel=Channel.IN_APP,
            subject="",
            body="Lazy again? Mail me@example.org or see www.example.org.",
            actor=coach,
        )
    assert refused.value.detail == {
        "body": [
            "No email addresses: a nudge carries no contact details.",
            "No links: no website is allowed in nudges.",
            TONE,
        ]
    }


def test_staff_may_name_people_and_numbers_the_learners_data_does_not_hold(
    coach: Any, learner: Any, settings: Any
) -> None:
    """``other_name`` and ``number`` guard against what a model makes up, not staff's facts."""
    settings.NUDGE_ALLOWED_LINK_DOMAINS = ["learn.example.org"]
    nudge = nudge_create_manual(
        learner_id=learner.pk,
        channel=Channel.EMAIL,
        subject="Your tutor Marie Curie",
        body="Hello Sam, the 3 exercises of unit 12 are due on 15 May: "
        "https://learn.example.org/unit/12",
        actor=coach,
    )
    assert nudge.source == NudgeSource.MANUAL


@pytest.mark.parametrize("case", ["unknown", "outside the cohorts"])
def test_a_learner_unknown_or_outside_the_cohorts_is_one_answer(coach: Any, case: str) -> None:
    learner_id = (
        uuid.UUID("0190a000-0000-7000-8000-000000000000")
        if case == "unknown"
        else LearnerFactory().pk
    )
    with pytest.raises(ValidationFailed) as refused:
        nudge_create_manual(
            learner_id=learner_id, channel=Channel.IN_APP, subject="", body="Hi", actor=coach
        )
    assert refused.value.detail == {"learner": ["No learner with this id."]}
    assert not Nudge.objects.exists()


def test_an_in_app_nudge_needs_no_subject(coach: Any, learner: Any) -> None:
    nudge = nudge_create_manual(
        learner_id=learner.pk, channel=Channel.IN_APP, subject="", body="Hi", actor=coach
    )
    assert nudge.channel == Channel.IN_APP


# Send ------------------------------------------------------------------------------------------


def test_sending_a_draft_approves_it_and_writes_one_outbox_message(coach: Any) -> None:
    nudge = nudge_send(nudge=make_nudge(), actor=coach, now=NOON)

    assert nudge.status == NudgeStatus.SENT and nudge.sent_at == NOON
    assert nudge.approved_by == coach and nudge.approved_at == NOON
    message = OutboxMessage.objects.get()
    assert message.channel == "nudge_email"
    assert message.idempotency_key == f"nudge:{nudge.pk}"
    assert message.payload == {"nudge": str(nudge.pk)}  # no address, no text
    assert AuditEvent.objects.get(action="nudge.send").changes == {"status": "sent"}


def test_sending_an_approved_nudge_keeps_its_approver(coach: Any) -> None:
    approver = UserFactory(role="admin")
    nudge = nudge_approve(nudge=make_nudge(), actor=approver)
    nudge = nudge_send(nudge=nudge, actor=coach, now=NOON)
    assert nudge.approved_by == approver


def test_a_suppressed_nudge_names_its_rule_and_writes_nothing_to_send(coach: Any) -> None:
    nudge = make_nudge(learner=LearnerFactory(nudge_opt_out=True))
    nudge = nudge_send(nudge=nudge, actor=coach, now=NOON)

    assert (nudge.status, nudge.suppressed_rule) == (NudgeStatus.SUPPRESSED, "opted_out")
    assert not OutboxMessage.objects.exists()
    assert AuditEvent.objects.get(action="nudge.send").changes == {
        "status": "suppressed",
        "rule": "opted_out",
    }


def test_quiet_hours_schedule_the_nudge_and_the_beat_task_sends_it_when_due(coach: Any) -> None:
    learner = LearnerFactory(timezone="Europe/Paris")
    late = datetime(2026, 10, 14, 20, 30, tzinfo=UTC)  # 22:30 in Paris
    nudge = nudge_send(nudge=make_nudge(learner=learner), actor=coach, now=late)

    assert nudge.status == NudgeStatus.SCHEDULED
    assert nudge.scheduled_for == datetime(2026, 10, 15, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert not OutboxMessage.objects.exists()

    assert nudges_send_due(now=datetime(2026, 10, 15, 5, 59, tzinfo=UTC))["sent"] == 0
    counts = nudges_send_due(now=datetime(2026, 10, 15, 6, 0, tzinfo=UTC))

    assert counts == {"sent": 1, "scheduled": 0, "suppressed": 0}
    nudge.refresh_from_db()
    assert (nudge.status, nudge.scheduled_for) == (NudgeStatus.SENT, None)
    assert OutboxMessage.objects.count() == 1


def test_a_due_nudge_is_judged_again_when_due(coach: Any) -> None:
    learner = LearnerFactory()
    nudge = nudge_send(
        nudge=make_nudge(learner=learner), actor=coach, at=NOON + timedelta(hours=1), now=NOON
    )
    assert (nudge.status, nudge.scheduled_for) == (
        NudgeStatus.SCHEDULED,
        NOON + timedelta(hours=1),
    )
    nudge_send(nudge=make_nudge(learner=learner), actor=coach, now=NOON)  # sent meanwhile

    nudges_send_due(now=NOON + timedelta(hours=1))

    nudge.refresh_from_db()
    assert (nudge.status, nudge.suppressed_rule) == (NudgeStatus.SUPPRESSED, "min_gap")


def test_a_scheduled_nudge_can_be_sent_now(coach: Any) -> None:
    nudge = make_nudge(status=NudgeStatus.SCHEDULED, scheduled_for=NOON + timedelta(days=1))
    assert nudge_send(nudge=nudge, actor=coach, now=NOON).status == NudgeStatus.SENT


@pytest.mark.parametrize("status", ["sent", "failed", "cancelled", "suppressed"])
def test_a_nudge_past_sending_is_not_sent_again(coach: Any, status: str) -> None:
    with pytest.raises(Conflict):
        nudge_send(nudge=make_nudge(status=status), actor=coach, now=NOON)
    with pytest.raises(Conflict):
        nudge_send(nudge=make_nudge(status=status), actor=coach, at=NOON + timedelta(days=1))


def test_sending_twice_sends_once(coach: Any) -> None:
    nudge = make_nudge()
    nudge_send(nudge=nudge, actor=coach, now=NOON)
    with pytest.raises(Conflict):
        nudge_send(nudge=nudge, actor=coach, now=NOON)
    assert nudges_send(nudge_ids=[nudge.pk], actor=coach, now=NOON) == {
        "sent": 0,
        "scheduled": 0,
        "suppressed": 0,
    }
    deliver(nudge)
    deliver(nudge)
    assert OutboxMessage.objects.count() == 1 and len(mail.outbox) == 1


def test_the_beat_task_run_twice_sends_each_due_nudge_once() -> None:
    due = timezone.now() - timedelta(minutes=1)
    nudges = [
        make_nudge(status=NudgeStatus.SCHEDULED, scheduled_for=due, channel=Channel.IN_APP)
        for _ in range(3)
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("nudges.policy.quiet_hours_end", lambda **_: None)
        first = nudges_send_due_task.apply().get()
        second = nudges_send_due_task.apply().get()

    assert first == {"sent": 3, "scheduled": 0, "suppressed": 0}
    assert second == {"sent": 0, "scheduled": 0, "suppressed": 0}
    assert OutboxMessage.objects.filter(channel="in_app").count() == 3
    assert set(Nudge.objects.values_list("status", flat=True)) == {NudgeStatus.SENT}
    assert {n.pk for n in nudges} == set(Nudge.objects.values_list("pk", flat=True))


def test_a_batch_is_sent_in_a_constant_number_of_queries(
    coach: Any, django_assert_max_num_queries: Any
) -> None:
    few = [make_nudge(status=NudgeStatus.APPROVED) for _ in range(2)]
    with django_assert_max_num_queries(12) as captured:
        nudges_send(nudge_ids=[n.pk for n in few], actor=coach, now=NOON)
    expected = len(captured)
    many = [make_nudge(status=NudgeStatus.APPROVED) for _ in range(20)]
    many += [make_nudge(learner=LearnerFactory(nudge_opt_out=True)) for _ in range(3)]
    many += [make_nudge(learner=LearnerFactory(timezone="Asia/Tokyo")) for _ in range(3)]
    many += [make_nudge(channel=Channel.IN_APP) for _ in range(3)]
    with django_assert_max_num_queries(expected + 4):  # one UPDATE per outcome and channel
        counts = nudges_send(nudge_ids=[n.pk for n in many], actor=coach, now=NOON)
    assert counts == {"sent": 23, "scheduled": 3, "suppressed": 3}


# Delivery: at most once --------------------------------------------------------------------------


def test_a_worker_lost_mid_send_does_not_send_the_nudge_again(coach: Any) -> None:
    nudge = nudge_send(nudge=make_nudge(), actor=coach, now=NOON)
    message = OutboxMessage.objects.get()
    # A worker claims the message, marks the nudge delivered, mails it, and dies before the
    # outbox records it sent.
    claimed = outbox_claim(message_id=message.pk)
    assert claimed is not None
    nudge_email_send(claimed)
    assert len(mail.outbox) == 1

    # Its lease runs out; the sweep's retry claims it again and finds the nudge delivered.
    later = timezone.now() + SENDING_LEASE + timedelta(seconds=1)
    delivered = outbox_deliver(message_id=message.pk, now=later)

    assert delivered is not None and delivered.status == OutboxStatus.SENT
    assert delivered.attempts == 2
    assert len(mail.outbox) == 1
    nudge.refresh_from_db()
    assert nudge.status == NudgeStatus.SENT and nudge.delivered_at is not None


def test_a_failed_delivery_is_retried_and_fails_the_nudge_on_the_last_attempt(
    coach: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    nudge = nudge_send(nudge=make_nudge(), actor=coach, now=NOON)
    message = OutboxMessage.objects.get()
    OutboxMessage.objects.filter(pk=message.pk).update(max_attempts=2)

    def refuse(self: Any, *args: Any) -> int:
        raise SMTPRecipientsRefused({})

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    outbox_deliver(message_id=message.pk)
    nudge.refresh_from_db()
    assert nudge.status == NudgeStatus.SENT and nudge.delivered_at is None  # will be retried

    outbox_deliver(message_id=message.pk, now=timezone.now() + timedelta(hours=2))

    nudge.refresh_from_db()
    assert (nudge.status, nudge.error) == (NudgeStatus.FAILED, "SMTPRecipientsRefused")
    assert OutboxMessage.objects.get().status == OutboxStatus.FAILED


def test_a_retry_that_succeeds_after_a_failure_sends_once(
    coach: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    nudge = nudge_send(nudge=make_nudge(), actor=coach, now=NOON)
    message = OutboxMessage.objects.get()
    real_send = EmailMultiAlternatives.send
    failures = [SMTPRecipientsRefused({})]

    def flaky(self: Any, *args: Any) -> int:
        if failures:
            raise failures.pop()
        return real_send(self, *args)

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", flaky)
    outbox_deliver(message_id=message.pk)
    outbox_deliver(message_id=message.pk, now=timezone.now() + timedelta(hours=2))

    assert len(mail.outbox) == 1
    nudge.refresh_from_db()
    assert nudge.status == NudgeStatus.SENT and nudge.delivered_at is not None


def test_a_learner_erased_before_delivery_gets_nothing(coach: Any) -> None:
    nudge = nudge_send(nudge=make_nudge(), actor=coach, now=NOON)
    nudges_erase(nudge.learner_id)

    delivered = deliver(nudge)
    assert delivered is not None and delivered.status == OutboxStatus.SENT
    assert mail.outbox == []
    nudge.refresh_from_db()
    assert (nudge.status, nudge.body, nudge.delivered_at) == (NudgeStatus.CANCELLED, "", None)


def test_the_command_sends_what_is_due_where_no_beat_runs(
    coach: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command judges the policy at the real time: no learner's quiet hours may defer it.
    monkeypatch.setattr("nudges.policy.quiet_hours_end", lambda **_: None)
    hour_ago = timezone.now() - timedelta(hours=1)
    due = nudge_send(
        nudge=make_nudge(learner=LearnerFactory()),
        actor=coach,
        at=hour_ago,
        now=hour_ago - timedelta(hours=1),
    )
    later = nudge_send(
        nudge=make_nudge(learner=LearnerFactory()),
        actor=coach,
        at=timezone.now() + timedelta(days=1),
    )
    output = StringIO()
    call_command("send_due_nudges", stdout=output)

    assert output.getvalue() == "Due nudges: 1 sent, 0 scheduled again, 0 suppressed.\n"
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.status, later.status) == (NudgeStatus.SENT, NudgeStatus.SCHEDULED)
