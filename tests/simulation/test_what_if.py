"""The what-if kind on hand-built worlds: live scores reproduced, changes applied, nothing written."""

import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from engagement.jobs import JobCancelled
from learners.models import Learner, RiskAssessment, RiskModel
from simulation.engine import what_if as what_if_engine
from simulation.kinds.base import RunContext
from simulation.kinds.what_if import KIND, simulate
from tests.factories import CohortAssignmentFactory, CohortFactory, UserFactory
from tests.learners.risk.test_raw_columns import NOW, build_world, query_counts
from tests.simulation.conftest import run_context


def context(
    *,
    cohort_ids: frozenset[uuid.UUID] | None = None,
    progress: Callable[[float], None] | None = None,
) -> RunContext:
    model = RiskModel.objects.get(is_active=True)
    return run_context(
        now=NOW, seed=0, model_version=model.version, cohort_ids=cohort_ids, progress=progress
    )


def params(data: dict[str, Any], actor: Any = None) -> Any:
    serializer = KIND.params(data=data, context={"actor": actor or UserFactory()})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def live_state() -> list[tuple[Any, ...]]:
    return list(
        Learner.objects.order_by("id").values_list(
            "id", "risk_score", "risk_band", "risk_scored_at", "updated_at"
        )
    )


@pytest.mark.django_db
@pytest.mark.parametrize("logistic", [False, True])
def test_no_change_reproduces_the_live_scores_exactly(logistic: bool) -> None:
    build_world(per_cohort=10, logistic=logistic)
    result = simulate(params({"changes": []}), context())
    stored = dict(Learner.objects.values_list("id", "risk_score"))
    assert len(result.after) == 20
    assert result.after.tolist() == [stored[learner_id] for learner_id in result.learner_ids]
    assert np.array_equal(result.before, result.after)
    results = KIND.run(params({}), context())
    assert results["learners"] == 20 and results["unscored"] == 1
    assert results["max_abs_score_change"] == 0.0 and results["crossings"] == []
    diagonal = {f"{band}->{band}" for band in ("low", "medium", "high")}
    assert sum(results["band_changes_by_pair"][pair] for pair in diagonal) == 20
    assert results["distribution"]["before"] == results["distribution"]["after"]
    assert sum(results["distribution"]["before"]) == 20
    assert [row["learners"] for row in results["cohorts"]] == [10, 10]
    assert KIND.headline(results)["crossings"] == 0


@pytest.mark.django_db
def test_changes_move_the_facts_they_name() -> None:
    build_world(per_cohort=10, seed=5, logistic=True)
    base = simulate(params({}), context()).data.live.facts
    none = simulate(params({"changes": [{"kind": "activity_pct", "value": -100}]}), context())
    assert none.data.idle is None
    doubled = simulate(params({"changes": [{"kind": "activity_pct", "value": 100}]}), context())
    # The engine gets the changed columns; their scores move and their bands follow.
    assert not np.array_equal(none.after, none.before)
    assert not np.array_equal(doubled.after, none.after)
    raised = simulate(params({"changes": [{"kind": "assessment_points", "value": 100}]}), context())
    has_mean = ~np.isnan(base.assessment_mean_30)
    assert has_mean.any() and not np.array_equal(raised.after, raised.before)


@pytest.mark.django_db
def test_less_activity_moves_a_model_that_reads_totals_since_enrolment() -> None:
    """The active rules model reads events and active days since enrolment, against peers: an
    activity change must reach those too, not only the recent windows."""
    build_world(per_cohort=10, seed=5)
    halved = simulate(params({"changes": [{"kind": "activity_pct", "value": -50}]}), context())
    assert (halved.after != halved.before).any() and halved.after.mean() > halved.before.mean()


def test_an_activity_change_scales_every_count_within_its_window() -> None:
    facts = {
        name: np.array([10, 3]) for name in what_if_engine.ACTIVITY_FACTS if name != "kind_totals"
    }
    facts["kind_totals"] = np.array([[4, 6], [1, 2]])
    facts["tenure_days"] = np.array([30.5, 5.2])
    scaled = what_if_engine.scaled_activity(facts, 100)
    assert scaled["events_total"].tolist() == [20, 6]
    assert scaled["kind_totals"].tolist() == [[8, 12], [2, 4]]
    assert scaled["active_days_14"].tolist() == [14, 6]
    assert scaled["enrolled_active_days"].tolist() == [20, 6]
    assert what_if_engine.scaled_activity(facts, -100)["enrolled_events"].tolist() == [0, 0]


@pytest.mark.django_db
def test_thresholds_band_the_same_scores_differently() -> None:
    build_world(per_cohort=10, seed=6)
    change = {"kind": "thresholds", "medium": 0.01, "high": 0.02}
    results = KIND.run(params({"changes": [change]}), context())
    assert results["max_abs_score_change"] == 0.0
    assert results["bands_after"] == {"low": 0, "medium": 0, "high": 20}
    moved = 20 - results["bands_before"]["high"]
    assert results["crossings_total"] == len(results["crossings"]) == moved
    assert {row["band_after"] for row in results["crossings"]} == ({"high"} if moved else set())
    assert results["band_changes_by_pair"]["high->high"] == results["bands_before"]["high"]


@pytest.mark.django_db
def test_no_activity_days_push_risk_up_through_days_inactive() -> None:
    build_world(per_cohort=10, seed=7)
    result = simulate(params({"changes": [{"kind": "no_activity_days", "value": 30}]}), context())
    assert result.data.idle is not None
    assert np.allclose(
        result.data.idle.facts.days_inactive, result.data.live.facts.days_inactive + 30
    )
    assert result.after.mean() > result.before.mean()


@pytest.mark.django_db
def test_band_and_cohort_pick_the_segment_and_scope_is_kept() -> None:
    cohorts = build_world(per_cohort=10, seed=8)
    high = Learner.objects.filter(risk_band="high", cohort=cohorts[0]).count()
    results = KIND.run(params({"cohort": str(cohorts[0].pk), "band": "high"}), context())
    assert results["learners"] == high
    outside = KIND.run(
        params({"cohort": str(cohorts[0].pk)}), context(cohort_ids=frozenset({cohorts[1].pk}))
    )
    assert outside["learners"] == 0 and outside["cohorts"] == []
    scoped = KIND.run(params({}), context(cohort_ids=frozenset({cohorts[1].pk})))
    assert [row["cohort_id"] for row in scoped["cohorts"]] == [str(cohorts[1].pk)]


@pytest.mark.django_db
def test_a_run_writes_no_live_row() -> None:
    build_world(per_cohort=6, seed=9)
    before, assessments = live_state(), RiskAssessment.objects.count()
    changes = [
        {"kind": "activity_pct", "value": -50},
        {"kind": "no_activity_days", "value": 14},
        {"kind": "assessment_points", "value": -20},
        {"kind": "thresholds", "medium": 0.2, "high": 0.4},
    ]
    KIND.run(params({"changes": changes}), context())
    assert live_state() == before and RiskAssessment.objects.count() == assessments


@pytest.mark.django_db
def test_a_run_reads_in_a_fixed_number_of_queries() -> None:
    changes = [{"kind": "no_activity_days", "value": 14}, {"kind": "activity_pct", "value": 20}]
    first, second = query_counts(lambda: KIND.run(params({"changes": changes}), context()))
    assert first == second


@pytest.mark.django_db
def test_progress_is_reported_and_cancels() -> None:
    build_world(per_cohort=4, seed=11)
    seen: list[float] = []
    KIND.run(params({}), context(progress=seen.append))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 3

    def cancelled(fraction: float) -> None:
        raise JobCancelled(uuid.uuid4())

    with pytest.raises(JobCancelled):
        KIND.run(params({}), context(progress=cancelled))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"changes": [{"kind": "gravity", "value": 1}]}, {"changes": {0: {"kind"}}}),
        ({"changes": [{"kind": "activity_pct", "value": -101}]}, {"changes": {0: {"value"}}}),
        ({"changes": [{"kind": "activity_pct", "value": 501}]}, {"changes": {0: {"value"}}}),
        ({"changes": [{"kind": "activity_pct"}]}, {"changes": {0: {"value"}}}),
        ({"changes": [{"kind": "no_activity_days", "value": 0}]}, {"changes": {0: {"value"}}}),
        ({"changes": [{"kind": "no_activity_days", "value": 2.5}]}, {"changes": {0: {"value"}}}),
        ({"changes": [{"kind": "no_activity_days", "value": [3]}]}, {"changes": {0: {"value"}}}),
        ({"changes": [{"kind": "assessment_points", "value": 101}]}, {"changes": {0: {"value"}}}),
        (
            {"changes": [{"kind": "thresholds", "medium": 0.6, "high": 0.5}]},
            {"changes": {0: {"high"}}},
        ),
        ({"changes": [{"kind": "thresholds", "medium": 0.2}]}, {"changes": {0: {"high"}}}),
        (
            {
                "changes": [
                    {"kind": "activity_pct", "value": 1},
                    {"kind": "activity_pct", "value": 2},
                ]
            },
            {"changes": None},
        ),
        ({"changes": {"kind": "activity_pct"}}, {"changes": None}),
        ({"band": "purple"}, {"band": None}),
        ({"cohort": str(uuid.uuid4())}, {"cohort": None}),
    ],
)
def test_bad_params_name_the_field(data: dict[str, Any], errors: dict[str, Any]) -> None:
    serializer = KIND.params(data=data, context={"actor": UserFactory()})
    assert not serializer.is_valid()
    assert set(serializer.errors) == set(errors)
    for field, inner in errors.items():
        if inner is not None:
            for index, names in inner.items():
                assert set(serializer.errors[field][index]) == names


@pytest.mark.django_db
def test_a_cohort_outside_the_coachs_scope_is_no_such_cohort() -> None:
    mine, theirs = CohortFactory(), CohortFactory()
    coach = CohortAssignmentFactory(cohort=mine).user
    serializer = KIND.params(data={"cohort": str(theirs.pk)}, context={"actor": coach})
    assert not serializer.is_valid()
    assert serializer.errors == {"cohort": ["No such cohort."]}
    assert params({"cohort": str(mine.pk)}, actor=coach)["cohort"] == mine.pk
