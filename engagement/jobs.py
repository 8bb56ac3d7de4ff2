"""Background jobs: every long operation runs as a Celery task that reports through a :class:`Job`.

The request that starts the work creates the job and answers ``202`` with its URL
(:func:`engagement.api.responses.accepted_response`); the task finds the job by id, runs the work
through :func:`job_run` and leaves the outcome on the job, which the API and dashboard poll.

An app adds a job kind with two pieces:

- a thin task in its ``tasks.py`` that calls one service through :func:`job_run`; its Celery
  name is the job's ``kind`` (``learners.tasks.learners_rescore_task``, named
  ``learners.rescore``, is the model: ``acks_late``, ``reject_on_worker_lost``, time limits,
  and a bounded retry with back-off on ``OperationalError``, which puts the job back to queued);
- a request service in its ``services.py`` that validates the request once and calls
  :func:`job_enqueue` (``learners.services.learners_rescore_request``). Views, admin actions,
  commands and schedules all start the work through it::

    job = learners_rescore_request(
        cohort_id=cohort_id,
        requested_by=staff_user(request),
        idempotency_key=request.headers.get("Idempotency-Key", ""),
    )
    return accepted_response(job, request)

A command that waits for the outcome passes ``in_process=True``: the task runs right there,
synchronously, and the job records the run as if a worker had done it.

Rules the runner relies on:

- The task takes the job id only (JSON); everything else is in ``job.params`` (ids and flags,
  never personal data: params, result and error are shown in the API and the admin).
- The work is idempotent: with ``acks_late`` a task killed mid-way is delivered again and the
  job, still ``running``, is run again from the start. A finished job is never run again, so a
  repeated delivery after success, failure or cancellation changes nothing.
- Long loops call ``report_progress(fraction)`` now and then (one UPDATE each); it raises
  :class:`JobCancelled` once the job was cancelled, which stops the work cooperatively.
- Raising ``self.retry(...)`` puts the job back to ``queued`` for the retry; any other exception
  marks it ``failed`` with a short, client-safe reason and is re-raised for Celery to record.
- Do not call :func:`job_run` inside ``transaction.atomic``: progress and cancellation must be
  visible to other connections while the work runs.
"""

import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from celery import Task
from celery.exceptions import Retry, SoftTimeLimitExceeded
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from engagement.audit import audit_record
from engagement.errors import ApplicationError, Conflict, ValidationFailed
from engagement.filters import JobFilter, filtered
from engagement.ids import row_by_id
from engagement.metrics import job_duration, jobs_finished
from engagement.models import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    JOB_ACTIVE_STATUSES,
    Job,
    JobStatus,
    Role,
    User,
)
from engagement.roles import role_of

logger = logging.getLogger(__name__)

ERROR_MAX_LENGTH = 500
OWN_JOBS_ROLES = frozenset({Role.COACH.value, Role.ANALYST.value})
# Why a job ends when its task asked for a retry that nothing will run (eager or in process).
RETRY_NOT_SCHEDULED = "The job hit a temporary error; try again later."
#: The first back-off of a job's retry after database trouble; each retry doubles it.
RETRY_BASE_SECONDS = 30

JobId = uuid.UUID | str
ProgressReporter = Callable[[float], None]
JobWork = Callable[[Job, ProgressReporter], Mapping[str, Any] | None]


class EnqueueableTask(Protocol):
    """What :func:`job_enqueue` needs of a Celery task: its name, ``delay`` and ``apply``."""

    name: str

    def delay(self, *args: Any, **kwargs: Any) -> Any: ...

    def apply(self, *args: Any, **kwargs: Any) -> Any: ...


class JobCancelled(Exception):
    """The job is no longer running (cancelled meanwhile): the work must stop.

    Raised by :func:`job_progress`; :func:`job_run` catches it and leaves the job as it is.
    """

    def __init__(self, job_id: JobId) -> None:
        self.job_id = job_id
        super().__init__(f"Job {job_id} is no longer running.")


def _dispatch(task: EnqueueableTask, job_id: str) -> None:
    """Send the task; a failure is recorded on the job rather than leaving it queued forever.

    With a broker, ``delay`` only sends, so an error means the broker refused the message. In
    eager mode (no broker) the work runs right here: its failure is already recorded, so
    ``job_fail`` changes nothing, and a retry cannot be scheduled, so it ends the job.
    """
    try:
        task.delay(job_id)
    except Retry:
        job_fail(job_id=job_id, error=RETRY_NOT_SCHEDULED)
        raise
    except Exception:
        job_fail(job_id=job_id, error="The job could not be queued; try again later.")
        raise


def _run_in_process(task: EnqueueableTask, job_id: str) -> None:
    """Run the task here and now; its outcome (even a crash) is recorded on the job.

    A retry the task asked for that did not end the job (no worker will pick it up) fails it.
    """
    task.apply(args=(job_id,), throw=False)
    job_fail(job_id=job_id, error=RETRY_NOT_SCHEDULED)


def job_enqueue(
    task: EnqueueableTask,
    params: Mapping[str, Any],
    *,
    requested_by: User | None = None,
    idempotency_key: str = "",
    in_process: bool = False,
    prepare: Callable[[Job], None] | None = None,
) -> Job:
    """Create a queued job of ``task``'s kind (its Celery name) and hand it to ``task``.

    ``prepare(job)`` writes the rows the task reads (a simulation's, say) in the job's own
    transaction, so they exist whenever the task runs, in process or after commit; it is not
    called for an existing job returned for a repeated ``idempotency_key``.

    The task gets the job id once the current transaction commits; with ``in_process`` it runs
    right away in this process instead (a command waiting for the result), so the returned job
    is finished. A repeated ``idempotency_key`` for the same kind returns the existing job
    (whatever its status, and whoever asked) and runs nothing; reusing a key with other params
    is a conflict. A failure to send is logged and recorded on the job, so the caller still
    answers ``202``.
    """
    kind = task.name
    params = dict(params)
    if len(idempotency_key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValidationFailed(
            detail={
                "idempotency_key": [
                    f"At most {IDEMPOTENCY_KEY_MAX_LENGTH} characters (the Idempotency-Key header)."
                ]
            }
        )
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind, params=params, requested_by=requested_by, idempotency_key=idempotency_key
            )
            if prepare is not None:
                prepare(job)
    except IntegrityError:
        existing = (
            Job.objects.filter(kind=kind, idempotency_key=idempotency_key).first()
            if idempotency_key
            else None
        )
        if existing is None:
            raise
        if existing.params != params:
            raise Conflict(
                detail={"idempotency_key": ["Already used for a request with other parameters."]}
            ) from None
        return existing
    job_id = str(job.pk)
    if in_process:
        _run_in_process(task, job_id)
        job.refresh_from_db()
    else:
        transaction.on_commit(lambda: _dispatch(task, job_id), robust=True)
    return job


def job_start(*, job_id: JobId) -> bool:
    """Mark the job running; ``False`` if it is finished (or gone) and must not run.

    A job already running is started again: that is a task redelivered after its worker died.
    """
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, status__in=JOB_ACTIVE_STATUSES).update(
            status=JobStatus.RUNNING,
            started_at=Coalesce("started_at", Value(now)),
            updated_at=now,
        )
    )


def job_progress(*, job_id: JobId, progress: float) -> None:
    """Record how far a running job got (0 to 1, clamped) in one UPDATE.

    Raises :class:`JobCancelled` when the job is no longer running (cancelled meanwhile), so
    that the loop reporting progress stops.
    """
    if not math.isfinite(progress):
        raise ValueError("progress must be a finite number")
    now = timezone.now()
    updated = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        progress=min(max(progress, 0.0), 1.0), updated_at=now
    )
    if not updated:
        raise JobCancelled(job_id)


def job_succeed(*, job_id: JobId, result: Mapping[str, Any]) -> bool:
    """Finish a running job with its result; ``False`` if it was no longer running (cancelled)."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
            status=JobStatus.SUCCEEDED,
            progress=1.0,
            result=dict(result),
            error="",
            finished_at=now,
            updated_at=now,
        )
    )


def job_fail(*, job_id: JobId, error: str) -> bool:
    """Finish a queued or running job as failed; ``error`` is shown to the requester.

    Keep ``error`` short and free of personal data. ``False`` if the job was already finished.
    """
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, status__in=JOB_ACTIVE_STATUSES).update(
            status=JobStatus.FAILED,
            error=error[:ERROR_MAX_LENGTH],
            finished_at=now,
            updated_at=now,
        )
    )


def _job_requeue(*, job_id: JobId) -> None:
    """A running job whose task will be retried waits as queued again."""
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        status=JobStatus.QUEUED, updated_at=timezone.now()
    )


@transaction.atomic
def job_cancel(*, job: Job, actor: User | None) -> Job:
    """Cancel a queued or running job (a running one stops at its next progress report).

    Raises :class:`Conflict` for a finished job.
    """
    now = timezone.now()
    cancelled = Job.objects.filter(pk=job.pk, status__in=JOB_ACTIVE_STATUSES).update(
        status=JobStatus.CANCELLED, finished_at=now, updated_at=now
    )
    if not cancelled:
        raise Conflict("Only a queued or running job can be cancelled.")
    audit_record(
        actor=actor,
        action="job.cancel",
        target=job,
        changes={"kind": job.kind, "status": "cancelled"},
    )
    job.refresh_from_db()
    return job


def _error_text(exc: BaseException) -> str:
    """A short reason fit for the API: application errors carry one; other messages may hold
    personal data, so those are named by type only (the worker log has the traceback)."""
    if isinstance(exc, ApplicationError):
        return exc.message
    if isinstance(exc, SoftTimeLimitExceeded):
        return "The job ran out of time."
    return f"The job failed unexpectedly ({type(exc).__name__})."


def job_run(job_id: JobId, work: JobWork) -> Job | None:
    """Run ``work(job, report_progress)`` for a Celery task and record the outcome on the job.

    Returns the job as it ends up, or ``None`` if it does not exist. A finished job is left
    untouched and ``work`` is not called. See the module docstring for the task pattern.
    """
    if not job_start(job_id=job_id):
        job = Job.objects.filter(pk=job_id).first()
        logger.info("job %s not run: %s", job_id, job.status if job else "missing")
        return job
    job = Job.objects.get(pk=job_id)

    def report_progress(progress: float) -> None:
        job_progress(job_id=job.pk, progress=progress)

    started = time.monotonic()
    outcome = "failed"
    try:
        result = work(job, report_progress)
        outcome = "succeeded" if job_succeed(job_id=job.pk, result=result or {}) else "cancelled"
    except JobCancelled:
        outcome = "cancelled"
        logger.info("job %s (%s) stopped: cancelled", job.pk, job.kind)
    except Retry:
        outcome = "retried"
        _job_requeue(job_id=job.pk)
        raise
    except Exception as exc:
        job_fail(job_id=job.pk, error=_error_text(exc))
        logger.warning("job %s (%s) failed: %s", job.pk, job.kind, type(exc).__name__)
        raise
    finally:
        _job_observe(job.kind, outcome, time.monotonic() - started)
    job.refresh_from_db()
    return job


def job_task_options(name: str, *, retries: int, minutes: int) -> dict[str, Any]:
    """Celery options of a job's task (``@app.task(**job_task_options(...))``): acknowledged once
    run and given back when the worker is lost (the runner makes a re-run safe), ``retries`` on
    database trouble, a soft time limit of ``minutes`` and the hard one a minute later."""
    return {
        "name": name,
        "bind": True,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "max_retries": retries,
        "soft_time_limit": minutes * 60,
        "time_limit": (minutes + 1) * 60,
    }


def job_run_retrying(task: Task, job_id: JobId, work: JobWork) -> Job | None:
    """:func:`job_run` for a bound task: transient database trouble backs off
    (``RETRY_BASE_SECONDS``, doubling) and runs the job again (it goes back to queued)."""

    def guarded(job: Job, report_progress: ProgressReporter) -> Mapping[str, Any] | None:
        try:
            return work(job, report_progress)
        except OperationalError as exc:
            countdown = RETRY_BASE_SECONDS * 2**task.request.retries
            raise task.retry(exc=exc, countdown=countdown) from exc

    return job_run(job_id, guarded)


def _job_observe(kind: str, outcome: str, seconds: float) -> None:
    jobs_finished.labels(kind=kind, outcome=outcome).inc()
    job_duration.labels(kind=kind, outcome=outcome).observe(seconds)


def job_list(*, actor: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Job]:
    """Jobs the caller may see, newest first: admins all, other staff their own, others none.

    ``filters`` (see :class:`JobFilter`) narrow by kind and status.
    """
    role = role_of(actor)
    queryset = Job.objects.order_by("-created_at", "-id")
    if role in OWN_JOBS_ROLES:
        queryset = queryset.filter(requested_by=actor)
    elif role != Role.ADMIN:
        queryset = queryset.none()
    return filtered(JobFilter, queryset, filters)


def job_get(*, actor: Any, job_id: JobId) -> Job:
    return row_by_id(job_list(actor=actor), job_id, missing="No job with this id.")
