"""What the nudges demo (``manage.py seed_nudges_demo``) reads of learners: who a past campaign
would have reached, and when each of them was next active. Exported by ``learners.contracts``."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q

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


def first_activity_after(
    starts: Mapping[uuid.UUID, datetime], *, within: timedelta
) -> dict[uuid.UUID, datetime]:
    """Each learner's first activity strictly after their start and at most ``within`` later
    (learners without one are absent); one query whatever the number of learners."""
    if not starts:
        return {}
    events = (
        ActivityEvent.objects.filter(
            learner_id__in=starts,
            occurred_at__gt=min(starts.values()),
            occurred_at__lte=max(starts.values()) + within,
        )
        .order_by("learner_id", "occurred_at")
        .values_list("learner_id", "occurred_at")
    )
    first: dict[uuid.UUID, datetime] = {}
    for learner_id, occurred_at in events.iterator():
        start = starts[learner_id]
        if learner_id not in first and start < occurred_at <= start + within:
            first[learner_id] = occurred_at
    return first


def recent_cohort_ids(count: int) -> tuple[uuid.UUID, ...]:
    """The ``count`` cohorts that started last, newest first (the demo coach's); one query."""
    return tuple(Cohort.objects.order_by("-starts_on").values_list("pk", flat=True)[:count])
