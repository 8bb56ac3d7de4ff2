"""The ingestion hook: listeners hear of each batch's new events (duplicates excluded), once
per batch, as learner id -> times, oldest first."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from learners import activity_listeners
from learners.contracts import activity_listener_add
from learners.services import events_ingest
from tests.factories import LearnerFactory

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def heard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Only a recording listener is registered for the test."""
    batches: list[Any] = []
    monkeypatch.setattr(activity_listeners, "_listeners", [])
    activity_listener_add(batches.append)
    yield batches


def item(learner: Any, n: int, hours: int) -> dict[str, Any]:
    return {
        "learner_id": str(learner.pk),
        "source": "lms",
        "source_event_id": f"hook-{n}",
        "kind": "login",
        "occurred_at": (NOW - timedelta(hours=hours)).isoformat(),
    }


@pytest.mark.django_db
def test_listeners_hear_each_batch_of_new_events(heard: list[Any]) -> None:
    ada, bob = LearnerFactory(), LearnerFactory()
    events_ingest(items=[item(ada, 1, 1), item(ada, 2, 5), item(bob, 3, 2)], now=NOW)
    events_ingest(items=[item(ada, 1, 1), item(bob, 4, 3)], now=NOW)  # hook-1 again: a duplicate
    events_ingest(items=[item(ada, 2, 5)], now=NOW)  # nothing new: nobody is told
    assert [dict(batch) for batch in heard] == [
        {
            ada.pk: (NOW - timedelta(hours=5), NOW - timedelta(hours=1)),
            bob.pk: (NOW - timedelta(hours=2),),
        },
        {bob.pk: (NOW - timedelta(hours=3),)},
    ]
    with pytest.raises(TypeError):
        heard[0][ada.pk] = ()  # read-only


def test_a_listener_registers_once(heard: list[Any]) -> None:
    with pytest.raises(ImproperlyConfigured):
        activity_listener_add(heard.append)
