"""Reads of risk: a learner's current risk with its explanation, changes and best lever; history."""

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet

from learners.models import Learner, RiskAssessment, RiskFeedback
from learners.risk.features import LearnerFeatures
from learners.risk.model import best_lever
from learners.risk.scoring import learners_rescore
from learners.selectors import risk_model_active


def _key(learner: Learner, model_version: int) -> str:
    last_event = learner.last_active_at.isoformat() if learner.last_active_at else "none"
    scored = learner.risk_scored_at.isoformat() if learner.risk_scored_at else "never"
    return f"risk:detail:v2:{learner.pk}:{model_version}:{last_event}:{scored}"


def _changes(current: RiskAssessment, previous: RiskAssessment | None) -> list[dict[str, Any]]:
    """Factor by factor, what moved since the previous assessment (largest change first)."""
    if previous is None:
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
    feedback = (
        RiskFeedback.objects.filter(learner=learner).values("kind", "note", "created_at").first()
    )
    return {
        "learner": str(learner.pk),
        "score": round(current.score, 4),
        "band": current.band,
        "model_version": model.version,
        "model_kind": model.kind,
        "as_of": current.as_of.isoformat(),
        "little_data": stored["little_data"],
        "factors": current.explained_factors,
        "previous": None
        if previous is None
        else {
            "score": round(previous.score, 4),
            "band": previous.band,
            "as_of": previous.as_of.isoformat(),
        },
        "changes": _changes(current, previous),
        "best_lever": best_lever(kind=model.kind, parameters=model.parameters, features=features),
        "feedback": feedback,
    }


def learner_risk(*, learner: Learner) -> dict[str, Any]:
    """The learner's current risk under the active model, cached until a new event, a new
    model or a new scoring.

    "Current" is the assessment computed last, the one the learner's denormalised risk shows
    (after a backfill with an earlier ``as_of`` too). A learner with new activity, or never
    scored by the active model, is rescored first, so the answer is never older than the
    learner's last event.
    """
    model = risk_model_active()
    detail = cache.get(_key(learner, model.version))
    if detail is not None:
        return detail
    history = (
        RiskAssessment.objects.filter(learner=learner)
        .select_related("model")
        .order_by("-computed_at", "-id")
    )
    current = history.first()
    if learner.risk_stale or current is None or current.model_id != model.pk:
        learners_rescore(learner_ids=[learner.pk])
        learner.refresh_from_db(fields=["risk_scored_at", "risk_stale"])
        current = history.first()
    if current is None:
        return {}
    previous = history.exclude(pk=current.pk).first()
    detail = _render(learner, current, previous)
    cache.set(_key(learner, model.version), detail, timeout=settings.RISK_DETAIL_CACHE_SECONDS)
    return detail


def learner_risk_history(*, learner: Learner) -> QuerySet[RiskAssessment]:
    return (
        RiskAssessment.objects.filter(learner=learner)
        .select_related("model")
        .order_by("-as_of", "-id")
    )
