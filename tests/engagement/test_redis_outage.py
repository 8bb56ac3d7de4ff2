"""A Redis outage degrades caching: requests keep answering from the database.

The test runs its own redis-server, points the configured cache (django-prometheus'
instrumented django-redis backend, as in production) at it and SIGKILLs it mid-run.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from engagement.api.throttling import ScopedClientRateThrottle
from engagement.settings.metrics import INSTRUMENTED_CACHE_BACKENDS
from tests.factories import LearnerFactory
from tests.own_services import OwnRedis, own_redis


@pytest.fixture
def redis_cache(settings: Any, tmp_path: Path) -> Iterator[OwnRedis]:
    configured = settings.CACHES["default"]
    assert configured["BACKEND"] == INSTRUMENTED_CACHE_BACKENDS["django_redis.cache.RedisCache"]
    with own_redis(tmp_path) as server:
        settings.CACHES = {"default": {**configured, "LOCATION": server.url()}}
        yield server


@pytest.mark.redis
@pytest.mark.django_db
def test_requests_keep_answering_when_redis_dies(
    redis_cache: OwnRedis, auth_client: APIClient
) -> None:
    learner = LearnerFactory()
    detail = f"/api/v1/learners/{learner.id}/"
    assert auth_client.get(detail).status_code == 200
    cache.set("probe", 1)
    assert cache.get("probe") == 1

    redis_cache.kill()

    assert cache.get("probe") is None  # a miss, not an error
    assert auth_client.get(detail).status_code == 200
    assert auth_client.get("/api/v1/learners/").status_code == 200
    changed = auth_client.patch(detail, {"status": "paused"}, format="json")
    assert changed.status_code == 200
    assert auth_client.get(detail).json()["status"] == "paused"
    ready = auth_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["failing"] == {"cache": "ConnectionError: Connection refused"}


@pytest.mark.redis
@pytest.mark.django_db
def test_throttles_fail_open_while_redis_is_down(
    redis_cache: OwnRedis, api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ScopedClientRateThrottle, "THROTTLE_RATES", {"login": "2/min"})

    def attempts() -> list[int]:
        wrong = {"username": "nobody", "password": "wrong"}
        return [api_client.post("/api/v1/auth/token/", wrong).status_code for _ in range(3)]

    assert attempts() == [401, 401, 429]  # counted while Redis is up
    redis_cache.kill()
    assert attempts() == [401, 401, 401]  # nothing to count in: answered, not refused
