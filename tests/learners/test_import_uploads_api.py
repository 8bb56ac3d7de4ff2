"""``/api/v1/imports/``: upload (202 with the job), list, read, refused lines; every failure a 4xx."""

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from engagement.api_keys import api_key_create
from engagement.registry import registry
from learners.models import ActivityEvent, ImportUpload
from tests.factories import CohortFactory, LearnerFactory, UserFactory
from tests.learners.test_import_uploads import ACTIVITY_CSV, LEARNERS_CSV

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports/"


@pytest.fixture
def admin_client(auth_client: APIClient, rules_model: Any) -> APIClient:
    return auth_client


def post(client: APIClient, kind: Any, content: bytes | str | None, **extra: Any) -> Any:
    data: dict[str, Any] = {}
    if kind is not None:
        data["kind"] = kind
    if content is not None:
        raw = content.encode() if isinstance(content, str) else content
        data["file"] = SimpleUploadedFile("upload.csv", raw, content_type="text/csv")
    return client.post(URL, data, format="multipart", **extra)


def test_an_upload_is_accepted_with_its_job(
    admin_client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    LearnerFactory(source="lms", external_id="a1", cohort=CohortFactory())
    with django_capture_on_commit_callbacks(execute=True):
        response = post(admin_client, "activity", ACTIVITY_CSV)
    assert response.status_code == 202, response.content
    body = response.json()
    job_url = body["job"]["url"]
    assert response["Location"] == job_url
    assert job_url.endswith(f"/api/v1/jobs/{body['job']['id']}/")
    assert body["kind"] == "activity" and body["filename"] == "upload.csv"
    assert ActivityEvent.objects.count() == 2  # tasks run eagerly here, once committed

    detail = admin_client.get(body["url"])
    assert detail.status_code == 200
    assert detail.json()["id"] == body["id"]
    assert detail.json()["job"]["status"] == "succeeded"
    counts = detail.json()
    assert (counts["accepted"], counts["duplicates"], counts["rejected"]) == (2, 1, 2)
    refused = admin_client.get(body["refused_url"])
    assert refused.status_code == 200
    assert refused["Content-Type"].startswith("text/csv")
    assert "attachment" in refused["Content-Disposition"]
    lines = refused.content.decode().splitlines()
    assert lines[0] == "line,reasons"
    assert [line.split(",")[0] for line in lines[1:]] == ["3", "4"]

    job = admin_client.get(job_url).json()
    assert job["kind"] == "learners.import" and job["result"]["rejected"] == 2


def test_refused_lines_may_be_asked_for_as_csv(admin_client: APIClient) -> None:
    upload = ImportUpload.objects.create(
        kind="activity", filename="x.csv", content=b"", size=1, sha256="0" * 64, refused="line\n"
    )
    response = admin_client.get(f"{URL}{upload.pk}/refused/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response.content == b"line\n"
    missing = admin_client.get(
        f"{URL}{'0' * 8}-0000-0000-0000-{'0' * 12}/refused/", HTTP_ACCEPT="text/csv"
    )
    assert missing.status_code == 404


def test_the_list_costs_the_same_queries_whatever_its_length(admin_client: APIClient) -> None:
    def make(count: int) -> None:
        for _ in range(count):
            post(admin_client, "learners", LEARNERS_CSV)

    make(1)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(URL).status_code == 200
    make(4)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(URL)
    assert response.json()["count"] == 5
    assert len(many) == len(few)
    assert all("content" not in query["sql"].split("FROM")[0] for query in many.captured_queries)


@pytest.mark.parametrize(
    ("kind", "content", "status", "field"),
    [
        (None, LEARNERS_CSV, 400, "kind"),
        ("people", LEARNERS_CSV, 400, "kind"),
        ("learners", None, 400, "file"),
        ("learners", b"", 400, "file"),
        ("learners", b"\x00\xff\xfe binary junk \x89PNG", 400, "file"),
        ("activity", LEARNERS_CSV, 400, "file"),
        ("learners", ",".join(f"column{n}" for n in range(20_000)) + "\nx\n", 400, "file"),
        ("learners", '"' + "x" * 200_000 + '"\n', 400, "file"),
    ],
)
def test_bad_uploads_are_refused_with_the_field(
    admin_client: APIClient, kind: Any, content: Any, status: int, field: str
) -> None:
    response = post(admin_client, kind, content)
    assert response.status_code == status, response.content
    assert field in response.json()
    assert not ImportUpload.objects.exists()


def test_an_oversized_upload_is_413(admin_client: APIClient, settings: Any) -> None:
    settings.IMPORT_UPLOAD_MAX_BYTES = 100
    response = post(admin_client, "learners", LEARNERS_CSV)
    assert response.status_code == 413
    assert response.json() == {"file": ["The file is larger than 100 bytes."]}


def test_an_oversized_body_is_413_before_it_is_parsed(
    admin_client: APIClient, settings: Any
) -> None:
    settings.IMPORT_UPLOAD_MAX_BYTES = 100
    response = admin_client.generic(
        "POST",
        URL,
        "x" * 10,
        content_type="multipart/form-data; boundary=zz",
        CONTENT_LENGTH=str(10 * 1024 * 1024),
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{}", "application/json"),
        ("kind=learners", "application/x-www-form-urlencoded"),
        (
            '--zz\r\nContent-Disposition: form-data; name="kind"\r\n\r\nlearners',
            "multipart/form-data; boundary=zz",
        ),
        ("garbage", "multipart/form-data"),
        ("garbage", "multipart/form-data; boundary="),
    ],
)
def test_malformed_bodies_are_4xx(admin_client: APIClient, body: str, content_type: str) -> None:
    response = admin_client.generic("POST", URL, body, content_type=content_type)
    assert 400 <= response.status_code < 500, response.content


@pytest.mark.parametrize("role", ["coach", "analyst"])
def test_other_roles_are_refused(api_client: APIClient, role: str) -> None:
    api_client.force_authenticate(UserFactory(role=role))
    assert post(api_client, "learners", LEARNERS_CSV).status_code == 403
    assert api_client.get(URL).status_code == 403
    assert not ImportUpload.objects.exists()


def test_api_keys_are_refused_whatever_their_scopes(api_client: APIClient, user: Any) -> None:
    key = api_key_create(name="all", scopes=list(registry.api_key_scopes()), created_by=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.secret}")
    response = post(api_client, "learners", LEARNERS_CSV)
    assert response.status_code == 403
    assert "for staff users" in response.json()["detail"]


def test_anonymous_callers_are_401(api_client: APIClient) -> None:
    assert post(api_client, "learners", LEARNERS_CSV).status_code == 401
    assert api_client.get(URL).status_code == 401


def test_an_unknown_or_malformed_id_is_404(admin_client: APIClient) -> None:
    assert admin_client.get(f"{URL}not-a-uuid/").status_code == 404
    assert admin_client.get(f"{URL}{'0' * 8}-0000-0000-0000-{'0' * 12}/").status_code == 404


def test_the_schema_documents_the_multipart_upload(admin_client: APIClient) -> None:
    schema = admin_client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/imports/"]["post"]
    assert list(operation["requestBody"]["content"]) == ["multipart/form-data"]
    assert {"202", "400", "413"} <= set(operation["responses"])
    refused = schema["paths"]["/api/v1/imports/{id}/refused/"]["get"]
    assert "text/csv" in refused["responses"]["200"]["content"]
