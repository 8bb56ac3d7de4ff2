"""The two-proportion z-test against an example worked by hand."""

import pytest

from nudges.experiment_stats import Comparison, rate, two_proportion_test


def test_a_hand_computed_example() -> None:
    # Variant: 60 of 200 came back (0.30); holdout: 40 of 200 (0.20). Difference 0.10.
    # Pooled rate 100/400 = 0.25; SE = sqrt(0.25 * 0.75 * (1/200 + 1/200)) = sqrt(0.001875)
    # = 0.0433013; z = 0.10 / 0.0433013 = 2.3094; two-sided p = 2 * (1 - Phi(2.3094)) = 0.02092.
    # Interval: SE = sqrt(0.3 * 0.7 / 200 + 0.2 * 0.8 / 200) = sqrt(0.00185) = 0.0430116;
    # 0.10 -/+ 1.95996 * 0.0430116 = 0.10 -/+ 0.0843012 = [0.0156988, 0.1843012].
    result = two_proportion_test(60, 200, 40, 200)
    assert result.difference == pytest.approx(0.10, abs=1e-12)
    assert result.p_value == pytest.approx(0.02092, abs=1e-5)
    assert result.ci_low == pytest.approx(0.0156988, abs=1e-6)
    assert result.ci_high == pytest.approx(0.1843012, abs=1e-6)


def test_no_difference_is_p_one_and_the_sign_follows_the_arm() -> None:
    same = two_proportion_test(30, 100, 60, 200)
    assert same.difference == pytest.approx(0.0)
    assert same.p_value == pytest.approx(1.0)
    worse = two_proportion_test(40, 200, 60, 200)
    assert worse.difference == pytest.approx(-0.10)
    assert worse.p_value == pytest.approx(0.02092, abs=1e-5)
    assert worse.ci_high is not None and worse.ci_high < 0


def test_empty_arms_and_no_variance_give_no_test() -> None:
    assert two_proportion_test(0, 0, 5, 10) == Comparison(None, None, None, None)
    assert two_proportion_test(5, 10, 0, 0) == Comparison(None, None, None, None)
    nobody = two_proportion_test(0, 10, 0, 20)
    assert nobody.difference == 0 and nobody.p_value is None
    assert rate(0, 0) is None
    assert rate(3, 12) == 0.25
