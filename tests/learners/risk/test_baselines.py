"""Naive baselines on hand-built rows whose AUCs are known by counting pairs."""

import numpy as np
import pytest

from learners.risk.baselines import (
    BASELINE_FEATURES,
    baseline_comparison,
    baseline_metrics,
    beats,
    best_baseline,
)

# Four withdrew (1), four completed (0).
OUTCOMES = np.array([1, 1, 1, 1, 0, 0, 0, 0])
COLUMNS = {
    # Withdrawers have fewer events than every completer: a perfect ranking (AUC 1).
    "events_log": np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]),
    # Of the 16 (withdrawer, completer) pairs the withdrawer has fewer active days in 10
    # (0 < all four; each 1 < 2, 2, 2.5), and ties in 2 (1 = 1, counted half): AUC = 11 / 16.
    "active_days_log": np.array([0.0, 1.0, 1.0, 3.0, 1.0, 2.0, 2.0, 2.5]),
    # Longest inactive is riskier; here it points the wrong way in every pair: AUC 0.
    "days_inactive": np.array([1.0, 1.0, 2.0, 2.0, 10.0, 20.0, 30.0, 40.0]),
}


def test_each_baseline_ranks_by_its_feature_in_its_direction() -> None:
    measured = baseline_metrics(OUTCOMES, COLUMNS)

    assert set(measured) == {"fewest_events", "fewest_active_days", "longest_inactive"}
    assert measured["fewest_events"]["roc_auc"] == 1.0
    assert measured["fewest_events"]["pr_auc"] == 1.0
    assert measured["fewest_active_days"]["roc_auc"] == pytest.approx(11 / 16)
    assert measured["longest_inactive"]["roc_auc"] == 0.0
    assert measured["fewest_events"]["feature"] == "events_log"
    assert measured["fewest_events"]["description"] == "fewest events since enrolment"
    for figures in measured.values():
        assert set(figures) == {"feature", "description", "roc_auc", "pr_auc"}  # no Brier


def test_tied_values_count_half_whatever_their_order() -> None:
    outcomes = np.array([1, 0, 1, 0])
    all_tied = {name: np.zeros(4) for name in BASELINE_FEATURES}
    measured = baseline_metrics(outcomes, all_tied)
    assert {figures["roc_auc"] for figures in measured.values()} == {0.5}
    assert {figures["pr_auc"] for figures in measured.values()} == {0.5}  # the base rate


def test_the_best_baseline_and_whether_the_model_beats_it() -> None:
    comparison = baseline_comparison(OUTCOMES, COLUMNS, model_roc_auc=0.9)

    assert comparison["best_baseline"] == {"name": "fewest_events", "roc_auc": 1.0}
    assert comparison["beats_best_baseline"] is False
    assert baseline_comparison(OUTCOMES, COLUMNS, model_roc_auc=None)["beats_best_baseline"] is (
        False
    )
    assert beats(0.81, {"name": "fewest_events", "roc_auc": 0.8}) is True
    assert beats(0.8, {"name": "fewest_events", "roc_auc": 0.8}) is False  # a tie does not beat


def test_with_one_outcome_nothing_can_be_compared() -> None:
    comparison = baseline_comparison(np.ones(8, dtype=int), COLUMNS, model_roc_auc=None)
    assert {figures["roc_auc"] for figures in comparison["baselines"].values()} == {None}
    assert comparison["best_baseline"] is None
    assert comparison["beats_best_baseline"] is None
    assert best_baseline({"a": {"roc_auc": 0.7}, "b": {"roc_auc": 0.7}}) == {
        "name": "a",
        "roc_auc": 0.7,
    }
