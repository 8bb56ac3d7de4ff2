"""The ``logistic`` kind's fit: scikit-learn's optimum where the declared directions do not bind,
every coefficient on its declared side where they would, and scores equal to the fit's own."""

import uuid
from datetime import date

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from learners.risk.dataset import TrainingSet
from learners.risk.directions import MONOTONE_DIRECTIONS
from learners.risk.features import FEATURE_NAMES
from learners.risk.logistic import fit_signed_logistic
from learners.risk.model import fit_logistic, score_values, train_logistic
from tests.learners.risk.training_sets import synthetic_set, training_row

DIRECTIONS = np.array([MONOTONE_DIRECTIONS[name] for name in FEATURE_NAMES])


def _scikit_learn(matrix: np.ndarray, outcomes: np.ndarray) -> LogisticRegression:
    """The free fit of the same objective (L2, C = 1) on the same standardised features."""
    stds = matrix.std(axis=0)
    stds[stds == 0] = 1.0
    standardised = (matrix - matrix.mean(axis=0)) / stds
    return LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(standardised, outcomes)


def _training_set(matrix: np.ndarray, outcomes: np.ndarray) -> TrainingSet:
    cohort = uuid.uuid4()
    return TrainingSet(
        cutoff_days=28,
        rows=tuple(
            training_row(cohort, date(2025, 1, 1), int(outcome), values)
            for values, outcome in zip(matrix.tolist(), outcomes, strict=True)
        ),
    )


def _drawn(rng: np.random.Generator, matrix: np.ndarray, weights: np.ndarray) -> np.ndarray:
    standardised = (matrix - matrix.mean(axis=0)) / matrix.std(axis=0)
    return (rng.random(len(matrix)) < 1 / (1 + np.exp(-(standardised @ weights)))).astype(int)


def test_where_no_direction_binds_the_fit_is_scikit_learns() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(1500, len(FEATURE_NAMES))) * rng.uniform(0.5, 5, len(FEATURE_NAMES))
    # Independent features whose true weights follow the declared directions clearly.
    weights = np.where(DIRECTIONS == 0, rng.normal(size=len(FEATURE_NAMES)), DIRECTIONS * 0.8)
    outcomes = _drawn(rng, matrix, weights)
    free = _scikit_learn(matrix, outcomes)
    declared = DIRECTIONS != 0
    assert np.all(DIRECTIONS[declared] * free.coef_[0][declared] > 0.05)  # the case tested here

    fit = fit_logistic(_training_set(matrix, outcomes))

    assert np.max(np.abs(fit.coefficients - free.coef_[0])) < 1e-5
    assert fit.intercept == pytest.approx(free.intercept_[0], abs=1e-5)


def test_correlated_features_keep_their_declared_sides() -> None:
    rng = np.random.default_rng(2)
    engagement = rng.normal(size=2000)
    columns = {name: rng.normal(size=2000) for name in FEATURE_NAMES}
    # Two near-copies of one engagement measure; beside the second, the first "raises" the risk.
    columns["events_vs_peers"] = engagement + 0.2 * rng.normal(size=2000)
    columns["active_days_vs_peers"] = engagement + 0.2 * rng.normal(size=2000)
    matrix = np.column_stack([columns[name] for name in FEATURE_NAMES])
    weights = np.zeros(len(FEATURE_NAMES))
    weights[FEATURE_NAMES.index("events_vs_peers")] = 1.5
    weights[FEATURE_NAMES.index("active_days_vs_peers")] = -3.0
    outcomes = _drawn(rng, matrix, weights)
    free = _scikit_learn(matrix, outcomes).coef_[0]
    assert free[FEATURE_NAMES.index("events_vs_peers")] > 0.5  # scikit-learn's sign is wrong

    fit = fit_logistic(_training_set(matrix, outcomes))

    assert np.all(DIRECTIONS * fit.coefficients >= 0)
    assert fit.coefficients[FEATURE_NAMES.index("events_vs_peers")] == 0.0
    assert fit.coefficients[FEATURE_NAMES.index("active_days_vs_peers")] < -1.0


def test_a_free_feature_takes_either_sign() -> None:
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(1000, 2))
    outcomes = _drawn(rng, matrix, np.array([1.0, -1.0]))
    fit = fit_signed_logistic(matrix, outcomes, [0, 0])
    assert fit.coefficients[0] > 0 > fit.coefficients[1]
    held = fit_signed_logistic(matrix, outcomes, [0, 1])
    assert held.coefficients[1] == 0.0


def test_scores_are_the_fits_own_probabilities() -> None:
    data = synthetic_set(4, n=400)
    fit = fit_logistic(data)
    parameters = train_logistic(data, thresholds={"medium": 0.3, "high": 0.6})
    expected = fit.probabilities(data.matrix())
    for row, probability in zip(data.rows, expected, strict=True):
        result = score_values(kind="logistic", parameters=parameters, values=row.features.values)
        assert result.score == pytest.approx(probability, abs=1e-12)
