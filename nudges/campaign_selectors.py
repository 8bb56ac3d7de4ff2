"""Reads of campaigns: the ones a caller may see, who a campaign selects, what it produced."""

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet

from engagement.ids import row_by_id
from learners.contracts import CampaignCandidate, campaign_candidates, visible_cohort_ids
from nudges.models import Campaign, Nudge, NudgeStatus


def campaign_list(*, actor: Any) -> QuerySet[Campaign]:
    """Campaigns the caller may see, newest first: every one for admins and analysts; for a
    coach, those whose cohorts are all theirs (a campaign over every cohort is not)."""
    campaigns = Campaign.objects.prefetch_related("cohorts").order_by("-created_at", "-id")
    cohort_ids = visible_cohort_ids(actor=actor)
    if cohort_ids is None:
        return campaigns
    return campaigns.annotate(
        cohort_count=Count("cohorts", distinct=True),
        outside=Count("cohorts", filter=~Q(cohorts__in=cohort_ids), distinct=True),
    ).filter(cohort_count__gt=0, outside=0)


def campaign_get(*, actor: Any, campaign_id: Any) -> Campaign:
    return row_by_id(campaign_list(actor=actor), campaign_id, missing="No campaign with this id.")


def campaign_selection(
    campaign: Campaign, *, now: datetime, occurrence: str
) -> tuple[CampaignCandidate, ...]:
    """The learners ``campaign`` selects as of ``now``, in two queries: a preview and a run
    (and a run resumed after a crash, as of the same ``now``) select exactly these.

    "Not nudged for M days": no nudge sent since ``now`` minus M days, nor one waiting to go
    out, except this occurrence's own, so that a resumed run still selects the learners it
    already nudged (and finds their nudges instead of making new ones).
    """
    cohort_ids = [cohort.pk for cohort in campaign.cohorts.all()]
    candidates = campaign_candidates(
        now=now,
        cohort_ids=cohort_ids or None,
        learner_ids=[uuid.UUID(str(pk)) for pk in campaign.learner_ids] or None,
        min_band=campaign.min_band,
        inactive_days=campaign.inactive_days,
        exclude_not_applicable=campaign.exclude_not_applicable,
    )
    if campaign.not_nudged_days is None or not candidates:
        return candidates
    since = now - timedelta(days=campaign.not_nudged_days)
    nudged = set(
        Nudge.objects.filter(
            Q(sent_at__gte=since, sent_at__lte=now) | Q(status=NudgeStatus.SCHEDULED),
            learner_id__in=[candidate.learner_id for candidate in candidates],
        )
        .exclude(campaign=campaign, occurrence=occurrence)
        .values_list("learner_id", flat=True)
    )
    return tuple(candidate for candidate in candidates if candidate.learner_id not in nudged)


def campaign_nudge_counts(
    campaign_ids: Collection[uuid.UUID],
) -> Mapping[uuid.UUID, dict[str, int]]:
    """Each campaign's nudges by status (every status present, zero when none), one query."""
    counts: dict[uuid.UUID, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(NudgeStatus.values, 0)
    )
    rows = (
        Nudge.objects.filter(campaign_id__in=campaign_ids)
        .values_list("campaign_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for campaign_id, status, n in rows:
        counts[campaign_id][status] = n
    return {campaign_id: counts[campaign_id] for campaign_id in campaign_ids}
