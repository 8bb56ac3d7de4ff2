"""learners.contracts: what other apps read of learners, as plain frozen data, set-based."""

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from engagement.models import Role
from learners import contracts
from learners.assignments import cohort_assignments_set
from learners.models import LearnerStatus, RiskFeedback, RiskFeedbackKind
from learners.risk.features import FEATURE_NAMES, features_for
from learners.risk.model import RULES_PARAMETERS, score
from learners.risk.services import learners_rescore
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rules_model")]
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
PLAIN = (str, int, float, bool, uuid.UUID, date, type(None), tuple)


def _queries(call: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def _learners(count: int, **fields: Any) -> list[Any]:
    cohort = CohortFactory()
    learners = [LearnerFactory(cohort=cohort, **fields) for _ in range(count)]
    for index, learner in enumerate(learners):
        for day in range(index):
            ActivityEventFactory(
                learner=learner, occurred_at=datetime(2026, 10, 1 + day, 12, tzinfo=UTC)
            )
    return learners


def _assert_plain(value: Any) -> None:
    """No model instance, queryset or mutable container inside a contract value."""
    if dataclasses.is_dataclass(value):
        assert type(value).__dataclass_params__.frozen
        for field in dataclasses.fields(value):
            _assert_plain(getattr(value, field.name))
    elif isinstance(value, tuple):
        for item in value:
            _assert_plain(item)
    else:
        assert isinstance(value, PLAIN), type(value)


# For nudges ------------------------------------------------------------------------------------


def test_a_snapshot_carries_what_a_nudge_needs_and_matches_the_risk_view(
    auth_client: APIClient,
) -> None:
    cohort = CohortFactory(name="Spring 2026", course_code="PY101")
    learner = LearnerFactory(
        cohort=cohort, name="Ada King Lovelace", locale="fr", timezone="Europe/Paris"
    )
    ActivityEventFactory(learner=learner, occurred_at=datetime(2026, 10, 1, tzinfo=UTC))
    learners_rescore()
    learner.refresh_from_db()

    snapshot = contracts.learner_risk_snapshot(learner.pk)

    assert snapshot is not None
    _assert_plain(snapshot)
    shown = auth_client.get(f"/api/v1/learners/{learner.pk}/risk/").json()
    assert (snapshot.first_name, snapshot.cohort_name, snapshot.course_code) == (
        "Ada",
        "Spring 2026",
        "PY101",
    )
    assert (snapshot.locale, snapshot.timezone) == ("fr", "Europe/Paris")
    assert (snapshot.studying, snapshot.nudge_opt_out) == (True, False)
    assert snapshot.score == learner.risk_score
    assert snapshot.band == learner.risk_band == shown["band"]
    assert snapshot.scored_at == learner.risk_scored_at
    assert snapshot.progress == learner.progress
    assert snapshot.days_inactive > 30
    assert snapshot.model_version == shown["model_version"]
    pushing_up = [factor for factor in shown["factors"] if factor["contribution"] > 0]
    assert [(f.name, f.value, f.contribution, f.explanation) for f in snapshot.top_factors] == [
        (f["factor"], f["value"], f["contribution"], f["explanation"])
        for f in pushing_up[: contracts.TOP_FACTORS]
    ]
    assert snapshot.top_factors
    assert shown["best_lever"] is not None
    assert dataclasses.asdict(snapshot.best_lever) == shown["best_lever"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.score = 0.0


def test_a_snapshot_names_the_learner_by_first_name_only() -> None:
    learner = LearnerFactory(name="Grace Brewster Hopper", email="grace@example.org")
    learners_rescore()
    snapshot = contracts.learner_risk_snapshot(learner.pk)
    assert snapshot is not None
    text = repr(snapshot)
    assert "Grace" in text
    assert "Hopper" not in text
    assert "grace@example.org" not in text
    assert str(learner.external_id) not in text


def test_no_snapshot_for_an_unscored_or_unknown_learner() -> None:
    learner = LearnerFactory(name="")
    assert contracts.learner_risk_snapshot(learner.pk) is None
    assert contracts.learner_risk_snapshot(uuid.uuid4()) is None
    learners_rescore()
    snapshot = contracts.learner_risk_snapshot(learner.pk)
    assert snapshot is not None
    assert snapshot.first_name == ""


def test_a_finished_or_opted_out_learner_says_so() -> None:
    finished = LearnerFactory(status=LearnerStatus.WITHDRAWN)
    opted_out = LearnerFactory(nudge_opt_out=True)
    learners_rescore()
    snapshots = contracts.learner_risk_snapshots([finished.pk, opted_out.pk])
    assert snapshots[finished.pk].studying is False
    assert snapshots[opted_out.pk].nudge_opt_out is True


def test_snapshots_come_in_the_same_two_queries_for_one_learner_or_many() -> None:
    few, many = _learners(1), _learners(6)
    learners_rescore()
    assert _queries(lambda: contracts.learner_risk_snapshots([few[0].pk])) == 2
    ids = [learner.pk for learner in many]
    assert _queries(lambda: contracts.learner_risk_snapshots(ids)) == 2
    assert set(contracts.learner_risk_snapshots(ids)) == set(ids)


def test_the_snapshot_is_the_current_assessment_not_a_backfill() -> None:
    learner = LearnerFactory()
    ActivityEventFactory(learner=learner, occurred_at=datetime(2026, 10, 1, tzinfo=UTC))
    learners_rescore()
    learners_rescore(as_of=datetime(2026, 10, 2, tzinfo=UTC))
    learner.refresh_from_db()
    snapshot = contracts.learner_risk_snapshot(learner.pk)
    assert snapshot is not None
    assert snapshot.scored_at == learner.risk_scored_at
    assert snapshot.score == learner.risk_score


# For simulation --------------------------------------------------------------------------------


def test_the_feature_matrix_is_the_scoring_features_as_of_any_time() -> None:
    learners = _learners(4)
    ids = [learner.pk for learner in learners]
    matrix = contracts.feature_matrix(learner_ids=ids, as_of=AS_OF)
    expected = features_for(learner_ids=ids, as_of=AS_OF)
    assert matrix.learner_ids == tuple(ids)
    assert matrix.feature_names == FEATURE_NAMES
    assert matrix.values.shape == (4, len(FEATURE_NAMES))
    for row, learner_id in zip(matrix.values, ids, strict=True):
        assert list(row) == [expected[learner_id].values[name] for name in FEATURE_NAMES]
    with pytest.raises(ValueError, match="read-only"):
        matrix.values[0, 0] = 1.0


def test_the_feature_matrix_of_cohorts_holds_those_enrolled_by_then() -> None:
    learners = _learners(3)
    late = LearnerFactory(cohort=learners[0].cohort, enrolled_at=AS_OF + timedelta(days=1))
    LearnerFactory()  # another cohort
    matrix = contracts.feature_matrix(cohort_ids=[learners[0].cohort_id], as_of=AS_OF)
    assert set(matrix.learner_ids) == {learner.pk for learner in learners}
    assert late.pk not in matrix.learner_ids
    with pytest.raises(ValueError, match="learner_ids or cohort_ids"):
        contracts.feature_matrix(as_of=AS_OF)


def test_the_feature_matrix_takes_the_same_queries_for_few_learners_or_many() -> None:
    few, many = _learners(2), _learners(7)
    assert _queries(
        lambda: contracts.feature_matrix(learner_ids=[x.pk for x in few], as_of=AS_OF)
    ) == _queries(lambda: contracts.feature_matrix(learner_ids=[x.pk for x in many], as_of=AS_OF))
    assert _queries(
        lambda: contracts.feature_matrix(cohort_ids=[few[0].cohort_id], as_of=AS_OF)
    ) == _queries(lambda: contracts.feature_matrix(cohort_ids=[many[0].cohort_id], as_of=AS_OF))


def test_scoring_a_matrix_gives_what_live_scoring_gives() -> None:
    learners = _learners(5)
    ids = [learner.pk for learner in learners]
    matrix = contracts.feature_matrix(learner_ids=ids, as_of=AS_OF)
    scores, bands = contracts.score_matrix(matrix.values, kind="rules", parameters=RULES_PARAMETERS)
    features = features_for(learner_ids=ids, as_of=AS_OF)
    live = [
        score(features[learner_id], kind="rules", parameters=RULES_PARAMETERS) for learner_id in ids
    ]
    assert scores.tolist() == [result.score for result in live]
    assert bands == tuple(result.band for result in live)
    outcomes = np.array([0, 1, 0, 1, 1])
    assert contracts.metrics(outcomes, scores, scores >= 0.6, {})["n"] == 5


def test_a_model_spec_is_the_active_model_or_the_version_asked_for() -> None:
    active = contracts.risk_model_spec()
    assert active is not None and active.is_active
    assert contracts.risk_model_spec(version=active.version) == active
    assert set(active.thresholds) == {"medium", "high"}
    assert contracts.risk_model_spec(version=active.version + 100) is None
    with pytest.raises(TypeError):
        active.parameters["intercept"] = 0  # type: ignore[index]


# For analytics ---------------------------------------------------------------------------------


def test_cohort_summaries_count_learners_by_status_and_band(user: Any) -> None:
    cohort, other = CohortFactory(), CohortFactory()
    for band in ("high", "high", "medium", "low", ""):
        LearnerFactory(cohort=cohort, risk_band=band)
    LearnerFactory(cohort=cohort, status=LearnerStatus.COMPLETED, risk_band="high")
    LearnerFactory(cohort=cohort, status=LearnerStatus.WITHDRAWN)
    LearnerFactory(cohort=other, status=LearnerStatus.PAUSED, risk_band="high")

    assert _queries(lambda: contracts.cohort_summaries(actor=user)) == 1
    summaries = {summary.cohort_id: summary for summary in contracts.cohort_summaries(actor=user)}
    _assert_plain(tuple(summaries.values()))
    counted = summaries[cohort.pk]
    assert (counted.name, counted.course_code, counted.timezone) == (
        cohort.name,
        cohort.course_code,
        cohort.timezone,
    )
    assert (counted.learners, counted.studying, counted.completed, counted.withdrawn) == (
        7,
        5,
        1,
        1,
    )
    assert (counted.high_risk, counted.medium_risk, counted.low_risk, counted.unscored) == (
        2,
        1,
        1,
        1,
    )
    assert (summaries[other.pk].studying, summaries[other.pk].high_risk) == (1, 1)


def test_cohort_summaries_keep_to_the_callers_scope() -> None:
    mine, theirs = CohortFactory(), CohortFactory()
    coach = UserFactory(role=Role.COACH)
    cohort_assignments_set(user=coach, cohort_ids=[mine.pk])
    assert [summary.cohort_id for summary in contracts.cohort_summaries(actor=coach)] == [mine.pk]
    assert theirs.pk not in {s.cohort_id for s in contracts.cohort_summaries(actor=coach)}


def test_caseloads_count_each_coachs_learners_high_risk_and_unattended(user: Any) -> None:
    now = timezone.now()
    first, second, unassigned = CohortFactory(), CohortFactory(), CohortFactory()
    ada, grace = UserFactory(role=Role.COACH), UserFactory(role=Role.COACH)
    gone = UserFactory(role=Role.COACH, is_active=False)
    cohort_assignments_set(user=ada, cohort_ids=[first.pk, second.pk])
    cohort_assignments_set(user=grace, cohort_ids=[second.pk])
    cohort_assignments_set(user=gone, cohort_ids=[first.pk])
    marked_recently = LearnerFactory(cohort=first, risk_band="high", risk_score=0.9)
    marked_long_ago = LearnerFactory(cohort=second, risk_band="high", risk_score=0.9)
    LearnerFactory(cohort=second, risk_band="high", risk_score=0.9)
    LearnerFactory(cohort=first, risk_band="low")
    LearnerFactory(cohort=first, risk_band="high", status=LearnerStatus.COMPLETED)
    LearnerFactory(cohort=unassigned, risk_band="high")
    for learner, days_ago in ((marked_recently, 1), (marked_long_ago, 30)):
        mark = RiskFeedback.objects.create(
            learner=learner, kind=RiskFeedbackKind.ACKNOWLEDGED, score_at_feedback=0.9
        )
        RiskFeedback.objects.filter(pk=mark.pk).update(created_at=now - timedelta(days=days_ago))

    loads = {load.coach_id: load for load in contracts.caseloads(actor=user, now=now)}

    assert set(loads) == {ada.pk, grace.pk}
    _assert_plain(tuple(loads.values()))
    assert dataclasses.astuple(loads[ada.pk])[1:] == (2, 4, 3, 2)
    assert dataclasses.astuple(loads[grace.pk])[1:] == (1, 2, 2, 2)


def test_caseloads_take_two_queries_however_many_coaches(user: Any) -> None:
    for coaches in (2, 6):
        while len(contracts.caseloads(actor=user)) < coaches:
            coach, cohort = UserFactory(role=Role.COACH), CohortFactory()
            cohort_assignments_set(user=coach, cohort_ids=[cohort.pk])
            LearnerFactory(cohort=cohort, risk_band="high")
        assert _queries(lambda: contracts.caseloads(actor=user)) == 2
