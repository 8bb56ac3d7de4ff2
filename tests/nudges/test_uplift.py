"""Measured uplift per risk band on hand-built experiments: nudged learners by the band their
nudge recorded, the holdout by the band of their assessment as of their exposure."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from learners.models import Learner, RiskAssessment, RiskModel
from nudges.contracts import measured_uplift
from nudges.experiment_stats import two_proportion_test
from nudges.models import Experiment, ExperimentAssignment
from tests.factories import CohortFactory, LearnerFactory
from tests.nudges.experiments_factories import experiment, exposed, sent_nudge

pytestmark = pytest.mark.django_db

SENT = datetime(2026, 10, 20, 9, tzinfo=UTC)


def _scored(learner: Learner, model: RiskModel, *history: tuple[timedelta, str]) -> None:
    """Assessments of ``learner`` as of ``SENT`` + each offset, with that band."""
    RiskAssessment.objects.bulk_create(
        RiskAssessment(
            learner=learner,
            model=model,
            as_of=SENT + offset,
            score=0.5,
            band=band,
            factors=[],
            features={},
            computed_at=SENT + offset,
        )
        for offset, band in history
    )


def _nudged(
    trial: Experiment, learners: list[Learner], band: str | None, back: int, arm: str = "A"
) -> None:
    """``learners`` in ``arm``, each sent the experiment's nudge with ``band`` in its risk
    snapshot (``None``: an erased snapshot), the first ``back`` of them back a day later."""
    variant = trial.variants.get(name=arm)
    for learner in learners:
        snapshot = {} if band is None else {"score": 0.5, "band": band}
        sent_nudge(learner, SENT, experiment=trial, variant=variant, risk_snapshot=snapshot)
    exposed(trial, learners, arm, back, at=SENT)


def _world(model: RiskModel, size: int = 1) -> dict[str, Any]:
    """High band: 10 nudged (one by an erased snapshot, high in the history), 4 back; 10 in the
    holdout (high as of exposure, one medium only later; one more never scored before), 1 back.
    Medium: 5 nudged, 2 back, no holdout. Every count times ``size``. Noise: another cohort's
    learners, an experiment without holdout, a variant learner never sent their nudge."""
    cohort, elsewhere = CohortFactory(), CohortFactory()

    def learners(count: int, where: Any = cohort) -> list[Learner]:
        return [LearnerFactory(cohort=where) for _ in range(count * size)]

    trial = experiment(holdout_share=0.2, weights={"A": 1})
    high, erased = learners(9), learners(1)
    _nudged(trial, high + erased, "high", back=4 * size)
    for learner in erased:
        RiskAssessment.objects.filter(learner=learner).delete()
        _scored(learner, model, (-timedelta(days=1), "high"))
    trial.nudges.filter(learner__in=erased).update(risk_snapshot={})
    holdout = learners(10)
    exposed(trial, holdout, None, size, at=SENT)
    for learner in holdout:
        _scored(learner, model, (-timedelta(days=2), "low"), (-timedelta(hours=1), "high"))
    _scored(holdout[-1], model, (timedelta(days=1), "medium"))
    exposed(trial, learners(1), None, 0, at=SENT)
    _nudged(trial, learners(5), "medium", back=2 * size)
    _nudged(trial, learners(3, elsewhere), "high", back=3 * size)
    ExperimentAssignment.objects.create(
        experiment=trial, learner=learners(1)[0], variant=trial.variants.get(), assigned_at=SENT
    )
    no_holdout = experiment(holdout_share=0, weights={"A": 1}, name="No holdout")
    _nudged(no_holdout, learners(4), "high", back=4 * size)
    return {"cohort": cohort, "elsewhere": elsewhere}


def test_uplift_per_band_against_the_holdout_of_the_same_cohorts(rules_model: RiskModel) -> None:
    world = _world(rules_model)
    found = measured_uplift(cohort_ids=[world["cohort"].pk])
    high = found["high"]
    # 4 of 10 nudged came back, 1 of 10 in the holdout: uplift 0.4 - 0.1 = 0.3.
    assert (high.nudged, high.nudged_re_engaged, high.holdout, high.holdout_re_engaged) == (
        10,
        4,
        10,
        1,
    )
    assert (high.nudged_rate, high.holdout_rate) == (0.4, 0.1)
    assert high.uplift == pytest.approx(0.3)
    comparison = two_proportion_test(4, 10, 1, 10)
    assert (high.ci_low, high.ci_high, high.p_value) == (
        comparison.ci_low,
        comparison.ci_high,
        comparison.p_value,
    )
    medium = found["medium"]
    assert (medium.nudged, medium.nudged_re_engaged, medium.holdout) == (5, 2, 0)
    assert medium.uplift is medium.ci_low is medium.p_value is None
    low = found["low"]
    assert (low.nudged, low.holdout, low.uplift) == (0, 0, None)
    assert list(found) == ["low", "medium", "high"]


def test_every_cohort_and_none(rules_model: RiskModel) -> None:
    world = _world(rules_model)
    everywhere = measured_uplift()["high"]
    assert (everywhere.nudged, everywhere.nudged_re_engaged) == (13, 7)
    assert everywhere.uplift == pytest.approx(7 / 13 - 0.1)
    elsewhere = measured_uplift(cohort_ids=[world["elsewhere"].pk])["high"]
    assert (elsewhere.nudged, elsewhere.holdout, elsewhere.uplift) == (3, 0, None)
    assert measured_uplift(cohort_ids=[])["high"].nudged == 0


@pytest.mark.parametrize("size", [1, 3])
def test_two_queries_whatever_the_number_of_learners(
    rules_model: RiskModel, size: int, django_assert_num_queries: Any
) -> None:
    world = _world(rules_model, size=size)
    with django_assert_num_queries(2):
        high = measured_uplift(cohort_ids=[world["cohort"].pk])["high"]
    assert (high.nudged, high.holdout) == (10 * size, 10 * size)
    assert high.uplift == pytest.approx(0.3)
