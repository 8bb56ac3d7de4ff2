"""Reads of nudges, for the API and the dashboard pages alike: the list (scoped to the caller's
cohorts, filtered), one nudge, a learner's latest nudges and in-app inbox, the campaigns and
prompt versions the pages list. Each is a constant number of queries whatever the number of rows.

Objects outside the caller's scope are :class:`~engagement.errors.NotFound` (404), as are those
that do not exist. Campaign reads of the API and of the runs are in
:mod:`nudges.campaign_selectors`, experiments' in :mod:`nudges.experiment_selectors`.
"""

import uuid
from collections.abc import Collection, Mapping
from typing import Any

from django.db.models import Count, Q, QuerySet

from engagement.errors import NotFound
from engagement.filters import filtered
from engagement.ids import row_by_id
from learners.contracts import learner_contacts, visible_cohort_ids
from nudges.campaign_selectors import campaign_list
from nudges.filters import NudgeFilter
from nudges.models import Campaign, Channel, Nudge, NudgeStatus, PromptTemplate
from nudges.prompts import prompt_list

#: The nudge list page's filters, each one value or none (the API's are :class:`NudgeFilter`).
NUDGE_PAGE_FILTERS = ("status", "source", "channel", "campaign", "learner")
#: How many of a learner's nudges the learner page lists, newest first.
LEARNER_PANEL_ROWS = 10


def nudge_queryset(*, actor: Any) -> QuerySet[Nudge]:
    """Every nudge the caller may see (of learners in their cohorts for a coach, else all),
    newest first, with what a row shows joined in."""
    nudges = Nudge.objects.select_related("prompt", "variant", "campaign").order_by(
        "-created_at", "-id"
    )
    cohorts = visible_cohort_ids(actor=actor)
    return nudges if cohorts is None else nudges.filter(learner__cohort_id__in=cohorts)


def nudge_list(*, actor: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Nudge]:
    """The caller's nudges, newest first, narrowed by ``filters`` (see :class:`NudgeFilter`)."""
    return filtered(NudgeFilter, nudge_queryset(actor=actor), filters)


def nudge_page_list(*, actor: Any, filters: Mapping[str, Any]) -> QuerySet[Nudge]:
    """The caller's nudges matching the list page's ``filters`` (names of
    :data:`NUDGE_PAGE_FILTERS`, validated by its form; empty ones are ignored)."""
    wanted = {name: filters[name] for name in NUDGE_PAGE_FILTERS if filters.get(name)}
    return nudge_queryset(actor=actor).filter(**wanted)


def nudge_get(*, actor: Any, nudge_id: Any) -> Nudge:
    """One nudge in the caller's scope; ``NotFound`` otherwise (outside the scope included)."""
    return row_by_id(nudge_queryset(actor=actor), nudge_id, missing="No nudge with this id.")


def learner_nudges(*, learner_id: uuid.UUID) -> list[Nudge]:
    """The learner's latest nudges (the learner page checked the scope), one query."""
    return list(
        Nudge.objects.filter(learner_id=learner_id)
        .select_related("prompt")
        .order_by("-created_at", "-id")[:LEARNER_PANEL_ROWS]
    )


def learner_in_scope(*, actor: Any, learner_id: Any) -> uuid.UUID:
    """The learner's id, if the learner exists within the caller's scope; ``NotFound`` else."""
    missing = NotFound("No learner with this id.")
    try:
        learner_uuid = learner_id if isinstance(learner_id, uuid.UUID) else uuid.UUID(learner_id)
    except ValueError:
        raise missing from None
    contact = learner_contacts([learner_uuid]).get(learner_uuid)
    cohorts = visible_cohort_ids(actor=actor)
    if contact is None or (cohorts is not None and contact.cohort_id not in cohorts):
        raise missing
    return learner_uuid


def inbox_list(*, learner_id: uuid.UUID) -> QuerySet[Nudge]:
    """The learner's in-app nudges delivered so far, newest first; none once the learner is
    erased (the rows stay, emptied, for counts and rates: they are no longer messages)."""
    return Nudge.objects.filter(
        learner_id=learner_id,
        learner__erased_at__isnull=True,
        channel=Channel.IN_APP,
        status=NudgeStatus.SENT,
        delivered_at__isnull=False,
    ).order_by("-sent_at", "-id")


def inbox_get(*, learner_id: uuid.UUID, nudge_id: Any) -> Nudge:
    return row_by_id(
        inbox_list(learner_id=learner_id), nudge_id, missing="No such message in this inbox."
    )


def campaign_page_list(*, actor: Any) -> QuerySet[Campaign]:
    """The campaigns page's rows: those the caller may see, as in the API (a coach: those whose
    cohorts are all theirs), newest first, each with its nudges counted by status in the same
    query."""
    return (
        Campaign.objects.filter(pk__in=campaign_list(actor=actor).values("pk"))
        .select_related("experiment")
        .annotate(
            nudge_count=Count("nudges"),
            **{
                f"{status}_count": Count("nudges", filter=Q(nudges__status=status))
                for status in NudgeStatus.values
            },
        )
        .order_by("-created_at", "-id")
    )


def campaigns_openable(
    *, actor: Any, campaign_ids: Collection[uuid.UUID | None]
) -> frozenset[uuid.UUID]:
    """Those of ``campaign_ids`` whose page the caller may open: a nudge links to its campaign
    only then (a coach sees nudges of campaigns beyond their cohorts); one query, none without
    ids."""
    wanted = {campaign_id for campaign_id in campaign_ids if campaign_id is not None}
    if not wanted:
        return frozenset()
    return frozenset(campaign_list(actor=actor).filter(pk__in=wanted).values_list("pk", flat=True))


def campaign_page_get(*, actor: Any, campaign_id: uuid.UUID | str) -> Campaign:
    return row_by_id(
        campaign_page_list(actor=actor), campaign_id, missing="No campaign with this id."
    )


def campaign_cohort_names(campaign: Campaign) -> list[str]:
    """The names of the cohorts a campaign's criteria name (one query)."""
    return sorted(campaign.cohorts.values_list("name", flat=True))


def prompt_versions() -> QuerySet[PromptTemplate]:
    """Every prompt version (in :func:`nudges.prompts.prompt_list`'s order) with how many
    nudges each wrote, one query."""
    return prompt_list().annotate(nudge_count=Count("nudges"))
