"""Role and scope rules on the learners API: coaches see their cohorts only, analysts no names."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from learners.risk.feedback import risk_feedback_create
from learners.risk.services import learners_rescore
from learners.scoping import cohort_is_visible
from learners.selectors import learner_queryset
from tests.factories import (
    ActivityEventFactory,
    CohortAssignmentFactory,
    CohortFactory,
    LearnerFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict[str, Any]:
    mine, theirs = CohortFactory(name="Mine"), CohortFactory(name="Theirs")
    coach = UserFactory(username="coach-a", role="coach")
    CohortAssignmentFactory(user=coach, cohort=mine)
    return {
        "coach": coach,
        "analyst": UserFactory(username="analyst-a", role="analyst"),
        "mine": mine,
        "theirs": theirs,
        "my_learner": LearnerFactory(cohort=mine, name="Ada Mine"),
        "their_learner": LearnerFactory(cohort=theirs, name="Bob Theirs"),
    }


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_coach_lists_only_their_cohorts_and_learners(world: dict[str, Any]) -> None:
    coach = client_for(world["coach"])
    assert [row["name"] for row in coach.get("/api/v1/cohorts/").data["results"]] == ["Mine"]
    assert [row["name"] for row in coach.get("/api/v1/learners/").data["results"]] == ["Ada Mine"]


@pytest.mark.parametrize("suffix", ["", "events/"])
def test_coach_gets_404_outside_their_cohorts(world: dict[str, Any], suffix: str) -> None:
    coach = client_for(world["coach"])
    assert coach.get(f"/api/v1/learners/{world['my_learner'].id}/{suffix}").status_code == 200
    assert coach.get(f"/api/v1/learners/{world['their_learner'].id}/{suffix}").status_code == 404
    assert coach.get(f"/api/v1/cohorts/{world['theirs'].id}/").status_code == 404


def test_coach_cannot_read_a_cached_detail_outside_scope(
    world: dict[str, Any], auth_client: APIClient
) -> None:
    assert auth_client.get(f"/api/v1/learners/{world['their_learner'].id}/").status_code == 200
    coach = client_for(world["coach"])
    assert coach.get(f"/api/v1/learners/{world['their_learner'].id}/").status_code == 404


def test_coach_cannot_modify_or_move_learners_outside_scope(world: dict[str, Any]) -> None:
    coach = client_for(world["coach"])
    theirs = world["their_learner"]
    assert (
        coach.patch(f"/api/v1/learners/{theirs.id}/", {"name": "x"}, format="json").status_code
        == 404
    )
    moved = coach.patch(
        f"/api/v1/learners/{world['my_learner'].id}/",
        {"cohort": str(world["theirs"].id)},
        format="json",
    )
    assert moved.status_code == 400
    assert "cohort" in moved.data
    body = {
        "cohort": str(world["theirs"].id),
        "source": "lms",
        "external_id": "new",
        "enrolled_at": "2026-09-01T00:00:00Z",
    }
    assert coach.post("/api/v1/learners/", body, format="json").status_code == 400
    body["cohort"] = str(world["mine"].id)
    assert coach.post("/api/v1/learners/", body, format="json").status_code == 201


def test_hard_deletion_of_a_learner_is_for_admins_only(
    world: dict[str, Any], auth_client: APIClient
) -> None:
    coach = client_for(world["coach"])
    for learner in (world["my_learner"], world["their_learner"]):
        refused = coach.delete(f"/api/v1/learners/{learner.id}/")
        assert refused.status_code == 403, refused.data
    mine = world["my_learner"]
    assert coach.get(f"/api/v1/learners/{mine.id}/").status_code == 200
    assert auth_client.delete(f"/api/v1/learners/{mine.id}/").status_code == 204


def test_coach_cannot_manage_cohorts_users_keys_or_audit(world: dict[str, Any]) -> None:
    coach = client_for(world["coach"])
    assert (
        coach.post(
            "/api/v1/cohorts/", {"name": "X", "starts_on": "2026-01-01"}, format="json"
        ).status_code
        == 403
    )
    assert coach.get("/api/v1/users/").status_code == 403
    assert coach.get("/api/v1/api-keys/").status_code == 403
    assert coach.get("/api/v1/audit-events/").status_code == 403


def test_analyst_sees_pseudonymised_rows_only(world: dict[str, Any]) -> None:
    ActivityEventFactory(learner=world["my_learner"], metadata={"note": "contains a name"})
    analyst = client_for(world["analyst"])
    rows = analyst.get("/api/v1/learners/").data["results"]
    assert len(rows) == 2
    assert all(not {"name", "email", "external_id", "source"} & set(row) for row in rows)
    detail = analyst.get(f"/api/v1/learners/{world['my_learner'].id}/").data
    assert "name" not in detail and "email" not in detail
    events = analyst.get(f"/api/v1/learners/{world['my_learner'].id}/events/").data["results"]
    assert not {"metadata", "source", "source_event_id"} & set(events[0])
    assert {"kind", "occurred_at", "duration_seconds", "score"} <= set(events[0])
    refused = analyst.get("/api/v1/learners/", {"search": "Ada", "email": "x@example.org"})
    assert refused.status_code == 400
    assert set(refused.data) == {"search", "email"}


def test_analyst_risk_view_keeps_the_feedback_mark_but_not_the_coach_note(
    world: dict[str, Any], rules_model: Any
) -> None:
    learner = world["my_learner"]
    learners_rescore(learner_ids=[learner.pk])
    risk_feedback_create(
        actor=world["coach"], learner=learner, kind="not_applicable", note="in hospital, Ward 4"
    )
    url = f"/api/v1/learners/{learner.id}/risk/"
    seen = client_for(world["analyst"]).get(url).data["feedback"]
    assert seen["kind"] == "not_applicable" and "created_at" in seen
    assert "note" not in seen
    assert client_for(world["coach"]).get(url).data["feedback"]["note"] == "in hospital, Ward 4"


def test_analyst_cannot_write(world: dict[str, Any]) -> None:
    analyst = client_for(world["analyst"])
    learner = world["my_learner"]
    assert (
        analyst.patch(
            f"/api/v1/learners/{learner.id}/", {"status": "paused"}, format="json"
        ).status_code
        == 403
    )
    assert analyst.post("/api/v1/events/", [], format="json").status_code == 403


def test_user_without_role_rules_sees_nothing(world: dict[str, Any]) -> None:
    nobody = client_for(UserFactory(role="coach"))
    assert nobody.get("/api/v1/learners/").data["count"] == 0
    assert nobody.get(f"/api/v1/learners/{world['my_learner'].id}/").status_code == 404


def test_coach_scoping_is_one_query_with_the_assignments_as_a_subquery(
    world: dict[str, Any],
) -> None:
    with CaptureQueriesContext(connection) as queries:
        rows = list(learner_queryset(actor=world["coach"]))
        visible = cohort_is_visible(actor=world["coach"], cohort_id=world["theirs"].pk)
    assert [row.name for row in rows] == ["Ada Mine"] and not visible
    assert len(queries) == 2
    listing = queries[0]["sql"]
    assert listing.count("SELECT") == 2 and "learners_cohortassignment" in listing
