"""``manage.py import_activity FILE.csv``: idempotent bulk import of activity events."""

from collections.abc import Iterator
from typing import IO

from engagement.wording import counted
from learners.ingestion.activity_copy import activity_import
from learners.ingestion.csv import ACTIVITY_COLUMNS, CsvImportCommand
from learners.services import IngestReport


class Command(CsvImportCommand):
    help = (
        f"Import activity events from a CSV file with the columns: {', '.join(ACTIVITY_COLUMNS)}."
    )
    columns = ACTIVITY_COLUMNS

    def import_file(self, handle: IO[bytes]) -> Iterator[IngestReport]:
        return activity_import(handle=handle, via="import_activity")

    def summary(self, report: IngestReport, seconds: float) -> str:
        rows = report.accepted + report.duplicates + len(report.rejected)
        rate = rows / seconds if seconds else 0.0
        return (
            f"Activity imported: {report.accepted} new, {report.duplicates} already stored, "
            f"{len(report.rejected)} rejected, {counted(rows, 'row')} in {seconds:.1f} s ({rate:,.0f} rows/s)."
        )
