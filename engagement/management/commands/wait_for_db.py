"""``manage.py wait_for_db [--timeout S]``: block until the database answers, or give up."""

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import OperationalError

from engagement.commands import DatabaseCommand
from engagement.database_wait import DatabaseUnavailable, wait_for_database
from engagement.wording import counted


class Command(DatabaseCommand):
    help = (
        "Wait until the database accepts a connection, retrying with exponential back-off and "
        "jitter; exit status 1 if it has not answered within --timeout seconds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["timeout"] < 0:
            raise CommandError("--timeout must be at least 0.")
        alias = self.database_alias(options)

        def report(attempt: int, delay: float, error: OperationalError) -> None:
            self.stderr.write(
                f"Database not ready (attempt {attempt}: {type(error).__name__}); "
                f"retrying in {delay:.1f} s"
            )

        try:
            attempts = wait_for_database(timeout=options["timeout"], alias=alias, on_retry=report)
        except DatabaseUnavailable as error:
            raise CommandError(f"Giving up: {error}.") from error
        self.stdout.write(f"Database ready after {counted(attempts, 'attempt')}.")
