"""The two-proportion comparison against examples worked by hand: the pooled z-test's p-value
and Newcombe's hybrid score interval (method 10) of the difference."""

import itertools

import pytest

from nudges.experiment_stats import Comparison, rate, two_proportion_test, wilson_interval


def test_a_hand_computed_example() -> None:
    # Variant: 60 of 200 came back (0.30); holdout: 40 of 200 (0.20). Difference 0.10.
    # Pooled rate 100/400 = 0.25; SE = sqrt(0.25 * 0.75 * (1/200 + 1/200)) = sqrt(0.001875)
    # = 0.0433013; z = 0.10 / 0.0433013 = 2.3094; two-sided p = 2 * (1 - Phi(2.3094)) = 0.02092.
    # Wilson, z = 1.959964: (p + z²/2n) / (1 + z²/n) -/+ z sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n)
    # 60/200: [0.240747, 0.366791]; 40/200: [0.150452, 0.260855].
    # Lower: 0.10 - sqrt((0.30 - 0.240747)² + (0.260855 - 0.20)²) = 0.10 - sqrt(0.0035109 +
    # 0.0037033) = 0.10 - 0.0849367 = 0.0150633.
    # Upper: 0.10 + sqrt((0.366791 - 0.30)² + (0.20 - 0.150452)²) = 0.10 + 0.0831627 = 0.1831627.
    assert wilson_interval(60, 200) == pytest.approx((0.240747, 0.366791), abs=1e-6)
    assert wilson_interval(40, 200) == pytest.approx((0.150452, 0.260855), abs=1e-6)
    result = two_proportion_test(60, 200, 40, 200)
    assert result.difference == pytest.approx(0.10, abs=1e-12)
    assert result.p_value == pytest.approx(0.02092, abs=1e-5)
    assert result.ci_low == pytest.approx(0.0150633, abs=1e-5)
    assert result.ci_high == pytest.approx(0.1831627, abs=1e-5)


def test_newcombes_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II, 56/70 - 48/80, method 10.
    result = two_proportion_test(56, 70, 48, 80)
    assert result.ci_low == pytest.approx(0.0524, abs=1e-4)
    assert result.ci_high == pytest.approx(0.3339, abs=1e-4)


def test_an_arm_at_zero_of_n() -> None:
    # 0/30 against 8/30: Wald's interval at p = 0 has no width from the arm and can reach past
    # 0; Wilson 0/30 is [0, 0.113513], 8/30 is [0.141827, 0.444479].
    # Lower: -0.266667 - sqrt(0² + (0.444479 - 0.266667)²) = -0.444479.
    # Upper: -0.266667 + sqrt(0.113513² + (0.266667 - 0.141827)²) = -0.266667 + sqrt(0.0128852
    # + 0.0155850) = -0.266667 + 0.168731 = -0.097936: clear of 0, as the p-value (0.0024) says.
    result = two_proportion_test(0, 30, 8, 30)
    assert result.difference == pytest.approx(-0.266667, abs=1e-6)
    assert result.ci_low == pytest.approx(-0.444479, abs=1e-5)
    assert result.ci_high == pytest.approx(-0.097936, abs=1e-5)
    assert result.p_value == pytest.approx(0.00238, abs=1e-5)


def test_the_interval_never_leaves_minus_one_to_one() -> None:
    for n, control_n in ((1, 1), (3, 15), (15, 3), (20, 20)):
        for successes, control in itertools.product(range(n + 1), range(control_n + 1)):
            result = two_proportion_test(successes, n, control, control_n)
            assert result.ci_low is not None and result.ci_high is not None
            assert result.difference is not None
            assert -1 <= result.ci_low <= result.difference <= result.ci_high <= 1
    everyone = two_proportion_test(15, 15, 0, 15)
    assert everyone.ci_high == pytest.approx(1.0)
    assert everyone.ci_low is not None and everyone.ci_low > 0.7


@pytest.mark.parametrize(
    ("arm", "holdout", "significant"),
    [
        ((60, 200), (40, 200), True),
        ((0, 30), (8, 30), True),
        ((90, 100), (10, 100), True),
        ((30, 100), (28, 100), False),
        ((2, 15), (0, 5), False),
        ((5, 10), (5, 10), False),
    ],
)
def test_the_interval_excludes_zero_in_the_clear_cases_the_test_rejects(
    arm: tuple[int, int], holdout: tuple[int, int], significant: bool
) -> None:
    result = two_proportion_test(arm[0], arm[1], holdout[0], holdout[1])
    assert result.ci_low is not None and result.ci_high is not None
    assert result.p_value is not None
    assert (result.p_value < 0.05) is significant
    assert (not result.ci_low <= 0 <= result.ci_high) is significant


def test_no_difference_is_p_one_and_the_sign_follows_the_arm() -> None:
    same = two_proportion_test(30, 100, 60, 200)
    assert same.difference == pytest.approx(0.0)
    assert same.p_value == pytest.approx(1.0)
    worse = two_proportion_test(40, 200, 60, 200)
    assert worse.difference == pytest.approx(-0.10)
    assert worse.p_value == pytest.approx(0.02092, abs=1e-5)
    assert worse.ci_high == pytest.approx(-0.0150633, abs=1e-5)


def test_empty_arms_and_no_variance_give_no_test() -> None:
    assert two_proportion_test(0, 0, 5, 10) == Comparison(None, None, None, None)
    assert two_proportion_test(5, 10, 0, 0) == Comparison(None, None, None, None)
    nobody = two_proportion_test(0, 10, 0, 20)
    assert nobody.difference == 0 and nobody.p_value is None
    assert rate(0, 0) is None
    assert rate(3, 12) == 0.25
