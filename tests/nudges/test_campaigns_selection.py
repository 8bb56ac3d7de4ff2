"""Who a campaign selects: each criterion, set-based, and the same for a preview and a run."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from engagement.errors import ValidationFailed
from learners.models import LearnerStatus, RiskFeedback, RiskFeedbackKind
from nudges.campaign_selectors import campaign_selection
from nudges.campaigns import campaign_create, campaign_occurrence
from nudges.models import Campaign, Nudge, NudgeSource, NudgeStatus
from tests.factories import CohortFactory, LearnerFactory
from tests.nudges.campaigns_factories import scored_learner

pytestmark = pytest.mark.django_db


def _selected(campaign: Campaign) -> set[Any]:
    now = timezone.now()
    rows = campaign_selection(campaign, now=now, occurrence=campaign_occurrence(campaign, now))
    return {row.learner_id for row in rows}


def _campaign(actor: Any, **criteria: Any) -> Campaign:
    return campaign_create(actor=actor, name="Come back", channel="email", **criteria)


def test_cohorts_band_and_inactivity_narrow_the_selection(user: Any) -> None:
    cohort, other = CohortFactory(), CohortFactory()
    high_idle = scored_learner(cohort, band="high", inactive_days=10)
    medium_idle = scored_learner(cohort, band="medium", inactive_days=10)
    scored_learner(cohort, band="low", inactive_days=10)
    scored_learner(cohort, band="high", inactive_days=2)
    scored_learner(other, band="high", inactive_days=10)

    campaign = _campaign(user, cohort_ids=[cohort.pk], min_band="medium", inactive_days=7)

    assert _selected(campaign) == {high_idle.pk, medium_idle.pk}


@pytest.mark.parametrize("criterion", ["inactive_days", "not_nudged_days"])
def test_days_beyond_ten_years_are_refused_by_every_door(user: Any, criterion: str) -> None:
    # A billion days passed the dashboard form once and overflowed date arithmetic at preview.
    with pytest.raises(ValidationFailed) as refused:
        _campaign(user, cohort_ids=[CohortFactory().pk], **{criterion: 1_000_000_000})
    assert list(refused.value.detail) == [criterion]
    assert not Campaign.objects.exists()


def test_a_learner_never_active_counts_as_inactive_since_enrolment(user: Any) -> None:
    cohort = CohortFactory()
    never = scored_learner(cohort, last_active_at=None)
    recent = scored_learner(
        cohort, last_active_at=None, enrolled_at=timezone.now() - timedelta(days=1)
    )

    selected = _selected(_campaign(user, cohort_ids=[cohort.pk], inactive_days=7))

    assert never.pk in selected
    assert recent.pk not in selected


def test_finished_opted_out_unscored_and_erased_learners_are_never_selected(user: Any) -> None:
    cohort = CohortFactory()
    reachable = scored_learner(cohort)
    scored_learner(cohort, status=LearnerStatus.WITHDRAWN, finished_at=timezone.now())
    scored_learner(cohort, nudge_opt_out=True)
    scored_learner(cohort, erased_at=timezone.now())
    LearnerFactory(cohort=cohort)  # never scored: nothing to write from

    assert _selected(_campaign(user, cohort_ids=[cohort.pk])) == {reachable.pk}


def test_a_recent_not_applicable_mark_excludes_unless_asked_not_to(user: Any) -> None:
    cohort = CohortFactory()
    marked, acknowledged, remarked = (scored_learner(cohort) for _ in range(3))
    RiskFeedback.objects.create(
        learner=marked, kind=RiskFeedbackKind.NOT_APPLICABLE, score_at_feedback=0.9
    )
    RiskFeedback.objects.create(
        learner=acknowledged, kind=RiskFeedbackKind.ACKNOWLEDGED, score_at_feedback=0.9
    )
    # Marked "not applicable", then acknowledged: the latest mark holds.
    old = RiskFeedback.objects.create(
        learner=remarked, kind=RiskFeedbackKind.NOT_APPLICABLE, score_at_feedback=0.9
    )
    RiskFeedback.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=1))
    RiskFeedback.objects.create(
        learner=remarked, kind=RiskFeedbackKind.ACKNOWLEDGED, score_at_feedback=0.9
    )

    assert _selected(_campaign(user, cohort_ids=[cohort.pk])) == {acknowledged.pk, remarked.pk}
    everyone = _campaign(user, cohort_ids=[cohort.pk], exclude_not_applicable=False)
    assert _selected(everyone) == {marked.pk, acknowledged.pk, remarked.pk}


def test_a_mark_older_than_the_quiet_window_no_longer_excludes(user: Any, settings: Any) -> None:
    cohort = CohortFactory()
    learner = scored_learner(cohort)
    mark = RiskFeedback.objects.create(
        learner=learner, kind=RiskFeedbackKind.NOT_APPLICABLE, score_at_feedback=0.9
    )
    days = settings.RISK_FEEDBACK_QUIET_DAYS + 1
    RiskFeedback.objects.filter(pk=mark.pk).update(created_at=timezone.now() - timedelta(days=days))

    assert _selected(_campaign(user, cohort_ids=[cohort.pk])) == {learner.pk}


def test_not_nudged_lately_leaves_out_sent_and_scheduled_nudges_of_other_runs(user: Any) -> None:
    cohort = CohortFactory()
    sent_lately, sent_long_ago, scheduled, fresh = (scored_learner(cohort) for _ in range(4))
    now = timezone.now()
    for learner, status, sent_at in (
        (sent_lately, NudgeStatus.SENT, now - timedelta(days=2)),
        (sent_long_ago, NudgeStatus.SENT, now - timedelta(days=20)),
        (scheduled, NudgeStatus.SCHEDULED, None),
    ):
        Nudge.objects.create(
            learner=learner,
            channel="email",
            status=status,
            sent_at=sent_at,
            source=NudgeSource.MANUAL,
            body="Hello",
        )
    campaign = _campaign(user, cohort_ids=[cohort.pk], not_nudged_days=7)
    # This campaign's own nudge of this occurrence does not count: a resumed run keeps them.
    Nudge.objects.create(
        learner=fresh,
        channel="email",
        status=NudgeStatus.SENT,
        sent_at=now,
        source=NudgeSource.TEMPLATE,
        body="Hello",
        campaign=campaign,
    )

    assert _selected(campaign) == {sent_long_ago.pk, fresh.pk}


def test_chosen_learners_limit_the_selection(user: Any) -> None:
    cohort = CohortFactory()
    chosen, _other = scored_learner(cohort), scored_learner(cohort)

    assert _selected(_campaign(user, learner_ids=[chosen.pk])) == {chosen.pk}


@pytest.mark.parametrize("learners", [3, 30])
def test_the_selection_takes_three_queries_whatever_the_number_of_learners(
    user: Any, learners: int, django_assert_num_queries: Any
) -> None:
    cohort = CohortFactory()
    for _ in range(learners):
        scored_learner(cohort)
    campaign = Campaign.objects.get(
        pk=_campaign(user, cohort_ids=[cohort.pk], min_band="high", not_nudged_days=7).pk
    )
    now = timezone.now()

    with django_assert_num_queries(3):  # cohorts, candidates, nudged lately
        selected = campaign_selection(campaign, now=now, occurrence="")

    assert len(selected) == learners
