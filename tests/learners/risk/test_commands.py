"""``train_risk_model`` and ``evaluate_risk_model``: thin doors onto the training services whose
``--json`` output is a public interface (docs/risk.md)."""

import json
from collections.abc import Iterator
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from engagement.models import Job
from learners.demo.generator import DEMO_SOURCE
from learners.demo.writer import demo_population_seed
from learners.models import ActivityEvent, Cohort, Learner, LearnerStatus, RiskModel
from learners.risk import kind_selection
from learners.risk.dataset import TrainingSet
from learners.risk.model import train_logistic
from tests.factories import CohortFactory, LearnerFactory

EVALUATION_KEYS = {
    "version",
    "kind",
    "cutoff_days",
    "n_test",
    "base_rate",
    "roc_auc",
    "pr_auc",
    "brier",
    "calibration",
    "high_band",
    "top_decile_lift",
    "by_cohort",
    "by_locale",
    "test_cohorts",
    "baselines",
    "best_baseline",
    "beats_best_baseline",
    "active_model",
}
GROUP_KEYS = {"n", "base_rate", "roc_auc", "brier", "high_band"}


def _run(*args: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _json(*args: Any) -> dict[str, Any]:
    """The command's whole stdout must be exactly one JSON object."""
    document = json.loads(_run(*args, "--json"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="class")
def demo_history(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """A small seeded history (three cohorts with outcomes), shared by a class of tests."""
    with django_db_blocker.unblock():
        existing = list(Cohort.objects.values_list("id", flat=True))
        demo_population_seed(cohorts=4, learners=240, days=300, seed=7, today=date(2026, 6, 1))
    yield
    with django_db_blocker.unblock():
        ActivityEvent.objects.filter(learner__source=DEMO_SOURCE).delete()
        Learner.objects.filter(source=DEMO_SOURCE).delete()
        Cohort.objects.exclude(id__in=existing).delete()


@pytest.fixture
def backwards_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training that flips every coefficient: a model clearly worse than the rules."""
    real = train_logistic

    def backwards(train: TrainingSet, **kwargs: Any) -> dict[str, Any]:
        parameters = real(train, **kwargs)
        flipped = {name: -value for name, value in parameters["coefficients"].items()}
        return {**parameters, "coefficients": flipped}

    monkeypatch.setattr(kind_selection, "train_logistic", backwards)


@pytest.mark.django_db
def test_not_enough_history_is_a_clear_command_error() -> None:
    cohort = CohortFactory()
    long_ago = timezone.now() - timedelta(days=200)
    for status in (LearnerStatus.COMPLETED, LearnerStatus.WITHDRAWN):
        LearnerFactory(cohort=cohort, status=status, enrolled_at=long_ago)
    with pytest.raises(CommandError, match="not enough history: need learners with known"):
        _run("train_risk_model")
    with pytest.raises(CommandError, match="not enough history"):
        _run("evaluate_risk_model", "1")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("train_risk_model", "--force"), "--force: Only applies together with activate"),
        (("train_risk_model", "--cutoff-day", "0"), "Invalid cutoff"),
        # The API's floor too: one rule, in the request service.
        (("train_risk_model", "--cutoff-day", "3"), "Must be between 7 and 180 days"),
        (("train_risk_model", "--cutoff-day", "3", "--queue"), "Must be between 7 and 180 days"),
        (("train_risk_model", "--kind", "forest"), "invalid choice: 'forest'"),
        (("evaluate_risk_model", "99"), "There is no risk model v99"),
        (("activate_risk_model", "99"), "There is no risk model v99"),
    ],
)
def test_bad_arguments_are_refused(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _run(*args)
    assert RiskModel.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("demo_history")
class TestOnDemoHistory:
    def test_train_json_is_one_object_describing_the_stored_version(self) -> None:
        document = _json("train_risk_model", "--cutoff-day", "21")

        assert set(document) == {
            "version",
            "kind",
            "is_active",
            "trained_at",
            "cutoff_days",
            "thresholds",
            "metrics",
        }
        assert (document["version"], document["is_active"]) == (2, False)
        assert document["kind"] == document["metrics"]["kind_selection"]["chosen"]
        assert document["cutoff_days"] == 21
        assert set(document["thresholds"]) == {"medium", "high"}
        metrics = document["metrics"]
        assert metrics["active_on_same_test"]["version"] == 1
        assert metrics["test"]["n"] == metrics["active_on_same_test"]["n"]
        assert set(metrics["baselines"]) == {
            "fewest_events",
            "fewest_active_days",
            "longest_inactive",
        }
        assert set(metrics["best_baseline"]) == {"name", "roc_auc"}
        assert isinstance(metrics["beats_best_baseline"], bool)
        assert RiskModel.objects.get(version=2).parameters["cutoff_days"] == 21
        job = Job.objects.get(kind="learners.train_risk_model")  # the run is recorded as a job
        assert job.result is not None
        assert (job.status, job.params["cutoff_days"], job.params["kind"]) == (
            "succeeded",
            21,
            "auto",
        )
        assert (job.result["version"], job.result["kind"]) == (2, document["kind"])
        assert job.result["best_baseline"] == metrics["best_baseline"]
        assert job.result["beats_best_baseline"] is metrics["beats_best_baseline"]

    def test_train_prints_a_readable_comparison(self) -> None:
        output = _run("train_risk_model", "--kind", "boosted", "--activate", "--force")
        assert "Stored risk model v2 (boosted, active), features as of day 28" in output
        assert "Kind boosted (requested; validation ROC AUC: boosted 0." in output
        assert "ROC AUC" in output
        assert "v1 rules" in output
        assert "fewest events since enrolment" in output
        assert "Best baseline: " in output
        assert RiskModel.objects.get(is_active=True).version == 2

    @pytest.mark.usefixtures("backwards_training")
    def test_train_refuses_to_activate_a_worse_model(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = StringIO()
        with pytest.raises(CommandError, match="v2 is not activated: its test ROC AUC") as error:
            call_command("train_risk_model", "--kind", "logistic", "--activate", stdout=out)

        assert "Stored risk model v2 (logistic, inactive)" in out.getvalue()  # the report first
        assert "\n" not in str(error.value)
        assert "Traceback" not in capsys.readouterr().err
        assert Job.objects.get(kind="learners.train_risk_model").status == "succeeded"

        assert RiskModel.objects.get(is_active=True).version == 1
        assert RiskModel.objects.filter(version=2, is_active=False).exists()

    def test_activate_then_roll_back_from_the_command_line(self) -> None:
        _run("train_risk_model", "--kind", "logistic")

        assert _run("activate_risk_model", "2", "--force").startswith(
            "Activated risk model v2 (logistic); v1 (rules) is no longer active."
        )
        assert RiskModel.objects.get(is_active=True).version == 2
        assert "already active" in _run("activate_risk_model", "2")
        assert _run("activate_risk_model", "1").startswith("Activated risk model v1 (rules)")
        assert RiskModel.objects.get(is_active=True).version == 1

    @pytest.mark.usefixtures("backwards_training")
    def test_activate_refuses_a_worse_model_unless_forced(self) -> None:
        _run("train_risk_model", "--kind", "logistic")

        with pytest.raises(CommandError, match="v2 is not activated: its test ROC AUC"):
            _run("activate_risk_model", "2")
        assert RiskModel.objects.get(is_active=True).version == 1
        _run("activate_risk_model", "2", "--force")
        assert RiskModel.objects.get(is_active=True).version == 2

    def test_evaluate_json_has_the_documented_keys(self) -> None:
        _run("train_risk_model", "--kind", "boosted")

        document = _json("evaluate_risk_model", "2")

        assert set(document) == EVALUATION_KEYS
        assert (document["version"], document["kind"], document["cutoff_days"]) == (
            2,
            "boosted",
            28,
        )
        assert len(document["calibration"]) == 10
        assert sum(row["count"] for row in document["calibration"]) == document["n_test"]
        assert set(document["calibration"][0]) == {
            "lower",
            "upper",
            "count",
            "mean_predicted",
            "observed_rate",
        }
        assert set(document["high_band"]) == {"precision", "recall", "share_flagged"}
        assert set(document["baselines"]) == {
            "fewest_events",
            "fewest_active_days",
            "longest_inactive",
        }
        for baseline in document["baselines"].values():
            assert set(baseline) == {"feature", "description", "roc_auc", "pr_auc"}
        best = document["best_baseline"]
        assert best["roc_auc"] == document["baselines"][best["name"]]["roc_auc"]
        assert document["beats_best_baseline"] is (document["roc_auc"] > best["roc_auc"])
        stored_model = RiskModel.objects.get(version=2).metrics
        assert document["baselines"] == stored_model["baselines"]  # the same test rows
        assert set(document["by_cohort"]) == set(document["test_cohorts"])
        for group in (*document["by_cohort"].values(), *document["by_locale"].values()):
            assert set(group) == GROUP_KEYS
        assert document["active_model"]["version"] == 1
        assert set(document["active_model"]) == {
            "version",
            "kind",
            "roc_auc",
            "pr_auc",
            "brier",
            "high_band",
            "top_decile_lift",
        }
        stored = RiskModel.objects.get(version=2).metrics["test"]
        assert document["roc_auc"] == stored["roc_auc"]  # same data, same split, same figures

    def test_evaluate_prints_a_readable_report_of_the_active_rules(self) -> None:
        output = _run("evaluate_risk_model", "1")
        assert output.startswith("Risk model v1 (rules, features as of day 28)")
        for heading in (
            "ROC AUC",
            "High band share",
            "Naive baselines on the same learners",
            "longest since the last activity",
            "Best baseline: ",
            "Calibration",
            "By cohort:",
            "By locale:",
            "active v1",
        ):
            assert heading in output
        by_cohort = output.split("By cohort:")[1].split("By locale:")[0]
        tested = Cohort.objects.filter(id__in=_json("evaluate_risk_model", "1")["by_cohort"])
        assert {cohort.name for cohort in tested} <= {
            line.split("  n=")[0].strip() for line in by_cohort.strip().splitlines()
        }
        assert len(by_cohort.strip().splitlines()) == tested.count()
