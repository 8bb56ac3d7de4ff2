"""CSV files uploaded for import (the dashboard page and ``POST /api/v1/imports/``).

The upload is checked (size, UTF-8, a CSV header naming every required column, at least one
row), stored in the database so that any Celery worker can read it, and imported by a
``learners.import`` job through the same loop the ``import_learners`` and ``import_activity``
commands use (:func:`learners.ingestion.csv.csv_import`, activity through
:func:`learners.ingestion.activity_copy.activity_import`). The importers are idempotent (learners
upsert on ``(source, external_id)``, events on ``(source, source_event_id)``), so a job that is
run again after its worker died adds nothing twice.

The file holds personal data, so it is stored encrypted (``ImportUpload.content``) and kept only
while its job may still need it: :func:`import_upload_job_ended` empties it once the job ended,
whatever the outcome, and :func:`import_uploads_clear` (an hourly beat task) empties any older than
``IMPORT_UPLOAD_RETENTION_HOURS`` whose job never ended (a worker lost, a queue dropped).
"""

import codecs
import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from engagement.audit import audit_record
from engagement.errors import ApplicationError, ValidationFailed
from engagement.jobs import ProgressReporter, job_enqueue
from engagement.models import JOB_ACTIVE_STATUSES, Job, User
from engagement.spreadsheets import csv_line
from engagement.wording import counted
from learners import services, tasks
from learners.ingestion.activity_copy import activity_import
from learners.ingestion.csv import (
    ACTIVITY_BLANK_COLUMNS,
    ACTIVITY_COLUMNS,
    LEARNER_BLANK_COLUMNS,
    LEARNER_COLUMNS,
    CsvRefused,
    Importer,
    csv_import,
    missing_columns_message,
    rejected_reasons,
    text_rows,
)
from learners.models import ImportKind, ImportUpload
from learners.services import IngestReport

#: How the imports name their door in the audit log (``via``).
VIA = "import_upload"
#: The refused lines' CSV header.
REFUSED_HEADER = ("line", "reasons")
READ_CHUNK_BYTES = 64 * 1024
#: What a multipart request may carry besides the file (boundaries, headers, the kind field).
MULTIPART_SLACK_BYTES = 64 * 1024


@dataclass(frozen=True)
class ImportFormat:
    """What a kind of file must hold, and the importer it goes through (called with the file's
    ``handle`` and ``via``): the header names every one of ``columns`` (those in ``blank`` may
    have empty cells) and may name ``optional``."""

    columns: tuple[str, ...]
    optional: tuple[str, ...]
    importer: Importer
    blank: tuple[str, ...] = ()


def _learners_file_import(*, handle: IO[bytes], **kwargs: Any) -> Iterator[IngestReport]:
    return services.learners_import(rows=text_rows(handle, required=LEARNER_COLUMNS), **kwargs)


FORMATS: dict[str, ImportFormat] = {
    ImportKind.LEARNERS: ImportFormat(
        columns=LEARNER_COLUMNS,
        optional=("finished_at",),
        blank=LEARNER_BLANK_COLUMNS,
        importer=_learners_file_import,
    ),
    ImportKind.ACTIVITY: ImportFormat(
        columns=ACTIVITY_COLUMNS,
        optional=(),
        blank=ACTIVITY_BLANK_COLUMNS,
        importer=activity_import,
    ),
}


class UploadTooLarge(ApplicationError):
    """A file over ``IMPORT_UPLOAD_MAX_BYTES``: ``413``, whatever the door."""

    status_code = 413
    default_message = "The file is too large."


class UploadedFile(Protocol):
    """What the service reads of an upload (Django's ``UploadedFile`` has it)."""

    name: str | None
    size: int | None

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]: ...


def upload_limit() -> int:
    """Largest file accepted, in bytes (``IMPORT_UPLOAD_MAX_BYTES``)."""
    return int(settings.IMPORT_UPLOAD_MAX_BYTES)


def too_large_message() -> str:
    return _("The file is larger than %(limit)s.") % {
        "limit": counted(upload_limit(), "byte", grouped=True)
    }


def upload_request_too_large(content_length: str | None) -> None:
    """Refuse a request whose declared length exceeds the limit by more than the multipart
    framing could take, before its body is read; an unknown length is left to the file check."""
    try:
        length = int(content_length or 0)
    except ValueError:
        return
    if length > upload_limit() + MULTIPART_SLACK_BYTES:
        raise UploadTooLarge(too_large_message(), detail={"file": [too_large_message()]})


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, detail={field: [message]})


def _read_within_limit(file: UploadedFile) -> bytes:
    """The file's bytes; refused as soon as it grows past the limit (before reading it all)."""
    limit = upload_limit()
    if file.size is not None and file.size > limit:
        raise UploadTooLarge(too_large_message(), detail={"file": [too_large_message()]})
    parts: list[bytes] = []
    size = 0
    for chunk in file.chunks(READ_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise UploadTooLarge(too_large_message(), detail={"file": [too_large_message()]})
        parts.append(chunk)
    return b"".join(parts)


def _check_utf8(content: bytes) -> None:
    """Refuse bytes that are not UTF-8, naming the offset of the first bad byte."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(content), READ_CHUNK_BYTES):
        try:
            decoder.decode(content[start : start + READ_CHUNK_BYTES])
        except UnicodeDecodeError as exc:
            raise _refuse(
                "file",
                _(
                    "The file is not UTF-8 text (%(reason)s at byte %(offset)s); save it as UTF-8 CSV."
                )
                % {"reason": exc.reason, "offset": start + exc.start},
            ) from exc
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _refuse(
            "file", _("The file is not UTF-8 text (it ends inside a character).")
        ) from exc


def _check_header(content: bytes, kind: str) -> None:
    """The header names every required column and at least one row follows."""
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline=""))
    try:
        header = next(reader, None)
        first_row = next((row for row in reader if any(cell.strip() for cell in row)), None)
    except csv.Error as exc:
        raise _refuse("file", _("The file is not readable CSV (%(why)s).") % {"why": exc}) from exc
    if not header or not any(name.strip() for name in header):
        raise _refuse("file", _("The file has no header row."))
    problem = missing_columns_message(header, FORMATS[kind].columns)
    if problem:
        raise _refuse("file", problem)
    if first_row is None:
        raise _refuse("file", _("The file has a header but no rows to import."))


def import_upload_check(*, kind: str, file: UploadedFile | None) -> bytes:
    """The upload's bytes if it can be imported as ``kind``; ``ValidationFailed`` (or
    :class:`UploadTooLarge`) naming the field otherwise."""
    if kind not in FORMATS:
        choices = ", ".join(FORMATS)
        raise _refuse("kind", _("Choose one of: %(choices)s.") % {"choices": choices})
    if file is None:
        raise _refuse("file", _("No file was sent."))
    content = _read_within_limit(file)
    if not content.strip():
        raise _refuse("file", _("The file is empty."))
    _check_utf8(content)
    _check_header(content, kind)
    return content


def import_upload_request(*, actor: User, kind: str, file: UploadedFile | None) -> ImportUpload:
    """Check and store an uploaded CSV file, and queue the job that imports it.

    The upload and its job are written together, audited as ``import.upload``; the task gets
    the job once they are committed.
    """
    content = import_upload_check(kind=kind, file=file)
    filename = ((file.name if file else None) or "upload.csv")[:255]
    with transaction.atomic():
        upload = ImportUpload.objects.create(
            kind=kind,
            filename=filename,
            content=content.decode("utf-8"),  # checked UTF-8 above; encrypted as it is saved
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            uploaded_by=actor,
        )
        upload.job = job_enqueue(
            tasks.import_upload_task,
            {"upload_id": str(upload.pk), "kind": kind},
            requested_by=actor,
        )
        upload.save(update_fields=["job", "updated_at"])
        audit_record(
            actor=actor,
            action="import.upload",
            target=upload,
            changes={"kind": kind, "size": upload.size, "sha256": upload.sha256},
        )
    return upload


def _refused_csv(rejected: Iterable[dict[str, Any]]) -> str:
    lines = [csv_line(REFUSED_HEADER)]
    lines.extend(csv_line((row["index"], rejected_reasons(row))) for row in rejected)
    return "".join(lines)


def import_upload_run(*, job: Job, report_progress: ProgressReporter) -> dict[str, Any]:
    """Import the job's upload, reporting the share of rows done after every chunk; store the
    counts and the refused lines, then drop the file's content (it holds personal data).

    Run again from the start after a crash, it adds nothing twice (the importers are
    idempotent) and its counts and refused lines replace the earlier run's.
    """
    upload = ImportUpload.objects.get(pk=job.params["upload_id"])
    content = upload.content.encode("utf-8")
    if not content:
        raise ValidationFailed(
            _("The file was cleared before it could be imported; upload it again.")
        )
    # Rows below the header; a quoted value spanning lines makes this a slight over-estimate.
    total_rows = max(content.count(b"\n") + (not content.endswith(b"\n")) - 1, 1)
    done = 0

    def on_report(report: IngestReport) -> None:
        nonlocal done
        done += report.accepted + report.duplicates + len(report.rejected)
        report_progress(min(done / total_rows, 1.0))

    format_ = FORMATS[upload.kind]

    def importer(handle: IO[bytes]) -> Iterator[IngestReport]:
        return format_.importer(handle=handle, via=VIA)

    try:
        total = csv_import(io.BytesIO(content), importer=importer, on_report=on_report)
    except CsvRefused as exc:  # the same file would fail again (its content goes at the end)
        raise ValidationFailed(str(exc)) from exc
    upload.accepted = total.accepted
    upload.duplicates = total.duplicates
    upload.rejected = len(total.rejected)
    upload.refused = _refused_csv(total.rejected)
    upload.content = ""
    upload.save(
        update_fields=["accepted", "duplicates", "rejected", "refused", "content", "updated_at"]
    )
    return {
        "upload_id": str(upload.pk),
        "kind": upload.kind,
        "accepted": upload.accepted,
        "duplicates": upload.duplicates,
        "rejected": upload.rejected,
    }


def import_upload_job_ended(*, job_id: str) -> int:
    """Empty the content of the job's upload unless the job may still run (queued again for a
    retry, or running): called after every run of the task, so the file goes whatever the
    outcome (succeeded, failed, cancelled). Returns the uploads emptied (0 or 1)."""
    return (
        ImportUpload.objects.filter(job_id=job_id)
        .exclude(job__status__in=JOB_ACTIVE_STATUSES)
        .exclude(content="")
        .update(content="")
    )


def import_uploads_clear(*, older_than: timedelta | None = None) -> int:
    """Empty every upload older than ``older_than`` (``IMPORT_UPLOAD_RETENTION_HOURS``) that
    still holds its file, whatever its job's state: a job that died or never ran must not keep
    personal data beyond the retention window. Returns the uploads emptied."""
    if older_than is None:
        older_than = timedelta(hours=settings.IMPORT_UPLOAD_RETENTION_HOURS)
    cleared = (
        ImportUpload.objects.filter(created_at__lt=timezone.now() - older_than)
        .exclude(content="")
        .update(content="")
    )
    if cleared:
        audit_record(
            actor=None,
            action="import.clear",
            target_type="learners.importupload",
            changes={"uploads": cleared},
        )
    return cleared
