"""What the learners app counts for Prometheus: ingestion by door, rescoring, cache uses, and
the current risk read set-based (one statement, cached) for every scrape."""

import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry

from learners import monitoring
from learners.ingestion.xapi_statements import xapi_statements_ingest
from learners.monitoring import RiskCollector
from learners.risk.selectors import risk_distribution
from learners.services import events_ingest, learners_rescore_request
from tests.factories import LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def ingested(door: str) -> tuple[float, float, float]:
    return tuple(  # type: ignore[return-value]
        sample("learners_events_ingested_total", door=door, outcome=outcome)
        for outcome in ("accepted", "duplicate", "rejected")
    )


def grew(before: tuple[float, ...], after: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(new - old for old, new in zip(before, after, strict=True))


def item(learner: Any, n: int) -> dict[str, Any]:
    return {
        "learner_id": str(learner.pk),
        "source": "lms",
        "source_event_id": f"m-{n}",
        "kind": "login",
        "occurred_at": (timezone.now() - timedelta(hours=n)).isoformat(),
    }


def test_api_batches_count_accepted_duplicates_and_rejected() -> None:
    learner = LearnerFactory()
    before = ingested("api")
    events_ingest(items=[item(learner, 1), item(learner, 1), {"kind": "nope"}])
    assert grew(before, ingested("api")) == (1, 1, 1)


def test_csv_imports_count_at_their_own_door(tmp_path: Path) -> None:
    LearnerFactory(source="moodle", external_id="u1")
    path = tmp_path / "activity.csv"
    path.write_text(
        "learner_external_id,source,kind,occurred_at,duration_seconds,score,source_event_id\n"
        "u1,moodle,login,2026-03-03T10:00:00Z,,,a1\n"
        "ghost,moodle,login,2026-03-03T10:00:00Z,,,a2\n"
    )
    before = ingested("csv")
    call_command("import_activity", str(path), stdout=StringIO(), stderr=StringIO())
    assert grew(before, ingested("csv")) == (1, 0, 1)


def test_xapi_statements_count_at_their_own_door() -> None:
    LearnerFactory(source="lms.example.edu", external_id="u-1")
    body = {
        "id": str(uuid.uuid4()),
        "actor": {"account": {"homePage": "https://lms.example.edu", "name": "u-1"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "https://lms.example.edu/course/1"},
        "timestamp": (timezone.now() - timedelta(hours=1)).isoformat(),
    }
    before = ingested("xapi")
    xapi_statements_ingest(statements=[body])
    xapi_statements_ingest(statements=[body])
    assert grew(before, ingested("xapi")) == (1, 1, 0)


def test_cache_hits_and_misses_are_counted_per_use(auth_client: Any) -> None:
    learner = LearnerFactory()

    def lookups(use: str) -> tuple[float, float]:
        return (
            sample("engagement_cache_lookups_total", use=use, result="hit"),
            sample("engagement_cache_lookups_total", use=use, result="miss"),
        )

    before = lookups("learner_detail")
    auth_client.get(f"/api/v1/learners/{learner.pk}/")
    auth_client.get(f"/api/v1/learners/{learner.pk}/")
    assert grew(before, lookups("learner_detail")) == (1, 1)


def test_a_rescore_job_records_its_duration_by_scope(
    django_capture_on_commit_callbacks: Any,
) -> None:
    LearnerFactory()
    before = sample("learners_rescore_duration_seconds_count", scope="all")
    with django_capture_on_commit_callbacks(execute=True):
        learners_rescore_request(requested_by=UserFactory())
    assert sample("learners_rescore_duration_seconds_count", scope="all") == before + 1


def test_the_risk_distribution_is_one_statement_and_then_cached() -> None:
    for score, band in ((0.05, "low"), (0.45, "medium"), (0.95, "high"), (0.97, "high")):
        LearnerFactory(risk_score=score, risk_band=band, risk_scored_at=datetime.now(UTC))
    LearnerFactory()  # not scored yet
    LearnerFactory(risk_score=0.9, risk_band="high", status="completed")  # finished: not counted
    with CaptureQueriesContext(connection) as queries:
        distribution = risk_distribution()
        again = risk_distribution()
    assert len(queries) == 1
    assert again == distribution
    assert distribution.bands == {"low": 1, "medium": 1, "high": 2, "unscored": 1}
    assert dict(distribution.buckets)[0.1] == 1
    assert dict(distribution.buckets)[0.5] == 2
    assert dict(distribution.buckets)[1.0] == distribution.scored == 4
    assert distribution.score_sum == pytest.approx(2.42)


def test_the_collector_shows_bands_and_scores_on_the_page(settings: Any) -> None:
    LearnerFactory(risk_score=0.95, risk_band="high", risk_scored_at=datetime.now(UTC))
    settings.METRICS_OPEN = True
    page = Client().get("/metrics").content.decode()
    assert 'learners_risk_band_learners{band="high"} 1.0' in page
    assert 'learners_risk_band_learners{band="low"} 0.0' in page
    assert 'learners_risk_score_bucket{le="+Inf"} 1.0' in page


def test_the_page_still_answers_when_the_risk_cannot_be_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unavailable() -> None:
        raise DatabaseError("connection refused")

    monkeypatch.setattr(monitoring, "risk_distribution", unavailable)
    page = CollectorRegistry()
    page.register(RiskCollector())
    assert page.get_sample_value("learners_risk_band_learners", {"band": "high"}) is None
