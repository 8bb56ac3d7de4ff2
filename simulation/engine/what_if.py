"""What-if maths on arrays: changed facts, and what the rescore changed (no Django here).

The kind (``simulation.kinds.what_if``) reads the live facts, applies these changes, rescores
with the model function and summarises with ``what_if_summary``.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

BANDS = ("low", "medium", "high")
HISTOGRAM_BINS = 10
CROSSINGS_SHOWN = 200
ACTIVE_DAYS_WINDOW = 14

#: The counts an activity change scales: the recent windows (counts, time on task, active days,
#: forum posts) and the totals since enrolment (events, active days, events of each kind), so that
#: a model reading either sees the change.
ACTIVITY_FACTS = (
    "events_7",
    "events_prev_21",
    "seconds_7",
    "seconds_prev_21",
    "active_days_14",
    "forum_posts_30",
    "events_total",
    "enrolled_events",
    "enrolled_active_days",
    "kind_totals",
)


def scaled_activity(facts: Mapping[str, np.ndarray], percent: float) -> dict[str, np.ndarray]:
    """Every activity count (see ``ACTIVITY_FACTS``) times ``1 + percent / 100``, rounded to whole
    events (half to even): "what if these learners had been this much more or less active". Active
    days stay within their window (14 days; since enrolment, the days enrolled); days inactive,
    the first week and assessments are left as they were."""
    factor = 1.0 + percent / 100.0
    scaled = {
        name: np.rint(np.asarray(facts[name], dtype=float) * factor).astype(np.int64)
        for name in ACTIVITY_FACTS
    }
    scaled["active_days_14"] = np.minimum(scaled["active_days_14"], ACTIVE_DAYS_WINDOW)
    enrolled_days = np.floor(np.asarray(facts["tenure_days"], dtype=float)).astype(np.int64) + 1
    scaled["enrolled_active_days"] = np.minimum(scaled["enrolled_active_days"], enrolled_days)
    return scaled


def shifted_assessment(means: np.ndarray, points: float) -> np.ndarray:
    """Assessment means ``points`` percentage points higher (lower if negative), within [0, 1];
    a learner without a recent mean (NaN) keeps none."""
    return np.clip(np.asarray(means, dtype=float) + points / 100.0, 0.0, 1.0)


def histogram(scores: np.ndarray) -> list[int]:
    """Scores counted in ``HISTOGRAM_BINS`` equal bins over [0, 1] (1.0 in the last)."""
    counts, _ = np.histogram(scores, bins=HISTOGRAM_BINS, range=(0.0, 1.0))
    return [int(count) for count in counts]


def band_counts(bands: np.ndarray) -> dict[str, int]:
    return {band: int(np.count_nonzero(bands == band)) for band in BANDS}


def _rounded(value: float) -> float:
    return round(float(value), 6)


def what_if_summary(
    *,
    learner_ids: Sequence[str],
    cohort_ids: Sequence[str],
    cohort_names: Mapping[str, str],
    before: np.ndarray,
    after: np.ndarray,
    bands_before: np.ndarray,
    bands_after: np.ndarray,
) -> dict[str, Any]:
    """Results of a what-if: how scores and bands moved, overall, per cohort and per learner
    (``crossings``: the learners whose band changed, largest change first, at most 200)."""
    change = after - before
    pairs = [
        {
            "from": old,
            "to": new,
            "learners": int(np.count_nonzero((bands_before == old) & (bands_after == new))),
        }
        for old in BANDS
        for new in BANDS
    ]
    crossed = np.flatnonzero(bands_before != bands_after)
    # Largest change first; ties by learner id, so a run's order does not depend on the read.
    ids = np.asarray(learner_ids, dtype=object)
    order = crossed[np.lexsort((ids[crossed], -np.abs(change[crossed])))][:CROSSINGS_SHOWN]
    cohorts = np.asarray(cohort_ids, dtype=object)
    table = []
    for cohort_id in sorted(set(cohort_ids), key=lambda key: (cohort_names[key], key)):
        members = cohorts == cohort_id
        table.append(
            {
                "cohort_id": cohort_id,
                "cohort": cohort_names[cohort_id],
                "learners": int(np.count_nonzero(members)),
                "mean_score_before": _rounded(before[members].mean()),
                "mean_score_after": _rounded(after[members].mean()),
                "bands_before": band_counts(bands_before[members]),
                "bands_after": band_counts(bands_after[members]),
            }
        )
    return {
        "learners": len(learner_ids),
        "max_abs_score_change": _rounded(np.abs(change).max()) if len(change) else 0.0,
        "mean_score_before": _rounded(before.mean()) if len(before) else None,
        "mean_score_after": _rounded(after.mean()) if len(after) else None,
        "bands_before": band_counts(bands_before),
        "bands_after": band_counts(bands_after),
        "band_changes": pairs,
        "band_changes_by_pair": {
            f"{pair['from']}->{pair['to']}": pair["learners"] for pair in pairs
        },
        "distribution": {
            "edges": [round(edge, 1) for edge in np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)],
            "before": histogram(before),
            "after": histogram(after),
        },
        "cohorts": table,
        "crossings_total": len(crossed),
        "crossings": [
            {
                "learner_id": learner_ids[row],
                "cohort_id": cohort_ids[row],
                "score_before": _rounded(before[row]),
                "score_after": _rounded(after[row]),
                "band_before": str(bands_before[row]),
                "band_after": str(bands_after[row]),
            }
            for row in order.tolist()
        ],
    }
