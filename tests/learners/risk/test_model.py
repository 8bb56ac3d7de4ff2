"""Pure scoring: exact explanations, monotonic inactivity, bands, best lever."""

import json
import math
import uuid
from datetime import UTC, datetime
from importlib import import_module

from hypothesis import given
from hypothesis import strategies as st

from learners.risk.explanations import explained_factors
from learners.risk.features import FEATURE_NAMES, KIND_TOTALS, LearnerFeatures
from learners.risk.model import (
    RULES_PARAMETERS,
    Factor,
    band_for,
    best_lever,
    score,
    score_values,
    sigmoid,
)

RAW = {
    "days_inactive": 12,
    "typical_days_inactive": 2,
    "active_days_14": 1,
    "typical_active_days_14": 6,
    "events_7": 0,
    "events_prev_21": 14,
    "assessment_mean_30": 0.5,
    "typical_assessment": 0.75,
    "assessment_count_30": 1,
    "forum_posts_30": 0,
    "expected_progress": 0.6,
    "actual_progress": 0.3,
    "tenure_days": 40,
    "events_total": 30,
    "typical_events_total": 40.0,
    "active_days_total": 9,
    "typical_active_days_total": 14.0,
    "elapsed_days": 40,
    "days_since_last_event": 12,
    "first_week_events": 6,
    "activity_span_days": 26.0,
    "logins_total": 9,
    "content_total": 12,
    "videos_total": 3,
    "lessons_total": 4,
    "assessments_total": 1,
    "forum_total": 0,
}

values_strategy = st.fixed_dictionaries(
    {
        "days_inactive": st.floats(0, 60),
        "active_days_ratio": st.floats(0, 3),
        "activity_trend": st.floats(-3, 3),
        "assessment_mean": st.floats(0, 1),
        "assessment_count": st.floats(0, 10),
        "time_trend": st.floats(-3, 3),
        "social": st.floats(0, 4),
        "progress_gap": st.floats(-1, 1),
        "new_learner": st.sampled_from([0.0, 1.0]),
        **dict.fromkeys(
            ("events_log", "active_days_log", "first_week_events_log", *KIND_TOTALS),
            st.floats(0, 8),
        ),
        **dict.fromkeys(("events_vs_peers", "active_days_vs_peers"), st.floats(-8, 8)),
        **dict.fromkeys(("active_share", "activity_span_share"), st.floats(0, 1)),
    }
)
LOGISTIC = {
    "intercept": -0.4,
    "means": dict.fromkeys(FEATURE_NAMES, 0.5),
    "stds": dict.fromkeys(FEATURE_NAMES, 2.0),
    "coefficients": {name: (index - 4) / 3 for index, name in enumerate(FEATURE_NAMES)},
    "thresholds": {"medium": 0.3, "high": 0.6},
}


@given(values_strategy)
def test_rules_contributions_sum_to_the_logit(values: dict) -> None:
    result = score_values(kind="rules", parameters=RULES_PARAMETERS, values=values)
    assert math.isclose(
        result.intercept + sum(f.contribution for f in result.factors), result.logit, abs_tol=1e-9
    )
    assert math.isclose(result.score, sigmoid(result.logit), rel_tol=1e-12)


@given(values_strategy)
def test_logistic_contributions_sum_to_the_logit(values: dict) -> None:
    result = score_values(kind="logistic", parameters=LOGISTIC, values=values)
    assert math.isclose(
        result.intercept + sum(f.contribution for f in result.factors), result.logit, abs_tol=1e-9
    )


@given(values_strategy, st.floats(0, 60), st.floats(0, 60))
def test_more_inactivity_never_lowers_the_rules_score(
    values: dict, first: float, second: float
) -> None:
    low, high = sorted((first, second))
    quieter = score_values(
        kind="rules", parameters=RULES_PARAMETERS, values={**values, "days_inactive": high}
    )
    busier = score_values(
        kind="rules", parameters=RULES_PARAMETERS, values={**values, "days_inactive": low}
    )
    assert quieter.score >= busier.score


def test_factors_are_ordered_and_explained() -> None:
    values = {
        **dict.fromkeys(FEATURE_NAMES, 0.0),
        "days_inactive": 12.0,
        "active_days_ratio": 0.2,
        "assessment_mean": 0.7,
        "assessment_count": 2.0,
    }
    result = score_values(kind="rules", parameters=RULES_PARAMETERS, values=values)
    contributions = [f.contribution for f in result.factors]
    assert contributions == sorted(contributions, reverse=True)
    assert result.factors[0].factor == "days_inactive"
    explained = explained_factors([f.as_dict() for f in result.factors], RAW)
    assert explained[0]["explanation"] == "No activity for 12 days — typical for this cohort is 2"
    assert explained[0]["contribution"] == round(result.factors[0].contribution, 4)
    assert {f.factor for f in result.factors} == set(RULES_PARAMETERS["weights"])


def test_bands_follow_the_model_thresholds() -> None:
    thresholds = {"medium": 0.3, "high": 0.6}
    assert [band_for(s, thresholds) for s in (0.1, 0.3, 0.59, 0.6, 0.99)] == [
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]


def test_best_lever_names_the_biggest_realistic_improvement() -> None:
    values = {
        **dict.fromkeys(FEATURE_NAMES, 0.0),
        "days_inactive": 30.0,
        "active_days_ratio": 1.0,
        "assessment_mean": 0.7,
    }
    features = LearnerFeatures(
        uuid.uuid4(), uuid.uuid4(), datetime(2026, 1, 1, tzinfo=UTC), values, RAW, False
    )
    lever = best_lever(kind="rules", parameters=RULES_PARAMETERS, features=features)
    assert lever is not None and lever["factor"] == "days_inactive"
    current = score(features, kind="rules", parameters=RULES_PARAMETERS).score
    assert math.isclose(lever["reduction"], round(current - lever["score_after"], 4), abs_tol=1e-4)


def test_no_lever_when_the_score_is_about_zero() -> None:
    """A lever that would lower the score by less than its shown precision is no lever."""
    values = {**dict.fromkeys(FEATURE_NAMES, 0.0), "days_inactive": 30.0, "assessment_mean": 0.7}
    features = LearnerFeatures(
        uuid.uuid4(), uuid.uuid4(), datetime(2026, 1, 1, tzinfo=UTC), values, RAW, False
    )
    parameters = {**RULES_PARAMETERS, "intercept": -20.0}
    current = score(features, kind="rules", parameters=parameters).score
    assert 0 < current < 1e-5  # the idle days still push it up, by a shown 0.0000
    assert best_lever(kind="rules", parameters=parameters, features=features) is None


def test_no_lever_when_nothing_can_improve() -> None:
    values = {
        **dict.fromkeys(FEATURE_NAMES, 0.0),
        "events_vs_peers": 1.0,
        "active_share": 0.5,
        "days_inactive": 1.0,
        "active_days_ratio": 2.0,
        "activity_trend": 1.0,
        "assessment_mean": 1.0,
        "assessment_count": 10.0,
        "time_trend": 0.0,
        "social": 2.0,
        "progress_gap": -0.5,
        "new_learner": 0.0,
    }
    features = LearnerFeatures(
        uuid.uuid4(), uuid.uuid4(), datetime(2026, 1, 1, tzinfo=UTC), values, RAW, False
    )
    # Adding an assessment always counts as a lever: weigh it nothing here.
    weights = {**RULES_PARAMETERS["weights"], "assessment_count": 0.0}
    parameters = {
        **RULES_PARAMETERS,
        "centres": {**RULES_PARAMETERS["centres"], "assessment_count": 0.0},
        "weights": weights,
    }
    assert best_lever(kind="rules", parameters=parameters, features=features) is None


def test_sigmoid_is_stable_at_the_extremes() -> None:
    assert sigmoid(-1000) == 0.0
    assert sigmoid(1000) == 1.0


def test_stored_factors_never_show_negative_zero() -> None:
    stored = Factor("social", -0.0, -0.00001).as_dict()
    assert json.dumps(stored) == '{"factor": "social", "value": 0.0, "contribution": 0.0}'


# Versions stored before the features since enrolment -------------------------------------------

# Rules v1 as the data migration shipped it, and its nine features.
RULES_V1 = import_module("learners.migrations.0005_rules_risk_model").RULES_PARAMETERS
OLD_NAMES = tuple(RULES_V1["weights"])
OLD_LOGISTIC = {
    "intercept": -0.4,
    "means": dict.fromkeys(OLD_NAMES, 0.5),
    "stds": dict.fromkeys(OLD_NAMES, 2.0),
    "coefficients": {name: (index - 4) / 3 for index, name in enumerate(OLD_NAMES)},
    "feature_names": list(OLD_NAMES),
    "thresholds": {"medium": 0.3, "high": 0.6},
}


def old_logit(kind: str, parameters: dict, values: dict) -> float:
    """The logit as a version stored before the new features computed it: its nine only."""
    if kind == "rules":
        centres, weights = parameters["centres"], parameters["weights"]
        pushes = [weights[name] * (values[name] - centres[name]) for name in OLD_NAMES]
    else:
        means, stds, coefficients = (parameters[key] for key in ("means", "stds", "coefficients"))
        pushes = [coefficients[n] * (values[n] - means[n]) / stds[n] for n in OLD_NAMES]
    return parameters["intercept"] + sum(pushes)


@given(values_strategy)
def test_old_versions_score_on_their_own_features_as_before(values: dict) -> None:
    without_feature_names = {k: v for k, v in OLD_LOGISTIC.items() if k != "feature_names"}
    for kind, parameters in (
        ("rules", RULES_V1),
        ("logistic", OLD_LOGISTIC),
        ("logistic", without_feature_names),
    ):
        result = score_values(kind=kind, parameters=parameters, values=values)
        assert sorted(f.factor for f in result.factors) == sorted(OLD_NAMES)
        assert math.isclose(result.logit, old_logit(kind, parameters, values), abs_tol=1e-12)
        old_values_only = {name: values[name] for name in OLD_NAMES}
        assert score_values(kind=kind, parameters=parameters, values=old_values_only) == result


def test_a_new_feature_counts_only_for_a_version_that_names_it() -> None:
    values = {**dict.fromkeys(FEATURE_NAMES, 0.0), "events_log": 1.0}
    named = {
        **OLD_LOGISTIC,
        "means": dict.fromkeys(FEATURE_NAMES, 0.0),
        "stds": dict.fromkeys(FEATURE_NAMES, 1.0),
        "coefficients": {**dict.fromkeys(FEATURE_NAMES, 0.0), "events_log": -0.5},
        "feature_names": list(FEATURE_NAMES),
    }
    new = score_values(kind="logistic", parameters=named, values=values)
    assert math.isclose(new.logit, -0.9, abs_tol=1e-12)
    assert len(new.factors) == len(FEATURE_NAMES)
    old = score_values(kind="logistic", parameters=OLD_LOGISTIC, values=values)
    assert "events_log" not in {f.factor for f in old.factors}


def test_levers_on_totals_since_enrolment_add_a_realistic_count() -> None:
    values = {**dict.fromkeys(FEATURE_NAMES, 0.0), "events_log": math.log1p(6)}
    parameters = {
        **OLD_LOGISTIC,
        "means": dict.fromkeys(FEATURE_NAMES, 0.0),
        "stds": dict.fromkeys(FEATURE_NAMES, 1.0),
        "coefficients": {**dict.fromkeys(FEATURE_NAMES, 0.0), "events_log": -0.5},
        "feature_names": list(FEATURE_NAMES),
    }
    features = LearnerFeatures(
        uuid.uuid4(), uuid.uuid4(), datetime(2026, 1, 1, tzinfo=UTC), values, RAW, False
    )
    lever = best_lever(kind="logistic", parameters=parameters, features=features)
    assert lever is not None and lever["factor"] == "events_log"
    after = score_values(
        kind="logistic", parameters=parameters, values={**values, "events_log": math.log1p(20)}
    )
    assert lever["score_after"] == round(after.score, 4)
    # A version that does not name the feature is not moved by it.
    old = best_lever(kind="logistic", parameters=OLD_LOGISTIC, features=features)
    assert old is None or old["factor"] in OLD_NAMES
