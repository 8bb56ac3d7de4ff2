"""Shared by the simulation tests: a small kind for testing the machinery (request, run, cancel,
results, compare) apart from any real kind's maths, which counts the studying learners it may
read and draws one number from the run's seed; and a model scoring idleness alone."""

import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from rest_framework import serializers

from learners.models import RiskModel
from simulation.kinds import KINDS
from simulation.kinds.base import CohortField, RunContext, SimulationKind, SimulationParams
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory

COUNTING = "what_if"  # a real kind name, so the model's choices and the API's enum accept it
#: Called with the run's context before each progress report (a test cancels the run there).
BEFORE_PROGRESS: list[Callable[[RunContext], None]] = []


class CountingParams(SimulationParams):
    cohort = CohortField(required=False)
    steps = serializers.IntegerField(min_value=1, max_value=10, default=2)


def _counting_run(params: Mapping[str, Any], context: RunContext) -> dict[str, Any]:
    from learners.models import Learner  # the test kind reads directly; real kinds use contracts

    learners = Learner.objects.filter(status__in=("active", "paused"))
    if context.cohort_ids is not None:
        learners = learners.filter(cohort_id__in=context.cohort_ids)
    if params.get("cohort"):
        learners = learners.filter(cohort_id=params["cohort"])
    ids = sorted(str(pk) for pk in learners.values_list("pk", flat=True))
    for step in range(params["steps"]):
        for hook in BEFORE_PROGRESS:
            hook(context)
        context.progress((step + 1) / params["steps"])
    draw = float(np.random.default_rng(context.seed).random())
    return {
        "learners": len(ids),
        "draw": draw,
        "model_version": context.model_version,
        "rows": [{"learner_id": learner_id, "score": 0.5} for learner_id in ids],
    }


def _counting_headline(results: Mapping[str, Any]) -> dict[str, float | int | None]:
    return {"learners": results["learners"], "draw": results["draw"]}


#: A rules model that scores idleness alone, sigmoid(days inactive - 10): medium from 10 idle days,
#: high from about 11.1; backtests and threshold tuning on hand-built learners whose bands are
#: known from their idle days.
IDLENESS_MODEL_VERSION = 90
IDLENESS_MODEL = {
    "intercept": 0.0,
    "centres": {"days_inactive": 10.0},
    "weights": {"days_inactive": 1.0},
    "thresholds": {"medium": 0.5, "high": 0.75},
}


def run_context(
    *,
    now: datetime,
    seed: int,
    model_version: int = IDLENESS_MODEL_VERSION,
    cohort_ids: frozenset[uuid.UUID] | None = None,
    progress: Callable[[float], None] | None = None,
) -> RunContext:
    """A run's context for calling a kind directly, as the run service builds it."""
    return RunContext(
        simulation_id=uuid.uuid4(),
        actor=None,
        cohort_ids=cohort_ids,
        seed=seed,
        model_version=model_version,
        now=now,
        progress=progress or (lambda done: None),
    )


@pytest.fixture
def world() -> dict[str, Any]:
    """Two cohorts, a coach of the first, an admin and an analyst; two named learners in the
    coach's cohort and three in the other."""
    mine, other = CohortFactory(name="Mine"), CohortFactory(name="Other")
    coach = UserFactory(role="coach")
    CohortAssignmentFactory(user=coach, cohort=mine)
    return {
        "mine": mine,
        "other": other,
        "coach": coach,
        "other_coach": UserFactory(role="coach"),
        "admin": UserFactory(role="admin"),
        "analyst": UserFactory(role="analyst"),
        "learners": [LearnerFactory(cohort=mine, name="Ann Lee") for _ in range(2)]
        + [LearnerFactory(cohort=other) for _ in range(3)],
    }


@pytest.fixture
def idleness_model() -> RiskModel:
    """The idleness model, stored (not active)."""
    return RiskModel.objects.create(
        version=IDLENESS_MODEL_VERSION, kind="rules", parameters=IDLENESS_MODEL, is_active=False
    )


@pytest.fixture
def counting_kind(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulationKind]:
    kind = SimulationKind(
        name=COUNTING,
        label="Counting",
        params=CountingParams,
        run=_counting_run,
        headline=_counting_headline,
        learner_keys=("rows",),
    )
    monkeypatch.setitem(KINDS, COUNTING, kind)
    yield kind
    BEFORE_PROGRESS.clear()
