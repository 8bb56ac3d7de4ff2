"""``/api/v1/simulations/``: request, list, detail, cancel and compare, by role and scope, with
the small test kind of ``conftest`` (each real kind's params have their own tests)."""

import dataclasses
from typing import Any

import pytest
from rest_framework.test import APIClient

from engagement.api.throttling import ScopedClientRateThrottle
from engagement.api_keys import api_key_create
from engagement.models import AuditEvent, Job, JobStatus
from engagement.registry import registry
from simulation.kinds import KINDS
from simulation.models import Simulation
from tests.contract.schema import assert_documented
from tests.factories import LearnerFactory
from tests.simulation.conftest import COUNTING

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counting_kind")]

URL = "/api/v1/simulations/"
UNSEEN = "01890a5d-ac96-774b-bcce-b302099a8057"


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _run(
    user: Any, capture: Any, params: dict[str, Any] | None = None, idempotency_key: str = ""
) -> dict[str, Any]:
    """A run requested through the API and finished (its job runs after commit)."""
    with capture(execute=True):
        response = _client(user).post(
            URL,
            {"kind": COUNTING, "params": params or {}},
            format="json",
            headers={"Idempotency-Key": idempotency_key} if idempotency_key else {},
        )
    assert response.status_code == 202, response.content[:300]
    body: dict[str, Any] = response.json()
    return body


def _queued(user: Any, capture: Any, **params: Any) -> dict[str, Any]:
    """A run requested through the API whose job was never sent to a worker."""
    with capture(execute=False):
        response = _client(user).post(URL, {"kind": COUNTING, "params": params}, format="json")
    assert response.status_code == 202, response.content[:300]
    body: dict[str, Any] = response.json()
    return body


def _every_operation(simulation_id: str) -> list[tuple[str, str]]:
    detail = f"{URL}{simulation_id}/"
    return [
        ("get", URL),
        ("post", URL),
        ("get", detail),
        ("post", f"{detail}cancel/"),
        ("get", f"{URL}compare/?a={simulation_id}&b={simulation_id}"),
    ]


def test_anonymous_callers_and_api_keys_are_refused(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    run = _run(world["admin"], django_capture_on_commit_callbacks)
    key = api_key_create(
        name="all", scopes=list(registry.api_key_scopes()), created_by=world["admin"]
    )
    machine = APIClient()
    machine.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.secret}")
    for method, path in _every_operation(run["id"]):
        body = {"kind": COUNTING, "params": {}} if path == URL else None
        assert getattr(APIClient(), method)(path, body, format="json").status_code == 401, path
        refused = getattr(machine, method)(path, body, format="json")
        assert refused.status_code == 403, path
        assert "for staff users" in refused.json()["detail"]
    assert Simulation.objects.count() == 1


@pytest.mark.parametrize("role", ["admin", "analyst", "coach"])
def test_each_staff_role_runs_a_simulation_and_reads_it(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any, role: str
) -> None:
    user = world[role]
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(user).post(
            URL, {"kind": COUNTING, "params": {"seed": 7}, "name": "First"}, format="json"
        )

    assert response.status_code == 202, response.content[:300]
    accepted = response.json()
    assert_documented(response, path=URL, method="post")
    job = Job.objects.get(pk=accepted["job"])
    assert response["Location"] == f"http://testserver/api/v1/jobs/{job.pk}/"
    assert accepted["job_url"] == response["Location"]
    assert (accepted["kind"], accepted["name"], accepted["seed"]) == (COUNTING, "First", 7)
    assert accepted["status"] == JobStatus.QUEUED  # the job runs once the request commits
    assert accepted["results"] is None
    assert accepted["requested_by"] == str(user.pk)
    detail = _client(user).get(f"{URL}{accepted['id']}/")
    assert detail.status_code == 200
    assert_documented(detail, path="/api/v1/simulations/{id}/", method="get")
    data = detail.json()
    assert (data["status"], data["progress"], data["error"]) == ("succeeded", 1.0, "")
    assert data["params"] == {"seed": 7, "model_version": data["model_version"], "steps": 2}
    assert data["started_at"] and data["finished_at"] and data["created_at"]
    assert data["results"]["learners"] == (2 if role == "coach" else 5)
    assert AuditEvent.objects.filter(action="simulation.request", target_id=data["id"]).exists()


def test_results_are_labelled_per_viewer_and_analysts_get_aggregates_only(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    run = _run(world["admin"], django_capture_on_commit_callbacks)
    path = f"{URL}{run['id']}/"

    as_admin = _client(world["admin"]).get(path).json()["results"]
    as_analyst = _client(world["analyst"]).get(path).json()["results"]

    assert len(as_admin["rows"]) == 5
    assert all(row["label"] for row in as_admin["rows"])
    assert as_analyst == {key: value for key, value in as_admin.items() if key != "rows"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"kind": "guess"}, {"kind": ['"guess" is not a valid choice.']}),
        (
            {"kind": COUNTING, "params": []},
            {"params": ['Expected a dictionary of items but got type "list".']},
        ),
        ({"kind": COUNTING, "params": "{}"}, None),
        ({"kind": COUNTING, "params": {"steps": 0}}, {"params": {"steps": None}}),
        ({"kind": COUNTING, "params": {"steps": "many"}}, {"params": {"steps": None}}),
        ({"kind": COUNTING, "params": {"seed": 2**64}}, {"params": {"seed": None}}),
        ({"kind": COUNTING, "params": {"seed": 1e300}}, {"params": {"seed": None}}),
        ({"kind": COUNTING, "params": {"model_version": 999}}, {"params": {"model_version": None}}),
        (
            {"kind": COUNTING, "params": {"model_version": 2**80}},
            {"params": {"model_version": None}},
        ),
        ({"kind": COUNTING, "params": {"cohort": "nope"}}, {"params": {"cohort": None}}),
        (
            {"kind": COUNTING, "params": {"cohort": UNSEEN}},
            {"params": {"cohort": ["No such cohort."]}},
        ),
        (
            {"kind": COUNTING, "params": {"note": "a\x00b"}},
            {"params": ["params.note contains a NUL character."]},
        ),
        ({"kind": COUNTING, "name": 12}, {"name": None}),
        ({"kind": COUNTING, "name": "x" * 201}, {"name": None}),
        ({"params": {}}, {"kind": ["This field is required."]}),
        ([1, 2], None),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    world: dict[str, Any], body: Any, error: dict[str, Any] | None
) -> None:
    response = _client(world["admin"]).post(URL, body, format="json")

    assert response.status_code == 400, response.content[:300]
    assert_documented(response, path=URL, method="post")
    answer = response.json()
    if error is not None:
        assert set(answer) == set(error)
        for field, why in error.items():
            if isinstance(why, dict):
                assert set(answer[field]) == set(why)
                assert all(answer[field][name] == reason for name, reason in why.items() if reason)
            elif why is not None:
                assert answer[field] == why
    assert not Simulation.objects.exists() and not Job.objects.exists()


def test_a_cohort_outside_the_coach_scope_reads_as_a_missing_one(world: dict[str, Any]) -> None:
    client = _client(world["coach"])
    theirs = client.post(
        URL, {"kind": COUNTING, "params": {"cohort": str(world["other"].pk)}}, format="json"
    )
    missing = client.post(URL, {"kind": COUNTING, "params": {"cohort": UNSEEN}}, format="json")

    assert theirs.status_code == missing.status_code == 400
    assert theirs.json() == missing.json() == {"params": {"cohort": ["No such cohort."]}}
    assert not Simulation.objects.exists()


def test_an_idempotency_key_returns_the_run_it_made(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    first = _run(world["coach"], django_capture_on_commit_callbacks, idempotency_key="k-1")
    again = _run(world["coach"], django_capture_on_commit_callbacks, idempotency_key="k-1")
    changed = _client(world["coach"]).post(
        URL,
        {"kind": COUNTING, "params": {"steps": 3}},
        format="json",
        headers={"Idempotency-Key": "k-1"},
    )
    # Another coach replaying the key is not shown the first coach's run.
    replayed = _client(world["other_coach"]).post(
        URL, {"kind": COUNTING, "params": {}}, format="json", headers={"Idempotency-Key": "k-1"}
    )

    assert again["id"] == first["id"]
    assert changed.status_code == 409
    assert list(changed.json()) == ["idempotency_key"]
    assert replayed.status_code == 404
    assert Simulation.objects.count() == 1


def test_lists_show_each_role_its_runs_with_filters(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    by_admin = _run(world["admin"], capture)
    by_coach = _run(world["coach"], capture)
    queued = _queued(world["coach"], capture)

    def listed(user: Any, **query: str) -> list[str]:
        response = _client(user).get(URL, query)
        assert response.status_code == 200, response.content[:300]
        assert_documented(response, path=URL, method="get")
        return [row["id"] for row in response.json()["results"]]

    assert listed(world["admin"]) == [queued["id"], by_coach["id"], by_admin["id"]]
    assert listed(world["analyst"]) == listed(world["admin"])
    assert listed(world["coach"]) == [queued["id"], by_coach["id"]]
    assert listed(world["other_coach"]) == []
    assert listed(world["coach"], status="queued") == [queued["id"]]
    assert listed(world["admin"], status="succeeded", kind=COUNTING) == [
        by_coach["id"],
        by_admin["id"],
    ]
    assert listed(world["admin"], kind="backtest") == []
    row = _client(world["admin"]).get(URL).json()["results"][0]
    assert "results" not in row and row["url"].endswith(f"{URL}{queued['id']}/")


@pytest.mark.parametrize(
    ("query", "field"), [({"status": "done"}, "status"), ({"kind": "x"}, "kind")]
)
def test_a_bad_list_filter_is_a_400_naming_it(
    world: dict[str, Any], query: dict[str, str], field: str
) -> None:
    response = _client(world["admin"]).get(URL, query)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_coaches_get_404_for_runs_of_others(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    theirs = _run(world["admin"], django_capture_on_commit_callbacks)
    mine = _run(world["coach"], django_capture_on_commit_callbacks)
    client = _client(world["coach"])
    detail = f"{URL}{theirs['id']}/"

    assert client.get(detail).status_code == 404
    assert client.post(f"{detail}cancel/").status_code == 404
    assert client.get(f"{URL}compare/", {"a": mine["id"], "b": theirs["id"]}).status_code == 404
    assert client.get(f"{URL}{UNSEEN}/").status_code == 404
    assert client.get(f"{URL}not-an-id/").status_code == 404


def test_the_requester_or_an_admin_cancels_a_queued_run(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    own = _queued(world["coach"], capture)
    coachs = _queued(world["coach"], capture)
    admins = _queued(world["admin"], capture)

    cancelled = _client(world["coach"]).post(f"{URL}{own['id']}/cancel/")
    by_admin = _client(world["admin"]).post(f"{URL}{coachs['id']}/cancel/")
    by_analyst = _client(world["analyst"]).post(f"{URL}{admins['id']}/cancel/")

    assert cancelled.status_code == 200
    assert_documented(cancelled, path="/api/v1/simulations/{id}/cancel/", method="post")
    assert cancelled.json()["status"] == by_admin.json()["status"] == JobStatus.CANCELLED
    assert cancelled.json()["finished_at"]
    assert by_analyst.status_code == 403
    assert Job.objects.get(pk=admins["job"]).status == JobStatus.QUEUED
    again = _client(world["coach"]).post(f"{URL}{own['id']}/cancel/")
    assert again.status_code == 409
    assert_documented(again, path="/api/v1/simulations/{id}/cancel/", method="post")


def test_a_finished_run_cannot_be_cancelled(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    run = _run(world["analyst"], django_capture_on_commit_callbacks)

    response = _client(world["analyst"]).post(f"{URL}{run['id']}/cancel/")

    assert response.status_code == 409
    assert Job.objects.get(pk=run["job"]).status == JobStatus.SUCCEEDED


def test_compare_shows_two_runs_side_by_side(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    a = _run(world["coach"], capture, {"seed": 1})
    b = _run(world["coach"], capture, {"seed": 2, "cohort": str(world["mine"].pk)})

    response = _client(world["coach"]).get(f"{URL}compare/", {"a": a["id"], "b": b["id"]})

    assert response.status_code == 200, response.content[:300]
    assert_documented(response, path="/api/v1/simulations/compare/", method="get")
    data = response.json()
    assert (data["kind"], data["a"]["id"], data["b"]["id"]) == (COUNTING, a["id"], b["id"])
    assert data["params"] == {
        "seed": {"a": 1, "b": 2},
        "cohort": {"a": None, "b": str(world["mine"].pk)},
    }
    figures = {figure["name"]: figure for figure in data["headline"]}
    assert figures["learners"] == {"name": "learners", "a": 2, "b": 2, "difference": 0}
    assert figures["draw"]["difference"] == pytest.approx(
        figures["draw"]["b"] - figures["draw"]["a"]
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "a"),
        ({"a": "{id}"}, "b"),
        ({"a": "x", "b": "{id}"}, "a"),
        ({"a": "{id}", "b": "1"}, "b"),
    ],
)
def test_compare_needs_both_ids(
    world: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    query: dict[str, str],
    field: str,
) -> None:
    run = _run(world["admin"], django_capture_on_commit_callbacks)
    filled = {name: value.format(id=run["id"]) for name, value in query.items()}

    response = _client(world["admin"]).get(f"{URL}compare/", filled)

    assert response.status_code == 400
    assert field in response.json()
    assert_documented(response, path="/api/v1/simulations/compare/", method="get")


def test_compare_of_an_unknown_run_is_a_404(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    run = _run(world["admin"], django_capture_on_commit_callbacks)
    response = _client(world["admin"]).get(f"{URL}compare/", {"a": run["id"], "b": UNSEEN})
    assert response.status_code == 404


def test_the_list_costs_the_same_queries_at_two_sizes(
    world: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    django_assert_num_queries: Any,
) -> None:
    client = _client(world["admin"])
    _run(world["admin"], django_capture_on_commit_callbacks)
    # count, the page of runs with their jobs and requesters
    with django_assert_num_queries(2):
        assert len(client.get(URL).json()["results"]) == 1
    for user in (world["admin"], world["coach"], world["analyst"], world["admin"]):
        _run(user, django_capture_on_commit_callbacks)
    with django_assert_num_queries(2):
        assert len(client.get(URL).json()["results"]) == 5


def test_requests_have_their_own_budget_and_reads_do_not_spend_it(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ScopedClientRateThrottle, "THROTTLE_RATES", {"simulation": "2/min"})
    client = _client(world["coach"])
    body = {"kind": COUNTING, "params": {}}

    answers = [client.post(URL, body, format="json").status_code for _ in range(3)]
    refused = client.post(URL, body, format="json")

    assert answers == [202, 202, 429]
    assert "Retry-After" in refused
    assert client.get(URL).status_code == 200
    assert _client(world["other_coach"]).post(URL, body, format="json").status_code == 202


def test_compare_refuses_runs_of_two_kinds(
    world: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    counting_kind: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(KINDS, "backtest", dataclasses.replace(counting_kind, name="backtest"))
    a = _run(world["admin"], django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        b = _client(world["admin"]).post(URL, {"kind": "backtest"}, format="json").json()

    response = _client(world["admin"]).get(f"{URL}compare/", {"a": a["id"], "b": b["id"]})

    assert b["kind"] == "backtest"
    assert response.status_code == 400
    assert response.json() == {"b": ["Compare two runs of the same kind."]}


def test_a_run_reads_in_the_same_queries_whatever_its_rows(
    world: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    django_assert_num_queries: Any,
) -> None:
    client = _client(world["coach"])
    few = _run(world["coach"], django_capture_on_commit_callbacks)
    LearnerFactory.create_batch(6, cohort=world["mine"])
    many = _run(world["coach"], django_capture_on_commit_callbacks)
    # the run with its job; the rows' learners in scope; their labels
    for run, rows in ((few, 2), (many, 8)):
        with django_assert_num_queries(3):
            body = client.get(f"{URL}{run['id']}/").json()
        assert len(body["results"]["rows"]) == rows
