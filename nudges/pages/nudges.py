"""``/dashboard/nudges/``: the caller's nudges (filtered, paginated) and one nudge with its
text, why it came from the template, and the approve / send / cancel buttons.

Thin: reads go through :mod:`nudges.selectors`, every action through
:mod:`nudges.lifecycle` (the API's services), so the contact policy and the audit apply whatever
door a nudge leaves by. Analysts see the rows pseudonymised and never the text; the text a
guardrail rejected is for admins only.
"""

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engagement.dashboard import page_user, paginate, staff_page
from engagement.errors import NotFound, ValidationFailed
from engagement.models import Role
from engagement.roles import ADMIN_COACH, role_of, sees_personal_data
from engagement.templatetags.dashboard import exact_time
from learners import contracts
from nudges import lifecycle, selectors
from nudges.models import Channel, Nudge, NudgeSource, NudgeStatus
from nudges.policy import rule_text

NUDGES_PER_PAGE = 25


def _choices(choices: list[tuple[str, str]]) -> list[tuple[str, Any]]:
    return [("", gettext_lazy("Any")), *choices]


class NudgeFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), choices=_choices(NudgeStatus.choices), required=False
    )
    source = forms.ChoiceField(
        label=gettext_lazy("Written by"), choices=_choices(NudgeSource.choices), required=False
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"), choices=_choices(Channel.choices), required=False
    )
    campaign = forms.UUIDField(required=False, widget=forms.HiddenInput)
    learner = forms.UUIDField(required=False, widget=forms.HiddenInput)


def learner_labels(request: HttpRequest, nudges: list[Nudge]) -> dict[uuid.UUID, str]:
    """How the rows name their learners for this viewer (one query)."""
    return contracts.learner_labels(
        actor=request.user, learner_ids={nudge.learner_id for nudge in nudges}
    )


@staff_page()
def nudge_list(request: HttpRequest) -> HttpResponse:
    """Every nudge of the caller's learners, newest first, by status, author and channel."""
    form = NudgeFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "nudges/nudges.html", {"form": form}, status=400)
    page = paginate(
        request,
        selectors.nudge_page_list(actor=request.user, filters=form.cleaned_data),
        NUDGES_PER_PAGE,
    )
    rows = list(page.object_list)
    labels = learner_labels(request, rows)
    context = {
        "form": form,
        "page": page,
        "may_send": role_of(request.user) in ADMIN_COACH,
        "sendable": lifecycle.SENDABLE,
        "rows": [{"nudge": nudge, "label": labels.get(nudge.learner_id, "")} for nudge in rows],
        "campaigns_open": selectors.campaigns_openable(
            actor=request.user, campaign_ids={nudge.campaign_id for nudge in rows}
        ),
    }
    return render(request, "nudges/nudges.html", context)


#: The most nudges one "Approve and send" takes: a page of the list.
BULK_SEND_MAX = NUDGES_PER_PAGE


@staff_page(ADMIN_COACH, methods=("POST",))
def nudges_send_page(request: HttpRequest) -> HttpResponseRedirect:
    """Approve and send the selected drafts at once (``lifecycle.nudges_send``, set-based), as
    far as the contact policy allows; nudges outside the caller's scope are not touched."""
    try:
        wanted = {uuid.UUID(value) for value in request.POST.getlist("nudge")}
    except ValueError:
        raise ValidationFailed(_("Select nudges from the list.")) from None
    if len(wanted) > BULK_SEND_MAX:
        raise ValidationFailed(_("Select at most %(max)d nudges.") % {"max": BULK_SEND_MAX})
    ids = list(
        selectors.nudge_queryset(actor=request.user)
        .filter(pk__in=wanted)
        .values_list("pk", flat=True)
    )
    if not ids:
        messages.warning(request, _("Select the drafts to send."))
        return redirect("dashboard-nudges")
    done = lifecycle.nudges_send(nudge_ids=ids, actor=page_user(request))
    messages.success(
        request,
        _(
            "%(sent)d sent, %(scheduled)d scheduled for the end of the learner's quiet hours, "
            "%(suppressed)d held back by the contact policy."
        )
        % done,
    )
    return redirect("dashboard-nudges")


def _detail_context(request: HttpRequest, nudge: Nudge) -> dict[str, Any]:
    role = role_of(request.user)
    return {
        "nudge": nudge,
        "label": learner_labels(request, [nudge]).get(nudge.learner_id, ""),
        "campaigns_open": selectors.campaigns_openable(
            actor=request.user, campaign_ids={nudge.campaign_id}
        ),
        "sees_text": sees_personal_data(request.user),
        "sees_rejected": role == Role.ADMIN,
        "may_act": role in ADMIN_COACH,
        "may_approve": nudge.status == NudgeStatus.DRAFT,
        "may_send": nudge.status in (NudgeStatus.DRAFT, NudgeStatus.APPROVED),
        "may_cancel": nudge.status
        in (NudgeStatus.DRAFT, NudgeStatus.APPROVED, NudgeStatus.SCHEDULED),
    }


@staff_page()
def nudge_detail(request: HttpRequest, nudge_id: uuid.UUID) -> HttpResponse:
    """One nudge: its text (not for analysts), its lifecycle and the actions it allows."""
    nudge = selectors.nudge_get(actor=request.user, nudge_id=nudge_id)
    return render(request, "nudges/nudge.html", _detail_context(request, nudge))


#: What each status reads like after an action, for the message shown on the nudge's page.
OUTCOMES = {
    NudgeStatus.APPROVED: gettext_lazy("Approved: it can be sent now."),
    NudgeStatus.SCHEDULED: gettext_lazy(
        "Scheduled for the next time the contact policy allows (quiet hours or a minimum gap)."
    ),
    NudgeStatus.SENT: gettext_lazy("Sent."),
    NudgeStatus.FAILED: gettext_lazy("Sending failed: see the error below."),
    NudgeStatus.CANCELLED: gettext_lazy("Cancelled: it will not be sent."),
    NudgeStatus.SUPPRESSED: gettext_lazy("Not sent: the contact policy suppressed it."),
}

Action = Callable[[Nudge, Any], Nudge]

ACTIONS: dict[str, Action] = {
    "approve": lambda nudge, actor: lifecycle.nudge_approve(nudge=nudge, actor=actor),
    "send": lambda nudge, actor: lifecycle.nudge_send(nudge=nudge, actor=actor),
    "cancel": lambda nudge, actor: lifecycle.nudge_cancel(nudge=nudge, actor=actor),
}


@staff_page(ADMIN_COACH, methods=("POST",))
def nudge_action(request: HttpRequest, nudge_id: uuid.UUID, action: str) -> HttpResponseRedirect:
    """Approve, send or cancel through the lifecycle services, then back to the nudge; a
    refused transition is the service's 409 page."""
    act = ACTIONS.get(action)
    if act is None:
        raise NotFound(_("No such action."))
    nudge = selectors.nudge_get(actor=request.user, nudge_id=nudge_id)
    done = act(nudge, page_user(request))
    outcome = OUTCOMES.get(NudgeStatus(done.status))
    if done.status == NudgeStatus.SUPPRESSED and done.suppressed_rule:
        messages.warning(
            request,
            _("Not sent: the contact policy held it back: %(why)s (rule %(rule)s).")
            % {"why": rule_text(done.suppressed_rule), "rule": done.suppressed_rule},
        )
    elif done.status == NudgeStatus.SCHEDULED and done.scheduled_for:
        # Sent from this page (no time asked for), only the quiet-hours rule defers a nudge.
        messages.success(
            request,
            _(
                "Scheduled for %(when)s: it is the learner's quiet hours (contact policy rule "
                "quiet_hours), so it goes when they end."
            )
            % {"when": exact_time(done.scheduled_for)},
        )
    elif outcome is not None:
        messages.success(request, str(outcome))
    return redirect("dashboard-nudge", nudge_id=done.pk)
