"""Structured logs: one JSON line per request with the route pattern, never personal data."""

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from celery import signals
from django.test import Client
from rest_framework.test import APIClient

from engagement import request_context
from engagement.logs import formatter
from engagement.tasks import outbox_deliver_task
from tests.factories import LearnerFactory


class _JsonLines(logging.Handler):
    """Collects what production writes: each record rendered by the configured JSON formatter."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        config = formatter("json")
        self.setFormatter(config.pop("()")(**config))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def events(self, event: str) -> list[dict[str, object]]:
        parsed = [json.loads(line) for line in self.lines]
        return [entry for entry in parsed if entry["event"] == event]


@pytest.fixture
def json_lines() -> Iterator[_JsonLines]:
    handler = _JsonLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.django_db
def test_a_request_logs_route_status_user_and_request_id_and_no_personal_data(
    auth_client: APIClient, user: Any, json_lines: _JsonLines
) -> None:
    learner = LearnerFactory(name="Zelda Quixote-Marlowe", email="zelda.qm@example.org")
    response = auth_client.get(
        f"/api/v1/learners/{learner.id}/?email=zelda.qm@example.org",
        HTTP_X_REQUEST_ID="trace-42",
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "trace-42"
    [entry] = json_lines.events("request")
    assert entry["method"] == "GET"
    assert entry["route"] == "api/v1/learners/(?P<pk>[^/.]+)/$"
    assert entry["status"] == 200
    assert entry["user_id"] == str(user.pk)
    assert entry["request_id"] == "trace-42"
    assert entry["level"] == "info"
    assert isinstance(entry["duration_ms"], float)
    everything = "\n".join(json_lines.lines)
    for personal in ("Zelda", "Quixote", "zelda.qm", str(learner.id)):
        assert personal not in everything


@pytest.mark.parametrize("offered", ["x" * 65, "a b", "bad\nline", "é"])
def test_an_unsafe_request_id_is_replaced_by_a_generated_one(
    client: Client, json_lines: _JsonLines, offered: str
) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID=offered)
    generated = response["X-Request-ID"]
    assert generated != offered
    assert len(generated) == 32
    [entry] = json_lines.events("request")
    assert entry["request_id"] == generated
    assert entry["route"] == "healthz"
    assert entry["user_id"] is None


def test_an_unknown_path_is_logged_without_it(client: Client, json_lines: _JsonLines) -> None:
    client.get("/no/such/jane.doe@example.org")
    [entry] = json_lines.events("request")
    assert entry["route"] == "<unmatched>"
    assert entry["status"] == 404
    assert "jane.doe" not in "\n".join(json_lines.lines)


def test_standard_library_loggers_go_through_the_structured_format(
    json_lines: _JsonLines,
) -> None:
    logging.getLogger("engagement.outbox").warning("outbox message %s failed", "m-1")
    structlog.get_logger("engagement.jobs").info("job finished", job="j-1")
    stdlib = json_lines.events("outbox message m-1 failed")
    native = json_lines.events("job finished")
    assert stdlib[0]["logger"] == "engagement.outbox"
    assert stdlib[0]["level"] == "warning"
    assert native[0]["job"] == "j-1"
    assert native[0]["logger"] == "engagement.jobs"


def test_publishing_a_task_inside_a_request_puts_its_id_in_the_headers() -> None:
    headers: dict[str, object] = {}
    token = request_context.enter(request_id="req-7", ip=None)
    try:
        signals.before_task_publish.send(sender="engagement.outbox_sweep", headers=headers)
    finally:
        request_context.leave(token)
    assert headers == {"request_id": "req-7"}


@pytest.mark.django_db
def test_a_worker_logs_a_task_under_the_request_id_it_was_queued_with(
    json_lines: _JsonLines,
) -> None:
    message_id = "0190d2c4-0000-7000-8000-000000000000"
    outbox_deliver_task.apply(args=[message_id], headers={"request_id": "req-7"})
    [entry] = json_lines.events(f"outbox message {message_id} not claimed: not due or taken")
    assert entry["request_id"] == "req-7"
    assert entry["task"] == "engagement.outbox_deliver"
    assert request_context.current() is None
