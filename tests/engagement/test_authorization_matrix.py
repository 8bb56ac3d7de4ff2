"""The authorization matrix: every route by method by caller, discovered from the URL configuration.

A route that appears in the URL configuration without a row in ``MATRIX`` fails
``test_every_route_has_a_rule``, so no endpoint can ship without a decided access rule.
Expectations: a status code, ``OK`` (authorised: the answer may still be 2xx, 400, 405 or 409
for the dummy body, but never 401, 403 or 404) or ``PUBLIC`` (reachable without credentials).
"""

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from engagement.api_keys import api_key_create
from engagement.audit import audit_record
from engagement.models import Job
from engagement.outbox import EMAIL_CHANNEL, outbox_enqueue
from engagement.registry import registry
from learners.models import ImportUpload
from learners.risk.feedback import risk_feedback_create
from learners.risk.services import learners_rescore
from learners.scopes import ApiKeyScope
from learners.services import coach_note_create
from nudges.campaigns import campaign_create
from nudges.delivery import click_url, open_url, unsubscribe_url
from nudges.experiments import experiment_create
from nudges.models import Nudge, PromptTemplate
from simulation.models import Simulation
from tests.factories import (
    ActivityEventFactory,
    CohortAssignmentFactory,
    CohortFactory,
    LearnerFactory,
    UserFactory,
)

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
ADMIN_ANALYST = rule(
    anonymous=401, admin=OK, coach_in=403, coach_out=403, analyst=OK, key_with=403, key_without=403
)
# Nudges: staff only (no key scope reads them), coaches within their cohorts.
NUDGE_READ_OBJECT = rule(
    anonymous=401, admin=OK, coach_in=OK, coach_out=404, analyst=OK, key_with=403, key_without=403
)
# The inbox is message text: for the learner's platform (inbox:read) and coaches in scope.
INBOX_READ = rule(
    anonymous=401, admin=OK, coach_in=OK, coach_out=404, analyst=403, key_with=OK, key_without=OK
)
# Read receipts come from the learner's platform only.
INBOX_RECEIPT = rule(
    anonymous=401, admin=403, coach_in=403, coach_out=403, analyst=403, key_with=OK, key_without=OK
)
STAFF_OBJECT = rule(
    anonymous=401, admin=OK, coach_in=OK, coach_out=404, analyst=OK, key_with=403, key_without=403
)
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
    ("outbox-message-list", "get"): ADMIN_ONLY,
    ("outbox-message-detail", "get"): ADMIN_ONLY,
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
    ("prompt-list", "get"): STAFF_ONLY,
    ("prompt-list", "post"): ADMIN_ONLY,
    ("prompt-detail", "get"): STAFF_ONLY,
    ("prompt-activate", "post"): ADMIN_ONLY,
    ("learner-nudges", "post"): COACH_WRITE_OBJECT,
    # Without ``?learner=`` the preview is a 400 for anyone allowed; analysts and keys: 403.
    ("nudge-stream", "get"): COACH_WRITE_LIST,
    ("import-upload-list", "get"): ADMIN_ONLY,
    ("import-upload-list", "post"): ADMIN_ONLY,
    ("import-upload-detail", "get"): ADMIN_OBJECT,
    ("import-upload-refused", "get"): ADMIN_OBJECT,
    ("learner-risk", "get"): STAFF_READ_OBJECT,
    ("learner-risk-history", "get"): STAFF_READ_OBJECT,
    ("learner-risk-feedback", "post"): COACH_WRITE_OBJECT,
    ("learner-erase", "post"): ADMIN_OBJECT,
    # Coach notes are personal data: never for analysts or keys. The probe note is coach_in's.
    ("learner-notes", "get"): COACH_WRITE_OBJECT,
    ("learner-notes", "post"): COACH_WRITE_OBJECT,
    ("learner-note", "delete"): COACH_WRITE_OBJECT,
    ("analytics-overview", "get"): STAFF_ONLY,
    ("analytics-cohorts", "get"): STAFF_ONLY,
    ("analytics-cohort-cards", "get"): STAFF_ONLY,
    ("analytics-engagement-trend", "get"): STAFF_ONLY,
    ("analytics-risk-trend", "get"): STAFF_ONLY,
    ("analytics-caseloads", "get"): STAFF_ONLY,
    ("analytics-attention", "get"): STAFF_ONLY,
    ("analytics-changes", "get"): STAFF_ONLY,
    ("llm-usage", "get"): ADMIN_ANALYST,
    ("nudge-list", "get"): STAFF_ONLY,
    ("nudge-list", "post"): COACH_WRITE_LIST,
    ("nudge-detail", "get"): NUDGE_READ_OBJECT,
    ("nudge-approve", "post"): COACH_WRITE_OBJECT,
    ("nudge-send", "post"): COACH_WRITE_OBJECT,
    ("nudge-cancel", "post"): COACH_WRITE_OBJECT,
    ("learner-inbox", "get"): INBOX_READ,
    ("learner-inbox-read", "post"): INBOX_RECEIPT,
    # Reached from a nudge email without signing in; the signed link is the authority.
    ("nudge-unsubscribe", "get"): OPEN,
    ("nudge-open", "get"): OPEN,
    ("nudge-click", "get"): OPEN,
    ("campaign-list", "get"): STAFF_ONLY,
    ("campaign-list", "post"): COACH_WRITE_LIST,
    ("campaign-detail", "get"): STAFF_OBJECT,
    ("campaign-preview", "post"): COACH_WRITE_OBJECT,
    ("campaign-run", "post"): COACH_WRITE_OBJECT,
    ("campaign-deactivate", "post"): COACH_WRITE_OBJECT,
    ("campaign-activate", "post"): COACH_WRITE_OBJECT,
    # Experiments: definitions and counted results, no one named; admins create and promote.
    ("experiment-list", "get"): STAFF_ONLY,
    ("experiment-list", "post"): ADMIN_ONLY,
    ("experiment-detail", "get"): STAFF_ONLY,
    ("experiment-results", "get"): STAFF_ONLY,
    ("experiment-promote", "post"): ADMIN_ONLY,
    # Simulations: staff only; coaches see their own runs (the probe run is coach_in's), and
    # only the requester or an admin cancels one.
    ("simulation-list", "get"): STAFF_ONLY,
    ("simulation-list", "post"): STAFF_ONLY,
    ("simulation-detail", "get"): STAFF_OBJECT,
    ("simulation-cancel", "post"): COACH_WRITE_OBJECT,
    ("simulation-compare", "get"): STAFF_ONLY,
    ("schema", "get"): OPEN,
    ("swagger-ui", "get"): OPEN,
    ("healthz", "get"): OPEN,
    ("readyz", "get"): OPEN,
    # Guarded by METRICS_TOKEN / METRICS_ALLOWED_NETWORKS, not by roles: with neither set and
    # DEBUG off, nobody may read it (tests/engagement/test_metrics.py covers 401 and 200).
    ("metrics", "get"): dict.fromkeys(PRINCIPALS, 403),
}

# Routes that are not API endpoints: Django admin (staff only, tested below), the
# password-reset pages of django.contrib.auth (public by nature), and the dashboard pages
# (engagement.dashboard.staff_page; each page's tests cover sign-in, roles and scope).
NOT_IN_MATRIX_PREFIXES = ("admin/", "accounts/", "dashboard/")


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
    CohortAssignmentFactory(user=coach_in, cohort=cohort)
    CohortAssignmentFactory(user=coach_out, cohort=other)
    key_with = api_key_create(name="all", scopes=list(registry.api_key_scopes()), created_by=admin)
    key_without = api_key_create(name="inbox", scopes=[ApiKeyScope.INBOX_READ], created_by=admin)
    learner = LearnerFactory(cohort=cohort)
    now = timezone.now()
    nudge = Nudge.objects.create(
        learner=learner,
        channel="in_app",
        source="manual",
        body="Hi.",
        status="sent",
        sent_at=now,
        delivered_at=now,
    )
    return {
        "cohort": cohort,
        "learner": learner,
        "nudge": nudge,
        "note": coach_note_create(actor=coach_in, learner=learner, body="Matrix probe"),
        "user": UserFactory(role="analyst"),
        "audit": audit_record(actor=None, action="matrix.probe"),
        "api_key": key_without.api_key,
        "job": Job.objects.create(kind="matrix.probe", requested_by=admin),
        "prompt": PromptTemplate.objects.first(),
        "upload": ImportUpload.objects.create(
            kind="activity", filename="probe.csv", content="", size=0, sha256="0" * 64
        ),
        "outbox": outbox_enqueue(
            channel=EMAIL_CHANNEL,
            payload={"to": "probe@example.org", "subject": "Probe", "body": "Probe"},
            idempotency_key="matrix.probe",
        ),
        "simulation": Simulation.objects.create(
            kind="what_if",
            params={},
            seed=1,
            model_version=1,
            job=Job.objects.create(kind="simulation.run", requested_by=coach_in),
            requested_by=coach_in,
        ),
        "campaign": campaign_create(
            actor=admin, name="Matrix probe", channel="email", cohort_ids=[cohort.pk]
        ),
        "experiment": experiment_create(
            name="Matrix probe",
            variants=[{"name": "A", "weight": 1}],
            holdout_share=0.2,
            actor=admin,
        ),
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
    "outbox-message": "outbox",
    "cohort": "cohort",
    "learner": "learner",
    "import-upload": "upload",
    "prompt": "prompt",
    "nudge": "nudge",
    "campaign": "campaign",
    "experiment": "experiment",
    "simulation": "simulation",
}


def _url(name: str, world: dict[str, Any]) -> str:
    if name in ("risk-model-detail", "risk-model-activate"):
        return reverse(name, kwargs={"version": 1})
    if name == "learner-nudges":
        return reverse(name, kwargs={"learner_id": world["learner"].pk})
    if name in ("learner-inbox", "learner-inbox-read"):
        ids = {"learner_id": world["nudge"].learner_id}
        return reverse(
            name, kwargs={**ids, "nudge_id": world["nudge"].pk} if "read" in name else ids
        )
    links = {
        "nudge-unsubscribe": lambda n: unsubscribe_url(n.learner_id, "all"),
        "nudge-open": lambda n: open_url(n.pk),
        "nudge-click": lambda n: click_url(n.pk, "https://lms.example.org/"),
    }
    if name in links:
        return urlsplit(links[name](world["nudge"])).path
    if name == "learner-note":
        return reverse(name, kwargs={"pk": world["learner"].pk, "note_id": world["note"].pk})
    if name in ("nudge-stream", "simulation-compare"):  # list-level routes despite their names
        return reverse(name)
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


# Personal data planted in every field that holds it; a pseudonymised caller must never see it.
MARKER = "zqplanted"
PLANTED = {
    "name": f"Ann {MARKER}name",
    "email": f"{MARKER}email@example.org",
    "external_id": f"{MARKER}-external-id",
    "source": f"{MARKER}-source",
    "event source": f"{MARKER}-event-source",
    "source_event_id": f"{MARKER}-event-id",
    "metadata": f"{MARKER}-metadata",
    "coach note": f"Call {MARKER}note on +44 20 7946 0000",
    "nudge text": f"Dear Ann {MARKER}nudge, lesson 4 awaits",
}
# A cohort outside coach_in's scope, named in the risk model's metrics.
HIDDEN = "zqhiddencohort"


def _readable(principal: str) -> list[str]:
    """GET routes of the matrix that ``principal`` may call: new routes join automatically."""
    return sorted(
        name
        for (name, method), rules in MATRIX.items()
        if method == "get" and rules[principal] in (OK, PUBLIC)
    )


@pytest.fixture
def planted(world: dict[str, Any], rules_model: Any) -> dict[str, Any]:
    learner = LearnerFactory(
        cohort=world["cohort"],
        name=PLANTED["name"],
        email=PLANTED["email"],
        external_id=PLANTED["external_id"],
        source=PLANTED["source"],
    )
    ActivityEventFactory(
        learner=learner,
        source=PLANTED["event source"],
        source_event_id=PLANTED["source_event_id"],
        metadata={"comment": PLANTED["metadata"], f"{MARKER}-key": 1},
    )
    learners_rescore(learner_ids=[learner.pk])
    risk_feedback_create(
        actor=world["principals"]["coach_in"],
        learner=learner,
        kind="acknowledged",
        note=PLANTED["coach note"],
    )
    Nudge.objects.create(
        learner=learner, channel="email", source="manual", body=PLANTED["nudge text"]
    )
    hidden = CohortFactory(name=f"{HIDDEN} cohort")
    LearnerFactory(cohort=hidden)
    shown, secret = str(world["cohort"].pk), str(hidden.pk)
    group = {"n": 10, "base_rate": 0.2, "roc_auc": 0.8, "brier": 0.1, "high_band": {}}
    rules_model.metrics = {
        "test": {"n": 20, "roc_auc": 0.8, "by_cohort": {shown: group, secret: group}},
        "active_on_same_test": {"version": 1, "by_cohort": {shown: group, secret: group}},
        "train_cohorts": [secret],
        "test_cohorts": [shown, secret],
    }
    rules_model.save(update_fields=["metrics"])
    world["learner"] = learner
    world["hidden"] = hidden
    return world


def _body(principal: str, name: str, world: dict[str, Any]) -> str:
    response = _client(principal, world).get(_url(name, world))
    assert response.status_code < 500, response.content[:300]
    return response.content.decode(errors="replace").lower()  # an image (nudge-open) too


@pytest.mark.parametrize("name", _readable("analyst"))
def test_analyst_responses_hold_no_personal_data(planted: dict[str, Any], name: str) -> None:
    assert MARKER not in _body("analyst", name, planted)


def test_every_planted_value_is_served_to_admins(planted: dict[str, Any]) -> None:
    """The planting reaches the routes the analyst walk covers, so that walk can fail."""
    bodies = " ".join(_body("admin", name, planted) for name in _readable("analyst"))
    missing = [field for field, value in PLANTED.items() if value.lower() not in bodies]
    assert missing == []


@pytest.mark.parametrize("name", _readable("coach_in"))
def test_coach_responses_name_no_cohort_outside_scope(planted: dict[str, Any], name: str) -> None:
    body = _body("coach_in", name, planted)
    assert HIDDEN not in body
    assert str(planted["hidden"].pk) not in body


def test_out_of_scope_cohort_is_served_to_admins(planted: dict[str, Any]) -> None:
    bodies = " ".join(_body("admin", name, planted) for name in _readable("coach_in"))
    assert HIDDEN in bodies
    assert str(planted["hidden"].pk) in bodies


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "expected"), [("admin", 200), ("coach", 302), ("analyst", 302), (None, 302)]
)
def test_django_admin_is_for_admins_only(client: Any, role: str | None, expected: int) -> None:
    if role:
        client.force_login(UserFactory(role=role))
    assert client.get("/admin/learners/learner/").status_code == expected
