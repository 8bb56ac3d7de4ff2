"""Automations: daily and weekly campaigns run once per occurrence, behind their flag."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engagement.models import Job, JobStatus
from engagement.registry import registry
from nudges.campaign_tasks import CAMPAIGN_AUTOMATIONS, campaign_automations_task
from nudges.campaigns import (
    campaign_automations_run,
    campaign_create,
    campaign_occurrence,
    campaign_preview,
)
from nudges.flags import AUTOMATIONS
from nudges.models import Campaign, Nudge
from tests.factories import CohortFactory
from tests.nudges import campaigns_fakes
from tests.nudges.campaigns_factories import scored_learner
from tests.nudges.campaigns_fakes import Fakes

pytestmark = pytest.mark.django_db


fakes = campaigns_fakes.fakes
one_thread = campaigns_fakes.one_thread


def _automation(actor: Any, cohorts: list[Any], schedule: str = "daily") -> Campaign:
    return campaign_create(
        actor=actor,
        name="Every day",
        channel="in_app",
        cohort_ids=[cohort.pk for cohort in cohorts],
        schedule=schedule,
    )


def test_occurrences_are_the_utc_day_or_iso_week_and_blank_for_a_one_off(user: Any) -> None:
    cohort = CohortFactory()
    late_evening = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)

    assert campaign_occurrence(_automation(user, [cohort]), late_evening) == "2026-12-31"
    weekly = _automation(user, [cohort], schedule="weekly")
    assert campaign_occurrence(weekly, late_evening) == "2026-W53"
    one_off = campaign_create(actor=user, name="Once", channel="email", cohort_ids=[cohort.pk])
    assert campaign_occurrence(one_off, late_evening) == ""


def test_each_occurrence_runs_once_and_nudges_each_learner_once(
    user: Any, fakes: Fakes, django_capture_on_commit_callbacks: Any
) -> None:
    cohort = CohortFactory()
    learners = [scored_learner(cohort) for _ in range(3)]
    automation = _automation(user, [cohort])
    campaign_create(actor=user, name="Once", channel="email", cohort_ids=[cohort.pk])
    today = datetime.now(UTC)

    with django_capture_on_commit_callbacks(execute=True):
        first = campaign_automations_run(now=today)
    with django_capture_on_commit_callbacks(execute=True):
        again = campaign_automations_run(now=today)
    with django_capture_on_commit_callbacks(execute=True):
        tomorrow = campaign_automations_run(now=today + timedelta(days=1))

    assert [job.pk for job in again] == [job.pk for job in first]  # the one-off is not run
    assert len(first) == len(tomorrow) == 1
    runs = Job.objects.filter(kind="nudges.campaign_run").order_by("created_at")
    assert [job.params["occurrence"] for job in runs] == [
        today.date().isoformat(),
        (today + timedelta(days=1)).date().isoformat(),
    ]
    assert {job.status for job in runs} == {JobStatus.SUCCEEDED}
    per_day = Nudge.objects.filter(campaign=automation).values_list("learner_id", "occurrence")
    assert sorted(per_day) == sorted(
        (learner.pk, job.params["occurrence"]) for learner in learners for job in runs
    )


def test_automations_hold_only_where_their_flag_does(
    user: Any, fakes: Fakes, django_capture_on_commit_callbacks: Any
) -> None:
    flagged, other = CohortFactory(), CohortFactory()
    reached = scored_learner(flagged)
    scored_learner(other)
    automation = _automation(user, [flagged, other])
    fakes.flag_cohorts[AUTOMATIONS] = {flagged.pk}

    assert campaign_preview(campaign=automation, actor=user, sample=0).count == 1
    with django_capture_on_commit_callbacks(execute=True):
        campaign_automations_run()
    assert list(Nudge.objects.values_list("learner_id", flat=True)) == [reached.pk]

    fakes.flags_off.add(AUTOMATIONS)
    with django_capture_on_commit_callbacks(execute=True):
        assert campaign_automations_run(now=datetime.now(UTC) + timedelta(days=1)) == []


def test_an_inactive_automation_is_left_alone_and_the_beat_runs_the_task(
    user: Any, fakes: Fakes
) -> None:
    automation = _automation(user, [CohortFactory()])
    Campaign.objects.filter(pk=automation.pk).update(is_active=False)

    assert campaign_automations_task.delay().get() == 0
    entry = registry.beat_schedule["campaign-automations"]
    assert entry["task"] == CAMPAIGN_AUTOMATIONS
