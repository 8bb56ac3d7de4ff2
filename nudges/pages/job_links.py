"""The job page's link for a ``nudges.campaign_run`` job: its campaign, named with what the
run did in words (registered with ``registry.add_job_kind`` from ``apps.py``)."""

import uuid
from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext, ngettext

from engagement.models import Job
from nudges import selectors
from nudges.models import Campaign, NudgeStatus


def _run_summary(result: Mapping[str, Any]) -> str:
    """ "80 learners selected, 22 held out; 58 nudges written: 10 sent, 48 scheduled"."""
    if not isinstance(result.get("selected"), int):
        return ""
    parts = [
        ngettext("%(count)d learner selected", "%(count)d learners selected", result["selected"])
        % {"count": result["selected"]}
    ]
    if result.get("holdout"):
        parts.append(gettext("%(count)d held out") % {"count": result["holdout"]})
    labels = dict(NudgeStatus.choices)
    by_status = result.get("by_status") or {}
    # In the statuses' own order: PostgreSQL's jsonb does not keep the result's key order.
    statuses = ", ".join(
        f"{by_status[status]} {str(label).lower()}"
        for status, label in labels.items()
        if by_status.get(status)
    )
    text = ", ".join(parts)
    if statuses:
        text += "; " + gettext("nudges: %(statuses)s") % {"statuses": statuses}
    return text


def campaign_run_links(job: Job, viewer: Any) -> list[tuple[str, str]]:
    """The run's campaign page, when the viewer may open it (a coach: campaigns within their
    cohorts), with the run's counts in words once it has finished."""
    try:
        campaign_id = uuid.UUID(str((job.params or {}).get("campaign_id")))
    except ValueError:
        return []
    if campaign_id not in selectors.campaigns_openable(actor=viewer, campaign_ids=[campaign_id]):
        return []
    name = Campaign.objects.filter(pk=campaign_id).values_list("name", flat=True).first() or ""
    summary = _run_summary(job.result or {})
    text = gettext("Campaign “%(name)s”") % {"name": name}
    return [
        (
            f"{text}: {summary}" if summary else text,
            reverse("dashboard-campaign", args=[campaign_id]),
        )
    ]
