"""Learners scored by the rules model, ready for a nudge, and risk snapshots built by hand
(generation tests)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.utils import timezone

from learners.contracts import Lever, RiskFactor, RiskSnapshot
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


def risk_snapshot(
    *,
    locale: str = "en",
    factor: str = "days_inactive",
    first_name: str = "Ada",
    days: float = 12,
    lever: str | None = None,
) -> RiskSnapshot:
    """A high-risk learner's snapshot whose top factor is ``factor`` (``days`` its value) and
    whose best lever is ``lever`` (default: the same factor), 40 % through PY101."""
    return RiskSnapshot(
        learner_id=uuid.uuid4(),
        first_name=first_name,
        cohort_name="Spring 2026 Data Science",
        course_code="PY101",
        locale=locale,
        timezone="Europe/Paris",
        studying=True,
        nudge_opt_out=False,
        days_inactive=days,
        progress=0.4,
        score=0.8,
        band="high",
        scored_at=datetime(2026, 11, 1, tzinfo=UTC),
        model_version=1,
        top_factors=(
            RiskFactor(
                name=factor,
                value=days,
                contribution=1.2,
                explanation=f"No activity for {days:.0f} days — cohort typical 2 days",
            ),
        ),
        best_lever=Lever(factor=lever or factor, score_after=0.5, reduction=0.3),
    )
