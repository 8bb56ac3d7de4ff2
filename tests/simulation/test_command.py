"""``manage.py simulate``: a run here and now as a user, printed as JSON; bad input is one
line naming the field."""

import dataclasses
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from engagement.models import JobStatus, Role
from simulation.kinds import KINDS
from simulation.models import Simulation
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory
from tests.simulation.conftest import COUNTING

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counting_kind")]


@pytest.fixture
def world() -> dict[str, Any]:
    mine, other = CohortFactory(), CohortFactory()
    coach = UserFactory(role=Role.COACH, username="coach-a")
    CohortAssignmentFactory(user=coach, cohort=mine)
    for cohort, count in ((mine, 2), (other, 3)):
        LearnerFactory.create_batch(count, cohort=cohort)
    return {"mine": mine, "other": other, "coach": coach, "admin": UserFactory(role=Role.ADMIN)}


def _simulate(*args: str) -> tuple[str, dict[str, Any]]:
    out = StringIO()
    call_command("simulate", *args, stdout=out)
    head, _, body = out.getvalue().partition("\n")
    return head, json.loads(body)


def test_a_run_as_the_first_admin_prints_its_id_status_and_results(world: dict[str, Any]) -> None:
    UserFactory(role=Role.ADMIN)  # joined later: not the default

    head, results = _simulate(COUNTING, "--params", '{"seed": 5}', "--name", "From the shell")

    simulation = Simulation.objects.get()
    assert head == f"Simulation {simulation.pk}: succeeded"
    assert simulation.job.status == JobStatus.SUCCEEDED
    assert (simulation.requested_by, simulation.name, simulation.seed) == (
        world["admin"],
        "From the shell",
        5,
    )
    assert results["learners"] == 5 and len(results["rows"]) == 5
    assert {key: value for key, value in results.items() if key != "rows"} == {
        key: value for key, value in (simulation.results or {}).items() if key != "rows"
    }
    assert all(row["label"] for row in results["rows"])


def test_a_seed_reproduces_the_printed_results(world: dict[str, Any]) -> None:
    assert (
        _simulate(COUNTING, "--params", '{"seed": 9}')[1]
        == _simulate(COUNTING, "--params", '{"seed": 9}')[1]
    )


def test_a_run_as_a_coach_reads_their_cohorts_only(world: dict[str, Any]) -> None:
    _, results = _simulate(COUNTING, "--user", "coach-a")
    assert results["learners"] == 2
    assert Simulation.objects.get().requested_by == world["coach"]


def test_an_analyst_is_printed_aggregates_only(world: dict[str, Any]) -> None:
    UserFactory(role=Role.ANALYST, username="analyst-a")
    _, results = _simulate(COUNTING, "--user", "analyst-a")
    assert "rows" not in results and results["learners"] == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["guess"], "invalid choice: 'guess'"),
        ([COUNTING, "--params", "[1]"], "--params: must be a JSON object."),
        ([COUNTING, "--params", "{seed"], "--params: not JSON (Expecting property name"),
        ([COUNTING, "--params", "[" * 5000 + "]" * 5000], "--params: arrays and objects nest"),
        ([COUNTING, "--params", "[" * 70 + "]" * 70], "--params nests arrays and objects more"),
        ([COUNTING, "--params", '{"steps": 0}'], "params.steps: Ensure this value is greater"),
        ([COUNTING, "--params", '{"model_version": 999}'], "params.model_version: No risk model"),
        ([COUNTING, "--params", '{"note": "\\u0000"}'], "--params.note contains a NUL character."),
        ([COUNTING, "--name", "x" * 201], "--name: at most 200 characters."),
        ([COUNTING, "--user", "nobody"], "--user: no active user named 'nobody'."),
    ],
)
def test_bad_input_stops_with_the_field_named(
    world: dict[str, Any], args: list[str], message: str
) -> None:
    with pytest.raises(CommandError) as refused:
        call_command("simulate", *args, stdout=StringIO())
    assert message in str(refused.value)
    assert not Simulation.objects.exists()


def test_a_cohort_outside_the_user_scope_is_refused(world: dict[str, Any]) -> None:
    params = json.dumps({"cohort": str(world["other"].pk)})
    with pytest.raises(CommandError, match=r"^params\.cohort: No such cohort\.$"):
        call_command("simulate", COUNTING, "--params", params, "--user", "coach-a")


def test_without_an_active_admin_it_refuses_clearly(world: dict[str, Any]) -> None:
    world["admin"].is_active = False
    world["admin"].save()
    with pytest.raises(CommandError, match="no active admin to run as: name a user with --user"):
        call_command("simulate", COUNTING, stdout=StringIO())


def test_a_failed_run_stops_with_its_error(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, counting_kind: Any
) -> None:
    def broken(params: Any, context: Any) -> dict[str, Any]:
        raise ZeroDivisionError

    monkeypatch.setitem(KINDS, COUNTING, dataclasses.replace(counting_kind, run=broken))
    with pytest.raises(
        CommandError, match=r"failed: The job failed unexpectedly \(ZeroDivisionError\)"
    ):
        call_command("simulate", COUNTING, stdout=StringIO())
