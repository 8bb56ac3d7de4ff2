"""Which learners a nudge campaign may reach (``nudges.campaigns``), chosen in the database.

Exported through ``learners.contracts``: the campaign's criteria that live on learners (cohort,
band, inactivity, a coach's "not applicable" mark) are one query here, whatever the number of
learners, so a preview and a run select from the same rows the same way.
"""

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from django.conf import settings
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from learners.models import (
    STUDYING_STATUSES,
    Cohort,
    Learner,
    RiskBand,
    RiskFeedback,
    RiskFeedbackKind,
)

#: Bands from the lowest up: a minimum band admits itself and every band after it.
BAND_ORDER: tuple[str, ...] = (RiskBand.LOW, RiskBand.MEDIUM, RiskBand.HIGH)


@dataclass(frozen=True, slots=True)
class CampaignCandidate:
    """A learner a campaign may nudge, with their cohort (feature flags hold per cohort)."""

    learner_id: uuid.UUID
    cohort_id: uuid.UUID


def campaign_candidates(
    *,
    now: datetime,
    cohort_ids: Collection[uuid.UUID] | None = None,
    learner_ids: Collection[uuid.UUID] | None = None,
    min_band: str = "",
    inactive_days: int | None = None,
    exclude_not_applicable: bool = True,
) -> tuple[CampaignCandidate, ...]:
    """Studying, scored learners who did not opt out of nudges and meet every criterion given,
    ordered by id, in one query.

    ``None`` leaves a criterion out. Inactive for N days: no activity since ``now`` minus N days
    (a learner never active counts from enrolment). "Not applicable": the coach's latest mark
    within ``RISK_FEEDBACK_QUIET_DAYS`` (the window in which a mark also quiets the digest).
    """
    if min_band and min_band not in BAND_ORDER:
        raise ValueError(f"Unknown band: {min_band!r}")
    learners = Learner.objects.filter(
        status__in=STUDYING_STATUSES,
        nudge_opt_out=False,
        erased_at__isnull=True,
        risk_scored_at__isnull=False,
    )
    if cohort_ids is not None:
        learners = learners.filter(cohort_id__in=cohort_ids)
    if learner_ids is not None:
        learners = learners.filter(id__in=learner_ids)
    if min_band:
        learners = learners.filter(risk_band__in=BAND_ORDER[BAND_ORDER.index(min_band) :])
    if inactive_days is not None:
        learners = learners.annotate(
            last_seen=Coalesce(F("last_active_at"), F("enrolled_at"))
        ).filter(last_seen__lte=now - timedelta(days=inactive_days))
    if exclude_not_applicable:
        since = now - timedelta(days=settings.RISK_FEEDBACK_QUIET_DAYS)
        latest_mark = (
            RiskFeedback.objects.filter(learner_id=OuterRef("pk"), created_at__gte=since)
            .order_by("-created_at", "-id")
            .values("kind")[:1]
        )
        learners = learners.annotate(
            latest_mark=Coalesce(Subquery(latest_mark), Value(""))
        ).exclude(latest_mark=RiskFeedbackKind.NOT_APPLICABLE)
    return tuple(
        CampaignCandidate(learner_id=learner_id, cohort_id=cohort_id)
        for learner_id, cohort_id in learners.order_by("id").values_list("id", "cohort_id")
    )


def learner_cohort_ids(learner_ids: Collection[uuid.UUID]) -> Mapping[uuid.UUID, uuid.UUID]:
    """Each known learner's cohort id (unknown ids are absent), in one query: how a campaign
    checks that chosen learners exist and lie within the caller's cohorts."""
    rows = Learner.objects.filter(id__in=learner_ids).values_list("id", "cohort_id")
    return MappingProxyType(dict(rows))


def known_cohort_ids(cohort_ids: Collection[uuid.UUID]) -> frozenset[uuid.UUID]:
    """Those of ``cohort_ids`` that name a cohort, in one query."""
    return frozenset(Cohort.objects.filter(id__in=cohort_ids).values_list("id", flat=True))
