"""Background jobs: the runner's lifecycle through a real (eager) Celery task, and the jobs API."""

import math
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Task
from celery.exceptions import Retry
from django.db import IntegrityError, OperationalError
from django.urls import reverse
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from engagement.api.responses import accepted_response
from engagement.api_keys import api_key_create
from engagement.celery import app
from engagement.errors import Conflict, ValidationFailed
from engagement.jobs import (
    JobCancelled,
    ProgressReporter,
    job_cancel,
    job_enqueue,
    job_progress,
    job_run,
    job_start,
)
from engagement.models import AuditEvent, Job, JobStatus
from engagement.registry import registry
from tests.factories import UserFactory

KIND = "tests.engagement.count"  # a job's kind is its task's Celery name
work_log: list[str] = []


@app.task(
    name="tests.engagement.count",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=3,
)
def count_task(self: Task, job_id: str) -> None:
    """Counts ``params.steps`` steps; ``params`` can also cancel, fail or fail transiently at a step."""

    def work(job: Job, report_progress: ProgressReporter) -> dict[str, Any]:
        work_log.append(str(job.pk))
        steps = job.params["steps"]
        for step in range(1, steps + 1):
            if job.params.get("cancel_at") == step:  # as if a user cancelled it meanwhile
                job_cancel(job=job, actor=None)
            if job.params.get("fail_at") == step:
                raise RuntimeError("could not score alice@example.org")
            if job.params.get("transient_at") == step and not self.request.retries:
                raise self.retry(exc=OperationalError("connection reset"), countdown=0)
            report_progress(step / steps)
        return {"counted": steps}

    job_run(job_id, work)


@app.task(name="tests.engagement.other")
def other_task(job_id: str) -> None:
    """Another kind of job, which does nothing."""


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    """Run tasks in-process whatever the environment's broker, and forget earlier work calls."""
    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    work_log.clear()
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def _enqueue(
    capture: Any, *, requested_by: Any = None, key: str = "", **params: Any
) -> tuple[Job, list[Any]]:
    """Enqueue a counting job and run what was queued on commit; returns the fresh job."""
    calls_before = len(work_log)
    with capture(execute=True) as callbacks:
        job = job_enqueue(
            count_task, {"steps": 2, **params}, requested_by=requested_by, idempotency_key=key
        )
        assert len(work_log) == calls_before  # nothing runs before the commit
    job.refresh_from_db()
    return job, callbacks


def _snapshot(job: Job) -> dict[str, Any]:
    return dict(Job.objects.filter(pk=job.pk).values().get())


# --- the runner -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_enqueued_job_runs_after_commit_and_succeeds(
    django_capture_on_commit_callbacks: Any,
) -> None:
    job, callbacks = _enqueue(django_capture_on_commit_callbacks, steps=3)

    assert len(callbacks) == 1
    assert work_log == [str(job.pk)]
    assert job.status == JobStatus.SUCCEEDED
    assert job.progress == 1.0
    assert job.result == {"counted": 3}
    assert job.error == ""
    assert job.started_at is not None and job.finished_at is not None
    assert job.created_at <= job.started_at <= job.finished_at


@pytest.mark.django_db
def test_progress_is_stored_as_the_work_reports_it() -> None:
    job = Job.objects.create(kind=KIND)
    seen: list[tuple[str, float]] = []

    def work(job: Job, report_progress: ProgressReporter) -> dict[str, Any]:
        for fraction in (0.25, 0.5, 0.75):
            report_progress(fraction)
            seen.append(Job.objects.values_list("status", "progress").get(pk=job.pk))
        return {}

    assert job_run(job.pk, work).status == JobStatus.SUCCEEDED
    assert seen == [("running", 0.25), ("running", 0.5), ("running", 0.75)]


@pytest.mark.django_db
def test_progress_is_clamped_to_0_1_and_must_be_a_number() -> None:
    job = Job.objects.create(kind=KIND)
    job_start(job_id=job.pk)

    job_progress(job_id=job.pk, progress=1.7)
    assert Job.objects.get(pk=job.pk).progress == 1.0
    job_progress(job_id=job.pk, progress=-0.2)
    assert Job.objects.get(pk=job.pk).progress == 0.0
    with pytest.raises(ValueError, match="finite"):
        job_progress(job_id=job.pk, progress=math.nan)


@pytest.mark.django_db
def test_the_database_refuses_progress_outside_0_1() -> None:
    with pytest.raises(IntegrityError):
        Job.objects.create(kind=KIND, progress=1.5)


@pytest.mark.django_db
def test_cancelling_mid_run_stops_the_work_at_its_next_progress_report(
    django_capture_on_commit_callbacks: Any,
) -> None:
    job, _ = _enqueue(django_capture_on_commit_callbacks, steps=4, cancel_at=3)

    assert job.status == JobStatus.CANCELLED
    assert job.progress == 0.5  # steps 1 and 2 reported; step 3 found the job cancelled
    assert job.result is None
    assert job.finished_at is not None
    assert AuditEvent.objects.filter(action="job.cancel", target_id=str(job.pk)).count() == 1


@pytest.mark.django_db
def test_progress_report_on_a_cancelled_job_raises_job_cancelled() -> None:
    job = Job.objects.create(kind=KIND)
    job_start(job_id=job.pk)
    job_cancel(job=job, actor=None)

    with pytest.raises(JobCancelled):
        job_progress(job_id=job.pk, progress=0.5)


@pytest.mark.django_db
def test_a_failure_is_recorded_without_its_message_and_re_raised_for_celery() -> None:
    job = Job.objects.create(kind=KIND, params={"steps": 2, "fail_at": 2})

    with pytest.raises(RuntimeError, match="could not score"):
        count_task.delay(str(job.pk))

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "The job failed unexpectedly (RuntimeError)."
    assert "alice" not in job.error
    assert job.progress == 0.5
    assert job.finished_at is not None


@pytest.mark.django_db
def test_a_failure_after_commit_does_not_reach_the_caller(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """In eager mode the work runs inside the request; its failure is logged and recorded."""
    job, _ = _enqueue(django_capture_on_commit_callbacks, fail_at=1)

    assert job.status == JobStatus.FAILED
    assert job.error == "The job failed unexpectedly (RuntimeError)."


@pytest.mark.django_db
def test_an_application_error_keeps_its_client_safe_message() -> None:
    job = Job.objects.create(kind=KIND)

    def work(job: Job, report_progress: ProgressReporter) -> None:
        raise ValidationFailed("The cohort has ended.")

    with pytest.raises(ValidationFailed):
        job_run(job.pk, work)
    job.refresh_from_db()
    assert (job.status, job.error) == (JobStatus.FAILED, "The cohort has ended.")


@pytest.mark.django_db
def test_a_retry_puts_the_job_back_in_the_queue() -> None:
    job = Job.objects.create(kind=KIND)

    def work(job: Job, report_progress: ProgressReporter) -> None:
        raise Retry("transient")

    with pytest.raises(Retry):
        job_run(job.pk, work)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert job.started_at is not None


@pytest.mark.django_db
def test_a_transient_error_is_retried_and_the_retry_succeeds() -> None:
    job = Job.objects.create(kind=KIND, params={"steps": 2, "transient_at": 2})

    with pytest.raises(Retry):  # eager mode hands the retry back instead of scheduling it
        count_task.delay(str(job.pk))
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
    count_task.apply(args=[str(job.pk)], retries=1)  # what the worker runs when the retry is due

    job.refresh_from_db()
    assert work_log == [str(job.pk), str(job.pk)]
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, {"counted": 2})


@pytest.mark.django_db
def test_without_a_broker_a_transient_error_ends_the_job(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Eager mode cannot schedule a retry, so the job must not wait in the queue forever."""
    job, _ = _enqueue(django_capture_on_commit_callbacks, transient_at=1)

    assert (job.status, job.error) == (
        JobStatus.FAILED,
        "The job hit a temporary error; try again later.",
    )


@pytest.mark.django_db
def test_a_job_the_broker_refuses_is_marked_failed(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(count_task, "delay", refuse)
    job, _ = _enqueue(django_capture_on_commit_callbacks)

    assert (job.status, job.error) == (
        JobStatus.FAILED,
        "The job could not be queued; try again later.",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "status", "result", "error"),
    [
        ({}, JobStatus.SUCCEEDED, {"counted": 2}, ""),
        ({"transient_at": 1}, JobStatus.SUCCEEDED, {"counted": 2}, ""),  # retried right here
        ({"fail_at": 1}, JobStatus.FAILED, None, "The job failed unexpectedly (RuntimeError)."),
    ],
)
def test_in_process_the_job_runs_at_once_without_a_broker_and_records_the_outcome(
    monkeypatch: pytest.MonkeyPatch,
    params: dict[str, Any],
    status: str,
    result: Any,
    error: str,
) -> None:
    """A command waiting for its job: no commit hook, no broker; failures stay on the job."""
    app.conf.task_always_eager = False

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(count_task, "delay", refuse)
    job = job_enqueue(count_task, {"steps": 2, **params}, in_process=True)

    assert (job.kind, job.status, job.result, job.error) == (KIND, status, result, error)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "final"),
    [
        ({}, JobStatus.SUCCEEDED),
        ({"fail_at": 1}, JobStatus.FAILED),
        ({"cancel_at": 2}, JobStatus.CANCELLED),
    ],
)
def test_running_a_finished_jobs_task_again_changes_nothing(
    django_capture_on_commit_callbacks: Any, params: dict[str, Any], final: str
) -> None:
    job, _ = _enqueue(django_capture_on_commit_callbacks, **params)
    assert job.status == final
    before = _snapshot(job)

    count_task.delay(str(job.pk))  # a redelivery, or someone running the task by hand

    assert _snapshot(job) == before
    assert work_log == [str(job.pk)]


@pytest.mark.django_db
def test_a_job_cancelled_while_queued_never_runs() -> None:
    job = Job.objects.create(kind=KIND, params={"steps": 1})
    job_cancel(job=job, actor=None)

    count_task.delay(str(job.pk))

    assert work_log == []
    assert Job.objects.get(pk=job.pk).status == JobStatus.CANCELLED


@pytest.mark.django_db
def test_a_running_job_redelivered_after_a_worker_died_runs_again() -> None:
    job = Job.objects.create(kind=KIND, params={"steps": 1})
    job_start(job_id=job.pk)
    started_at = Job.objects.get(pk=job.pk).started_at

    count_task.delay(str(job.pk))

    job.refresh_from_db()
    assert (job.status, job.started_at) == (JobStatus.SUCCEEDED, started_at)


@pytest.mark.django_db
def test_the_runner_ignores_a_job_that_does_not_exist() -> None:
    assert job_run("0190a0a0-0000-7000-8000-000000000000", lambda job, report: {}) is None


@pytest.mark.django_db
def test_cancelling_a_finished_job_is_a_conflict() -> None:
    job = Job.objects.create(kind=KIND, status=JobStatus.SUCCEEDED)

    with pytest.raises(Conflict):
        job_cancel(job=job, actor=None)
    assert not AuditEvent.objects.filter(action="job.cancel").exists()


# --- idempotency ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_idempotency_key_twice_yields_one_job(
    django_capture_on_commit_callbacks: Any,
) -> None:
    first, first_callbacks = _enqueue(django_capture_on_commit_callbacks, key="rescore-2026-10-01")
    again, again_callbacks = _enqueue(django_capture_on_commit_callbacks, key="rescore-2026-10-01")

    assert again.pk == first.pk
    assert Job.objects.count() == 1
    assert (len(first_callbacks), len(again_callbacks)) == (1, 0)
    assert work_log == [str(first.pk)]


@pytest.mark.django_db
def test_an_idempotency_key_is_per_kind_and_a_blank_key_never_matches() -> None:
    for task, key in ((count_task, "k"), (other_task, "k"), (count_task, ""), (count_task, "")):
        job_enqueue(task, {}, idempotency_key=key)

    assert Job.objects.count() == 4
    assert set(Job.objects.values_list("kind", flat=True)) == {KIND, "tests.engagement.other"}


@pytest.mark.django_db
def test_reusing_an_idempotency_key_with_other_params_is_a_conflict() -> None:
    job_enqueue(count_task, {"steps": 1}, idempotency_key="k")

    with pytest.raises(Conflict) as caught:
        job_enqueue(count_task, {"steps": 2}, idempotency_key="k")
    assert "idempotency_key" in caught.value.detail


# --- API --------------------------------------------------------------------------------------


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    return {role: UserFactory(role=role) for role in ("admin", "coach", "analyst")}


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _detail(job: Job) -> str:
    return reverse("job-detail", kwargs={"pk": job.pk})


@pytest.mark.django_db
def test_accepted_response_answers_202_with_the_job_and_its_location() -> None:
    job = Job.objects.create(kind=KIND, params={"steps": 1})
    request = Request(APIRequestFactory().post("/api/v1/anything/"))

    response = accepted_response(job, request)

    location = f"http://testserver/api/v1/jobs/{job.pk}/"
    assert response.status_code == 202
    assert response["Location"] == location
    assert response.data["id"] == str(job.pk)
    assert response.data["status"] == "queued"
    assert response.data["url"] == location


def test_job_list_is_scoped_to_the_caller(
    people: dict[str, Any], django_assert_num_queries: Any
) -> None:
    for owner in people.values():
        Job.objects.create(kind=KIND, requested_by=owner)

    with django_assert_num_queries(2):  # count and page
        everything = _client(people["admin"]).get("/api/v1/jobs/")
    own = _client(people["coach"]).get("/api/v1/jobs/")
    analyst_own = _client(people["analyst"]).get("/api/v1/jobs/")

    assert everything.status_code == 200 and everything.data["count"] == 3
    assert [row["requested_by"] for row in own.data["results"]] == [people["coach"].pk]
    assert [row["requested_by"] for row in analyst_own.data["results"]] == [people["analyst"].pk]
    assert set(own.data["results"][0]) == {
        "id",
        "kind",
        "status",
        "progress",
        "params",
        "result",
        "error",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "url",
    }


def test_job_list_filters_by_kind_and_status(people: dict[str, Any]) -> None:
    admin = people["admin"]
    Job.objects.create(kind=KIND, requested_by=admin)
    Job.objects.create(kind=KIND, requested_by=admin, status=JobStatus.RUNNING)
    Job.objects.create(kind="tests.other", requested_by=admin, status=JobStatus.FAILED)
    client = _client(admin)

    assert client.get("/api/v1/jobs/", {"kind": KIND}).data["count"] == 2
    active = client.get("/api/v1/jobs/?status=queued&status=running")
    assert active.data["count"] == 2
    assert client.get("/api/v1/jobs/", {"status": "failed"}).data["count"] == 1
    refused = client.get("/api/v1/jobs/", {"status": "exploded"})
    assert refused.status_code == 400 and "status" in refused.data


def test_job_detail_is_404_outside_the_callers_scope(people: dict[str, Any]) -> None:
    coach_job = Job.objects.create(kind=KIND, requested_by=people["coach"])
    admin_job = Job.objects.create(kind=KIND, requested_by=people["admin"])
    coach = _client(people["coach"])

    assert coach.get(_detail(coach_job)).data["id"] == str(coach_job.pk)
    assert coach.get(_detail(admin_job)).status_code == 404
    assert _client(people["analyst"]).get(_detail(coach_job)).status_code == 404
    assert _client(people["admin"]).get(_detail(coach_job)).status_code == 200
    assert coach.get("/api/v1/jobs/not-a-uuid/").status_code == 404


def test_cancel_answers_200_then_409_once_finished(people: dict[str, Any]) -> None:
    job = Job.objects.create(kind=KIND, requested_by=people["coach"])
    coach = _client(people["coach"])
    url = reverse("job-cancel", kwargs={"pk": job.pk})

    response = coach.post(url)
    assert response.status_code == 200
    assert response.data["status"] == "cancelled" and response.data["finished_at"]
    event = AuditEvent.objects.get(action="job.cancel")
    assert (event.actor_id, event.target_id) == (str(people["coach"].pk), str(job.pk))

    again = coach.post(url)
    assert again.status_code == 409 and again.data["detail"]
    assert _client(people["analyst"]).post(url).status_code == 404


def test_jobs_need_a_staff_user(people: dict[str, Any]) -> None:
    job = Job.objects.create(kind=KIND, requested_by=people["admin"])
    key = api_key_create(
        name="lms", scopes=list(registry.api_key_scopes()), created_by=people["admin"]
    )
    machine = APIClient()
    machine.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.secret}")

    assert APIClient().get("/api/v1/jobs/").status_code == 401
    assert APIClient().get(_detail(job)).status_code == 401
    assert machine.get("/api/v1/jobs/").status_code == 403
    assert machine.get(_detail(job)).status_code == 403
    assert machine.post(reverse("job-cancel", kwargs={"pk": job.pk})).status_code == 403


# --- admin ------------------------------------------------------------------------------------


def test_admin_lists_jobs_and_cancels_the_active_ones(client: Any, people: dict[str, Any]) -> None:
    queued = Job.objects.create(kind=KIND, requested_by=people["coach"])
    done = Job.objects.create(kind=KIND, status=JobStatus.SUCCEEDED)
    client.force_login(people["admin"])

    assert client.get("/admin/engagement/job/").status_code == 200
    assert client.get(f"/admin/engagement/job/{queued.pk}/change/").status_code == 200
    response = client.post(
        "/admin/engagement/job/",
        {"action": "cancel", "_selected_action": [str(queued.pk), str(done.pk)]},
    )

    assert response.status_code == 302
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert statuses == {queued.pk: JobStatus.CANCELLED, done.pk: JobStatus.SUCCEEDED}
