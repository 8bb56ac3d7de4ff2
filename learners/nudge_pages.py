"""What the nudges pages need of learners: how a list of nudges names its learners.

Exported through ``learners.contracts``; one query whatever the number of learners.
"""

import uuid
from collections.abc import Iterable
from typing import Any

from engagement.roles import sees_personal_data
from learners.models import Learner
from learners.selectors import learner_label


def learner_labels(*, actor: Any, learner_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each learner's label as the caller may read it (the name, or the pseudonym for those who
    may not see personal data); unknown ids are absent. Scope is the caller's business: the
    nudges pages ask only for learners of rows they already scoped."""
    personal = sees_personal_data(actor)
    learners = Learner.objects.filter(pk__in=set(learner_ids)).only("pk", "name", "external_id")
    return {learner.pk: learner_label(learner, personal=personal) for learner in learners}
