"""Hand-built training sets for the pure model and selection tests (no database)."""

import uuid
from datetime import UTC, date, datetime

import numpy as np

from learners.risk.dataset import TrainingRow, TrainingSet
from learners.risk.features import FEATURE_NAMES, LearnerFeatures


def synthetic_set(seed: int, n: int = 300, cohorts: int = 1) -> TrainingSet:
    """Random features (some discrete, so values land on the edges) and outcomes drawn from a
    random logit, in ``cohorts`` consecutive cohorts a month apart."""
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(n, len(FEATURE_NAMES))) * rng.uniform(0.5, 5, len(FEATURE_NAMES))
    matrix[:, 0] = rng.integers(0, 60, n)
    matrix[:, -1] = rng.integers(0, 2, n)
    weights = rng.normal(size=len(FEATURE_NAMES))
    logit = (matrix - matrix.mean(axis=0)) / matrix.std(axis=0) @ weights
    outcomes = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    ids = [uuid.UUID(int=index + 1) for index in range(cohorts)]
    rows = []
    for index, (values, outcome) in enumerate(zip(matrix.tolist(), outcomes, strict=True)):
        cohort = index * cohorts // n
        rows.append(training_row(ids[cohort], date(2025, 1 + cohort, 1), int(outcome), values))
    return TrainingSet(cutoff_days=28, rows=tuple(rows))


def training_row(
    cohort: uuid.UUID, starts_on: date, outcome: int, values: list[float]
) -> TrainingRow:
    learner_id = uuid.uuid4()
    return TrainingRow(
        learner_id=learner_id,
        cohort_id=cohort,
        cohort_starts_on=starts_on,
        enrolled_at=datetime.combine(starts_on, datetime.min.time(), tzinfo=UTC),
        locale="en",
        outcome=outcome,
        features=LearnerFeatures(
            learner_id=learner_id,
            cohort_id=cohort,
            as_of=datetime(2026, 1, 1, tzinfo=UTC),
            values=dict(zip(FEATURE_NAMES, values, strict=True)),
            raw={},
            little_data=False,
        ),
    )
