"""Campaigns end to end with the real services: generation (the template path without a key, the
LLM path against the local server), the lifecycle sending through the outbox, and experiments
assigning arms. A preview selects exactly the learners a run then nudges, and a campaign run
again, or resumed after a partial run, writes and sends nothing twice (issue 13, "Tests that
must exist")."""

from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from engagement.models import JobStatus, OutboxMessage
from learners.models import Cohort, Learner
from learners.risk.services import learners_rescore
from nudges.campaigns import campaign_create, campaign_preview, campaign_run_request
from nudges.generation import nudge_generate
from nudges.lifecycle import nudge_send, outbox_key
from nudges.llm.fake_server import NORMAL_BODY, FakeLLMServer
from nudges.models import Campaign, ExperimentAssignment, Nudge, NudgeStatus, PromptTemplate
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory
from tests.nudges.experiments_factories import experiment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rules_model")]

#: Days since each learner's last activity: some long gone (selected), some active (not).
INACTIVITY = (40, 30, 25, 20, 15, 1, 0)


@pytest.fixture(autouse=True)
def _always_sendable(settings: Any) -> None:
    """No quiet hours (sending must not depend on the hour the tests run at), and one thread:
    other threads cannot see the rows of a test's transaction."""
    settings.NUDGE_QUIET_HOURS_START = settings.NUDGE_QUIET_HOURS_END = 0
    settings.CAMPAIGN_CONCURRENCY = 1


def _scored_cohort(name: str, inactivity: Iterable[int]) -> Cohort:
    """A cohort of learners last active the given numbers of days ago, scored in one pass."""
    cohort = CohortFactory.create(name=name, course_code="PY101")
    now = timezone.now()
    for days in inactivity:
        seen = now - timedelta(days=days)
        learner = LearnerFactory(cohort=cohort, name="Ada King Lovelace", last_active_at=seen)
        ActivityEventFactory(learner=learner, occurred_at=seen)
    learners_rescore(cohort_id=cohort.pk)
    return cohort


@pytest.fixture
def cohort() -> Cohort:
    return _scored_cohort("Spring 2026", INACTIVITY)


def _campaign(actor: Any, cohort: Any, **options: Any) -> Campaign:
    options.setdefault("min_band", "medium")
    options.setdefault("inactive_days", 7)
    return campaign_create(
        actor=actor, name="Come back", channel="email", cohort_ids=[cohort.pk], **options
    )


def _run(campaign: Campaign, actor: Any) -> dict[str, Any]:
    job = campaign_run_request(campaign=campaign, requested_by=actor, in_process=True)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result is not None
    return job.result


def _nudged(campaign: Campaign) -> Counter[Any]:
    """Nudges per learner."""
    return Counter(Nudge.objects.filter(campaign=campaign).values_list("learner_id", flat=True))


def _outbox_per_nudge(campaign: Campaign) -> dict[Any, int]:
    """Outbox messages per nudge of the campaign (one query each way, not per nudge)."""
    keys = {
        outbox_key(pk): pk
        for pk in Nudge.objects.filter(campaign=campaign).values_list("pk", flat=True)
    }
    counts = Counter(
        OutboxMessage.objects.filter(idempotency_key__in=keys).values_list(
            "idempotency_key", flat=True
        )
    )
    return {keys[key]: n for key, n in counts.items()}


def test_the_preview_selects_exactly_the_learners_the_run_nudges_on_the_template_path(
    user: Any, cohort: Any, no_llm: None
) -> None:
    campaign = _campaign(user, cohort)
    client = APIClient()
    client.force_authenticate(user)

    preview = client.post(
        f"/api/v1/campaigns/{campaign.pk}/preview/", {"sample": 10}, format="json"
    )

    assert preview.status_code == 200, preview.content
    shown = preview.json()
    previewed = {sample["learner"] for sample in shown["sample"]}
    assert shown["count"] == len(previewed) == len(shown["sample"])
    assert 0 < shown["count"] < len(INACTIVITY)
    assert {sample["source"] for sample in shown["sample"]} == {"template"}
    assert {sample["fallback_reason"] for sample in shown["sample"]} == {"no_key"}
    assert not Nudge.objects.exists(), "a preview stores nothing"

    result = _run(campaign, user)

    nudged = _nudged(campaign)
    assert {str(learner_id) for learner_id in nudged} == previewed
    assert set(nudged.values()) == {1}
    assert (result["selected"], result["created"], result["holdout"]) == (shown["count"],) * 2 + (
        0,
    )
    assert set(Nudge.objects.values_list("status", flat=True)) == {NudgeStatus.DRAFT}
    assert not OutboxMessage.objects.exists(), "review: nothing is sent before approval"


def test_on_the_llm_path_the_run_nudges_the_previewed_learners_from_the_cache(
    user: Any, cohort: Any, fake_llm: FakeLLMServer
) -> None:
    campaign = _campaign(user, cohort, prompt_key="reengage")

    preview = campaign_preview(campaign=campaign, actor=user, sample=10)
    asked = len(fake_llm.requests)
    _run(campaign, user)

    previewed = {draft.learner_id for draft in preview.sample}
    assert {draft.source for draft in preview.sample} == {"llm"}
    assert asked == preview.count == len(previewed) > 0
    nudges = Nudge.objects.filter(campaign=campaign).select_related("llm_call")
    assert {nudge.learner_id for nudge in nudges} == previewed
    assert {(nudge.source, nudge.body) for nudge in nudges} == {("llm", NORMAL_BODY)}
    assert all(nudge.llm_call is not None and nudge.llm_call.cache_hit for nudge in nudges)
    assert len(fake_llm.requests) == asked, "the run's messages are the preview's answers"


def test_a_campaign_run_twice_writes_and_sends_nothing_twice(
    user: Any, cohort: Any, fake_llm: FakeLLMServer
) -> None:
    campaign = _campaign(user, cohort, approval=Campaign.Approval.AUTO)

    first = _run(campaign, user)
    sent_first = dict(Nudge.objects.values_list("pk", "sent_at"))
    second = _run(campaign, user)

    selected = first["selected"]
    assert selected > 0
    assert (first["created"], first["by_status"]) == (selected, {"sent": selected})
    assert (second["created"], second["existing"]) == (0, selected)
    assert set(_nudged(campaign).values()) == {1}
    assert dict(Nudge.objects.values_list("pk", "sent_at")) == sent_first
    assert _outbox_per_nudge(campaign) == dict.fromkeys(sent_first, 1)
    assert len(fake_llm.requests) == selected


def test_a_run_resumed_after_a_partial_run_completes_it_without_doubles(
    user: Any, cohort: Any, no_llm: None
) -> None:
    campaign = _campaign(user, cohort, approval=Campaign.Approval.AUTO)
    selected = sorted(_run_selection(campaign, user))
    # What a run that died after two learners leaves: both nudges written, the first one sent.
    done = [
        nudge_generate(learner_id=learner_id, channel="email", actor=user, campaign=campaign)
        for learner_id in selected[:2]
    ]
    sent = nudge_send(nudge=done[0], actor=user)
    assert sent.status == NudgeStatus.SENT

    result = _run(campaign, user)

    assert (result["created"], result["existing"]) == (len(selected) - 2, 2)
    assert set(_nudged(campaign)) == set(selected)
    assert set(_nudged(campaign).values()) == {1}
    nudges = Nudge.objects.filter(campaign=campaign)
    assert {nudge.status for nudge in nudges} == {NudgeStatus.SENT}
    assert nudges.get(pk=sent.pk).sent_at == sent.sent_at
    assert _outbox_per_nudge(campaign) == dict.fromkeys((n.pk for n in nudges), 1)
    assert _run(campaign, user)["created"] == 0
    assert OutboxMessage.objects.count() == len(selected)


def _run_selection(campaign: Campaign, actor: Any) -> set[Any]:
    """The learners a run of ``campaign`` selects, as its preview shows them."""
    preview = campaign_preview(campaign=campaign, actor=actor, sample=10)
    assert preview.count == len(preview.sample) >= 3
    return {draft.learner_id for draft in preview.sample}


def test_an_experiments_holdout_gets_an_assignment_and_no_nudge(
    user: Any, fake_llm: FakeLLMServer
) -> None:
    cohort = _scored_cohort("Autumn 2026", range(20, 50))
    learners = list(Learner.objects.filter(cohort=cohort))
    prompt = PromptTemplate.objects.get(key="reengage", locale="en", is_active=True)
    trial = experiment(
        holdout_share=0.34, weights={"llm": 1, "template": 1}, prompts={"llm": prompt.pk}
    )
    campaign = _campaign(user, cohort, experiment=trial, min_band="", inactive_days=None)

    preview = campaign_preview(campaign=campaign, actor=user, sample=10)
    assert not ExperimentAssignment.objects.exists(), "a preview assigns nobody"
    first = _run(campaign, user)
    second = _run(campaign, user)

    arms = dict(ExperimentAssignment.objects.values_list("learner_id", "variant__name"))
    assert set(arms) == {learner.pk for learner in learners}
    holdout = {learner_id for learner_id, arm in arms.items() if arm is None}
    assert 0 < len(holdout) < len(learners)
    assert (first["holdout"], second["holdout"], preview.holdout) == (len(holdout),) * 3
    nudges = Nudge.objects.filter(campaign=campaign).select_related("variant")
    assert {nudge.learner_id for nudge in nudges} == set(arms) - holdout
    assert set(_nudged(campaign).values()) == {1}
    assert all(
        nudge.variant is not None and nudge.variant.name == arms[nudge.learner_id]
        for nudge in nudges
    )
    sources = {
        (nudge.variant.name, nudge.source, nudge.fallback_reason)
        for nudge in nudges
        if nudge.variant
    }
    assert sources == {("llm", "llm", ""), ("template", "template", "")}
    assert second["created"] == 0
    assert len(fake_llm.requests) == sum(arm == "llm" for arm in arms.values())
