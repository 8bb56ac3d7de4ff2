"""The backtest maths on hand-made arrays."""

import numpy as np
import pytest

from simulation.engine import backtest as engine

WEEK = engine.WEEK_SECONDS


def test_week_instants_are_the_ends_of_whole_weeks() -> None:
    assert engine.week_instants(0.0, 3 * WEEK + 5).tolist() == [WEEK, 2 * WEEK, 3 * WEEK]
    assert engine.week_instants(0.0, 2 * WEEK).tolist() == [WEEK, 2 * WEEK]


def test_a_run_shorter_than_a_week_is_scored_once_at_its_end_and_an_empty_one_never() -> None:
    assert engine.week_instants(10.0, 50.0).tolist() == [50.0]
    assert engine.week_instants(10.0, 10.0).tolist() == []


def test_scored_are_those_enrolled_and_not_finished_before_the_instant() -> None:
    enrolled = np.array([0.0, 0.0, 20.0, 0.0])
    finished = np.array([np.nan, 5.0, np.nan, 10.0])
    assert engine.scored_mask(enrolled, finished, 10.0).tolist() == [True, False, False, True]


def test_week_figures_count_bands_and_judge_the_high_band() -> None:
    scores = np.array([0.9, 0.8, 0.6, 0.1])
    bands = np.array(["high", "high", "medium", "low"])
    withdrew = np.array([True, False, True, False])

    figures = engine.week_figures(scores, bands, withdrew)

    assert figures == {
        "learners": 4,
        "bands": {"low": 1, "medium": 1, "high": 2},
        "mean_score": 0.6,
        "precision": 0.5,
        "recall": 0.5,
        "flagged": 2,
        "withdrew_later": 2,
    }


def test_week_figures_without_learners_flags_or_withdrawals_have_no_ratios() -> None:
    empty = engine.week_figures(np.zeros(0), np.zeros(0, dtype=str), np.zeros(0, dtype=bool))
    assert (empty["learners"], empty["mean_score"], empty["precision"]) == (0, None, None)
    calm = engine.week_figures(np.array([0.1]), np.array(["low"]), np.array([False]))
    assert (calm["precision"], calm["recall"]) == (None, None)


def test_first_flags_keep_the_earliest_instant() -> None:
    first = np.full(3, np.nan)
    first = engine.first_flags(first, np.array([0, 2]), np.array([True, False]), 7.0)
    first = engine.first_flags(first, np.array([0, 1, 2]), np.array([True, True, False]), 14.0)
    assert first[:2].tolist() == [7.0, 14.0]
    assert np.isnan(first[2])


def test_lead_weeks_are_whole_weeks_from_first_flag_to_withdrawal() -> None:
    withdrew = np.array([3.5 * WEEK, 2 * WEEK, 5 * WEEK])
    first = np.array([0.0, np.nan, 5 * WEEK])
    weeks = engine.lead_weeks(withdrew, first)
    assert weeks[0] == 3
    assert np.isnan(weeks[1])
    assert weeks[2] == 0


def test_lead_time_summary() -> None:
    summary = engine.lead_time_summary(np.array([3.0, np.nan, 1.0, 1.0]))
    assert summary == {
        "counts": {"1": 2, "3": 1},
        "mean": pytest.approx(5 / 3),
        "median": 1.0,
        "caught_share": 0.75,
        "never_flagged_share": 0.25,
    }
    assert engine.lead_time_summary(np.zeros(0))["never_flagged_share"] is None


def test_mean_of_skips_unknown_values() -> None:
    assert engine.mean_of([0.5, None, 1.0]) == 0.75
    assert engine.mean_of([None]) is None
