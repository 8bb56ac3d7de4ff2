"""The learner page's "Nudges" section: the learner's latest nudges and the "Draft a nudge"
form, which writes a draft through :func:`nudges.generation.nudge_generate` (the LLM, or the
template it says it used) and leads to the new nudge's page to approve and send it.

Registered with ``learners.contracts.learner_panel_add``; the learner page checked the scope
before asking for the panel, the draft view checks it itself (404 outside the caller's cohorts).
"""

import uuid
from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engagement.dashboard import page_user, staff_page
from engagement.errors import ValidationFailed
from engagement.roles import ADMIN_COACH, role_of, sees_personal_data
from learners import contracts
from nudges import generation, selectors
from nudges.llm.client import llm_configured
from nudges.models import Channel, NudgeSource

#: Why the template wrote a previewed message (``fallback_reason``), said plainly; a guardrail's
#: rejection (``guardrail:<rule>``) is said by the page with the checks that failed.
PREVIEW_REASONS = {
    "no_key": gettext_lazy("no LLM key is configured"),
    "flag_off": gettext_lazy("LLM writing is switched off for this learner's cohort"),
    "no_prompt": gettext_lazy("no active prompt applies"),
    "prompt_refused": gettext_lazy("the active prompt cannot be filled in for this learner"),
    "timeout": gettext_lazy("the LLM did not answer in time"),
    "rate_limited": gettext_lazy("the LLM is refusing requests for now (rate limit)"),
    "server_error": gettext_lazy("the LLM server failed"),
    "invalid": gettext_lazy("the LLM's answer was not a usable message"),
    "error": gettext_lazy("the LLM call failed"),
    "circuit_open": gettext_lazy("the LLM is paused after repeated failures"),
}


class DraftForm(forms.Form):
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"), choices=Channel.choices, initial=Channel.EMAIL
    )


def panel_context(request: HttpRequest, learner_id: uuid.UUID) -> Mapping[str, Any]:
    """The learner's latest nudges (one query) and, for coaches and admins, the draft form and
    the preview (streamed by ``preview.js`` from the API's SSE endpoint; it stores no nudge)."""
    return {
        "learner_id": learner_id,
        "nudges": selectors.learner_nudges(learner_id=learner_id),
        "sees_text": sees_personal_data(request.user),
        "may_draft": role_of(request.user) in ADMIN_COACH,
        "form": DraftForm(),
        "llm": llm_configured(),  # a cohort's flag may still choose the template
        "preview_reasons": PREVIEW_REASONS,
    }


def _drafted_message(source: str, fallback_reason: str) -> str:
    if source == NudgeSource.LLM:
        return _("Draft written by the LLM: read it, then approve and send it.")
    if fallback_reason == "no_key":
        return _("Draft written from the template: no LLM key is configured.")
    return _("Draft written from the template (%(reason)s): read it, then approve and send it.") % {
        "reason": fallback_reason
    }


@staff_page(ADMIN_COACH, methods=("POST",))
def nudge_draft(request: HttpRequest, learner_id: uuid.UUID) -> HttpResponseRedirect:
    """Draft a nudge for the learner on the chosen channel and open it."""
    contracts.learner_cohort_in_scope(actor=request.user, learner_id=learner_id)
    form = DraftForm(request.POST)
    if not form.is_valid():
        raise ValidationFailed(_("Choose a channel."), detail=dict(form.errors))
    nudge = generation.nudge_generate(
        learner_id=learner_id, channel=form.cleaned_data["channel"], actor=page_user(request)
    )
    messages.success(request, _drafted_message(nudge.source, nudge.fallback_reason))
    return redirect("dashboard-nudge", nudge_id=nudge.pk)
