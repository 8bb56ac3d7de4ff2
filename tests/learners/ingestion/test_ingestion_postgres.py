"""What only a real PostgreSQL shows: concurrent, overlapping ingestion batches."""

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Max

from learners.models import ActivityEvent, Learner
from learners.services import IngestReport, events_ingest
from tests.factories import LearnerFactory

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _batch(learner_ids: list[str], start: int, size: int) -> list[dict]:
    return [
        {
            "learner_id": learner_ids[n % len(learner_ids)],
            "source": "lms",
            "source_event_id": f"evt-{n}",
            "kind": "content_view",
            "occurred_at": (NOW - timedelta(minutes=n)).isoformat(),
        }
        for n in range(start, start + size)
    ]


def _ingest_in_own_connection(batch: list[dict]) -> IngestReport:
    try:
        return events_ingest(items=list(reversed(batch)) if len(batch) % 2 else batch, now=NOW)
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_batches_store_each_event_once() -> None:
    learner_ids = [str(learner.id) for learner in LearnerFactory.create_batch(7)]
    batches = [
        _batch(learner_ids, start, 1201 if index % 2 else 1200)
        for index, start in enumerate((0, 300, 600, 150, 450, 900))
    ]
    expected = {item["source_event_id"] for batch in batches for item in batch}
    with ThreadPoolExecutor(max_workers=6) as pool:
        reports = list(pool.map(_ingest_in_own_connection, batches))
    assert all(report.rejected == [] for report in reports)
    assert sum(report.accepted for report in reports) == len(expected)
    assert sum(report.accepted + report.duplicates for report in reports) == sum(
        len(batch) for batch in batches
    )
    assert ActivityEvent.objects.count() == len(expected)
    assert not Learner.objects.filter(last_active_at__isnull=True).exists()
    assert Learner.objects.order_by("-last_active_at").first().last_active_at == NOW - timedelta(
        minutes=0
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_concurrent_batches_sharing_learners_leave_the_full_recomputation() -> None:
    """Four batches at once over the same learners, times in no order: no deadlock, every event
    stored once, and each learner's last activity what recomputing from every event gives."""
    learners = LearnerFactory.create_batch(40)
    Learner.objects.update(risk_stale=False)
    learner_ids = sorted(str(learner.id) for learner in learners[:30])
    rng = random.Random(3)
    batches = [
        [
            {
                "learner_id": rng.choice(learner_ids),
                "source": "lms",
                "source_event_id": f"evt-{rng.randrange(6000)}",
                "kind": "login",
                "occurred_at": (NOW - timedelta(minutes=rng.randrange(50_000))).isoformat(),
            }
            for _ in range(2500)
        ]
        for _ in range(4)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(_ingest_in_own_connection, batches))
    assert all(report.rejected == [] for report in reports)
    assert sum(report.accepted for report in reports) == ActivityEvent.objects.count()
    assert sum(report.accepted + report.duplicates for report in reports) == 4 * 2500
    newest = dict(
        ActivityEvent.objects.values("learner_id")
        .annotate(newest=Max("occurred_at"))
        .values_list("learner_id", "newest")
    )
    state = {
        row[0]: row[1:] for row in Learner.objects.values_list("id", "last_active_at", "risk_stale")
    }
    assert state == {
        learner.id: (newest.get(learner.id), learner.id in newest) for learner in learners
    }
