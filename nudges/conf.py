"""The nudges app's tunables: the LLM client, the contact policy, experiments and tracking.

Read from the environment when the app loads (``NudgesConfig.ready()``), bounded like every
variable, and registered as Django settings of the same name (README, Configuration).
"""

from decimal import Decimal
from typing import Any

from engagement.environment import Environment

#: US dollars per million tokens (input, output) by model name; a model missing here costs 0
#: and is logged once. Override with ``LLM_PRICES`` as JSON: {"model": [in, out], ...}.
DEFAULT_LLM_PRICES: dict[str, tuple[Decimal, Decimal]] = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
}


def _prices(env: Environment) -> dict[str, tuple[Decimal, Decimal]]:
    raw = env.json("LLM_PRICES", default={})
    prices = dict(DEFAULT_LLM_PRICES)
    for model, pair in raw.items():
        prices[str(model)] = (Decimal(str(pair[0])), Decimal(str(pair[1])))
    return prices


def tunables() -> dict[str, Any]:
    """Each tunable's value from the environment, or its default."""
    env = Environment()
    return {
        # The LLM client (nudges.llm): no key means the template path.
        "OPENAI_API_KEY": env.str("OPENAI_API_KEY", default=""),
        "OPENAI_BASE_URL": env.str("OPENAI_BASE_URL", default=""),
        "OPENAI_MODEL": env.str("OPENAI_MODEL", default="gpt-4o-mini"),
        "OPENAI_TIMEOUT": env.float("OPENAI_TIMEOUT", default=20.0),
        "LLM_MAX_RETRIES": env.int("LLM_MAX_RETRIES", default=3),
        # Back-off before retry n (from 0): base * 2**n with jitter, at most the maximum; a
        # Retry-After longer than the maximum is not waited for (the call fails rate-limited).
        "LLM_RETRY_BASE_SECONDS": env.float("LLM_RETRY_BASE_SECONDS", default=0.5),
        "LLM_RETRY_MAX_SECONDS": env.float("LLM_RETRY_MAX_SECONDS", default=20.0),
        "LLM_CIRCUIT_FAILURES": env.int("LLM_CIRCUIT_FAILURES", default=5, minimum=1),
        "LLM_CIRCUIT_COOLDOWN_SECONDS": env.int("LLM_CIRCUIT_COOLDOWN_SECONDS", default=60),
        "LLM_CACHE_SECONDS": env.int("LLM_CACHE_SECONDS", default=24 * 3600),
        "LLM_PRICES": _prices(env),
        # Guardrails.
        "NUDGE_MAX_SUBJECT_CHARS": env.int("NUDGE_MAX_SUBJECT_CHARS", default=120, minimum=10),
        "NUDGE_MAX_BODY_CHARS": env.int("NUDGE_MAX_BODY_CHARS", default=1200, minimum=100),
        "NUDGE_ALLOWED_LINK_DOMAINS": env.list("NUDGE_ALLOWED_LINK_DOMAINS", default=[]),
        # The contact policy (nudges.policy).
        "NUDGE_MAX_PER_WEEK": env.int("NUDGE_MAX_PER_WEEK", default=2, minimum=1),
        "NUDGE_MIN_GAP_HOURS": env.int("NUDGE_MIN_GAP_HOURS", default=48),
        "NUDGE_QUIET_HOURS_START": env.int("NUDGE_QUIET_HOURS_START", default=21),
        "NUDGE_QUIET_HOURS_END": env.int("NUDGE_QUIET_HOURS_END", default=8),
        "NUDGE_DUPLICATE_DAYS": env.int("NUDGE_DUPLICATE_DAYS", default=30),
        # Campaign runs (nudges.campaigns).
        "CAMPAIGN_CONCURRENCY": env.int("CAMPAIGN_CONCURRENCY", default=8, minimum=1),
        "LLM_REQUESTS_PER_MINUTE": env.int("LLM_REQUESTS_PER_MINUTE", default=600, minimum=1),
        "LLM_TOKENS_PER_MINUTE": env.int("LLM_TOKENS_PER_MINUTE", default=200_000, minimum=1),
        # Experiments (nudges.experiments).
        "NUDGE_ATTRIBUTION_DAYS": env.int("NUDGE_ATTRIBUTION_DAYS", default=7, minimum=1),
    }
