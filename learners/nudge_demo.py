"""What the nudges demo (``manage.py seed_nudges_demo``) reads of learners: who a past campaign
would have reached, and their activity since, which the demo hands to the re-engagement
listener as ingestion would have. Exported by ``learners.contracts``."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from django.db.models import Exists, OuterRef, Q

from learners.activity_listeners import Activity
from learners.models import ActivityEvent, Cohort, Learner


@dataclass(frozen=True, slots=True)
class InactiveLearner:
    """A learner who was studying at a past instant and had been inactive for a while."""

    learner_id: uuid.UUID
    cohort_id: uuid.UUID


def inactive_learners_at(
    *, as_of: datetime, inactive_days: int, cohort_ids: frozenset[uuid.UUID] | None = None
) -> tuple[InactiveLearner, ...]:
    """Learners enrolled and not yet finished at ``as_of`` with no activity in the
    ``inactive_days`` before it (of ``cohort_ids`` only, when given), by id; one query."""
    recent = ActivityEvent.objects.filter(
        learner_id=OuterRef("pk"),
        occurred_at__gte=as_of - timedelta(days=inactive_days),
        occurred_at__lt=as_of,
    )
    learners = Learner.objects.filter(
        Q(finished_at__isnull=True) | Q(finished_at__gt=as_of), enrolled_at__lte=as_of
    ).filter(~Exists(recent))
    if cohort_ids is not None:
        learners = learners.filter(cohort_id__in=cohort_ids)
    return tuple(
        InactiveLearner(learner_id=learner_id, cohort_id=cohort_id)
        for learner_id, cohort_id in learners.order_by("id").values_list("id", "cohort_id")
    )


def learner_activity(
    learner_ids: Collection[uuid.UUID], *, since: datetime, until: datetime
) -> Activity:
    """The stored activity of these learners in ``(since, until]``, each learner's times oldest
    first (learners without any are absent): the shape ingestion hands activity listeners, so
    that a listener (re-engagement) can be given activity written without it; one query."""
    events = (
        ActivityEvent.objects.filter(
            learner_id__in=learner_ids, occurred_at__gt=since, occurred_at__lte=until
        )
        .order_by("learner_id", "occurred_at")
        .values_list("learner_id", "occurred_at")
    )
    times: dict[uuid.UUID, list[datetime]] = {}
    for learner_id, occurred_at in events.iterator():
        times.setdefault(learner_id, []).append(occurred_at)
    return MappingProxyType({learner_id: tuple(stamps) for learner_id, stamps in times.items()})


def recent_cohort_ids(count: int) -> tuple[uuid.UUID, ...]:
    """The ``count`` cohorts that started last, newest first (the demo coach's); one query."""
    return tuple(Cohort.objects.order_by("-starts_on").values_list("pk", flat=True)[:count])
