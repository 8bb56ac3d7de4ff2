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
from nudges.models import Channel, NudgeSource


class DraftForm(forms.Form):
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"), choices=Channel.choices, initial=Channel.EMAIL
    )


def panel_context(request: HttpRequest, learner_id: uuid.UUID) -> Mapping[str, Any]:
    """The learner's latest nudges (one query) and, for coaches and admins, the draft form and
    the preview (streamed by ``preview.js`` from the API's SSE endpoint; it stores no nudge)."""
    may_draft = role_of(request.user) in ADMIN_COACH
    return {
        "learner_id": learner_id,
        "nudges": selectors.learner_nudges(learner_id=learner_id),
        "sees_text": sees_personal_data(request.user),
        "may_draft": may_draft,
        "form": DraftForm(),
        "writer_reason": (
            generation.llm_writer_reason(actor=page_user(request), learner_id=learner_id)
            if may_draft
            else ""
        ),
        "preview_reasons": generation.FALLBACK_REASONS,
    }


def _drafted_message(source: str, fallback_reason: str) -> str:
    if source == NudgeSource.LLM:
        return _("Draft written by the LLM: read it, then approve and send it.")
    return _("Draft written from the template (%(reason)s): read it, then approve and send it.") % {
        "reason": generation.fallback_reason_text(fallback_reason)
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
