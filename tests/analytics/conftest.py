"""Hand-built data for the analytics tests: two cohorts, a coach of the first, known days."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from learners.models import Learner, RiskAssessment, RiskModel
from tests.factories import CohortAssignmentFactory, CohortFactory, UserFactory

#: "Now" in these tests: noon UTC on 10 November 2026.
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
MARKER = "zqmarkername"


def assess(
    learner: Learner,
    model: RiskModel,
    as_of: datetime,
    band: str,
    score: float,
    *,
    current: bool = False,
) -> RiskAssessment:
    """One stored assessment (days inactive as its factor); ``current`` makes it the learner's
    denormalised current risk, as scoring does."""
    assessment = RiskAssessment.objects.create(
        learner=learner,
        model=model,
        as_of=as_of,
        score=score,
        band=band,
        factors=[{"factor": "days_inactive", "value": 1.0, "contribution": 1.5}],
        features={
            "raw": {"days_inactive": 12, "typical_days_inactive": 2},
            "values": {},
            "little_data": False,
        },
        computed_at=as_of,
    )
    if current:
        Learner.objects.filter(pk=learner.pk).update(
            risk_score=score, risk_band=band, risk_scored_at=as_of
        )
    return assessment


@pytest.fixture
def world(rules_model: Any) -> dict[str, Any]:
    cohort, other = CohortFactory(name="Alpha cohort"), CohortFactory(name="Beta cohort")
    coach = UserFactory(role="coach", first_name="Cora", last_name="Coach")
    CohortAssignmentFactory(user=coach, cohort=cohort)
    return {
        "cohort": cohort,
        "other": other,
        "coach": coach,
        "outsider": UserFactory(role="coach"),
        "admin": UserFactory(role="admin"),
        "analyst": UserFactory(role="analyst"),
        "model": rules_model,
        "enrolled": NOW - timedelta(days=30),
    }
