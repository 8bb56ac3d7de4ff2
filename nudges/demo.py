"""Demo nudges for ``make run`` (``manage.py seed_nudges_demo``): a campaign with an experiment
that ran some days ago, so its results show at once, and drafts waiting for review.

The campaign is history, so its rows are written directly (set-based ``bulk_create``), the way
``seed_demo`` writes learners, not through the services, which act as of now. Who re-engaged
is read from the seeded activity: each arm's rate is what the learners really did after the
send, and the arms differ by chance only (seeded learners read no messages). Assignment draws
from the seed, so the same population always gives the same rows.
"""

# Demo data, not security: a seeded, reproducible pseudo-random generator is the point here.
# ruff: noqa: S311

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from learners.contracts import (
    RiskSnapshot,
    first_activity_after,
    inactive_learners_at,
    learner_risk_snapshots,
    recent_cohort_ids,
)
from nudges.models import (
    Campaign,
    Channel,
    Experiment,
    ExperimentAssignment,
    ExperimentVariant,
    LLMCall,
    LLMOutcome,
    Nudge,
    NudgeSource,
    NudgeStatus,
    PromptTemplate,
)

CAMPAIGN_NAME = "Demo: win back learners inactive for a week"
EXPERIMENT_NAME = "Demo: the LLM prompt against the template"
PROMPT_KEY = "reengage"
RUN_DAYS_AGO = 10
INACTIVE_DAYS = 7
HOLDOUT_SHARE = 0.2
LLM_ARM, TEMPLATE_ARM, HOLDOUT = "llm", "template", "holdout"
# One LLM answer in this many breaks a guardrail and is replaced by the template.
GUARDRAIL_FAILURE_ONE_IN = 12
# Drafts waiting for review in the demo coach's cohorts (the two that started last).
COACH_COHORTS = 2
DRAFTS = 6
SEND_INTERVAL = timedelta(milliseconds=400)
MILLION = Decimal(1_000_000)
COST_PLACES = Decimal("0.000001")

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
# (subject, body) by locale and arm; learners of other locales get English.
TEXTS = {
    "en": {
        LLM_ARM: (
            "{first_name}, a short step back into {cohort}",
            "Hi {first_name},\n\nIt has been a little while since your last session in "
            "{cohort}. Picking up where you left off takes ten minutes: open the next lesson "
            "and the rest follows.\n\nYour coach is here if anything is in the way.",
        ),
        TEMPLATE_ARM: (
            "Your next lesson in {cohort} is ready",
            "Hello {first_name},\n\nYou have not been active in {cohort} for a while. Your "
            "next lesson is ready whenever you are.\n\nReply to this message if you need help.",
        ),
    },
    "fr": {
        LLM_ARM: (
            "{first_name}, un petit pas pour revenir dans {cohort}",
            "Bonjour {first_name},\n\nVotre dernière séance dans {cohort} date un peu. "
            "Reprendre là où vous en étiez prend dix minutes : ouvrez la leçon suivante, la "
            "suite viendra.\n\nVotre coach est là si quelque chose vous bloque.",
        ),
        TEMPLATE_ARM: (
            "Votre prochaine leçon dans {cohort} vous attend",
            "Bonjour {first_name},\n\nVous n'avez pas été actif dans {cohort} depuis un "
            "moment. Votre prochaine leçon est prête quand vous l'êtes.\n\nRépondez à ce "
            "message si vous avez besoin d'aide.",
        ),
    },
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


@dataclass(frozen=True, slots=True)
class _Arm:
    name: str
    variant: ExperimentVariant | None


def nudges_demo_seed(*, now: datetime, seed: int = 42) -> NudgesDemoSummary:
    """Write the demo's prompts (when missing), its past campaign with an experiment and a few
    drafts, in one transaction and a constant number of queries. Nothing happens when the demo
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
        experiment, arms = _experiment_create(prompts["en"])
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
            campaign=campaign,
            experiment=experiment,
            arms=arms,
            prompts=prompts,
            snapshots=[snapshots[m.learner_id] for m in audience if m.learner_id in snapshots],
        )
        # Created when the campaign ran.
        Campaign.objects.filter(pk=campaign.pk).update(created_at=run_at, updated_at=run_at)
        Experiment.objects.filter(pk=experiment.pk).update(created_at=run_at, updated_at=run_at)
        _drafts_write(summary, now=now)
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


def _experiment_create(prompt: PromptTemplate) -> tuple[Experiment, list[_Arm]]:
    experiment = Experiment.objects.create(
        name=EXPERIMENT_NAME,
        holdout_share=HOLDOUT_SHARE,
        attribution_days=settings.NUDGE_ATTRIBUTION_DAYS,
    )
    variants = ExperimentVariant.objects.bulk_create(
        [
            ExperimentVariant(experiment=experiment, name=LLM_ARM, prompt=prompt),
            ExperimentVariant(experiment=experiment, name=TEMPLATE_ARM),
        ]
    )
    return experiment, [_Arm(variant.name, variant) for variant in variants]


def _arm_draw(rng: random.Random, arms: list[_Arm]) -> _Arm:
    """The holdout below its share, the (equally weighted) variants above it."""
    draw = rng.random()
    if draw < HOLDOUT_SHARE:
        return _Arm(HOLDOUT, None)
    return arms[int((draw - HOLDOUT_SHARE) / (1 - HOLDOUT_SHARE) * len(arms))]


def _text(snapshot: RiskSnapshot, arm: str) -> tuple[str, str]:
    subject, body = TEXTS.get(snapshot.locale, TEXTS["en"])[arm]
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
    price_in, price_out = settings.LLM_PRICES.get(model, (Decimal(0), Decimal(0)))
    cost = (tokens_in * price_in + tokens_out * price_out) / MILLION
    return LLMCall(
        prompt=prompt,
        model=model,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=cost.quantize(COST_PLACES),
        latency_ms=rng.randint(300, 900),
        attempts=1,
        outcome=LLMOutcome.OK,
    )


def _campaign_write(
    summary: NudgesDemoSummary,
    *,
    rng: random.Random,
    run_at: datetime,
    campaign: Campaign,
    experiment: Experiment,
    arms: list[_Arm],
    prompts: dict[str, PromptTemplate],
    snapshots: list[RiskSnapshot],
) -> None:
    """Assign every learner, send the arms' nudges (suppressing opted-out learners), and mark
    who came back within the window after their send (after the assignment: the holdout)."""
    assignments: list[ExperimentAssignment] = []
    nudges: list[Nudge] = []
    calls: list[LLMCall] = []
    for position, snapshot in enumerate(snapshots):
        arm = _arm_draw(rng, arms)
        summary.arms[arm.name] += 1
        assignment = ExperimentAssignment(
            experiment=experiment,
            learner_id=snapshot.learner_id,
            variant=arm.variant,
            assigned_at=run_at,
            exposed_at=run_at if arm.variant is None else None,
        )
        assignments.append(assignment)
        if arm.variant is None:
            continue
        nudge = Nudge(
            learner_id=snapshot.learner_id,
            channel=Channel.EMAIL,
            campaign=campaign,
            experiment=experiment,
            variant=arm.variant,
            source=NudgeSource.TEMPLATE,
            risk_snapshot=_risk_snapshot(snapshot),
            approved_at=run_at,
        )
        nudge.subject, nudge.body = _text(snapshot, TEMPLATE_ARM)
        if arm.name == LLM_ARM:
            prompt = prompts.get(snapshot.locale, prompts["en"])
            call = _llm_call(rng, prompt)
            calls.append(call)
            nudge.prompt, nudge.llm_call = prompt, call
            subject, body = _text(snapshot, LLM_ARM)
            if rng.randrange(GUARDRAIL_FAILURE_ONE_IN) == 0:
                nudge.fallback_reason = "guardrail:link"
                nudge.guardrail_failures = ["link"]
                nudge.rejected_text = f"{subject}\n\n{body}{REJECTED_LINK}"
            else:
                nudge.source, nudge.subject, nudge.body = NudgeSource.LLM, subject, body
        if snapshot.nudge_opt_out:
            nudge.status, nudge.suppressed_rule = NudgeStatus.SUPPRESSED, "opt_out"
        else:
            nudge.status, nudge.sent_at = NudgeStatus.SENT, run_at + SEND_INTERVAL * position
            assignment.exposed_at = nudge.sent_at
        summary.statuses[nudge.status] += 1
        nudges.append(nudge)
    came_back = first_activity_after(
        {a.learner_id: a.exposed_at for a in assignments if a.exposed_at is not None},
        within=timedelta(days=experiment.attribution_days),
    )
    for assignment in assignments:
        assignment.re_engaged_at = came_back.get(assignment.learner_id)
    for nudge in nudges:
        nudge.re_engaged_at = came_back.get(nudge.learner_id) if nudge.sent_at else None
    LLMCall.objects.bulk_create(calls)
    ExperimentAssignment.objects.bulk_create(assignments)
    Nudge.objects.bulk_create(nudges)
    # Their creation and update times are those of the run, ten days ago.
    LLMCall.objects.filter(id__in=[call.id for call in calls]).update(created_at=run_at)
    Nudge.objects.filter(campaign=campaign).update(created_at=run_at, updated_at=run_at)
    summary.learners = len(assignments)
    summary.llm_calls = len(calls)
    summary.re_engaged = len(came_back)


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
        subject, body = _text(snapshot, TEMPLATE_ARM)
        drafts.append(
            Nudge(
                learner_id=snapshot.learner_id,
                channel=Channel.IN_APP if len(drafts) % 2 else Channel.EMAIL,
                status=NudgeStatus.DRAFT,
                source=NudgeSource.TEMPLATE,
                fallback_reason="" if settings.OPENAI_API_KEY else "no_key",
                subject=subject,
                body=body,
                risk_snapshot=_risk_snapshot(snapshot),
            )
        )
    Nudge.objects.bulk_create(drafts)
    summary.statuses[NudgeStatus.DRAFT] += len(drafts)
