"""The base of the project's ``manage.py`` commands: an expected failure ends in one line.

Bad arguments, unknown ids, files that cannot be read or written, application errors,
personal data the configured keys cannot decrypt and a database that cannot be reached become a
``CommandError``: Django prints
``CommandError: <why>`` and exits non-zero. Anything else is a bug and keeps its traceback.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError

from engagement.crypto import DecryptionFailed
from engagement.errors import ApplicationError


def application_error_line(error: ApplicationError) -> str:
    """The message, followed by each field's reasons when the error carries them."""
    detail = error.detail
    if not isinstance(detail, dict) or set(detail) == {"detail"}:
        return error.message
    reasons = [
        f"{field}: {' '.join(map(str, why)) if isinstance(why, list) else why}"
        for field, why in detail.items()
    ]
    unsaid = [reason for reason in reasons if reason.partition(": ")[2] not in error.message]
    return " ".join([error.message, "; ".join(unsaid)]) if unsaid else error.message


class ApplicationCommand(BaseCommand):
    """Subclass this instead of ``BaseCommand``; ``handle`` may let expected failures raise."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except ApplicationError as error:
            raise CommandError(application_error_line(error)) from error
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
