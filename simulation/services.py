"""Simulations: request one (validated once, stored with its seed and model version), run it as
a job, cancel it. Every write of the app is here; a run writes only its own results.

A run validates its stored params again with the requester as they are at run time, so a coach
who lost a cohort since the request gets a failed job ("No such cohort."), never its learners.
"""

import math
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np
from django.utils import timezone

from engagement.audit import audit_record
from engagement.errors import ApplicationError, Forbidden, ValidationFailed
from engagement.jobs import Job, ProgressReporter, job_cancel, job_enqueue
from engagement.models import Role
from engagement.roles import role_of
from learners import contracts
from simulation import tasks
from simulation.kinds import KINDS
from simulation.kinds.base import SEED_MAX, RunContext, SimulationKind
from simulation.models import Simulation

NO_MODEL = "No risk model of this version."
NO_ACTIVE_MODEL = "There is no active risk model: give a model_version."


def _kind(name: Any) -> SimulationKind:
    kind = KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        choices = ", ".join(sorted(KINDS))
        raise ValidationFailed(detail={"kind": [f"Choose one of: {choices}."]})
    return kind


def json_ready(value: Any) -> Any:
    """``value`` as plain JSON data: numpy numbers and arrays become Python ones, UUIDs and
    datetimes strings, and NaN or infinities ``None`` (PostgreSQL's JSON has no such numbers)."""
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _validated(kind: SimulationKind, params: Any, actor: Any) -> dict[str, Any]:
    """The kind's params, validated for ``actor``; errors under ``params``."""
    if not isinstance(params, Mapping):
        raise ValidationFailed(detail={"params": ["Expected an object."]})
    serializer = kind.params(data=dict(params), context={"actor": actor})
    if not serializer.is_valid():
        raise ValidationFailed(detail={"params": serializer.errors})
    return dict(serializer.validated_data)


def _model_version(requested: int | None) -> int:
    spec = contracts.risk_model_spec(version=requested)
    if spec is None:
        why = NO_MODEL if requested else NO_ACTIVE_MODEL
        raise ValidationFailed(why, detail={"params": {"model_version": [why]}})
    return spec.version


def simulation_request(
    *,
    actor: Any,
    kind: Any,
    params: Any,
    name: str = "",
    idempotency_key: str = "",
    in_process: bool = False,
) -> Simulation:
    """Validate a simulation request and queue its run (``in_process``: run it here and return
    it finished). The stored params hold the seed (drawn when absent) and the model version (the
    active one when absent), so the run can be repeated exactly. A repeated ``idempotency_key``
    returns the simulation it made."""
    spec = _kind(kind)
    validated = _validated(spec, params, actor)
    seed = validated.get("seed")
    stored = json_ready(
        {
            **validated,
            "seed": secrets.randbelow(SEED_MAX + 1) if seed is None else seed,
            "model_version": _model_version(validated.get("model_version")),
        }
    )

    def prepare(job: Job) -> None:
        simulation = Simulation.objects.create(
            kind=spec.name,
            name=name,
            params=stored,
            seed=stored["seed"],
            model_version=stored["model_version"],
            job=job,
            requested_by=actor,
        )
        audit_record(
            actor=actor,
            action="simulation.request",
            target=simulation,
            changes={"kind": spec.name, "params": stored},
        )

    job = job_enqueue(
        tasks.simulation_run_task,
        {"kind": spec.name, "params": json_ready(dict(params))},
        requested_by=actor,
        idempotency_key=idempotency_key,
        in_process=in_process,
        prepare=prepare,
    )
    return Simulation.objects.select_related("job", "requested_by").get(job=job)


def simulation_run(*, job: Job, on_progress: ProgressReporter) -> dict[str, Any]:
    """Run the job's simulation and store its results; the job's result is the headline."""
    simulation = Simulation.objects.select_related("requested_by").get(job=job)
    actor = simulation.requested_by
    if actor is None or not actor.is_active:
        raise ApplicationError("The account that asked for this simulation is no longer active.")
    spec = _kind(simulation.kind)
    try:
        validated = _validated(spec, simulation.params, actor)
    except ValidationFailed as exc:
        raise ValidationFailed(
            f"The params are no longer valid for the requester: {exc.detail}"
        ) from exc
    context = RunContext(
        simulation_id=simulation.pk,
        actor=actor,
        cohort_ids=contracts.visible_cohort_ids(actor=actor),
        seed=simulation.seed,
        model_version=simulation.model_version,
        now=job.started_at or timezone.now(),
        progress=on_progress,
    )
    results = json_ready(spec.run(validated, context))
    Simulation.objects.filter(pk=simulation.pk).update(results=results, updated_at=timezone.now())
    return {"simulation_id": str(simulation.pk), **json_ready(spec.headline(results))}


def simulation_cancel(*, simulation: Simulation, actor: Any) -> Simulation:
    """Cancel a queued or running simulation (a running one stops at its next progress
    report): its requester or an admin may."""
    if role_of(actor) != Role.ADMIN and simulation.requested_by_id != actor.pk:
        raise Forbidden("Only the requester or an admin can cancel a simulation.")
    job_cancel(job=simulation.job, actor=actor)
    simulation.job.refresh_from_db()
    return simulation
