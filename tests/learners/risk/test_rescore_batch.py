"""The batch rescore (NumPy per chunk, writes overlapped) stores exactly what the per-learner
functions give, on SQLite and PostgreSQL, and a failed chunk leaves nothing of itself."""

import json
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from learners.models import Learner, RiskAlert, RiskAssessment, RiskModel
from learners.risk import services
from learners.risk.features import features_for
from learners.risk.model import score
from learners.risk.services import learners_rescore
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory
from tests.learners.risk.test_vectorised import MODELS

pytestmark = pytest.mark.django_db


def _population(size: int, seed: int) -> list[Any]:
    """Learners of two cohorts with varied activity: some idle, some busy, some new."""
    rng = np.random.default_rng(seed)
    now = timezone.now()
    learners = []
    for cohort in (CohortFactory(), CohortFactory()):
        for index in range(size):
            learner = LearnerFactory(
                cohort=cohort, enrolled_at=now - timedelta(days=float(rng.uniform(2, 80)))
            )
            kinds = ["login", "content_view", "lesson_completed", "assessment_submitted"]
            for _ in range(int(rng.integers(0, 6)) if index % 5 else 0):
                kind = kinds[int(rng.integers(0, len(kinds)))]
                ActivityEventFactory(
                    learner=learner,
                    kind=kind,
                    occurred_at=now - timedelta(hours=float(rng.uniform(1, 900))),
                    score=float(rng.uniform(0, 1)) if kind == "assessment_submitted" else None,
                    duration_seconds=int(rng.integers(0, 3600)),
                )
            learners.append(learner)
    return learners


@pytest.mark.parametrize("name", MODELS)
def test_the_batch_stores_what_each_learners_own_scoring_gives(name: str) -> None:
    RiskModel.objects.update(is_active=False)
    kind = name.split()[0]
    model = RiskModel.objects.create(version=9, kind=kind, parameters=MODELS[name], is_active=True)
    model.refresh_from_db()  # as scoring reads it (PostgreSQL's jsonb orders the keys its way)
    parameters = model.parameters
    learners = _population(12, seed=len(name))
    as_of = timezone.now()
    summary = learners_rescore(as_of=as_of, chunk_size=5)
    assert summary.learners == 24 and summary.assessments_created == 24
    by_cohort: dict[Any, list[Any]] = {}
    for learner in learners:
        by_cohort.setdefault(learner.cohort_id, []).append(learner.pk)
    expected = {}
    for ids in by_cohort.values():  # the norms of a whole-cohort run: the cohort's learners
        expected.update(features_for(learner_ids=ids, as_of=as_of))
    stored = {a.learner_id: a for a in RiskAssessment.objects.all()}
    for learner_id, features in expected.items():
        result = score(features, kind=kind, parameters=parameters)
        assessment = stored[learner_id]
        assert assessment.score == result.score and assessment.band == result.band
        assert assessment.factors == [factor.as_dict() for factor in result.factors]
        assert assessment.features == json.loads(
            json.dumps(
                {
                    "values": dict(features.values),
                    "raw": dict(features.raw),
                    "little_data": features.little_data,
                }
            )
        )
        current = Learner.objects.get(pk=learner_id)
        assert (current.risk_score, current.risk_band) == (result.score, result.band)
        assert current.progress == features.raw["actual_progress"]
    high = {lid for lid, a in stored.items() if a.band == "high"}
    assert set(RiskAlert.objects.values_list("learner_id", flat=True)) == high
    assert summary.entered_high == len(high)


def test_query_count_does_not_grow_with_the_learners() -> None:
    def run(size: int, seed: int) -> int:
        _population(size, seed)
        Learner.objects.update(risk_band="")
        with CaptureQueriesContext(connection) as queries:
            learners_rescore(as_of=timezone.now())
        RiskAssessment.objects.all().delete()
        return len(queries)

    assert run(3, 1) == run(25, 2)


def test_a_chunk_that_fails_to_write_leaves_nothing_of_itself(monkeypatch: Any) -> None:
    learners = _population(5, seed=3)
    update = services._update_current_risk
    calls = []

    def failing_second(rows: Any, **kwargs: Any) -> None:
        calls.append(len(rows))
        update(rows, **kwargs)
        if len(calls) == 2:
            raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "_update_current_risk", failing_second)
    with pytest.raises(RuntimeError, match="went away"):
        learners_rescore(as_of=timezone.now(), chunk_size=4)
    assert len(calls) == 2  # no chunk is written after the failed one
    ids = sorted(learner.pk for learner in learners)
    assert set(RiskAssessment.objects.values_list("learner_id", flat=True)) == set(ids[:4])
    assert set(
        Learner.objects.filter(risk_score__isnull=False).values_list("id", flat=True)
    ) == set(ids[:4])
    # A later run completes the rest, and adds nothing twice.
    monkeypatch.setattr(services, "_update_current_risk", update)
    assert learners_rescore(as_of=timezone.now()).learners == 10


def test_a_chunk_that_fails_to_score_waits_for_the_write_under_way(monkeypatch: Any) -> None:
    _population(5, seed=4)
    scored = services._scored
    calls = []

    def failing_second(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("bad parameters")
        return scored(*args)

    monkeypatch.setattr(services, "_scored", failing_second)
    with pytest.raises(ValueError, match="bad parameters"):
        learners_rescore(as_of=timezone.now(), chunk_size=4)
    assert RiskAssessment.objects.count() == 4  # the first chunk, whole
    assert Learner.objects.filter(risk_score__isnull=False).count() == 4
