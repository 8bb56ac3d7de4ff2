"""The projection kind on hand-built worlds: the Poisson expectation, seeds, scope, no writes."""

import math
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from engagement.jobs import JobCancelled
from learners.models import ActivityEvent, EventKind, RiskAssessment, RiskModel
from simulation.kinds.base import RunContext
from simulation.kinds.projection import KIND
from tests.factories import CohortFactory, LearnerFactory, UserFactory
from tests.learners.risk.test_raw_columns import NOW, build_world, query_counts
from tests.simulation.conftest import run_context
from tests.simulation.test_what_if import live_state

#: High after a week without events, never after a week with some; never medium.
IDLE_WEEK_MODEL = {
    "intercept": 0.0,
    "weights": {"days_inactive": 1.0},
    "centres": {"days_inactive": 5.0},
    "thresholds": {"medium": 0.4, "high": 0.5},
}


def context(
    *,
    seed: int = 0,
    cohort_ids: frozenset[uuid.UUID] | None = None,
    progress: Callable[[float], None] | None = None,
) -> RunContext:
    model = RiskModel.objects.get(is_active=True)
    return run_context(
        now=NOW, seed=seed, model_version=model.version, cohort_ids=cohort_ids, progress=progress
    )


def params(data: dict[str, Any]) -> Any:
    serializer = KIND.params(data=data, context={"actor": UserFactory()})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@pytest.mark.django_db
def test_the_mean_high_count_matches_the_poisson_expectation() -> None:
    latest = RiskModel.objects.order_by("-version").values_list("version", flat=True).first()
    RiskModel.objects.update(is_active=False)
    RiskModel.objects.create(
        version=(latest or 0) + 1, kind="rules", parameters=IDLE_WEEK_MODEL, is_active=True
    )
    cohort = CohortFactory()
    counts = [0, 1, 2, 3, 4, 6, 8, 12]  # logins in the last 28 days: k / 4 a week
    events = []
    for count in counts:
        learner = LearnerFactory(cohort=cohort, enrolled_at=NOW - timedelta(days=40))
        for index in range(count):
            events.append(
                ActivityEvent(
                    learner=learner,
                    kind=EventKind.LOGIN,
                    occurred_at=NOW - timedelta(minutes=5 + index * 60),
                    source="lms",
                    source_event_id=f"p-{learner.pk}-{index}",
                )
            )
    ActivityEvent.objects.bulk_create(events)
    results = KIND.run(params({"weeks": 3, "runs": 1000}), context(seed=3))
    expected = sum(math.exp(-count / 4) for count in counts)
    assert results["learners"] == len(counts)
    # The one learner without any event has been inactive since enrolling: high from the start.
    assert results["start"]["bands"] == {"low": 7, "medium": 0, "high": 1}
    for week in results["per_week"]:
        assert week["high"]["mean"] == pytest.approx(expected, abs=0.15)
        assert week["medium"]["mean"] == 0.0
    assert sum(results["final_distribution"]) == pytest.approx(len(counts))
    assert KIND.headline(results)["high_final_mean"] == results["per_week"][-1]["high"]["mean"]


@pytest.mark.django_db
def test_a_seed_reproduces_a_run() -> None:
    build_world(per_cohort=6, seed=21)
    once = KIND.run(params({"weeks": 2, "runs": 30}), context(seed=5))
    assert KIND.run(params({"weeks": 2, "runs": 30}), context(seed=5)) == once
    assert KIND.run(params({"weeks": 2, "runs": 30}), context(seed=6)) != once
    assert len(once["per_week"]) == 2 and once["runs"] == 30 and once["learners"] == 12


@pytest.mark.django_db
def test_a_run_reads_only_its_scope_and_writes_nothing() -> None:
    cohorts = build_world(per_cohort=5, seed=22)
    before, assessments = live_state(), RiskAssessment.objects.count()
    results = KIND.run(params({}), context(cohort_ids=frozenset({cohorts[1].pk})))
    assert results["learners"] == 5 and results["weeks"] == 8 and results["runs"] == 200
    outside = KIND.run(
        params({"cohort": str(cohorts[0].pk)}), context(cohort_ids=frozenset({cohorts[1].pk}))
    )
    assert outside["learners"] == 0
    assert live_state() == before and RiskAssessment.objects.count() == assessments


@pytest.mark.django_db
def test_a_run_reads_in_a_fixed_number_of_queries() -> None:
    first, second = query_counts(lambda: KIND.run(params({"weeks": 2, "runs": 5}), context()))
    assert first == second


@pytest.mark.django_db
def test_progress_is_reported_and_cancels() -> None:
    build_world(per_cohort=4, seed=23)
    seen: list[float] = []
    KIND.run(params({"weeks": 3, "runs": 10}), context(progress=seen.append))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 4
    calls: list[float] = []

    def cancel_later(fraction: float) -> None:
        calls.append(fraction)
        if len(calls) == 3:
            raise JobCancelled(uuid.uuid4())

    with pytest.raises(JobCancelled):
        KIND.run(params({"weeks": 3, "runs": 10}), context(progress=cancel_later))
    assert len(calls) == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [{"weeks": 0}, {"weeks": 27}, {"runs": 0}, {"runs": 1001}, {"seed": -1}, {"weeks": "x"}],
)
def test_bad_params_name_the_field(data: dict[str, Any]) -> None:
    serializer = KIND.params(data=data, context={"actor": UserFactory()})
    assert not serializer.is_valid()
    assert set(serializer.errors) == set(data)
