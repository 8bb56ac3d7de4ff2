"""The analytics cache: answers keyed by what they depend on, short-lived, and made stale at once
by every snapshot write.

A key holds the answer's name and parameters, the caller's scope (role; a coach's user id), the
current *generation* (replaced by each snapshot write, so trends show a new day at once) and the
time slot of ``ANALYTICS_CACHE_SECONDS`` it was computed in: a live figure (learners studying,
high risk now, alerts waiting) is never older than that many seconds, whichever write changed it.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from engagement.ids import uuid7
from engagement.metrics import cache_lookup_count
from engagement.models import Role
from engagement.roles import role_of

T = TypeVar("T")

GENERATION_KEY = "analytics:generation"
ANALYTICS_USE = "analytics"


def analytics_cache_forget() -> None:
    """Make every cached analytics answer stale, now and once the transaction commits (a read
    in between would otherwise cache the rows as they were)."""
    cache.set(GENERATION_KEY, uuid7().hex, timeout=None)
    transaction.on_commit(lambda: cache.set(GENERATION_KEY, uuid7().hex, timeout=None))


def scope_key(actor: Any) -> str:
    """Who the answer is for: a coach by id (their cohorts), everyone else by role."""
    role = role_of(actor)
    return f"coach-{actor.pk}" if role == Role.COACH else str(role)


def cached(name: str, *, actor: Any, now: datetime, compute: Callable[[], T], **params: Any) -> T:
    """``compute()``'s answer for this caller, from the cache while fresh (see the module)."""
    seconds = settings.ANALYTICS_CACHE_SECONDS
    if seconds <= 0:
        return compute()
    generation = cache.get(GENERATION_KEY) or "0"
    slot = int(now.timestamp()) // seconds
    arguments = ":".join(f"{key}={value}" for key, value in sorted(params.items()))
    key = f"analytics:v1:{name}:{scope_key(actor)}:{generation}:{slot}:{arguments}"
    answer = cache.get(key)
    cache_lookup_count(ANALYTICS_USE, hits=answer is not None, misses=answer is None)
    if answer is None:
        answer = compute()
        cache.set(key, answer, timeout=seconds)
    return answer
