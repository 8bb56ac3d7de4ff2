"""Backtest maths: weekly scoring instants, each week's figures, and lead times.

Pure numpy on plain arrays (times in POSIX seconds, UTC): no Django, so it is tested on arrays.
A learner "withdrew later" in a week when they were scored that week (still studying at its
instant) and ended by withdrawing; "flagged" means in the high band. The lead time of a learner
who withdrew is the whole weeks from the first instant the high band flagged them to their
withdrawal.
"""

import math
from typing import Any

import numpy as np

WEEK_SECONDS = 7 * 86_400.0
BANDS = ("low", "medium", "high")
#: Figures are rounded to this many decimals in results.
DIGITS = 6


def _rounded(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), DIGITS)


def week_instants(start: float, end: float) -> np.ndarray:
    """The instants at the end of each whole week from ``start`` up to ``end`` (a run shorter
    than a week is scored once, at ``end``; none when ``end`` is not after ``start``)."""
    if end <= start:
        return np.zeros(0)
    weeks = int((end - start) // WEEK_SECONDS)
    if weeks == 0:
        return np.array([end])
    return start + WEEK_SECONDS * np.arange(1, weeks + 1)


def scored_mask(enrolled_at: np.ndarray, finished_at: np.ndarray, as_of: float) -> np.ndarray:
    """Learners scored at ``as_of``: enrolled by then and not finished before it."""
    return (enrolled_at <= as_of) & ~(finished_at < as_of)


def week_figures(scores: np.ndarray, bands: np.ndarray, withdrew: np.ndarray) -> dict[str, Any]:
    """One week's figures for the learners scored that week: band counts, mean score, and the
    high band's precision and recall against ``withdrew`` (``None`` when nobody is flagged, or
    nobody scored withdrew)."""
    flagged = bands == "high"
    caught = int(np.count_nonzero(flagged & withdrew))
    flagged_count = int(np.count_nonzero(flagged))
    withdrew_count = int(np.count_nonzero(withdrew))
    return {
        "learners": len(scores),
        "bands": {band: int(np.count_nonzero(bands == band)) for band in BANDS},
        "mean_score": _rounded(float(scores.mean())) if len(scores) else None,
        "precision": _rounded(caught / flagged_count) if flagged_count else None,
        "recall": _rounded(caught / withdrew_count) if withdrew_count else None,
        "flagged": flagged_count,
        "withdrew_later": withdrew_count,
    }


def first_flags(
    first_flagged_at: np.ndarray, scored: np.ndarray, high: np.ndarray, as_of: float
) -> np.ndarray:
    """``first_flagged_at`` with ``as_of`` set for the scored learners (indices ``scored``)
    flagged (``high``, one per scored learner) for the first time."""
    updated = first_flagged_at.copy()
    newly = scored[high & np.isnan(first_flagged_at[scored])]
    updated[newly] = as_of
    return updated


def lead_weeks(withdrew_at: np.ndarray, first_flagged_at: np.ndarray) -> np.ndarray:
    """Whole weeks from the first flag to the withdrawal (NaN when never flagged before it)."""
    return np.floor((withdrew_at - first_flagged_at) / WEEK_SECONDS)


def lead_time_summary(weeks: np.ndarray) -> dict[str, Any]:
    """The lead times of the learners who withdrew (NaN: never flagged before withdrawing):
    how many were flagged each number of weeks ahead, the mean and median of those flagged,
    and the shares caught (flagged before withdrawing) and never flagged."""
    flagged = weeks[~np.isnan(weeks)].astype(int)
    values, counts = np.unique(flagged, return_counts=True)
    return {
        "counts": {
            str(int(value)): int(count) for value, count in zip(values, counts, strict=True)
        },
        "mean": _rounded(float(flagged.mean())) if len(flagged) else None,
        "median": _rounded(float(np.median(flagged))) if len(flagged) else None,
        "caught_share": _rounded(len(flagged) / len(weeks)) if len(weeks) else None,
        "never_flagged_share": _rounded(1 - len(flagged) / len(weeks)) if len(weeks) else None,
    }


def mean_of(values: list[float | None]) -> float | None:
    """The mean of the values that are known (``None`` when none is)."""
    known = [value for value in values if value is not None]
    return _rounded(sum(known) / len(known)) if known else None
