"""Failures named by class and system reason; a cache outage logged as one warning per interval;
no request-id-less ``django.request`` line for a 503 readiness answer."""

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError

from engagement import health
from engagement.failures import failure_name
from engagement.logs import ExceptionsOnly, OncePerInterval


def _wrapped_refusal() -> ConnectionInterrupted:
    """What django-redis raises when Redis refuses: built as the libraries chain it."""
    try:
        try:
            try:
                [].pop()
            except IndexError:
                raise ConnectionRefusedError(111, "Connection refused") from None
        except OSError:
            raise RedisConnectionError("Error 111 connecting to 10.0.0.9:6379.") from None
    except RedisConnectionError as error:
        wrapped = ConnectionInterrupted(connection=None)
        wrapped.__cause__ = error
        return wrapped


def test_a_failure_is_named_by_the_library_error_and_the_system_reason() -> None:
    assert failure_name(_wrapped_refusal()) == "ConnectionError: Connection refused"
    assert failure_name(RuntimeError("no value")) == "RuntimeError"
    assert "10.0.0.9" not in failure_name(_wrapped_refusal())  # messages stay out


@pytest.fixture
def dead_redis_cache(settings: Any) -> Iterator[None]:
    """The production cache backend pointed at a port bound but not listening (refused)."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        settings.CACHES = {
            "default": {
                "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{bound.getsockname()[1]}/0",
                "OPTIONS": {
                    "IGNORE_EXCEPTIONS": True,
                    "SOCKET_CONNECT_TIMEOUT": 0.5,
                    "SOCKET_TIMEOUT": 0.5,
                },
            }
        }
        yield


@pytest.mark.django_db
def test_readiness_names_why_the_cache_fails(
    dead_redis_cache: None, client: Client, settings: Any
) -> None:
    # A refusal answers at once; the probe's budget is raised so a busy machine cannot turn it
    # into "timeout" before the refusal is seen.
    settings.READINESS_TIMEOUT = 10
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["failing"] == {"cache": "ConnectionError: Connection refused"}


def _configured(logger: str, kind: type[logging.Filter]) -> logging.Filter:
    return next(f for f in logging.getLogger(logger).filters if isinstance(f, kind))


def test_a_cache_outage_is_one_warning_per_interval_without_traceback(
    dead_redis_cache: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    once = _configured("django_redis.cache", OncePerInterval)
    now = [0.0]
    monkeypatch.setattr(once, "_clock", lambda: now[0])
    monkeypatch.setattr(once, "_quiet_until", float("-inf"))  # earlier tests' outages
    monkeypatch.setattr(once, "_left_out", 0)
    with caplog.at_level(logging.INFO, logger="django_redis.cache"):
        for _ in range(3):
            assert cache.get("k") is None
            cache.set("k", 1)
        now[0] = 61.0
        cache.get("k")
    lines = [record for record in caplog.records if record.name == "django_redis.cache"]
    assert [(line.levelname, line.exc_info) for line in lines] == [("WARNING", None)] * 2
    assert "Cache unavailable" in lines[0].getMessage()
    assert "ConnectionError: Connection refused (0 more" in lines[0].getMessage()
    assert "(5 more since the last such line" in lines[1].getMessage()


@pytest.mark.django_db
def test_a_503_readiness_answer_is_logged_once_with_the_request_id(
    client: Client, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> str:
        raise ConnectionError("database is down")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    with caplog.at_level(logging.INFO):
        response = client.get("/readyz", HTTP_X_REQUEST_ID="probe-1")
    assert response.status_code == 503
    assert not [record for record in caplog.records if record.name == "django.request"]
    [line] = [record for record in caplog.records if record.name == "engagement.request"]
    assert line.levelname == "ERROR"


def test_django_request_keeps_only_lines_that_carry_an_exception() -> None:
    only = _configured("django.request", ExceptionsOnly)
    plain = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "x", (), None)
    try:
        raise ValueError("boom")
    except ValueError as error:
        failed = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "x", (), (ValueError, error, None)
        )
    assert (only.filter(plain), only.filter(failed)) == (False, True)
