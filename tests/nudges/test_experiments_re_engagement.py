"""Re-engagement, marked during ingestion (every door), set-based: a sent nudge and an
experiment assignment keep the learner's first activity within the attribution window after
exposure (the send; the assignment for the holdout)."""

import uuid
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from learners.models import Learner
from learners.services import events_ingest
from nudges.experiments import experiment_assign, re_engagement_record
from nudges.models import ExperimentAssignment, Nudge
from tests.factories import LearnerFactory
from tests.nudges.experiments_factories import experiment, sent_nudge

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
SENT = NOW - timedelta(days=3)


def event(learner: Learner, at: datetime, n: int = 1) -> dict[str, Any]:
    return {
        "learner_id": str(learner.pk),
        "source": "lms",
        "source_event_id": f"{learner.pk}-{n}-{at.isoformat()}",
        "kind": "login",
        "occurred_at": at.isoformat(),
    }


def test_the_first_activity_after_the_send_re_engages_the_nudge() -> None:
    learner = LearnerFactory()
    nudge = sent_nudge(learner, SENT)
    events_ingest(items=[event(learner, SENT - timedelta(hours=1))], now=NOW)
    nudge.refresh_from_db()
    assert nudge.re_engaged_at is None  # before the send: not a response to it

    events_ingest(items=[event(learner, SENT + timedelta(days=2))], now=NOW)
    nudge.refresh_from_db()
    assert nudge.re_engaged_at == SENT + timedelta(days=2)

    # An earlier event arriving late still counts as the first; a later one changes nothing.
    events_ingest(
        items=[event(learner, SENT + timedelta(days=1), 2), event(learner, NOW, 3)], now=NOW
    )
    nudge.refresh_from_db()
    assert nudge.re_engaged_at == SENT + timedelta(days=1)


def test_activity_after_the_window_does_not_count(settings: Any) -> None:
    settings.NUDGE_ATTRIBUTION_DAYS = 2
    learner = LearnerFactory()
    nudge = sent_nudge(learner, SENT)
    unsent = Nudge.objects.create(learner=learner, channel="email", source="template", body="x")
    events_ingest(items=[event(learner, SENT + timedelta(days=2, seconds=1))], now=NOW)
    nudge.refresh_from_db()
    unsent.refresh_from_db()
    assert nudge.re_engaged_at is None
    assert unsent.re_engaged_at is None
    events_ingest(items=[event(learner, SENT + timedelta(days=2), 2)], now=NOW)
    nudge.refresh_from_db()
    assert nudge.re_engaged_at == SENT + timedelta(days=2)


def test_an_experiment_nudge_uses_the_experiment_window() -> None:
    trial = experiment(attribution_days=1)
    learner = LearnerFactory()
    nudge = sent_nudge(learner, SENT, experiment=trial)
    events_ingest(items=[event(learner, SENT + timedelta(days=2))], now=NOW)
    nudge.refresh_from_db()
    assert nudge.re_engaged_at is None


def _arms(trial: Any, count: int) -> tuple[list[Learner], list[Learner]]:
    """``count`` learners assigned at SENT, split into the holdout and the variants' arms."""
    learners = LearnerFactory.create_batch(count)
    arms = experiment_assign(trial, [learner.pk for learner in learners], now=SENT)
    holdout = [learner for learner in learners if arms[learner.pk] is None]
    treated = [learner for learner in learners if arms[learner.pk] is not None]
    return holdout, treated


def test_assignments_count_from_the_send_and_the_holdout_from_assignment() -> None:
    trial = experiment(holdout_share=0.5)
    holdout, treated = _arms(trial, 16)
    sent_later = SENT + timedelta(days=1)
    for learner in treated:
        sent_nudge(learner, sent_later, experiment=trial)
    between = SENT + timedelta(hours=12)  # after assignment, before the variants' send
    events_ingest(items=[event(learner, between) for learner in holdout + treated], now=NOW)

    assignments = {a.learner_id: a for a in ExperimentAssignment.objects.filter(experiment=trial)}
    assert all(assignments[learner.pk].re_engaged_at == between for learner in holdout)
    assert all(assignments[learner.pk].re_engaged_at is None for learner in treated)

    after = SENT + timedelta(days=2)
    events_ingest(items=[event(learner, after, 2) for learner in treated], now=NOW)
    for assignment in ExperimentAssignment.objects.filter(learner__in=treated):
        assert assignment.re_engaged_at == after
        assert assignment.exposed_at == sent_later


def test_a_variant_learner_never_sent_a_nudge_is_not_re_engaged() -> None:
    trial = experiment(holdout_share=0.0)
    _, treated = _arms(trial, 3)
    events_ingest(items=[event(learner, NOW) for learner in treated], now=NOW)
    assert not ExperimentAssignment.objects.filter(re_engaged_at__isnull=False).exists()


def test_the_events_api_marks_re_engagement(auth_client: APIClient) -> None:
    learner = LearnerFactory()
    nudge = sent_nudge(learner, SENT)
    response = auth_client.post(
        "/api/v1/events/", [event(learner, SENT + timedelta(hours=5))], format="json"
    )
    assert response.status_code == 200
    nudge.refresh_from_db()
    assert nudge.re_engaged_at == SENT + timedelta(hours=5)


def test_xapi_statements_mark_re_engagement(auth_client: APIClient) -> None:
    learner = LearnerFactory(source="lms.example.edu", external_id="u-7")
    nudge = sent_nudge(learner, SENT)
    at = SENT + timedelta(hours=6)
    statement = {
        "id": str(uuid.uuid4()),
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": "https://lms.example.edu", "name": "u-7"},
        },
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"objectType": "Activity", "id": "https://lms.example.edu/course/1"},
        "timestamp": at.isoformat(),
    }
    auth_client.credentials(HTTP_X_EXPERIENCE_API_VERSION="1.0.3")
    response = auth_client.post("/api/v1/xapi/statements", statement, format="json")
    assert response.status_code == 200, response.json()
    nudge.refresh_from_db()
    assert nudge.re_engaged_at == at


def test_a_csv_import_marks_re_engagement(tmp_path: Path) -> None:
    learner = LearnerFactory(external_id="csv-1")
    nudge = sent_nudge(learner, SENT)
    at = SENT + timedelta(hours=7)
    path = tmp_path / "activity.csv"
    path.write_text(
        "learner_external_id,source,kind,occurred_at,duration_seconds,score,source_event_id\n"
        f"csv-1,lms,login,{at.isoformat()},,,c1\n",
        encoding="utf-8",
    )
    call_command("import_activity", str(path), stdout=StringIO(), stderr=StringIO())
    nudge.refresh_from_db()
    assert nudge.re_engaged_at == at


def _scenario(count: int) -> dict[uuid.UUID, tuple[datetime, ...]]:
    """``count`` learners in an experiment, each sent a nudge, and one event each after it."""
    trial = experiment(holdout_share=0.3)
    holdout, treated = _arms(trial, count)
    for learner in treated:
        sent_nudge(learner, SENT, experiment=trial)
    for learner in holdout:
        sent_nudge(learner, SENT)
    return {learner.pk: (SENT + timedelta(hours=1),) for learner in holdout + treated}


def test_marking_takes_four_queries_whatever_the_batch(django_assert_num_queries: Any) -> None:
    small, large = _scenario(4), _scenario(40)
    with django_assert_num_queries(4):
        re_engagement_record(small)
    with django_assert_num_queries(4):
        re_engagement_record(large)
    assert Nudge.objects.filter(re_engaged_at__isnull=False).count() == 44
    assert ExperimentAssignment.objects.filter(re_engaged_at__isnull=False).count() == 44
    with django_assert_num_queries(2):  # nothing left to mark: no update
        re_engagement_record(large)


def test_ingestion_queries_do_not_grow_with_the_batch() -> None:
    _scenario(3)

    def batch(learners: list[Learner], prefix: str) -> list[dict[str, Any]]:
        return [
            {**event(learner, SENT + timedelta(hours=2)), "source_event_id": f"{prefix}-{n}"}
            for n, learner in enumerate(learners)
        ]

    small = LearnerFactory.create_batch(3)
    large = LearnerFactory.create_batch(30)
    for learner in small + large:
        sent_nudge(learner, SENT)
    with CaptureQueriesContext(connection) as few:
        events_ingest(items=batch(small, "a"), now=NOW)
    with CaptureQueriesContext(connection) as many:
        events_ingest(items=batch(large, "b"), now=NOW)
    assert len(few) == len(many)
    assert Nudge.objects.filter(learner__in=large, re_engaged_at__isnull=False).count() == 30
