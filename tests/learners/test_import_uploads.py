"""CSV uploads for import: the checks, the stored file, the job and what it records."""

import csv
import hashlib
import io
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from celery.exceptions import Retry
from cryptography.fernet import Fernet
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from engagement.crypto import decrypt
from engagement.errors import ValidationFailed
from engagement.jobs import job_cancel, job_run, job_start
from engagement.models import AuditEvent, Job, JobStatus
from learners import imports, tasks
from learners.imports import (
    UploadTooLarge,
    import_upload_check,
    import_upload_job_ended,
    import_upload_request,
    import_upload_run,
    import_uploads_clear,
    upload_request_too_large,
)
from learners.models import ActivityEvent, ImportUpload, Learner
from learners.privacy import database_anonymise
from learners.tasks import import_upload_task
from learners.tasks import import_uploads_clear as import_uploads_clear_task
from tests.factories import CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db

LEARNERS_CSV = (
    "external_id,source,cohort,name,email,enrolled_at,status\n"
    "u1,moodle,Spring 2026,Ada Lovelace,ada@example.org,2026-03-02T09:00:00Z,active\n"
    "u2,moodle,Spring 2026,Alan Turing,alan@example.org,2026-03-01,sleeping\n"
    "u3,moodle,Spring 2026,Grace Hopper,grace@example.org,2026-03-01,active\n"
)
ACTIVITY_HEADER = (
    "learner_external_id,source,kind,occurred_at,duration_seconds,score,source_event_id"
)
ACTIVITY_CSV = (
    f"{ACTIVITY_HEADER}\n"
    "a1,lms,login,2026-03-03T10:00:00Z,,,e1\n"
    "a1,lms,dancing,2026-03-03T10:00:00Z,,,e2\n"
    "ghost,lms,login,2026-03-03T10:00:00Z,,,e3\n"
    "a1,lms,lesson_completed,2026-03-04T10:00:00Z,60,,e4\n"
    "a1,lms,login,2026-03-03T10:00:00Z,,,e1\n"
)


def upload_file(content: bytes | str, name: str = "data.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def run_job(upload: ImportUpload) -> Job:
    import_upload_task.apply(args=(str(upload.job_id),), throw=False)
    return Job.objects.get(pk=upload.job_id)


@pytest.fixture
def admin() -> Any:
    return UserFactory(role="admin")


@pytest.fixture
def learner_a1() -> Any:
    return LearnerFactory(source="lms", external_id="a1", cohort=CohortFactory())


def refused_rows(upload: ImportUpload) -> list[list[str]]:
    upload.refresh_from_db()
    return list(csv.reader(io.StringIO(upload.refused)))


def test_an_upload_is_stored_with_its_job_and_audited(admin: Any) -> None:
    upload = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    upload.refresh_from_db()
    assert upload.content == LEARNERS_CSV
    assert upload.size == len(LEARNERS_CSV.encode())
    assert upload.sha256 == hashlib.sha256(LEARNERS_CSV.encode()).hexdigest()
    assert upload.filename == "data.csv"
    assert upload.uploaded_by == admin
    job = upload.job
    assert job is not None
    assert (job.kind, job.status, job.requested_by) == ("learners.import", "queued", admin)
    assert job.params == {"upload_id": str(upload.pk), "kind": "learners"}
    event = AuditEvent.objects.get(action="import.upload")
    assert event.target_id == str(upload.pk)
    assert event.changes == {"kind": "learners", "size": upload.size, "sha256": upload.sha256}


def test_the_job_imports_learners_and_records_refused_lines(admin: Any) -> None:
    upload = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    job = run_job(upload)
    assert job.status == JobStatus.SUCCEEDED
    assert job.progress == 1.0
    assert job.result == {
        "upload_id": str(upload.pk),
        "kind": "learners",
        "accepted": 2,
        "duplicates": 0,
        "rejected": 1,
    }
    assert set(Learner.objects.values_list("external_id", flat=True)) == {"u1", "u3"}
    rows = refused_rows(upload)
    assert rows[0] == ["line", "reasons"]
    assert rows[1][0] == "3" and rows[1][1].startswith("status:")
    assert len(rows) == 2
    assert (upload.accepted, upload.duplicates, upload.rejected) == (2, 0, 1)
    assert upload.content == ""  # personal data is not kept once imported
    assert (
        AuditEvent.objects.filter(action="learner.create", changes__via="import_upload").count()
        == 2
    )


def test_activity_refused_lines_carry_line_numbers_and_reasons(
    admin: Any, learner_a1: Learner
) -> None:
    upload = import_upload_request(actor=admin, kind="activity", file=upload_file(ACTIVITY_CSV))
    job = run_job(upload)
    assert job.status == JobStatus.SUCCEEDED
    assert job.result is not None
    assert (job.result["accepted"], job.result["duplicates"], job.result["rejected"]) == (2, 1, 2)
    rows = refused_rows(upload)
    assert [row[0] for row in rows[1:]] == ["3", "4"]
    assert rows[1][1].startswith("kind:")
    assert rows[2][1].startswith("learner_external_id: No learner with source 'lms'")
    assert ActivityEvent.objects.count() == 2


def test_a_bom_is_allowed(admin: Any, learner_a1: Learner) -> None:
    upload = import_upload_request(
        actor=admin, kind="activity", file=upload_file(b"\xef\xbb\xbf" + ACTIVITY_CSV.encode())
    )
    assert run_job(upload).status == JobStatus.SUCCEEDED
    assert ActivityEvent.objects.count() == 2


def test_a_rerun_after_a_crash_adds_nothing_twice(admin: Any, learner_a1: Learner) -> None:
    """A worker killed mid-way leaves the job running; the redelivered task runs it again."""
    upload = import_upload_request(actor=admin, kind="activity", file=upload_file(ACTIVITY_CSV))
    job_start(job_id=upload.job_id)
    job = Job.objects.get(pk=upload.job_id)
    import_upload_run(job=job, report_progress=lambda fraction: None)  # the first run landed
    ImportUpload.objects.filter(pk=upload.pk).update(content=ACTIVITY_CSV)  # then died
    stored = set(ActivityEvent.objects.values_list("id", flat=True))
    job = run_job(upload)
    assert job.status == JobStatus.SUCCEEDED
    assert set(ActivityEvent.objects.values_list("id", flat=True)) == stored
    assert job.result is not None
    assert (job.result["accepted"], job.result["duplicates"], job.result["rejected"]) == (0, 3, 2)
    assert len(refused_rows(upload)) == 3  # replaced, not appended


def test_a_rerun_of_learners_updates_instead_of_duplicating(admin: Any) -> None:
    first = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    run_job(first)
    again = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    assert run_job(again).status == JobStatus.SUCCEEDED
    assert Learner.objects.count() == 2


def test_progress_is_reported_per_chunk_as_the_share_of_bytes_read(
    admin: Any, learner_a1: Learner, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = "".join(
        f"a1,lms,login,2026-03-03T10:{minute:02d}:00Z,,,p{minute}\n" for minute in range(60)
    )
    text = f"{ACTIVITY_HEADER}\n{lines}"
    upload = import_upload_request(actor=admin, kind="activity", file=upload_file(text))
    original = imports.FORMATS["activity"]
    monkeypatch.setitem(
        imports.FORMATS,
        "activity",
        imports.ImportFormat(
            columns=original.columns,
            optional=(),
            importer=lambda **kwargs: original.importer(chunk_size=10, **kwargs),
        ),
    )
    seen: list[float] = []

    def work(job: Job, report_progress: Any) -> dict[str, Any]:
        def record(fraction: float) -> None:
            seen.append(fraction)
            report_progress(fraction)

        return import_upload_run(job=job, report_progress=record)

    job = job_run(upload.job_id, work)
    assert job is not None and job.status == JobStatus.SUCCEEDED
    assert len(seen) == 6
    assert seen == sorted(seen)
    assert 0 < seen[0] < 1 and seen[-1] == 1.0
    assert ActivityEvent.objects.count() == 60


def test_an_upload_that_stops_being_importable_fails_its_job_and_is_emptied(admin: Any) -> None:
    upload = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    ImportUpload.objects.filter(pk=upload.pk).update(content="name,email\nAda,ada@example.org\n")
    job = run_job(upload)
    assert job.status == JobStatus.FAILED
    assert "The header lacks the columns" in job.error
    upload.refresh_from_db()
    assert upload.content == ""


def _raw(upload: ImportUpload, column: str) -> str:
    """The column as stored, bypassing the field's decryption."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM learners_importupload WHERE id = %s",  # noqa: S608 (a column name of ours)
            [upload.pk.hex if connection.vendor == "sqlite" else upload.pk],
        )
        return str(cursor.fetchone()[0])


def test_the_file_and_its_refused_lines_are_encrypted_at_rest(admin: Any) -> None:
    upload = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    stored = _raw(upload, "content")
    assert "Ada Lovelace" not in stored and "ada@example.org" not in stored
    assert decrypt(stored) == LEARNERS_CSV
    run_job(upload)
    refused = _raw(upload, "refused")
    assert "line,reasons" not in refused
    assert decrypt(refused).startswith("line,reasons")
    assert _raw(upload, "content") == ""


def test_a_cancelled_job_empties_its_file(admin: Any) -> None:
    upload = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    job_cancel(job=Job.objects.get(pk=upload.job_id), actor=admin)
    assert run_job(upload).status == JobStatus.CANCELLED
    upload.refresh_from_db()
    assert upload.content == ""
    assert not Learner.objects.exists()


def test_a_job_cancelled_while_it_runs_empties_its_file(
    admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    real_run = imports.import_upload_run

    def cancelled_meanwhile(*, job: Job, report_progress: Any) -> Any:
        job_cancel(job=job, actor=admin)
        return real_run(job=job, report_progress=report_progress)

    monkeypatch.setattr(imports, "import_upload_run", cancelled_meanwhile)
    assert run_job(upload).status == JobStatus.CANCELLED
    upload.refresh_from_db()
    assert upload.content == ""


def test_a_job_that_may_still_run_keeps_its_file(admin: Any) -> None:
    """Queued again for a retry (database trouble) or still running: the file is needed."""
    upload = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    assert import_upload_job_ended(job_id=str(upload.job_id)) == 0  # queued
    job_start(job_id=upload.job_id)
    assert import_upload_job_ended(job_id=str(upload.job_id)) == 0  # running
    upload.refresh_from_db()
    assert upload.content == LEARNERS_CSV


def test_a_run_given_back_for_a_retry_keeps_its_file(
    admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))

    def retried(task: Any, job_id: str, work: Any) -> None:
        Job.objects.filter(pk=job_id).update(status=JobStatus.SUCCEEDED)  # even so: not emptied
        raise Retry("database trouble")

    monkeypatch.setattr(tasks, "job_run_retrying", retried)
    with pytest.raises(Retry):
        import_upload_task(str(upload.job_id))
    upload.refresh_from_db()
    assert upload.content == LEARNERS_CSV


def test_a_file_cleared_before_its_job_ran_fails_the_job_saying_so(admin: Any) -> None:
    upload = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    ImportUpload.objects.filter(pk=upload.pk).update(content="")
    job = run_job(upload)
    assert job.status == JobStatus.FAILED
    assert "cleared before it could be imported" in job.error


def test_the_sweep_empties_files_older_than_the_retention_whatever_their_job(
    admin: Any, settings: Any
) -> None:
    settings.IMPORT_UPLOAD_RETENTION_HOURS = 24
    stale = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    fresh = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    long_ago = timezone.now() - timedelta(hours=25)
    ImportUpload.objects.filter(pk=stale.pk).update(created_at=long_ago)
    assert import_uploads_clear_task.apply().get() == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.content, fresh.content) == ("", LEARNERS_CSV)
    assert AuditEvent.objects.get(action="import.clear").changes == {"uploads": 1}
    assert import_uploads_clear() == 0  # nothing left to clear, nothing audited
    assert import_uploads_clear(older_than=timedelta(0)) == 1
    assert AuditEvent.objects.filter(action="import.clear").count() == 2


def test_key_rotation_reencrypts_files_and_refused_lines(admin: Any, settings: Any) -> None:
    upload = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    ImportUpload.objects.filter(pk=upload.pk).update(refused="line,reasons\n3,status: bad\n")
    old, new = list(settings.FIELD_ENCRYPTION_KEYS), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, *old]
    call_command("rotate_encryption_keys", stdout=StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [new]
    upload.refresh_from_db()
    assert upload.content == LEARNERS_CSV
    assert upload.refused == "line,reasons\n3,status: bad\n"


def test_a_row_that_is_not_csv_fails_the_job_and_the_command_alike(
    admin: Any, tmp_path: Any
) -> None:
    text = LEARNERS_CSV + 'u9,moodle,"' + "x" * 200_000 + '"\n'
    upload = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    ImportUpload.objects.filter(pk=upload.pk).update(content=text)
    job = run_job(upload)
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("The file is not readable CSV (field larger than field limit")
    path = tmp_path / "learners.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError, match=r"learners\.csv: The file is not readable CSV"):
        call_command("import_learners", str(path), stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.parametrize(
    ("kind", "content", "field", "message"),
    [
        ("people", LEARNERS_CSV, "kind", "Choose one of: learners, activity."),
        ("learners", "", "file", "The file is empty."),
        ("learners", "\n\n  \n", "file", "The file is empty."),
        ("learners", LEARNERS_CSV.encode("utf-16"), "file", "not UTF-8 text"),
        (
            "learners",
            "name,email\nAda,ada@example.org\n".encode("latin-1") + b"\xe9",
            "file",
            "not UTF-8",
        ),
        ("learners", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "file", "not UTF-8 text"),
        ("activity", LEARNERS_CSV, "file", "The header lacks the columns: duration_seconds, kind,"),
        ("learners", LEARNERS_CSV.replace(",status", ",state"), "file", "lacks the column: status"),
        ("learners", LEARNERS_CSV.splitlines()[0] + "\n", "file", "a header but no rows"),
        ("learners", '{"learners": []}', "file", "The header lacks the columns"),
        ("learners", ",,,\nu1,,,\n", "file", "no header row"),
        ("learners", '"' + "x" * 200_000 + '"\n', "file", "not readable CSV"),
        ("learners", "é".encode() * 10 + b"\xe2\x82", "file", "ends inside a character"),
    ],
)
def test_files_that_cannot_be_imported_are_refused_naming_the_field(
    admin: Any, kind: str, content: str | bytes, field: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        import_upload_request(actor=admin, kind=kind, file=upload_file(content))
    assert message in refused.value.detail[field][0]
    assert not ImportUpload.objects.exists()
    assert not Job.objects.exists()


def test_no_file_is_refused(admin: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        import_upload_request(actor=admin, kind="learners", file=None)
    assert refused.value.detail == {"file": ["No file was sent."]}


def test_an_oversized_file_is_refused_before_it_is_read(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.IMPORT_UPLOAD_MAX_BYTES = 100
    file = upload_file("x" * 101)
    monkeypatch.setattr(file, "chunks", lambda *args: pytest.fail("the file was read"))
    with pytest.raises(UploadTooLarge) as refused:
        import_upload_check(kind="learners", file=file)
    assert refused.value.status_code == 413
    assert refused.value.detail == {"file": ["The file is larger than 100 bytes."]}


def test_a_file_that_grows_past_the_limit_while_read_is_refused(settings: Any) -> None:
    settings.IMPORT_UPLOAD_MAX_BYTES = 100
    file = upload_file("x" * 150)
    file.size = None  # a size the upload did not declare
    with pytest.raises(UploadTooLarge):
        import_upload_check(kind="learners", file=file)


def test_a_file_at_the_limit_is_accepted(settings: Any) -> None:
    settings.IMPORT_UPLOAD_MAX_BYTES = len(LEARNERS_CSV.encode())
    assert import_upload_check(kind="learners", file=upload_file(LEARNERS_CSV))


@pytest.mark.parametrize(
    ("length", "refused"),
    [
        (None, False),
        ("", False),
        ("junk", False),
        ("1000", False),
        (str(100 + 64 * 1024 + 1), True),
    ],
)
def test_a_request_is_refused_on_its_declared_length(
    settings: Any, length: str | None, refused: bool
) -> None:
    settings.IMPORT_UPLOAD_MAX_BYTES = 100
    if refused:
        with pytest.raises(UploadTooLarge):
            upload_request_too_large(length)
    else:
        upload_request_too_large(length)


def test_anonymising_the_database_empties_uploaded_files_and_refused_rows(admin: Any) -> None:
    upload = import_upload_request(actor=admin, kind="learners", file=upload_file(LEARNERS_CSV))
    ImportUpload.objects.filter(pk=upload.pk).update(refused="line,reasons\n3,status: bad\n")
    assert database_anonymise()["imports_cleared"] == 1
    upload.refresh_from_db()
    assert (upload.content, upload.refused) == ("", "")
