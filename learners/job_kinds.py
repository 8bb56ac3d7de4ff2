"""The app's background job kinds as the jobs pages show them: a label each, and the page a
training job's model version or an import job's upload has (registered from ``apps.py``)."""

import uuid
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from engagement.models import Job
from engagement.registry import JobLinks


def _model_version_link(job: Job, viewer: Any) -> list[tuple[str, str]]:
    """The model version a training job made, once its result names it (whoever may open the
    job may open the model pages)."""
    version = (job.result or {}).get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        return []
    text = gettext("Risk model version %(version)d") % {"version": version}
    return [(text, reverse("dashboard-risk-model", kwargs={"version": version}))]


def _upload_link(job: Job, viewer: Any) -> list[tuple[str, str]]:
    """The upload an import job reads (its page shows the counts and the refused rows); import
    jobs are admins' and so is the upload page."""
    try:
        upload_id = uuid.UUID(str((job.params or {}).get("upload_id")))
    except ValueError:
        return []
    return [(gettext("The upload and its outcome"), reverse("dashboard-import", args=[upload_id]))]


JOB_KINDS: tuple[tuple[str, Any, JobLinks | None], ...] = (
    ("learners.rescore", gettext_lazy("Rescore learners"), None),
    ("learners.train_risk_model", gettext_lazy("Train a risk model"), _model_version_link),
    ("learners.import", pgettext_lazy("job kind", "CSV import"), _upload_link),
)
