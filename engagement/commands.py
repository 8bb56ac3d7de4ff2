"""The base of the project's ``manage.py`` commands: an expected failure ends in one line.

Bad arguments, unknown ids, files that cannot be read or written, application errors,
personal data the configured keys cannot decrypt and a database that cannot be reached become a
``CommandError``: Django prints
``CommandError: <why>`` and exits non-zero. Anything else is a bug and keeps its traceback.
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

from engagement.crypto import DecryptionFailed
from engagement.errors import ApplicationError
from engagement.models import Job, JobStatus


def application_error_line(
    error: ApplicationError, options: Mapping[str, str] | None = None
) -> str:
    """The message, followed by each field's reasons when the error carries them (figures in
    ``detail``, such as a refused activation's ROC AUCs, are already worded in the message).

    ``options`` names the command option that carries a service's field (``{"as_of":
    "--as-of"}``): when every field has one, the line names the options instead.
    """
    detail = error.detail
    if isinstance(detail, dict):  # a field's reasons are a list; figures are for API clients
        detail = {field: why for field, why in detail.items() if isinstance(why, list)}
    if not detail or not isinstance(detail, dict):
        return error.message
    options = options or {}
    reasons = [
        f"{options.get(field, field)}: {' '.join(map(str, why)) if isinstance(why, list) else why}"
        for field, why in detail.items()
    ]
    if set(detail) <= set(options):
        return "; ".join(reasons)
    unsaid = [reason for reason in reasons if reason.partition(": ")[2] not in error.message]
    return " ".join([error.message, "; ".join(unsaid)]) if unsaid else error.message


class ApplicationCommand(BaseCommand):
    """Subclass this instead of ``BaseCommand``; ``handle`` may let expected failures raise."""

    #: The option that carries each field a service may refuse (see ``application_error_line``).
    field_options: Mapping[str, str] = {}

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except ApplicationError as error:
            raise CommandError(application_error_line(error, self.field_options)) from error
        except DecryptionFailed as error:
            raise CommandError(str(error)) from error
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        except OperationalError as error:
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise CommandError(f"The database failed: {first_line}") from error
        except OSError as error:
            if error.filename is None:
                raise
            raise CommandError(f"{error.filename}: {error.strerror}.") from error


class JobCommand(ApplicationCommand):
    """A command whose run is recorded as a job (visible in the jobs API and the admin).

    It runs the job here and now and prints from its result, or with ``--queue`` only queues it
    for the workers and prints its id. Subclasses call ``super().add_arguments(parser)``, pass
    ``in_process=not options["queue"]`` to the request service and hand the job to
    :meth:`job_result`.
    """

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue",
            action="store_true",
            help="Only queue the job for the workers and print its id (follow it in the jobs API).",
        )

    def job_result(self, job: Job, options: Mapping[str, Any]) -> dict[str, Any] | None:
        """The result of the job run here, ``None`` once a queued job's id is printed; a job
        that did not succeed is its error, in one line."""
        if options["queue"]:
            self.stdout.write(f"Queued job {job.pk}.")
            return None
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(job.error or f"The job ended {job.status}.")
        return dict(job.result or {})


class DatabaseCommand(ApplicationCommand):
    """A command acting on one database: the default one, or the alias given with ``--database``."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias")

    def database_alias(self, options: Mapping[str, Any]) -> str:
        alias = str(options["database"])
        if alias not in connections:
            raise CommandError(f"--database: no database alias {alias!r}.")
        return alias
