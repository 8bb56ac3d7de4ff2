"""Batch rescoring, staleness, digests and the learner risk API."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from learners.models import Learner, RiskAlert, RiskAssessment, RiskModel, course_closed_at
from learners.risk.explanations import assessment_factors
from learners.risk.feedback import risk_digest_send, risk_feedback_create
from learners.risk.model import sigmoid
from learners.risk.services import learners_rescore, risk_model_activate
from learners.services import events_ingest, learner_update
from tests.factories import (
    ActivityEventFactory,
    CohortAssignmentFactory,
    CohortFactory,
    LearnerFactory,
    UserFactory,
)
from tests.learners.risk.test_model import OLD_LOGISTIC, OLD_NAMES, RULES_V1, old_logit

pytestmark = pytest.mark.django_db


def population(size: int, cohort: Any = None) -> list[Any]:
    cohort = cohort or CohortFactory()
    learners = LearnerFactory.create_batch(
        size, cohort=cohort, enrolled_at=timezone.now() - timedelta(days=40)
    )
    for index, learner in enumerate(learners):
        ActivityEventFactory(
            learner=learner, occurred_at=timezone.now() - timedelta(days=1 + index % 25)
        )
    return learners


def test_rescore_stores_assessments_and_current_risk_idempotently() -> None:
    learners = population(6)
    as_of = timezone.now()
    first = learners_rescore(as_of=as_of)
    assert first.learners == 6 and first.assessments_created == 6
    again = learners_rescore(as_of=as_of)
    assert again.assessments_created == 0
    assert RiskAssessment.objects.count() == 6
    stored = Learner.objects.get(pk=learners[0].pk)
    assert stored.risk_score is not None and stored.risk_band and stored.risk_scored_at == as_of
    assessment = RiskAssessment.objects.get(learner=stored)
    assert assessment.score == stored.risk_score
    assert "explanation" not in assessment.factors[0]
    explained = assessment_factors(assessment)[0]
    assert explained["factor"] == assessment.factors[0]["factor"]
    assert explained["explanation"].startswith(
        {
            "days_inactive": "No activity for",
            "active_days_ratio": "Active on",
            "progress_gap": "Progress",
        }.get(explained["factor"], "")
    )


def test_rescore_queries_do_not_grow_with_learners_per_chunk() -> None:
    def drifting(size: int) -> None:
        cohort = CohortFactory()
        for learner in LearnerFactory.create_batch(
            size, cohort=cohort, enrolled_at=timezone.now() - timedelta(days=60)
        ):
            ActivityEventFactory(learner=learner, occurred_at=timezone.now() - timedelta(days=30))

    drifting(4)
    with CaptureQueriesContext(connection) as few:
        small = learners_rescore(as_of=timezone.now())
    Learner.objects.update(risk_band="")
    drifting(40)
    with CaptureQueriesContext(connection) as many:
        large = learners_rescore(as_of=timezone.now())
    assert small.entered_high == 4 and large.entered_high == 44
    assert len(many) == len(few)


@pytest.mark.parametrize("parameters", [RULES_V1, OLD_LOGISTIC], ids=["rules-v1", "logistic"])
def test_a_version_stored_before_the_features_since_enrolment_scores_as_before(
    parameters: dict[str, Any],
) -> None:
    RiskModel.objects.update(is_active=False)
    kind = "rules" if "weights" in parameters else "logistic"
    RiskModel.objects.create(version=2, kind=kind, parameters=parameters, is_active=True)
    population(3)
    learners_rescore(as_of=timezone.now())
    for assessment in RiskAssessment.objects.all():
        assert sorted(factor["factor"] for factor in assessment.factors) == sorted(OLD_NAMES)
        values = assessment.features["values"]
        assert "events_log" in values  # computed, stored, and not scored by this version
        logit = old_logit(kind, parameters, values)
        assert assessment.score == pytest.approx(sigmoid(logit), abs=1e-12)


def test_finished_learners_keep_one_final_assessment_as_of_when_they_finished() -> None:
    active = population(2)
    closed = CohortFactory(starts_on=date(2026, 1, 5), ends_on=date(2026, 4, 30))
    withdrawn = LearnerFactory(
        cohort=closed, status="withdrawn", enrolled_at=datetime(2026, 1, 5, tzinfo=UTC)
    )
    completed = LearnerFactory(
        cohort=closed, status="completed", enrolled_at=datetime(2026, 1, 5, tzinfo=UTC)
    )
    ActivityEventFactory(learner=withdrawn, occurred_at=datetime(2026, 2, 1, tzinfo=UTC))
    ActivityEventFactory(learner=completed, occurred_at=datetime(2026, 4, 29, tzinfo=UTC))
    # The default: the end of the course's last day in the cohort's zone (London, summer time).
    close = datetime(2026, 4, 30, 23, tzinfo=UTC)
    assert withdrawn.finished_at == completed.finished_at == close
    as_of = timezone.now()

    first = learners_rescore(as_of=as_of)

    assert first.learners == 4 and first.assessments_created == 4
    finals = {a.learner_id: a for a in RiskAssessment.objects.filter(learner__cohort=closed)}
    assert {a.as_of for a in finals.values()} == {close}
    assert finals[withdrawn.pk].score > finals[completed.pk].score
    assert Learner.objects.get(pk=withdrawn.pk).risk_scored_at == close
    assert not RiskAlert.objects.filter(learner__cohort=closed).exists()
    again = learners_rescore()
    assert again.learners == 2
    assert {a.learner_id for a in RiskAssessment.objects.filter(as_of__gt=as_of)} == {
        learner.pk for learner in active
    }


def test_a_learner_who_withdraws_gets_a_final_assessment_as_of_that_moment(
    auth_client: APIClient,
) -> None:
    learner = population(1)[0]
    learners_rescore()
    left = timezone.now() - timedelta(hours=2)
    learner_update(actor=None, learner=learner, data={"status": "withdrawn", "finished_at": left})

    summary = learners_rescore()

    assert summary.learners == 1 and summary.entered_high == 0
    final = RiskAssessment.objects.order_by("-computed_at", "-id").first()
    assert final is not None and final.as_of == left
    assert Learner.objects.get(pk=learner.pk).risk_scored_at == left
    assert auth_client.get(f"/api/v1/learners/{learner.pk}/risk/").data["as_of"] == left.isoformat()
    assert learners_rescore().learners == 0


def test_a_backfill_before_a_learner_finished_scores_them_as_studying() -> None:
    learner = population(1)[0]
    learner_update(actor=None, learner=learner, data={"status": "completed"})
    earlier = timezone.now() - timedelta(days=3)

    learners_rescore(as_of=earlier)

    assert RiskAssessment.objects.get(learner=learner).as_of == earlier


def test_finished_at_follows_the_status() -> None:
    cohort = CohortFactory(starts_on=date(2026, 1, 5), ends_on=date(2026, 4, 30), timezone="UTC")
    learner = LearnerFactory(cohort=cohort, enrolled_at=datetime(2026, 1, 5, tzinfo=UTC))
    assert learner.finished_at is None
    learner_update(actor=None, learner=learner, data={"status": "completed"})
    assert Learner.objects.get(pk=learner.pk).finished_at == datetime(2026, 5, 1, tzinfo=UTC)
    learner_update(actor=None, learner=learner, data={"status": "active"})
    assert Learner.objects.get(pk=learner.pk).finished_at is None


def test_course_close_is_the_end_of_the_last_day_or_now() -> None:
    now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    assert course_closed_at(date(2026, 4, 30), now) == datetime(2026, 5, 1, tzinfo=UTC)
    assert course_closed_at(date(2026, 6, 30), now) == now
    assert course_closed_at(None, now) == now


def test_new_events_mark_learners_stale_for_the_incremental_run() -> None:
    learners = population(3)
    learners_rescore()
    assert not Learner.objects.filter(risk_stale=True).exists()
    event = {
        "learner_id": str(learners[0].pk),
        "source": "lms",
        "source_event_id": "fresh",
        "kind": "login",
        "occurred_at": timezone.now().isoformat(),
    }
    events_ingest(items=[event])
    assert list(Learner.objects.filter(risk_stale=True).values_list("pk", flat=True)) == [
        learners[0].pk
    ]
    summary = learners_rescore(stale_only=True)
    assert summary.learners == 1
    assert not Learner.objects.filter(risk_stale=True).exists()


def test_entering_the_high_band_queues_one_alert_and_the_digest_mails_the_coach(
    django_capture_on_commit_callbacks: Any,
) -> None:
    cohort = CohortFactory()
    quiet = LearnerFactory(
        cohort=cohort, enrolled_at=timezone.now() - timedelta(days=60), progress=0.0
    )
    ActivityEventFactory(learner=quiet, occurred_at=timezone.now() - timedelta(days=45))
    coach = UserFactory(role="coach", email="coach@example.org")
    CohortAssignmentFactory(user=coach, cohort=cohort)
    learners_rescore()
    learners_rescore()
    assert Learner.objects.get(pk=quiet.pk).risk_band == "high"
    assert RiskAlert.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        result = risk_digest_send()
    assert result == {
        "alerts": 1,
        "quieted": 0,
        "closed": 0,
        "delivered": 1,
        "pending": 0,
        "emails": 1,
    }
    assert mail.outbox[0].to == ["coach@example.org"]
    assert mail.outbox[0].subject == "1 learner newly at high risk"
    assert quiet.name in mail.outbox[0].body
    assert risk_digest_send() == {
        "alerts": 0,
        "quieted": 0,
        "closed": 0,
        "delivered": 0,
        "pending": 0,
        "emails": 0,
    }


def test_feedback_quiets_the_digest_unless_risk_rises(settings: Any) -> None:
    cohort = CohortFactory()
    learner = LearnerFactory(cohort=cohort)
    coach = UserFactory(role="coach", email="c@example.org")
    CohortAssignmentFactory(user=coach, cohort=cohort)
    now = timezone.now()
    RiskAlert.objects.create(learner=learner, score=0.7, as_of=now - timedelta(days=1))
    risk_feedback_create(actor=coach, learner=learner, kind="acknowledged")
    learner.risk_feedback.update(score_at_feedback=0.7)
    assert risk_digest_send()["quieted"] == 1
    RiskAlert.objects.create(learner=learner, score=0.95, as_of=now)
    assert risk_digest_send() == {
        "alerts": 1,
        "quieted": 0,
        "closed": 0,
        "delivered": 1,
        "pending": 0,
        "emails": 1,
    }


# The learner risk API ----------------------------------------------------------------------------


def test_risk_detail_history_and_feedback(auth_client: APIClient) -> None:
    learner = population(3)[2]
    learners_rescore()
    url = f"/api/v1/learners/{learner.pk}/risk/"
    detail = auth_client.get(url)
    assert detail.status_code == 200, detail.content
    assert detail.data["model_version"] == 1 and detail.data["band"] in {"low", "medium", "high"}
    assert detail.data["scored"] is True and detail.data["stale"] is False
    assert detail.data["factors"][0]["explanation"]
    assert detail.data["previous"] is None
    learners_rescore()
    second = auth_client.get(url).data
    assert second["previous"] is not None
    assert second["changes"] and "contribution_change" in second["changes"][0]
    history = auth_client.get(f"{url}history/")
    assert history.data["count"] == 2
    feedback = auth_client.post(
        f"{url}feedback/", {"kind": "acknowledged", "note": "called them"}, format="json"
    )
    assert feedback.status_code == 201
    assert auth_client.post(f"{url}feedback/", {"kind": "meh"}, format="json").status_code == 400


def test_risk_detail_compares_factors_only_within_one_model_version(
    auth_client: APIClient,
) -> None:
    learner = population(3)[2]
    learners_rescore()
    before = auth_client.get(f"/api/v1/learners/{learner.pk}/risk/").data
    other = RiskModel.objects.create(
        version=RiskModel.objects.order_by("-version").values_list("version", flat=True)[0] + 1,
        kind="rules",
        parameters=RULES_V1,
    )
    risk_model_activate(model=other, actor=None)
    learners_rescore()

    changed = auth_client.get(f"/api/v1/learners/{learner.pk}/risk/").data
    assert changed["model_version"] == other.version
    assert changed["previous"]["model_version"] == before["model_version"] != other.version
    assert (changed["model_changed"], changed["changes"]) == (True, [])

    learners_rescore()
    again = auth_client.get(f"/api/v1/learners/{learner.pk}/risk/").data
    assert again["model_changed"] is False and again["changes"]


def test_risk_detail_is_cached_and_shows_new_scores_and_models(auth_client: APIClient) -> None:
    learner = population(2)[0]
    learners_rescore()
    url = f"/api/v1/learners/{learner.pk}/risk/"
    first = auth_client.get(url).data
    with CaptureQueriesContext(connection) as queries:
        assert auth_client.get(url).data == first
    assert len(queries) == 3  # the learner, their latest assessment, their latest feedback
    event = {
        "learner_id": str(learner.pk),
        "source": "lms",
        "source_event_id": "new-1",
        "kind": "lesson_completed",
        "occurred_at": timezone.now().isoformat(),
    }
    events_ingest(items=[event])
    assert auth_client.get(url).data["stale"] is True
    learners_rescore(stale_only=True)
    refreshed = auth_client.get(url).data
    assert refreshed["as_of"] != first["as_of"] and refreshed["stale"] is False
    rules = RiskModel.objects.get(is_active=True)
    RiskModel.objects.filter(pk=rules.pk).update(is_active=False)
    RiskModel.objects.create(version=2, kind="rules", parameters=rules.parameters, is_active=True)
    assert auth_client.get(url).data["stale"] is True
    learners_rescore()
    assert auth_client.get(url).data["model_version"] == 2


def test_risk_of_unknown_or_out_of_scope_learner_is_404(auth_client: APIClient) -> None:
    assert (
        auth_client.get("/api/v1/learners/0190a5f2-0000-7000-8000-000000000000/risk/").status_code
        == 404
    )
    coach = UserFactory(role="coach")
    other = LearnerFactory()
    client = APIClient()
    client.force_authenticate(coach)
    assert client.get(f"/api/v1/learners/{other.pk}/risk/").status_code == 404
    assert (
        client.post(
            f"/api/v1/learners/{other.pk}/risk/feedback/", {"kind": "incorrect"}, format="json"
        ).status_code
        == 404
    )


def test_as_of_in_the_past_is_a_backfill(auth_client: APIClient) -> None:
    learner = population(1)[0]
    learners_rescore(learner_ids=[learner.pk])
    now = Learner.objects.get(pk=learner.pk).risk_scored_at
    past = timezone.now() - timedelta(days=20)
    summary = learners_rescore(learner_ids=[learner.pk], as_of=past)
    assert summary.assessments_created == 1 and summary.history_only == 1
    stored = Learner.objects.get(pk=learner.pk)
    assert stored.risk_scored_at == now  # the current risk is the latest as_of
    detail = auth_client.get(f"/api/v1/learners/{learner.pk}/risk/").data
    assert detail["as_of"] == now.isoformat()
    assert detail["score"] == round(stored.risk_score, 4)
    assert detail["previous"]["as_of"] == past.isoformat()


def test_rescore_command_words_one_learner_and_one_assessment_in_the_singular() -> None:
    population(1)
    learners_rescore()
    out = StringIO()
    call_command(
        "rescore", "--as-of", (timezone.now() - timedelta(days=10)).isoformat(), stdout=out
    )
    assert out.getvalue().startswith("Scored 1 learner with model v1 as of ")
    assert out.getvalue().endswith(
        "; 1 new assessment, 0 newly high; 1 kept a later current risk (history only).\n"
    )


def test_rescore_command() -> None:
    learner = population(2)[0]
    out = StringIO()
    as_of = (timezone.now() - timedelta(days=10)).replace(microsecond=0)
    call_command("rescore", "--as-of", as_of.isoformat(), stdout=out)
    assert f"Scored 2 learners with model v1 as of {as_of.isoformat()}" in out.getvalue()
    assert Learner.objects.get(pk=learner.pk).risk_scored_at == as_of
    assert "; 2 new assessments, 2 newly high." in out.getvalue()  # first scored then
    out = StringIO()
    call_command("rescore", "--cohort", str(learner.cohort_id), stdout=out)
    with pytest.raises(CommandError, match="--as-of"):
        call_command("rescore", "--as-of", "yesterday")
