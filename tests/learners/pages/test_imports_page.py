"""``/dashboard/imports/``: the upload form, the upload's page and its refused lines (admins)."""

import re
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from engagement.models import Job, JobStatus
from learners.models import ActivityEvent, ImportUpload
from tests.factories import CohortFactory, LearnerFactory, UserFactory
from tests.learners.test_import_uploads import ACTIVITY_CSV, LEARNERS_CSV

pytestmark = pytest.mark.django_db

URL = "/dashboard/imports/"


@pytest.fixture
def admin_client(client: Client, rules_model: Any) -> Client:
    client.force_login(UserFactory(username="admin-page", role="admin"))
    return client


def upload(client: Client, kind: str | None, content: bytes | str | None) -> Any:
    data: dict[str, Any] = {}
    if kind is not None:
        data["kind"] = kind
    if content is not None:
        raw = content.encode() if isinstance(content, str) else content
        data["file"] = SimpleUploadedFile("week 12.csv", raw, content_type="text/csv")
    return client.post(URL, data)


def test_the_form_is_labelled_multipart_and_describes_the_columns(admin_client: Client) -> None:
    response = admin_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert '<label for="id_kind">' in html and '<label for="id_file">' in html
    assert "external_id,source,cohort,name,email,enrolled_at,status,finished_at" in html
    assert (
        "learner_external_id,source,kind,occurred_at,duration_seconds,score,source_event_id" in html
    )
    assert "No file has been uploaded yet." in html
    assert '<a href="/dashboard/imports/" aria-current="page">Imports</a>' in html
    assert "<script" not in html


def test_an_upload_leads_to_its_page_with_counts_and_refused_lines(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    LearnerFactory(source="lms", external_id="a1", cohort=CohortFactory())
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(admin_client, "activity", ACTIVITY_CSV)
    stored = ImportUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/imports/{stored.pk}/"
    assert ActivityEvent.objects.count() == 2

    page = admin_client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Succeeded" in html
    assert 'http-equiv="refresh"' not in html
    assert '<dd id="count-accepted">2</dd>' in html
    assert '<dd id="count-duplicates">1</dd>' in html
    assert '<dd id="count-rejected">2</dd>' in html
    link = f"/dashboard/imports/{stored.pk}/refused.csv"
    assert link in html and "Download refused lines (CSV)" in html

    refused = admin_client.get(link)
    assert refused.status_code == 200
    assert refused["Content-Type"] == "text/csv; charset=utf-8"
    lines = refused.content.decode().splitlines()
    assert lines[0] == "line,reasons"
    assert [line.split(",")[0] for line in lines[1:]] == ["3", "4"]

    listing = admin_client.get(URL).content.decode()
    assert "week 12.csv" in listing and f"/dashboard/imports/{stored.pk}/" in listing


def test_a_running_import_reloads_its_page(admin_client: Client) -> None:
    job = Job.objects.create(kind="learners.import", status=JobStatus.RUNNING, progress=0.4)
    stored = ImportUpload.objects.create(
        kind="learners", filename="a.csv", content=b"x", size=1, sha256="0" * 64, job=job
    )
    html = admin_client.get(f"/dashboard/imports/{stored.pk}/").content.decode()
    assert '<meta http-equiv="refresh" content="2">' in html
    assert 'value="0.400000"' in html and "40%" in html
    assert "Download refused lines" not in html


def test_a_failed_import_shows_its_reason(admin_client: Client) -> None:
    job = Job.objects.create(
        kind="learners.import", status=JobStatus.FAILED, error="The file is not UTF-8 text."
    )
    stored = ImportUpload.objects.create(
        kind="learners", filename="a.csv", content=b"x", size=1, sha256="0" * 64, job=job
    )
    html = admin_client.get(f"/dashboard/imports/{stored.pk}/").content.decode()
    assert "The file is not UTF-8 text." in html and "Failed" in html


@pytest.mark.parametrize(
    ("kind", "content", "status", "message"),
    [
        ("learners", None, 400, "This field is required."),
        (None, LEARNERS_CSV, 400, "This field is required."),
        ("people", LEARNERS_CSV, 400, "Select a valid choice."),
        ("learners", b"", 400, "The file is empty."),
        ("learners", b"\x89PNG\r\n\x1a\n\x00\xff", 400, "The file is not UTF-8 text"),
        ("activity", LEARNERS_CSV, 400, "The header lacks the columns"),
        ("learners", LEARNERS_CSV.splitlines()[0], 400, "a header but no rows"),
    ],
)
def test_bad_uploads_re_render_the_form_with_the_reason(
    admin_client: Client, kind: str | None, content: Any, status: int, message: str
) -> None:
    response = upload(admin_client, kind, content)
    assert response.status_code == status
    html = response.content.decode()
    assert message in html
    assert 'enctype="multipart/form-data"' in html
    assert not ImportUpload.objects.exists()


def test_an_oversized_file_is_413_with_the_reason(admin_client: Client, settings: Any) -> None:
    settings.IMPORT_UPLOAD_MAX_BYTES = 100
    response = upload(admin_client, "learners", LEARNERS_CSV)
    assert response.status_code == 413
    assert "The file is larger than 100 bytes." in response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    for path in (URL, f"{URL}{uuid.uuid4()}/", f"{URL}{uuid.uuid4()}/refused.csv"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("role", ["coach", "analyst"])
def test_other_roles_get_403_and_no_link(client: Client, role: str) -> None:
    client.force_login(UserFactory(role=role))
    stored = ImportUpload.objects.create(
        kind="learners", filename="a.csv", content=b"", size=1, sha256="0" * 64
    )
    for path in (URL, f"{URL}{stored.pk}/", f"{URL}{stored.pk}/refused.csv"):
        assert client.get(path).status_code == 403
    assert upload(client, "learners", LEARNERS_CSV).status_code == 403
    assert not ImportUpload.objects.exclude(pk=stored.pk).exists()
    assert 'href="/dashboard/imports/"' not in client.get("/dashboard/").content.decode()


def test_an_unknown_upload_is_404(admin_client: Client) -> None:
    assert admin_client.get(f"{URL}{uuid.uuid4()}/").status_code == 404
    assert admin_client.get(f"{URL}{uuid.uuid4()}/refused.csv").status_code == 404
    assert admin_client.get(f"{URL}not-an-id/").status_code == 404


def test_the_list_costs_the_same_queries_whatever_its_length(admin_client: Client) -> None:
    def make(count: int) -> None:
        for _ in range(count):
            job = Job.objects.create(kind="learners.import", requested_by=None)
            ImportUpload.objects.create(
                kind="learners",
                filename="a.csv",
                content=b"x" * 1000,
                size=1000,
                sha256="0" * 64,
                job=job,
                uploaded_by=UserFactory(),
            )

    make(1)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(URL).status_code == 200
    make(5)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(URL)
    links = re.findall(r'href="/dashboard/imports/[0-9a-f-]{36}/"', response.content.decode())
    assert len(links) == 6
    assert len(many) == len(few)
