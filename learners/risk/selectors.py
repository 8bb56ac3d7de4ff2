"""Reads of risk: a learner's current risk with its explanation, changes and best lever; history;
model versions and their evaluation on the current data."""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet, Sum

from engagement.errors import NotFound
from engagement.metrics import cache_lookup_count
from learners.cache import RISK_DETAIL_USE
from learners.models import (
    STUDYING_STATUSES,
    Learner,
    RiskAssessment,
    RiskBand,
    RiskFeedback,
    RiskModel,
)
from learners.risk.baselines import baselines_on
from learners.risk.dataset import DEFAULT_CUTOFF_DAYS, time_split, training_set
from learners.risk.explanations import assessment_factors
from learners.risk.features import LearnerFeatures
from learners.risk.metrics import evaluate
from learners.risk.model import best_lever
from learners.selectors import risk_model_active


def _key(assessment_ids: list[Any]) -> str:
    """Assessments are never changed, so a rendering is cached under the ids of the current and
    the previous one (a backfill can slip a new previous one in behind the current): what
    changes (feedback, staleness) is read on every request, never from the cache."""
    return f"risk:detail:v5:{':'.join(map(str, assessment_ids))}"


def _model_changed(current: RiskAssessment, previous: RiskAssessment | None) -> bool:
    """Whether the previous assessment is by another model version: then its factors are
    another model's (other weights, other features) and comparing them would say nothing."""
    return previous is not None and previous.model_id != current.model_id


def _changes(current: RiskAssessment, previous: RiskAssessment | None) -> list[dict[str, Any]]:
    """Factor by factor, what moved since the previous assessment of the same model version
    (largest change first); none across versions."""
    if previous is None or _model_changed(current, previous):
        return []
    before = {factor["factor"]: factor for factor in previous.factors}
    changes = []
    for factor in current.factors:
        old = before.get(factor["factor"])
        if old is None:
            continue
        delta = factor["contribution"] - old["contribution"]
        changes.append(
            {
                "factor": factor["factor"],
                "previous_value": old["value"],
                "value": factor["value"],
                "contribution_change": round(delta, 4),
            }
        )
    return sorted(changes, key=lambda change: -abs(change["contribution_change"]))


def _render(
    learner: Learner, current: RiskAssessment, previous: RiskAssessment | None
) -> dict[str, Any]:
    model = current.model
    stored = current.features
    features = LearnerFeatures(
        learner_id=learner.pk,
        cohort_id=learner.cohort_id,
        as_of=current.as_of,
        values=stored["values"],
        raw=stored["raw"],
        little_data=stored["little_data"],
    )
    return {
        "learner": str(learner.pk),
        "scored": True,
        "score": round(current.score, 4),
        "band": current.band,
        "model_version": model.version,
        "model_kind": model.kind,
        "as_of": current.as_of.isoformat(),
        "little_data": stored["little_data"],
        "factors": assessment_factors(current),
        "previous": None
        if previous is None
        else {
            "score": round(previous.score, 4),
            "band": previous.band,
            "as_of": previous.as_of.isoformat(),
            "model_version": previous.model.version,
        },
        "model_changed": _model_changed(current, previous),
        "changes": _changes(current, previous),
        "best_lever": best_lever(kind=model.kind, parameters=model.parameters, features=features),
    }


def _not_scored(learner: Learner) -> dict[str, Any]:
    """The same shape for a learner no model has scored yet: every value empty."""
    return {
        "learner": str(learner.pk),
        "scored": False,
        "score": None,
        "band": None,
        "model_version": None,
        "model_kind": None,
        "as_of": None,
        "little_data": None,
        "factors": [],
        "previous": None,
        "model_changed": False,
        "changes": [],
        "best_lever": None,
    }


def learner_assessments_to_current(*, learner: Learner) -> QuerySet[RiskAssessment]:
    """The learner's assessments from the current one back, current first.

    "Current" is the one the learner's denormalised risk shows (``risk_scored_at``): the latest
    ``as_of``, or the final one of a learner who finished; computed last among those of that
    ``as_of`` (the newest model's). A backfill (an earlier ``as_of``) only adds history behind
    it, and assessments as of a time after a learner's finish (taken while they were still
    marked studying) come after it.
    """
    history = RiskAssessment.objects.filter(learner=learner)
    if learner.risk_scored_at is not None:
        history = history.filter(as_of__lte=learner.risk_scored_at)
    return history.order_by("-as_of", "-computed_at", "-id")


def learner_risk(*, learner: Learner) -> dict[str, Any]:
    """The learner's stored risk and whether it is stale; reading never scores.

    The current assessment is the first of ``learner_assessments_to_current``, the previous one
    the next. It is ``stale`` when activity or a change to the learner arrived since (the write
    queued a background rescore, see ``learners.tasks.rescore_stale_soon``), when the active
    model did not make it, or when there is none yet (``scored`` is false and the values are
    empty). Feedback is read fresh every time.
    """
    history = learner_assessments_to_current(learner=learner)
    shown = list(history.values_list("id", "model__is_active")[:2])
    latest = shown[0] if shown else None
    if latest is None:
        detail = _not_scored(learner)
    else:
        key = _key([assessment_id for assessment_id, _ in shown])
        detail = cache.get(key)
        cache_lookup_count(RISK_DETAIL_USE, hits=detail is not None, misses=detail is None)
        if detail is None:
            rows = list(history.select_related("model")[:2])
            current, previous = rows[0], (rows[1] if len(rows) > 1 else None)
            detail = _render(learner, current, previous)
            cache.set(key, detail, timeout=settings.RISK_DETAIL_CACHE_SECONDS)
    feedback = (
        RiskFeedback.objects.filter(learner=learner).values("kind", "note", "created_at").first()
    )
    stale = learner.risk_stale or latest is None or not latest[1]
    return {**detail, "stale": stale, "feedback": feedback}


def learner_risk_history(*, learner: Learner) -> QuerySet[RiskAssessment]:
    return (
        RiskAssessment.objects.filter(learner=learner)
        .select_related("model")
        .order_by("-as_of", "-id")
    )


@dataclass(frozen=True)
class RiskPoint:
    """One past assessment as a chart shows it, with its model's band thresholds."""

    as_of: datetime
    score: float
    band: str
    thresholds: Mapping[str, float] | None


def learner_risk_trend(*, learner: Learner, limit: int) -> list[RiskPoint]:
    """The learner's last ``limit`` assessments, oldest first, in one query: what a chart of the
    score over time needs, however long the history."""
    rows = (
        RiskAssessment.objects.filter(learner=learner)
        .order_by("-as_of", "-id")
        .values_list("as_of", "score", "band", "model__parameters__thresholds")
    )
    return [RiskPoint(*row) for row in rows[:limit]][::-1]


def risk_model_get(*, version: int) -> RiskModel:
    try:
        return RiskModel.objects.get(version=version)
    except RiskModel.DoesNotExist as error:
        raise NotFound(f"There is no risk model v{version}.") from error


def risk_model_evaluate(*, model: RiskModel) -> dict[str, Any]:
    """Re-evaluate ``model`` (and the active model, and the naive baselines) on the
    time-ordered test split of the current data: the report ``evaluate_risk_model --json``
    prints (see docs/risk.md)."""
    cutoff_days = int(model.parameters.get("cutoff_days", DEFAULT_CUTOFF_DAYS))
    _, test = time_split(training_set(cutoff_days=cutoff_days))
    measured = evaluate(model.parameters, model.kind, test)
    active = risk_model_active()
    active_measured = (
        measured if active.pk == model.pk else evaluate(active.parameters, active.kind, test)
    )
    summary_keys = ("roc_auc", "pr_auc", "brier", "high_band", "top_decile_lift")
    return {
        "version": model.version,
        "kind": model.kind,
        "cutoff_days": cutoff_days,
        "n_test": measured["n"],
        **{key: value for key, value in measured.items() if key != "n"},
        "test_cohorts": test.cohort_ids(),
        **baselines_on(test, measured["roc_auc"]),
        "active_model": {
            "version": active.version,
            "kind": active.kind,
            **{key: active_measured[key] for key in summary_keys},
        },
    }


def current_assessments(*, learner_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, RiskAssessment]:
    """Each learner's current assessment (the one their ``risk_score`` shows), model joined in,
    in one query however many learners: the ``as_of`` is their ``risk_scored_at``, and among
    assessments of that time the one computed last (as ``learner_assessments_to_current``)."""
    rows = (
        RiskAssessment.objects.filter(
            learner_id__in=set(learner_ids), as_of=F("learner__risk_scored_at")
        )
        .select_related("model")
        .order_by("learner_id", "-computed_at", "-id")
    )
    current: dict[uuid.UUID, RiskAssessment] = {}
    for assessment in rows:
        current.setdefault(assessment.learner_id, assessment)
    return current


# Upper edges of the score histogram exposed to Prometheus (scores lie in 0..1).
RISK_SCORE_EDGES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
RISK_DISTRIBUTION_KEY = "risk:distribution:v1"


@dataclass(frozen=True)
class RiskDistribution:
    """Learners still studying: how many per current band (``unscored``: none yet), and their
    scores as cumulative counts at each edge of :data:`RISK_SCORE_EDGES`."""

    bands: dict[str, int]
    buckets: list[tuple[float, int]]
    scored: int
    score_sum: float


def risk_distribution() -> RiskDistribution:
    """The current risk of learners still studying, from the denormalised columns in one
    statement (no query per learner), cached for ``RISK_METRICS_CACHE_SECONDS`` so that
    frequent readers (every Prometheus scrape of every web process) share one result."""
    distribution = cache.get(RISK_DISTRIBUTION_KEY)
    if distribution is None:
        distribution = _risk_distribution_read()
        cache.set(RISK_DISTRIBUTION_KEY, distribution, timeout=settings.RISK_METRICS_CACHE_SECONDS)
    return distribution


def _risk_distribution_read() -> RiskDistribution:
    counts: dict[str, Any] = {
        f"band_{band}": Count("pk", filter=Q(risk_band=band)) for band in RiskBand.values
    }
    counts |= {
        f"edge_{index}": Count("pk", filter=Q(risk_score__lte=edge))
        for index, edge in enumerate(RISK_SCORE_EDGES)
    }
    row = Learner.objects.filter(status__in=STUDYING_STATUSES).aggregate(
        **counts,
        unscored=Count("pk", filter=Q(risk_score__isnull=True)),
        scored=Count("risk_score"),
        score_sum=Sum("risk_score"),
    )
    return RiskDistribution(
        bands={band: row[f"band_{band}"] for band in RiskBand.values}
        | {"unscored": row["unscored"]},
        buckets=[(edge, row[f"edge_{index}"]) for index, edge in enumerate(RISK_SCORE_EDGES)],
        scored=row["scored"],
        score_sum=row["score_sum"] or 0.0,
    )
