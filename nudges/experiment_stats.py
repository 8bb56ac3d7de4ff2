"""The statistics of an experiment's results: an arm's re-engagement rate against the
holdout's (docs/nudges.md, experiments).

The p-value is the pooled two-proportion z-test (the null hypothesis says both arms share one
rate). The 95 % interval of the difference is Newcombe's hybrid score interval (his method 10,
built from each arm's Wilson interval): unlike the Wald interval it stays within [-1, 1] and
behaves at 0 and n successes, where small pilots often are. Near the 5 % boundary the interval
and the test can disagree slightly; both are reported.
"""

import math
from dataclasses import dataclass
from statistics import NormalDist

#: The two-sided 95 % normal quantile (1.959964...).
Z_95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True, slots=True)
class Comparison:
    """An arm against the holdout: the difference of rates (arm minus holdout), its 95 %
    interval and the two-sided p-value: all ``None`` when an arm is empty, the p-value also
    when both rates are 0 or both 1 (nothing varies to test against)."""

    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


def rate(successes: int, n: int) -> float | None:
    """The share of ``n`` that succeeded; ``None`` for an empty arm."""
    return successes / n if n else None


def wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """The 95 % Wilson score interval of ``successes / n`` (``n`` > 0), within [0, 1]."""
    p = successes / n
    z2 = Z_95 * Z_95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_test(
    successes: int, n: int, control_successes: int, control_n: int
) -> Comparison:
    """Compare ``successes / n`` with ``control_successes / control_n``."""
    if not n or not control_n:
        return Comparison(None, None, None, None)
    p1, p0 = successes / n, control_successes / control_n
    difference = p1 - p0
    low1, high1 = wilson_interval(successes, n)
    low0, high0 = wilson_interval(control_successes, control_n)
    pooled = (successes + control_successes) / (n + control_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / control_n))
    p_value = math.erfc(abs(difference / se) / math.sqrt(2)) if se else None
    return Comparison(
        difference=difference,
        ci_low=difference - math.hypot(p1 - low1, high0 - p0),
        ci_high=difference + math.hypot(high1 - p1, p0 - low0),
        p_value=p_value,
    )
