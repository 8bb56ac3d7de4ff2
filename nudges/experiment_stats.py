"""The statistics of an experiment's results: an arm's re-engagement rate against the
holdout's, by the two-proportion z-test (docs/nudges.md, experiments).

The p-value uses the pooled proportion (the null hypothesis says both arms share one rate);
the 95 % interval of the difference uses each arm's own rate (Wald), as is usual: the two can
disagree at the margin, and both are reported.
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


def two_proportion_test(
    successes: int, n: int, control_successes: int, control_n: int
) -> Comparison:
    """Compare ``successes / n`` with ``control_successes / control_n``."""
    if not n or not control_n:
        return Comparison(None, None, None, None)
    p1, p0 = successes / n, control_successes / control_n
    difference = p1 - p0
    wald = math.sqrt(p1 * (1 - p1) / n + p0 * (1 - p0) / control_n)
    pooled = (successes + control_successes) / (n + control_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / control_n))
    p_value = math.erfc(abs(difference / se) / math.sqrt(2)) if se else None
    return Comparison(
        difference=difference,
        ci_low=difference - Z_95 * wald,
        ci_high=difference + Z_95 * wald,
        p_value=p_value,
    )
