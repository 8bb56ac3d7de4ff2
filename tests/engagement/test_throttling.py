"""Throttles count per fixed window: one integer per caller and window, the same cost at any rate.

The clock is the throttles' own (``timer``), set by each test so that windows are exact. Each
behaviour runs on the local-memory cache (the embedded default) and, with ``REDIS_URL`` set, on
Redis, where the count is one round trip.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from engagement.api.throttling import (
    FixedWindowThrottle,
    PrincipalRateThrottle,
    ScopedClientRateThrottle,
    count_request,
    window_key,
)

LOCAL_MEMORY = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(params=["local-memory", pytest.param("redis", marks=pytest.mark.redis)])
def either_cache(request: pytest.FixtureRequest) -> Iterator[str]:
    """The test runs once on a local-memory cache and once on the configured Redis."""
    if request.param == "redis":
        yield request.param
        return
    with override_settings(CACHES=LOCAL_MEMORY):
        yield request.param


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [6_000.0]  # the start of a minute (window 100) and of a second
    monkeypatch.setattr(FixedWindowThrottle, "timer", staticmethod(lambda: now[0]))
    return now


def _stored_counters(backend: str, pattern: str) -> dict[str, int]:
    """Every throttle counter matching ``pattern`` as the cache holds it."""
    if backend == "redis":
        redis = get_redis_connection("default")
        return {key.decode(): int(redis.get(key)) for key in redis.keys(f"*{pattern}*")}
    local = caches["default"]
    return {key: local.get(key.split(":", 2)[-1]) for key in local._cache if pattern in key}


@pytest.mark.django_db
def test_a_caller_has_one_integer_counter_per_window_whatever_the_rate(
    either_cache: str, auth_client: APIClient, user: Any, clock: list[float]
) -> None:
    for _ in range(30):
        assert auth_client.get("/api/v1/cohorts/").status_code == 200
    key = f"throttle_principal_{user.pk}_100"
    assert list(_stored_counters(either_cache, f"throttle_principal_{user.pk}_").values()) == [30]
    assert any(stored.endswith(key) for stored in _stored_counters(either_cache, key))
    clock[0] += 60
    assert auth_client.get("/api/v1/cohorts/").status_code == 200
    assert sorted(_stored_counters(either_cache, f"throttle_principal_{user.pk}_").values()) == [
        1,
        30,
    ]


@pytest.mark.django_db
def test_the_limit_holds_to_the_window_boundary_and_the_next_window_opens_a_new_budget(
    either_cache: str,
    auth_client: APIClient,
    clock: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "2/min"})
    clock[0] = 6_059.25  # the last second of window 100
    assert [auth_client.get("/api/v1/cohorts/").status_code for _ in range(2)] == [200, 200]
    refused = auth_client.get("/api/v1/cohorts/")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "1"  # 0.75 s left, rounded up
    clock[0] = 6_060.0  # window 101
    assert [auth_client.get("/api/v1/cohorts/").status_code for _ in range(3)] == [200, 200, 429]
    clock[0] = 6_075.5
    assert auth_client.get("/api/v1/cohorts/")["Retry-After"] == "45"


@pytest.mark.django_db
def test_a_scoped_throttle_counts_per_ip_on_its_own_counter(
    either_cache: str, api_client: APIClient, clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ScopedClientRateThrottle, "THROTTLE_RATES", {"login": "2/min"})
    wrong = {"username": "nobody", "password": "wrong"}
    answers = [api_client.post("/api/v1/auth/token/", wrong).status_code for _ in range(3)]
    assert answers == [401, 401, 429]
    assert list(_stored_counters(either_cache, "throttle_login_127.0.0.1_").values()) == [3]
    # The other address has its own budget.
    other = api_client.post("/api/v1/auth/token/", wrong, REMOTE_ADDR="10.0.0.7")
    assert other.status_code == 401


def test_counting_adds_one_per_call_and_keys_expire_within_the_duration(
    either_cache: str,
) -> None:
    key = window_key("throttle_probe_1", now=125.0, duration=60)
    assert key == "throttle_probe_1_2"
    assert [count_request(key, duration=60) for _ in range(3)] == [1, 2, 3]
    if either_cache == "redis":
        redis = get_redis_connection("default")
        [stored] = redis.keys(f"*{key}")
        assert 0 < redis.ttl(stored) <= 60
        assert redis.get(stored) == b"3"
