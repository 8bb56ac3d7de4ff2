"""The base of the project's ``manage.py`` commands: an expected failure ends in one line.

Bad arguments, unknown ids, files that cannot be read or written, application errors and
personal data the configured keys cannot decrypt become a ``CommandError``: Django prints
``CommandError: <why>`` and exits non-zero. Anything else is a bug and keeps its traceback.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from engagement.crypto import DecryptionFailed
from engagement.errors import ApplicationError


def application_error_line(error: ApplicationError) -> str:
    """The message, followed by each field's reasons when the error carries them."""
    detail = error.detail
    if not isinstance(detail, dict) or set(detail) == {"detail"}:
        return error.message
    reasons = "; ".join(
        f"{field}: {' '.join(map(str, why)) if isinstance(why, list) else why}"
        for field, why in detail.items()
    )
    return f"{error.message} {reasons}"


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
        except OSError as error:
            if error.filename is None:
                raise
            raise CommandError(f"{error.filename}: {error.strerror}.") from error
