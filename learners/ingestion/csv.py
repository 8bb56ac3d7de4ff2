"""Streaming CSV reading shared by every door of the CSV imports (commands and uploads).

:func:`csv_import` is the one loop: it streams a file's bytes through an importer (the learners
rows through ``learners_import``, activity files through
``learners.ingestion.activity_copy.activity_import``) chunk by chunk, handing each chunk's report
to the caller. The commands print refused lines as they come (:func:`run_csv_import`); an
uploaded file's job records them (``learners.imports``).
"""

import csv
import io
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, TextIO

from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from engagement.commands import ApplicationCommand
from learners import tasks
from learners.services import IngestReport

#: The columns every learners file has (``finished_at`` is optional).
LEARNER_COLUMNS = ("external_id", "source", "cohort", "name", "email", "enrolled_at", "status")
#: Columns of a learners file whose cells may be empty (the header still names them; an empty
#: status reads ``active``).
LEARNER_BLANK_COLUMNS = ("name", "email", "status")
#: The columns every activity file has.
ACTIVITY_COLUMNS = (
    "learner_external_id",
    "source",
    "kind",
    "occurred_at",
    "duration_seconds",
    "score",
    "source_event_id",
)
#: Columns of an activity file whose cells may be empty (the header still names them).
ACTIVITY_BLANK_COLUMNS = ("duration_seconds", "score")

Importer = Callable[..., Iterator[IngestReport]]
#: Reads a whole file (bytes, header first) and yields one report per chunk.
FileImporter = Callable[[IO[bytes]], Iterator[IngestReport]]


class CsvRefused(ValueError):
    """A file the import cannot read as a whole (a missing column, not UTF-8, not CSV); the
    message is fit to show to whoever sent it."""


def missing_columns_message(header: Iterable[str], required: Iterable[str]) -> str | None:
    """Why ``header`` cannot be imported (the required columns it lacks), or ``None``."""
    missing = sorted(set(required) - set(header))
    if not missing:
        return None
    noun = "column" if len(missing) == 1 else "columns"
    return f"The header lacks the {noun}: {', '.join(missing)}."


def rejected_reasons(rejected: Mapping[str, Any]) -> str:
    """One refused row's reasons on one line: ``field: why; other: why``."""
    return "; ".join(f"{name}: {' '.join(why)}" for name, why in rejected["errors"].items())


def csv_rows(handle: TextIO, *, required: Iterable[str]) -> Iterator[tuple[int, Mapping[str, str]]]:
    """Yield ``(line_number, row)`` one at a time, after checking the header names every column."""
    reader = csv.DictReader(handle)
    problem = missing_columns_message(reader.fieldnames or [], required)
    if problem:
        raise CsvRefused(problem)
    for row in reader:
        yield reader.line_num, row


def text_rows(
    handle: IO[bytes], *, required: Iterable[str]
) -> Iterator[tuple[int, Mapping[str, str]]]:
    """:func:`csv_rows` of a file's bytes read as UTF-8 (a leading byte-order mark dropped)."""
    return csv_rows(io.TextIOWrapper(handle, encoding="utf-8-sig", newline=""), required=required)


def csv_import(
    handle: IO[bytes],
    *,
    importer: FileImporter,
    on_report: Callable[[IngestReport], Any],
) -> IngestReport:
    """Stream ``handle`` through ``importer``, calling ``on_report`` after each chunk; returns
    the totals. The learners it touched are rescored once, when it ends.

    Raises :class:`CsvRefused` when the header lacks a required column, or when the text turns
    out not to be UTF-8 or not CSV part-way (the chunks before stay imported: the importers are
    idempotent, so the corrected file can simply be imported again).
    """
    total = IngestReport()
    try:
        with tasks.one_stale_rescore_after():
            for report in importer(handle):
                on_report(report)
                total.merge(report)
    except UnicodeDecodeError as exc:
        done = total.accepted + total.duplicates + len(total.rejected)
        raise CsvRefused(
            f"The file is not UTF-8 text ({exc.reason}); stopped after {done} rows."
        ) from exc
    except csv.Error as exc:
        done = total.accepted + total.duplicates + len(total.rejected)
        raise CsvRefused(
            f"The file is not readable CSV ({exc}); stopped after {done} rows."
        ) from exc
    return total


def run_csv_import(
    *,
    path: str,
    importer: FileImporter,
    write: Callable[[str], Any],
    progress: bool,
) -> IngestReport:
    """Stream ``path`` through ``importer`` chunk by chunk, printing refused lines as they come."""
    file = Path(path)
    if not file.exists():
        raise CommandError(f"No such file: {path}")
    if not file.is_file():
        raise CommandError(f"Not a regular file: {path}")
    with (
        file.open("rb") as handle,
        tqdm(unit=" rows", disable=not progress, desc=file.name) as bar,
    ):

        def on_report(report: IngestReport) -> None:
            for rejected in report.rejected:
                write(f"line {rejected['index']}: {rejected_reasons(rejected)}")
            bar.update(report.accepted + report.duplicates + len(report.rejected))

        try:
            return csv_import(handle, importer=importer, on_report=on_report)
        except CsvRefused as exc:
            raise CommandError(f"{path}: {exc}") from exc


class CsvImportCommand(ApplicationCommand):
    """Shared shape of the import commands: one FILE argument, streamed import, a summary line."""

    columns: tuple[str, ...] = ()

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the CSV file (UTF-8, header row first).")

    def import_rows(self, **kwargs: Any) -> Iterator[IngestReport]:
        raise NotImplementedError

    def import_file(self, handle: IO[bytes]) -> Iterator[IngestReport]:
        """The file's reports, chunk by chunk; by default its rows go through ``import_rows``."""
        return self.import_rows(rows=text_rows(handle, required=self.columns))

    def summary(self, report: IngestReport, seconds: float) -> str:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        report = run_csv_import(
            path=options["file"],
            importer=self.import_file,
            write=self.stderr.write,
            progress=sys.stderr.isatty(),
        )
        self.stdout.write(self.summary(report, time.monotonic() - started))
        if report.rejected and not (report.accepted or report.duplicates):
            raise CommandError("No row could be imported.")
