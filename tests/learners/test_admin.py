from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from engagement.models import AuditEvent
from learners.models import ActivityEvent, Cohort, Learner, RiskModel
from learners.risk.services import learners_rescore
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client: Client) -> Client:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", ["cohort", "learner", "activityevent"])
def test_changelists_do_not_grow_queries_with_rows(
    admin_client_logged_in: Client, model: str
) -> None:
    url = f"/admin/learners/{model}/"
    ActivityEventFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        assert admin_client_logged_in.get(url).status_code == 200
    ActivityEventFactory.create_batch(20)
    with CaptureQueriesContext(connection) as many:
        assert admin_client_logged_in.get(url).status_code == 200
    assert len(many) == len(few)


def test_search_and_filters_work(admin_client_logged_in: Client) -> None:
    LearnerFactory(name="Ada Lovelace", external_id="ada-1")
    response = admin_client_logged_in.get(
        "/admin/learners/learner/", {"q": "lovelace", "status__exact": "active"}
    )
    assert response.status_code == 200
    assert "ada-1" in response.content.decode()


def test_admin_edits_go_through_the_services(admin_client_logged_in: Client) -> None:
    cohort = CohortFactory()
    response = admin_client_logged_in.post(
        "/admin/learners/learner/add/",
        {
            "source": "lms",
            "external_id": "adm-1",
            "cohort": str(cohort.id),
            "name": "Created In Admin",
            "email": "",
            "status": "active",
            "enrolled_at_0": "2026-09-01",
            "enrolled_at_1": "09:00:00",
            "progress": "0.1",
            "locale": "en",
            "timezone": "UTC",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    learner = Learner.objects.get(external_id="adm-1")
    api_detail = f"/api/v1/learners/{learner.id}/"
    assert admin_client_logged_in.get(api_detail).json()["name"] == "Created In Admin"
    change = admin_client_logged_in.post(
        f"/admin/learners/learner/{learner.id}/change/",
        {
            "source": "lms",
            "external_id": "adm-1",
            "cohort": str(cohort.id),
            "name": "Renamed In Admin",
            "email": "",
            "status": "paused",
            "enrolled_at_0": "2026-09-01",
            "enrolled_at_1": "09:00:00",
            "progress": "0.1",
            "locale": "en",
            "timezone": "UTC",
        },
    )
    assert change.status_code == 302
    assert admin_client_logged_in.get(api_detail).json()["name"] == "Renamed In Admin"


def test_cohort_admin_create_and_change(admin_client_logged_in: Client) -> None:
    data = {
        "name": "Admin Cohort",
        "course_code": "AC1",
        "starts_on": "2026-01-05",
        "ends_on": "",
        "timezone": "UTC",
    }
    assert admin_client_logged_in.post("/admin/learners/cohort/add/", data).status_code == 302
    cohort = Cohort.objects.get(name="Admin Cohort")
    changed = {**data, "course_code": "AC2"}
    assert (
        admin_client_logged_in.post(
            f"/admin/learners/cohort/{cohort.id}/change/", changed
        ).status_code
        == 302
    )
    cohort.refresh_from_db()
    assert cohort.course_code == "AC2"


@pytest.mark.parametrize("model", ["riskmodel", "riskassessment", "riskfeedback", "riskalert"])
def test_risk_admin_pages_load(admin_client_logged_in: Client, model: str) -> None:
    LearnerFactory.create_batch(2)
    learners_rescore()
    assert admin_client_logged_in.get(f"/admin/learners/{model}/").status_code == 200


def test_learner_page_explains_the_latest_risk(admin_client_logged_in: Client) -> None:
    learner = LearnerFactory()
    learners_rescore()
    page = admin_client_logged_in.get(
        f"/admin/learners/learner/{learner.pk}/change/"
    ).content.decode()
    assert "No activity for" in page


def test_risk_model_activation_from_admin(admin_client_logged_in: Client, rules_model: Any) -> None:
    rules = rules_model
    RiskModel.objects.filter(pk=rules.pk).update(is_active=False)
    RiskModel.objects.create(version=2, kind="rules", parameters=rules.parameters, is_active=True)
    admin_client_logged_in.post(
        "/admin/learners/riskmodel/", {"action": "activate", "_selected_action": [str(rules.pk)]}
    )
    assert RiskModel.objects.get(is_active=True).version == 1


def _audit(action: str, target_id: Any) -> dict[str, Any]:
    """What an audit event says, apart from who, when and from where."""
    return dict(
        AuditEvent.objects.filter(action=action, target_id=str(target_id))
        .values("action", "target_type", "target_id", "changes")[:2]
        .get()
    )


def test_delete_selected_learners_is_audited_as_through_the_api(
    admin_client_logged_in: Client,
) -> None:
    through_api, *selected = LearnerFactory.create_batch(3)
    ActivityEventFactory(learner=selected[0])  # read-only in admin, yet it goes with its learner
    learners_rescore()
    assert admin_client_logged_in.delete(f"/api/v1/learners/{through_api.pk}/").status_code == 204

    response = admin_client_logged_in.post(
        "/admin/learners/learner/",
        {
            "action": "delete_selected",
            "_selected_action": [str(learner.pk) for learner in selected],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert not Learner.objects.exists() and not ActivityEvent.objects.exists()
    expected = _audit("learner.delete", through_api.pk)
    for learner in selected:
        assert _audit("learner.delete", learner.pk) == {**expected, "target_id": str(learner.pk)}


def test_deleting_one_learner_in_admin_goes_through_the_service(
    admin_client_logged_in: Client,
) -> None:
    learner = LearnerFactory()
    ActivityEventFactory(learner=learner)
    page = admin_client_logged_in.get(f"/admin/learners/learner/{learner.pk}/delete/")
    assert "permission to delete" not in page.content.decode()

    admin_client_logged_in.post(f"/admin/learners/learner/{learner.pk}/delete/", {"post": "yes"})

    assert not Learner.objects.exists()
    assert _audit("learner.delete", learner.pk)["changes"] == {}


def test_cohort_deletes_are_audited_as_through_the_api(admin_client_logged_in: Client) -> None:
    through_api, one, *selected = CohortFactory.create_batch(4)
    assert admin_client_logged_in.delete(f"/api/v1/cohorts/{through_api.pk}/").status_code == 204

    admin_client_logged_in.post(f"/admin/learners/cohort/{one.pk}/delete/", {"post": "yes"})
    admin_client_logged_in.post(
        "/admin/learners/cohort/",
        {
            "action": "delete_selected",
            "_selected_action": [str(cohort.pk) for cohort in selected],
            "post": "yes",
        },
    )

    assert not Cohort.objects.exists()
    expected = _audit("cohort.delete", through_api.pk)
    for cohort in (one, *selected):
        assert _audit("cohort.delete", cohort.pk) == {**expected, "target_id": str(cohort.pk)}


def test_a_cohort_with_learners_is_not_deleted_from_admin(admin_client_logged_in: Client) -> None:
    cohort = LearnerFactory().cohort
    admin_client_logged_in.post(
        "/admin/learners/cohort/",
        {"action": "delete_selected", "_selected_action": [str(cohort.pk)], "post": "yes"},
    )
    assert Cohort.objects.filter(pk=cohort.pk).exists()
    assert not AuditEvent.objects.filter(action="cohort.delete").exists()


def test_activity_events_are_read_only_in_admin(admin_client_logged_in: Client) -> None:
    """Activity comes in through ingestion, which also moves last_active_at and staleness."""
    event = ActivityEventFactory()
    base = "/admin/learners/activityevent"

    assert admin_client_logged_in.get(f"{base}/add/").status_code == 403
    assert admin_client_logged_in.get(f"{base}/{event.pk}/delete/").status_code == 403
    changed = admin_client_logged_in.post(f"{base}/{event.pk}/change/", {"kind": "login"})
    assert changed.status_code == 403
    assert admin_client_logged_in.get(f"{base}/{event.pk}/change/").status_code == 200  # viewable
    listing = admin_client_logged_in.get(f"{base}/").content.decode()
    assert "delete_selected" not in listing


def test_risk_model_notes_are_audited_and_versions_are_not_deleted(
    admin_client_logged_in: Client,
) -> None:
    rules = RiskModel.objects.get(version=1)
    url = f"/admin/learners/riskmodel/{rules.pk}/"

    response = admin_client_logged_in.post(f"{url}change/", {"notes": "Shipped default."})

    assert response.status_code == 302
    assert RiskModel.objects.get(pk=rules.pk).notes == "Shipped default."
    assert _audit("risk_model.update", rules.pk)["changes"] == {"notes": "(changed)"}
    assert admin_client_logged_in.get(f"{url}delete/").status_code == 403
