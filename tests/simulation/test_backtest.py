"""The backtest kind on a hand-built cohort whose withdrawals are known.

The model scores idleness only: ``sigmoid(days_inactive - 10)``, high from about 11.1 idle days
(medium from 10). The cohort runs eight weeks from Monday 7 September 2026; it is scored at each
following Monday, 00:00 UTC. Learner A goes idle after 15 September and withdraws on 20 October:
first flagged on 28 September, three weeks ahead. B is active every day until withdrawing on 25
September: never flagged. C goes idle after 20 September, flagged on 5 October and withdraws on
13 October: one week ahead. D completes, active throughout; E completes but idles from 10
September (flagged from 28 September on: a false alarm).
"""

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagement.models import Role
from learners.models import Learner, LearnerStatus, RiskAssessment, RiskModel
from simulation.kinds import KINDS
from simulation.kinds.backtest import KIND
from simulation.kinds.base import RunContext
from tests.factories import (
    ActivityEventFactory,
    CohortAssignmentFactory,
    CohortFactory,
    LearnerFactory,
    UserFactory,
)
from tests.simulation.conftest import run_context

pytestmark = pytest.mark.django_db

START = date(2026, 9, 7)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _daily_events(learner: Learner, first: datetime, last: datetime) -> None:
    moment = first
    while moment <= last:
        ActivityEventFactory(learner=learner, occurred_at=moment)
        moment += timedelta(days=1)


def _learner(cohort: Any, status: str, finished_at: datetime | None, last: datetime) -> Learner:
    learner = cast(
        Learner,
        LearnerFactory(
            cohort=cohort,
            status=status,
            enrolled_at=_at(9, 7, 9),
            finished_at=finished_at,
        ),
    )
    _daily_events(learner, _at(9, 7, 10), last)
    return learner


@pytest.fixture
def world(idleness_model: RiskModel) -> dict[str, Any]:
    cohort = CohortFactory(starts_on=START, ends_on=date(2026, 11, 1))
    withdrawn, completed = LearnerStatus.WITHDRAWN, LearnerStatus.COMPLETED
    return {
        "cohort": cohort,
        "a": _learner(cohort, withdrawn, _at(10, 20), last=_at(9, 15)),
        "b": _learner(cohort, withdrawn, _at(9, 25), last=_at(9, 24, 10)),
        "c": _learner(cohort, withdrawn, _at(10, 13), last=_at(9, 20)),
        "d": _learner(cohort, completed, _at(11, 1), last=_at(11, 1, 10)),
        "e": _learner(cohort, completed, _at(11, 1), last=_at(9, 10)),
    }


def _context(
    cohort_ids: frozenset[uuid.UUID] | None = None,
    progress: Callable[[float], None] | None = None,
) -> RunContext:
    return run_context(now=NOW, seed=7, cohort_ids=cohort_ids, progress=progress)


def _params(cohort_ids: list[uuid.UUID], actor: Any = None) -> dict[str, Any]:
    serializer = KIND.params(
        data={"cohorts": [str(cohort_id) for cohort_id in cohort_ids]},
        context={"actor": actor or UserFactory()},
    )
    assert serializer.is_valid(), serializer.errors
    return dict(serializer.validated_data)


def test_the_kind_is_registered() -> None:
    assert KINDS["backtest"] is KIND
    assert KIND.learner_keys == ("withdrawals",)


def test_lead_times_of_known_withdrawals(world: dict[str, Any]) -> None:
    results = KIND.run(_params([world["cohort"].pk]), _context())

    by_learner = {row["learner_id"]: row for row in results["withdrawals"]}
    a, b, c = (by_learner[str(world[name].pk)] for name in "abc")
    assert (a["first_flagged_at"], a["lead_weeks"]) == ("2026-09-28T00:00:00+00:00", 3)
    assert (b["first_flagged_at"], b["lead_weeks"]) == (None, None)
    assert (c["first_flagged_at"], c["lead_weeks"]) == ("2026-10-05T00:00:00+00:00", 1)
    assert a["withdrew_at"] == "2026-10-20T12:00:00+00:00"
    assert a["cohort_id"] == str(world["cohort"].pk)
    assert (results["learners"], results["withdrawn"]) == (5, 3)
    assert results["lead_time"] == {
        "counts": {"1": 1, "3": 1},
        "mean": 2.0,
        "median": 2.0,
        "caught_share": pytest.approx(2 / 3, abs=1e-6),
        "never_flagged_share": pytest.approx(1 / 3, abs=1e-6),
    }


def test_weeks_track_bands_precision_and_recall(world: dict[str, Any]) -> None:
    results = KIND.run(_params([world["cohort"].pk]), _context())

    weeks = results["weeks"]
    assert [week["week"] for week in weeks] == list(range(1, 9))
    assert weeks[0]["as_of"] == "2026-09-14T00:00:00+00:00"
    week_3, week_4 = weeks[2], weeks[3]
    # 28 September: B has gone; A and E are flagged, A and C withdraw later.
    assert week_3["learners"] == 4
    assert week_3["bands"] == {"low": 2, "medium": 0, "high": 2}
    assert (week_3["flagged"], week_3["withdrew_later"]) == (2, 2)
    assert (week_3["precision"], week_3["recall"]) == (0.5, 0.5)
    # 5 October: A, C and E flagged; A and C withdraw later.
    assert (week_4["flagged"], week_4["precision"], week_4["recall"]) == (3, 0.666667, 1.0)
    # 2 November: everyone has finished.
    assert weeks[7]["learners"] == 0
    assert weeks[7]["precision"] is None
    assert KIND.headline(results) == {
        "learners": 5,
        "withdrawn": 3,
        "caught_share": pytest.approx(2 / 3, abs=1e-6),
        "mean_lead_weeks": 2.0,
        "mean_precision": pytest.approx(
            sum(w["precision"] for w in weeks if w["precision"] is not None)
            / sum(w["precision"] is not None for w in weeks)
        ),
    }


def test_an_ongoing_cohort_stops_at_now_and_its_studying_learners_did_not_withdraw(
    idleness_model: RiskModel,
) -> None:
    cohort = CohortFactory(starts_on=START, ends_on=date(2027, 6, 30))
    _learner(cohort, LearnerStatus.ACTIVE, None, last=_at(9, 10))

    results = KIND.run(_params([cohort.pk]), _context())

    assert results["weeks"][-1]["as_of"] == "2026-11-30T00:00:00+00:00"
    assert (results["learners"], results["withdrawn"]) == (1, 0)
    assert results["weeks"][-1]["withdrew_later"] == 0


def test_a_self_paced_cohort_runs_to_its_last_finish(idleness_model: RiskModel) -> None:
    cohort = CohortFactory(starts_on=START, ends_on=None)
    _learner(cohort, LearnerStatus.COMPLETED, _at(9, 30), last=_at(9, 29))

    results = KIND.run(_params([cohort.pk]), _context())

    assert [week["as_of"][:10] for week in results["weeks"]] == [
        "2026-09-14",
        "2026-09-21",
        "2026-09-28",
    ]


def test_reads_no_learner_outside_the_run_scope(world: dict[str, Any]) -> None:
    other = CohortFactory(starts_on=START)
    _learner(other, LearnerStatus.WITHDRAWN, _at(10, 1), last=_at(9, 8))

    results = KIND.run(
        _params([world["cohort"].pk, other.pk]),
        _context(cohort_ids=frozenset({world["cohort"].pk})),
    )

    assert results["learners"] == 5
    assert {row["cohort_id"] for row in results["withdrawals"]} == {str(world["cohort"].pk)}
    assert {week["cohort_id"] for week in results["weeks"]} == {str(world["cohort"].pk)}


def test_reports_progress_after_each_week(world: dict[str, Any]) -> None:
    reported: list[float] = []

    KIND.run(_params([world["cohort"].pk]), _context(progress=reported.append))

    assert reported == [week / 8 for week in range(1, 9)]


def test_the_same_params_give_the_same_results(world: dict[str, Any]) -> None:
    params = _params([world["cohort"].pk])
    assert KIND.run(params, _context()) == KIND.run(params, _context())


def _run_queries(cohort_id: uuid.UUID) -> list[str]:
    params = _params([cohort_id])
    with CaptureQueriesContext(connection) as queries:
        KIND.run(params, _context())
    return [query["sql"] for query in queries.captured_queries]


def test_a_fixed_number_of_queries_and_no_writes(world: dict[str, Any]) -> None:
    small = _run_queries(world["cohort"].pk)
    for _ in range(6):
        _learner(world["cohort"], LearnerStatus.COMPLETED, _at(11, 1), last=_at(10, 30))
    learners_before = list(Learner.objects.order_by("id").values())
    assessments_before = RiskAssessment.objects.count()

    large = _run_queries(world["cohort"].pk)

    assert len(large) == len(small)
    writes = ("INSERT", "UPDATE", "DELETE")
    assert not [sql for sql in small + large if sql.lstrip().upper().startswith(writes)]
    assert list(Learner.objects.order_by("id").values()) == learners_before
    assert RiskAssessment.objects.count() == assessments_before


@pytest.mark.parametrize(
    "cohorts",
    [[], "not-a-list", ["not-a-uuid"], [str(uuid.uuid4())]],
    ids=["empty", "not-a-list", "not-a-uuid", "unknown"],
)
def test_bad_cohorts_are_refused_on_the_field(cohorts: Any) -> None:
    serializer = KIND.params(data={"cohorts": cohorts}, context={"actor": UserFactory()})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"cohorts"}


def test_at_most_twenty_cohorts() -> None:
    cohorts = [str(CohortFactory().pk) for _ in range(21)]
    serializer = KIND.params(data={"cohorts": cohorts}, context={"actor": UserFactory()})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"cohorts"}


def test_cohorts_are_required() -> None:
    serializer = KIND.params(data={}, context={"actor": UserFactory()})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"cohorts"}


def test_a_cohort_outside_the_coach_scope_is_no_such_cohort() -> None:
    assignment = CohortAssignmentFactory()
    outside = CohortFactory()
    coach = assignment.user
    assert coach.role == Role.COACH

    refused = KIND.params(data={"cohorts": [str(outside.pk)]}, context={"actor": coach})
    accepted = KIND.params(data={"cohorts": [str(assignment.cohort_id)]}, context={"actor": coach})

    assert not refused.is_valid()
    assert refused.errors == {"cohorts": ["No such cohort."]}
    assert accepted.is_valid(), accepted.errors
