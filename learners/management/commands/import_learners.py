"""``manage.py import_learners FILE.csv``: upsert learners by (source, external_id)."""

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learners.csv_import import run_csv_import
from learners.services import learners_import

COLUMNS = ("external_id", "source", "cohort", "name", "email", "enrolled_at", "status")


class Command(BaseCommand):
    help = f"Import learners from a CSV file with the columns: {', '.join(COLUMNS)}."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the CSV file (UTF-8, header row first).")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        report = run_csv_import(
            path=options["file"],
            required=COLUMNS,
            importer=learners_import,
            write=self.stderr.write,
            progress=sys.stderr.isatty(),
        )
        seconds = time.monotonic() - started
        self.stdout.write(
            f"Learners imported: {report.accepted} written, {report.duplicates} repeated in the file, "
            f"{len(report.rejected)} rejected, in {seconds:.1f} s."
        )
        if report.rejected and not report.accepted:
            raise CommandError("No row could be imported.")
