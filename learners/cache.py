"""Cache keys for learner reads: selectors fill them, services clear them.

Each cached use has a name for the hit and miss counts (``engagement.metrics.cache_lookup_count``).
"""

import uuid
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

LEARNER_DETAIL_USE = "learner_detail"
RISK_DETAIL_USE = "risk_detail"
COHORT_NORMS_USE = "cohort_norms"


def learner_detail_key(learner_id: uuid.UUID | str) -> str:
    return f"learners:detail:v1:{learner_id}"


def learner_detail_forget(learner_ids: Iterable[uuid.UUID | str]) -> None:
    """Drop cached detail responses; call after any write that touches these learners.

    Dropped now and again once the transaction commits: a read between the two would otherwise
    cache the rows as they were before the write, for the whole cache lifetime.
    """
    keys = [learner_detail_key(learner_id) for learner_id in learner_ids]
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys))
