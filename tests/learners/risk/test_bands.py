"""Band thresholds from coach capacity and precision, on hand-built scores."""

import numpy as np
import pytest

from learners.risk.bands import CAPACITY, PRECISION_TARGET, TOP_TIES, BandPolicy, band_choice

# Ten learners, highest score first. Withdrew: 1.
SCORES = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
OUTCOMES = np.array([1, 1, 0, 1, 1, 0, 0, 1, 0, 0])


def test_lowest_threshold_meeting_the_precision_within_capacity_maximises_recall() -> None:
    # Top 5 flagged: 4 of 5 withdrew (0.8); top 6: 4 of 6; capacity allows 6.
    choice = band_choice(OUTCOMES, SCORES, BandPolicy(0.6, 0.75, 0.8))

    assert choice.high == pytest.approx(0.65)  # midway between the 5th and 6th scores
    assert choice.rule == PRECISION_TARGET
    assert (choice.precision, choice.recall, choice.share_flagged) == (0.8, 0.8, 0.5)
    assert choice.medium == pytest.approx(0.35)  # high and medium together: 8 of 10


def test_capacity_is_never_exceeded_even_when_more_would_meet_the_precision() -> None:
    choice = band_choice(OUTCOMES, SCORES, BandPolicy(0.3, 0.5, 0.5))
    assert choice.high == pytest.approx(
        0.825
    )  # top 3 (2 of 3 withdrew); the top 5 would also reach 0.5
    assert choice.share_flagged == pytest.approx(0.3)
    assert (choice.high <= SCORES).mean() <= 0.3


def test_the_precision_target_is_met_by_the_band_it_picks() -> None:
    # The top 2 are right, the top 3 fall to 2/3: a 0.9 target stops at 2.
    choice = band_choice(OUTCOMES, SCORES, BandPolicy(0.5, 0.9, 0.5))
    assert (choice.high, choice.precision, choice.rule) == (
        pytest.approx(0.875),
        1.0,
        PRECISION_TARGET,
    )


def test_unreachable_precision_falls_back_to_filling_the_capacity() -> None:
    outcomes = np.array([0, 0, 1, 0, 0, 0, 0, 1, 0, 0])
    choice = band_choice(outcomes, SCORES, BandPolicy(0.4, 0.9, 0.5))
    assert choice.rule == CAPACITY
    assert (choice.high, choice.share_flagged, choice.precision) == (
        pytest.approx(0.75),
        0.4,
        0.25,
    )


def test_ties_stay_together_in_one_band() -> None:
    scores = np.array([0.9, 0.8, 0.8, 0.8, 0.5, 0.4])
    outcomes = np.array([1, 1, 1, 0, 0, 0])
    # Capacity 3 of 6 would cut through the three tied at 0.8: only the top one fits.
    choice = band_choice(outcomes, scores, BandPolicy(0.5, 0.5, 0.7))
    assert (choice.high, choice.share_flagged) == (pytest.approx(0.85), pytest.approx(1 / 6))
    assert choice.medium == pytest.approx(0.65)  # four of six fit the watch list's 0.7


def test_ties_at_the_top_larger_than_the_capacity_make_the_band() -> None:
    scores = np.array([0.9, 0.9, 0.9, 0.1])
    choice = band_choice(np.array([1, 0, 1, 0]), scores, BandPolicy(0.25, 0.5, 0.5))
    assert (choice.rule, choice.high, choice.share_flagged) == (TOP_TIES, 0.5, 0.75)
    assert choice.medium == choice.high  # no room for a medium band either


def test_a_score_an_ulp_below_the_last_one_flagged_is_still_flagged() -> None:
    # Live scoring sums the same terms in another order than training's matrix product; the
    # last learner flagged must not drop out of the band by a rounding difference.
    choice = band_choice(OUTCOMES, SCORES, BandPolicy(0.6, 0.75, 0.8))
    last_flagged = SCORES[4]
    assert np.nextafter(last_flagged, 0) >= choice.high > SCORES[5]
    assert np.nextafter(SCORES[7], 0) >= choice.medium > SCORES[8]


def test_without_withdrawers_recall_is_undefined_and_no_scores_is_an_error() -> None:
    choice = band_choice(np.zeros(4, dtype=int), np.array([0.4, 0.3, 0.2, 0.1]), BandPolicy())
    assert (choice.rule, choice.recall) == (CAPACITY, None)
    with pytest.raises(ValueError, match="at least one score"):
        band_choice(np.array([], dtype=int), np.array([]), BandPolicy())


def test_the_stored_record_names_the_policy() -> None:
    policy = BandPolicy(0.6, 0.75, 0.8)
    record = band_choice(OUTCOMES, SCORES, policy).as_dict(policy)
    assert record == {
        "rule": PRECISION_TARGET,
        "high_capacity": 0.6,
        "high_min_precision": 0.75,
        "medium_capacity": 0.8,
        "precision": 0.8,
        "recall": 0.8,
        "share_flagged": 0.5,
    }
