"""The simulation machinery with a small test kind: request, run, results per viewer, cancel,
compare. Each real kind's maths has its own tests."""

from typing import Any

import pytest

from engagement.errors import Forbidden, NotFound, ValidationFailed
from engagement.models import Job, JobStatus
from learners import contracts
from learners.models import CohortAssignment, Learner, RiskAssessment
from simulation import selectors
from simulation.kinds.base import RunContext
from simulation.models import Simulation
from simulation.services import json_ready, simulation_cancel, simulation_request
from simulation.tasks import simulation_run_task
from tests.factories import LearnerFactory, UserFactory
from tests.simulation.conftest import BEFORE_PROGRESS, COUNTING

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counting_kind")]


def _run(actor: Any, **params: Any) -> Simulation:
    return simulation_request(actor=actor, kind=COUNTING, params=params, in_process=True)


def test_a_run_stores_its_seed_model_version_and_results(world: dict[str, Any]) -> None:
    simulation = _run(world["admin"], seed=7)
    assert simulation.job.status == JobStatus.SUCCEEDED
    active = contracts.risk_model_spec()
    assert active is not None
    assert (simulation.seed, simulation.model_version) == (7, active.version)
    assert simulation.params == {"seed": 7, "model_version": active.version, "steps": 2}
    assert simulation.results is not None and simulation.results["learners"] == 5
    assert simulation.job.result == {
        "simulation_id": str(simulation.pk),
        "learners": 5,
        "draw": simulation.results["draw"],
    }


def test_a_seed_reproduces_a_run_and_an_absent_one_is_drawn_and_stored(
    world: dict[str, Any],
) -> None:
    first, again = _run(world["admin"], seed=11), _run(world["admin"], seed=11)
    assert first.results == again.results
    drawn = _run(world["admin"])
    assert drawn.params["seed"] == drawn.seed
    assert _run(world["admin"], seed=drawn.seed).results == drawn.results


def test_a_coach_runs_on_their_cohorts_only(world: dict[str, Any]) -> None:
    assert _run(world["coach"]).results["learners"] == 2  # type: ignore[index]
    with pytest.raises(ValidationFailed) as refused:
        _run(world["coach"], cohort=str(world["other"].pk))
    assert refused.value.detail == {"params": {"cohort": ["No such cohort."]}}
    assert (
        not Simulation.objects.filter(requested_by=world["coach"])
        .exclude(results__learners=2)
        .exists()
    )


def test_a_coach_who_lost_the_cohort_gets_a_failed_run_not_its_learners(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        simulation = simulation_request(
            actor=world["coach"], kind=COUNTING, params={"cohort": str(world["mine"].pk)}
        )
    CohortAssignment.objects.filter(user=world["coach"]).delete()
    simulation_run_task.apply(args=(str(simulation.job_id),), throw=False)
    simulation.refresh_from_db()
    simulation.job.refresh_from_db()
    assert simulation.job.status == JobStatus.FAILED
    assert "No such cohort." in simulation.job.error
    assert simulation.results is None


@pytest.mark.parametrize(
    ("kind", "params", "error"),
    [
        ("guess", {}, None),
        (COUNTING, [], {"params": ["Expected an object."]}),
        (
            COUNTING,
            {"steps": 0},
            {"params": {"steps": ["Ensure this value is greater than or equal to 1."]}},
        ),
        (
            COUNTING,
            {"seed": -1},
            {"params": {"seed": ["Ensure this value is greater than or equal to 0."]}},
        ),
        (
            COUNTING,
            {"model_version": 999},
            {"params": {"model_version": ["No risk model of this version."]}},
        ),
        (COUNTING, {"cohort": "not-an-id"}, {"params": {"cohort": ["Must be a valid UUID."]}}),
    ],
)
def test_bad_requests_name_the_field(
    world: dict[str, Any], kind: str, params: Any, error: dict[str, Any] | None
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        simulation_request(actor=world["admin"], kind=kind, params=params)
    detail = refused.value.detail
    if kind == "guess":
        assert list(detail) == ["kind"] and detail["kind"][0].startswith("Choose one of: ")
    else:
        assert detail == error
    assert not Simulation.objects.exists() and not Job.objects.exists()


def test_a_run_changes_no_live_row(world: dict[str, Any]) -> None:
    before = (
        RiskAssessment.objects.count(),
        list(
            Learner.objects.order_by("pk").values_list(
                "pk", "risk_score", "risk_band", "updated_at"
            )
        ),
    )
    _run(world["admin"])
    after = (
        RiskAssessment.objects.count(),
        list(
            Learner.objects.order_by("pk").values_list(
                "pk", "risk_score", "risk_band", "updated_at"
            )
        ),
    )
    assert after == before


def test_a_cancelled_run_stops_at_its_next_progress_report(world: dict[str, Any]) -> None:
    def cancel(context: RunContext) -> None:
        Job.objects.filter(simulation__pk=context.simulation_id).update(status=JobStatus.CANCELLED)

    BEFORE_PROGRESS.append(cancel)
    simulation = _run(world["admin"], steps=3)
    assert simulation.job.status == JobStatus.CANCELLED
    assert simulation.results is None


def test_cancel_is_for_the_requester_or_an_admin(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        queued = simulation_request(actor=world["analyst"], kind=COUNTING, params={})
    with pytest.raises(Forbidden):
        simulation_cancel(simulation=queued, actor=UserFactory(role="analyst"))
    simulation_cancel(simulation=queued, actor=world["admin"])
    assert queued.job.status == JobStatus.CANCELLED


def test_an_idempotency_key_returns_the_same_simulation(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        first = simulation_request(
            actor=world["admin"], kind=COUNTING, params={"steps": 3}, idempotency_key="k1"
        )
        again = simulation_request(
            actor=world["admin"], kind=COUNTING, params={"steps": 3}, idempotency_key="k1"
        )
    assert again.pk == first.pk and Simulation.objects.count() == 1


def test_who_sees_which_runs(world: dict[str, Any]) -> None:
    by_coach, by_admin = _run(world["coach"]), _run(world["admin"])
    assert set(selectors.simulation_list(actor=world["admin"])) == {by_coach, by_admin}
    assert set(selectors.simulation_list(actor=world["analyst"])) == {by_coach, by_admin}
    assert list(selectors.simulation_list(actor=world["coach"])) == [by_coach]
    with pytest.raises(NotFound):
        selectors.simulation_get(actor=world["coach"], simulation_id=by_admin.pk)
    assert list(selectors.simulation_list(actor=world["admin"], filters={"status": "failed"})) == []


def test_results_are_labelled_for_staff_and_aggregates_only_for_analysts(
    world: dict[str, Any],
) -> None:
    simulation = _run(world["admin"])
    admin = selectors.simulation_results(actor=world["admin"], simulation=simulation)
    assert admin is not None and len(admin["rows"]) == 5
    assert "Ann Lee" in {row["label"] for row in admin["rows"]}
    analyst = selectors.simulation_results(actor=world["analyst"], simulation=simulation)
    assert analyst is not None and "rows" not in analyst and analyst["learners"] == 5
    coach = selectors.simulation_results(actor=world["coach"], simulation=simulation)
    mine = {str(learner.pk) for learner in world["learners"][:2]}
    assert coach is not None and {row["learner_id"] for row in coach["rows"]} == mine


def test_results_take_the_same_queries_for_few_rows_or_many(
    world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    few = _run(world["admin"])
    for _ in range(20):
        LearnerFactory(cohort=world["mine"])
    many = _run(world["admin"])
    for simulation in (few, many):
        with django_assert_max_num_queries(2):
            selectors.simulation_results(actor=world["admin"], simulation=simulation)


def test_compare_shows_changed_params_and_headline_differences(world: dict[str, Any]) -> None:
    a = _run(world["admin"], seed=1)
    LearnerFactory(cohort=world["mine"])
    b = _run(world["admin"], seed=2)
    compared = selectors.simulation_compare(actor=world["admin"], a=a.pk, b=b.pk)
    assert compared["params"] == {"seed": {"a": 1, "b": 2}}
    learners = next(row for row in compared["headline"] if row["name"] == "learners")
    assert (learners["a"], learners["b"], learners["difference"]) == (5, 6, 1)
    with pytest.raises(NotFound):
        selectors.simulation_compare(actor=world["coach"], a=a.pk, b=b.pk)


def test_json_ready_makes_numpy_and_nan_plain() -> None:
    import math

    import numpy as np

    assert json_ready({"a": np.float64(0.5), "b": np.array([1, 2]), "c": math.nan}) == {
        "a": 0.5,
        "b": [1, 2],
        "c": None,
    }
