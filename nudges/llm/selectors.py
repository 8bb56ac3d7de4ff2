"""Reads of the LLM calls: what generation used and cost, for a date range."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from engagement.db_routing import replica_read_alias
from nudges.models import LLMCall

#: The figures of a group of calls, one aggregate each.
FIGURES: dict[str, Any] = {
    "calls": Count("id"),
    "cache_hits": Count("id", filter=Q(cache_hit=True)),
    "tokens_in": Coalesce(Sum("tokens_in"), 0),
    "tokens_out": Coalesce(Sum("tokens_out"), 0),
    "cost": Coalesce(
        Sum("cost"), Value(Decimal(0)), output_field=DecimalField(max_digits=18, decimal_places=6)
    ),
}


def llm_calls_between(*, since: date | None = None, until: date | None = None) -> QuerySet[LLMCall]:
    """Calls made from the start of ``since`` to the end of ``until`` (UTC days, both kept)."""
    calls = LLMCall.objects.all()
    if since is not None:
        calls = calls.filter(created_at__gte=datetime.combine(since, time.min, tzinfo=UTC))
    if until is not None:
        next_day = datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC)
        calls = calls.filter(created_at__lt=next_day)
    return calls.using(replica_read_alias())


def _grouped(calls: QuerySet[LLMCall], *fields: str) -> list[dict[str, Any]]:
    return list(calls.values(*fields).annotate(**FIGURES).order_by(*fields))


def llm_usage(*, since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """Calls, cache hits, tokens and cost in the range: in total, and by outcome, by model and
    by prompt version (``prompt`` null: calls made without a stored prompt). Four queries."""
    calls = llm_calls_between(since=since, until=until).order_by()
    return {
        "since": since,
        "until": until,
        **calls.aggregate(**FIGURES),
        "by_outcome": _grouped(calls, "outcome"),
        "by_model": _grouped(calls, "model"),
        "by_prompt_version": [
            {
                "prompt": row.pop("prompt_id"),
                "key": row.pop("prompt__key"),
                "locale": row.pop("prompt__locale"),
                "version": row.pop("prompt__version"),
                **row,
            }
            for row in _grouped(
                calls, "prompt__key", "prompt__locale", "prompt__version", "prompt_id"
            )
        ],
    }
