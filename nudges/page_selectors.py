"""Reads of the nudges dashboard pages: nudges, campaigns, prompt versions and experiments, each
scoped to the caller and read in a constant number of queries.

A coach sees the nudges of learners in their cohorts and the campaigns they started; admins and
analysts see everything (the pages hide message text from analysts). Objects outside the
caller's scope are :class:`~engagement.errors.NotFound`, which the pages answer with 404.
"""

import uuid
from collections.abc import Collection, Mapping
from typing import Any

from django.db.models import Count, Q, QuerySet

from engagement.ids import row_by_id
from engagement.models import Role
from engagement.roles import role_of
from learners import contracts
from nudges.models import (
    Campaign,
    Nudge,
    NudgeStatus,
    PromptTemplate,
)

#: Nudge filters the list page offers (field: lookup).
NUDGE_FILTERS = ("status", "source", "channel", "campaign", "learner")
#: How many of a learner's nudges the learner page lists, newest first.
LEARNER_PANEL_ROWS = 10


def nudge_queryset(*, actor: Any) -> QuerySet[Nudge]:
    """The nudges of the caller's learners, newest first, with what a row shows joined in."""
    nudges = Nudge.objects.select_related("prompt", "variant", "campaign").order_by(
        "-created_at", "-id"
    )
    cohort_ids = contracts.visible_cohort_ids(actor=actor)
    return nudges if cohort_ids is None else nudges.filter(learner__cohort_id__in=cohort_ids)


def nudge_page_list(*, actor: Any, filters: Mapping[str, Any]) -> QuerySet[Nudge]:
    """The caller's nudges matching ``filters`` (names of :data:`NUDGE_FILTERS`; empty ones
    are ignored)."""
    wanted = {name: filters[name] for name in NUDGE_FILTERS if filters.get(name)}
    return nudge_queryset(actor=actor).filter(**wanted)


def nudge_page_get(*, actor: Any, nudge_id: uuid.UUID | str) -> Nudge:
    return row_by_id(nudge_queryset(actor=actor), nudge_id, missing="No nudge with this id.")


def learner_nudges(*, learner_id: uuid.UUID) -> list[Nudge]:
    """The learner's latest nudges (the learner page checked the scope), one query."""
    return list(
        Nudge.objects.filter(learner_id=learner_id)
        .select_related("prompt")
        .order_by("-created_at", "-id")[:LEARNER_PANEL_ROWS]
    )


def campaign_queryset(*, actor: Any) -> QuerySet[Campaign]:
    """The campaigns the caller may open (a coach: those they started), newest first, each
    with its nudges counted by status in the same query."""
    campaigns = Campaign.objects.select_related("experiment").annotate(
        nudge_count=Count("nudges"),
        **{
            f"{status}_count": Count("nudges", filter=Q(nudges__status=status))
            for status in NudgeStatus.values
        },
    )
    return _campaigns_in_scope(campaigns, actor=actor).order_by("-created_at", "-id")


def _campaigns_in_scope(campaigns: QuerySet[Campaign], *, actor: Any) -> QuerySet[Campaign]:
    return campaigns.filter(created_by=actor) if role_of(actor) == Role.COACH else campaigns


def campaigns_openable(
    *, actor: Any, campaign_ids: Collection[uuid.UUID | None]
) -> frozenset[uuid.UUID]:
    """Those of ``campaign_ids`` whose page the caller may open: a nudge links to its campaign
    only then (a coach sees nudges of campaigns others ran); one query, none without ids."""
    wanted = {campaign_id for campaign_id in campaign_ids if campaign_id is not None}
    if not wanted:
        return frozenset()
    campaigns = _campaigns_in_scope(Campaign.objects.filter(pk__in=wanted), actor=actor)
    return frozenset(campaigns.values_list("pk", flat=True))


def campaign_page_get(*, actor: Any, campaign_id: uuid.UUID | str) -> Campaign:
    return row_by_id(
        campaign_queryset(actor=actor), campaign_id, missing="No campaign with this id."
    )


def campaign_cohort_names(campaign: Campaign) -> list[str]:
    """The names of the cohorts a campaign's criteria name (one query)."""
    return sorted(campaign.cohorts.values_list("name", flat=True))


def prompt_versions() -> QuerySet[PromptTemplate]:
    """Every prompt version by key and locale, newest version first, with how many nudges each
    wrote (one query)."""
    return PromptTemplate.objects.annotate(nudge_count=Count("nudges")).order_by(
        "key", "locale", "-version"
    )


def prompt_version_get(*, prompt_id: uuid.UUID | str) -> PromptTemplate:
    return row_by_id(
        PromptTemplate.objects.all(), prompt_id, missing="No prompt version with this id."
    )
