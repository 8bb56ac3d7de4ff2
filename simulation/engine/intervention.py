"""Intervention planning: whom a weekly nudge budget reaches under each targeting rule, and how
many learners it is expected to bring back (pure numpy, no Django).

Learners come as arrays: score, band index (:data:`BANDS`) and the band's uplift (the extra
probability that a nudged learner re-engages). Each learner's expected uplift is that of their
band, nothing finer: the measurements are per band, and a slope within a band would be an
assumption nobody measured.

A rule orders the learners once (scores are today's; the plan does not rescore) and week ``w``
nudges the next ``budget`` of them, so nobody is nudged twice:

- ``highest_risk``: highest score first;
- ``middle_band``: the medium band only, highest score first (its budget is left unused once
  the band is exhausted);
- ``highest_uplift``: highest expected uplift first, then highest score.

Ties go to the learner given first (the caller passes them ordered by id). The expected number
re-engaged is the sum of the picked learners' uplift. Its interval comes from Monte Carlo: each
draw takes every band's uplift from a normal matching its 95 % interval (clipped to [-1, 1];
a figure without an interval is taken as exact), then each picked learner's outcome: one more
learner back with probability ``u`` when ``u >= 0``, one fewer with probability ``-u`` when the
nudge does harm. Learners of one band share ``u``, so a week's outcome per band is binomial in
its count of picked learners: the cost does not grow with the number of learners. Every rule
sees the same uplift draws, so their differences are compared draw by draw.
"""

from dataclasses import dataclass

import numpy as np

#: Band indices: ``bands[i]`` of a learner is the index of their band in this tuple.
BANDS: tuple[str, ...] = ("low", "medium", "high")
MEDIUM = BANDS.index("medium")
RULES: tuple[str, ...] = ("highest_risk", "middle_band", "highest_uplift")
#: The two-sided 95 % normal quantile: a band's interval is value +/- Z_95 standard deviations.
Z_95 = 1.959963984540054
#: Percentiles of the Monte Carlo interval.
INTERVAL = (2.5, 97.5)


@dataclass(frozen=True)
class Uplift:
    """Per band (arrays of ``len(BANDS)``): the uplift and its 95 % interval."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray


def targeting_order(
    rule: str, *, scores: np.ndarray, bands: np.ndarray, uplift: np.ndarray
) -> np.ndarray:
    """Indices of the learners ``rule`` would nudge, first to last."""
    index = np.arange(len(scores))
    if rule == "highest_risk":
        return np.lexsort((index, -scores))
    if rule == "middle_band":
        order = np.lexsort((index, -scores))
        return order[bands[order] == MEDIUM]
    if rule == "highest_uplift":
        return np.lexsort((index, -scores, -uplift[bands]))
    raise ValueError(f"Unknown rule: {rule}")


@dataclass(frozen=True)
class RulePlan:
    """A rule's plan: the learners nudged each week (indices) and their count per band
    (``weeks`` x ``len(BANDS)``), with the expected number re-engaged each week."""

    rule: str
    picks: tuple[np.ndarray, ...]
    counts: np.ndarray
    expected_per_week: np.ndarray

    @property
    def expected(self) -> float:
        return float(self.expected_per_week.sum())


def rule_plan(
    rule: str, *, scores: np.ndarray, bands: np.ndarray, uplift: np.ndarray, budget: int, weeks: int
) -> RulePlan:
    """``rule``'s picks over ``weeks`` weeks of ``budget`` nudges, and what they are expected
    to bring back with ``uplift`` per band."""
    order = targeting_order(rule, scores=scores, bands=bands, uplift=uplift)
    picks = tuple(order[week * budget : (week + 1) * budget] for week in range(weeks))
    counts = np.array(
        [np.bincount(bands[picked], minlength=len(BANDS)) for picked in picks], dtype=np.int64
    ).reshape(weeks, len(BANDS))
    return RulePlan(rule=rule, picks=picks, counts=counts, expected_per_week=counts @ uplift)


def uplift_draws(uplift: Uplift, *, rng: np.random.Generator, draws: int) -> np.ndarray:
    """``draws`` x ``len(BANDS)`` uplifts, each band's normal with its interval's width."""
    sd = (uplift.high - uplift.low) / (2 * Z_95)
    return np.clip(rng.normal(uplift.value, sd, size=(draws, len(BANDS))), -1.0, 1.0)


def outcome_draws(
    plan: RulePlan, *, drawn_uplift: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Re-engaged learners per draw and week (``draws`` x ``weeks``) under ``plan``."""
    counts = np.broadcast_to(plan.counts, (len(drawn_uplift), *plan.counts.shape))
    chance = np.broadcast_to(np.abs(drawn_uplift)[:, None, :], counts.shape)
    outcomes = rng.binomial(counts, chance) * np.sign(drawn_uplift)[:, None, :]
    return np.asarray(outcomes.sum(axis=2), dtype=float)


def interval(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """The 2.5th and 97.5th percentiles along ``axis`` (first axis of the answer)."""
    return np.percentile(values, INTERVAL, axis=axis)
