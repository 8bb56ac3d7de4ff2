"""The activation gate: a version that did not beat the best naive baseline on its test set is
refused by every door (service, command, API, admin) unless forced, and a forced activation is
audited with the figures it overrode. The shipped rules (no stored evaluation) stay a rollback."""

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from engagement.errors import Conflict
from engagement.models import AuditEvent, Job
from learners.models import RiskModel
from learners.risk.baselines import beats
from learners.risk.model import RULES_PARAMETERS
from learners.risk.services import risk_model_activate
from learners.selectors import risk_model_active
from tests.factories import CohortAssignmentFactory, CohortFactory, UserFactory

pytestmark = pytest.mark.django_db


def evaluated(model_auc: float, baseline_auc: float) -> dict[str, Any]:
    """Stored metrics of a version measured against a baseline (the shape training stores)."""
    best = {"name": "fewest_events", "roc_auc": baseline_auc}
    return {
        "test": {"roc_auc": model_auc},
        "baselines": {
            "fewest_events": {
                "feature": "events_log",
                "description": "fewest events since enrolment",
                "roc_auc": baseline_auc,
                "pr_auc": 0.7,
            }
        },
        "best_baseline": best,
        "beats_best_baseline": beats(model_auc, best),
    }


def stored(version: int, model_auc: float, baseline_auc: float) -> RiskModel:
    return RiskModel.objects.create(
        version=version,
        kind="rules",
        parameters=RULES_PARAMETERS,
        metrics=evaluated(model_auc, baseline_auc),
    )


def activations() -> list[dict[str, Any]]:
    return list(
        AuditEvent.objects.filter(action="risk_model.activate")
        .order_by("occurred_at", "id")
        .values_list("changes", flat=True)
    )


def test_a_version_the_baseline_beats_is_refused_with_both_figures() -> None:
    model = stored(2, 0.76, 0.81)

    with pytest.raises(Conflict) as refused:
        risk_model_activate(model=model, actor=None)

    detail = refused.value.detail
    assert (detail["version"], detail["roc_auc"]) == (2, 0.76)
    assert (detail["best_baseline"], detail["best_baseline_roc_auc"]) == ("fewest_events", 0.81)
    assert "0.760" in refused.value.message and "0.810" in refused.value.message
    assert "fewest_events" in refused.value.message
    assert risk_model_active().version == 1
    assert activations() == []


def test_an_equal_figure_does_not_beat_the_baseline() -> None:
    with pytest.raises(Conflict):
        risk_model_activate(model=stored(2, 0.8, 0.8), actor=None)


def test_forced_activation_records_the_overridden_figures_and_v1_stays_a_rollback() -> None:
    admin = UserFactory(role="admin")
    model = stored(2, 0.76, 0.81)

    risk_model_activate(model=model, actor=admin, force=True)
    assert risk_model_active().version == 2
    risk_model_activate(model=RiskModel.objects.get(version=1), actor=admin)  # never gated

    assert risk_model_active().version == 1
    assert activations() == [
        {
            "version": 2,
            "previous": 1,
            "forced": True,
            "overridden": {
                "roc_auc": 0.76,
                "best_baseline": "fewest_events",
                "best_baseline_roc_auc": 0.81,
            },
        },
        {"version": 1, "previous": 2, "forced": False},
    ]


def test_a_version_that_beats_the_baseline_activates_without_force() -> None:
    risk_model_activate(model=stored(2, 0.84, 0.81), actor=None)
    assert risk_model_active().version == 2
    assert activations() == [{"version": 2, "previous": 1, "forced": False}]


def test_both_refusals_are_reported_together() -> None:
    model = stored(2, 0.7, 0.81)
    model.metrics["active_on_same_test"] = {"version": 1, "kind": "rules", "roc_auc": 0.75}
    model.save()
    with pytest.raises(Conflict) as refused:
        risk_model_activate(model=model, actor=None)
    detail = refused.value.detail
    assert (detail["active_version"], detail["active_roc_auc"]) == (1, 0.75)
    assert detail["best_baseline_roc_auc"] == 0.81
    assert "0.750" in refused.value.message and "0.810" in refused.value.message


# The command -------------------------------------------------------------------------------------


def test_command_refuses_with_the_message_and_force_activates() -> None:
    stored(2, 0.76, 0.81)
    with pytest.raises(CommandError, match=r"0\.760.*0\.810"):
        call_command("activate_risk_model", "2")
    assert risk_model_active().version == 1

    call_command("activate_risk_model", "2", "--force")
    assert risk_model_active().version == 2
    assert activations()[0]["overridden"]["best_baseline_roc_auc"] == 0.81
    call_command("activate_risk_model", "1")  # rollback to the shipped rules
    assert risk_model_active().version == 1


def test_an_unmeasurable_version_is_refused_in_words_not_none(admin_client: Client) -> None:
    """One outcome in the test cohorts: no ROC AUC, which every door says plainly."""
    RiskModel.objects.create(
        version=2,
        kind="rules",
        parameters=RULES_PARAMETERS,
        metrics={
            "test": {"roc_auc": None},
            "active_on_same_test": {"version": 1, "kind": "rules", "roc_auc": None},
            "best_baseline": None,
            "beats_best_baseline": None,
        },
    )
    expected = "could not be measured: the test cohorts hold one outcome only"

    with pytest.raises(CommandError) as refused:
        call_command("activate_risk_model", "2")
    response = client_for("admin").post("/api/v1/risk/models/2/activate/", {}, format="json")

    line = str(refused.value)
    assert expected in line and "active v1" in line
    assert "None" not in line and "n/a" not in line
    assert response.status_code == 409
    assert expected in response.json()["detail"] and "None" not in response.json()["detail"]
    assert (response.json()["roc_auc"], response.json()["active_roc_auc"]) == (None, None)
    in_admin = admin_client.post(
        "/admin/learners/riskmodel/",
        {"action": "activate", "_selected_action": [str(RiskModel.objects.get(version=2).pk)]},
    )
    shown = [str(message) for message in get_messages(in_admin.wsgi_request)]
    assert any(expected in message and "None" not in message for message in shown)
    assert risk_model_active().version == 1


# The API -----------------------------------------------------------------------------------------


def client_for(role: str | None) -> APIClient:
    client = APIClient()
    if role is not None:
        client.force_authenticate(UserFactory(role=role))
    return client


def test_api_answers_409_with_both_figures_and_force_activates() -> None:
    stored(2, 0.76, 0.81)
    admin = client_for("admin")

    refused = admin.post("/api/v1/risk/models/2/activate/", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["roc_auc"] == 0.76
    assert refused.json()["best_baseline_roc_auc"] == 0.81
    assert "0.810" in refused.json()["detail"]
    assert risk_model_active().version == 1

    forced = admin.post("/api/v1/risk/models/2/activate/", {"force": True}, format="json")
    assert forced.status_code == 200, forced.json()
    assert forced.json()["is_active"] is True
    assert activations()[0]["forced"] is True
    assert activations()[0]["overridden"]["roc_auc"] == 0.76


@pytest.mark.parametrize(
    ("role", "body", "status"),
    [
        (None, {"force": True}, 401),
        ("coach", {"force": True}, 403),
        ("analyst", {"force": True}, 403),
        ("admin", {"force": "perhaps"}, 400),
        ("admin", {"force": "on"}, 400),
        ("admin", {"force": "true"}, 400),
        ("admin", {"force": 1}, 400),
        ("admin", ["force"], 400),
    ],
)
def test_api_activation_refuses_strangers_other_roles_and_bad_input(
    role: str | None, body: Any, status: int
) -> None:
    stored(2, 0.76, 0.81)
    response = client_for(role).post("/api/v1/risk/models/2/activate/", body, format="json")
    assert response.status_code == status
    assert risk_model_active().version == 1
    assert client_for("admin").post("/api/v1/risk/models/9/activate/", {}).status_code == 404


def test_api_force_must_be_a_json_boolean() -> None:
    stored(2, 0.76, 0.81)
    response = client_for("admin").post(
        "/api/v1/risk/models/2/activate/", {"force": "yes"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["force"] == ["Must be a JSON boolean (true or false)."]
    assert not activations()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"force": True}, "force", "Only applies together with activate."),
        ({"activate": False, "force": True}, "force", "Only applies together with activate."),
        ({"activate": "yes"}, "activate", "Must be a JSON boolean (true or false)."),
        ({"activate": True, "force": "on"}, "force", "Must be a JSON boolean (true or false)."),
    ],
)
def test_api_training_refuses_a_malformed_or_idle_force(
    body: dict[str, Any], field: str, message: str
) -> None:
    response = client_for("admin").post("/api/v1/risk/models/train/", body, format="json")
    assert response.status_code == 400
    assert response.json()[field] == [message]
    assert not Job.objects.filter(kind="learners.train_risk_model").exists()


@pytest.mark.parametrize("role", ["admin", "analyst", "coach"])
def test_api_lists_and_details_show_the_baselines_beside_the_model(role: str) -> None:
    stored(2, 0.76, 0.81)
    client = client_for(role)
    listed = {row["version"]: row for row in client.get("/api/v1/risk/models/").data["results"]}
    detail = client.get("/api/v1/risk/models/2/").data
    assert listed[2]["metrics"] == detail["metrics"]
    assert detail["metrics"]["best_baseline"] == {"name": "fewest_events", "roc_auc": 0.81}
    assert detail["metrics"]["beats_best_baseline"] is False
    assert detail["metrics"]["baselines"]["fewest_events"]["roc_auc"] == 0.81
    assert client_for(None).get("/api/v1/risk/models/2/").status_code == 401


def test_a_coach_sees_the_baselines_without_other_cohorts() -> None:
    mine, theirs = CohortFactory(), CohortFactory()
    metrics = evaluated(0.76, 0.81) | {"test_cohorts": [str(mine.pk), str(theirs.pk)]}
    RiskModel.objects.create(version=2, kind="rules", parameters=RULES_PARAMETERS, metrics=metrics)
    coach = UserFactory(role="coach")
    CohortAssignmentFactory(user=coach, cohort=mine)
    client = APIClient()
    client.force_authenticate(coach)
    seen = client.get("/api/v1/risk/models/2/").data["metrics"]
    assert seen["test_cohorts"] == [str(mine.pk)]
    assert seen["baselines"] == metrics["baselines"]
    assert str(theirs.pk) not in str(seen)


# The admin ---------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_refuses_with_the_message_and_the_forced_action_activates(
    admin_client: Client,
) -> None:
    model = stored(2, 0.76, 0.81)
    changelist = "/admin/learners/riskmodel/"

    refused = admin_client.post(
        changelist, {"action": "activate", "_selected_action": [str(model.pk)]}
    )
    assert any("0.810" in str(message) for message in get_messages(refused.wsgi_request))
    assert risk_model_active().version == 1

    admin_client.post(changelist, {"action": "activate_forced", "_selected_action": [model.pk]})
    assert risk_model_active().version == 2
    assert activations()[0]["overridden"]["best_baseline"] == "fewest_events"


def test_admin_page_shows_the_comparison_read_only(admin_client: Client) -> None:
    model = stored(2, 0.76, 0.81)
    page = admin_client.get(f"/admin/learners/riskmodel/{model.pk}/change/").content.decode()
    assert "Model vs baselines" in page
    assert "fewest events since enrolment" in page
    assert "v2 (this version)" in page
    assert 'name="comparison"' not in page  # shown, not editable
    rules_pk = RiskModel.objects.get(version=1).pk
    rules = admin_client.get(f"/admin/learners/riskmodel/{rules_pk}/change/")
    assert "No evaluation with baselines" in rules.content.decode()
