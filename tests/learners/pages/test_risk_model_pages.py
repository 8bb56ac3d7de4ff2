"""The risk model pages: who may open them, what they show, and the admins' actions."""

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from engagement.models import AuditEvent, Job
from learners.models import RiskModel
from learners.risk.explanations import FACTOR_LABELS
from learners.risk.features import FEATURE_NAMES
from learners.risk.model import RULES_PARAMETERS
from learners.risk.reports import model_factor_weights
from tests.factories import LearnerFactory, UserFactory
from tests.learners.pages.risk_model_data import beaten_by_baseline, trained_logistic

pytestmark = pytest.mark.django_db

LIST = "/dashboard/risk-models/"


@pytest.fixture(autouse=True)
def shipped_rules(rules_model: RiskModel) -> RiskModel:
    return rules_model


def signed_in(role: str) -> Client:
    client = Client()
    client.force_login(UserFactory(role=role))
    return client


def detail(version: int) -> str:
    return f"/dashboard/risk-models/{version}/"


# Access ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [LIST, detail(1)])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("path", [LIST, detail(1)])
def test_coaches_get_403(path: str) -> None:
    assert signed_in("coach").get(path).status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/dashboard/risk-models/1/activate/"),
        ("post", "/dashboard/risk-models/train/"),
        ("post", "/dashboard/risk-models/rescore/"),
    ],
)
def test_analysts_and_coaches_may_not_act(method: str, path: str) -> None:
    for role in ("analyst", "coach"):
        assert getattr(signed_in(role), method)(path, {"kind": "auto"}).status_code == 403
    assert getattr(Client(), method)(path)["Location"] == f"/accounts/login/?next={path}"
    assert Job.objects.count() == 0


def test_an_unknown_version_is_404() -> None:
    admin = signed_in("admin")
    assert admin.get(detail(99)).status_code == 404
    assert admin.post("/dashboard/risk-models/99/activate/").status_code == 404


def test_navigation_links_risk_models_for_admins_and_analysts_only() -> None:
    assert (
        'href="/dashboard/risk-models/"' in signed_in("analyst").get("/dashboard/").content.decode()
    )
    assert (
        'href="/dashboard/risk-models/"'
        not in signed_in("coach").get("/dashboard/").content.decode()
    )


# The list --------------------------------------------------------------------------------------


def test_the_list_shows_every_version_newest_first_against_the_best_baseline() -> None:
    trained = trained_logistic(2)
    beaten_by_baseline(3)

    response = signed_in("analyst").get(LIST)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.index(">v3<") < page.index(">v2<") < page.index(">v1<")
    assert f"{trained.metrics['test']['roc_auc']:.3f}" in page
    assert f"{trained.metrics['test']['brier']:.3f}" in page
    assert "not evaluated" in page  # the shipped rules
    assert "fewest events since enrolment: 0.990" in page
    assert "Train a new version" not in page  # analysts read only


def test_the_list_takes_the_same_queries_however_many_versions() -> None:
    admin = signed_in("admin")
    trained_logistic(2)
    admin.get(LIST)  # session and user cached alike for both counts
    with CaptureQueriesContext(connection) as few:
        assert admin.get(LIST).status_code == 200
    for version in range(3, 8):
        trained_logistic(version)
    with CaptureQueriesContext(connection) as many:
        assert admin.get(LIST).status_code == 200
    assert len(many) == len(few)
    assert sum("learners_riskmodel" in query["sql"] for query in many.captured_queries) == 1


# The detail ------------------------------------------------------------------------------------


def test_the_detail_compares_with_each_baseline_and_shows_calibration_and_parameters() -> None:
    model = trained_logistic(2)

    page = signed_in("analyst").get(detail(2)).content.decode()

    for figures in model.metrics["baselines"].values():
        assert f"Baseline: {figures['description']}" in page
        assert f"{figures['roc_auc']:.3f}" in page
    assert "v1 rules (active when this one was trained)" in page
    assert "Beats the best baseline" in page
    assert page.count('badge low">best') == 2  # ROC AUC and PR AUC winners
    assert "Calibration" in page and "Observed withdrawal rate" in page
    assert 'class="chart" role="img"' in page and "Perfectly calibrated" in page  # the diagonal
    assert str(FACTOR_LABELS["days_inactive"]) in page
    assert "log-odds per standard deviation" in page
    assert "Logistic regression (trained), features as of day 28." in page
    assert "Activate v2" not in page  # analysts see no action


def test_the_detail_takes_the_same_queries_however_many_learners() -> None:
    admin = signed_in("admin")
    LearnerFactory(risk_score=0.9, risk_band="high")
    admin.get(detail(1))
    cache.clear()  # the live distribution is read again, not served from the cache
    with CaptureQueriesContext(connection) as few:
        assert admin.get(detail(1)).status_code == 200
    LearnerFactory.create_batch(5, risk_score=0.2, risk_band="low")
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        assert admin.get(detail(1)).status_code == 200
    assert len(many) == len(few)


def test_a_version_never_evaluated_says_so() -> None:
    page = signed_in("admin").get(detail(1)).content.decode()
    assert "Not evaluated." in page
    assert "evaluate_risk_model 1" in page
    assert str(FACTOR_LABELS["events_vs_peers"]) in page  # the rules' weights in words


def test_the_active_version_shows_the_live_distribution() -> None:
    LearnerFactory(risk_score=0.9, risk_band="high")
    page = signed_in("admin").get(detail(1)).content.decode()
    assert "Live risk of learners studying" in page
    assert "Learners studying per current risk band" in page  # the chart's title
    assert (
        "Live risk"
        not in signed_in("admin").get(detail(trained_logistic(2).version)).content.decode()
    )


def test_every_feature_has_a_label_and_the_rules_read_in_their_own_terms() -> None:
    assert set(FACTOR_LABELS) == set(FEATURE_NAMES)
    weights = model_factor_weights("rules", RULES_PARAMETERS)
    assert weights[0].factor == "progress_gap"  # weight 2.5, the largest
    directions = {factor.factor: factor.direction for factor in weights}
    assert directions["days_inactive"] == "up" and directions["events_vs_peers"] == "down"


def test_boosted_steps_read_as_their_swing_and_direction() -> None:
    parameters = {
        "intercept": 0.0,
        "steps": {
            "days_inactive": {"edges": [1.0, 5.0], "contributions": [-0.5, 0.1, 0.7]},
            "time_trend": {"edges": [0.0], "contributions": [0.2, -0.1]},
            "social": {"edges": [], "contributions": [0.0]},
        },
    }
    weights = model_factor_weights("boosted", parameters)
    assert [(f.factor, round(f.weight, 3), f.direction) for f in weights] == [
        ("days_inactive", 1.2, "up"),
        ("time_trend", 0.3, "down"),
    ]


# Activation ------------------------------------------------------------------------------------


def activate(client: Client, version: int, **data: str) -> Any:
    return client.post(f"/dashboard/risk-models/{version}/activate/", data)


def test_activating_a_version_that_passes_the_policy() -> None:
    trained_logistic(2)
    admin = signed_in("admin")

    response = activate(admin, 2)

    assert response.status_code == 302 and response["Location"] == detail(2)
    assert RiskModel.objects.get(is_active=True).version == 2
    assert "Risk model v2 is active." in admin.get(detail(2)).content.decode()
    event = AuditEvent.objects.get(action="risk_model.activate")
    assert event.changes["forced"] is False


def test_a_refusal_shows_its_figures_and_offers_to_force() -> None:
    beaten_by_baseline(2)

    response = activate(signed_in("admin"), 2)

    page = response.content.decode()
    assert response.status_code == 409
    assert "Activation refused." in page and "fewest_events" in page and "0.990" in page
    assert "Activate anyway" in page and 'name="confirm"' in page
    assert RiskModel.objects.get(is_active=True).version == 1


def test_forcing_without_the_confirmation_is_400_and_changes_nothing() -> None:
    beaten_by_baseline(2)

    response = activate(signed_in("admin"), 2, force="true")

    assert response.status_code == 400
    assert "Tick the confirmation box" in response.content.decode()
    assert RiskModel.objects.get(is_active=True).version == 1
    assert not AuditEvent.objects.filter(action="risk_model.activate").exists()


def test_forcing_with_the_confirmation_activates_and_audits_the_overridden_figures() -> None:
    beaten_by_baseline(2)

    response = activate(signed_in("admin"), 2, force="true", confirm="true")

    assert response.status_code == 302
    assert RiskModel.objects.get(is_active=True).version == 2
    changes = AuditEvent.objects.get(action="risk_model.activate").changes
    assert changes["forced"] is True
    assert changes["overridden"]["best_baseline_roc_auc"] == 0.99


def test_actions_need_the_csrf_token() -> None:
    trained_logistic(2)
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(role="admin"))
    assert activate(client, 2).status_code == 403
    assert RiskModel.objects.get(is_active=True).version == 1


def test_the_pages_answer_get_only_and_the_actions_post_only() -> None:
    admin = signed_in("admin")
    assert admin.get("/dashboard/risk-models/1/activate/").status_code == 405
    assert admin.post(LIST).status_code == 405


# Jobs ------------------------------------------------------------------------------------------


def test_training_is_asked_for_as_a_job_and_followed_on_its_page() -> None:
    response = signed_in("admin").post("/dashboard/risk-models/train/", {"kind": "boosted"})

    job = Job.objects.get()
    assert job.kind == "learners.train_risk_model" and job.params["kind"] == "boosted"
    assert response.status_code == 302 and response["Location"] == f"/dashboard/jobs/{job.pk}/"


def test_an_unknown_kind_is_400_with_the_reason() -> None:
    response = signed_in("admin").post("/dashboard/risk-models/train/", {"kind": "neural"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert Job.objects.count() == 0


def test_rescoring_every_learner_is_a_job(django_capture_on_commit_callbacks: Any) -> None:
    learner = LearnerFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in("admin").post("/dashboard/risk-models/rescore/")

    job = Job.objects.get()
    assert job.kind == "learners.rescore" and job.status == "succeeded"
    assert response["Location"] == f"/dashboard/jobs/{job.pk}/"
    learner.refresh_from_db()
    assert learner.risk_scored_at is not None
