"""The demo's nudges (``manage.py seed_nudges_demo``, run by ``make run``): a past campaign with
an experiment whose re-engagement is read from the stored activity, drafts to review, once."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any, cast

import pytest
from django.core.management import call_command
from django.db.models import Sum

from learners.contracts import learner_risk_snapshots
from learners.models import Learner, LearnerStatus
from learners.risk.services import learners_rescore
from nudges.demo import (
    CAMPAIGN_NAME,
    EXPERIMENT_NAME,
    PILOT_NAME,
    PROMPT_KEY,
    RUN_DAYS_AGO,
    nudges_demo_seed,
)
from nudges.experiment_selectors import experiment_list, experiment_results
from nudges.experiments import arm_for, arm_position, assignment_exposure
from nudges.fallback_templates import fallback_message
from nudges.llm.calls import llm_cost
from nudges.models import (
    Campaign,
    Experiment,
    ExperimentAssignment,
    LLMCall,
    Nudge,
    NudgeSource,
    NudgeStatus,
    PromptTemplate,
)
from nudges.policy import Rule
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory, UserFactory

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RUN_AT = NOW - timedelta(days=RUN_DAYS_AGO)
BEFORE = datetime(2026, 10, 20, 10, 0, tzinfo=UTC)


def _learner(cohort: Any, *event_times: datetime, **fields: Any) -> Learner:
    learner = cast(Learner, LearnerFactory(cohort=cohort, **fields))
    for occurred_at in event_times:
        ActivityEventFactory(learner=learner, occurred_at=occurred_at)
    return learner


@pytest.fixture
def population(rules_model: Any) -> dict[str, Learner]:
    """Learners of one cohort, scored as of ``NOW``, named by what the demo should do."""
    cohort = CohortFactory()
    learners = {
        "back": _learner(cohort, BEFORE, RUN_AT + timedelta(days=2)),
        "late": _learner(cohort, BEFORE, RUN_AT + timedelta(days=9)),
        "silent": _learner(cohort, BEFORE),
        "opted_out": _learner(cohort, BEFORE, RUN_AT + timedelta(days=2), nudge_opt_out=True),
        "active_then": _learner(cohort, RUN_AT - timedelta(days=2)),
        "finished_before": _learner(
            cohort,
            BEFORE,
            status=LearnerStatus.WITHDRAWN,
            finished_at=RUN_AT - timedelta(days=5),
        ),
        "enrolled_after": _learner(cohort, enrolled_at=RUN_AT + timedelta(days=1)),
    }
    learners_rescore(as_of=NOW)
    return learners


def _assignments() -> dict[Any, ExperimentAssignment]:
    """The assignments by learner, with ``exposure`` (the holdout's assignment, else the send)."""
    assignments = ExperimentAssignment.objects.select_related("variant").annotate(
        exposure=assignment_exposure()
    )
    return {assignment.learner_id: assignment for assignment in assignments}


@pytest.mark.django_db
def test_the_campaign_reaches_those_inactive_then_and_results_follow_their_activity(
    population: dict[str, Learner],
) -> None:
    summary = nudges_demo_seed(now=NOW, seed=3)
    assignments = _assignments()
    audience = {population[name].pk for name in ("back", "late", "silent", "opted_out")}
    assert set(assignments) == audience
    assert summary.learners == 4
    assert sum(summary.arms.values()) == 4
    campaign = Campaign.objects.get(name=CAMPAIGN_NAME)
    assert campaign.last_run_at == RUN_AT
    assert campaign.created_at == RUN_AT
    assert campaign.experiment is not None
    assert campaign.experiment.created_at == RUN_AT
    assert set(campaign.cohorts.values_list("pk", flat=True)) == {population["back"].cohort_id}
    nudges = {n.learner_id: n for n in Nudge.objects.filter(campaign=campaign)}
    for learner_id, assignment in assignments.items():
        nudge = nudges.get(learner_id)
        assert (nudge is None) == (assignment.variant is None)
        if nudge is not None:
            assert nudge.variant == assignment.variant
            assert nudge.experiment == campaign.experiment
            assert nudge.created_at == RUN_AT
            assert nudge.sent_at == assignment.exposure
    back = assignments[population["back"].pk]
    assert back.re_engaged_at == RUN_AT + timedelta(days=2)
    for name in ("late", "silent"):
        assert assignments[population[name].pk].re_engaged_at is None
    opted_out = assignments[population["opted_out"].pk]
    if opted_out.variant is None:
        assert opted_out.re_engaged_at == RUN_AT + timedelta(days=2)
    else:
        suppressed = nudges[population["opted_out"].pk]
        assert (suppressed.status, suppressed.suppressed_rule) == (
            NudgeStatus.SUPPRESSED,
            Rule.OPTED_OUT,
        )
        assert suppressed.sent_at is None
        assert (opted_out.exposure, opted_out.re_engaged_at) == (None, None)
    for nudge in nudges.values():
        assert nudge.re_engaged_at == assignments[nudge.learner_id].re_engaged_at
    assert (
        summary.re_engaged
        == ExperimentAssignment.objects.filter(re_engaged_at__isnull=False).count()
    )


@pytest.mark.django_db
def test_every_arm_is_used_llm_calls_cost_money_and_guardrail_fallbacks_keep_the_rejection(
    rules_model: Any,
) -> None:
    cohort = CohortFactory()
    for _ in range(40):
        _learner(cohort, BEFORE, RUN_AT + timedelta(days=1))
    learners_rescore(as_of=NOW)
    summary = nudges_demo_seed(now=NOW, seed=1)
    assert set(summary.arms) == {"llm", "template", "holdout"}
    llm_arm = Nudge.objects.filter(campaign__isnull=False, variant__name="llm")
    assert llm_arm.count() == LLMCall.objects.count() == summary.llm_calls
    assert LLMCall.objects.aggregate(total=Sum("cost"))["total"] > Decimal(0)
    assert set(LLMCall.objects.values_list("created_at", flat=True)) == {RUN_AT}
    written = llm_arm.filter(source=NudgeSource.LLM)
    fallbacks = llm_arm.filter(source=NudgeSource.TEMPLATE)
    assert written.exists()
    assert fallbacks.exists()
    for nudge in fallbacks:
        assert nudge.fallback_reason == "guardrail:link"
        assert "https://" in nudge.rejected_text
        assert "https://" not in nudge.body
    template_arm = Nudge.objects.filter(variant__name="template")
    assert set(template_arm.values_list("source", flat=True)) == {NudgeSource.TEMPLATE}
    assert not template_arm.filter(llm_call__isnull=False).exists()
    for nudge in Nudge.objects.filter(campaign__isnull=False):
        assert nudge.body.startswith(("Hello ", "Hi "))


@pytest.mark.django_db
def test_the_experiment_services_assign_write_cost_and_the_results_compare_with_the_holdout(
    rules_model: Any,
) -> None:
    cohort = CohortFactory()
    for position in range(60):
        comes_back = (RUN_AT + timedelta(days=1),) if position % 2 else ()
        _learner(cohort, BEFORE, *comes_back)
    learners_rescore(as_of=NOW)
    nudges_demo_seed(now=NOW, seed=1)
    experiment = Experiment.objects.get(name=EXPERIMENT_NAME)
    variants = list(experiment.variants.all())
    assignments = _assignments()
    assert len(assignments) == 60
    for learner_id, assignment in assignments.items():
        assert assignment.variant == arm_for(
            arm_position(experiment.pk, learner_id),
            holdout_share=experiment.holdout_share,
            variants=variants,
        )
        assert assignment.assigned_at == RUN_AT
    snapshots = learner_risk_snapshots(assignments)
    for nudge in Nudge.objects.filter(source=NudgeSource.TEMPLATE):
        assert (nudge.subject, nudge.body) == fallback_message(snapshots[nudge.learner_id])
    for call in LLMCall.objects.all():
        assert call.cost == llm_cost(call.model, call.tokens_in, call.tokens_out)
    results = experiment_results(experiment=experiment, actor=UserFactory())
    assert [arm.arm for arm in results.arms] == ["holdout", "llm", "template"]
    assert sum(arm.re_engaged for arm in results.arms) == 30
    for arm in results.arms[1:]:
        assert arm.n > 0
        assert arm.difference is not None
        assert arm.ci_low is not None and arm.ci_high is not None
        assert arm.p_value is not None


@pytest.mark.django_db
def test_drafts_wait_for_review_for_the_coach_s_inactive_learners(
    population: dict[str, Learner],
) -> None:
    nudges_demo_seed(now=NOW, seed=3)
    drafts = Nudge.objects.filter(status=NudgeStatus.DRAFT)
    # Inactive for a week as of now, still studying and not opted out.
    assert set(drafts.values_list("learner_id", flat=True)) == {
        population[name].pk for name in ("back", "silent", "active_then", "enrolled_after")
    }
    assert set(drafts.values_list("campaign", flat=True)) == {None}
    assert set(drafts.values_list("source", "fallback_reason")) == {
        (NudgeSource.TEMPLATE, "no_key")
    }


@pytest.mark.django_db
def test_a_fresh_pilot_experiment_waits_for_a_coach_s_campaign(
    population: dict[str, Learner],
) -> None:
    nudges_demo_seed(now=NOW, seed=3)
    pilot = Experiment.objects.get(name=PILOT_NAME)
    assert pilot.status == Experiment.Status.RUNNING and pilot.holdout_share > 0
    assert not pilot.assignments.exists()
    assert not Campaign.objects.filter(experiment=pilot).exists()
    prompts = dict(pilot.variants.values_list("name", "prompt__version"))
    assert prompts == {"llm": 1, "template": None}
    coach = UserFactory(role="coach")
    assert pilot in experiment_list(actor=coach)


@pytest.mark.django_db
def test_seeding_again_changes_nothing(population: dict[str, Learner]) -> None:
    nudges_demo_seed(now=NOW, seed=3)
    counts = (
        Nudge.objects.count(),
        ExperimentAssignment.objects.count(),
        LLMCall.objects.count(),
        PromptTemplate.objects.count(),
        Experiment.objects.count(),
    )
    again = nudges_demo_seed(now=NOW + timedelta(days=1), seed=4)
    assert again.skipped
    assert counts == (
        Nudge.objects.count(),
        ExperimentAssignment.objects.count(),
        LLMCall.objects.count(),
        PromptTemplate.objects.count(),
        Experiment.objects.count(),
    )


@pytest.mark.django_db
def test_existing_prompts_are_kept_and_the_llm_arm_uses_the_active_one(
    population: dict[str, Learner],
) -> None:
    PromptTemplate.objects.filter(key=PROMPT_KEY).delete()
    active = PromptTemplate.objects.create(
        key=PROMPT_KEY, locale="en", version=3, system_text="s", user_text="u", is_active=True
    )
    summary = nudges_demo_seed(now=NOW, seed=3)
    assert summary.prompts == 1
    assert set(PromptTemplate.objects.filter(key=PROMPT_KEY).values_list("locale", "version")) == {
        ("en", 3),
        ("fr", 1),
    }
    experiment = Experiment.objects.get(name=EXPERIMENT_NAME)
    assert experiment.variants.get(name="llm").prompt == active
    assert experiment.variants.get(name="template").prompt is None


@pytest.mark.django_db
def test_without_scored_learners_only_the_prompts_are_written_and_a_later_run_seeds(
    rules_model: Any,
) -> None:
    PromptTemplate.objects.filter(key=PROMPT_KEY).delete()
    empty = nudges_demo_seed(now=NOW)
    assert (empty.skipped, empty.learners, empty.prompts) == (False, 0, 2)
    assert not Campaign.objects.exists()
    _learner(CohortFactory(), BEFORE)
    learners_rescore(as_of=NOW)
    later = nudges_demo_seed(now=NOW)
    assert (later.learners, later.prompts) == (1, 0)


@pytest.mark.django_db
# Sizes whose nudges fit one INSERT on SQLite (Django splits a bulk insert past 999 parameters,
# which at 36 learners depended on how many the hash held out).
@pytest.mark.parametrize("learners", [10, 20])
def test_seeding_takes_the_same_queries_for_any_number_of_learners(
    rules_model: Any, django_assert_num_queries: Any, learners: int
) -> None:
    cohort = CohortFactory()
    for _ in range(learners):
        _learner(cohort, BEFORE, RUN_AT + timedelta(days=1))
    learners_rescore(as_of=NOW)
    # The prompts exist (as the data migration ships them), so none is written.
    PromptTemplate.objects.filter(key=PROMPT_KEY).delete()
    for locale in ("en", "fr"):
        PromptTemplate.objects.create(
            key=PROMPT_KEY, locale=locale, version=1, system_text="s", user_text="u", is_active=True
        )
    # Checked, prompts (2), the campaign's learners (3: ids, assessments, learners), the
    # experiment (6: its prompt, itself, variants, audit, SAVEPOINT, RELEASE), campaign, its
    # cohorts, assignment (3), calls, nudges, their times (2), re-engagement (activity, then read
    # and update nudges and assignments: 5), counted, the run's times (2), the coach's cohorts,
    # the drafts' learners (3), the drafts, the pilot experiment (6, as the first one);
    # SAVEPOINT and RELEASE.
    with django_assert_num_queries(42):
        nudges_demo_seed(now=NOW, seed=1)


@pytest.mark.django_db
def test_the_command_says_what_it_seeded_then_that_it_did_nothing(
    population: dict[str, Learner], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    first, second = StringIO(), StringIO()
    call_command("seed_nudges_demo", "--seed", "3", stdout=first)
    call_command("seed_nudges_demo", stdout=second)
    assert first.getvalue().startswith("Seeded a demo campaign and experiment: 4 learners")
    assert "re-engaged" in first.getvalue()
    assert second.getvalue() == "The demo campaign exists: no nudges seeded.\n"
