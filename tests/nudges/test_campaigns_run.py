"""A campaign run: one nudge per selected learner, never two, whatever happens to the run.

Generation, sending, assignment and flags are stand-ins (``campaigns_fakes``) that count every
call; ``test_campaigns_real_services`` runs campaigns on the real services (preview equals run,
run twice, resumed run, holdout).
"""

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagement.errors import Conflict
from engagement.models import AuditEvent, Job, JobStatus, Role
from nudges import campaigns
from nudges.campaigns import campaign_create, campaign_run_request
from nudges.flags import AUTO_APPROVAL
from nudges.models import (
    Campaign,
    Experiment,
    ExperimentAssignment,
    ExperimentVariant,
    Nudge,
    NudgeStatus,
)
from tests.factories import CohortAssignmentFactory, CohortFactory, UserFactory
from tests.nudges import campaigns_fakes, generation_factories
from tests.nudges.campaigns_factories import scored_learner
from tests.nudges.campaigns_fakes import Fakes

pytestmark = pytest.mark.django_db


fakes = campaigns_fakes.fakes
one_thread = campaigns_fakes.one_thread


def _campaign(actor: Any, cohort: Any, **options: Any) -> Campaign:
    return campaign_create(
        actor=actor, name="Come back", channel="email", cohort_ids=[cohort.pk], **options
    )


def _run(campaign: Campaign, actor: Any = None) -> Job:
    job = campaign_run_request(campaign=campaign, requested_by=actor, in_process=True)
    job.refresh_from_db()
    return job


def _result(job: Job) -> dict[str, Any]:
    assert job.result is not None
    return job.result


def test_a_run_writes_one_draft_per_learner_for_review(user: Any, fakes: Fakes) -> None:
    cohort = CohortFactory()
    learners = [scored_learner(cohort) for _ in range(4)]
    campaign = _campaign(user, cohort)

    job = _run(campaign, user)

    assert job.kind == "nudges.campaign_run"
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.progress == 1
    assert job.result == {
        "campaign_id": str(campaign.pk),
        "occurrence": "",
        "selected": 4,
        "holdout": 0,
        "created": 4,
        "existing": 0,
        "by_status": {"draft": 4},
    }
    nudges = Nudge.objects.filter(campaign=campaign)
    assert {n.learner_id for n in nudges} == {learner.pk for learner in learners}
    assert {n.status for n in nudges} == {NudgeStatus.DRAFT}
    assert not fakes.sent  # review: staff approve each draft
    assert AuditEvent.objects.filter(action="campaign.run", target_id=str(campaign.pk)).exists()
    campaign.refresh_from_db()
    assert campaign.last_run_at == job.started_at


@pytest.mark.parametrize("learners", [3, 12])
def test_a_run_adds_one_query_per_learner_only_for_writing_its_nudge(
    user: Any, fakes: Fakes, learners: int, django_assert_num_queries: Any
) -> None:
    cohort = CohortFactory()
    for _ in range(learners):
        scored_learner(cohort)
    campaign = Campaign.objects.get(pk=_campaign(user, cohort).pk)
    job = Job.objects.create(kind="nudges.campaign_run", params={"campaign_id": str(campaign.pk)})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())
    job.refresh_from_db()

    # campaign, cohorts, candidates, nudges found; for the chunk, the learners' cohorts in scope,
    # the generation flag (switch, cohort limits) and their risk (learners, assessments); one
    # INSERT per learner (the stand-in's nudge_generate); the campaign's last run
    with django_assert_num_queries(10 + learners):
        campaigns.campaign_run(job=job, on_progress=lambda progress: None)


def test_auto_approval_sends_where_its_flag_holds_and_leaves_drafts_elsewhere(
    user: Any, fakes: Fakes
) -> None:
    flagged, other = CohortFactory(), CohortFactory()
    sent = scored_learner(flagged)
    reviewed = scored_learner(other)
    fakes.flag_cohorts[AUTO_APPROVAL] = {flagged.pk}
    campaign = campaign_create(
        actor=user,
        name="Auto",
        channel="in_app",
        cohort_ids=[flagged.pk, other.pk],
        approval=Campaign.Approval.AUTO,
    )

    job = _run(campaign, user)

    assert _result(job)["by_status"] == {"draft": 1, "sent": 1}
    statuses = dict(Nudge.objects.values_list("learner_id", "status"))
    assert statuses == {sent.pk: NudgeStatus.SENT, reviewed.pk: NudgeStatus.DRAFT}

    fakes.flags_off.add(AUTO_APPROVAL)
    Nudge.objects.all().delete()
    assert _result(_run(campaign, user))["by_status"] == {"draft": 2}


def test_an_experiment_holds_out_learners_and_tags_the_others_with_their_arm(
    user: Any, fakes: Fakes
) -> None:
    cohort = CohortFactory()
    learners = [scored_learner(cohort) for _ in range(40)]
    experiment = Experiment.objects.create(name="Tone", holdout_share=0.3)
    arms = {ExperimentVariant.objects.create(experiment=experiment, name=name) for name in "AB"}
    campaign = _campaign(user, cohort, experiment=experiment)

    job = _run(campaign, user)

    assigned = dict(ExperimentAssignment.objects.values_list("learner_id", "variant_id"))
    assert set(assigned) == {learner.pk for learner in learners}
    holdout = {learner_id for learner_id, variant in assigned.items() if variant is None}
    assert 0 < len(holdout) < 40
    nudges = Nudge.objects.filter(campaign=campaign)
    assert {n.learner_id for n in nudges} == set(assigned) - holdout
    assert all(n.variant_id == assigned[n.learner_id] for n in nudges)
    assert {n.variant_id for n in nudges} == {arm.pk for arm in arms}
    assert {n.experiment_id for n in nudges} == {experiment.pk}
    assert _result(job)["holdout"] == len(holdout)
    assert _result(job)["selected"] == 40


def _in_steps_of_two(
    monkeypatch: pytest.MonkeyPatch, user: Any, learners: int, **options: Any
) -> Campaign:
    monkeypatch.setattr(campaigns, "CHUNK_SIZE", 2)
    cohort = CohortFactory()
    for _ in range(learners):
        scored_learner(cohort)
    return _campaign(user, cohort, **options)


def test_a_cancelled_run_stops_and_a_new_run_resumes_without_doubles(
    user: Any, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = _in_steps_of_two(monkeypatch, user, 7, approval=Campaign.Approval.AUTO)

    def cancel_after_three(learner_id: Any) -> None:
        if sum(fakes.generated.values()) == 3:
            Job.objects.filter(kind="nudges.campaign_run").update(status=JobStatus.CANCELLED)

    fakes.on_generate = cancel_after_three
    cancelled = _run(campaign, user)

    assert cancelled.status == JobStatus.CANCELLED
    assert Nudge.objects.count() == 4  # stopped at the end of the second step of two
    fakes.on_generate = None
    resumed = _run(campaign, user)

    assert resumed.status == JobStatus.SUCCEEDED
    assert (_result(resumed)["created"], _result(resumed)["existing"]) == (3, 4)
    assert Nudge.objects.count() == 7
    assert set(fakes.generated.values()) == {1}
    assert set(fakes.sent.values()) == {1}


def test_a_run_that_failed_midway_is_resumed_by_the_next_one(
    user: Any, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = _in_steps_of_two(monkeypatch, user, 5)

    def crash_on_the_fourth(learner_id: Any) -> None:
        if sum(fakes.generated.values()) == 4:
            raise RuntimeError("worker lost")

    fakes.on_generate = crash_on_the_fourth
    failed = _run(campaign, user)
    assert failed.status == JobStatus.FAILED
    assert "RuntimeError" in failed.error
    fakes.on_generate = None

    resumed = _run(campaign, user)

    assert (_result(resumed)["created"], _result(resumed)["existing"]) == (2, 3)
    assert Nudge.objects.filter(campaign=campaign).count() == 5


def test_a_run_under_way_is_returned_instead_of_starting_another(
    user: Any, fakes: Fakes, django_capture_on_commit_callbacks: Any
) -> None:
    cohort = CohortFactory()
    scored_learner(cohort)
    campaign = _campaign(user, cohort)

    with django_capture_on_commit_callbacks(execute=False):
        first = campaign_run_request(campaign=campaign, requested_by=user)
        again = campaign_run_request(campaign=campaign, requested_by=user)

    assert again.pk == first.pk
    assert Job.objects.filter(kind="nudges.campaign_run").count() == 1


def test_an_inactive_campaign_does_not_run(user: Any, fakes: Fakes) -> None:
    campaign = _campaign(user, CohortFactory())
    Campaign.objects.filter(pk=campaign.pk).update(is_active=False)
    campaign.refresh_from_db()

    with pytest.raises(Conflict):
        campaign_run_request(campaign=campaign, requested_by=user)


@pytest.mark.parametrize(
    ("vendor", "pool", "configured", "threads"),
    [
        ("sqlite", None, 16, 1),
        ("postgresql", None, 16, 16),
        ("postgresql", {"min_size": 2, "max_size": 10, "timeout": 10}, 16, 9),
        ("postgresql", {"min_size": 2, "max_size": 10, "timeout": 10}, 4, 4),
        ("postgresql", {"min_size": 1, "max_size": 1, "timeout": 10}, 16, 1),
    ],
)
def test_the_threads_of_a_run_never_outnumber_the_connections_it_can_get(
    vendor: str, pool: dict[str, int] | None, configured: int, threads: int
) -> None:
    options = {} if pool is None else {"pool": pool}
    assert campaigns.threads_for(vendor=vendor, options=options, configured=configured) == threads


def _queries_of_a_run(user: Any, learners: int) -> int:
    cohort = CohortFactory()
    for _ in range(learners):
        generation_factories.scored_learner(cohort=cohort)
    campaign = _campaign(user, cohort)
    job = Job.objects.create(kind="nudges.campaign_run", params={"campaign_id": str(campaign.pk)})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())
    job.refresh_from_db()
    cache.clear()  # each run reads the flags' switches afresh
    with CaptureQueriesContext(connection) as queries:
        campaigns.campaign_run(job=job, on_progress=lambda progress: None)
    assert Nudge.objects.filter(campaign=campaign).count() == learners
    return len(queries)


def test_real_generation_reads_each_chunk_at_once_and_only_writes_per_learner(
    user: Any, no_llm: None
) -> None:
    few, many = _queries_of_a_run(user, 3), _queries_of_a_run(user, 12)

    # per learner: a savepoint, the nudge, its audit row, the savepoint's release
    assert many - few == 4 * (12 - 3)


def test_a_coach_who_lost_a_cohort_no_longer_reaches_its_learners(fakes: Fakes) -> None:
    kept, lost = CohortFactory(), CohortFactory()
    coach = UserFactory(role=Role.COACH)
    CohortAssignmentFactory(user=coach, cohort=kept)
    removed = CohortAssignmentFactory(user=coach, cohort=lost)
    reached = scored_learner(kept)
    scored_learner(lost)
    campaign = campaign_create(
        actor=coach, name="Both", channel="email", cohort_ids=[kept.pk, lost.pk]
    )
    removed.delete()

    preview = campaigns.campaign_preview(campaign=campaign, actor=coach)
    job = _run(campaign, coach)

    assert preview.count == 1
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [n.learner_id for n in Nudge.objects.filter(campaign=campaign)] == [reached.pk]
