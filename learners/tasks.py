"""Thin Celery tasks: each finds its job, calls one service through the job runner.

A task's Celery name is the kind of its jobs; jobs are requested through the request services
in ``learners/services.py`` (``learners_rescore_request``), which the schedules below call too.
Schedules live in ``learners/schedules.py``. Every task is idempotent (assessments are unique
per learner, model version and ``as_of``; a finished job is never run again), so ``acks_late``
with redelivery after a crash is safe.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from celery import Task
from celery.exceptions import Retry
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from engagement.celery import app
from engagement.jobs import Job, ProgressReporter, job_run_retrying, job_task_options
from learners import services  # its request services send this module's tasks
from learners.monitoring import rescore_duration
from learners.risk.feedback import risk_digest_send
from learners.risk.services import ActivationRefused, learners_rescore, risk_model_train

# Set while a stale-only rescore is queued and not yet started: further batches need no other.
STALE_RESCORE_PENDING_KEY = "learners:rescore-stale:pending"
STALE_RESCORE_PENDING_SECONDS = 600

logger = logging.getLogger(__name__)


@app.task(**job_task_options("learners.rescore", retries=3, minutes=30))
def learners_rescore_task(self: Task, job_id: str) -> None:
    def work(job: Job, report_progress: ProgressReporter) -> dict[str, Any]:
        as_of = job.params.get("as_of")
        if job.params.get("stale_only"):  # this run takes every learner stale by now
            cache.delete(STALE_RESCORE_PENDING_KEY)
        with rescore_duration.labels(scope=_rescore_scope(job.params)).time():
            summary = learners_rescore(
                cohort_id=job.params.get("cohort_id"),
                stale_only=bool(job.params.get("stale_only")),
                # "Now" is the job's first start, which a redelivery (worker killed) keeps: the
                # re-run scores as of the same moment and so adds no assessment twice.
                as_of=datetime.fromisoformat(as_of) if as_of else job.started_at,
                on_progress=report_progress,
            )
        return summary.as_dict()

    job_run_retrying(self, job_id, work)


def _rescore_scope(params: dict[str, Any]) -> str:
    """The bounded label of a run's scope: every learner, one cohort, or the stale ones."""
    if params.get("stale_only"):
        return "stale"
    return "cohort" if params.get("cohort_id") else "all"


@app.task(**job_task_options("learners.train_risk_model", retries=2, minutes=60))
def risk_model_train_task(self: Task, job_id: str) -> None:
    def work(job: Job, report_progress: ProgressReporter) -> dict[str, Any]:
        refusal: dict[str, Any] = {}
        try:
            model = risk_model_train(
                cutoff_days=int(job.params.get("cutoff_days", 28)),
                kind=str(job.params.get("kind", "auto")),
                activate=bool(job.params.get("activate")),
                force=bool(job.params.get("force")),
                actor=job.requested_by,
                on_progress=report_progress,
            )
        except ActivationRefused as refused:  # training succeeded; the policy kept it inactive
            model, refusal = refused.model, refused.detail
            logger.warning("job %s: %s", job.pk, refused.message)
        return {
            "version": model.version,
            "active": model.is_active,
            "kind": model.kind,
            "test": model.metrics.get("test", {}),
            # Whether it ranks better than counting events: the first thing to check.
            "best_baseline": model.metrics.get("best_baseline"),
            "beats_best_baseline": model.metrics.get("beats_best_baseline"),
            **({"activation_refused": refusal} if refusal else {}),
        }

    job_run_retrying(self, job_id, work)


@app.task(**job_task_options("learners.import", retries=3, minutes=30))
def import_upload_task(self: Task, job_id: str) -> None:
    """Import an uploaded CSV file (``learners.imports``); a redelivery re-runs it without
    duplicates. The file's content goes once the job has ended, whatever the outcome."""
    # Imported here: learners.imports sends this module's task and reads the CSV loop, which
    # needs learners.services complete (services imports this module at its top).
    from learners.imports import import_upload_job_ended, import_upload_run

    try:
        job_run_retrying(
            self,
            job_id,
            lambda job, report_progress: import_upload_run(
                job=job, report_progress=report_progress
            ),
        )
    except Retry:
        raise  # queued again after database trouble: the next run needs the file
    except BaseException:
        import_upload_job_ended(job_id=job_id)  # failed
        raise
    import_upload_job_ended(job_id=job_id)  # succeeded, cancelled, or not run (already ended)


@app.task(name="learners.import_uploads_clear")
def import_uploads_clear() -> int:
    """Uploaded files whose job died still hold personal data: emptied after the retention."""
    from learners.imports import import_uploads_clear as clear

    return clear()


@app.task(name="learners.rescore_daily")
def rescore_daily() -> str:
    """Risk grows without events (inactivity), so everyone is rescored once a day."""
    day = timezone.now().date().isoformat()
    return str(services.learners_rescore_request(idempotency_key=f"daily-{day}").pk)


@app.task(name="learners.rescore_stale")
def rescore_stale() -> str:
    """Learners with new activity since their last score, every few minutes."""
    slot = int(timezone.now().timestamp() // 600)
    job = services.learners_rescore_request(stale_only=True, idempotency_key=f"stale-{slot}")
    return str(job.pk)


#: Set inside ``one_stale_rescore_after``: the requests made there, none queued yet.
_DEFERRED: ContextVar[list[bool] | None] = ContextVar("stale_rescore_deferred", default=None)


def rescore_stale_soon() -> None:
    """Score new and changed learners soon after they arrive, wherever they came in.

    Once the current transaction commits, one stale-only rescore job is queued unless one is
    already waiting (a cache ``add`` decides, so a burst of batches costs one job); it runs right
    at that commit where tasks are eager (the embedded default, which has no beat). Inside
    ``one_stale_rescore_after`` the request waits for the block's end. The ``rescore-stale``
    schedule stays the safety net.
    """
    deferred = _DEFERRED.get()
    if deferred is not None:
        deferred.append(True)
        return
    transaction.on_commit(_enqueue_stale_rescore, robust=True)


@contextmanager
def one_stale_rescore_after() -> Iterator[None]:
    """Batches committed inside ask for no rescore of their own; one is asked for when the block
    ends (however it ends), if any of them asked.

    A file import commits chunk by chunk. Where tasks are eager, each chunk's request would
    rescore inline at its commit (a 50,000-row file on the demo data spent more than half its
    time in ten such rescores); with a worker, a rescore started part-way is stale again at the
    next chunk. Threads started inside see the block when started in a copy of this context
    (``contextvars.copy_context().run``).
    """
    asked: list[bool] = []
    token = _DEFERRED.set(asked)
    try:
        yield
    finally:
        _DEFERRED.reset(token)
        if asked:
            rescore_stale_soon()


def _enqueue_stale_rescore() -> None:
    if not cache.add(STALE_RESCORE_PENDING_KEY, 1, timeout=STALE_RESCORE_PENDING_SECONDS):
        return
    try:
        services.learners_rescore_request(stale_only=True)
    except Exception:
        cache.delete(STALE_RESCORE_PENDING_KEY)
        raise


@app.task(name="learners.risk_digest", acks_late=True)
def risk_digest() -> dict[str, int]:
    return risk_digest_send()
