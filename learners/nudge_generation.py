"""What the nudges app's generation needs of a learner beyond the risk snapshot: the cohort it
belongs to, as seen by the caller (feature flags are limited by cohort)."""

import uuid
from typing import Any

from engagement.errors import NotFound
from learners.models import Learner
from learners.selectors import learner_queryset


def learner_cohort_in_scope(*, actor: Any, learner_id: uuid.UUID) -> uuid.UUID:
    """The learner's cohort id; ``NotFound`` when there is no such learner or it is outside the
    caller's cohorts (so an API answers 404, not 403). One query. ``actor`` ``None`` is the
    system (a campaign run), which sees every learner."""
    queryset = Learner.objects.all() if actor is None else learner_queryset(actor=actor)
    cohort_id = queryset.filter(pk=learner_id).values_list("cohort_id", flat=True).first()
    if cohort_id is None:
        raise NotFound("No learner with this id.")
    return cohort_id
