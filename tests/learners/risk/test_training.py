"""Training and honest evaluation: metrics on hand-made arrays, the time-ordered split, and the
whole loop (train, compare, activate, roll back) on a seeded demo history."""

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from engagement.errors import Conflict, ValidationFailed
from engagement.models import AuditEvent, Job
from learners.demo.generator import DEMO_SOURCE
from learners.demo.writer import demo_population_seed
from learners.models import ActivityEvent, Cohort, Learner, LearnerStatus, RiskModel
from learners.risk import kind_selection
from learners.risk.dataset import (
    NOT_ENOUGH_HISTORY,
    TrainingRow,
    TrainingSet,
    cohort_chunks,
    time_split,
    training_set,
)
from learners.risk.directions import MONOTONE_DIRECTIONS
from learners.risk.features import FEATURE_NAMES
from learners.risk.metrics import (
    brier,
    calibration,
    evaluate,
    metrics,
    pr_auc,
    precision_recall,
    roc_auc,
    top_decile_lift,
)
from learners.risk.model import fit_logistic, score, train_logistic
from learners.risk.services import risk_model_activate, risk_model_train
from learners.selectors import risk_model_active
from tests.factories import CohortFactory, LearnerFactory, UserFactory
from tests.learners.risk.training_sets import training_row

# Metrics on hand-made arrays -------------------------------------------------------------------


def test_perfect_ranking_scores_one_and_reversed_ranking_zero() -> None:
    outcomes = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.8, 0.9])
    assert roc_auc(outcomes, scores) == 1.0
    assert pr_auc(outcomes, scores) == 1.0
    assert roc_auc(outcomes, 1 - scores) == 0.0


def test_auc_is_undefined_with_one_class_not_a_number() -> None:
    assert roc_auc(np.array([1, 1, 1]), np.array([0.2, 0.5, 0.9])) is None
    assert pr_auc(np.array([0, 0]), np.array([0.2, 0.5])) is None


def test_measures_of_no_rows_are_undefined_not_numbers() -> None:
    empty = np.array([], dtype=int)
    assert brier(empty, np.array([], dtype=float)) is None
    assert precision_recall(empty, np.array([], dtype=bool)) == {
        "precision": None,
        "recall": None,
        "share_flagged": None,
    }


def test_calibration_has_ten_bins_whose_counts_sum_to_n() -> None:
    scores = np.array([0.0, 0.05, 0.15, 0.15, 0.55, 0.95, 1.0])
    outcomes = np.array([0, 0, 0, 1, 1, 1, 1])
    table = calibration(outcomes, scores)
    assert len(table) == 10
    assert sum(row["count"] for row in table) == len(scores)
    assert [row["lower"] for row in table] == pytest.approx([i / 10 for i in range(10)])
    assert table[1] == {
        "lower": 0.1,
        "upper": 0.2,
        "count": 2,
        "mean_predicted": 0.15,
        "observed_rate": 0.5,
    }
    assert table[9]["count"] == 2  # 1.0 belongs to the last bin
    assert table[3] == {
        "lower": 0.3,
        "upper": 0.4,
        "count": 0,
        "mean_predicted": None,
        "observed_rate": None,
    }


def test_top_decile_lift_compares_the_top_tenth_with_the_base_rate() -> None:
    # 20 learners, 5 withdrew (base rate 0.25); the two highest scores both withdrew.
    outcomes = np.array([1, 1] + [0] * 15 + [1, 1, 1])
    scores = np.linspace(1.0, 0.0, 20)
    assert top_decile_lift(outcomes, scores) == pytest.approx(1.0 / 0.25)
    assert top_decile_lift(np.zeros(20, dtype=int), scores) is None


def test_high_band_precision_recall_and_share_flagged() -> None:
    outcomes = np.array([1, 1, 1, 0, 0, 0])
    flagged = np.array([True, True, False, True, False, False])
    assert precision_recall(outcomes, flagged) == {
        "precision": pytest.approx(2 / 3, abs=1e-6),
        "recall": pytest.approx(2 / 3, abs=1e-6),
        "share_flagged": 0.5,
    }
    assert precision_recall(outcomes, np.zeros(6, dtype=bool)) == {
        "precision": None,
        "recall": 0.0,
        "share_flagged": 0.0,
    }


def test_metrics_overall_and_per_group() -> None:
    outcomes = np.array([0, 1, 0, 1, 1])
    scores = np.array([0.2, 0.8, 0.4, 0.6, 0.3])
    flagged = scores >= 0.5
    result = metrics(outcomes, scores, flagged, {"locale": ["en", "en", "fr", "fr", "fr"]})
    assert result["n"] == 5
    assert result["base_rate"] == 0.6
    assert result["brier"] == pytest.approx(np.mean((scores - outcomes) ** 2))
    assert result["by_locale"]["en"] == {
        "n": 2,
        "base_rate": 0.5,
        "roc_auc": 1.0,
        "brier": pytest.approx((0.04 + 0.04) / 2),
        "high_band": {"precision": 1.0, "recall": 1.0, "share_flagged": 0.5},
    }
    assert result["by_locale"]["fr"]["roc_auc"] == 0.5
    assert result["by_locale"]["fr"]["high_band"] == {
        "precision": 1.0,
        "recall": 0.5,
        "share_flagged": pytest.approx(1 / 3, abs=1e-6),
    }


# The time-ordered split ------------------------------------------------------------------------


def _row(
    cohort: uuid.UUID, starts_on: date, outcome: int, days_inactive: float = 0.0
) -> TrainingRow:
    values = [days_inactive if name == "days_inactive" else 0.0 for name in FEATURE_NAMES]
    return training_row(cohort, starts_on, outcome, values)


def test_split_trains_on_earlier_cohorts_and_tests_on_later_ones_whole() -> None:
    starts = [date(2025, 1, 1), date(2025, 3, 1), date(2025, 5, 1), date(2025, 7, 1)]
    cohorts = [uuid.uuid4() for _ in starts]
    # Out of time order on purpose, 10 learners per cohort.
    rows = [_row(cohorts[i], starts[i], n % 2) for i in (2, 0, 3, 1) for n in range(10)]
    train, test = time_split(TrainingSet(cutoff_days=28, rows=tuple(rows)), test_share=0.3)
    assert train.cohort_ids() == [str(c) for c in cohorts[:3]]
    assert test.cohort_ids() == [str(cohorts[3])]
    assert len(train) + len(test) == len(rows)
    _, test_half = time_split(TrainingSet(cutoff_days=28, rows=tuple(rows)), test_share=0.5)
    assert test_half.cohort_ids() == [str(c) for c in cohorts[2:]]


def test_split_keeps_a_cohort_on_each_side_even_when_one_is_huge() -> None:
    big, small = uuid.uuid4(), uuid.uuid4()
    rows = [_row(big, date(2025, 1, 1), 0) for _ in range(50)]
    rows += [_row(small, date(2025, 6, 1), 1)]
    train, test = time_split(TrainingSet(cutoff_days=28, rows=tuple(rows)), test_share=0.9)
    assert (train.cohort_ids(), test.cohort_ids()) == ([str(big)], [str(small)])


def test_split_needs_two_cohorts() -> None:
    cohort = uuid.uuid4()
    rows = tuple(_row(cohort, date(2025, 1, 1), n % 2) for n in range(10))
    with pytest.raises(ValidationFailed, match=NOT_ENOUGH_HISTORY):
        time_split(TrainingSet(cutoff_days=28, rows=rows))
    with pytest.raises(ValidationFailed, match=NOT_ENOUGH_HISTORY):
        time_split(TrainingSet(cutoff_days=28, rows=()))


def test_fit_standardises_with_train_figures_and_keeps_given_thresholds() -> None:
    cohort = uuid.uuid4()
    rows = tuple(
        _row(cohort, date(2025, 1, 1), outcome, days_inactive=days)
        for outcome, days in [(0, 1.0), (0, 2.0), (0, 3.0), (1, 9.0), (1, 12.0), (1, 4.0)]
    )
    parameters = train_logistic(
        TrainingSet(cutoff_days=14, rows=rows), thresholds={"medium": 0.4, "high": 0.7}
    )
    assert parameters["means"]["days_inactive"] == pytest.approx(31 / 6)
    assert parameters["stds"]["days_inactive"] == pytest.approx(np.std([1, 2, 3, 9, 12, 4]))
    assert parameters["stds"]["social"] == 1.0  # constant in training: no division by zero
    assert parameters["coefficients"]["days_inactive"] > 0
    assert parameters["thresholds"] == {"medium": 0.4, "high": 0.7}
    assert parameters["cutoff_days"] == 14


def test_fit_needs_both_outcomes() -> None:
    rows = tuple(_row(uuid.uuid4(), date(2025, 1, 1), 0) for _ in range(5))
    with pytest.raises(ValidationFailed, match="both completed and withdrawn"):
        fit_logistic(TrainingSet(cutoff_days=28, rows=rows))


@pytest.mark.parametrize(
    ("sizes", "limit", "expected"),
    [
        ([3, 3, 3], 7, [6, 3]),  # whole cohorts packed while they fit
        ([2, 9, 1], 4, [2, 4, 4, 2]),  # only a cohort larger than the chunk is split
        ([4, 4], 4, [4, 4]),
    ],
)
def test_feature_chunks_split_cohorts_only_when_they_must(
    sizes: list[int], limit: int, expected: list[int]
) -> None:
    rows = [(n, cohort) for cohort, size in enumerate(sizes) for n in range(size)]
    chunks = list(cohort_chunks(rows, limit))
    assert [len(chunk) for chunk in chunks] == expected
    assert [row for chunk in chunks for row in chunk] == rows


# The training set from the database ------------------------------------------------------------


@pytest.mark.django_db
def test_training_set_takes_known_outcomes_whose_cutoff_has_passed() -> None:
    now = timezone.now()
    cohort = CohortFactory(starts_on=date(2025, 1, 6), ends_on=date(2025, 3, 30))
    long_ago = now - timedelta(days=200)
    completed = LearnerFactory(cohort=cohort, status=LearnerStatus.COMPLETED, enrolled_at=long_ago)
    withdrawn = LearnerFactory(
        cohort=cohort, status=LearnerStatus.WITHDRAWN, enrolled_at=long_ago, locale="fr"
    )
    LearnerFactory(cohort=cohort, status=LearnerStatus.ACTIVE, enrolled_at=long_ago)
    LearnerFactory(cohort=cohort, status=LearnerStatus.PAUSED, enrolled_at=long_ago)
    LearnerFactory(
        cohort=cohort, status=LearnerStatus.WITHDRAWN, enrolled_at=now - timedelta(days=10)
    )

    data = training_set(cutoff_days=28)

    assert {(row.learner_id, row.outcome, row.locale) for row in data.rows} == {
        (completed.pk, 0, "en"),
        (withdrawn.pk, 1, "fr"),
    }
    row = data.rows[0]
    assert row.cohort_starts_on == cohort.starts_on
    assert row.features.as_of == row.enrolled_at + timedelta(days=28)
    with pytest.raises(ValidationFailed):
        training_set(cutoff_days=0)


def _queries_for_training_set(learners_per_cohort: int) -> int:
    long_ago = timezone.now() - timedelta(days=200)
    for status in (LearnerStatus.COMPLETED, LearnerStatus.WITHDRAWN):
        LearnerFactory.create_batch(
            learners_per_cohort, cohort=CohortFactory(), status=status, enrolled_at=long_ago
        )
    with CaptureQueriesContext(connection) as queries:
        assert len(training_set()) > 0
    return len(queries)


@pytest.mark.django_db
def test_training_set_queries_do_not_grow_with_learners() -> None:
    few = _queries_for_training_set(2)
    Learner.objects.all().delete()
    assert _queries_for_training_set(20) == few


@pytest.mark.django_db
def test_training_needs_history_in_two_cohorts() -> None:
    cohort = CohortFactory()
    long_ago = timezone.now() - timedelta(days=200)
    for status in (LearnerStatus.COMPLETED, LearnerStatus.WITHDRAWN):
        LearnerFactory(cohort=cohort, status=status, enrolled_at=long_ago)
    with pytest.raises(ValidationFailed, match=NOT_ENOUGH_HISTORY):
        risk_model_train()
    assert list(RiskModel.objects.values_list("version", flat=True)) == [1]


# The whole loop on a demo history --------------------------------------------------------------


@pytest.fixture(scope="class")
def demo_history(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """A seeded history shared by the class (seeding is the slow part), removed afterwards;
    each test still runs in its own rolled-back transaction."""
    with django_db_blocker.unblock():
        existing = list(Cohort.objects.values_list("id", flat=True))
        demo_population_seed(cohorts=8, learners=1200, days=300, seed=7, today=date(2026, 6, 1))
    yield
    with django_db_blocker.unblock():
        ActivityEvent.objects.filter(learner__source=DEMO_SOURCE).delete()
        Learner.objects.filter(source=DEMO_SOURCE).delete()
        Cohort.objects.exclude(id__in=existing).delete()


def _degraded(real: Any) -> Any:
    """A training function whose model ranks backwards: certainly worse than the active one."""

    def train(train_set: TrainingSet, **kwargs: Any) -> dict[str, Any]:
        parameters = real(train_set, **kwargs)
        flipped = {name: -value for name, value in parameters["coefficients"].items()}
        return {**parameters, "coefficients": flipped}

    return train


@pytest.mark.django_db
@pytest.mark.usefixtures("demo_history")
class TestOnDemoHistory:
    def test_trained_model_ranks_later_cohorts_well(self) -> None:
        train, test = time_split(training_set(cutoff_days=28))
        last_train_start = max(row.cohort_starts_on for row in train.rows)
        assert all(row.cohort_starts_on > last_train_start for row in test.rows)

        result = evaluate(train_logistic(train), "logistic", test)

        assert result["roc_auc"] >= 0.80
        assert result["n"] == len(test)
        assert sum(row["count"] for row in result["calibration"]) == len(test)
        assert set(result["by_cohort"]) == set(test.cohort_ids())
        assert result["by_locale"]["en"]["n"] == len(test)
        # Most learners of an open course withdraw, so lift is capped at 1 / base rate: judge
        # the withdrawal rate among the top decile instead.
        assert result["top_decile_lift"] * result["base_rate"] > 0.9

    def test_scores_equal_the_fitted_coefficients_and_bands_follow_coach_capacity(self) -> None:
        train, test = time_split(training_set(cutoff_days=28))
        fit = fit_logistic(train)
        parameters = train_logistic(train)

        # The fitted coefficients evaluated directly, outside the scoring code.
        logits = ((test.matrix() - fit.means) / fit.stds) @ fit.coefficients + fit.intercept
        expected = 1 / (1 + np.exp(-logits))
        scored = [score(row.features, kind="logistic", parameters=parameters) for row in test.rows]
        assert np.max(np.abs(np.array([s.score for s in scored]) - expected)) < 1e-9
        for result, logit in zip(scored, logits, strict=True):
            assert result.intercept + sum(f.contribution for f in result.factors) == (
                pytest.approx(logit, abs=1e-9)
            )

        bands = [
            score(row.features, kind="logistic", parameters=parameters).band for row in train.rows
        ]
        choice = parameters["band_choice"]  # chosen on the training scores, within capacity
        assert bands.count("high") / len(bands) == pytest.approx(choice["share_flagged"], abs=1e-6)
        assert choice["share_flagged"] <= choice["high_capacity"] == 0.25
        assert (bands.count("high") + bands.count("medium")) / len(bands) <= 0.5
        assert parameters["feature_names"] == list(FEATURE_NAMES)
        assert parameters["cutoff_days"] == 28

    def test_no_factor_pushes_against_its_declared_direction(self) -> None:
        train, test = time_split(training_set(cutoff_days=28))
        parameters = train_logistic(train)
        coefficients = parameters["coefficients"]
        assert all(MONOTONE_DIRECTIONS[name] * coefficients[name] >= 0 for name in coefficients)
        # So "far less activity than peers" never reads as lowering the risk.
        for row in test.rows:
            for factor in score(row.features, kind="logistic", parameters=parameters).factors:
                offset = factor.value - parameters["means"][factor.factor]
                assert MONOTONE_DIRECTIONS[factor.factor] * offset * factor.contribution >= 0

    def test_training_stores_a_version_measured_against_the_active_model(self) -> None:
        admin = UserFactory(username="trainer")
        model = risk_model_train(cutoff_days=28, actor=admin)

        assert (model.version, model.is_active) == (2, False)
        assert model.kind == model.metrics["kind_selection"]["chosen"]
        assert risk_model_active().version == 1
        compared = model.metrics["active_on_same_test"]
        assert (compared["version"], compared["kind"]) == (1, "rules")
        assert compared["n"] == model.metrics["test"]["n"]
        assert model.metrics["test"]["roc_auc"] >= 0.80
        assert model.metrics["cutoff_days"] == 28
        assert not set(model.metrics["train_cohorts"]) & set(model.metrics["test_cohorts"])
        best = model.metrics["best_baseline"]
        assert best["roc_auc"] == max(b["roc_auc"] for b in model.metrics["baselines"].values())
        assert model.metrics["beats_best_baseline"] is (
            model.metrics["test"]["roc_auc"] > best["roc_auc"]
        )
        assert AuditEvent.objects.filter(action="risk_model.train", actor_id=str(admin.pk)).exists()

    def test_the_kind_is_chosen_on_training_cohorts_only(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        fitted: list[set[str]] = []
        for kind in ("logistic", "boosted"):
            real = getattr(kind_selection, f"train_{kind}")

            def spy(data: TrainingSet, *, real: Any = real, **bands: Any) -> dict[str, Any]:
                fitted.append(set(data.cohort_ids()))
                return real(data, **bands)

            monkeypatch.setattr(kind_selection, f"train_{kind}", spy)

        model = risk_model_train(cutoff_days=28)

        selection = model.metrics["kind_selection"]
        test_cohorts = set(model.metrics["test_cohorts"])
        assert selection["requested"] == "auto"
        assert set(selection["validation_roc_auc"]) == {"logistic", "boosted"}
        assert model.kind == selection["chosen"]
        assert len(fitted) == 3  # each kind on the fit cohorts, the winner on all training ones
        assert all(not cohorts & test_cohorts for cohorts in fitted)
        assert not set(selection["fit_cohorts"]) & set(selection["validation_cohorts"])
        assert fitted[-1] == set(model.metrics["train_cohorts"])

    def test_refuses_to_activate_a_worse_model_unless_forced(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(kind_selection, "train_logistic", _degraded(train_logistic))

        with pytest.raises(Conflict) as refused:
            risk_model_train(kind="logistic", activate=True)

        detail = refused.value.detail
        assert (detail["version"], detail["active_version"]) == (2, 1)
        assert detail["roc_auc"] < detail["active_roc_auc"]
        assert f"{detail['roc_auc']:.3f}" in refused.value.message
        assert f"{detail['active_roc_auc']:.3f}" in refused.value.message
        stored = RiskModel.objects.get(version=2)
        assert not stored.is_active
        assert risk_model_active().version == 1
        with pytest.raises(Conflict):
            risk_model_activate(model=stored, actor=None)

        forced = risk_model_train(kind="logistic", activate=True, force=True)
        assert (forced.version, forced.is_active) == (3, True)
        assert list(RiskModel.objects.filter(is_active=True).values_list("version")) == [(3,)]

    def test_training_does_not_activate_a_model_a_naive_baseline_beats(
        self,
        monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: Any,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        monkeypatch.setattr(kind_selection, "train_logistic", _degraded(train_logistic))
        risk_model_train(kind="logistic", activate=True, force=True)  # v2: ranks backwards

        # v3 is exactly as good as the active v2, so only the baselines refuse it.
        with pytest.raises(Conflict) as refused:
            risk_model_train(kind="logistic", activate=True)

        detail = refused.value.detail
        assert "active_version" not in detail
        assert detail["best_baseline_roc_auc"] > detail["roc_auc"]
        assert "naive ranking" in refused.value.message
        assert risk_model_active().version == 2
        admin = APIClient()
        admin.force_authenticate(UserFactory(role="admin"))
        with django_capture_on_commit_callbacks(execute=True):
            response = admin.post(
                "/api/v1/risk/models/train/", {"kind": "logistic", "activate": True}, format="json"
            )
        job = Job.objects.get(pk=response.data["id"])
        # Training succeeded; the policy kept v4 stored, inactive: no failed job, no traceback.
        assert (job.status, risk_model_active().version) == ("succeeded", 2)
        assert job.result is not None
        assert (job.result["version"], job.result["active"]) == (4, False)
        refusal = job.result["activation_refused"]
        assert "does not beat" in refusal["detail"]
        assert refusal["best_baseline_roc_auc"] > refusal["roc_auc"]
        assert not [record for record in caplog.records if record.exc_info]
        assert any("v4 is not activated" in record.getMessage() for record in caplog.records)

    def test_bands_are_chosen_under_the_capacity_settings(self, settings: Any) -> None:
        settings.RISK_HIGH_BAND_CAPACITY = 0.1
        settings.RISK_HIGH_BAND_MIN_PRECISION = 0.0
        model = risk_model_train()
        choice = model.parameters["band_choice"]
        assert (choice["high_capacity"], choice["high_min_precision"]) == (0.1, 0.0)
        assert choice["rule"] == "precision_target"
        assert 0 < choice["share_flagged"] <= 0.1
        assert model.metrics["test"]["high_band"]["share_flagged"] < 0.2  # measured on test

    def test_activation_and_rollback_to_the_shipped_rules(self) -> None:
        admin = UserFactory(username="rollback")
        new = risk_model_train(activate=True, force=True, actor=admin)
        assert risk_model_active().pk == new.pk

        rules = RiskModel.objects.get(version=1)
        risk_model_activate(model=rules, actor=admin)
        risk_model_activate(model=rules, actor=admin)  # already active: nothing changes

        assert risk_model_active().version == 1
        new.refresh_from_db()
        assert not new.is_active
        changes = list(
            AuditEvent.objects.filter(action="risk_model.activate")
            .order_by("occurred_at", "id")
            .values_list("changes", flat=True)
        )
        assert changes == [
            {"version": 2, "previous": 1, "forced": True},
            {"version": 1, "previous": 2, "forced": False},
        ]
