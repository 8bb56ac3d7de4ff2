"""Threshold tuning maths: what a band threshold flags, against outcomes and a coach capacity.

Pure numpy on plain arrays (no Django). A threshold flags the learners scoring at or above it,
as the model's bands do; ``outcomes`` is 1 for a learner who withdrew.
"""

from typing import Any

import numpy as np

#: The thresholds tabulated: 0.05, 0.10, ... 0.95.
GRID = np.round(np.arange(1, 20) * 0.05, 2)
#: Figures are rounded to this many decimals in results.
DIGITS = 6


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, DIGITS) if whole else None


def figures(
    scores: np.ndarray, outcomes: np.ndarray, thresholds: np.ndarray, capacity: int | None
) -> list[dict[str, Any]]:
    """For each threshold: how many it flags, their precision and recall (``None`` when nobody
    is flagged, or nobody withdrew), and whether the coaches can take them all
    (``within_capacity``; ``None`` without a capacity)."""
    flagged = scores[np.newaxis, :] >= thresholds[:, np.newaxis]
    flagged_counts = flagged.sum(axis=1)
    caught = (flagged & (outcomes[np.newaxis, :] == 1)).sum(axis=1)
    withdrawn = int(np.count_nonzero(outcomes == 1))
    return [
        {
            "threshold": round(float(threshold), DIGITS),
            "flagged": int(count),
            "precision": _share(int(hit), int(count)),
            "recall": _share(int(hit), withdrawn),
            "within_capacity": None if capacity is None else bool(count <= capacity),
        }
        for threshold, count, hit in zip(thresholds, flagged_counts, caught, strict=True)
    ]
