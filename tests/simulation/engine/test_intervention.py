"""The intervention engine on arrays with known answers."""

import numpy as np
import pytest

from simulation.engine import intervention as engine

LOW, MEDIUM, HIGH = range(3)
#: Ten learners by index: three high (0-2), three medium (3-5), four low (6-9), scores falling.
SCORES = np.array([0.95, 0.90, 0.85, 0.60, 0.55, 0.50, 0.30, 0.20, 0.15, 0.10])
BANDS = np.array([HIGH, HIGH, HIGH, MEDIUM, MEDIUM, MEDIUM, LOW, LOW, LOW, LOW])
UPLIFT = np.array([0.02, 0.10, 0.05])


def _plan(rule: str, uplift: np.ndarray = UPLIFT) -> engine.RulePlan:
    return engine.rule_plan(rule, scores=SCORES, bands=BANDS, uplift=uplift, budget=2, weeks=2)


def test_each_rule_picks_and_expects_what_a_hand_count_gives() -> None:
    # highest_risk:   week 1 {0, 1} = 0.05 + 0.05 = 0.10; week 2 {2, 3} = 0.05 + 0.10 = 0.15
    # middle_band:    week 1 {3, 4} = 0.10 + 0.10 = 0.20; week 2 {5} = 0.10 (band exhausted)
    # highest_uplift: week 1 {3, 4} = 0.20; week 2 {5, 0} = 0.10 + 0.05 = 0.15
    expected = {
        "highest_risk": ([[0, 1], [2, 3]], [0.10, 0.15], 0.25),
        "middle_band": ([[3, 4], [5]], [0.20, 0.10], 0.30),
        "highest_uplift": ([[3, 4], [5, 0]], [0.20, 0.15], 0.35),
    }
    for rule, (picks, per_week, total) in expected.items():
        plan = _plan(rule)
        assert [picked.tolist() for picked in plan.picks] == picks, rule
        assert plan.expected_per_week == pytest.approx(per_week), rule
        assert plan.expected == pytest.approx(total), rule
    assert _plan("highest_uplift").counts.tolist() == [[0, 2, 0], [0, 1, 1]]


def test_ties_go_to_the_learner_given_first_and_nobody_is_picked_twice() -> None:
    scores = np.full(5, 0.5)
    bands = np.full(5, MEDIUM)
    plan = engine.rule_plan(
        "highest_risk", scores=scores, bands=bands, uplift=UPLIFT, budget=2, weeks=4
    )
    assert [picked.tolist() for picked in plan.picks] == [[0, 1], [2, 3], [4], []]
    assert plan.counts.sum() == 5


def test_an_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown rule"):
        _plan("loudest")


def test_exact_uplift_draws_are_the_figures_and_outcomes_average_to_the_expectation() -> None:
    exact = engine.Uplift(value=UPLIFT, low=UPLIFT, high=UPLIFT)
    rng = np.random.default_rng(1)
    drawn = engine.uplift_draws(exact, rng=rng, draws=20_000)
    assert np.all(drawn == UPLIFT)
    plan = _plan("highest_uplift")
    outcomes = engine.outcome_draws(plan, drawn_uplift=drawn, rng=rng)
    assert outcomes.shape == (20_000, 2)
    assert outcomes.mean(axis=0) == pytest.approx(plan.expected_per_week, abs=0.01)


def test_uncertain_uplift_is_drawn_around_its_value_within_its_interval() -> None:
    uncertain = engine.Uplift(
        value=np.array([0.0, 0.1, 0.2]),
        low=np.array([-0.1, 0.0, 0.2]),
        high=np.array([0.1, 0.2, 0.2]),
    )
    drawn = engine.uplift_draws(uncertain, rng=np.random.default_rng(2), draws=50_000)
    assert drawn.mean(axis=0) == pytest.approx([0.0, 0.1, 0.2], abs=0.002)
    low, high = engine.interval(drawn)
    assert low == pytest.approx([-0.1, 0.0, 0.2], abs=0.005)
    assert high == pytest.approx([0.1, 0.2, 0.2], abs=0.005)


def test_a_harmful_nudge_loses_learners() -> None:
    harmful = np.array([-0.5, -0.5, -0.5])
    plan = _plan("highest_risk", uplift=harmful)
    drawn = np.tile(harmful, (1000, 1))
    outcomes = engine.outcome_draws(plan, drawn_uplift=drawn, rng=np.random.default_rng(3))
    assert plan.expected == pytest.approx(-2.0)
    assert outcomes.max() <= 0
    assert outcomes.sum(axis=1).mean() == pytest.approx(-2.0, abs=0.1)


def test_a_seed_reproduces_the_draws() -> None:
    uncertain = engine.Uplift(value=UPLIFT, low=UPLIFT - 0.02, high=UPLIFT + 0.02)

    def draws(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        drawn = engine.uplift_draws(uncertain, rng=rng, draws=100)
        return engine.outcome_draws(_plan("middle_band"), drawn_uplift=drawn, rng=rng)

    assert np.array_equal(draws(5), draws(5))
    assert not np.array_equal(draws(5), draws(6))
