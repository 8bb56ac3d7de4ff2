"""``/api/v1/experiments/``: create, list, detail, results and promote; roles and scope."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from engagement.models import AuditEvent, Role
from nudges.campaigns import campaign_create
from nudges.experiment_stats import two_proportion_test
from nudges.models import Experiment, ExperimentAssignment, PromptTemplate
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory
from tests.nudges.experiments_factories import experiment, exposed

pytestmark = pytest.mark.django_db

URL = "/api/v1/experiments/"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def prompt(version: int, *, active: bool = False) -> PromptTemplate:
    return PromptTemplate.objects.create(
        key="checkin",
        version=version,
        locale="en",
        system_text="You write short, kind messages.",
        user_text="Write to {first_name}.",
        is_active=active,
    )


def client_for(role: str) -> tuple[APIClient, Any]:
    user = UserFactory(role=role)
    client = APIClient()
    client.force_authenticate(user)
    return client, user


def test_an_admin_creates_an_experiment_audited() -> None:
    client, admin = client_for(Role.ADMIN)
    version = prompt(2)
    body = {
        "name": "Warm or brisk",
        "holdout_share": 0.25,
        "variants": [
            {"name": "warm", "weight": 2, "prompt": str(version.pk)},
            {"name": "template", "weight": 1, "prompt": None},
        ],
    }
    response = client.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["name"] == "Warm or brisk"
    assert data["status"] == "running"
    assert data["holdout_share"] == 0.25
    assert data["attribution_days"] == 7
    assert data["winner"] is None
    assert [(v["name"], v["weight"], v["prompt_version"]) for v in data["variants"]] == [
        ("template", 1, None),
        ("warm", 2, 2),
    ]
    event = AuditEvent.objects.get(action="nudges.experiment_create")
    assert (event.actor_id, event.target_id) == (str(admin.pk), data["id"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"variants": []}, "variants"),
        ({"variants": [{"name": "a", "weight": 0}]}, "variants"),
        ({"variants": [{"name": "a"}, {"name": "a"}]}, "variants"),
        ({"variants": [{"name": "a", "prompt": str(uuid.uuid4())}]}, "variants"),
        ({"variants": "a"}, "variants"),
        ({"holdout_share": 1}, "holdout_share"),
        ({"holdout_share": "lots"}, "holdout_share"),
        ({"attribution_days": 0}, "attribution_days"),
        ({"name": ""}, "name"),
        ({"name": 12345}, "name"),
        ({"variants": [{"name": 1.5e300}]}, "variants"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(changes: dict[str, Any], field: str) -> None:
    client, _ = client_for(Role.ADMIN)
    body = {"name": "Trial", "variants": [{"name": "a"}], **changes}
    response = client.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Experiment.objects.exists()


def test_roles(api_client: APIClient) -> None:
    trial = experiment()
    assert api_client.get(URL).status_code == 401
    for role in (Role.COACH, Role.ANALYST):
        client, _ = client_for(role)
        assert client.get(URL).status_code == 200
        assert client.get(f"{URL}{trial.pk}/").status_code == 200
        assert client.get(f"{URL}{trial.pk}/results/").status_code == 200
        body = {"name": "x", "variants": [{"name": "a"}]}
        assert client.post(URL, body, format="json").status_code == 403
        promote = client.post(f"{URL}{trial.pk}/promote/", {"variant": "A"}, format="json")
        assert promote.status_code == 403


def test_unknown_ids_are_404() -> None:
    client, _ = client_for(Role.ADMIN)
    assert client.get(f"{URL}{uuid.uuid4()}/").status_code == 404
    assert client.get(f"{URL}not-an-id/results/").status_code == 404


def test_the_list_is_paginated_in_constant_queries(django_assert_max_num_queries: Any) -> None:
    client, _ = client_for(Role.ANALYST)
    for n in range(6):
        experiment(name=f"Trial {n}", prompts={"A": prompt(n + 1).pk})
    with django_assert_max_num_queries(6):
        response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["count"] == 6
    assert len(response.json()["results"]) == 6


def test_results_per_arm_against_the_holdout() -> None:
    client, _ = client_for(Role.ANALYST)
    trial = experiment(holdout_share=0.5)
    exposed(trial, LearnerFactory.create_batch(20), None, 4, at=NOW)
    exposed(trial, LearnerFactory.create_batch(20), "A", 10, at=NOW)
    exposed(trial, LearnerFactory.create_batch(10), "B", 2, at=NOW)
    unexposed = LearnerFactory()
    ExperimentAssignment.objects.create(
        experiment=trial, learner=unexposed, variant=trial.variants.get(name="B"), assigned_at=NOW
    )

    response = client.get(f"{URL}{trial.pk}/results/")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "running"
    arms = {arm["arm"]: arm for arm in data["arms"]}
    assert [arm["arm"] for arm in data["arms"]] == ["holdout", "A", "B"]
    assert (arms["holdout"]["n"], arms["holdout"]["re_engaged"], arms["holdout"]["rate"]) == (
        20,
        4,
        0.2,
    )
    assert arms["holdout"]["difference"] is None
    assert (arms["A"]["n"], arms["A"]["re_engaged"], arms["A"]["rate"]) == (20, 10, 0.5)
    assert (arms["B"]["assigned"], arms["B"]["n"], arms["B"]["re_engaged"]) == (11, 10, 2)
    expected = two_proportion_test(10, 20, 4, 20)
    assert arms["A"]["difference"] == pytest.approx(0.3)
    assert arms["A"]["p_value"] == pytest.approx(expected.p_value)
    assert arms["A"]["ci_low"] == pytest.approx(expected.ci_low)
    assert arms["A"]["ci_high"] == pytest.approx(expected.ci_high)


def test_results_take_constant_queries(django_assert_max_num_queries: Any) -> None:
    trial = experiment(holdout_share=0.5)
    exposed(trial, LearnerFactory.create_batch(30), "A", 10, at=NOW)
    client, _ = client_for(Role.ANALYST)
    with django_assert_max_num_queries(4):
        assert client.get(f"{URL}{trial.pk}/results/").status_code == 200


def test_a_coach_counts_only_learners_of_their_cohorts() -> None:
    cohort = CohortFactory()
    client, coach = client_for(Role.COACH)
    CohortAssignmentFactory(user=coach, cohort=cohort)
    trial = experiment(holdout_share=0.5)
    exposed(trial, LearnerFactory.create_batch(3, cohort=cohort), "A", 1, at=NOW)
    exposed(trial, LearnerFactory.create_batch(5), "A", 5, at=NOW)
    arms = {arm["arm"]: arm for arm in client.get(f"{URL}{trial.pk}/results/").json()["arms"]}
    assert (arms["A"]["n"], arms["A"]["re_engaged"]) == (3, 1)
    admin, _ = client_for(Role.ADMIN)
    arms = {arm["arm"]: arm for arm in admin.get(f"{URL}{trial.pk}/results/").json()["arms"]}
    assert (arms["A"]["n"], arms["A"]["re_engaged"]) == (8, 6)


def test_a_coach_sees_no_experiment_only_other_cohorts_run_and_cannot_join_it() -> None:
    mine, theirs = CohortFactory(), CohortFactory()
    client, coach = client_for(Role.COACH)
    CohortAssignmentFactory(user=coach, cohort=mine)
    admin = UserFactory(role=Role.ADMIN)
    elsewhere, shared, fresh = experiment(), experiment(), experiment()
    for trial, cohort in ((elsewhere, theirs), (shared, theirs), (shared, mine)):
        campaign_create(
            actor=admin, name="Run", channel="email", cohort_ids=[cohort.pk], experiment=trial
        )

    listed = {row["id"] for row in client.get(URL).json()["results"]}
    assert listed == {str(shared.pk), str(fresh.pk)}  # unused yet: free to run
    assert client.get(f"{URL}{elsewhere.pk}/").status_code == 404
    assert client.get(f"{URL}{elsewhere.pk}/results/").status_code == 404
    refused = client.post(
        "/api/v1/campaigns/",
        {
            "name": "Mine",
            "cohorts": [str(mine.pk)],
            "channel": "email",
            "experiment": str(elsewhere.pk),
        },
        format="json",
    )
    assert refused.status_code == 400
    assert "experiment" in refused.json()


def test_promote_activates_the_winner_prompt_and_stops_the_experiment() -> None:
    client, admin = client_for(Role.ADMIN)
    current, challenger = prompt(1, active=True), prompt(2)
    trial = experiment(prompts={"A": current.pk, "B": challenger.pk})
    response = client.post(f"{URL}{trial.pk}/promote/", {"variant": "B"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["winner"] == "B"
    assert response.json()["status"] == "stopped"
    current.refresh_from_db()
    challenger.refresh_from_db()
    assert (current.is_active, challenger.is_active) == (False, True)
    event = AuditEvent.objects.get(action="nudges.experiment_promote")
    assert event.actor_id == str(admin.pk)
    assert event.changes == {"variant": "B", "prompt": str(challenger.pk)}


def test_promoting_the_template_activates_no_prompt() -> None:
    client, _ = client_for(Role.ADMIN)
    current = prompt(1, active=True)
    trial = experiment(prompts={"A": current.pk})
    response = client.post(f"{URL}{trial.pk}/promote/", {"variant": "B"}, format="json")
    assert response.status_code == 200
    current.refresh_from_db()
    assert current.is_active
    assert Experiment.objects.get(pk=trial.pk).winner == trial.variants.get(name="B")


def test_a_stopped_experiment_is_not_promoted_again_and_holdout_names_no_variant() -> None:
    client, _ = client_for(Role.ADMIN)
    trial = experiment()
    winner = trial.variants.order_by("name").first()
    assert client.post(f"{URL}{trial.pk}/promote/", {"variant": winner.name}).status_code == 200
    again = client.post(f"{URL}{trial.pk}/promote/", {"variant": winner.name})
    assert again.status_code == 409
    assert "status" in again.json()
    refused = client.post(
        URL,
        {"name": "Named arm", "variants": [{"name": "Holdout", "weight": 1}]},
        format="json",
    )
    assert refused.status_code == 400
    assert "holdout" in str(refused.json()["variants"])


def test_promoting_an_unknown_variant_is_a_400() -> None:
    client, _ = client_for(Role.ADMIN)
    trial = experiment()
    response = client.post(f"{URL}{trial.pk}/promote/", {"variant": "Z"}, format="json")
    assert response.status_code == 400
    assert "variant" in response.json()
    assert client.post(f"{URL}{trial.pk}/promote/", {}, format="json").status_code == 400
    assert Experiment.objects.get(pk=trial.pk).status == "running"
