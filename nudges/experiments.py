"""Experiments (interface; the experiments area replaces this file)."""

import uuid
from collections.abc import Iterable
from datetime import datetime

from nudges.models import Experiment, ExperimentVariant


def experiment_assign(
    experiment: Experiment, learner_ids: Iterable[uuid.UUID], *, now: datetime
) -> dict[uuid.UUID, ExperimentVariant | None]:
    """Each learner's arm (``None``: the holdout), stored once and never changed."""
    raise NotImplementedError
