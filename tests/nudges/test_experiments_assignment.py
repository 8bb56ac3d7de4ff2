"""Deterministic assignment: a hash of experiment and learner, split by holdout share and
weights, stored once and never changed."""

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from engagement.errors import ValidationFailed
from nudges.experiments import arm_for, arm_position, experiment_assign, experiment_create
from nudges.models import Experiment, ExperimentAssignment, ExperimentVariant
from tests.factories import LearnerFactory
from tests.nudges.experiments_factories import experiment

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_the_position_is_a_fixed_function_of_both_ids() -> None:
    experiment_id = uuid.UUID("01a23000-0000-7000-8000-000000000001")
    learner_id = uuid.UUID("01a23000-0000-7000-8000-0000000000aa")
    # Pinned: a change of the hash would move learners between arms of running experiments.
    assert arm_position(experiment_id, learner_id) == pytest.approx(0.4680711049, abs=1e-9)
    assert arm_position(experiment_id, learner_id) == arm_position(experiment_id, learner_id)
    assert arm_position(learner_id, experiment_id) != arm_position(experiment_id, learner_id)


def test_arms_follow_the_holdout_share_and_the_weights() -> None:
    variants = [ExperimentVariant(name="B", weight=3), ExperimentVariant(name="A", weight=1)]
    assert arm_for(0.0, holdout_share=0.2, variants=variants) is None
    assert arm_for(0.1999, holdout_share=0.2, variants=variants) is None
    assert arm_for(0.2, holdout_share=0.2, variants=variants) is variants[1]  # A: [0.2, 0.4)
    assert arm_for(0.3999, holdout_share=0.2, variants=variants) is variants[1]
    assert arm_for(0.4, holdout_share=0.2, variants=variants) is variants[0]  # B: [0.4, 1)
    assert arm_for(0.9999999, holdout_share=0.2, variants=variants) is variants[0]
    assert arm_for(0.0, holdout_share=0.0, variants=variants) is variants[1]


def test_shares_come_out_as_configured_over_many_learners() -> None:
    experiment_id = uuid.UUID("01a23000-0000-7000-8000-000000000002")
    variants = [ExperimentVariant(name="A", weight=1), ExperimentVariant(name="B", weight=3)]
    counts = Counter(
        getattr(
            arm_for(
                arm_position(experiment_id, uuid.UUID(int=n)),
                holdout_share=0.2,
                variants=variants,
            ),
            "name",
            "holdout",
        )
        for n in range(20_000)
    )
    assert counts["holdout"] / 20_000 == pytest.approx(0.2, abs=0.015)
    assert counts["A"] / 20_000 == pytest.approx(0.2, abs=0.015)
    assert counts["B"] / 20_000 == pytest.approx(0.6, abs=0.015)


@pytest.mark.django_db
def test_assignment_is_stable_whatever_the_order_or_batch(
    django_assert_num_queries: Any,
) -> None:
    trial = experiment()
    learners = [learner.pk for learner in LearnerFactory.create_batch(30)]
    with django_assert_num_queries(3):
        first = experiment_assign(trial, learners[:10], now=NOW)
    with django_assert_num_queries(3):
        second = experiment_assign(trial, list(reversed(learners)), now=NOW)
    assert {key: second[key] for key in first} == first
    again = experiment_assign(Experiment.objects.get(pk=trial.pk), learners, now=NOW)
    assert again == second
    expected = {
        learner_id: arm_for(
            arm_position(trial.pk, learner_id),
            holdout_share=trial.holdout_share,
            variants=list(trial.variants.all()),
        )
        for learner_id in learners
    }
    assert again == expected
    assert ExperimentAssignment.objects.filter(experiment=trial).count() == 30
    stored = dict(
        ExperimentAssignment.objects.filter(experiment=trial).values_list("learner", "variant")
    )
    assert stored == {key: getattr(value, "pk", None) for key, value in expected.items()}


@pytest.mark.django_db
def test_the_holdout_is_exposed_at_assignment_a_variant_at_its_send() -> None:
    trial = experiment(holdout_share=0.5)
    learners = [learner.pk for learner in LearnerFactory.create_batch(12)]
    arms = experiment_assign(trial, learners, now=NOW)
    assert None in arms.values()
    assert any(arms.values())
    for assignment in ExperimentAssignment.objects.filter(experiment=trial):
        assert assignment.assigned_at == NOW
        assert assignment.exposed_at == (NOW if assignment.variant_id is None else None)


@pytest.mark.django_db
def test_a_stored_arm_never_changes() -> None:
    trial = experiment(holdout_share=0.0, weights={"A": 1})
    learner = LearnerFactory()
    (variant,) = trial.variants.all()
    other = ExperimentVariant.objects.create(experiment=trial, name="Z", weight=1000)
    ExperimentAssignment.objects.create(
        experiment=trial, learner=learner, variant=other, assigned_at=NOW
    )
    assert experiment_assign(trial, [learner.pk], now=NOW) == {learner.pk: other}
    assert variant != other


@pytest.mark.django_db
def test_a_stopped_experiment_gives_newcomers_the_winner_unrecorded() -> None:
    trial = experiment()
    member, newcomer = LearnerFactory(), LearnerFactory()
    arms = experiment_assign(trial, [member.pk], now=NOW)
    winner = trial.variants.get(name="B")
    Experiment.objects.filter(pk=trial.pk).update(winner=winner, status="stopped")
    trial.refresh_from_db()
    later = experiment_assign(trial, [member.pk, newcomer.pk], now=NOW)
    assert later == {member.pk: arms[member.pk], newcomer.pk: winner}
    assert not ExperimentAssignment.objects.filter(learner=newcomer).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"variants": []}, "variants"),
        ({"variants": [{"name": "A", "weight": 1}, {"name": "A", "weight": 2}]}, "variants"),
        ({"variants": [{"name": "A", "weight": 0}]}, "variants"),
        ({"variants": [{"name": "A", "weight": 1, "prompt": uuid.uuid4()}]}, "variants"),
        ({"holdout_share": 1.0}, "holdout_share"),
        ({"holdout_share": -0.1}, "holdout_share"),
        ({"attribution_days": 0}, "attribution_days"),
        ({"name": "  "}, "name"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(changes: dict[str, Any], field: str) -> None:
    data: dict[str, Any] = {
        "name": "Trial",
        "variants": [{"name": "A", "weight": 1}],
        "holdout_share": 0.2,
        **changes,
    }
    with pytest.raises(ValidationFailed) as raised:
        experiment_create(actor=None, **data)
    assert field in raised.value.detail
    assert not Experiment.objects.exists()
