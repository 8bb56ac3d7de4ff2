"""What-if: change the live facts of a segment and rescore (``simulation.engine.what_if``).

The base is each studying learner's live assessment (their facts as of ``risk_scored_at``, with
their cohorts' norms), so with no changes and the live model every score equals the stored live
score exactly. Changes: recent activity scaled, days without activity added (the facts as of
each learner's as-of plus those days, from the events before it), assessment means shifted, or
other band thresholds. Learners not scored yet are left out and counted.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from rest_framework import serializers

from learners import contracts
from simulation.engine.what_if import BANDS, scaled_activity, shifted_assessment, what_if_summary
from simulation.kinds.base import CohortField, RunContext, SimulationKind, SimulationParams

ACTIVITY_PCT = "activity_pct"
NO_ACTIVITY_DAYS = "no_activity_days"
ASSESSMENT_POINTS = "assessment_points"
THRESHOLDS = "thresholds"
#: Each change kind's value bounds (inclusive).
VALUE_RANGES = {
    ACTIVITY_PCT: (-100, 500),
    NO_ACTIVITY_DAYS: (1, 365),
    ASSESSMENT_POINTS: (-100, 100),
}
SCORE_CHUNK = 20_000


class ChangeSerializer(serializers.Serializer[Any]):
    """One change: ``{"kind": ..., "value": n}``, or ``{"kind": "thresholds", "medium": x,
    "high": y}``."""

    kind = serializers.ChoiceField(choices=[*VALUE_RANGES, THRESHOLDS])
    value = serializers.FloatField(required=False)
    medium = serializers.FloatField(required=False)
    high = serializers.FloatField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["kind"]
        if kind == THRESHOLDS:
            missing = {
                name: ["This field is required."]
                for name in ("medium", "high")
                if name not in attrs
            }
            if missing:
                raise serializers.ValidationError(missing)
            if not 0 < attrs["medium"] < attrs["high"] < 1:
                raise serializers.ValidationError(
                    {"high": ["Thresholds need 0 < medium < high < 1."]}
                )
            return {"kind": kind, "medium": attrs["medium"], "high": attrs["high"]}
        if "value" not in attrs:
            raise serializers.ValidationError({"value": ["This field is required."]})
        low, high = VALUE_RANGES[kind]
        value = attrs["value"]
        if not low <= value <= high:
            raise serializers.ValidationError({"value": [f"Must be from {low} to {high}."]})
        if kind == NO_ACTIVITY_DAYS and value != int(value):
            raise serializers.ValidationError({"value": ["A whole number of days."]})
        return {"kind": kind, "value": int(value) if kind == NO_ACTIVITY_DAYS else value}


class WhatIfParams(SimulationParams):
    cohort = CohortField(required=False, help_text="One cohort (default: every cohort in scope).")
    band = serializers.ChoiceField(
        choices=BANDS, required=False, help_text="Only learners whose live band is this one."
    )
    changes = serializers.ListField(
        child=ChangeSerializer(), required=False, default=list, max_length=len(VALUE_RANGES) + 1
    )

    def validate_changes(self, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kinds = [change["kind"] for change in changes]
        if len(set(kinds)) != len(kinds):
            raise serializers.ValidationError("Each kind of change at most once.")
        return changes


@dataclass(frozen=True)
class WhatIf:
    """A what-if's learners (rows), their scores and bands before and after the changes."""

    learner_ids: tuple[uuid.UUID, ...]
    cohort_ids: tuple[uuid.UUID, ...]
    before: np.ndarray
    after: np.ndarray
    bands_before: np.ndarray
    bands_after: np.ndarray
    live_scores: np.ndarray
    data: contracts.LiveColumns


def run_cohorts(
    cohort: uuid.UUID | None, scope: frozenset[uuid.UUID] | None
) -> frozenset[uuid.UUID] | None:
    """The cohorts a run reads: the one asked for, within the requester's scope at run time."""
    if cohort is None:
        return scope
    return frozenset({cohort}) if scope is None or cohort in scope else frozenset()


def _scores(
    matrix: np.ndarray, spec: contracts.ModelSpec, context: RunContext, start: float
) -> np.ndarray:
    """The model's scores (``score_matrix``: live scoring's, to the last bit), a chunk at a time."""
    scores = np.empty(len(matrix))
    for first in range(0, len(matrix), SCORE_CHUNK):
        chunk = slice(first, first + SCORE_CHUNK)
        scores[chunk] = contracts.score_matrix(
            matrix[chunk], kind=spec.kind, parameters=spec.parameters
        )[0]
        context.progress(start + 0.3 * min(first + SCORE_CHUNK, len(matrix)) / len(matrix))
    return scores


def simulate(params: Mapping[str, Any], context: RunContext) -> WhatIf:
    """Read the live facts, apply the changes, rescore before and after."""
    spec = contracts.risk_model_spec(version=context.model_version)
    if spec is None:
        raise ValueError(f"No risk model version {context.model_version}.")
    changes = {change["kind"]: change for change in params.get("changes", [])}
    data = contracts.live_raw_columns(
        cohort_ids=run_cohorts(params.get("cohort"), context.cohort_ids),
        idle_days=changes[NO_ACTIVITY_DAYS]["value"] if NO_ACTIVITY_DAYS in changes else 0,
    )
    context.progress(0.3)
    live_bands = np.asarray(data.bands, dtype=object)
    rows = (
        np.ones(len(live_bands), dtype=bool)
        if "band" not in params
        else live_bands == params["band"]
    )
    changed = data.idle or data.live
    if ACTIVITY_PCT in changes:
        facts = changed.facts._asdict()
        changed = changed.changed(**scaled_activity(facts, changes[ACTIVITY_PCT]["value"]))
    if ASSESSMENT_POINTS in changes:
        changed = changed.changed(
            assessment_mean_30=shifted_assessment(
                changed.facts.assessment_mean_30, changes[ASSESSMENT_POINTS]["value"]
            )
        )
    before = _scores(data.live.matrix()[rows], spec, context, 0.3)
    # No fact changed (none asked, or only thresholds): the same matrix, the same scores.
    after = before if changed is data.live else _scores(changed.matrix()[rows], spec, context, 0.6)
    thresholds = changes.get(THRESHOLDS, spec.thresholds)
    selected = np.flatnonzero(rows).tolist()
    return WhatIf(
        learner_ids=tuple(data.live.learner_ids[row] for row in selected),
        cohort_ids=tuple(data.live.facts.cohort_id[row] for row in selected),
        before=before,
        after=after,
        bands_before=contracts.bands_for(before, spec.thresholds),
        bands_after=contracts.bands_for(after, thresholds),
        live_scores=data.scores[rows],
        data=data,
    )


def run(params: Mapping[str, Any], context: RunContext) -> dict[str, Any]:
    result = simulate(params, context)
    results = what_if_summary(
        learner_ids=[str(learner_id) for learner_id in result.learner_ids],
        cohort_ids=[str(cohort_id) for cohort_id in result.cohort_ids],
        cohort_names={str(key): info.name for key, info in result.data.cohorts.items()},
        before=result.before,
        after=result.after,
        bands_before=result.bands_before,
        bands_after=result.bands_after,
    )
    context.progress(1.0)
    return {**results, "unscored": result.data.unscored, "model_version": context.model_version}


def headline(results: Mapping[str, Any]) -> dict[str, float | int | None]:
    return {
        "learners": results["learners"],
        "max_abs_score_change": results["max_abs_score_change"],
        "high_before": results["bands_before"]["high"],
        "high_after": results["bands_after"]["high"],
        "crossings": results["crossings_total"],
    }


KIND = SimulationKind(
    name="what_if",
    label="What-if",
    params=WhatIfParams,
    run=run,
    headline=headline,
    learner_keys=("crossings",),
)
