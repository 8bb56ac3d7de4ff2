"""The jobs pages as the app's jobs show there: labels, a select of kinds, readable results and
links to the model version or upload a job made or read."""

import uuid
from typing import Any

import pytest
from django.test import Client

from engagement.models import Job, JobStatus, Role
from engagement.registry import registry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def admin_client() -> tuple[Client, Any]:
    admin = UserFactory(role=Role.ADMIN)
    client = Client()
    client.force_login(admin)
    return client, admin


def test_the_app_registers_a_label_for_each_of_its_job_kinds() -> None:
    kinds = registry.job_kinds()
    assert {"learners.rescore", "learners.train_risk_model", "learners.import"} <= set(kinds)
    assert str(kinds["learners.train_risk_model"].label) == "Train a risk model"


def test_jobs_list_shows_labels_and_filters_by_a_select_of_kinds() -> None:
    client, admin = admin_client()
    Job.objects.create(kind="learners.train_risk_model", requested_by=admin)
    Job.objects.create(kind="learners.rescore", requested_by=admin)
    Job.objects.create(kind="tests.unregistered", requested_by=admin)
    html = client.get("/dashboard/jobs/").content.decode()
    assert ">Train a risk model</a>" in html and ">Rescore learners</a>" in html
    assert ">tests.unregistered</a>" in html  # no label registered: its id
    assert '<select name="kind"' in html and '<option value="learners.import">CSV import' in html
    only = client.get("/dashboard/jobs/", {"kind": "learners.rescore"}).content.decode()
    assert ">Rescore learners</a>" in only and ">Train a risk model</a>" not in only
    bogus = client.get("/dashboard/jobs/", {"kind": "bogus"})
    assert bogus.status_code == 400 and "bogus" in bogus.content.decode()


def test_training_job_result_reads_as_json_and_links_its_model_version() -> None:
    client, admin = admin_client()
    job = Job.objects.create(
        kind="learners.train_risk_model",
        requested_by=admin,
        status=JobStatus.SUCCEEDED,
        params={"activate": False, "force": False, "kind": "auto"},
        result={"version": 7, "active": True, "best_baseline": None, "test": {"auc": 0.8}},
    )
    html = client.get(f"/dashboard/jobs/{job.pk}/").content.decode()
    assert "Job: Train a risk model" in html
    assert '<a href="/dashboard/risk-models/7/">Risk model version 7</a>' in html
    assert "<dt>active</dt><dd>true</dd>" in html and "<dt>best_baseline</dt><dd>null</dd>" in html
    assert "<dt>activate</dt><dd>false</dd>" in html and "<dt>kind</dt><dd>auto</dd>" in html
    assert "<pre>{\n  &quot;auc&quot;: 0.8\n}</pre>" in html
    assert "True" not in html and "False" not in html and "None" not in html


def test_import_job_links_its_upload_and_a_running_training_job_links_nothing() -> None:
    client, admin = admin_client()
    upload_id = uuid.uuid4()
    imported = Job.objects.create(
        kind="learners.import", requested_by=admin, params={"upload_id": str(upload_id)}
    )
    html = client.get(f"/dashboard/jobs/{imported.pk}/").content.decode()
    assert f'href="/dashboard/imports/{upload_id}/"' in html
    running = Job.objects.create(
        kind="learners.train_risk_model", requested_by=admin, status=JobStatus.RUNNING
    )
    assert "Risk model version" not in client.get(f"/dashboard/jobs/{running.pk}/").content.decode()
    broken = Job.objects.create(
        kind="learners.import", requested_by=admin, params={"upload_id": "not-an-id"}
    )
    page = client.get(f"/dashboard/jobs/{broken.pk}/")
    assert page.status_code == 200 and "/dashboard/imports/not-an-id" not in page.content.decode()
