"""Projection: the risk distribution over the next weeks, from each learner's own recent rates.

Starts from the studying learners' facts as of the run's time (normed as a rescore of their
whole cohorts then would be) and their activity in the 28 days before it, then runs the Monte
Carlo of ``simulation.engine.projection``. Week scores use NumPy's logs and sigmoid
(``RawColumns.approximate_scores``): within a few ulps of live scoring, many times faster.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np
from rest_framework import serializers

from learners import contracts
from simulation.engine.projection import GROUPS, WEEK, Start, project
from simulation.engine.what_if import HISTOGRAM_BINS, band_counts, histogram
from simulation.kinds.base import CohortField, RunContext, SimulationKind, SimulationParams
from simulation.kinds.what_if import run_cohorts

#: The event kinds of each draw group (``assessment_scored``: assessments with a score, read
#: apart from the kinds).
KIND_GROUPS: Mapping[str, tuple[str, ...]] = {
    "login": ("login",),
    "content": ("content_view",),
    "video": ("video_watched",),
    "lesson": ("lesson_completed",),
    "assessment_other": (
        "assessment_started",
        "assessment_submitted",
        "assessment_passed",
        "assessment_failed",
    ),
    "forum": ("forum_post",),
    "other": ("other",),
}


class ProjectionParams(SimulationParams):
    cohort = CohortField(required=False, help_text="One cohort (default: every cohort in scope).")
    weeks = serializers.IntegerField(min_value=1, max_value=26, default=8)
    runs = serializers.IntegerField(min_value=1, max_value=1000, default=200)


def start_of(data: contracts.ProjectionStart) -> Start:
    """The engine's start from the facts and recent activity the risk engine read."""
    recent = data.recent
    per_week = WEEK / recent.days
    counts = {
        group: sum(recent.counts[kind] for kind in kinds) for group, kinds in KIND_GROUPS.items()
    }
    on_task = sum(counts[group] for group in KIND_GROUPS if group != "other")
    counts["assessment_other"] = counts["assessment_other"] - recent.scored_assessments
    counts["assessment_scored"] = recent.scored_assessments
    facts = data.columns.facts._asdict()
    return Start(
        facts={
            name: np.asarray(column, dtype=float)
            for name, column in facts.items()
            if name not in ("cohort_id", "as_of")
        },
        weekly={group: np.asarray(counts[group], dtype=float) * per_week for group in GROUPS},
        seconds_per_event=np.divide(
            recent.seconds, on_task, out=np.zeros(len(data.columns)), where=on_task > 0
        ),
        score_mean=np.divide(
            recent.score_sum,
            recent.scored_assessments,
            out=np.full(len(data.columns), np.nan),
            where=recent.scored_assessments > 0,
        ),
        progress_per_week=np.asarray(recent.progress_per_day) * WEEK,
    )


def run(params: Mapping[str, Any], context: RunContext) -> dict[str, Any]:
    spec = contracts.risk_model_spec(version=context.model_version)
    if spec is None:
        raise ValueError(f"No risk model version {context.model_version}.")
    data = contracts.projection_start(
        cohort_ids=run_cohorts(params.get("cohort"), context.cohort_ids), as_of=context.now
    )
    context.progress(0.1)
    columns = data.columns
    scores = contracts.score_matrix(columns.matrix(), kind=spec.kind, parameters=spec.parameters)[0]
    bands = contracts.bands_for(scores, spec.thresholds)
    weeks, runs = params.get("weeks", 8), params.get("runs", 200)
    projected = project(
        start_of(data),
        weeks=weeks,
        runs=runs,
        rng=np.random.default_rng(context.seed),
        score=lambda facts, learners: columns.approximate_scores(
            facts, learners, kind=spec.kind, parameters=spec.parameters
        ),
        thresholds=spec.thresholds,
        progress=lambda fraction: context.progress(0.1 + 0.9 * fraction),
    )
    context.progress(1.0)
    return {
        "learners": len(columns),
        "weeks": weeks,
        "runs": runs,
        "seed": context.seed,
        "model_version": context.model_version,
        "thresholds": dict(spec.thresholds),
        "start": {"bands": band_counts(bands), "distribution": histogram(scores)},
        "distribution_edges": [
            round(edge, 1) for edge in np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
        ],
        **projected,
    }


def headline(results: Mapping[str, Any]) -> dict[str, float | int | None]:
    last = results["per_week"][-1] if results["per_week"] else None
    return {
        "learners": results["learners"],
        "high_start": results["start"]["bands"]["high"],
        "high_final_mean": None if last is None else last["high"]["mean"],
        "high_final_p5": None if last is None else last["high"]["p5"],
        "high_final_p95": None if last is None else last["high"]["p95"],
    }


KIND = SimulationKind(
    name="projection", label="Projection", params=ProjectionParams, run=run, headline=headline
)
