"""Measured uplift of nudges per risk band: how much more often nudged learners came back than
the holdout of the same experiments, by the band they were in when nudged (docs/nudges.md,
experiments).

Only experiments with a holdout count. A nudged learner is one exposed in a variant arm (their
experiment nudge was sent) and their band is the one the nudge's risk snapshot recorded when it
was written; the holdout gets no nudge, so theirs is the band of their risk assessment as of
their exposure (the assignment: when they would have been nudged). A nudge whose snapshot was
erased falls back the same way. Every experiment is pooled per band: the figures are for
planning, the experiment page remains the place to judge one experiment. Re-engagement and
exposure are those the experiment results count (``nudges.experiment_selectors``), and the
interval is their Newcombe interval of a difference of rates (``nudges.experiment_stats``).
"""

import uuid
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from django.db.models import OuterRef, Subquery
from django.db.models.fields.json import KT

from learners.contracts import BANDS as RISK_BANDS
from learners.contracts import risk_bands_at
from nudges.experiment_stats import rate, two_proportion_test
from nudges.experiments import assignment_exposure
from nudges.models import ExperimentAssignment, Nudge

#: The risk bands, lowest first (the learners app lists them worst first, then ``unscored``).
BANDS: tuple[str, ...] = tuple(reversed(RISK_BANDS[:3]))


@dataclass(frozen=True, slots=True)
class BandUplift:
    """One band: nudged and holdout learners with those who came back, each arm's rate, and
    the uplift (nudged rate minus holdout rate) with its 95 % interval and p-value, ``None``
    when either arm is empty (nothing to compare with)."""

    band: str
    nudged: int
    nudged_re_engaged: int
    holdout: int
    holdout_re_engaged: int
    nudged_rate: float | None
    holdout_rate: float | None
    uplift: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


def measured_uplift(*, cohort_ids: Collection[uuid.UUID] | None = None) -> Mapping[str, BandUplift]:
    """Each band's measured uplift over the experiments' learners of ``cohort_ids`` (``None``:
    every cohort), every band present. Two queries whatever the number of learners (one when no
    band needs reading from the risk history)."""
    first_sent_band = (
        Nudge.objects.filter(
            experiment_id=OuterRef("experiment_id"),
            learner_id=OuterRef("learner_id"),
            sent_at__isnull=False,
        )
        .order_by("sent_at", "id")
        .values(band=KT("risk_snapshot__band"))[:1]
    )
    assignments = (
        ExperimentAssignment.objects.filter(experiment__holdout_share__gt=0)
        .annotate(exposure=assignment_exposure(), sent_band=Subquery(first_sent_band))
        .filter(exposure__isnull=False)
    )
    if cohort_ids is not None:
        assignments = assignments.filter(learner__cohort_id__in=set(cohort_ids))
    rows = list(
        assignments.order_by().values_list(
            "learner_id", "variant_id", "exposure", "sent_band", "re_engaged_at"
        )
    )
    nudged = [row for row in rows if row[1] is not None and row[3] in BANDS]
    to_read = [row for row in rows if row[1] is None or row[3] not in BANDS]
    read = risk_bands_at([(row[0], row[2]) for row in to_read])
    counts: Counter[tuple[str, bool, bool]] = Counter(
        (row[3], True, row[4] is not None) for row in nudged
    )
    counts.update(
        (band, row[1] is not None, row[4] is not None)
        for row, band in zip(to_read, read, strict=True)
        if band is not None
    )
    return MappingProxyType({band: _band(band, counts) for band in BANDS})


def _band(band: str, counts: Counter[tuple[str, bool, bool]]) -> BandUplift:
    came_back, stayed = counts[band, True, True], counts[band, True, False]
    held_back, held_stayed = counts[band, False, True], counts[band, False, False]
    nudged, holdout = came_back + stayed, held_back + held_stayed
    comparison = two_proportion_test(came_back, nudged, held_back, holdout)
    return BandUplift(
        band=band,
        nudged=nudged,
        nudged_re_engaged=came_back,
        holdout=holdout,
        holdout_re_engaged=held_back,
        nudged_rate=rate(came_back, nudged),
        holdout_rate=rate(held_back, holdout),
        uplift=comparison.difference,
        ci_low=comparison.ci_low,
        ci_high=comparison.ci_high,
        p_value=comparison.p_value,
    )
