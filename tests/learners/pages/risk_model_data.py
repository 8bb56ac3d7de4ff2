"""Stored model versions for the risk model page tests: trained on a synthetic data set (no
database history needed) and measured as ``risk_model_train`` measures them."""

from typing import Any

from django.utils import timezone

from learners.models import RiskModel
from learners.risk.baselines import baselines_on
from learners.risk.dataset import time_split
from learners.risk.metrics import evaluate
from learners.risk.model import RULES_PARAMETERS, train_logistic
from tests.learners.risk.training_sets import synthetic_set


def trained_logistic(version: int, **metrics_override: Any) -> RiskModel:
    """A stored, inactive ``logistic`` version with the metrics training stores (it beats the
    shipped rules and the best baseline on its test set); ``metrics_override`` replaces keys."""
    train, test = time_split(synthetic_set(3, n=400, cohorts=4))
    parameters = {**train_logistic(train), "cutoff_days": 28}
    tested = evaluate(parameters, "logistic", test)
    metrics = {
        "test": tested,
        **baselines_on(test, tested["roc_auc"]),
        "active_on_same_test": {
            "version": 1,
            "kind": "rules",
            **evaluate(RULES_PARAMETERS, "rules", test),
        },
        "n_train": len(train),
        "kind_selection": {"requested": "logistic", "chosen": "logistic", "reason": "requested"},
        **metrics_override,
    }
    return RiskModel.objects.create(
        version=version,
        kind="logistic",
        parameters=parameters,
        metrics=metrics,
        trained_at=timezone.now(),
        notes="Logistic regression (trained), features as of day 28.",
    )


def beaten_by_baseline(version: int) -> RiskModel:
    """A trained version whose stored evaluation found a naive ranking better."""
    best = {"name": "fewest_events", "roc_auc": 0.99}
    return trained_logistic(version, best_baseline=best, beats_best_baseline=False)
