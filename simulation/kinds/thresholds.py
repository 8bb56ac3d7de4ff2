"""Threshold tuning: for a model and historical outcomes, how many learners each band threshold
flags against a coach capacity, with precision and recall, to choose thresholds.

Learners are taken as training takes them (``learners.risk.dataset``): those who completed or
withdrew, scored on their features ``cutoff_days`` after enrolment. Without ``cohorts``, the
finished cohorts the requester may see. The suggestion is the band maths of trained models
(``learners.contracts.capacity_cut``): the lowest threshold whose flagged count fits the capacity.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np
from rest_framework import serializers

from learners import contracts
from simulation.engine import thresholds as engine
from simulation.kinds.base import CohortsField, RunContext, SimulationKind, SimulationParams

#: Share of the run spent reading features (the rest is scoring and tabulating).
READING_SHARE = 0.9


class ThresholdsParams(SimulationParams):
    cohorts = CohortsField(
        required=False, help_text="Cohorts whose outcomes judge the model (default: finished ones)."
    )
    cutoff_days = serializers.IntegerField(
        default=contracts.DEFAULT_CUTOFF_DAYS,
        min_value=contracts.MIN_CUTOFF_DAYS,
        max_value=contracts.MAX_CUTOFF_DAYS,
        help_text="Learners are scored as of this many days after their enrolment.",
    )
    capacity = serializers.IntegerField(
        required=False, min_value=1, help_text="How many learners the coaches can take."
    )


def run(params: Mapping[str, Any], context: RunContext) -> dict[str, Any]:
    spec = contracts.risk_model_spec(version=context.model_version)
    if spec is None:
        raise ValueError(f"No risk model version {context.model_version}.")
    if params.get("cohorts") is None:
        cohort_ids = list(
            contracts.finished_cohort_ids(cohort_ids=context.cohort_ids, now=context.now)
        )
    else:
        cohort_ids = [
            cohort_id
            for cohort_id in params["cohorts"]
            if context.cohort_ids is None or cohort_id in context.cohort_ids
        ]
    data = contracts.cutoff_outcomes(
        cohort_ids=cohort_ids,
        cutoff_days=params["cutoff_days"],
        now=context.now,
        on_progress=lambda done: context.progress(READING_SHARE * done),
    )
    scores = (
        contracts.score_matrix(data.values, kind=spec.kind, parameters=spec.parameters)[0]
        if len(data.learner_ids)
        else np.zeros(0)
    )
    capacity = params.get("capacity")
    current = spec.thresholds
    current_figures = engine.figures(
        scores, data.outcomes, np.array([current["medium"], current["high"]]), capacity
    )
    suggested = None
    if capacity is not None and len(scores):
        cut = contracts.capacity_cut(data.outcomes, scores, capacity)
        suggested = {
            "threshold": round(cut.threshold, engine.DIGITS),
            "flagged": cut.flagged,
            "precision": None if cut.precision is None else round(cut.precision, engine.DIGITS),
            "recall": None if cut.recall is None else round(cut.recall, engine.DIGITS),
            "within_capacity": cut.fits,
        }
    context.progress(1.0)
    return {
        "model_version": spec.version,
        "cutoff_days": params["cutoff_days"],
        "capacity": capacity,
        "cohorts": [str(cohort_id) for cohort_id in cohort_ids],
        "learners": len(data.learner_ids),
        "withdrawn": int(data.outcomes.sum()),
        "table": engine.figures(scores, data.outcomes, engine.GRID, capacity),
        "current": dict(zip(("medium", "high"), current_figures, strict=True)),
        "suggested": suggested,
    }


def headline(results: Mapping[str, Any]) -> dict[str, float | int | None]:
    high = results["current"]["high"]
    suggested = results["suggested"]
    return {
        "learners": results["learners"],
        "withdrawn": results["withdrawn"],
        "high_precision": high["precision"],
        "high_recall": high["recall"],
        "suggested_threshold": None if suggested is None else suggested["threshold"],
    }


KIND = SimulationKind(
    name="thresholds",
    label="Tune band thresholds against coach capacity",
    params=ThresholdsParams,
    run=run,
    headline=headline,
)
