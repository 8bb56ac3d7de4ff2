"""Naive rankings a model must beat to be worth activating, measured on the model's own test rows.

On real course data the volume of engagement since enrolment ranks learners well with no model
at all (issue 10: "fewest events since enrolment" beat the untrained rules), so every evaluation
puts the model beside these rankings. Each ranks by one feature; a baseline is a ranking, not a
probability, so it is judged by ROC AUC and PR AUC only (no Brier score, no calibration, no
band). Ties (many learners with no events) count as ties: scikit-learn's measures give them
their expected value rather than an order-dependent one.

Pure: outcomes and feature columns in, figures out (``baselines_on`` reads them off a data set).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from learners.risk.dataset import TrainingSet
from learners.risk.metrics import pr_auc, roc_auc


@dataclass(frozen=True)
class Baseline:
    name: str
    feature: str
    #: +1 when a higher value is riskier, -1 when a lower one is.
    direction: int
    description: str


BASELINES = (
    Baseline("fewest_events", "events_log", -1, "fewest events since enrolment"),
    Baseline("fewest_active_days", "active_days_log", -1, "fewest active days since enrolment"),
    Baseline("longest_inactive", "days_inactive", +1, "longest since the last activity"),
)
BASELINE_FEATURES = tuple(baseline.feature for baseline in BASELINES)


def baseline_metrics(
    outcomes: np.ndarray, columns: Mapping[str, np.ndarray]
) -> dict[str, dict[str, Any]]:
    """Per baseline (by name): its feature, what it ranks by, ROC AUC and PR AUC on ``outcomes``
    (1 = withdrew), from ``columns`` (feature name → one value per row, the model's test rows)."""
    measured = {}
    for baseline in BASELINES:
        ranking = baseline.direction * np.asarray(columns[baseline.feature], dtype=float)
        measured[baseline.name] = {
            "feature": baseline.feature,
            "description": baseline.description,
            "roc_auc": roc_auc(outcomes, ranking),
            "pr_auc": pr_auc(outcomes, ranking),
        }
    return measured


def best_baseline(measured: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """The baseline with the highest ROC AUC (the first listed on a tie), or None when none
    could be measured (one outcome only)."""
    defined = [(name, figures["roc_auc"]) for name, figures in measured.items()]
    defined = [(name, auc) for name, auc in defined if auc is not None]
    if not defined:
        return None
    name, auc = max(defined, key=lambda item: item[1])
    return {"name": name, "roc_auc": auc}


def beats(model_roc_auc: float | None, best: Mapping[str, Any] | None) -> bool | None:
    """Whether the model's ROC AUC is strictly above the best baseline's; None when there is no
    baseline figure to compare with, False when the model's own is undefined."""
    if best is None:
        return None
    return model_roc_auc is not None and model_roc_auc > best["roc_auc"]


def baseline_comparison(
    outcomes: np.ndarray, columns: Mapping[str, np.ndarray], model_roc_auc: float | None
) -> dict[str, Any]:
    """The keys every evaluation adds beside the model: ``baselines``, ``best_baseline`` and
    ``beats_best_baseline`` (see docs/risk.md)."""
    measured = baseline_metrics(outcomes, columns)
    best = best_baseline(measured)
    return {
        "baselines": measured,
        "best_baseline": best,
        "beats_best_baseline": beats(model_roc_auc, best),
    }


def baselines_on(test: TrainingSet, model_roc_auc: float | None) -> dict[str, Any]:
    """``baseline_comparison`` on the rows the model was measured on."""
    columns = {
        feature: np.array([row.features.values[feature] for row in test.rows], dtype=float)
        for feature in BASELINE_FEATURES
    }
    return baseline_comparison(test.outcomes(), columns, model_roc_auc)
