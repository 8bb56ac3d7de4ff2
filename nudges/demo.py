"""Demo nudges for ``make run`` (``manage.py seed_nudges_demo``): a campaign with an experiment
that ran some days ago, so its results show at once, drafts waiting for review, and a second,
fresh experiment nobody is assigned to yet: a learner's first exposure is the one that counts,
so a new campaign on the first experiment would add nothing to its results, while one on the
pilot shows results once its learners come back.

The campaign is history: the services that act as of a given time run as of the run
(the experiment's deterministic assignment), the rest write its rows directly (set-based
``bulk_create``), with the template's own text, the contact policy's rule names and the LLM
price table's costs. Who re-engaged is the re-engagement listener's answer to the seeded
activity since the run, replayed as ingestion would have handed it: each arm's rate is what the
learners really did after the send, and the arms differ by chance only (seeded learners read no
messages). Only the LLM's answers are made up: its text, one answer in twelve failing a
guardrail, and tokens and latency drawn from the seed.
"""

# Demo data, not security: a seeded, reproducible pseudo-random generator is the point here.
# ruff: noqa: S311

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from learners.contracts import (
    RiskSnapshot,
    inactive_learners_at,
    learner_activity,
    learner_risk_snapshots,
    recent_cohort_ids,
)
from nudges.experiments import HOLDOUT, experiment_assign, experiment_create, re_engagement_record
from nudges.fallback_templates import fallback_message
from nudges.generation import NO_KEY
from nudges.llm.calls import llm_cost
from nudges.models import (
    Campaign,
    Channel,
    Experiment,
    ExperimentAssignment,
    LLMCall,
    LLMOutcome,
    Nudge,
    NudgeSource,
    NudgeStatus,
    PromptTemplate,
)
from nudges.policy import Rule

CAMPAIGN_NAME = "Demo: win back learners inactive for a week"
EXPERIMENT_NAME = "Demo: the LLM prompt against the template"
PILOT_NAME = "Pilot: prompt v1 vs template"
PROMPT_KEY = "reengage"
RUN_DAYS_AGO = 10
INACTIVE_DAYS = 7
HOLDOUT_SHARE = 0.2
LLM_ARM, TEMPLATE_ARM = "llm", "template"
# The first LLM answer and one in this many after it break a guardrail: the template replaces them.
GUARDRAIL_FAILURE_ONE_IN = 12
# Drafts waiting for review in the demo coach's cohorts (the two that started last).
COACH_COHORTS = 2
DRAFTS = 6
SEND_INTERVAL = timedelta(milliseconds=400)

# The prompt the data migration 0002 ships (same placeholders), written here only when missing.
PROMPTS = {
    "en": (
        "You write short, warm messages from a learning programme to one of its learners. "
        "Never shame, threaten or invent facts; use only the first name. Answer with JSON "
        'only: {{"subject": "...", "body": "..."}}.',
        "Learner's first name: {first_name}\nCohort: {cohort}\nCourse: {course}\n"
        "Days since their last activity: {days_inactive}\nProgress: {progress}\n"
        "What puts them at risk:\n{factors}\nThe step that would help most: {best_lever}\n"
        "Write the message in {language} (locale {locale}).",
    ),
    "fr": (
        "Vous rédigez de courts messages chaleureux d'un programme de formation à l'un de ses "
        "apprenants. Jamais de honte, de menace ni de faits inventés ; le prénom seul. "
        'Répondez uniquement en JSON : {{"subject": "...", "body": "..."}}.',
        "Prénom : {first_name}\nPromotion : {cohort}\nCours : {course}\n"
        "Jours depuis sa dernière activité : {days_inactive}\nProgression : {progress}\n"
        "Ce qui le met en risque :\n{factors}\nL'étape qui aiderait le plus : {best_lever}\n"
        "Rédigez le message en français (locale {locale}).",
    ),
}
# What the demo's LLM answered (subject, body) by locale; learners of other locales get English.
LLM_TEXTS = {
    "en": (
        "{first_name}, a short step back into {cohort}",
        "Hi {first_name},\n\nIt has been a little while since your last session in "
        "{cohort}. Picking up where you left off takes ten minutes: open the next lesson "
        "and the rest follows.\n\nYour coach is here if anything is in the way.",
    ),
    "fr": (
        "{first_name}, un petit pas pour revenir dans {cohort}",
        "Bonjour {first_name},\n\nVotre dernière séance dans {cohort} date un peu. "
        "Reprendre là où vous en étiez prend dix minutes : ouvrez la leçon suivante, la "
        "suite viendra.\n\nVotre coach est là si quelque chose vous bloque.",
    ),
}
REJECTED_LINK = "\n\nBook a catch-up call here: https://calendar.example.net/coach"


@dataclass
class NudgesDemoSummary:
    """What a seeding run wrote; ``skipped`` when the demo campaign already existed."""

    prompts: int = 0
    learners: int = 0
    arms: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    re_engaged: int = 0
    llm_calls: int = 0
    skipped: bool = False


def nudges_demo_seed(*, now: datetime, seed: int = 42) -> NudgesDemoSummary:
    """Write the demo's prompts (when missing), its past campaign with an experiment, a few
    drafts and the fresh pilot experiment (running, unused), in one transaction and a constant number of queries. Nothing happens when the demo
    campaign exists, so it is safe on every start; with no scored learner inactive at the run
    only the prompts are written (a later start tries again)."""
    if Campaign.objects.filter(name=CAMPAIGN_NAME).exists():
        return NudgesDemoSummary(skipped=True)
    rng = random.Random(seed)
    run_at = now - timedelta(days=RUN_DAYS_AGO)
    with transaction.atomic():
        summary = NudgesDemoSummary(prompts=_prompts_ensure())
        prompts = {
            prompt.locale: prompt
            for prompt in PromptTemplate.objects.filter(key=PROMPT_KEY, is_active=True)
        }
        audience = inactive_learners_at(as_of=run_at, inactive_days=INACTIVE_DAYS)
        snapshots = learner_risk_snapshots(member.learner_id for member in audience)
        if not snapshots:
            return summary
        experiment = _experiment_create(prompts["en"])
        campaign = Campaign.objects.create(
            name=CAMPAIGN_NAME,
            inactive_days=INACTIVE_DAYS,
            channel=Channel.EMAIL,
            prompt_key=PROMPT_KEY,
            experiment=experiment,
            approval=Campaign.Approval.AUTO,
            last_run_at=run_at,
        )
        reached = {member.cohort_id for member in audience if member.learner_id in snapshots}
        Campaign.cohorts.through.objects.bulk_create(
            Campaign.cohorts.through(campaign_id=campaign.pk, cohort_id=cohort_id)
            for cohort_id in sorted(reached)
        )
        _campaign_write(
            summary,
            rng=rng,
            run_at=run_at,
            now=now,
            campaign=campaign,
            experiment=experiment,
            prompts=prompts,
            snapshots=[snapshots[m.learner_id] for m in audience if m.learner_id in snapshots],
        )
        # Created when the campaign ran.
        Campaign.objects.filter(pk=campaign.pk).update(created_at=run_at, updated_at=run_at)
        Experiment.objects.filter(pk=experiment.pk).update(created_at=run_at, updated_at=run_at)
        _drafts_write(summary, now=now)
        _experiment_create(prompts["en"], name=PILOT_NAME)
    return summary


def _prompts_ensure() -> int:
    """The ``reengage`` prompt's first version in each locale that has no version at all."""
    present = set(PromptTemplate.objects.filter(key=PROMPT_KEY).values_list("locale", flat=True))
    created = PromptTemplate.objects.bulk_create(
        PromptTemplate(
            key=PROMPT_KEY,
            version=1,
            locale=locale,
            system_text=system_text,
            user_text=user_text,
            is_active=True,
        )
        for locale, (system_text, user_text) in PROMPTS.items()
        if locale not in present
    )
    return len(created)


def _experiment_create(prompt: PromptTemplate, *, name: str = EXPERIMENT_NAME) -> Experiment:
    """The LLM's prompt against the template, equally weighted, and the holdout."""
    return experiment_create(
        name=name,
        variants=[
            {"name": LLM_ARM, "weight": 1, "prompt": prompt.pk},
            {"name": TEMPLATE_ARM, "weight": 1, "prompt": None},
        ],
        holdout_share=HOLDOUT_SHARE,
        actor=None,
    )


def _llm_text(snapshot: RiskSnapshot) -> tuple[str, str]:
    subject, body = LLM_TEXTS.get(snapshot.locale, LLM_TEXTS["en"])
    values = {"first_name": snapshot.first_name, "cohort": snapshot.cohort_name}
    return subject.format_map(values), body.format_map(values)


def _risk_snapshot(snapshot: RiskSnapshot) -> dict[str, object]:
    return {
        "score": snapshot.score,
        "band": snapshot.band,
        "top_factors": [factor.name for factor in snapshot.top_factors],
    }


def _llm_call(rng: random.Random, prompt: PromptTemplate) -> LLMCall:
    """A recorded, successful call with the tokens and latency of a short nudge."""
    model = prompt.model or settings.OPENAI_MODEL
    tokens_in, tokens_out = rng.randint(380, 460), rng.randint(80, 140)
    return LLMCall(
        prompt=prompt,
        model=model,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=llm_cost(model, tokens_in, tokens_out),
        latency_ms=rng.randint(300, 900),
        attempts=1,
        outcome=LLMOutcome.OK,
    )


def _campaign_write(
    summary: NudgesDemoSummary,
    *,
    rng: random.Random,
    run_at: datetime,
    now: datetime,
    campaign: Campaign,
    experiment: Experiment,
    prompts: dict[str, PromptTemplate],
    snapshots: list[RiskSnapshot],
) -> None:
    """Assign every learner as of the run, send the variants' nudges (suppressing opted-out
    learners, as the contact policy does), then replay the activity since the run to the
    re-engagement listener, which marks who came back within the window."""
    arms = experiment_assign(experiment, (s.learner_id for s in snapshots), now=run_at)
    nudges: list[Nudge] = []
    calls: list[LLMCall] = []
    for position, snapshot in enumerate(snapshots):
        variant = arms[snapshot.learner_id]
        summary.arms[HOLDOUT if variant is None else variant.name] += 1
        if variant is None:
            continue
        nudge = Nudge(
            learner_id=snapshot.learner_id,
            channel=Channel.EMAIL,
            campaign=campaign,
            experiment=experiment,
            variant=variant,
            source=NudgeSource.TEMPLATE,
            risk_snapshot=_risk_snapshot(snapshot),
            approved_at=run_at,
        )
        nudge.subject, nudge.body = fallback_message(snapshot)
        if variant.prompt_id is not None:
            prompt = prompts.get(snapshot.locale, prompts["en"])
            call = _llm_call(rng, prompt)
            nudge.prompt, nudge.llm_call = prompt, call
            subject, body = _llm_text(snapshot)
            if len(calls) % GUARDRAIL_FAILURE_ONE_IN == 0:
                nudge.fallback_reason = "guardrail:link"
                nudge.guardrail_failures = ["link"]
                nudge.rejected_text = f"{subject}\n\n{body}{REJECTED_LINK}"
            else:
                nudge.source, nudge.subject, nudge.body = NudgeSource.LLM, subject, body
            calls.append(call)
        if snapshot.nudge_opt_out:
            nudge.status, nudge.suppressed_rule = NudgeStatus.SUPPRESSED, Rule.OPTED_OUT
        else:
            nudge.status, nudge.sent_at = NudgeStatus.SENT, run_at + SEND_INTERVAL * position
        summary.statuses[nudge.status] += 1
        nudges.append(nudge)
    LLMCall.objects.bulk_create(calls)
    Nudge.objects.bulk_create(nudges)
    # Their creation and update times are those of the run, ten days ago.
    LLMCall.objects.filter(id__in=[call.id for call in calls]).update(created_at=run_at)
    Nudge.objects.filter(campaign=campaign).update(created_at=run_at, updated_at=run_at)
    re_engagement_record(learner_activity(arms, since=run_at, until=now))
    summary.learners = len(arms)
    summary.llm_calls = len(calls)
    summary.re_engaged = ExperimentAssignment.objects.filter(
        experiment=experiment, re_engaged_at__isnull=False
    ).count()


def _drafts_write(summary: NudgesDemoSummary, *, now: datetime) -> None:
    """Template drafts for the demo coach's riskiest inactive learners, to approve and send
    from the dashboard; without an LLM key they say so, as generation would."""
    audience = inactive_learners_at(
        as_of=now,
        inactive_days=INACTIVE_DAYS,
        cohort_ids=frozenset(recent_cohort_ids(COACH_COHORTS)),
    )
    snapshots = learner_risk_snapshots(member.learner_id for member in audience)
    chosen = sorted(
        (s for s in snapshots.values() if s.studying and not s.nudge_opt_out),
        key=lambda snapshot: (-snapshot.score, snapshot.learner_id),
    )[:DRAFTS]
    drafts: list[Nudge] = []
    for snapshot in chosen:
        subject, body = fallback_message(snapshot)
        drafts.append(
            Nudge(
                learner_id=snapshot.learner_id,
                channel=Channel.IN_APP if len(drafts) % 2 else Channel.EMAIL,
                status=NudgeStatus.DRAFT,
                source=NudgeSource.TEMPLATE,
                fallback_reason="" if settings.OPENAI_API_KEY else NO_KEY,
                subject=subject,
                body=body,
                risk_snapshot=_risk_snapshot(snapshot),
            )
        )
    Nudge.objects.bulk_create(drafts)
    summary.statuses[NudgeStatus.DRAFT] += len(drafts)
