"""``manage.py import_activity FILE.csv``: idempotent bulk import of activity events."""

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learners.csv_import import run_csv_import
from learners.services import events_import

COLUMNS = (
    "learner_external_id",
    "source",
    "kind",
    "occurred_at",
    "duration_seconds",
    "score",
    "source_event_id",
)


class Command(BaseCommand):
    help = f"Import activity events from a CSV file with the columns: {', '.join(COLUMNS)}."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the CSV file (UTF-8, header row first).")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        report = run_csv_import(
            path=options["file"],
            required=COLUMNS,
            importer=events_import,
            write=self.stderr.write,
            progress=sys.stderr.isatty(),
        )
        seconds = time.monotonic() - started
        rows = report.accepted + report.duplicates + len(report.rejected)
        rate = rows / seconds if seconds else 0.0
        self.stdout.write(
            f"Activity imported: {report.accepted} new, {report.duplicates} already stored, "
            f"{len(report.rejected)} rejected, {rows} rows in {seconds:.1f} s ({rate:,.0f} rows/s)."
        )
        if report.rejected and not (report.accepted or report.duplicates):
            raise CommandError("No row could be imported.")
