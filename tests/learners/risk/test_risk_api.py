"""Risk model versions, training and rescoring through the API and the Celery tasks."""

from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import Retry
from django.db import OperationalError
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from engagement.models import AuditEvent, Job
from learners import tasks
from learners.models import Learner, RiskAssessment, RiskModel
from learners.tasks import learners_rescore_task, rescore_daily, rescore_stale, risk_digest
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory

pytestmark = pytest.mark.django_db


def drifting(size: int) -> list[Any]:
    cohort = CohortFactory()
    learners = LearnerFactory.create_batch(
        size, cohort=cohort, enrolled_at=timezone.now() - timedelta(days=50)
    )
    for learner in learners:
        ActivityEventFactory(learner=learner, occurred_at=timezone.now() - timedelta(days=20))
    return learners


def test_models_list_and_detail(auth_client: APIClient) -> None:
    listed = auth_client.get("/api/v1/risk/models/")
    assert listed.status_code == 200
    assert [row["version"] for row in listed.data["results"]] == [1]
    detail = auth_client.get("/api/v1/risk/models/1/")
    assert detail.data["kind"] == "rules" and detail.data["is_active"]
    assert detail.data["thresholds"] == {"medium": 0.5, "high": 0.75}
    assert auth_client.get("/api/v1/risk/models/99/").status_code == 404


def test_activate_older_version_rolls_back_and_is_audited(auth_client: APIClient) -> None:
    rules = RiskModel.objects.get(version=1)
    RiskModel.objects.filter(pk=rules.pk).update(is_active=False)
    RiskModel.objects.create(version=2, kind="rules", parameters=rules.parameters, is_active=True)
    response = auth_client.post("/api/v1/risk/models/1/activate/", {}, format="json")
    assert response.status_code == 200, response.data
    assert RiskModel.objects.get(is_active=True).version == 1
    assert AuditEvent.objects.filter(action="risk_model.activate").exists()


def test_train_and_rescore_answer_202_with_a_job(auth_client: APIClient) -> None:
    train = auth_client.post("/api/v1/risk/models/train/", {"cutoff_days": 21}, format="json")
    assert train.status_code == 202
    assert train["Location"].endswith(f"/api/v1/jobs/{train.data['id']}/")
    assert Job.objects.get(pk=train.data["id"]).params == {
        "cutoff_days": 21,
        "kind": "auto",
        "activate": False,
        "force": False,
    }
    boosted = auth_client.post("/api/v1/risk/models/train/", {"kind": "boosted"}, format="json")
    assert Job.objects.get(pk=boosted.data["id"]).params["kind"] == "boosted"
    unknown = auth_client.post("/api/v1/risk/models/train/", {"kind": "forest"}, format="json")
    assert unknown.status_code == 400
    assert "kind" in unknown.json()
    assert (
        auth_client.post(
            "/api/v1/risk/models/train/", {"cutoff_days": 2}, format="json"
        ).status_code
        == 400
    )
    rescore = auth_client.post("/api/v1/risk/rescore/", {"stale_only": True}, format="json")
    assert rescore.status_code == 202
    too_long = auth_client.post(
        "/api/v1/risk/rescore/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 129
    )
    assert too_long.status_code == 400
    assert "idempotency_key" in too_long.json()
    assert Job.objects.get(pk=rescore.data["id"]).kind == "learners.rescore"
    assert (
        auth_client.post("/api/v1/risk/rescore/", {"cohort_id": "nope"}, format="json").status_code
        == 400
    )


@pytest.mark.django_db(transaction=True)
def test_rescore_job_runs_end_to_end_and_twice_changes_nothing(auth_client: APIClient) -> None:
    drifting(5)
    response = auth_client.post("/api/v1/risk/rescore/", {}, format="json")
    job = Job.objects.get(pk=response.data["id"])
    assert job.status == "succeeded", job.error
    assert job.result is not None and job.result["learners"] == 5 and job.progress == 1.0
    assessments = RiskAssessment.objects.count()
    learners_rescore_task.delay(str(job.pk))
    assert RiskAssessment.objects.count() == assessments
    assert auth_client.get(f"/api/v1/jobs/{job.pk}/").data["status"] == "succeeded"


@pytest.mark.django_db
def test_transient_database_trouble_puts_the_job_back_for_a_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drifting(2)
    real, calls = tasks.learners_rescore, []

    def flaky(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("connection reset")
        return real(**kwargs)

    monkeypatch.setattr(tasks, "learners_rescore", flaky)
    job = Job.objects.create(kind="learners.rescore", params={})

    with pytest.raises(Retry):  # eager mode hands the retry back instead of scheduling it
        learners_rescore_task.apply(args=[str(job.pk)], throw=True)
    assert Job.objects.get(pk=job.pk).status == "queued"
    learners_rescore_task.apply(args=[str(job.pk)], retries=1)  # the retry, when it is due

    job.refresh_from_db()
    assert len(calls) == 2
    assert job.status == "succeeded", job.error
    assert job.result is not None and job.result["learners"] == 2


# Reading an eager result: Celery's "never join inside a task" check reads a process-wide flag
# that threads applying tasks at the same time (live-server requests) may hold set.
EAGER = {"disable_sync_subtasks": False}


@pytest.mark.django_db(transaction=True)
def test_scheduled_tasks_enqueue_one_job_per_slot() -> None:
    drifting(3)
    first = rescore_daily.delay().get(**EAGER)
    second = rescore_daily.delay().get(**EAGER)
    assert first == second
    assert Job.objects.get(pk=first).status == "succeeded"
    assert Learner.objects.filter(risk_score__isnull=False).count() == 3
    stale = rescore_stale.delay().get(**EAGER)
    stale_job = Job.objects.get(pk=stale)
    assert stale_job.result is not None and stale_job.result["learners"] == 0
    assert (
        risk_digest.delay().get(**EAGER)["alerts"]
        == Learner.objects.filter(risk_band="high").count()
    )


def test_the_public_schema_describes_risk_models_and_details_for_their_readers() -> None:
    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    description = schemas["RiskModelOutput"]["description"]
    assert description.startswith("A risk model version")
    assert "cohorts_in_scope" not in description and "``" not in description
    assert schemas["RiskDetail"]["properties"]["model_changed"]["type"] == "boolean"
    assert "model_changed" in schemas["RiskDetail"]["required"]
