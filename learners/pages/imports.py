"""``/dashboard/imports/``: upload a learners or activity CSV file (admins) and follow its job."""

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from engagement.dashboard import page_user, staff_page
from engagement.errors import ApplicationError
from engagement.models import JOB_ACTIVE_STATUSES, JobStatus
from engagement.roles import ADMIN
from engagement.spreadsheets import csv_download
from learners import selectors
from learners.imports import FORMATS, import_upload_request, upload_limit
from learners.models import ImportKind

RECENT_UPLOADS = 50
#: Seconds between reloads of an upload's page while its job runs.
REFRESH_SECONDS = 2


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportKind.choices)
    file = forms.FileField(
        label=_("CSV file"),
        allow_empty_file=True,  # the service says why an empty file cannot be imported
    )


def _formats() -> list[dict[str, Any]]:
    """Each kind's columns and a header to start a file from, for the form's help."""
    return [
        {
            "kind": ImportKind(kind).label,
            "columns": spec.columns,
            "optional": spec.optional,
            "header": ",".join(spec.columns + spec.optional),
        }
        for kind, spec in FORMATS.items()
    ]


def _upload_page(
    request: HttpRequest, form: ImportUploadForm, *, status: int = 200
) -> HttpResponse:
    uploads = selectors.import_upload_list(actor=request.user)[:RECENT_UPLOADS]
    context = {
        "form": form,
        "formats": _formats(),
        "limit": upload_limit(),
        "uploads": uploads,
    }
    return render(request, "learners/imports.html", context, status=status)


@staff_page(roles=ADMIN)
def imports(request: HttpRequest) -> HttpResponse:
    """The upload form and the recent uploads; a valid upload leads to its own page."""
    if request.method != "POST":
        return _upload_page(request, ImportUploadForm())
    form = ImportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _upload_page(request, form, status=400)
    try:
        upload = import_upload_request(
            actor=page_user(request),
            kind=form.cleaned_data["kind"],
            file=form.cleaned_data["file"],
        )
    except ApplicationError as exc:
        field = "kind" if isinstance(exc.detail, dict) and "kind" in exc.detail else "file"
        form.add_error(field, exc.message)
        return _upload_page(request, form, status=exc.status_code)
    return redirect("dashboard-import", upload_id=upload.pk)


@staff_page(roles=ADMIN)
def import_detail(request: HttpRequest, upload_id: str) -> HttpResponse:
    """One upload: its job's progress (the page reloads itself while it runs) and counts."""
    upload = selectors.import_upload_get(actor=request.user, upload_id=upload_id)
    job = upload.job
    running = job is not None and job.status in JOB_ACTIVE_STATUSES
    context = {
        "upload": upload,
        "job": job,
        "running": running,
        "refresh_seconds": REFRESH_SECONDS,
        "finished": job is not None and job.status == JobStatus.SUCCEEDED,
    }
    return render(request, "learners/imports_detail.html", context)


@staff_page(roles=ADMIN)
def import_refused(request: HttpRequest, upload_id: str) -> HttpResponse:
    """The rows the import refused, as a CSV download (line, reasons)."""
    upload = selectors.import_upload_get(actor=request.user, upload_id=upload_id)
    return csv_download(selectors.import_upload_refused(upload=upload), f"refused-{upload.pk}.csv")
