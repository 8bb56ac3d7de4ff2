import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from engagement import health


def test_healthz_answers_without_dependencies(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_cache_and_broker(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "not used"}


@pytest.mark.django_db
def test_readyz_names_the_failing_component(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> str:
        raise ConnectionError("database is down")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == {"database": "ConnectionError"}
    assert response.json()["checks"]["cache"] == "ok"


@pytest.mark.django_db
def test_a_failing_cache_is_reported_but_leaves_the_instance_ready(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> str:
        raise RuntimeError("cache did not return the value just written")

    monkeypatch.setitem(health.CHECKS, "cache", broken)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["failing"] == {"cache": "RuntimeError"}


@pytest.fixture
def hung() -> Iterator[threading.Event]:
    """A check that blocks until the test releases it, as a dependency that never answers."""
    release = threading.Event()
    yield release
    release.set()


@pytest.mark.django_db
def test_a_hung_dependency_fails_the_probe_within_the_timeout(
    client: Client, monkeypatch: pytest.MonkeyPatch, settings: Any, hung: threading.Event
) -> None:
    def never_answers() -> str:
        hung.wait()
        return health.OK

    settings.READINESS_TIMEOUT = 0.2
    monkeypatch.setitem(health.CHECKS, "broker", never_answers)
    response = client.get("/readyz")
    assert not hung.is_set()  # the probe answered while the check was still blocked
    assert response.status_code == 503
    assert response.json()["failing"] == {"broker": "timeout"}


@pytest.mark.django_db
def test_with_a_broker_configured_readiness_needs_it_to_answer(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(health.celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(health.celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert set(response.json()["failing"]) == {"broker"}
    assert response.json()["failing"]["broker"] != "timeout"
