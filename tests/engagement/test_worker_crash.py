"""A worker killed mid-job (SIGKILL) loses nothing: the broker redelivers the job, another worker
finishes it, and nothing is written twice. A real worker process, a real Redis broker (started
here on its own port) and the PostgreSQL test database, which worker and test share.

The worker is killed after it stored at least one chunk of assessments and before the last, so
a re-run that scored "now" again (instead of as of the job's first start) would add a second
assessment for the learners of the stored chunks, and this test would fail.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F

from engagement.models import Job, JobStatus
from learners.models import Learner, RiskAssessment
from learners.risk.services import CHUNK_SIZE
from tests.own_services import OwnRedis, own_redis

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 3  # seconds before an unacknowledged message is delivered again

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.celery,
    pytest.mark.django_db(transaction=True),
]


def _worker_environment(broker: OwnRedis) -> dict[str, str]:
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CACHE_URL", "CELERY_TASK_ALWAYS_EAGER"}
    }
    environment.update(
        DATABASE_URL=url,
        DATABASE_POOL="false",
        CELERY_BROKER_URL=broker.url(),
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
    )
    return environment


def _start_worker(broker: OwnRedis, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "engagement",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=_worker_environment(broker),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _wait_for(condition: Callable[[], bool], *, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}; worker log:\n{log.read_text()[-4000:]}")
        time.sleep(0.02)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[OwnRedis]:
    with own_redis(tmp_path) as server:
        yield server


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for worker in started:
        if worker.poll() is None:
            worker.kill()
        worker.wait()


def _job(pk: Any) -> Job:
    return Job.objects.get(pk=pk)


def test_a_job_whose_worker_is_killed_is_redelivered_and_finished_once(
    rules_model: Any,
    broker: OwnRedis,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    call_command("seed_demo", cohorts=2, learners=6000, days=120, seed=3, verbosity=0)
    learners = Learner.objects.count()
    assert learners > 2 * CHUNK_SIZE  # several chunks: the kill can fall between two of them
    job = Job.objects.create(
        kind="learners.rescore", params={"cohort_id": None, "as_of": None, "stale_only": False}
    )
    log = tmp_path / "worker.log"
    workers.append(_start_worker(broker, log))
    Celery(broker=broker.url()).send_task(
        "learners.rescore", args=[str(job.pk)], headers={"request_id": "crash-test"}
    )

    _wait_for(
        lambda: 0 < _job(job.pk).progress < 1,
        seconds=120,
        what="the job to store its first chunk",
        log=log,
    )
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()
    killed_at = time.monotonic()
    assert _job(job.pk).status == JobStatus.RUNNING  # killed mid-job, not after it
    stored = RiskAssessment.objects.count()
    assert 0 < stored < learners, stored  # some chunks written before the kill, not all

    _wait_for(
        lambda: time.monotonic() - killed_at > VISIBILITY_TIMEOUT,
        seconds=VISIBILITY_TIMEOUT + 1,
        what="the visibility timeout",
        log=log,
    )
    workers.append(_start_worker(broker, log))
    _wait_for(
        lambda: _job(job.pk).status != JobStatus.RUNNING,
        seconds=120,
        what="the redelivered job",
        log=log,
    )

    finished = _job(job.pk)
    assert finished.status == JobStatus.SUCCEEDED, finished.error
    assert finished.progress == 1
    per_learner = RiskAssessment.objects.values("learner_id").annotate(n=Count("id"))
    assert per_learner.count() == learners  # nothing lost
    assert {row["n"] for row in per_learner} == {1}  # nothing doubled
    # Learners studying are scored as of the job's first start, the same in both runs
    # (finished ones as of their finish).
    scored_now = RiskAssessment.objects.exclude(as_of=F("learner__finished_at"))
    assert set(scored_now.values_list("as_of", flat=True).distinct()) == {finished.started_at}
    assert "crash-test" in log.read_text()  # the worker logged under the publisher's request id
