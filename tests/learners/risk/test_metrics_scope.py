"""A coach's view of risk model metrics names no cohort outside the coach's scope."""

from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

from learners.models import RiskModel
from learners.risk.baselines import BASELINE_FEATURES, baseline_comparison
from learners.risk.metrics import metrics
from learners.risk.metrics_scope import metrics_within_scope
from tests.factories import CohortAssignmentFactory, CohortFactory, UserFactory


def stored_metrics(cohorts: list[str]) -> dict[str, Any]:
    """The shape ``risk_model_train`` stores, over two learners per cohort."""
    labels = [cohort for cohort in cohorts for _ in range(2)]
    outcomes = np.array([1, 0] * len(cohorts))
    scores = np.linspace(0.9, 0.1, len(labels))
    measured = metrics(
        outcomes, scores, scores >= 0.5, {"cohort": labels, "locale": ["en"] * len(labels)}
    )
    columns = {name: scores for name in BASELINE_FEATURES}
    return {
        "test": measured,
        **baseline_comparison(outcomes, columns, measured["roc_auc"]),
        "active_on_same_test": {"version": 1, "kind": "rules", **measured},
        "n_train": 40,
        "train_cohorts": cohorts[:1],
        "test_cohorts": cohorts,
        "cutoff_days": 28,
    }


def test_entries_about_other_cohorts_are_dropped_and_the_rest_kept() -> None:
    full = stored_metrics(["mine", "theirs"])
    seen = metrics_within_scope(full, {"mine"})
    assert seen["train_cohorts"] == ["mine"]
    assert seen["test_cohorts"] == ["mine"]
    assert list(seen["test"]["by_cohort"]) == ["mine"]
    assert list(seen["active_on_same_test"]["by_cohort"]) == ["mine"]
    assert seen["test"]["by_cohort"]["mine"] == full["test"]["by_cohort"]["mine"]
    assert seen["test"]["by_locale"] == full["test"]["by_locale"]
    assert seen["test"]["roc_auc"] == full["test"]["roc_auc"]
    assert seen["test"]["calibration"] == full["test"]["calibration"]
    assert seen["baselines"] == full["baselines"]  # over every test cohort, naming none
    assert seen["best_baseline"] == full["best_baseline"]
    assert "theirs" not in str(seen)


def test_cohorts_named_rather_than_numbered_are_dropped_too() -> None:
    seen = metrics_within_scope({"test_cohorts": ["Spring", "Autumn", None]}, {"Spring"})
    assert seen == {"test_cohorts": ["Spring"]}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["coach", "admin", "analyst"])
def test_models_api_shows_coaches_their_cohorts_only(role: str) -> None:
    mine, theirs = CohortFactory(name="Mine"), CohortFactory(name="Theirs")
    RiskModel.objects.filter(version=1).update(
        metrics=stored_metrics([str(mine.pk), str(theirs.pk)])
    )
    user = UserFactory(role=role)
    CohortAssignmentFactory(user=user, cohort=mine)
    client = APIClient()
    client.force_authenticate(user)
    listed = client.get("/api/v1/risk/models/").data["results"][0]["metrics"]
    detail = client.get("/api/v1/risk/models/1/").data["metrics"]
    assert listed == detail
    expected = [str(mine.pk)] if role == "coach" else [str(mine.pk), str(theirs.pk)]
    assert detail["test_cohorts"] == expected
    assert list(detail["test"]["by_cohort"]) == expected
    assert (str(theirs.pk) in str(detail)) is (role != "coach")
    assert set(detail["baselines"]) == {"fewest_events", "fewest_active_days", "longest_inactive"}
