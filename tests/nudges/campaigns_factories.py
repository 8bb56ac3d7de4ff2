"""Learners as a campaign sees them: scored (band and time), studying, reachable."""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from learners.models import Cohort, Learner
from tests.factories import LearnerFactory


def scored_learner(
    cohort: Cohort,
    *,
    band: str = "high",
    inactive_days: float = 10,
    now: datetime | None = None,
    **fields: Any,
) -> Learner:
    """A learner scored in ``band`` an hour before ``now`` (default: now), last active
    ``inactive_days`` before it."""
    now = now or timezone.now()
    values = {
        "risk_band": band,
        "risk_score": {"low": 0.1, "medium": 0.5, "high": 0.9}[band],
        "risk_scored_at": now - timedelta(hours=1),
        "last_active_at": now - timedelta(days=inactive_days),
        **fields,
    }
    return LearnerFactory.create(cohort=cohort, **values)
