"""What the nudges app's generation needs of a learner beyond the risk snapshot: the cohort it
belongs to, as seen by the caller (feature flags are limited by cohort)."""

import uuid
from collections.abc import Iterable
from typing import Any

from engagement.errors import NotFound
from learners.models import Learner
from learners.selectors import learner_queryset


def learner_cohort_in_scope(*, actor: Any, learner_id: uuid.UUID) -> uuid.UUID:
    """The learner's cohort id; ``NotFound`` when there is no such learner or it is outside the
    caller's cohorts (so an API answers 404, not 403). One query. ``actor`` ``None`` is the
    system (a campaign run), which sees every learner."""
    cohort_id = learner_cohorts_in_scope(actor=actor, learner_ids=[learner_id]).get(learner_id)
    if cohort_id is None:
        raise NotFound("No learner with this id.")
    return cohort_id


def learner_cohorts_in_scope(
    *, actor: Any, learner_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """Cohort ids by learner id of those ``learner_ids`` the caller may see (others absent), in
    one query whatever their number: a campaign writes a chunk of learners' nudges at once."""
    queryset = Learner.objects.all() if actor is None else learner_queryset(actor=actor)
    return dict(queryset.filter(pk__in=set(learner_ids)).values_list("pk", "cohort_id"))
