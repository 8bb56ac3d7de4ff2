"""The analytics cache: answers keyed by what they depend on, short-lived, and made stale at once
by every write they depend on.

A key holds the answer's name and parameters; the caller's scope (role; for a coach, also a hash
of the cohorts they see now, so a coach removed from a cohort never gets an answer that counted
it); the current *generation* (replaced by each snapshot write, so trends show a new day at
once); the learners app's *data version* (``learners.contracts.data_version``: replaced by every
write of learners, risk, coach marks, cohorts and assignments, so an acknowledged learner leaves
the figures at once); and the time slot of ``ANALYTICS_CACHE_SECONDS`` it was computed in, which
bounds what no version tracks (activity events until their rescore, the clock).

Only figures and ids are cached, never rows that name learners: the "needs attention" and "in
the last 24 hours" lists cache which learners they show (the costly part: a count and a sort over
every learner in scope) and read those rows per request by primary key, through the caller's
scope and the list's own filter again, so a name never outlives the access or the row it came
from and no name sits in the cache.
"""

import hashlib
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
from learners import contracts

T = TypeVar("T")

GENERATION_KEY = "analytics:generation"
ANALYTICS_USE = "analytics"


def analytics_cache_forget() -> None:
    """Make every cached analytics answer stale, now and once the transaction commits (a read
    in between would otherwise cache the rows as they were)."""
    cache.set(GENERATION_KEY, uuid7().hex, timeout=None)
    transaction.on_commit(lambda: cache.set(GENERATION_KEY, uuid7().hex, timeout=None))


def scope_key(actor: Any) -> str:
    """Who the answer is for: a coach by id and the cohorts they see now (one query), everyone
    else by role."""
    role = role_of(actor)
    if role != Role.COACH:
        return str(role)
    cohorts = ",".join(sorted(map(str, contracts.visible_cohort_ids(actor=actor) or ())))
    return f"coach-{actor.pk}-{hashlib.sha256(cohorts.encode()).hexdigest()[:16]}"


def cached(name: str, *, actor: Any, now: datetime, compute: Callable[[], T], **params: Any) -> T:
    """``compute()``'s answer for this caller, from the cache while fresh (see the module)."""
    seconds = settings.ANALYTICS_CACHE_SECONDS
    if seconds <= 0:
        return compute()
    generation = cache.get(GENERATION_KEY) or "0"
    slot = int(now.timestamp()) // seconds
    arguments = ":".join(f"{key}={value}" for key, value in sorted(params.items()))
    key = (
        f"analytics:v2:{name}:{scope_key(actor)}:{generation}:{contracts.data_version()}:"
        f"{slot}:{arguments}"
    )
    answer = cache.get(key)
    cache_lookup_count(ANALYTICS_USE, hits=answer is not None, misses=answer is None)
    if answer is None:
        answer = compute()
        cache.set(key, answer, timeout=seconds)
    return answer
