"""Listeners told of each batch of activity that ingestion has just written.

Another app registers a function from its ``AppConfig.ready()`` through
``learners.contracts.activity_listener_add`` (the nudges app: marking the nudges and experiment
assignments that the activity re-engages). Every ingestion door (the events API, xAPI, CSV
import) stores events through ``learners.services.events_store``, which calls
:func:`activity_notify` once per batch with the events that landed (duplicates excluded): a
read-only mapping of learner id to the times of their new events, oldest first. A listener
must keep its query count constant whatever the batch; it runs after the events are committed,
in its own transaction, and an error in it fails the request (the events stay stored).
"""

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

Activity = Mapping[uuid.UUID, Sequence[datetime]]
ActivityListener = Callable[[Activity], None]

_listeners: list[ActivityListener] = []


def activity_listener_add(listener: ActivityListener) -> None:
    """Call ``listener`` with every batch of new activity (once per function)."""
    if listener in _listeners:
        raise ImproperlyConfigured(f"Activity listener {listener!r} is registered twice.")
    _listeners.append(listener)


def activity_notify(events: Iterable[tuple[uuid.UUID, datetime]]) -> None:
    """Tell every listener of these ``(learner id, occurred at)`` events, just written."""
    times: dict[uuid.UUID, list[datetime]] = {}
    for learner_id, occurred_at in events:
        times.setdefault(learner_id, []).append(occurred_at)
    if not times or not _listeners:
        return
    activity = MappingProxyType(
        {learner_id: tuple(sorted(stamps)) for learner_id, stamps in times.items()}
    )
    for listener in _listeners:
        with transaction.atomic():
            listener(activity)
