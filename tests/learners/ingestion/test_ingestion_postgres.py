"""What only a real PostgreSQL shows: concurrent, overlapping ingestion batches."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

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
