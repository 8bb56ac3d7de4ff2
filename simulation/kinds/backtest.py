"""Backtest: "if this model had run last term, whom would we have caught, and how early?"

Scores each cohort's learners as of the end of every week of its run (UTC) with a chosen model
version, on point-in-time features, and judges the high band against who withdrew later. A
cohort's run goes from its ``starts_on`` to the end of its ``ends_on`` (self-paced: to its last
learner's finish), never past the run's ``now``; learners still studying at its end count as not
withdrawn. Reads: three queries, then the feature matrix's (five) per cohort and week with learners.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from learners import contracts
from simulation.engine import backtest as engine
from simulation.kinds.base import CohortsField, RunContext, SimulationKind, SimulationParams

MAX_COHORTS = 20


class BacktestParams(SimulationParams):
    cohorts = CohortsField(
        min_length=1,
        max_length=MAX_COHORTS,
        help_text="Cohorts to replay (finished ones, usually; at most 20).",
    )


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()


def _run_end(run: contracts.CohortRun, finished_at: np.ndarray, now: float) -> float:
    """Where a cohort's backtest stops: the end of its last day, or, self-paced, its last
    learner's finish while none is still studying; never after ``now``."""
    if run.ends_at is not None:
        end = run.ends_at.timestamp()
    elif len(finished_at) and not np.isnan(finished_at).any():
        end = float(finished_at.max())
    else:
        end = now
    return min(end, now)


def _scores(
    spec: contracts.ModelSpec,
    learners: contracts.LearnerOutcomes,
    position: Mapping[Any, int],
    candidates: np.ndarray,
    as_of: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The positions, scores and bands of the ``candidates`` scored as of ``as_of``."""
    if not len(candidates):
        return candidates, np.zeros(0), np.zeros(0, dtype=str)
    matrix = contracts.feature_matrix(
        as_of=datetime.fromtimestamp(as_of, tz=UTC),
        learner_ids=[learners.learner_ids[index] for index in candidates],
    )
    scores, bands = contracts.score_matrix(
        matrix.values, kind=spec.kind, parameters=spec.parameters
    )
    scored = np.array([position[learner_id] for learner_id in matrix.learner_ids], dtype=int)
    return scored, scores, np.array(bands, dtype=str)


def run(params: Mapping[str, Any], context: RunContext) -> dict[str, Any]:
    spec = contracts.risk_model_spec(version=context.model_version)
    if spec is None:
        raise ValueError(f"No risk model version {context.model_version}.")
    cohort_ids = [
        cohort_id
        for cohort_id in params["cohorts"]
        if context.cohort_ids is None or cohort_id in context.cohort_ids
    ]
    learners = contracts.learner_outcomes(cohort_ids)
    position = {learner_id: index for index, learner_id in enumerate(learners.learner_ids)}
    cohort_of = np.array([str(cohort_id) for cohort_id in learners.cohort_ids], dtype=object)
    now = context.now.timestamp()
    schedule = []
    for cohort_run in contracts.cohort_runs(cohort_ids):
        members = cohort_of == str(cohort_run.cohort_id)
        end = _run_end(cohort_run, learners.finished_at[members], now)
        schedule.append(
            (cohort_run, members, engine.week_instants(cohort_run.starts_at.timestamp(), end))
        )
    total = sum(len(instants) for _, _, instants in schedule)
    first_flagged_at = np.full(len(learners.learner_ids), np.nan)
    weeks: list[dict[str, Any]] = []
    for cohort_run, members, instants in schedule:
        for number, as_of in enumerate(instants, start=1):
            candidates = np.flatnonzero(
                members & engine.scored_mask(learners.enrolled_at, learners.finished_at, as_of)
            )
            scored, scores, bands = _scores(spec, learners, position, candidates, as_of)
            first_flagged_at = engine.first_flags(first_flagged_at, scored, bands == "high", as_of)
            weeks.append(
                {
                    "cohort_id": str(cohort_run.cohort_id),
                    "week": number,
                    "as_of": _iso(as_of),
                    **engine.week_figures(scores, bands, learners.withdrawn[scored]),
                }
            )
            context.progress(len(weeks) / total)
    withdrawn = np.flatnonzero(learners.withdrawn)
    lead = engine.lead_weeks(learners.finished_at[withdrawn], first_flagged_at[withdrawn])
    return {
        "model_version": spec.version,
        "learners": len(learners.learner_ids),
        "withdrawn": len(withdrawn),
        "weeks": weeks,
        "lead_time": engine.lead_time_summary(lead),
        "withdrawals": [
            {
                "learner_id": str(learners.learner_ids[index]),
                "cohort_id": str(learners.cohort_ids[index]),
                "withdrew_at": _iso(learners.finished_at[index]),
                "first_flagged_at": None
                if np.isnan(first_flagged_at[index])
                else _iso(first_flagged_at[index]),
                "lead_weeks": None if np.isnan(weeks_ahead) else int(weeks_ahead),
            }
            for index, weeks_ahead in zip(withdrawn, lead, strict=True)
        ],
    }


def headline(results: Mapping[str, Any]) -> dict[str, float | int | None]:
    return {
        "learners": results["learners"],
        "withdrawn": results["withdrawn"],
        "caught_share": results["lead_time"]["caught_share"],
        "mean_lead_weeks": results["lead_time"]["mean"],
        "mean_precision": engine.mean_of([week["precision"] for week in results["weeks"]]),
    }


KIND = SimulationKind(
    name="backtest",
    label="Backtest a model on past cohorts",
    params=BacktestParams,
    run=run,
    headline=headline,
    learner_keys=("withdrawals",),
)
