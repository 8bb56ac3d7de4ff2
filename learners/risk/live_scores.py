"""Risk as scoring stored it, read in bulk for planning: the studying learners' current scores,
and any learner's band as of a past moment (what a nudge sent then was aimed at).

Both are single set-based queries whatever the number of learners asked about.
"""

import uuid
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from engagement.id_sets import id_subquery
from learners.models import STUDYING_STATUSES, Learner, RiskAssessment


@dataclass(frozen=True)
class LiveScores:
    """Studying, scored learners ordered by id: cohort, current score and band (the
    denormalised current risk), and whether they asked not to be nudged. Arrays are
    read-only and in ``learner_ids`` order."""

    learner_ids: tuple[uuid.UUID, ...]
    cohort_ids: tuple[uuid.UUID, ...]
    scores: np.ndarray
    bands: tuple[str, ...]
    nudge_opt_out: np.ndarray


def live_scores(*, cohort_ids: Iterable[uuid.UUID] | None = None) -> LiveScores:
    """The current risk of the studying learners of ``cohort_ids`` (``None``: every cohort);
    learners not scored yet are left out. One query."""
    learners = Learner.objects.filter(
        status__in=STUDYING_STATUSES, risk_score__isnull=False
    ).exclude(risk_band="")
    if cohort_ids is not None:
        learners = learners.filter(cohort_id__in=set(cohort_ids))
    rows = list(
        learners.order_by("id").values_list(
            "id", "cohort_id", "risk_score", "risk_band", "nudge_opt_out"
        )
    )
    scores = np.array([row[2] for row in rows], dtype=float)
    opted_out = np.array([row[4] for row in rows], dtype=bool)
    scores.flags.writeable = False
    opted_out.flags.writeable = False
    return LiveScores(
        learner_ids=tuple(row[0] for row in rows),
        cohort_ids=tuple(row[1] for row in rows),
        scores=scores,
        bands=tuple(row[3] for row in rows),
        nudge_opt_out=opted_out,
    )


def risk_bands_at(moments: Sequence[tuple[uuid.UUID, datetime]]) -> tuple[str | None, ...]:
    """For each ``(learner_id, moment)``, the band of the learner's latest assessment as of
    that moment (by ``as_of``; ``None`` when none was), in the order given. One query, none
    for no moments."""
    if not moments:
        return ()
    history: dict[uuid.UUID, tuple[list[datetime], list[str]]] = {}
    assessments = (
        RiskAssessment.objects.filter(
            learner_id__in=id_subquery({learner_id for learner_id, _ in moments}),
            as_of__lte=max(moment for _, moment in moments),
        )
        .order_by("learner_id", "as_of", "computed_at", "id")
        .values_list("learner_id", "as_of", "band")
    )
    for learner_id, as_of, band in assessments:
        times, bands = history.setdefault(learner_id, ([], []))
        times.append(as_of)
        bands.append(band)
    found: list[str | None] = []
    for learner_id, moment in moments:
        times, bands = history.get(learner_id, ([], []))
        position = bisect_right(times, moment)
        found.append(bands[position - 1] if position else None)
    return tuple(found)
