"""``manage.py backup PATH``: a full copy of the database (pg_dump custom format, or SQLite's)."""

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connections

from engagement.backup import BackupFailed, backup_database
from engagement.commands import DatabaseCommand


class Command(DatabaseCommand):
    help = (
        "Write a full backup of the database to PATH: pg_dump's custom format on PostgreSQL, "
        "SQLite's online backup on SQLite. Restore it with manage.py restore."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        alias = self.database_alias(options)
        if not path.parent.is_dir():
            raise CommandError(f"{path.parent}: no such directory.")
        try:
            backup_database(connections[alias].settings_dict, path)
        except BackupFailed as error:
            raise CommandError(f"Backup failed: {error}.") from error
        self.stdout.write(f"Backed up to {path} ({path.stat().st_size} bytes).")
