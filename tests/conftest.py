"""Shared fixtures and the rules for service-backed tests.

Tests marked ``postgres`` or ``redis`` skip, with the reason, when that service is not the
configured backend, and tests marked ``celery`` (a real worker on a private Redis broker) when
``redis-server`` is not installed; with ``REQUIRE_SERVICES=1`` (set by ``.ci/run``) they fail
instead.
"""

import importlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from celery.result import allow_join_result
from django.apps import apps
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections
from rest_framework.test import APIClient

from engagement.db_routing import REPLICA_DB_ALIAS

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def _missing_service(marker: str) -> str | None:
    if marker == "postgres" and connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if marker == "redis" and "redis" not in django_settings.CACHES["default"]["BACKEND"].lower():
        return "needs Redis: set REDIS_URL=redis://..."
    if marker == "celery" and shutil.which("redis-server") is None:
        return "needs redis-server installed (the test starts its own broker)"
    return None


@pytest.fixture(autouse=True)
def _service_markers(request: pytest.FixtureRequest) -> None:
    for marker in ("postgres", "redis", "celery"):
        if request.node.get_closest_marker(marker) is None:
            continue
        reason = _missing_service(marker)
        if reason and REQUIRE_SERVICES:
            pytest.fail(f"required service missing (REQUIRE_SERVICES=1): {reason}")
        if reason:
            pytest.skip(reason)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """A read replica in every run: a test mirror of the test database (a second connection).

    Selectors' replica reads (engagement/db_routing.py) are thus exercised wherever they are safe:
    under a test's wrapping transaction they stay on the primary, as in production.
    """
    if REPLICA_DB_ALIAS in connections.settings:
        return
    default = connections.settings[DEFAULT_DB_ALIAS]
    connections.settings[REPLICA_DB_ALIAS] = {
        **default,
        "OPTIONS": dict(default["OPTIONS"]),
        "TEST": {**default["TEST"], "MIRROR": DEFAULT_DB_ALIAS},
    }


@pytest.fixture(scope="session", autouse=True)
def _close_connection_pools(django_db_setup: Any) -> Iterator[None]:
    """Release every PostgreSQL connection before the test database is dropped.

    Pools keep connections open by design, and the live server's worker threads may still hold
    one; without this, dropping the test database fails with "being accessed by other users".
    """
    yield
    for wrapper in connections.all():
        close_pool = getattr(wrapper, "close_pool", None)
        if close_pool is not None:
            close_pool()
    if connection.vendor == "postgresql":
        _terminate_other_sessions(connection.settings_dict)


def _terminate_other_sessions(database: dict[str, Any]) -> None:
    import psycopg

    conninfo = {
        key: database[name]
        for key, name in (
            ("host", "HOST"),
            ("port", "PORT"),
            ("user", "USER"),
            ("password", "PASSWORD"),
        )
        if database.get(name)
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database["NAME"]],
        )


@pytest.fixture(autouse=True)
def _celery_joins_allowed() -> Iterator[None]:
    """Each test starts allowed to wait for an eager task's result.

    Celery's eager ``apply`` forbids joins through one process-wide flag that it saves and
    restores around the task; threads applying tasks at once (the concurrency tests) can restore
    it in the wrong order and leave it set, so a later ``.delay().get()`` raises "Never call
    result.get() within a task"."""
    with allow_join_result():
        yield


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # No collectstatic in tests: serve assets straight from the finders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    cache.clear()


#: Data migrations whose rows every database has from its first ``migrate``: the default prompts
#: and the feature switches (on). A transactional test flushes every table when it ends, so the
#: transactional tests after it would see none (a draft saying ``no_prompt``, every flag off).
SHIPPED_ROWS = (
    ("nudges.migrations.0002_generation_default_prompts", "create_default_prompts"),
    ("nudges.migrations.0004_experiments_flags", "create_switches"),
)


@pytest.fixture(autouse=True)
def _shipped_rows(request: pytest.FixtureRequest) -> None:
    """A transactional test starts with the data migrations' rows, as a fresh database does
    (each function is idempotent)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction", False)) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    for module, function in SHIPPED_ROWS:
        getattr(importlib.import_module(module), function)(apps, None)


@pytest.fixture
def user(django_user_model: Any) -> Any:
    """A programme admin: sees everything (role-specific fixtures live beside the role tests)."""
    return django_user_model.objects.create_user(
        username="admin1", password="a-Strong-pass-123", role="admin"
    )


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def auth_client(api_client: APIClient, user: Any) -> APIClient:
    api_client.force_authenticate(user)
    return api_client


@pytest.fixture
def rules_model(request: pytest.FixtureRequest) -> Any:
    """The shipped rules model (``RULES_PARAMETERS``) as the one version, v1, active.

    Data migrations ship each rules version (v1, then the weights of engagement since enrolment
    as v2; ``tests/learners/test_migrations.py`` covers them) and transactional tests flush
    them: lifecycle tests count versions from this one model whatever the history.
    """
    from learners.models import RiskModel
    from learners.risk.model import RULES_PARAMETERS

    marker = request.node.get_closest_marker("django_db")
    request.getfixturevalue(
        "transactional_db" if marker and marker.kwargs.get("transaction") else "db"
    )
    RiskModel.objects.exclude(version=1).delete()
    model, _ = RiskModel.objects.update_or_create(
        version=1, defaults={"kind": "rules", "parameters": RULES_PARAMETERS, "is_active": True}
    )
    return model
