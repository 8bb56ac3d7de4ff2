"""Writing a nudge: by the LLM from the learner's safe context, or from the template of their
top risk factor, and always ending as a stored draft (issue 13, §1 and §3).

The LLM is asked only when a prompt applies, a key is configured and the
``nudges_llm_generation`` flag holds for the learner's cohort. Any LLM failure, and any text a
guardrail rejects, yields the template with ``fallback_reason`` saying why; rejected text is
kept on the nudge for review and never sent. The LLM wait happens outside any transaction.
"""

import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from engagement.audit import audit_record
from engagement.errors import ValidationFailed
from engagement.models import User
from learners.contracts import (
    RiskSnapshot,
    learner_cohort_in_scope,
    learner_cohorts_in_scope,
    learner_risk_snapshot,
    learner_risk_snapshots,
)
from nudges.fallback_templates import fallback_message
from nudges.flags import LLM_GENERATION, cohorts_where, flag_enabled
from nudges.guardrails import guardrail_context, guardrail_failures
from nudges.llm.client import LLMFailure, LLMRequest, llm_complete, llm_configured, llm_stream
from nudges.models import (
    Campaign,
    Category,
    Experiment,
    ExperimentVariant,
    LLMCall,
    Nudge,
    NudgeSource,
    PromptTemplate,
)
from nudges.prompts import DEFAULT_PROMPT_KEY, prompt_context, prompt_for, prompt_render
from nudges.rendering import TemplateRefused

#: ``fallback_reason`` when no LLM key is configured (also for ``LLMFailure("not_configured")``).
NO_KEY = "no_key"
#: ``fallback_reason`` when the ``nudges_llm_generation`` flag is off for the learner's cohort.
FLAG_OFF = "flag_off"
#: ``fallback_reason`` when no active prompt has the key (in the learner's locale or English).
NO_PROMPT = "no_prompt"
#: ``fallback_reason`` when the prompt version's text cannot be rendered for this learner.
PROMPT_REFUSED = "prompt_refused"

#: Prefix of the ``fallback_reason`` for LLM text a guardrail rejected: ``guardrail:<first rule>``.
GUARDRAIL = "guardrail:"

#: Every ``fallback_reason`` said in words (the pages show these, with the code for staff).
FALLBACK_REASONS: dict[str, Promise] = {
    NO_KEY: gettext_lazy("no LLM key is configured"),
    FLAG_OFF: gettext_lazy("LLM writing is switched off for this learner's cohort"),
    NO_PROMPT: gettext_lazy("no active prompt applies"),
    PROMPT_REFUSED: gettext_lazy("the active prompt cannot be filled in for this learner"),
    "timeout": gettext_lazy("the LLM did not answer in time"),
    "rate_limited": gettext_lazy("the LLM is refusing requests for now (rate limit)"),
    "server_error": gettext_lazy("the LLM server failed"),
    "invalid": gettext_lazy("the LLM's answer was not a usable message"),
    "error": gettext_lazy("the LLM call failed"),
    "circuit_open": gettext_lazy("the LLM is paused after repeated failures"),
    f"{GUARDRAIL}length": gettext_lazy("the LLM's text was empty or too long"),
    f"{GUARDRAIL}email": gettext_lazy("the LLM's text contained an email address"),
    f"{GUARDRAIL}phone": gettext_lazy("the LLM's text contained a phone number"),
    f"{GUARDRAIL}other_name": gettext_lazy("the LLM's text named someone other than the learner"),
    f"{GUARDRAIL}link": gettext_lazy("the LLM's text linked to a site that is not allowed"),
    f"{GUARDRAIL}number": gettext_lazy("the LLM's text had a number not in the learner's data"),
    f"{GUARDRAIL}tone": gettext_lazy("the LLM's text used shaming or threatening words"),
}


def fallback_reason_text(reason: str) -> str:
    """Why the template wrote a nudge, in words; the code itself for a reason not known here
    (an older row), so nothing is hidden."""
    text = FALLBACK_REASONS.get(reason)
    return str(text) if text is not None else reason


NOT_SCORED = "Not scored yet: a nudge is written from the learner's risk factors."


@dataclass(frozen=True, slots=True)
class Draft:
    """A message written, before it is stored: who wrote it and, for a template, why."""

    source: str
    subject: str
    body: str
    fallback_reason: str = ""
    rejected_text: str = ""
    guardrail_failures: list[str] = field(default_factory=list)
    prompt: PromptTemplate | None = None
    llm_call: LLMCall | None = None


@dataclass(frozen=True, slots=True)
class LearnerFacts:
    """What generation knows of a learner: their cohort, snapshot and safe context, and whether
    the ``nudges_llm_generation`` flag holds in their cohort."""

    cohort_id: uuid.UUID
    snapshot: RiskSnapshot
    context: dict[str, str]
    llm_allowed: bool


def learner_facts(*, actor: Any, learner_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, LearnerFacts]:
    """The facts of the learners the caller may see that are scored (others absent), in a few
    queries whatever their number: a campaign reads a chunk's at once and hands each to
    ``nudge_generate``."""
    cohorts = learner_cohorts_in_scope(
        actor=actor if isinstance(actor, User) else None, learner_ids=learner_ids
    )
    allowed = cohorts_where(LLM_GENERATION, cohorts.values())
    return {
        learner_id: _facts(
            cohorts[learner_id], snapshot, llm_allowed=cohorts[learner_id] in allowed
        )
        for learner_id, snapshot in learner_risk_snapshots(cohorts).items()
    }


def _facts(cohort_id: uuid.UUID, snapshot: RiskSnapshot, *, llm_allowed: bool) -> LearnerFacts:
    return LearnerFacts(
        cohort_id=cohort_id,
        snapshot=snapshot,
        context=prompt_context(snapshot),
        llm_allowed=llm_allowed,
    )


def nudge_generate(
    *,
    learner_id: uuid.UUID,
    channel: str,
    actor: Any,
    prompt_key: str | None = None,
    prompt: PromptTemplate | None = None,
    use_template: bool = False,
    category: str = Category.REENGAGEMENT,
    campaign: Campaign | None = None,
    occurrence: str = "",
    experiment: Experiment | None = None,
    variant: ExperimentVariant | None = None,
    facts: LearnerFacts | None = None,
) -> Nudge:
    """A stored draft nudge for the learner: LLM-written, or the template with its
    ``fallback_reason``. Never raises for an LLM fault. ``NotFound`` outside the caller's
    cohorts, ``ValidationFailed`` for a learner not scored yet. For a campaign, the nudge its
    occurrence already made is returned rather than a second one. A caller that has read the
    learner's ``facts`` (from ``learner_facts``, in scope and scored) passes them; a campaign
    has then also looked for its occurrence's nudges, and the unique constraint catches a race."""
    if facts is None:
        if campaign is not None:
            existing = _campaign_nudge(campaign, learner_id, occurrence)
            if existing is not None:
                return existing
        facts = _learner(actor=actor, learner_id=learner_id)
    learner = facts
    if use_template:
        draft = _template(learner.snapshot)
    else:
        chosen = prompt or prompt_for(prompt_key or DEFAULT_PROMPT_KEY, learner.snapshot.locale)
        draft = _written(learner, chosen)
    try:
        with transaction.atomic():
            nudge = Nudge.objects.create(
                learner_id=learner_id,
                channel=channel,
                category=category,
                source=draft.source,
                fallback_reason=draft.fallback_reason,
                subject=draft.subject,
                body=draft.body,
                rejected_text=draft.rejected_text,
                guardrail_failures=draft.guardrail_failures,
                prompt=draft.prompt,
                llm_call=draft.llm_call,
                campaign=campaign,
                occurrence=occurrence,
                experiment=experiment,
                variant=variant,
                risk_snapshot=_risk_snapshot(learner.snapshot),
                created_by=actor if isinstance(actor, User) else None,
            )
            audit_record(
                actor=actor,
                action="nudge.generate",
                target=nudge,
                changes={
                    "source": nudge.source,
                    "channel": channel,
                    "fallback_reason": nudge.fallback_reason,
                    "prompt_version": draft.prompt.version if draft.prompt else None,
                },
            )
    except IntegrityError:
        existing = _campaign_nudge(campaign, learner_id, occurrence) if campaign else None
        if existing is None:
            raise
        return existing  # the same occurrence, made meanwhile by another worker
    return nudge


def _campaign_nudge(campaign: Campaign, learner_id: uuid.UUID, occurrence: str) -> Nudge | None:
    return Nudge.objects.filter(
        campaign=campaign, learner_id=learner_id, occurrence=occurrence
    ).first()


def _learner(*, actor: Any, learner_id: uuid.UUID) -> LearnerFacts:
    cohort_id = learner_cohort_in_scope(
        actor=actor if isinstance(actor, User) else None, learner_id=learner_id
    )
    snapshot = learner_risk_snapshot(learner_id)
    if snapshot is None:
        raise ValidationFailed(NOT_SCORED, detail={"learner": [NOT_SCORED]})
    return _facts(cohort_id, snapshot, llm_allowed=flag_enabled(LLM_GENERATION, cohort_id))


def _template(
    snapshot: RiskSnapshot,
    reason: str = "",
    *,
    prompt: PromptTemplate | None = None,
    call: LLMCall | None = None,
    rejected_text: str = "",
    failures: list[str] | None = None,
) -> Draft:
    subject, body = fallback_message(snapshot)
    return Draft(
        source=NudgeSource.TEMPLATE,
        subject=subject,
        body=body,
        fallback_reason=reason,
        rejected_text=rejected_text,
        guardrail_failures=failures or [],
        prompt=prompt,
        llm_call=call,
    )


def llm_writer_reason(*, actor: Any, learner_id: uuid.UUID) -> str:
    """Why a draft for this learner would come from the template before any LLM answer
    (``no_key`` or ``flag_off``; ``""``: the LLM is asked): the decision ``nudge_generate``
    takes, for a page to say beforehand. ``NotFound`` outside the caller's cohorts."""
    if not llm_configured():
        return NO_KEY
    cohort_id = learner_cohort_in_scope(
        actor=actor if isinstance(actor, User) else None, learner_id=learner_id
    )
    return "" if flag_enabled(LLM_GENERATION, cohort_id) else FLAG_OFF


def _llm_skipped(learner: LearnerFacts, prompt: PromptTemplate | None) -> str:
    """Why the LLM is not asked at all (``""``: it is)."""
    if prompt is None:
        return NO_PROMPT
    if not llm_configured():
        return NO_KEY
    if not learner.llm_allowed:
        return FLAG_OFF
    return ""


def _request(learner: LearnerFacts, prompt: PromptTemplate, *, purpose: str) -> LLMRequest:
    system, user = prompt_render(prompt, learner.context)
    return LLMRequest(
        prompt_id=prompt.pk,
        model=prompt.model or settings.OPENAI_MODEL,
        system=system,
        user=user,
        temperature=prompt.temperature,
        max_tokens=prompt.max_tokens,
        purpose=purpose,
    )


def _failure_reason(reason: str) -> str:
    """The ``fallback_reason`` for an LLM failure's reason (``LLMFailure`` or stream ``error``)."""
    return NO_KEY if reason == "not_configured" else reason


def _checked(
    learner: LearnerFacts, prompt: PromptTemplate, subject: str, body: str, call: LLMCall | None
) -> Draft:
    """The LLM's message if it passes every guardrail, else the template keeping it for review."""
    failures = guardrail_failures(
        subject=subject, body=body, context=guardrail_context(learner.context)
    )
    if failures:
        return _template(
            learner.snapshot,
            f"{GUARDRAIL}{failures[0]}",
            prompt=prompt,
            call=call,
            rejected_text=f"{subject}\n\n{body}",
            failures=failures,
        )
    return Draft(source=NudgeSource.LLM, subject=subject, body=body, prompt=prompt, llm_call=call)


def _written(learner: LearnerFacts, prompt: PromptTemplate | None) -> Draft:
    skipped = _llm_skipped(learner, prompt)
    if skipped or prompt is None:
        return _template(learner.snapshot, skipped)
    try:
        request = _request(learner, prompt, purpose="nudge")
    except TemplateRefused:  # a version written before the sandbox refused its text
        return _template(learner.snapshot, PROMPT_REFUSED, prompt=prompt)
    try:
        reply = llm_complete(request)
    except LLMFailure as failure:
        return _template(
            learner.snapshot, _failure_reason(failure.reason), prompt=prompt, call=failure.call
        )
    return _checked(learner, prompt, reply.subject, reply.body, reply.call)


def _risk_snapshot(snapshot: RiskSnapshot) -> dict[str, Any]:
    """What the nudge keeps of the learner's risk when written (no name)."""
    return {
        "score": snapshot.score,
        "band": snapshot.band,
        "model_version": snapshot.model_version,
        "scored_at": snapshot.scored_at.isoformat(),
        "days_inactive": snapshot.days_inactive,
        "progress": snapshot.progress,
        "top_factors": [
            {"factor": factor.name, "value": factor.value, "contribution": factor.contribution}
            for factor in snapshot.top_factors
        ],
        "best_lever": snapshot.best_lever.factor if snapshot.best_lever else None,
    }


# The dashboard's preview (server-sent events) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreviewEvent:
    """``delta`` (``data["text"]``: more of the LLM's answer), ``error`` (``data["reason"]``) or
    ``done`` (the message to show: source, fallback reason, subject, body, guardrail failures)."""

    kind: str
    data: dict[str, Any]


def nudge_preview(
    *, learner_id: uuid.UUID, actor: Any, prompt_key: str | None = None
) -> Iterator[PreviewEvent]:
    """A preview of the nudge the learner would get, streamed; nothing is stored. Scope and
    scoring are checked before the first event (``NotFound``, ``ValidationFailed``)."""
    learner = _learner(actor=actor, learner_id=learner_id)
    prompt = prompt_for(prompt_key or DEFAULT_PROMPT_KEY, learner.snapshot.locale)
    return _preview_events(learner, prompt)


def _preview_events(learner: LearnerFacts, prompt: PromptTemplate | None) -> Iterator[PreviewEvent]:
    skipped = _llm_skipped(learner, prompt)
    if skipped or prompt is None:
        yield _done(_template(learner.snapshot, skipped))
        return
    try:
        request = _request(learner, prompt, purpose="preview")
    except TemplateRefused:
        yield _done(_template(learner.snapshot, PROMPT_REFUSED, prompt=prompt))
        return
    for event in llm_stream(request):
        if event.kind == "delta":
            yield PreviewEvent("delta", {"text": event.text})
        elif event.kind == "done":
            try:
                message = json.loads(event.text)
                subject, body = str(message["subject"]), str(message["body"])
            except (ValueError, KeyError, TypeError):
                yield PreviewEvent("error", {"reason": "invalid"})
                yield _done(_template(learner.snapshot, "invalid", prompt=prompt))
                return
            yield _done(_checked(learner, prompt, subject, body, None))
            return
        else:
            reason = _failure_reason(event.text)
            yield PreviewEvent("error", {"reason": reason})
            yield _done(_template(learner.snapshot, reason, prompt=prompt))
            return


def _done(draft: Draft) -> PreviewEvent:
    return PreviewEvent(
        "done",
        {
            "source": draft.source,
            "fallback_reason": draft.fallback_reason,
            "subject": draft.subject,
            "body": draft.body,
            "guardrail_failures": draft.guardrail_failures,
            "prompt_version": draft.prompt.version if draft.prompt else None,
        },
    )
