"""Experiments: variants by weight and a holdout, deterministic assignment, re-engagement
recorded during ingestion, and promoting the winner (docs/nudges.md, experiments).

Assignment is a pure function of the experiment and the learner (a SHA-256 of both ids mapped
onto the holdout share and the variants' weights), so a learner lands in the same arm whichever
worker asks and however often; the first answer is also stored, and never changed.

Re-engagement is the learner's first activity within the attribution window after exposure:
the send of the nudge for a variant (and for any nudge, experiment or not), the assignment for
the holdout, who get nothing. Ingestion hands every batch of events just written to
:func:`re_engagement_record` (``learners.contracts.activity_listener_add``), which marks
nudges and assignments in at most four queries whatever the batch.
"""

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, DateTimeField, F, Min, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Least

from engagement.audit import audit_changes, audit_record
from engagement.errors import Conflict, ValidationFailed
from engagement.id_sets import id_subquery
from engagement.models import User
from nudges.models import (
    Experiment,
    ExperimentAssignment,
    ExperimentVariant,
    Nudge,
    PromptTemplate,
)
from nudges.prompts import prompt_activate

#: The longest attribution window an experiment may have, in days; it also bounds how far back
#: ingestion looks for nudges an event could re-engage.
MAX_ATTRIBUTION_DAYS = 60
HOLDOUT = "holdout"
_HASH_SPACE = 2**64


def experiment_create(
    *,
    name: str,
    variants: Sequence[Mapping[str, Any]],
    holdout_share: float,
    attribution_days: int | None = None,
    actor: Any,
) -> Experiment:
    """An experiment with its variants (``name``, ``weight``, ``prompt``: a prompt version's
    id, or ``None`` for the template), running from now. Audited."""
    days = settings.NUDGE_ATTRIBUTION_DAYS if attribution_days is None else attribution_days
    prompts = _variant_prompts(variants)
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Give the experiment a name."]
    if not 0 <= holdout_share < 1:
        errors["holdout_share"] = ["The holdout share must be at least 0 and less than 1."]
    if not 1 <= days <= MAX_ATTRIBUTION_DAYS:
        errors["attribution_days"] = [f"Between 1 and {MAX_ATTRIBUTION_DAYS} days."]
    if errors:
        raise ValidationFailed(detail=errors)
    with transaction.atomic():
        experiment = Experiment.objects.create(
            name=name.strip(),
            holdout_share=holdout_share,
            attribution_days=days,
            created_by=actor if isinstance(actor, User) else None,
        )
        ExperimentVariant.objects.bulk_create(
            ExperimentVariant(
                experiment=experiment,
                name=variant["name"],
                weight=variant["weight"],
                prompt=prompts.get(variant.get("prompt")),
            )
            for variant in variants
        )
        audit_record(
            actor=actor,
            action="nudges.experiment_create",
            target=experiment,
            changes={
                "holdout_share": holdout_share,
                "attribution_days": days,
                "variants": ",".join(f"{v['name']}:{v['weight']}" for v in variants),
            },
        )
    return experiment


def _variant_prompts(variants: Sequence[Mapping[str, Any]]) -> dict[Any, PromptTemplate]:
    """The variants' prompt versions by id (one query), after checking the variants."""
    problems: list[str] = []
    names = [str(variant.get("name") or "").strip() for variant in variants]
    if not variants:
        problems.append("Give at least one variant.")
    if not all(names) or len(set(names)) != len(names):
        problems.append("Each variant needs a name of its own.")
    if HOLDOUT in {name.lower() for name in names}:
        problems.append(f"'{HOLDOUT}' names the arm that gets nothing; call the variant otherwise.")
    if any(not isinstance(v.get("weight"), int) or v["weight"] < 1 for v in variants):
        problems.append("Each weight must be a whole number of at least 1.")
    wanted = {variant["prompt"] for variant in variants if variant.get("prompt") is not None}
    prompts = PromptTemplate.objects.in_bulk(wanted) if wanted else {}
    if len(prompts) != len(wanted):
        problems.append("A variant names a prompt version that does not exist.")
    if problems:
        raise ValidationFailed(detail={"variants": problems})
    return prompts


def arm_position(experiment_id: uuid.UUID, learner_id: uuid.UUID) -> float:
    """Where the learner falls in ``[0, 1)`` for this experiment: uniform, and the same every
    time (it depends on nothing else)."""
    digest = hashlib.sha256(f"{experiment_id}:{learner_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _HASH_SPACE


def arm_for(
    position: float, *, holdout_share: float, variants: Sequence[ExperimentVariant]
) -> ExperimentVariant | None:
    """The arm at ``position``: the holdout below its share, then each variant (in name order)
    over a slice of the rest proportional to its weight."""
    if position < holdout_share or not variants:
        return None
    scaled = (position - holdout_share) / (1 - holdout_share) * sum(v.weight for v in variants)
    for variant in sorted(variants, key=lambda variant: variant.name):
        if scaled < variant.weight:
            return variant
        scaled -= variant.weight
    return variants[-1]  # only reached by rounding at the very top of the range


def experiment_assign(
    experiment: Experiment, learner_ids: Iterable[uuid.UUID], *, now: datetime
) -> dict[uuid.UUID, ExperimentVariant | None]:
    """Each learner's arm (``None``: the holdout), stored once and never changed; three
    queries whatever the number of learners. Once the experiment is stopped, learners not
    yet assigned get its winner, unrecorded (they are not part of the comparison)."""
    ids = list(dict.fromkeys(learner_ids))
    variants = list(experiment.variants.select_related("prompt"))
    by_id = {variant.pk: variant for variant in variants}
    stored = dict(
        ExperimentAssignment.objects.filter(experiment=experiment, learner_id__in=ids).values_list(
            "learner_id", "variant_id"
        )
    )
    arms = {learner_id: by_id.get(variant_id) for learner_id, variant_id in stored.items()}
    missing = [learner_id for learner_id in ids if learner_id not in stored]
    if experiment.status == Experiment.Status.STOPPED:
        winner = by_id.get(experiment.winner_id) if experiment.winner_id else None
        return {**arms, **dict.fromkeys(missing, winner)}
    new = {
        learner_id: arm_for(
            arm_position(experiment.pk, learner_id),
            holdout_share=experiment.holdout_share,
            variants=variants,
        )
        for learner_id in missing
    }
    ExperimentAssignment.objects.bulk_create(
        [
            ExperimentAssignment(
                experiment=experiment,
                learner_id=learner_id,
                variant=variant,
                assigned_at=now,
                exposed_at=now if variant is None else None,
            )
            for learner_id, variant in new.items()
        ],
        ignore_conflicts=True,
    )
    return {**arms, **new}


def assignment_exposure() -> Coalesce:
    """When an assignment's learner was exposed: stored (the holdout, or recorded by
    ingestion), else the first send of the experiment's nudge to them (``None``: not yet)."""
    first_send = (
        Nudge.objects.filter(
            experiment_id=OuterRef("experiment_id"),
            learner_id=OuterRef("learner_id"),
            sent_at__isnull=False,
        )
        .order_by()
        .values("learner_id")
        .annotate(first=Min("sent_at"))
        .values("first")
    )
    return Coalesce(F("exposed_at"), Subquery(first_send), output_field=DateTimeField())


def re_engagement_record(activity: Mapping[uuid.UUID, Sequence[datetime]]) -> None:
    """Mark the nudges and experiment assignments that these learners' events, just written
    by ingestion, re-engage: each keeps the earliest activity in its window. At most four
    queries (read and update each kind) whatever the number of learners and events; run in
    the transaction ``learners.activity_listeners.activity_notify`` opens."""
    times = {learner_id: sorted(stamps) for learner_id, stamps in activity.items() if stamps}
    if not times:
        return
    earliest = min(stamps[0] for stamps in times.values())
    latest = max(stamps[-1] for stamps in times.values())
    since = earliest - timedelta(days=max(MAX_ATTRIBUTION_DAYS, settings.NUDGE_ATTRIBUTION_DAYS))
    unmarked = Q(re_engaged_at__isnull=True) | Q(re_engaged_at__gt=earliest)
    learners = id_subquery(times)
    nudges = (
        Nudge.objects.filter(
            unmarked, learner_id__in=learners, sent_at__gte=since, sent_at__lt=latest
        )
        .annotate(window=F("experiment__attribution_days"))
        .only("id", "learner_id", "sent_at", "re_engaged_at")
        .order_by("id")
    )
    firsts = {
        nudge.pk: first
        for nudge in nudges
        if nudge.sent_at is not None
        and (
            first := _first_after(
                nudge,
                exposed=nudge.sent_at,
                days=nudge.window or settings.NUDGE_ATTRIBUTION_DAYS,
                times=times[nudge.learner_id],
            )
        )
    }
    if firsts:
        Nudge.objects.filter(pk__in=firsts).update(re_engaged_at=_earliest(firsts))
    assignments = (
        ExperimentAssignment.objects.annotate(exposure=assignment_exposure())
        .filter(unmarked, learner_id__in=learners, exposure__gte=since, exposure__lt=latest)
        .select_related("experiment")
        .only("id", "learner_id", "exposed_at", "re_engaged_at", "experiment__attribution_days")
        .order_by("id")
    )
    exposures: dict[uuid.UUID, datetime] = {}
    firsts = {}
    for assignment in assignments:
        first = _first_after(
            assignment,
            exposed=assignment.exposure,
            days=assignment.experiment.attribution_days,
            times=times[assignment.learner_id],
        )
        if first:
            firsts[assignment.pk] = first
            exposures[assignment.pk] = assignment.exposure
    if firsts:
        ExperimentAssignment.objects.filter(pk__in=firsts).update(
            re_engaged_at=_earliest(firsts),
            exposed_at=Coalesce(F("exposed_at"), _by_id(exposures)),
        )


def _first_after(
    row: Nudge | ExperimentAssignment, *, exposed: datetime, days: int, times: Sequence[datetime]
) -> datetime | None:
    """The first of ``times`` in ``(exposed, exposed + days]`` if earlier than the row's
    ``re_engaged_at``, else ``None`` (nothing to change)."""
    end = exposed + timedelta(days=days)
    first = next((time for time in times if exposed < time <= end), None)
    if first is None or (row.re_engaged_at is not None and row.re_engaged_at <= first):
        return None
    return first


def _by_id(values: Mapping[uuid.UUID, datetime]) -> Case:
    """Each row's own value, in one expression (one UPDATE for every row)."""
    return Case(
        *(When(pk=pk, then=Value(value)) for pk, value in values.items()),
        output_field=DateTimeField(),
    )


def _earliest(firsts: Mapping[uuid.UUID, datetime]) -> Least:
    """``re_engaged_at`` becomes the earlier of the stored time and the row's new one, in the
    database: a concurrent batch that stored an earlier time meanwhile keeps it."""
    new = _by_id(firsts)
    return Least(Coalesce(F("re_engaged_at"), new), new)


def experiment_promote(*, experiment: Experiment, variant_name: str, actor: Any) -> Experiment:
    """Declare the variant the winner and stop the experiment: its prompt version becomes the
    active one of its key and locale (a template variant activates nothing). Audited."""
    if experiment.status != Experiment.Status.RUNNING:
        raise Conflict(detail={"status": ["The experiment is stopped: its winner is chosen."]})
    variant = experiment.variants.select_related("prompt").filter(name=variant_name).first()
    if variant is None:
        raise ValidationFailed(detail={"variant": [f"No variant named '{variant_name}'."]})
    with transaction.atomic():
        if variant.prompt is not None:
            prompt_activate(prompt=variant.prompt, actor=actor)
        experiment.winner = variant
        experiment.status = Experiment.Status.STOPPED
        experiment.save(update_fields=["winner", "status", "updated_at"])
        audit_record(
            actor=actor,
            action="nudges.experiment_promote",
            target=experiment,
            changes=audit_changes({"variant": variant.name, "prompt": variant.prompt}),
        )
    return experiment
