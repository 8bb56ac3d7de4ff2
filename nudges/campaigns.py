"""Campaigns: who to nudge, a preview that selects exactly what a run would, and the run itself
as a background job (docs/nudges.md, "campaigns").

A run is a ``nudges.campaign_run`` job. It selects the learners as of the job's first start
(kept across a redelivery), assigns experiment arms (stored once), then writes a nudge for each
learner on at most ``CAMPAIGN_CONCURRENCY`` threads (they mostly wait for the LLM) within the
shared requests/tokens-per-minute budget, and sends it when auto-approval holds for the
learner's cohort. A nudge is unique per campaign, learner and occurrence (the day or week of an
automation, blank for a one-off), so a run repeated, resumed after a crash or started twice
finds the nudges already written instead of writing or sending them again.
"""

import logging
import queue
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from engagement.audit import audit_record
from engagement.errors import Conflict, ValidationFailed
from engagement.iterables import chunked
from engagement.jobs import ProgressReporter, job_enqueue
from engagement.models import JOB_ACTIVE_STATUSES, Job, User
from learners.contracts import known_cohort_ids, learner_cohort_ids, visible_cohort_ids
from nudges import campaign_tasks, experiments, flags, generation, lifecycle
from nudges.budget import LLMBudget
from nudges.campaign_selectors import campaign_selection
from nudges.experiment_selectors import experiment_list
from nudges.generation import LearnerFacts
from nudges.models import (
    Campaign,
    Category,
    Experiment,
    ExperimentVariant,
    LLMCall,
    Nudge,
    NudgeStatus,
    PromptTemplate,
)
from nudges.prompts import prompt_for

logger = logging.getLogger(__name__)

#: Learners per step of a run: progress is reported (and cancellation seen) after each.
CHUNK_SIZE = 50
#: Sample messages a preview writes unless asked for another number (at most ``PREVIEW_MAX``).
PREVIEW_SAMPLE = 3
PREVIEW_MAX = 10
#: Statuses in which an auto-approved campaign's nudge still has to be sent.
UNSENT = (NudgeStatus.DRAFT, NudgeStatus.APPROVED)

T = TypeVar("T")
R = TypeVar("R")


# Creating a campaign -------------------------------------------------------------------------


def _refused(field_name: str, why: str) -> ValidationFailed:
    return ValidationFailed(why, detail={field_name: [why]})


def _scoped_cohort_ids(*, actor: Any, cohort_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The campaign's cohorts, checked: each exists and is the caller's. A coach who names none
    gets their own cohorts, so a coach's campaign never reaches beyond them."""
    visible = visible_cohort_ids(actor=actor)
    known = known_cohort_ids(cohort_ids) if visible is None else visible
    if any(cohort_id not in known for cohort_id in cohort_ids):
        raise _refused("cohorts", "No cohort with this id.")
    if cohort_ids or visible is None:
        return list(dict.fromkeys(cohort_ids))
    if not visible:
        raise _refused("cohorts", "You have no cohorts to run a campaign on.")
    return sorted(visible)


def _check_learners(
    *, actor: Any, learner_ids: Sequence[uuid.UUID], cohort_ids: Sequence[uuid.UUID]
) -> None:
    """Chosen learners exist and lie in the caller's cohorts (one answer for both: a coach
    learns nothing of learners outside their cohorts)."""
    cohorts = learner_cohort_ids(learner_ids)
    visible = visible_cohort_ids(actor=actor)
    for learner_id in learner_ids:
        cohort_id = cohorts.get(learner_id)
        if cohort_id is None or (visible is not None and cohort_id not in visible):
            raise _refused("learner_ids", f"No learner with the id {learner_id}.")
    if cohort_ids and any(cohorts[learner_id] not in cohort_ids for learner_id in learner_ids):
        raise _refused("learner_ids", "Every chosen learner must be in one of the cohorts.")


def _check_generation(*, prompt_key: str, experiment: Experiment | None) -> None:
    if prompt_key and experiment is not None:
        raise _refused("experiment", "Give a prompt key or an experiment, not both.")
    if prompt_key and not PromptTemplate.objects.filter(key=prompt_key).exists():
        raise _refused("prompt_key", "No prompt with this key.")
    if experiment is not None and experiment.status != Experiment.Status.RUNNING:
        raise _refused("experiment", "The experiment is stopped.")


#: The longest "inactive for" or "not nudged for" a campaign may ask (ten years): a larger one
#: overflows date arithmetic and reaches nobody anyway.
MAX_CRITERION_DAYS = 3650


@transaction.atomic
def campaign_create(
    *,
    actor: Any,
    name: str,
    cohort_ids: Sequence[uuid.UUID] = (),
    learner_ids: Sequence[uuid.UUID] = (),
    min_band: str = "",
    inactive_days: int | None = None,
    not_nudged_days: int | None = None,
    exclude_not_applicable: bool = True,
    channel: str,
    category: str = Category.REENGAGEMENT,
    prompt_key: str = "",
    experiment: Experiment | None = None,
    approval: str = Campaign.Approval.REVIEW,
    schedule: str = Campaign.Schedule.ONCE,
) -> Campaign:
    """A campaign within the caller's cohorts, audited; ``ValidationFailed`` names the field
    that cannot be."""
    for criterion, days in (("inactive_days", inactive_days), ("not_nudged_days", not_nudged_days)):
        if days is not None and not 0 <= days <= MAX_CRITERION_DAYS:
            raise _refused(criterion, f"Must be between 0 and {MAX_CRITERION_DAYS} days.")
    cohorts = _scoped_cohort_ids(actor=actor, cohort_ids=cohort_ids)
    learners = list(dict.fromkeys(learner_ids))
    _check_learners(actor=actor, learner_ids=learners, cohort_ids=cohort_ids)
    # Scope first: an experiment the caller cannot see is refused as absent, whatever its status.
    if (
        experiment is not None
        and not experiment_list(actor=actor).filter(pk=experiment.pk).exists()
    ):
        raise _refused("experiment", "No experiment with this id.")
    _check_generation(prompt_key=prompt_key, experiment=experiment)
    campaign = Campaign.objects.create(
        name=name,
        learner_ids=[str(learner_id) for learner_id in learners],
        min_band=min_band,
        inactive_days=inactive_days,
        not_nudged_days=not_nudged_days,
        exclude_not_applicable=exclude_not_applicable,
        channel=channel,
        category=category,
        prompt_key=prompt_key,
        experiment=experiment,
        approval=approval,
        schedule=schedule,
        created_by=actor if isinstance(actor, User) else None,
    )
    Campaign.cohorts.through.objects.bulk_create(
        Campaign.cohorts.through(campaign_id=campaign.pk, cohort_id=cohort_id)
        for cohort_id in cohorts
    )
    audit_record(
        actor=actor,
        action="campaign.create",
        target=campaign,
        changes={
            "cohorts": [str(cohort_id) for cohort_id in cohorts],
            "learners": len(learners),
            "approval": approval,
            "schedule": schedule,
            "experiment": str(experiment.pk) if experiment else None,
        },
    )
    return campaign


# Who a campaign reaches ----------------------------------------------------------------------


def campaign_occurrence(campaign: Campaign, now: datetime) -> str:
    """Which run of a campaign ``now`` falls in: blank for a one-off campaign, the UTC day or
    ISO week for an automation (one run, and one nudge per learner, each)."""
    day = now.astimezone(UTC).date()
    if campaign.schedule == Campaign.Schedule.DAILY:
        return day.isoformat()
    if campaign.schedule == Campaign.Schedule.WEEKLY:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return ""


@dataclass(frozen=True, slots=True)
class Target:
    """A selected learner and their experiment arm (``holdout``: selected, gets nothing)."""

    learner_id: uuid.UUID
    cohort_id: uuid.UUID
    variant: ExperimentVariant | None = None
    holdout: bool = False


def campaign_targets(
    campaign: Campaign, *, now: datetime, occurrence: str, actor: Any
) -> list[Target]:
    """The run's learners with their arms: the selection, within the cohorts the actor has now
    (a coach who lost a cohort since creating the campaign no longer reaches it), in cohorts
    where automations hold for an automation, each assigned an arm (stored once) when the
    campaign runs an experiment. The preview calls this too (rolling the assignments back), so
    both select the same."""
    candidates = campaign_selection(campaign, now=now, occurrence=occurrence)
    scope = None if actor is None else visible_cohort_ids(actor=actor)
    if scope is not None:
        candidates = tuple(c for c in candidates if c.cohort_id in scope)
    if campaign.schedule:
        allowed = flags.cohorts_where(flags.AUTOMATIONS, (c.cohort_id for c in candidates))
        candidates = tuple(c for c in candidates if c.cohort_id in allowed)
    experiment = campaign.experiment
    if experiment is None or not candidates:
        return [Target(learner_id=c.learner_id, cohort_id=c.cohort_id) for c in candidates]
    variants = {variant.pk: variant for variant in experiment.variants.select_related("prompt")}
    arms = experiments.experiment_assign(experiment, [c.learner_id for c in candidates], now=now)
    targets = []
    for candidate in candidates:
        arm = arms.get(candidate.learner_id)
        targets.append(
            Target(
                learner_id=candidate.learner_id,
                cohort_id=candidate.cohort_id,
                variant=None if arm is None else variants[arm.pk],
                holdout=arm is None,
            )
        )
    return targets


# Writing one learner's nudge -----------------------------------------------------------------


@dataclass
class _Writer:
    """How a campaign's nudges are written: the same for a preview and a run."""

    campaign: Campaign
    actor: Any
    budget: LLMBudget
    occurrence: str
    prompts: dict[str, PromptTemplate | None] = field(default_factory=dict)

    def draft(
        self,
        target: Target,
        *,
        campaign: Campaign | None,
        facts: generation.LearnerFacts | None = None,
    ) -> tuple[Nudge, bool]:
        """A new draft for ``target`` (``True``), or the one this occurrence already has
        (``False``) when another run wrote it meanwhile. With the learner's ``facts`` read for
        its chunk, the campaign's prompt is looked up once per locale, not once per learner."""
        variant = target.variant
        use_template = variant is not None and variant.prompt_id is None
        prompt = variant.prompt if variant else None
        if prompt is None and facts is not None and not use_template:
            prompt = self._prompt(facts.snapshot.locale)
        window = self.budget.acquire()
        try:
            nudge = generation.nudge_generate(
                learner_id=target.learner_id,
                channel=self.campaign.channel,
                actor=self.actor,
                prompt_key=self.campaign.prompt_key or None,
                prompt=prompt,
                use_template=use_template,
                category=self.campaign.category,
                campaign=campaign,
                occurrence=self.occurrence if campaign else "",
                experiment=self.campaign.experiment if variant else None,
                variant=variant,
                facts=facts,
            )
        except IntegrityError:
            self.budget.release(window)
            existing = Nudge.objects.filter(
                campaign=campaign, learner_id=target.learner_id, occurrence=self.occurrence
            ).first()
            if campaign is None or existing is None:
                raise
            return existing, False
        except BaseException:
            self.budget.release(window)
            raise
        self.budget.settle(window, nudge)
        return nudge, True

    def _prompt(self, locale: str) -> PromptTemplate | None:
        """The campaign's prompt for a locale, as it was when first needed in this run."""
        if locale not in self.prompts:
            key = self.campaign.prompt_key or generation.DEFAULT_PROMPT_KEY
            self.prompts[locale] = prompt_for(key, locale)
        return self.prompts[locale]


# Running on a few threads --------------------------------------------------------------------


class _Workers(Generic[T, R]):
    """``work`` on at most ``size`` threads (inline for one). Each thread closes its database
    connections when the run ends; the first error stops the others and is raised by ``map``."""

    def __init__(self, work: Callable[[T], R], *, size: int, stop: threading.Event) -> None:
        self._work = work
        self._stop = stop
        self._queue: queue.Queue[tuple[int, T] | None] = queue.Queue()
        self._results: dict[int, R] = {}
        self._errors: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._loop, name=f"campaign-{n}", daemon=True)
            for n in range(size if size > 1 else 0)
        ]
        for thread in self._threads:
            thread.start()

    def _loop(self) -> None:
        try:
            while (entry := self._queue.get()) is not None:
                index, item = entry
                try:
                    if not self._stop.is_set():
                        self._results[index] = self._work(item)
                except BaseException as exc:
                    self._errors.append(exc)
                    self._stop.set()
                finally:
                    self._queue.task_done()
        finally:
            connections.close_all()

    def map(self, items: Sequence[T]) -> list[R]:
        if not self._threads:
            return [self._work(item) for item in items]
        self._results = {}
        for entry in enumerate(items):
            self._queue.put(entry)
        self._queue.join()
        if self._errors:
            raise self._errors[0]
        return [self._results[index] for index in range(len(items))]

    def close(self) -> None:
        self._stop.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()


def _concurrency() -> int:
    """The threads of a run on this process's database (see ``threads_for``)."""
    return threads_for(
        vendor=connection.vendor,
        options=connection.settings_dict.get("OPTIONS", {}),
        configured=settings.CAMPAIGN_CONCURRENCY,
    )


def threads_for(*, vendor: str, options: Mapping[str, Any], configured: int) -> int:
    """``CAMPAIGN_CONCURRENCY`` threads; one on SQLite, which allows one writer at a time. With
    the connection pool on, one fewer than its size at most: each thread holds a connection and
    the job's own thread keeps one for its progress, so more threads would only wait for one."""
    if vendor == "sqlite":
        return 1
    pool = options.get("pool")
    if isinstance(pool, dict):
        return max(1, min(configured, pool["max_size"] - 1))
    return configured


# The preview ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignPreview:
    """How many learners a run would select now, how many of them an experiment holds out,
    and sample messages written the way the run writes them (never stored)."""

    count: int
    holdout: int
    sample: tuple[Nudge, ...]


class _RollBack(Exception):
    """Undoes a preview's writes."""


def campaign_preview(
    *, campaign: Campaign, actor: Any, sample: int = PREVIEW_SAMPLE, now: datetime | None = None
) -> CampaignPreview:
    """A dry run: the run's selection and assignment, and up to ``sample`` drafts written by
    ``nudge_generate``, all rolled back. The LLM calls made stay recorded (they were made)."""
    now = now or timezone.now()
    writer = _Writer(campaign=campaign, actor=actor, budget=LLMBudget(), occurrence="")
    targets: list[Target] = []
    drafts: list[Nudge] = []
    calls: list[LLMCall] = []
    try:
        with transaction.atomic():
            targets = campaign_targets(
                campaign, now=now, occurrence=campaign_occurrence(campaign, now), actor=actor
            )
            for target in [t for t in targets if not t.holdout][: min(sample, PREVIEW_MAX)]:
                drafts.append(writer.draft(target, campaign=None)[0])
            calls = list(
                LLMCall.objects.filter(pk__in=[d.llm_call_id for d in drafts if d.llm_call_id])
            )
            raise _RollBack()
    except _RollBack:
        pass
    LLMCall.objects.bulk_create(calls)
    for draft in drafts:
        draft.campaign = campaign
    holdout = sum(target.holdout for target in targets)
    return CampaignPreview(count=len(targets), holdout=holdout, sample=tuple(drafts))


def campaign_set_active(*, campaign: Campaign, active: bool, actor: Any) -> Campaign:
    """Stop a campaign (an automation no longer runs on its schedule, and no one can run it) or
    start it again; audited. A run already under way goes on: cancel its job to stop it."""
    if campaign.is_active != active:
        campaign.is_active = active
        campaign.save(update_fields=["is_active", "updated_at"])
        audit_record(
            actor=actor,
            action="campaign.activate" if active else "campaign.deactivate",
            target=campaign,
            changes={"is_active": active},
        )
    return campaign


# The run -------------------------------------------------------------------------------------


def campaign_run_request(
    *,
    campaign: Campaign,
    requested_by: User | None,
    now: datetime | None = None,
    automated: bool = False,
    idempotency_key: str = "",
    in_process: bool = False,
) -> Job:
    """Ask for a ``nudges.campaign_run`` job for the current occurrence; a run of this campaign
    still queued or running is returned instead of starting a second one. An automation's run
    is keyed on its occurrence, so the schedule firing twice runs it once."""
    if not campaign.is_active:
        raise Conflict("This campaign is inactive.")
    occurrence = campaign_occurrence(campaign, now or timezone.now())
    active = Job.objects.filter(
        kind=campaign_tasks.CAMPAIGN_RUN,
        status__in=JOB_ACTIVE_STATUSES,
        params__campaign_id=str(campaign.pk),
    ).first()
    if active is not None:
        return active
    if automated and not idempotency_key:
        idempotency_key = f"campaign:{campaign.pk}:{occurrence}"
    job = job_enqueue(
        campaign_tasks.campaign_run_task,
        {"campaign_id": str(campaign.pk), "occurrence": occurrence},
        requested_by=requested_by,
        idempotency_key=idempotency_key,
        in_process=in_process,
    )
    audit_record(
        actor=requested_by,
        action="campaign.run",
        target=campaign,
        changes={"job": str(job.pk), "occurrence": occurrence, "automated": automated},
    )
    return job


@dataclass
class _Tally:
    created: int = 0
    existing: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: tuple[bool, str]) -> None:
        created, status = outcome
        self.created += created
        self.existing += not created
        self.statuses[status] += 1


def campaign_run(*, job: Job, on_progress: ProgressReporter) -> dict[str, Any]:
    """The work of a ``nudges.campaign_run`` job (see the module docstring); its result counts
    learners and nudges, no personal data. Stops at the next step once the job is cancelled."""
    campaign = Campaign.objects.select_related("experiment", "created_by").get(
        pk=job.params["campaign_id"]
    )
    occurrence = str(job.params.get("occurrence", ""))
    now = job.started_at or timezone.now()
    actor = job.requested_by or campaign.created_by
    targets = campaign_targets(campaign, now=now, occurrence=occurrence, actor=actor)
    reached = [target for target in targets if not target.holdout]
    auto = (
        flags.cohorts_where(flags.AUTO_APPROVAL, (t.cohort_id for t in reached))
        if campaign.approval == Campaign.Approval.AUTO
        else frozenset()
    )
    stop = threading.Event()
    done = 0

    def waiting() -> None:  # on a thread waiting for the budget: raises once cancelled
        on_progress(done / len(reached))

    budget = LLMBudget(stop=stop, waiting=waiting)
    writer = _Writer(campaign=campaign, actor=actor, budget=budget, occurrence=occurrence)

    def nudge_one(item: tuple[Target, Nudge | None, LearnerFacts | None]) -> tuple[bool, str]:
        target, nudge, facts = item
        created = nudge is None
        if nudge is None:
            nudge, created = writer.draft(target, campaign=campaign, facts=facts)
        if target.cohort_id in auto and nudge.status in UNSENT:
            nudge = lifecycle.nudge_send(nudge=nudge, actor=actor)
        return created, nudge.status

    tally = _Tally()
    workers: _Workers[tuple[Target, Nudge | None, LearnerFacts | None], tuple[bool, str]] = (
        _Workers(nudge_one, size=_concurrency(), stop=stop)
    )
    try:
        for chunk in chunked(reached, CHUNK_SIZE):
            found = _existing_nudges(campaign, occurrence, [t.learner_id for t in chunk])
            facts = generation.learner_facts(
                actor=actor, learner_ids=[t.learner_id for t in chunk if t.learner_id not in found]
            )
            items = [(t, found.get(t.learner_id), facts.get(t.learner_id)) for t in chunk]
            for outcome in workers.map(items):
                tally.add(outcome)
            done += len(chunk)
            on_progress(done / len(reached))
    finally:
        workers.close()
    Campaign.objects.filter(pk=campaign.pk).update(last_run_at=now)
    return {
        "campaign_id": str(campaign.pk),
        "occurrence": occurrence,
        "selected": len(targets),
        "holdout": len(targets) - len(reached),
        "created": tally.created,
        "existing": tally.existing,
        "by_status": dict(sorted(tally.statuses.items())),
    }


def _existing_nudges(
    campaign: Campaign, occurrence: str, learner_ids: Sequence[uuid.UUID]
) -> Mapping[uuid.UUID, Nudge]:
    """The nudges this occurrence already has for these learners (one query)."""
    nudges = Nudge.objects.filter(
        campaign=campaign, occurrence=occurrence, learner_id__in=learner_ids
    )
    return {nudge.learner_id: nudge for nudge in nudges}


# Automations ---------------------------------------------------------------------------------


def campaign_automations_run(*, now: datetime | None = None) -> list[Job]:
    """Start the current occurrence of every active automation (daily or weekly campaign)
    that has not run yet, when the ``nudges_automations`` flag is on."""
    now = now or timezone.now()
    if not flags.flag_enabled(flags.AUTOMATIONS):
        return []
    automations = Campaign.objects.filter(is_active=True).exclude(schedule="")
    return [
        campaign_run_request(campaign=campaign, requested_by=None, now=now, automated=True)
        for campaign in automations.order_by("created_at", "id")
    ]
