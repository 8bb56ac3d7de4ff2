"""``manage.py anonymize_database``: make this database a safe copy for development."""

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from engagement.commands import ApplicationCommand
from engagement.wording import counted
from learners.privacy import database_anonymise


class Command(ApplicationCommand):
    help = "Replace every learner's and user's personal data (coach notes too) with fakes. Irreversible."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even though DEBUG is off (only on a copy restored from production, never on production).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "Refusing to anonymise: this is a production configuration (DEBUG is off). "
                "Run it on a restored copy with --allow-production."
            )
        counts = database_anonymise()
        self.stdout.write(
            f"Anonymised {counted(counts['learners'], 'learner')} and "
            f"{counted(counts['users'], 'user')}; "
            f"cleared metadata on {counted(counts['events_cleared'], 'event')} and the text of "
            f"{counted(counts['notes_cleared'], 'coach note')}."
        )
