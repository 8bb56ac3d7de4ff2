"""Cache keys for learner reads: selectors fill them, services clear them."""

import uuid
from collections.abc import Iterable

from django.core.cache import cache


def learner_detail_key(learner_id: uuid.UUID | str) -> str:
    return f"learners:detail:v1:{learner_id}"


def learner_detail_forget(learner_ids: Iterable[uuid.UUID | str]) -> None:
    """Drop cached detail responses; call after any write that touches these learners."""
    keys = [learner_detail_key(learner_id) for learner_id in learner_ids]
    if keys:
        cache.delete_many(keys)
