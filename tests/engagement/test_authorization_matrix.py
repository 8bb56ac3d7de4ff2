"""The authorization matrix: every route by method by caller, discovered from the URL configuration.

A route that appears in the URL configuration without a row in ``MATRIX`` fails
``test_every_route_has_a_rule``, so no endpoint can ship without a decided access rule.
Expectations: a status code, ``OK`` (authorised: the answer may still be 2xx, 400, 405 or 409
for the dummy body, but never 401, 403 or 404) or ``PUBLIC`` (reachable without credentials).
"""

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from engagement.api_keys import api_key_create
from engagement.audit import audit_record
from engagement.models import ApiKeyScope, Job
from tests.factories import CohortFactory, LearnerFactory, UserFactory

OK = "ok"
PUBLIC = "public"
PRINCIPALS = ("anonymous", "admin", "coach_in", "coach_out", "analyst", "key_with", "key_without")


def rule(**expected: Any) -> dict[str, Any]:
    missing = set(PRINCIPALS) - set(expected)
    assert not missing, f"rule lacks {missing}"
    return expected


ADMIN_ONLY = rule(
    anonymous=401, admin=OK, coach_in=403, coach_out=403, analyst=403, key_with=403, key_without=403
)
STAFF_READ_LIST = rule(
    anonymous=401, admin=OK, coach_in=OK, coach_out=OK, analyst=OK, key_with=OK, key_without=403
)
STAFF_READ_OBJECT = rule(
    anonymous=401, admin=OK, coach_in=OK, coach_out=404, analyst=OK, key_with=OK, key_without=403
)
COACH_WRITE_LIST = rule(
    anonymous=401, admin=OK, coach_in=OK, coach_out=OK, analyst=403, key_with=403, key_without=403
)
COACH_WRITE_OBJECT = rule(
    anonymous=401, admin=OK, coach_in=OK, coach_out=404, analyst=403, key_with=403, key_without=403
)
ADMIN_OBJECT = rule(
    anonymous=401, admin=OK, coach_in=403, coach_out=403, analyst=403, key_with=403, key_without=403
)
MACHINE_WRITE = rule(
    anonymous=401, admin=OK, coach_in=403, coach_out=403, analyst=403, key_with=OK, key_without=403
)
STAFF_ONLY = rule(
    anonymous=401, admin=OK, coach_in=OK, coach_out=OK, analyst=OK, key_with=403, key_without=403
)
# Jobs are visible to admins and to whoever requested them; the world's job is the admin's.
OWN_JOB = rule(
    anonymous=401, admin=OK, coach_in=404, coach_out=404, analyst=404, key_with=403, key_without=403
)
STAFF_OR_KEY_READ = STAFF_READ_LIST
OPEN = dict.fromkeys(PRINCIPALS, PUBLIC)

MATRIX: dict[tuple[str, str], dict[str, Any]] = {
    # "/" redirects: signed-in people to the API index, everyone else to the sign-in page.
    ("home", "get"): OPEN,
    ("api-root", "get"): STAFF_ONLY,
    ("token-obtain", "post"): OPEN,
    ("token-refresh", "post"): OPEN,
    ("token-verify", "post"): OPEN,
    ("logout", "post"): STAFF_ONLY,
    ("user-list", "get"): ADMIN_ONLY,
    ("user-list", "post"): ADMIN_ONLY,
    ("user-detail", "get"): ADMIN_ONLY,
    ("user-detail", "patch"): ADMIN_ONLY,
    ("user-deactivate", "post"): ADMIN_ONLY,
    ("api-key-list", "get"): ADMIN_ONLY,
    ("api-key-list", "post"): ADMIN_ONLY,
    ("api-key-detail", "get"): ADMIN_ONLY,
    ("api-key-revoke", "post"): ADMIN_ONLY,
    ("audit-event-list", "get"): ADMIN_ONLY,
    ("audit-event-detail", "get"): ADMIN_ONLY,
    ("job-list", "get"): STAFF_ONLY,
    ("job-detail", "get"): OWN_JOB,
    ("job-cancel", "post"): OWN_JOB,
    ("events-ingest", "post"): MACHINE_WRITE,
    ("xapi-statements", "post"): MACHINE_WRITE,
    ("xapi-statements", "put"): MACHINE_WRITE,
    ("xapi-about", "get"): STAFF_OR_KEY_READ,
    ("cohort-list", "get"): STAFF_READ_LIST,
    ("cohort-list", "post"): ADMIN_ONLY,
    ("cohort-detail", "get"): STAFF_READ_OBJECT,
    ("cohort-detail", "patch"): ADMIN_OBJECT,
    ("cohort-detail", "delete"): ADMIN_OBJECT,
    ("learner-list", "get"): STAFF_READ_LIST,
    ("learner-list", "post"): COACH_WRITE_LIST,
    ("learner-detail", "get"): STAFF_READ_OBJECT,
    ("learner-detail", "patch"): COACH_WRITE_OBJECT,
    ("learner-detail", "delete"): ADMIN_OBJECT,
    ("learner-events", "get"): STAFF_READ_OBJECT,
    ("learner-export", "get"): ADMIN_OBJECT,
    ("risk-model-list", "get"): STAFF_ONLY,
    ("risk-model-detail", "get"): STAFF_ONLY,
    ("risk-model-train", "post"): ADMIN_ONLY,
    ("risk-model-activate", "post"): ADMIN_ONLY,
    ("risk-rescore", "post"): ADMIN_ONLY,
    ("learner-risk", "get"): STAFF_READ_OBJECT,
    ("learner-risk-history", "get"): STAFF_READ_OBJECT,
    ("learner-risk-feedback", "post"): COACH_WRITE_OBJECT,
    ("learner-erase", "post"): ADMIN_OBJECT,
    ("schema", "get"): OPEN,
    ("swagger-ui", "get"): OPEN,
    ("healthz", "get"): OPEN,
    ("readyz", "get"): OPEN,
}

# Routes that are not API endpoints: Django admin (staff only, tested below) and the
# password-reset pages of django.contrib.auth (public by nature).
NOT_IN_MATRIX_PREFIXES = ("admin/", "accounts/")


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _methods(pattern: URLPattern) -> set[str]:
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:
        return set(actions) - {"head", "options"}
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    handlers = {
        name for name in ("get", "post", "put", "patch", "delete") if hasattr(view_class, name)
    }
    return handlers or {"get"}


def discovered_routes() -> set[tuple[str, str]]:
    found = set()
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(NOT_IN_MATRIX_PREFIXES) or not pattern.name:
            continue
        for method in _methods(pattern):
            found.add((pattern.name, method))
    return found


def test_every_route_has_a_rule() -> None:
    discovered = discovered_routes()
    assert discovered - MATRIX.keys() == set(), "routes without an authorization rule"
    assert MATRIX.keys() - discovered == set(), "rules for routes that no longer exist"


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    cohort, other = CohortFactory(), CohortFactory()
    admin = UserFactory(role="admin")
    coach_in, coach_out = UserFactory(role="coach"), UserFactory(role="coach")
    assign_perm("learners.work_with_cohort", coach_in, cohort)
    assign_perm("learners.work_with_cohort", coach_out, other)
    key_with = api_key_create(name="all", scopes=ApiKeyScope.values, created_by=admin)
    key_without = api_key_create(name="inbox", scopes=[ApiKeyScope.INBOX_READ], created_by=admin)
    return {
        "cohort": cohort,
        "learner": LearnerFactory(cohort=cohort),
        "user": UserFactory(role="analyst"),
        "audit": audit_record(actor=None, action="matrix.probe"),
        "api_key": key_without.api_key,
        "job": Job.objects.create(kind="matrix.probe", requested_by=admin),
        "principals": {
            "admin": admin,
            "coach_in": coach_in,
            "coach_out": coach_out,
            "analyst": UserFactory(role="analyst"),
            "key_with": key_with.secret,
            "key_without": key_without.secret,
        },
    }


OBJECT_FOR_ROUTE = {
    "user": "user",
    "api-key": "api_key",
    "audit-event": "audit",
    "job": "job",
    "cohort": "cohort",
    "learner": "learner",
}


def _url(name: str, world: dict[str, Any]) -> str:
    if name in ("risk-model-detail", "risk-model-activate"):
        return reverse(name, kwargs={"version": 1})
    for basename, key in OBJECT_FOR_ROUTE.items():
        if name.startswith(f"{basename}-") and not name.endswith("-list"):
            return reverse(name, kwargs={"pk": world[key].pk})
    return reverse(name)


def _client(principal: str, world: dict[str, Any]) -> APIClient:
    client = APIClient()
    if principal in ("key_with", "key_without"):
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world['principals'][principal]}")
    elif principal != "anonymous":
        client.force_authenticate(world["principals"][principal])
    return client


CASES = [
    (name, method, principal) for (name, method), rules in MATRIX.items() for principal in rules
]


@pytest.mark.parametrize(("name", "method", "principal"), CASES)
def test_matrix(world: dict[str, Any], name: str, method: str, principal: str) -> None:
    expected = MATRIX[(name, method)][principal]
    response = getattr(_client(principal, world), method)(_url(name, world), {}, format="json")
    if expected == OK:
        assert response.status_code not in (401, 403, 404), response.content[:300]
        assert response.status_code < 500
    elif expected == PUBLIC:
        assert response.status_code not in (403, 404), response.content[:300]
        assert response.status_code < 500
    else:
        assert response.status_code == expected, response.content[:300]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "expected"), [("admin", 200), ("coach", 302), ("analyst", 302), (None, 302)]
)
def test_django_admin_is_for_admins_only(client: Any, role: str | None, expected: int) -> None:
    if role:
        client.force_login(UserFactory(role=role))
    assert client.get("/admin/learners/learner/").status_code == expected
