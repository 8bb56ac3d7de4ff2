"""Engagement since enrolment: known values on a hand-built history, point in time on both
databases, finished learners' anchor."""

import math
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache

from learners.models import EventKind, LearnerStatus, RiskAssessment
from learners.risk.features import (
    AT_FINISH,
    FEATURE_NAMES,
    features_for,
    raw_features,
)
from learners.risk.services import learners_rescore
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory

pytestmark = pytest.mark.django_db
AS_OF = datetime(2026, 10, 31, 12, tzinfo=UTC)
ENROLLED = AS_OF - timedelta(days=28)
# The names other code relies on, in the agreed order after the first nine.
SINCE_ENROLMENT = (
    "events_log",
    "events_vs_peers",
    "active_days_log",
    "active_days_vs_peers",
    "active_share",
    "first_week_events_log",
    "activity_span_share",
    "logins_log",
    "content_log",
    "videos_log",
    "lessons_log",
    "assessments_log",
    "forum_log",
)

# Days before AS_OF (the learner enrolled 28 days before), and the kind.
HISTORY = (
    (30.0, EventKind.CONTENT_VIEW),  # before enrolment (imported, say): left out
    (27.5, EventKind.LOGIN),  # the 24-hour period 27 back from AS_OF; the first week
    (27.2, EventKind.CONTENT_VIEW),  # the same period
    (25.0, EventKind.VIDEO_WATCHED),  # period 25, still the first week
    (21.5, EventKind.LESSON_COMPLETED),  # period 21, day 6.5: the first week's last
    (20.5, EventKind.ASSESSMENT_STARTED),  # period 20, day 7.5
    (14.3, EventKind.ASSESSMENT_PASSED),  # period 14
    (10.5, EventKind.FORUM_POST),  # period 10
    (3.2, EventKind.OTHER),  # period 3: presence, counted in the totals
    (3.1, EventKind.LOGIN),  # period 3 again
)


def event(learner: Any, days_before: float, kind: str = EventKind.CONTENT_VIEW) -> None:
    score = 0.8 if kind == EventKind.ASSESSMENT_PASSED else None
    ActivityEventFactory(
        learner=learner, occurred_at=AS_OF - timedelta(days=days_before), kind=kind, score=score
    )


def learner_with_history(cohort: Any, **extra: Any) -> Any:
    learner = LearnerFactory(cohort=cohort, enrolled_at=ENROLLED, **extra)
    for days_before, kind in HISTORY:
        event(learner, days_before, kind)
    return learner


def peer(cohort: Any, days_before: tuple[float, ...]) -> Any:
    learner = LearnerFactory(cohort=cohort, enrolled_at=ENROLLED)
    for day in days_before:
        event(learner, day)
    return learner


@pytest.fixture
def cohort() -> Any:
    return CohortFactory(starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 10))


def test_the_features_since_enrolment_follow_the_first_nine_in_the_agreed_order() -> None:
    """Other code (rules weights, simulation, exports) names them: the order is a contract."""
    assert FEATURE_NAMES[9:] == SINCE_ENROLMENT


def test_known_values_on_a_hand_built_history(cohort: Any) -> None:
    learner = learner_with_history(cohort)
    peers = [peer(cohort, (20.5, 12.5, 2.5)), peer(cohort, (5.5,))]
    features = features_for(learner_ids=[learner.id, *(p.id for p in peers)], as_of=AS_OF)
    values, raw = features[learner.id].values, features[learner.id].raw

    assert raw["events_total"] == 9
    assert values["events_log"] == math.log1p(9)
    assert raw["typical_events_total"] == 3  # the median of 9, 3 and 1
    assert values["events_vs_peers"] == pytest.approx(math.log1p(9) - math.log1p(3))
    assert raw["active_days_total"] == 7  # periods 27, 25, 21, 20, 14, 10, 3
    assert values["active_days_log"] == math.log1p(7)
    assert raw["typical_active_days_total"] == 3
    assert values["active_days_vs_peers"] == pytest.approx(math.log1p(7) - math.log1p(3))
    assert raw["elapsed_days"] == 28
    assert values["active_share"] == pytest.approx(7 / 28)
    assert raw["first_week_events"] == 4
    assert values["first_week_events_log"] == math.log1p(4)
    assert raw["activity_span_days"] == 24.4
    assert values["activity_span_share"] == pytest.approx(24.4 / 28)
    assert raw["days_since_last_event"] == 3.1
    totals = {"logins": 2, "content": 1, "videos": 1, "lessons": 1, "assessments": 2, "forum": 1}
    for kind, total in totals.items():
        assert raw[f"{kind}_total"] == total
        assert values[f"{kind}_log"] == math.log1p(total)
    assert features[peers[0].id].values["events_vs_peers"] == 0.0


def test_without_events_the_features_are_zero_and_the_last_event_unknown(cohort: Any) -> None:
    learner = LearnerFactory(cohort=cohort, enrolled_at=AS_OF - timedelta(hours=12))
    features = features_for(learner_ids=[learner.id], as_of=AS_OF)[learner.id]
    assert {name: features.values[name] for name in SINCE_ENROLMENT} == dict.fromkeys(
        SINCE_ENROLMENT, 0.0
    )
    assert features.raw["days_since_last_event"] is None
    assert features.raw["elapsed_days"] == 0.5


def test_shares_stay_within_one_and_a_single_event_spans_nothing(cohort: Any) -> None:
    # Half a day in, active in one period: the elapsed days count as at least 1.
    fresh = LearnerFactory(cohort=cohort, enrolled_at=AS_OF - timedelta(hours=12))
    event(fresh, 0.2)
    # Enrolled 1.5 days ago, active in both periods it touches: 2 active days over 1.5 elapsed.
    busy = LearnerFactory(cohort=cohort, enrolled_at=AS_OF - timedelta(hours=36))
    event(busy, 1.4)
    event(busy, 0.1)
    features = features_for(learner_ids=[fresh.id, busy.id], as_of=AS_OF)
    assert features[fresh.id].values["active_share"] == 1.0
    assert features[fresh.id].values["activity_span_share"] == 0.0
    assert features[busy.id].raw["active_days_total"] == 2
    assert features[busy.id].values["active_share"] == 1.0
    assert features[busy.id].values["activity_span_share"] == pytest.approx(1.3 / 1.5)


def test_an_event_right_at_enrolment_is_a_day_of_its_own(cohort: Any) -> None:
    learner = LearnerFactory(cohort=cohort, enrolled_at=AS_OF - timedelta(days=3))
    for days_before in (3.0, 2.5, 0.5):  # periods 3 (the enrolment's own), 2 and 0
        event(learner, days_before)
    features = features_for(learner_ids=[learner.id], as_of=AS_OF)[learner.id]
    assert features.raw["active_days_total"] == 3
    assert features.values["active_share"] == 1.0


def _later_activity(learners: list[Any], after: datetime) -> None:
    """Events of every kind at and after ``after`` (an event exactly at it is not before it)."""
    for learner in learners:
        for offset, kind in enumerate(EventKind.values):
            ActivityEventFactory(
                learner=learner, occurred_at=after + timedelta(hours=offset * 5), kind=kind
            )


def _since_enrolment(features: Any) -> dict[str, Any]:
    return {lid: {name: f.values[name] for name in SINCE_ENROLMENT} for lid, f in features.items()}


def _point_in_time(cohort: Any) -> None:
    learner = learner_with_history(cohort)
    other = peer(cohort, (26.0, 12.5, 2.5))
    ids = [learner.id, other.id]
    at_as_of = features_for(learner_ids=ids, as_of=AS_OF)
    at_cutoff = features_for(learner_ids=ids, cutoff_days=10)  # 18 days before AS_OF
    assert at_cutoff[learner.id].raw["events_total"] == 5
    _later_activity([learner, other], AS_OF)
    again = features_for(learner_ids=ids, as_of=AS_OF)
    assert _since_enrolment(again) == _since_enrolment(at_as_of)
    assert again[learner.id].raw == at_as_of[learner.id].raw
    _later_activity([learner, other], ENROLLED + timedelta(days=10))
    at_cutoff_again = features_for(learner_ids=ids, cutoff_days=10)
    assert _since_enrolment(at_cutoff_again) == _since_enrolment(at_cutoff)
    assert at_cutoff_again[learner.id].raw == at_cutoff[learner.id].raw


def test_events_after_as_of_change_no_feature_since_enrolment(cohort: Any) -> None:
    _point_in_time(cohort)


@pytest.mark.postgres
def test_events_after_as_of_change_no_feature_since_enrolment_on_postgresql(cohort: Any) -> None:
    _point_in_time(cohort)


def _finished_anchor(cohort: Any) -> None:
    finished_at = AS_OF - timedelta(days=8)  # after the event 10.5 days before AS_OF
    learner = learner_with_history(cohort, status=LearnerStatus.WITHDRAWN, finished_at=finished_at)
    learners = type(learner).objects.filter(pk=learner.pk)
    before = raw_features(learners=learners, when=AT_FINISH)[learner.pk]
    _later_activity([learner], finished_at)
    assert raw_features(learners=learners, when=AT_FINISH)[learner.pk] == before
    learners_rescore(as_of=AS_OF)
    final = RiskAssessment.objects.get(learner=learner)
    assert final.as_of == finished_at
    values, raw = final.features["values"], final.features["raw"]
    assert raw["events_total"] == 7  # up to the forum post, 10.5 days before AS_OF
    assert raw["active_days_total"] == 6
    assert raw["elapsed_days"] == 20
    assert values["active_share"] == pytest.approx(6 / 20)
    assert values["activity_span_share"] == pytest.approx(17 / 20)
    assert raw["days_since_last_event"] == 2.5
    assert values["events_vs_peers"] == 0.0  # the only finished learner of the cohort


def test_finished_learners_are_measured_up_to_when_they_finished(cohort: Any) -> None:
    _finished_anchor(cohort)


@pytest.mark.postgres
def test_finished_learners_are_measured_up_to_when_they_finished_on_postgresql(
    cohort: Any,
) -> None:
    _finished_anchor(cohort)


@dataclass(frozen=True)
class NormsOfTheLastRelease:
    """``CohortNorms`` as the previous release cached them: without the medians since enrolment."""

    median_days_inactive: float
    median_active_days_14: float
    mean_assessment: float | None
    course_lessons: int


def test_norms_cached_in_the_previous_shape_are_not_read_back(cohort: Any) -> None:
    learner = learner_with_history(cohort)
    peer(cohort, (20.5, 12.5, 2.5))
    old_key = f"risk:norms:v3:studying:{cohort.pk}:{AS_OF.date().isoformat()}"
    cache.set(old_key, NormsOfTheLastRelease(2.0, 3.0, 0.7, 4))
    learners_rescore(learner_ids=[learner.pk], as_of=AS_OF)  # a partial run reads cached norms
    values = RiskAssessment.objects.get(learner=learner).features["values"]
    assert values["events_vs_peers"] == pytest.approx(
        math.log1p(9) - statistics.median([math.log1p(9), math.log1p(3)])
    )
