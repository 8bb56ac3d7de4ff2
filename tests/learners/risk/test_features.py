"""Features on hand-built histories, including point-in-time correctness."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from learners.models import EventKind
from learners.risk.features import features_for
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory

pytestmark = pytest.mark.django_db
AS_OF = datetime(2026, 10, 31, 12, tzinfo=UTC)


def at(days_before: float) -> datetime:
    return AS_OF - timedelta(days=days_before)


def event(
    learner: Any, days_before: float, kind: str = EventKind.CONTENT_VIEW, **extra: Any
) -> None:
    ActivityEventFactory(learner=learner, occurred_at=at(days_before), kind=kind, **extra)


@pytest.fixture
def cohort() -> Any:
    return CohortFactory(starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 10))


def test_inactivity_activity_and_trend(cohort: Any) -> None:
    learner = LearnerFactory(cohort=cohort, enrolled_at=datetime(2026, 9, 1, tzinfo=UTC))
    for day in (20, 18, 16, 12, 10):
        event(learner, day, duration_seconds=600)
    event(learner, 5, duration_seconds=60)
    features = features_for(learner_ids=[learner.id], as_of=AS_OF)[learner.id]
    assert features.raw["days_inactive"] == 5.0
    assert features.raw["active_days_14"] == 3
    assert features.raw["events_7"] == 1 and features.raw["events_prev_21"] == 5
    assert features.values["activity_trend"] < 0
    assert features.values["time_trend"] < 0
    assert not features.little_data


def test_other_activity_counts_as_presence_but_not_as_time_or_any_specific_kind(
    cohort: Any,
) -> None:
    learner = LearnerFactory(cohort=cohort, enrolled_at=datetime(2026, 9, 1, tzinfo=UTC))
    for day in (20, 10, 2):
        event(learner, day, kind=EventKind.OTHER, duration_seconds=3600, score=0.9)
    features = features_for(learner_ids=[learner.id], as_of=AS_OF)[learner.id]
    assert features.raw["days_inactive"] == 2.0
    assert features.raw["active_days_14"] == 2
    assert (features.raw["events_7"], features.raw["events_prev_21"]) == (1, 2)
    assert not features.little_data
    assert (features.raw["hours_7"], features.raw["hours_prev_21"]) == (0, 0)
    assert features.raw["assessment_count_30"] == 0
    assert features.raw["forum_posts_30"] == 0
    assert features.raw["actual_progress"] == 0


def test_events_after_as_of_never_count(cohort: Any) -> None:
    learner = LearnerFactory(cohort=cohort, enrolled_at=datetime(2026, 9, 1, tzinfo=UTC))
    event(learner, 9)
    before = features_for(learner_ids=[learner.id], as_of=AS_OF)[learner.id]
    event(learner, -1, kind=EventKind.ASSESSMENT_SUBMITTED, score=0.1)
    event(learner, -0.01, kind=EventKind.LESSON_COMPLETED)
    after = features_for(learner_ids=[learner.id], as_of=AS_OF)[learner.id]
    assert after.values == before.values
    assert after.raw == before.raw


def test_assessments_forum_and_progress_gap(cohort: Any) -> None:
    learner = LearnerFactory(cohort=cohort, enrolled_at=datetime(2026, 9, 1, tzinfo=UTC))
    peer = LearnerFactory(cohort=cohort, enrolled_at=datetime(2026, 9, 1, tzinfo=UTC))
    event(learner, 3, kind=EventKind.ASSESSMENT_SUBMITTED, score=0.4)
    event(learner, 40, kind=EventKind.ASSESSMENT_SUBMITTED, score=1.0)
    event(learner, 2, kind=EventKind.FORUM_POST)
    event(learner, 2, kind=EventKind.LESSON_COMPLETED)
    for day in range(4):
        event(peer, 10 + day, kind=EventKind.LESSON_COMPLETED)
    features = features_for(learner_ids=[learner.id, peer.id], as_of=AS_OF)
    mine = features[learner.id]
    assert mine.raw["assessment_mean_30"] == 0.4 and mine.raw["assessment_count_30"] == 1
    assert mine.raw["forum_posts_30"] == 1
    assert mine.raw["actual_progress"] == 0.25
    expected = (AS_OF.date() - date(2026, 9, 1)).days / 101
    assert mine.raw["expected_progress"] == round(expected, 3)
    assert features[peer.id].values["progress_gap"] < mine.values["progress_gap"]


def test_self_paced_learners_are_measured_from_their_enrolment() -> None:
    self_paced = CohortFactory(starts_on=date(2026, 1, 1), ends_on=None)
    learner = LearnerFactory(cohort=self_paced, enrolled_at=AS_OF - timedelta(days=42))
    event(learner, 1)
    features = features_for(learner_ids=[learner.id], as_of=AS_OF)[learner.id]
    assert features.raw["expected_progress"] == 0.5


def test_brand_new_learners_are_flagged_as_little_data(cohort: Any) -> None:
    learner = LearnerFactory(cohort=cohort, enrolled_at=AS_OF - timedelta(days=2))
    features = features_for(learner_ids=[learner.id], as_of=AS_OF)[learner.id]
    assert features.little_data
    assert features.values["new_learner"] == 1.0
    assert features.raw["days_inactive"] == 2.0


def test_few_events_after_weeks_are_not_held_back_as_new(cohort: Any) -> None:
    """The learner barely there from the start is the one most at risk: no tentative discount."""
    idle = LearnerFactory(cohort=cohort, enrolled_at=AS_OF - timedelta(days=95))
    almost_a_week = LearnerFactory(cohort=cohort, enrolled_at=AS_OF - timedelta(days=6.9))
    features = features_for(learner_ids=[idle.id, almost_a_week.id], as_of=AS_OF)
    assert (features[idle.id].values["new_learner"], features[idle.id].little_data) == (0.0, False)
    assert features[almost_a_week.id].values["new_learner"] == 1.0
    assert features[almost_a_week.id].little_data


def test_cutoff_after_enrolment_is_per_learner(cohort: Any) -> None:
    early = LearnerFactory(cohort=cohort, enrolled_at=datetime(2026, 9, 1, tzinfo=UTC))
    late = LearnerFactory(cohort=cohort, enrolled_at=datetime(2026, 9, 15, tzinfo=UTC))
    ActivityEventFactory(learner=early, occurred_at=datetime(2026, 9, 25, tzinfo=UTC))
    ActivityEventFactory(learner=late, occurred_at=datetime(2026, 9, 25, tzinfo=UTC))
    features = features_for(learner_ids=[early.id, late.id], cutoff_days=14)
    assert features[early.id].as_of == datetime(2026, 9, 15, tzinfo=UTC)
    assert features[early.id].raw["events_7"] == 0
    assert features[late.id].raw["events_7"] == 1


def test_peer_norms_shape_the_ratio(cohort: Any) -> None:
    busy = [LearnerFactory(cohort=cohort) for _ in range(3)]
    for learner in busy:
        for day in range(1, 9):
            event(learner, day)
    quiet = LearnerFactory(cohort=cohort)
    event(quiet, 2)
    features = features_for(learner_ids=[*(b.id for b in busy), quiet.id], as_of=AS_OF)
    assert features[quiet.id].raw["typical_active_days_14"] == 8
    assert features[quiet.id].values["active_days_ratio"] == pytest.approx(1 / 8)


@pytest.mark.parametrize(
    ("days_before", "active_days"),
    [
        ((0.1, 0.9), 1),  # two events in the last 24 hours: one day
        ((0.9, 1.1), 2),  # either side of 24 hours ago: two days
        ((13.9,), 1),  # the fourteenth period still counts
        ((14.0, 20.0), 0),  # exactly 14 days ago and older: outside the window
        ((0.5, 1.5, 2.5, 3.5, 12.5, 13.5), 6),
    ],
)
def test_active_days_are_24_hour_periods_back_from_as_of(
    cohort: Any, days_before: tuple[float, ...], active_days: int
) -> None:
    learner = LearnerFactory(cohort=cohort, enrolled_at=datetime(2026, 9, 1, tzinfo=UTC))
    for day in days_before:
        event(learner, day)
    features = features_for(learner_ids=[learner.id], as_of=AS_OF)[learner.id]
    assert features.raw["active_days_14"] == active_days


def test_cutoff_anchored_active_days_count_back_from_each_learners_cutoff(cohort: Any) -> None:
    learner = LearnerFactory(cohort=cohort, enrolled_at=datetime(2026, 9, 1, tzinfo=UTC))
    for day in (2, 5, 9, 20):  # days after enrolment; the cutoff is day 14
        ActivityEventFactory(learner=learner, occurred_at=datetime(2026, 9, 1 + day, 6, tzinfo=UTC))
    features = features_for(learner_ids=[learner.id], cutoff_days=14)[learner.id]
    assert features.raw["active_days_14"] == 3
