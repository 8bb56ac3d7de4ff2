"""``manage.py backup PATH``: a full copy of the database (pg_dump custom format, or SQLite's)."""

import sqlite3
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from engagement.backup import BackupFailed, backup_database
from engagement.commands import ApplicationCommand


class Command(ApplicationCommand):
    help = (
        "Write a full backup of the database to PATH: pg_dump's custom format on PostgreSQL, "
        "SQLite's online backup on SQLite. Restore it with manage.py restore."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if options["database"] not in connections:
            raise CommandError(f"--database: no database alias {options['database']!r}.")
        if not path.parent.is_dir():
            raise CommandError(f"{path.parent}: no such directory.")
        try:
            backup_database(connections[options["database"]].settings_dict, path)
        except (BackupFailed, OSError, sqlite3.Error) as error:
            raise CommandError(f"Backup failed: {error}.") from error
        self.stdout.write(f"Backed up to {path} ({path.stat().st_size} bytes).")
