"""The password-reset page: throttled per IP, at most one mail per account and window, links to
SITE_URL whatever Host the request named, and the same answer whether the address exists."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from engagement import pages
from engagement.api.throttling import ScopedClientRateThrottle
from engagement.models import OutboxMessage
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/accounts/password_reset/"


@pytest.fixture
def send_mail_now(django_capture_on_commit_callbacks: Any) -> Any:
    def post(client: Client, email: str, **extra: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, {"email": email}, **extra)

    return post


def test_a_flood_of_requests_sends_one_mail_per_address_and_window(
    send_mail_now: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    UserFactory(email="staff@example.org")
    window = timedelta(seconds=pages.PASSWORD_RESET_MAIL_WINDOW)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a window's first second

    def at(moment: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    at(start)
    answers = [send_mail_now(Client(), "staff@example.org") for _ in range(5)]
    assert {answer.status_code for answer in answers} == {302}
    assert len(mail.outbox) == 1 and OutboxMessage.objects.count() == 1
    at(start + window - timedelta(seconds=1))
    send_mail_now(Client(), "staff@example.org")
    assert len(mail.outbox) == 1
    at(start + window)
    send_mail_now(Client(), "staff@example.org")
    assert len(mail.outbox) == 2


def test_the_answer_is_the_same_whether_the_address_exists(send_mail_now: Any) -> None:
    UserFactory(email="staff@example.org")
    known = send_mail_now(Client(), "staff@example.org")
    unknown = send_mail_now(Client(), "nobody@example.org")
    again = send_mail_now(Client(), "staff@example.org")  # capped: no mail, same answer
    assert known.status_code == unknown.status_code == again.status_code == 302
    assert known["Location"] == unknown["Location"] == again["Location"]
    assert len(mail.outbox) == 1


def test_requests_are_throttled_per_ip_with_retry_after(
    send_mail_now: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ScopedClientRateThrottle, "THROTTLE_RATES", {"password-reset": "2/min"})
    UserFactory(email="one@example.org")
    UserFactory(email="two@example.org")
    client = Client()
    assert send_mail_now(client, "one@example.org").status_code == 302
    assert send_mail_now(client, "nobody@example.org").status_code == 302
    refused = send_mail_now(client, "two@example.org")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    html = refused.content.decode()
    assert "Too many reset requests from your address" in html
    assert 'value="two@example.org"' in html
    assert [message.to for message in mail.outbox] == [["one@example.org"]]
    other_ip = send_mail_now(Client(), "two@example.org", REMOTE_ADDR="192.0.2.9")
    assert other_ip.status_code == 302
    assert len(mail.outbox) == 2


def test_the_link_goes_to_site_url_not_to_the_requests_host(
    send_mail_now: Any, settings: Any
) -> None:
    settings.SITE_URL = "https://engagement.example.org"
    settings.ALLOWED_HOSTS = ["*"]
    UserFactory(email="staff@example.org")
    send_mail_now(Client(), "staff@example.org", HTTP_HOST="localhost:9999")
    body = mail.outbox[0].body
    assert "https://engagement.example.org/accounts/reset/" in body
    assert "localhost:9999" not in body and "localhost" not in mail.outbox[0].subject
