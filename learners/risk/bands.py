"""Band thresholds a coach team can work with, chosen from precision and the share flagged.

Fixed quantiles ("the top 20% are high") ignore both what a team can handle and how often a
flag is right. Here the **high** band is the largest set of learners (the lowest threshold, so
the most withdrawers caught) that a coach team can work (at most ``high_capacity`` of the
learners) while at least ``high_min_precision`` of those flagged withdraw. When no threshold
reaches the precision target within the capacity, the band fills the capacity (still the most
withdrawers a team can reach), and says so. Learners with equal scores are never split between
bands, so when the learners tied at the top alone exceed the capacity, they make the band.
A threshold lies midway between the last score it flags and the next lower one, so the last
learner flagged stays flagged when live scoring adds the same terms in another order and lands
an ulp lower.
The **medium** band is the watch list: high and medium together flag at most
``medium_capacity`` of the learners.

``band_choice`` is pure: arrays in, thresholds out. Call it on training (or validation) scores,
never on the test set, whose figures must stay an honest check of the choice.
``configured_policy`` reads the settings; ``risk_model_train`` reads it once and passes it down,
so fitting stays pure and a test states its policy.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings

DEFAULT_HIGH_CAPACITY = 0.25
DEFAULT_HIGH_MIN_PRECISION = 0.5
DEFAULT_MEDIUM_CAPACITY = 0.5
#: How the high threshold was found (``BandChoice.rule``).
PRECISION_TARGET = "precision_target"
CAPACITY = "capacity"
TOP_TIES = "top_ties"


@dataclass(frozen=True)
class BandPolicy:
    """Shares of all learners (0..1): settings ``RISK_HIGH_BAND_CAPACITY``,
    ``RISK_HIGH_BAND_MIN_PRECISION`` and ``RISK_MEDIUM_BAND_CAPACITY``."""

    high_capacity: float = DEFAULT_HIGH_CAPACITY
    high_min_precision: float = DEFAULT_HIGH_MIN_PRECISION
    medium_capacity: float = DEFAULT_MEDIUM_CAPACITY


#: The documented defaults, for a fit given no policy (tests, benchmarks).
DEFAULT_POLICY = BandPolicy()


def configured_policy() -> BandPolicy:
    """The policy the settings ask for (``learners/conf.py``; README, Configuration)."""
    return BandPolicy(
        high_capacity=settings.RISK_HIGH_BAND_CAPACITY,
        high_min_precision=settings.RISK_HIGH_BAND_MIN_PRECISION,
        medium_capacity=settings.RISK_MEDIUM_BAND_CAPACITY,
    )


@dataclass(frozen=True)
class BandChoice:
    """The thresholds and what the high band does on the scores it was chosen on."""

    medium: float
    high: float
    rule: str
    precision: float | None
    recall: float | None
    share_flagged: float

    def thresholds(self) -> dict[str, float]:
        return {"medium": self.medium, "high": self.high}

    def as_dict(self, policy: BandPolicy) -> dict[str, Any]:
        """The record stored with the model (``parameters["band_choice"]``)."""
        return {
            "rule": self.rule,
            "high_capacity": policy.high_capacity,
            "high_min_precision": policy.high_min_precision,
            "medium_capacity": policy.medium_capacity,
            "precision": _rounded(self.precision),
            "recall": _rounded(self.recall),
            "share_flagged": _rounded(self.share_flagged),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _cuts(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds from the highest down, each midway between one distinct score and the next
    lower (the lowest score is its own), and how many learners score at least each."""
    distinct, counts = np.unique(scores, return_counts=True)
    descending = distinct[::-1]
    thresholds = descending.copy()
    thresholds[:-1] = (descending[:-1] + descending[1:]) / 2
    return thresholds, np.cumsum(counts[::-1])


def _lowest_within(scores: np.ndarray, capacity: float) -> float:
    """The lowest threshold flagging at most ``capacity`` of the learners (ties together), or
    the top score when its ties alone exceed it."""
    thresholds, flagged = _cuts(scores)
    within = np.flatnonzero(flagged <= capacity * len(scores) + 1e-9)
    return float(thresholds[within[-1]] if len(within) else thresholds[0])


def band_choice(outcomes: np.ndarray, scores: np.ndarray, policy: BandPolicy) -> BandChoice:
    """Thresholds for ``scores`` (1 = withdrew in ``outcomes``) under ``policy``; see the module
    docstring for the rule and its fallbacks. Needs at least one learner."""
    if len(scores) == 0:
        raise ValueError("band thresholds need at least one score")
    order = np.argsort(-scores, kind="stable")
    thresholds, flagged = _cuts(scores)
    caught = np.cumsum(outcomes[order])[flagged - 1]
    precision = caught / flagged
    within = flagged <= policy.high_capacity * len(scores) + 1e-9
    meeting = np.flatnonzero(within & (precision >= policy.high_min_precision))
    if len(meeting):
        index, rule = int(meeting[-1]), PRECISION_TARGET
    elif within.any():
        index, rule = int(np.flatnonzero(within)[-1]), CAPACITY
    else:
        index, rule = 0, TOP_TIES
    high = float(thresholds[index])
    positives = int(outcomes.sum())
    return BandChoice(
        medium=min(_lowest_within(scores, policy.medium_capacity), high),
        high=high,
        rule=rule,
        precision=float(precision[index]),
        recall=float(caught[index] / positives) if positives else None,
        share_flagged=float(flagged[index] / len(scores)),
    )
