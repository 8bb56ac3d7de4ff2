"""Reads of model versions as the dashboard's risk model pages show them: each version's stored
evaluation in a few figures, beside the naive baselines, and its parameters in words.

Only what training stored is read (see docs/risk.md, "Evaluation metrics"): re-evaluating on
the current data (``risk_model_evaluate``) computes features for every learner with a known
outcome, which takes seconds to minutes and does not belong in a page request. A version never
evaluated (the shipped ``rules``) is reported as such, with ``evaluated`` false.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from django.utils.translation import gettext as _

from learners.models import RiskModel, RiskModelKind
from learners.risk.baselines import BASELINES
from learners.risk.explanations import factor_label
from learners.risk.model import model_features
from learners.risk.selectors import risk_model_get
from learners.selectors import risk_model_list

UP, DOWN, MIXED, NONE = "up", "down", "mixed", "none"


@dataclass(frozen=True)
class ModelSummary:
    """One version in a line: the figures on its test set at training, None when not stored."""

    version: int
    kind: str
    kind_label: str
    trained_at: datetime | None
    is_active: bool
    evaluated: bool
    roc_auc: float | None
    pr_auc: float | None
    brier: float | None
    top_decile_lift: float | None
    share_flagged: float | None
    beats_best_baseline: bool | None
    best_baseline: str | None
    best_baseline_roc_auc: float | None


@dataclass(frozen=True)
class ComparisonRow:
    """A ranking measured on the version's test rows; ``best_*`` marks the column's winner."""

    label: str
    roc_auc: float | None
    pr_auc: float | None
    is_model: bool
    best_roc_auc: bool = False
    best_pr_auc: bool = False


@dataclass(frozen=True)
class FactorWeight:
    """A factor the version scores on: its weight (in the kind's unit) and which way it pushes
    the risk as the factor grows (``up``, ``down``, ``mixed``, or ``none``)."""

    factor: str
    label: str
    weight: float
    direction: str


@dataclass(frozen=True)
class ModelReport:
    model: RiskModel
    summary: ModelSummary
    n_test: int | None
    base_rate: float | None
    comparison: list[ComparisonRow]
    high_band: Mapping[str, float | None]
    calibration: list[Mapping[str, Any]]
    factors: list[FactorWeight]
    weight_unit: str
    thresholds: Mapping[str, float]
    kind_selection: Mapping[str, Any] | None


def _summary(model: RiskModel) -> ModelSummary:
    stored = model.metrics or {}
    test = stored.get("test") or {}
    best = stored.get("best_baseline") or {}
    baselines = stored.get("baselines") or {}
    best_name = best.get("name")
    return ModelSummary(
        version=model.version,
        kind=model.kind,
        kind_label=RiskModelKind(model.kind).label,
        trained_at=model.trained_at,
        is_active=model.is_active,
        evaluated=bool(test),
        roc_auc=test.get("roc_auc"),
        pr_auc=test.get("pr_auc"),
        brier=test.get("brier"),
        top_decile_lift=test.get("top_decile_lift"),
        share_flagged=(test.get("high_band") or {}).get("share_flagged"),
        beats_best_baseline=stored.get("beats_best_baseline"),
        best_baseline=(baselines.get(best_name) or {}).get("description", best_name)
        if best_name
        else None,
        best_baseline_roc_auc=best.get("roc_auc"),
    )


def risk_model_summaries() -> list[ModelSummary]:
    """Every version, newest first, in one query."""
    return [_summary(model) for model in risk_model_list()]


def _winners(rows: list[ComparisonRow]) -> list[ComparisonRow]:
    """Mark the highest ROC AUC and the highest PR AUC (every row that reaches it)."""
    top_roc = max((row.roc_auc for row in rows if row.roc_auc is not None), default=None)
    top_pr = max((row.pr_auc for row in rows if row.pr_auc is not None), default=None)
    return [
        ComparisonRow(
            label=row.label,
            roc_auc=row.roc_auc,
            pr_auc=row.pr_auc,
            is_model=row.is_model,
            best_roc_auc=top_roc is not None and row.roc_auc == top_roc,
            best_pr_auc=top_pr is not None and row.pr_auc == top_pr,
        )
        for row in rows
    ]


def _comparison(model: RiskModel) -> list[ComparisonRow]:
    """This version, the version active when it was trained, and each naive baseline, all on
    the same test rows (empty when no evaluation with baselines is stored)."""
    stored = model.metrics or {}
    if "baselines" not in stored:
        return []
    test = stored.get("test") or {}
    rows = [
        ComparisonRow(
            _("v%(version)s (this version)") % {"version": model.version},
            test.get("roc_auc"),
            test.get("pr_auc"),
            is_model=True,
        )
    ]
    then = stored.get("active_on_same_test")
    if then and then.get("version") != model.version:
        rows.append(
            ComparisonRow(
                _("v%(version)s %(kind)s (active when this one was trained)")
                % {"version": then.get("version"), "kind": then.get("kind")},
                then.get("roc_auc"),
                then.get("pr_auc"),
                is_model=True,
            )
        )
    measured = stored["baselines"]
    rows += [
        ComparisonRow(
            _("Baseline: %(description)s") % {"description": baseline.description},
            measured[baseline.name].get("roc_auc"),
            measured[baseline.name].get("pr_auc"),
            is_model=False,
        )
        for baseline in BASELINES  # in their documented order (JSONB does not keep one)
        if baseline.name in measured
    ]
    return _winners(rows)


def _direction(weight: float) -> str:
    return UP if weight > 0 else DOWN if weight < 0 else NONE


def _step_direction(contributions: list[float]) -> str:
    """Which way a step function moves as its feature grows: one way only, or both."""
    steps = [after - before for before, after in pairwise(contributions)]
    if all(step >= 0 for step in steps):
        return _direction(sum(steps))
    if all(step <= 0 for step in steps):
        return DOWN
    return MIXED


def model_factor_weights(kind: str, parameters: Mapping[str, Any]) -> list[FactorWeight]:
    """The factors a version scores on, largest weight first: ``rules`` weights (log-odds per
    unit away from the centre), ``logistic`` coefficients (log-odds per standard deviation),
    ``boosted`` step functions (their swing in log-odds from lowest to highest step)."""
    weights: list[FactorWeight] = []
    for name in model_features(kind, parameters):
        if kind == "boosted":
            contributions = parameters["steps"][name]["contributions"]
            weight = max(contributions) - min(contributions)
            direction = _step_direction(contributions)
        else:
            key = "weights" if kind == "rules" else "coefficients"
            weight = float(parameters[key][name])
            direction = _direction(weight)
        weights.append(FactorWeight(name, factor_label(name), weight, direction))
    return sorted(weights, key=lambda factor: -abs(factor.weight))


def _weight_unit(kind: str) -> str:
    if kind == "rules":
        return _("log-odds per unit away from a typical learner who completes")
    if kind == "logistic":
        return _("log-odds per standard deviation of the factor")
    return _("swing of the log-odds from the factor's lowest to its highest step")


def risk_model_report(*, version: int) -> ModelReport:
    """One version with its stored evaluation and its parameters in words (``NotFound`` for an
    unknown version)."""
    model = risk_model_get(version=version)
    stored = model.metrics or {}
    test = stored.get("test") or {}
    return ModelReport(
        model=model,
        summary=_summary(model),
        n_test=test.get("n"),
        base_rate=test.get("base_rate"),
        comparison=_comparison(model),
        high_band=test.get("high_band") or {},
        calibration=test.get("calibration") or [],
        factors=model_factor_weights(model.kind, model.parameters),
        weight_unit=_weight_unit(model.kind),
        thresholds=model.parameters.get("thresholds", {}),
        kind_selection=stored.get("kind_selection"),
    )
