"""Raw facts as columns: the live facts rescore to the stored features, set-based."""

import math
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from learners.models import ActivityEvent, Cohort, EventKind, Learner, RiskAssessment, RiskModel
from learners.risk.features import (
    ASSESSMENT_KINDS,
    FEATURE_NAMES,
    RawFacts,
    cohort_norms,
    course_lessons,
    model_input_rows,
    raw_features,
)
from learners.risk.model import score_matrix
from learners.risk.raw_columns import (
    approximate_scores,
    live_raw_columns,
    projection_start,
    raw_columns_of,
)
from learners.risk.services import learners_rescore
from tests.factories import CohortFactory, LearnerFactory
from tests.learners.risk.test_model import LOGISTIC

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def build_world(per_cohort: int = 8, seed: int = 1, *, logistic: bool = False) -> list[Cohort]:
    """Two cohorts (one scheduled, one self-paced) of learners with random activity before
    ``NOW`` (and some after it), all scored as of ``NOW``; one learner more not scored yet."""
    if logistic:
        latest = RiskModel.objects.order_by("-version").values_list("version", flat=True).first()
        RiskModel.objects.update(is_active=False)
        RiskModel.objects.create(
            version=(latest or 0) + 1, kind="logistic", parameters=LOGISTIC, is_active=True
        )
    rng = np.random.default_rng(seed)
    cohorts: list[Any] = [
        CohortFactory(starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 20)),
        CohortFactory(starts_on=date(2026, 9, 1), ends_on=None),
    ]
    kinds = EventKind.values
    events: list[ActivityEvent] = []
    for cohort in cohorts:
        for _ in range(per_cohort):
            learner = LearnerFactory(
                cohort=cohort, enrolled_at=NOW - timedelta(days=int(rng.integers(3, 60)))
            )
            for _ in range(int(rng.integers(0, 40))):
                kind = kinds[int(rng.integers(len(kinds)))]
                scored = kind in ASSESSMENT_KINDS and rng.random() < 0.8
                events.append(
                    ActivityEvent(
                        learner=learner,
                        kind=kind,
                        occurred_at=NOW - timedelta(hours=float(rng.uniform(-30, 24 * 50))),
                        duration_seconds=int(rng.integers(0, 900)),
                        score=round(float(rng.uniform(0, 1)), 3) if scored else None,
                        source="lms",
                        source_event_id=f"w{seed}-{len(events)}",
                    )
                )
    ActivityEvent.objects.bulk_create(events)
    learners_rescore(as_of=NOW)
    LearnerFactory(cohort=cohorts[0], enrolled_at=NOW + timedelta(days=1))
    return cohorts


@pytest.mark.django_db
@pytest.mark.parametrize("logistic", [False, True])
def test_live_columns_give_the_stored_features_and_scores(logistic: bool) -> None:
    build_world(logistic=logistic)
    data = live_raw_columns(cohort_ids=None)
    assert len(data.live) == 16 and data.unscored == 1 and data.idle is None
    stored = {
        row["learner_id"]: row["features"]["values"]
        for row in RiskAssessment.objects.values("learner_id", "features")
    }
    matrix = data.live.matrix()
    for row, learner_id in enumerate(data.live.learner_ids):
        assert matrix[row].tolist() == [stored[learner_id][name] for name in FEATURE_NAMES]
    model = RiskModel.objects.get(is_active=True)
    scores, bands = score_matrix(matrix, kind=model.kind, parameters=model.parameters)
    assert scores.tolist() == data.scores.tolist()
    assert bands == data.bands
    assert not data.scores.flags.writeable and not data.live.facts.events_7.flags.writeable


@pytest.mark.django_db
def test_columns_matrix_is_model_input_rows_to_the_last_bit() -> None:
    build_world(per_cohort=12, seed=4)
    raws = raw_features(learners=Learner.objects.all(), when=NOW)
    norms = cohort_norms(raws.values(), course_lessons({r.cohort_id for r in raws.values()}, NOW))
    ids = sorted(raws)
    rows = model_input_rows([raws[learner_id] for learner_id in ids], norms, ids)
    columns = raw_columns_of(raws, norms, ids)
    assert np.array_equal(columns.matrix(), rows.matrix)
    fast = columns.matrix(exact=False)
    assert np.allclose(fast, rows.matrix, rtol=0, atol=1e-12)


@pytest.mark.django_db
def test_idle_days_are_the_facts_later_without_the_events_after_the_live_time() -> None:
    build_world(seed=2)
    data = live_raw_columns(cohort_ids=None, idle_days=14)
    assert data.idle is not None
    ActivityEvent.objects.filter(occurred_at__gte=NOW).delete()
    later = raw_features(learners=Learner.objects.all(), when=NOW + timedelta(days=14))
    expected = raw_columns_of(later, data.live.norms, data.live.learner_ids)
    for name in RawFacts._fields:
        got, want = getattr(data.idle.facts, name), getattr(expected.facts, name)
        if name in ("cohort_id", "as_of"):
            assert got == want
        elif name == "assessment_mean_30":  # PostgreSQL may add the scores in another order
            assert np.allclose(got, want, rtol=0, atol=1e-12, equal_nan=True)
        else:
            assert np.array_equal(got, want, equal_nan=True), name
    assert np.array_equal(data.idle.facts.tenure_days, data.live.facts.tenure_days + 14)


def query_counts(read: Callable[[], Any], sizes: Sequence[int] = (3, 12)) -> list[int]:
    """How many queries ``read`` makes over worlds of each size (built one after the other)."""
    counts = []
    for seed, per_cohort in enumerate(sizes):
        build_world(per_cohort=per_cohort, seed=10 + seed)
        with CaptureQueriesContext(connection) as queries:
            read()
        counts.append(len(queries))
    return counts


@pytest.mark.django_db
@pytest.mark.parametrize("idle_days", [0, 5])
def test_live_columns_read_in_a_fixed_number_of_queries(idle_days: int) -> None:
    first, second = query_counts(lambda: live_raw_columns(cohort_ids=None, idle_days=idle_days))
    assert first == second
    cohort = Cohort.objects.order_by("id").last()
    assert cohort is not None
    data = live_raw_columns(cohort_ids=[cohort.pk], idle_days=idle_days)
    assert set(data.live.facts.cohort_id) == {cohort.pk}
    assert (
        len(data.live)
        == Learner.objects.filter(cohort=cohort, risk_scored_at__isnull=False).count()
    )


@pytest.mark.django_db
def test_days_without_activity_cost_no_query_more() -> None:
    """Both sets of facts come from one pass over the events."""
    build_world(per_cohort=4, seed=7)
    counts = []
    for idle_days in (0, 9):
        with CaptureQueriesContext(connection) as queries:
            live_raw_columns(cohort_ids=None, idle_days=idle_days)
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_projection_start_reads_in_a_fixed_number_of_queries() -> None:
    first, second = query_counts(lambda: projection_start(cohort_ids=None, as_of=NOW))
    assert first == second


@pytest.mark.django_db
def test_projection_start_counts_the_recent_activity() -> None:
    cohorts = build_world(per_cohort=6, seed=3)
    start = projection_start(cohort_ids=None, as_of=NOW)
    assert len(start.columns) == 12  # the learner enrolled later is not there yet
    recent = ActivityEvent.objects.filter(
        occurred_at__gte=NOW - timedelta(days=28), occurred_at__lt=NOW
    )
    for row, learner_id in enumerate(start.columns.learner_ids):
        mine = recent.filter(learner_id=learner_id)
        for kind in EventKind.values:
            assert start.recent.counts[kind][row] == mine.filter(kind=kind).count()
        on_task = mine.exclude(kind=EventKind.OTHER)
        assert start.recent.seconds[row] == sum(e.duration_seconds for e in on_task)
        scored = [e.score for e in mine.filter(kind__in=ASSESSMENT_KINDS, score__isnull=False)]
        assert start.recent.scored_assessments[row] == len(scored)
        assert math.isclose(start.recent.score_sum[row], sum(scored), abs_tol=1e-9)
    rates = dict(
        zip(start.columns.facts.cohort_id, start.recent.progress_per_day.tolist(), strict=True)
    )
    assert rates[cohorts[0].pk] == 1 / 111 and rates[cohorts[1].pk] == 1 / 84


def test_approximate_scores_are_the_models_within_ulps() -> None:
    rng = np.random.default_rng(9)
    matrix = rng.uniform(-3, 8, size=(2000, len(FEATURE_NAMES)))
    exact, _ = score_matrix(matrix, kind="logistic", parameters=LOGISTIC)
    assert np.allclose(
        approximate_scores(matrix, kind="logistic", parameters=LOGISTIC), exact, rtol=0, atol=1e-12
    )


@pytest.mark.django_db
def test_learners_scored_at_different_times_are_read_each_as_of_their_own() -> None:
    build_world(seed=5)
    earlier = Learner.objects.filter(risk_scored_at=NOW).order_by("id").first()
    assert earlier is not None
    Learner.objects.filter(pk=earlier.pk).update(risk_scored_at=NOW - timedelta(days=3))
    data = live_raw_columns(cohort_ids=None, idle_days=2)
    row = data.live.learner_ids.index(earlier.pk)
    assert data.live.facts.as_of[row] == NOW - timedelta(days=3)
    own = raw_features(learners=Learner.objects.filter(pk=earlier.pk), when=NOW - timedelta(days=3))
    assert data.live.facts.events_7[row] == own[earlier.pk].events_7
    assert data.live.facts.days_inactive[row] == own[earlier.pk].days_inactive
    assert data.idle is not None
    assert data.idle.facts.as_of[row] == NOW - timedelta(days=1)
    assert {data.live.facts.as_of[other] for other in range(len(data.live)) if other != row} == {
        NOW
    }
