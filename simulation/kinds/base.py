"""What a simulation kind is, and what a run of one may use.

A kind is pure computation over plain data from ``learners.contracts`` (feature matrices as of
any time, the model function, metrics) and ``nudges.contracts`` (measured uplift): it never
writes live risk, learners or anything else but its own results, and it reads the database in a
fixed number of set-based queries whatever the number of learners.

The core (``simulation.services``) validates a request with the kind's ``params`` serializer,
stores the validated params with the resolved ``seed`` and ``model_version``, runs ``run`` in a
Celery task through an ``engagement`` Job and stores what it returns as the simulation's
``results`` (JSON: plain numbers, strings, lists and dicts; learner ids as strings).
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rest_framework import serializers

from learners import contracts

#: The largest seed accepted (numpy's ``default_rng`` takes any non-negative integer; this keeps
#: it a JSON number every client reads exactly).
SEED_MAX = 2**32 - 1


@dataclass(frozen=True)
class RunContext:
    """What one run may use besides its params.

    ``cohort_ids`` are the cohorts the requester may see when the run starts (``None``: every
    cohort); a kind reads no learner outside them. Every random draw comes from
    ``numpy.random.default_rng(seed)``, so a run with the same params and seed gives the same
    results.
    ``progress`` takes a fraction from 0 to 1 and raises ``engagement.jobs.JobCancelled`` once the
    run was cancelled: call it between chunks of work.
    """

    simulation_id: uuid.UUID
    actor: Any
    cohort_ids: frozenset[uuid.UUID] | None
    seed: int
    model_version: int
    now: datetime
    progress: Callable[[float], None]


NO_SUCH_COHORT = "No such cohort."


def cohorts_in_scope(actor: Any, cohort_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """``cohort_ids`` if each names a cohort the requester may see, else a validation error
    that does not tell a cohort outside the scope from a missing one (two queries at most)."""
    visible = contracts.visible_cohort_ids(actor=actor)
    known = contracts.known_cohort_ids(cohort_ids)
    if any(
        cohort_id not in known or (visible is not None and cohort_id not in visible)
        for cohort_id in cohort_ids
    ):
        raise serializers.ValidationError(NO_SUCH_COHORT)
    return cohort_ids


class CohortField(serializers.UUIDField):
    """One cohort the requester may see (``cohort``)."""

    def to_internal_value(self, data: Any) -> uuid.UUID:
        cohort_id: uuid.UUID = super().to_internal_value(data)
        return cohorts_in_scope(self.context["actor"], [cohort_id])[0]


class CohortsField(serializers.ListField):
    """Cohorts the requester may see (``cohorts``), each at most once."""

    child = serializers.UUIDField()

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[uuid.UUID]:
        cohort_ids = list(dict.fromkeys(super().to_internal_value(data)))
        return cohorts_in_scope(self.context["actor"], cohort_ids)


class SimulationParams(serializers.Serializer[Any]):
    """Params every kind takes: ``seed`` (drawn and stored when absent) and ``model_version``
    (the active model's when absent). A kind's serializer subclasses this one; the serializer's
    context holds the requester as ``actor``."""

    seed = serializers.IntegerField(
        required=False, min_value=0, max_value=SEED_MAX, help_text="Random seed (stored)."
    )
    model_version = serializers.IntegerField(
        required=False, min_value=1, help_text="Risk model version (default: the active one)."
    )


@dataclass(frozen=True)
class SimulationKind:
    """One kind of simulation.

    ``run(params, context)`` returns the results. ``headline(results)`` gives the few figures
    that ``compare`` shows side by side (name -> number or ``None``). ``learner_keys`` names the
    result keys whose rows are about single learners (each row a dict with a ``learner_id``):
    analysts never get them, others get each row labelled as they may read it.
    """

    name: str
    label: str
    params: type[SimulationParams]
    run: Callable[[Mapping[str, Any], RunContext], dict[str, Any]]
    headline: Callable[[Mapping[str, Any]], dict[str, float | int | None]]
    learner_keys: tuple[str, ...] = ()
