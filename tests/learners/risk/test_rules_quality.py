"""The shipped rules rank learners better than the naive "fewest events since enrolment", on
open-course (MOOC-like) data and on the mixed demo data, with no training at all."""

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from learners.demo.generator import DEMO_SOURCE
from learners.demo.writer import demo_population_seed
from learners.models import ActivityEvent, Cohort, Learner
from learners.risk.dataset import training_set
from learners.risk.features import FEATURE_NAMES
from learners.risk.metrics import roc_auc
from learners.risk.model import RULES_PARAMETERS, model_scores

TODAY = date(2026, 6, 1)


@pytest.fixture(params=["mooc", "mixed"], scope="module")
def seeded(
    request: pytest.FixtureRequest, django_db_setup: Any, django_db_blocker: Any
) -> Iterator[str]:
    """A small finished history of one shape, removed afterwards."""
    with django_db_blocker.unblock():
        existing = list(Cohort.objects.values_list("id", flat=True))
        demo_population_seed(
            cohorts=4, learners=900, days=300, seed=3, today=TODAY, shape=request.param
        )
    yield request.param
    with django_db_blocker.unblock():
        ActivityEvent.objects.filter(learner__source=DEMO_SOURCE).delete()
        Learner.objects.filter(source=DEMO_SOURCE).delete()
        Cohort.objects.exclude(id__in=existing).delete()


@pytest.mark.django_db
@pytest.mark.parametrize("cutoff_days", [28, 30])
def test_rules_rank_better_than_fewest_events_since_enrolment(
    seeded: str, cutoff_days: int
) -> None:
    data = training_set(cutoff_days=cutoff_days)
    outcomes = data.outcomes()
    fewest_events = -data.matrix()[:, FEATURE_NAMES.index("events_log")]

    rules = roc_auc(outcomes, model_scores(RULES_PARAMETERS, "rules", data))
    baseline = roc_auc(outcomes, fewest_events)

    assert len(data) > 300 and 0.1 < outcomes.mean() < 0.95
    assert rules is not None and baseline is not None
    assert rules > baseline
