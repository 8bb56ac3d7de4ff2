"""Learners scored by the rules model, ready for a nudge (generation tests)."""

from datetime import timedelta
from typing import Any, cast

from django.utils import timezone

from learners.models import Cohort, Learner
from learners.risk.services import learners_rescore
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory


def scored_learner(*, days_inactive: int = 40, **fields: Any) -> Learner:
    """A learner whose only activity was ``days_inactive`` days ago, scored now."""
    if "cohort" not in fields:
        fields["cohort"] = Cohort.objects.filter(name="Spring 2026").first() or CohortFactory(
            name="Spring 2026", course_code="PY101"
        )
    fields.setdefault("name", "Ada King Lovelace")
    learner = cast(Learner, LearnerFactory(**fields))
    ActivityEventFactory(
        learner=learner, occurred_at=timezone.now() - timedelta(days=days_inactive)
    )
    learners_rescore(learner_ids=[learner.pk])
    learner.refresh_from_db()
    return learner
