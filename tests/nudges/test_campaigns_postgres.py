"""Campaign runs against PostgreSQL: bounded concurrency, and a worker killed mid-campaign.

The crash test runs a real Celery worker on its own Redis broker (as
``tests/engagement/test_worker_crash.py`` does), kills it (SIGKILL) once the run stored some of
its nudges, starts another and checks that the redelivered run finished with every learner
nudged exactly once.
"""

import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.db.models import Count
from django.utils import timezone

from engagement.models import Job, JobStatus
from learners.models import Learner
from nudges import campaigns, generation
from nudges.campaigns import campaign_create, campaign_run_request
from nudges.models import Campaign, Nudge, NudgeStatus
from tests.engagement import test_worker_crash as crash
from tests.factories import CohortFactory
from tests.nudges.campaigns_factories import scored_learner
from tests.nudges.campaigns_fakes import install
from tests.own_services import OwnRedis

ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 4

broker = crash.broker
workers = crash.workers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_run_writes_on_at_most_the_configured_number_of_threads(
    user: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CAMPAIGN_CONCURRENCY = CONCURRENCY
    fakes = install(monkeypatch)
    cohort = CohortFactory()
    for _ in range(3 * CONCURRENCY):
        scored_learner(cohort)
    campaign = campaign_create(actor=user, name="Wide", channel="email", cohort_ids=[cohort.pk])
    # Each wave of writers meets here: a run on fewer threads never gets past the first.
    together = threading.Barrier(CONCURRENCY, timeout=30)
    lock = threading.Lock()
    in_flight, most = 0, 0

    def generate(**kwargs: Any) -> Nudge:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        together.wait()
        try:
            return fakes.nudge_generate(**kwargs)
        finally:
            with lock:
                in_flight -= 1

    monkeypatch.setattr(generation, "nudge_generate", generate)

    job = campaign_run_request(campaign=campaign, requested_by=user, in_process=True)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert most == CONCURRENCY
    assert Nudge.objects.filter(campaign=campaign).count() == 3 * CONCURRENCY


def _learners(count: int) -> None:
    """Scored, long-inactive learners in bulk (the campaign reads only these columns)."""
    cohort = CohortFactory()
    now = timezone.now()
    Learner.objects.bulk_create(
        Learner(
            source="lms",
            external_id=f"crash-{n}",
            cohort=cohort,
            enrolled_at=now - timedelta(days=60),
            last_active_at=now - timedelta(days=20),
            risk_score=0.9,
            risk_band="high",
            risk_scored_at=now,
        )
        for n in range(count)
    )


def _start_worker(broker: OwnRedis, log: Path) -> subprocess.Popen[bytes]:
    environment = crash._worker_environment(broker)
    environment["CAMPAIGN_CONCURRENCY"] = str(CONCURRENCY)
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.nudges.campaigns_worker"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.celery
def test_a_worker_killed_mid_campaign_loses_and_doubles_nothing(
    user: Any,
    broker: OwnRedis,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    # Ten steps: the kill lands mid-run (progress is polled every 20 ms, a step takes far longer).
    learners = 10 * campaigns.CHUNK_SIZE
    _learners(learners)
    campaign = campaign_create(
        actor=user, name="Crash", channel="in_app", approval=Campaign.Approval.AUTO
    )
    job = Job.objects.create(
        kind="nudges.campaign_run",
        params={"campaign_id": str(campaign.pk), "occurrence": ""},
        requested_by=user,
    )
    log = tmp_path / "worker.log"
    workers.append(_start_worker(broker, log))
    Celery(broker=broker.url()).send_task("nudges.campaign_run", args=[str(job.pk)])

    def job_now() -> Job:
        return Job.objects.get(pk=job.pk)

    crash._wait_for(
        lambda: 0 < job_now().progress < 1, seconds=120, what="the first nudges", log=log
    )
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()
    killed_at = time.monotonic()
    assert job_now().status == JobStatus.RUNNING
    assert 0 < Nudge.objects.count() < learners

    crash._wait_for(
        lambda: time.monotonic() - killed_at > crash.VISIBILITY_TIMEOUT,
        seconds=crash.VISIBILITY_TIMEOUT + 1,
        what="the visibility timeout",
        log=log,
    )
    workers.append(_start_worker(broker, log))
    crash._wait_for(
        lambda: job_now().status != JobStatus.RUNNING, seconds=180, what="the rerun", log=log
    )

    finished = job_now()
    assert finished.status == JobStatus.SUCCEEDED, finished.error
    assert finished.result is not None
    assert finished.result["selected"] == learners
    assert finished.result["existing"] > 0  # the redelivered run found the first one's nudges
    per_learner = Nudge.objects.values("learner_id").annotate(n=Count("id"))
    assert per_learner.count() == learners  # nothing lost
    assert {row["n"] for row in per_learner} == {1}  # nothing doubled
    assert set(Nudge.objects.values_list("status", flat=True)) == {NudgeStatus.SENT}
