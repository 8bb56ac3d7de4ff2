import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from learners.ingestion.events import LearnerRef, parse_event
from learners.models import ActivityEvent, Learner
from learners.services import events_ingest, learners_touch_activity
from tests.factories import ActivityEventFactory, LearnerFactory

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
URL = "/api/v1/events/"


def event(learner_id: object = None, n: int = 1, **overrides: object) -> dict:
    item = {
        "source": "lms",
        "source_event_id": f"e-{n}",
        "kind": "lesson_completed",
        "occurred_at": (NOW - timedelta(hours=n)).isoformat(),
        "duration_seconds": 300,
        "score": None,
    }
    if learner_id is not None:
        item["learner_id"] = str(learner_id)
    return {**item, **overrides}


# parse_event: pure validation ------------------------------------------------------------------


def test_parse_accepts_external_reference_and_naive_time_as_utc() -> None:
    item = {
        **event(),
        "learner_external_id": "u1",
        "occurred_at": "2026-10-01T08:00:00",
        "score": "0.5",
    }
    record, errors = parse_event(item, now=NOW)
    assert errors == {}
    assert record is not None
    assert record.learner == LearnerRef(source="lms", external_id="u1")
    assert record.occurred_at == datetime(2026, 10, 1, 8, tzinfo=UTC)
    assert record.score == 0.5


def test_parse_converts_offsets_to_utc() -> None:
    record, _ = parse_event(
        event("0190a5f2-0000-7000-8000-000000000000", occurred_at="2026-10-01T10:00:00+02:00"),
        now=NOW,
    )
    assert record is not None
    assert record.occurred_at == datetime(2026, 10, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "dancing"}, "kind"),
        ({"occurred_at": "last tuesday"}, "occurred_at"),
        ({"occurred_at": 1700000000}, "occurred_at"),
        ({"occurred_at": "2030-01-01T00:00:00Z"}, "occurred_at"),
        ({"duration_seconds": -5}, "duration_seconds"),
        ({"duration_seconds": 1.5}, "duration_seconds"),
        ({"duration_seconds": "soon"}, "duration_seconds"),
        ({"duration_seconds": True}, "duration_seconds"),
        ({"score": 1.2}, "score"),
        ({"score": "high"}, "score"),
        ({"source": ""}, "source"),
        ({"source": "x" * 65}, "source"),
        ({"source_event_id": None}, "source_event_id"),
        ({"metadata": ["a"]}, "metadata"),
        ({"learner_id": "nope"}, "learner"),
    ],
)
def test_parse_reports_each_bad_field(overrides: dict, field: str) -> None:
    record, errors = parse_event(
        {**event("0190a5f2-0000-7000-8000-000000000000"), **overrides}, now=NOW
    )
    assert record is None
    assert field in errors


def test_parse_needs_some_learner_reference_and_an_object() -> None:
    assert "learner" in parse_event(event(), now=NOW)[1]
    assert parse_event(["not", "an", "object"], now=NOW)[1] == {
        "non_field_errors": ["Each event must be a JSON object."]
    }


def test_parse_collects_all_errors_at_once() -> None:
    _, errors = parse_event({"kind": "x"}, now=NOW)
    assert {"source", "source_event_id", "learner", "occurred_at", "kind"} <= set(errors)


# events_ingest: the service ----------------------------------------------------------------------


@pytest.mark.django_db
def test_ingest_is_idempotent_and_updates_last_active() -> None:
    learner = LearnerFactory()
    batch = [event(learner.id, n) for n in range(1, 6)]
    first = events_ingest(items=batch, now=NOW)
    assert (first.accepted, first.duplicates, first.rejected) == (5, 0, [])
    learner.refresh_from_db()
    assert learner.last_active_at == NOW - timedelta(hours=1)
    again = events_ingest(items=batch, now=NOW)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 5, [])
    assert ActivityEvent.objects.count() == 5


@pytest.mark.django_db
def test_older_events_do_not_move_last_active_back() -> None:
    learner = LearnerFactory()
    events_ingest(items=[event(learner.id, 1)], now=NOW)
    events_ingest(items=[event(learner.id, 50)], now=NOW)
    learner.refresh_from_db()
    assert learner.last_active_at == NOW - timedelta(hours=1)


@pytest.mark.django_db
def test_mixed_batch_reports_each_rejected_item() -> None:
    learner = LearnerFactory(source="moodle", external_id="m-7")
    ActivityEventFactory(learner=learner, source="lms", source_event_id="e-2")
    batch = [
        event(learner.id, 1),
        event(learner.id, 2),
        {**event(n=3), "learner_external_id": "m-7", "learner_source": "moodle"},
        event(learner.id, 4, kind="sleeping"),
        {**event(n=5), "learner_external_id": "ghost"},
        event("0190a5f2-0000-7000-8000-000000000000", 6),
        event(learner.id, 1),
    ]
    report = events_ingest(items=batch, now=NOW)
    assert report.accepted == 2
    assert report.duplicates == 2
    assert [row["index"] for row in report.rejected] == [3, 4, 5]
    assert "kind" in report.rejected[0]["errors"]
    assert "ghost" in report.rejected[1]["errors"]["learner_external_id"][0]
    assert "learner_id" in report.rejected[2]["errors"]


@pytest.mark.django_db
def test_insert_query_count_is_constant_in_rows_and_learners() -> None:
    """1,500 rows are past SQLite's 999 parameters: one statement still carries them all."""
    learners = LearnerFactory.create_batch(40)

    def batch(size: int, prefix: str) -> list[dict]:
        return [
            event(learners[n % len(learners)].id, n % 500, source_event_id=f"{prefix}-{n}")
            for n in range(size)
        ]

    with CaptureQueriesContext(connection) as small:
        events_ingest(items=batch(6, "a"), now=NOW)
    with CaptureQueriesContext(connection) as large:
        events_ingest(items=batch(1500, "b"), now=NOW)
    with CaptureQueriesContext(connection) as resent:
        again = events_ingest(items=batch(1500, "b"), now=NOW)
    assert len(small) == len(large)
    assert len(resent) <= len(large)
    assert (again.accepted, again.duplicates) == (0, 1500)
    assert ActivityEvent.objects.count() == 1506


def _learner_state() -> dict:
    return {
        row["id"]: row
        for row in Learner.objects.values("id", "last_active_at", "risk_stale", "updated_at")
    }


@pytest.mark.django_db
def test_last_active_and_risk_stale_match_a_full_recomputation() -> None:
    """Batches in any time order, with duplicates and repeats, leave exactly what recomputing
    from every stored event gives; learners without events are left alone."""
    learners = LearnerFactory.create_batch(12)
    Learner.objects.update(risk_stale=False)
    rng = random.Random(7)
    batches = [
        [
            event(
                rng.choice(learners[:9]).id,
                rng.randrange(1, 2000),
                source_event_id=f"e-{rng.randrange(600)}",
            )
            for _ in range(150)
        ]
        for _ in range(6)
    ]
    for batch in batches:
        events_ingest(items=batch, now=NOW)
    newest = dict(
        ActivityEvent.objects.values("learner_id")
        .annotate(newest=Max("occurred_at"))
        .values_list("learner_id", "newest")
    )
    state = _learner_state()
    assert {learner_id for learner_id, row in state.items() if row["risk_stale"]} == set(newest)
    assert {learner_id: row["last_active_at"] for learner_id, row in state.items()} == {
        learner.id: newest.get(learner.id) for learner in learners
    }


@pytest.mark.django_db
def test_resending_a_batch_changes_nothing() -> None:
    learners = LearnerFactory.create_batch(5)
    batch = [event(learners[n % 5].id, n, source_event_id=f"r-{n}") for n in range(1, 60)]
    events_ingest(items=batch, now=NOW)
    Learner.objects.filter(id=learners[0].id).update(risk_stale=False)  # rescored meanwhile
    before = _learner_state()
    again = events_ingest(items=batch, now=NOW)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 59, [])
    assert _learner_state() == before
    assert ActivityEvent.objects.count() == 59


@pytest.mark.django_db
def test_touch_writes_only_learners_it_changes() -> None:
    """Stale already, with a newer last activity: neither rewritten nor moved back."""
    quiet, stale, rescored = LearnerFactory.create_batch(3)
    Learner.objects.filter(id=stale.id).update(last_active_at=NOW, risk_stale=True)
    Learner.objects.filter(id=rescored.id).update(last_active_at=NOW, risk_stale=False)
    before = _learner_state()
    earlier = NOW - timedelta(days=2)
    learners_touch_activity(latest={quiet.id: earlier, stale.id: earlier, rescored.id: earlier})
    after = _learner_state()
    assert after[stale.id] == before[stale.id]
    assert (after[quiet.id]["last_active_at"], after[quiet.id]["risk_stale"]) == (earlier, True)
    assert after[quiet.id]["updated_at"] > before[quiet.id]["updated_at"]
    assert (after[rescored.id]["last_active_at"], after[rescored.id]["risk_stale"]) == (NOW, True)
    learners_touch_activity(latest={})
    assert _learner_state() == after


# POST /api/v1/events/ ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_requires_authentication(api_client: APIClient) -> None:
    assert api_client.post(URL, [], format="json").status_code == 401


@pytest.mark.django_db
def test_api_reports_counts(auth_client: APIClient) -> None:
    learner = LearnerFactory()
    batch = [event(learner.id, 1), event(learner.id, 2, kind="nap")]
    response = auth_client.post(URL, batch, format="json")
    assert response.status_code == 200
    assert response.data["accepted"] == 1
    assert response.data["duplicates"] == 0
    assert response.data["rejected"] == [
        {"index": 1, "errors": {"kind": [response.data["rejected"][0]["errors"]["kind"][0]]}}
    ]
    assert auth_client.post(URL, batch[:1], format="json").data == {
        "accepted": 0,
        "duplicates": 1,
        "rejected": [],
    }


@pytest.mark.django_db
def test_api_accepts_other_activity(auth_client: APIClient) -> None:
    learner = LearnerFactory()
    response = auth_client.post(URL, [event(learner.id, kind="other")], format="json")
    assert response.status_code == 200
    assert response.data["accepted"] == 1
    assert ActivityEvent.objects.get(learner=learner).kind == "other"


@pytest.mark.django_db
def test_api_all_rejected_is_400(auth_client: APIClient) -> None:
    response = auth_client.post(URL, [{"kind": "x"}], format="json")
    assert response.status_code == 400
    assert response.data["rejected"][0]["index"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"kind": "login"}, [], "text"])
def test_api_needs_a_non_empty_array(auth_client: APIClient, body: object) -> None:
    response = auth_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.data


@pytest.mark.django_db
def test_api_malformed_json_is_400(auth_client: APIClient) -> None:
    response = auth_client.post(URL, "[{", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.data["detail"]


@pytest.mark.django_db
def test_api_refuses_oversized_batches(auth_client: APIClient, settings: object) -> None:
    settings.INGEST_MAX_EVENTS = 3
    response = auth_client.post(URL, [event(n=n) for n in range(4)], format="json")
    assert response.status_code == 400
    assert "At most 3 events" in response.data["non_field_errors"][0]
    assert ActivityEvent.objects.count() == 0


@pytest.mark.django_db
def test_api_refuses_bodies_over_the_upload_limit(auth_client: APIClient, settings: object) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = auth_client.post(URL, [event(n=n) for n in range(5)], format="json")
    assert response.status_code == 413
    assert "larger than 100 bytes" in response.data["detail"]
