"""``/dashboard/campaigns/``: the campaigns (list and create form), one campaign with its
preview (the count and sample messages a run would make) and its run, followed on the job page;
and the caseload's bulk action "Start a campaign" for the selected learners.

Thin: writes go through :mod:`nudges.campaigns` (the API's services), reads through
:mod:`nudges.selectors`. Coaches and admins create, preview and run; analysts read the
list and the criteria (no learner is named on these pages).
"""

import uuid
from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engagement.dashboard import page_user, paginate, staff_page
from engagement.roles import ADMIN_COACH, role_of
from learners import contracts
from nudges import campaigns, experiment_selectors, selectors
from nudges.experiment_selectors import experiment_list
from nudges.models import Campaign, Channel, Experiment, NudgeStatus, PromptTemplate

CAMPAIGNS_PER_PAGE = 25
#: A campaign's nudges by status, in the words of its page (every status, so they add up).
STATUS_WORDS = {
    NudgeStatus.DRAFT: gettext_lazy("waiting for review"),
    NudgeStatus.APPROVED: gettext_lazy("approved, not sent yet"),
    NudgeStatus.SCHEDULED: gettext_lazy("scheduled"),
    NudgeStatus.SENT: gettext_lazy("sent"),
    NudgeStatus.FAILED: gettext_lazy("failed"),
    NudgeStatus.CANCELLED: gettext_lazy("cancelled"),
    NudgeStatus.SUPPRESSED: gettext_lazy("suppressed by the contact policy"),
}
#: The bands a campaign may start from, worst last (a minimum band of "medium" takes high too).
MIN_BANDS = [
    ("", gettext_lazy("Any band")),
    ("low", gettext_lazy("Low")),
    ("medium", gettext_lazy("Medium")),
    ("high", gettext_lazy("High")),
]


class CampaignForm(forms.Form):
    """A campaign's criteria and how it writes and sends, offered within the caller's cohorts."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    cohorts = forms.MultipleChoiceField(
        label=gettext_lazy("Cohorts"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every cohort you work with."),
    )
    min_band = forms.ChoiceField(
        label=gettext_lazy("Minimum risk band"), choices=MIN_BANDS, required=False
    )
    inactive_days = forms.IntegerField(
        label=gettext_lazy("Inactive for at least (days)"),
        min_value=0,
        max_value=campaigns.MAX_CRITERION_DAYS,
        required=False,
    )
    not_nudged_days = forms.IntegerField(
        label=gettext_lazy("Not nudged for (days)"),
        min_value=0,
        max_value=campaigns.MAX_CRITERION_DAYS,
        required=False,
    )
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=Channel.choices)
    prompt_key = forms.ChoiceField(label=gettext_lazy("Prompt"), required=False)
    experiment = forms.ModelChoiceField(
        label=gettext_lazy("Experiment"),
        queryset=Experiment.objects.none(),  # the caller's, set in __init__
        required=False,
        empty_label=gettext_lazy("None"),
        help_text=gettext_lazy("Instead of a prompt: each learner gets their arm's message."),
    )
    approval = forms.ChoiceField(
        label=gettext_lazy("Approval"),
        choices=Campaign.Approval.choices,
        initial=Campaign.Approval.REVIEW,
    )
    schedule = forms.ChoiceField(
        label=gettext_lazy("Runs"), choices=Campaign.Schedule.choices, required=False
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cohorts"].choices = [  # type: ignore[attr-defined]
            (str(summary.cohort_id), summary.name)
            for summary in contracts.cohort_summaries(actor=actor)
        ]
        # The running experiments the caller may see (the API's rule), not every one by name.
        visible = experiment_list(actor=actor).values("pk")
        running = Experiment.objects.filter(status=Experiment.Status.RUNNING, pk__in=visible)
        cast(forms.ModelChoiceField, self.fields["experiment"]).queryset = running.order_by("name")
        keys = PromptTemplate.objects.order_by("key").values_list("key", flat=True).distinct()
        self.fields["prompt_key"].choices = [  # type: ignore[attr-defined]
            ("", _("The default")),
            *((key, key) for key in keys),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("prompt_key") and cleaned.get("experiment"):
            raise forms.ValidationError(_("Choose a prompt or an experiment, not both."))
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        """The cleaned form as :func:`nudges.campaigns.campaign_create` takes it."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "cohort_ids": [uuid.UUID(value) for value in data["cohorts"]],
            "min_band": data["min_band"],
            "inactive_days": data["inactive_days"],
            "not_nudged_days": data["not_nudged_days"],
            "channel": data["channel"],
            "prompt_key": data["prompt_key"],
            "experiment": data["experiment"],
            "approval": data["approval"],
            "schedule": data["schedule"],
        }


def _list(request: HttpRequest, form: CampaignForm, *, status: int = 200) -> HttpResponse:
    page = paginate(request, selectors.campaign_page_list(actor=request.user), CAMPAIGNS_PER_PAGE)
    context = {"page": page, "form": form, "may_act": role_of(request.user) in ADMIN_COACH}
    return render(request, "nudges/campaigns.html", context, status=status)


@staff_page(methods=("GET", "POST"))
def campaign_list(request: HttpRequest) -> HttpResponse:
    """The caller's campaigns, newest first, with the form to start one (POST)."""
    if request.method != "POST":
        return _list(request, CampaignForm(actor=request.user))
    if role_of(request.user) not in ADMIN_COACH:
        raise PermissionDenied("Your role does not start campaigns.")
    form = CampaignForm(request.POST, actor=request.user)
    if not form.is_valid():
        return _list(request, form, status=400)

    campaign = campaigns.campaign_create(actor=page_user(request), **form.service_arguments())
    messages.success(request, _("Campaign created: preview it, then run it."))
    return redirect("dashboard-campaign", campaign_id=campaign.pk)


def _status_counts(campaign: Campaign) -> list[tuple[str, str, int]]:
    """``(status, words, count)`` for each status the campaign has nudges in (the page's
    queryset counted them), so the parts add up to its total."""
    counts = (
        (status, words, getattr(campaign, f"{status}_count"))
        for status, words in STATUS_WORDS.items()
    )
    return [(status, str(words), count) for status, words, count in counts if count]


def _detail(request: HttpRequest, campaign: Campaign, *, preview: Any = None) -> HttpResponse:
    context = {
        "campaign": campaign,
        "status_counts": _status_counts(campaign),
        "cohort_names": selectors.campaign_cohort_names(campaign),
        "may_act": role_of(request.user) in ADMIN_COACH,
        "preview": preview,
        "preview_messages": preview.count - preview.holdout if preview else 0,
        "template_only": campaign.experiment
        and experiment_selectors.template_only_reason(
            experiment=campaign.experiment,
            cohort_ids=campaign.cohorts.values_list("pk", flat=True),
        ),
    }
    return render(request, "nudges/campaign.html", context)


@staff_page()
def campaign_detail(request: HttpRequest, campaign_id: uuid.UUID) -> HttpResponse:
    """A campaign: its criteria, its nudges by status, and the preview and run buttons."""
    return _detail(
        request, selectors.campaign_page_get(actor=request.user, campaign_id=campaign_id)
    )


@staff_page(ADMIN_COACH, methods=("POST",))
def campaign_preview_page(request: HttpRequest, campaign_id: uuid.UUID) -> HttpResponse:
    """A dry run: how many learners a run would select now, and sample messages (unsaved)."""
    campaign = selectors.campaign_page_get(actor=request.user, campaign_id=campaign_id)

    preview = campaigns.campaign_preview(campaign=campaign, actor=page_user(request))
    return _detail(request, campaign, preview=preview)


@staff_page(ADMIN_COACH, methods=("POST",))
def campaign_run_page(request: HttpRequest, campaign_id: uuid.UUID) -> HttpResponseRedirect:
    """Ask for a run on the workers and follow it on the job page."""
    campaign = selectors.campaign_page_get(actor=request.user, campaign_id=campaign_id)

    job = campaigns.campaign_run_request(campaign=campaign, requested_by=page_user(request))
    messages.success(request, _("Running the campaign: follow it here."))
    return redirect("dashboard-job", job_id=job.pk)


@staff_page(ADMIN_COACH, methods=("POST",))
def campaign_active_page(request: HttpRequest, campaign_id: uuid.UUID) -> HttpResponseRedirect:
    """Stop the campaign (an automation no longer runs on its schedule) or start it again."""
    campaign = selectors.campaign_page_get(actor=request.user, campaign_id=campaign_id)
    active = request.POST.get("active") == "true"
    campaigns.campaign_set_active(campaign=campaign, active=active, actor=page_user(request))
    if active:
        messages.success(request, _("The campaign runs again."))
    else:
        messages.success(
            request, _("The campaign is stopped: it runs neither on request nor on its schedule.")
        )
    return redirect("dashboard-campaign", campaign_id=campaign.pk)


def start_campaign(request: HttpRequest, learner_ids: Sequence[uuid.UUID]) -> HttpResponseBase:
    """The caseload's bulk action: a campaign for exactly the selected learners (in the
    caller's scope: the caseload checked them), opened to be previewed and run."""
    name = _("Selected learners, %(when)s") % {
        "when": date_format(timezone.localtime(), "DATETIME_FORMAT")
    }

    campaign = campaigns.campaign_create(
        actor=page_user(request),
        name=name,
        cohort_ids=[],
        learner_ids=list(learner_ids),
        channel=Channel.EMAIL,
        approval=Campaign.Approval.REVIEW,
    )
    messages.success(
        request, _("Campaign created for %(count)d learners.") % {"count": len(learner_ids)}
    )
    return redirect("dashboard-campaign", campaign_id=campaign.pk)
