"""``manage.py restore PATH``: replace the database's contents with a backup made by ``backup``."""

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connections

from engagement.backup import BackupFailed, restore_database
from engagement.commands import DatabaseCommand


class Command(DatabaseCommand):
    help = (
        "Replace everything in the database with the backup at PATH (made by manage.py backup). "
        "Stop the web processes and workers first. Asks for confirmation unless --noinput."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        super().add_arguments(parser)
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="do not ask for confirmation",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        alias = self.database_alias(options)
        if not path.is_file():
            raise CommandError(f"{path}: no such backup file.")
        database = connections[alias].settings_dict
        if options["interactive"]:
            try:
                answer = input(
                    f"Replace everything in database {database['NAME']!r} with {path}? [yes/no] "
                )
            except EOFError as error:  # no terminal (a script, a pipe, < /dev/null)
                raise CommandError(
                    "No answer to the confirmation (standard input is closed): "
                    "use --noinput to restore without asking."
                ) from error
            if answer.strip().lower() != "yes":
                raise CommandError("Restore cancelled.")
        connections[alias].close()
        try:
            restore_database(database, path)
        except BackupFailed as error:
            raise CommandError(f"Restore failed: {error}.") from error
        self.stdout.write(f"Restored {path} into {database['NAME']}.")
