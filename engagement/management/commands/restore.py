"""``manage.py restore PATH``: replace the database's contents with a backup made by ``backup``."""

import sqlite3
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from engagement.backup import BackupFailed, restore_database
from engagement.commands import ApplicationCommand


class Command(ApplicationCommand):
    help = (
        "Replace everything in the database with the backup at PATH (made by manage.py backup). "
        "Stop the web processes and workers first. Asks for confirmation unless --noinput."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="do not ask for confirmation",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        alias = options["database"]
        if alias not in connections:
            raise CommandError(f"--database: no database alias {alias!r}.")
        if not path.is_file():
            raise CommandError(f"{path}: no such backup file.")
        database = connections[alias].settings_dict
        if options["interactive"]:
            answer = input(
                f"Replace everything in database {database['NAME']!r} with {path}? [yes/no] "
            )
            if answer.strip().lower() != "yes":
                raise CommandError("Restore cancelled.")
        connections[alias].close()
        try:
            restore_database(database, path)
        except (BackupFailed, OSError, sqlite3.Error) as error:
            raise CommandError(f"Restore failed: {error}.") from error
        self.stdout.write(f"Restored {path} into {database['NAME']}.")
