"""Delivery channels: the email with its unsubscribe links, the in-app inbox; the signed pages
a learner reaches from an email (unsubscribe, open and click tracking when opted in)."""

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail, signing
from django.test import Client

from engagement.models import AuditEvent, OutboxMessage
from engagement.outbox import email_message_id, outbox_deliver
from learners.models import Learner
from nudges.delivery import (
    click_url,
    open_url,
    tracking_set,
    unsubscribe_url,
)
from nudges.lifecycle import nudge_send
from nudges.models import Category, Channel, ContactOptOut, Nudge, NudgeStatus, TrackingCohort
from nudges.policy import Rule
from tests.factories import CohortFactory, LearnerFactory, UserFactory
from tests.nudges.lifecycle_factories import NOON, make_nudge

pytestmark = pytest.mark.django_db


def sign(value: Any, salt: str) -> str:
    return signing.Signer(salt=salt).sign_object(value)


def send_and_deliver(nudge: Nudge) -> Nudge:
    nudge_send(nudge=nudge, actor=None, now=NOON)
    outbox_deliver(message_id=OutboxMessage.objects.get(idempotency_key=f"nudge:{nudge.pk}").pk)
    nudge.refresh_from_db()
    return nudge


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_every_email_carries_its_unsubscribe_links(settings: Any) -> None:
    settings.SITE_URL = "https://engage.example.org"
    learner = LearnerFactory(email="ada@example.org", name="Ada Lovelace")
    nudge = send_and_deliver(
        make_nudge(learner=learner, subject="Back to it?", body="Lesson 4 is waiting.")
    )

    (email,) = mail.outbox
    assert email.to == ["ada@example.org"] and email.subject == "Back to it?"
    assert email.body.startswith("Lesson 4 is waiting.")
    category, everything = (
        unsubscribe_url(learner.pk, "reengagement"),
        unsubscribe_url(learner.pk, "all"),
    )
    assert category in email.body and everything in email.body
    assert category.startswith("https://engage.example.org/nudges/unsubscribe/")
    assert email.extra_headers["List-Unsubscribe"] == f"<{everything}>"
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.extra_headers["Message-ID"] == email_message_id(f"nudge:{nudge.pk}")
    assert email.alternatives == []  # no tracking unless the cohort opted in
    assert nudge.delivered_at is not None


def test_an_in_app_nudge_is_delivered_to_the_inbox_not_mailed() -> None:
    nudge = send_and_deliver(make_nudge(channel=Channel.IN_APP))
    assert OutboxMessage.objects.get().channel == "in_app"
    assert mail.outbox == [] and nudge.delivered_at is not None


def test_an_email_to_a_learner_whose_address_went_fails_and_is_retried() -> None:
    nudge = make_nudge()
    nudge_send(nudge=nudge, actor=None, now=NOON)
    Learner.objects.filter(pk=nudge.learner_id).update(email="")

    message = outbox_deliver(message_id=OutboxMessage.objects.get().pk)

    assert message is not None and message.last_error == "LookupError"
    nudge.refresh_from_db()
    assert nudge.status == NudgeStatus.SENT and nudge.delivered_at is None


def test_a_subject_written_on_several_lines_is_mailed_on_one() -> None:
    """A mail header holds no line break (Django refuses it); a subject an LLM or a person wrote
    across lines is still delivered, on one line, instead of failing every attempt."""
    nudge = send_and_deliver(make_nudge(subject="Back to it?\r\nBcc: x@example.net", body="Hi."))

    (email,) = mail.outbox
    assert email.subject == "Back to it? Bcc: x@example.net"
    assert nudge.status == NudgeStatus.SENT and nudge.delivered_at is not None


# Unsubscribe --------------------------------------------------------------------------------


def test_the_unsubscribe_link_asks_first_then_stops_one_category() -> None:
    learner = LearnerFactory()
    path = path_of(unsubscribe_url(learner.pk, Category.REENGAGEMENT))
    client = Client(enforce_csrf_checks=True)

    page = client.get(path)
    assert page.status_code == 200 and b'<form method="post">' in page.content
    assert not ContactOptOut.objects.exists()  # a mail scanner's GET changes nothing

    done = client.post(path)
    assert done.status_code == 200 and b"You are unsubscribed" in done.content
    assert client.post(path).status_code == 200  # twice: still one row
    opt_out = ContactOptOut.objects.get()
    assert (opt_out.learner_id, opt_out.category) == (learner.pk, "reengagement")
    learner.refresh_from_db()
    assert learner.nudge_opt_out is False
    nudge = make_nudge(learner=learner)
    nudge_send(nudge=nudge, actor=None, now=NOON)
    assert nudge_status(nudge) == (NudgeStatus.SUPPRESSED, Rule.CATEGORY_OPT_OUT)


def nudge_status(nudge: Nudge) -> tuple[str, str]:
    nudge.refresh_from_db()
    return nudge.status, nudge.suppressed_rule


def test_the_all_link_stops_every_nudge_and_is_audited() -> None:
    learner = LearnerFactory()
    response = Client().post(path_of(unsubscribe_url(learner.pk, "all")))

    assert response.status_code == 200
    learner.refresh_from_db()
    assert learner.nudge_opt_out is True
    event = AuditEvent.objects.get(action="learner.nudge_opt_out")
    assert event.target_id == str(learner.pk) and event.actor_type == "system"


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        sign({"l": "x", "c": "all"}, "nudges.unsubscribe"),
        sign({"l": "0190a000-0000-7000-8000-000000000000", "c": "spam"}, "nudges.unsubscribe"),
        sign({"l": "0190a000-0000-7000-8000-000000000000", "c": "all"}, "another"),
        sign(
            {"l": "0190a000-0000-7000-8000-000000000000", "c": "all"}, "nudges.unsubscribe"
        ),  # signed, but no such learner
    ],
)
def test_a_link_that_is_not_ours_changes_nothing(token: str) -> None:
    LearnerFactory()
    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/nudges/unsubscribe/{token}/")
        assert response.status_code in {200, 404}
    assert not ContactOptOut.objects.exists()
    assert not Learner.objects.filter(nudge_opt_out=True).exists()


def test_a_tampered_link_is_refused() -> None:
    learner = LearnerFactory()
    path = path_of(unsubscribe_url(learner.pk, "all"))
    token = path.rstrip("/").rsplit("/", 1)[1]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    response = Client().post(f"/nudges/unsubscribe/{tampered}/")
    assert response.status_code == 404


# Tracking -----------------------------------------------------------------------------------


def test_tracking_is_off_by_default_and_on_for_opted_in_cohorts_only() -> None:
    tracked_cohort = CohortFactory()
    admin = UserFactory(role="admin")
    assert tracking_set(cohort_id=tracked_cohort.pk, enabled=True, actor=admin)
    assert not tracking_set(cohort_id=tracked_cohort.pk, enabled=True, actor=admin)
    body = "Your lesson: https://lms.example.org/lesson/4 today."
    tracked = send_and_deliver(make_nudge(learner=LearnerFactory(cohort=tracked_cohort), body=body))
    send_and_deliver(make_nudge(body=body))

    tracked_mail, plain_mail = mail.outbox
    assert "https://lms.example.org/lesson/4" in plain_mail.body and not plain_mail.alternatives
    assert "https://lms.example.org/lesson/4" not in tracked_mail.body
    link = click_url(tracked.pk, "https://lms.example.org/lesson/4")
    assert link in tracked_mail.body
    html, kind = tracked_mail.alternatives[0]
    assert kind == "text/html" and open_url(tracked.pk) in html

    client = Client()
    assert client.get(path_of(open_url(tracked.pk)))["Content-Type"] == "image/gif"
    redirect = client.get(path_of(link))
    assert redirect.status_code == 302
    assert redirect["Location"] == "https://lms.example.org/lesson/4"
    tracked.refresh_from_db()
    first_open, first_click = tracked.opened_at, tracked.clicked_at
    assert first_open is not None and first_click is not None
    client.get(path_of(open_url(tracked.pk)))
    client.get(path_of(link))
    tracked.refresh_from_db()
    assert (tracked.opened_at, tracked.clicked_at) == (first_open, first_click)  # first only
    assert AuditEvent.objects.filter(action="nudges.tracking").count() == 1

    assert tracking_set(cohort_id=tracked_cohort.pk, enabled=False, actor=admin)
    assert not TrackingCohort.objects.exists()


def test_forged_tracking_links_record_nothing() -> None:
    nudge = send_and_deliver(make_nudge())
    client = Client()
    assert client.get("/nudges/open/forged/")["Content-Type"] == "image/gif"
    assert client.get("/nudges/click/forged/").status_code == 404
    forged = sign({"n": str(nudge.pk), "u": "https://evil.example"}, "other")
    assert client.get(f"/nudges/click/{forged}/").status_code == 404
    nudge.refresh_from_db()
    assert nudge.opened_at is None and nudge.clicked_at is None
