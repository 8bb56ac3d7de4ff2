"""``manage.py import_learners FILE.csv``: upsert learners by (source, external_id)."""

from collections.abc import Iterator
from typing import Any

from learners.ingestion.csv import LEARNER_COLUMNS, CsvImportCommand
from learners.services import IngestReport, learners_import


class Command(CsvImportCommand):
    help = (
        f"Import learners from a CSV file with the columns: {', '.join(LEARNER_COLUMNS)}; optionally "
        "finished_at (when a completed or withdrawn learner finished: not before enrolled_at, not in "
        "the future)."
    )
    columns = LEARNER_COLUMNS

    def import_rows(self, **kwargs: Any) -> Iterator[IngestReport]:
        return learners_import(via="import_learners", **kwargs)

    def summary(self, report: IngestReport, seconds: float) -> str:
        return (
            f"Learners imported: {report.accepted} written, {report.duplicates} repeated in the file, "
            f"{len(report.rejected)} rejected, in {seconds:.1f} s."
        )
