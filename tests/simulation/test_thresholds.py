"""The thresholds kind on hand-built outcomes with known answers.

The model scores idleness only: ``sigmoid(days_inactive - 10)`` (medium from 0.5, high from
0.75). Six learners of a finished cohort enrol together; at their 28-day cutoff they have been
idle 20, 13, 11, 9, 5 and 1 days: scores 0.99995, 0.953, 0.731, 0.269, 0.0067 and 0.0001. Those
idle 20, 13 and 9 days withdrew; the others completed.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from learners import contracts
from learners.models import Cohort, Learner, LearnerStatus, RiskAssessment, RiskModel
from learners.risk.features import FEATURE_NAMES, features_for
from simulation.kinds import KINDS
from simulation.kinds.base import RunContext
from simulation.kinds.thresholds import KIND
from tests.factories import (
    ActivityEventFactory,
    CohortAssignmentFactory,
    CohortFactory,
    LearnerFactory,
    UserFactory,
)
from tests.simulation.conftest import run_context

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, tzinfo=UTC)
ENROLLED = datetime(2026, 9, 7, 9, tzinfo=UTC)
CUTOFF = ENROLLED + timedelta(days=28)
#: Idle days at the cutoff, and whether that learner withdrew.
LEARNERS = ((20, True), (13, True), (11, False), (9, True), (5, False), (1, False))


def _learner(cohort: Cohort, idle_days: float, withdrew: bool) -> Learner:
    learner = cast(
        Learner,
        LearnerFactory(
            cohort=cohort,
            status=LearnerStatus.WITHDRAWN if withdrew else LearnerStatus.COMPLETED,
            enrolled_at=ENROLLED,
            finished_at=datetime(2026, 11, 1, tzinfo=UTC),
        ),
    )
    ActivityEventFactory(learner=learner, occurred_at=CUTOFF - timedelta(days=idle_days))
    return learner


@pytest.fixture
def cohort(idleness_model: RiskModel) -> Cohort:
    finished = cast(Cohort, CohortFactory(starts_on=date(2026, 9, 7), ends_on=date(2026, 11, 15)))
    for idle_days, withdrew in LEARNERS:
        _learner(finished, idle_days, withdrew)
    # Not judged: still studying, or enrolled less than the cutoff before now.
    LearnerFactory(cohort=finished, enrolled_at=ENROLLED)
    LearnerFactory(
        cohort=finished,
        status=LearnerStatus.WITHDRAWN,
        enrolled_at=NOW - timedelta(days=10),
        finished_at=NOW - timedelta(days=1),
    )
    return finished


def _context(
    cohort_ids: frozenset[uuid.UUID] | None = None,
    progress: Callable[[float], None] | None = None,
) -> RunContext:
    return run_context(now=NOW, seed=3, cohort_ids=cohort_ids, progress=progress)


def _params(data: dict[str, Any], actor: Any = None) -> dict[str, Any]:
    serializer = KIND.params(data=data, context={"actor": actor or UserFactory()})
    assert serializer.is_valid(), serializer.errors
    return dict(serializer.validated_data)


def test_the_kind_is_registered() -> None:
    assert KINDS["thresholds"] is KIND


def test_the_table_against_known_outcomes(cohort: Cohort) -> None:
    results = KIND.run(_params({"capacity": 3}), _context())

    assert (results["learners"], results["withdrawn"]) == (6, 3)
    assert results["cohorts"] == [str(cohort.pk)]
    table = {row["threshold"]: row for row in results["table"]}
    assert list(table) == [round(0.05 * step, 2) for step in range(1, 20)]
    assert table[0.05] == {
        "threshold": 0.05,
        "flagged": 4,
        "precision": 0.75,
        "recall": 1.0,
        "within_capacity": False,
    }
    assert table[0.5] == {
        "threshold": 0.5,
        "flagged": 3,
        "precision": 0.666667,
        "recall": 0.666667,
        "within_capacity": True,
    }
    assert (table[0.95]["flagged"], table[0.95]["precision"]) == (2, 1.0)


def test_the_model_thresholds_and_the_suggestion(cohort: Cohort) -> None:
    results = KIND.run(_params({"capacity": 3}), _context())

    assert results["current"]["high"] == {
        "threshold": 0.75,
        "flagged": 2,
        "precision": 1.0,
        "recall": 0.666667,
        "within_capacity": True,
    }
    assert results["current"]["medium"]["flagged"] == 3
    # Midway between the third score (idle 11 days) and the fourth (idle 9): 0.5 exactly.
    suggested = results["suggested"]
    assert suggested["threshold"] == pytest.approx(0.5)
    assert (suggested["flagged"], suggested["within_capacity"]) == (3, True)
    assert suggested["precision"] == suggested["recall"] == pytest.approx(2 / 3, abs=1e-6)
    assert KIND.headline(results) == {
        "learners": 6,
        "withdrawn": 3,
        "high_precision": 1.0,
        "high_recall": 0.666667,
        "suggested_threshold": suggested["threshold"],
    }


def test_a_capacity_above_everyone_flags_everyone(cohort: Cohort) -> None:
    results = KIND.run(_params({"capacity": 100}), _context())
    assert (results["suggested"]["flagged"], results["suggested"]["recall"]) == (6, 1.0)


def test_without_capacity_nothing_is_suggested(cohort: Cohort) -> None:
    results = KIND.run(_params({}), _context())

    assert results["suggested"] is None
    assert {row["within_capacity"] for row in results["table"]} == {None}
    assert KIND.headline(results)["suggested_threshold"] is None


def test_the_learners_at_their_cutoff_are_training_features_to_the_last_bit(
    cohort: Cohort,
) -> None:
    """Built column by column, the features are those ``features_for`` gives each learner."""
    rng = np.random.default_rng(4)
    kinds = ["content_view", "assessment_submitted", "forum_post", "lesson_completed", "login"]
    for learner in Learner.objects.filter(cohort=cohort):
        for _ in range(12):
            ActivityEventFactory(
                learner=learner,
                kind=kinds[int(rng.integers(len(kinds)))],
                occurred_at=ENROLLED + timedelta(hours=float(rng.uniform(1, 40 * 24))),
                duration_seconds=int(rng.integers(10, 3000)),
                score=float(rng.uniform(0, 1)),
            )
    outcomes = contracts.cutoff_outcomes(cohort_ids=[cohort.pk], cutoff_days=28, now=NOW)
    expected = features_for(learner_ids=list(outcomes.learner_ids), cutoff_days=28)
    assert len(outcomes.learner_ids) == 6
    for row, learner_id in zip(outcomes.values.tolist(), outcomes.learner_ids, strict=True):
        assert row == [expected[learner_id].values[name] for name in FEATURE_NAMES]


def test_the_cutoff_changes_what_the_learners_look_like(cohort: Cohort) -> None:
    later = KIND.run(_params({"cutoff_days": 35}), _context())
    # A week later every learner is seven days idler: all but the one idle 8 days are high.
    assert later["current"]["high"]["flagged"] == 5
    assert later["cutoff_days"] == 35


def test_by_default_only_finished_cohorts_count(cohort: Cohort) -> None:
    running = CohortFactory(starts_on=date(2026, 9, 7), ends_on=date(2027, 3, 1))
    _learner(running, 30, True)

    assert KIND.run(_params({}), _context())["learners"] == 6
    chosen = KIND.run(_params({"cohorts": [str(running.pk)]}), _context())
    assert (chosen["learners"], chosen["withdrawn"]) == (1, 1)


def test_reads_no_learner_outside_the_run_scope(cohort: Cohort) -> None:
    other = CohortFactory(starts_on=date(2026, 9, 7), ends_on=date(2026, 11, 15))
    _learner(other, 30, True)
    scope = frozenset({cohort.pk})

    by_default = KIND.run(_params({}), _context(cohort_ids=scope))
    chosen = KIND.run(_params({"cohorts": [str(cohort.pk), str(other.pk)]}), _context(scope))

    assert by_default["learners"] == chosen["learners"] == 6
    assert by_default["cohorts"] == chosen["cohorts"] == [str(cohort.pk)]


def test_no_learners_gives_empty_figures(idleness_model: RiskModel) -> None:
    results = KIND.run(_params({"capacity": 5}), _context())

    assert (results["learners"], results["suggested"]) == (0, None)
    assert results["current"]["high"]["precision"] is None


def test_reports_progress_and_is_reproducible(cohort: Cohort) -> None:
    reported: list[float] = []
    params = _params({"capacity": 2})

    first = KIND.run(params, _context(progress=reported.append))

    assert reported[-1] == 1.0
    assert reported == sorted(reported)
    assert first == KIND.run(params, _context())


def _run_queries() -> list[str]:
    params = _params({"capacity": 2})
    with CaptureQueriesContext(connection) as queries:
        KIND.run(params, _context())
    return [query["sql"] for query in queries.captured_queries]


def test_a_fixed_number_of_queries_and_no_writes(cohort: Cohort) -> None:
    small = _run_queries()
    for idle_days in range(2, 30, 3):
        _learner(cohort, idle_days, idle_days > 15)
    learners_before = list(Learner.objects.order_by("id").values())
    assessments_before = RiskAssessment.objects.count()

    large = _run_queries()

    assert len(large) == len(small)
    writes = ("INSERT", "UPDATE", "DELETE")
    assert not [sql for sql in small + large if sql.lstrip().upper().startswith(writes)]
    assert list(Learner.objects.order_by("id").values()) == learners_before
    assert RiskAssessment.objects.count() == assessments_before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"cutoff_days": 6}, "cutoff_days"),
        ({"cutoff_days": 181}, "cutoff_days"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": "many"}, "capacity"),
        ({"cohorts": [str(uuid.uuid4())]}, "cohorts"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_params_are_refused_on_their_field(data: dict[str, Any], field: str) -> None:
    serializer = KIND.params(data=data, context={"actor": UserFactory()})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {field}


def test_defaults() -> None:
    assert _params({}) == {"cutoff_days": 28}


def test_a_cohort_outside_the_coach_scope_is_no_such_cohort() -> None:
    assignment = CohortAssignmentFactory()
    outside = CohortFactory()

    serializer = KIND.params(
        data={"cohorts": [str(outside.pk)]}, context={"actor": assignment.user}
    )

    assert not serializer.is_valid()
    assert serializer.errors == {"cohorts": ["No such cohort."]}


def test_the_capacity_cut_never_splits_ties() -> None:
    outcomes = np.array([1, 0, 1, 0])

    within = contracts.capacity_cut(outcomes, np.array([0.9, 0.8, 0.8, 0.1]), capacity=2)
    tied = contracts.capacity_cut(outcomes, np.array([0.9, 0.9, 0.9, 0.1]), capacity=2)

    assert (within.threshold, within.flagged, within.fits) == (pytest.approx(0.85), 1, True)
    assert (within.precision, within.recall) == (1.0, 0.5)
    assert (tied.flagged, tied.fits) == (3, False)
