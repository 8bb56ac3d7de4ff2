"""What other apps may read of ``nudges``: plain, frozen figures, nothing else.

The analytics overview reads its nudge KPIs here (nudges sent, re-engagement rate, LLM cost
over a period). Set-based: two aggregate queries whatever the number of nudges or cohorts.
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum

from nudges.models import LLMCall, Nudge
from nudges.uplift import BandUplift, measured_uplift

__all__ = ["BandUplift", "NudgeFigures", "measured_uplift", "nudge_figures"]


@dataclass(frozen=True, slots=True)
class NudgeFigures:
    """Nudges sent in ``[since, until)``, how many of those learners came back within the
    attribution window (``re_engaged``; ``rate`` is ``None`` when none was sent), and what the
    LLM calls of the period cost (Decimal, US dollars)."""

    since: datetime
    until: datetime
    sent: int
    re_engaged: int
    rate: float | None
    llm_cost: Decimal


def nudge_figures(
    *, since: datetime, until: datetime, cohort_ids: Collection[uuid.UUID] | None = None
) -> NudgeFigures:
    """The figures over every cohort (``cohort_ids`` ``None``) or over those cohorts: then the
    cost is that of the calls which wrote nudges to their learners (a call records no learner)."""
    sent = Nudge.objects.filter(sent_at__gte=since, sent_at__lt=until)
    calls = LLMCall.objects.filter(created_at__gte=since, created_at__lt=until)
    if cohort_ids is not None:
        sent = sent.filter(learner__cohort_id__in=cohort_ids)
        calls = calls.filter(
            pk__in=Nudge.objects.filter(learner__cohort_id__in=cohort_ids).values("llm_call_id")
        )
    counts = sent.aggregate(
        sent=Count("id"), re_engaged=Count("id", filter=Q(re_engaged_at__isnull=False))
    )
    cost = calls.aggregate(cost=Sum("cost"))["cost"] or Decimal(0)
    return NudgeFigures(
        since=since,
        until=until,
        sent=counts["sent"],
        re_engaged=counts["re_engaged"],
        rate=counts["re_engaged"] / counts["sent"] if counts["sent"] else None,
        llm_cost=cost,
    )
