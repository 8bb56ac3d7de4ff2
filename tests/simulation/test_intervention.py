"""The intervention kind on hand-built learners and experiments: expectations counted by hand,
measured uplift where an experiment has a holdout, a seed reproducing a run, a fixed number of
queries, no live row changed, and validation errors naming the field."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from engagement.models import Role, User
from learners.models import Cohort, Learner, LearnerStatus, RiskAssessment, RiskModel
from nudges.experiment_stats import two_proportion_test
from nudges.models import ExperimentAssignment, Nudge
from simulation.kinds import KINDS, intervention
from simulation.kinds.base import RunContext
from simulation.kinds.intervention import ASSUMED_UPLIFT, KIND
from simulation.kinds.what_if import simulate as simulate_what_if
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory
from tests.learners.risk.test_raw_columns import build_world, query_counts
from tests.nudges.experiments_factories import experiment, exposed, sent_nudge
from tests.simulation.conftest import run_context

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
SENT = NOW - timedelta(days=14)
#: The engine test's ten learners: (score, band), three high, three medium, four low.
TEN = [
    (0.95, "high"),
    (0.90, "high"),
    (0.85, "high"),
    (0.60, "medium"),
    (0.55, "medium"),
    (0.50, "medium"),
    (0.30, "low"),
    (0.20, "low"),
    (0.15, "low"),
    (0.10, "low"),
]
UPLIFT = {"low": 0.02, "medium": 0.10, "high": 0.05}


def _learner(cohort: Cohort, score: float | None, band: str, **kwargs: Any) -> Learner:
    learner = LearnerFactory(
        cohort=cohort,
        risk_score=score,
        risk_band=band,
        risk_scored_at=None if score is None else NOW - timedelta(hours=1),
        **kwargs,
    )
    return cast(Learner, learner)


def _world(size: int = 1) -> dict[str, Any]:
    """``size`` copies of the ten learners in a cohort, in id order, and in that cohort a
    riskier learner who opted out, one who withdrew and one never scored; elsewhere, another
    riskier learner."""
    cohort, elsewhere = CohortFactory(), CohortFactory()
    ten = [_learner(cohort, score, band) for _ in range(size) for score, band in TEN]
    _learner(cohort, 0.99, "high", nudge_opt_out=True)
    _learner(
        cohort,
        0.98,
        "high",
        status=LearnerStatus.WITHDRAWN,
        finished_at=NOW - timedelta(days=1),
    )
    _learner(cohort, None, "")
    _learner(elsewhere, 0.97, "high")
    return {"cohort": cohort, "elsewhere": elsewhere, "ten": sorted(ten, key=lambda x: x.pk)}


def _measured_high(cohort: Cohort, size: int = 1) -> None:
    """An experiment in ``cohort`` measuring the high band only: 10 nudged, 4 back; 10 held
    out (high as of their exposure), 1 back (times ``size``)."""
    trial = experiment(holdout_share=0.2, weights={"A": 1})
    variant = trial.variants.get()
    nudged = [LearnerFactory(cohort=cohort) for _ in range(10 * size)]
    for learner in nudged:
        sent_nudge(learner, SENT, experiment=trial, variant=variant, risk_snapshot={"band": "high"})
    exposed(trial, nudged, "A", 4 * size, at=SENT)
    holdout = [LearnerFactory(cohort=cohort) for _ in range(10 * size)]
    exposed(trial, holdout, None, size, at=SENT)
    model = RiskModel.objects.get(is_active=True)
    RiskAssessment.objects.bulk_create(
        RiskAssessment(
            learner=learner,
            model=model,
            as_of=SENT - timedelta(hours=2),
            score=0.8,
            band="high",
            factors=[],
            features={},
            computed_at=SENT,
        )
        for learner in holdout
    )


def _admin() -> User:
    return cast(User, UserFactory(role=Role.ADMIN))


def _params(data: dict[str, Any], actor: User | None = None) -> dict[str, Any]:
    params = KIND.params(data=data, context={"actor": actor or _admin()})
    assert params.is_valid(), params.errors
    return dict(params.validated_data)


def _context(
    seed: int = 7,
    cohort_ids: frozenset[uuid.UUID] | None = None,
    progress: Any = None,
    model_version: int = 1,
) -> RunContext:
    return run_context(
        now=NOW, seed=seed, model_version=model_version, cohort_ids=cohort_ids, progress=progress
    )


def test_the_kind_is_registered() -> None:
    assert KINDS["intervention"] is KIND
    assert KIND.learner_keys == ("picked",)


def test_expectations_per_rule_match_a_hand_count(rules_model: RiskModel) -> None:
    world = _world()
    params = _params({"cohort": str(world["cohort"].pk), "budget": 2, "weeks": 2, "uplift": UPLIFT})
    results = KIND.run(params, _context())
    # Learners by rank (0 riskiest): high 0-2 (0.05), medium 3-5 (0.10), low 6-9 (0.02).
    # highest_risk:   week 1 {0, 1} = 0.10; week 2 {2, 3} = 0.05 + 0.10 = 0.15; total 0.25
    # middle_band:    week 1 {3, 4} = 0.20; week 2 {5} = 0.10 (no medium left); total 0.30
    # highest_uplift: week 1 {3, 4} = 0.20; week 2 {5, 0} = 0.10 + 0.05 = 0.15; total 0.35
    # The opted-out, withdrawn, unscored and other cohort's learners are left out.
    assert (results["learners"], results["opted_out"]) == (10, 1)
    assert (results["budget"], results["weeks"]) == (2, 2)
    rules = results["rules"]
    assert list(rules) == ["highest_risk", "middle_band", "highest_uplift"]
    expected = {
        "highest_risk": (0.25, [0.10, 0.15], {"low": 0, "medium": 1, "high": 3}, 0.10),
        "middle_band": (0.30, [0.20, 0.10], {"low": 0, "medium": 3, "high": 0}, 0.05),
        "highest_uplift": (0.35, [0.20, 0.15], {"low": 0, "medium": 3, "high": 1}, 0.0),
    }
    for rule, (total, per_week, by_band, behind) in expected.items():
        found = rules[rule]
        assert found["expected"] == pytest.approx(total), rule
        assert [week["expected"] for week in found["weeks"]] == pytest.approx(per_week), rule
        assert found["picked_by_band"] == by_band, rule
        assert found["behind_best"] == pytest.approx(behind), rule
        low, high = found["interval"]
        assert low <= found["expected"] <= high, rule
    assert rules["middle_band"]["nudged"] == 3
    assert [week["nudged"] for week in rules["middle_band"]["weeks"]] == [2, 1]
    assert results["best_rule"] == "highest_uplift"
    assert results["best_margin"] == pytest.approx(0.05)
    assert results["uplift"]["medium"] == {
        "value": 0.10,
        "low": 0.10,
        "high": 0.10,
        "source": "assumed",
        "n": 0,
        "measured_n": 0,
    }
    ten = world["ten"]
    first_week = {
        rule: [row["learner_id"] for row in results["picked"] if row["rule"] == rule]
        for rule in rules
    }
    assert first_week == {
        "highest_risk": [str(ten[0].pk), str(ten[1].pk)],
        "middle_band": [str(ten[3].pk), str(ten[4].pk)],
        "highest_uplift": [str(ten[3].pk), str(ten[4].pk)],
    }
    assert results["picked"][0] == {
        "rule": "highest_risk",
        "learner_id": str(ten[0].pk),
        "cohort_id": str(world["cohort"].pk),
        "score": 0.95,
        "band": "high",
        "uplift": 0.05,
    }
    assert KIND.headline(results) == {
        "expected_highest_risk": pytest.approx(0.25),
        "expected_middle_band": pytest.approx(0.30),
        "expected_highest_uplift": pytest.approx(0.35),
        "best_expected": pytest.approx(0.35),
        "best_margin": pytest.approx(0.05),
    }


def test_only_the_runs_cohorts_are_read(rules_model: RiskModel) -> None:
    world = _world()
    params = _params({"budget": 50, "weeks": 1, "rules": ["highest_risk"], "uplift": UPLIFT})
    mine = KIND.run(params, _context(cohort_ids=frozenset({world["cohort"].pk})))
    assert mine["learners"] == 10
    assert {row["cohort_id"] for row in mine["picked"]} == {str(world["cohort"].pk)}
    assert KIND.run(params, _context())["learners"] == 11
    outside = _params({"cohort": str(world["elsewhere"].pk), "budget": 5, "uplift": UPLIFT})
    nothing = KIND.run(outside, _context(cohort_ids=frozenset({world["cohort"].pk})))
    assert nothing["learners"] == 0
    assert nothing["rules"]["highest_risk"]["expected"] == 0
    assert nothing["picked"] == []
    assert KIND.headline(mine)["expected_middle_band"] is None


def test_measured_uplift_on_too_few_learners_is_left_for_the_assumption(
    rules_model: RiskModel,
) -> None:
    world = _world()
    _measured_high(world["cohort"])  # ten learners in each arm, fewer than the minimum
    params = _params({"cohort": str(world["cohort"].pk), "budget": 2, "weeks": 2})
    high = KIND.run(params, _context())["uplift"]["high"]
    assert (high["source"], high["value"], high["measured_n"]) == (
        "assumed",
        ASSUMED_UPLIFT["high"],
        20,
    )


def test_measured_uplift_is_used_where_a_holdout_measured_it(
    rules_model: RiskModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intervention, "MIN_MEASURED_PER_ARM", 10)
    world = _world()
    _measured_high(world["cohort"])
    params = _params({"cohort": str(world["cohort"].pk), "budget": 2, "weeks": 2})
    results = KIND.run(params, _context())
    comparison = two_proportion_test(4, 10, 1, 10)
    high = results["uplift"]["high"]
    assert high["source"] == "measured"
    assert high["n"] == 20
    assert high["value"] == pytest.approx(0.3)
    assert (high["low"], high["high"]) == (comparison.ci_low, comparison.ci_high)
    for band in ("low", "medium"):
        assert results["uplift"][band]["source"] == "assumed"
        assert results["uplift"][band]["value"] == ASSUMED_UPLIFT[band]
    # High's 0.3 beats medium's assumed 0.06: both highest risk and highest uplift pick the
    # three high learners, then the riskiest medium one: 3 * 0.3 + 0.06 = 0.96.
    assert results["rules"]["highest_risk"]["expected"] == pytest.approx(0.96)
    assert results["rules"]["highest_uplift"]["expected"] == pytest.approx(0.96)
    assert results["rules"]["middle_band"]["expected"] == pytest.approx(3 * 0.06)
    assert results["best_rule"] == "highest_risk"
    assert results["best_margin"] == pytest.approx(0.0)


def test_a_seed_reproduces_the_run(rules_model: RiskModel) -> None:
    world = _world()
    _measured_high(world["cohort"])
    params = _params({"cohort": str(world["cohort"].pk), "budget": 3, "weeks": 3, "seed": 11})
    assert KIND.run(params, _context(seed=11)) == KIND.run(params, _context(seed=11))


@pytest.mark.parametrize("size", [1, 4])
def test_a_fixed_number_of_queries_and_no_live_row_changed(
    rules_model: RiskModel, size: int, django_assert_num_queries: Any
) -> None:
    world = _world(size)
    _measured_high(world["cohort"], size)
    params = _params({"budget": 5, "weeks": 3})

    def live() -> tuple[Any, ...]:
        return (
            sorted(Learner.objects.values_list("id", "risk_score", "risk_band", "updated_at")),
            sorted(RiskAssessment.objects.values_list("id", "band", "as_of")),
            ExperimentAssignment.objects.count(),
            Nudge.objects.count(),
        )

    before = live()
    progress: list[float] = []
    # The live scores, the model, and the measured uplift (assignments, then bands at exposure).
    with django_assert_num_queries(4):
        results = KIND.run(params, _context(progress=progress.append))
    assert live() == before
    assert results["learners"] == 10 * size + 1
    assert progress == sorted(progress)
    assert progress[-1] == pytest.approx(1.0)


def test_params_defaults_and_a_rule_named_twice() -> None:
    params = _params({"budget": 10, "rules": ["middle_band", "middle_band"]})
    assert params == {"budget": 10, "weeks": 4, "rules": ["middle_band"]}
    assert _params({"budget": 10})["rules"] == ["highest_risk", "middle_band", "highest_uplift"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "budget"),
        ({"budget": 0}, "budget"),
        ({"budget": 100_001}, "budget"),
        ({"budget": 5, "weeks": 27}, "weeks"),
        ({"budget": 5, "weeks": 0}, "weeks"),
        ({"budget": 5, "rules": ["loudest"]}, "rules"),
        ({"budget": 5, "rules": []}, "rules"),
        ({"budget": 5, "uplift": {"low": 2, "medium": 0, "high": 0}}, "uplift.low"),
        ({"budget": 5, "uplift": {"low": 0, "medium": 0}}, "uplift.high"),
        ({"budget": 5, "uplift": {"low": 0, "medium": 0, "high": 0, "top": 1}}, "uplift.top"),
        ({"budget": 5, "uplift": 0.1}, "uplift"),
        ({"budget": 5, "cohort": "not-a-uuid"}, "cohort"),
        ({"budget": 5, "seed": -1}, "seed"),
    ],
)
def test_bad_params_name_the_field(data: dict[str, Any], field: str) -> None:
    params = KIND.params(data=data, context={"actor": _admin()})
    assert not params.is_valid()
    errors: Any = params.errors
    for part in field.split("."):
        assert part in errors, params.errors
        errors = errors[part]


def test_a_cohort_outside_the_coachs_scope_is_no_such_cohort() -> None:
    coach = UserFactory(role=Role.COACH)
    mine = CohortAssignmentFactory(user=coach).cohort
    other = CohortFactory()
    params = KIND.params(data={"budget": 5, "cohort": str(other.pk)}, context={"actor": coach})
    assert not params.is_valid()
    assert params.errors == {"cohort": ["No such cohort."]}
    assert _params({"budget": 5, "cohort": str(mine.pk)}, actor=coach)["cohort"] == mine.pk


def test_another_model_version_plans_with_that_models_scores(idleness_model: RiskModel) -> None:
    """The active model plans with the live scores; another version rescores the same live
    facts (as a what-if with no change does) and ranks and bands by them."""
    build_world(per_cohort=10, logistic=True)
    params = _params({"budget": 5, "weeks": 1, "rules": ["highest_risk"], "uplift": UPLIFT})

    def top_five(version: int) -> tuple[dict[str, Any], list[float], dict[uuid.UUID, float]]:
        results = KIND.run(params, _context(model_version=version))
        base = simulate_what_if({"changes": []}, _context(model_version=version))
        scores = dict(zip(base.learner_ids, base.after.tolist(), strict=True))
        picked = [(uuid.UUID(row["learner_id"]), row["score"]) for row in results["picked"]]
        assert [score for _, score in picked] == [scores[learner_id] for learner_id, _ in picked]
        assert [score for _, score in picked] == sorted(scores.values(), reverse=True)[:5]
        return results, [score for _, score in picked], scores

    live, live_top, live_scores = top_five(RiskModel.objects.get(is_active=True).version)
    stored = dict(Learner.objects.filter(id__in=live_scores).values_list("id", "risk_score"))
    assert live["rescored"] is False and live_scores == stored
    other, other_top, _ = top_five(idleness_model.version)
    assert other["rescored"] is True and other["learners"] == live["learners"]
    assert other_top != live_top


def test_rescoring_with_another_model_takes_a_fixed_number_of_queries(
    idleness_model: RiskModel,
) -> None:
    params = _params({"budget": 5, "weeks": 1, "uplift": UPLIFT})
    first, second = query_counts(
        lambda: KIND.run(params, _context(model_version=idleness_model.version))
    )
    assert first == second


def test_a_model_version_that_is_gone_fails_the_run(rules_model: RiskModel) -> None:
    params = _params({"budget": 5})
    with pytest.raises(ValueError, match="No risk model version 99"):
        KIND.run(params, _context(model_version=99))
