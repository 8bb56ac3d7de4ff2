"""Recording LLM calls: what each cost, from the per-model price table ``LLM_PRICES``."""

import logging
import uuid
from decimal import Decimal

from django.conf import settings
from prometheus_client import Counter

from nudges.models import LLMCall, LLMOutcome

logger = logging.getLogger(__name__)

#: Prices are per million tokens; costs are kept to the micro-dollar (``LLMCall.cost``).
TOKENS_PER_PRICE_UNIT = Decimal(1_000_000)
COST_QUANTUM = Decimal("0.000001")

llm_calls = Counter(
    "nudges_llm_calls",
    "LLM generation calls by outcome (ok, timeout, rate_limited, ..., circuit_open) and whether "
    "the response cache answered.",
    ["outcome", "cache_hit"],
)

_unpriced_models: set[str] = set()


def llm_cost(model: str, tokens_in: int, tokens_out: int) -> Decimal:
    """US dollars for the tokens at the model's price; a model missing from ``LLM_PRICES``
    costs 0 (said once per process in the log, so the table gets completed)."""
    prices: dict[str, tuple[Decimal, Decimal]] = settings.LLM_PRICES
    price = prices.get(model)
    if price is None:
        if model not in _unpriced_models:
            _unpriced_models.add(model)
            logger.warning("LLM model %s has no price in LLM_PRICES: its calls cost 0", model)
        return Decimal(0)
    price_in, price_out = price
    cost = (tokens_in * price_in + tokens_out * price_out) / TOKENS_PER_PRICE_UNIT
    return cost.quantize(COST_QUANTUM)


def llm_call_record(
    *,
    prompt_id: uuid.UUID | None,
    model: str,
    purpose: str,
    outcome: str,
    tokens_in: int = 0,
    tokens_out: int = 0,
    latency_ms: int = 0,
    attempts: int = 0,
    cache_hit: bool = False,
    error_class: str = "",
) -> LLMCall:
    """Store one call (its retries included) with its cost; a cache hit spent no tokens."""
    call = LLMCall.objects.create(
        prompt_id=prompt_id,
        model=model,
        purpose=purpose,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=llm_cost(model, tokens_in, tokens_out),
        latency_ms=latency_ms,
        attempts=attempts,
        cache_hit=cache_hit,
        outcome=outcome,
        error_class=error_class[:100],
    )
    llm_calls.labels(outcome=outcome, cache_hit=str(cache_hit).lower()).inc()
    logger.log(
        logging.INFO if outcome == LLMOutcome.OK else logging.WARNING,
        "LLM call %s (%s, %s): %s after %s attempt(s) in %s ms%s%s",
        call.pk,
        purpose,
        model,
        outcome,
        attempts,
        latency_ms,
        ", from the cache" if cache_hit else "",
        f", {error_class}" if error_class else "",
    )
    return call
