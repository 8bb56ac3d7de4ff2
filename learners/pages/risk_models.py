"""The risk model pages: every version's evaluation against the naive baselines, one version's
calibration and parameters in words, and the admins' actions (activate, train, rescore).

Admins and analysts read them (the figures name no learner); coaches work their caseload and
get 403. Actions are admin-only forms that POST and redirect; they call the same services as
the API and the admin, so activation is refused by the same policy and audited the same way.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from engagement.charts import Series, bar_chart, line_chart
from engagement.dashboard import staff_page
from engagement.models import Job, Role
from engagement.principals import acting_user, audit_actor
from engagement.roles import ADMIN, role_of
from learners import services
from learners.risk.kind_selection import KIND_CHOICES
from learners.risk.reports import ModelReport, risk_model_report, risk_model_summaries
from learners.risk.selectors import RiskDistribution, risk_distribution, risk_model_get
from learners.risk.services import ActivationRefused, risk_model_activate

READERS = ADMIN | {Role.ANALYST.value}


class TrainForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[(kind, kind) for kind in KIND_CHOICES],
        initial="auto",
        widget=forms.Select(attrs={"aria-describedby": "kind-help"}),
        help_text=gettext_lazy("auto: the trainable kind with the best validation ROC AUC."),
    )


class ActivateForm(forms.Form):
    force = forms.BooleanField(required=False, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        required=False,
        label=gettext_lazy(
            "I have read the figures and activate this version although it was refused "
            "(recorded in the audit log)."
        ),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("force") and not cleaned.get("confirm"):
            raise forms.ValidationError(
                _("Tick the confirmation box to activate a refused version anyway.")
            )
        return cleaned


def _job_page(job: Job) -> HttpResponseRedirect:
    return redirect(reverse("dashboard-job", args=[job.pk]))


def _calibration_chart(report: ModelReport) -> SafeString:
    """Observed withdrawal rate against mean predicted risk per bin (empty bins left out), with
    the diagonal a calibrated model would follow."""
    observed = [
        (row["mean_predicted"], row["observed_rate"])
        for row in report.calibration
        if row["mean_predicted"] is not None
    ]
    return line_chart(
        [
            Series(_("Observed withdrawal rate"), observed),
            Series(_("Perfectly calibrated"), [(0.0, 0.0), (1.0, 1.0)], tone="muted"),
        ],
        title=_("Calibration: predicted risk against observed withdrawals"),
        y_label=_("Observed rate"),
        y_max=1.0,
    )


def _distribution_chart(distribution: RiskDistribution) -> SafeString:
    return bar_chart(
        [(band, count) for band, count in distribution.bands.items()],
        title=_("Learners studying per current risk band"),
    )


def _detail(
    request: HttpRequest,
    version: int,
    *,
    status: int = 200,
    refusal: dict[str, Any] | None = None,
    activate_form: ActivateForm | None = None,
) -> HttpResponse:
    report = risk_model_report(version=version)
    distribution = risk_distribution() if report.model.is_active else None
    context = {
        "report": report,
        "summary": report.summary,
        "can_act": role_of(request.user) in ADMIN,
        "calibration_chart": _calibration_chart(report) if report.calibration else None,
        "distribution": distribution,
        "distribution_chart": _distribution_chart(distribution) if distribution else None,
        "refusal": refusal,
        "activate_form": activate_form or ActivateForm(),
        "train_form": TrainForm(),
    }
    return render(request, "learners/risk_model.html", context, status=status)


@staff_page(READERS)
@require_GET
def risk_models(request: HttpRequest) -> HttpResponse:
    """Every version, newest first, with its figures against the best naive baseline."""
    context = {
        "summaries": risk_model_summaries(),
        "can_act": role_of(request.user) in ADMIN,
        "train_form": TrainForm(),
    }
    return render(request, "learners/risk_models.html", context)


@staff_page(READERS)
@require_GET
def risk_model(request: HttpRequest, version: int) -> HttpResponse:
    """One version: baselines, high band, calibration, parameters, live distribution if active."""
    return _detail(request, version)


@staff_page(ADMIN)
@require_POST
def risk_model_activate_page(request: HttpRequest, version: int) -> HttpResponse:
    """Activate through the policy; a refusal is shown with its figures and the offer to force
    it, which needs the confirmation box ticked (checked here, not only in the browser)."""
    form = ActivateForm(request.POST)
    if not form.is_valid():
        return _detail(request, version, status=400, activate_form=form)
    model = risk_model_get(version=version)  # NotFound: staff_page answers 404
    try:
        risk_model_activate(
            model=model, actor=audit_actor(request), force=form.cleaned_data["force"]
        )
    except ActivationRefused as refused:
        return _detail(request, version, status=409, refusal=refused.detail)
    messages.success(request, _("Risk model v%(version)s is active.") % {"version": version})
    return redirect("dashboard-risk-model", version=version)


@staff_page(ADMIN)
@require_POST
def risk_model_train_page(request: HttpRequest) -> HttpResponse:
    """Ask for a training job and follow it on the job page."""
    form = TrainForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "learners/risk_models.html",
            {"summaries": risk_model_summaries(), "can_act": True, "train_form": form},
            status=400,
        )
    job = services.risk_model_train_request(
        kind=form.cleaned_data["kind"], requested_by=acting_user(request)
    )
    messages.success(request, _("Training a new version: follow it here."))
    return _job_page(job)


@staff_page(ADMIN)
@require_POST
def learners_rescore_page(request: HttpRequest) -> HttpResponse:
    """Ask for a rescore of every learner with the active model and follow it on the job page."""
    job = services.learners_rescore_request(requested_by=acting_user(request))
    messages.success(request, _("Rescoring every learner: follow it here."))
    return _job_page(job)
