"""Reads never write: a GET of every API read route, admin page and dashboard page (for each
staff role) changes no domain table.

A GET may write only what is about the request itself, never the data it reads:

- ``engagement_auditevent``: reading a learner's personal data in bulk (the export) is audited;
- ``engagement_apikey``, column ``last_used_at`` only: when a machine credential was last used;
- ``django_session``: a signed-in session being refreshed.

Caches (learner detail, risk detail, throttling) live in the cache, not in these tables.
"""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from engagement.audit import audit_record
from engagement.ids import uuid7
from engagement.models import ApiKey, AuditEvent
from learners.models import Learner
from tests.contract.schema import api_schema
from tests.contract.world import build_world
from tests.factories import (
    CohortAssignmentFactory,
    LearnerFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

#: Read routes that need query parameters: each one's name and the resource of ``ids`` that fills it.
QUERIES = {
    "/api/v1/nudges/stream/": (("learner", "learners"),),
    "/api/v1/simulations/compare/": (("a", "simulations"), ("b", "simulations")),
}

WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
REQUEST_TABLES = {AuditEvent._meta.db_table, "django_session"}
LAST_USED = re.compile(r"""^UPDATE "?(\w+)"? SET "?last_used_at"? = '[^']*'(::\w+)? WHERE""")


def domain_writes(queries: list[dict[str, Any]]) -> list[str]:
    """The statements that wrote to a table other than the request's own records."""
    writes = []
    for query in queries:
        sql = query["sql"]
        found = WRITE.match(sql)
        if found is None or found.group(2) in REQUEST_TABLES:
            continue
        last_used = LAST_USED.match(sql)
        if last_used and last_used.group(1) == ApiKey._meta.db_table:
            continue
        writes.append(sql[:200])
    return writes


@pytest.fixture
def world() -> dict[str, Any]:
    return build_world()


def api_read_paths(ids: dict[str, Any]) -> Iterator[str]:
    """Every GET operation of the OpenAPI document, its path parameter filled in."""
    for result in api_schema().get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "GET":
            continue
        path = operation.path
        resource = path.removeprefix("/api/v1/").split("/{")[0]
        query = QUERIES.get(path)
        filled = re.sub(r"\{\w+\}", str(ids.get(resource, "")), path)
        yield (
            filled
            if query is None
            else f"{filled}?" + "&".join(f"{name}={ids[resource]}" for name, resource in query)
        )


def test_every_api_read_route_is_covered(world: dict[str, Any]) -> None:
    paths = list(api_read_paths(world["ids"]))
    assert "/api/v1/learners/{}/risk/".format(world["learner"].pk) in paths
    assert all("{" not in path and "//" not in path.removeprefix("/") for path in paths)


def test_no_api_read_writes_a_domain_table(client: Client, world: dict[str, Any]) -> None:
    client.force_login(world["user"])
    refused = {}
    for path in [*api_read_paths(world["ids"]), f"/api/v1/learners/{world['stale'].pk}/risk/"]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, (path, response.content[:300])
        if writes := domain_writes(queries.captured_queries):
            refused[path] = writes
    assert refused == {}
    assert Learner.objects.get(pk=world["stale"].pk).risk_stale  # reading did not rescore


def test_reads_with_an_api_key_write_only_when_it_was_last_used(world: dict[str, Any]) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {world['secret']}")
    for path in ("/api/v1/cohorts/", "/api/v1/learners/", "/api/v1/xapi/about"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, (path, response.content[:300])
        assert domain_writes(queries.captured_queries) == []
    assert ApiKey.objects.get().last_used_at is not None


def test_no_admin_page_view_writes_a_domain_table(client: Client, world: dict[str, Any]) -> None:
    client.force_login(world["user"])
    refused = {}
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        urls = [reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")]
        row = model_admin.get_queryset(client.request().wsgi_request).first()
        if row is not None:
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[row.pk]))
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200, (url, response.content[:300])
            if writes := domain_writes(queries.captured_queries):
                refused[url] = writes
    assert refused == {}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    """Every route of ``patterns`` as written (``dashboard/learners/<uuid:learner_id>/``)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def dashboard_paths(ids: dict[str, Any]) -> list[str]:
    """Every route of the URLconf under ``/dashboard/``, its parameters filled with real ids
    (POST-only ones too: their GET must answer 405 without writing)."""
    paths = []
    for route in dict.fromkeys(_routes(get_resolver().url_patterns)):
        if route.startswith("dashboard/"):
            filled = re.sub(r"<(?:\w+:)?(\w+)>", lambda found: str(ids[str(found[1])]), route)
            paths.append(f"/{filled}")
    return paths


def test_every_dashboard_route_is_covered(world: dict[str, Any]) -> None:
    paths = dashboard_paths(world["route_ids"])
    learner = world["learner"].pk
    for page in ("/dashboard/", "/dashboard/cohorts/", "/dashboard/learners/export.csv"):
        assert page in paths
    assert f"/dashboard/learners/{learner}/" in paths
    assert all("<" not in path for path in paths)


@pytest.mark.parametrize("role", ["admin", "coach", "analyst"])
def test_no_dashboard_page_view_writes_a_domain_table(
    client: Client, world: dict[str, Any], role: str
) -> None:
    """Each role GETs every dashboard route: pages answer (200, or 403/404 outside the role's
    reach), actions answer 405, and none of them writes a domain table."""
    user = world["user"] if role == "admin" else UserFactory(role=role)
    if role == "coach":
        CohortAssignmentFactory(user=user, cohort=world["learner"].cohort)
    client.force_login(user)
    refused = {}
    answered = {}
    for path in dashboard_paths(world["route_ids"]):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
            if response.streaming:  # a streamed CSV reads as it is sent
                b"".join(response.streaming_content)
        answered[path] = response.status_code
        if writes := domain_writes(queries.captured_queries):
            refused[path] = writes
    assert refused == {}
    assert set(answered.values()) <= {200, 403, 404, 405}, answered
    pages = [path for path, status in answered.items() if status != 405]
    assert len(pages) >= 10, answered
    if role == "admin":
        assert {answered[path] for path in pages} == {200}, answered


def test_the_filter_sees_writes() -> None:
    """The check can fail: a write to a domain table is reported, the request's own are not."""
    with CaptureQueriesContext(connection) as queries:
        learner = LearnerFactory()
        Learner.objects.filter(pk=learner.pk).update(risk_stale=False)
        audit_record(actor=None, action="test.write", target=learner)
        ApiKey.objects.filter(pk=uuid7()).update(last_used_at=timezone.now())
        ApiKey.objects.filter(pk=uuid7()).update(name="renamed")
    writes = domain_writes(queries.captured_queries)
    tables = [(sql.split()[0], sql.split('"')[1]) for sql in writes]
    assert tables == [
        ("INSERT", "learners_cohort"),
        ("INSERT", "learners_learner"),
        ("UPDATE", "learners_learner"),
        ("UPDATE", "engagement_apikey"),
    ]
