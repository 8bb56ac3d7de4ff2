"""The ``boosted`` kind: its step functions reproduce scikit-learn's estimator exactly, its
factors add up to the logit, it keeps the declared directions, and levers and changes work."""

import json
import math
from datetime import timedelta
from functools import cache
from typing import Any

import numpy as np
import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from learners.models import RiskAssessment, RiskModel
from learners.risk.bands import BandPolicy
from learners.risk.boosted import (
    boosted_contributions,
    boosted_parameters,
    boosted_probabilities,
    fit_boosted,
)
from learners.risk.dataset import TrainingSet
from learners.risk.directions import MONOTONE_DIRECTIONS
from learners.risk.features import FEATURE_NAMES
from learners.risk.model import (
    best_lever,
    model_features,
    score_values,
    sigmoid,
    train_boosted,
)
from learners.risk.services import learners_rescore
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory
from tests.learners.risk.training_sets import synthetic_set, training_row

THRESHOLDS = {"medium": 0.3, "high": 0.6}
#: Random models: fitting is the slow part, so each of these data sets is fitted once.
SEEDS = (0, 1, 2, 3)


@cache
def _fitted(seed: int) -> tuple[Any, dict[str, Any]]:
    """A fitted estimator and its stored parameters; a handful of seeds, each fitted once."""
    data = synthetic_set(seed)
    estimator = fit_boosted(data)
    # Stored as JSON and read back, as scoring meets them.
    parameters = json.loads(json.dumps(boosted_parameters(estimator, data)))
    return estimator, {**parameters, "thresholds": THRESHOLDS}


vectors = st.lists(
    st.fixed_dictionaries({name: st.floats(-20, 80) for name in FEATURE_NAMES}),
    min_size=1,
    max_size=20,
)


def test_every_feature_has_a_declared_direction() -> None:
    assert set(MONOTONE_DIRECTIONS) == set(FEATURE_NAMES)
    assert set(MONOTONE_DIRECTIONS.values()) <= {-1, 0, 1}


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(SEEDS), vectors)
def test_scores_equal_scikit_learn_and_factors_sum_to_the_logit(
    seed: int, rows: list[dict[str, float]]
) -> None:
    estimator, parameters = _fitted(seed)
    # Values exactly on each edge go left, as in the trees: check them too.
    on_edges = [
        {**rows[0], name: edge}
        for name in FEATURE_NAMES
        for edge in parameters["steps"][name]["edges"]
    ]
    rows = rows + on_edges
    matrix = np.array([[row[name] for name in FEATURE_NAMES] for row in rows])
    expected = boosted_probabilities(estimator, matrix)
    for row, probability in zip(rows, expected, strict=True):
        result = score_values(kind="boosted", parameters=parameters, values=row)
        assert abs(result.score - probability) < 1e-9
        assert math.isclose(
            result.intercept + sum(f.contribution for f in result.factors),
            result.logit,
            abs_tol=1e-9,
        )
        assert result.score == sigmoid(result.logit)


def test_contributions_are_centred_on_the_training_rows() -> None:
    data = synthetic_set(SEEDS[0])
    parameters = _fitted(SEEDS[0])[1]
    contributions = [boosted_contributions(parameters, row.features.values) for row in data.rows]
    for name in FEATURE_NAMES:
        assert np.mean([c.get(name, 0.0) for c in contributions]) == pytest.approx(0.0, abs=1e-12)


def test_a_feature_the_trees_never_use_contributes_nothing() -> None:
    data = synthetic_set(5)
    constant = TrainingSet(
        cutoff_days=28,
        rows=tuple(
            training_row(
                row.cohort_id,
                row.cohort_starts_on,
                row.outcome,
                [*(row.features.values[n] for n in FEATURE_NAMES[:-1]), 1.0],
            )
            for row in data.rows
        ),
    )
    estimator = fit_boosted(constant)
    parameters = {**boosted_parameters(estimator, constant), "thresholds": THRESHOLDS}
    unused = FEATURE_NAMES[-1]
    assert parameters["steps"][unused] == {"edges": [], "contributions": [0.0]}

    # Not a factor, nor a lever; the factors still add up to the estimator's logit.
    assert unused not in model_features("boosted", parameters)
    expected = boosted_probabilities(estimator, constant.matrix())
    for row, probability in zip(constant.rows, expected, strict=True):
        result = score_values(kind="boosted", parameters=parameters, values=row.features.values)
        assert [f.factor for f in result.factors if f.factor == unused] == []
        assert abs(result.score - probability) < 1e-9
        assert result.intercept + sum(f.contribution for f in result.factors) == (
            pytest.approx(result.logit, abs=1e-12)
        )


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(SEEDS), vectors, st.floats(0, 60), st.floats(0, 60))
def test_the_declared_directions_hold(
    seed: int, rows: list[dict[str, float]], first: float, second: float
) -> None:
    _, parameters = _fitted(seed)
    low, high = sorted((first, second))
    for name, direction in MONOTONE_DIRECTIONS.items():
        if direction == 0:
            continue
        for row in rows:
            below = score_values(kind="boosted", parameters=parameters, values={**row, name: low})
            above = score_values(kind="boosted", parameters=parameters, values={**row, name: high})
            assert direction * (above.score - below.score) >= 0


def test_training_sets_bands_on_the_training_scores_within_the_coach_capacity() -> None:
    data = synthetic_set(11, n=500)
    policy = BandPolicy(high_capacity=0.2, high_min_precision=0.0, medium_capacity=0.5)
    parameters = train_boosted(data, policy=policy)
    bands = [
        score_values(kind="boosted", parameters=parameters, values=row.features.values).band
        for row in data.rows
    ]
    assert 0 < bands.count("high") / len(bands) <= 0.2
    assert 0 < (bands.count("high") + bands.count("medium")) / len(bands) <= 0.5
    assert parameters["band_choice"]["share_flagged"] == pytest.approx(
        bands.count("high") / len(bands), abs=1e-6
    )
    assert parameters["feature_names"] == list(FEATURE_NAMES)
    assert parameters["cutoff_days"] == 28


def test_best_lever_for_the_boosted_kind() -> None:
    _, parameters = _fitted(SEEDS[1])
    riskiest = max(
        synthetic_set(SEEDS[1]).rows,
        key=lambda row: (
            score_values(kind="boosted", parameters=parameters, values=row.features.values).score
        ),
    )
    lever = best_lever(kind="boosted", parameters=parameters, features=riskiest.features)
    current = score_values(kind="boosted", parameters=parameters, values=riskiest.features.values)
    assert lever is not None
    assert lever["score_after"] < current.score
    assert math.isclose(
        lever["reduction"], round(current.score - lever["score_after"], 4), abs_tol=1e-4
    )


@pytest.mark.django_db
def test_risk_detail_explains_a_boosted_model(auth_client: APIClient) -> None:
    _, fitted = _fitted(SEEDS[2])
    # A feature the trees never split on is no factor of the detail (nor of the stored ones).
    unused = {"edges": [], "contributions": [0.0]}
    parameters = {**fitted, "steps": {**fitted["steps"], "social": unused}}
    RiskModel.objects.filter(is_active=True).update(is_active=False)
    RiskModel.objects.create(version=2, kind="boosted", parameters=parameters, is_active=True)
    learner = LearnerFactory(
        cohort=CohortFactory(), enrolled_at=timezone.now() - timedelta(days=40)
    )
    ActivityEventFactory(learner=learner, occurred_at=timezone.now() - timedelta(days=3))
    learners_rescore()
    learners_rescore()
    detail = auth_client.get(f"/api/v1/learners/{learner.pk}/risk/").data

    assert detail["model_version"] == 2
    shown = {name for name, step in fitted["steps"].items() if step["edges"]} - {"social"}
    assert {f["factor"] for f in detail["factors"]} == shown
    assert all(f["explanation"] for f in detail["factors"])
    assert {c["factor"] for c in detail["changes"]} == shown
    stored = RiskAssessment.objects.filter(learner=learner, model__version=2)
    assert {
        frozenset(f["factor"] for f in factors)
        for factors in stored.values_list("factors", flat=True)
    } == {frozenset(shown)}
    assert detail["best_lever"] is None or detail["best_lever"]["score_after"] < detail["score"]
