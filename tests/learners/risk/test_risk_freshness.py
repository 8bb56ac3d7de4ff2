"""Reading risk never writes; new and changed learners are scored by background work instead."""

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from engagement.models import Job
from learners import tasks
from learners.ingestion.activity_copy import activity_import
from learners.ingestion.csv import csv_import
from learners.models import Learner, RiskAssessment
from learners.risk import services as risk_services
from learners.risk.services import learners_rescore
from learners.services import events_ingest, learner_update
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]
WRITES = ("INSERT", "UPDATE", "DELETE")
ACTIVITY_HEADER = (
    "learner_external_id,source,kind,occurred_at,duration_seconds,score,source_event_id\n"
)


def _event(learner: Learner, event_id: str) -> dict[str, Any]:
    return {
        "learner_id": str(learner.pk),
        "source": "lms",
        "source_event_id": event_id,
        "kind": "lesson_completed",
        "occurred_at": timezone.now().isoformat(),
    }


def _writes(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith(WRITES)]


def test_an_unscored_learner_reads_as_not_yet_scored_and_nothing_is_written(
    auth_client: APIClient,
) -> None:
    learner = LearnerFactory()
    with CaptureQueriesContext(connection) as queries:
        response = auth_client.get(f"/api/v1/learners/{learner.pk}/risk/")
    assert response.status_code == 200, response.content
    assert response.data["scored"] is False and response.data["stale"] is True
    assert response.data["score"] is None and response.data["band"] is None
    assert response.data["factors"] == [] and response.data["best_lever"] is None
    assert _writes(queries) == []
    assert not RiskAssessment.objects.exists()


def test_a_stale_learner_reads_as_the_stored_assessment_marked_stale(
    auth_client: APIClient,
) -> None:
    learner = LearnerFactory(enrolled_at=timezone.now() - timedelta(days=30))
    learners_rescore()
    stored = auth_client.get(f"/api/v1/learners/{learner.pk}/risk/").data
    events_ingest(items=[_event(learner, "later")])
    with CaptureQueriesContext(connection) as queries:
        again = auth_client.get(f"/api/v1/learners/{learner.pk}/risk/").data
    assert _writes(queries) == []
    assert again["stale"] is True
    assert {k: v for k, v in again.items() if k != "stale"} == {
        k: v for k, v in stored.items() if k != "stale"
    }
    assert RiskAssessment.objects.count() == 1


def test_feedback_shows_in_the_risk_view_at_once(auth_client: APIClient) -> None:
    learner = LearnerFactory()
    learners_rescore()
    url = f"/api/v1/learners/{learner.pk}/risk/"
    assert auth_client.get(url).data["feedback"] is None
    posted = auth_client.post(f"{url}feedback/", {"kind": "incorrect"}, format="json")
    assert posted.status_code == 201
    assert auth_client.get(url).data["feedback"]["kind"] == "incorrect"


def test_learner_detail_shows_rescoring_and_a_renamed_cohort_at_once(
    auth_client: APIClient,
) -> None:
    learner = LearnerFactory()
    url = f"/api/v1/learners/{learner.pk}/"
    assert auth_client.get(url).data["risk_band"] is None
    learners_rescore()
    assert auth_client.get(url).data["risk_band"] in {"low", "medium", "high"}
    renamed = auth_client.patch(
        f"/api/v1/cohorts/{learner.cohort_id}/", {"name": "Renamed"}, format="json"
    )
    assert renamed.status_code == 200, renamed.content
    assert auth_client.get(url).data["cohort_name"] == "Renamed"


# Background scoring after ingestion --------------------------------------------------------------


def test_ingested_activity_is_scored_right_after_the_commit(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    learner = LearnerFactory(enrolled_at=timezone.now() - timedelta(days=30))
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(items=[_event(learner, "e1")])
    stored = Learner.objects.get(pk=learner.pk)
    assert stored.risk_scored_at is not None and stored.risk_stale is False
    job = Job.objects.get()
    assert job.params == {"cohort_id": None, "as_of": None, "stale_only": True}
    assert job.status == "succeeded"


def test_a_learner_created_through_the_api_is_scored_after_the_request(
    auth_client: APIClient, django_capture_on_commit_callbacks: Capture
) -> None:
    cohort = CohortFactory()
    payload = {
        "cohort": str(cohort.pk),
        "source": "lms",
        "external_id": "new-1",
        "enrolled_at": timezone.now().isoformat(),
    }
    with django_capture_on_commit_callbacks(execute=True):
        created = auth_client.post("/api/v1/learners/", payload, format="json")
    assert created.status_code == 201, created.content
    risk = auth_client.get(f"/api/v1/learners/{created.data['id']}/risk/").data
    assert risk["scored"] is True and risk["stale"] is False


def test_learners_imported_from_csv_are_scored(
    tmp_path: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    path = tmp_path / "learners.csv"
    path.write_text(
        "external_id,source,cohort,name,email,enrolled_at,status\n"
        "a1,lms,Spring,,,2026-09-01T09:00:00Z,active\n"
        "a2,lms,Spring,,,2026-09-02T09:00:00Z,active\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_learners", str(path), stdout=None)
    assert not Learner.objects.filter(risk_scored_at__isnull=True).exists()
    assert Job.objects.count() == 1


def test_a_change_that_moves_the_risk_marks_the_learner_stale_for_the_rescore(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    learner = LearnerFactory()
    learners_rescore()
    learner_update(actor=None, learner=learner, data={"locale": "fr"})
    assert not Learner.objects.get(pk=learner.pk).risk_stale
    with django_capture_on_commit_callbacks(execute=True):
        learner_update(actor=None, learner=learner, data={"status": "withdrawn"})
    stored = Learner.objects.get(pk=learner.pk)
    assert stored.risk_stale is False and stored.risk_scored_at == stored.finished_at


def test_a_burst_of_batches_queues_one_rescore_until_it_starts(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Capture
) -> None:
    sent: list[str] = []
    monkeypatch.setattr(tasks.learners_rescore_task, "delay", sent.append)
    learners = LearnerFactory.create_batch(2)
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(items=[_event(learners[0], "b1")])
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        tasks.rescore_stale_soon()
    assert len(queries) == 0  # a job is pending: nothing to write, nothing to read
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(items=[_event(learners[1], "b2")])
    assert len(sent) == 1 and Job.objects.count() == 1
    tasks.learners_rescore_task.apply(args=[sent[0]])
    assert not Learner.objects.filter(risk_stale=True).exists()
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(items=[_event(learners[1], "b3")])
    assert len(sent) == 2


def _run_now(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Rescore jobs run as soon as they are queued, as eager tasks do; their ids, in order."""
    ran: list[str] = []

    def run(job_id: str) -> None:
        ran.append(job_id)
        tasks.learners_rescore_task.apply(args=[job_id])

    monkeypatch.setattr(tasks.learners_rescore_task, "delay", run)
    return ran


@pytest.mark.django_db(transaction=True)
def test_a_file_import_rescores_once_when_it_ends_not_once_a_chunk(
    monkeypatch: pytest.MonkeyPatch, rules_model: Any
) -> None:
    """Each chunk commits for real (no test transaction around them), as in production."""
    ran = _run_now(monkeypatch)
    LearnerFactory(external_id="a1")
    LearnerFactory(external_id="a2")
    learners_rescore()
    rows = "".join(
        f"a{1 + n % 2},lms,login,{(timezone.now() - timedelta(hours=n)).isoformat()},,,r{n}\n"
        for n in range(6)
    )
    total = csv_import(
        io.BytesIO((ACTIVITY_HEADER + rows).encode()),
        importer=lambda handle: activity_import(handle=handle, via="test", chunk_size=2),
        on_report=lambda report: None,
    )
    assert total.accepted == 6
    assert len(ran) == 1
    assert not Learner.objects.filter(risk_stale=True).exists()


def test_a_deferred_rescore_is_asked_for_once_however_the_block_ends(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        tasks.one_stale_rescore_after(),
    ):
        pass
    assert callbacks == []
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(RuntimeError),
        tasks.one_stale_rescore_after(),
    ):
        tasks.rescore_stale_soon()
        tasks.rescore_stale_soon()
        raise RuntimeError("the file turned out malformed")
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tasks.rescore_stale_soon()  # outside the block: asked for at once again
    assert len(callbacks) == 1


def test_nothing_is_queued_when_the_transaction_rolls_back(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    ActivityEventFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tasks.rescore_stale_soon()
    assert len(callbacks) == 1 and not Job.objects.exists()


def test_activity_arriving_while_a_rescore_runs_leaves_the_learner_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    early, late = LearnerFactory.create_batch(2, enrolled_at=timezone.now() - timedelta(days=30))
    read_features = risk_services.raw_features

    def read_then_ingest(**kwargs: Any) -> Any:
        raws = read_features(**kwargs)
        events_ingest(items=[_event(late, f"during-{len(raws)}")])  # after the run read it
        return raws

    monkeypatch.setattr(risk_services, "raw_features", read_then_ingest)
    learners_rescore()
    stale = dict(Learner.objects.values_list("pk", "risk_stale"))
    assert stale == {early.pk: False, late.pk: True}
