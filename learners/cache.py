"""Cache keys for learner reads: selectors fill them, services clear them.

Each cached use has a name for the hit and miss counts (``engagement.metrics.cache_lookup_count``).

The *data version* (:func:`data_version`, exposed to other apps by ``learners.contracts``) is
replaced by every write that changes what the staff dashboard counts or lists (learners, their
risk, coach marks, cohorts, cohort assignments: :func:`learners_data_changed`), so a reader
that keys its cached answers on it never serves them after such a write. Activity events do not
replace it: they reach the figures through the rescore they queue, which does.
"""

import uuid
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

from engagement.ids import uuid7

LEARNER_DETAIL_USE = "learner_detail"
RISK_DETAIL_USE = "risk_detail"
COHORT_NORMS_USE = "cohort_norms"
DATA_VERSION_KEY = "learners:data-version"


def data_version() -> str:
    """The current data version (see the module): one cache read."""
    return cache.get(DATA_VERSION_KEY) or "0"


def learners_data_changed() -> None:
    """Replace the data version, now and again once the transaction commits (a read in between
    would otherwise cache an answer from the rows as they were, under the new version)."""
    cache.set(DATA_VERSION_KEY, uuid7().hex, timeout=None)
    transaction.on_commit(lambda: cache.set(DATA_VERSION_KEY, uuid7().hex, timeout=None))


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
