"""The platform's own dashboard pages: the viewer's account and the background jobs.

Thin views: reads go through :mod:`engagement.jobs` (``job_list``/``job_get`` scope jobs to the
caller) and :mod:`engagement.user_scopes`; writes through :mod:`engagement.accounts` and
:func:`engagement.jobs.job_cancel`.
"""

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy

from engagement import accounts, jobs, user_scopes
from engagement.dashboard import page_user, paginate, staff_page
from engagement.errors import Conflict, ValidationFailed
from engagement.input_bounds import portable_timezones
from engagement.models import JOB_ACTIVE_STATUSES, Job, JobStatus
from engagement.registry import registry
from engagement.roles import UNSCOPED_ROLES, role_of

JOBS_PER_PAGE = 25


class TimezoneForm(forms.Form):
    timezone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        choices=lambda: [(name, name.replace("_", " ")) for name in portable_timezones()],
        help_text=gettext_lazy("Dates and times on the dashboard are shown in this zone."),
    )


class JobFilterForm(forms.Form):
    """The jobs list's filters, shown as a GET form (``job_list`` validates them again)."""

    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any status")), *JobStatus.choices],
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        required=False,
        choices=lambda: [
            ("", gettext_lazy("Any kind")),
            *((kind.kind, kind.label) for kind in registry.job_kinds().values()),
        ],
    )


@staff_page(methods=("GET", "POST"))
def account(request: HttpRequest) -> HttpResponse:
    """The viewer's own account: their role, their cohorts, and the time zone they read in."""
    user = page_user(request)
    bound = request.POST if request.method == "POST" else None  # an empty POST is refused
    form = TimezoneForm(bound, initial={"timezone": user.timezone})
    if request.method == "POST" and form.is_valid():
        accounts.user_timezone_set(user=user, timezone=form.cleaned_data["timezone"])
        messages.success(
            request, gettext("Times are now shown in %(zone)s.") % {"zone": user.timezone}
        )
        return redirect("dashboard-account")
    sees_all = role_of(user) in UNSCOPED_ROLES
    context = {
        "form": form,
        "sees_all_cohorts": sees_all,
        "cohorts": [] if sees_all else user_scopes.user_cohort_labels(user=user),
    }
    return render(request, "dashboard/account.html", context, status=400 if form.errors else 200)


@staff_page()
def job_list(request: HttpRequest) -> HttpResponse:
    """The caller's jobs (every job for admins), newest first, with how far each got."""
    form = JobFilterForm(request.GET)
    if not form.is_valid() and "kind" in form.errors:
        raise ValidationFailed(gettext("Unknown job kind."), detail={"kind": form.errors["kind"]})
    # Empty fields of the GET form mean "any"; JobFilter would refuse an empty status.
    filters: dict[str, Any] = {}
    if statuses := [value for value in request.GET.getlist("status") if value]:
        filters["status"] = statuses
    if kind := request.GET.get("kind", ""):
        filters["kind"] = kind
    rows = jobs.job_list(actor=request.user, filters=filters).select_related("requested_by")
    page = paginate(request, rows, JOBS_PER_PAGE)
    return render(request, "dashboard/jobs.html", {"form": form, "page": page})


def _readable(value: Any) -> list[tuple[str, bool, str]]:
    """A job's params or result as (name, is_block, text) rows: text inline as it is, every other
    value as JSON (``true``, ``null``, nested values indented), as the jobs API shows them."""
    if not isinstance(value, dict):
        return [("", True, json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))]
    rows = []
    for key, item in value.items():
        if isinstance(item, str):
            rows.append((str(key), False, item))
        else:
            block = isinstance(item, dict | list)
            text = json.dumps(item, indent=2 if block else None, ensure_ascii=False)
            rows.append((str(key), block, text))
    return rows


@staff_page()
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    """One job: what it was asked, how far it got, its outcome; live while queued or running."""
    job: Job = jobs.job_get(actor=request.user, job_id=job_id)
    kind = registry.job_kinds().get(job.kind)
    links = kind.links(job, request.user) if kind and kind.links else []
    context = {
        "job": job,
        "links": links,
        "active": job.status in JOB_ACTIVE_STATUSES,
        "params": _readable(job.params) if job.params else [],
        "result": _readable(job.result) if job.result else [],
        "status_labels": dict(JobStatus.choices),
    }
    return render(request, "dashboard/job.html", context)


@staff_page(methods=("POST",))
def job_cancel(request: HttpRequest, job_id: str) -> HttpResponse:
    """Cancel a queued or running job; a job that finished meanwhile is said so, not an error."""
    job = jobs.job_get(actor=request.user, job_id=job_id)
    try:
        jobs.job_cancel(job=job, actor=page_user(request))
    except Conflict:
        messages.error(request, gettext("This job had already finished; nothing was cancelled."))
    else:
        messages.success(request, gettext("The job was cancelled."))
    return redirect("dashboard-job", job_id=job.pk)
